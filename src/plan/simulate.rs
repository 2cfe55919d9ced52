//! What SLASCONE would look like after a plan is applied, computed without any I/O.
//!
//! This is the model of `apply` that the convergence tests check the diff against (the plan of
//! the resulting state must be empty), and a way to preview a plan's effect offline.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;
use uuid::Uuid;

use super::parts::CustomerMatching;
use super::{Action, Change, Plan};
use crate::model::{
    CurrentContact, CurrentCustomer, CurrentLicense, CurrentState, DesiredState, Fields, Kind,
};

/// Writes every change of `plan` onto a copy of `current`: updates set their `after` values,
/// creates add an object (with the manifest's id, else an id derived from the key). `desired`
/// supplies what a change does not carry: a new customer's number, a new license's product and
/// legacy key, and which remote customer a license's `customer` key names.
pub fn apply_changes(current: &CurrentState, plan: &Plan, desired: &DesiredState) -> CurrentState {
    let mut state = current.clone();

    for change in plan.changes.iter().filter(|c| c.kind() == Kind::Customer) {
        match change.action {
            Action::Create => {
                let number = desired
                    .customers
                    .iter()
                    .find(|d| d.key == change.key)
                    .and_then(|d| d.customer_number.clone());
                let mut fields = Fields::new();
                write(&mut fields, change);
                state.customers.push(CurrentCustomer {
                    id: change.id().unwrap_or_else(|| derived_id(change)),
                    customer_number: number,
                    fields,
                    fingerprint: String::new(),
                });
            }
            Action::Update => {
                if let Some(found) = state
                    .customers
                    .iter_mut()
                    .find(|c| Some(c.id) == change.id())
                {
                    write(&mut found.fields, change);
                }
            }
        }
    }

    // Licenses name their customer by key; resolve keys against the customers as they are now,
    // new ones included.
    let owners: Vec<(String, Uuid)> = {
        let mut ignored_warnings = Vec::new();
        let matching = CustomerMatching::new(desired, &state, &mut ignored_warnings);
        matching
            .remote_of
            .iter()
            .map(|(key, id)| ((*key).to_owned(), *id))
            .collect()
    };
    let resolve = |state: &CurrentState, key: &str| -> Uuid {
        owners
            .iter()
            .find(|(owner, _)| owner == key)
            .map(|(_, id)| *id)
            .or_else(|| {
                state
                    .customers
                    .iter()
                    .find(|c| c.key() == key)
                    .map(|c| c.id)
            })
            .or_else(|| Uuid::parse_str(key).ok())
            .unwrap_or(Uuid::nil())
    };

    for change in plan.changes.iter().filter(|c| c.kind() == Kind::License) {
        let owner = change
            .fields
            .iter()
            .find(|field| field.path == crate::model::fields::OWNER)
            .and_then(|field| field.after.as_str())
            .map(|key| resolve(&state, key));
        match change.action {
            Action::Create => {
                let Some(wanted) = desired.licenses.iter().find(|d| d.key == change.key) else {
                    continue;
                };
                let mut fields = Fields::new();
                write(&mut fields, change);
                state.licenses.push(CurrentLicense {
                    id: change.id().unwrap_or_else(|| derived_id(change)),
                    product: wanted.product.clone(),
                    legacy_license_key: wanted.legacy_license_key.clone(),
                    customer_id: owner.unwrap_or(Uuid::nil()),
                    fields,
                    fingerprint: String::new(),
                });
            }
            Action::Update => {
                if let Some(found) = state
                    .licenses
                    .iter_mut()
                    .find(|l| Some(l.id) == change.id())
                {
                    write(&mut found.fields, change);
                    if let Some(owner) = owner {
                        found.customer_id = owner;
                    }
                }
            }
        }
    }
    for change in plan.changes.iter().filter(|c| c.kind() == Kind::Contact) {
        match change.action {
            Action::Create => {
                let Some(wanted) = desired.contacts.iter().find(|d| d.key == change.key) else {
                    continue;
                };
                let mut fields = Fields::new();
                write(&mut fields, change);
                state.contacts.push(CurrentContact {
                    id: derived_id(change),
                    customer_id: resolve(&state, &wanted.customer),
                    email: wanted.email.clone(),
                    fields,
                    fingerprint: String::new(),
                });
            }
            Action::Update => {
                if let Some(found) = state
                    .contacts
                    .iter_mut()
                    .find(|c| Some(c.id) == change.id())
                {
                    write(&mut found.fields, change);
                }
            }
        }
    }
    state
}

/// Sets each `after` value; null removes the field. A license's owner is not a field of the
/// remote license, so it is left to the caller.
fn write(fields: &mut Fields, change: &Change) {
    for field in &change.fields {
        if change.kind() == Kind::License && field.path == crate::model::fields::OWNER {
            continue;
        }
        if field.after == Value::Null {
            fields.remove(&field.path);
        } else {
            fields.insert(field.path.clone(), field.after.clone());
        }
    }
}

/// A stable stand-in for the id SLASCONE would assign, so a simulated state is reproducible.
fn derived_id(change: &Change) -> Uuid {
    let mut high = DefaultHasher::new();
    (change.kind(), &change.key, 1u8).hash(&mut high);
    let mut low = DefaultHasher::new();
    (change.kind(), &change.key, 2u8).hash(&mut low);
    Uuid::from_u64_pair(high.finish(), low.finish())
}
