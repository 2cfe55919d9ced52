//! The sandbox: a SLASCONE-compatible server on loopback, for tests, benchmarks, demos and CI
//! (docs/architecture.md, "The sandbox"). It serves the customer, contact, license and catalog
//! endpoints the reconciler uses, keeps its state in memory (optionally persisted to a state
//! file), injects faults on demand, and shows its state as read-only HTML pages at the paths of
//! SLASCONE's portal deep links.
//!
//! Where the API reference leaves a behaviour open, the sandbox picks one (and the reconciler must
//! not depend on it):
//!
//! - an `isv_id` other than the configured one is answered 401, like a key of another ISV;
//! - an unknown license on `GET /licenses/{id}` and `PATCH /licenses` is 409 id 1001, a license id
//!   that exists on `POST /licenses` is 409 id 1006, a customer id that exists on
//!   `POST /customers` is 409 id 4001 (all three ids guessed);
//! - a license body that leaves out `token_limit`, the other token limits, `license_type_id` or the
//!   expiration fields gets the edition's on create (and on PATCH with
//!   `apply_template_properties=true`); a created license without `is_active` is active;
//! - `country` is stored with the built-in list's spelling; data_exchange `tags` are ignored;
//! - license listings return at most [`MAX_PAGE_SIZE`] rows per page by default, in creation
//!   order;
//! - a constrained variable value its custom list does not allow is 409 id 3005 (guessed);
//! - a customer's second contact with the same e-mail address (in any case) is 409 id 4003, and
//!   an unknown contact on `PATCH /customers/{id}/contacts` is 409 id 4004 (both guessed).

mod app;
mod catalog;
mod countries;
mod endpoints;
mod journal;
mod portal;
mod problem;
mod rules;
mod server;
mod store;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use catalog::Catalog;

/// The largest page the license listings return; bigger `page_size` values are capped silently.
/// SLASCONE's own maximum is not documented.
pub const MAX_PAGE_SIZE: usize = 1000;

/// How a sandbox behaves. [`SandboxConfig::new`] gives a well-behaved one: no faults, merge-style
/// PATCH, license pages numbered from 0, state in memory only.
#[derive(Clone)]
pub struct SandboxConfig {
    pub isv_id: Uuid,
    /// The AdminKey clients must send. Kept out of `Debug` output.
    pub admin_key: String,
    pub catalog: Catalog,
    /// Loaded on start if it exists; every successful write is appended to it (and synced)
    /// before it is answered, and it is compacted now and then and on shutdown.
    pub state_file: Option<PathBuf>,
    /// Added before every API request is answered.
    pub latency: Duration,
    /// Share of API requests answered 500 or 503 before anything is applied (0.0 to 1.0).
    pub fail_rate: f64,
    /// API requests allowed per second; more are answered 429 with `Retry-After` (0 = no limit).
    pub rate_limit: u32,
    /// Share of successful writes that are applied and then answered by closing the connection.
    pub drop_after_commit: f64,
    pub patch_semantics: PatchSemantics,
    /// Number of the first page of the license listings and of a license's assignments (0 or 1).
    pub page_base: u8,
    /// With `page_base` 1: what a request for page 0 gets.
    pub page_zero: PageZero,
    /// The most rows a page of those listings holds; a bigger `page_size` is capped to it.
    pub max_page_size: usize,
    /// How a license's assignments page where that differs from the license listings (`None`:
    /// as they do). SLASCONE documents neither for either endpoint, so they may differ.
    pub assignments_page_base: Option<u8>,
    pub assignments_page_zero: Option<PageZero>,
    pub assignments_max_page_size: Option<usize>,
    /// How a listing with nothing to list is answered.
    pub empty_listing: EmptyAnswer,
    /// How a successful write (POST/PATCH of customers, data_exchange customers, licenses) is
    /// answered: with the object, or with 204 and no body.
    pub write_answer: EmptyAnswer,
    /// Where events outside any one request are reported; by default nowhere.
    pub events: EventSink,
}

/// What `PATCH /customers` and `PATCH /licenses` do with fields a body leaves out: SLASCONE does
/// not document it, so the sandbox does either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchSemantics {
    /// Fields left out of a PATCH body keep their value.
    #[default]
    Merge,
    /// Fields left out of a PATCH body are cleared.
    Replace,
}

/// Where the sandbox reports what goes wrong outside any one request (a failed accept, a state
/// file it cannot write); whoever runs it decides where that goes.
pub type EventSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What page 0 of a listing answers on a server whose pages count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageZero {
    /// The same rows as page 1.
    #[default]
    Same,
    /// No rows.
    Empty,
    /// 400 Bad Request.
    BadRequest,
    /// 404 Not Found.
    NotFound,
}

/// How a listing numbers and cuts its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    /// The number of the first page (0 or 1).
    pub(crate) base: u8,
    /// With `base` 1: what a request for page 0 gets.
    pub(crate) zero: PageZero,
    /// The most rows a page holds; a bigger `page_size` is capped to it.
    pub(crate) max_page_size: usize,
}

