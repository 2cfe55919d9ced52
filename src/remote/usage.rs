//! What is in use behind a license's limits: the tokens assigned to devices
//! (`GET /licenses/{id}/assignments`) and the named users and floating tokens of the light
//! listing (`POST /licenses/filtered`).
//!
//! Both reads are paged, and SLASCONE documents neither where pages start nor how large one may
//! be. They start at the page the license listing learned pages start at (or learn it the same
//! way), ask for no more rows than it learned a page holds, and read on until a short page: a
//! usage read that stopped at the first page would undercount on a server that caps the page.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::client::Client;
use super::client::Repeat;
use super::error::ApiError;
use super::paging;
use super::wire::*;

impl Client {
    /// Rows a usage read asks for per page: the configured page size, or the cap a listing
    /// showed, whichever is smaller.
    fn usage_page_size(&self) -> usize {
        let configured = usize::try_from(self.inner.config.page_size.max(1)).unwrap_or(1);
        configured.min(self.inner.page_cap.load(Ordering::Relaxed))
    }

    /// The light listing's row of one license (`active_users`, `active_floating_tokens`), looked
    /// for among its customer's licenses of its product, page by page until it is found or the
    /// listing's `max_count` is read. `None` when the listing does not hold it. A row without an
    /// id is an error naming the page and the row: it could be the license looked for.
    pub async fn license_tree(
        &self,
        product_id: Uuid,
        customer_id: Uuid,
        license_id: Uuid,
    ) -> Result<Option<LicenseTreeDto>, ApiError> {
        let size = self.usage_page_size();
        let mut page = self.first_page();
        let mut seen: HashSet<Uuid> = HashSet::new();
        let mut previous_len = 0usize;
        loop {
            let filter = LicenseFilterDto {
                page_size: i64::try_from(size).unwrap_or(i64::MAX),
                page: Some(page),
                product_filter: Some(product_id),
                customer_filter: Some(customer_id),
                key_search: None,
            };
            let answer = match self.licenses_filtered(&filter).await {
                // Page 0 refused: this server counts pages from 1.
                Err(err) if page == 0 && matches!(err.status(), Some(400 | 404)) => {
                    self.pages_count_from_one();
                    page = 1;
                    continue;
                }
                read => read?,
            };
            let Some(answer) = answer else {
                return Ok(None);
            };
            let rows = answer.licenses.unwrap_or_default();
            if page == 0 && rows.is_empty() && answer.max_count > 0 {
                // Page 0 is empty while the count is not: pages count from 1.
                self.pages_count_from_one();
                page = 1;
                continue;
            }
            let rows_len = rows.len();
            let mut added = 0usize;
            for (index, row) in rows.into_iter().enumerate() {
                let Some(id) = row.id else {
                    return Err(ApiError::Decode {
                        method: "POST".into(),
                        path: self.path("/licenses/filtered"),
                        message: format!("row {} of page {page} names no license id", index + 1),
                    });
                };
                if id == license_id {
                    return Ok(Some(row));
                }
                if seen.insert(id) {
                    added += 1;
                }
            }
            if added == 0 && rows_len > 0 && page == 1 && previous_len == rows_len {
                // Page 0 answered like page 1: this server counts pages from 1.
                self.pages_count_from_one();
                previous_len = rows_len;
                page += 1;
                continue;
            }
            let count = usize::try_from(answer.max_count).unwrap_or(0);
            if added == 0 || seen.len() >= count {
                return Ok(None);
            }
            previous_len = rows_len;
            page += 1;
        }
    }

