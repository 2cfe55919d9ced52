//! `ingest`: an ERP or CRM export merged into the manifest tree in place.
//!
//! Pure, but for reading the files it is handed: [`records`] turns the export's rows into typed
//! values by the mapping, [`merge()`] finds each customer and license in the loaded manifests by
//! its identity and decides what to write (a value rewritten in place, a key or a license added
//! beside what is there, a new file for a new customer), and [`FileChange::rewrite`] makes one
//! file's new text through [`super::edit`] and reads it back with the manifest checker: a file
//! whose new text does not hold exactly what was meant is never written. Writing the files is the
//! command's job.
//!
//! The mapping owns the fields it names: they get the export's values. Everything else a
//! manifest says (comments, order, quoting, fields the mapping does not name, `ignore_changes`)
//! stays as it is. Nothing is deleted: what a full export lacks is named, and with the mapping's
//! `missing: deactivate` a license it lacks gets `active: false`.

mod merge;
pub mod records;
mod report;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::edit::{self, Edit, Insert, ParseError};
use crate::manifest::mapping::Target;
use crate::model::{Kind, Origin};

pub use merge::merge;
pub use report::render;

/// One row of an export, read: the values its mapped cells hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The row, for messages: `export.csv:7`, `export.xlsx:Kunden!7:7`.
    pub row: String,
    /// A CSV row's first cell, so that its problems sort with those of its cells.
    pub origin: Option<Origin>,
    /// The mapped cells that hold a value (an empty cell leaves its field as it is).
    pub cells: Vec<Cell>,
    /// No cell of the row was refused: a row with a refused cell lacks that cell's value, which
    /// is not a problem of its own.
    pub sound: bool,
}

/// One mapped cell's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub target: Target,
    /// As the model holds it: text, a count, a flag, a day.
    pub value: Json,
    /// Where the value comes from, for messages: formatted only when a message names it, since
    /// an export has millions of cells.
    pub at: Source,
}

impl Incoming {
    pub fn get(&self, target: &Target) -> Option<&Cell> {
        self.cells.iter().find(|cell| cell.target == *target)
    }

    fn text(&self, path: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|cell| cell.target.path() == path)
            .and_then(|cell| cell.value.as_str())
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The export's cell: `export.csv:7:3`, `export.xlsx:Kunden!C7`.
    Cell(crate::authoring::table::Place),
    /// A rule of the mapping: `missing: deactivate`.
    Rule(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Cell(place) => place.fmt(f),
            Source::Rule(rule) => f.write_str(rule),
        }
    }
}

/// How a merge treats what the export lacks, and which paths are taken.
pub struct Options<'a> {
    /// The export holds changes only: nothing it lacks is missing.
    pub partial: bool,
    /// Whether a path (relative to the manifest directory) is taken already, so that a new
    /// customer's file never overwrites another file.
    pub taken: &'a dyn Fn(&Path) -> bool,
    /// The manifest directory holds `schema/` (as `import-csv` and `export` write it): new
    /// files point their editors at it.
    pub schema_dir: bool,
}

/// What an export does to the manifest tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingest {
    /// Existing files to rewrite, by path.
    pub files: Vec<FileChange>,
    /// New customers' files, by path.
    pub new_files: Vec<NewFile>,
    /// Objects of the tree a full export lacks.
    pub missing: Vec<Missing>,
    /// What was left alone, and why.
    pub notes: Vec<Note>,
    /// Customers and licenses the export holds as the tree does.
    pub unchanged: Counts,
}

/// How many customers and licenses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub customers: usize,
    pub licenses: usize,
}

/// One existing manifest file and what the export changes in it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileChange {
    /// As the loader names it (and origins do).
    pub file: Arc<Path>,
    /// Values set, in the order they were found.
    pub values: Vec<ValueChange>,
    /// Licenses added to a customer of this file.
    pub added: Vec<Added>,
    /// The customers of this file as loaded, to check the new text against; only where an
    /// insert changes the file (see [`FileChange::inserts`]).
    before: Vec<verify::Customer>,
}

/// One value the export sets.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    pub kind: Kind,
    /// The object's key: `K001`, `Argus/SUB-1`.
    pub key: String,
    /// The field path: `city`, `limitations.Users`.
    pub path: String,
    /// The manifest's value; `None` where the manifest does not write the field.
    pub before: Option<Json>,
    pub after: Json,
    /// Where the value is written, or the object's entry where it is added.
    pub origin: Origin,
    /// The export's cell.
    pub cell: String,
    pub fate: Fate,
    /// The customer (its index among the file's customers) and the license it belongs to.
    at: (usize, Option<usize>),
    how: How,
}

