//! Reading SLASCONE: the catalog, every customer, and the licenses of the products the manifests
//! use, with the fewest requests; then reducing the wire objects to the name-based model.
//!
//! The request count of a read is fixed: `GET /customers/types`, `GET /licenses/types`,
//! `GET /products`, `GET /customers`, and for each product the manifests use: its detail, its
//! templates, one `licenses/filtered` count and the pages of `licenses/filtered/detailed` (none
//! when the count is 0). No request per object.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::dates::{Zone, format_date};
use crate::model::{CurrentCustomer, CurrentLicense, CurrentState, Fields};
use crate::remote::wire::*;
use crate::remote::{ApiError, Client};

/// One product with everything needed to resolve names below it.
#[derive(Debug, Clone)]
pub struct ProductCatalog {
    pub product: ProductDto,
    pub features: Vec<FeatureDto>,
    pub limitations: Vec<LimitationDto>,
    pub variables: Vec<VariableDto>,
    pub constrained_variables: Vec<ConstrainedVariableDto>,
    pub editions: Vec<TemplateDto>,
}

impl ProductCatalog {
    pub fn edition(&self, name: &str) -> Option<&TemplateDto> {
        self.editions.iter().find(|edition| edition.name == name)
    }

    pub fn edition_by_id(&self, id: Uuid) -> Option<&TemplateDto> {
        self.editions.iter().find(|edition| edition.id == id)
    }

    pub fn feature(&self, name: &str) -> Option<&FeatureDto> {
        self.features.iter().find(|feature| feature.name == name)
    }

    pub fn limitation(&self, name: &str) -> Option<&LimitationDto> {
        self.limitations
            .iter()
            .find(|limitation| limitation.name == name)
    }

    pub fn variable(&self, name: &str) -> Option<&VariableDto> {
        self.variables.iter().find(|variable| variable.name == name)
    }

    pub fn constrained_variable(&self, name: &str) -> Option<&ConstrainedVariableDto> {
        self.constrained_variables
            .iter()
            .find(|variable| variable.name == name)
    }
}

/// SLASCONE's catalog as read: what names resolve against, and the zone dates are read in.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub customer_types: Vec<CustomerTypeDto>,
    pub license_types: Vec<LicenseTypeDto>,
    /// Every product by name; detail and editions only for the products the manifests use.
    pub products: BTreeMap<String, ProductCatalog>,
    /// The project's `timezone`: SLASCONE's instants are read as calendar days in it, and days
    /// are written as instants in it ([`crate::dates`]).
    pub zone: Zone,
}

impl Catalog {
    pub fn customer_type(&self, name: &str) -> Option<&CustomerTypeDto> {
        self.customer_types
            .iter()
            .find(|t| t.customer_type_name.as_deref() == Some(name))
    }

    pub fn license_type(&self, name: &str) -> Option<&LicenseTypeDto> {
        self.license_types
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
    }

    pub fn license_type_name(&self, id: Uuid) -> Option<&str> {
        self.license_types
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.name.as_deref())
    }

    pub fn product_by_id(&self, id: Uuid) -> Option<&ProductCatalog> {
        self.products.values().find(|p| p.product.id == id)
    }

    /// The configuration an edition gives a license, as model fields.
    pub fn edition_fields(&self, product: &ProductCatalog, edition: &TemplateDto) -> Fields {
        let mut fields = Fields::new();
        fields.insert("token_limit".into(), json!(edition.token_limit));
        let limits = [
            ("goodwill_token_limit", edition.goodwill_token_limit),
            ("floating_token_limit", edition.floating_token_limit),
            ("user_limit", edition.user_limit),
        ];
        for (path, value) in limits {
            if let Some(value) = value {
                fields.insert(path.into(), json!(value));
            }
        }
        if let Some(name) = edition
            .license_type_id
            .and_then(|id| self.license_type_name(id))
        {
            fields.insert("license_type".into(), json!(name));
        }
        if let Some(expires) = expires_value(
            edition.expiration_mode,
            edition.expiration_date_utc.as_deref(),
            edition.valid_days_count,
            &self.zone,
        ) {
            fields.insert("expires".into(), expires);
        }
        for entry in edition.features.iter().flatten() {
            let name = feature_name(product, entry.feature_id, entry.feature_name.as_deref());
            fields.insert(format!("features.{name}"), json!(entry.is_active));
        }
        for entry in edition.limitations.iter().flatten() {
            let name = limitation_name(
                product,
                entry.limitation_id,
                entry.limitation_name.as_deref(),
            );
            fields.insert(format!("limitations.{name}"), json!(entry.limit));
        }
        for entry in edition.variables.iter().flatten() {
            let name = variable_name(product, entry.variable_id, entry.variable_name.as_deref());
            fields.insert(format!("variables.{name}"), json!(entry.value));
        }
        for entry in edition.constrained_variables.iter().flatten() {
            let name = constrained_variable_name(
                product,
                entry.variable_id,
                entry.variable_name.as_deref(),
            );
            fields.insert(
                format!("constrained_variables.{name}"),
                json!(entry.values.clone().unwrap_or_default()),
            );
        }
        fields
    }
}

