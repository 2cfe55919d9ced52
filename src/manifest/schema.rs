//! The manifest and project file formats as plain serde types, the source of the JSON Schemas.
//!
//! Doc comments here are the descriptions editors show on hover and in completion lists, so they
//! are written for the people editing manifests. Loading does not go through these types (it
//! walks a positioned YAML tree to report every mistake at once); tests check that both agree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::model::fields::{CUSTOMER, Entity, IGNORE_CHANGES, LICENSE, Role, Type};

/// The JSON Schema of manifest files, from the field declarations (`model::fields`): the same
/// names, types and descriptions `validate` checks by.
pub fn manifest_schema() -> serde_json::Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "slascone-sync manifest",
        "description": "A slascone-sync manifest: customers and their licenses as they should be in SLASCONE. A file\nmay hold several YAML documents separated by `---`. Top-level keys starting with `x-` are\nignored, a place for YAML anchors.",
        "type": "object",
        "additionalProperties": false,
        "patternProperties": {
            "^x-": { "description": "Ignored; a place for YAML anchors to reuse with `<<: *name`." }
        },
        "properties": {
            "customers": {
                "description": "The customers this document manages. Customers not listed in any manifest are never changed.",
                "type": "array",
                "items": entity_schema(&CUSTOMER),
            }
        }
    })
}

fn entity_schema(entity: &Entity) -> serde_json::Value {
    let mut properties = serde_json::Map::new();
    for field in entity.fields.iter().filter(|f| f.role != Role::Implicit) {
        let mut schema = type_schema(field.ty);
        schema["description"] = json!(field.doc);
        properties.insert(field.name.to_owned(), schema);
    }
    for map in entity.maps {
        let mut schema = json!({
            "description": map.doc,
            "type": "object",
            "additionalProperties": type_schema(map.value),
        });
        if map.value == Type::Bool {
            // What serde's `#[serde(default)]` on a map of booleans always gave the schema.
            schema["default"] = json!({});
        }
        properties.insert(map.name.to_owned(), schema);
    }
    properties.insert(
        IGNORE_CHANGES.to_owned(),
        json!({
            "description": entity.ignore_doc,
            "type": "array",
            "items": ignore_path_schema(entity, ""),
        }),
    );
    for list in entity.lists {
        properties.insert(
            list.name.to_owned(),
            json!({ "description": list.doc, "type": "array", "items": entity_schema(list.entity) }),
        );
    }
    let mut schema = json!({
        "title": entity.title,
        "description": entity.doc,
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    });
    let required: Vec<&str> = entity
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The schema of a value of `ty`, without a description.
fn type_schema(ty: Type) -> serde_json::Value {
    match ty {
        Type::Text | Type::Name => json!({ "type": ["string", "number"] }),
        Type::Uuid => json!({ "type": "string", "format": "uuid" }),
        Type::Count => json!({ "type": "integer", "minimum": 0, "maximum": i32::MAX }),
        Type::Bool => json!({ "type": "boolean" }),
        Type::Date => json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }),
        Type::TextList => json!({
            "type": "array",
            "items": { "type": ["string", "number"] },
            "uniqueItems": true
        }),
        Type::Expires => json!({
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
        }),
    }
}

/// The field paths of `entity` that `ignore_changes` may name, with `prefix` (`license.` in the
/// project file): the fields, and one entry of a map (`variables.Region`).
fn ignore_path_schema(entity: &Entity, prefix: &str) -> serde_json::Value {
    let fixed: Vec<String> = entity
        .ignore_paths()
        .map(|path| format!("{prefix}{path}"))
        .collect();
    if entity.maps.is_empty() {
        return json!({ "type": "string", "enum": fixed });
    }
    let maps: Vec<&str> = entity.maps.iter().map(|map| map.name).collect();
    let pattern = format!("^{}({})\\..+$", prefix.replace('.', "\\."), maps.join("|"));
    json!({
        "anyOf": [
            { "type": "string", "enum": fixed },
            { "type": "string", "pattern": pattern }
        ]
    })
}

/// The JSON Schema of `ingest`'s mapping file, from the field declarations: the fields a column
/// may feed are the fields `validate` knows.
pub fn mapping_schema() -> serde_json::Value {
    use super::mapping::{DEFAULT_CUSTOMER_FILE, DEFAULT_DATE_FORMAT, OWNER_COLUMN};
    let customers = section_schema(
        &CUSTOMER,
        "The customers export: one row per customer.",
        &[],
    );
    let mut licenses = section_schema(
        &LICENSE,
        "The licenses export: one row per license, naming its customer by `customer_number`.",
        &[OWNER_COLUMN],
    );
    let mut customers = customers;
    customers["properties"]["file"] = json!({
        "description": format!("Where a new customer's manifest goes, relative to the manifest directory; `{{customer_number}}` is replaced by its number. Default: `{DEFAULT_CUSTOMER_FILE}`."),
        "type": "string",
        "pattern": "\\{customer_number\\}.*\\.ya?ml$"
    });
    licenses["properties"]["missing"] = json!({
        "description": "What a full export does to the licenses of the manifests it lacks: `report` names them (the default), `deactivate` also writes `active: false` on them. Nothing is ever deleted.",
        "enum": ["report", "deactivate"]
    });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "slascone-sync ingest mapping",
        "description": "How `slascone-sync ingest` reads an ERP or CRM export: which column feeds which manifest field, how cells are written, and the ERP codes of SLASCONE's names. Keep it outside the manifest directory.",
        "type": "object",
        "additionalProperties": false,
        "required": ["customers"],
        "properties": {
            "format": {
                "description": "How the export writes its cells.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "delimiter": { "description": "CSV: the column separator, one character (`,` `;` `|`) or `tab`. Default: `,`.", "type": "string" },
                    "encoding": { "description": "CSV: the text encoding, a WHATWG label such as `utf-8`, `windows-1252`, `latin1`, `utf-16le`. Default: UTF-8, or UTF-16 by the file's byte order mark.", "type": "string" },
                    "date": { "description": format!("How text cells write a date, in strftime directives, e.g. `%d.%m.%Y` or `%m/%d/%Y`. ISO dates and a spreadsheet's date cells are read whatever it says. Default: `{DEFAULT_DATE_FORMAT}`."), "type": "string" },
                    "empty": { "description": "Cell texts that mean \"no value\": the field is left as it is, as for a blank cell. E.g. `[\"#N/A\", \"-\"]`.", "type": "array", "items": { "type": "string" } }
                }
            },
            "customers": customers,
            "licenses": licenses,
        }
    })
}

