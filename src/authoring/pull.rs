//! `pull`: what SLASCONE holds for the managed fields, written back into the manifests in place.
//!
//! Pure: [`pull`] reads the plan `plan` shows (its updates carry, per field, SLASCONE's value as
//! `before` and the manifest's as `after`) and the loaded manifests (where each value is
//! written), and decides per differing value where it is written and what to write there, or why
//! it is left alone. [`FilePull::edit`] then rewrites one file's text through [`super::edit`],
//! which changes only the bytes of each value and refuses values others share; [`render`] reports
//! the result into any writer and [`unified_diff`] shows a file's change. Reading and writing the
//! files is the command's job.
//!
//! What is not pulled, and why:
//! - fields the manifest does not write: values a license takes from its edition, and fields
//!   under `ignore_changes` (the plan leaves those out already);
//! - a license SLASCONE has under another customer: moving its entry is left to do by hand, so
//!   none of its values is rewritten;
//! - an `expires` that changes form (a date, `never`, `days_after_activation`), a list
//!   (`constrained_variables`), and a value SLASCONE does not have (there is no text to write):
//!   only a single value of the same form is rewritten;
//! - a value from an anchor, an alias or a `<<` merge, a block scalar or a tagged value: refused
//!   by the editor, since rewriting it would change other places too, or the style it is written
//!   in;
//! - objects SLASCONE does not have (apply creates them), listed as such; remote objects no
//!   manifest mentions are listed, with `export` as the way to write them.

use crate::text::shown;
use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

use super::edit::{self, Edit, NewValue, Outcome, ParseError, Place, Position};
use crate::dates::parse_date;
use crate::manifest::{Contact, Customer, Digest, License, Manifests, Written, digest};
use crate::model::fields::{Names, Type};
use crate::model::{Kind, NO_SOFTWARE_RELEASE, Origin, display_value, entry_of};
use crate::plan::{Action, Change, FieldChange, Plan, Unmanaged};

/// What `pull` does to the manifests.
#[derive(Debug, Clone, PartialEq)]
pub struct Pull {
    /// The files holding values SLASCONE has otherwise, sorted by path.
    pub files: Vec<FilePull>,
    /// Objects the manifests describe that SLASCONE does not have: nothing to pull from.
    pub missing: Vec<Missing>,
    /// Remote objects no manifest mentions, from the plan.
    pub unmanaged: Vec<Unmanaged>,
}

/// The values of one manifest file that SLASCONE holds otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePull {
    /// As the loader names it (and origins do).
    pub file: Arc<Path>,
    /// In file order.
    pub values: Vec<Difference>,
}

/// One managed value that SLASCONE holds otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub kind: Kind,
    /// The object's key, as the plan names it.
    pub key: String,
    /// The field path, as the plan names it: `city`, `limitations.Users`.
    pub path: String,
    /// Where the value is written; for a license that moved, the license's entry.
    pub origin: Origin,
    /// The manifest's value.
    pub manifest: Json,
    /// SLASCONE's value.
    pub remote: Json,
    pub fate: Fate,
}

/// What becomes of a [`Difference`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// To be written with this edit.
    Pending(Edit),
    /// Written: the manifest now says what SLASCONE holds.
    Pulled,
    /// Left as it is, for this reason (for people).
    Skipped(String),
}

/// An object of the manifests that SLASCONE does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub kind: Kind,
    pub key: String,
    pub origin: Option<Origin>,
}

/// The field path of a license that names its owning customer.
const CUSTOMER_FIELD: &str = crate::model::fields::OWNER;
/// The field path of a license's edition, written apart from its other fields.
const EDITION_FIELD: &str = "edition";
/// The key of `expires` as a mapping.
const DAYS_AFTER_ACTIVATION: &str = "days_after_activation";

/// Decides, for every managed value the plan would change, what `pull` writes in its place so
/// that the manifest says what SLASCONE holds, or why it leaves it.
pub fn pull(manifests: &Manifests, plan: &Plan) -> Pull {
    let objects = Objects::of(manifests);
    let mut missing = Vec::new();
    let mut by_file: HashMap<Arc<Path>, Vec<Difference>> = HashMap::new();
    for change in &plan.changes {
        match change.action {
            Action::Create => missing.push(Missing {
                kind: change.kind(),
                key: change.key.clone(),
                origin: change.origin.clone(),
            }),
            Action::Update => {
                for difference in differences(change, &objects) {
                    by_file
                        .entry(difference.origin.file.clone())
                        .or_default()
                        .push(difference);
                }
            }
        }
    }
    let mut files: Vec<FilePull> = by_file
        .into_iter()
        .map(|(file, mut values)| {
            values.sort_by(|a, b| {
                (a.origin.line, a.origin.column, &a.path).cmp(&(
                    b.origin.line,
                    b.origin.column,
                    &b.path,
                ))
            });
            FilePull { file, values }
        })
        .collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    Pull {
        files,
        missing,
        unmanaged: plan.unmanaged.clone(),
    }
}

