//! The shared vocabulary of the reconciler: desired and current objects as plain data.
//!
//! Both sides are reduced to the same shape before they are compared: an identity plus a flat,
//! ordered map from a field path (`company_name`, `features.Export`, `limitations.Users`) to a JSON
//! value, with every catalog reference expressed by *name*. The diff is then a pure comparison of
//! two maps, which keeps it small, deterministic and easy to test with random states.
//!
//! Field paths of a customer: `company_name`, `customer_type`, `country`, `email`, `street`,
//! `zip`, `city`, `phone`, `prospect_number`.
//!
//! Field paths of a license: `customer` (the owning customer's key), `edition`, `license_type`,
//! `token_limit`, `goodwill_token_limit`, `floating_token_limit`, `user_limit`, `expires`
//! (`"2027-12-31"`, `"never"` or `{"days_after_activation": 30}`), `active`, `features.<name>`
//! (bool), `limitations.<name>` (integer), `variables.<name>` (string) and
//! `constrained_variables.<name>` (a list of strings).

pub mod fields;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What `software_release_limitation` is written as for no limit; the model holds `null`.
pub const NO_SOFTWARE_RELEASE: &str = "none";

/// A field value as people read it: JSON scalars (strings quoted, so `"25"` and `25` differ),
/// `(none)` for an absent value, and a mapping in the manifest's flow form
/// (`{ days_after_activation: 30 }`), as it is written.
pub fn display_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "(none)".to_owned(),
        serde_json::Value::Object(map) if !map.is_empty() => {
            let entries: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{key}: {}", display_value(value)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

/// Field path → value, ordered by path, so everything derived from it is deterministic.
///
/// A sorted list rather than a `BTreeMap`: an object has a dozen fields or so, and a large
/// account has hundreds of thousands of objects on each side of the diff, where a map's nodes
/// (allocated for eleven entries each, split at twelve) took two to three times the memory.
/// Paths are [`FieldPath`]s, held inline: a path of its own on the heap for each field of each
/// object was a sixth of a large plan's memory, and a pointer to follow for every comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(FieldPath, serde_json::Value)>);

/// A field path (`company_name`, `features.Export`): up to 24 bytes are stored inline, which
/// every path of the format is but for long catalog names.
pub type FieldPath = compact_str::CompactString;

impl Fields {
    pub fn new() -> Self {
        Fields(Vec::new())
    }

    /// Room for up to `n` fields, so that an object built field by field does not grow.
    pub fn with_capacity(n: usize) -> Self {
        Fields(Vec::with_capacity(n))
    }

    fn position(&self, path: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(existing, _)| path_order(existing, path))
    }

    /// Sets `path`, returning the value it replaces.
    pub fn insert(
        &mut self,
        path: impl Into<FieldPath> + AsRef<str>,
        value: serde_json::Value,
    ) -> Option<serde_json::Value> {
        match self.position(path.as_ref()) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (path.into(), value));
                None
            }
        }
    }

    /// Where `path` is. An object has a dozen fields or so, and comparing for equality (lengths
    /// first) is cheaper than ordering them: on a large diff the binary search was the single
    /// most expensive function.
    fn find(&self, path: &str) -> Option<usize> {
        if self.0.len() > 24 {
            return self.position(path).ok();
        }
        self.0
            .iter()
            .position(|(existing, _)| existing.as_str() == path)
    }

    pub fn get(&self, path: &str) -> Option<&serde_json::Value> {
        self.find(path).map(|at| &self.0[at].1)
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.find(path).is_some()
    }

    pub fn remove(&mut self, path: &str) -> Option<serde_json::Value> {
        self.find(path).map(|at| self.0.remove(at).1)
    }

    /// Entries in path order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &serde_json::Value)> {
        self.0.iter().map(|(path, value)| (path.as_str(), value))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.iter().map(|(path, _)| path.as_str())
    }

    /// Each entry together with the value `other` has at the same path. Both lists are sorted,
    /// so this is one pass over the two rather than a search per entry: comparing the fields
    /// of every object is most of the diff.
    pub fn paired_with<'a>(
        &'a self,
        other: &'a Fields,
    ) -> impl Iterator<
        Item = (
            &'a str,
            &'a serde_json::Value,
            Option<&'a serde_json::Value>,
        ),
    > {
        let mut rest = other.0.as_slice();
        self.0.iter().map(move |(path, value)| {
            while let Some(((next, _), tail)) = rest.split_first()
                && path_order(next, path).is_lt()
            {
                rest = tail;
            }
            let found = match rest.first() {
                Some((next, found)) if next == path => Some(found),
                _ => None,
            };
            (path.as_str(), value, found)
        })
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives back what the list reserved beyond its entries; for objects kept for long.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

/// The order of two paths, as `str`'s: most paths differ in their first byte, which is
/// compared without a call into `memcmp`.
fn path_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

impl<P: Into<FieldPath> + AsRef<str>> Extend<(P, serde_json::Value)> for Fields {
    fn extend<I: IntoIterator<Item = (P, serde_json::Value)>>(&mut self, entries: I) {
        for (path, value) in entries {
            self.insert(path, value);
        }
    }
}

impl<P: Into<FieldPath> + AsRef<str>> FromIterator<(P, serde_json::Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (P, serde_json::Value)>>(entries: I) -> Self {
        let mut fields = Fields::new();
        fields.extend(entries);
        fields
    }
}

impl IntoIterator for Fields {
    type Item = (FieldPath, serde_json::Value);
    type IntoIter = std::vec::IntoIter<(FieldPath, serde_json::Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, &'a serde_json::Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (FieldPath, serde_json::Value)>,
        fn(&'a (FieldPath, serde_json::Value)) -> (&'a str, &'a serde_json::Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(path, value)| (path.as_str(), value))
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// The two kinds of object the reconciler manages.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Customer,
    License,
    /// A contact person of a customer.
    Contact,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Customer => "customer",
            Kind::License => "license",
            Kind::Contact => "contact",
        })
    }
}

