//! `slascone-sync schema`: the JSON Schema of manifest files, the project file or the plan.

use crate::cli::SchemaArgs;
use crate::exit::Outcome;
use crate::schema;

pub fn run(args: &SchemaArgs) -> anyhow::Result<Outcome> {
    let schema = schema::schema(args.kind);
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Outcome::Success)
}
