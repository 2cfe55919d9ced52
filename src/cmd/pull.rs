//! `slascone-sync pull`: read SLASCONE as plan does, and write its values of the managed fields
//! back into the manifest files in place; with `--dry-run`, show the diff and write nothing.
//!
//! A file is rewritten only while it holds the bytes the manifests were loaded from: one that
//! changed since (someone saved it meanwhile) is left alone and named, with exit 3, while the
//! other files are still written. Each file is written atomically.

use std::path::Path;

use anyhow::Context;

use crate::authoring::pull::{self, Fate, FilePull};
use crate::cli::{GlobalArgs, PullArgs};
use crate::engine::UsageReads;
use crate::exit::Outcome;
use crate::manifest::Digest;
use crate::render::Format;

use super::{connect_and_plan, load_manifests, progress_events, write_rendering};

pub async fn run(global: &GlobalArgs, args: &PullArgs) -> anyhow::Result<Outcome> {
    run_with(global, args, &mut |_| {}).await
}

/// [`run`], calling `before_write` with each file's path after its new text is made and before
/// it is checked and written: where a test changes a file, as someone saving it while `pull`
/// runs would.
pub async fn run_with(
    global: &GlobalArgs,
    args: &PullArgs,
    before_write: &mut dyn FnMut(&Path),
) -> anyhow::Result<Outcome> {
    let Some(manifests) = load_manifests(&args.dir, global, &progress_events()) else {
        return Ok(Outcome::Error);
    };
    // Planning takes the manifests apart; pull needs them whole, to find where values stand.
    let loaded = manifests.clone();
    let Some(planned) = connect_and_plan(global, manifests, &args.read, UsageReads::Skip).await?
    else {
        return Ok(Outcome::Error);
    };
    let mut pull = pull::pull(&loaded, &planned.plan);
    let mut changed = Vec::new();
    let mut diffs = String::new();
    for file in &mut pull.files {
        let read = loaded
            .digests
            .get(&file.file)
            .with_context(|| format!("{} was not read with the manifests", file.file.display()))?;
        let done = if args.dry_run {
            match dry_run(file, read)? {
                Some(diff) => {
                    diffs.push_str(&diff);
                    Done::Written
                }
                None => Done::Changed,
            }
        } else {
            write(file, read, before_write)?
        };
        if done == Done::Changed {
            changed.push(file.file.clone());
            for value in &mut file.values {
                if matches!(value.fate, Fate::Pending(_) | Fate::Pulled) {
                    value.fate = Fate::Skipped(
                        "the file changed since it was read, so it was not written".to_owned(),
                    );
                }
            }
        }
    }

    if args.dry_run {
        write_rendering(std::io::stdout().lock(), Format::Text, false, |out| {
            out.write_all(diffs.as_bytes())
        })?;
        write_rendering(std::io::stderr().lock(), Format::Text, false, |out| {
            pull::render(&pull, true, out)
        })?;
    } else {
        write_rendering(std::io::stdout().lock(), Format::Text, false, |out| {
            pull::render(&pull, false, out)
        })?;
    }
    if changed.is_empty() {
        return Ok(Outcome::Success);
    }
    for file in &changed {
        say!(
            "error: {} changed since pull read it, so it was not written; run pull again",
            crate::text::shown(&file.display().to_string())
        );
    }
    Ok(Outcome::Refused)
}

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    /// Written (in a dry run: shown), or there was nothing to write.
    Written,
    /// It no longer holds the bytes read: left alone.
    Changed,
}

/// The file's text as the manifests were loaded from it; `None` when it holds other bytes now.
fn read_as_loaded(file: &FilePull, read: &Digest) -> anyhow::Result<Option<String>> {
    let path = &file.file;
    let bytes = crate::fs::read_input(path, crate::manifest::MAX_FILE_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !pull::still_as_read(read, &bytes) {
        return Ok(None);
    }
    // The loader read these very bytes as UTF-8.
    String::from_utf8(bytes)
        .map(Some)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

/// The file's new text, with the values marked pulled or skipped.
fn edited(file: &mut FilePull, text: &str) -> anyhow::Result<String> {
    file.edit(text).map_err(|err| {
        anyhow::anyhow!(
            "{}:{}:{}: {}",
            file.file.display(),
            err.at.line,
            err.at.column,
            err.message
        )
    })
}

/// The unified diff of one file; `None` when it changed since it was read.
fn dry_run(file: &mut FilePull, read: &Digest) -> anyhow::Result<Option<String>> {
    let Some(text) = read_as_loaded(file, read)? else {
        return Ok(None);
    };
    let new = edited(file, &text)?;
    Ok(Some(pull::unified_diff(&file.file, &text, &new)))
}

/// Rewrites one file atomically, if it still holds the bytes read just before.
fn write(
    file: &mut FilePull,
    read: &Digest,
    before_write: &mut dyn FnMut(&Path),
) -> anyhow::Result<Done> {
    let Some(text) = read_as_loaded(file, read)? else {
        return Ok(Done::Changed);
    };
    let new = edited(file, &text)?;
    if new == text {
        return Ok(Done::Written);
    }
    let path = &file.file;
    before_write(path);
    // Once more just before writing: editing took a moment, and someone may have saved.
    let now = crate::fs::read_input(path, crate::manifest::MAX_FILE_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !pull::still_as_read(read, &now) {
        return Ok(Done::Changed);
    }
    crate::fs::write_atomically(path, new.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Done::Written)
}
