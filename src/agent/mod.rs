//! `slascone-sync agent`: reconciles a manifest directory with SLASCONE in a loop, and says how it
//! went over HTTP (health, readiness, metrics, status, a status page) and in log lines.
//!
//! One task reconciles, so two reconciles never run at once. A trigger (the interval, a webhook,
//! a manual `POST /reconcile`) wakes it; triggers that come during a reconcile leave one wake-up
//! behind, so they coalesce into one more reconcile after it. A failed reconcile is retried
//! sooner, with exponential backoff and jitter, never later than the interval.
//!
//! The manifests are read afresh at every reconcile; everything else goes through the engine.

mod body;
pub mod duration;
pub mod git;
mod http;
pub mod log;
mod notify;
mod page;
mod reconcile;
mod serve;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use axum::response::Response;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::engine::{Event, Events, Settings, Target};
use crate::manifest::Project;

pub use body::{BODY_BUDGET, BODY_TIMEOUT, MAX_BODY};
pub use log::{LogFormat, LogSink};
pub use serve::{CONNECTION_LIFETIME, HEADER_TIMEOUT, MAX_CONNECTIONS};
pub use status::{Outcome, Rejection, Status};

/// What the agent does with a plan that has changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plan only, and report drift.
    Detect,
    /// Apply what the plan holds, within the project's safety rules.
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Detect => "detect",
            Mode::Apply => "apply",
        }
    }
}

/// A webhook secret or an API token: never shown, compared in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where the manifests come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A directory someone else keeps current.
    Dir(PathBuf),
    /// A branch of a git repository, fetched before every reconcile.
    Git(git::GitSource),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Dir(dir) => dir.display().to_string(),
            Source::Git(git) => {
                format!("{} {} {}", git.shown_url(), git.branch, git.path.display())
            }
        }
    }
}

/// The tenant a project names, worked out afresh at every reconcile (the project may change).
pub type TargetOf = Arc<dyn Fn(&Project) -> anyhow::Result<Target> + Send + Sync>;

/// The admin key for the manifest directory at this path (with the `environments` profile), as
/// the front end finds it, to keep it out of problem messages; `None` when it has none.
pub type KeyOf = Arc<dyn Fn(&std::path::Path, Option<&str>) -> Option<String> + Send + Sync>;

/// How the agent runs.
pub struct Config {
    /// Where the manifests are read from at every reconcile.
    pub source: Source,
    /// The `environments` profile.
    pub env: Option<String>,
    pub mode: Mode,
    pub interval: Duration,
    /// The first retry's wait after a failure; doubled for each failure in a row, up to the
    /// interval.
    pub retry_base: Duration,
    /// Not ready after this many failed reconciles in a row.
    pub unready_after: u32,
    pub listen: SocketAddr,
    pub settings: Settings,
    pub target: TargetOf,
    pub admin_key_of: KeyOf,
    /// Checks `POST /hooks/github` and `/hooks/gitlab`; without it they answer 404.
    pub webhook_secret: Option<Secret>,
    /// Checks `POST /reconcile`; without it it answers 404.
    pub api_token: Option<Secret>,
    /// Where drift, applied changes, blocked plans and failures are announced.
    pub notify_url: Option<String>,
    pub log_format: LogFormat,
    pub log: LogSink,
}

/// Replaces every secret the agent knows in text about to leave it.
#[derive(Default)]
pub struct Redactor(Mutex<Vec<String>>);

impl Redactor {
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty() {
            return;
        }
        let mut secrets = lock(&self.0);
        if !secrets.iter().any(|known| known == secret) {
            secrets.push(secret.to_owned());
            // The longest first, so one secret inside another is not left half-shown.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in lock(&self.0).iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        text
    }
}

/// A poisoned lock only means a panic elsewhere; the status it guards is still whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the loop and the endpoints share.
pub(crate) struct Shared {
    status: Mutex<Status>,
    wake: Notify,
    /// What woke the loop, when something other than the interval did.
    reason: Mutex<Option<&'static str>>,
    alive: AtomicBool,
    unready_after: u32,
    webhook_secret: Option<Secret>,
    api_token: Option<Secret>,
    /// What the bodies of webhook requests in flight may hold together.
    budget: body::Budget,
    redactor: Redactor,
    log_format: LogFormat,
    log: LogSink,
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, Status> {
        lock(&self.status)
    }

