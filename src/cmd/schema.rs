//! `slascone-sync schema`: the JSON Schema of manifest files, the project file or the plan.

use crate::cli::SchemaArgs;
use crate::exit::Outcome;
use crate::manifest;

pub fn run(args: &SchemaArgs) -> anyhow::Result<Outcome> {
    let schema = manifest::schema(args.kind);
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Outcome::Success)
}
