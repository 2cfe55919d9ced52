//! The SLASCONE endpoints the sandbox serves, under `/api/v2/isv/{isv_id}/`.
//!
//! Bodies are read as raw JSON objects first, because PATCH semantics depend on which keys a body
//! carries (serde's `Option` cannot tell a missing field from `null`), then decoded into the
//! shared wire types, whose required fields give the 400 answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::catalog::Product;
use super::countries;
use super::server::App;
use super::store::{LicenseQuery, Store};
use super::{EmptyAnswer, PageZero, PatchSemantics};
use crate::remote::wire::{
    CustomerDto, CustomerTypeDto, DataExchangeAddCustomerDto, DataExchangeUpdateCustomerDto,
    ErrorResultObjects, LicenseConstrainedVariableDto, LicenseDto, LicenseFeatureDto,
    LicenseFilterDto, LicenseLazyLoadDto, LicenseLimitationDto, LicenseTreeDto, LicenseVariableDto,
    ProblemDetails, ProductDetailsDto, ProductDto, TemplateDto,
};

/// The largest page the license listings return; bigger `page_size` values are capped silently.
/// SLASCONE's own maximum is not documented.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The error ids the reference documents, and the few the sandbox had to pick itself.
mod code {
    pub const LEGACY_KEY_EXISTS: i64 = 1005;
    /// Guessed: no documented id for "a license with this id exists".
    pub const LICENSE_ID_EXISTS: i64 = 1006;
    /// Guessed: no documented id for "unknown license" on GET/PATCH by id.
    pub const UNKNOWN_LICENSE: i64 = 1001;
    pub const UNKNOWN_LICENSE_TYPE: i64 = 2009;
    pub const UNKNOWN_PRODUCT: i64 = 3000;
    pub const UNKNOWN_FEATURE: i64 = 3001;
    pub const UNKNOWN_VARIABLE: i64 = 3002;
    pub const UNKNOWN_LIMITATION: i64 = 3003;
    /// Guessed: no documented id for "a value not in the constrained variable's custom list".
    pub const VALUE_NOT_ALLOWED: i64 = 3005;
    pub const UNKNOWN_CUSTOMER: i64 = 4000;
    /// Guessed: no documented id for "a customer with this id exists".
    pub const CUSTOMER_ID_EXISTS: i64 = 4001;
    pub const CUSTOMER_NUMBER_EXISTS: i64 = 4002;
    pub const UNKNOWN_TEMPLATE: i64 = 8001;
    pub const UNKNOWN_COUNTRY: i64 = 9000;
    pub const UNKNOWN_CUSTOMER_TYPE: i64 = 9001;
    pub const EMPTY_COMPANY_NAME: i64 = 9002;
}

/// Fields the server maintains; a write never sets them from its body.
const SERVER_FIELDS: [&str; 3] = ["created_date_utc", "modified_date_utc", "last_modified_by"];

/// License properties an edition provides when a body leaves them out.
const EDITION_PROPERTIES: [&str; 10] = [
    "token_limit",
    "goodwill_token_limit",
    "floating_token_limit",
    "user_limit",
    "license_type_id",
    "expiration_mode",
    "expiration_date_utc",
    "valid_days_count",
    "trial_days_count",
    "is_temporary",
];