/// What becomes of a value or an added license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// To be written.
    Pending,
    /// In the new text.
    Written,
    /// Left as it is, for this reason (for people).
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq)]
enum How {
    Edit(Edit),
    Insert(Insert),
}

/// A license added to a customer of an existing file.
#[derive(Debug, Clone, PartialEq)]
pub struct Added {
    /// `Argus/SUB-9`.
    pub key: String,
    /// The customer's key.
    pub customer: String,
    /// The customer's entry.
    pub origin: Origin,
    pub cell: String,
    pub fate: Fate,
    /// The customer's index among the file's customers.
    customer_index: usize,
    license: verify::License,
    insert: Insert,
}

/// A new customer's manifest file.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    /// Relative to the manifest directory.
    pub path: PathBuf,
    pub text: String,
    pub customer: String,
    pub licenses: usize,
    /// The export's row.
    pub row: String,
}

/// A customer or license of the tree that a full export lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub kind: Kind,
    pub key: String,
    pub origin: Origin,
    /// `active: false` is written on it (`missing: deactivate`).
    pub deactivated: bool,
}

/// Something the export says that was left alone, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub kind: Kind,
    pub key: String,
    pub origin: Origin,
    pub message: String,
}

impl FileChange {
    /// The file's new text from `text`, the file as it was read: every pending value and
    /// license written, each marked written or skipped with the editor's reason. The new text is
    /// read back with the manifest checker and must hold exactly the values and licenses marked
    /// written, and everything else as before; otherwise this fails and nothing of the file may
    /// be written.
    pub fn rewrite(&mut self, text: &str) -> anyhow::Result<String> {
        let mut edits = Vec::new();
        let mut inserts = Vec::new();
        for value in &self.values {
            match &value.how {
                How::Edit(edit) => edits.push(edit.clone()),
                How::Insert(insert) => inserts.push(insert.clone()),
            }
        }
        inserts.extend(self.added.iter().map(|added| added.insert.clone()));
        debug_assert_eq!(!inserts.is_empty(), self.inserts());
        let edited = edit::apply_with_inserts(text, &edits, &inserts, &merge::key_rank)
            .map_err(|err: ParseError| self.error(&err.to_string()))?;
        let mut outcomes = edited.outcomes.into_iter();
        let mut failures = edited.inserts.into_iter();
        for value in &mut self.values {
            value.fate = match &value.how {
                How::Edit(_) => match outcomes.next() {
                    Some(edit::Outcome::Skipped(reason)) => Fate::Skipped(reason),
                    _ => Fate::Written,
                },
                How::Insert(_) => match failures.next().flatten() {
                    Some(reason) => Fate::Skipped(reason),
                    None => Fate::Written,
                },
            };
        }
        for added in &mut self.added {
            added.fate = match failures.next().flatten() {
                Some(reason) => Fate::Skipped(reason),
                None => Fate::Written,
            };
        }
        // Rewrites alone were read back by the editor, event by event; what an insert wrote is
        // read back here, with everything else the file holds.
        if !inserts.is_empty() {
            let expected = verify::expected(&self.before, &self.values, &self.added);
            let read =
                crate::manifest::check_str(&self.file, &edited.text).map_err(|problems| {
                    self.error(&format!(
                        "the new text does not read as manifests: {problems}"
                    ))
                })?;
            if verify::customers(&read) != expected {
                return Err(self.error(
                    "the new text does not hold exactly the values meant; nothing of it is \
                     written",
                ));
            }
        }
        Ok(edited.text)
    }

    /// Whether a key or a license is added to the file, so that its new text is read back whole.
    fn inserts(&self) -> bool {
        !self.added.is_empty()
            || self
                .values
                .iter()
                .any(|value| matches!(value.how, How::Insert(_)))
    }

    fn error(&self, message: &str) -> anyhow::Error {
        anyhow::anyhow!("{}: {message}", self.file.display())
    }

    /// How many values and licenses are written.
    pub fn written(&self) -> usize {
        self.values
            .iter()
            .filter(|value| value.fate == Fate::Written)
            .count()
            + self
                .added
                .iter()
                .filter(|added| added.fate == Fate::Written)
                .count()
    }
}

impl Ingest {
    /// Marks everything of `file` skipped for `reason` (the file changed since it was read).
    pub fn skip_file(&mut self, file: &Path, reason: &str) {
        for change in self.files.iter_mut().filter(|c| &*c.file == file) {
            for value in &mut change.values {
                value.fate = Fate::Skipped(reason.to_owned());
            }
            for added in &mut change.added {
                added.fate = Fate::Skipped(reason.to_owned());
            }
        }
    }
}