/// The manifest objects, by kind and where their entry starts (as changes give their origin).
struct Objects<'m>(HashMap<(Kind, &'m Origin), Object<'m>>);

#[derive(Clone, Copy)]
enum Object<'m> {
    Customer(&'m Customer),
    License(&'m License),
    Contact(&'m Contact),
}

impl<'m> Objects<'m> {
    fn of(manifests: &'m Manifests) -> Self {
        let mut objects = HashMap::new();
        for customer in &manifests.customers {
            objects.insert(
                (Kind::Customer, &customer.origin),
                Object::Customer(customer),
            );
            for license in &customer.licenses {
                objects.insert((Kind::License, &license.origin), Object::License(license));
            }
            for contact in &customer.contacts {
                objects.insert((Kind::Contact, &contact.origin), Object::Contact(contact));
            }
        }
        Objects(objects)
    }

    fn get(&self, change: &Change) -> Option<Object<'m>> {
        let origin = change.origin.as_ref()?;
        self.0.get(&(change.kind(), origin)).copied()
    }
}

/// The values of one update's object, each with its fate. Values the license's edition gives
/// are not the manifest's, and are left out.
fn differences(change: &Change, objects: &Objects<'_>) -> Vec<Difference> {
    let Some(object) = objects.get(change) else {
        return Vec::new();
    };
    let fields = change.fields.iter().filter(|field| field.source.is_none());
    let difference = |field: &FieldChange, origin: Origin, fate: Fate| Difference {
        kind: change.kind(),
        key: change.key.clone(),
        path: field.path.clone(),
        origin,
        manifest: field.after.clone(),
        remote: field.before.clone(),
        fate,
    };
    if let Object::License(license) = object
        && let Some(moved) = change.fields.iter().find(|f| f.path == CUSTOMER_FIELD)
    {
        // A license in the wrong customer's list: no value of it is rewritten.
        let owner = moved
            .before
            .as_str()
            .map_or_else(|| moved.before.to_string(), str::to_owned);
        let reason = format!(
            "SLASCONE has this license under customer {owner}; moving its entry to that \
             customer's `licenses` is left to do by hand, so none of its values is pulled"
        );
        return vec![difference(
            moved,
            license.origin.clone(),
            Fate::Skipped(reason),
        )];
    }
    fields
        .filter_map(|field| {
            let spot = spot(object, &field.path)?;
            let at = Position {
                line: spot.origin.line,
                column: spot.origin.column,
            };
            let fate = match to_write(spot.ty, spot.names, &field.before, &spot.written) {
                Ok(NewText::Value(value)) => Fate::Pending(Edit {
                    at: (spot.place)(at),
                    value,
                }),
                Ok(NewText::DaysAfterActivation(days)) => Fate::Pending(Edit {
                    at: Place::Entry {
                        mapping: at,
                        key: DAYS_AFTER_ACTIVATION.to_owned(),
                    },
                    value: NewValue::Integer(days),
                }),
                Err(reason) => Fate::Skipped(reason),
            };
            Some(difference(field, spot.origin.clone(), fate))
        })
        .collect()
}

/// Where and how a field's value is written in a manifest entry.
struct Spot<'m> {
    origin: &'m Origin,
    /// The value as the manifest writes it.
    written: Json,
    ty: Type,
    /// The catalog list the value names, if it names something.
    names: Option<Names>,
    /// How an edit names the value, given the position it is located at: map entries are
    /// located at their key.
    place: fn(Position) -> Place,
}

/// Where the value of `path` is written in `object`, if the manifest writes it.
fn spot<'m>(object: Object<'m>, path: &str) -> Option<Spot<'m>> {
    let field = |fields: &'m [Written]| {
        let (field, value) = fields.iter().find(|(field, _)| field.name == path)?;
        Some(Spot {
            origin: &value.origin,
            written: value.value.clone(),
            ty: field.ty,
            names: field.names,
            place: Place::Value,
        })
    };
    match object {
        Object::Customer(customer) => field(&customer.fields),
        Object::Contact(contact) => field(&contact.fields),
        Object::License(license) if path == EDITION_FIELD => Some(Spot {
            origin: &license.edition.origin,
            written: Json::String(license.edition.value.clone()),
            ty: Type::Name,
            names: Some(Names::Edition),
            place: Place::Value,
        }),
        Object::License(license) => match entry_of(path) {
            Some((map, name)) => {
                let entry = (license.entries.iter())
                    .find(|entry| entry.map.name == map && entry.name == name)?;
                Some(Spot {
                    origin: &entry.value.origin,
                    written: entry.value.value.clone(),
                    ty: entry.map.value,
                    names: Some(entry.map.names),
                    place: Place::ValueOfKey,
                })
            }
            None => field(&license.fields),
        },
    }
}