#[derive(Debug)]
pub(crate) enum ApiError {
    /// 409 with an `ErrorResultObjects` body.
    Conflict(i64, &'static str),
    /// 400 with a `ProblemDetails` body.
    BadRequest(String),
    UnsupportedMediaType,
    /// 404 with a `ProblemDetails` body.
    NotFound,
    Internal(String),
}

fn conflict(id: i64, message: &'static str) -> ApiError {
    ApiError::Conflict(id, message)
}

pub(crate) fn problem(status: StatusCode, title: &str, detail: Option<String>) -> Response {
    let body = ProblemDetails {
        kind: Some(format!(
            "https://tools.ietf.org/html/rfc9110#section-15.{}",
            match status.as_u16() {
                400 => "5.1",
                401 => "5.2",
                404 => "5.5",
                405 => "5.6",
                415 => "5.16",
                429 => "5.29",
                503 => "6.4",
                _ => "6.1",
            }
        )),
        title: Some(title.to_owned()),
        status: Some(i32::from(status.as_u16())),
        detail,
        instance: None,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Conflict(id, message) => (
                StatusCode::CONFLICT,
                Json(ErrorResultObjects {
                    id,
                    message: Some(message.to_owned()),
                    help: None,
                }),
            )
                .into_response(),
            ApiError::BadRequest(detail) => problem(
                StatusCode::BAD_REQUEST,
                "One or more validation errors occurred.",
                Some(detail),
            ),
            ApiError::NotFound => problem(StatusCode::NOT_FOUND, "Not Found", None),
            ApiError::UnsupportedMediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                Some("the body must be application/json".to_owned()),
            ),
            ApiError::Internal(detail) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                Some(detail),
            ),
        }
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A listing's answer: `204 No Content` instead of `[]` when the sandbox answers empty listings
/// so (`--empty-listing 204`).
fn listing<T: Serialize>(app: &App, rows: Vec<T>) -> Response {
    if rows.is_empty() && app.empty_listing == EmptyAnswer::NoContent {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Json(rows).into_response()
    }
}

/// A successful write's answer: the object, or `204 No Content` (`--write-answer 204`).
fn written<T: Serialize>(app: &App, object: T) -> Result<Response, ApiError> {
    Ok(match app.write_answer {
        EmptyAnswer::Ok => Json(object).into_response(),
        EmptyAnswer::NoContent => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The request body as a JSON object.
fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "the request body must be a JSON object".to_owned(),
        )),
        Err(err) => Err(ApiError::BadRequest(format!(
            "the JSON value could not be parsed: {err}"
        ))),
    }
}

fn decode<T: DeserializeOwned>(map: &Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(map.clone()))
        .map_err(|err| ApiError::BadRequest(err.to_string()))
}

fn parse_id(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::BadRequest(format!("`{text}` is not a valid {what}")))
}

fn modified_by(headers: &HeaderMap) -> String {
    headers
        .get("LastModifiedBy")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or("api-key")
        .to_owned()
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Returns once the state file holds the store as of `version` (or later). Called after the store
/// lock is released, so writes that arrive while one save runs share the next save.
async fn persist(app: &Arc<App>, version: u64) -> Result<(), ApiError> {
    if app.state_file.is_none() {
        return Ok(());
    }
    // A task of its own, so a client that hangs up cannot cancel a save halfway.
    let saving = tokio::spawn(super::server::save_state(app.clone(), version));
    match saving.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            (app.events)(&format!("{err:#}"));
            Err(ApiError::Internal(
                "the sandbox could not persist its state".to_owned(),
            ))
        }
        Err(err) => Err(ApiError::Internal(format!("the save task failed: {err}"))),
    }
}

