//! The async SLASCONE API client: one method per call the reconciler makes.
//!
//! Every request goes to `{base_url}/api/v2/isv/{isv_id}/...` with the `AdminKey` header and
//! `LastModifiedBy: slascone-sync`. Requests that are safe to repeat (GET, the listing POSTs,
//! PATCH) are retried with exponential backoff and jitter on 429, 500, 502, 503, 504 and transport
//! errors, honouring `Retry-After`. A creating POST is retried only where it provably was not
//! processed (429, or a connection that never reached the server); after any other failure its
//! outcome is ambiguous and the caller must look the object up before trying again.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::endpoint;
use super::error::ApiError;
use super::wire::*;
use crate::plan::Endpoint;

/// The value sent as `LastModifiedBy`, so SLASCONE's audit log shows which tool made a change.
pub const LAST_MODIFIED_BY: &str = "slascone-sync";

/// An AdminKey. It can change every license an ISV has sold, so it is never shown: `Debug` and
/// `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminKey(String);

impl AdminKey {
    pub fn new(key: impl Into<String>) -> Self {
        AdminKey(key.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey(<redacted>)")
    }
}

impl fmt::Display for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Time allowed for one attempt of a request, from connecting to the last byte of the answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for making the connection (DNS, TCP, TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one call, retries included (`--timeout`).
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(300);

/// The largest answer accepted (256 MiB): room for every customer of a large ISV in one
/// `GET /customers`, and a bound on what an endless or hostile answer can make the client hold.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 << 20;

/// How often and how long to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer ones are clamped to it.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Where a client reports each request it sends; it never prints.
#[derive(Clone)]
pub struct RequestLog(pub Arc<dyn Fn(&str) + Send + Sync>);

impl fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestLog")
    }
}

/// Everything needed to talk to one SLASCONE tenant.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://api365.slascone.com`; plain `http` only for loopback addresses.
    pub base_url: String,
    pub isv_id: Uuid,
    pub admin_key: AdminKey,
    /// Time allowed for one attempt, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Time allowed for one call, all its retries and waits included: a server that accepts
    /// connections and never answers cannot hold a command (or a CI job) longer than this.
    pub total_timeout: Duration,
    pub retry: RetryPolicy,
    /// Page size of the license listing.
    pub page_size: i64,
    /// The most requests of this client (and its clones) in flight at once, whichever task
    /// sends them: pages of a listing are fetched concurrently within it.
    pub max_in_flight: usize,
    /// Called with one line per request (method, path, status, time), when set: `--verbose`.
    pub log: Option<RequestLog>,
    /// The largest answer accepted, in bytes.
    pub max_body_bytes: usize,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, isv_id: Uuid, admin_key: AdminKey) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            isv_id,
            admin_key,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            retry: RetryPolicy::default(),
            page_size: 500,
            max_in_flight: 8,
            log: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The SLASCONE API client. Cheap to clone; clones share the connection pool and counters.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// `{base_url}/api/v2/isv/{isv_id}`, without a trailing slash.
    api_base: String,
    /// The same as `api_base`, without scheme and host: how requests are named in errors.
    api_path: String,
    config: ClientConfig,
    requests: AtomicU64,
    /// First page number of the license listing: 0 until SLASCONE shows it starts at 1.
    page_base: AtomicU8,
    /// After a 429, no request of this client is sent before this instant, so concurrent
    /// workers wait out a rate limit together instead of each provoking another 429.
    not_before: std::sync::Mutex<Option<Instant>>,
    /// Permits for `config.max_in_flight` requests, held from sending to the last byte.
    in_flight: tokio::sync::Semaphore,
}

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Reads, listings and whole-object PATCHes: sending twice has the effect of sending once.
    Safe,
    /// Creating POSTs: sent again only when the first one provably was not processed.
    Create,
}

