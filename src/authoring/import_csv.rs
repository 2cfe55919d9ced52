//! `slascone-sync import-csv`: ERP/CRM CSV exports to a manifest directory, offline.
//!
//! The customer columns are those of SLASCONE's own customer CSV import; license rows describe
//! edition-based licenses (the edition gives features, limitations and variables). Every row is
//! checked and every problem reported as `file:row:column: message` (row = line in the file,
//! the header being row 1) before anything is written; one bad row and nothing is written.
//! Names (customer types, products, editions, license types) cannot be checked offline: `plan`
//! checks them against SLASCONE and points at the manifest line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::generate::{self, CUSTOMERS_DIR, EntryOut, ProjectOut};
use crate::manifest::{DEFAULT_API_URL, DEFAULT_PORTAL_URL, PROJECT_FILE, Problem, Problems};
use crate::model::Origin;
use crate::model::fields::{CUSTOMER, Column, Entity, Field, LICENSE, Role, Type};

/// The columns of `entity` in SLASCONE's CSV layout, with their fields.
fn columns(entity: &'static Entity) -> Vec<(&'static Field, Column)> {
    let mut columns: Vec<(&'static Field, Column)> = entity
        .fields
        .iter()
        .filter_map(|field| field.csv.map(|column| (field, column)))
        .collect();
    columns.sort_by_key(|(_, column)| column.order);
    columns
}

/// `--delimiter`: one ASCII character; `tab` or `\t` for a tab, which is hard to type in a shell.
pub use crate::manifest::mapping::parse_delimiter;

/// The files of the manifest directory: the project file with placeholders, the schemas, and one
/// manifest per customer.
pub fn files(customers: &[EntryOut]) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let project = ProjectOut {
        api_url: Some(DEFAULT_API_URL.to_owned()),
        portal_url: Some(DEFAULT_PORTAL_URL.to_owned()),
        ..ProjectOut::default()
    };
    let yaml = format!(
        "{}# isv_id: 00000000-0000-0000-0000-000000000000  # FILL IN your ISV id, then remove the `# `\n",
        generate::project_yaml(&project)?
    );
    let comment = "Written by `slascone-sync import-csv`. Fill in before running plan:\n\
                   - isv_id: your ISV id (a UUID, shown in the SLASCONE portal), on the line below;\n\
                   - api_url, if your tenant is not on the default server.\n\
                   The admin key is read from the environment variable SLASCONE_ADMIN_KEY, never \
                   from a file.";
    let mut files = vec![(
        PathBuf::from(PROJECT_FILE),
        generate::project_file(comment, &yaml).into_bytes(),
    )];
    files.extend(generate::schema_files()?);
    let keys: Vec<&str> = customers
        .iter()
        .map(|c| c.text("customer_number").unwrap_or_default())
        .collect();
    for (customer, name) in customers.iter().zip(generate::file_names(keys)) {
        files.push((
            Path::new(CUSTOMERS_DIR).join(format!("{name}.yaml")),
            generate::customer_file(customer, "")?.into_bytes(),
        ));
    }
    Ok(files)
}

/// Reads both files; the customers, sorted by number, each with its licenses sorted by product
/// and key; or every problem of both files.
pub fn convert(
    customers_file: &Path,
    licenses_file: Option<&Path>,
    delimiter: u8,
) -> Result<Vec<EntryOut>, Problems> {
    let mut problems = Vec::new();
    let mut customers: BTreeMap<String, (usize, EntryOut)> = BTreeMap::new();
    if let Some(table) = Table::read(customers_file, delimiter, &mut problems) {
        read_customers(&table, &mut customers, &mut problems);
    }
    if let Some(file) = licenses_file
        && let Some(table) = Table::read(file, delimiter, &mut problems)
    {
        read_licenses(&table, &mut customers, &mut problems);
    }
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    Ok(customers
        .into_values()
        .map(|(_, mut customer)| {
            if let Some(licenses) = customer.list_mut("licenses") {
                EntryOut::sort_licenses(licenses);
            }
            customer
        })
        .collect())
}