/// The stored object with a PATCH body applied: `merge` keeps the fields the body leaves out,
/// `replace` clears them. The id and the server-maintained fields are never taken from the body.
fn patched(
    stored: Value,
    body: &Map<String, Value>,
    semantics: PatchSemantics,
) -> Map<String, Value> {
    let mut base = match stored {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if semantics == PatchSemantics::Replace {
        base.retain(|key, _| key == "id" || SERVER_FIELDS.contains(&key.as_str()));
    }
    for (key, value) in body {
        if key != "id" && !SERVER_FIELDS.contains(&key.as_str()) {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

/// A body whose `id` is missing or `null` gets the zero id, which means "generate one".
fn with_default_id(mut map: Map<String, Value>) -> Map<String, Value> {
    if map.get("id").is_none_or(Value::is_null) {
        map.insert("id".to_owned(), Value::String(Uuid::nil().to_string()));
    }
    map
}

// ---------------------------------------------------------------------------------------------
// Catalog reads

pub(crate) async fn customer_types(State(app): State<Arc<App>>) -> Response {
    listing(&app, app.catalog.customer_types.clone())
}

pub(crate) async fn license_types(State(app): State<Arc<App>>) -> Response {
    listing(&app, app.catalog.license_types.clone())
}

pub(crate) async fn products(State(app): State<Arc<App>>) -> Response {
    let products: Vec<ProductDto> = app.catalog.products.iter().map(|p| p.dto.clone()).collect();
    listing(&app, products)
}

pub(crate) async fn product_detail(
    State(app): State<Arc<App>>,
    Path((_, product_id)): Path<(String, String)>,
) -> ApiResult<ProductDetailsDto> {
    let id = parse_id(&product_id, "product id")?;
    let product = app
        .catalog
        .product(id)
        .ok_or(conflict(code::UNKNOWN_PRODUCT, "Unknown product"))?;
    Ok(Json(ProductDetailsDto {
        features: Some(product.features.clone()),
        limitations: Some(product.limitations.clone()),
        variables: Some(product.variables.clone()),
        constrained_variables: Some(product.constrained_variables.clone()),
    }))
}

pub(crate) async fn templates(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let product_id = match query.get("product_id").filter(|v| !v.is_empty()) {
        Some(text) => Some(parse_id(text, "product id")?),
        None => None,
    };
    let name = query.get("name").filter(|v| !v.is_empty());
    let templates: Vec<TemplateDto> = app
        .catalog
        .products
        .iter()
        .filter(|p| product_id.is_none_or(|id| id == p.dto.id))
        .flat_map(|p| p.templates.iter())
        .filter(|t| name.is_none_or(|n| t.name.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    Ok(listing(&app, templates))
}

// ---------------------------------------------------------------------------------------------
// Customers

pub(crate) async fn list_customers(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let needle = query
        .get("name")
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty());
    let store = app.store.lock().await;
    let customers: Vec<CustomerDto> = store
        .customers()
        .iter()
        .filter(|c| match &needle {
            None => true,
            Some(needle) => c
                .company_name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(needle.as_str())),
        })
        .cloned()
        .collect();
    listing(&app, customers)
}

fn found_or_no_content(customer: Option<CustomerDto>) -> Response {
    match customer {
        Some(customer) => Json(customer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

pub(crate) async fn get_customer(
    State(app): State<Arc<App>>,
    Path((_, customer_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&customer_id, "customer id")?;
    let store = app.store.lock().await;
    Ok(found_or_no_content(
        store
            .customer_index(id)
            .map(|pos| store.customer(pos).clone()),
    ))
}

pub(crate) async fn customer_by_number(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let number = query
        .get("customer_number")
        .ok_or_else(|| ApiError::BadRequest("the customer_number field is required".to_owned()))?;
    let store = app.store.lock().await;
    Ok(found_or_no_content(
        store
            .customer_by_number(number)
            .map(|pos| store.customer(pos).clone()),
    ))
}

/// The business rules every customer write checks; fills the customer type's name and the
/// country's spelling from the lists.
fn check_customer(
    app: &App,
    store: &Store,
    customer: &mut CustomerDto,
    own: Option<usize>,
) -> Result<(), ApiError> {
    if customer
        .company_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(conflict(
            code::EMPTY_COMPANY_NAME,
            "Company name can not be empty",
        ));
    }
    if let Some(customer_type) = &customer.customer_type {
        let known = app.catalog.customer_type(customer_type.id).ok_or(conflict(
            code::UNKNOWN_CUSTOMER_TYPE,
            "Unknown customer type",
        ))?;
        customer.customer_type = Some(known.clone());
    }
    if let Some(country) = customer.country.as_deref().filter(|c| !c.trim().is_empty()) {
        let known = countries::canonical(country)
            .ok_or(conflict(code::UNKNOWN_COUNTRY, "Unknown country"))?;
        customer.country = Some(known.to_owned());
    }
    if let Some(number) = customer
        .customer_number
        .as_deref()
        .filter(|n| !n.is_empty())
        && let Some(pos) = store.customer_by_number(number)
        && Some(pos) != own
    {
        return Err(conflict(
            code::CUSTOMER_NUMBER_EXISTS,
            "A customer with this number already exists",
        ));
    }
    Ok(())
}

pub(crate) async fn create_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = with_default_id(json_object(&headers, &body)?);
    let mut customer: CustomerDto = decode(&map)?;
    let mut store = app.store.lock().await;
    check_customer(&app, &store, &mut customer, None)?;
    if customer.id.is_nil() {
        customer.id = Uuid::new_v4();
    } else if store.customer_index(customer.id).is_some() {
        return Err(conflict(
            code::CUSTOMER_ID_EXISTS,
            "A customer with this id already exists",
        ));
    }
    let stamp = now();
    customer.created_date_utc = Some(stamp.clone());
    customer.modified_date_utc = Some(stamp);
    customer.last_modified_by = Some(modified_by(&headers));
    store.insert_customer(customer.clone());
    let version = store.version();
    drop(store);
    persist(&app, version).await?;
    written(&app, customer)
}

pub(crate) async fn update_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = json_object(&headers, &body)?;
    let wanted: CustomerDto = decode(&map)?;
    let mut store = app.store.lock().await;
    let pos = store
        .customer_index(wanted.id)
        .ok_or(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"))?;
    let stored = serde_json::to_value(store.customer(pos))
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let mut customer: CustomerDto = decode(&patched(stored, &map, app.patch_semantics))?;
    check_customer(&app, &store, &mut customer, Some(pos))?;
    customer.created_date_utc = store.customer(pos).created_date_utc.clone();
    customer.modified_date_utc = Some(now());
    customer.last_modified_by = Some(modified_by(&headers));
    store.replace_customer(pos, customer.clone());
    let version = store.version();
    drop(store);
    persist(&app, version).await?;
    written(&app, customer)
}

fn customer_type_by_name(app: &App, name: &str) -> Result<CustomerTypeDto, ApiError> {
    app.catalog
        .customer_type_by_name(name)
        .cloned()
        .ok_or(conflict(
            code::UNKNOWN_CUSTOMER_TYPE,
            "Unknown customer type",
        ))
}

fn country_by_name(name: &str) -> Result<String, ApiError> {
    countries::canonical(name)
        .map(str::to_owned)
        .ok_or(conflict(code::UNKNOWN_COUNTRY, "Unknown country"))
}

pub(crate) async fn data_exchange_create_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let add: DataExchangeAddCustomerDto = decode(&json_object(&headers, &body)?)?;
    if add.customer_name.trim().is_empty() {
        return Err(conflict(
            code::EMPTY_COMPANY_NAME,
            "Company name can not be empty",
        ));
    }
    let customer_type = customer_type_by_name(&app, &add.customer_type)?;
    let country = country_by_name(&add.country)?;
    let mut store = app.store.lock().await;
    if !add.customer_number.is_empty() && store.customer_by_number(&add.customer_number).is_some() {
        return Err(conflict(
            code::CUSTOMER_NUMBER_EXISTS,
            "A customer with this number already exists",
        ));
    }
    let stamp = now();
    let customer = CustomerDto {
        id: Uuid::new_v4(),
        company_name: Some(add.customer_name),
        customer_number: Some(add.customer_number).filter(|n| !n.is_empty()),
        customer_type: Some(customer_type),
        email: add.email,
        street: add.street,
        city: add.city,
        postalcode: add.zip,
        country: Some(country),
        phone: add.phone,
        prospect_number: add.prospect_number,
        created_date_utc: Some(stamp.clone()),
        modified_date_utc: Some(stamp),
        last_modified_by: Some(modified_by(&headers)),
        ..CustomerDto::default()
    };
    store.insert_customer(customer.clone());
    let version = store.version();
    drop(store);
    persist(&app, version).await?;
    written(&app, customer)
}

pub(crate) async fn data_exchange_update_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let update: DataExchangeUpdateCustomerDto = decode(&json_object(&headers, &body)?)?;
    let mut store = app.store.lock().await;
    let pos = store
        .customer_by_number(&update.customer_number)
        .filter(|_| !update.customer_number.is_empty())
        .ok_or(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"))?;
    let mut customer = store.customer(pos).clone();
    if let Some(name) = update.customer_name {
        if name.trim().is_empty() {
            return Err(conflict(
                code::EMPTY_COMPANY_NAME,
                "Company name can not be empty",
            ));
        }
        customer.company_name = Some(name);
    }
    if let Some(name) = update.customer_type {
        customer.customer_type = Some(customer_type_by_name(&app, &name)?);
    }
    if let Some(name) = update.country {
        customer.country = Some(country_by_name(&name)?);
    }
    let keep = |old: &mut Option<String>, new: Option<String>| {
        if new.is_some() {
            *old = new;
        }
    };
    keep(&mut customer.street, update.street);
    keep(&mut customer.postalcode, update.zip);
    keep(&mut customer.city, update.city);
    keep(&mut customer.phone, update.phone);
    keep(&mut customer.email, update.email);
    keep(&mut customer.prospect_number, update.prospect_number);
    customer.modified_date_utc = Some(now());
    customer.last_modified_by = Some(modified_by(&headers));
    store.replace_customer(pos, customer.clone());
    let version = store.version();
    drop(store);
    persist(&app, version).await?;
    written(&app, customer)
}

// ---------------------------------------------------------------------------------------------
// Licenses

pub(crate) async fn get_license(
    State(app): State<Arc<App>>,
    Path((_, license_id)): Path<(String, String)>,
) -> ApiResult<LicenseDto> {
    let id = parse_id(&license_id, "license id")?;
    let store = app.store.lock().await;
    let pos = store
        .license_index(id)
        .ok_or(conflict(code::UNKNOWN_LICENSE, "Unknown license"))?;
    Ok(Json(store.license(pos).clone()))
}

/// Checks the references of a license and returns its product and edition.
fn check_references<'a>(
    app: &'a App,
    store: &Store,
    license: &LicenseDto,
) -> Result<(&'a Product, TemplateDto), ApiError> {
    if store.customer_index(license.customer_id).is_none() {
        return Err(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"));
    }
    let product = app
        .catalog
        .product(license.product_id)
        .ok_or(conflict(code::UNKNOWN_PRODUCT, "Unknown product"))?;
    let template = product
        .template(license.template_id)
        .ok_or(conflict(code::UNKNOWN_TEMPLATE, "Unknown template"))?
        .clone();
    if let Some(license_type) = license.license_type_id
        && app.catalog.license_type(license_type).is_none()
    {
        return Err(conflict(code::UNKNOWN_LICENSE_TYPE, "Unknown license type"));
    }
    Ok((product, template))
}

fn edition_features(product_id: Uuid, template: &TemplateDto) -> Vec<LicenseFeatureDto> {
    template
        .features
        .iter()
        .flatten()
        .map(|f| LicenseFeatureDto {
            product_id,
            feature_id: f.feature_id,
            feature_name: None,
            feature_description: None,
            is_active: f.is_active,
            feature_exceptions: None,
        })
        .collect()
}

fn edition_limitations(product_id: Uuid, template: &TemplateDto) -> Vec<LicenseLimitationDto> {
    template
        .limitations
        .iter()
        .flatten()
        .map(|l| LicenseLimitationDto {
            product_id,
            limitation_id: l.limitation_id,
            limitation_name: None,
            limitation_description: None,
            limit: l.limit,
            consumption_reset_mode: l.consumption_reset_mode,
            consumption_reset_period_days: l.consumption_reset_period_days,
            current_user_transaction_id: None,
        })
        .collect()
}

fn edition_constrained_variables(
    product_id: Uuid,
    template: &TemplateDto,
) -> Vec<LicenseConstrainedVariableDto> {
    template
        .constrained_variables
        .iter()
        .flatten()
        .map(|v| LicenseConstrainedVariableDto {
            product_id,
            variable_id: v.variable_id,
            variable_name: None,
            variable_description: None,
            values: v.values.clone(),
        })
        .collect()
}

fn edition_variables(product_id: Uuid, template: &TemplateDto) -> Vec<LicenseVariableDto> {
    template
        .variables
        .iter()
        .flatten()
        .map(|v| LicenseVariableDto {
            product_id,
            variable_id: v.variable_id,
            variable_name: None,
            variable_description: None,
            value: v.value.clone(),
        })
        .collect()
}

/// The edition's entries with the listed ones overriding them by id; listed entries the edition
/// does not have are appended.
fn overlay<T>(edition: Vec<T>, listed: Option<Vec<T>>, id: impl Fn(&T) -> Uuid) -> Vec<T> {
    let mut out = edition;
    for entry in listed.into_iter().flatten() {
        match out.iter_mut().find(|e| id(e) == id(&entry)) {
            Some(slot) => *slot = entry,
            None => out.push(entry),
        }
    }
    out
}

/// Sets the license properties the body left out to the edition's values.
fn fill_from_edition(license: &mut LicenseDto, body: &Map<String, Value>, template: &TemplateDto) {
    for key in EDITION_PROPERTIES {
        if body.contains_key(key) {
            continue;
        }
        match key {
            "token_limit" => license.token_limit = template.token_limit,
            "goodwill_token_limit" => license.goodwill_token_limit = template.goodwill_token_limit,
            "floating_token_limit" => license.floating_token_limit = template.floating_token_limit,
            "user_limit" => license.user_limit = template.user_limit,
            "license_type_id" => license.license_type_id = template.license_type_id,
            "expiration_mode" => license.expiration_mode = template.expiration_mode,
            "expiration_date_utc" => {
                license.expiration_date_utc = template.expiration_date_utc.clone()
            }
            "valid_days_count" => license.valid_days_count = Some(template.valid_days_count),
            "trial_days_count" => license.trial_days_count = Some(template.trial_days_count),
            _ => license.is_temporary = Some(template.is_temporary),
        }
    }
}

/// Checks the feature, limitation and variable entries against the product and fills in their
/// names; a missing list becomes an empty one.
fn check_entries(product: &Product, license: &mut LicenseDto) -> Result<(), ApiError> {
    let product_id = product.dto.id;
    for feature in license.license_features.get_or_insert_with(Vec::new) {
        let known = product
            .feature(feature.feature_id)
            .ok_or(conflict(code::UNKNOWN_FEATURE, "Unknown feature"))?;
        feature.product_id = product_id;
        feature.feature_name = Some(known.name.clone());
    }
    for variable in license.license_variables.get_or_insert_with(Vec::new) {
        let known = product
            .variable(variable.variable_id)
            .ok_or(conflict(code::UNKNOWN_VARIABLE, "Unknown variable"))?;
        variable.product_id = product_id;
        variable.variable_name = Some(known.name.clone());
    }
    for limitation in license.license_limitations.get_or_insert_with(Vec::new) {
        let known = product
            .limitation(limitation.limitation_id)
            .ok_or(conflict(code::UNKNOWN_LIMITATION, "Unknown limitation"))?;
        limitation.product_id = product_id;
        limitation.limitation_name = Some(known.name.clone());
    }
    for variable in license
        .license_constrained_variables
        .get_or_insert_with(Vec::new)
    {
        let known = product
            .constrained_variable(variable.variable_id)
            .ok_or(conflict(code::UNKNOWN_VARIABLE, "Unknown variable"))?;
        let allowed = &product.allowed_values[&known.id];
        if variable
            .values
            .iter()
            .flatten()
            .any(|value| !allowed.contains(value))
        {
            return Err(conflict(
                code::VALUE_NOT_ALLOWED,
                "A value is not in the custom list of the constrained variable",
            ));
        }
        variable.product_id = product_id;
        variable.variable_name = Some(known.name.clone());
    }
    Ok(())
}

fn check_legacy_key(
    store: &Store,
    license: &LicenseDto,
    own: Option<usize>,
) -> Result<(), ApiError> {
    if let Some(key) = license
        .legacy_license_key
        .as_deref()
        .filter(|k| !k.is_empty())
        && let Some(pos) = store.license_by_key(license.product_id, key)
        && Some(pos) != own
    {
        return Err(conflict(
            code::LEGACY_KEY_EXISTS,
            "A license with this legacy license key already exists",
        ));
    }
    Ok(())
}

pub(crate) async fn create_license(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = with_default_id(json_object(&headers, &body)?);
    let mut license: LicenseDto = decode(&map)?;
    if license.is_active.is_none() {
        license.is_active = Some(true);
    }
    let mut store = app.store.lock().await;
    let (product, template) = check_references(&app, &store, &license)?;
    fill_from_edition(&mut license, &map, &template);
    // Entries are checked before they are merged with the edition's, so an unknown listed id is
    // reported even when the edition would have supplied the rest.
    check_entries(product, &mut license)?;
    let product_id = product.dto.id;
    license.license_features = Some(overlay(
        edition_features(product_id, &template),
        license.license_features.take(),
        |f| f.feature_id,
    ));
    license.license_limitations = Some(overlay(
        edition_limitations(product_id, &template),
        license.license_limitations.take(),
        |l| l.limitation_id,
    ));
    license.license_variables = Some(overlay(
        edition_variables(product_id, &template),
        license.license_variables.take(),
        |v| v.variable_id,
    ));
    license.license_constrained_variables = Some(overlay(
        edition_constrained_variables(product_id, &template),
        license.license_constrained_variables.take(),
        |v| v.variable_id,
    ));
    check_entries(product, &mut license)?;
    check_legacy_key(&store, &license, None)?;
    if license.id.is_nil() {
        license.id = Uuid::new_v4();
    } else if store.license_index(license.id).is_some() {
        return Err(conflict(
            code::LICENSE_ID_EXISTS,
            "A license with this id already exists",
        ));
    }
    let stamp = now();
    license.created_date_utc = Some(stamp.clone());
    license.modified_date_utc = Some(stamp);
    license.last_modified_by = Some(modified_by(&headers));
    store.insert_license(license.clone());
    let version = store.version();
    drop(store);
    persist(&app, version).await?;
    written(&app, license)
}

/// `apply_template_properties` from the query string (`true`/`false`, any case).
fn apply_template_properties(query: Option<&str>) -> Result<bool, ApiError> {
    let Some(query) = query else {
        return Ok(false);
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "apply_template_properties" {
            return match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" | "" => Ok(false),
                _ => Err(ApiError::BadRequest(format!(
                    "The value '{value}' is not valid for apply_template_properties."
                ))),
            };
        }
    }
    Ok(false)
}

pub(crate) async fn update_license(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let apply_template = apply_template_properties(query.as_deref())?;
    let map = json_object(&headers, &body)?;
    let wanted: LicenseDto = decode(&map)?;
    let mut store = app.store.lock().await;
    let pos = store
        .license_index(wanted.id)
        .ok_or(conflict(code::UNKNOWN_LICENSE, "Unknown license"))?;
    let stored = serde_json::to_value(store.license(pos))
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let mut license: LicenseDto = decode(&patched(stored, &map, app.patch_semantics))?;
    let (product, template) = check_references(&app, &store, &license)?;
    if apply_template {
        fill_from_edition(&mut license, &map, &template);
        let product_id = product.dto.id;
        if !map.contains_key("license_features") {
            license.license_features = Some(edition_features(product_id, &template));
        }
        if !map.contains_key("license_limitations") {
            license.license_limitations = Some(edition_limitations(product_id, &template));
        }
        if !map.contains_key("license_variables") {
            license.license_variables = Some(edition_variables(product_id, &template));
        }
        if !map.contains_key("license_constrained_variables") {
            license.license_constrained_variables =
                Some(edition_constrained_variables(product_id, &template));
        }
    }
    check_entries(product, &mut license)?;
    check_legacy_key(&store, &license, Some(pos))?;
    license.created_date_utc = store.license(pos).created_date_utc.clone();
    license.modified_date_utc = Some(now());
    license.last_modified_by = Some(modified_by(&headers));
    store.replace_license(pos, license.clone());
    let version = store.version();
    drop(store);
    persist(&app, version).await?;
    written(&app, license)
}

/// Decodes a listing filter and runs it.
async fn list<T>(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    answer: impl FnOnce(super::store::LicensePage<'_>) -> T,
) -> ApiResult<T> {
    let filter: LicenseFilterDto = decode(&json_object(headers, body)?)?;
    if filter.page_size < 1 {
        return Err(ApiError::BadRequest(
            "page_size must be at least 1".to_owned(),
        ));
    }
    let limit = usize::try_from(filter.page_size)
        .unwrap_or(app.max_page_size)
        .min(app.max_page_size);
    let base = i64::from(app.page_base);
    let page = filter.page.unwrap_or(base);
    if page < 0 {
        return Err(ApiError::BadRequest("page must not be negative".to_owned()));
    }
    let mut offset = usize::try_from(page - base)
        .unwrap_or(0)
        .saturating_mul(limit);
    if page < base {
        match app.page_zero {
            PageZero::Same => {}
            PageZero::Empty => offset = usize::MAX,
            PageZero::BadRequest => {
                return Err(ApiError::BadRequest("page numbers start at 1".to_owned()));
            }
            PageZero::NotFound => return Err(ApiError::NotFound),
        }
    }
    let store = app.store.lock().await;
    let page = store.list_licenses(&LicenseQuery {
        product: filter.product_filter.filter(|id| !id.is_nil()),
        customer: filter.customer_filter.filter(|id| !id.is_nil()),
        key_search: filter.key_search.as_deref(),
        offset,
        limit,
    });
    Ok(Json(answer(page)))
}

pub(crate) async fn licenses_filtered(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Json(answer) = list(&app, &headers, &body, |page| LicenseLazyLoadDto {
        licenses: Some(
            page.rows
                .iter()
                .map(|l| LicenseTreeDto {
                    id: l.id,
                    legacy_license_key: l.legacy_license_key.clone(),
                    customer_id: l.customer_id,
                    product_id: l.product_id,
                    template_id: l.template_id,
                })
                .collect(),
        ),
        max_count: i64::try_from(page.total).unwrap_or(i64::MAX),
        customer_count: i64::try_from(page.customer_count).unwrap_or(i64::MAX),
    })
    .await?;
    // Nothing matches: as empty as a listing gets.
    if answer.max_count == 0 && app.empty_listing == EmptyAnswer::NoContent {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(answer).into_response())
}

pub(crate) async fn licenses_filtered_detailed(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Json(rows) = list(&app, &headers, &body, |page| -> Vec<LicenseDto> {
        page.rows.into_iter().cloned().collect()
    })
    .await?;
    Ok(listing(&app, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("the tests pass objects"),
        }
    }

    #[test]
    fn merge_keeps_and_replace_clears_absent_fields() {
        let stored = json!({"id": "x", "email": "a@b", "city": "Graz", "created_date_utc": "t0"});
        let body = object(json!({"id": "x", "city": "Wien", "created_date_utc": "forged"}));
        let merged = patched(stored.clone(), &body, PatchSemantics::Merge);
        assert_eq!(
            Value::Object(merged),
            json!({"id": "x", "email": "a@b", "city": "Wien", "created_date_utc": "t0"})
        );
        let replaced = patched(stored, &body, PatchSemantics::Replace);
        assert_eq!(
            Value::Object(replaced),
            json!({"id": "x", "city": "Wien", "created_date_utc": "t0"})
        );
    }

    #[test]
    fn apply_template_properties_parses_booleans() {
        assert!(!apply_template_properties(None).unwrap());
        assert!(apply_template_properties(Some("apply_template_properties=True")).unwrap());
        assert!(!apply_template_properties(Some("x=1&apply_template_properties=false")).unwrap());
        assert!(apply_template_properties(Some("apply_template_properties=yes")).is_err());
    }
}