impl Client {
    /// Builds a client. Refuses plain `http` except on loopback, and never disables certificate
    /// verification.
    pub fn new(config: ClientConfig) -> Result<Client, String> {
        let base = config.base_url.trim_end_matches('/');
        let url = Url::parse(base).map_err(|err| format!("invalid api_url `{base}`: {err}"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "api_url `{base}` uses plain http; only https is allowed (plain http only for loopback addresses such as the sandbox)"
                ));
            }
            other => return Err(format!("api_url `{base}`: unsupported scheme `{other}`")),
        }
        let mut http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect would carry the AdminKey header to wherever it points, possibly over
            // plain http; the SLASCONE API never redirects, so none is followed.
            .redirect(reqwest::redirect::Policy::none());
        if url.scheme() == "http" {
            // Plain http is allowed because it never leaves the machine; a proxy from the
            // environment (HTTP_PROXY) would carry the key off it in clear text.
            http = http.no_proxy();
        }
        let http = http
            .user_agent(concat!("slascone-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        let api_path = format!(
            "{}/api/v2/isv/{}",
            url.path().trim_end_matches('/'),
            config.isv_id
        );
        let api_base = format!("{base}/api/v2/isv/{}", config.isv_id);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_base,
                api_path,
                in_flight: tokio::sync::Semaphore::new(config.max_in_flight.max(1)),
                config,
                requests: AtomicU64::new(0),
                page_base: AtomicU8::new(0),
                not_before: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The ISV this client talks to.
    pub fn isv_id(&self) -> Uuid {
        self.inner.config.isv_id
    }

    /// The base URL, as configured.
    pub fn base_url(&self) -> &str {
        &self.inner.config.base_url
    }

    /// Requests sent so far (every attempt counts).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The path of an endpoint below `/api/v2/isv/{isv_id}`, as plans and errors show it.
    pub fn path(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.inner.api_path)
    }

    // ---- customers -------------------------------------------------------------------------

    /// `GET /customers`: every customer, unpaged.
    pub async fn list_customers(&self) -> Result<Vec<CustomerDto>, ApiError> {
        self.call(Method::GET, "/customers", &[], None::<&()>, Repeat::Safe)
            .await?
            .list()
    }

    /// `GET /customers/{id}`; `None` when there is no such customer.
    pub async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerDto>, ApiError> {
        let endpoint = format!("/customers/{id}");
        self.get_optional(&endpoint, &[]).await
    }

    /// `GET /customers/by_number?customer_number=N`; `None` when there is no such customer.
    pub async fn get_customer_by_number(
        &self,
        number: &str,
    ) -> Result<Option<CustomerDto>, ApiError> {
        self.get_optional("/customers/by_number", &[("customer_number", number)])
            .await
    }

    /// `POST /customers`: creates a customer keyed by id. `None` when SLASCONE answered without
    /// a body (204, documented for customer writes): the write was applied, and the caller
    /// reads the customer back to learn its state.
    pub async fn create_customer(
        &self,
        customer: &CustomerDto,
    ) -> Result<Option<CustomerDto>, ApiError> {
        self.call(
            Method::POST,
            endpoint::collection(Endpoint::Customers),
            &[],
            Some(customer),
            Repeat::Create,
        )
        .await?
        .written()
    }

    /// `PATCH /customers`: updates a customer keyed by id (the id is in the body). `None` for
    /// an answer without a body, as for [`Self::create_customer`].
    pub async fn update_customer(
        &self,
        customer: &CustomerDto,
    ) -> Result<Option<CustomerDto>, ApiError> {
        self.call(
            Method::PATCH,
            endpoint::collection(Endpoint::Customers),
            &[],
            Some(customer),
            Repeat::Safe,
        )
        .await?
        .written()
    }

    /// `POST /data_exchange/customers`: creates a customer keyed by customer_number. `None` for
    /// an answer without a body.
    pub async fn create_customer_by_number(
        &self,
        customer: &DataExchangeAddCustomerDto,
    ) -> Result<Option<CustomerDto>, ApiError> {
        let endpoint = endpoint::collection(Endpoint::DataExchangeCustomers);
        self.call(Method::POST, endpoint, &[], Some(customer), Repeat::Create)
            .await?
            .written()
    }

    /// `PATCH /data_exchange/customers`: merge-style update keyed by customer_number. `None` for
    /// an answer without a body.
    pub async fn update_customer_by_number(
        &self,
        customer: &DataExchangeUpdateCustomerDto,
    ) -> Result<Option<CustomerDto>, ApiError> {
        let endpoint = endpoint::collection(Endpoint::DataExchangeCustomers);
        self.call(Method::PATCH, endpoint, &[], Some(customer), Repeat::Safe)
            .await?
            .written()
    }

    // ---- catalog ---------------------------------------------------------------------------

    /// `GET /customers/types`.
    pub async fn customer_types(&self) -> Result<Vec<CustomerTypeDto>, ApiError> {
        self.call(
            Method::GET,
            "/customers/types",
            &[],
            None::<&()>,
            Repeat::Safe,
        )
        .await?
        .list()
    }

    /// `GET /licenses/types`.
    pub async fn license_types(&self) -> Result<Vec<LicenseTypeDto>, ApiError> {
        self.call(
            Method::GET,
            "/licenses/types",
            &[],
            None::<&()>,
            Repeat::Safe,
        )
        .await?
        .list()
    }

    /// `GET /products`.
    pub async fn products(&self) -> Result<Vec<ProductDto>, ApiError> {
        self.call(Method::GET, "/products", &[], None::<&()>, Repeat::Safe)
            .await?
            .list()
    }

    /// `GET /products/{id}/detail`: the product's features, limitations and variables.
    pub async fn product_detail(&self, product_id: Uuid) -> Result<ProductDetailsDto, ApiError> {
        let endpoint = format!("/products/{product_id}/detail");
        self.call(Method::GET, &endpoint, &[], None::<&()>, Repeat::Safe)
            .await?
            .object_or_default()
    }

    /// `GET /templates?product_id=`: the editions of a product.
    pub async fn templates(&self, product_id: Uuid) -> Result<Vec<TemplateDto>, ApiError> {
        let id = product_id.to_string();
        let query = [("product_id", id.as_str())];
        self.call(Method::GET, "/templates", &query, None::<&()>, Repeat::Safe)
            .await?
            .list()
    }

    // ---- licenses --------------------------------------------------------------------------

    /// `GET /licenses/{id}`; `None` when there is no such license.
    pub async fn get_license(&self, id: Uuid) -> Result<Option<LicenseDto>, ApiError> {
        let endpoint = format!("/licenses/{id}");
        self.get_optional(&endpoint, &[]).await
    }

    /// `POST /licenses`: creates a license (edition-based when it lists no features,
    /// limitations or variables). `None` for an answer without a body.
    pub async fn create_license(
        &self,
        license: &LicenseDto,
    ) -> Result<Option<LicenseDto>, ApiError> {
        self.call(
            Method::POST,
            endpoint::collection(Endpoint::Licenses),
            &[],
            Some(license),
            Repeat::Create,
        )
        .await?
        .written()
    }

    /// `PATCH /licenses?apply_template_properties=…`: updates a license (id in the body). With
    /// `apply_template_properties`, SLASCONE gives every property the body leaves out its
    /// edition's value. `None` for an answer without a body.
    pub async fn update_license(
        &self,
        license: &LicenseDto,
        apply_template_properties: bool,
    ) -> Result<Option<LicenseDto>, ApiError> {
        let flag = if apply_template_properties {
            "true"
        } else {
            "false"
        };
        let query = [("apply_template_properties", flag)];
        self.call(
            Method::PATCH,
            endpoint::collection(Endpoint::Licenses),
            &query,
            Some(license),
            Repeat::Safe,
        )
        .await?
        .written()
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
        let answer: Option<LicenseLazyLoadDto> = self
            .call(
                Method::POST,
                "/licenses/filtered",
                &[],
                Some(&filter),
                Repeat::Safe,
            )
            .await?
            .written()?;
        Ok(answer.map_or(0, |answer| answer.max_count))
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
        let page = usize::try_from(self.inner.config.page_size).unwrap_or(1);
        let reserve = expected_len.min(page.saturating_mul(4));
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

    // ---- transport -------------------------------------------------------------------------

    async fn get_optional<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<T>, ApiError> {
        match self
            .call(Method::GET, endpoint, query, None::<&()>, Repeat::Safe)
            .await
        {
            // SLASCONE answers "not found" with 204 on customer endpoints; 404 and a 409 on a
            // read by id are taken to mean the same.
            Ok(answer) if answer.is_empty() => Ok(None),
            Ok(answer) => answer.json().map(Some),
            Err(ApiError::Status { status: 404, .. }) | Err(ApiError::Business { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Sends one request, retrying where that is safe.
    async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        endpoint: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        repeat: Repeat,
    ) -> Result<Answer, ApiError> {
        let path = self.path(endpoint);
        let body = match body {
            Some(body) => Some(serde_json::to_vec(body).map_err(|err| ApiError::Decode {
                method: method.to_string(),
                path: path.clone(),
                message: format!("cannot encode the request body: {err}"),
            })?),
            None => None,
        };
        let policy = &self.inner.config.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter();
        let max_retry_after = policy.max_retry_after;
        let text = format!("{}{endpoint}", self.inner.api_base);
        let url = if query.is_empty() {
            Url::parse(&text)
        } else {
            Url::parse_with_params(&text, query)
        };
        let url = url.map_err(|err| ApiError::Decode {
            method: method.to_string(),
            path: path.clone(),
            message: format!("cannot build the request URL: {err}"),
        })?;
        let deadline = Instant::now() + self.inner.config.total_timeout;
        let attempt = || self.attempt(&method, &url, &path, body.as_deref(), repeat, deadline);
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|failure: &Failure| failure.retryable && Instant::now() < deadline)
            .adjust(move |failure: &Failure, delay| {
                // Retry-After replaces the backoff delay; with retries exhausted, stop anyway.
                // No wait outlasts the deadline: the attempt after it reports the timeout.
                delay.map(|delay| {
                    let delay = match failure.retry_after {
                        Some(after) => after.min(max_retry_after),
                        None => delay,
                    };
                    delay.min(deadline.saturating_duration_since(Instant::now()))
                })
            })
            .await
            .map_err(|failure| failure.error)
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        path: &str,
        body: Option<&[u8]>,
        repeat: Repeat,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let config = &self.inner.config;
        self.wait_for_rate_limit(deadline).await;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::fatal(ApiError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                timeout: config.total_timeout,
            }));
        }
        // Waiting for a turn counts against the call's time, like any other wait.
        let Ok(Ok(_permit)) = tokio::time::timeout(remaining, self.inner.in_flight.acquire()).await
        else {
            return Err(Failure::fatal(ApiError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                timeout: config.total_timeout,
            }));
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The last attempt gets only what is left of the call's time.
        let timeout = config.request_timeout.min(remaining);
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header("AdminKey", config.admin_key.expose())
            .header("LastModifiedBy", LAST_MODIFIED_BY)
            .header("Accept", "application/json")
            .timeout(timeout);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_vec());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let result = request.send().await;
        let method_name = method.to_string();
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                let failure = self.transport_failure(&method_name, path, &err, repeat, timeout);
                if let Some(log) = &config.log {
                    (log.0)(&format!(
                        "{method_name} {path} -> {} ({:.0?})",
                        failure.error,
                        started.elapsed()
                    ));
                }
                return Err(failure);
            }
        };
        let status = response.status();
        let retry_after = parse_retry_after(response.headers().get("retry-after"));
        let bytes = read_body(response, config.max_body_bytes).await;
        if let Some(log) = &config.log {
            (log.0)(&format!(
                "{method_name} {path} -> {} ({:.0?})",
                status.as_u16(),
                started.elapsed()
            ));
        }
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge) => {
                return Err(Failure::fatal(ApiError::Decode {
                    method: method_name,
                    path: path.to_string(),
                    message: format!("the answer is larger than {} bytes", config.max_body_bytes),
                }));
            }
            Err(BodyError::Transport(err)) => {
                return Err(self.transport_failure(&method_name, path, &err, repeat, timeout));
            }
        };
        if status.is_success() {
            return Ok(Answer {
                method: method_name,
                path: path.to_string(),
                status,
                body: bytes,
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let pause = retry_after
                .unwrap_or(Duration::from_secs(1))
                .min(config.retry.max_retry_after);
            self.pause_until(Instant::now() + pause);
        }
        let error = status_error(&method_name, path, status, &bytes);
        let retryable = match status.as_u16() {
            // A rate-limited request was not processed, so even a create may be sent again.
            429 => true,
            500 | 502 | 503 | 504 => repeat == Repeat::Safe,
            _ => false,
        };
        Err(Failure {
            error,
            retryable,
            retry_after,
        })
    }

    async fn wait_for_rate_limit(&self, deadline: Instant) {
        let not_before = *self
            .inner
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(instant) = not_before {
            tokio::time::sleep_until(instant.min(deadline).into()).await;
        }
    }

    fn pause_until(&self, instant: Instant) {
        let mut not_before = self
            .inner
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if not_before.is_none_or(|current| current < instant) {
            *not_before = Some(instant);
        }
    }

    fn transport_failure(
        &self,
        method: &str,
        path: &str,
        err: &reqwest::Error,
        repeat: Repeat,
        timeout: Duration,
    ) -> Failure {
        let before_sending = err.is_connect();
        let error = if err.is_timeout() {
            // An attempt cut short by the call's deadline ran out of the call's time.
            let config = &self.inner.config;
            let timeout = if timeout < config.request_timeout {
                config.total_timeout
            } else {
                timeout
            };
            ApiError::Timeout {
                method: method.to_string(),
                path: path.to_string(),
                timeout,
            }
        } else {
            ApiError::Transport {
                method: method.to_string(),
                path: path.to_string(),
                message: error_chain(err),
                before_sending,
            }
        };
        Failure {
            error,
            retryable: repeat == Repeat::Safe || before_sending,
            retry_after: None,
        }
    }
}

