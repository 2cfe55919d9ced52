//! The SLASCONE API client: one method per call the reconciler makes.
//!
//! Every request goes to `{base_url}/api/v2/isv/{isv_id}/...` with the `AdminKey` header and
//! `LastModifiedBy: slascone-sync`; how requests are sent, retried and answered is in
//! `transport`, and the paged license listing in `paging`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::endpoint;
use super::error::ApiError;
use super::secret::AdminKey;
use super::transport::{Repeat, is_loopback};
use super::wire::*;
use crate::plan::Endpoint;

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
    /// The largest answer accepted, in bytes; also what all answers being read or decoded at
    /// once may hold together.
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
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    /// `{base_url}/api/v2/isv/{isv_id}`, without a trailing slash.
    pub(super) api_base: String,
    /// The same as `api_base`, without scheme and host: how requests are named in errors.
    pub(super) api_path: String,
    pub(super) config: ClientConfig,
    pub(super) requests: AtomicU64,
    /// First page number of the license listing: 0 until SLASCONE shows it starts at 1.
    pub(super) page_base: AtomicU8,
    /// After a 429, no request of this client is sent before this instant, so concurrent
    /// workers wait out a rate limit together instead of each provoking another 429.
    pub(super) not_before: std::sync::Mutex<Option<Instant>>,
    /// Permits for `config.max_in_flight` requests, held from sending to the last byte.
    pub(super) in_flight: tokio::sync::Semaphore,
    /// One permit per byte of the answers being read or decoded at once: concurrent answers
    /// share `config.max_body_bytes` instead of each having it.
    pub(super) body_budget: Arc<tokio::sync::Semaphore>,
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
                body_budget: Arc::new(tokio::sync::Semaphore::new(
                    config
                        .max_body_bytes
                        .min(tokio::sync::Semaphore::MAX_PERMITS),
                )),
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
        let customers: Vec<CustomerDto> = self
            .call(Method::GET, "/customers", &[], None::<&()>, Repeat::Safe)
            .await?
            .list()?;
        // A customer listed twice would hide whichever of the two the plan did not keep.
        let mut seen = std::collections::HashSet::with_capacity(customers.len());
        if let Some(twice) = customers.iter().find(|c| !seen.insert(c.id)) {
            return Err(ApiError::Incomplete {
                method: "GET".into(),
                path: self.path("/customers"),
                message: format!("customer {} is listed twice", twice.id),
            });
        }
        Ok(customers)
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
            &endpoint::collection(Endpoint::Customers),
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
            &endpoint::collection(Endpoint::Customers),
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
        self.call(Method::POST, &endpoint, &[], Some(customer), Repeat::Create)
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
        self.call(Method::PATCH, &endpoint, &[], Some(customer), Repeat::Safe)
            .await?
            .written()
    }

    // ---- contacts --------------------------------------------------------------------------

    /// `GET /customers/{customer_id}/contacts`: the customer's contact persons.
    pub async fn list_contacts(
        &self,
        customer_id: Uuid,
    ) -> Result<Vec<CustomerContactDto>, ApiError> {
        let endpoint = endpoint::collection(Endpoint::CustomerContacts { customer_id });
        self.call(Method::GET, &endpoint, &[], None::<&()>, Repeat::Safe)
            .await?
            .list()
    }

    /// `POST /customers/{customer_id}/contacts`: adds a contact person. `None` for an answer
    /// without a body.
    pub async fn create_contact(
        &self,
        customer_id: Uuid,
        contact: &CustomerContactDto,
    ) -> Result<Option<CustomerContactDto>, ApiError> {
        let endpoint = endpoint::collection(Endpoint::CustomerContacts { customer_id });
        self.call(Method::POST, &endpoint, &[], Some(contact), Repeat::Create)
            .await?
            .written()
    }

    /// `PATCH /customers/{customer_id}/contacts`: updates a contact person (id in the body).
    /// `None` for an answer without a body.
    pub async fn update_contact(
        &self,
        customer_id: Uuid,
        contact: &CustomerContactDto,
    ) -> Result<Option<CustomerContactDto>, ApiError> {
        let endpoint = endpoint::collection(Endpoint::CustomerContacts { customer_id });
        self.call(Method::PATCH, &endpoint, &[], Some(contact), Repeat::Safe)
            .await?
            .written()
    }

    /// `PUT /data_exchange/customers/contacts`: adds the contact to the customer the number
    /// names, or updates the one with its e-mail address. Not sent again when its outcome is
    /// unknown: it may add the contact, so the caller looks first, as for a create. `None` for
    /// an answer without a body.
    pub async fn put_contact_by_number(
        &self,
        contact: &DataExchangeAddOrUpdateCustomerContactDto,
    ) -> Result<Option<CustomerContactDto>, ApiError> {
        let endpoint = endpoint::collection(Endpoint::DataExchangeContacts);
        self.call(Method::PUT, &endpoint, &[], Some(contact), Repeat::Create)
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
        let templates: Vec<TemplateDto> = self
            .call(Method::GET, "/templates", &query, None::<&()>, Repeat::Safe)
            .await?
            .list()?;
        self.checked(
            Method::GET,
            "/templates",
            &templates,
            super::checks::template,
        )?;
        Ok(templates)
    }

    // ---- licenses --------------------------------------------------------------------------

    /// `GET /licenses/{id}`; `None` when there is no such license.
    pub async fn get_license(&self, id: Uuid) -> Result<Option<LicenseDto>, ApiError> {
        let endpoint = format!("/licenses/{id}");
        let license: Option<LicenseDto> = self.get_optional(&endpoint, &[]).await?;
        self.checked(
            Method::GET,
            &endpoint,
            license.as_slice(),
            super::checks::license,
        )?;
        Ok(license)
    }

    /// `objects` of an answer to `method endpoint`, each as the diff can read it (`check`), or
    /// an error naming the request and the object.
    pub(super) fn checked<T>(
        &self,
        method: Method,
        endpoint: &str,
        objects: &[T],
        check: fn(&T) -> Result<(), String>,
    ) -> Result<(), ApiError> {
        for object in objects {
            check(object).map_err(|message| ApiError::Decode {
                method: method.to_string(),
                path: self.path(endpoint),
                message,
            })?;
        }
        Ok(())
    }

    /// `POST /licenses`: creates a license (edition-based when it lists no features,
    /// limitations or variables). `None` for an answer without a body.
    pub async fn create_license(
        &self,
        license: &LicenseDto,
    ) -> Result<Option<LicenseDto>, ApiError> {
        self.call(
            Method::POST,
            &endpoint::collection(Endpoint::Licenses),
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
            &endpoint::collection(Endpoint::Licenses),
            &query,
            Some(license),
            Repeat::Safe,
        )
        .await?
        .written()
    }

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
}