/// A section of the mapping: the fields of `entity` a column, a code map or a default may feed.
fn section_schema(entity: &Entity, description: &str, extra: &[&str]) -> serde_json::Value {
    let fields: Vec<&crate::model::fields::Field> = entity
        .fields
        .iter()
        .filter(|f| f.role != Role::Implicit && f.ty != Type::TextList)
        .collect();
    let entries: Vec<&str> = entity
        .maps
        .iter()
        .filter(|m| m.value != Type::TextList)
        .map(|m| m.name)
        .collect();
    let entry_pattern = format!("^({})\\..+$", entries.join("|"));
    let mut columns = serde_json::Map::new();
    let mut values = serde_json::Map::new();
    let mut defaults = serde_json::Map::new();
    let code_map = json!({
        "type": "object",
        "additionalProperties": { "type": ["string", "number", "boolean"] }
    });
    for name in extra {
        columns.insert(
            (*name).to_owned(),
            json!({ "description": "The column naming the license's customer.", "type": "string" }),
        );
    }
    for field in &fields {
        columns.insert(
            field.name.to_owned(),
            json!({ "description": format!("The column feeding `{}`: {}", field.name, field.doc), "type": "string" }),
        );
        values.insert(field.name.to_owned(), code_map.clone());
        if field.role != Role::Identity {
            let mut schema = type_schema(field.ty);
            schema["description"] = json!(field.doc);
            defaults.insert(field.name.to_owned(), schema);
        }
    }
    let mut section = json!({
        "description": description,
        "type": "object",
        "additionalProperties": false,
        "required": ["columns"],
        "properties": {
            "columns": {
                "description": "Manifest field → the export's header. Only these fields are written; everything else a manifest says stays.",
                "type": "object",
                "additionalProperties": false,
                "properties": columns,
            },
            "values": {
                "description": "Per field, ERP code → the value in SLASCONE. For text fields the map is complete: a code it lacks is an error. For dates, counts and flags, codes it lacks are read as the type.",
                "type": "object",
                "additionalProperties": false,
                "properties": values,
            },
            "defaults": {
                "description": "What a new object gets for a field no column gives it. Objects already in the manifests are never given defaults.",
                "type": "object",
                "additionalProperties": false,
                "properties": defaults,
            },
            "sheet": { "description": "A workbook's sheet to read, by name. Default: the first.", "type": "string" },
        }
    });
    if !entries.is_empty() {
        let entry_column = json!({ "description": "The column feeding one entry of the map, e.g. `limitations.Users`.", "type": "string" });
        section["properties"]["columns"]["patternProperties"] =
            json!({ entry_pattern.clone(): entry_column });
        section["properties"]["values"]["patternProperties"] =
            json!({ entry_pattern.clone(): code_map });
        section["properties"]["defaults"]["patternProperties"] =
            json!({ entry_pattern: { "type": ["string", "number", "boolean"] } });
    }
    section
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
    /// What `plan` warns of.
    pub warnings: Option<Warnings>,
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
    /// `apply` refuses a plan holding a change graded above this unless given `--force`.
    /// Default: `high` (nothing is refused).
    pub max_risk: Option<crate::plan::Risk>,
}

/// What `plan` warns of.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warnings {
    /// Warn of managed licenses that are active and, as they will be after apply, expire within
    /// this many days, or have expired. Default: 30; 0 turns the warning off.
    #[schemars(range(max = 2147483647))]
    pub expiring_within_days: Option<u32>,
    /// The most licenses whose usage a plan reads behind the limits it lowers (one or two
    /// requests each), the riskiest first; the others say "usage not read". Default: 200; 0
    /// reads none.
    #[schemars(range(max = 2147483647))]
    pub max_usage_reads: Option<u32>,
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

/// A project-wide field path: `customer.<path>` or `license.<path>`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct ProjectPath(pub String);

impl JsonSchema for ProjectPath {
    fn schema_name() -> Cow<'static, str> {
        "ProjectPath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let customer = ignore_path_schema(&CUSTOMER, "customer.");
        let license = ignore_path_schema(&LICENSE, "license.");
        json_schema!({ "anyOf": [customer, license] })
    }
}
