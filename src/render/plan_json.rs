//! The plan JSON, both ways: what `plan --format json` and `plan --out` write and `apply --plan`
//! reads. Pretty-printed, with a trailing newline, byte-stable because the plan is sorted and
//! every map in it is ordered; its shape is `schema/plan.schema.json`, generated from the types
//! here. A change's `request` (method and path) is derived from its typed identity by
//! [`crate::remote::endpoint`].

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Kind, Origin};
use crate::plan::{
    Action, Change, FieldChange, Identity, Plan, Risk, Summary, Target, Unmanaged, Warning,
};
use crate::remote::endpoint;

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    crate::text::write_json(out, plan)?;
    out.write_all(b"\n")
}

/// The JSON Schema of the plan JSON, as committed in `schema/plan.schema.json`.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PlanJson))
        .expect("a JSON Schema is always representable as a JSON value")
}

/// Every change that would make SLASCONE match the manifests, plus what was left alone.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Plan")]
struct PlanJson {
    /// Always 2 for this shape of plan. `apply --plan` also reads version 1, whose warnings are
    /// strings.
    #[schemars(extend("const" = 2))]
    format_version: u32,
    /// The SLASCONE account the plan was made against; `apply --plan` refuses another one.
    target: Target,
    summary: Summary,
    /// Sorted: customers, then licenses, then contacts, each by key. Executed in this order,
    /// except that independent changes may run in parallel.
    changes: Vec<ChangeJson>,
    /// Remote objects no manifest mentions: listed, never changed. Sorted by kind, then key.
    unmanaged: Vec<Unmanaged>,
    /// Things a reviewer should know that do not stop the plan (e.g. two manifest entries that
    /// are the same SLASCONE object, a license about to expire), sorted by message.
    warnings: Vec<Warning>,
}

/// One POST or PATCH.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Change")]
struct ChangeJson {
    kind: Kind,
    /// The object's key: a customer's number (else its id), a license's
    /// `<product>/<legacy_license_key>` (else `<product>/<id>`).
    key: String,
    action: Action,
    /// The remote id for an update; for a create, the id the manifest gives, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Uuid>,
    /// A customer's number, which a create sends and apply looks the customer up by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_number: Option<String>,
    /// A license's product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product: Option<String>,
    /// A license's legacy key, which a create sends and apply looks the license up by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    legacy_license_key: Option<String>,
    /// A contact's e-mail address, which names it within its customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// A license whose manifest lists no features, limitations, variables or constrained
    /// variables: it is written without them, so SLASCONE applies its edition's configuration.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    edition_based: bool,
    request: Request,
    /// How much harm the change can do to a customer relying on the license. `apply --plan`
    /// grades a saved change again rather than trusting this.
    #[serde(default)]
    risk: Risk,
    /// Why it is graded so, highest first; absent for a low-risk change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    risk_reasons: Vec<String>,
    /// Field paths in order. A create lists every field it sets (`before` null); an update
    /// lists only the fields that differ.
    fields: Vec<FieldChange>,
    /// Deep links into the SLASCONE portal for the customer concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    links: Vec<String>,
    /// Identifies the remote object as read (updates only); `apply --plan` refuses to patch an
    /// object whose fingerprint has changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    /// The key of the customer this license belongs to, when that customer is created by this
    /// plan: it must be created first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    depends_on: Option<String>,
    /// Where the object is written in the manifests, as `file:line:column`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "origin_string"
    )]
    #[schemars(with = "Option<String>")]
    origin: Option<Origin>,
}

/// The HTTP request that carries a change.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct Request {
    /// `POST` or `PATCH`; `PUT` for a contact added or updated by customer number.
    #[schemars(extend("enum" = ["POST", "PATCH", "PUT"]))]
    method: String,
    /// The full path, `/api/v2/isv/<isv_id>/...`.
    path: String,
}

impl ChangeJson {
    fn of(change: &Change, isv: Uuid) -> ChangeJson {
        let identity = &change.identity;
        ChangeJson {
            kind: change.kind(),
            key: change.key.clone(),
            action: change.action,
            id: identity.id(),
            customer_number: identity.customer_number().map(str::to_owned),
            product: identity.product().map(str::to_owned),
            legacy_license_key: identity.legacy_license_key().map(str::to_owned),
            email: identity.email().map(str::to_owned),
            edition_based: identity.edition_based(),
            request: Request {
                method: endpoint::method(identity.endpoint(), change.action).to_owned(),
                path: endpoint::path(isv, identity.endpoint()),
            },
            risk: change.risk,
            risk_reasons: change.risk_reasons.clone(),
            fields: change.fields.clone(),
            links: change.links.clone(),
            fingerprint: change.fingerprint.clone(),
            depends_on: change.depends_on.clone(),
            origin: change.origin.clone(),
        }
    }

