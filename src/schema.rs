//! The JSON Schemas slascone-sync publishes (`slascone-sync schema`, `schema/*.json`): for
//! manifest files, the project file, the plan JSON and `ingest`'s mapping file.

use crate::{manifest, render};

/// Which file a JSON Schema describes (`slascone-sync schema --kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaKind {
    /// Manifest files (customers and their licenses).
    #[default]
    Manifest,
    /// The project file, slascone.yaml.
    Project,
    /// The plan JSON of `plan --format json` and `plan --out`.
    Plan,
    /// The mapping file of `ingest`.
    Mapping,
}

/// The JSON Schema of one kind of file.
pub fn schema(kind: SchemaKind) -> serde_json::Value {
    match kind {
        SchemaKind::Manifest => manifest::schema::manifest_schema(),
        SchemaKind::Project => manifest::schema::project_schema(),
        SchemaKind::Plan => render::plan_json::schema(),
        SchemaKind::Mapping => manifest::schema::mapping_schema(),
    }
}
