//! The mapping file of `ingest`: which column of an ERP or CRM export feeds which manifest field,
//! how the export's cells are written (delimiter, encoding, dates, what counts as empty), the ERP
//! codes that stand for SLASCONE's names, what new objects get by default, and where new
//! customers' files go. Read like `slascone.yaml`: every problem of the file at once, each at its
//! line and column, unknown names with the closest known one.

use std::path::Path;
use std::sync::Arc;

use super::check::{Checker, closest};
use super::node::{Node, Value};
use super::{Located, Problem, Problems, load};
use crate::model::Origin;
use crate::model::fields::{CUSTOMER, Entity, Field, LICENSE, Map, Role, Type};

pub(crate) const MAPPING_FIELDS: &[&str] = &["format", "customers", "licenses"];
pub(crate) const FORMAT_FIELDS: &[&str] = &["delimiter", "encoding", "date", "empty"];
pub(crate) const CUSTOMER_SECTION_FIELDS: &[&str] =
    &["columns", "values", "defaults", "sheet", "file"];
pub(crate) const LICENSE_SECTION_FIELDS: &[&str] =
    &["columns", "values", "defaults", "sheet", "missing"];

/// Where a new customer's manifest goes unless the mapping says otherwise.
pub const DEFAULT_CUSTOMER_FILE: &str = "customers/{customer_number}.yaml";
/// The placeholder of [`Section::file`].
pub const NUMBER_PLACEHOLDER: &str = "{customer_number}";
/// How dates are written unless the mapping says otherwise (jiff's `strftime` directives).
pub const DEFAULT_DATE_FORMAT: &str = "%Y-%m-%d";
/// The manifest field of a license export that names the license's customer.
pub const OWNER_COLUMN: &str = "customer_number";

/// A mapping file, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub file: Arc<Path>,
    pub format: Format,
    pub customers: Section,
    pub licenses: Option<Section>,
}

/// How the export's cells are written.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    /// CSV only; `None`: a comma.
    pub delimiter: Option<u8>,
    /// CSV only, a WHATWG label (`windows-1252`, `utf-16le`); `None`: UTF-8, or UTF-16 by its
    /// byte order mark.
    pub encoding: Option<Located<String>>,
    /// How text cells write a date, in `strftime` directives (`%d.%m.%Y`); ISO dates
    /// (`2027-12-31`) and the spreadsheet's own date cells are read whatever it says.
    pub date: Located<String>,
    /// Cell texts that mean "no value here": the field is left as it is. A blank cell always
    /// does.
    pub empty: Vec<String>,
}

/// What one export file holds: customers or licenses.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Where the section starts, to point at when it lacks something.
    pub origin: Origin,
    /// Which manifest field each export column feeds, in the mapping's order.
    pub columns: Vec<ColumnMap>,
    /// ERP codes for names, per target.
    pub values: Vec<ValueMap>,
    /// What a new object gets for a field no column gives it.
    pub defaults: Vec<(Target, Located<serde_json::Value>)>,
    /// The sheet of a spreadsheet export; `None`: the first.
    pub sheet: Option<Located<String>>,
    /// Customers only: where a new customer's file goes, relative to the manifest directory,
    /// with `{customer_number}` in it.
    pub file: Option<Located<String>>,
    /// Licenses only: what a full export does to the licenses of the tree it lacks.
    pub missing: Missing,
}

impl Section {
    /// The column feeding `target`, if the mapping names one.
    pub fn column(&self, target: &Target) -> Option<&ColumnMap> {
        self.columns.iter().find(|column| column.target == *target)
    }

    /// The code map of `target`, if any.
    pub fn values_of(&self, target: &Target) -> Option<&ValueMap> {
        self.values.iter().find(|values| values.target == *target)
    }
}

/// One export column and the manifest field it feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMap {
    pub target: Target,
    /// The export's header, as the mapping writes it.
    pub header: Located<String>,
}

/// A manifest field a column, a code map or a default can feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A field of the customer or the license.
    Field(&'static Field),
    /// One entry of a license map: `limitations.Users`.
    Entry { map: &'static Map, name: String },
    /// A license's customer, by its customer number: which customer's list the license is in.
    Owner,
}

impl Target {
    /// The path as the mapping and the manifests write it.
    pub fn path(&self) -> String {
        match self {
            Target::Field(field) => field.name.to_owned(),
            Target::Entry { map, name } => format!("{}.{name}", map.name),
            Target::Owner => OWNER_COLUMN.to_owned(),
        }
    }

    /// The type a cell is read as.
    pub fn ty(&self) -> Type {
        match self {
            Target::Field(field) => field.ty,
            Target::Entry { map, .. } => map.value,
            Target::Owner => Type::Name,
        }
    }
}

/// ERP codes and the names (or values) they stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMap {
    pub target: Target,
    pub origin: Origin,
    /// Code → value, in the mapping's order.
    pub codes: Vec<(String, String)>,
}

