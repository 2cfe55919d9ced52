//! Turns parsed YAML into customers, licenses and the project, reporting every mistake with the
//! position of the value (or key) at fault.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use super::node::{Node, Value};
use super::{Customer, Expires, License, Located, Problem};
use crate::model::Origin;

/// Keys of one manifest document.
pub(crate) const DOCUMENT_FIELDS: &[&str] = &["customers"];
/// Top-level keys of a manifest document with this prefix are ignored: a place for anchors.
pub(crate) const EXTENSION_PREFIX: &str = "x-";
pub(crate) const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "customer_number",
    "company_name",
    "customer_type",
    "country",
    "email",
    "street",
    "zip",
    "city",
    "phone",
    "prospect_number",
    "ignore_changes",
    "licenses",
];
pub(crate) const LICENSE_FIELDS: &[&str] = &[
    "id",
    "legacy_license_key",
    "product",
    "edition",
    "license_type",
    "token_limit",
    "goodwill_token_limit",
    "floating_token_limit",
    "user_limit",
    "expires",
    "active",
    "features",
    "limitations",
    "variables",
    "ignore_changes",
];
pub(crate) const EXPIRES_FIELDS: &[&str] = &["days_after_activation"];
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
];
pub(crate) const ENVIRONMENT_FIELDS: &[&str] =
    &["api_url", "isv_id", "admin_key_env", "portal_url"];
pub(crate) const SAFETY_FIELDS: &[&str] = &["max_changes"];
pub(crate) const SANDBOX_FIELDS: &[&str] = &["catalog"];

/// The field paths of a customer that `ignore_changes` may name (model.rs).
pub const CUSTOMER_PATHS: &[&str] = &[
    "company_name",
    "customer_type",
    "country",
    "email",
    "street",
    "zip",
    "city",
    "phone",
    "prospect_number",
];
/// The field paths of a license that `ignore_changes` may name (model.rs); the maps in
/// [`LICENSE_PATH_MAPS`] also take one entry, as in `variables.Region`.
pub const LICENSE_PATHS: &[&str] = &[
    "customer",
    "edition",
    "license_type",
    "token_limit",
    "goodwill_token_limit",
    "floating_token_limit",
    "user_limit",
    "expires",
    "active",
    "features",
    "limitations",
    "variables",
];
pub const LICENSE_PATH_MAPS: &[&str] = &["features", "limitations", "variables"];
/// Fields that say which object is meant rather than what it holds.
const IDENTITY_FIELDS: &[&str] = &["id", "customer_number", "legacy_license_key", "product"];

/// Whose field paths an `ignore_changes` entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathScope {
    Customer,
    License,
    /// `customer.<path>` or `license.<path>`.
    Project,
}

/// Collects problems while reading the nodes of one file.
pub(crate) struct Checker<'a> {
    pub file: Arc<Path>,
    pub problems: &'a mut Vec<Problem>,
}

/// The known keys of one mapping, each with its key and value node.
pub(crate) struct Fields<'n> {
    entries: Vec<(&'static str, &'n Node<'n>, &'n Node<'n>)>,
}

impl<'n> Fields<'n> {
    /// The value of `name`, if written.
    pub fn get(&self, name: &str) -> Option<&'n Node<'n>> {
        self.entries
            .iter()
            .find(|(field, _, _)| *field == name)
            .map(|(_, _, value)| *value)
    }

    /// The key of `name`, to point at the field itself.
    pub fn key(&self, name: &str) -> Option<&'n Node<'n>> {
        self.entries
            .iter()
            .find(|(field, _, _)| *field == name)
            .map(|(_, key, _)| *key)
    }
}

