//! The manifest and project file formats as plain serde types, the source of the JSON Schemas.
//!
//! Doc comments here are the descriptions editors show on hover and in completion lists, so they
//! are written for the people editing manifests. Loading does not go through these types (it
//! walks a positioned YAML tree to report every mistake at once); tests check that both agree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use uuid::Uuid;

use super::validate::{CUSTOMER_PATHS, LICENSE_PATH_MAPS, LICENSE_PATHS};

/// The JSON Schema of manifest files.
pub fn manifest_schema() -> serde_json::Value {
    root_schema::<ManifestDocument>()
}

/// The JSON Schema of the project file, slascone.yaml.
pub fn project_schema() -> serde_json::Value {
    root_schema::<ProjectFile>()
}

fn root_schema<T: JsonSchema>() -> serde_json::Value {
    // Draft 07 and no `$ref`s: what yaml-language-server and other editors handle best, and a
    // description beside a `$ref` would be ignored under draft 07.
    let generator = schemars::generate::SchemaSettings::draft07()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    strip_null(&mut value);
    value
}

/// Removes the `null` alternative schemars gives every `Option` field. Optional fields are left
/// out rather than written as `null` (the validator refuses `company_name: ~`), so editors should
/// flag a `null` as well.
fn strip_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|kind| kind != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|alternative| alternative.get("type") != Some(&"null".into()));
                if alternatives.len() == 1
                    && let Some(Value::Object(only)) = alternatives.pop()
                {
                    map.remove("anyOf");
                    for (key, inner) in only {
                        map.entry(key).or_insert(inner);
                    }
                }
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// A slascone-sync manifest: customers and their licenses as they should be in SLASCONE. A file
/// may hold several YAML documents separated by `---`. Top-level keys starting with `x-` are
/// ignored, a place for YAML anchors.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "slascone-sync manifest",
    extend("patternProperties" = { "^x-": { "description": "Ignored; a place for YAML anchors to reuse with `<<: *name`." } })
)]
pub struct ManifestDocument {
    /// The customers this document manages. Customers not listed in any manifest are never changed.
    #[serde(default)]
    pub customers: Vec<RawCustomer>,
}

/// A customer. Identity: `customer_number`, or `id`, or both. Only the fields written here are
/// managed; a field left out is never changed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Customer", rename = "Customer")]
pub struct RawCustomer {
    /// The customer's SLASCONE id (UUID). With an id, the customer is matched and written by id.
    pub id: Option<Uuid>,
    /// The customer number from your ERP/CRM. Without an `id`, the customer is matched by this
    /// number. Unique across all manifests.
    pub customer_number: Option<Text>,
    /// Company name.
    pub company_name: Option<Text>,
    /// The name of a customer type defined in SLASCONE, e.g. `Enterprise`.
    pub customer_type: Option<Text>,
    /// Country, e.g. `Germany`.
    pub country: Option<Text>,
    /// Contact e-mail address.
    pub email: Option<Text>,
    /// Street and number.
    pub street: Option<Text>,
    /// Postal code; leading zeros are kept.
    pub zip: Option<Text>,
    /// City.
    pub city: Option<Text>,
    /// Phone number.
    pub phone: Option<Text>,
    /// Prospect number from your CRM.
    pub prospect_number: Option<Text>,
    /// Fields of this customer never reconciled, e.g. `phone`.
    #[serde(default)]
    pub ignore_changes: Vec<CustomerPath>,
    /// The customer's licenses.
    #[serde(default)]
    pub licenses: Vec<RawLicense>,
}

/// A license of the enclosing customer. Identity: `id`, or (`product`, `legacy_license_key`), or
/// both. Without `features`, `limitations` and `variables` the license takes its edition's
/// configuration; entries listed there override the edition one by one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "License", rename = "License")]
pub struct RawLicense {
    /// The license's SLASCONE id (UUID). With an id, the license is matched by id.
    pub id: Option<Uuid>,
    /// Your own key for the license, e.g. a subscription number. Without an `id`, the license is
    /// matched by product and this key, which SLASCONE keeps unique per product.
    pub legacy_license_key: Option<Text>,
    /// The name of a product defined in SLASCONE.
    pub product: Text,
    /// The name of an edition (license template) of the product.
    pub edition: Text,
    /// The name of a license type defined in SLASCONE, e.g. `Commercial`.
    pub license_type: Option<Text>,
    /// Number of tokens (activations) allowed.
    pub token_limit: Option<Int32>,
    /// Extra tokens allowed beyond `token_limit` as goodwill.
    pub goodwill_token_limit: Option<Int32>,
    /// Number of floating tokens allowed.
    pub floating_token_limit: Option<Int32>,
    /// Number of named users allowed.
    pub user_limit: Option<Int32>,
    /// When the license expires: a date (`2027-12-31`: the end of that day in the project's
    /// `timezone`, compared by day), `never`, or
    /// `{ days_after_activation: 30 }`.
    pub expires: Option<RawExpires>,
    /// Whether the license is active.
    pub active: Option<bool>,
    /// Feature name → enabled. Overrides the edition's feature of that name.
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
    /// Limitation name → value. Overrides the edition's limitation of that name.
    #[serde(default)]
    pub limitations: BTreeMap<String, Int32>,
    /// Variable name → value. Overrides the edition's variable of that name.
    #[serde(default)]
    pub variables: BTreeMap<String, Text>,
    /// Fields of this license never reconciled, e.g. `variables.Region` or `features`.
    #[serde(default)]
    pub ignore_changes: Vec<LicensePath>,
}

