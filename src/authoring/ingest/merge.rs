//! Each exported customer and license found in the tree by its identity, and what to write.
//!
//! Identity, as `plan` matches (docs/architecture.md): a customer by `id` where the export gives
//! one the tree knows, else by `customer_number`; a license by `id`, else by `product` and
//! `legacy_license_key`, wherever in the tree it is written. A value the export holds as the
//! tree does changes nothing, so a second run with the same export writes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{
    Added, Cell, Counts, Fate, FileChange, How, Incoming, Ingest, Missing, NewFile, Note, Options,
    ValueChange, verify,
};
use crate::authoring::edit::{Block, Edit, Insert, NewValue, Place, Position};
use crate::authoring::generate::{self, EntryOut};
use crate::hashing::{HashMap, HashSet, map_with_capacity};
use crate::manifest::mapping::{self, Mapping, Target};
use crate::manifest::{self, Located, Manifests, Problem, Problems};
use crate::model::fields::{CUSTOMER, LICENSE};
use crate::model::{Kind, Origin};

/// The rank of a manifest key among the keys of its mapping, customers' and licenses' alike:
/// where an added key goes.
pub(super) fn key_rank(key: &str) -> usize {
    static ORDER: OnceLock<Vec<&'static str>> = OnceLock::new();
    let order = ORDER.get_or_init(|| {
        let last = [crate::model::fields::IGNORE_CHANGES, "contacts", "licenses"];
        let mut order: Vec<&'static str> = Vec::new();
        for key in CUSTOMER.key_list().iter().chain(LICENSE.key_list()) {
            if !last.contains(key) && !order.contains(key) {
                order.push(key);
            }
        }
        order.extend(last);
        order
    });
    order
        .iter()
        .position(|known| *known == key)
        .unwrap_or(usize::MAX - 1)
}

/// Merges the export's `customers` and `licenses` rows into the loaded tree: what to write
/// where, or every problem of the export (then nothing may be written).
pub fn merge(
    manifests: &Manifests,
    mapping: &Mapping,
    customers: &[Incoming],
    licenses: Option<&[Incoming]>,
    options: &Options<'_>,
) -> Result<Ingest, Problems> {
    let tree = Tree::index(manifests);
    let mut merge = Merge {
        tree: &tree,
        mapping,
        problems: Vec::new(),
        notes: Vec::new(),
        values: Vec::new(),
        added: Vec::new(),
        new: Vec::new(),
        seen_customers: HashSet::default(),
        seen_licenses: HashSet::default(),
        unchanged: Counts::default(),
    };
    let exported = merge.customers(customers);
    if let Some(licenses) = licenses {
        merge.licenses(licenses, &exported);
    }
    let new_files = merge.new_files(options);
    if !merge.problems.is_empty() {
        return Err(Problems(merge.problems));
    }
    let missing = if options.partial {
        Vec::new()
    } else {
        merge.missing(licenses.is_some())
    };
    let files = merge.files();
    Ok(Ingest {
        files,
        new_files,
        missing,
        notes: merge.notes,
        unchanged: merge.unchanged,
    })
}

/// The tree, indexed by identity.
struct Tree<'m> {
    customers: &'m [manifest::Customer],
    by_number: HashMap<&'m str, usize>,
    by_id: HashMap<Uuid, usize>,
    license_by_key: HashMap<(&'m str, &'m str), (usize, usize)>,
    license_by_id: HashMap<Uuid, (usize, usize)>,
    /// Per customer: its index among the customers of its file.
    in_file: Vec<usize>,
    /// Per file: its customers, in order.
    by_file: HashMap<Arc<Path>, Vec<usize>>,
}