/// What to write for a value of type `ty`.
enum NewText {
    Value(NewValue),
    /// The number of `expires: { days_after_activation: N }`.
    DaysAfterActivation(i64),
}

/// What makes a manifest value of type `ty`, now `written`, read as SLASCONE's `remote`; or why
/// it cannot be written in its place.
fn to_write(
    ty: Type,
    names: Option<Names>,
    remote: &Json,
    written: &Json,
) -> Result<NewText, String> {
    let no_value = || {
        "SLASCONE holds no value for it, and a manifest cannot write none: delete the line to \
         stop managing the field, or keep it to restore the value with apply"
            .to_owned()
    };
    let unexpected = || format!("SLASCONE's value {remote} is not what the field holds");
    let value = match (ty, remote) {
        (Type::Text | Type::Name, Json::Null) if names == Some(Names::SoftwareRelease) => {
            NewValue::Text(NO_SOFTWARE_RELEASE.to_owned())
        }
        (Type::Text | Type::Name, Json::String(text)) => NewValue::Text(text.clone()),
        (Type::Count, Json::Number(number)) => {
            NewValue::Integer(number.as_i64().ok_or_else(unexpected)?)
        }
        (Type::Bool, Json::Bool(flag)) => NewValue::Bool(*flag),
        (Type::Date, Json::String(day)) => NewValue::Date(parse_date(day).ok_or_else(unexpected)?),
        (Type::Expires, _) => return expires(remote, written),
        (Type::TextList, _) => {
            return Err(
                "a list of values is left to edit by hand: pull rewrites single values".to_owned(),
            );
        }
        (_, Json::Null) => return Err(no_value()),
        _ => return Err(unexpected()),
    };
    Ok(NewText::Value(value))
}

/// `expires` keeps its form: a date stays a date and a mapping a mapping (`never` to `never`
/// is no change).
fn expires(remote: &Json, written: &Json) -> Result<NewText, String> {
    let form = |value: &Json| match value {
        Json::String(text) if text == "never" => "`never`",
        Json::String(_) => "a date",
        Json::Object(_) => "`days_after_activation`",
        _ => "no value",
    };
    let days = |value: &Json| value.get(DAYS_AFTER_ACTIVATION).and_then(Json::as_i64);
    match (written, remote) {
        (Json::String(old), Json::String(new)) if old != "never" && new != "never" => {
            parse_date(new)
                .map(|date| NewText::Value(NewValue::Date(date)))
                .ok_or_else(|| format!("SLASCONE's `expires` {new} is not a date"))
        }
        (Json::Object(_), Json::Object(_)) => days(remote)
            .map(NewText::DaysAfterActivation)
            .ok_or_else(|| format!("SLASCONE's `expires` {remote} has no days_after_activation")),
        _ => Err(format!(
            "`expires` changes form, from {} to {}: only a value of the same form is rewritten \
             in place, so this is left to edit by hand",
            form(written),
            form(remote)
        )),
    }
}

impl FilePull {
    /// Rewrites `text`, the file as it was read, with every pending edit: returns the new text
    /// and marks each value pulled, or skipped with the editor's reason (a value others share,
    /// a block scalar, ...). Fails only when `text` does not parse.
    pub fn edit(&mut self, text: &str) -> Result<String, ParseError> {
        let pending: Vec<(usize, Edit)> = self
            .values
            .iter()
            .enumerate()
            .filter_map(|(index, value)| match &value.fate {
                Fate::Pending(edit) => Some((index, edit.clone())),
                _ => None,
            })
            .collect();
        let edits: Vec<Edit> = pending.iter().map(|(_, edit)| edit.clone()).collect();
        let (out, outcomes) = edit::apply(text, &edits)?;
        for ((index, _), outcome) in pending.into_iter().zip(outcomes) {
            self.values[index].fate = match outcome {
                Outcome::Edited => Fate::Pulled,
                Outcome::Unchanged => {
                    Fate::Skipped("the file already holds SLASCONE's value".to_owned())
                }
                Outcome::Skipped(reason) => Fate::Skipped(reason),
            };
        }
        Ok(out)
    }

