//! Markdown for pull-request comments: a title, a summary table, the changes grouped by kind,
//! product and field movement, the high-risk changes, then one collapsible block per change with
//! a field table and portal links, and the unmanaged objects.
//!
//! GitHub rejects comments over 65,536 characters (the action's marker line included), so a long
//! plan is folded: low-risk changes lose their field tables, then their lines, from the end; then
//! medium-risk ones; high-risk changes are the last to go. A closing line says what was left out, and how many of that
//! were high-risk. The head (title, tables, grouped summary, high-risk list) is always kept.

use std::io::{self, Write};

use super::escape::{code, escape, html, link};
use super::plan_summary::{groups, thousands};
use super::{ManifestLinks, count};
use crate::model::display_value;
use crate::plan::{Action, Change, Plan, Risk};
use crate::remote::endpoint;

/// GitHub's limit on the body of an issue or pull-request comment, in characters.
pub const GITHUB_MAX_CHARS: usize = 65_536;
/// Room for the line the GitHub Action puts above the plan to find its comment again, with its
/// line break (`<!-- slascone-sync plan: DIR -->`, kept this short by `action/comment.sh`).
pub const MARKER_CHARS: usize = 512;
/// The longest comment this renders, so the marker and the plan together fit GitHub's limit.
pub const MAX_CHARS: usize = GITHUB_MAX_CHARS - MARKER_CHARS;

/// Room kept for the closing line that says what was folded.
const FOOTER_RESERVE: usize = 400;
/// Warnings shown; each one is also cut to [`WARNING_CHARS`].
const WARNINGS_SHOWN: usize = 20;
const WARNING_CHARS: usize = 500;
/// High-risk changes named at the top; the rest are counted.
const HIGH_RISK_SHOWN: usize = 50;
/// Unmanaged objects named; the rest are counted.
const UNMANAGED_SHOWN: usize = 100;
/// Groups of the summary named; the rest are counted.
const GROUPS_SHOWN: usize = 50;

pub fn render(plan: &Plan, out: &mut dyn Write, links: Option<&ManifestLinks>) -> io::Result<()> {
    out.write_all(document(plan, links).as_bytes())
}

/// The whole comment, at most [`MAX_CHARS`] characters.
pub fn document(plan: &Plan, links: Option<&ManifestLinks>) -> String {
    let head = head(plan);
    let mut unmanaged = unmanaged(plan, UNMANAGED_SHOWN);
    let mut reserve = chars(&head) + chars(&unmanaged) + FOOTER_RESERVE;
    if reserve > MAX_CHARS {
        unmanaged = unmanaged_count_only(plan);
        reserve = chars(&head) + chars(&unmanaged) + FOOTER_RESERVE;
    }
    let budget = MAX_CHARS.saturating_sub(reserve);

    let full: Vec<String> = plan
        .changes
        .iter()
        .map(|change| full_block(change, links))
        .collect();
    let compact: Vec<String> = plan.changes.iter().map(compact_line).collect();
    let shown = fold(&plan.changes, &full, &compact, budget);

    let mut doc = head;
    for (block, _) in full
        .iter()
        .zip(&shown)
        .filter(|(_, s)| **s == Shown::Details)
    {
        doc.push_str(block);
    }
    let folded = shown.iter().filter(|s| **s == Shown::Line).count();
    if folded > 0 {
        doc.push_str("Changes shown without details:\n\n");
        for (line, _) in compact
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s == Shown::Line)
        {
            doc.push_str(line);
        }
        doc.push('\n');
    }
    doc.push_str(&unmanaged);

    let dropped = shown.iter().filter(|s| **s == Shown::Not).count();
    if folded + dropped > 0 {
        let mut parts = Vec::new();
        if folded > 0 {
            parts.push(format!(
                "{} shown without details",
                count(folded, "change", "changes")
            ));
        }
        if dropped > 0 {
            let high = plan
                .changes
                .iter()
                .zip(&shown)
                .filter(|(change, s)| **s == Shown::Not && change.risk == Risk::High)
                .count();
            let of_them = if high > 0 {
                format!(" ({} of them high-risk)", thousands(high))
            } else {
                String::new()
            };
            parts.push(format!(
                "{} not shown{of_them}",
                count(dropped, "change", "changes")
            ));
        }
        doc.push_str(&format!(
            "… {}; run `slascone-sync plan --format json` for the full plan.\n",
            parts.join(" and ")
        ));
    }
    doc
}

