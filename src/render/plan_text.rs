//! Terraform-style text: a `+` block per create and a `~` block per update, one line per field
//! (a medium- or high-risk change opens with a `!` line naming its risk and why), then what was
//! left alone and a one-line summary. A plan of more than [`SUMMARY_ABOVE`] changes opens with
//! the changes grouped by kind, product and field movement, and the high-risk ones. Readable
//! without colour; colour only adds emphasis.

use std::io::{self, Write};

use super::plan_summary::{groups, thousands};
use super::{Style, count};
use crate::model::display_value;
use crate::plan::{Action, Change, Plan, Risk};
use crate::remote::endpoint;
use crate::text::shown;

/// How many unmanaged objects the text names before it only counts the rest.
const UNMANAGED_SHOWN: usize = 10;
/// A plan of more changes than this opens with a grouped summary.
pub const SUMMARY_ABOVE: usize = 200;
/// High-risk changes the opening summary names; the rest are counted.
const HIGH_RISK_SHOWN: usize = 50;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

pub fn render(plan: &Plan, out: &mut dyn Write, style: &Style) -> io::Result<()> {
    let paint = |code: &str, text: &str| {
        if style.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    };

    if plan.changes.len() > SUMMARY_ABOVE {
        write_summary(plan, out, &paint)?;
    }
    for change in &plan.changes {
        write_change(change, out, &paint)?;
    }
    if !plan.changes.is_empty() {
        writeln!(out)?;
    }

    for warning in &plan.warnings {
        writeln!(
            out,
            "{} {}",
            paint(YELLOW, "Warning:"),
            shown(&warning.message)
        )?;
    }

    if !plan.unmanaged.is_empty() {
        let mut names: Vec<String> = plan
            .unmanaged
            .iter()
            .take(UNMANAGED_SHOWN)
            .map(|u| format!("{} {}", u.kind, shown(&u.key)))
            .collect();
        let rest = plan.unmanaged.len().saturating_sub(UNMANAGED_SHOWN);
        if rest > 0 {
            names.push(format!("and {rest} more"));
        }
        writeln!(
            out,
            "{} left alone: {}",
            count(
                plan.unmanaged.len(),
                "unmanaged object",
                "unmanaged objects"
            ),
            names.join(", ")
        )?;
    }

    // The closing line stands apart from the warnings and the unmanaged list, as it does from
    // the changes.
    if !plan.warnings.is_empty() || !plan.unmanaged.is_empty() {
        writeln!(out)?;
    }
    let s = plan.summary;
    let last = if plan.is_empty() {
        "No changes.".to_owned()
    } else {
        format!(
            "Plan: {} to create, {} to update, {} unchanged, {} unmanaged.",
            s.create, s.update, s.unchanged, s.unmanaged
        )
    };
    writeln!(out, "{}", paint(BOLD, &last))
}

/// The changes grouped, then the high-risk ones with their reasons.
fn write_summary(
    plan: &Plan,
    out: &mut dyn Write,
    paint: &dyn Fn(&str, &str) -> String,
) -> io::Result<()> {
    writeln!(out, "{}", paint(BOLD, "Summary:"))?;
    for group in groups(plan) {
        writeln!(
            out,
            "  {} {}",
            group.action.symbol(),
            shown(&group.describe())
        )?;
    }
    let risky: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|change| change.risk == Risk::High)
        .collect();
    if !risky.is_empty() {
        let title = format!("High risk ({}):", thousands(risky.len()));
        writeln!(out, "{}", paint(RED, &title))?;
        for change in risky.iter().take(HIGH_RISK_SHOWN) {
            writeln!(
                out,
                "  {} {} {}: {}",
                change.action.symbol(),
                change.kind(),
                shown(&change.key),
                shown(&change.risk_reasons.join("; "))
            )?;
        }
        let rest = risky.len().saturating_sub(HIGH_RISK_SHOWN);
        if rest > 0 {
            writeln!(out, "  … and {} more", thousands(rest))?;
        }
    }
    writeln!(out)
}

fn write_change(
    change: &Change,
    out: &mut dyn Write,
    paint: &dyn Fn(&str, &str) -> String,
) -> io::Result<()> {
    let colour = match change.action {
        Action::Create => GREEN,
        Action::Update => YELLOW,
    };
    let after = change
        .depends_on
        .as_ref()
        .map(|key| format!(", after customer {}", shown(key)))
        .unwrap_or_default();
    let header = format!(
        "{} {} {} ({} {}{after})",
        change.action.symbol(),
        change.kind(),
        shown(&change.key),
        endpoint::method(change.identity.endpoint(), change.action),
        endpoint::collection(change.identity.endpoint())
    );
    writeln!(out, "{}", paint(colour, &header))?;
    if change.risk > Risk::Low {
        let colour = if change.risk == Risk::High {
            RED
        } else {
            YELLOW
        };
        let line = format!(
            "! {} risk: {}",
            change.risk.as_str(),
            shown(&change.risk_reasons.join("; "))
        );
        writeln!(out, "    {}", paint(colour, &line))?;
    }

    let width = change
        .fields
        .iter()
        .map(|f| f.path.chars().count() + 1)
        .max()
        .unwrap_or(0);
    for field in &change.fields {
        let label = format!("{}:", shown(&field.path));
        let mut after = display_value(&field.after);
        if field.source.is_some() {
            after.push_str(" (edition)");
        }
        match change.action {
            Action::Create => writeln!(out, "    {label:<width$} {after}")?,
            Action::Update => writeln!(
                out,
                "    {label:<width$} {} → {after}",
                paint(DIM, &display_value(&field.before))
            )?,
        }
    }
    Ok(())
}
