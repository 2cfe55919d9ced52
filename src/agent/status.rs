//! What the agent knows about itself: the last reconcile, the counters behind `/metrics`, and
//! readiness. One value behind a mutex, read by the endpoints and written by the loop.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::apply::ApplyReport;
use crate::plan::Summary;

use super::{Mode, Redactor};

/// How a reconcile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// SLASCONE holds what the manifests say.
    InSync,
    /// The plan's changes were applied (`apply` mode).
    Applied,
    /// SLASCONE differs from the manifests and nothing was written (`detect` mode).
    Drift,
    /// A safety rule refused the plan; nothing was written.
    Blocked,
    /// The manifests, SLASCONE or a write failed.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::InSync,
        Outcome::Applied,
        Outcome::Drift,
        Outcome::Blocked,
        Outcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InSync => "in_sync",
            Outcome::Applied => "applied",
            Outcome::Drift => "drift",
            Outcome::Blocked => "blocked",
            Outcome::Failed => "failed",
        }
    }
}

/// Why a trigger refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejection {
    /// No credential header, or not of the form the endpoint takes; refused before the body.
    Missing,
    /// The credential is not the secret's (for GitHub, not the body's signature with it).
    Mismatch,
    /// The body is larger than the limit, as announced or as it arrived.
    TooLarge,
    /// The bodies in flight spend the budget.
    Busy,
    /// The body did not arrive in time.
    Timeout,
    /// The client broke off the body or sent it malformed.
    Incomplete,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Missing => "missing",
            Rejection::Mismatch => "mismatch",
            Rejection::TooLarge => "too_large",
            Rejection::Busy => "busy",
            Rejection::Timeout => "timeout",
            Rejection::Incomplete => "incomplete",
        }
    }
}

/// The triggers, and the ways each can refuse a request: only GitHub's reads a body.
pub const TRIGGERS: [(&str, &[Rejection]); 3] = {
    use Rejection::*;
    [
        ("/reconcile", &[Missing, Mismatch]),
        (
            "/hooks/github",
            &[Missing, Mismatch, TooLarge, Busy, Timeout, Incomplete],
        ),
        ("/hooks/gitlab", &[Missing, Mismatch]),
    ]
};

/// One change of the last plan, as the status shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeView {
    pub kind: String,
    pub key: String,
    pub action: &'static str,
    pub risk: &'static str,
    pub risk_reasons: Vec<String>,
    /// Where the manifests write the object: `file:line:column`.
    pub origin: Option<String>,
    /// Deep links into the SLASCONE portal.
    pub links: Vec<String>,
}

/// A safety rule that refused the plan, and the changes that broke it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocked {
    /// The rule as slascone.yaml spells it, with its limit: `safety.max_risk: medium`.
    pub rule: String,
    /// Why, in a sentence.
    pub message: String,
    /// The keys of the changes that broke it (`license Argus/K1`); empty for whole-plan rules.
    pub changes: Vec<String>,
}

/// The last reconcile.
#[derive(Debug, Clone, Serialize)]
pub struct Last {
    pub result: Outcome,
    /// The commit reconciled (`--git`).
    pub revision: Option<String>,
    /// Changes in the plan; for `applied`, changes applied.
    pub changes: usize,
    /// What started it: `start`, `interval`, `retry`, `api`, `github` or `gitlab`.
    pub trigger: String,
    #[serde(serialize_with = "shown")]
    pub started_at: jiff::Timestamp,
    #[serde(serialize_with = "shown")]
    pub finished_at: jiff::Timestamp,
    pub duration_seconds: f64,
    pub error: Option<String>,
    /// The plan's counts, when a plan was made.
    pub summary: Option<Summary>,
    /// The plan's changes, when a plan was made.
    pub plan: Vec<ChangeView>,
    /// The rules that refused the plan (`blocked`).
    pub blocked: Vec<Blocked>,
    /// What apply did (`applied`, or `failed` during apply).
    pub apply: Option<ApplyReport>,
    /// The plan as `plan` shows it, for the status page.
    #[serde(skip)]
    pub plan_text: Option<String>,
}

/// Upper bounds of the reconcile duration histogram, in seconds.
pub const BUCKETS: [f64; 11] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Everything the endpoints show.
#[derive(Debug, Clone)]
pub struct Status {
    pub mode: Mode,
    pub revision: Option<String>,
    pub reconciles: u64,
    pub next_at: Option<jiff::Timestamp>,
    pub last: Option<Last>,
    pub failures_in_a_row: u32,
    pub succeeded_once: bool,
    pub results: BTreeMap<Outcome, u64>,
    /// Reconciles per histogram bucket (not cumulative), then the sum and count.
    pub durations: [u64; BUCKETS.len()],
    pub duration_sum: f64,
    pub applied_total: u64,
    pub last_success: Option<jiff::Timestamp>,
    /// Requests the triggers refused, by endpoint and why.
    pub rejected: BTreeMap<(&'static str, Rejection), u64>,
}

impl Status {
    pub fn new(mode: Mode) -> Status {
        Status {
            mode,
            revision: None,
            reconciles: 0,
            next_at: None,
            last: None,
            failures_in_a_row: 0,
            succeeded_once: false,
            results: BTreeMap::new(),
            durations: [0; BUCKETS.len()],
            duration_sum: 0.0,
            applied_total: 0,
            last_success: None,
            rejected: BTreeMap::new(),
        }
    }