impl ValueMap {
    pub fn get(&self, code: &str) -> Option<&str> {
        self.codes
            .iter()
            .find(|(known, _)| known == code)
            .map(|(_, value)| value.as_str())
    }
}

/// What a full export does to the licenses it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Name them; change nothing.
    #[default]
    Report,
    /// Name them and write `active: false` on them.
    Deactivate,
}

/// Reads and checks the mapping file `file`, or every problem it has.
pub fn read(file: &Path) -> Result<Mapping, Problems> {
    let mut problems = Vec::new();
    let mapping = load::read_text(file, &mut problems).and_then(|text| {
        let documents = load::parse_yaml(file, &text, &mut problems)?;
        let mut checker = Checker {
            file: Arc::from(file),
            problems: &mut problems,
        };
        mapping(&mut checker, &documents)
    });
    match mapping {
        Some(mapping) if problems.is_empty() => Ok(mapping),
        _ => Err(Problems(problems)),
    }
}

fn mapping(checker: &mut Checker<'_>, documents: &[Node<'_>]) -> Option<Mapping> {
    let Some(root) = documents.first().filter(|root| root.value != Value::Null) else {
        checker.problems.push(Problem::general(format!(
            "{}: the mapping file is empty; it needs at least `customers: {{ columns: ... }}`",
            checker.file.display()
        )));
        return None;
    };
    if let Some(extra) = documents.get(1) {
        checker.report(extra, "a mapping file holds one YAML document", None);
    }
    let fields = checker.fields(root, "the mapping", MAPPING_FIELDS)?;
    let format = match fields.get("format") {
        Some(node) => read_format(checker, node),
        None => Some(Format {
            delimiter: None,
            encoding: None,
            date: checker.located(root, DEFAULT_DATE_FORMAT.to_owned()),
            empty: Vec::new(),
        }),
    };
    let customers = match fields.get("customers") {
        Some(node) => section(checker, node, fields.key("customers"), Kind::Customers),
        None => {
            checker.report(
                root,
                "the mapping has no `customers` section",
                Some(
                    "add `customers: { columns: { customer_number: <the export's column> } }`"
                        .into(),
                ),
            );
            None
        }
    };
    let licenses = fields
        .get("licenses")
        .map(|node| section(checker, node, fields.key("licenses"), Kind::Licenses));
    Some(Mapping {
        file: checker.file.clone(),
        format: format?,
        customers: customers?,
        licenses: match licenses {
            Some(section) => Some(section?),
            None => None,
        },
    })
}

fn read_format(checker: &mut Checker<'_>, node: &Node<'_>) -> Option<Format> {
    let fields = checker.fields(node, "`format`", FORMAT_FIELDS)?;
    let mut ok = true;
    let delimiter = match fields.get("delimiter") {
        Some(node) => match checker.text(node, "delimiter") {
            Some(text) => match parse_delimiter(&text.value) {
                Ok(byte) => Some(byte),
                Err(message) => {
                    checker.report(node, message, None);
                    ok = false;
                    None
                }
            },
            None => {
                ok = false;
                None
            }
        },
        None => None,
    };
    let encoding = match fields.get("encoding") {
        Some(node) => {
            let text = checker.name(node, "encoding");
            ok &= text.is_some();
            text
        }
        None => None,
    };
    let date = match fields.get("date") {
        Some(node) => match checker.name(node, "date") {
            Some(text) => {
                if let Err(message) = check_date_format(&text.value) {
                    checker.report(
                        node,
                        message,
                        Some("write it as `strftime` does, e.g. `%d.%m.%Y` for 31.12.2027".into()),
                    );
                    ok = false;
                }
                text
            }
            None => {
                ok = false;
                checker.located(node, String::new())
            }
        },
        None => checker.located(node, DEFAULT_DATE_FORMAT.to_owned()),
    };
    let mut empty = Vec::new();
    if let Some(node) = fields.get("empty") {
        for item in checker.list(node, "empty") {
            match checker.text(item, "empty") {
                Some(text) => empty.push(text.value.trim().to_owned()),
                None => ok = false,
            }
        }
    }
    ok.then_some(Format {
        delimiter,
        encoding,
        date,
        empty,
    })
}

/// `delimiter`: one ASCII character; `tab` or `\t` for a tab.
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && text != "\"" && text != "\n" => {
            Ok(text.as_bytes()[0])
        }
        _ => Err(format!(
            "the delimiter is one character such as `,`, `;` or `tab`, not `{text}`"
        )),
    }
}

