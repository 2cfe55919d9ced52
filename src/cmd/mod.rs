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

pub mod agent;
pub mod apply;
pub mod completions;
pub mod export;
pub mod ids;
pub mod import_csv;
pub mod ingest;
pub mod plan;
mod progress;
pub mod pull;
pub mod sandbox;
pub mod schema;
pub mod validate;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use uuid::Uuid;

use crate::cli::{GlobalArgs, ReadArgs};
use crate::engine::{self, Connection, Event, Events, Settings, Target};
use crate::exit::Hinted;
use crate::manifest::{self, Manifests, Problems, Project};
use crate::render::{Format, count};

pub use crate::engine::{SANDBOX_STATE_FILE, SANDBOX_TARGET};

/// The variable that sets the day `plan` takes as today (`YYYY-MM-DD`), for reproducible tests
/// and demos of the expiry radar.
pub const TODAY_VARIABLE: &str = "SLASCONE_SYNC_TODAY";

/// The engine's settings from the global flags, the read flags and the environment.
pub fn settings(global: &GlobalArgs, read: &ReadArgs) -> anyhow::Result<Settings> {
    let today = match std::env::var(TODAY_VARIABLE) {
        Ok(text) => Some(crate::dates::parse_date(text.trim()).ok_or_else(|| {
            anyhow::anyhow!("{TODAY_VARIABLE} must be a date like 2026-11-28, not `{text}`")
        })?),
        Err(_) => None,
    };
    Ok(Settings {
        parallelism: usize::from(read.parallelism),
        page_size: i64::from(read.page_size),
        timeout: std::time::Duration::from_secs(global.timeout),
        log_requests: global.verbose,
        today,
    })
}

/// The tenant the global flags and the project name: the embedded sandbox with `--sandbox`,
/// otherwise the API at `--api-url` or `api_url`, with the key from the variable that
/// `admin_key_env` names.
pub fn target(global: &GlobalArgs, project: &Project) -> anyhow::Result<Target> {
    if global.sandbox {
        return Target::sandbox_of(project, global.isv_id);
    }
    let url = global
        .api_url
        .clone()
        .unwrap_or_else(|| project.api_url.clone());
    let isv_id: Uuid = global.isv_id.or(project.isv_id).with_context(|| {
        format!(
            "no isv_id: set `isv_id` in {} or pass --isv-id",
            project.file.display()
        )
    })?;
    let key = match std::env::var(&project.admin_key_env) {
        Ok(key) if !key.trim().is_empty() => key.trim().to_owned(),
        _ => {
            let message = format!(
                "the environment variable {} is not set; it must hold the SLASCONE AdminKey (admin_key_env in {})",
                project.admin_key_env,
                project.file.display(),
            );
            match sandbox_hint(global, project) {
                Some(hint) => {
                    return Err(Hinted {
                        message,
                        hint: hint.to_owned(),
                    }
                    .into());
                }
                None => bail!(message),
            }
        }
    };
    Ok(Target::Api {
        url,
        isv_id,
        admin_key: engine::AdminKey::new(key),
    })
}

/// For a project that names no tenant of its own, or that seeds a sandbox, where a missing key
/// most likely means a forgotten `--sandbox`.
fn sandbox_hint(global: &GlobalArgs, project: &Project) -> Option<&'static str> {
    let names_no_tenant = global.api_url.is_none() && project.api_url == manifest::DEFAULT_API_URL;
    match (project.sandbox_catalog.is_some(), names_no_tenant) {
        (true, _) => Some(
            "to try it without a SLASCONE tenant, pass --sandbox: this project's sandbox.catalog seeds an embedded sandbox",
        ),
        (false, true) => Some(
            "to try it without a SLASCONE tenant, pass --sandbox after adding `sandbox: { catalog: FILE }` to slascone.yaml (see docs/sandbox.md)",
        ),
        (false, false) => None,
    }
}

/// Connects to the tenant the flags and the project name.
pub async fn connect(
    global: &GlobalArgs,
    project: &Project,
    read: &ReadArgs,
    events: &Events,
) -> anyhow::Result<Connection> {
    let target = target(global, project)?;
    Connection::open(target, project, &settings(global, read)?, events).await
}

/// The engine's events as progress lines on stderr (apply's writes go to a `progress::Progress`
/// instead).
pub fn progress_events() -> Events {
    Arc::new(|event: &Event<'_>| {
        if let Some(line) = progress_line(event) {
            progress(&line);
        }
    })
}

