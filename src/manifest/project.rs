//! The project file, `slascone.yaml`, with the `--env` profile applied: where the manifests go
//! and how slascone-sync behaves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::check::{Checker, closest};
use super::node::{self, Node, Value};
use super::paths::PathScope;
use super::{Located, Problem, Project, in_dir};

pub(crate) const PROJECT_FIELDS: &[&str] = &[
    "api_url",
    "isv_id",
    "portal_url",
    "admin_key_env",
    "safety",
    "ignore_changes",
    "environments",
    "sandbox",
    "timezone",
    "warnings",
];
pub(crate) const ENVIRONMENT_FIELDS: &[&str] =
    &["api_url", "isv_id", "admin_key_env", "portal_url"];
pub(crate) const SAFETY_FIELDS: &[&str] = &["max_changes", "max_risk"];
pub(crate) const WARNINGS_FIELDS: &[&str] = &["expiring_within_days", "max_usage_reads"];
pub(crate) const SANDBOX_FIELDS: &[&str] = &["catalog"];

/// The project from the parsed documents of its file; `file.is_file()` was checked (and the
/// catalog file's existence is checked here).
pub(crate) fn read(
    dir: &Path,
    env: Option<&str>,
    file: &Path,
    documents: &[Node<'_>],
    problems: &mut Vec<Problem>,
) -> Project {
    let mut checker = Checker {
        file: Arc::from(file),
        problems,
    };
    let mut project = Project {
        env: env.map(str::to_owned),
        ..Project::with_defaults(dir.to_path_buf(), file.to_path_buf())
    };
    let mut documents = documents.iter();
    let root = documents.next();
    if let Some(extra) = documents.next() {
        checker.report(
            extra,
            "slascone.yaml holds one YAML document; customers belong in manifest files",
            None,
        );
    }
    let fields = match root {
        Some(root) if root.value != node::Value::Null => {
            checker.fields(root, "slascone.yaml", PROJECT_FIELDS)
        }
        _ => None,
    };
    let mut environments = Vec::new();
    let mut environments_key = None;
    if let Some(fields) = &fields {
        apply_target(&mut checker, &mut project, |name| fields.get(name));
        if let Some(node) = fields.get("safety") {
            checker.safety(node, &mut project);
        }
        if let Some(node) = fields.get("warnings") {
            checker.warnings(node, &mut project);
        }
        if let Some(node) = fields.get("ignore_changes") {
            project.ignore_changes = checker.ignore_changes(node, PathScope::Project);
        }
        if let Some(node) = fields.get("sandbox") {
            project.sandbox_catalog = checker.sandbox(node, dir);
            if let Some(catalog) = &project.sandbox_catalog
                && !catalog.value.is_file()
            {
                checker.problems.push(
                    Problem::at(
                        catalog.origin.clone(),
                        format!(
                            "sandbox catalog `{}` does not exist",
                            catalog.value.display()
                        ),
                    )
                    .with_hint("the path is relative to the directory of slascone.yaml"),
                );
            }
        }
        if let Some(zone) = fields
            .get("timezone")
            .and_then(|node| checker.timezone(node))
        {
            project.timezone = zone.value;
        }
        if let Some(node) = fields.get("environments") {
            environments_key = fields.key("environments");
            environments = checker.environments(node);
        }
    }
    // Every profile is checked, not only the one picked, so a typo in `prod` shows up in the
    // pull request that adds it rather than in the deployment that uses it.
    let mut picked = false;
    for (name, profile) in &environments {
        let is_picked = env == Some(name.as_str());
        picked |= is_picked;
        if profile.value == node::Value::Null {
            continue;
        }
        let what = format!("environment `{name}`");
        let Some(profile_fields) = checker.fields(profile, &what, ENVIRONMENT_FIELDS) else {
            continue;
        };
        let mut scratch = project.clone();
        let target = if is_picked {
            &mut project
        } else {
            &mut scratch
        };
        apply_target(&mut checker, target, |field| profile_fields.get(field));
    }
    if let Some(name) = env
        && !picked
    {
        let known: Vec<&str> = environments.iter().map(|(name, _)| name.as_str()).collect();
        let message = if known.is_empty() {
            format!("unknown environment `{name}` (--env): slascone.yaml defines no `environments`")
        } else {
            format!(
                "unknown environment `{name}` (--env); slascone.yaml defines: {}",
                known.join(", ")
            )
        };
        let mut problem = match environments_key {
            Some(key) => Problem::at(checker.origin(key), message),
            None => Problem::general(format!("{}: {message}", file.display())),
        };
        if let Some(close) = closest(name, known.iter().copied()) {
            problem = problem.with_hint(format!("did you mean `{close}`?"));
        }
        checker.problems.push(problem);
    }
    project
}

/// Applies the fields a profile and the top level share: where to connect and with which key.
fn apply_target<'n>(
    checker: &mut Checker<'_>,
    project: &mut Project,
    get: impl Fn(&str) -> Option<&'n Node<'n>>,
) {
    if let Some(url) = get("api_url").and_then(|node| checker.url(node, "api_url")) {
        project.api_url = url.value;
    }
    if let Some(url) = get("portal_url").and_then(|node| checker.url(node, "portal_url")) {
        project.portal_url = url.value;
    }
    if let Some(id) = get("isv_id").and_then(|node| checker.uuid(node, "isv_id")) {
        project.isv_id = Some(id.value);
    }
    if let Some(name) = get("admin_key_env").and_then(|node| checker.env_var(node, "admin_key_env"))
    {
        project.admin_key_env = name.value;
    }
}

