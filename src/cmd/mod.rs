//! The commands that talk to SLASCONE (`plan`, `apply`): connecting to the target, reading it,
//! and turning manifests into a plan.

pub mod apply;
pub mod export;
pub mod plan;
mod progress;

use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use uuid::Uuid;

use crate::cli::{GlobalArgs, ReadArgs};
use crate::manifest::Problems;
use crate::manifest::{self, Manifests};
use crate::model::{CurrentState, DesiredState, Kind};
use crate::plan::{Action, DiffContext, Plan, Target};
use crate::remote::{AdminKey, Client, ClientConfig};
use crate::resolve;
use crate::sandbox::{self, SandboxConfig, SandboxHandle};
use crate::state::{self, Remote};

/// The `api_url` a plan records for the embedded sandbox: its port changes with every run, so a
/// plan saved with `--sandbox` names the sandbox rather than an address.
pub const SANDBOX_TARGET: &str = "sandbox";

/// The file the embedded sandbox keeps its state in, beside slascone.yaml.
pub const SANDBOX_STATE_FILE: &str = ".slascone-sandbox.json";

/// A connection to the SLASCONE tenant a command works on.
pub struct Session {
    pub client: Client,
    pub target: Target,
    /// Keeps the embedded sandbox running for as long as the session lives.
    sandbox: Option<SandboxHandle>,
}

impl Session {
    /// Connects to the tenant named by the project file and the global flags, or starts the
    /// embedded sandbox with `--sandbox`.
    pub async fn connect(
        global: &GlobalArgs,
        manifests: &Manifests,
        read: &ReadArgs,
    ) -> anyhow::Result<Session> {
        let project = &manifests.project;
        let (base_url, isv_id, admin_key, target_url, sandbox) = if global.sandbox {
            let catalog_path = project.sandbox_catalog.as_ref().with_context(|| {
                format!(
                    "--sandbox needs `sandbox: {{ catalog: FILE }}` in {}",
                    project.file.display()
                )
            })?;
            let catalog = sandbox::Catalog::load(&catalog_path.value).with_context(|| {
                format!("cannot load the sandbox catalog ({})", catalog_path.origin)
            })?;
            let isv_id = global.isv_id.or(project.isv_id).unwrap_or(Uuid::nil());
            let admin_key = Uuid::new_v4().to_string();
            let mut config = SandboxConfig::new(isv_id, admin_key.clone(), catalog);
            config.state_file = Some(project.dir.join(SANDBOX_STATE_FILE));
            let handle = sandbox::start(config, ([127, 0, 0, 1], 0).into()).await?;
            (
                handle.base_url(),
                isv_id,
                AdminKey::new(admin_key),
                SANDBOX_TARGET.to_string(),
                Some(handle),
            )
        } else {
            let base_url = global
                .api_url
                .clone()
                .unwrap_or_else(|| project.api_url.clone());
            let isv_id = global.isv_id.or(project.isv_id).with_context(|| {
                format!(
                    "no isv_id: set `isv_id` in {} or pass --isv-id",
                    project.file.display()
                )
            })?;
            let key = match std::env::var(&project.admin_key_env) {
                Ok(key) if !key.trim().is_empty() => key.trim().to_owned(),
                _ => bail!(
                    "the environment variable {} is not set; it must hold the SLASCONE AdminKey (admin_key_env in {})",
                    project.admin_key_env,
                    project.file.display()
                ),
            };
            let written = manifest::key_written_in_files(project, &key);
            if !written.0.is_empty() {
                return Err(anyhow::Error::new(written));
            }
            let admin_key = AdminKey::new(key);
            (base_url.clone(), isv_id, admin_key, base_url, None)
        };
        let mut config = ClientConfig::new(base_url, isv_id, admin_key);
        config.page_size = i64::from(read.page_size);
        config.max_in_flight = usize::from(read.parallelism);
        config.verbose = global.verbose;
        config.total_timeout = Duration::from_secs(global.timeout);
        config.request_timeout = config.request_timeout.min(config.total_timeout);
        let client = Client::new(config).map_err(anyhow::Error::msg)?;
        Ok(Session {
            client,
            target: Target {
                api_url: target_url,
                isv_id,
            },
            sandbox,
        })
    }

    /// Stops the embedded sandbox, if any, after its last write was persisted.
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}

