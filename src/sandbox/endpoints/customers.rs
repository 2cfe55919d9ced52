//! `/customers` and `/data_exchange/customers`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::{Slot, commit, json_listing};
use crate::remote::wire::{CustomerDto, DataExchangeAddCustomerDto, DataExchangeUpdateCustomerDto};
use crate::sandbox::app::App;
use crate::sandbox::problem::{ApiError, code, conflict, decode, json_object, parse_id};
use crate::sandbox::rules::{check_customer, merge_data_exchange, patched, with_default_id};

pub(crate) async fn list_customers(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let needle = query
        .get("name")
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty());
    let store = app.store.lock().await;
    let positions: Vec<usize> = store
        .customers()
        .iter()
        .enumerate()
        .filter(|(_, c)| match &needle {
            None => true,
            Some(needle) => c
                .company_name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(needle.as_str())),
        })
        .map(|(pos, _)| pos)
        .collect();
    let json = (!positions.is_empty()).then(|| store.customers_json(&positions));
    drop(store);
    json_listing(&app, json)
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

pub(crate) async fn create_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = with_default_id(json_object(&headers, &body)?);
    let mut customer: CustomerDto = decode(&map)?;
    let store = app.store.lock().await;
    check_customer(&app, &store, &mut customer, None)?;
    if customer.id.is_nil() {
        customer.id = Uuid::new_v4();
    } else if store.customer_index(customer.id).is_some() {
        return Err(conflict(
            code::CUSTOMER_ID_EXISTS,
            "A customer with this id already exists",
        ));
    }
    commit(&app, &headers, store, customer, Slot::New).await
}

pub(crate) async fn update_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = json_object(&headers, &body)?;
    let wanted: CustomerDto = decode(&map)?;
    let store = app.store.lock().await;
    let pos = store
        .customer_index(wanted.id)
        .ok_or(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"))?;
    let stored = serde_json::to_value(store.customer(pos))
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let mut customer: CustomerDto = decode(&patched(stored, &map, app.patch_semantics))?;
    check_customer(&app, &store, &mut customer, Some(pos))?;
    commit(&app, &headers, store, customer, Slot::Replaces(pos)).await
}

/// `POST /data_exchange/customers`: the customer is identified by its number, and the type and
/// country travel by name. The body is read twice: as the create DTO, whose required fields give
/// the 400 answers, and as the update DTO, whose fields are then set the same way a PATCH sets
/// them.
pub(crate) async fn data_exchange_create_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = json_object(&headers, &body)?;
    let add: DataExchangeAddCustomerDto = decode(&map)?;
    let fields: DataExchangeUpdateCustomerDto = decode(&map)?;
    if add.customer_name.trim().is_empty() {
        return Err(conflict(
            code::EMPTY_COMPANY_NAME,
            "Company name can not be empty",
        ));
    }
    let mut customer = CustomerDto {
        id: Uuid::new_v4(),
        customer_number: Some(add.customer_number).filter(|n| !n.is_empty()),
        ..CustomerDto::default()
    };
    merge_data_exchange(&app, &mut customer, &fields)?;
    let store = app.store.lock().await;
    if let Some(number) = &customer.customer_number
        && store.customer_by_number(number).is_some()
    {
        return Err(conflict(
            code::CUSTOMER_NUMBER_EXISTS,
            "A customer with this number already exists",
        ));
    }
    commit(&app, &headers, store, customer, Slot::New).await
}

/// `PATCH /data_exchange/customers`: every field but `customer_number` is optional in its DTO, so
/// a field left out keeps its value whatever the sandbox's PATCH semantics.
pub(crate) async fn data_exchange_update_customer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let update: DataExchangeUpdateCustomerDto = decode(&json_object(&headers, &body)?)?;
    let store = app.store.lock().await;
    let pos = store
        .customer_by_number(&update.customer_number)
        .filter(|_| !update.customer_number.is_empty())
        .ok_or(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"))?;
    let mut customer = store.customer(pos).clone();
    merge_data_exchange(&app, &mut customer, &update)?;
    commit(&app, &headers, store, customer, Slot::Replaces(pos)).await
}
