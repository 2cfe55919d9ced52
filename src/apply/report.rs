//! The apply report: one entry per planned change (applied, failed with the reason, or skipped),
//! rendered as text, JSON or markdown.

use std::io::{self, Write};

use serde::Serialize;
use uuid::Uuid;

use super::Failure;
use crate::model::{Kind, Origin};
use crate::plan::{Action, Change};
use crate::render::Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    Failed,
    Skipped,
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub kind: Kind,
    pub key: String,
    pub action: Action,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// SLASCONE's error id, for a 409.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slascone_error_id: Option<i64>,
    /// Where the manifest declares the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Entry {
    fn base(change: &Change, status: Status) -> Entry {
        Entry {
            kind: change.kind,
            key: change.key.clone(),
            action: change.action,
            status,
            id: None,
            reason: None,
            slascone_error_id: None,
            origin: change.origin.as_ref().map(Origin::to_string),
        }
    }

    pub fn applied(change: &Change, id: Uuid) -> Entry {
        Entry {
            id: Some(id),
            ..Entry::base(change, Status::Applied)
        }
    }

    pub fn failed(change: &Change, failure: Failure) -> Entry {
        let (reason, slascone_error_id) = match failure {
            Failure::Api(error) => (error.to_string(), error.business_id()),
            Failure::Invalid(message) => (message, None),
        };
        Entry {
            reason: Some(reason),
            slascone_error_id,
            ..Entry::base(change, Status::Failed)
        }
    }

    pub fn skipped(change: &Change, reason: String) -> Entry {
        Entry {
            reason: Some(reason),
            ..Entry::base(change, Status::Skipped)
        }
    }
}

/// Counts of an apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplySummary {
    pub created: usize,
    pub updated: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Everything apply did, in plan order (customers, then licenses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyReport {
    pub format_version: u32,
    pub summary: ApplySummary,
    pub results: Vec<Entry>,
}

impl ApplyReport {
    pub fn new(results: Vec<Entry>) -> ApplyReport {
        let mut summary = ApplySummary::default();
        for entry in &results {
            match (entry.status, entry.action) {
                (Status::Applied, Action::Create) => summary.created += 1,
                (Status::Applied, Action::Update) => summary.updated += 1,
                (Status::Failed, _) => summary.failed += 1,
                (Status::Skipped, _) => summary.skipped += 1,
            }
        }
        ApplyReport {
            format_version: 1,
            summary,
            results,
        }
    }

    /// True when some change failed or was skipped.
    pub fn is_partial(&self) -> bool {
        self.summary.failed + self.summary.skipped > 0
    }

    /// `Apply complete: 1 created, 2 updated, 0 failed.` (and the skipped count when there are any).
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let skipped = if s.skipped > 0 {
            format!(", {} skipped", s.skipped)
        } else {
            String::new()
        };
        format!(
            "Apply complete: {} created, {} updated, {} failed{skipped}.",
            s.created, s.updated, s.failed
        )
    }

    pub fn render(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => self.render_text(out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self).map_err(io::Error::other)?;
                writeln!(out)
            }
            Format::Markdown => self.render_markdown(out),
        }
    }

    fn render_text(&self, out: &mut dyn Write) -> io::Result<()> {
        for entry in &self.results {
            let verb = match (entry.status, entry.action) {
                (Status::Applied, Action::Create) => "created",
                (Status::Applied, Action::Update) => "updated",
                (Status::Failed, _) => "failed ",
                (Status::Skipped, _) => "skipped",
            };
            write!(out, "{verb} {} {}", entry.kind, entry.key)?;
            if let Some(reason) = &entry.reason {
                write!(out, ": {reason}")?;
            }
            if let Some(origin) = entry
                .origin
                .as_ref()
                .filter(|_| entry.status != Status::Applied)
            {
                write!(out, " ({origin})")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "{}", self.summary_line())
    }

    fn render_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "### slascone-sync apply\n")?;
        writeln!(out, "| | kind | key | result |")?;
        writeln!(out, "|---|---|---|---|")?;
        for entry in &self.results {
            let (mark, result) = match (entry.status, entry.action) {
                (Status::Applied, Action::Create) => ("✅", "created".to_string()),
                (Status::Applied, Action::Update) => ("✅", "updated".to_string()),
                (Status::Failed, _) => (
                    "❌",
                    format!("failed: {}", entry.reason.as_deref().unwrap_or("")),
                ),
                (Status::Skipped, _) => (
                    "⏭️",
                    format!("skipped: {}", entry.reason.as_deref().unwrap_or("")),
                ),
            };
            writeln!(
                out,
                "| {mark} | {} | `{}` | {} |",
                entry.kind,
                escape(&entry.key),
                escape(&result)
            )?;
        }
        writeln!(out, "\n{}", self.summary_line())
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
}