/// Where something was written in a manifest: 1-based line and column.
///
/// The file is shared: a large repository has millions of located values, and a path of their
/// own each was most of the memory loaded manifests took.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub file: Arc<Path>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A customer as the manifests want it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredCustomer {
    /// `customer_number` when there is one, else the id: how plans name it.
    pub key: String,
    /// Set: matched and written by id (`/customers`). Unset: by number (`/data_exchange/customers`).
    pub id: Option<Uuid>,
    pub customer_number: Option<String>,
    /// Only the fields the manifest writes: these and no others are managed.
    pub fields: Fields,
    /// Field paths (relative, e.g. `phone`) never reconciled for this customer; a path also
    /// covers every path below it.
    pub ignore: Vec<String>,
    pub origin: Origin,
}

/// A license as the manifests want it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredLicense {
    /// `<product>/<legacy_license_key>`, or `<product>/<id>` without a legacy key.
    pub key: String,
    /// Set: matched by id. Unset: matched by (product, legacy_license_key).
    pub id: Option<Uuid>,
    pub product: String,
    pub legacy_license_key: Option<String>,
    /// Only the fields the manifest writes, plus `customer` and `edition`, which every license
    /// has. `features.*`, `limitations.*`, `variables.*` appear only where listed (overrides).
    pub fields: Fields,
    /// The edition's configuration: `token_limit` and the other limits it sets, `license_type`
    /// and `expires` where it has them, `temporary`, `software_release_limitation` (null for
    /// none), and every `features.*`, `limitations.*`, `variables.*`, `constrained_variables.*`
    /// entry. A license gets it (under its own `fields`) when created or when its edition changes.
    /// Shared by every license of the edition.
    pub edition_fields: Arc<Fields>,
    /// Field paths (relative, e.g. `variables.Region`) never reconciled for this license.
    pub ignore: Vec<String>,
    pub origin: Origin,
}

/// A contact person as the manifests want it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredContact {
    /// `<customer key>/<email>`.
    pub key: String,
    /// The key of the customer it is listed under.
    pub customer: String,
    pub email: String,
    /// Only the fields the manifest writes (`name`, `surname`, `phone`, ...).
    pub fields: Fields,
    /// Field paths never reconciled for this contact.
    pub ignore: Vec<String>,
    pub origin: Origin,
}

/// A contact person as SLASCONE has it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentContact {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub email: String,
    /// Every field path of a contact that has a value.
    pub fields: Fields,
    /// Identifies the object as read, for the stale-plan check.
    pub fingerprint: String,
}

/// The key of a contact: `<customer key>/<email>`.
pub fn contact_key(customer: &str, email: &str) -> String {
    format!("{customer}/{email}")
}

/// E-mail addresses name the same contact whatever their case.
pub fn same_email(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// One `@` with text on both sides, a dot in the domain, and no spaces: what SLASCONE would take
/// (it refuses others with 409 id 1012).
pub fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// A customer as SLASCONE has it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentCustomer {
    pub id: Uuid,
    pub customer_number: Option<String>,
    /// Every field path of a customer that has a value.
    pub fields: Fields,
    /// Identifies the object as read, for the stale-plan check.
    pub fingerprint: String,
}