/// A successful answer, not yet decoded.
#[derive(Debug)]
struct Answer {
    method: String,
    path: String,
    status: StatusCode,
    body: Vec<u8>,
}

impl Answer {
    /// True for `204 No Content` and for a success whose body is empty (or only whitespace):
    /// SLASCONE's clients document 204 for empty listings and for customer writes.
    fn is_empty(&self) -> bool {
        self.status == StatusCode::NO_CONTENT || self.body.iter().all(u8::is_ascii_whitespace)
    }

    fn json<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|err| ApiError::Decode {
            method: self.method,
            path: self.path,
            message: format!("{err}"),
        })
    }

    /// A listing: an answer without a body is an empty list.
    fn list<T: DeserializeOwned>(self) -> Result<Vec<T>, ApiError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        self.json()
    }

    /// An object whose absence means "nothing there" (e.g. a product without details).
    fn object_or_default<T: DeserializeOwned + Default>(self) -> Result<T, ApiError> {
        if self.is_empty() {
            return Ok(T::default());
        }
        self.json()
    }

    /// The object a write answered with; `None` when it answered without a body, in which case
    /// the write was applied and the object has to be read back.
    fn written<T: DeserializeOwned>(self) -> Result<Option<T>, ApiError> {
        if self.is_empty() {
            return Ok(None);
        }
        self.json().map(Some)
    }
}

