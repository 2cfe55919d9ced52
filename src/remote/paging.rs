//! The license listing, page by page: SLASCONE documents neither the number of the first page
//! nor the largest page size, so the client finds both out as it reads, and the other paged
//! reads (`usage`) start where it learned pages start and ask for no more than it learned a
//! page holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use reqwest::Method;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::client::Client;
use super::client::Repeat;
use super::error::ApiError;
use super::wire::*;
use crate::hashing::{HashSet, set_with_capacity};

/// More licenses than any account holds: a larger `max_count` is a broken or hostile answer, not
/// a listing to read.
pub const MAX_LISTED_LICENSES: usize = 10_000_000;

/// The rows of a page not seen before, recording them. A page holding an id twice, or mixing
/// seen and unseen rows (the listing moved under the reader), is an error naming that id; a page
/// of seen rows only is a repeated page, which the caller reads as the end or as page 0 being
/// page 1.
fn new_rows(rows: Vec<LicenseDto>, seen: &mut HashSet<Uuid>) -> Result<Vec<LicenseDto>, Uuid> {
    let mut on_page: HashSet<Uuid> = set_with_capacity(rows.len());
    for row in &rows {
        if !on_page.insert(row.id) {
            return Err(row.id);
        }
    }
    let old = rows.iter().filter(|row| seen.contains(&row.id)).count();
    if old == rows.len() {
        return Ok(Vec::new());
    }
    if let Some(row) = rows.iter().find(|row| seen.contains(&row.id)) {
        return Err(row.id);
    }
    seen.extend(rows.iter().map(|row| row.id));
    Ok(rows)
}

/// What a listing that comes without a count has shown of its pages, kept by the client so each
/// read of it starts from what the reads before it found out.
#[derive(Debug, Default)]
pub(crate) struct PagesShown {
    /// The number of its first page, once shown (0 or 1).
    base: AtomicU8,
    base_known: AtomicBool,
    /// The longest page it has answered: its cap on `page_size` is at least this, so a page
    /// shorter than this was not cut by the cap and is the last.
    longest: AtomicUsize,
}

impl PagesShown {
    /// The page to start at: the first, where shown, or 0 to find it out.
    pub(crate) fn start(&self) -> i64 {
        match self.base() {
            Some(base) => i64::from(base),
            None => 0,
        }
    }

    /// The number of the first page, where a read has shown it.
    pub(crate) fn base(&self) -> Option<u8> {
        self.base_known
            .load(Ordering::Relaxed)
            .then(|| self.base.load(Ordering::Relaxed))
    }

    pub(crate) fn shown_base(&self, base: u8) {
        self.base.store(base, Ordering::Relaxed);
        self.base_known.store(true, Ordering::Relaxed);
    }

    pub(crate) fn longest(&self) -> usize {
        self.longest.load(Ordering::Relaxed)
    }

    pub(crate) fn shown_page(&self, rows: usize) {
        self.longest.fetch_max(rows, Ordering::Relaxed);
    }
}

/// What a page of a listing without a count says about the pages after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageEnd {
    /// As long as asked, or as long as the longest page the listing answered: it may have been
    /// cut by the server's cap, so the next page tells.
    MayGoOn,
    /// Shorter than a page the listing has answered before, so not cut: the last.
    Last,
}

/// How a page of `rows` rows, asked for `asked`, ends a listing whose longest page so far held
/// `longest` rows.
pub(crate) fn page_end(rows: usize, asked: usize, longest: usize) -> PageEnd {
    if rows >= asked || rows >= longest {
        PageEnd::MayGoOn
    } else {
        PageEnd::Last
    }
}

impl Client {
    /// The number of the first page: 0 until a listing shows pages start at 1.
    pub(super) fn first_page(&self) -> i64 {
        i64::from(self.inner.page_base.load(Ordering::Relaxed))
    }

    /// A listing showed that pages start at 1.
    pub(super) fn pages_count_from_one(&self) {
        self.inner.page_base.store(1, Ordering::Relaxed);
        self.inner.page_base_known.store(true, Ordering::Relaxed);
    }

    /// `POST /licenses/filtered`: the number of licenses matching a filter (`max_count`). No
    /// page is named, so the count does not depend on where the server's pages start; an
    /// answer without a body counts none.
    pub async fn count_licenses(&self, filter: &LicenseFilterDto) -> Result<i64, ApiError> {
        let filter = LicenseFilterDto {
            page_size: 1,
            page: None,
            ..filter.clone()
        };
        Ok(self
            .licenses_filtered(&filter)
            .await?
            .map_or(0, |answer| answer.max_count))
    }