/// A date format must name a day, a month and a year, and read back what it writes.
fn check_date_format(format: &str) -> Result<(), String> {
    let day = jiff::civil::date(2027, 12, 31);
    let written = jiff::fmt::strtime::format(format, day)
        .map_err(|err| format!("`{format}` is not a date format: {err}"))?;
    let read = jiff::fmt::strtime::parse(format, &written)
        .and_then(|time| time.to_date())
        .map_err(|err| format!("`{format}` does not read back the dates it writes: {err}"))?;
    if read != day {
        return Err(format!(
            "`{format}` does not name a day, a month and a year (31 December 2027 reads back as {read})"
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customers,
    Licenses,
}

impl Kind {
    fn entity(self) -> &'static Entity {
        match self {
            Kind::Customers => &CUSTOMER,
            Kind::Licenses => &LICENSE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Licenses => "licenses",
        }
    }

    /// What `columns` must name so that every row says which object it is.
    fn check_identity(self, checker: &mut Checker<'_>, at: &Node<'_>, columns: &[ColumnMap]) {
        let has = |name: &str| columns.iter().any(|c| c.target.path() == name);
        let missing: Vec<&str> = match self {
            Kind::Customers => ["customer_number"]
                .into_iter()
                .filter(|n| !has(n))
                .collect(),
            Kind::Licenses => {
                let mut missing: Vec<&str> = [OWNER_COLUMN, "product"]
                    .into_iter()
                    .filter(|n| !has(n))
                    .collect();
                if !has("legacy_license_key") && !has("id") {
                    missing.push("legacy_license_key");
                }
                missing
            }
        };
        if !missing.is_empty() {
            checker.report(
                at,
                format!(
                    "`{}.columns` must name a column for {}",
                    self.name(),
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                Some(match self {
                    Kind::Customers => "a customer is known by its number in every export".into(),
                    Kind::Licenses => "a license is known by its customer, its product and its \
                                       legacy_license_key (or its id)"
                        .into(),
                }),
            );
        }
    }
}

fn section(
    checker: &mut Checker<'_>,
    node: &Node<'_>,
    key: Option<&Node<'_>>,
    kind: Kind,
) -> Option<Section> {
    let known = match kind {
        Kind::Customers => CUSTOMER_SECTION_FIELDS,
        Kind::Licenses => LICENSE_SECTION_FIELDS,
    };
    let what = format!("`{}`", kind.name());
    let fields = checker.fields(node, &what, known)?;
    let origin = checker.origin(key.unwrap_or(node));
    let before = checker.problems.len();
    let mut columns = Vec::new();
    match fields.get("columns") {
        Some(node) => {
            if let Some(entries) = checker.mapping(node, &format!("`{}.columns`", kind.name())) {
                for (key, value, name) in entries {
                    let Some(target) = target(checker, key, &name, kind) else {
                        continue;
                    };
                    if let Some(header) = checker.name(value, &name) {
                        columns.push(ColumnMap { target, header });
                    }
                }
            }
            kind.check_identity(checker, node, &columns);
        }
        None => checker.report(
            key.unwrap_or(node),
            format!("{what} has no `columns`"),
            Some("map manifest fields to the export's headers: `columns: { customer_number: Kundennummer }`".into()),
        ),
    }
    let mut values = Vec::new();
    if let Some(node) = fields.get("values") {
        values = value_maps(checker, node, kind, &columns);
    }
    let mut defaults = Vec::new();
    if let Some(node) = fields.get("defaults")
        && let Some(entries) = checker.mapping(node, &format!("`{}.defaults`", kind.name()))
    {
        for (key, value, name) in entries {
            let Some(target) = target(checker, key, &name, kind) else {
                continue;
            };
            if matches!(&target, Target::Owner)
                || matches!(&target, Target::Field(field) if field.role == Role::Identity)
            {
                checker.report(
                    key,
                    format!("`{name}` says which object a row is; it cannot have a default"),
                    None,
                );
                continue;
            }
            if let Some(value) = checker.value(value, &name, target.ty()) {
                defaults.push((target, value));
            }
        }
    }
    let sheet = fields
        .get("sheet")
        .and_then(|node| checker.name(node, "sheet"));
    let file = fields.get("file").and_then(|node| {
        let text = checker.name(node, "file")?;
        match check_file_template(&text.value) {
            Ok(()) => Some(text),
            Err(message) => {
                checker.report(
                    node,
                    message,
                    Some(format!("for example `{DEFAULT_CUSTOMER_FILE}`")),
                );
                None
            }
        }
    });
    let missing = match fields.get("missing") {
        Some(node) => {
            match checker
                .text(node, "missing")
                .as_ref()
                .map(|t| t.value.as_str())
            {
                Some("report") => Missing::Report,
                Some("deactivate") => Missing::Deactivate,
                Some(other) => {
                    checker.report(
                    node,
                    format!("`missing` is `report` or `deactivate`, not `{other}`"),
                    Some("`deactivate` writes `active: false` on the licenses a full export lacks".into()),
                );
                    Missing::Report
                }
                None => Missing::Report,
            }
        }
        None => Missing::Report,
    };
    (checker.problems.len() == before).then_some(Section {
        origin,
        columns,
        values,
        defaults,
        sheet,
        file,
        missing,
    })
}

/// The target a key of `columns`, `values` or `defaults` names; reported when it names none.
fn target(checker: &mut Checker<'_>, key: &Node<'_>, name: &str, kind: Kind) -> Option<Target> {
    let entity = kind.entity();
    if kind == Kind::Licenses && name == OWNER_COLUMN {
        return Some(Target::Owner);
    }
    if let Some((map_name, entry)) = name.split_once('.')
        && let Some(map) = entity.map(map_name)
    {
        if map.value == Type::TextList || entry.trim().is_empty() {
            checker.report(
                key,
                format!("`{name}`: ingest writes single values, not `{}`", map.name),
                None,
            );
            return None;
        }
        return Some(Target::Entry {
            map,
            name: entry.to_owned(),
        });
    }
    match entity.field(name) {
        Some(field) if field.role != Role::Implicit && field.ty != Type::TextList => {
            Some(Target::Field(field))
        }
        _ => {
            let mut known: Vec<String> = entity
                .fields
                .iter()
                .filter(|f| f.role != Role::Implicit && f.ty != Type::TextList)
                .map(|f| f.name.to_owned())
                .collect();
            if kind == Kind::Licenses {
                known.insert(0, OWNER_COLUMN.to_owned());
                known.extend(
                    entity
                        .maps
                        .iter()
                        .filter(|m| m.value != Type::TextList)
                        .map(|m| format!("{}.<name>", m.name)),
                );
            }
            let hint = closest(name, known.iter().map(String::as_str))
                .map(|close| format!("did you mean `{close}`?"))
                .unwrap_or_else(|| format!("known fields: {}", known.join(", ")));
            checker.report(
                key,
                format!("`{name}` is no field of {} a mapping can fill", entity.what),
                Some(hint),
            );
            None
        }
    }
}

fn value_maps(
    checker: &mut Checker<'_>,
    node: &Node<'_>,
    kind: Kind,
    columns: &[ColumnMap],
) -> Vec<ValueMap> {
    let mut maps = Vec::new();
    let Some(entries) = checker.mapping(node, &format!("`{}.values`", kind.name())) else {
        return maps;
    };
    for (key, value, name) in entries {
        let Some(target) = target(checker, key, &name, kind) else {
            continue;
        };
        if !columns.iter().any(|column| column.target == target) {
            checker.report(
                key,
                format!("`values.{name}` maps codes of a column the mapping does not name"),
                Some(format!("add `{name}` to `columns`")),
            );
            continue;
        }
        let what = format!("`values.{name}`");
        let Some(codes) = checker.mapping(value, &what) else {
            continue;
        };
        let mut pairs = Vec::with_capacity(codes.len());
        for (code, replacement, code_text) in codes {
            let _ = code;
            match replacement
                .scalar_text()
                .map(str::to_owned)
                .or(match replacement.value {
                    Value::Bool(flag) => Some(flag.to_string()),
                    _ => None,
                }) {
                Some(text) if !text.trim().is_empty() => {
                    pairs.push((code_text.trim().to_owned(), text.trim().to_owned()));
                }
                _ => checker.report(
                    replacement,
                    format!(
                        "{what}: `{code_text}` must map to a value, found {}",
                        replacement.kind()
                    ),
                    None,
                ),
            }
        }
        maps.push(ValueMap {
            target,
            origin: checker.origin(key),
            codes: pairs,
        });
    }
    maps
}

/// A new customer's file: relative, inside the manifest directory, a YAML file, one per number.
fn check_file_template(template: &str) -> Result<(), String> {
    let path = Path::new(template);
    if !template.contains(NUMBER_PLACEHOLDER) {
        return Err(format!(
            "`file` must hold `{NUMBER_PLACEHOLDER}`, so that each new customer has a file of its own"
        ));
    }
    if !(template.ends_with(".yaml") || template.ends_with(".yml")) {
        return Err(
            "`file` must end in `.yaml` or `.yml`, or the manifests would not read it".into(),
        );
    }
    let inside = path
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(format!(
            "`file` must be a path inside the manifest directory, not `{template}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
