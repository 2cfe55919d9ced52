//! Manifests: loading and validating `slascone.yaml` and the manifest files.
//!
//! [`load()`] reads a manifest directory and returns either everything it holds, with the position
//! of every value, or every problem found in every file. Nothing here talks to SLASCONE: names of
//! products, editions and the like are resolved later, against the live catalog.

mod check;
mod document;
mod load;
pub mod mapping;
mod node;
mod paths;
mod problem;
mod project;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use crate::model::Origin;
use crate::model::fields::{Field, Map};

pub(crate) use check::closest;
pub use load::MAX_FILE_BYTES;
pub use node::{MAX_ALIAS_EXPANSION, MAX_DEPTH, MAX_NODES};
pub use paths::{customer_paths, license_maps, license_paths};
pub use problem::{Problem, Problems};

/// The project file's name, directly inside the manifest directory.
pub const PROJECT_FILE: &str = "slascone.yaml";

/// Keys shorter than this are not searched for: they would be found by chance in ordinary text.
const MIN_SECRET_LEN: usize = 8;

/// `path` inside `dir`; inside the current directory, without a leading `./`, so that messages
/// read `customers/acme.yaml:3:5` when a command runs without a directory argument.
fn in_dir(dir: &Path, path: &Path) -> PathBuf {
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// Reads and validates `slascone.yaml` (with the `env` profile applied) and every manifest file
/// below `dir`. Collects all problems of all files before giving up.
pub fn load(dir: &Path, env: Option<&str>) -> Result<Manifests, Problems> {
    load::load(dir, env)
}

/// The project file (`slascone.yaml`) of `dir` alone, with the `env` profile applied: enough to
/// connect before the manifests are loaded. `None` when it has a problem, which [`load`] then
/// reports together with those of every other file.
pub fn project(dir: &Path, env: Option<&str>) -> Option<Project> {
    load::project_alone(dir, env)
}

/// A problem for every place the admin key (the value of the variable `admin_key_env` names) is
/// written in slascone.yaml or a manifest file. A key pasted as a value would otherwise be shown
/// in plans and sent to SLASCONE as data; the problems name the place, never the key.
pub fn key_written_in_files(project: &Project, key: &str) -> Problems {
    Problems(
        load::find_secret(project, key)
            .into_iter()
            .map(|origin| {
                Problem::at(
                    origin,
                    format!(
                        "the admin key (the value of the environment variable {}) is written here; it must only live in that variable",
                        project.admin_key_env
                    ),
                )
                .with_hint("remove it from the file, and rotate the key if the file was ever pushed")
            })
            .collect(),
    )
}

/// The environment variable the project file in `dir` names for the admin key (with the
/// `environments` profile `env`), as far as the file can be read; the default otherwise.
pub fn admin_key_env(dir: &Path, env: Option<&str>) -> String {
    load::admin_key_env(dir, env)
}

/// Parses and validates the text of one manifest file as if it were `file`, with no project file
/// and no directory: the customers it holds, or every problem found. For fuzzing and tools that
/// check a single file.
pub fn check_str(file: &Path, text: &str) -> Result<Vec<Customer>, Problems> {
    let (customers, problems) = load::check_text(file, text);
    if problems.is_empty() {
        Ok(customers)
    } else {
        Err(Problems(problems))
    }
}

/// Everything a manifest directory holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    pub project: Project,
    /// In file order (sorted paths), then document and list order.
    pub customers: Vec<Customer>,
    /// How many manifest files were read (`slascone.yaml` and the sandbox catalog not counted).
    pub files: usize,
    /// The digest of each manifest file's bytes as read, by its path as origins name it: `pull`
    /// rewrites a file only while it still holds exactly what was read.
    pub digests: BTreeMap<Arc<Path>, Digest>,
}

/// The digest of a file's bytes.
pub type Digest = [u8; 16];

/// The XXH3-128 of `bytes`. It tells `pull` that someone saved a file since it was read, which
/// needs no cryptographic hash; every file is hashed on every load, where SHA-256 of a large
/// repository's 51 MB cost a tenth of a second.
pub fn digest(bytes: &[u8]) -> Digest {
    xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes()
}

impl Manifests {
    pub fn license_count(&self) -> usize {
        self.customers.iter().map(|c| c.licenses.len()).sum()
    }

    pub fn contact_count(&self) -> usize {
        self.customers.iter().map(|c| c.contacts.len()).sum()
    }
}