    /// `POST /licenses/filtered`: the light listing (`None` when answered without a body).
    pub(super) async fn licenses_filtered(
        &self,
        filter: &LicenseFilterDto,
    ) -> Result<Option<LicenseLazyLoadDto>, ApiError> {
        self.call(
            Method::POST,
            "/licenses/filtered",
            &[],
            Some(filter),
            Repeat::Safe,
        )
        .await?
        .written()
    }

    /// One page of `POST /licenses/filtered/detailed`; an answer without a body is an empty page.
    pub async fn licenses_page(
        &self,
        filter: &LicenseFilterDto,
    ) -> Result<Vec<LicenseDto>, ApiError> {
        let endpoint = "/licenses/filtered/detailed";
        let licenses: Vec<LicenseDto> = self
            .call(Method::POST, endpoint, &[], Some(filter), Repeat::Safe)
            .await?
            .list()?;
        self.checked(Method::POST, endpoint, &licenses, super::checks::license)?;
        Ok(licenses)
    }

    /// Every license of a product, read page by page through `licenses/filtered/detailed`.
    ///
    /// SLASCONE documents neither the number of the first page nor the largest page size, so the
    /// listing starts at page 0 and takes a server to count from 1 when its page 0 repeats
    /// page 1, is empty although the count is not, or is refused (400 or 404); the client then
    /// starts its later listings at page 1. It follows the page length the server actually
    /// answers with (a server may cap `page_size`), keeps going while pages bring new licenses,
    /// and checks the total against the `max_count` of `licenses/filtered`. A listing that does
    /// not add up is an error, never a partial result.
    ///
    /// The first page is read alone; it shows how many rows a page really holds. The pages the
    /// count then still needs are requested at once (within `max_in_flight`) and taken in
    /// order, so a long listing costs a few round trips instead of one per page.
    pub async fn list_licenses(&self, product_id: Uuid) -> Result<Vec<LicenseDto>, ApiError> {
        let mut out = Vec::new();
        self.list_licenses_each(product_id, |rows| out.extend(rows))
            .await?;
        Ok(out)
    }