impl<'m> Tree<'m> {
    fn index(manifests: &'m Manifests) -> Tree<'m> {
        let customers = &manifests.customers[..];
        let mut tree = Tree {
            customers,
            by_number: map_with_capacity(customers.len()),
            by_id: HashMap::default(),
            license_by_key: map_with_capacity(manifests.license_count()),
            license_by_id: HashMap::default(),
            in_file: Vec::with_capacity(customers.len()),
            by_file: HashMap::default(),
        };
        for (c, customer) in customers.iter().enumerate() {
            let in_file = tree
                .by_file
                .entry(customer.origin.file.clone())
                .or_default();
            tree.in_file.push(in_file.len());
            in_file.push(c);
            if let Some(number) = &customer.customer_number {
                tree.by_number.insert(&number.value, c);
            }
            if let Some(id) = &customer.id {
                tree.by_id.insert(id.value, c);
            }
            for (l, license) in customer.licenses.iter().enumerate() {
                if let Some(legacy) = &license.legacy_license_key {
                    tree.license_by_key
                        .insert((&license.product.value, &legacy.value), (c, l));
                }
                if let Some(id) = &license.id {
                    tree.license_by_id.insert(id.value, (c, l));
                }
            }
        }
        tree
    }

    fn customer_key(&self, c: usize) -> String {
        customer_key(&self.customers[c])
    }
}

/// Whether two rows give the same fields the same values, wherever their cells are.
fn same_values(first: &Incoming, again: &Incoming) -> bool {
    first.cells.len() == again.cells.len()
        && first.cells.iter().all(|cell| {
            again
                .get(&cell.target)
                .is_some_and(|other| other.value == cell.value)
        })
}

fn customer_key(customer: &manifest::Customer) -> String {
    match (&customer.customer_number, &customer.id) {
        (Some(number), _) => number.value.clone(),
        (None, Some(id)) => id.value.to_string(),
        (None, None) => String::new(),
    }
}

fn license_key(license: &manifest::License) -> String {
    match (&license.legacy_license_key, &license.id) {
        (Some(legacy), _) => format!("{}/{}", license.product.value, legacy.value),
        (None, Some(id)) => format!("{}/{}", license.product.value, id.value),
        (None, None) => license.product.value.clone(),
    }
}

/// Where an exported customer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Tree(usize),
    /// Index into the new customers.
    New(usize),
}

/// A customer the tree does not have.
struct NewCustomer {
    number: String,
    row: String,
    entry: EntryOut,
    licenses: Vec<EntryOut>,
}

struct Merge<'t, 'm> {
    tree: &'t Tree<'m>,
    mapping: &'t Mapping,
    problems: Vec<Problem>,
    notes: Vec<Note>,
    /// Per tree customer index: values to set.
    values: Vec<(usize, ValueChange)>,
    added: Vec<(usize, Added)>,
    new: Vec<NewCustomer>,
    seen_customers: HashSet<usize>,
    seen_licenses: HashSet<(usize, usize)>,
    unchanged: Counts,
}

impl Merge<'_, '_> {
    fn problem(&mut self, row: &Incoming, message: String) {
        self.problems.push(match &row.origin {
            Some(origin) => Problem::at(origin.clone(), message),
            None => Problem::general(format!("{}: {message}", row.row)),
        });
    }

    /// A problem at a cell the export gives.
    fn cell_problem(&mut self, cell: &Cell, message: String) {
        self.problems
            .push(Problem::general(format!("{}: {message}", cell.at)));
    }

