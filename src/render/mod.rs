//! Renderings of a [`Plan`] (terraform-style text for terminals, the plan JSON that
//! `apply --plan` and scripts read, and markdown for pull-request comments) and of the apply
//! report.
//!
//! Every renderer writes into a caller-supplied writer and does nothing else: no terminal
//! detection, no environment lookups. The caller decides on colour through [`Style`].

pub mod apply_report;
mod escape;
pub mod plan_json;
pub mod plan_markdown;
pub mod plan_text;

use std::io::{self, Write};

use crate::plan::Plan;

/// The output formats of `plan --format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terraform-style `+`/`~` blocks with field-level changes.
    #[default]
    Text,
    /// The plan JSON (format_version 1), as read by `apply --plan`.
    Json,
    /// A pull-request comment: summary table and collapsible changes, under 65,536 characters.
    Markdown,
}

/// Presentation choices the caller makes (e.g. from `--no-color`, `NO_COLOR` or a pipe).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI colours (text format only).
    pub color: bool,
}

/// Writes `plan` to `out` in `format`.
pub fn render(plan: &Plan, format: Format, out: &mut impl Write, style: Style) -> io::Result<()> {
    match format {
        Format::Text => plan_text::render(plan, out, style),
        Format::Json => plan_json::render(plan, out),
        Format::Markdown => plan_markdown::render(plan, out),
    }
}

/// `1 change`, `2 changes`.
pub(crate) fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests;
