//! `GET /`: the status page. Plain HTML and CSS in one document, nothing loaded from elsewhere,
//! no script; every value from the manifests, SLASCONE or an error is escaped.

use std::fmt::Write as _;

use super::Redactor;
use super::status::{Last, Outcome, Status};

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;\
padding:0 1rem;color:#1f2328}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;\
border-bottom:1px solid #d0d7de;vertical-align:top}th{background:#f6f8fa}\
pre{background:#f6f8fa;padding:1rem;overflow:auto;font-size:13px}\
.result{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600}\
.in_sync,.applied{background:#dafbe1}.drift{background:#fff8c5}\
.blocked,.failed{background:#ffebe9}.high{color:#cf222e;font-weight:600}\
.medium{color:#9a6700;font-weight:600}code{font-size:13px}";

/// The page for `status`, every value redacted and then escaped.
pub(super) fn render(status: &Status, unready_after: u32, redactor: &Redactor) -> String {
    let e = &Escape(redactor);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>slascone-sync agent</title><style>{STYLE}</style></head><body>\
         <h1>slascone-sync agent</h1><table>"
    );
    let row = |html: &mut String, name: &str, value: &str| {
        let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", e.line(name), value);
    };
    row(&mut html, "Mode", &e.line(status.mode.as_str()));
    row(
        &mut html,
        "Revision",
        &status.revision.as_deref().map_or_else(
            || "none".to_owned(),
            |r| format!("<code>{}</code>", e.line(r)),
        ),
    );
    row(
        &mut html,
        "Ready",
        if status.ready(unready_after) {
            "yes"
        } else {
            "no"
        },
    );
    row(&mut html, "Reconciles", &status.reconciles.to_string());
    row(
        &mut html,
        "Next reconcile",
        &status
            .next_at
            .map_or_else(|| "none".to_owned(), |at| e.line(&at.to_string())),
    );
    match &status.last {
        None => {
            row(
                &mut html,
                "Last result",
                "none yet: the first reconcile is running",
            );
            html.push_str("</table>");
        }
        Some(last) => {
            last_rows(&mut html, last, e, &row);
            html.push_str("</table>");
            last_sections(&mut html, last, e);
        }
    }
    html.push_str("</body></html>\n");
    html
}

fn last_rows(
    html: &mut String,
    last: &Last,
    e: &Escape<'_>,
    row: &dyn Fn(&mut String, &str, &str),
) {
    let result = last.result.as_str();
    row(
        html,
        "Last result",
        &format!("<span class=\"result {result}\">{result}</span>"),
    );
    row(html, "Changes", &last.changes.to_string());
    row(html, "Trigger", &e.line(&last.trigger));
    row(html, "Started", &e.line(&last.started_at.to_string()));
    row(
        html,
        "Took",
        &e.line(&format!("{:.2} s", last.duration_seconds)),
    );
    if let Some(error) = &last.error {
        row(html, "Error", &format!("<pre>{}</pre>", e.block(error)));
    }
}

fn last_sections(html: &mut String, last: &Last, e: &Escape<'_>) {
    if !last.blocked.is_empty() {
        html.push_str("<h2>Blocked</h2><table><tr><th>Rule</th><th>Why</th><th>Changes</th></tr>");
        for blocked in &last.blocked {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                e.line(&blocked.rule),
                e.line(&blocked.message),
                e.line(&blocked.changes.join(", "))
            );
        }
        html.push_str("</table>");
    }
    if !last.plan.is_empty() {
        let heading = match last.result {
            Outcome::Applied => "Applied changes",
            _ => "Pending changes",
        };
        let _ = write!(
            html,
            "<h2>{heading}</h2><table><tr><th>Change</th><th>Manifest</th><th>Risk</th>\
             <th>Portal</th></tr>"
        );
        for change in &last.plan {
            let links: Vec<String> = change
                .links
                .iter()
                .filter(|link| link.starts_with("https://") || link.starts_with("http://"))
                .map(|link| format!("<a href=\"{}\" rel=\"noreferrer\">open</a>", e.line(link)))
                .collect();
            let risk = if change.risk_reasons.is_empty() {
                e.line(change.risk)
            } else {
                format!(
                    "<span class=\"{}\">{}</span>: {}",
                    e.line(change.risk),
                    e.line(change.risk),
                    e.line(&change.risk_reasons.join("; "))
                )
            };
            let _ = write!(
                html,
                "<tr><td>{} {} <code>{}</code></td><td><code>{}</code></td><td>{risk}</td><td>{}</td></tr>",
                e.line(change.action),
                e.line(&change.kind),
                e.line(&change.key),
                e.line(change.origin.as_deref().unwrap_or("")),
                links.join(" ")
            );
        }
        html.push_str("</table>");
    }
    if let Some(text) = last.plan_text.as_deref().filter(|_| !last.plan.is_empty()) {
        let _ = write!(html, "<h2>Plan</h2><pre>{}</pre>", e.block(text));
    }
    if let Some(report) = &last.apply {
        html.push_str(
            "<h2>Apply report</h2><table><tr><th>Change</th><th>Status</th><th>Reason</th></tr>",
        );
        for entry in &report.results {
            let status = serde_json::to_value(entry.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td>{} {} <code>{}</code></td><td>{}</td><td>{}</td></tr>",
                e.line(entry.action.as_str()),
                e.line(&entry.kind.to_string()),
                e.line(&entry.key),
                e.line(&status),
                e.line(entry.reason.as_deref().unwrap_or(""))
            );
        }
        html.push_str("</table>");
    }
}

/// Values as HTML text or quoted attribute values: each redacted first, while it is still the
/// text the secrets were found in (`&` is `&amp;` once escaped, and a short secret could match
/// the page's own markup), then with its control and invisible characters escaped as
/// everywhere else, then HTML-escaped.
struct Escape<'a>(&'a Redactor);

impl Escape<'_> {
    /// A value on one line: its line breaks are escaped too.
    fn line(&self, text: &str) -> String {
        crate::text::html(&crate::text::shown(&self.0.apply(text)))
    }

    /// Text of several lines, for `<pre>`: its line breaks stay.
    fn block(&self, text: &str) -> String {
        crate::text::html(&crate::text::terminal(&self.0.apply(text), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Mode;
    use crate::agent::status::{ChangeView, Last};

    fn last_with(key: &str, link: &str) -> Last {
        let at: jiff::Timestamp = "2026-12-02T03:00:00Z".parse().unwrap();
        Last {
            result: Outcome::Drift,
            revision: None,
            changes: 1,
            trigger: "interval".into(),
            started_at: at,
            finished_at: at,
            duration_seconds: 0.5,
            error: Some("<b>bad</b>".into()),
            summary: None,
            plan: vec![ChangeView {
                kind: "customer".into(),
                key: key.into(),
                action: "update",
                risk: "low",
                risk_reasons: Vec::new(),
                origin: Some("customers/a.yaml:3:5".into()),
                links: vec![link.into()],
            }],
            blocked: Vec::new(),
            apply: None,
            plan_text: Some(format!("~ customer {key}\n")),
        }
    }

    #[test]
    fn every_value_is_escaped_and_only_web_links_are_links() {
        let mut status = Status::new(Mode::Detect);
        status.revision = Some("\"><img src=x>".into());
        status.record(last_with(
            "<script>alert(1)</script>",
            "javascript:alert(1)",
        ));
        let html = render(&status, 3, &Redactor::default());
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>bad"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("customers/a.yaml:3:5"));

        let mut status = Status::new(Mode::Detect);
        status.record(last_with(
            "K1",
            "https://my.slascone.com/customers/1?a=1&b=2",
        ));
        let html = render(&status, 3, &Redactor::default());
        assert!(html.contains("href=\"https://my.slascone.com/customers/1?a=1&amp;b=2\""));
    }
}
