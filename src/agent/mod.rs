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

/// Replaces every secret the agent knows in text about to leave it. It is applied to each value
/// before the value is escaped or put into a document (HTML, JSON, a log line, a metric label):
/// a secret holding `&`, `"` or `<` is no longer itself once escaped, and a short one could
/// match the document's own markup.
#[derive(Default)]
pub struct Redactor(Mutex<Vec<String>>);

/// A URL's user name shorter than this is a name (`git`, `ci`, `oauth2`), not a token: it is
/// hidden inside its URL, but not wherever else the letters occur, which would cut words apart.
const TOKEN_NAME: usize = 8;

impl Redactor {
    /// `secret`, and the spellings text the agent did not compose gives it: a plan and an
    /// error arrive rendered, with values quoted as JSON strings and their control and
    /// invisible characters escaped.
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty() {
            return;
        }
        let inner = |quoted: String| {
            quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .map(str::to_owned)
                .unwrap_or(quoted)
        };
        let json = inner(serde_json::to_string(secret).unwrap_or_default());
        let forms = [
            secret.to_owned(),
            crate::text::shown(secret).into_owned(),
            crate::text::shown(&json).into_owned(),
            inner(crate::text::json_line(secret)),
            json,
        ];
        let mut secrets = lock(&self.0);
        for form in forms {
            if !form.is_empty() && !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        // The longest first, so one secret inside another is not left half-shown.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The user name and the password of `url`, each as written, as the URL parser spells it
    /// and percent-decoded (a token is accepted as the user name, `https://ghp_…@github.com`),
    /// and the part of the URL that holds them. `whole`: the URL itself is a secret too (a
    /// Slack webhook's is).
    pub fn add_url(&self, url: &str, whole: bool) {
        let mut users = Vec::new();
        let mut passwords = Vec::new();
        if let Some(userinfo) = userinfo(url) {
            self.add(&format!("://{userinfo}@"));
            match userinfo.split_once(':') {
                Some((user, password)) => {
                    users.push(user.to_owned());
                    passwords.push(password.to_owned());
                }
                None => users.push(userinfo.to_owned()),
            }
        }
        if let Ok(parsed) = url::Url::parse(url) {
            if whole {
                self.add(parsed.as_str());
            }
            users.push(parsed.username().to_owned());
            passwords.extend(parsed.password().map(str::to_owned));
        }
        if whole {
            self.add(url);
        }
        for password in passwords {
            self.add(&percent_decoded(&password));
            self.add(&password);
        }
        for user in users {
            let decoded = percent_decoded(&user);
            if decoded.chars().count() >= TOKEN_NAME {
                self.add(&decoded);
                self.add(&user);
            }
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

    /// Every string value inside `value` redacted in place. The keys are the program's own
    /// names, left alone so that a short secret cannot break the document's shape.
    pub fn value(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => *text = self.apply(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.value(item)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The user name and password of a URL as written (`user:password`), if it has any.
fn userinfo(url: &str) -> Option<&str> {
    let after = url.find("://")? + 3;
    let rest = &url[after..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority.rfind('@').map(|at| &authority[..at])
}

/// `%XX` sequences as the bytes they stand for; anything else as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        let fields: Vec<(&str, serde_json::Value)> = fields
            .iter()
            .map(|(key, value)| {
                let mut value = value.clone();
                self.redactor.value(&mut value);
                (*key, value)
            })
            .collect();
        let line = log::line(self.log_format, jiff::Timestamp::now(), event, &fields);
        (self.log)(&line);
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
                // Credentials written into the URL are as secret as a --git-token-env token.
                redactor.add_url(&git.url, false);
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
                redactor.add_url(notifier.url(), true);
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

    #[test]
    fn a_urls_credentials_are_secrets_in_every_spelling() {
        let redactor = Redactor::default();
        redactor.add_url(
            "https://ghp_0123456789abcdef@github.com/acme/licensing.git",
            false,
        );
        redactor.add_url("https://ci:p%40ss%26%3Cw%3E@hooks.example.com/T0?x=1", true);
        for (text, shown) in [
            ("token ghp_0123456789abcdef", "token <redacted>"),
            ("git https://github.com/acme", "git https://github.com/acme"),
            ("p@ss&<w> and p%40ss%26%3Cw%3E", "<redacted> and <redacted>"),
            // A rendered plan quotes and escapes; the secret is found in that spelling too.
            (r#"city: "p@ss&<w>""#, r#"city: "<redacted>""#),
            (
                "at https://ci:p%40ss%26%3Cw%3E@hooks.example.com/T0?x=1",
                "at <redacted>",
            ),
            (
                "from https://ci:p@ss&<w>@other.example.com",
                "from https://ci:<redacted>@other.example.com",
            ),
            // A short user name is hidden inside its URL only.
            ("a specific ci run", "a specific ci run"),
        ] {
            assert_eq!(redactor.apply(text), shown, "{text}");
        }
        let mut value = serde_json::json!({ "ci": ["p@ss&<w>", { "text": "p%40ss%26%3Cw%3E" }] });
        redactor.value(&mut value);
        assert_eq!(
            value,
            serde_json::json!({ "ci": ["<redacted>", { "text": "<redacted>" }] })
        );
    }
}
