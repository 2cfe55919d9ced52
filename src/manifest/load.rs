//! Reading a manifest directory: the project file, the manifest files, and the checks that span
//! files (duplicate identities).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use super::check::Checker;
use super::node::{self, Node};
use super::{
    Customer, DEFAULT_ADMIN_KEY_ENV, Digest, MIN_SECRET_LEN, Manifests, PROJECT_FILE, Problem,
    Problems, Project, digest, in_dir, project,
};
use crate::hashing::{HashMap, map_with_capacity};
use crate::model::Origin;

/// The largest file read, in bytes (16 MiB); bigger files are refused before they are parsed.
pub const MAX_FILE_BYTES: u64 = node::MAX_FILE_BYTES;

pub(crate) fn load(dir: &Path, env: Option<&str>) -> Result<Manifests, Problems> {
    if !dir.is_dir() {
        let what = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(Problems(vec![
            Problem::general(format!("{}: {what}", dir.display()))
                .with_hint("pass the manifest directory, the one that holds slascone.yaml"),
        ]));
    }
    let mut problems = Vec::new();
    let project = load_project(dir, env, &mut problems);
    let catalog = project
        .as_ref()
        .and_then(|project| project.sandbox_catalog.as_ref())
        .map(|catalog| catalog.value.clone());
    let files = match manifest_files(dir, catalog.as_deref(), &mut problems) {
        Ok(files) => files,
        Err(err) => {
            problems.push(Problem::general(format!(
                "{}: cannot list the manifest files: {err}",
                dir.display()
            )));
            Vec::new()
        }
    };
    let checked = check_files(&files);
    let mut customers = Vec::with_capacity(checked.iter().map(|c| c.customers.len()).sum());
    let mut digests = BTreeMap::new();
    for file in checked {
        customers.extend(file.customers);
        problems.extend(file.problems);
        digests.extend(file.digest);
    }
    check_duplicates(&customers, &mut problems);
    match project {
        Some(project) if problems.is_empty() => Ok(Manifests {
            project,
            customers,
            files: files.len(),
            digests,
        }),
        _ => Err(Problems(problems)),
    }
}

/// What one file holds, the problems found in it, and the digest of the bytes read.
struct Checked {
    customers: Vec<Customer>,
    problems: Vec<Problem>,
    digest: Option<(Arc<Path>, Digest)>,
}

/// Reads, parses and checks every file, on all cores: parsing YAML is most of the time `plan`
/// spends on a large repository, and files are independent. Results come back in file order, so
/// customers and problems are in the same order as from a sequential read.
fn check_files(files: &[PathBuf]) -> Vec<Checked> {
    let check = |file: &PathBuf| {
        let mut problems = Vec::new();
        let mut customers = Vec::new();
        let path: Arc<Path> = Arc::from(file.as_path());
        let text = read_text(file, &mut problems);
        if let Some(documents) = text
            .as_deref()
            .and_then(|text| parse_yaml(file, text, &mut problems))
        {
            let mut checker = Checker {
                file: path.clone(),
                problems: &mut problems,
            };
            for document in &documents {
                customers.extend(checker.document(document));
            }
        }
        Checked {
            customers,
            problems,
            digest: text.map(|text| (path, digest(text.as_bytes()))),
        }
    };
    crate::fanout::on_cores(files, check)
}

