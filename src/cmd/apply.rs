//! `slascone-sync apply`: plan (or load a saved plan and check it is still current), confirm,
//! execute, report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::engine::{
    self, Connection, Event, Events, Keep, Planning, Ready, Refusal, Rule, Safety, SavedPlan,
};
use crate::exit::Outcome;
use crate::manifest::Manifests;
use crate::render::{self, Format, Style, count};

use super::{
    connect_and_load, load_manifests, print_manifest_problems, progress_events, use_color,
    write_rendering,
};
use crate::text::shown;

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let events = progress_events();
    let (connection, safety, prepared) = match &args.plan {
        Some(path) => {
            let Some(manifests) = load_manifests(&args.dir, global, &events) else {
                return Ok(Outcome::Error);
            };
            let connection =
                super::connect(global, &manifests.project, &args.read, &events).await?;
            let prepared = saved_plan(&connection, path, &manifests).await;
            (connection, Safety::of(&manifests.project), prepared)
        }
        None => {
            let Some((connection, project, planning)) =
                connect_and_load(global, &args.dir, &args.read, Keep::WireObjects, &events).await?
            else {
                return Ok(Outcome::Error);
            };
            let prepared = fresh_plan(global, args, planning);
            (connection, Safety::of(&project), prepared)
        }
    };
    let result = match prepared {
        Ok(prepared) => run_in(&connection, args, safety, prepared).await,
        Err(err) => Err(err),
    };
    connection.close().await;
    result
}

/// A plan ready to apply, or the outcome apply ends with before writing anything.
enum Prepared {
    Ready(Box<Ready>),
    Stop(Outcome),
}

async fn run_in(
    connection: &Connection,
    args: &ApplyArgs,
    safety: Safety,
    prepared: Prepared,
) -> anyhow::Result<Outcome> {
    let ready = match prepared {
        Prepared::Ready(ready) => *ready,
        Prepared::Stop(outcome) => return Ok(outcome),
    };
    if ready.plan.is_empty() {
        if args.plan.is_some() {
            say_out!("No changes.");
        }
        return Ok(Outcome::Success);
    }
    if !args.force
        && let Some(refusal) = engine::check(&ready.plan, safety).into_iter().next()
    {
        print_refusal(&refusal);
        return Ok(Outcome::Refused);
    }
    if !args.auto_approve && !confirm(ready.plan.change_count())? {
        return Ok(Outcome::Error);
    }
    execute(connection, ready, args.format).await
}

/// A plan saved by `plan --out`, if it is for this target and SLASCONE has not changed the
/// objects it touches since.
async fn saved_plan(
    connection: &Connection,
    path: &std::path::Path,
    manifests: &Manifests,
) -> anyhow::Result<Prepared> {
    let bytes = crate::fs::read_input(path, crate::fs::MAX_PLAN_BYTES)
        .with_context(|| format!("cannot read the saved plan {}", path.display()))?;
    let today = connection.today(&manifests.project.timezone);
    let plan = engine::read_saved_plan(&bytes, &path.display().to_string(), today)?;
    Ok(
        match engine::recheck_saved(connection, plan, &manifests.project).await? {
            SavedPlan::Current(ready) => Prepared::Ready(ready),
            SavedPlan::Refused(refusal) => {
                print_refusal(&refusal);
                Prepared::Stop(Outcome::Refused)
            }
        },
    )
}

/// A plan made now from the manifests, shown for confirmation: on stdout with a text report,
/// on stderr otherwise, so stdout holds only the JSON or markdown report.
fn fresh_plan(
    global: &GlobalArgs,
    args: &ApplyArgs,
    planning: Planning,
) -> anyhow::Result<Prepared> {
    let planned = match planning {
        Planning::Planned(planned) => planned,
        Planning::Problems(problems) => {
            print_manifest_problems(&args.dir, global, problems);
            return Ok(Prepared::Stop(Outcome::Error));
        }
    };
    if args.format == Format::Text {
        let style = Style {
            color: use_color(global),
            manifest_links: None,
        };
        write_rendering(std::io::stdout().lock(), Format::Text, style.color, |out| {
            render::render(&planned.plan, Format::Text, &mut &mut *out, &style)
        })?;
    } else {
        write_rendering(std::io::stderr().lock(), Format::Text, false, |out| {
            render::render(
                &planned.plan,
                Format::Text,
                &mut &mut *out,
                &Style::default(),
            )
        })?;
    }
    Ok(Prepared::Ready(Box::new(planned.ready())))
}

/// Why apply stops, on stderr, with what to do about it.
fn print_refusal(refusal: &Refusal) {
    match &refusal.rule {
        Rule::MaxRisk(max_risk) => {
            let riskier = &refusal.changes;
            say!(
                "error: the plan holds {} above safety.max_risk ({}); refusing to apply it:",
                if riskier.len() == 1 {
                    "a change".to_owned()
                } else {
                    format!("{} changes", riskier.len())
                },
                max_risk.as_str()
            );
            for change in riskier {
                say!(
                    "  {} {} ({} risk: {})",
                    change.kind(),
                    shown(&change.key),
                    change.risk.as_str(),
                    shown(&change.risk_reasons.join("; "))
                );
            }
            say!(
                "hint: review those changes, then pass --force, or raise safety.max_risk in slascone.yaml"
            );
        }
        Rule::MaxChanges { max, planned } => {
            say!(
                "error: the plan has {}, more than safety.max_changes ({max}); refusing to apply it",
                count(*planned, "change", "changes")
            );
            say!(
                "hint: review the plan, then pass --force, or raise safety.max_changes in slascone.yaml"
            );
        }
        Rule::OtherTarget { planned, here } => say!(
            "error: the plan was made for {} (isv {}), not for {} (isv {}); refusing to apply it",
            shown(&planned.api_url),
            planned.isv_id,
            shown(&here.api_url),
            here.isv_id
        ),
        Rule::Stale => {
            say!("error: SLASCONE changed since the plan was made; refusing to apply it:");
            for line in &refusal.stale {
                say!("  {}", shown(line));
            }
            say!("hint: run plan again and review the new plan");
        }
    }
}

/// Sends the plan's requests with a progress bar, then prints the report.
async fn execute(connection: &Connection, ready: Ready, format: Format) -> anyhow::Result<Outcome> {
    let bar = super::progress::Progress::new(ready.plan.change_count());
    let events: Events = {
        let bar = Arc::clone(&bar);
        let lines = progress_events();
        Arc::new(move |event: &Event<'_>| match event {
            Event::Applied(entry) => bar.record(entry),
            other => lines(other),
        })
    };
    let report = engine::apply(connection, ready, &events).await;
    bar.finish();
    write_rendering(std::io::stdout().lock(), format, false, |out| {
        render::apply_report::render(&report, format, out)
    })?;
    Ok(if report.is_partial() {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

/// Asks on the terminal; refuses outright without one.
fn confirm(changes: usize) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "apply needs confirmation, and there is no terminal to ask on; pass --auto-approve to apply without asking"
        );
    }
    eprint!("Apply these {changes} changes to SLASCONE? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(true)
    } else {
        say!("Apply cancelled.");
        Ok(false)
    }
}
