//! The apply report: one entry per planned change (applied, failed with the reason, or skipped),
//! rendered as text, JSON or markdown.

use std::io::{self, Write};

use serde::Serialize;
use uuid::Uuid;

use super::{Done, Failure};
use crate::model::{Kind, Origin};
use crate::plan::{Action, Change};
use crate::render::Format;

/// What happened to one change: what this run did, not what it intended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// This run made the object.
    Created,
    /// This run changed the object.
    Updated,
    /// The object to be created was in SLASCONE already, as wanted: someone else made it.
    Exists,
    Failed,
    Skipped,
}

impl Status {
    /// True when SLASCONE now holds what the change wanted.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Created | Status::Updated | Status::Exists)
    }
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

    pub fn done(change: &Change, done: Done) -> Entry {
        let (status, id) = match done {
            Done::Created(id) => (Status::Created, id),
            Done::Updated(id) => (Status::Updated, id),
            Done::Exists(id) => (Status::Exists, id),
        };
        Entry {
            id: Some(id),
            ..Entry::base(change, status)
        }
    }

    pub fn failed(change: &Change, failure: Failure) -> Entry {
        let (reason, slascone_error_id, id) = match failure {
            Failure::Api(error) => (error.to_string(), error.business_id(), None),
            Failure::Invalid(message) => (message, None, None),
            Failure::Kept { id, message } => (message, None, Some(id)),
        };
        Entry {
            id,
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

/// Counts of an apply, one per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplySummary {
    pub created: usize,
    pub updated: usize,
    pub exists: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// The version of the apply report's JSON: 2 since `status` says what the run did (`created`,
/// `updated`, `exists`) rather than `applied`.
pub const REPORT_FORMAT_VERSION: u32 = 2;

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
            *match entry.status {
                Status::Created => &mut summary.created,
                Status::Updated => &mut summary.updated,
                Status::Exists => &mut summary.exists,
                Status::Failed => &mut summary.failed,
                Status::Skipped => &mut summary.skipped,
            } += 1;
        }
        ApplyReport {
            format_version: REPORT_FORMAT_VERSION,
            summary,
            results,
        }
    }

    /// True when some change failed or was skipped.
    pub fn is_partial(&self) -> bool {
        self.summary.failed + self.summary.skipped > 0
    }

    /// `Apply complete: 1 created, 2 updated, 0 failed.`, with the objects that already existed
    /// and the skipped ones when there are any.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let existed = if s.exists > 0 {
            format!(" {} already existed,", s.exists)
        } else {
            String::new()
        };
        let skipped = if s.skipped > 0 {
            format!(", {} skipped", s.skipped)
        } else {
            String::new()
        };
        format!(
            "Apply complete: {} created, {} updated,{existed} {} failed{skipped}.",
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
            let verb = match entry.status {
                Status::Created => "created",
                Status::Updated => "updated",
                Status::Exists => "exists ",
                Status::Failed => "failed ",
                Status::Skipped => "skipped",
            };
            write!(out, "{verb} {} {}", entry.kind, entry.key)?;
            if entry.status == Status::Exists {
                write!(out, ": already in SLASCONE as the manifest wants it")?;
            }
            if let Some(reason) = &entry.reason {
                write!(out, ": {reason}")?;
            }
            if let Some(origin) = entry.origin.as_ref().filter(|_| !entry.status.is_done()) {
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
            let (mark, result) = match entry.status {
                Status::Created => ("✅", "created".to_string()),
                Status::Updated => ("✅", "updated".to_string()),
                Status::Exists => ("✅", "already existed".to_string()),
                Status::Failed => (
                    "❌",
                    format!("failed: {}", entry.reason.as_deref().unwrap_or("")),
                ),
                Status::Skipped => (
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
