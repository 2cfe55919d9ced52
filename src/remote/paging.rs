//! The license listing, page by page: SLASCONE documents neither the number of the first page
//! nor the largest page size, so the client finds both out as it reads, and the other paged
//! reads (`usage`) start where it learned pages start and ask for no more than it learned a
//! page holds.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use reqwest::Method;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::client::Client;
use super::error::ApiError;
use super::transport::Repeat;
use super::wire::*;

impl Client {
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
        self.call(Method::POST, endpoint, &[], Some(filter), Repeat::Safe)
            .await?
            .list()
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
    pub async fn list_licenses_each(
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
        let expected_len = usize::try_from(expected).unwrap_or(0);
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
        let mut seen: HashSet<Uuid> = HashSet::with_capacity(reserve);
        let mut page = i64::from(self.inner.page_base.load(Ordering::Relaxed));
        let mut previous_page_len = 0usize;
        // Pages requested ahead, by number. Handles dropped on an error return do not stop their
        // tasks: those few reads finish in the background and are discarded.
        let mut prefetched: HashMap<i64, JoinHandle<Result<Vec<LicenseDto>, ApiError>>> =
            HashMap::new();
        // The last page the count and the first page's length call for, and the last requested.
        let mut last_page: Option<i64> = None;
        let mut requested = page;
        let window = self.inner.config.max_in_flight.max(1).saturating_mul(2);
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
                            self.inner.page_base.store(1, Ordering::Relaxed);
                            page = 1;
                            continue;
                        }
                        read => read?,
                    }
                }
            };
            let rows_len = rows.len();
            if page == 0 && rows_len == 0 {
                // Page 0 is empty while the count says there are licenses: pages count from 1.
                self.inner.page_base.store(1, Ordering::Relaxed);
                page = 1;
                continue;
            }
            let new: Vec<LicenseDto> = rows.into_iter().filter(|row| seen.insert(row.id)).collect();
            let added = new.len();
            if added > 0 {
                take(new);
            }
            if added > 0 && rows_len < page_size && seen.len() < expected_len {
                // A page shorter than asked with more to come: the server caps page_size, and
                // the other paged reads ask for no more than this.
                self.inner.page_cap.fetch_min(rows_len, Ordering::Relaxed);
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
                self.inner.page_base.store(1, Ordering::Relaxed);
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
