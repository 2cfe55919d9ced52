//! Manifest documents: `customers:` lists of customers, each with its licenses, read by the field
//! declarations of `model::fields`, so every field is checked by its type wherever it is.

use serde_json::Value as Json;

use super::check::Checker;
use super::node::{Node, Value};
use super::paths::PathScope;
use super::{Contact, Customer, Entry, License, Located, Written};
use crate::model::fields::{CONTACT, CUSTOMER, Entity, IGNORE_CHANGES, LICENSE, Map};
use crate::model::{is_email_address, same_email};

/// Keys of one manifest document.
pub(crate) const DOCUMENT_FIELDS: &[&str] = &["customers"];

/// What one manifest entry holds, read by its entity's declaration.
struct Read {
    /// Every field written and readable, identity ones included, in declaration order.
    fields: Vec<Written>,
    entries: Vec<Entry>,
    ignore_changes: Vec<Located<String>>,
}

impl Read {
    fn take(&mut self, name: &str) -> Option<Located<Json>> {
        let at = self
            .fields
            .iter()
            .position(|(field, _)| field.name == name)?;
        Some(self.fields.remove(at).1)
    }

    fn take_text(&mut self, name: &str) -> Option<Located<String>> {
        let located = self.take(name)?;
        match located.value {
            Json::String(text) => Some(Located {
                value: text,
                origin: located.origin,
            }),
            _ => None,
        }
    }
}