/// `slascone.yaml`: where the manifests go and how slascone-sync behaves.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "slascone-sync project (slascone.yaml)")]
pub struct ProjectFile {
    /// SLASCONE API base URL. Default: `https://api365.slascone.com`.
    pub api_url: Option<String>,
    /// Your ISV id (UUID), as shown in the SLASCONE portal.
    pub isv_id: Option<Uuid>,
    /// SLASCONE portal URL, for links in plans. Default: `https://my.slascone.com`.
    pub portal_url: Option<String>,
    /// Name of the environment variable holding the admin key. Default: `SLASCONE_ADMIN_KEY`.
    /// The key itself is never written in a file.
    pub admin_key_env: Option<String>,
    /// Safety limits of `apply`.
    pub safety: Option<Safety>,
    /// Fields never reconciled for any customer or license: `customer.<path>` or
    /// `license.<path>`, e.g. `customer.phone`, `license.variables.Region`.
    #[serde(default)]
    pub ignore_changes: Vec<ProjectPath>,
    /// Named profiles picked with `--env NAME`; each overrides the top-level values it sets.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// Settings of the local sandbox (`--sandbox`).
    pub sandbox: Option<Sandbox>,
    /// The time zone calendar days are meant in (an IANA name such as `Europe/Berlin`). An
    /// `expires` date is sent as the last second of that day there, and a date SLASCONE holds is
    /// compared by its calendar day there. Default: `UTC`.
    pub timezone: Option<String>,
}

/// Safety limits of `apply`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// `apply` refuses plans with more changes than this unless given `--force`. Default: 200.
    pub max_changes: Option<u64>,
}

/// A profile picked with `--env NAME`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// SLASCONE API base URL in this environment.
    pub api_url: Option<String>,
    /// ISV id (UUID) in this environment.
    pub isv_id: Option<Uuid>,
    /// Name of the environment variable holding this environment's admin key.
    pub admin_key_env: Option<String>,
    /// SLASCONE portal URL in this environment.
    pub portal_url: Option<String>,
}

/// Settings of the local sandbox.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sandbox {
    /// Catalog file (YAML: customer types, license types, products with editions) that seeds the
    /// sandbox; relative to this file's directory. It is not read as a manifest.
    pub catalog: String,
}

/// Text; numbers are taken as written, so `customer_number: 1001` is the text `1001`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number"] })
    }
}

/// A whole number SLASCONE stores as a 32-bit integer: 0 to 2,147,483,647.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Int32(pub u32);

impl JsonSchema for Int32 {
    fn schema_name() -> Cow<'static, str> {
        "Int32".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0, "maximum": i32::MAX })
    }
}

/// `2027-12-31`, `never`, or `{ days_after_activation: 30 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawExpires {
    DaysAfterActivation {
        days_after_activation: u32,
    },
    /// A date or `never`.
    Text(String),
}

impl JsonSchema for RawExpires {
    fn schema_name() -> Cow<'static, str> {
        "Expires".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                {
                    "description": "Expires at the end of this day (YYYY-MM-DD) in the project's `timezone`.",
                    "type": "string",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
                },
                { "description": "Never expires.", "const": "never" },
                {
                    "type": "object",
                    "properties": {
                        "days_after_activation": {
                            "description": "Expires this many days after the license is activated.",
                            "type": "integer",
                            "minimum": 0,
                            "maximum": i32::MAX
                        }
                    },
                    "required": ["days_after_activation"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// A field path of a customer.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct CustomerPath(pub String);

impl JsonSchema for CustomerPath {
    fn schema_name() -> Cow<'static, str> {
        "CustomerPath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": CUSTOMER_PATHS })
    }
}

/// A field path of a license.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct LicensePath(pub String);

impl JsonSchema for LicensePath {
    fn schema_name() -> Cow<'static, str> {
        "LicensePath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        license_paths("")
    }
}

/// A project-wide field path: `customer.<path>` or `license.<path>`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct ProjectPath(pub String);

impl JsonSchema for ProjectPath {
    fn schema_name() -> Cow<'static, str> {
        "ProjectPath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let customer: Vec<String> = CUSTOMER_PATHS
            .iter()
            .map(|path| format!("customer.{path}"))
            .collect();
        let license = license_paths("license.");
        json_schema!({
            "anyOf": [ { "type": "string", "enum": customer }, license ]
        })
    }
}

/// The license paths with `prefix`: the fixed ones, and `features.<name>` and the like.
fn license_paths(prefix: &str) -> Schema {
    let fixed: Vec<String> = LICENSE_PATHS
        .iter()
        .map(|path| format!("{prefix}{path}"))
        .collect();
    let pattern = format!(
        "^{}({})\\..+$",
        prefix.replace('.', "\\."),
        LICENSE_PATH_MAPS.join("|")
    );
    json_schema!({
        "anyOf": [
            { "type": "string", "enum": fixed },
            { "type": "string", "pattern": pattern }
        ]
    })
}
