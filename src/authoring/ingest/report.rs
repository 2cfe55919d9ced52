//! What `ingest` did (or, in a dry run, would do), for people: per file the values set and the
//! licenses added, the new files, what a full export lacks, what was left alone, and the counts.

use std::collections::HashSet;
use std::io;

use super::{Fate, Ingest};
use crate::model::{Kind, display_value};
use crate::render::count;
use crate::text::shown;

/// The report into any writer.
pub fn render(ingest: &Ingest, dry_run: bool, out: &mut dyn io::Write) -> io::Result<()> {
    for file in &ingest.files {
        writeln!(out, "{}", shown(&file.file.display().to_string()))?;
        for value in &file.values {
            let what = format!(
                "{} {} {}: {} → {}",
                value.kind,
                shown(&value.key),
                shown(&value.path),
                value
                    .before
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), display_value),
                display_value(&value.after)
            );
            let at = format!("line {}", value.origin.line);
            match &value.fate {
                Fate::Skipped(reason) => {
                    writeln!(out, "  ! {what} ({at}) not written: {}", shown(reason))?;
                }
                _ => writeln!(out, "  ~ {what} ({at})")?,
            }
        }
        for added in &file.added {
            let what = format!(
                "license {} for customer {} ({})",
                shown(&added.key),
                shown(&added.customer),
                shown(&added.cell)
            );
            match &added.fate {
                Fate::Skipped(reason) => {
                    writeln!(out, "  ! {what} not written: {}", shown(reason))?;
                }
                _ => writeln!(out, "  + {what}")?,
            }
        }
    }
    for file in &ingest.new_files {
        writeln!(out, "{} (new)", shown(&file.path.display().to_string()))?;
        writeln!(
            out,
            "  + customer {} with {} ({})",
            shown(&file.customer),
            count(file.licenses, "license", "licenses"),
            shown(&file.row)
        )?;
    }
    if !ingest.missing.is_empty() {
        writeln!(
            out,
            "Not in the export, which is a full one (nothing is deleted; `--partial` reads an \
             export of changes only):"
        )?;
        for missing in &ingest.missing {
            let deactivated = if missing.deactivated {
                if dry_run {
                    ", would get active: false"
                } else {
                    ", active: false"
                }
            } else {
                ""
            };
            writeln!(
                out,
                "  - {} {} ({}){deactivated}",
                missing.kind,
                shown(&missing.key),
                shown(&missing.origin.to_string())
            )?;
        }
    }
    if !ingest.notes.is_empty() {
        writeln!(out, "Left as they are:")?;
        for note in &ingest.notes {
            writeln!(
                out,
                "  ! {} {} ({}): {}",
                note.kind,
                shown(&note.key),
                shown(&note.origin.to_string()),
                shown(&note.message)
            )?;
        }
    }
    writeln!(out, "{}", summary(ingest, dry_run))
}

/// `Customers: 1 created, 2 changed, 3 unchanged, 0 missing. Licenses: ...`, or in a dry run
/// `Would write ...`.
fn summary(ingest: &Ingest, dry_run: bool) -> String {
    let deactivated: HashSet<(Kind, &str)> = ingest
        .missing
        .iter()
        .map(|missing| (missing.kind, missing.key.as_str()))
        .collect();
    let mut changed: HashSet<(Kind, &str)> = HashSet::new();
    let mut added = 0;
    for file in &ingest.files {
        for value in file
            .values
            .iter()
            .filter(|v| !matches!(v.fate, Fate::Skipped(_)))
        {
            if !deactivated.contains(&(value.kind, value.key.as_str())) {
                changed.insert((value.kind, value.key.as_str()));
            }
        }
        added += file
            .added
            .iter()
            .filter(|a| !matches!(a.fate, Fate::Skipped(_)))
            .count();
    }
    let of = |kind: Kind| changed.iter().filter(|(k, _)| *k == kind).count();
    let missing = |kind: Kind| ingest.missing.iter().filter(|m| m.kind == kind).count();
    let new_licenses: usize = ingest.new_files.iter().map(|file| file.licenses).sum();
    let line = |what: &str, created: usize, changed: usize, unchanged: usize, missing: usize| {
        format!(
            "{what}: {} created, {} changed, {} unchanged, {} missing.",
            crate::render::thousands(created),
            crate::render::thousands(changed),
            crate::render::thousands(unchanged),
            crate::render::thousands(missing)
        )
    };
    format!(
        "{}{} {}",
        if dry_run {
            "Dry run (nothing written). "
        } else {
            ""
        },
        line(
            "Customers",
            ingest.new_files.len(),
            of(Kind::Customer),
            ingest.unchanged.customers,
            missing(Kind::Customer)
        ),
        line(
            "Licenses",
            new_licenses + added,
            of(Kind::License),
            ingest.unchanged.licenses,
            missing(Kind::License)
        )
    )
}