    /// The export's customers: each found in the tree or new. Returns customer number → owner.
    fn customers(&mut self, rows: &[Incoming]) -> HashMap<String, Owner> {
        let mut exported: HashMap<String, Owner> = map_with_capacity(rows.len());
        let mut rows_by_number: HashMap<String, &Incoming> = map_with_capacity(rows.len());
        let mut rows_by_id: HashMap<String, &str> = HashMap::default();
        for row in rows {
            let Some(number) = row.text("customer_number").map(str::to_owned) else {
                if row.sound {
                    self.problem(row, "the row has no customer_number".into());
                }
                continue;
            };
            if let Some(first) = rows_by_number.get(number.as_str()) {
                // A report of accounts with their contracts repeats each account on every
                // contract's row: the same values again are the same customer, other values a
                // second customer of that number.
                if !same_values(first, row) {
                    let first = first.row.clone();
                    self.problem(
                        row,
                        format!("customer_number `{number}` is already on {first}"),
                    );
                }
                continue;
            }
            rows_by_number.insert(number.clone(), row);
            let id = row.text("id");
            if let Some(id) = id
                && let Some(first) = rows_by_id.insert(id.to_owned(), &row.row)
            {
                self.problem(row, format!("id `{id}` is already on {first}"));
                continue;
            }
            let id = id.and_then(|id| Uuid::parse_str(id).ok());
            let found = id
                .and_then(|id| self.tree.by_id.get(&id))
                .or_else(|| self.tree.by_number.get(number.as_str()))
                .copied();
            match found {
                Some(c) => {
                    if !self.seen_customers.insert(c) {
                        let key = self.tree.customer_key(c);
                        self.problem(
                            row,
                            format!("customer {key} of the manifests is on an earlier row too"),
                        );
                        continue;
                    }
                    exported.insert(number, Owner::Tree(c));
                    self.update_customer(c, row);
                }
                None => {
                    exported.insert(number.clone(), Owner::New(self.new.len()));
                    let entry = self.new_entry(&CUSTOMER, row, &self.mapping.customers.defaults);
                    self.new.push(NewCustomer {
                        number,
                        row: row.row.clone(),
                        entry,
                        licenses: Vec::new(),
                    });
                }
            }
        }
        exported
    }

    fn update_customer(&mut self, c: usize, row: &Incoming) {
        let customer = &self.tree.customers[c];
        let key = self.tree.customer_key(c);
        let mut changed = false;
        for cell in &row.cells {
            let Target::Field(field) = &cell.target else {
                continue;
            };
            let current = match field.name {
                "customer_number" => {
                    if let Some(number) = &customer.customer_number
                        && Some(&number.value) != cell.value.as_str().map(str::to_owned).as_ref()
                    {
                        self.notes.push(Note {
                            kind: Kind::Customer,
                            key: key.clone(),
                            origin: number.origin.clone(),
                            message: format!(
                                "the export gives it the customer_number {} ({}); a customer's \
                                 number is left as it is",
                                crate::model::display_value(&cell.value),
                                cell.at
                            ),
                        });
                    }
                    continue;
                }
                "id" => customer.id.as_ref().map(|id| Located {
                    value: json!(id.value.to_string()),
                    origin: id.origin.clone(),
                }),
                name => manifest::written(&customer.fields, name).cloned(),
            };
            if field.name == "id"
                && let Some(current) = &current
            {
                if current.value != cell.value {
                    self.cell_problem(
                        cell,
                        format!(
                            "the export gives customer {key} the id {}, the manifests {} ({})",
                            crate::model::display_value(&cell.value),
                            crate::model::display_value(&current.value),
                            current.origin
                        ),
                    );
                }
                continue;
            }
            changed |= self.set(
                c,
                None,
                Kind::Customer,
                &key,
                &customer.origin,
                cell,
                current.as_ref(),
            );
        }
        if !changed {
            self.unchanged.customers += 1;
        }
    }