/// The line an event shows on stderr, if it shows one.
fn progress_line(event: &Event<'_>) -> Option<String> {
    Some(match event {
        Event::Loaded {
            customers,
            licenses,
            contacts,
            files,
            elapsed,
        } => {
            let licenses = count(*licenses, "license", "licenses");
            let licenses = match contacts {
                0 => format!(" and {licenses}"),
                n => format!(", {licenses} and {}", count(*n, "contact", "contacts")),
            };
            format!(
                "Loaded {}{licenses} from {} ({elapsed:.1?}).",
                count(*customers, "customer", "customers"),
                count(*files, "manifest file", "manifest files"),
            )
        }
        Event::Reading { target, products } => format!(
            "Reading SLASCONE ({target}, {})...",
            count(*products, "product", "products")
        ),
        Event::Read {
            customers,
            licenses,
            contacts,
            requests,
            elapsed,
        } => {
            let contacts = match contacts {
                (_, 0) => String::new(),
                (read, of) => format!(
                    ", {} of {}",
                    count(*read, "contact", "contacts"),
                    count(*of, "customer", "customers")
                ),
            };
            format!(
                "Read {} and {}{contacts} in {} ({elapsed:.1?}).",
                count(*customers, "customer", "customers"),
                count(*licenses, "license", "licenses"),
                count(*requests, "request", "requests"),
            )
        }
        Event::Compared { elapsed } => format!("Compared them with the manifests ({elapsed:.1?})."),
        Event::Applying { changes } => {
            format!("Applying {}...", count(*changes, "change", "changes"))
        }
        Event::Sent { requests } => format!("Sent {}.", count(*requests, "request", "requests")),
        Event::Request(line) => (*line).to_owned(),
        Event::Retry(line) => format!("retrying: {line}"),
        Event::Sandbox(line) => format!("sandbox: {line}"),
        Event::Applied(_) => return None,
    })
}

/// Loads the manifests, printing every problem; `None` when there were problems.
pub fn load_manifests(dir: &Path, global: &GlobalArgs, events: &Events) -> Option<Manifests> {
    match engine::load(dir, global.env.as_deref(), events) {
        Ok(manifests) => Some(manifests),
        Err(problems) => {
            print_manifest_problems(dir, global, problems);
            None
        }
    }
}

/// Connects and plans `dir` for `plan` and `apply`, reading what SLASCONE holds whatever the
/// manifests say while they load ([`engine::load_and_plan`]): the project file alone is enough
/// to connect. When it has a problem, or connecting fails, the manifests are loaded first, as
/// before any connection, so that their problems are reported ahead of a connection's error.
/// `None` when the manifests have problems (printed); the connection is then closed.
pub async fn connect_and_load(
    global: &GlobalArgs,
    dir: &Path,
    read: &ReadArgs,
    keep: engine::Keep,
    events: &Events,
) -> anyhow::Result<Option<(Connection, Project, engine::Planning)>> {
    let env = global.env.as_deref();
    let connected = match manifest::project(dir, env) {
        Some(project) => Some((connect(global, &project, read, events).await, project)),
        None => None,
    };
    let usage = engine::UsageReads::Read;
    let (connection, project, planning) = match connected {
        Some((Ok(connection), project)) => {
            let planning = engine::load_and_plan(&connection, dir, env, keep, usage, events).await;
            (connection, project, planning)
        }
        connected => {
            let Some(manifests) = load_manifests(dir, global, events) else {
                return Ok(None);
            };
            let connection = match connected {
                Some((Err(err), _)) => return Err(err),
                _ => connect(global, &manifests.project, read, events).await?,
            };
            let project = manifests.project.clone();
            let planning = engine::plan(&connection, manifests, keep, usage, events).await;
            (connection, project, planning)
        }
    };
    match planning {
        Ok(planning) => Ok(Some((connection, project, planning))),
        Err(err) => {
            connection.close().await;
            Err(err)
        }
    }
}

/// Prints the problems of the manifests in `dir`, without the admin key they may quote.
pub fn print_manifest_problems(dir: &Path, global: &GlobalArgs, mut problems: Problems) {
    if let Some(key) = admin_key_from_env(dir, global) {
        problems.redact(&key);
    }
    print_problems(&problems);
}

/// The admin key from the environment variable the project file in `dir` names, if it is set.
/// Used to keep the key out of problem messages, which quote the values they complain about.
pub fn admin_key_from_env(dir: &Path, global: &GlobalArgs) -> Option<String> {
    let key = std::env::var(manifest::admin_key_env(dir, global.env.as_deref())).ok()?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_owned())
}

pub fn print_problems(problems: &Problems) {
    say!("{problems}");
    say!(
        "error: {} found",
        count(problems.0.len(), "problem", "problems")
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

/// Connects, plans `manifests` and closes the connection. `None` when the manifests' names do
/// not resolve or a create would be refused; the problems are printed.
async fn connect_and_plan(
    global: &GlobalArgs,
    manifests: Manifests,
    read: &ReadArgs,
    usage: engine::UsageReads,
) -> anyhow::Result<Option<engine::Planned>> {
    let events = progress_events();
    let connection = connect(global, &manifests.project, read, &events).await?;
    let planning = engine::plan(
        &connection,
        manifests,
        engine::Keep::Nothing,
        usage,
        &events,
    )
    .await;
    connection.close().await;
    match planning? {
        engine::Planning::Planned(planned) => Ok(Some(*planned)),
        engine::Planning::Problems(problems) => {
            print_problems(&problems);
            Ok(None)
        }
    }
}
