//! `slascone-sync ingest`: an ERP/CRM export merged into the manifests in place, offline; with
//! `--dry-run`, the diff and nothing written.
//!
//! Every problem of the mapping, the exports and the merge is found before anything is written,
//! and then nothing is. Every file's new text is made and read back before the first one is
//! written. A file is rewritten only while it holds the bytes the manifests were loaded from (one
//! that changed since is left alone and named, with exit 3), and each is written atomically; a
//! new customer's file never replaces a file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;

use crate::authoring::generate;
use crate::authoring::ingest::{self, FileChange, Incoming, Ingest, Options};
use crate::authoring::pull::{still_as_read, unified_diff};
use crate::authoring::table;
use crate::cli::{GlobalArgs, IngestArgs};
use crate::engine;
use crate::exit::Outcome;
use crate::manifest::mapping::{self, Mapping, Section};
use crate::manifest::{MAX_FILE_BYTES, Manifests, Problem, Problems};
use crate::render::Format;

use super::{print_manifest_problems, print_problems, progress_events, write_rendering};

pub fn run(global: &GlobalArgs, args: &IngestArgs) -> anyhow::Result<Outcome> {
    refuse_mapping_inside(&args.mapping, &args.dir)?;
    let mapping = match mapping::read(&args.mapping) {
        Ok(mapping) => mapping,
        Err(problems) => return Ok(nothing_written(&problems)),
    };
    if args.licenses.is_some() && mapping.licenses.is_none() {
        anyhow::bail!(
            "--licenses is given, but {} has no `licenses` section to read it by",
            args.mapping.display()
        );
    }
    // The manifests load while the exports are read: on a large tree each takes a while.
    let (loaded, exports) = std::thread::scope(|scope| {
        let loading =
            scope.spawn(|| engine::load(&args.dir, global.env.as_deref(), &progress_events()));
        let exports = read_exports(&mapping, args);
        (loading.join(), exports)
    });
    let loaded = loaded.map_err(|_| anyhow::anyhow!("loading the manifests stopped"))?;
    let ((customers, licenses), mut problems) = exports;
    let manifests = match loaded {
        Ok(manifests) => manifests,
        Err(manifest_problems) => {
            print_manifest_problems(&args.dir, global, manifest_problems);
            if !problems.is_empty() {
                return Ok(nothing_written(&Problems(problems)));
            }
            say!(
                "The manifests must be sound before an export is merged into them. Nothing was \
                 written."
            );
            return Ok(Outcome::Error);
        }
    };
    let taken = |path: &Path| args.dir.join(path).symlink_metadata().is_ok();
    let options = Options {
        partial: args.partial,
        taken: &taken,
        schema_dir: args
            .dir
            .join(generate::SCHEMA_DIR)
            .join("manifest.schema.json")
            .is_file(),
    };
    // Rows with a bad cell still take part, so that every problem of the export is named at
    // once: duplicates and unknown customers too.
    let merged = ingest::merge(
        &manifests,
        &mapping,
        &customers,
        licenses.as_deref(),
        &options,
    );
    let mut ingest = match merged {
        Ok(ingest) if problems.is_empty() => ingest,
        Ok(_) => return Ok(nothing_written(&Problems(problems))),
        Err(merge_problems) => {
            problems.extend(merge_problems.0);
            return Ok(nothing_written(&Problems(problems)));
        }
    };
    let (texts, changed) = new_texts(&mut ingest, &manifests)?;
    if args.dry_run {
        let mut diffs = String::new();
        for (file, before, after) in &texts {
            diffs.push_str(&unified_diff(file, before, after));
        }
        for file in &ingest.new_files {
            diffs.push_str(&unified_diff(&args.dir.join(&file.path), "", &file.text));
        }
        write_rendering(std::io::stdout().lock(), Format::Text, false, |out| {
            out.write_all(diffs.as_bytes())
        })?;
        write_rendering(std::io::stderr().lock(), Format::Text, false, |out| {
            ingest::render(&ingest, true, out)
        })?;
    } else {
        write_files(&texts, &ingest, &args.dir)?;
        write_rendering(std::io::stdout().lock(), Format::Text, false, |out| {
            ingest::render(&ingest, false, out)
        })?;
    }
    if changed.is_empty() {
        return Ok(Outcome::Success);
    }
    for file in &changed {
        say!(
            "error: {} changed since ingest read it, so it was not written; run ingest again",
            crate::text::shown(&file.display().to_string())
        );
    }
    Ok(Outcome::Refused)
}