impl Checker<'_> {
    /// The project's `timezone`: an IANA name such as `Europe/Berlin`.
    pub fn timezone(&mut self, node: &Node) -> Option<Located<crate::dates::Zone>> {
        let name = self.name(node, "timezone")?;
        match crate::dates::Zone::named(name.value.trim()) {
            Ok(zone) => Some(self.located(node, zone)),
            Err(message) => {
                let known: Vec<String> =
                    jiff::tz::db().available().map(|n| n.to_string()).collect();
                let hint = closest(&name.value, known.iter().map(String::as_str))
                    .map(|close| format!("did you mean `{close}`?"))
                    .unwrap_or_else(|| {
                        "use an IANA time zone name such as `Europe/Berlin` or `UTC`".to_owned()
                    });
                self.report(node, format!("`timezone`: {message}"), Some(hint));
                None
            }
        }
    }

    /// A path written in `slascone.yaml`, resolved against the directory.
    pub fn path(&mut self, node: &Node, field: &str, dir: &Path) -> Option<Located<PathBuf>> {
        let text = self.name(node, field)?;
        Some(self.located(node, in_dir(dir, Path::new(&text.value))))
    }

    pub fn url(&mut self, node: &Node, field: &str) -> Option<Located<String>> {
        let text = self.name(node, field)?;
        if !(text.value.starts_with("https://") || text.value.starts_with("http://")) {
            self.report(
                node,
                format!(
                    "`{field}` must be an http:// or https:// URL, found `{}`",
                    text.value
                ),
                None,
            );
            return None;
        }
        Some(text)
    }

    /// The name of an environment variable.
    pub fn env_var(&mut self, node: &Node, field: &str) -> Option<Located<String>> {
        let text = self.name(node, field)?;
        let valid = text
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && text
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.report(
                node,
                format!("`{field}` must be the name of an environment variable (letters, digits, `_`)"),
                Some("it names the variable holding the admin key, e.g. `SLASCONE_ADMIN_KEY`, never the key itself".into()),
            );
            return None;
        }
        Some(text)
    }

    pub fn safety(&mut self, node: &Node, project: &mut Project) {
        let Some(fields) = self.fields(node, "`safety`", SAFETY_FIELDS) else {
            return;
        };
        if let Some(max) = fields
            .get("max_changes")
            .and_then(|value| self.count(value, "max_changes"))
        {
            project.max_changes = usize::try_from(max.value).unwrap_or(usize::MAX);
        }
        if let Some(value) = fields.get("max_risk")
            && let Some(text) = self.name(value, "max_risk")
        {
            match crate::plan::Risk::parse(&text.value) {
                Some(risk) => project.max_risk = risk,
                None => self.report(
                    value,
                    format!(
                        "`max_risk` must be low, medium or high, not `{}`",
                        text.value
                    ),
                    None,
                ),
            }
        }
    }

    pub fn warnings(&mut self, node: &Node, project: &mut Project) {
        let Some(fields) = self.fields(node, "`warnings`", WARNINGS_FIELDS) else {
            return;
        };
        if let Some(days) = fields
            .get("expiring_within_days")
            .and_then(|value| self.int32(value, "expiring_within_days"))
        {
            project.expiring_within_days = u32::try_from(days.value).unwrap_or(u32::MAX);
        }
        if let Some(reads) = fields
            .get("max_usage_reads")
            .and_then(|value| self.int32(value, "max_usage_reads"))
        {
            project.max_usage_reads = usize::try_from(reads.value).unwrap_or(usize::MAX);
        }
    }

    pub fn sandbox(&mut self, node: &Node, dir: &Path) -> Option<Located<PathBuf>> {
        let fields = self.fields(node, "`sandbox`", SANDBOX_FIELDS)?;
        fields
            .get("catalog")
            .and_then(|value| self.path(value, "catalog", dir))
    }

    /// The profiles of `environments`: each name with its node.
    pub fn environments<'n>(&mut self, node: &'n Node<'n>) -> Vec<(String, &'n Node<'n>)> {
        if node.value == Value::Null {
            return Vec::new();
        }
        self.mapping(node, "`environments`")
            .unwrap_or_default()
            .into_iter()
            .map(|(_, value, name)| (name.into_owned(), value))
            .collect()
    }
}