    /// Counts a finished reconcile.
    pub fn record(&mut self, last: Last) {
        self.reconciles += 1;
        if last.revision.is_some() {
            self.revision.clone_from(&last.revision);
        }
        *self.results.entry(last.result).or_default() += 1;
        if let Some(bucket) = BUCKETS.iter().position(|b| last.duration_seconds <= *b) {
            self.durations[bucket] += 1;
        }
        self.duration_sum += last.duration_seconds;
        if last.result == Outcome::Failed {
            self.failures_in_a_row += 1;
        } else {
            self.failures_in_a_row = 0;
            self.succeeded_once = true;
            self.last_success = Some(last.finished_at);
        }
        if let Some(report) = &last.apply {
            let done = report.results.iter().filter(|e| e.status.is_done()).count();
            self.applied_total += done as u64;
        }
        self.last = Some(last);
    }

    /// Ready once a reconcile succeeded, until `unready_after` fail in a row.
    pub fn ready(&self, unready_after: u32) -> bool {
        self.succeeded_once && self.failures_in_a_row < unready_after
    }

    /// Changes in the last plan: pending in `detect` mode or when blocked, none once applied.
    pub fn pending_changes(&self) -> usize {
        match &self.last {
            Some(last) if matches!(last.result, Outcome::Drift | Outcome::Blocked) => last.changes,
            Some(last) if last.result == Outcome::Failed => last.plan.len(),
            _ => 0,
        }
    }

    /// The `/status` document.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "mode": self.mode.as_str(),
            "revision": self.revision,
            "reconciles": self.reconciles,
            "next_at": self.next_at.map(|at| at.to_string()),
            "failures_in_a_row": self.failures_in_a_row,
            "last": self.last,
        })
    }

    /// The Prometheus text exposition of the counters, the label values redacted before they
    /// are escaped.
    pub fn metrics(&self, redactor: &Redactor) -> String {
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        let name = "slascone_sync_reconcile_total";
        header(&mut out, name, "counter", "Reconciles finished, by result.");
        for outcome in Outcome::ALL {
            let n = self.results.get(&outcome).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}{{result=\"{}\"}} {n}", outcome.as_str());
        }
        let name = "slascone_sync_reconcile_duration_seconds";
        header(&mut out, name, "histogram", "How long reconciles took.");
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.durations) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.reconciles);
        let _ = writeln!(out, "{name}_sum {}", self.duration_sum);
        let _ = writeln!(out, "{name}_count {}", self.reconciles);
        let single = [
            (
                "slascone_sync_pending_changes",
                "gauge",
                "Changes in the last plan that are not applied.",
                self.pending_changes() as u64,
            ),
            (
                "slascone_sync_applied_changes_total",
                "counter",
                "Changes applied since the agent started.",
                self.applied_total,
            ),
            (
                "slascone_sync_last_success_timestamp_seconds",
                "gauge",
                "When a reconcile last succeeded, in seconds since the epoch (0: never).",
                self.last_success
                    .map_or(0, |at| u64::try_from(at.as_second()).unwrap_or(0)),
            ),
            (
                "slascone_sync_consecutive_failures",
                "gauge",
                "Reconciles failed in a row.",
                u64::from(self.failures_in_a_row),
            ),
        ];
        for (name, kind, help, value) in single {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        let name = "slascone_sync_rejected_requests_total";
        header(
            &mut out,
            name,
            "counter",
            "Requests a trigger refused, by endpoint and reason.",
        );
        for (endpoint, reasons) in TRIGGERS {
            for reason in reasons {
                let n = self
                    .rejected
                    .get(&(endpoint, *reason))
                    .copied()
                    .unwrap_or(0);
                let _ = writeln!(
                    out,
                    "{name}{{endpoint=\"{endpoint}\",reason=\"{}\"}} {n}",
                    reason.as_str()
                );
            }
        }
        let name = "slascone_sync_info";
        header(
            &mut out,
            name,
            "gauge",
            "The running version and the revision last reconciled.",
        );
        let _ = writeln!(
            out,
            "{name}{{version=\"{}\",revision=\"{}\"}} 1",
            label(&redactor.apply(env!("CARGO_PKG_VERSION"))),
            label(&redactor.apply(self.revision.as_deref().unwrap_or("")))
        );
        out
    }
}

/// A timestamp as RFC 3339 text.
fn shown<S: serde::Serializer>(at: &jiff::Timestamp, to: S) -> Result<S::Ok, S::Error> {
    to.collect_str(at)
}

/// A label value as the text format escapes it.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