/// Everything read from SLASCONE, as the wire objects (apply writes them back whole).
#[derive(Debug, Clone, Default)]
pub struct Remote {
    pub catalog: Catalog,
    pub customers: Vec<CustomerDto>,
    pub licenses: Vec<LicenseDto>,
}

/// What to read besides the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The catalog, all customers, and the licenses of the products.
    Everything,
    /// Only the catalog (what applying a saved plan needs to turn names into ids).
    CatalogOnly,
}

/// Reads the catalog, all customers, and the licenses of `products` (names the manifests use;
/// unknown names are skipped here and reported by name resolution). At most `parallelism`
/// requests are in flight.
pub async fn fetch(
    client: &Client,
    products: &BTreeSet<String>,
    parallelism: usize,
    scope: Scope,
) -> Result<Remote, ApiError> {
    let (catalog, customers) = fetch_catalog(client, products, parallelism, scope).await?;
    let licenses = if scope == Scope::Everything {
        fetch_licenses(client, &catalog, products, parallelism).await?
    } else {
        Vec::new()
    };
    Ok(Remote {
        catalog,
        customers,
        licenses,
    })
}

/// The first part of [`fetch`]: the catalog (with the features, limitations, variables and
/// editions of `products`) and, for [`Scope::Everything`], all customers.
pub async fn fetch_catalog(
    client: &Client,
    products: &BTreeSet<String>,
    parallelism: usize,
    scope: Scope,
) -> Result<(Catalog, Vec<CustomerDto>), ApiError> {
    let customers = async {
        if scope == Scope::Everything {
            client.list_customers().await
        } else {
            Ok(Vec::new())
        }
    };
    let (customer_types, license_types, all_products, customers) = tokio::try_join!(
        client.customer_types(),
        client.license_types(),
        client.products(),
        customers,
    )?;
    let semaphore = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks: JoinSet<Result<(String, Read), ApiError>> = JoinSet::new();
    for product in all_products.iter().filter(|p| products.contains(&p.name)) {
        for read in [ReadKind::Detail, ReadKind::Templates] {
            let client = client.clone();
            let (name, id) = (product.name.clone(), product.id);
            let semaphore = Arc::clone(&semaphore);
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let read = match read {
                    ReadKind::Detail => Read::Detail(client.product_detail(id).await?),
                    ReadKind::Templates => Read::Templates(client.templates(id).await?),
                };
                Ok((name, read))
            });
        }
    }
    let mut catalog = Catalog {
        customer_types,
        license_types,
        products: BTreeMap::new(),
        zone: Zone::utc(),
    };
    for product in all_products {
        catalog.products.insert(
            product.name.clone(),
            ProductCatalog {
                product,
                features: Vec::new(),
                limitations: Vec::new(),
                variables: Vec::new(),
                constrained_variables: Vec::new(),
                editions: Vec::new(),
            },
        );
    }
    while let Some(joined) = tasks.join_next().await {
        let (name, read) = match joined {
            Ok(result) => result?,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        let entry = catalog
            .products
            .get_mut(&name)
            .expect("every product was inserted above");
        match read {
            Read::Detail(detail) => {
                entry.features = detail.features.unwrap_or_default();
                entry.limitations = detail.limitations.unwrap_or_default();
                entry.variables = detail.variables.unwrap_or_default();
                entry.constrained_variables = detail.constrained_variables.unwrap_or_default();
            }
            Read::Templates(templates) => entry.editions = templates,
        }
    }
    Ok((catalog, customers))
}

/// The second part of [`fetch`]: the licenses of `products`, sorted by id. Products are listed
/// side by side, and the pages of each within the client's in-flight limit.
pub async fn fetch_licenses(
    client: &Client,
    catalog: &Catalog,
    products: &BTreeSet<String>,
    parallelism: usize,
) -> Result<Vec<LicenseDto>, ApiError> {
    let mut licenses =
        list_licenses_with(client, catalog, products, parallelism, |page, _| page).await?;
    licenses.sort_by_key(|license| license.id);
    Ok(licenses)
}

/// [`fetch_licenses`] reduced to the model page by page, sorted by id, for callers that do not
/// write licenses back (`plan`): each page's wire objects are freed as soon as it is reduced,
/// so the listing never holds them all.
pub async fn fetch_current_licenses(
    client: &Client,
    catalog: &Catalog,
    products: &BTreeSet<String>,
    parallelism: usize,
) -> Result<Vec<CurrentLicense>, ApiError> {
    let mut licenses =
        list_licenses_with(client, catalog, products, parallelism, |page, catalog| {
            page.iter()
                .filter_map(|license| current_license(catalog, license))
                .collect()
        })
        .await?;
    licenses.sort_by_key(|license| license.id);
    Ok(licenses)
}