/// How much of a change the comment shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Details,
    Line,
    Not,
}

/// What of each change fits in `budget` characters. Cutting goes from the least risky up: the
/// details of low-risk changes, then their lines, then the same for medium and for high, each
/// from the last change back. So the comment is filled the other way round, and the first piece
/// that does not fit ends the filling.
fn fold(changes: &[Change], full: &[String], compact: &[String], budget: usize) -> Vec<Shown> {
    let full_total: usize = full.iter().map(|b| chars(b)).sum();
    if full_total <= budget {
        return vec![Shown::Details; full.len()];
    }
    let mut shown = vec![Shown::Not; changes.len()];
    // The heading of the compact list and the blank line after it.
    let mut used = chars("Changes shown without details:\n\n") + 1;
    for risk in [Risk::High, Risk::Medium, Risk::Low] {
        let tier: Vec<usize> = (0..changes.len())
            .filter(|&i| changes[i].risk == risk)
            .collect();
        for &i in &tier {
            if used + chars(&compact[i]) > budget {
                return shown;
            }
            used += chars(&compact[i]);
            shown[i] = Shown::Line;
        }
        for &i in &tier {
            let extra = chars(&full[i]).saturating_sub(chars(&compact[i]));
            if used + extra > budget {
                return shown;
            }
            used += extra;
            shown[i] = Shown::Details;
        }
    }
    shown
}

/// The changes grouped by kind, action, product and field movement.
fn grouped(plan: &Plan) -> String {
    let groups = groups(plan);
    if groups.is_empty() {
        return String::new();
    }
    let mut section = "**Summary**\n\n".to_owned();
    for group in groups.iter().take(GROUPS_SHOWN) {
        let symbol = group.action.symbol();
        section.push_str(&format!("- `{symbol}` {}\n", escape(&group.describe())));
    }
    let rest = groups.len().saturating_sub(GROUPS_SHOWN);
    if rest > 0 {
        section.push_str(&format!("- … and {rest} more\n"));
    }
    section.push('\n');
    section
}

/// The high-risk changes, named with their reasons, so a reviewer sees them before anything else.
fn high_risk(plan: &Plan) -> String {
    let risky: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.risk == Risk::High)
        .collect();
    if risky.is_empty() {
        return String::new();
    }
    // A GitHub alert block: set apart in colour, where a bold line would read like any heading.
    let mut section = format!(
        "> [!CAUTION]\n> **High risk** ({})\n>\n",
        thousands(risky.len())
    );
    for change in risky.iter().take(HIGH_RISK_SHOWN) {
        let reasons: String = change
            .risk_reasons
            .join("; ")
            .chars()
            .take(WARNING_CHARS)
            .collect();
        section.push_str(&format!(
            "> - `{}` {} {}: {}\n",
            change.action.symbol(),
            change.kind(),
            escape(&change.key),
            escape(&reasons)
        ));
    }
    let rest = risky.len().saturating_sub(HIGH_RISK_SHOWN);
    if rest > 0 {
        section.push_str(&format!("> - … and {} more\n", thousands(rest)));
    }
    section.push('\n');
    section
}

fn head(plan: &Plan) -> String {
    let s = plan.summary;
    let mut head = format!(
        "### slascone-sync plan\n\n\
         Target: {} · ISV `{}`\n\n\
         | Create | Update | Unchanged | Unmanaged |\n\
         |-------:|-------:|----------:|----------:|\n\
         | {} | {} | {} | {} |\n\n",
        code(&plan.target.api_url),
        plan.target.isv_id,
        thousands(s.create),
        thousands(s.update),
        thousands(s.unchanged),
        thousands(s.unmanaged)
    );
    if plan.is_empty() {
        head.push_str("No changes.\n\n");
    }
    head.push_str(&grouped(plan));
    head.push_str(&high_risk(plan));
    if !plan.warnings.is_empty() {
        head.push_str("**Warnings**\n\n");
        for warning in plan.warnings.iter().take(WARNINGS_SHOWN) {
            let cut: String = warning.message.chars().take(WARNING_CHARS).collect();
            let ellipsis = if cut.len() < warning.message.len() {
                "…"
            } else {
                ""
            };
            head.push_str(&format!("- {}{ellipsis}\n", escape(&cut)));
        }
        let rest = plan.warnings.len().saturating_sub(WARNINGS_SHOWN);
        if rest > 0 {
            head.push_str(&format!("- … and {rest} more\n"));
        }
        head.push('\n');
    }
    head
}

