//! Wire ↔ model: SLASCONE's DTOs reduced to the name-based model the diff compares, and the
//! model's values written onto DTOs for a request. Both directions read the field declarations
//! (`model::fields`): a field that travels in a member of its own is converted by its
//! declaration alone; the others (names that become ids, days that become instants, a
//! license's owner and entries) by the code here.
//!
//! `PATCH /customers` and `PATCH /licenses` get the whole current object with the desired fields
//! written onto it, so nothing outside the manifest is lost whether SLASCONE merges or replaces.
//! `PATCH /data_exchange/customers` is documented as merge-style and gets the customer number
//! and the changed fields only. Contacts follow the customers: the whole contact on `PATCH`,
//! and on `PUT /data_exchange/customers/contacts` the contact as read with the changes on top.

mod contact;
mod customer;
mod license;

use serde_json::{Value, json};
use uuid::Uuid;

pub use contact::{
    contact_create_body, contact_exchange_body, contact_update_body, current_contact,
};
pub use customer::{
    current_customer, customer_create_body, customer_update_body, data_exchange_create_body,
    data_exchange_update_body,
};
pub use license::{
    LicenseContext, current_license, edition_fields, license_create_body, license_update_body,
    write_license_field,
};

use super::wire::expiration_mode;
use crate::dates::{Zone, format_date};

/// A field value that cannot be written: a name SLASCONE does not know, or a value of the wrong
/// shape (possible with a saved plan applied after the catalog changed).
pub type BodyError = String;

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

/// The name of a catalog entry: the catalog's (authoritative), else the one the answer carried,
/// else the id, so an entry the catalog lacks still shows up in a diff.
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
///
/// The wire form is the object in postcard's compact binary encoding (ids as 16 bytes, numbers
/// as varints, text as it is), hashed with XXH3-128. A plan of a large account fingerprints
/// every object it reads (350 MB of JSON at 100,000 customers), and writing each out as JSON
/// again and hashing that with SHA-256 was a tenth of the plan's time. XXH3 is no
/// cryptographic hash: the fingerprint tells a saved plan that an object changed since it was
/// planned, which someone able to change the object has no reason to hide from it.
pub fn fingerprint<T: serde::Serialize>(object: &T) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    thread_local! {
        // One buffer per thread, hashed in one call: hashing the serialiser's many small writes
        // one by one cost more than the hash.
        static BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let digest = BYTES.with_borrow_mut(|bytes| {
        let mut buffer = std::mem::take(bytes);
        buffer.clear();
        let buffer = postcard::to_extend(object, buffer).unwrap_or_default();
        let digest = xxhash_rust::xxh3::xxh3_128(&buffer);
        // A rare huge object must not keep its buffer for the rest of the run.
        if buffer.capacity() <= 1 << 20 {
            *bytes = buffer;
        }
        digest
    });
    let mut hex = String::with_capacity(24);
    for byte in &digest.to_be_bytes()[..12] {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

fn text_value(path: &str, value: &Value) -> Result<Option<String>, BodyError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Bool(flag) => Ok(Some(flag.to_string())),
        _ => Err(format!("`{path}` must be text")),
    }
}

fn optional_int(path: &str, value: &Value) -> Result<Option<i64>, BodyError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{path}` must be a whole number")),
        _ => Err(format!("`{path}` must be a whole number")),
    }
}

/// A list of text values, as a constrained variable holds.
fn text_list(path: &str, value: &Value) -> Result<Vec<String>, BodyError> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| format!("`{path}` must be a list of text values"))
}

#[cfg(test)]
mod tests;