    /// How many values were pulled.
    pub fn pulled(&self) -> usize {
        self.values
            .iter()
            .filter(|value| value.fate == Fate::Pulled)
            .count()
    }
}

impl Pull {
    /// How many values were pulled, in all files.
    pub fn pulled(&self) -> usize {
        self.files.iter().map(FilePull::pulled).sum()
    }

    /// How many values were left as they are, in all files.
    pub fn skipped(&self) -> usize {
        self.files
            .iter()
            .flat_map(|file| &file.values)
            .filter(|value| matches!(value.fate, Fate::Skipped(_)))
            .count()
    }
}

/// How many unmanaged objects the report names before it only counts the rest.
const UNMANAGED_SHOWN: usize = 10;

/// The report: per file the values pulled and those left as they are, then the objects
/// SLASCONE does not have, the remote objects no manifest mentions, and a summary line. With
/// `dry_run`, what would be pulled.
pub fn render(pull: &Pull, dry_run: bool, out: &mut dyn io::Write) -> io::Result<()> {
    for file in &pull.files {
        writeln!(out, "{}", shown(&file.file.display().to_string()))?;
        for value in &file.values {
            let what = format!(
                "{} {} {}: {} → {}",
                value.kind,
                shown(&value.key),
                shown(&value.path),
                display_value(&value.manifest),
                display_value(&value.remote)
            );
            let at = format!("line {}", value.origin.line);
            match &value.fate {
                Fate::Pulled | Fate::Pending(_) => writeln!(out, "  ~ {what} ({at})")?,
                Fate::Skipped(reason) => {
                    writeln!(out, "  ! {what} ({at}) not pulled: {}", shown(reason))?;
                }
            }
        }
    }
    if !pull.files.is_empty() {
        writeln!(out)?;
    }
    if !pull.missing.is_empty() {
        writeln!(
            out,
            "Not in SLASCONE, so nothing to pull (apply creates them):"
        )?;
        for missing in &pull.missing {
            match &missing.origin {
                Some(origin) => writeln!(
                    out,
                    "  + {} {} ({})",
                    missing.kind,
                    shown(&missing.key),
                    shown(&origin.to_string())
                )?,
                None => writeln!(out, "  + {} {}", missing.kind, shown(&missing.key))?,
            }
        }
    }
    if !pull.unmanaged.is_empty() {
        let mut names: Vec<String> = pull
            .unmanaged
            .iter()
            .take(UNMANAGED_SHOWN)
            .map(|unmanaged| format!("{} {}", unmanaged.kind, shown(&unmanaged.key)))
            .collect();
        let rest = pull.unmanaged.len().saturating_sub(UNMANAGED_SHOWN);
        if rest > 0 {
            names.push(format!("and {rest} more"));
        }
        writeln!(
            out,
            "{} in SLASCONE that no manifest mentions, not pulled (`slascone-sync export` writes \
             them as manifests): {}",
            count(pull.unmanaged.len(), "object", "objects"),
            names.join(", ")
        )?;
    }
    let pulled = pull.pulled();
    let pending = pull
        .files
        .iter()
        .flat_map(|file| &file.values)
        .filter(|value| matches!(value.fate, Fate::Pending(_)))
        .count();
    let skipped = pull.skipped();
    let files = pull
        .files
        .iter()
        .filter(|file| {
            file.values
                .iter()
                .any(|value| matches!(value.fate, Fate::Pulled | Fate::Pending(_)))
        })
        .count();
    let values = count(pulled + pending, "value", "values");
    let mut last = match (pulled + pending, dry_run) {
        (0, _) => "Nothing to pull".to_owned(),
        (_, true) => format!("Would pull {values} into {}", count(files, "file", "files")),
        (_, false) => format!("Pulled {values} into {}", count(files, "file", "files")),
    };
    if skipped > 0 {
        last.push_str(&format!("; {skipped} not pulled"));
    }
    last.push('.');
    writeln!(out, "{last}")
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Whether a file's bytes `now` are still those whose digest was `read`: `pull` writes a file
/// only then, so that it never overwrites what someone saved meanwhile.
pub fn still_as_read(read: &Digest, now: &[u8]) -> bool {
    digest(now) == *read
}

/// A unified diff of one file, `before` → `after`, with the file's name on both header lines
/// and three lines of context.
pub fn unified_diff(file: &Path, before: &str, after: &str) -> String {
    let name = file.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&name, &name)
        .to_string()
}

#[cfg(test)]
mod tests;
