//! Generated manifest directories, shared by `export` and `import-csv`: the serializable shape of
//! manifest and project files, safe file names, and writing a whole directory so that it is
//! either complete or not there at all.
//!
//! YAML goes through serde-saphyr's serializer rather than string templates, so values such as
//! `yes`, `null`, `123`, `a: b`, `# x` or leading spaces are quoted and read back as the same text.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use uuid::Uuid;

use crate::model::fields::Entity;
use crate::schema::SchemaKind;

/// Where the generated directory keeps the JSON Schemas its `$schema` lines point to. Written by
/// the binary itself, so editors validate against the schema of the version that wrote the files,
/// offline.
pub const SCHEMA_DIR: &str = "schema";
/// The directory of the per-customer manifest files.
pub const CUSTOMERS_DIR: &str = "customers";

/// One manifest document: `customers:` and nothing else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Document {
    pub customers: Vec<EntryOut>,
}

/// A customer or license as written to a manifest: its keys in the order the field
/// declarations give (`model::fields`), so every generated file reads alike. Fields not set are
/// left out of the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryOut {
    values: Vec<(&'static str, Out)>,
}

/// A value of an entry: a model value, or a list of entries (a customer's `licenses`).
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Value(serde_json::Value),
    List(Vec<EntryOut>),
}

impl EntryOut {
    /// Writes `name` (a field or map of the entity); later writes of the same name replace it.
    pub fn set(&mut self, name: &'static str, value: serde_json::Value) {
        self.put(name, Out::Value(value));
    }

    /// The value written for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.values.iter().find_map(|(key, value)| match value {
            Out::Value(value) if *key == name => Some(value),
            _ => None,
        })
    }

    /// Adds an entry to the list `name` (e.g. a license to `licenses`).
    pub fn push(&mut self, name: &'static str, entry: EntryOut) {
        match self.values.iter_mut().find(|(key, _)| *key == name) {
            Some((_, Out::List(list))) => list.push(entry),
            _ => self.put(name, Out::List(vec![entry])),
        }
    }

    /// The entries of the list `name`, to sort them.
    pub fn list_mut(&mut self, name: &str) -> Option<&mut Vec<EntryOut>> {
        self.values.iter_mut().find_map(|(key, value)| match value {
            Out::List(list) if *key == name => Some(list),
            _ => None,
        })
    }

    /// The number of entries in the list `name`.
    pub fn count(&self, name: &str) -> usize {
        self.values
            .iter()
            .find_map(|(key, value)| match value {
                Out::List(list) if *key == name => Some(list.len()),
                _ => None,
            })
            .unwrap_or(0)
    }

    fn put(&mut self, name: &'static str, value: Out) {
        match self.values.iter_mut().find(|(key, _)| *key == name) {
            Some((_, slot)) => *slot = value,
            None => self.values.push((name, value)),
        }
    }

    /// The values written, in order, without the lists.
    pub fn values(&self) -> impl Iterator<Item = (&'static str, &serde_json::Value)> {
        self.values.iter().filter_map(|(name, value)| match value {
            Out::Value(value) => Some((*name, value)),
            Out::List(_) => None,
        })
    }

    /// Sorts licenses in the order a customer's file lists them: by product, then legacy key.
    pub fn sort_licenses(licenses: &mut [EntryOut]) {
        licenses.sort_by_cached_key(|license| {
            (
                license.text("product").unwrap_or_default().to_owned(),
                license
                    .text("legacy_license_key")
                    .unwrap_or_default()
                    .to_owned(),
            )
        });
    }

    /// The text written for `name`, for sorting and file names.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(serde_json::Value::as_str)
    }

    /// The entry with its keys in declaration order of `entity`.
    pub fn ordered(mut self, entity: &Entity) -> EntryOut {
        let rank = |name: &str| {
            entity
                .keys()
                .position(|key| key == name)
                .unwrap_or(usize::MAX)
        };
        self.values.sort_by_key(|(name, _)| rank(name));
        self
    }
}

impl Serialize for EntryOut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (key, value) in &self.values {
            match value {
                Out::Value(value) => map.serialize_entry(key, value)?,
                Out::List(list) => map.serialize_entry(key, list)?,
            }
        }
        map.end()
    }
}