    fn into_change(self, isv: Uuid) -> Result<Change, String> {
        let endpoint = endpoint::endpoint_of(isv, &self.request.path).ok_or_else(|| {
            format!(
                "change {}: `{}` is not a path of ISV {isv}",
                self.key, self.request.path
            )
        })?;
        if self.request.method != endpoint::method(endpoint, self.action) {
            return Err(format!(
                "change {}: {} does not carry a {}",
                self.key,
                self.request.method,
                self.action.as_str()
            ));
        }
        let identity = match (self.kind, endpoint) {
            (Kind::Customer, crate::plan::Endpoint::Customers) => Identity::CustomerById {
                id: self.id.ok_or_else(|| {
                    format!("change {}: a customer written by id has no id", self.key)
                })?,
                customer_number: self.customer_number,
            },
            (Kind::Customer, crate::plan::Endpoint::DataExchangeCustomers) => {
                Identity::CustomerByNumber {
                    customer_number: self.customer_number.unwrap_or_else(|| self.key.clone()),
                    id: self.id,
                }
            }
            (Kind::License, crate::plan::Endpoint::Licenses) => Identity::License {
                id: self.id,
                product: self
                    .product
                    .ok_or_else(|| format!("change {}: a license has no product", self.key))?,
                legacy_license_key: self.legacy_license_key,
                edition_based: self.edition_based,
            },
            (Kind::Contact, crate::plan::Endpoint::CustomerContacts { customer_id }) => {
                Identity::ContactById {
                    customer_id,
                    email: self.email.ok_or_else(|| no_email(&self.key))?,
                    id: self.id,
                }
            }
            (Kind::Contact, crate::plan::Endpoint::DataExchangeContacts) => {
                Identity::ContactByNumber {
                    customer_number: self.customer_number.ok_or_else(|| {
                        format!(
                            "change {}: a contact by number has no customer_number",
                            self.key
                        )
                    })?,
                    email: self.email.ok_or_else(|| no_email(&self.key))?,
                    id: self.id,
                }
            }
            (kind, _) => {
                return Err(format!(
                    "change {}: a {kind} is not written to {}",
                    self.key, self.request.path
                ));
            }
        };
        Ok(Change {
            key: self.key,
            action: self.action,
            identity,
            fields: self.fields,
            links: self.links,
            fingerprint: self.fingerprint,
            depends_on: self.depends_on,
            origin: self.origin,
            risk: self.risk,
            risk_reasons: self.risk_reasons,
        })
    }
}

fn no_email(key: &str) -> String {
    format!("change {key}: a contact has no email")
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let isv = self.target.isv_id;
        PlanJson {
            format_version: self.format_version,
            target: self.target.clone(),
            summary: self.summary,
            changes: self
                .changes
                .iter()
                .map(|change| ChangeJson::of(change, isv))
                .collect(),
            unmanaged: self.unmanaged.clone(),
            warnings: self.warnings.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Plan {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Plan, D::Error> {
        let mut value = serde_json::Value::deserialize(deserializer)?;
        if value.get("format_version") == Some(&serde_json::json!(1)) {
            from_version_1(&mut value);
        }
        let json = PlanJson::deserialize(value).map_err(serde::de::Error::custom)?;
        let isv = json.target.isv_id;
        let changes = json
            .changes
            .into_iter()
            .map(|change| change.into_change(isv))
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)?;
        Ok(Plan {
            format_version: json.format_version,
            target: json.target,
            summary: json.summary,
            changes,
            unmanaged: json.unmanaged,
            warnings: json.warnings,
        })
    }
}

/// A version 1 plan in version 2's shape: its warnings were strings, of no recorded kind.
fn from_version_1(plan: &mut serde_json::Value) {
    if let Some(warnings) = plan.get_mut("warnings").and_then(|w| w.as_array_mut()) {
        for warning in warnings.iter_mut() {
            if let Some(message) = warning.as_str() {
                *warning = serde_json::json!({ "kind": "unclassified", "message": message });
            }
        }
    }
}

/// `Origin` as one `file:line:column` string: what editors and terminals recognise as a
/// clickable location.
pub(crate) mod origin_string {
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