impl CurrentCustomer {
    /// How plans name a remote customer: its number, else its id.
    pub fn key(&self) -> String {
        match &self.customer_number {
            Some(number) if !number.is_empty() => number.clone(),
            _ => self.id.to_string(),
        }
    }
}

/// A license as SLASCONE has it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentLicense {
    pub id: Uuid,
    pub product: String,
    pub legacy_license_key: Option<String>,
    /// The owning customer; the diff turns it into the `customer` field.
    pub customer_id: Uuid,
    /// Every field path of a license that has a value, except `customer`.
    pub fields: Fields,
    /// Identifies the object as read, for the stale-plan check.
    pub fingerprint: String,
}

impl CurrentLicense {
    /// How plans name a remote license: `<product>/<legacy_license_key>`, else `<product>/<id>`.
    pub fn key(&self) -> String {
        license_key(
            &self.product,
            self.legacy_license_key.as_deref(),
            Some(self.id),
        )
    }
}

/// The maps of a license whose entries override its edition's one by one
/// (`features.Export`, `limitations.Users`, ...). A license whose manifest lists none of them is
/// edition-based: SLASCONE applies its edition's configuration.
pub const ENTRY_MAPS: [&str; 4] = [
    "features",
    "limitations",
    "variables",
    "constrained_variables",
];

/// The map and entry name of an entry path: `limitations.Users` → (`limitations`, `Users`).
pub fn entry_of(path: &str) -> Option<(&str, &str)> {
    let (map, name) = path.split_once('.')?;
    ENTRY_MAPS.contains(&map).then_some((map, name))
}

impl DesiredLicense {
    /// True when the manifest lists no features, limitations, variables or constrained
    /// variables: the license takes everything its edition holds from SLASCONE.
    pub fn is_edition_based(&self) -> bool {
        !self.fields.keys().any(|path| entry_of(path).is_some())
    }
}

/// The key of a license: `<product>/<legacy_license_key>`, else `<product>/<id>`.
pub fn license_key(product: &str, legacy_license_key: Option<&str>, id: Option<Uuid>) -> String {
    match (legacy_license_key, id) {
        (Some(legacy), _) if !legacy.is_empty() => format!("{product}/{legacy}"),
        (_, Some(id)) => format!("{product}/{id}"),
        _ => format!("{product}/"),
    }
}

/// Everything the manifests want.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredState {
    pub customers: Vec<DesiredCustomer>,
    pub licenses: Vec<DesiredLicense>,
    /// The contacts of customers whose contacts are managed (not ignored).
    pub contacts: Vec<DesiredContact>,
}

/// Everything read from SLASCONE: all customers, the licenses of the products the manifests use,
/// and the contacts of the customers whose manifests list contacts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CurrentState {
    pub customers: Vec<CurrentCustomer>,
    pub licenses: Vec<CurrentLicense>,
    /// The contacts of the customers whose manifests list contacts.
    pub contacts: Vec<CurrentContact>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::Fields;

    fn entries() -> impl Strategy<Value = Vec<(String, i64)>> {
        prop::collection::vec(("[a-d]{1,3}", 0..5i64), 0..12)
    }

    proptest! {
        /// Fields behaves like the ordered map it replaces, and `paired_with` finds what `get`
        /// finds.
        #[test]
        fn fields_behave_like_an_ordered_map(a in entries(), b in entries(), gone in "[a-d]{1,3}") {
            let mut fields = Fields::new();
            let mut map = BTreeMap::new();
            for (path, value) in &a {
                prop_assert_eq!(
                    fields.insert(path.clone(), json!(value)),
                    map.insert(path.clone(), json!(value))
                );
            }
            prop_assert_eq!(fields.remove(&gone), map.remove(&gone));
            prop_assert_eq!(fields.len(), map.len());
            prop_assert!(fields.iter().eq(map.iter().map(|(path, value)| (path.as_str(), value))));
            prop_assert_eq!(
                serde_json::to_string(&fields).unwrap(),
                serde_json::to_string(&map).unwrap()
            );
            let other: Fields = b.iter().map(|(p, v)| (p.clone(), json!(v))).collect();
            let paired: Vec<(&str, &Value, Option<&Value>)> = fields.paired_with(&other).collect();
            let looked_up: Vec<(&str, &Value, Option<&Value>)> =
                fields.iter().map(|(path, value)| (path, value, other.get(path))).collect();
            prop_assert_eq!(paired, looked_up);
        }
    }
}
