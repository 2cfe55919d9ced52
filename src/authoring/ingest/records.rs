//! An export's rows as typed values, by the mapping: each mapped cell read as its field's type
//! (text, counts, flags, days), its ERP code replaced by the name the mapping gives, and cells
//! the mapping calls empty left out. Every problem of every row is reported at its cell.

use serde_json::{Value as Json, json};

use super::{Cell, Incoming};
use crate::authoring::table::{self, Row, Table};
use crate::manifest::Problem;
use crate::manifest::mapping::{self, ColumnMap, Section};
use crate::model::Origin;
use crate::model::fields::Type;

/// Texts a flag is read from, in English and German, as ERP exports write them.
const TRUE: &[&str] = &["true", "yes", "y", "1", "ja", "j", "wahr", "x"];
const FALSE: &[&str] = &["false", "no", "n", "0", "nein", "falsch"];

/// The rows of `table` read by `section`; problems go to `problems` (then nothing may be
/// written).
pub fn rows(
    table: &Table,
    section: &Section,
    format: &mapping::Format,
    problems: &mut Vec<Problem>,
) -> Vec<Incoming> {
    let Some(columns) = columns(table, section, problems) else {
        return Vec::new();
    };
    let reader = Reader { format };
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut cells = Vec::with_capacity(columns.len());
        let mut sound = true;
        for (column, index) in &columns {
            let cell = row.cell(*index);
            let at = table.at(row, *index);
            match reader.value(cell, column, section) {
                Ok(Some(value)) => cells.push(Cell {
                    target: column.target.clone(),
                    value,
                    at: super::Source::Cell(at),
                }),
                Ok(None) => {}
                Err((message, hint)) => {
                    sound = false;
                    let mut problem = at.problem(message);
                    problem.hint = hint;
                    problems.push(problem);
                }
            }
        }
        let first = table.at(row, 0);
        rows.push(Incoming {
            row: row_name(table, row),
            origin: first.sheet.is_none().then(|| Origin {
                file: first.file.clone(),
                line: first.row,
                column: 1,
            }),
            cells,
            sound,
        });
    }
    rows
}

/// The row as a person finds it: `export.csv:7`, `export.xlsx:Kunden!7:7`.
fn row_name(table: &Table, row: &Row) -> String {
    let at = table.at(row, 0);
    match &at.sheet {
        None => format!("{}:{}", at.file.display(), row.number),
        Some(_) => {
            // `file:Sheet!A7` without its column letter, then Excel's whole-row reference.
            let cell = at.to_string();
            let base = cell.trim_end_matches(|c: char| c.is_ascii_digit());
            let base = base.trim_end_matches(|c: char| c.is_ascii_uppercase());
            format!("{base}{}:{}", row.number, row.number)
        }
    }
}