    /// Asks for one more reconcile; asks made while one runs coalesce into one.
    fn trigger(&self, why: &'static str) {
        lock(&self.reason).get_or_insert(why);
        self.wake.notify_one();
        self.record("trigger", &[("trigger", why.into())]);
    }

    /// Counts and logs a refused trigger request, naming neither the secret nor what was given,
    /// and answers it.
    fn reject(&self, endpoint: &'static str, rejection: Rejection, peer: SocketAddr) -> Response {
        *self
            .status()
            .rejected
            .entry((endpoint, rejection))
            .or_default() += 1;
        self.record(
            "rejected",
            &[
                ("endpoint", endpoint.into()),
                ("reason", rejection.as_str().into()),
                ("peer", peer.to_string().into()),
            ],
        );
        http::refused(endpoint, rejection)
    }

    /// One log line, with every secret redacted.
    fn record(&self, event: &str, fields: &[(&str, serde_json::Value)]) {
        let line = log::line(self.log_format, jiff::Timestamp::now(), event, fields);
        (self.log)(&self.redactor.apply(&line));
    }
}

/// A running agent: its loop and its HTTP server.
pub struct Agent {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    reconciling: JoinHandle<()>,
    serving: JoinHandle<()>,
    server_stop: watch::Sender<bool>,
}

impl Agent {
    /// Checks the sources of manifests and notifications, binds `config.listen` and starts
    /// reconciling at once.
    pub async fn start(config: Config) -> anyhow::Result<Agent> {
        let redactor = Redactor::default();
        let git_token = match &config.source {
            Source::Git(git) => {
                git.check()?;
                // A password written into the URL is as secret as one from --git-token-env.
                if let Ok(url) = url::Url::parse(&git.url)
                    && let Some(password) = url.password()
                {
                    redactor.add(password);
                }
                git.token.as_ref()
            }
            Source::Dir(_) => None,
        };
        for secret in [
            config.webhook_secret.as_ref(),
            config.api_token.as_ref(),
            git_token,
        ]
        .into_iter()
        .flatten()
        {
            redactor.add(secret.expose());
        }
        let notifier = match &config.notify_url {
            Some(url) => {
                let notifier = notify::Notifier::new(url)?;
                redactor.add(notifier.url());
                Some(notifier)
            }
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            status: Mutex::new(Status::new(config.mode)),
            wake: Notify::new(),
            reason: Mutex::new(None),
            alive: AtomicBool::new(true),
            unready_after: config.unready_after,
            webhook_secret: config.webhook_secret.clone(),
            api_token: config.api_token.clone(),
            budget: body::Budget::new(BODY_BUDGET),
            redactor,
            log_format: config.log_format,
            log: Arc::clone(&config.log),
        });
        shared.record(
            "start",
            &[
                ("version", env!("CARGO_PKG_VERSION").into()),
                ("mode", config.mode.as_str().into()),
                ("source", config.source.describe().into()),
                ("interval", duration::show(config.interval).into()),
                ("listen", addr.to_string().into()),
            ],
        );
        let (server_stop, server_stopped) = watch::channel(false);
        let serving = tokio::spawn(serve::serve(
            listener,
            http::router(Arc::clone(&shared)),
            Arc::clone(&shared),
            server_stopped,
        ));
        let (stop, stopped) = watch::channel(false);
        let reconciling = tokio::spawn(run_loop(
            Arc::new(config),
            Arc::clone(&shared),
            notifier,
            stopped,
        ));
        Ok(Agent {
            shared,
            addr,
            stop,
            reconciling,
            serving,
            server_stop,
        })
    }

    /// Where the HTTP endpoints listen.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A copy of the status.
    pub fn status(&self) -> Status {
        self.shared.status().clone()
    }

    /// Starts no new reconcile, waits up to `grace` for one in flight, then stops the server.
    /// False when the reconcile in flight did not finish in time and was abandoned.
    pub async fn shutdown(mut self, grace: Duration) -> bool {
        self.shared
            .record("shutdown", &[("grace", duration::show(grace).into())]);
        let _ = self.stop.send(true);
        let finished = tokio::time::timeout(grace, &mut self.reconciling)
            .await
            .is_ok();
        if !finished {
            self.reconciling.abort();
            self.shared.record(
                "shutdown",
                &[(
                    "error",
                    "the reconcile in flight outlasted the grace period".into(),
                )],
            );
        }
        let _ = self.server_stop.send(true);
        let _ = (&mut self.serving).await;
        self.shared.record("stopped", &[]);
        finished
    }
}