/// Every `*.yaml`/`*.yml` below `dir` in sorted path order, without the project file, the sandbox
/// catalog and anything hidden. Symbolic links to directories are not followed, so a link cycle
/// cannot make the walk endless. A manifest name that is no regular file (a FIFO, a device), a
/// dangling or looping link, or a link to a file outside `dir` is a problem naming it: the
/// manifests must not lose an entry in silence, nor read what lies outside their directory.
fn manifest_files(
    dir: &Path,
    catalog: Option<&Path>,
    problems: &mut Vec<Problem>,
) -> std::io::Result<Vec<PathBuf>> {
    let project_file = in_dir(dir, Path::new(PROJECT_FILE));
    let catalog = catalog.map(|catalog| fs::canonicalize(catalog).unwrap_or(catalog.to_owned()));
    let root = fs::canonicalize(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })?;
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    // `read_dir("")` fails, so the current directory's files are listed through `.`.
    let list = |current: &Path| {
        if current.as_os_str().is_empty() {
            fs::read_dir(".")
        } else {
            fs::read_dir(current)
        }
    };
    // Reported in path order, like the files: the walk's order is the file system's.
    let mut refused: Vec<(PathBuf, String)> = Vec::new();
    let mut refuse = |path: &Path, why: String| refused.push((path.to_path_buf(), why));
    while let Some(current) = pending.pop() {
        for entry in list(&current)? {
            let entry = entry?;
            let path = in_dir(&current, Path::new(&entry.file_name()));
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                pending.push(path);
                continue;
            }
            let is_yaml = matches!(
                path.extension().and_then(|ext| ext.to_str()),
                Some("yaml" | "yml")
            );
            if !is_yaml || path == project_file {
                continue;
            }
            if file_type.is_symlink() {
                let target = match fs::metadata(&path) {
                    Ok(target) => target,
                    Err(err) => {
                        refuse(&path, format!("a link that leads to no file: {err}"));
                        continue;
                    }
                };
                if target.is_dir() {
                    continue;
                }
                match fs::canonicalize(&path) {
                    Ok(real) if real.starts_with(&root) => {}
                    Ok(real) => {
                        refuse(
                            &path,
                            format!(
                                "a link to {}, outside the manifest directory",
                                real.display()
                            ),
                        );
                        continue;
                    }
                    Err(err) => {
                        refuse(&path, format!("a link that cannot be followed: {err}"));
                        continue;
                    }
                }
                if !target.is_file() {
                    refuse(&path, format!("a link to {}", crate::fs::kind(&target)));
                    continue;
                }
            } else if !file_type.is_file() {
                match entry.metadata() {
                    Ok(metadata) => refuse(
                        &path,
                        format!("not a regular file but {}", crate::fs::kind(&metadata)),
                    ),
                    Err(err) => refuse(&path, format!("cannot read: {err}")),
                }
                continue;
            }
            if catalog.as_ref().is_some_and(|catalog| {
                *catalog == path || fs::canonicalize(&path).is_ok_and(|real| real == *catalog)
            }) {
                continue;
            }
            files.push(path);
        }
    }
    files.sort();
    refused.sort();
    for (path, why) in refused {
        problems.push(
            Problem::general(format!("{}: {why}", path.display())).with_hint(
                "a manifest must be a regular file inside the manifest directory; remove or replace this entry",
            ),
        );
    }
    Ok(files)
}

/// Reads one file; on failure records why and returns `None`.
pub(super) fn read_text(file: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    match read_limited(file) {
        Ok(text) => Some(text),
        Err(message) => {
            problems.push(Problem::general(format!("{}: {message}", file.display())));
            None
        }
    }
}

pub(super) fn parse_yaml<'t>(
    file: &Path,
    text: &'t str,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Node<'t>>> {
    match node::parse_documents(text) {
        Ok(documents) => Some(documents),
        Err(err) => {
            let problem = match err.position {
                Some((line, column)) => Problem::at(
                    Origin {
                        file: Arc::from(file),
                        line,
                        column,
                    },
                    err.message,
                ),
                None => Problem::general(format!("{}: {}", file.display(), err.message)),
            };
            problems.push(problem);
            None
        }
    }
}

/// The file's text, refusing files over the size budget without reading them whole.
fn read_limited(file: &Path) -> Result<String, String> {
    let too_big = || {
        format!(
            "file is larger than {} MiB; manifest files are limited to that size, split it into several files",
            MAX_FILE_BYTES / (1024 * 1024)
        )
    };
    let bytes = crate::fs::read_input(file, MAX_FILE_BYTES).map_err(|err| {
        if err.kind() == std::io::ErrorKind::FileTooLarge {
            too_big()
        } else {
            format!("cannot read: {err}")
        }
    })?;
    String::from_utf8(bytes).map_err(|err| {
        format!(
            "not valid UTF-8 (byte {}); save the file as UTF-8",
            err.utf8_error().valid_up_to()
        )
    })
}

/// The project file of `dir` alone, when it has no problem; `None` otherwise, and [`load`] says
/// what is wrong along with every other problem.
pub(crate) fn project_alone(dir: &Path, env: Option<&str>) -> Option<Project> {
    let mut problems = Vec::new();
    let project = load_project(dir, env, &mut problems);
    project.filter(|_| problems.is_empty())
}

fn load_project(dir: &Path, env: Option<&str>, problems: &mut Vec<Problem>) -> Option<Project> {
    let file = in_dir(dir, Path::new(PROJECT_FILE));
    // Anything there but a regular file is named by the read below.
    if fs::symlink_metadata(&file).is_err() {
        problems.push(
            Problem::general(format!("{}: no project file", file.display())).with_hint(
                "every manifest directory has a slascone.yaml; it may be as short as `isv_id: <UUID>`",
            ),
        );
        return None;
    }
    let text = read_text(&file, problems)?;
    let documents = parse_yaml(&file, &text, problems)?;
    Some(project::read(dir, env, &file, &documents, problems))
}