/// Lists the licenses of `products`, turning each page into `T`s with `convert`.
async fn list_licenses_with<T: Send + 'static>(
    client: &Client,
    catalog: &Catalog,
    products: &BTreeSet<String>,
    parallelism: usize,
    convert: fn(Vec<LicenseDto>, &Catalog) -> Vec<T>,
) -> Result<Vec<T>, ApiError> {
    let semaphore = Arc::new(Semaphore::new(parallelism.max(1)));
    let shared = Arc::new(catalog.clone());
    let mut tasks: JoinSet<Result<Vec<T>, ApiError>> = JoinSet::new();
    for product in catalog.products.values() {
        if !products.contains(&product.product.name) {
            continue;
        }
        let client = client.clone();
        let id = product.product.id;
        let semaphore = Arc::clone(&semaphore);
        let catalog = Arc::clone(&shared);
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let mut out = Vec::new();
            client
                .list_licenses_each(id, |page| out.extend(convert(page, &catalog)))
                .await?;
            Ok(out)
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => all.extend(result?),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
    Ok(all)
}

#[derive(Clone, Copy)]
enum ReadKind {
    Detail,
    Templates,
}

enum Read {
    Detail(ProductDetailsDto),
    Templates(Vec<TemplateDto>),
}

/// Reduces what was read to the model the diff compares.
pub fn current_state(remote: &Remote) -> CurrentState {
    current_state_of(&remote.catalog, &remote.customers, &remote.licenses)
}

/// [`current_state`] of wire objects held apart from a [`Remote`].
pub fn current_state_of(
    catalog: &Catalog,
    customers: &[CustomerDto],
    licenses: &[LicenseDto],
) -> CurrentState {
    // Licenses are most of the work: half of them are reduced on another core.
    let (first_half, second_half) = licenses.split_at(licenses.len() / 2);
    let reduce = |licenses: &[LicenseDto]| -> Vec<CurrentLicense> {
        licenses
            .iter()
            .filter_map(|license| current_license(catalog, license))
            .collect()
    };
    std::thread::scope(|scope| {
        let second_half = scope.spawn(|| reduce(second_half));
        let customers = customers
            .iter()
            .map(|customer| current_customer(catalog, customer))
            .collect();
        let mut licenses = reduce(first_half);
        licenses.extend(
            second_half
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        CurrentState {
            customers,
            licenses,
        }
    })
}

pub fn current_customer(catalog: &Catalog, customer: &CustomerDto) -> CurrentCustomer {
    let mut fields = Fields::new();
    let texts = [
        ("company_name", &customer.company_name),
        ("country", &customer.country),
        ("email", &customer.email),
        ("street", &customer.street),
        ("zip", &customer.postalcode),
        ("city", &customer.city),
        ("phone", &customer.phone),
        ("prospect_number", &customer.prospect_number),
    ];
    for (path, value) in texts {
        if let Some(value) = value {
            fields.insert(path.into(), json!(value));
        }
    }
    if let Some(customer_type) = &customer.customer_type {
        let name = customer_type.customer_type_name.clone().or_else(|| {
            catalog
                .customer_types
                .iter()
                .find(|t| t.id == customer_type.id)
                .and_then(|t| t.customer_type_name.clone())
        });
        fields.insert(
            "customer_type".into(),
            json!(name.unwrap_or_else(|| customer_type.id.to_string())),
        );
    }
    fields.shrink_to_fit();
    CurrentCustomer {
        id: customer.id,
        customer_number: customer.customer_number.clone(),
        fields,
        fingerprint: fingerprint(customer),
    }
}

/// `None` for a license of a product the catalog does not know (it cannot be compared).
pub fn current_license(catalog: &Catalog, license: &LicenseDto) -> Option<CurrentLicense> {
    let product = catalog.product_by_id(license.product_id)?;
    let mut fields = Fields::new();
    let edition = product
        .edition_by_id(license.template_id)
        .map(|edition| edition.name.clone())
        .unwrap_or_else(|| license.template_id.to_string());
    fields.insert("edition".into(), json!(edition));
    if let Some(id) = license.license_type_id {
        let name = catalog
            .license_type_name(id)
            .map(str::to_string)
            .unwrap_or_else(|| id.to_string());
        fields.insert("license_type".into(), json!(name));
    }
    fields.insert("token_limit".into(), json!(license.token_limit));
    let limits = [
        ("goodwill_token_limit", license.goodwill_token_limit),
        ("floating_token_limit", license.floating_token_limit),
        ("user_limit", license.user_limit),
    ];
    for (path, value) in limits {
        if let Some(value) = value {
            fields.insert(path.into(), json!(value));
        }
    }
    if let Some(expires) = expires_value(
        license.expiration_mode,
        license.expiration_date_utc.as_deref(),
        license.valid_days_count.unwrap_or(0),
        &catalog.zone,
    ) {
        fields.insert("expires".into(), expires);
    }
    fields.insert("active".into(), json!(license.is_active.unwrap_or(false)));
    for entry in license.license_features.iter().flatten() {
        let name = feature_name(product, entry.feature_id, entry.feature_name.as_deref());
        fields.insert(format!("features.{name}"), json!(entry.is_active));
    }
    for entry in license.license_limitations.iter().flatten() {
        let name = limitation_name(
            product,
            entry.limitation_id,
            entry.limitation_name.as_deref(),
        );
        fields.insert(format!("limitations.{name}"), json!(entry.limit));
    }
    for entry in license.license_variables.iter().flatten() {
        let name = variable_name(product, entry.variable_id, entry.variable_name.as_deref());
        fields.insert(format!("variables.{name}"), json!(entry.value));
    }
    for entry in license.license_constrained_variables.iter().flatten() {
        let name =
            constrained_variable_name(product, entry.variable_id, entry.variable_name.as_deref());
        fields.insert(
            format!("constrained_variables.{name}"),
            json!(entry.values.clone().unwrap_or_default()),
        );
    }
    fields.shrink_to_fit();
    Some(CurrentLicense {
        id: license.id,
        product: product.product.name.clone(),
        legacy_license_key: license.legacy_license_key.clone(),
        customer_id: license.customer_id,
        fields,
        fingerprint: fingerprint(license),
    })
}

/// The model value of an expiration: `"YYYY-MM-DD"` (the calendar day the stored instant falls
/// on in `zone`, whatever its time of day), `"never"`, or `{"days_after_activation": N}`. A
/// stored instant that cannot be read is kept as written, so it shows up as a difference.
pub fn expires_value(
    mode: Option<i32>,
    date: Option<&str>,
    valid_days: i64,
    zone: &Zone,
) -> Option<Value> {
    match mode? {
        expiration_mode::NEVER => Some(json!("never")),
        expiration_mode::DATE => {
            let date = date?;
            Some(match zone.day_of(date) {
                Some(day) => json!(format_date(day)),
                None => json!(date),
            })
        }
        expiration_mode::DAYS_AFTER_ACTIVATION => {
            Some(json!({ "days_after_activation": valid_days }))
        }
        _ => None,
    }
}

fn feature_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product.features.iter().map(|f| (f.id, f.name.as_str()));
    entry_name(known, id, fallback)
}

fn limitation_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product.limitations.iter().map(|l| (l.id, l.name.as_str()));
    entry_name(known, id, fallback)
}

