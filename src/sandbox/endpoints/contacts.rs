//! `/customers/{customer_id}/contacts` and `/data_exchange/customers/contacts`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use super::{Slot, commit, listing};
use crate::remote::wire::{CustomerContactDto, DataExchangeAddOrUpdateCustomerContactDto};
use crate::sandbox::app::App;
use crate::sandbox::problem::{ApiError, code, conflict, decode, json_object, parse_id};
use crate::sandbox::rules::{check_contact, patched};
use crate::sandbox::store::Store;

/// The customer a contact path names; 409 id 4000 when there is none.
fn customer(store: &Store, text: &str) -> Result<Uuid, ApiError> {
    let id = parse_id(text, "customer id")?;
    store
        .customer_index(id)
        .map(|_| id)
        .ok_or(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"))
}

pub(crate) async fn list_contacts(
    State(app): State<Arc<App>>,
    Path((_, customer_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let store = app.store.lock().await;
    let customer_id = customer(&store, &customer_id)?;
    let contacts: Vec<CustomerContactDto> = store.contacts_of(customer_id).cloned().collect();
    Ok(listing(&app, contacts))
}

pub(crate) async fn create_contact(
    State(app): State<Arc<App>>,
    Path((_, customer_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = json_object(&headers, &body)?;
    let mut contact: CustomerContactDto = decode(&map)?;
    let store = app.store.lock().await;
    contact.customer_id = customer(&store, &customer_id)?;
    check_contact(&store, &contact, None)?;
    if contact.id.is_nil() {
        contact.id = Uuid::new_v4();
    } else if store.contact_index(contact.id).is_some() {
        return Err(conflict(
            code::CONTACT_EMAIL_EXISTS,
            "A contact with this id already exists",
        ));
    }
    contact.is_active.get_or_insert(true);
    contact.is_customer_portal_user.get_or_insert(false);
    commit(&app, &headers, store, contact, Slot::New).await
}

pub(crate) async fn update_contact(
    State(app): State<Arc<App>>,
    Path((_, customer_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = json_object(&headers, &body)?;
    let wanted: CustomerContactDto = decode(&map)?;
    let store = app.store.lock().await;
    let customer_id = customer(&store, &customer_id)?;
    let pos = store
        .contact_index(wanted.id)
        .filter(|&pos| store.contact(pos).customer_id == customer_id)
        .ok_or(conflict(code::UNKNOWN_CONTACT, "Unknown contact"))?;
    let stored = serde_json::to_value(store.contact(pos))
        .map_err(|err| ApiError::Internal(err.to_string()))?;
    let mut contact: CustomerContactDto = decode(&patched(stored, &map, app.patch_semantics))?;
    contact.customer_id = customer_id;
    check_contact(&store, &contact, Some(pos))?;
    commit(&app, &headers, store, contact, Slot::Replaces(pos)).await
}

/// `PUT /data_exchange/customers/contacts`: adds the contact to the customer the number names,
/// or updates the one with its e-mail address. Optional fields left out keep their value.
pub(crate) async fn put_contact(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let put: DataExchangeAddOrUpdateCustomerContactDto = decode(&json_object(&headers, &body)?)?;
    let store = app.store.lock().await;
    let customer_id = store
        .customer_by_number(&put.customer_number)
        .filter(|_| !put.customer_number.is_empty())
        .map(|pos| store.customer(pos).id)
        .ok_or(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"))?;
    let existing = store.contact_by_email(customer_id, &put.email);
    let mut contact = match existing {
        Some(pos) => store.contact(pos).clone(),
        None => CustomerContactDto {
            id: Uuid::new_v4(),
            customer_id,
            is_active: Some(true),
            ..CustomerContactDto::default()
        },
    };
    contact.name = put.contact_name;
    contact.surname = put.contact_surname;
    contact.email = put.email;
    let keep = |old: &mut Option<String>, new: Option<String>| {
        if new.is_some() {
            *old = new;
        }
    };
    keep(&mut contact.phone, put.phone);
    keep(&mut contact.mobile, put.mobil);
    keep(&mut contact.language, put.language);
    contact.is_customer_portal_user = Some(put.is_customer_portal_user);
    check_contact(&store, &contact, existing)?;
    let slot = match existing {
        Some(pos) => Slot::Replaces(pos),
        None => Slot::New,
    };
    commit(&app, &headers, store, contact, slot).await
}
