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
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::MutexGuard;

use super::EmptyAnswer;
use super::problem::ApiError;
use super::server::App;
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

/// Where a write puts its record.
enum Slot {
    New,
    Replaces(usize),
}

/// What the store holds and a write stamps: customers, licenses and contacts.
trait Record: ServerStamped + Serialize + Clone {
    fn put(self, store: &mut Store, slot: Slot);
}

/// Each record type with the store's insert and replace for it.
macro_rules! record {
    ($($dto:ty => $insert:ident, $replace:ident;)*) => {
        $(impl Record for $dto {
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
    CustomerDto => insert_customer, replace_customer;
    LicenseDto => insert_license, replace_license;
    CustomerContactDto => insert_contact, replace_contact;
}

/// Stamps a checked write with the time and the `LastModifiedBy` header, stores it, releases the
/// store, waits until the state file holds it, and answers with the object or 204
/// (`--write-answer`). A replaced record keeps the creation time it carries.
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
        *created = Some(stamp.clone());
    }
    *modified = Some(stamp);
    *by = Some(modified_by(headers));
    record.clone().put(&mut store, slot);
    let version = store.version();
    drop(store);
    persist(app, version).await?;
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
