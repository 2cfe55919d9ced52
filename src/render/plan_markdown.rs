//! Markdown for pull-request comments: a title, a summary table, one collapsible block per
//! change with a field table and portal links, and the unmanaged objects.
//!
//! GitHub rejects comments over 65,536 characters, so a long plan is folded: field tables are
//! dropped from the last changes first (each keeps a one-line summary), then whole changes from
//! the end, and a closing line says what was left out. The title and the summary table are
//! always kept.

use std::io::{self, Write};

use super::count;
use super::escape::{code, escape, html, link};
use crate::model::display_value;
use crate::plan::{Action, Change, Plan, Risk};
use crate::remote::endpoint;

/// GitHub's limit on the body of an issue or pull-request comment, in characters.
pub const MAX_CHARS: usize = 65_536;

/// Room kept for the closing line that says what was folded.
const FOOTER_RESERVE: usize = 400;
/// Warnings shown; each one is also cut to [`WARNING_CHARS`].
const WARNINGS_SHOWN: usize = 20;
const WARNING_CHARS: usize = 500;
/// High-risk changes named at the top; the rest are counted.
const HIGH_RISK_SHOWN: usize = 50;
/// Unmanaged objects named; the rest are counted.
const UNMANAGED_SHOWN: usize = 100;

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(document(plan).as_bytes())
}

/// The whole comment, at most [`MAX_CHARS`] characters.
pub fn document(plan: &Plan) -> String {
    let head = head(plan);
    let mut unmanaged = unmanaged(plan, UNMANAGED_SHOWN);
    let mut reserve = chars(&head) + chars(&unmanaged) + FOOTER_RESERVE;
    if reserve > MAX_CHARS {
        unmanaged = unmanaged_count_only(plan);
        reserve = chars(&head) + chars(&unmanaged) + FOOTER_RESERVE;
    }
    let budget = MAX_CHARS.saturating_sub(reserve);

    let full: Vec<String> = plan.changes.iter().map(full_block).collect();
    let compact: Vec<String> = plan.changes.iter().map(compact_line).collect();
    let (detailed, shown) = fold(&full, &compact, budget);

    let mut doc = head;
    for block in &full[..detailed] {
        doc.push_str(block);
    }
    if shown > detailed {
        doc.push_str("Changes shown without details:\n\n");
        for line in &compact[detailed..shown] {
            doc.push_str(line);
        }
        doc.push('\n');
    }
    doc.push_str(&unmanaged);

    let folded = shown - detailed;
    let dropped = plan.changes.len() - shown;
    if folded + dropped > 0 {
        let mut parts = Vec::new();
        if folded > 0 {
            parts.push(format!(
                "{} shown without details",
                count(folded, "change", "changes")
            ));
        }
        if dropped > 0 {
            parts.push(format!("{} not shown", count(dropped, "change", "changes")));
        }
        doc.push_str(&format!(
            "… {}; run `slascone-sync plan --format json` for the full plan.\n",
            parts.join(" and ")
        ));
    }
    doc
}

/// How many changes keep their details (a prefix) and how many are shown at all, so that the
/// blocks fit in `budget` characters. Details go first from the end, then whole changes.
fn fold(full: &[String], compact: &[String], budget: usize) -> (usize, usize) {
    let full_total: usize = full.iter().map(|b| chars(b)).sum();
    if full_total <= budget {
        return (full.len(), full.len());
    }
    // The heading of the compact list and the blank line after it.
    let list_overhead = chars("Changes shown without details:\n\n") + 1;
    let mut used = list_overhead;
    let mut shown = 0;
    for line in compact {
        if used + chars(line) > budget {
            break;
        }
        used += chars(line);
        shown += 1;
    }
    let mut detailed = 0;
    while detailed < shown {
        let extra = chars(&full[detailed]).saturating_sub(chars(&compact[detailed]));
        if used + extra > budget {
            break;
        }
        used += extra;
        detailed += 1;
    }
    (detailed, shown)
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
    let mut section = format!(
        "**High risk** ({})

",
        risky.len()
    );
    for change in risky.iter().take(HIGH_RISK_SHOWN) {
        let reasons: String = change
            .risk_reasons
            .join("; ")
            .chars()
            .take(WARNING_CHARS)
            .collect();
        section.push_str(&format!(
            "- `{}` {} {}: {}
",
            change.action.symbol(),
            change.kind(),
            escape(&change.key),
            escape(&reasons)
        ));
    }
    let rest = risky.len().saturating_sub(HIGH_RISK_SHOWN);
    if rest > 0 {
        section.push_str(&format!(
            "- … and {rest} more
"
        ));
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
        s.create,
        s.update,
        s.unchanged,
        s.unmanaged
    );
    if plan.is_empty() {
        head.push_str("No changes.\n\n");
    }
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
    head.push_str(&high_risk(plan));
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

fn full_block(change: &Change) -> String {
    let mut block = format!("<details><summary>{}</summary>\n\n", summary_html(change));
    if let Some(origin) = &change.origin {
        block.push_str(&format!("Manifest: {}", escape(&origin.to_string())));
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