    /// Plans `cell`'s value where `current` is written (or beside it, in the object at
    /// `entry`); false when it holds that value already.
    #[allow(clippy::too_many_arguments)]
    fn set(
        &mut self,
        c: usize,
        license: Option<usize>,
        kind: Kind,
        key: &str,
        entry: &Origin,
        cell: &Cell,
        current: Option<&Located<Json>>,
    ) -> bool {
        if current.is_some_and(|current| current.value == cell.value) {
            return false;
        }
        if let Some(current) = current
            && current.value.is_object() != cell.value.is_object()
        {
            // `expires: { days_after_activation: 30 }` and a date: a change of form, which
            // rewriting one value in place cannot make.
            self.notes.push(Note {
                kind,
                key: key.to_owned(),
                origin: current.origin.clone(),
                message: format!(
                    "the export gives {} {} ({}); the manifest writes it as {}, which only a \
                     hand edit changes",
                    cell.target.path(),
                    crate::model::display_value(&cell.value),
                    cell.at,
                    crate::model::display_value(&current.value)
                ),
            });
            return false;
        }
        let how = match (current, &cell.target) {
            (Some(current), Target::Entry { .. }) => How::Edit(Edit {
                at: Place::ValueOfKey(position(&current.origin)),
                value: new_value(&cell.value),
            }),
            (Some(current), _) => How::Edit(Edit {
                at: Place::Value(position(&current.origin)),
                value: new_value(&cell.value),
            }),
            (None, Target::Entry { map, name }) => How::Insert(Insert::Key {
                mapping: position(entry),
                within: Some(map.name.to_owned()),
                key: name.clone(),
                value: Block::Scalar(new_value(&cell.value)),
            }),
            (None, target) => How::Insert(Insert::Key {
                mapping: position(entry),
                within: None,
                key: target.path(),
                value: Block::Scalar(new_value(&cell.value)),
            }),
        };
        self.values.push((
            c,
            ValueChange {
                kind,
                key: key.to_owned(),
                path: cell.target.path(),
                before: current.map(|current| current.value.clone()),
                after: cell.value.clone(),
                origin: current.map_or_else(|| entry.clone(), |current| current.origin.clone()),
                cell: cell.at.to_string(),
                fate: Fate::Pending,
                at: (self.tree.in_file[c], license),
                how,
            },
        ));
        true
    }

    /// A new customer's or license's entry: its cells, then the defaults of what they lack.
    fn new_entry(
        &self,
        entity: &'static crate::model::fields::Entity,
        row: &Incoming,
        defaults: &[(Target, Located<Json>)],
    ) -> EntryOut {
        let mut entry = EntryOut::default();
        let mut maps: BTreeMap<&'static str, serde_json::Map<String, Json>> = BTreeMap::new();
        let given = row
            .cells
            .iter()
            .map(|cell| (&cell.target, &cell.value))
            .chain(
                defaults
                    .iter()
                    .filter(|(target, _)| row.get(target).is_none())
                    .map(|(target, value)| (target, &value.value)),
            );
        for (target, value) in given {
            match target {
                Target::Field(field) => entry.set(field.name, value.clone()),
                Target::Entry { map, name } => {
                    maps.entry(map.name)
                        .or_default()
                        .insert(name.clone(), value.clone());
                }
                Target::Owner => {}
            }
        }
        for (name, entries) in maps {
            entry.set(name, Json::Object(entries));
        }
        entry.ordered(entity)
    }