/// Two entries with the same identity would fight over one remote object: report the later one
/// and name where the first is.
fn check_duplicates(customers: &[Customer], problems: &mut Vec<Problem>) {
    let licenses = customers.iter().map(|c| c.licenses.len()).sum();
    let mut customer_ids: HashMap<Uuid, &Origin> = HashMap::default();
    let mut customer_numbers: HashMap<&str, &Origin> = map_with_capacity(customers.len());
    let mut license_ids: HashMap<Uuid, &Origin> = HashMap::default();
    let mut license_keys: HashMap<(&str, &str), &Origin> = map_with_capacity(licenses);
    let mut duplicate = |origin: &Origin, what: String, first: &Origin| {
        problems.push(
            Problem::at(
                origin.clone(),
                format!("{what} is used twice; first at {first}"),
            )
            .with_hint("each customer and license may appear only once across all manifest files"),
        );
    };
    for customer in customers {
        if let Some(id) = &customer.id
            && let Some(first) = customer_ids.insert(id.value, &id.origin)
        {
            duplicate(&id.origin, format!("customer id `{}`", id.value), first);
            customer_ids.insert(id.value, first);
        }
        if let Some(number) = &customer.customer_number
            && let Some(first) = customer_numbers.insert(&number.value, &number.origin)
        {
            duplicate(
                &number.origin,
                format!("customer_number `{}`", number.value),
                first,
            );
            customer_numbers.insert(&number.value, first);
        }
        for license in &customer.licenses {
            if let Some(id) = &license.id
                && let Some(first) = license_ids.insert(id.value, &id.origin)
            {
                duplicate(&id.origin, format!("license id `{}`", id.value), first);
                license_ids.insert(id.value, first);
            }
            if let Some(key) = &license.legacy_license_key {
                let identity = (license.product.value.as_str(), key.value.as_str());
                if let Some(first) = license_keys.insert(identity, &key.origin) {
                    duplicate(
                        &key.origin,
                        format!(
                            "legacy_license_key `{}` of product `{}`",
                            key.value, license.product.value
                        ),
                        first,
                    );
                    license_keys.insert(identity, first);
                }
            }
        }
    }
}

/// The `admin_key_env` of the project file in `dir`, read even when the rest of the directory has
/// problems; the default when the project file gives none.
pub(crate) fn admin_key_env(dir: &Path, env: Option<&str>) -> String {
    let mut ignored = Vec::new();
    load_project(dir, env, &mut ignored)
        .map(|project| project.admin_key_env)
        .unwrap_or_else(|| DEFAULT_ADMIN_KEY_ENV.to_owned())
}

/// Every place `secret` is written in the project file or a manifest file below `dir`. Only
/// positions come back, so a message can point at the place without repeating what is there.
pub(crate) fn find_secret(project: &super::Project, secret: &str) -> Vec<Origin> {
    if secret.len() < MIN_SECRET_LEN {
        return Vec::new();
    }
    let catalog = project.sandbox_catalog.as_ref().map(|c| c.value.as_path());
    let mut files = vec![project.file.clone()];
    files.extend(manifest_files(&project.dir, catalog, &mut Vec::new()).unwrap_or_default());
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = read_limited(&file) else {
            continue;
        };
        let at = found.len();
        // One search over the whole text; lines are counted only where the key is found.
        for (byte, _) in text.match_indices(secret) {
            let before = &text[..byte];
            let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
            found.push(Origin {
                file: Arc::from(file.as_path()),
                line: before.matches('\n').count() + 1,
                column: before[line_start..].chars().count() + 1,
            });
        }
        // The key written with YAML escapes (`"\x4B"`) or split by an escaped line break is found
        // in the decoded values: every scalar, keys included, that holds it.
        if may_hide(&text, secret)
            && let Ok(documents) = node::parse_documents(&text)
        {
            let mut decoded = Vec::new();
            for document in &documents {
                holding(document, secret, &mut decoded);
            }
            for (line, column) in decoded {
                let known = found[at..]
                    .iter()
                    .any(|origin| origin.line == line && origin.column >= column);
                if !known {
                    found.push(Origin {
                        file: Arc::from(file.as_path()),
                        line,
                        column,
                    });
                }
            }
        }
    }
    found
}