    /// `GET /licenses/{id}/assignments`: the license's tokens assigned to devices, every page
    /// the listing lets be read, and whether that is shown to be all of them.
    ///
    /// The reference documents a plain array; an object holding one is read too. No count comes
    /// with it, and it is another endpoint than the license listing, so it learns its own pages
    /// (`paging::PagesShown`) rather than taking the license listing's: a cap lower than that
    /// listing's, or pages numbered otherwise, would otherwise end the read early.
    ///
    /// - **Where pages start.** Page 0, until this listing has shown its first page: a page 0
    ///   that is refused, or empty while page 1 is not, shows pages start at 1; a page 1 that
    ///   repeats page 0 may be a server answering page 0 like page 1, so page 2 tells.
    /// - **Until when.** Until an empty page, or a page shorter than one this listing has
    ///   answered before (it was not cut by the cap). A page as long as asked, or as long as the
    ///   longest so far, may have been cut, so the next page tells.
    /// - **What is not shown.** A page that repeats the one before (not explained by where pages
    ///   start), or one holding rows already read (the listing moved under the reader), ends the
    ///   read with [`Assignments::complete`] false: what was read is at least what is in use.
    ///   So does passing a million rows, more than any license is assigned.
    ///
    /// A row that does not decode is an error naming the page and the row. The whole read ends
    /// within the call's time (`--timeout`).
    pub async fn license_assignments(&self, license_id: Uuid) -> Result<Assignments, ApiError> {
        let endpoint = format!("/licenses/{license_id}/assignments");
        let timeout = self.inner.config.total_timeout;
        tokio::time::timeout(timeout, self.read_assignments(&endpoint))
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::Timeout {
                    method: "GET".into(),
                    path: self.path(&endpoint),
                    timeout,
                })
            })
    }

    async fn read_assignments(&self, endpoint: &str) -> Result<Assignments, ApiError> {
        let shown = &self.inner.assignment_pages;
        let size = usize::try_from(self.inner.config.page_size.max(1)).unwrap_or(1);
        let size_text = size.to_string();
        let mut page = shown.start();
        // Page 0 gave no rows, or the same rows as page 1: where pages start is still open.
        let mut page_zero_empty = false;
        let mut page_one_repeated = false;
        let mut seen: HashSet<Uuid> = HashSet::new();
        let mut previous: Vec<Value> = Vec::new();
        let mut out = Vec::new();
        let done = |rows, complete| Ok(Assignments { rows, complete });
        loop {
            let page_text = page.to_string();
            let query = [
                ("page", page_text.as_str()),
                ("page_size", size_text.as_str()),
            ];
            let answer = self
                .call(Method::GET, endpoint, &query, None::<&()>, Repeat::Safe)
                .await;
            let answer: Option<Value> = match answer {
                Err(err)
                    if page == 0
                        && shown.base().is_none()
                        && matches!(err.status(), Some(400 | 404)) =>
                {
                    shown.shown_base(1);
                    page = 1;
                    continue;
                }
                answer => answer?.written()?,
            };
            let rows = rows_of(answer);
            if rows.is_empty() {
                if page == 0 && shown.base().is_none() {
                    // No assignments, or a server counting from 1 that answers page 0 empty:
                    // page 1 tells, since one counting from 0 has nothing there either. That
                    // the license listing starts at 0 does not tell: the reference documents
                    // the numbering of neither.
                    page_zero_empty = true;
                    page = 1;
                    continue;
                }
                if page_one_repeated {
                    // Page 2 is empty where a server ignoring `page` would repeat page 1: pages
                    // count from 1, and page 0 answered like page 1.
                    shown.shown_base(1);
                }
                return done(out, true);
            }
            if page == 1 && page_zero_empty {
                shown.shown_base(1);
            }
            if rows == previous {
                if page == 1 && shown.base().is_none() {
                    // Page 0 may have answered like page 1: page 2 tells.
                    page_one_repeated = true;
                    page = 2;
                    continue;
                }
                // The server does not page this listing: what lies past this page is unseen.
                return done(out, false);
            }
            let rows_len = rows.len();
            let mut added = 0usize;
            for (index, row) in rows.iter().enumerate() {
                let decoded: DeviceLicenseAssignmentDto = serde_json::from_value(row.clone())
                    .map_err(|err| ApiError::Decode {
                        method: "GET".into(),
                        path: self.path(endpoint),
                        message: format!("row {} of page {page}: {err}", index + 1),
                    })?;
                match decoded.id.or(decoded.token_key) {
                    Some(id) if !seen.insert(id) => {}
                    _ => {
                        added += 1;
                        out.push(decoded);
                    }
                }
            }
            if out.len() >= MAX_ASSIGNMENTS {
                // More than any license is assigned: a listing that does not end. What was read
                // is held in memory, so the read stops here, short of the deadline.
                return done(out, false);
            }
            if added < rows_len {
                // Rows read on an earlier page: the listing moved while it was read, and rows
                // may have moved past the reader as well.
                return done(out, false);
            }
            if page_one_repeated {
                shown.shown_base(1);
            } else if page == 1 && !previous.is_empty() && shown.base().is_none() {
                // Page 1 brought rows page 0 did not hold: pages start at 0.
                shown.shown_base(0);
            }
            let longest = shown.longest();
            shown.shown_page(rows_len.min(size));
            if paging::page_end(rows_len, size, longest) == paging::PageEnd::Last {
                return done(out, true);
            }
            previous = rows;
            page += 1;
        }
    }
}

/// More assignments than a read holds: past them, the listing is read as incomplete.
const MAX_ASSIGNMENTS: usize = 1_000_000;

/// A license's tokens assigned to devices, as far as its listing could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignments {
    pub rows: Vec<DeviceLicenseAssignmentDto>,
    /// Whether the read showed it saw every row. False where a page repeated the one before
    /// (a server that ignores `page`) or held rows read before (a listing that moved): the
    /// rows are then at least what is in use, not all of it.
    pub complete: bool,
}

/// The rows of an assignments answer: a plain array, or the one array an object holds.
fn rows_of(answer: Option<Value>) -> Vec<Value> {
    match answer {
        Some(Value::Array(rows)) => rows,
        Some(Value::Object(envelope)) => envelope
            .into_values()
            .find_map(|value| match value {
                Value::Array(rows) => Some(rows),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