/// `+ create customer K001 · POST /data_exchange/customers`, as HTML (it goes in `<summary>`),
/// with the risk of a medium- or high-risk change.
fn summary_html(change: &Change) -> String {
    let risk = match change.risk {
        Risk::Low => String::new(),
        risk => format!(" · <b>{} risk</b>", risk.as_str()),
    };
    format!(
        "<code>{}</code> {} {} <b>{}</b> · <code>{} {}</code>{risk}",
        change.action.symbol(),
        change.action.as_str(),
        change.kind(),
        html(&change.key),
        endpoint::method(change.identity.endpoint(), change.action),
        endpoint::collection(change.identity.endpoint())
    )
}

fn full_block(change: &Change, links: Option<&ManifestLinks>) -> String {
    let mut block = format!("<details><summary>{}</summary>\n\n", summary_html(change));
    if let Some(origin) = &change.origin {
        match links.and_then(|links| links.locate(origin)) {
            Some((shown, url)) => {
                block.push_str(&format!("Manifest: [{}]({})", escape(&shown), link(&url)));
            }
            None => block.push_str(&format!("Manifest: {}", escape(&origin.to_string()))),
        }
        if let Some(customer) = &change.depends_on {
            block.push_str(&format!(" · created after customer {}", escape(customer)));
        }
        block.push_str("\n\n");
    }
    if change.risk > Risk::Low {
        block.push_str(&format!(
            "Risk: **{}**: {}\n\n",
            change.risk.as_str(),
            escape(&change.risk_reasons.join("; "))
        ));
    }
    if !change.fields.is_empty() {
        match change.action {
            Action::Create => block.push_str("| Field | Value |\n|---|---|\n"),
            Action::Update => block.push_str("| Field | Before | After |\n|---|---|---|\n"),
        }
        for field in &change.fields {
            let mut after = code(&display_value(&field.after));
            if field.source.is_some() {
                after.push_str(" (edition)");
            }
            match change.action {
                Action::Create => block.push_str(&format!("| {} | {after} |\n", code(&field.path))),
                Action::Update => block.push_str(&format!(
                    "| {} | {} | {after} |\n",
                    code(&field.path),
                    match &field.before {
                        serde_json::Value::Null => "(none)".to_owned(),
                        before => code(&display_value(before)),
                    }
                )),
            }
        }
        block.push('\n');
    }
    if let [analytics, licenses] = change.links.as_slice() {
        block.push_str(&format!(
            "[Customer analytics]({}) · [Licenses]({})\n\n",
            link(analytics),
            link(licenses)
        ));
    }
    block.push_str("</details>\n\n");
    block
}

/// The one line a change keeps when its details are folded.
fn compact_line(change: &Change) -> String {
    format!(
        "- `{}` {} {} {} · {}\n",
        change.action.symbol(),
        change.action.as_str(),
        change.kind(),
        escape(&change.key),
        count(change.fields.len(), "field", "fields")
    )
}

fn unmanaged(plan: &Plan, shown: usize) -> String {
    if plan.unmanaged.is_empty() {
        return String::new();
    }
    let mut section = format!(
        "<details><summary>{} left alone</summary>\n\n",
        count(
            plan.unmanaged.len(),
            "unmanaged object",
            "unmanaged objects"
        )
    );
    for u in plan.unmanaged.iter().take(shown) {
        section.push_str(&format!("- {} {}\n", u.kind, escape(&u.key)));
    }
    let rest = plan.unmanaged.len().saturating_sub(shown);
    if rest > 0 {
        section.push_str(&format!("- … and {rest} more\n"));
    }
    section.push_str("\n</details>\n\n");
    section
}

fn unmanaged_count_only(plan: &Plan) -> String {
    format!(
        "{} left alone.\n\n",
        count(
            plan.unmanaged.len(),
            "unmanaged object",
            "unmanaged objects"
        )
    )
}

fn chars(text: &str) -> usize {
    text.chars().count()
}
