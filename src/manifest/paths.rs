//! `ignore_changes` paths: which field paths an entry or the project may name, from the field
//! declarations (`model::fields`).

use super::Located;
use super::check::{Checker, closest};
use super::node::Node;
use crate::model::fields::{CONTACT, CUSTOMER, LICENSE};

/// Fields that say which object is meant rather than what it holds.
const IDENTITY_FIELDS: &[&str] = &[
    "id",
    "customer_number",
    "legacy_license_key",
    "product",
    "email",
];

/// Whose field paths an `ignore_changes` entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathScope {
    Customer,
    License,
    Contact,
    /// `customer.<path>` or `license.<path>`.
    Project,
}

/// The field paths of a customer that `ignore_changes` may name.
pub fn customer_paths() -> Vec<&'static str> {
    CUSTOMER.ignore_paths().collect()
}

/// The field paths of a license that `ignore_changes` may name outright; the maps in
/// [`license_maps`] also take one entry, as in `variables.Region`.
pub fn license_paths() -> Vec<&'static str> {
    LICENSE.ignore_paths().collect()
}

/// The license maps whose entries `ignore_changes` may name one by one.
pub fn license_maps() -> Vec<&'static str> {
    LICENSE.maps.iter().map(|map| map.name).collect()
}

impl Checker<'_> {
    /// An `ignore_changes` list: every entry must name a field path of `scope`.
    pub(crate) fn ignore_changes(&mut self, node: &Node, scope: PathScope) -> Vec<Located<String>> {
        let mut paths = Vec::new();
        for item in self.list(node, "ignore_changes") {
            let Some(path) = self.text(item, "ignore_changes entry") else {
                continue;
            };
            match check_path(&path.value, scope) {
                Ok(()) => paths.push(path),
                Err(close) => {
                    let what = match scope {
                        PathScope::Customer => "a customer field path",
                        PathScope::License => "a license field path",
                        PathScope::Contact => "a contact field path",
                        PathScope::Project => "a `customer.<path>` or `license.<path>` field path",
                    };
                    let last = path.value.rsplit('.').next().unwrap_or_default();
                    let hint = if IDENTITY_FIELDS.contains(&last) {
                        format!(
                            "`{last}` identifies the object and is never changed, so there is nothing to ignore"
                        )
                    } else {
                        match close {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!("valid paths: {}", valid_paths(scope).join(", ")),
                        }
                    };
                    self.report(
                        item,
                        format!("`ignore_changes` entry `{}` is not {what}", path.value),
                        Some(hint),
                    );
                }
            }
        }
        paths
    }
}

fn valid_paths(scope: PathScope) -> Vec<String> {
    let license = || {
        LICENSE.ignore_paths().map(str::to_owned).chain(
            LICENSE
                .maps
                .iter()
                .map(|map| format!("{}.<name>", map.name)),
        )
    };
    match scope {
        PathScope::Customer => CUSTOMER.ignore_paths().map(str::to_owned).collect(),
        PathScope::License => license().collect(),
        PathScope::Contact => CONTACT.ignore_paths().map(str::to_owned).collect(),
        PathScope::Project => CUSTOMER
            .ignore_paths()
            .map(|path| format!("customer.{path}"))
            .chain(license().map(|path| format!("license.{path}")))
            .collect(),
    }
}

/// Checks that `path` names a field of `scope`; on failure returns the closest valid path.
pub(crate) fn check_path(path: &str, scope: PathScope) -> Result<(), Option<String>> {
    let valid = match scope {
        PathScope::Customer => CUSTOMER.ignore_paths().any(|known| known == path),
        PathScope::License => is_license_path(path),
        PathScope::Contact => CONTACT.ignore_paths().any(|known| known == path),
        PathScope::Project => match path.split_once('.') {
            Some(("customer", rest)) => CUSTOMER.ignore_paths().any(|known| known == rest),
            Some(("license", rest)) => is_license_path(rest),
            _ => false,
        },
    };
    if valid {
        return Ok(());
    }
    let candidates = valid_paths(scope);
    Err(closest(path, candidates.iter().map(String::as_str)).map(str::to_owned))
}

fn is_license_path(path: &str) -> bool {
    LICENSE.ignore_paths().any(|known| known == path)
        || path
            .split_once('.')
            .is_some_and(|(map, name)| LICENSE.map(map).is_some() && !name.trim().is_empty())
}