/// Each mapped column's index in the table; `None` (reported) when the header lacks one.
fn columns<'s>(
    table: &Table,
    section: &'s Section,
    problems: &mut Vec<Problem>,
) -> Option<Vec<(&'s ColumnMap, usize)>> {
    let mut found = Vec::with_capacity(section.columns.len());
    let mut complete = true;
    for column in &section.columns {
        match table.column(&column.header.value) {
            Some(index) => found.push((column, index)),
            None => {
                complete = false;
                let named: Vec<&str> = table
                    .header
                    .iter()
                    .map(String::as_str)
                    .filter(|h| !h.is_empty())
                    .collect();
                let hint = crate::manifest::closest(&column.header.value, named.iter().copied())
                    .map(|close| format!("did you mean `{close}`?"))
                    .unwrap_or_else(|| format!("the header has: {}", named.join(", ")));
                problems.push(
                    Problem::at(
                        column.header.origin.clone(),
                        format!(
                            "`{}` is mapped from the column `{}`, which {} does not have",
                            column.target.path(),
                            column.header.value,
                            table.file.display()
                        ),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    complete.then_some(found)
}

struct Reader<'f> {
    format: &'f mapping::Format,
}

type Refusal = (String, Option<String>);

impl Reader<'_> {
    /// The model value of `cell` for `column`; `None` when the cell is empty or one the mapping
    /// calls empty.
    fn value(
        &self,
        cell: &table::Cell,
        column: &ColumnMap,
        section: &Section,
    ) -> Result<Option<Json>, Refusal> {
        let header = &column.header.value;
        if cell.is_empty() {
            return Ok(None);
        }
        let text = cell.text();
        let text = text.trim();
        if self.format.empty.iter().any(|empty| empty == text) {
            return Ok(None);
        }
        if let table::Cell::Error(error) = cell {
            return Err((
                format!("`{header}` holds the error {error}"),
                Some(format!(
                    "add \"{error}\" to the mapping's `format.empty` to leave the field as it is"
                )),
            ));
        }
        let ty = column.target.ty();
        let mapped = match section.values_of(&column.target) {
            Some(codes) => match codes.get(text) {
                Some(value) => Some(value.to_owned()),
                // A name map is complete: a code it lacks would reach SLASCONE as a name it
                // does not know. Dates, counts and flags read what the map does not list.
                None if matches!(ty, Type::Text | Type::Name) => {
                    let known: Vec<&str> = codes.codes.iter().map(|(c, _)| c.as_str()).collect();
                    return Err((
                        format!(
                            "`{text}` in `{header}` is a code `values.{}` does not map ({})",
                            column.target.path(),
                            codes.origin
                        ),
                        Some(
                            crate::manifest::closest(text, known.iter().copied())
                                .map(|close| format!("did you mean `{close}`?"))
                                .unwrap_or_else(|| {
                                    format!("add `{text}: <name in SLASCONE>` to the map")
                                }),
                        ),
                    ));
                }
                None => None,
            },
            None => None,
        };
        match mapped {
            Some(mapped) => self.typed(&table::Cell::Text(mapped), ty, header),
            None => self.typed(cell, ty, header),
        }
        .map(Some)
    }

    fn typed(&self, cell: &table::Cell, ty: Type, header: &str) -> Result<Json, Refusal> {
        let text = cell.text();
        let text = text.trim();
        match ty {
            Type::Text | Type::Name => Ok(json!(text)),
            Type::Uuid => uuid::Uuid::parse_str(text)
                .map(|id| json!(id.to_string()))
                .map_err(|_| (format!("`{header}` is not a UUID: `{text}`"), None)),
            Type::Count => count(cell, text).ok_or_else(|| {
                (
                    format!("`{header}` must be a whole number of zero or more, not `{text}`"),
                    None,
                )
            }),
            Type::Bool => flag(cell, text).map(Json::Bool).ok_or_else(|| {
                (
                    format!("`{header}` must be yes or no, not `{text}`"),
                    Some("write true/false, yes/no, ja/nein or 1/0".to_owned()),
                )
            }),
            Type::Expires if text.eq_ignore_ascii_case("never") => Ok(json!("never")),
            Type::Expires | Type::Date => match self.date(cell, text) {
                Some(day) => Ok(json!(crate::dates::format_date(day))),
                None => Err((
                    format!("`{header}` is not a date: `{text}`"),
                    Some(format!(
                        "write dates as the mapping's `format.date` says ({}), or as 2027-12-31{}",
                        self.format.date.value,
                        if ty == Type::Expires {
                            ", or `never`"
                        } else {
                            ""
                        }
                    )),
                )),
            },
            Type::TextList => Err((format!("`{header}` cannot fill a list"), None)),
        }
    }

    /// A spreadsheet's date cell, an ISO day, or a day as the mapping's format writes it.
    fn date(&self, cell: &table::Cell, text: &str) -> Option<jiff::civil::Date> {
        match cell {
            table::Cell::Date(day) => Some(*day),
            table::Cell::DateTime(time) => Some(time.date()),
            _ => crate::dates::parse_date(text).or_else(|| {
                jiff::fmt::strtime::parse(&self.format.date.value, text)
                    .and_then(|time| time.to_date())
                    .ok()
            }),
        }
    }
}

/// A count as SLASCONE keeps it (a 32-bit integer of zero or more): a spreadsheet's number
/// without a fraction (`5.0` is 5), or digits.
fn count(cell: &table::Cell, text: &str) -> Option<Json> {
    let value = match cell {
        table::Cell::Int(value) => *value,
        table::Cell::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => *value as i64,
        table::Cell::Text(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok()?
        }
        _ => return None,
    };
    (0..=i64::from(i32::MAX))
        .contains(&value)
        .then(|| json!(value))
}

fn flag(cell: &table::Cell, text: &str) -> Option<bool> {
    if let table::Cell::Bool(value) = cell {
        return Some(*value);
    }
    let lowered = text.to_lowercase();
    if TRUE.contains(&lowered.as_str()) {
        Some(true)
    } else if FALSE.contains(&lowered.as_str()) {
        Some(false)
    } else {
        None
    }
}
