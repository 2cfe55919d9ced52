//! The checker: reads the nodes of one file, reporting every mistake with the position of the
//! value (or key) at fault. What a manifest entry holds is read by `document.rs`, the project
//! file by `project.rs`; this module knows values, mappings and lists.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::node::{Node, Value};
use super::{Located, Problem};
use crate::model::Origin;
use crate::model::fields::Type;

/// Top-level keys of a manifest document with this prefix are ignored: a place for anchors.
pub(crate) const EXTENSION_PREFIX: &str = "x-";
pub(crate) const EXPIRES_FIELDS: &[&str] = &["days_after_activation"];

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
    /// How many known keys the mapping writes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

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
        self.report_at(&self.origin(node), message, hint);
    }

    pub(crate) fn report_at(
        &mut self,
        origin: &Origin,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let mut problem = Problem::at(origin.clone(), message);
        problem.hint = hint;
        self.problems.push(problem);
    }

    pub(crate) fn located<T>(&self, node: &Node, value: T) -> Located<T> {
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
        known: &[&'static str],
    ) -> Option<Fields<'n>> {
        self.fields_and_extensions(node, what, known, false)
    }

    /// Like [`Self::fields`]; with `extensions`, keys starting with `x-` are also accepted and
    /// ignored, as in Docker Compose, so that they can hold YAML anchors (`x-defaults: &pro`).
    pub(crate) fn fields_and_extensions<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &str,
        known: &[&'static str],
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
    pub(crate) fn mapping<'n>(
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
    pub(crate) fn list<'n>(&mut self, node: &'n Node<'n>, what: &str) -> &'n [Node<'n>] {
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
    pub(crate) fn name(&mut self, node: &Node, field: &str) -> Option<Located<String>> {
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

    pub(crate) fn bool(&mut self, node: &Node, field: &str) -> Option<Located<bool>> {
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
    pub(crate) fn count(&mut self, node: &Node, field: &str) -> Option<Located<i64>> {
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
    pub(crate) fn int32(&mut self, node: &Node, field: &str) -> Option<Located<i64>> {
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

    /// A calendar day, `2027-01-01`, as its model text.
    pub(crate) fn date(&mut self, node: &Node, field: &str) -> Option<Located<serde_json::Value>> {
        let text = self.text(node, field)?;
        match crate::dates::parse_date(text.value.trim()) {
            Some(date) => Some(self.located(node, json!(crate::dates::format_date(date)))),
            None => {
                self.report(
                    node,
                    format!("`{field}` is not a valid date: `{}`", text.value),
                    Some("write a date as `2027-01-01`".into()),
                );
                None
            }
        }
    }

    /// A list of texts, none empty and none twice, as a JSON array.
    pub(crate) fn text_list(
        &mut self,
        node: &Node,
        field: &str,
    ) -> Option<Located<serde_json::Value>> {
        let Value::Seq(items) = &node.value else {
            self.report(
                node,
                format!("`{field}` must be a list, found {}", node.kind()),
                Some("write the values as a list, e.g. `[Core, Analytics]`".into()),
            );
            return None;
        };
        let mut values: Vec<serde_json::Value> = Vec::with_capacity(items.len());
        let mut readable = true;
        for item in items {
            let Some(text) = self.name(item, field) else {
                readable = false;
                continue;
            };
            if values
                .iter()
                .any(|seen| seen.as_str() == Some(text.value.as_str()))
            {
                self.report(
                    item,
                    format!("`{field}` lists `{}` twice", text.value),
                    None,
                );
                readable = false;
                continue;
            }
            values.push(serde_json::Value::String(text.value));
        }
        readable.then(|| self.located(node, serde_json::Value::Array(values)))
    }

    /// `expires`: its model value (`"2027-12-31"`, `"never"` or
    /// `{"days_after_activation": 30}`).
    pub fn expires(&mut self, node: &Node) -> Option<Located<serde_json::Value>> {
        const HINT: &str =
            "write a date as `2027-12-31`, or `never`, or `{ days_after_activation: 30 }`";
        match &node.value {
            Value::Str(text) if text == "never" => Some(self.located(node, json!("never"))),
            Value::Str(text) => match crate::dates::parse_date(text) {
                Some(date) => Some(self.located(node, json!(crate::dates::format_date(date)))),
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
                Some(self.located(node, json!({ "days_after_activation": days.value })))
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

    /// A value of `ty`, as the model holds it.
    pub fn value(
        &mut self,
        node: &Node,
        field: &str,
        ty: Type,
    ) -> Option<Located<serde_json::Value>> {
        let text = |located: Located<String>| Located {
            value: serde_json::Value::String(located.value),
            origin: located.origin,
        };
        match ty {
            Type::Text => self.text(node, field).map(text),
            Type::Name => self.name(node, field).map(text),
            Type::Uuid => self.uuid(node, field).map(|id| Located {
                value: serde_json::Value::String(id.value.to_string()),
                origin: id.origin,
            }),
            Type::Count => self.int32(node, field).map(|count| Located {
                value: json!(count.value),
                origin: count.origin,
            }),
            Type::Bool => self.bool(node, field).map(|flag| Located {
                value: serde_json::Value::Bool(flag.value),
                origin: flag.origin,
            }),
            Type::Expires => self.expires(node),
            Type::Date => self.date(node, field),
            Type::TextList => self.text_list(node, field),
        }
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
