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

    /// `GET /licenses/{id}/assignments`: the license's tokens assigned to devices, every page.
    ///
    /// The reference documents a plain array; an object holding one is read too. No count comes
    /// with it, so the read goes on until a short page. Until a listing showed the server's cap,
    /// a first page shorter than asked may be a capped one: it sets what a full page holds, and
    /// the next page tells. A page that repeats the one before (a server that ignores `page`)
    /// ends the read. A row that does not decode is an error naming the page and the row.
    pub async fn license_assignments(
        &self,
        license_id: Uuid,
    ) -> Result<Vec<DeviceLicenseAssignmentDto>, ApiError> {
        let endpoint = format!("/licenses/{license_id}/assignments");
        let size = self.usage_page_size();
        let size_text = size.to_string();
        // Rows a full page holds, and whether that is known or still to be told by a page.
        let mut full = size;
        let mut full_known = self.inner.page_cap.load(Ordering::Relaxed) <= size;
        let mut page = self.first_page();
        let mut seen: HashSet<Uuid> = HashSet::new();
        let mut previous: Vec<Value> = Vec::new();
        let mut out = Vec::new();
        loop {
            let page_text = page.to_string();
            let query = [
                ("page", page_text.as_str()),
                ("page_size", size_text.as_str()),
            ];
            let answer = self
                .call(Method::GET, &endpoint, &query, None::<&()>, Repeat::Safe)
                .await;
            let answer: Option<Value> = match answer {
                Err(err) if page == 0 && matches!(err.status(), Some(400 | 404)) => {
                    self.pages_count_from_one();
                    page = 1;
                    continue;
                }
                answer => answer?.written()?,
            };
            let rows = rows_of(answer);
            if rows.is_empty() {
                if page == 0 && self.first_page() == 0 && !self.page_base_known() {
                    // An empty page 0 is no assignments, or a server counting from 1: page 1
                    // tells, since a server counting from 0 has nothing there either. Once a
                    // listing has shown that pages start at 0, it is no assignments.
                    page = 1;
                    continue;
                }
                return Ok(out);
            }
            if page == 1 && self.first_page() == 0 && previous.is_empty() {
                // Page 1 holds rows where page 0 held none: pages count from 1.
                self.pages_count_from_one();
            }
            if rows == previous {
                if page == 1 && self.first_page() == 0 {
                    // Page 0 answered like page 1: pages count from 1.
                    self.pages_count_from_one();
                    page += 1;
                    continue;
                }
                return Ok(out);
            }
            let rows_len = rows.len();
            let mut added = 0usize;
            for (index, row) in rows.iter().enumerate() {
                let decoded: DeviceLicenseAssignmentDto = serde_json::from_value(row.clone())
                    .map_err(|err| ApiError::Decode {
                        method: "GET".into(),
                        path: self.path(&endpoint),
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
            if added == 0 {
                return Ok(out);
            }
            if rows_len < full {
                if full_known {
                    return Ok(out);
                }
                full = rows_len;
            }
            full_known = true;
            previous = rows;
            page += 1;
        }
    }
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