/// One failed attempt and whether another may follow.
#[derive(Debug)]
struct Failure {
    error: ApiError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: ApiError) -> Failure {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }
}

enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads an answer, refusing one over `limit` bytes without holding more than that in memory.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn status_error(method: &str, path: &str, status: StatusCode, body: &[u8]) -> ApiError {
    let method = method.to_string();
    let path = path.to_string();
    match status.as_u16() {
        401 | 403 => ApiError::Unauthorized {
            method,
            path,
            status: status.as_u16(),
        },
        409 => match serde_json::from_slice::<ErrorResultObjects>(body) {
            Ok(error) => ApiError::Business {
                method,
                path,
                id: error.id,
                message: error.message.unwrap_or_default(),
            },
            Err(_) => ApiError::Status {
                method,
                path,
                status: 409,
                body: excerpt(body),
            },
        },
        400 => match serde_json::from_slice::<ProblemDetails>(body) {
            Ok(problem) if problem.title.is_some() || problem.detail.is_some() => {
                ApiError::BadRequest {
                    method,
                    path,
                    title: problem.title.unwrap_or_else(|| "Bad Request".into()),
                    detail: problem.detail,
                }
            }
            _ => ApiError::Status {
                method,
                path,
                status: 400,
                body: excerpt(body),
            },
        },
        code => ApiError::Status {
            method,
            path,
            status: code,
            body: excerpt(body),
        },
    }
}

