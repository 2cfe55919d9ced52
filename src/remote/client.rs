//! The SLASCONE API client: one method per call the reconciler makes.
//!
//! Every request goes to `{base_url}/api/v2/isv/{isv_id}/...` with the `AdminKey` header and
//! `LastModifiedBy: slascone-sync`; how requests are sent, retried and answered is in
//! `transport`, the paged license listing in `paging`, and the reads of what is in use in
//! `usage`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::endpoint;
use super::error::ApiError;
use super::secret::AdminKey;
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
    /// Retries after a connection that could not be made at all (refused, or a name that does
    /// not resolve): few, so a wrong `api_url` fails in about two seconds, not the whole budget.
    pub max_unreachable_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer ones are clamped to it.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            max_unreachable_retries: 2,
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
    /// Page size of the license listing, and of the usage reads unless a listing showed a cap.
    pub page_size: i64,
    /// The most requests of this client (and its clones) in flight at once, whichever task
    /// sends them: pages of a listing are fetched concurrently within it.
    pub max_in_flight: usize,
    /// Called with one line per request (method, path, status, time), when set: `--verbose`.
    pub log: Option<RequestLog>,
    /// Called with one line before each retry: what failed, which attempt comes next and after
    /// how long a wait, so a slow or unreachable server is never silence.
    pub retry_log: Option<RequestLog>,
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
            retry_log: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Reads, listings and whole-object PATCHes: sending twice has the effect of sending once.
    Safe,
    /// Creating POSTs: sent again only when the first one provably was not processed.
    Create,
}

/// Plain `http` is allowed to these hosts only: the key never crosses a network in the clear.
/// The agent's `--git` and `--notify-url` follow the same rule.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
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
    /// Whether a listing has shown where pages start (page 1 brought rows page 0 did not, or
    /// page 0 was refused, empty or a copy of page 1), rather than page 0 being assumed.
    pub(super) page_base_known: AtomicBool,
    /// The most rows a page of a listing has held where more were asked for and more were
    /// left (the server's cap on `page_size`), or the page size a listing was seen to honour.
    /// `usize::MAX` until a listing shows either.
    pub(super) page_cap: AtomicUsize,
    /// What the assignments listing has shown of its own pages. It is another endpoint than the
    /// license listing, so what that one showed is no proof of how this one pages.
    pub(super) assignment_pages: super::paging::PagesShown,
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
                page_base_known: AtomicBool::new(false),
                page_cap: AtomicUsize::new(usize::MAX),
                assignment_pages: super::paging::PagesShown::default(),
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
        let endpoint = "/customers/types";
        let types: Vec<CustomerTypeDto> = self
            .call(Method::GET, endpoint, &[], None::<&()>, Repeat::Safe)
            .await?
            .list()?;
        let rows = types
            .iter()
            .map(|t| (t.id, t.customer_type_name.as_deref()));
        self.ids_present(endpoint, "customer type", rows)?;
        Ok(types)
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
        let products: Vec<ProductDto> = self
            .call(Method::GET, "/products", &[], None::<&()>, Repeat::Safe)
            .await?
            .list()?;
        let rows = products.iter().map(|p| (p.id, Some(p.name.as_str())));
        self.ids_present("/products", "product", rows)?;
        Ok(products)
    }

    /// `GET /products/{id}/detail`: the product's features, limitations, variables,
    /// constrained variables and releases.
    pub async fn product_detail(&self, product_id: Uuid) -> Result<ProductDetailsDto, ApiError> {
        let endpoint = format!("/products/{product_id}/detail");
        let detail: ProductDetailsDto = self
            .call(Method::GET, &endpoint, &[], None::<&()>, Repeat::Safe)
            .await?
            .object_or_default()?;
        let features = detail.features.iter().flatten();
        self.ids_present(
            &endpoint,
            "feature",
            features.map(|f| (f.id, Some(f.name.as_str()))),
        )?;
        let limitations = detail.limitations.iter().flatten();
        self.ids_present(
            &endpoint,
            "limitation",
            limitations.map(|l| (l.id, Some(l.name.as_str()))),
        )?;
        let variables = detail.variables.iter().flatten();
        self.ids_present(
            &endpoint,
            "variable",
            variables.map(|v| (v.id, Some(v.name.as_str()))),
        )?;
        let constrained = detail.constrained_variables.iter().flatten();
        self.ids_present(
            &endpoint,
            "constrained variable",
            constrained.map(|v| (v.id, Some(v.name.as_str()))),
        )?;
        let releases = detail.software_release_limitations.iter().flatten();
        self.ids_present(
            &endpoint,
            "software release",
            releases.map(|r| (r.id, r.software_release.as_deref())),
        )?;
        Ok(detail)
    }

    /// Refuses a catalog answer with a row that names no id (the reference makes the id
    /// optional): a name would resolve to nothing SLASCONE knows, so the read fails, naming the
    /// request and the row, rather than skip the row and report the name unknown.
    fn ids_present<'a>(
        &self,
        endpoint: &str,
        what: &str,
        rows: impl Iterator<Item = (Uuid, Option<&'a str>)>,
    ) -> Result<(), ApiError> {
        for (index, (id, name)) in rows.enumerate() {
            if id.is_nil() {
                let name = name.map(|name| format!(" (`{name}`)")).unwrap_or_default();
                return Err(ApiError::Decode {
                    method: "GET".into(),
                    path: self.path(endpoint),
                    message: format!("{what} {}{name} has no id", index + 1),
                });
            }
        }
        Ok(())
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

    /// `GET /administration/customlist`: every custom list of the ISV, with its values. Read
    /// only when manifests set constrained variables, whose values it checks.
    pub async fn custom_lists(&self) -> Result<Vec<CustomListDto>, ApiError> {
        self.call(
            Method::GET,
            "/administration/customlist",
            &[],
            None::<&()>,
            Repeat::Safe,
        )
        .await?
        .list()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog row without an id decodes (the reference makes it optional) and is then refused
    /// by name, with the request and the row.
    #[test]
    fn a_catalog_row_without_an_id_is_an_error_naming_the_request_and_the_row() {
        let detail: ProductDetailsDto = serde_json::from_value(serde_json::json!({
            "features": [
                {"id": "00000000-0000-0000-0000-000000000001", "product_id": "00000000-0000-0000-0000-000000000009", "name": "Export"},
                {"product_id": "00000000-0000-0000-0000-000000000009", "name": "Reporting"}
            ]
        }))
        .unwrap();
        let isv = Uuid::from_u128(7);
        let client = Client::new(ClientConfig::new(
            "http://127.0.0.1:9",
            isv,
            AdminKey::new("k"),
        ))
        .unwrap();
        let features = detail.features.iter().flatten();
        let err = client
            .ids_present(
                "/products/p/detail",
                "feature",
                features.map(|f| (f.id, Some(f.name.as_str()))),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "GET /api/v2/isv/{isv}/products/p/detail: unexpected answer: feature 2 (`Reporting`) has no id"
            )
        );
        let first = detail.features.iter().flatten().take(1);
        assert!(
            client
                .ids_present(
                    "/products/p/detail",
                    "feature",
                    first.map(|f| (f.id, Some(f.name.as_str())))
                )
                .is_ok()
        );
    }
}
