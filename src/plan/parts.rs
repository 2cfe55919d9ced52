//! What the diff and its parts (contacts, the expiry radar) share: the context, the matching
//! of customers, and the small rules every change follows. The diff itself orchestrates in
//! `diff.rs`; nothing here imports it.

use std::borrow::Cow;

use serde_json::Value;
use uuid::Uuid;

use super::{FieldChange, Target, Warning, WarningKind};
use crate::hashing::{HashMap, map_with_capacity};
use crate::model::{CurrentCustomer, CurrentState, DesiredCustomer, DesiredState, Fields};

/// Everything the diff needs besides the two states.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffContext {
    pub target: Target,
    /// Base URL of the SLASCONE portal, for deep links; empty means no links.
    pub portal_url: String,
    /// Project-wide ignored customer field paths (relative, e.g. `phone`).
    pub ignore_customer: Vec<String>,
    /// Project-wide ignored license field paths (relative, e.g. `variables.Region`).
    pub ignore_license: Vec<String>,
    /// Today in the project's time zone, for the expiry radar; `None` turns the radar off.
    pub today: Option<jiff::civil::Date>,
    /// The radar warns of licenses that expire within this many days (`0`: never).
    pub expiring_within_days: u32,
}

/// Which remote customer each desired customer is, decided once so the diff and
/// [`super::apply_changes`] agree.
pub(crate) struct CustomerMatching<'a> {
    /// The desired customers that get a change or count as unchanged, with their remote
    /// counterpart. A desired customer that is the same remote customer as an earlier one is
    /// left out (and warned about), so one remote object never gets two changes.
    pub(crate) planned: Vec<(&'a DesiredCustomer, Option<&'a CurrentCustomer>)>,
    /// Desired key → the remote customer it matches, duplicates included.
    pub(crate) remote_of: HashMap<&'a str, Uuid>,
    /// Remote id → the desired customer planned for it.
    pub(super) primary_of: HashMap<Uuid, &'a DesiredCustomer>,
    current_by_id: HashMap<Uuid, &'a CurrentCustomer>,
    pub(crate) desired_by_key: HashMap<&'a str, &'a DesiredCustomer>,
}

impl<'a> CustomerMatching<'a> {
    pub(crate) fn new(
        desired: &'a DesiredState,
        current: &'a CurrentState,
        warnings: &mut Vec<Warning>,
    ) -> Self {
        let current_by_id: HashMap<Uuid, &CurrentCustomer> =
            current.customers.iter().map(|c| (c.id, c)).collect();

        // Of several same-numbered remote customers the one with the lowest id wins, whatever
        // order SLASCONE listed them in. Hash maps and linear passes rather than ordered maps or
        // sorting: with 100,000s of objects those made the diff grow faster than linearly.
        let mut by_number: HashMap<&str, &CurrentCustomer> =
            map_with_capacity(current.customers.len());
        for found in &current.customers {
            if let Some(number) = nonempty(found.customer_number.as_deref()) {
                let winner = by_number.entry(number).or_insert(found);
                if found.id < winner.id {
                    *winner = found;
                }
            }
        }
        for found in &current.customers {
            let Some(number) = nonempty(found.customer_number.as_deref()) else {
                continue;
            };
            let first = by_number[number];
            if first.id != found.id {
                warnings.push(Warning::new(
                    WarningKind::SharedNumber,
                    number,
                    format!(
                        "SLASCONE has several customers with customer_number {number} ({} and \
                         {}); manifests without an id are matched to {}",
                        first.id, found.id, first.id
                    ),
                ));
            }
        }

        // Ids first: an id is the stronger identity, so it wins when an id-identified and a
        // number-identified entry turn out to be the same remote customer. (Within each group
        // identities are unique, so the order inside it decides nothing.)
        let order = desired
            .customers
            .iter()
            .filter(|c| c.id.is_some())
            .chain(desired.customers.iter().filter(|c| c.id.is_none()));

        let mut planned = Vec::new();
        let mut remote_of = HashMap::default();
        let mut primary_of: HashMap<Uuid, &DesiredCustomer> =
            map_with_capacity(desired.customers.len());
        for wanted in order {
            let number = nonempty(wanted.customer_number.as_deref());
            let found = match wanted.id {
                Some(id) => current_by_id.get(&id).copied(),
                None => number.and_then(|number| by_number.get(number).copied()),
            };
            let Some(found) = found else {
                if let (Some(id), Some(other)) =
                    (wanted.id, number.and_then(|number| by_number.get(number)))
                {
                    warnings.push(Warning::new(
                        WarningKind::WouldDuplicate,
                        &wanted.key,
                        format!(
                            "customer {} ({}): SLASCONE has no customer with id {id}, but has \
                             customer_number {} as id {}; creating would duplicate the number",
                            wanted.key,
                            wanted.origin,
                            number.unwrap_or_default(),
                            other.id
                        ),
                    ));
                }
                planned.push((wanted, None));
                continue;
            };
            remote_of.insert(wanted.key.as_str(), found.id);
            if let Some(first) = primary_of.get(&found.id) {
                warnings.push(Warning::new(
                    WarningKind::SameObject,
                    &wanted.key,
                    format!(
                        "customer {} ({}) and customer {} ({}) are the same SLASCONE customer \
                         {}; only customer {} is planned",
                        first.key, first.origin, wanted.key, wanted.origin, found.id, first.key
                    ),
                ));
                continue;
            }
            primary_of.insert(found.id, wanted);
            planned.push((wanted, Some(found)));
        }

        CustomerMatching {
            planned,
            remote_of,
            primary_of,
            current_by_id,
            desired_by_key: desired
                .customers
                .iter()
                .map(|d| (d.key.as_str(), d))
                .collect(),
        }
    }