/// The start of an error body, for messages: enough to recognise it, never a whole page.
fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and falls back to backoff).
fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let seconds: f64 = value?.to_str().ok()?.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ClientConfig {
        ClientConfig::new(url, Uuid::nil(), AdminKey::new("k-123-secret"))
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(Client::new(config("https://api365.slascone.com")).is_ok());
        assert!(Client::new(config("http://127.0.0.1:8080")).is_ok());
        assert!(Client::new(config("http://[::1]:8080")).is_ok());
        assert!(Client::new(config("http://localhost:8080")).is_ok());
        let err = Client::new(config("http://api365.slascone.com")).unwrap_err();
        assert!(err.contains("only https is allowed"), "{err}");
        let err = Client::new(config("ftp://example.com")).unwrap_err();
        assert!(err.contains("unsupported scheme"), "{err}");
    }

    #[test]
    fn the_admin_key_is_never_shown() {
        let client = Client::new(config("https://api365.slascone.com")).unwrap();
        let shown = format!(
            "{client:?} {:?} {}",
            config("x").admin_key,
            config("x").admin_key
        );
        assert!(!shown.contains("k-123-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let value = reqwest::header::HeaderValue::from_static("2");
        assert_eq!(
            parse_retry_after(Some(&value)),
            Some(Duration::from_secs(2))
        );
        let value = reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&value)), None);
    }

    #[test]
    fn error_bodies_are_shortened() {
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 201);
    }
}