/// A CSV file with its header checked: column name → index.
struct Table {
    file: PathBuf,
    /// Lowercased column name → index.
    columns: HashMap<String, usize>,
    /// The header's names as written, for messages.
    names: Vec<String>,
    width: usize,
    rows: Vec<Row>,
}

struct Row {
    line: usize,
    cells: Vec<String>,
}

impl Table {
    /// Reads the file; `None` when it cannot be read at all (reported).
    fn read(file: &Path, delimiter: u8, problems: &mut Vec<Problem>) -> Option<Table> {
        let bytes = match crate::fs::read_input(file, crate::fs::MAX_CSV_BYTES) {
            Ok(bytes) => bytes,
            Err(err) => {
                problems.push(Problem::general(format!(
                    "{}: cannot read: {err}",
                    file.display()
                )));
                return None;
            }
        };
        // Spreadsheet programs often start UTF-8 files with a byte order mark.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut header: Option<(usize, Vec<String>)> = None;
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line() as usize);
                    let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
                    if header.is_none() {
                        header = Some((line, cells));
                    } else {
                        rows.push(Row { line, cells });
                    }
                }
                Err(err) => {
                    let line = err.position().map_or(0, |p| p.line() as usize);
                    let message = match err.kind() {
                        csv::ErrorKind::Utf8 { err, .. } => format!(
                            "column {} is not UTF-8 text; save the file as UTF-8",
                            err.field() + 1
                        ),
                        _ => err.to_string(),
                    };
                    problems.push(Problem::at(origin(file, line, 1), message));
                    if !matches!(err.kind(), csv::ErrorKind::Utf8 { .. }) {
                        return None;
                    }
                }
            }
        }
        let Some((header_line, names)) = header else {
            problems.push(Problem::general(format!(
                "{}: the file is empty; it needs a header row naming its columns",
                file.display()
            )));
            return None;
        };
        let mut columns = HashMap::new();
        for (index, name) in names.iter().enumerate() {
            let name = name.to_lowercase();
            if name.is_empty() {
                continue;
            }
            if let Some(first) = columns.insert(name.clone(), index) {
                problems.push(Problem::at(
                    origin(file, header_line, index + 1),
                    format!(
                        "column `{name}` is given twice; first as column {}",
                        first + 1
                    ),
                ));
            }
        }
        Some(Table {
            file: file.to_path_buf(),
            columns,
            width: names.len(),
            names,
            rows,
        })
    }

    /// Reports header names that are not `known`, and `required` ones that are missing; `false`
    /// when the header is unusable.
    fn check_header(&self, known: &[&str], required: &[&str], problems: &mut Vec<Problem>) -> bool {
        let mut ok = true;
        let mut unknown: Vec<(&String, &usize)> = self
            .columns
            .iter()
            .filter(|(name, _)| !known.contains(&name.as_str()))
            .collect();
        unknown.sort_by_key(|(_, index)| **index);
        for (_, index) in unknown {
            ok = false;
            problems.push(
                Problem::at(
                    origin(&self.file, 1, index + 1),
                    format!("unknown column `{}`", self.names[*index]),
                )
                .with_hint(format!("known columns: {}", known.join(", "))),
            );
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|name| !self.columns.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            ok = false;
            problems.push(Problem::at(
                origin(&self.file, 1, 1),
                format!(
                    "the header has no column {}",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        ok
    }

    /// Reports a row whose number of cells differs from the header's; `false` then.
    fn check_width(&self, row: &Row, problems: &mut Vec<Problem>) -> bool {
        // A trailing delimiter on every line is common in ERP exports: an empty last cell is
        // tolerated where the header has none.
        let width = match row.cells.split_last() {
            Some((last, rest)) if row.cells.len() == self.width + 1 && last.is_empty() => {
                rest.len()
            }
            _ => row.cells.len(),
        };
        if width == self.width {
            return true;
        }
        problems.push(Problem::at(
            origin(&self.file, row.line, width.min(self.width) + 1),
            format!(
                "the row has {width} values, the header {} columns",
                self.width
            ),
        ));
        false
    }

    /// The cell of `column` in `row`: `None` when the column is absent or the cell empty.
    fn get<'r>(&self, row: &'r Row, column: &str) -> Option<&'r str> {
        let index = *self.columns.get(column)?;
        row.cells
            .get(index)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn at(&self, row: &Row, column: &str) -> Origin {
        let index = self.columns.get(column).copied().unwrap_or(0);
        origin(&self.file, row.line, index + 1)
    }

    /// A required cell; reports it when empty.
    fn required<'r>(
        &self,
        row: &'r Row,
        column: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<&'r str> {
        let value = self.get(row, column);
        if value.is_none() {
            problems.push(Problem::at(
                self.at(row, column),
                format!("`{column}` is required but empty"),
            ));
        }
        value
    }
}

fn origin(file: &Path, line: usize, column: usize) -> Origin {
    Origin {
        file: Arc::from(file),
        line,
        column,
    }
}

/// The columns of `entity`, once the table's header names every required one and no unknown
/// one; `None` (with the problems) otherwise.
fn header_columns(
    table: &Table,
    entity: &'static Entity,
    problems: &mut Vec<Problem>,
) -> Option<Vec<(&'static Field, Column)>> {
    let columns = columns(entity);
    let known: Vec<&str> = columns.iter().map(|(_, c)| c.name).collect();
    let required: Vec<&str> = columns
        .iter()
        .filter(|(_, c)| c.in_header)
        .map(|(_, c)| c.name)
        .collect();
    table
        .check_header(&known, &required, problems)
        .then_some(columns)
}

fn read_customers(
    table: &Table,
    customers: &mut BTreeMap<String, (usize, EntryOut)>,
    problems: &mut Vec<Problem>,
) {
    let Some(columns) = header_columns(table, &CUSTOMER, problems) else {
        return;
    };
    for row in &table.rows {
        if !table.check_width(row, problems) {
            continue;
        }
        let mut customer = EntryOut::default();
        let mut complete = true;
        for (field, column) in &columns {
            let value = if column.value_required {
                table.required(row, column.name, problems)
            } else {
                table.get(row, column.name)
            };
            match value {
                Some(text) => customer.set(field.name, json!(text)),
                None => complete &= !column.value_required,
            }
        }
        if !complete {
            continue;
        }
        let number = customer
            .text("customer_number")
            .unwrap_or_default()
            .to_owned();
        if let Some((first, _)) = customers.get(&number) {
            problems.push(Problem::at(
                table.at(row, "customer_number"),
                format!("customer_number `{number}` is already on row {first}"),
            ));
            continue;
        }
        customers.insert(number, (row.line, customer.ordered(&CUSTOMER)));
    }
}

fn read_licenses(
    table: &Table,
    customers: &mut BTreeMap<String, (usize, EntryOut)>,
    problems: &mut Vec<Problem>,
) {
    let Some(columns) = header_columns(table, &LICENSE, problems) else {
        return;
    };
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for row in &table.rows {
        if !table.check_width(row, problems) {
            continue;
        }
        let mut license = EntryOut::default();
        let mut complete = true;
        let mut owner = None;
        for (field, column) in &columns {
            let text = if column.value_required {
                table.required(row, column.name, problems)
            } else {
                table.get(row, column.name)
            };
            let Some(text) = text else {
                complete &= !column.value_required;
                continue;
            };
            if field.role == Role::Implicit {
                owner = Some(text);
                continue;
            }
            if let Some(value) = cell_value(table, row, field, column.name, text, problems) {
                license.set(field.name, value);
            }
        }
        let (Some(number), true) = (owner, complete) else {
            continue;
        };
        let Some((_, customer)) = customers.get_mut(number) else {
            problems.push(Problem::at(
                table.at(row, "customer_number"),
                format!("no customer with customer_number `{number}` in the customers file"),
            ));
            continue;
        };
        let product = license.text("product").unwrap_or_default().to_owned();
        let legacy = license
            .text("legacy_license_key")
            .unwrap_or_default()
            .to_owned();
        if let Some(first) = seen.insert((product.clone(), legacy.clone()), row.line) {
            problems.push(Problem::at(
                table.at(row, "legacy_license_key"),
                format!(
                    "license `{legacy}` of product `{product}` is already on row {first}; \
                     SLASCONE keeps legacy_license_key unique per product"
                ),
            ));
            continue;
        }
        customer.push("licenses", license.ordered(&LICENSE));
    }
}

/// The model value of a license cell, by its field's type; `None` (reported) when it does not
/// fit.
fn cell_value(
    table: &Table,
    row: &Row,
    field: &Field,
    column: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<serde_json::Value> {
    match field.ty {
        Type::Count => match text.parse::<u64>() {
            Ok(value) if i64::try_from(value).is_ok() => Some(json!(value)),
            _ => {
                problems.push(Problem::at(
                    table.at(row, column),
                    format!("`{column}` must be a whole number of zero or more, not `{text}`"),
                ));
                None
            }
        },
        Type::Expires => match parse_expiration(text) {
            Some(expires) => Some(json!(expires)),
            None => {
                problems.push(
                    Problem::at(
                        table.at(row, column),
                        format!("`{column}` is not a date: `{text}`"),
                    )
                    .with_hint(
                        "write a date as 2027-12-31 or 31.12.2027, `never`, or leave it empty \
                         for the edition's expiration",
                    ),
                );
                None
            }
        },
        Type::Date => match parse_expiration(text).filter(|day| day != "never") {
            Some(day) => Some(json!(day)),
            None => {
                problems.push(
                    Problem::at(
                        table.at(row, column),
                        format!("`{column}` is not a date: `{text}`"),
                    )
                    .with_hint("write a date as 2027-01-01 or 01.01.2027"),
                );
                None
            }
        },
        Type::Bool => match text.to_lowercase().as_str() {
            "true" | "yes" | "1" => Some(json!(true)),
            "false" | "no" | "0" => Some(json!(false)),
            _ => {
                problems.push(Problem::at(
                    table.at(row, column),
                    format!("`{column}` must be true or false (or yes/no, 1/0), not `{text}`"),
                ));
                None
            }
        },
        _ => Some(json!(text)),
    }
}

/// `never`, `YYYY-MM-DD` (optionally followed by a time, which is dropped), or `DD.MM.YYYY`.
fn parse_expiration(text: &str) -> Option<String> {
    if text.eq_ignore_ascii_case("never") {
        return Some("never".to_owned());
    }
    let date_part = match text.get(..10) {
        Some(head) if text.len() == 10 || matches!(text.as_bytes()[10], b'T' | b' ') => head,
        _ => text,
    };
    let date = crate::dates::parse_date(date_part).or_else(|| german_date(text))?;
    Some(crate::dates::format_date(date))
}

/// `DD.MM.YYYY`, as German ERP exports write dates.
fn german_date(text: &str) -> Option<jiff::civil::Date> {
    let mut parts = text.split('.');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str, min: usize, max: usize| {
        (min..=max).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(day, 2, 2) || !digits(month, 2, 2) || !digits(year, 4, 4) {
        return None;
    }
    jiff::civil::Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_dates() {
        let text = parse_expiration;
        assert_eq!(text("2027-12-31").as_deref(), Some("2027-12-31"));
        assert_eq!(text("2027-12-31T00:00:00Z").as_deref(), Some("2027-12-31"));
        assert_eq!(text("31.12.2027").as_deref(), Some("2027-12-31"));
        assert_eq!(text("Never").as_deref(), Some("never"));
        assert_eq!(text("2027-02-30"), None);
        assert_eq!(text("12/31/2027"), None);
        assert_eq!(text("2027-12-3"), None);
    }

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_delimiter("\"").is_err());
    }
}