    /// The owner value a desired license is compared with: the key of the desired customer
    /// planned for the same remote customer, so two manifest keys for one customer compare equal.
    pub(super) fn desired_owner<'k>(&'k self, key: &'k str) -> &'k str {
        self.remote_of
            .get(key)
            .and_then(|id| self.primary_of.get(id))
            .map_or(key, |primary| primary.key.as_str())
    }

    /// The owner value of a remote license: the key of the desired customer matched to its
    /// customer; else that customer's own key, unless a desired customer (being created) has
    /// the same key, which would make two different customers compare equal; else the id.
    pub(super) fn current_owner(&self, customer_id: Uuid) -> Cow<'a, str> {
        if let Some(primary) = self.primary_of.get(&customer_id) {
            return Cow::Borrowed(&primary.key);
        }
        match self.current_by_id.get(&customer_id) {
            Some(found) if !self.desired_by_key.contains_key(found.key().as_str()) => {
                Cow::Owned(found.key())
            }
            _ => Cow::Owned(customer_id.to_string()),
        }
    }

    /// Whether the desired customer `key` is the one planned for its remote customer (or has
    /// none): of two manifest entries for one SLASCONE customer, only the first is planned.
    pub(crate) fn is_primary(&self, key: &str) -> bool {
        match self.remote_of.get(key) {
            None => true,
            Some(id) => self.primary_of.get(id).is_some_and(|p| p.key == key),
        }
    }

    /// The customer_number of a desired customer, from the manifest or else from SLASCONE.
    pub(crate) fn number_of(&self, key: &str) -> Option<&'a str> {
        let wanted = self.desired_by_key.get(key)?;
        nonempty(wanted.customer_number.as_deref()).or_else(|| {
            let id = self.remote_of.get(key)?;
            nonempty(self.current_by_id.get(id)?.customer_number.as_deref())
        })
    }
}

/// A create sets every field it has, ignored ones included: `ignore_changes` only stops later
/// reconciliation.
pub(super) fn creation_fields(fields: &Fields) -> Vec<FieldChange> {
    fields
        .iter()
        .filter(|(_, after)| !after.is_null())
        .map(|(path, after)| FieldChange {
            path: path.to_owned(),
            before: Value::Null,
            after: after.clone(),
            source: None,
        })
        .collect()
}

/// The desired paths whose value differs from the current one; an absent current field is null.
pub(super) fn update_fields(
    desired: &Fields,
    current: &Fields,
    ignore: &[&str],
) -> Vec<FieldChange> {
    desired
        .paired_with(current)
        .filter(|(path, _, _)| !is_ignored(path, ignore))
        .filter_map(|(path, after, before)| {
            let before = before.unwrap_or(&Value::Null);
            (before != after).then(|| FieldChange {
                path: path.to_owned(),
                before: before.clone(),
                after: after.clone(),
                source: None,
            })
        })
        .collect()
}

/// An ignored path covers itself and every path below it: `features` covers `features.Export`.
pub(crate) fn is_ignored<S: AsRef<str>>(path: &str, ignore: &[S]) -> bool {
    ignore.iter().any(|ignored| {
        path.strip_prefix(ignored.as_ref())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// The portal pages of a customer: its analytics and its licenses.
pub(super) fn portal_links(portal_url: &str, customer_number: Option<&str>) -> Vec<String> {
    let base = portal_url.trim_end_matches('/');
    match customer_number {
        Some(number) if !base.is_empty() => {
            let number = encode_query_value(number);
            vec![
                format!("{base}/customeranalytics?customernumber={number}"),
                format!("{base}/licenses?customernumber={number}"),
            ]
        }
        _ => Vec::new(),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

pub(super) fn nonempty(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.is_empty())
}