/// Every `.yaml` below the manifest directory is read as manifests, a mapping file too.
fn refuse_mapping_inside(mapping: &Path, dir: &Path) -> anyhow::Result<()> {
    let (Ok(mapping), Ok(dir)) = (mapping.canonicalize(), dir.canonicalize()) else {
        // Whatever does not exist is named when it is read.
        return Ok(());
    };
    if mapping.starts_with(&dir) {
        return Err(crate::exit::Hinted {
            message: format!(
                "the mapping file {} is inside the manifest directory {}, where every .yaml \
                 file is read as manifests",
                mapping.display(),
                dir.display()
            ),
            hint: "keep it beside the manifest directory, e.g. erp/mapping.yaml next to \
                   slascone/"
                .to_owned(),
        }
        .into());
    }
    Ok(())
}

fn nothing_written(problems: &Problems) -> Outcome {
    print_problems(problems);
    say!("Nothing was written.");
    Outcome::Error
}

type Rows = (Vec<Incoming>, Option<Vec<Incoming>>);

/// The exports' rows, and every problem of both files.
fn read_exports(mapping: &Mapping, args: &IngestArgs) -> (Rows, Vec<Problem>) {
    let mut problems = Vec::new();
    let customers = read_export(&args.customers, mapping, &mapping.customers, &mut problems);
    let licenses = match (&args.licenses, &mapping.licenses) {
        (Some(file), Some(section)) => Some(read_export(file, mapping, section, &mut problems)),
        _ => None,
    };
    ((customers, licenses), problems)
}

fn read_export(
    file: &Path,
    mapping: &Mapping,
    section: &Section,
    problems: &mut Vec<Problem>,
) -> Vec<Incoming> {
    let format = table::Format {
        delimiter: mapping.format.delimiter,
        encoding: mapping.format.encoding.as_ref().map(|e| e.value.clone()),
        sheet: section.sheet.as_ref().map(|sheet| sheet.value.clone()),
        ..table::Format::default()
    };
    match table::read(file, &format, problems) {
        Some(table) => ingest::records::rows(&table, section, &mapping.format, problems),
        None => Vec::new(),
    }
}

type Texts = Vec<(PathBuf, String, String)>;

/// Each changed file's path, text as read and new text; and the files that changed since they
/// were loaded, left alone. Fails, before anything is written, when a new text does not read
/// back as meant.
fn new_texts(ingest: &mut Ingest, manifests: &Manifests) -> anyhow::Result<(Texts, Vec<PathBuf>)> {
    // Reading a file back is about as costly as loading it, so files are rewritten on all
    // cores, as they are loaded.
    let files: Vec<Mutex<FileChange>> = std::mem::take(&mut ingest.files)
        .into_iter()
        .map(Mutex::new)
        .collect();
    let rewritten = crate::fanout::on_cores(&files, |file| {
        let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        new_text(&mut file, manifests)
    });
    ingest.files = files
        .into_iter()
        .map(|file| {
            file.into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        })
        .collect();
    let mut texts = Vec::new();
    let mut changed = Vec::new();
    for result in rewritten {
        match result? {
            Rewritten::Text(path, before, after) if after != before => {
                texts.push((path, before, after));
            }
            Rewritten::Text(..) => {}
            Rewritten::ChangedSinceRead(path) => changed.push(path),
        }
    }
    for path in &changed {
        ingest.skip_file(
            path,
            "the file changed since it was read, so it was not written",
        );
    }
    Ok((texts, changed))
}

enum Rewritten {
    Text(PathBuf, String, String),
    ChangedSinceRead(PathBuf),
}

/// One file's text as read and its new text, unless it changed since it was loaded.
fn new_text(file: &mut FileChange, manifests: &Manifests) -> anyhow::Result<Rewritten> {
    let path = file.file.to_path_buf();
    let bytes = crate::fs::read_input(&path, MAX_FILE_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let read = manifests.digests.get(&file.file);
    if !read.is_some_and(|read| still_as_read(read, &bytes)) {
        return Ok(Rewritten::ChangedSinceRead(path));
    }
    let before =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let after = file.rewrite(&before)?;
    Ok(Rewritten::Text(path, before, after))
}

/// Writes every new text and every new file, each atomically, with one flush to disk.
fn write_files(texts: &Texts, ingest: &Ingest, dir: &Path) -> anyhow::Result<()> {
    let mut files: Vec<(PathBuf, &[u8])> = texts
        .iter()
        .map(|(path, _, after)| (path.clone(), after.as_bytes()))
        .collect();
    for file in &ingest.new_files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        // A file that appeared since the merge chose the name is never replaced.
        if path.symlink_metadata().is_ok() {
            anyhow::bail!(
                "{} appeared while ingest ran; nothing was written, run ingest again",
                path.display()
            );
        }
        files.push((path, file.text.as_bytes()));
    }
    let files: Vec<(&Path, &[u8])> = files.iter().map(|(p, b)| (p.as_path(), *b)).collect();
    crate::fs::write_all_atomically(&files).context("cannot write the manifests")
}