/// Loads the manifests, printing every problem; `None` when there were problems.
pub fn load_manifests(dir: &Path, global: &GlobalArgs) -> Option<Manifests> {
    let started = Instant::now();
    match manifest::load(dir, global.env.as_deref()) {
        Ok(manifests) => {
            progress(&format!(
                "Loaded {} customers and {} licenses from {} manifest file{} ({:.1?}).",
                manifests.customers.len(),
                manifests.license_count(),
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
    eprintln!("{problems}");
    let count = problems.0.len();
    eprintln!(
        "error: {count} problem{} found",
        if count == 1 { "" } else { "s" }
    );
}

/// Everything plan computed, kept for apply.
pub struct Planned {
    /// Without its customers and licenses unless they were asked to be kept.
    pub remote: Remote,
    pub desired: DesiredState,
    /// Returned rather than freed here, so a caller about to exit can skip freeing it.
    pub current: CurrentState,
    pub plan: Plan,
}

/// Whether [`make_plan`] keeps the wire objects it read (apply writes them back whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    WireObjects,
    Nothing,
}

/// Reads SLASCONE, resolves the manifests' names and diffs. `Err(problems)` for names that do
/// not resolve or creates SLASCONE would refuse.
///
/// Names are resolved while the licenses are read, since resolving needs only the catalog. The
/// manifests are taken because resolving frees them: on a large repository the manifests, the
/// wire objects and the two states would not all fit in memory at once.
pub async fn make_plan(
    session: &Session,
    mut manifests: Manifests,
    read: &ReadArgs,
    keep: Keep,
) -> anyhow::Result<Result<Planned, Problems>> {
    let products = resolve::products_used(&manifests);
    let parallelism = usize::from(read.parallelism);
    let reading = Reading::start(session, &products);
    let (mut catalog, mut wire_customers) = state::fetch_catalog(
        &session.client,
        &products,
        parallelism,
        state::Scope::Everything,
    )
    .await?;
    catalog.zone = manifests.project.timezone.clone();
    let customers = std::mem::take(&mut manifests.customers);
    let resolving = {
        let catalog = catalog.clone();
        tokio::task::spawn_blocking(move || resolve::resolve_customers(customers, &catalog))
    };
    let client = &session.client;
    let started;
    let (current, wire_licenses) = match keep {
        Keep::WireObjects => {
            let wire_licenses =
                state::fetch_licenses(client, &catalog, &products, parallelism).await?;
            reading.done(wire_customers.len(), wire_licenses.len());
            started = Instant::now();
            let current = state::current_state_of(&catalog, &wire_customers, &wire_licenses);
            (current, wire_licenses)
        }
        Keep::Nothing => {
            let licenses =
                state::fetch_current_licenses(client, &catalog, &products, parallelism).await?;
            reading.done(wire_customers.len(), licenses.len());
            started = Instant::now();
            let customers = std::mem::take(&mut wire_customers)
                .iter()
                .map(|customer| state::current_customer(&catalog, customer))
                .collect();
            let current = CurrentState {
                customers,
                licenses,
            };
            (current, Vec::new())
        }
    };
    let desired = match resolving.await {
        Ok(Ok(desired)) => desired,
        Ok(Err(problems)) => return Ok(Err(problems)),
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    };
    let remote = Remote {
        catalog,
        customers: wire_customers,
        licenses: wire_licenses,
    };
    let (ignore_customer, ignore_license) = resolve::project_ignores(&manifests);
    let context = DiffContext {
        target: session.target.clone(),
        portal_url: manifests.project.portal_url.clone(),
        ignore_customer,
        ignore_license,
    };
    let plan = crate::plan::diff(&desired, &current, &context);
    progress(&format!(
        "Compared them with the manifests ({:.1?}).",
        started.elapsed()
    ));
    let problems = create_problems(&plan);
    if !problems.0.is_empty() {
        return Ok(Err(problems));
    }
    Ok(Ok(Planned {
        remote,
        desired,
        current,
        plan,
    }))
}

/// The progress lines around a read of SLASCONE.
struct Reading<'s> {
    session: &'s Session,
    started: Instant,
    before: u64,
}

impl<'s> Reading<'s> {
    fn start(session: &'s Session, products: &BTreeSet<String>) -> Self {
        progress(&format!(
            "Reading SLASCONE ({}, {} product{})...",
            session.target.api_url,
            products.len(),
            if products.len() == 1 { "" } else { "s" }
        ));
        Reading {
            session,
            started: Instant::now(),
            before: session.client.request_count(),
        }
    }

    fn done(self, customers: usize, licenses: usize) {
        progress(&format!(
            "Read {customers} customers and {licenses} licenses in {} requests ({:.1?}).",
            self.session.client.request_count() - self.before,
            self.started.elapsed()
        ));
    }
}

/// Reads everything a plan compares against (the catalog, all customers, the licenses of
/// `products`), with progress lines on stderr.
pub async fn read_remote(
    session: &Session,
    products: &BTreeSet<String>,
    read: &ReadArgs,
) -> anyhow::Result<Remote> {
    let reading = Reading::start(session, products);
    let remote = state::fetch(
        &session.client,
        products,
        usize::from(read.parallelism),
        state::Scope::Everything,
    )
    .await?;
    reading.done(remote.customers.len(), remote.licenses.len());
    Ok(remote)
}

/// Creates SLASCONE is known to refuse, found before anything is sent: a customer created by
/// customer_number needs company_name, customer_type and country; one created by id needs a
/// company_name.
fn create_problems(plan: &Plan) -> Problems {
    let mut problems = Vec::new();
    for change in &plan.changes {
        if change.kind != Kind::Customer || change.action != Action::Create {
            continue;
        }
        let has = |path: &str| {
            change
                .fields
                .iter()
                .any(|f| f.path == path && f.after.as_str().is_some_and(|v| !v.is_empty()))
        };
        let required: &[&str] = if change.by_customer_number() {
            &["company_name", "customer_type", "country"]
        } else {
            &["company_name"]
        };
        let missing: Vec<&str> = required.iter().copied().filter(|path| !has(path)).collect();
        if missing.is_empty() {
            continue;
        }
        let message = format!(
            "customer {} does not exist in SLASCONE yet, and creating it needs {}",
            change.key,
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let problem = match &change.origin {
            Some(origin) => manifest::Problem::at(origin.clone(), message),
            None => manifest::Problem::general(message),
        };
        problems.push(problem.with_hint("add the missing fields to the customer in its manifest"));
    }
    Problems(problems)
}

/// Keys of the manifests' customers that carry an id, so apply can name their licenses' owner.
pub fn customer_keys(desired: &DesiredState) -> HashMap<String, Uuid> {
    desired
        .customers
        .iter()
        .filter_map(|customer| customer.id.map(|id| (customer.key.clone(), id)))
        .collect()
}

/// Writes a file atomically: a temporary file beside it, flushed, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().context("the output path names no file")?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
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