/// `slascone.yaml` with the `--env` profile applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The manifest directory.
    pub dir: PathBuf,
    /// The project file, `<dir>/slascone.yaml`.
    pub file: PathBuf,
    pub api_url: String,
    pub isv_id: Option<Uuid>,
    pub portal_url: String,
    /// The environment variable holding the admin key; the key itself is never in a file.
    pub admin_key_env: String,
    /// `safety.max_changes`: apply refuses bigger plans unless forced.
    pub max_changes: usize,
    /// `safety.max_risk`: apply refuses a plan holding a riskier change unless forced.
    pub max_risk: crate::plan::Risk,
    /// `warnings.expiring_within_days`: plan warns of active licenses expiring this soon (0: off).
    pub expiring_within_days: u32,
    /// `warnings.max_usage_reads`: the most licenses whose usage a plan reads behind lowered
    /// limits.
    pub max_usage_reads: usize,
    /// Project-wide paths never reconciled: `customer.<path>` or `license.<path>`.
    pub ignore_changes: Vec<Located<String>>,
    /// `sandbox.catalog`, resolved relative to `dir`.
    pub sandbox_catalog: Option<Located<PathBuf>>,
    /// `timezone`: the zone calendar days (`expires`) are read and written in.
    pub timezone: crate::dates::Zone,
    /// The profile applied, if any.
    pub env: Option<String>,
}

impl Project {
    /// A project with every setting at its default, as a `slascone.yaml` without fields gives.
    pub fn with_defaults(dir: PathBuf, file: PathBuf) -> Project {
        Project {
            dir,
            file,
            api_url: DEFAULT_API_URL.to_owned(),
            isv_id: None,
            portal_url: DEFAULT_PORTAL_URL.to_owned(),
            admin_key_env: DEFAULT_ADMIN_KEY_ENV.to_owned(),
            max_changes: DEFAULT_MAX_CHANGES,
            max_risk: crate::plan::Risk::High,
            expiring_within_days: DEFAULT_EXPIRING_WITHIN_DAYS,
            max_usage_reads: DEFAULT_MAX_USAGE_READS,
            ignore_changes: Vec::new(),
            sandbox_catalog: None,
            timezone: crate::dates::Zone::utc(),
            env: None,
        }
    }
}

pub const DEFAULT_API_URL: &str = "https://api365.slascone.com";
pub const DEFAULT_PORTAL_URL: &str = "https://my.slascone.com";
pub const DEFAULT_ADMIN_KEY_ENV: &str = "SLASCONE_ADMIN_KEY";
pub const DEFAULT_MAX_CHANGES: usize = 200;
pub const DEFAULT_EXPIRING_WITHIN_DAYS: u32 = 30;
pub const DEFAULT_MAX_USAGE_READS: usize = 200;

/// A value and where it is written. For entries of `features`, `limitations` and `variables` the
/// origin is the entry's key, the name that later has to resolve against the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

/// A field written in a manifest entry, as the model holds its value, with where it is written.
pub type Written = (&'static Field, Located<serde_json::Value>);

/// One entry of a license map such as `features: { Export: true }`, located at its name (what
/// has to resolve against the catalog).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub map: &'static Map,
    pub name: String,
    pub value: Located<serde_json::Value>,
    /// Each item of a list value as written, where it is written (`constrained_variables:
    /// { Modules: [Core] }`), so a value SLASCONE would refuse is reported at itself; empty for
    /// other values.
    pub items: Vec<Located<String>>,
}

/// One entry of a `customers:` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// The list item.
    pub origin: Origin,
    pub id: Option<Located<Uuid>>,
    pub customer_number: Option<Located<String>>,
    /// The fields written besides the identity, in declaration order (`model::fields`).
    pub fields: Vec<Written>,
    /// Relative field paths, e.g. `phone`.
    pub ignore_changes: Vec<Located<String>>,
    pub licenses: Vec<License>,
    pub contacts: Vec<Contact>,
}

/// One entry of a customer's `contacts:` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// The list item.
    pub origin: Origin,
    pub email: Located<String>,
    /// The fields written besides the e-mail address, in declaration order.
    pub fields: Vec<Written>,
    /// Relative field paths, e.g. `phone`.
    pub ignore_changes: Vec<Located<String>>,
}

/// One entry of a customer's `licenses:` list.
#[derive(Debug, Clone, PartialEq)]
pub struct License {
    /// The list item.
    pub origin: Origin,
    pub id: Option<Located<Uuid>>,
    pub legacy_license_key: Option<Located<String>>,
    pub product: Located<String>,
    pub edition: Located<String>,
    /// The fields written besides the identity and the edition, in declaration order.
    pub fields: Vec<Written>,
    /// Map entries in declaration order of the maps, then file order.
    pub entries: Vec<Entry>,
    /// Relative field paths, e.g. `variables.Region`.
    pub ignore_changes: Vec<Located<String>>,
}

/// The value of a field written in `fields`, by name.
pub fn written<'a>(fields: &'a [Written], name: &str) -> Option<&'a Located<serde_json::Value>> {
    fields
        .iter()
        .find(|(field, _)| field.name == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests;