/// Whether a scalar of `text` may decode to text holding `secret` although `text` does not.
///
/// Decoding changes a scalar's text in three ways only: escapes in double quotes (`\x4B`, an
/// escaped line break), `''` for `'` in single quotes, and folding, which removes indentation and
/// turns line breaks into spaces or newlines. Folding never joins two characters that are apart
/// in the text without whitespace between them, so it hides only a secret with whitespace in it.
/// Everything else needs a `\`, or a `''` for a secret with a `'`. Parsing a file a second time
/// was most of what looking for the key cost on a large repository, where no file has either.
fn may_hide(text: &str, secret: &str) -> bool {
    secret.chars().any(char::is_whitespace)
        || text.contains('\\')
        || (secret.contains('\'') && text.contains("''"))
}

/// The positions of the scalars below `node` whose decoded text holds `secret`.
fn holding(node: &Node, secret: &str, found: &mut Vec<(usize, usize)>) {
    match &node.value {
        node::Value::Seq(items) => {
            for item in items {
                holding(item, secret, found);
            }
        }
        node::Value::Map(entries) => {
            for (key, value) in entries {
                holding(key, secret, found);
                holding(value, secret, found);
            }
        }
        _ => {
            if node.scalar_text().is_some_and(|text| text.contains(secret)) {
                found.push((node.line, node.column));
            }
        }
    }
}

/// Validates one manifest file's text without a directory around it (the fuzz target's and the
/// proptests' entry point).
pub(crate) fn check_text(file: &Path, text: &str) -> (Vec<Customer>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut customers = Vec::new();
    if let Some(documents) = parse_yaml(file, text, &mut problems) {
        let mut checker = Checker {
            file: Arc::from(file),
            problems: &mut problems,
        };
        for document in &documents {
            customers.extend(checker.document(document));
        }
    }
    check_duplicates(&customers, &mut problems);
    (customers, problems)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{holding, may_hide, node};

    /// A value written in each way YAML can write text: double quotes (escapes, an escaped line
    /// break), single quotes, plain over two lines, a literal and a folded block.
    fn written(value: &str, style: usize) -> String {
        match style {
            0 => format!("k: {}\n", serde_json::to_string(value).unwrap()),
            1 => {
                let (head, tail) = value.split_at(value.len() / 2);
                let quoted = |s: &str| serde_json::to_string(s).unwrap();
                let (head, tail) = (quoted(head), quoted(tail));
                format!("k: {}\\\n  {}\n", &head[..head.len() - 1], &tail[1..])
            }
            2 => format!("k: '{}'\n", value.replace('\'', "''")),
            3 => format!(
                "k:\n  {}\n  {}\n",
                &value[..value.len() / 2],
                &value[value.len() / 2..]
            ),
            4 => format!("k: |\n  {}\n", value.replace('\n', "\n  ")),
            _ => format!("k: >\n  {}\n", value.replace('\n', "\n  ")),
        }
    }

    proptest! {
        /// Where a decoded value holds the secret and the text does not, `may_hide` says so: the
        /// files it lets the key search skip parsing cannot hide the key.
        #[test]
        fn may_hide_misses_no_hidden_secret(
            before in "[ab' \\\\\n\"x]{0,4}",
            secret in "[ab' \\\\\"x]{3,5}",
            after in "[ab' \\\\\n\"x]{0,4}",
            style in 0usize..6,
            folded in any::<bool>(),
        ) {
            // Written with line breaks for its spaces, the secret comes back only by folding.
            let inside = if folded { secret.replace(' ', "\n") } else { secret.clone() };
            let text = written(&format!("{before}{inside}{after}"), style);
            let Ok(documents) = node::parse_documents(&text) else {
                return Ok(());
            };
            let mut found = Vec::new();
            for document in &documents {
                holding(document, &secret, &mut found);
            }
            if !found.is_empty() && !text.contains(&secret) {
                prop_assert!(may_hide(&text, &secret), "{text:?} hides {secret:?}");
            }
        }
    }

    #[test]
    fn a_file_without_escapes_hides_no_secret_without_whitespace() {
        let text = "customers:\n  - company_name: \"Customer 0 GmbH\"\n    city: City 0\n";
        assert!(!may_hide(text, "0123456789abcdef"));
        assert!(may_hide("k: \"\\x30\"", "0123456789abcdef"));
        assert!(may_hide(text, "with space"));
        assert!(may_hide("k: 'it''s'", "it's-a-key"));
        assert!(!may_hide("k: 'it''s'", "no-quote-key"));
    }
}