impl Checker<'_> {
    pub fn origin(&self, node: &Node) -> Origin {
        Origin {
            file: self.file.clone(),
            line: node.line,
            column: node.column,
        }
    }

    pub fn report(&mut self, node: &Node, message: impl Into<String>, hint: Option<String>) {
        let mut problem = Problem::at(self.origin(node), message);
        problem.hint = hint;
        self.problems.push(problem);
    }

    fn located<T>(&self, node: &Node, value: T) -> Located<T> {
        Located {
            value,
            origin: self.origin(node),
        }
    }

    /// Checks that `node` is a mapping whose keys are among `known`; reports unknown keys (with
    /// the closest known name), secrets and repeated keys. `what` names the object in messages.
    pub fn fields<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &str,
        known: &'static [&'static str],
    ) -> Option<Fields<'n>> {
        self.fields_and_extensions(node, what, known, false)
    }

    /// Like [`Self::fields`]; with `extensions`, keys starting with `x-` are also accepted and
    /// ignored, as in Docker Compose, so that they can hold YAML anchors (`x-defaults: &pro`).
    fn fields_and_extensions<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &str,
        known: &'static [&'static str],
        extensions: bool,
    ) -> Option<Fields<'n>> {
        let entries = self.mapping(node, what)?;
        let mut fields = Fields {
            entries: Vec::new(),
        };
        for (key, value, name) in entries {
            if let Some(field) = known.iter().find(|field| **field == name) {
                fields.entries.push((field, key, value));
            } else if extensions && name.starts_with(EXTENSION_PREFIX) {
                continue;
            } else if !is_secret_key(&name) {
                let hint = closest(&name, known.iter().copied())
                    .map(|close| format!("did you mean `{close}`?"))
                    .unwrap_or_else(|| format!("known fields: {}", known.join(", ")));
                self.report(key, format!("unknown field `{name}` in {what}"), Some(hint));
            }
        }
        Some(fields)
    }

    /// The entries of a mapping with their keys as text. Reports a node that is not a mapping,
    /// keys that are not scalars, repeated keys (naming both places) and admin-key-like keys.
    fn mapping<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &str,
    ) -> Option<Vec<(&'n Node<'n>, &'n Node<'n>, Cow<'n, str>)>> {
        let Value::Map(entries) = &node.value else {
            self.report(
                node,
                format!(
                    "{what} must be a mapping of `key: value` lines, found {}",
                    node.kind()
                ),
                None,
            );
            return None;
        };
        // Most mappings have a handful of keys, where a scan beats hashing every key.
        let mut seen: HashMap<&str, &Node> = HashMap::new();
        let mut result: Vec<(&Node, &Node, Cow<str>)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let name = match (&key.value, key.scalar_text()) {
                (_, Some(text)) => Cow::Borrowed(text),
                (Value::Bool(value), _) => Cow::Owned(value.to_string()),
                _ => {
                    self.report(
                        key,
                        format!("a key in {what} must be a name, found {}", key.kind()),
                        None,
                    );
                    continue;
                }
            };
            if is_secret_key(&name) {
                self.report(
                    key,
                    format!("`{name}` must not be written in a file: the admin key is only read from the environment variable that `admin_key_env` names (default `SLASCONE_ADMIN_KEY`)"),
                    Some("remove this entry and export the key in that environment variable instead".into()),
                );
            }
            let first = if entries.len() <= 16 {
                result
                    .iter()
                    .find(|(_, _, seen)| *seen == name)
                    .map(|(first, _, _)| *first)
            } else {
                match &name {
                    Cow::Borrowed(text) => seen.insert(text, key),
                    // Only `true`/`false` keys are owned; a scan finds them.
                    Cow::Owned(_) => result
                        .iter()
                        .find(|(_, _, seen)| *seen == name)
                        .map(|(first, _, _)| *first),
                }
            };
            if let Some(first) = first {
                let first = self.origin(first);
                self.report(
                    key,
                    format!("`{name}` is given twice in {what}; first at {first}"),
                    None,
                );
                continue;
            }
            result.push((key, value, name));
        }
        Some(result)
    }

    /// A list; `null` (a key with nothing after it) counts as an empty list.
    fn list<'n>(&mut self, node: &'n Node<'n>, what: &str) -> &'n [Node<'n>] {
        match &node.value {
            Value::Seq(items) => items,
            Value::Null => &[],
            _ => {
                self.report(
                    node,
                    format!("`{what}` must be a list, found {}", node.kind()),
                    Some(format!("write one `- ...` line per entry below `{what}:`")),
                );
                &[]
            }
        }
    }

    /// Text. Numbers are taken as written (`customer_number: 1001` is the text `1001`).
    pub fn text(&mut self, node: &Node, field: &str) -> Option<Located<String>> {
        match node.scalar_text() {
            Some(text) => Some(self.located(node, text.to_owned())),
            None => {
                let hint = match node.value {
                    Value::Bool(_) => {
                        Some("quote the value, e.g. `\"true\"`, if it is meant as text".to_owned())
                    }
                    Value::Null => Some(
                        "leave the field out to keep the value SLASCONE has, or write one"
                            .to_owned(),
                    ),
                    _ => None,
                };
                self.report(
                    node,
                    format!("`{field}` must be a string, found {}", node.kind()),
                    hint,
                );
                None
            }
        }
    }

    /// Text that identifies or names something, so it must not be empty.
    fn name(&mut self, node: &Node, field: &str) -> Option<Located<String>> {
        let text = self.text(node, field)?;
        if text.value.trim().is_empty() {
            self.report(node, format!("`{field}` must not be empty"), None);
            return None;
        }
        Some(text)
    }

    pub fn uuid(&mut self, node: &Node, field: &str) -> Option<Located<Uuid>> {
        let text = self.text(node, field)?;
        match Uuid::parse_str(text.value.trim()) {
            Ok(uuid) => Some(self.located(node, uuid)),
            Err(_) => {
                self.report(
                    node,
                    format!("`{field}` is not a valid UUID: `{}`", text.value),
                    Some("a UUID looks like `2af5fe02-6207-4214-946e-b00ac5309f53`".into()),
                );
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, field: &str) -> Option<Located<bool>> {
        if let Value::Bool(value) = node.value {
            return Some(self.located(node, value));
        }
        let hint = match &node.value {
            Value::Str(text) if matches!(text.as_ref(), "true" | "false") => {
                Some("write `true` or `false` without quotes".to_owned())
            }
            Value::Str(_) | Value::Int(..) => Some("write `true` or `false`".to_owned()),
            _ => None,
        };
        self.report(
            node,
            format!("`{field}` must be `true` or `false`, found {}", node.kind()),
            hint,
        );
        None
    }

    /// A whole number of zero or more.
    fn count(&mut self, node: &Node, field: &str) -> Option<Located<i64>> {
        let Value::Int(value, _) = node.value else {
            let quoted_number =
                matches!(&node.value, Value::Str(text) if text.trim().parse::<i64>().is_ok());
            let hint = quoted_number.then(|| "write the number without quotes".to_owned());
            self.report(
                node,
                format!("`{field}` must be a whole number, found {}", node.kind()),
                hint,
            );
            return None;
        };
        if value < 0 {
            self.report(
                node,
                format!("`{field}` must not be negative, found {value}"),
                None,
            );
            return None;
        }
        match i64::try_from(value) {
            Ok(value) => Some(self.located(node, value)),
            Err(_) => {
                self.report(node, format!("`{field}` is too large: {value}"), None);
                None
            }
        }
    }

    /// A whole number SLASCONE keeps as a 32-bit integer (`int32` in its DTOs): token limits,
    /// limitations and valid days. A larger one would be refused or cut short by SLASCONE.
    fn int32(&mut self, node: &Node, field: &str) -> Option<Located<i64>> {
        let located = self.count(node, field)?;
        if located.value > i64::from(i32::MAX) {
            self.report(
                node,
                format!(
                    "`{field}` must be at most {}, found {}",
                    i32::MAX,
                    located.value
                ),
                Some("SLASCONE stores it as a 32-bit integer".to_owned()),
            );
            return None;
        }
        Some(located)
    }

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

    fn expires(&mut self, node: &Node) -> Option<Located<Expires>> {
        const HINT: &str =
            "write a date as `2027-12-31`, or `never`, or `{ days_after_activation: 30 }`";
        match &node.value {
            Value::Str(text) if text == "never" => Some(self.located(node, Expires::Never)),
            Value::Str(text) => match crate::dates::parse_date(text) {
                Some(date) => Some(self.located(node, Expires::Date(date))),
                None => {
                    self.report(
                        node,
                        format!("`expires` is not a valid date: `{text}`"),
                        Some(HINT.into()),
                    );
                    None
                }
            },
            Value::Map(_) => {
                let fields = self.fields(node, "`expires`", EXPIRES_FIELDS)?;
                let Some(days_node) = fields.get("days_after_activation") else {
                    self.report(
                        node,
                        "`expires` as a mapping needs `days_after_activation`",
                        Some(HINT.into()),
                    );
                    return None;
                };
                let days = self.int32(days_node, "days_after_activation")?;
                let days = u32::try_from(days.value).ok()?;
                Some(self.located(node, Expires::DaysAfterActivation(days)))
            }
            _ => {
                self.report(
                    node,
                    format!(
                        "`expires` must be a date, `never` or a mapping, found {}",
                        node.kind()
                    ),
                    Some(HINT.into()),
                );
                None
            }
        }
    }

    /// An `ignore_changes` list: every entry must name a field path of `scope`.
    pub fn ignore_changes(&mut self, node: &Node, scope: PathScope) -> Vec<Located<String>> {
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

    /// One manifest document: `customers: [...]`, or nothing at all.
    pub fn document(&mut self, node: &Node) -> Vec<Customer> {
        if node.value == Value::Null {
            return Vec::new();
        }
        if let Value::Seq(_) = node.value {
            self.report(
                node,
                "a manifest document must be a mapping with `customers:`, found a list",
                Some(
                    "start the document with a `customers:` line and indent the list below it"
                        .into(),
                ),
            );
            return Vec::new();
        }
        let Some(fields) =
            self.fields_and_extensions(node, "a manifest document", DOCUMENT_FIELDS, true)
        else {
            return Vec::new();
        };
        let Some(customers) = fields.get("customers") else {
            return Vec::new();
        };
        self.list(customers, "customers")
            .iter()
            .filter_map(|item| self.customer(item))
            .collect()
    }

    fn customer(&mut self, node: &Node) -> Option<Customer> {
        let fields = self.fields(node, "a customer", CUSTOMER_FIELDS)?;
        let text = |checker: &mut Self, name: &str| {
            fields.get(name).and_then(|value| checker.text(value, name))
        };
        let customer = Customer {
            origin: self.origin(node),
            id: fields.get("id").and_then(|value| self.uuid(value, "id")),
            customer_number: fields
                .get("customer_number")
                .and_then(|value| self.name(value, "customer_number")),
            company_name: text(self, "company_name"),
            customer_type: text(self, "customer_type"),
            country: text(self, "country"),
            email: text(self, "email"),
            street: text(self, "street"),
            zip: text(self, "zip"),
            city: text(self, "city"),
            phone: text(self, "phone"),
            prospect_number: text(self, "prospect_number"),
            ignore_changes: fields
                .get("ignore_changes")
                .map(|value| self.ignore_changes(value, PathScope::Customer))
                .unwrap_or_default(),
            licenses: fields
                .get("licenses")
                .map(|value| {
                    self.list(value, "licenses")
                        .iter()
                        .filter_map(|item| self.license(item))
                        .collect()
                })
                .unwrap_or_default(),
        };
        if fields.get("id").is_none() && fields.get("customer_number").is_none() {
            self.report(
                node,
                "customer has neither `id` nor `customer_number`",
                Some("add `customer_number: ...` (matched by number) or `id: <UUID>` (matched by id)".into()),
            );
            return None;
        }
        // A customer whose identity could not be read is reported already; keeping it would only
        // add follow-up noise (e.g. duplicates of an unreadable key).
        if customer.id.is_none() && customer.customer_number.is_none() {
            return None;
        }
        Some(customer)
    }

    fn license(&mut self, node: &Node) -> Option<License> {
        let fields = self.fields(node, "a license", LICENSE_FIELDS)?;
        let count = |checker: &mut Self, name: &str| {
            fields
                .get(name)
                .and_then(|value| checker.int32(value, name))
        };
        let token_limit = count(self, "token_limit");
        let goodwill_token_limit = count(self, "goodwill_token_limit");
        let floating_token_limit = count(self, "floating_token_limit");
        let user_limit = count(self, "user_limit");
        let id = fields.get("id").and_then(|value| self.uuid(value, "id"));
        let legacy_license_key = fields
            .get("legacy_license_key")
            .and_then(|value| self.name(value, "legacy_license_key"));
        let license_type = fields
            .get("license_type")
            .and_then(|value| self.name(value, "license_type"));
        let expires = fields.get("expires").and_then(|value| self.expires(value));
        let active = fields
            .get("active")
            .and_then(|value| self.bool(value, "active"));
        let features = self.entries(
            fields.get("features"),
            "features",
            |checker, value, name| checker.bool(value, name).map(|located| located.value),
        );
        let limitations = self.entries(
            fields.get("limitations"),
            "limitations",
            |checker, value, name| checker.int32(value, name).map(|located| located.value),
        );
        let variables = self.entries(
            fields.get("variables"),
            "variables",
            |checker, value, name| checker.text(value, name).map(|located| located.value),
        );
        let ignore_changes = fields
            .get("ignore_changes")
            .map(|value| self.ignore_changes(value, PathScope::License))
            .unwrap_or_default();
        let required = |checker: &mut Self, name: &str| match fields.get(name) {
            Some(value) => checker.name(value, name),
            None => {
                checker.report(
                    node,
                    format!("license has no `{name}`"),
                    Some(format!("every license names its `{name}`")),
                );
                None
            }
        };
        let product = required(self, "product");
        let edition = required(self, "edition");
        if fields.get("id").is_none() && fields.get("legacy_license_key").is_none() {
            self.report(
                node,
                "license has neither `id` nor `legacy_license_key`",
                Some(
                    "add `legacy_license_key: ...` (matched by product and key) or `id: <UUID>`"
                        .into(),
                ),
            );
            return None;
        }
        if id.is_none() && legacy_license_key.is_none() {
            return None;
        }
        Some(License {
            origin: self.origin(node),
            id,
            legacy_license_key,
            product: product?,
            edition: edition?,
            license_type,
            token_limit,
            goodwill_token_limit,
            floating_token_limit,
            user_limit,
            expires,
            active,
            features,
            limitations,
            variables,
            ignore_changes,
        })
    }

    /// A `name: value` map such as `features`, in file order; each entry is located at its key.
    fn entries<T>(
        &mut self,
        node: Option<&Node>,
        field: &str,
        mut read: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Vec<(String, Located<T>)> {
        let mut result = Vec::new();
        let Some(node) = node else {
            return result;
        };
        if node.value == Value::Null {
            return result;
        }
        let Some(entries) = self.mapping(node, &format!("`{field}`")) else {
            return result;
        };
        for (key, value, name) in entries {
            if name.trim().is_empty() {
                self.report(key, format!("a name in `{field}` must not be empty"), None);
                continue;
            }
            if let Some(value) = read(self, value, &format!("{field}.{name}")) {
                result.push((name.into_owned(), self.located(key, value)));
            }
        }
        result.shrink_to_fit();
        result
    }

    /// A path written in `slascone.yaml`, resolved against the directory.
    pub fn path(&mut self, node: &Node, field: &str, dir: &Path) -> Option<Located<PathBuf>> {
        let text = self.name(node, field)?;
        Some(self.located(node, super::load::in_dir(dir, Path::new(&text.value))))
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

    pub fn safety(&mut self, node: &Node) -> Option<Located<i64>> {
        let fields = self.fields(node, "`safety`", SAFETY_FIELDS)?;
        fields
            .get("max_changes")
            .and_then(|value| self.count(value, "max_changes"))
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

/// Whether a key looks like it holds the admin key itself (`admin_key`, `AdminKey`, `adminkey`,
/// `admin-key`, ...). Such keys are refused everywhere so a secret never ends up in git.
pub(crate) fn is_secret_key(name: &str) -> bool {
    // Runs for every key of every file, so it compares on the fly instead of building the
    // normalised name. The letters of `adminkey` are all different, so a mismatch can only
    // restart the match at an `a`.
    const NEEDLE: &[u8] = b"adminkey";
    let normalized = name
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_lowercase());
    let mut matched = 0;
    for byte in normalized.clone() {
        matched = if byte == NEEDLE[matched] {
            matched + 1
        } else {
            usize::from(byte == NEEDLE[0])
        };
        if matched == NEEDLE.len() {
            return !normalized.eq(b"adminkeyenv".iter().copied());
        }
    }
    false
}

/// The known name closest to `name`, if any is close enough to be a likely typo: similar overall
/// (`compnay_name`) or at most two edits away (`fone` for `phone`).
pub(crate) fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let lowered = name.to_lowercase();
    known
        .into_iter()
        .filter_map(|candidate| {
            let candidate_lowered = candidate.to_lowercase();
            let score = strsim::jaro_winkler(&lowered, &candidate_lowered);
            let edits = strsim::damerau_levenshtein(&lowered, &candidate_lowered);
            let close = score >= 0.8 || (edits <= 2 && lowered.chars().count() > 2);
            close.then_some((score, candidate))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

fn valid_paths(scope: PathScope) -> Vec<String> {
    let license = || {
        LICENSE_PATHS
            .iter()
            .map(|path| (*path).to_owned())
            .chain(LICENSE_PATH_MAPS.iter().map(|map| format!("{map}.<name>")))
    };
    match scope {
        PathScope::Customer => CUSTOMER_PATHS
            .iter()
            .map(|path| (*path).to_owned())
            .collect(),
        PathScope::License => license().collect(),
        PathScope::Project => CUSTOMER_PATHS
            .iter()
            .map(|path| format!("customer.{path}"))
            .chain(license().map(|path| format!("license.{path}")))
            .collect(),
    }
}

/// Checks that `path` names a field of `scope`; on failure returns the closest valid path.
pub(crate) fn check_path(path: &str, scope: PathScope) -> Result<(), Option<String>> {
    let valid = match scope {
        PathScope::Customer => CUSTOMER_PATHS.contains(&path),
        PathScope::License => is_license_path(path),
        PathScope::Project => match path.split_once('.') {
            Some(("customer", rest)) => CUSTOMER_PATHS.contains(&rest),
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
    LICENSE_PATHS.contains(&path)
        || path
            .split_once('.')
            .is_some_and(|(map, name)| LICENSE_PATH_MAPS.contains(&map) && !name.trim().is_empty())
}
