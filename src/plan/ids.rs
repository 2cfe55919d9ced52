//! `ids`: which SLASCONE object each managed license and customer is, matched exactly as the
//! diff matches them, so that an ERP can store SLASCONE's ids beside its own numbers.

use serde::Serialize;
use uuid::Uuid;

use super::diff::LicenseMatching;
use super::parts::{CustomerMatching, nonempty, portal_links};
use crate::model::{CurrentState, DesiredState};

/// The output formats of `ids --format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdsFormat {
    #[default]
    Csv,
    Json,
}

/// One managed license (or a managed customer without licenses) and its SLASCONE ids. An id is
/// `None` for an object SLASCONE does not hold yet: `apply` would create it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ids {
    pub customer_number: Option<String>,
    pub customer_id: Option<Uuid>,
    /// `None` on the row of a customer without licenses.
    pub product: Option<String>,
    pub legacy_license_key: Option<String>,
    pub license_id: Option<Uuid>,
    /// The customer's portal pages: its analytics and its licenses (none without a number).
    pub customer_analytics_url: Option<String>,
    pub licenses_url: Option<String>,
}

/// Every managed license's ids, then a row for each managed customer without a license; sorted
/// by customer number, product and legacy key, so the output is the same on every run.
pub fn ids(desired: &DesiredState, current: &CurrentState, portal_url: &str) -> Vec<Ids> {
    let mut warnings = Vec::new();
    let customers = CustomerMatching::new(desired, current, &mut warnings);
    let licenses = LicenseMatching::new(desired, current, &mut warnings);
    let customer_row = |key: &str| {
        let wanted = customers.desired_by_key.get(key);
        let number = wanted
            .and_then(|c| nonempty(c.customer_number.as_deref()))
            .map(str::to_owned);
        let mut links = portal_links(portal_url, number.as_deref()).into_iter();
        Ids {
            customer_id: customers
                .remote_of
                .get(key)
                .copied()
                .or_else(|| wanted.and_then(|c| c.id)),
            customer_number: number,
            product: None,
            legacy_license_key: None,
            license_id: None,
            customer_analytics_url: links.next(),
            licenses_url: links.next(),
        }
    };
    let mut with_licenses = crate::hashing::HashSet::default();
    let mut rows: Vec<Ids> = licenses
        .planned
        .iter()
        .map(|&(wanted, found)| {
            let owner = wanted
                .fields
                .get(crate::model::fields::OWNER)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            with_licenses.insert(owner);
            Ids {
                product: Some(wanted.product.clone()),
                legacy_license_key: nonempty(wanted.legacy_license_key.as_deref())
                    .map(str::to_owned),
                license_id: found.map(|found| found.id).or(wanted.id),
                ..customer_row(owner)
            }
        })
        .collect();
    rows.extend(
        desired
            .customers
            .iter()
            .filter(|customer| !with_licenses.contains(customer.key.as_str()))
            .map(|customer| customer_row(&customer.key)),
    );
    rows.sort_by(|a, b| a.order().cmp(&b.order()));
    rows
}

/// The rows `ids` prints as CSV, header first.
pub const CSV_HEADER: [&str; 7] = [
    "customer_number",
    "customer_id",
    "product",
    "legacy_license_key",
    "license_id",
    "customer_analytics_url",
    "licenses_url",
];

impl Ids {
    /// The row's cells in [`CSV_HEADER`]'s order; an unknown value is an empty cell.
    pub fn cells(&self) -> [String; 7] {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let id = |value: Option<Uuid>| value.map(|id| id.to_string()).unwrap_or_default();
        [
            text(&self.customer_number),
            id(self.customer_id),
            text(&self.product),
            text(&self.legacy_license_key),
            id(self.license_id),
            text(&self.customer_analytics_url),
            text(&self.licenses_url),
        ]
    }

    /// What rows are sorted by.
    fn order(&self) -> impl Ord + '_ {
        (
            &self.customer_number,
            self.customer_id,
            &self.product,
            &self.legacy_license_key,
            self.license_id,
        )
    }

    /// SLASCONE does not hold this row's license (or customer) yet.
    pub fn is_pending(&self) -> bool {
        self.customer_id.is_none() || (self.product.is_some() && self.license_id.is_none())
    }
}
