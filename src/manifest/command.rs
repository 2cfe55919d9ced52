//! The `validate` and `schema` commands.

use crate::cli::{GlobalArgs, SchemaArgs, ValidateArgs};
use crate::exit::Outcome;

/// Validates a manifest directory offline. Prints one summary line on success, and otherwise
/// exactly the problem list (to stderr) and ends with exit code 1.
pub fn validate(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    match super::load(&args.dir, global.env.as_deref()) {
        Ok(manifests) => {
            println!(
                "ok: {} customers, {} licenses in {} files",
                manifests.customers.len(),
                manifests.license_count(),
                manifests.files
            );
            Ok(Outcome::Success)
        }
        Err(problems) => {
            eprintln!("{problems}");
            Ok(Outcome::Error)
        }
    }
}

/// Prints the JSON Schema of the manifest or project files.
pub fn schema(args: &SchemaArgs) -> anyhow::Result<Outcome> {
    let schema = super::raw::schema(args.kind);
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(Outcome::Success)
}
