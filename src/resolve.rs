//! Name resolution: manifests plus SLASCONE's catalog give the desired state.
//!
//! Pure: the catalog comes in as data. Every name that does not resolve (product, edition,
//! feature, limitation, variable, customer type, license type) is a problem at the position the
//! manifest wrote it, listing the names that exist; all of them are collected before reporting.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::manifest::{Contact, Customer, Entry, License, Located, Manifests, Problem, Problems};
use crate::model::fields::Names;
use crate::model::{
    DesiredContact, DesiredCustomer, DesiredLicense, DesiredState, Fields, NO_SOFTWARE_RELEASE,
    Origin, contact_key, license_key,
};
use crate::remote::catalog::{Catalog, ProductCatalog};
use crate::remote::convert::edition_fields;

/// The product names the manifests use: only their licenses and editions are read.
pub fn products_used(manifests: &Manifests) -> BTreeSet<String> {
    manifests
        .customers
        .iter()
        .flat_map(|customer| &customer.licenses)
        .map(|license| license.product.value.as_str())
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Project-wide `ignore_changes`, split by kind: (customer paths, license paths).
pub fn project_ignores(manifests: &Manifests) -> (Vec<String>, Vec<String>) {
    let mut customer = Vec::new();
    let mut license = Vec::new();
    for path in &manifests.project.ignore_changes {
        if let Some(rest) = path.value.strip_prefix("customer.") {
            customer.push(rest.to_string());
        } else if let Some(rest) = path.value.strip_prefix("license.") {
            license.push(rest.to_string());
        }
    }
    (customer, license)
}

/// Resolves every name of the manifests against the catalog.
pub fn resolve(manifests: &Manifests, catalog: &Catalog) -> Result<DesiredState, Problems> {
    resolve_customers(&manifests.customers, catalog)
}

/// Resolves the names of `customers` against the catalog. Given the customers themselves
/// rather than references, it frees each one once resolved, so the manifests and the desired
/// state they become are never both whole in memory.
pub fn resolve_customers<C: Borrow<Customer>>(
    customers: impl IntoIterator<Item = C>,
    catalog: &Catalog,
) -> Result<DesiredState, Problems> {
    let mut problems = Vec::new();
    let mut desired = DesiredState::default();
    // An edition's configuration is the same for all its licenses: computed once per edition
    // rather than once per license (which cost more than the rest of resolving a license).
    let mut editions = HashMap::new();
    for customer in customers {
        let customer = customer.borrow();
        let resolved = resolve_customer(customer, catalog, &mut problems);
        for license in &customer.licenses {
            if let Some(license) = resolve_license(
                license,
                &resolved.key,
                catalog,
                &mut editions,
                &mut problems,
            ) {
                desired.licenses.push(license);
            }
        }
        let contacts_ignored = customer
            .ignore_changes
            .iter()
            .any(|p| p.value == crate::model::fields::CONTACTS);
        if !contacts_ignored {
            desired.contacts.extend(
                customer
                    .contacts
                    .iter()
                    .map(|contact| resolve_contact(contact, &resolved.key)),
            );
        }
        desired.customers.push(resolved);
    }
    if problems.is_empty() {
        Ok(desired)
    } else {
        Err(Problems(problems))
    }
}

fn resolve_customer(
    customer: &Customer,
    catalog: &Catalog,
    problems: &mut Vec<Problem>,
) -> DesiredCustomer {
    let mut fields = Fields::new();
    for (field, value) in &customer.fields {
        if let Some(names) = field.names {
            check_name(names, value, catalog, None, problems);
        }
        fields.insert(field.name, value.value.clone());
    }
    let customer_number = customer.customer_number.as_ref().map(|n| n.value.clone());
    let id = customer.id.as_ref().map(|id| id.value);
    let key = match (&customer_number, id) {
        (Some(number), _) => number.clone(),
        (None, Some(id)) => id.to_string(),
        (None, None) => String::new(),
    };
    fields.shrink_to_fit();
    DesiredCustomer {
        key,
        id,
        customer_number,
        fields,
        ignore: customer
            .ignore_changes
            .iter()
            .map(|p| p.value.clone())
            .collect(),
        origin: customer.origin.clone(),
    }
}

/// Edition fields by edition (template) id.
type EditionCache = HashMap<Uuid, Arc<Fields>>;

fn resolve_contact(contact: &Contact, customer_key: &str) -> DesiredContact {
    let mut fields: Fields = contact
        .fields
        .iter()
        .map(|(field, value)| (field.name.to_owned(), value.value.clone()))
        .collect();
    fields.shrink_to_fit();
    DesiredContact {
        key: contact_key(customer_key, &contact.email.value),
        customer: customer_key.to_owned(),
        email: contact.email.value.clone(),
        fields,
        ignore: contact
            .ignore_changes
            .iter()
            .map(|p| p.value.clone())
            .collect(),
        origin: contact.origin.clone(),
    }
}

fn resolve_license(
    license: &License,
    customer_key: &str,
    catalog: &Catalog,
    editions: &mut EditionCache,
    problems: &mut Vec<Problem>,
) -> Option<DesiredLicense> {
    let Some(product) = catalog.products.get(&license.product.value) else {
        problems.push(unknown(
            "product",
            &license.product,
            catalog.products.keys(),
        ));
        return None;
    };
    let mut fields = Fields::new();
    fields.insert(crate::model::fields::OWNER, json!(customer_key));
    fields.insert("edition", json!(license.edition.value));
    let edition = product.edition(&license.edition.value);
    if edition.is_none() {
        let known = product.editions.iter().map(|e| &e.name);
        problems.push(unknown_in("edition", &license.edition, product, known));
    }
    for (field, value) in &license.fields {
        if let Some(names) = field.names {
            check_name(names, value, catalog, Some(product), problems);
        }
        let none = field.names == Some(Names::SoftwareRelease)
            && value.value.as_str() == Some(NO_SOFTWARE_RELEASE);
        let value = if none {
            Value::Null
        } else {
            value.value.clone()
        };
        fields.insert(field.name, value);
    }
    for entry in &license.entries {
        check_entry(
            entry.map.names,
            &entry.name,
            &entry.value.origin,
            product,
            problems,
        );
        if entry.map.names == Names::ConstrainedVariable {
            check_constrained_values(entry, catalog, product, problems);
        }
        fields.insert(
            compact_str::format_compact!("{}.{}", entry.map.name, entry.name),
            entry.value.value.clone(),
        );
    }
    let legacy_license_key = license.legacy_license_key.as_ref().map(|k| k.value.clone());
    let id = license.id.as_ref().map(|id| id.value);
    fields.shrink_to_fit();
    Some(DesiredLicense {
        key: license_key(&product.product.name, legacy_license_key.as_deref(), id),
        id,
        product: product.product.name.clone(),
        legacy_license_key,
        fields,
        edition_fields: edition
            .map(|edition| {
                editions
                    .entry(edition.id)
                    .or_insert_with(|| Arc::new(edition_fields(catalog, product, edition)))
                    .clone()
            })
            .unwrap_or_default(),
        ignore: license
            .ignore_changes
            .iter()
            .map(|p| p.value.clone())
            .collect(),
        origin: license.origin.clone(),
    })
}

/// Reports a value that names nothing in the catalog list `names`. Runs for every named value
/// of every object, so it looks the name up first and builds a problem only for a miss.
fn check_name(
    names: Names,
    value: &Located<Value>,
    catalog: &Catalog,
    product: Option<&ProductCatalog>,
    problems: &mut Vec<Problem>,
) {
    let Some(text) = value.value.as_str() else {
        return;
    };
    let located = || Located {
        value: text.to_owned(),
        origin: value.origin.clone(),
    };
    match names {
        Names::CustomerType => {
            if catalog.customer_type(text).is_none() {
                let known = catalog
                    .customer_types
                    .iter()
                    .filter_map(|t| t.customer_type_name.as_deref());
                problems.push(unknown("customer type", &located(), known));
            }
        }
        Names::LicenseType => {
            if catalog.license_type(text).is_none() {
                let known = catalog
                    .license_types
                    .iter()
                    .filter_map(|t| t.name.as_deref());
                problems.push(unknown("license type", &located(), known));
            }
        }
        entry => {
            if let Some(product) = product {
                check_entry(entry, text, &value.origin, product, problems);
            }
        }
    }
}

/// Reports a name the product has no edition, feature, limitation or variable of.
fn check_entry(
    names: Names,
    name: &str,
    origin: &Origin,
    product: &ProductCatalog,
    problems: &mut Vec<Problem>,
) {
    let known: Option<(&str, Vec<&String>)> = match names {
        Names::Feature => product.feature(name).is_none().then(|| {
            let known = product.features.iter().map(|f| &f.name);
            ("feature", known.collect())
        }),
        Names::Limitation => product.limitation(name).is_none().then(|| {
            let known = product.limitations.iter().map(|l| &l.name);
            ("limitation", known.collect())
        }),
        Names::Variable => product.variable(name).is_none().then(|| {
            let known = product.variables.iter().map(|v| &v.name);
            ("variable", known.collect())
        }),
        Names::ConstrainedVariable => product.constrained_variable(name).is_none().then(|| {
            let known = product.constrained_variables.iter().map(|v| &v.name);
            ("constrained variable", known.collect())
        }),
        Names::Edition => product.edition(name).is_none().then(|| {
            let known = product.editions.iter().map(|e| &e.name);
            ("edition", known.collect())
        }),
        Names::SoftwareRelease => {
            let none = name == NO_SOFTWARE_RELEASE;
            (!none && product.software_release(name).is_none()).then(|| {
                let known = product.software_releases.iter();
                (
                    "software release",
                    known.filter_map(|r| r.software_release.as_ref()).collect(),
                )
            })
        }
        Names::CustomerType | Names::LicenseType | Names::Product => None,
    };
    if let Some((what, known)) = known {
        let name = Located {
            value: name.to_owned(),
            origin: origin.clone(),
        };
        problems.push(unknown_in(what, &name, product, known));
    }
}

/// Whether some manifest sets a constrained variable: only then does a plan read the custom
/// lists its values are checked against.
pub fn uses_constrained_variables(manifests: &Manifests) -> bool {
    manifests
        .customers
        .iter()
        .flat_map(|customer| &customer.licenses)
        .flat_map(|license| &license.entries)
        .any(|entry| entry.map.names == Names::ConstrainedVariable)
}

/// Reports each value of a constrained variable that its custom list does not hold, at the
/// value, with the values it does hold: SLASCONE would refuse the write (409) after other
/// changes went through. Nothing to check where the lists were not read.
fn check_constrained_values(
    entry: &Entry,
    catalog: &Catalog,
    product: &ProductCatalog,
    problems: &mut Vec<Problem>,
) {
    let (Some(_), Some(variable)) = (
        &catalog.custom_lists,
        product.constrained_variable(&entry.name),
    ) else {
        return;
    };
    let Some(list) = catalog.custom_list(variable.custom_list_id) else {
        problems.push(
            Problem::at(
                entry.value.origin.clone(),
                format!(
                    "constrained variable {} of product {} takes its values from custom list \
                     {}, which SLASCONE does not list",
                    entry.name, product.product.name, variable.custom_list_id
                ),
            )
            .with_hint("check the variable's custom list in the SLASCONE portal"),
        );
        return;
    };
    for item in &entry.items {
        if list.values().any(|value| value == item.value) {
            continue;
        }
        let allowed: Vec<String> = list.values().map(|value| format!("`{value}`")).collect();
        problems.push(
            Problem::at(
                item.origin.clone(),
                format!(
                    "constrained variable {} of product {} has no value `{}`",
                    entry.name, product.product.name, item.value
                ),
            )
            .with_hint(if allowed.is_empty() {
                "its custom list holds no values".to_owned()
            } else {
                format!("allowed values: {}", allowed.join(", "))
            }),
        );
    }
}

fn unknown<I, S>(what: &str, name: &Located<String>, known: I) -> Problem
where
    I: IntoIterator<Item = S>,
    S: Display,
{
    Problem::at(
        name.origin.clone(),
        format!("unknown {what} `{}`", name.value),
    )
    .with_hint(known_names(what, known))
}

fn unknown_in<I, S>(
    what: &str,
    name: &Located<String>,
    product: &ProductCatalog,
    known: I,
) -> Problem
where
    I: IntoIterator<Item = S>,
    S: Display,
{
    Problem::at(
        name.origin.clone(),
        format!(
            "product {} has no {what} `{}`",
            product.product.name, name.value
        ),
    )
    .with_hint(known_names(what, known))
}

fn known_names<I, S>(what: &str, known: I) -> String
where
    I: IntoIterator<Item = S>,
    S: Display,
{
    let mut names: Vec<String> = known.into_iter().map(|n| format!("`{n}`")).collect();
    names.sort();
    if names.is_empty() {
        format!("SLASCONE has no {what} here")
    } else {
        format!("known {what}s: {}", names.join(", "))
    }
}
