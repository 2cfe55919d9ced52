//! The commands: the only place that sees clap's arguments, exit outcomes, stdout and stderr.
//! Each subcommand lives in a module of its own; this one holds what they share.

// The one place, with run.rs and main.rs, that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
pub mod completions;
pub mod export;
pub mod import_csv;
mod pipeline;
pub mod plan;
mod progress;
pub mod pull;
pub mod sandbox;
pub mod schema;
mod session;
pub mod validate;

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use crate::cli::GlobalArgs;
use crate::manifest::{self, Manifests, Problems};
use crate::render::count;

pub use session::{SANDBOX_STATE_FILE, SANDBOX_TARGET, Session};

/// Loads the manifests, printing every problem; `None` when there were problems.
pub fn load_manifests(dir: &Path, global: &GlobalArgs) -> Option<Manifests> {
    let started = Instant::now();
    match manifest::load(dir, global.env.as_deref()) {
        Ok(manifests) => {
            let licenses = count(manifests.license_count(), "license", "licenses");
            let licenses = match manifests.contact_count() {
                0 => format!(" and {licenses}"),
                n => format!(", {licenses} and {}", count(n, "contact", "contacts")),
            };
            progress(&format!(
                "Loaded {}{licenses} from {} ({:.1?}).",
                count(manifests.customers.len(), "customer", "customers"),
                count(manifests.files, "manifest file", "manifest files"),
                started.elapsed()
            ));
            Some(manifests)
        }
        Err(mut problems) => {
            if let Some(key) = manifest::admin_key_from_env(dir, global.env.as_deref()) {
                problems.redact(&key);
            }
            print_problems(&problems);
            None
        }
    }
}

pub fn print_problems(problems: &Problems) {
    eprintln!("{problems}");
    let count = problems.0.len();
    eprintln!(
        "error: {count} problem{} found",
        if count == 1 { "" } else { "s" }
    );
}

/// A progress line on stderr: data goes to stdout, progress never does.
pub fn progress(line: &str) {
    eprintln!("{line}");
}

/// Whether stdout gets colour: a terminal, no `--no-color`, no `NO_COLOR`.
pub fn use_color(global: &GlobalArgs) -> bool {
    !global.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}
