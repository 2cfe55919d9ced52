//! The commands: the only place that sees clap's arguments, exit outcomes, stdout and stderr.
//! Each subcommand lives in a module of its own; this one holds what they share.

// The one place, with run.rs and main.rs, that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// `eprintln!` through the output boundary ([`crate::text::terminal`]): what a command says on
/// stderr holds names, messages and file names from SLASCONE and the manifests.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::text::terminal(&format!($($arg)*), false))
    };
}

/// `println!` through the output boundary.
macro_rules! say_out {
    ($($arg:tt)*) => {
        println!("{}", $crate::text::terminal(&format!($($arg)*), false))
    };
}

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

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use crate::cli::GlobalArgs;
use crate::manifest::{self, Manifests, Problems};
use crate::render::Format;

pub use session::{SANDBOX_STATE_FILE, SANDBOX_TARGET, Session};

/// Loads the manifests, printing every problem; `None` when there were problems.
pub fn load_manifests(dir: &Path, global: &GlobalArgs) -> Option<Manifests> {
    let started = Instant::now();
    match manifest::load(dir, global.env.as_deref()) {
        Ok(manifests) => {
            let licenses = match manifests.contact_count() {
                0 => format!(" and {} licenses", manifests.license_count()),
                n => format!(", {} licenses and {n} contacts", manifests.license_count()),
            };
            progress(&format!(
                "Loaded {} customers{licenses} from {} manifest file{} ({:.1?}).",
                manifests.customers.len(),
                manifests.files,
                if manifests.files == 1 { "" } else { "s" },
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
    say!("{problems}");
    let count = problems.0.len();
    say!(
        "error: {count} problem{} found",
        if count == 1 { "" } else { "s" }
    );
}

/// Writes a rendering to `out`: JSON exactly as rendered (its strings escape every control
/// character), text and markdown through the output boundary.
pub fn write_rendering(
    out: impl Write,
    format: Format,
    colour: bool,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if format == Format::Json {
        let mut out = out;
        render(&mut out)?;
        return out.flush();
    }
    let mut guard = crate::text::Guard::new(out, colour);
    render(&mut guard)?;
    guard.flush()
}

/// A progress line on stderr: data goes to stdout, progress never does.
pub fn progress(line: &str) {
    // One line, whatever the names in it (an `api_url` from the project file) hold.
    say!("{}", crate::text::shown(line));
}

/// Whether stdout gets colour: a terminal, no `--no-color`, no `NO_COLOR`.
pub fn use_color(global: &GlobalArgs) -> bool {
    !global.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}