fn variable_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product.variables.iter().map(|v| (v.id, v.name.as_str()));
    entry_name(known, id, fallback)
}

fn constrained_variable_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product
        .constrained_variables
        .iter()
        .map(|v| (v.id, v.name.as_str()));
    entry_name(known, id, fallback)
}

/// The name of a feature, limitation or variable: the catalog's (authoritative), else the one
/// the answer carried, else the id, so an entry the catalog lacks still shows up in a diff.
fn entry_name<'a>(
    mut known: impl Iterator<Item = (Uuid, &'a str)>,
    id: Uuid,
    fallback: Option<&str>,
) -> String {
    known
        .find(|(known_id, _)| *known_id == id)
        .map(|(_, name)| name)
        .or(fallback)
        .map_or_else(|| id.to_string(), str::to_string)
}

/// Identifies a remote object as read: a digest of its wire form, so any change SLASCONE made
/// to it (including `modified_date_utc`) gives another fingerprint.
pub fn fingerprint<T: serde::Serialize>(object: &T) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Serialised straight into the hash: a plan of a large account fingerprints every object it
    // read, and an intermediate buffer and a string per byte were a good part of that cost.
    let mut hasher = Sha256::new();
    if serde_json::to_writer(&mut hasher, object).is_err() {
        hasher = Sha256::new();
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(24);
    for byte in &digest[..12] {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// Customer ids by key, for apply: which remote customer a license belongs to.
pub fn customer_ids(customers: &[CustomerDto]) -> HashMap<String, Uuid> {
    let mut ids = HashMap::with_capacity(customers.len() * 2);
    for customer in customers {
        ids.insert(customer.id.to_string(), customer.id);
        if let Some(number) = customer
            .customer_number
            .as_deref()
            .filter(|n| !n.is_empty())
        {
            ids.insert(number.to_string(), customer.id);
        }
    }
    ids
}
