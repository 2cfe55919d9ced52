//! `slascone-sync validate`: every problem of every manifest file, offline.

use crate::cli::{GlobalArgs, ValidateArgs};
use crate::exit::Outcome;
use crate::manifest;
use crate::render::count;

/// Prints one summary line on success, and otherwise the problem list and the count line that
/// `plan` prints too (to stderr), and ends with exit code 1.
pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<Outcome> {
    match manifest::load(&args.dir, global.env.as_deref()) {
        Ok(manifests) => {
            // Offline, but with the key at hand (CI exports it) a key pasted into a file is
            // caught before it reaches a plan.
            if let Ok(key) = std::env::var(&manifests.project.admin_key_env) {
                let written = manifest::key_written_in_files(&manifests.project, key.trim());
                if !written.0.is_empty() {
                    say!("{written}");
                    return Ok(Outcome::Error);
                }
            }
            let contacts = match manifests.contact_count() {
                0 => String::new(),
                n => format!(", {}", count(n, "contact", "contacts")),
            };
            say_out!(
                "ok: {}, {}{contacts} in {}",
                count(manifests.customers.len(), "customer", "customers"),
                count(manifests.license_count(), "license", "licenses"),
                count(manifests.files, "file", "files")
            );
            Ok(Outcome::Success)
        }
        Err(mut problems) => {
            if let Some(key) = super::admin_key_from_env(&args.dir, global) {
                problems.redact(&key);
            }
            super::print_problems(&problems);
            Ok(Outcome::Error)
        }
    }
}
