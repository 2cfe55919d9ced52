//! The SLASCONE endpoints the sandbox serves, under `/api/v2/isv/{isv_id}/`: the catalog reads
//! (custom lists included), the customers with their contacts, and the licenses. Every write goes through [`commit`], which stamps, stores and
//! persists it and answers the way the sandbox is configured to.
//!
//! Bodies are read as raw JSON objects first, because PATCH semantics depend on which keys a body
//! carries (serde's `Option` cannot tell a missing field from `null`), then decoded into the
//! shared wire types, whose required fields give the 400 answers.

pub(super) mod catalog;
pub(super) mod contacts;
pub(super) mod customers;
pub(super) mod customlist;
pub(super) mod licenses;

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::MutexGuard;

use super::EmptyAnswer;
use super::app::{App, persist};
use super::journal::{Entry, Line};
use super::problem::ApiError;
use super::store::Store;
use crate::remote::wire::{CustomerContactDto, CustomerDto, LicenseDto, ServerStamped};

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

/// [`listing`] of rows already written as a JSON array; `None` for no rows.
fn json_listing(app: &App, json: Option<Vec<u8>>) -> Response {
    match json {
        None => listing::<()>(app, Vec::new()),
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
    }
}

/// Where a write puts its record.
enum Slot {
    New,
    Replaces(usize),
}

/// What the store holds and a write stamps: customers, licenses and contacts.
trait Record: ServerStamped + Serialize + Clone {
    fn put(self, store: &mut Store, slot: Slot);
    fn entry(&self) -> Entry<'_>;
}

/// Each record type with its journal entry and the store's insert and replace for it.
macro_rules! record {
    ($($dto:ty => $entry:ident, $insert:ident, $replace:ident;)*) => {
        $(impl Record for $dto {
            fn entry(&self) -> Entry<'_> {
                Entry::$entry(self)
            }
            fn put(self, store: &mut Store, slot: Slot) {
                match slot {
                    Slot::New => {
                        store.$insert(self);
                    }
                    Slot::Replaces(pos) => store.$replace(pos, self),
                }
            }
        })*
    };
}

record! {
    CustomerDto => Customer, insert_customer, replace_customer;
    LicenseDto => License, insert_license, replace_license;
    CustomerContactDto => Contact, insert_contact, replace_contact;
}

/// Stamps a checked write with the time and the `LastModifiedBy` header, stores it and queues its
/// journal line, releases the store, waits until the state file holds it, and answers with the
/// object or 204 (`--write-answer`). A replaced record keeps the creation time it carries.
async fn commit<R: Record>(
    app: &Arc<App>,
    headers: &HeaderMap,
    mut store: MutexGuard<'_, Store>,
    mut record: R,
    slot: Slot,
) -> Result<Response, ApiError> {
    let stamp = now();
    let [created, modified, by] = record.stamps();
    if matches!(slot, Slot::New) {
        *created = Some(stamp.as_str().into());
    }
    *modified = Some(stamp.into());
    *by = Some(modified_by(headers).into());
    let line = match &app.journal {
        Some(_) => {
            Some(Line::of(&record.entry()).map_err(|err| ApiError::Internal(err.to_string()))?)
        }
        None => None,
    };
    record.clone().put(&mut store, slot);
    let ticket = app
        .journal
        .as_ref()
        .zip(line)
        .map(|(journal, line)| journal.stage(line));
    drop(store);
    persist(app, ticket).await?;
    Ok(match app.write_answer {
        EmptyAnswer::Ok => Json(record).into_response(),
        EmptyAnswer::NoContent => StatusCode::NO_CONTENT.into_response(),
    })
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
