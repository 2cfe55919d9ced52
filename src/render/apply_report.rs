//! The apply report as people and scripts read it: one line per change and a summary (text), the
//! report JSON (`format_version` 2), or a table for a pull-request comment (markdown).

use std::io::{self, Write};

use super::Format;
use super::escape::{code, escape};
use crate::apply::{ApplyReport, Status};
use crate::text::shown;

/// Writes `report` to `out` in `format`.
pub fn render(report: &ApplyReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text(report, out),
        Format::Json => {
            crate::text::write_json(out, report)?;
            writeln!(out)
        }
        Format::Markdown => markdown(report, out),
    }
}

/// `Apply complete: 1 created, 2 updated, 0 failed.`, with the objects that already existed and
/// the skipped ones when there are any.
pub fn summary_line(report: &ApplyReport) -> String {
    let s = &report.summary;
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

fn text(report: &ApplyReport, out: &mut dyn Write) -> io::Result<()> {
    for entry in &report.results {
        let verb = match entry.status {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Exists => "exists ",
            Status::Failed => "failed ",
            Status::Skipped => "skipped",
        };
        write!(out, "{verb} {} {}", entry.kind, shown(&entry.key))?;
        if entry.status == Status::Exists {
            write!(out, ": already in SLASCONE as the manifest wants it")?;
        }
        if let Some(reason) = &entry.reason {
            write!(out, ": {}", shown(reason))?;
        }
        if let Some(origin) = entry.origin.as_ref().filter(|_| !entry.status.is_done()) {
            write!(out, " ({})", shown(&origin.to_string()))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", summary_line(report))
}

fn markdown(report: &ApplyReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### slascone-sync apply\n")?;
    writeln!(out, "| | kind | key | result |")?;
    writeln!(out, "|---|---|---|---|")?;
    for entry in &report.results {
        let reason = entry.reason.as_deref().unwrap_or("");
        let (mark, result) = match entry.status {
            Status::Created => ("✅", "created".to_string()),
            Status::Updated => ("✅", "updated".to_string()),
            Status::Exists => ("✅", "already existed".to_string()),
            Status::Failed => ("❌", format!("failed: {reason}")),
            Status::Skipped => ("⏭️", format!("skipped: {reason}")),
        };
        writeln!(
            out,
            "| {mark} | {} | {} | {} |",
            entry.kind,
            code(&entry.key),
            escape(&result)
        )?;
    }
    writeln!(out, "\n{}", summary_line(report))
}