    /// The export's licenses: each found in the tree, or added to its customer.
    fn licenses(&mut self, rows: &[Incoming], exported: &HashMap<String, Owner>) {
        let mut by_key: HashMap<(String, String), &str> = map_with_capacity(rows.len());
        let mut by_id: HashMap<String, &str> = HashMap::default();
        for row in rows {
            let owner_number = row.text(mapping::OWNER_COLUMN).map(str::to_owned);
            let product = row.text("product").map(str::to_owned);
            let legacy = row.text("legacy_license_key").map(str::to_owned);
            let id_text = row.text("id").map(str::to_owned);
            let (Some(owner_number), Some(product)) = (owner_number, product) else {
                if row.sound {
                    self.problem(row, "the row has no customer_number or no product".into());
                }
                continue;
            };
            if legacy.is_none() && id_text.is_none() {
                if row.sound {
                    self.problem(
                        row,
                        "the row has neither a legacy_license_key nor an id".into(),
                    );
                }
                continue;
            }
            if let Some(legacy) = &legacy
                && let Some(first) = by_key.insert((product.clone(), legacy.clone()), &row.row)
            {
                self.problem(
                    row,
                    format!(
                        "license `{legacy}` of product `{product}` is already on {first}; \
                         SLASCONE keeps legacy_license_key unique per product"
                    ),
                );
                continue;
            }
            if let Some(id) = &id_text
                && let Some(first) = by_id.insert(id.clone(), &row.row)
            {
                self.problem(row, format!("id `{id}` is already on {first}"));
                continue;
            }
            let owner = exported.get(&owner_number).copied().or_else(|| {
                self.tree
                    .by_number
                    .get(owner_number.as_str())
                    .map(|c| Owner::Tree(*c))
            });
            let Some(owner) = owner else {
                self.problem(
                    row,
                    format!(
                        "the license's customer `{owner_number}` is neither in the customers \
                         export nor in the manifests"
                    ),
                );
                continue;
            };
            let id = id_text.as_deref().and_then(|id| Uuid::parse_str(id).ok());
            let found = id
                .and_then(|id| self.tree.license_by_id.get(&id))
                .or_else(|| {
                    legacy.as_deref().and_then(|legacy| {
                        self.tree.license_by_key.get(&(product.as_str(), legacy))
                    })
                })
                .copied();
            match found {
                Some((c, l)) => {
                    if !self.seen_licenses.insert((c, l)) {
                        let key = license_key(&self.tree.customers[c].licenses[l]);
                        self.problem(
                            row,
                            format!("license {key} of the manifests is on an earlier row too"),
                        );
                        continue;
                    }
                    if owner != Owner::Tree(c) {
                        let license = &self.tree.customers[c].licenses[l];
                        self.notes.push(Note {
                            kind: Kind::License,
                            key: license_key(license),
                            origin: license.origin.clone(),
                            message: format!(
                                "the export lists it under customer {owner_number} ({}), the \
                                 manifests under {}; it stays where it is (move its entry by \
                                 hand)",
                                row.row,
                                self.tree.customer_key(c)
                            ),
                        });
                    }
                    self.update_license(c, l, row);
                }
                None => self.add_license(owner, row, &product, legacy, id),
            }
        }
    }

    fn update_license(&mut self, c: usize, l: usize, row: &Incoming) {
        let license = &self.tree.customers[c].licenses[l];
        let key = license_key(license);
        let mut changed = false;
        for cell in &row.cells {
            let current = match &cell.target {
                Target::Owner => continue,
                Target::Field(field) => match field.name {
                    "product" | "legacy_license_key" => continue,
                    "id" => {
                        if let Some(id) = &license.id {
                            if cell.value.as_str() != Some(id.value.to_string().as_str()) {
                                self.cell_problem(
                                    cell,
                                    format!(
                                        "the export gives license {key} the id {}, the \
                                         manifests {} ({})",
                                        crate::model::display_value(&cell.value),
                                        id.value,
                                        id.origin
                                    ),
                                );
                            }
                            continue;
                        }
                        None
                    }
                    "edition" => Some(Located {
                        value: json!(license.edition.value),
                        origin: license.edition.origin.clone(),
                    }),
                    name => manifest::written(&license.fields, name).cloned(),
                },
                Target::Entry { map, name } => license
                    .entries
                    .iter()
                    .find(|entry| entry.map.name == map.name && entry.name == *name)
                    .map(|entry| entry.value.clone()),
            };
            changed |= self.set(
                c,
                Some(l),
                Kind::License,
                &key,
                &license.origin,
                cell,
                current.as_ref(),
            );
        }
        if !changed {
            self.unchanged.licenses += 1;
        }
    }

