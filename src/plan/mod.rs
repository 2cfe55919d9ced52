//! The plan: what `apply` would do, as plain, serialisable data (DESIGN.md §3).
//!
//! A plan is the single source of truth for review and for `apply --plan`: the text and markdown
//! renderings are views of it, and its JSON form (`plan --format json`) is a versioned contract
//! described by `schema/plan.schema.json`. Nothing here does I/O; [`diff::diff`] builds a plan
//! from a desired and a current state.

pub mod diff;
pub mod simulate;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Kind, Origin};

pub use diff::{DiffContext, diff};
pub use simulate::apply_changes;

/// The version of the plan JSON; bumped on any incompatible change of its shape.
pub const FORMAT_VERSION: u32 = 1;

/// Every change that would make SLASCONE match the manifests, plus what was left alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always 1 for this shape of plan.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// The SLASCONE account the plan was made against; `apply --plan` refuses another one.
    pub target: Target,
    pub summary: Summary,
    /// Sorted: customers before licenses, then by key. Executed in this order, except that
    /// independent changes may run in parallel.
    pub changes: Vec<Change>,
    /// Remote objects no manifest mentions: listed, never changed. Sorted by kind, then key.
    pub unmanaged: Vec<Unmanaged>,
    /// Things a reviewer should know that do not stop the plan (e.g. two manifest entries that
    /// are the same SLASCONE object).
    pub warnings: Vec<String>,
}

/// The SLASCONE account a plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub api_url: String,
    pub isv_id: Uuid,
}

/// Object counts. `create` and `update` count the changes; `unchanged` counts managed objects
/// that already match; `unmanaged` counts remote objects left alone.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub unmanaged: usize,
}

/// What a change does to its object. There is no delete: unmanaged objects are left alone.
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
pub enum Action {
    /// The object does not exist in SLASCONE: POST.
    Create,
    /// The object exists and some managed field differs: PATCH.
    Update,
}

impl Action {
    /// The terraform-style marker: `+` for create, `~` for update.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
        }
    }
}

/// One POST or PATCH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub kind: Kind,
    /// The object's key: a customer's number (else its id), a license's
    /// `<product>/<legacy_license_key>` (else `<product>/<id>`).
    pub key: String,
    pub action: Action,
    /// The remote id for an update; for a create, the id the manifest gives, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// A customer's number, which a create sends and apply looks the customer up by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    /// A license's product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// A license's legacy key, which a create sends and apply looks the license up by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_license_key: Option<String>,
    /// A license whose manifest lists no features, limitations, variables or constrained
    /// variables: it is written without them, so SLASCONE applies its edition's configuration.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edition_based: bool,
    pub request: Request,
    /// Field paths in order. A create lists every field it sets (`before` null); an update
    /// lists only the fields that differ.
    pub fields: Vec<FieldChange>,
    /// Deep links into the SLASCONE portal for the customer concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// Identifies the remote object as read (updates only); `apply --plan` refuses to patch an
    /// object whose fingerprint has changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The key of the customer this license belongs to, when that customer is created by this
    /// plan: it must be created first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
    /// Where the object is written in the manifests, as `file:line:column`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "origin_string"
    )]
    #[schemars(with = "Option<String>")]
    pub origin: Option<Origin>,
}

/// The HTTP request that carries a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// `POST` or `PATCH`.
    #[schemars(extend("enum" = ["POST", "PATCH"]))]
    pub method: String,
    /// The full path, `/api/v2/isv/<isv_id>/...`.
    pub path: String,
}

/// One field's value before and after the change; `null` means absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    /// The field path, e.g. `company_name`, `features.Export`, `limitations.Users`.
    pub path: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// Where the value comes from when the manifest does not write it: `edition` for what the
    /// license's edition gives it. Absent for fields the manifest writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// Where a field's value comes from, when not from the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The license's edition: SLASCONE applies it; the manifest does not write the field.
    Edition,
}

/// A remote object no manifest mentions.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Unmanaged {
    pub kind: Kind,
    pub key: String,
}

impl Plan {
    /// True when applying the plan would send nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The number of requests `apply` would send.
    pub fn change_count(&self) -> usize {
        self.changes.len()
    }
}

impl Change {
    /// True for a customer written through `/data_exchange/customers`, i.e. keyed by its
    /// customer_number rather than its id.
    pub fn by_customer_number(&self) -> bool {
        self.request.path.contains("/data_exchange/")
    }

    /// The request path without the `/api/v2/isv/<isv_id>` prefix every path shares, for
    /// display: `/data_exchange/customers`, `/licenses`.
    pub fn short_path(&self) -> &str {
        let path = self.request.path.as_str();
        path.strip_prefix("/api/v2/isv/")
            .and_then(|rest| rest.find('/').map(|slash| &rest[slash..]))
            .unwrap_or(path)
    }
}

/// The JSON Schema of the plan JSON, as committed in `schema/plan.schema.json`.
pub fn plan_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Plan))
        .expect("a JSON Schema is always representable as a JSON value")
}

/// `Origin` as one `file:line:column` string: what editors and terminals recognise as a
/// clickable location.
mod origin_string {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        origin: &Option<Origin>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match origin {
            Some(origin) => serializer.collect_str(origin),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Origin>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        parse(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("not a file:line:column: {text}")))
    }

    /// Splits from the right, so a file name holding `:` (a Windows drive) survives.
    fn parse(text: &str) -> Option<Origin> {
        let mut parts = text.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = Arc::from(Path::new(parts.next()?));
        Some(Origin { file, line, column })
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod proptests;