/// Whether an answer that may carry nothing is `200` with a body or `204 No Content`, which
/// SLASCONE's clients document for customer endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptyAnswer {
    /// 200 with the body (`[]` for an empty listing).
    #[default]
    Ok,
    /// 204 and no body.
    NoContent,
}

impl SandboxConfig {
    pub fn new(isv_id: Uuid, admin_key: impl Into<String>, catalog: Catalog) -> Self {
        SandboxConfig {
            isv_id,
            admin_key: admin_key.into(),
            catalog,
            state_file: None,
            latency: Duration::ZERO,
            fail_rate: 0.0,
            rate_limit: 0,
            drop_after_commit: 0.0,
            patch_semantics: PatchSemantics::Merge,
            page_base: 0,
            page_zero: PageZero::Same,
            max_page_size: MAX_PAGE_SIZE,
            assignments_page_base: None,
            assignments_page_zero: None,
            assignments_max_page_size: None,
            empty_listing: EmptyAnswer::Ok,
            write_answer: EmptyAnswer::Ok,
            events: Arc::new(|_| {}),
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("isv_id", &self.isv_id)
            .field("admin_key", &"<redacted>")
            .field("catalog", &self.catalog)
            .field("state_file", &self.state_file)
            .field("latency", &self.latency)
            .field("fail_rate", &self.fail_rate)
            .field("rate_limit", &self.rate_limit)
            .field("drop_after_commit", &self.drop_after_commit)
            .field("patch_semantics", &self.patch_semantics)
            .field("page_base", &self.page_base)
            .field("page_zero", &self.page_zero)
            .field("max_page_size", &self.max_page_size)
            .field("assignments_page_base", &self.assignments_page_base)
            .field("assignments_page_zero", &self.assignments_page_zero)
            .field("assignments_max_page_size", &self.assignments_max_page_size)
            .field("empty_listing", &self.empty_listing)
            .field("write_answer", &self.write_answer)
            .finish()
    }
}

/// A running sandbox. Dropping it without [`SandboxHandle::shutdown`] leaves it serving until the
/// runtime ends.
pub struct SandboxHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    app: Arc<app::App>,
}

impl fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, with a wildcard listen address replaced by loopback so it can be dialled.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting, closes open connections, waits until the server task has ended, and
    /// compacts the state file into one snapshot (a failure to is reported as an event: every
    /// answered write is in the journal already).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Some(journal) = &self.app.journal
            && let Err(err) = journal.compact(&self.app.store).await
        {
            (self.app.events)(&format!("{err:#}"));
        }
    }
}

fn check_share(name: &str, value: f64) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&value) {
        bail!("{name} must be between 0.0 and 1.0, not {value}");
    }
    Ok(())
}

/// Binds `listen` (port 0 picks a free port) and serves in a background task.
pub async fn start(config: SandboxConfig, listen: SocketAddr) -> anyhow::Result<SandboxHandle> {
    check_share("the fail rate", config.fail_rate)?;
    check_share("the drop-after-commit share", config.drop_after_commit)?;
    let paging = Paging {
        base: config.page_base,
        zero: config.page_zero,
        max_page_size: config.max_page_size,
    };
    let assignment_paging = Paging {
        base: config.assignments_page_base.unwrap_or(paging.base),
        zero: config.assignments_page_zero.unwrap_or(paging.zero),
        max_page_size: config
            .assignments_max_page_size
            .unwrap_or(paging.max_page_size),
    };
    for paging in [paging, assignment_paging] {
        if paging.base > 1 {
            bail!("the page base must be 0 or 1, not {}", paging.base);
        }
        if paging.max_page_size == 0 {
            bail!("the largest page size must be at least 1");
        }
    }
    let (store, journal) = match &config.state_file {
        Some(path) => {
            let loaded = journal::Journal::open(path, &config.events, &config.catalog)?;
            (loaded.store, Some(loaded.journal))
        }
        None => (store::Store::default(), None),
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let app = Arc::new(app::App {
        isv_id: config.isv_id,
        admin_key: config.admin_key,
        catalog: config.catalog,
        store: tokio::sync::Mutex::new(store),
        journal,
        patch_semantics: config.patch_semantics,
        paging,
        assignment_paging,
        empty_listing: config.empty_listing,
        write_answer: config.write_answer,
        events: config.events,
        latency: config.latency,
        fail_rate: config.fail_rate,
        rate_limit: config.rate_limit,
        drop_after_commit: config.drop_after_commit,
        log: Mutex::new(app::RequestLog::default()),
        window: Mutex::new((Instant::now(), 0)),
        in_flight: AtomicUsize::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let events = app.events.clone();
    let task = tokio::spawn(server::serve(
        listener,
        server::router(app.clone()),
        events,
        stopped,
    ));
    Ok(SandboxHandle {
        addr,
        stop,
        task,
        app,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_admin_key() {
        let config = SandboxConfig::new(Uuid::nil(), "very-secret-key", Catalog::default());
        let debug = format!("{config:?}");
        assert!(!debug.contains("very-secret-key"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
