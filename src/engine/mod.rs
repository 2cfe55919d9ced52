//! The library's front door: load, connect, plan, check and apply, as calls that take plain
//! values and return data. Every front end stands on it: the CLI's commands (`cmd/`), the tests
//! and the benchmarks.
//!
//! Nothing here parses arguments, reads the environment or prints. A front end builds a
//! [`Target`] and [`Settings`] from what it was given, passes an [`Events`] callback to hear of
//! progress (loading, reading, comparing, each write), and renders what comes back.
//!
//! Outcomes a user acts on are values, not errors: manifest problems ([`Problems`]), names that
//! do not resolve ([`Planning::Problems`]), refusals by a safety rule or a stale saved plan
//! ([`Refusal`]). Errors are what stops the work: an unreachable server, a failed read.

mod check;
mod connect;
mod plan;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use check::{Refusal, Rule, Safety, SavedPlan, check, read_saved_plan, recheck_saved};
pub use connect::{Connection, SANDBOX_STATE_FILE, SANDBOX_TARGET, Target};
pub use plan::{Keep, Planned, Planning, UsageReads, load_and_plan, plan, read_remote};

pub use crate::remote::AdminKey;

use crate::apply::{self, ApplyInput, ApplyReport, Entry};
use crate::manifest::{self, Manifests, Problems};

/// How SLASCONE is read and written, whichever command does it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Requests in flight at once (reads and writes).
    pub parallelism: usize,
    /// Page size of the license listing.
    pub page_size: i64,
    /// The longest one request may take, retries included.
    pub timeout: Duration,
    /// Report every request as an [`Event::Request`].
    pub log_requests: bool,
    /// The day the expiry radar takes as today; `None`: today in the project's time zone.
    pub today: Option<jiff::civil::Date>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            parallelism: 8,
            page_size: 500,
            timeout: crate::remote::DEFAULT_TOTAL_TIMEOUT,
            log_requests: false,
            today: None,
        }
    }
}

/// What the engine is doing, as it happens. Front ends turn these into progress lines, a bar,
/// log records or metrics.
#[derive(Debug)]
pub enum Event<'a> {
    /// The manifests were loaded.
    Loaded {
        customers: usize,
        licenses: usize,
        contacts: usize,
        files: usize,
        elapsed: Duration,
    },
    /// Reading SLASCONE starts: where, and for how many products.
    Reading { target: &'a str, products: usize },
    /// SLASCONE was read; `contacts` is how many contacts were read, of how many customers.
    Read {
        customers: usize,
        licenses: usize,
        contacts: (usize, usize),
        requests: u64,
        elapsed: Duration,
    },
    /// The states were compared.
    Compared { elapsed: Duration },
    /// Applying starts.
    Applying { changes: usize },
    /// One change was applied, or failed, or was skipped.
    Applied(&'a Entry),
    /// Applying ended after this many requests.
    Sent { requests: u64 },
    /// One request and its answer (with [`Settings::log_requests`]).
    Request(&'a str),
    /// A request failed and is sent again: what failed, which attempt comes, after what wait.
    Retry(&'a str),
    /// What the embedded sandbox reports outside any one request (a torn last record dropped
    /// from its state file, a state file it cannot write).
    Sandbox(&'a str),
}

/// Where events go. Called from any task; cheap to clone.
pub type Events = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

/// Events nobody listens to.
pub fn no_events() -> Events {
    Arc::new(|_| {})
}

/// Loads the manifests of `dir` (with the `environments` profile `env`), or every problem found.
pub fn load(dir: &Path, env: Option<&str>, events: &Events) -> Result<Manifests, Problems> {
    let started = Instant::now();
    let manifests = manifest::load(dir, env)?;
    events(&Event::Loaded {
        customers: manifests.customers.len(),
        licenses: manifests.license_count(),
        contacts: manifests.contact_count(),
        files: manifests.files,
        elapsed: started.elapsed(),
    });
    Ok(manifests)
}

/// What [`apply()`] executes: a plan and the objects it was made from, from [`Planned::ready`] or
/// [`recheck_saved`].
pub struct Ready {
    pub plan: crate::plan::Plan,
    pub(crate) remote: crate::current::Remote,
    pub(crate) customer_keys: std::collections::HashMap<String, uuid::Uuid>,
}

/// Sends the plan's writes, at most [`Settings::parallelism`] at once, and reports each change.
pub async fn apply(connection: &Connection, ready: Ready, events: &Events) -> ApplyReport {
    let plan = &ready.plan;
    events(&Event::Applying {
        changes: plan.change_count(),
    });
    let on_done = {
        let events = Arc::clone(events);
        Arc::new(move |entry: &Entry| events(&Event::Applied(entry)))
    };
    let before = connection.client.request_count();
    let remote = ready.remote;
    let report = apply::apply(
        &connection.client,
        ApplyInput {
            plan,
            catalog: &remote.catalog,
            customers: remote.customers,
            licenses: remote.licenses,
            contacts: remote.contacts,
            customer_keys: ready.customer_keys,
            parallelism: connection.parallelism,
            on_done,
        },
    )
    .await;
    events(&Event::Sent {
        requests: connection.client.request_count() - before,
    });
    report
}
