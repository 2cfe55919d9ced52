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
//! (bool), `limitations.<name>` (integer) and `variables.<name>` (string).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Field path → value. Ordered, so everything derived from it is deterministic.
pub type Fields = BTreeMap<String, serde_json::Value>;

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
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Customer => "customer",
            Kind::License => "license",
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
    /// and `expires` where it has them, and every `features.*`, `limitations.*`, `variables.*`
    /// entry. A license gets it (under its own `fields`) when created or when its edition changes.
    /// Shared by every license of the edition.
    pub edition_fields: Arc<Fields>,
    /// Field paths (relative, e.g. `variables.Region`) never reconciled for this license.
    pub ignore: Vec<String>,
    pub origin: Origin,
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
}

/// Everything read from SLASCONE: all customers, and the licenses of the products the manifests
/// use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CurrentState {
    pub customers: Vec<CurrentCustomer>,
    pub licenses: Vec<CurrentLicense>,
}