    fn add_license(
        &mut self,
        owner: Owner,
        row: &Incoming,
        product: &str,
        legacy: Option<String>,
        id: Option<Uuid>,
    ) {
        let defaults = self
            .mapping
            .licenses
            .as_ref()
            .map(|section| &section.defaults[..])
            .unwrap_or_default();
        let entry = self.new_entry(&LICENSE, row, defaults);
        let Some(edition) = entry.text("edition").map(str::to_owned) else {
            self.problem(
                row,
                "a new license needs an edition: map a column to `edition` or give \
                 `licenses.defaults: { edition: ... }`"
                    .into(),
            );
            return;
        };
        let key = format!(
            "{product}/{}",
            legacy
                .clone()
                .or_else(|| id.map(|id| id.to_string()))
                .unwrap_or_default()
        );
        match owner {
            Owner::New(index) => self.new[index].licenses.push(entry),
            Owner::Tree(c) => {
                let customer = &self.tree.customers[c];
                let mut values = BTreeMap::new();
                for (name, value) in entry.values() {
                    match (name, value) {
                        ("id" | "legacy_license_key" | "product" | "edition", _) => {}
                        (name, Json::Object(entries)) => {
                            for (entry_name, value) in entries {
                                values.insert(format!("{name}.{entry_name}"), value.clone());
                            }
                        }
                        (name, value) => {
                            values.insert(name.to_owned(), value.clone());
                        }
                    }
                }
                let license = verify::new_license(id, legacy, product.to_owned(), edition, values);
                self.added.push((
                    c,
                    Added {
                        key,
                        customer: customer_key(customer),
                        origin: customer.origin.clone(),
                        cell: row.row.clone(),
                        fate: Fate::Pending,
                        customer_index: self.tree.in_file[c],
                        license,
                        insert: Insert::Item {
                            mapping: position(&customer.origin),
                            key: "licenses".to_owned(),
                            item: block(&entry),
                        },
                    },
                ));
            }
        }
    }

    /// What a full export lacks; with `missing: deactivate`, `active: false` planned on the
    /// licenses.
    fn missing(&mut self, licenses_exported: bool) -> Vec<Missing> {
        let mut missing = Vec::new();
        let deactivate = self
            .mapping
            .licenses
            .as_ref()
            .is_some_and(|s| s.missing == mapping::Missing::Deactivate);
        let active = LICENSE.field("active").map(Target::Field);
        for (c, customer) in self.tree.customers.iter().enumerate() {
            if !self.seen_customers.contains(&c) {
                missing.push(Missing {
                    kind: Kind::Customer,
                    key: customer_key(customer),
                    origin: customer.origin.clone(),
                    deactivated: false,
                });
            }
            if !licenses_exported {
                continue;
            }
            for (l, license) in customer.licenses.iter().enumerate() {
                if self.seen_licenses.contains(&(c, l)) {
                    continue;
                }
                let key = license_key(license);
                let mut deactivated = false;
                if deactivate && let Some(active) = &active {
                    let current = manifest::written(&license.fields, "active").cloned();
                    let cell = Cell {
                        target: active.clone(),
                        value: Json::Bool(false),
                        at: super::Source::Rule("missing: deactivate"),
                    };
                    self.set(
                        c,
                        Some(l),
                        Kind::License,
                        &key,
                        &license.origin,
                        &cell,
                        current.as_ref(),
                    );
                    deactivated = true;
                }
                missing.push(Missing {
                    kind: Kind::License,
                    key,
                    origin: license.origin.clone(),
                    deactivated,
                });
            }
        }
        missing
    }