/// Reconciles until told to stop.
async fn run_loop(
    config: Arc<Config>,
    shared: Arc<Shared>,
    notifier: Option<notify::Notifier>,
    mut stop: watch::Receiver<bool>,
) {
    // Dropped when the loop ends, a panic included: /healthz then says the loop is gone.
    struct Alive(Arc<Shared>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.alive.store(false, Ordering::SeqCst);
        }
    }
    let _alive = Alive(Arc::clone(&shared));
    let events = engine_events(&shared);
    let mut trigger = "start";
    loop {
        let last = reconcile::reconcile(&config, trigger, &events, &shared.redactor).await;
        log_reconcile(&shared, &last);
        if let Some(notifier) = &notifier {
            let revision = last.revision.clone();
            match notifier
                .after(&last, revision.as_deref(), &shared.redactor)
                .await
            {
                Ok(true) => shared.record("notify", &[("result", last.result.as_str().into())]),
                Ok(false) => {}
                Err(err) => shared.record("notify", &[("error", format!("{err:#}").into())]),
            }
        }
        let failed = last.result == Outcome::Failed;
        let delay = {
            let mut status = shared.status();
            status.record(last);
            let delay = if failed {
                backoff(status.failures_in_a_row, config.retry_base, config.interval)
            } else {
                config.interval
            };
            status.next_at = jiff::Timestamp::now().checked_add(delay).ok();
            delay
        };
        if *stop.borrow() {
            break;
        }
        trigger = tokio::select! {
            biased;
            _ = stop.changed() => break,
            () = shared.wake.notified() => lock(&shared.reason).take().unwrap_or("api"),
            () = tokio::time::sleep(delay) => if failed { "retry" } else { "interval" },
        };
    }
    shared.status().next_at = None;
}

/// The wait before retrying after `failures` failed reconciles in a row: doubling from `base`,
/// capped at `cap`, then somewhere in its upper half so that agents failing together do not
/// retry together.
fn backoff(failures: u32, base: Duration, cap: Duration) -> Duration {
    let doubled = base.saturating_mul(1 << failures.saturating_sub(1).min(20));
    doubled.min(cap).mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// The engine's notable events as log lines: a request retried, and with `--verbose` every
/// request.
fn engine_events(shared: &Arc<Shared>) -> Events {
    let shared = Arc::clone(shared);
    Arc::new(move |event: &Event<'_>| match event {
        Event::Retry(line) => shared.record("retry", &[("request", (*line).into())]),
        Event::Request(line) => shared.record("request", &[("request", (*line).into())]),
        _ => {}
    })
}

fn log_reconcile(shared: &Shared, last: &status::Last) {
    let revision = last.revision.clone();
    let mut fields = vec![
        ("result", last.result.as_str().into()),
        ("trigger", last.trigger.clone().into()),
        ("changes", last.changes.into()),
        ("revision", revision.into()),
        (
            "duration_seconds",
            ((last.duration_seconds * 1000.0).round() / 1000.0).into(),
        ),
    ];
    if let Some(summary) = &last.summary {
        fields.push(("create", summary.create.into()));
        fields.push(("update", summary.update.into()));
    }
    if let Some(error) = &last.error {
        fields.push(("error", error.clone().into()));
    }
    shared.record("reconcile", &fields);
    for blocked in &last.blocked {
        shared.record(
            "blocked",
            &[
                ("rule", blocked.rule.clone().into()),
                ("message", blocked.message.clone().into()),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval_with_jitter() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for _ in 0..100 {
            let first = backoff(1, base, cap);
            assert!(
                first >= Duration::from_millis(500) && first <= base,
                "{first:?}"
            );
            let third = backoff(3, base, cap);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
            let many = backoff(40, base, cap);
            assert!(many >= Duration::from_secs(30) && many <= cap, "{many:?}");
        }
    }

    #[test]
    fn the_redactor_hides_every_secret_it_knows() {
        let redactor = Redactor::default();
        redactor.add("s3cret");
        redactor.add("s3cret-longer");
        redactor.add("  ");
        assert_eq!(
            redactor.apply("a s3cret-longer and a s3cret"),
            "a <redacted> and a <redacted>"
        );
        assert!(format!("{:?}", Secret::new("hidden")).contains("redacted"));
    }
}
