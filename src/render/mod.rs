//! Renderings of a [`Plan`] (terraform-style text for terminals, the plan JSON that
//! `apply --plan` and scripts read, and markdown for pull-request comments), of the apply
//! report, and of `ids`.
//!
//! Every renderer writes into a caller-supplied writer and does nothing else: no terminal
//! detection, no environment lookups. The caller decides on colour through [`Style`].

pub mod apply_report;
mod escape;
pub mod ids;
pub mod plan_json;
pub mod plan_markdown;
mod plan_summary;

pub(crate) use plan_summary::thousands;
pub mod plan_text;

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use crate::model::Origin;
use crate::plan::Plan;

/// The output formats of `plan --format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Terraform-style `+`/`~` blocks with field-level changes.
    #[default]
    Text,
    /// The plan JSON (format_version 2), as read by `apply --plan`.
    Json,
    /// A pull-request comment: summary table and collapsible changes, under 65,536 characters.
    Markdown,
}

/// Presentation choices the caller makes (e.g. from `--no-color`, `NO_COLOR` or a pipe, or the
/// CI system's variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI colours (text format only).
    pub color: bool,
    /// Link each change's manifest line to the reviewed commit (markdown only).
    pub manifest_links: Option<ManifestLinks>,
}

/// Where the manifests are in a hosted repository, so that markdown links each change to its
/// manifest line at the reviewed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestLinks {
    /// The URL of a file at the commit, up to the path: `https://github.com/acme/licensing/blob/<sha>`
    /// or `https://gitlab.com/acme/licensing/-/blob/<sha>`.
    pub blob_url: String,
    /// The manifest directory as the plan's origins spell it.
    pub dir: PathBuf,
    /// That directory relative to the repository root, `/`-separated; empty at the root.
    pub dir_in_repo: String,
}

impl ManifestLinks {
    /// `origin` as the repository spells it (`manifests/acme.yaml:5:5`) and the URL of its line
    /// at the commit; `None` for a file outside the manifest directory.
    pub fn locate(&self, origin: &Origin) -> Option<(String, String)> {
        // The loader spells files in the current directory without a leading `./`.
        let inside = if self.dir == Path::new(".") || self.dir.as_os_str().is_empty() {
            Some(&*origin.file).filter(|file| file.is_relative())?
        } else {
            origin.file.strip_prefix(&self.dir).ok()?
        };
        let mut path: Vec<String> = self
            .dir_in_repo
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(str::to_owned)
            .collect();
        for component in inside.components() {
            match component {
                Component::Normal(name) => path.push(name.to_string_lossy().into_owned()),
                Component::CurDir => {}
                _ => return None,
            }
        }
        let encoded: Vec<String> = path.iter().map(|s| encode_segment(s)).collect();
        let url = format!(
            "{}/{}#L{}",
            self.blob_url.trim_end_matches('/'),
            encoded.join("/"),
            origin.line
        );
        let shown = format!("{}:{}:{}", path.join("/"), origin.line, origin.column);
        Some((shown, url))
    }
}

/// A path segment as a URL holds it: unreserved characters as they are, the rest
/// percent-encoded byte by byte.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Writes `plan` to `out` in `format`.
pub fn render(plan: &Plan, format: Format, out: &mut impl Write, style: &Style) -> io::Result<()> {
    match format {
        Format::Text => plan_text::render(plan, out, style),
        Format::Json => plan_json::render(plan, out),
        Format::Markdown => plan_markdown::render(plan, out, style.manifest_links.as_ref()),
    }
}

/// `1 change`, `2 changes`.
pub(crate) fn count<N>(n: N, singular: &str, plural: &str) -> String
where
    N: std::fmt::Display + PartialEq + From<u8>,
{
    let word = if n == N::from(1) { singular } else { plural };
    format!("{n} {word}")
}

#[cfg(test)]
mod tests;