    /// The new customers' files, each at the mapping's place for it, never over a taken path.
    fn new_files(&mut self, options: &Options<'_>) -> Vec<NewFile> {
        let template = self
            .mapping
            .customers
            .file
            .as_ref()
            .map_or(mapping::DEFAULT_CUSTOMER_FILE, |file| file.value.as_str());
        let mut planned: HashSet<String> = HashSet::default();
        let mut new = std::mem::take(&mut self.new);
        new.sort_by(|a, b| a.number.cmp(&b.number));
        let mut files = Vec::with_capacity(new.len());
        for customer in new {
            let path = free_path(template, &customer.number, &mut planned, options.taken);
            let mut entry = customer.entry;
            let mut licenses = customer.licenses;
            EntryOut::sort_licenses(&mut licenses);
            let count = licenses.len();
            for license in licenses {
                entry.push("licenses", license);
            }
            let depth = options
                .schema_dir
                .then(|| path.components().count().saturating_sub(1));
            match generate::customer_file_at(&entry, "", depth) {
                Ok(text) => files.push(NewFile {
                    path,
                    text,
                    customer: customer.number,
                    licenses: count,
                    row: customer.row,
                }),
                Err(err) => self
                    .problems
                    .push(Problem::general(format!("{}: {err:#}", customer.row))),
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    /// The changes of existing files, by file.
    fn files(&mut self) -> Vec<FileChange> {
        let mut by_file: BTreeMap<Arc<Path>, FileChange> = BTreeMap::new();
        let tree = self.tree;
        let mut values = std::mem::take(&mut self.values);
        // In file order, as a reader goes through the file.
        values.sort_by(|(_, a), (_, b)| a.origin.cmp(&b.origin));
        for (c, value) in values {
            file_change(&mut by_file, tree, c).values.push(value);
        }
        let mut added = std::mem::take(&mut self.added);
        // Deterministic whatever the export's row order: by customer, then by license.
        added.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.key.cmp(&y.key)));
        for (c, license) in added {
            file_change(&mut by_file, tree, c).added.push(license);
        }
        // What a file held is only compared with what an insert made of it; rewrites alone are
        // read back by the editor, and with 1% of an export changed nearly every file has one.
        for change in by_file.values_mut() {
            if change.inserts() {
                change.before = tree.by_file[&change.file]
                    .iter()
                    .map(|&c| verify::customer(&tree.customers[c]))
                    .collect();
            }
        }
        by_file.into_values().collect()
    }
}

/// The change of the file customer `c` is written in.
fn file_change<'f>(
    by_file: &'f mut BTreeMap<Arc<Path>, FileChange>,
    tree: &Tree<'_>,
    c: usize,
) -> &'f mut FileChange {
    let file = &tree.customers[c].origin.file;
    by_file.entry(file.clone()).or_insert_with(|| FileChange {
        before: Vec::new(),
        file: file.clone(),
        values: Vec::new(),
        added: Vec::new(),
    })
}

/// A free path for a new customer's file: the template with the number (made safe for a file
/// name), `-2`, `-3`, ... added while the path is taken on disk or by another new file.
fn free_path(
    template: &str,
    number: &str,
    planned: &mut HashSet<String>,
    taken: &dyn Fn(&Path) -> bool,
) -> PathBuf {
    let name = generate::file_names([number]).remove(0);
    let mut counter = 1;
    loop {
        let candidate = if counter == 1 {
            name.clone()
        } else {
            format!("{name}-{counter}")
        };
        let path = PathBuf::from(template.replace(mapping::NUMBER_PLACEHOLDER, &candidate));
        let folded = path.to_string_lossy().to_lowercase();
        if !planned.contains(&folded) && !taken(&path) {
            planned.insert(folded);
            return path;
        }
        counter += 1;
    }
}

fn position(origin: &Origin) -> Position {
    Position {
        line: origin.line,
        column: origin.column,
    }
}

/// A model value as an edit writes it.
fn new_value(value: &Json) -> NewValue {
    match value {
        Json::Bool(flag) => NewValue::Bool(*flag),
        Json::Number(number) => match number.as_i64() {
            Some(int) => NewValue::Integer(int),
            None => NewValue::Text(number.to_string()),
        },
        Json::String(text) => NewValue::Text(text.clone()),
        other => NewValue::Text(other.to_string()),
    }
}

/// A new entry as a block to insert.
fn block(entry: &EntryOut) -> Block {
    Block::Map(
        entry
            .values()
            .map(|(name, value)| (name.to_owned(), json_block(value)))
            .collect(),
    )
}

fn json_block(value: &Json) -> Block {
    match value {
        Json::Object(entries) => Block::Map(
            entries
                .iter()
                .map(|(name, value)| (name.clone(), json_block(value)))
                .collect(),
        ),
        other => Block::Scalar(new_value(other)),
    }
}