/// `slascone.yaml` as written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProjectOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isv_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_key_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SandboxOut {
    pub catalog: String,
}

/// Lists indented below their key, as in the examples, and every string on one line (quoted where
/// needed): a folded block scalar would round-trip long text with trailing spaces or line breaks
/// less exactly.
fn to_yaml<T: Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.compact_list_indent = false;
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, options)
}

/// The `$schema` line editors read, for a file `depth` directories below the generated root.
fn schema_line(kind: SchemaKind, depth: usize) -> String {
    let name = match kind {
        SchemaKind::Manifest => "manifest",
        SchemaKind::Project => "project",
        SchemaKind::Plan => "plan",
        SchemaKind::Mapping => "mapping",
    };
    format!(
        "# yaml-language-server: $schema={}{SCHEMA_DIR}/{name}.schema.json\n",
        "../".repeat(depth)
    )
}

/// Every line of `comment` as a YAML comment.
fn comment_lines(comment: &str) -> String {
    comment
        .lines()
        .map(|line| {
            if line.is_empty() {
                "#\n".to_owned()
            } else {
                format!("# {line}\n")
            }
        })
        .collect()
}

/// The text of a project file: schema line, comment, then `yaml` (already YAML, so that
/// commented-out placeholders can be part of it).
pub fn project_file(comment: &str, yaml: &str) -> String {
    format!(
        "{}#\n{}{yaml}",
        schema_line(SchemaKind::Project, 0),
        comment_lines(comment)
    )
}

/// The YAML of a project file's settings.
pub fn project_yaml(project: &ProjectOut) -> anyhow::Result<String> {
    to_yaml(project).context("cannot write slascone.yaml as YAML")
}

/// The text of the manifest file of one customer, in `customers/`.
pub fn customer_file(customer: &EntryOut, comment: &str) -> anyhow::Result<String> {
    customer_file_at(customer, comment, Some(1))
}

/// [`customer_file`] for a file `depth` directories below the directory that holds `schema/`;
/// `None`: without the `$schema` line (there is no such directory).
pub fn customer_file_at(
    customer: &EntryOut,
    comment: &str,
    depth: Option<usize>,
) -> anyhow::Result<String> {
    let document = Document {
        customers: vec![customer.clone()],
    };
    let yaml = to_yaml(&document).context("cannot write a manifest as YAML")?;
    let comment = if comment.is_empty() {
        String::new()
    } else {
        format!("#\n{}", comment_lines(comment))
    };
    let schema = depth.map_or_else(String::new, |depth| {
        schema_line(SchemaKind::Manifest, depth)
    });
    Ok(format!("{schema}{comment}{yaml}"))
}

/// The JSON Schemas the `$schema` lines point to, as `schema <kind>` prints them.
pub fn schema_files() -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for (kind, name) in [
        (SchemaKind::Manifest, "manifest"),
        (SchemaKind::Project, "project"),
    ] {
        let mut text = serde_json::to_string_pretty(&crate::schema::schema(kind))?;
        text.push('\n');
        files.push((
            Path::new(SCHEMA_DIR).join(format!("{name}.schema.json")),
            text.into_bytes(),
        ));
    }
    Ok(files)
}

/// File names (without `.yaml`) for customer keys: letters, digits, `-`, `_` and `.` kept,
/// anything else (path separators, spaces, `:`) replaced by `_`, never starting with a `.` (the
/// loader skips hidden files), at most 100 bytes, and unique even on case-insensitive file
/// systems (`-2`, `-3`, ... appended). Returned in the order of `keys`.
pub fn file_names<'k>(keys: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    let mut taken = BTreeSet::new();
    let mut names = Vec::new();
    for key in keys {
        let mut base: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .take(100)
            .collect();
        if base.is_empty() || base.starts_with('.') {
            base.insert(0, '_');
        }
        let mut name = base.clone();
        let mut counter = 1;
        while !taken.insert(name.to_ascii_lowercase()) {
            counter += 1;
            name = format!("{base}-{counter}");
        }
        names.push(name);
    }
    names
}

