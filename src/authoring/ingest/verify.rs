//! The check after rewriting a file: what its customers hold, without positions, as loaded
//! before, with the values and licenses meant applied, must equal what the new text holds.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use uuid::Uuid;

use super::{Added, Fate, ValueChange};
use crate::manifest;

/// A customer's values, wherever they are written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Customer {
    id: Option<Uuid>,
    number: Option<String>,
    values: BTreeMap<String, Json>,
    ignore: Vec<String>,
    contacts: Vec<(String, BTreeMap<String, Json>, Vec<String>)>,
    licenses: Vec<License>,
}

/// A license's values, wherever they are written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct License {
    id: Option<Uuid>,
    legacy: Option<String>,
    product: String,
    edition: String,
    /// Fields and map entries by path (`limitations.Users`).
    values: BTreeMap<String, Json>,
    ignore: Vec<String>,
}

pub(super) fn customers(customers: &[manifest::Customer]) -> Vec<Customer> {
    customers.iter().map(customer).collect()
}

pub(super) fn customer(customer: &manifest::Customer) -> Customer {
    Customer {
        id: customer.id.as_ref().map(|id| id.value),
        number: customer.customer_number.as_ref().map(|n| n.value.clone()),
        values: fields(&customer.fields),
        ignore: paths(&customer.ignore_changes),
        contacts: customer
            .contacts
            .iter()
            .map(|contact| {
                (
                    contact.email.value.clone(),
                    fields(&contact.fields),
                    paths(&contact.ignore_changes),
                )
            })
            .collect(),
        licenses: customer.licenses.iter().map(license).collect(),
    }
}

pub(super) fn license(license: &manifest::License) -> License {
    let mut values = fields(&license.fields);
    for entry in &license.entries {
        values.insert(
            format!("{}.{}", entry.map.name, entry.name),
            entry.value.value.clone(),
        );
    }
    License {
        id: license.id.as_ref().map(|id| id.value),
        legacy: license.legacy_license_key.as_ref().map(|l| l.value.clone()),
        product: license.product.value.clone(),
        edition: license.edition.value.clone(),
        values,
        ignore: paths(&license.ignore_changes),
    }
}

/// A new license as the checker will read it back.
pub(super) fn new_license(
    id: Option<Uuid>,
    legacy: Option<String>,
    product: String,
    edition: String,
    values: BTreeMap<String, Json>,
) -> License {
    License {
        id,
        legacy,
        product,
        edition,
        values,
        ignore: Vec::new(),
    }
}

fn fields(fields: &[manifest::Written]) -> BTreeMap<String, Json> {
    fields
        .iter()
        .map(|(field, value)| (field.name.to_owned(), value.value.clone()))
        .collect()
}

fn paths(paths: &[manifest::Located<String>]) -> Vec<String> {
    paths.iter().map(|path| path.value.clone()).collect()
}

/// `before` with every value and license marked written.
pub(super) fn expected(
    before: &[Customer],
    values: &[ValueChange],
    added: &[Added],
) -> Vec<Customer> {
    let mut expected = before.to_vec();
    for value in values.iter().filter(|v| v.fate == Fate::Written) {
        let (customer, license) = value.at;
        let Some(customer) = expected.get_mut(customer) else {
            continue;
        };
        match license.and_then(|index| customer.licenses.get_mut(index)) {
            Some(license) => set_license(license, &value.path, &value.after),
            None => set_customer(customer, &value.path, &value.after),
        }
    }
    for added in added.iter().filter(|a| a.fate == Fate::Written) {
        if let Some(customer) = expected.get_mut(added.customer_index) {
            customer.licenses.push(added.license.clone());
        }
    }
    expected
}

fn text(value: &Json) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn set_customer(customer: &mut Customer, path: &str, value: &Json) {
    match path {
        "id" => customer.id = value.as_str().and_then(|id| Uuid::parse_str(id).ok()),
        "customer_number" => customer.number = text(value),
        _ => {
            customer.values.insert(path.to_owned(), value.clone());
        }
    }
}

fn set_license(license: &mut License, path: &str, value: &Json) {
    match path {
        "id" => license.id = value.as_str().and_then(|id| Uuid::parse_str(id).ok()),
        "legacy_license_key" => license.legacy = text(value),
        "product" => license.product = text(value).unwrap_or_default(),
        "edition" => license.edition = text(value).unwrap_or_default(),
        _ => {
            license.values.insert(path.to_owned(), value.clone());
        }
    }
}