    /// [`Self::list_licenses`], handing each page's new licenses to `take` as they arrive
    /// instead of collecting them, so a caller can reduce them and let the wire objects go.
    ///
    /// The whole read, not only each request, ends within the call's time (`--timeout`): a
    /// server whose pages never run out cannot keep a command reading.
    pub async fn list_licenses_each(
        &self,
        product_id: Uuid,
        take: impl FnMut(Vec<LicenseDto>),
    ) -> Result<(), ApiError> {
        let timeout = self.inner.config.total_timeout;
        tokio::time::timeout(timeout, self.read_licenses(product_id, take))
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::Timeout {
                    method: "POST".into(),
                    path: self.path("/licenses/filtered/detailed"),
                    timeout,
                })
            })
    }

    async fn read_licenses(
        &self,
        product_id: Uuid,
        mut take: impl FnMut(Vec<LicenseDto>),
    ) -> Result<(), ApiError> {
        let filter = LicenseFilterDto {
            page_size: self.inner.config.page_size.max(1),
            product_filter: Some(product_id),
            ..LicenseFilterDto::default()
        };
        let expected = self.count_licenses(&filter).await?;
        let expected_len = match usize::try_from(expected) {
            Ok(len) if len <= MAX_LISTED_LICENSES => len,
            _ => {
                return Err(ApiError::Decode {
                    method: "POST".into(),
                    path: self.path("/licenses/filtered"),
                    message: format!(
                        "max_count {expected} of product {product_id} is no count of licenses (0 to {MAX_LISTED_LICENSES})"
                    ),
                });
            }
        };
        if expected_len == 0 {
            return Ok(());
        }
        let incomplete = |message: String| ApiError::Incomplete {
            method: "POST".into(),
            path: self.path("/licenses/filtered/detailed"),
            message,
        };
        // The count comes from the server: reserve no more than a few pages' worth up front.
        let page_size = usize::try_from(filter.page_size).unwrap_or(1);
        let reserve = expected_len.min(page_size.saturating_mul(4));
        let mut seen: HashSet<Uuid> = set_with_capacity(reserve);
        let mut page = self.first_page();
        let mut previous_page_len = 0usize;
        // Pages requested ahead, by number. Handles dropped on an error return do not stop their
        // tasks: those few reads finish in the background and are discarded.
        let mut prefetched: HashMap<i64, JoinHandle<Result<Vec<LicenseDto>, ApiError>>> =
            HashMap::new();
        // The last page the count and the first page's length call for, and the last requested.
        let mut last_page: Option<i64> = None;
        let mut requested = page;
        let window = self.inner.config.max_in_flight.max(1).saturating_mul(2);
        let mut pages_read = 0usize;
        let mut shortest_page = usize::MAX;
        // Every useful page adds at least one license, so this bounds a misbehaving server.
        let max_pages = expected.saturating_add(2);
        for _ in 0..max_pages {
            let rows = match prefetched.remove(&page) {
                Some(task) => task
                    .await
                    .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))?,
                None => {
                    let read = self
                        .licenses_page(&LicenseFilterDto {
                            page: Some(page),
                            ..filter.clone()
                        })
                        .await;
                    match read {
                        // Page 0 refused: this server counts pages from 1.
                        Err(err) if page == 0 && matches!(err.status(), Some(400 | 404)) => {
                            self.pages_count_from_one();
                            page = 1;
                            continue;
                        }
                        read => read?,
                    }
                }
            };
            let rows_len = rows.len();
            // The pages the count calls for at the shortest page length the server answered
            // with, and two for finding out where pages start: more is a listing that does not
            // end.
            if rows_len > 0 {
                shortest_page = shortest_page.min(rows_len);
            }
            pages_read += 1;
            let page_limit = expected_len.div_ceil(shortest_page).saturating_add(2);
            if pages_read > page_limit {
                return Err(incomplete(format!(
                    "more than {page_limit} pages of product {product_id} for the {expected} licenses SLASCONE counts; the listing does not end"
                )));
            }
            if page == 0 && rows_len == 0 {
                // Page 0 is empty while the count says there are licenses: pages count from 1.
                self.pages_count_from_one();
                page = 1;
                continue;
            }
            let new = new_rows(rows, &mut seen).map_err(|id| {
                incomplete(format!(
                    "license {id} of product {product_id} is listed twice; the listing changed while it was read, or the server repeats licenses"
                ))
            })?;
            let added = new.len();
            if page == 1 && previous_page_len > 0 && added > 0 {
                // Page 1 brought rows page 0 did not hold: pages start at 0.
                self.inner.page_base_known.store(true, Ordering::Relaxed);
            }
            if added > 0 {
                take(new);
            }
            if added > 0 && rows_len < page_size && seen.len() < expected_len {
                // A page shorter than asked with more to come: the server caps page_size, and
                // the other paged reads ask for no more than this.
                self.inner.page_cap.fetch_min(rows_len, Ordering::Relaxed);
            } else if added > 0 && rows_len == page_size {
                // A page as long as asked: the server honours page_size, so a page of another
                // paged read that is shorter than asked is its last.
                self.inner.page_cap.fetch_min(page_size, Ordering::Relaxed);
            }
            if last_page.is_none() && added > 0 && seen.len() < expected_len {
                let pages = (expected_len - seen.len()).div_ceil(rows_len);
                last_page = Some(page.saturating_add(i64::try_from(pages).unwrap_or(i64::MAX)));
                requested = page;
            }
            // Keep a window of pages in flight; the count comes from the server, so it never
            // decides how many tasks there are.
            while let Some(last) = last_page
                && requested < last
                && prefetched.len() < window
            {
                requested += 1;
                let client = self.clone();
                let filter = LicenseFilterDto {
                    page: Some(requested),
                    ..filter.clone()
                };
                prefetched.insert(
                    requested,
                    tokio::spawn(async move { client.licenses_page(&filter).await }),
                );
            }
            if added == 0 && rows_len > 0 && page == 1 && previous_page_len == rows_len {
                // Page 0 answered like page 1: this server counts pages from 1.
                self.pages_count_from_one();
                previous_page_len = rows_len;
                page += 1;
                continue;
            }
            if added == 0 || seen.len() >= expected_len {
                break;
            }
            previous_page_len = rows_len;
            page += 1;
        }
        if seen.len() != expected_len {
            return Err(incomplete(format!(
                "read {} licenses of product {product_id}, but SLASCONE counts {expected}; the listing changed while it was read, or pages were skipped",
                seen.len()
            )));
        }
        Ok(())
    }

    /// Licenses of a product whose legacy key or id matches `key_search`: the lookup that
    /// settles whether an ambiguous create went through.
    pub async fn find_licenses(
        &self,
        product_id: Uuid,
        key_search: &str,
    ) -> Result<Vec<LicenseDto>, ApiError> {
        let filter = LicenseFilterDto {
            page_size: 100,
            page: None,
            product_filter: Some(product_id),
            key_search: Some(key_search.to_string()),
            ..LicenseFilterDto::default()
        };
        self.licenses_page(&filter).await
    }
}