/// Entries of an existing output directory that count as content: everything except `.git`, so
/// exporting into a freshly initialised repository needs no `--force`.
fn existing_entries(out: &Path) -> anyhow::Result<Vec<String>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name != ".git" {
            entries.push(name);
        }
    }
    entries.sort();
    Ok(entries)
}

/// Refuses an output directory that holds files, unless `force`; run before any slow work so a
/// mistake is reported at once.
pub fn check_out_dir(out: &Path, force: bool) -> anyhow::Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("{} exists and is not a directory", out.display());
    }
    let entries = existing_entries(out)?;
    if !entries.is_empty() && !force {
        let shown: Vec<&str> = entries.iter().take(5).map(String::as_str).collect();
        bail!(
            "{} already holds files ({}{}); pass --force to write into it, or pick an empty directory",
            out.display(),
            shown.join(", "),
            if entries.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Writes `files` (paths relative to `out`) so that nothing half-written is ever left: all of
/// them go into a staging directory beside `out` first; then a missing `out` is that directory
/// renamed, and an existing one gets each staged entry renamed into it (a rename replaces a file
/// whole). With `force`, files of `out` that are not in `files` are kept.
pub fn write_tree(out: &Path, files: &[(PathBuf, Vec<u8>)], force: bool) -> anyhow::Result<()> {
    check_out_dir(out, force)?;
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create the directory {}", parent.display()))?;
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
    let result = stage(&staging, files).and_then(|()| {
        if out.exists() {
            move_into(&staging, out)
        } else {
            fs::rename(&staging, out)
                .with_context(|| format!("cannot move the output into place at {}", out.display()))
        }
    });
    let _ = fs::remove_dir_all(&staging);
    result
}

fn stage(staging: &Path, files: &[(PathBuf, Vec<u8>)]) -> anyhow::Result<()> {
    use std::io::Write;
    fs::create_dir(staging)
        .with_context(|| format!("cannot create the directory {}", staging.display()))?;
    for (relative, bytes) in files {
        let path = staging.join(relative);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        }
        let mut file =
            fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Renames every entry of `from` into `to`, merging directories that exist on both sides. A
/// directory where a file would go (or the reverse) is refused before anything is moved.
fn move_into(from: &Path, to: &Path) -> anyhow::Result<()> {
    check_kinds(from, to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() && target.is_dir() {
            move_into(&entry.path(), &target)?;
        } else {
            fs::rename(entry.path(), &target)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    Ok(())
}

fn check_kinds(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let is_dir = entry.file_type()?.is_dir();
        if target.exists() && target.is_dir() != is_dir {
            bail!(
                "{} is in the way: it is a {} where a {} goes",
                target.display(),
                if target.is_dir() { "directory" } else { "file" },
                if is_dir { "directory" } else { "file" }
            );
        }
        if is_dir && target.is_dir() {
            check_kinds(&entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_unique() {
        let names = file_names(["K001", "a/b c", "../x", "", "Ab", "aB", "ümlaut"]);
        assert_eq!(
            names,
            ["K001", "a_b_c", "_.._x", "_", "Ab", "aB-2", "_mlaut"]
        );
    }

    #[test]
    fn unusual_text_is_quoted_and_reads_back() {
        let mut customer = EntryOut::default();
        customer.set("customer_number", "123".into());
        customer.set("company_name", "yes".into());
        customer.set("city", "null".into());
        customer.set("street", "  a: b # c 'd' \"e\"".into());
        let text = customer_file(&customer, "").unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("slascone.yaml"),
            "api_url: https://x.example\n",
        )
        .unwrap();
        fs::write(dir.path().join("c.yaml"), &text).unwrap();
        let manifests = crate::manifest::load(dir.path(), None)
            .unwrap_or_else(|problems| panic!("{problems}\n{text}"));
        let read = &manifests.customers[0];
        assert_eq!(read.customer_number.as_ref().unwrap().value, "123");
        let text = |name: &str| {
            crate::manifest::written(&read.fields, name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(text("company_name"), "yes");
        assert_eq!(text("city"), "null");
        assert_eq!(text("street"), "  a: b # c 'd' \"e\"");
    }
}