impl Checker<'_> {
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

    /// The fields, map entries and `ignore_changes` of one entry of `entity`; its lists are
    /// left to the caller, as the nodes of each.
    fn entry<'n>(
        &mut self,
        node: &'n Node<'n>,
        entity: &'static Entity,
        scope: PathScope,
    ) -> Option<(Read, Vec<(&'static str, &'n Node<'n>)>)> {
        let found = self.fields(node, entity.what, entity.key_list())?;
        // Sized up front: growing and then trimming two lists per entry was a tenth of loading.
        let written_maps =
            || (entity.maps.iter()).filter_map(|map| found.get(map.name).map(|node| (map, node)));
        let lists: Vec<(&'static str, &Node)> = entity
            .lists
            .iter()
            .filter_map(|list| found.get(list.name).map(|node| (list.name, node)))
            .collect();
        let ignore = found.get(IGNORE_CHANGES);
        let field_count =
            found.len() - written_maps().count() - lists.len() - usize::from(ignore.is_some());
        let entry_count = written_maps()
            .map(|(_, node)| match &node.value {
                Value::Map(entries) => entries.len(),
                _ => 0,
            })
            .sum();
        let mut read = Read {
            fields: Vec::with_capacity(field_count),
            entries: Vec::with_capacity(entry_count),
            ignore_changes: Vec::new(),
        };
        for field in entity.fields {
            if let Some(value) = found.get(field.name)
                && let Some(located) = self.value(value, field.name, field.ty)
            {
                read.fields.push((field, located));
            }
        }
        for (map, node) in written_maps() {
            self.map_entries(node, map, &mut read.entries);
        }
        if let Some(value) = ignore {
            read.ignore_changes = self.ignore_changes(value, scope);
        }
        // Required fields missing, in declaration order, reported at the entry.
        for field in entity.fields.iter().filter(|f| f.required) {
            if found.get(field.name).is_none() {
                self.report(
                    node,
                    format!("{} has no `{}`", noun(entity), field.name),
                    Some(format!(
                        "write `{}: ...` for every {}",
                        field.name,
                        noun(entity)
                    )),
                );
            }
        }
        Some((read, lists))
    }

    fn customer(&mut self, node: &Node) -> Option<Customer> {
        let (mut read, lists) = self.entry(node, &CUSTOMER, PathScope::Customer)?;
        let mut licenses = Vec::new();
        let mut contacts: Vec<Contact> = Vec::new();
        for (name, list) in lists {
            for item in self.list(list, name) {
                if name == crate::model::fields::CONTACTS {
                    let Some(contact) = self.contact(item) else {
                        continue;
                    };
                    if let Some(first) = contacts
                        .iter()
                        .find(|c| same_email(&c.email.value, &contact.email.value))
                    {
                        let message = format!(
                            "contact `{}` is listed twice for this customer; first at {}",
                            contact.email.value, first.email.origin
                        );
                        let hint = "a contact is known by its e-mail address, whatever its case";
                        self.report(item, message, Some(hint.into()));
                        continue;
                    }
                    contacts.push(contact);
                } else {
                    licenses.extend(self.license(item));
                }
            }
        }
        let id = read.take("id").and_then(parse_uuid);
        let customer_number = read.take_text("customer_number");
        if id.is_none() && customer_number.is_none() {
            if !self.wrote_identity(node, &["id", "customer_number"]) {
                self.report(
                    node,
                    "customer has neither `id` nor `customer_number`",
                    Some("add `customer_number: ...` (matched by number) or `id: <UUID>` (matched by id)".into()),
                );
            }
            // A customer whose identity could not be read is reported already; keeping it
            // would only add follow-up noise (e.g. duplicates of an unreadable key).
            return None;
        }
        Some(Customer {
            origin: self.origin(node),
            id,
            customer_number,
            fields: read.fields,
            ignore_changes: read.ignore_changes,
            licenses,
            contacts,
        })
    }

    fn contact(&mut self, node: &Node) -> Option<Contact> {
        let (mut read, _) = self.entry(node, &CONTACT, PathScope::Contact)?;
        let email = read.take_text("email")?;
        if !is_email_address(&email.value) {
            let message = format!("`email` is not an e-mail address: `{}`", email.value);
            let hint = "write it as `name@example.com`";
            self.report_at(&email.origin, message, Some(hint.into()));
            return None;
        }
        Some(Contact {
            origin: self.origin(node),
            email,
            fields: read.fields,
            ignore_changes: read.ignore_changes,
        })
    }

    fn license(&mut self, node: &Node) -> Option<License> {
        let (mut read, _) = self.entry(node, &LICENSE, PathScope::License)?;
        let id = read.take("id").and_then(parse_uuid);
        let legacy_license_key = read.take_text("legacy_license_key");
        let product = read.take_text("product");
        let edition = read.take_text("edition");
        if id.is_none() && legacy_license_key.is_none() {
            if !self.wrote_identity(node, &["id", "legacy_license_key"]) {
                self.report(
                    node,
                    "license has neither `id` nor `legacy_license_key`",
                    Some(
                        "add `legacy_license_key: ...` (matched by product and key) or `id: <UUID>`"
                            .into(),
                    ),
                );
            }
            return None;
        }
        Some(License {
            origin: self.origin(node),
            id,
            legacy_license_key,
            product: product?,
            edition: edition?,
            fields: read.fields,
            entries: read.entries,
            ignore_changes: read.ignore_changes,
        })
    }

    /// Whether the mapping `node` writes one of `keys` (read or not).
    fn wrote_identity(&self, node: &Node, keys: &[&str]) -> bool {
        let Value::Map(entries) = &node.value else {
            return false;
        };
        entries
            .iter()
            .any(|(key, _)| key.scalar_text().is_some_and(|k| keys.contains(&k)))
    }

    /// The entries of a map such as `features`, in file order; each is located at its key.
    fn map_entries(&mut self, node: &Node, map: &'static Map, into: &mut Vec<Entry>) {
        if node.value == Value::Null {
            return;
        }
        let Some(entries) = self.mapping(node, &format!("`{}`", map.name)) else {
            return;
        };
        for (key, value, name) in entries {
            if name.trim().is_empty() {
                self.report(
                    key,
                    format!("a name in `{}` must not be empty", map.name),
                    None,
                );
                continue;
            }
            let path = format!("{}.{name}", map.name);
            if let Some(read) = self.value(value, &path, map.value) {
                let items = match &value.value {
                    Value::Seq(items) => items
                        .iter()
                        .filter_map(|item| {
                            Some(Located {
                                value: item.scalar_text()?.to_owned(),
                                origin: self.origin(item),
                            })
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                into.push(Entry {
                    map,
                    name: name.into_owned(),
                    value: Located {
                        value: read.value,
                        origin: self.origin(key),
                    },
                    items,
                });
            }
        }
    }
}

fn parse_uuid(located: Located<Json>) -> Option<Located<uuid::Uuid>> {
    let value = located.value.as_str()?.parse().ok()?;
    Some(Located {
        value,
        origin: located.origin,
    })
}

/// `customer`, `license`: the entity as messages start a sentence with it.
fn noun(entity: &Entity) -> &'static str {
    entity.what.trim_start_matches("a ")
}
