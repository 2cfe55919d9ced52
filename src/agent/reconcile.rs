//! One reconcile on the engine: load the manifests afresh, connect, plan, and in `apply` mode
//! check the safety rules and apply. Every ending is a [`Last`], failures included.

use std::time::Instant;

use crate::engine::{self, Connection, Events, Keep, Planning, Refusal, Rule, Safety, Target};
use crate::manifest;
use crate::plan::Plan;
use crate::render::{self, Format, Style, count};

use super::status::{Blocked, ChangeView, Last, Outcome};
use super::{Config, Mode, Redactor, Source};

/// Runs one reconcile; never fails, a failure is its result.
pub(super) async fn reconcile(
    config: &Config,
    trigger: &str,
    events: &Events,
    redactor: &Redactor,
) -> Last {
    let started_at = jiff::Timestamp::now();
    let started = Instant::now();
    let mut last = Last {
        result: Outcome::Failed,
        revision: None,
        changes: 0,
        trigger: trigger.to_owned(),
        started_at,
        finished_at: started_at,
        duration_seconds: 0.0,
        error: None,
        summary: None,
        plan: Vec::new(),
        blocked: Vec::new(),
        apply: None,
        plan_text: None,
    };
    if let Err(err) = run(config, events, redactor, &mut last).await {
        last.result = Outcome::Failed;
        last.error = Some(redactor.apply(&format!("{err:#}")));
    }
    last.finished_at = jiff::Timestamp::now();
    last.duration_seconds = started.elapsed().as_secs_f64();
    last
}

async fn run(
    config: &Config,
    events: &Events,
    redactor: &Redactor,
    last: &mut Last,
) -> anyhow::Result<()> {
    let dir = match &config.source {
        Source::Dir(dir) => dir.clone(),
        Source::Git(git) => {
            let git = git.clone();
            let fetched = tokio::task::spawn_blocking(move || git.fetch())
                .await
                .map_err(|err| anyhow::anyhow!("the fetch stopped: {err}"))??;
            last.revision = Some(fetched.revision);
            fetched.dir
        }
    };
    let env = config.env.as_deref();
    let manifests = match engine::load(&dir, env, events) {
        Ok(manifests) => manifests,
        Err(mut problems) => {
            if let Some(key) = (config.admin_key_of)(&dir, env) {
                problems.redact(&key);
            }
            anyhow::bail!("the manifests have problems:\n{problems}");
        }
    };
    let project = manifests.project.clone();
    let target = (config.target)(&project)?;
    if let Target::Api { admin_key, .. } = &target {
        redactor.add(admin_key.expose());
    }
    let connection = Connection::open(target, &project, &config.settings, events).await?;
    let result = plan_and_apply(
        config,
        &connection,
        manifests,
        Safety::of(&project),
        events,
        last,
    )
    .await;
    connection.close().await;
    result
}

async fn plan_and_apply(
    config: &Config,
    connection: &Connection,
    manifests: manifest::Manifests,
    safety: Safety,
    events: &Events,
    last: &mut Last,
) -> anyhow::Result<()> {
    let keep = match config.mode {
        Mode::Apply => Keep::WireObjects,
        Mode::Detect => Keep::Nothing,
    };
    let planning = engine::plan(
        connection,
        manifests,
        keep,
        engine::UsageReads::Read,
        events,
    )
    .await?;
    let planned = match planning {
        Planning::Planned(planned) => planned,
        Planning::Problems(problems) => {
            anyhow::bail!("the manifests do not match SLASCONE:\n{problems}")
        }
    };
    let plan = &planned.plan;
    describe(plan, last);
    if plan.is_empty() {
        last.result = Outcome::InSync;
        return Ok(());
    }
    if config.mode == Mode::Detect {
        last.result = Outcome::Drift;
        return Ok(());
    }
    let refusals = engine::check(plan, safety);
    if !refusals.is_empty() {
        last.blocked = refusals.iter().map(blocked).collect();
        last.result = Outcome::Blocked;
        return Ok(());
    }
    let report = engine::apply(connection, planned.ready(), events).await;
    let done = report.results.iter().filter(|e| e.status.is_done()).count();
    if report.is_partial() {
        let first = report
            .results
            .iter()
            .find_map(|e| Some(format!("{} {}: {}", e.kind, e.key, e.reason.as_deref()?)));
        last.error = Some(format!(
            "{} of {} failed or were skipped{}",
            count(
                report.summary.failed + report.summary.skipped,
                "change",
                "changes"
            ),
            report.results.len(),
            first
                .map(|f| format!("; the first: {f}"))
                .unwrap_or_default()
        ));
        last.result = Outcome::Failed;
    } else {
        last.result = Outcome::Applied;
    }
    last.changes = done;
    last.apply = Some(report);
    Ok(())
}

/// Fills in what the plan holds.
fn describe(plan: &Plan, last: &mut Last) {
    last.changes = plan.change_count();
    last.summary = Some(plan.summary);
    last.plan = plan
        .changes
        .iter()
        .map(|change| ChangeView {
            kind: change.kind().to_string(),
            key: change.key.clone(),
            action: change.action.as_str(),
            risk: change.risk.as_str(),
            risk_reasons: change.risk_reasons.clone(),
            origin: change.origin.as_ref().map(ToString::to_string),
            links: change.links.clone(),
        })
        .collect();
    let mut text = Vec::new();
    if render::render(plan, Format::Text, &mut text, &Style::default()).is_ok() {
        last.plan_text = Some(String::from_utf8_lossy(&text).into_owned());
    }
}

/// A refusal as the status shows it.
fn blocked(refusal: &Refusal) -> Blocked {
    let changes = refusal
        .changes
        .iter()
        .map(|change| format!("{} {}", change.kind(), change.key))
        .collect();
    let (rule, message) = match &refusal.rule {
        Rule::MaxRisk(max) => (
            format!("safety.max_risk: {}", max.as_str()),
            format!(
                "{} above safety.max_risk ({}): {}",
                count(refusal.changes.len(), "change is", "changes are"),
                max.as_str(),
                refusal
                    .changes
                    .iter()
                    .map(|c| format!(
                        "{} {} ({} risk: {})",
                        c.kind(),
                        c.key,
                        c.risk.as_str(),
                        c.risk_reasons.join("; ")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Rule::MaxChanges { max, planned } => (
            format!("safety.max_changes: {max}"),
            format!(
                "the plan has {}, more than safety.max_changes ({max})",
                count(*planned, "change", "changes")
            ),
        ),
        // A fresh plan is never for another target nor stale; said plainly should it happen.
        Rule::OtherTarget { .. } => (
            "target".to_owned(),
            "the plan was made for another target".to_owned(),
        ),
        Rule::Stale => (
            "stale".to_owned(),
            "SLASCONE changed since the plan was made".to_owned(),
        ),
    };
    Blocked {
        rule,
        message,
        changes,
    }
}
