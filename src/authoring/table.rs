//! ERP and CRM exports as a table of typed cells, each with the place a person finds it at: CSV
//! files in any encoding and with any one-byte delimiter (`delimited.rs`), and `.xlsx` workbooks
//! (`xlsx.rs`).
//!
//! [`read`] picks the reader by the file's extension: `.xlsx` and `.xlsm` are workbooks,
//! anything else is CSV. The first row holding a value is the header; rows of empty cells are
//! skipped. Cell text is trimmed of surrounding white space, and a cell left empty by that is
//! [`Cell::Empty`]. Row numbers are the file's own: a CSV record's first line, a sheet's row.
//!
//! Every problem names its place: `file:row:column` for CSV (the header being row 1 when it
//! is the first line), `file:Sheet!C7` for a workbook. A problem with the file as a whole
//! (unreadable, an unknown encoding or sheet, a limit) names the file.
//!
//! Limits, on top of the file's size (`fs::MAX_CSV_BYTES` for either kind): a table holds at
//! most [`MAX_CELLS`] cells, counted over every row read, header included; a workbook's parts
//! unpack to at most [`MAX_UNPACKED_BYTES`] together, as its zip directory declares them and as
//! read (unpacking stops at the declared size); the cells read from one sheet hold at most
//! [`MAX_UNPACKED_BYTES`] of text, a shared string counting once for each cell that shows it.

mod delimited;
#[cfg(test)]
mod tests;
mod xlsx;

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::manifest::Problem;
use crate::model::Origin;

/// The most cells one table holds: 200,000 rows of 200 columns. Each takes 32 bytes before its
/// text, so a file of little else than delimiters, or a workbook with one cell in its last
/// column on every row, cannot fill the memory.
pub const MAX_CELLS: usize = 40_000_000;

/// The most a workbook's parts unpack to, together; and the most text the cells read from one
/// of its sheets hold.
pub const MAX_UNPACKED_BYTES: u64 = 1024 * crate::fs::MIB;

/// How to read an export. Every field is optional: by default a CSV file is comma-separated and
/// UTF-8 (or UTF-16, by its byte order mark), and a workbook's first sheet is read.
#[derive(Debug, Clone, Default)]
pub struct Format {
    /// CSV: the one-byte delimiter, `,` when unset.
    pub delimiter: Option<u8>,
    /// CSV: a WHATWG encoding label (`utf-8`, `windows-1252`, `latin1`, `iso-8859-15`,
    /// `utf-16le`, ...). A byte order mark wins over it, as it does in a browser.
    pub encoding: Option<String>,
    /// `.xlsx`: the sheet to read, found by its name (in any case); the first when unset.
    pub sheet: Option<String>,
    /// How hints name the settings above.
    pub names: SettingNames,
}

/// The names of the [`Format`] settings as the person reading a hint sets them: by default the
/// mapping file's `format.delimiter` and `format.encoding`; a command that takes them as flags
/// names its flags.
#[derive(Debug, Clone)]
pub struct SettingNames {
    pub delimiter: &'static str,
    pub encoding: &'static str,
}

impl Default for SettingNames {
    fn default() -> Self {
        SettingNames {
            delimiter: "the mapping's `format.delimiter`",
            encoding: "the mapping's `format.encoding`",
        }
    }
}

/// An export read: its header and the rows below it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub file: Arc<Path>,
    /// The sheet read, for a workbook.
    pub sheet: Option<Arc<str>>,
    /// The header's names, trimmed; a column without a name is `""`.
    pub header: Vec<String>,
    /// The header's row number.
    pub header_row: usize,
    /// Every sound row below the header with a value. A row reported as a problem (more cells
    /// than the header, undecodable text) is left out.
    pub rows: Vec<Row>,
    /// The sheet column (1-based) that column 0 is: a sheet's cells may start in any column.
    first_column: usize,
}

/// One row of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The row's number in the file: a sheet's row, or the line a CSV record starts on.
    pub number: usize,
    /// The cells by column; a row may end before the header does (see [`Row::cell`]).
    pub cells: Vec<Cell>,
}

impl Row {
    /// The cell in `column`: [`Cell::Empty`] past the row's last cell.
    pub fn cell(&self, column: usize) -> &Cell {
        self.cells.get(column).unwrap_or(&Cell::Empty)
    }
}

/// One cell's value. A CSV cell is `Empty` or `Text`; a workbook cell has the type its sheet
/// stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(jiff::civil::Date),
    /// A date with a time of day (one at midnight is a `Date`).
    DateTime(jiff::civil::DateTime),
    /// A formula's error, as the sheet shows it: `#N/A`, `#DIV/0!`, `#REF!`, ...
    Error(String),
}

impl Cell {
    /// A cell of `text` trimmed: `Empty` when nothing is left.
    fn of_text(text: &str) -> Cell {
        match text.trim() {
            "" => Cell::Empty,
            text => Cell::Text(text.to_owned()),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The value as a person reads it: `5` for the float 5.0, `2.5`, `2027-12-31`,
    /// `2027-12-31T10:30:00`, `true`, `#N/A`; `""` when empty.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(text) | Cell::Error(text) => Cow::Borrowed(text),
            Cell::Int(value) => Cow::Owned(value.to_string()),
            // Rust writes the shortest text that reads back as the same number, never with an
            // exponent, and a whole number without a fraction: what a spreadsheet shows.
            Cell::Float(value) if *value == 0.0 => Cow::Borrowed("0"),
            Cell::Float(value) => Cow::Owned(value.to_string()),
            Cell::Bool(value) => Cow::Borrowed(if *value { "true" } else { "false" }),
            Cell::Date(date) => Cow::Owned(date.to_string()),
            Cell::DateTime(datetime) => Cow::Owned(datetime.to_string()),
        }
    }
}

/// Where a cell is. Displayed as `file:row:column` for CSV and as `file:Sheet!C7` for a
/// workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: Arc<Path>,
    pub sheet: Option<Arc<str>>,
    pub row: usize,
    /// 1-based.
    pub column: usize,
}

impl Place {
    /// A problem at this place: positioned like a manifest's for CSV, so problems sort by row
    /// and column; a workbook's cell name is part of the message.
    pub fn problem(&self, message: impl Into<String>) -> Problem {
        match self.sheet {
            None => Problem::at(
                Origin {
                    file: self.file.clone(),
                    line: self.row,
                    column: self.column,
                },
                message,
            ),
            Some(_) => Problem::general(format!("{self}: {}", message.into())),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.sheet {
            None => write!(f, "{file}:{}:{}", self.row, self.column),
            Some(sheet) => write!(
                f,
                "{file}:{}!{}{}",
                sheet_reference(sheet),
                column_letters(self.column),
                self.row
            ),
        }
    }
}

/// A sheet's name as a formula writes it: quoted (quotes doubled) unless it is a plain word.
fn sheet_reference(sheet: &str) -> Cow<'_, str> {
    if sheet.chars().all(|c| c.is_alphanumeric() || c == '_') {
        Cow::Borrowed(sheet)
    } else {
        Cow::Owned(format!("'{}'", sheet.replace('\'', "''")))
    }
}

/// `1` → `A`, `27` → `AA`.
fn column_letters(column: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = column;
    while rest > 0 {
        rest -= 1;
        letters.push(b'A' + (rest % 26) as u8);
        rest /= 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

impl Table {
    /// The column named `name`: the header's name as written first, then one equal to it when
    /// both are trimmed and compared in any case.
    pub fn column(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.header.iter().position(|h| h == name).or_else(|| {
            let folded = fold(name);
            self.header.iter().position(|h| fold(h).eq(folded.clone()))
        })
    }

    /// The place of `column` (0-based) in `row`.
    pub fn at(&self, row: &Row, column: usize) -> Place {
        self.place(row.number, column)
    }

    /// The place of `column`'s (0-based) header cell.
    pub fn header_at(&self, column: usize) -> Place {
        self.place(self.header_row, column)
    }

    fn place(&self, row: usize, column: usize) -> Place {
        Place {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row,
            column: self.first_column + column,
        }
    }

    /// `column` (0-based) as its kind of file names it: `3` in CSV, `C` in a sheet.
    fn column_name(&self, column: usize) -> String {
        let column = self.first_column + column;
        match self.sheet {
            None => column.to_string(),
            Some(_) => column_letters(column),
        }
    }
}

/// `text` lowercased, for comparing names in any case without allocating.
fn fold(text: &str) -> impl Iterator<Item = char> + Clone + '_ {
    text.chars().flat_map(char::to_lowercase)
}

/// Reads the export at `path` as its extension says. `None` when nothing could be read; with a
/// table, any problem in `problems` means a row or the header is not what it should be. Either
/// way every problem found is pushed, and a caller writes nothing while there are any.
pub fn read(path: &Path, format: &Format, problems: &mut Vec<Problem>) -> Option<Table> {
    read_within(path, format, &LIMITS, problems)
}

/// The limits [`read`] applies; tests pass smaller ones.
#[derive(Debug, Clone, Copy)]
struct Limits {
    cells: usize,
    unpacked: u64,
}

const LIMITS: Limits = Limits {
    cells: MAX_CELLS,
    unpacked: MAX_UNPACKED_BYTES,
};

fn read_within(
    path: &Path,
    format: &Format,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Table> {
    let file: Arc<Path> = Arc::from(path);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let workbook = match extension.as_deref() {
        Some("xlsx" | "xlsm") => true,
        Some(other @ ("xls" | "xlsb" | "ods" | "numbers")) => {
            problems.push(
                Problem::general(format!(
                    "{}: a .{other} file cannot be read; .xlsx workbooks and CSV files can",
                    path.display()
                ))
                .with_hint("save the sheet as an Excel workbook (.xlsx) or as CSV"),
            );
            return None;
        }
        _ => false,
    };
    let bytes = match crate::fs::read_input(&file, crate::fs::MAX_CSV_BYTES) {
        Ok(bytes) => bytes,
        Err(err) => {
            problems.push(Problem::general(format!(
                "{}: cannot read: {err}",
                file.display()
            )));
            return None;
        }
    };
    if workbook {
        xlsx::read(file, &bytes, format, limits, problems)
    } else {
        delimited::read(file, &bytes, format, limits, problems)
    }
}

/// Builds a table from rows given in file order: the first with a value becomes the header,
/// the others are checked against it.
struct Builder<'p> {
    table: Table,
    has_header: bool,
    cells: usize,
    limit: usize,
    problems: &'p mut Vec<Problem>,
}

impl<'p> Builder<'p> {
    fn new(
        file: Arc<Path>,
        sheet: Option<Arc<str>>,
        first_column: usize,
        limits: &Limits,
        problems: &'p mut Vec<Problem>,
    ) -> Self {
        Builder {
            table: Table {
                file,
                sheet,
                header: Vec::new(),
                header_row: 0,
                rows: Vec::new(),
                first_column,
            },
            has_header: false,
            cells: 0,
            limit: limits.cells,
            problems,
        }
    }

    /// Counts a row of `cells` cells before it is built; `false` (reported) once the table
    /// would hold more than its limit.
    fn admit(&mut self, cells: usize) -> bool {
        self.cells = self.cells.saturating_add(cells);
        if self.cells <= self.limit {
            return true;
        }
        let sheet = match &self.table.sheet {
            Some(sheet) => format!(": sheet `{sheet}`"),
            None => String::new(),
        };
        self.problems.push(Problem::general(format!(
            "{}{sheet}: more than {} cells, the most a table may hold",
            self.table.file.display(),
            self.limit
        )));
        false
    }

    fn push(&mut self, number: usize, mut cells: Vec<Cell>) {
        if cells.iter().all(Cell::is_empty) {
            return;
        }
        if !self.has_header {
            self.set_header(number, &cells);
            return;
        }
        let width = self.table.header.len();
        // A trailing delimiter on every line is common in ERP exports: an empty last cell is
        // tolerated where the header has none.
        if cells.len() == width + 1 && cells.last().is_some_and(Cell::is_empty) {
            cells.pop();
        }
        if cells.len() > width {
            let beyond = cells[width..]
                .iter()
                .position(|cell| !cell.is_empty())
                .map_or(width, |offset| width + offset);
            let problem = self.table.place(number, beyond).problem(format!(
                "the row has {} values, the header {width} columns",
                cells.len()
            ));
            self.problems.push(problem);
            return;
        }
        self.table.rows.push(Row { number, cells });
    }

    /// The header is set; a caller may check it before reading on.
    fn header(&self) -> Option<&[String]> {
        self.has_header.then_some(&self.table.header[..])
    }

    fn set_header(&mut self, number: usize, cells: &[Cell]) {
        self.has_header = true;
        self.table.header_row = number;
        self.table.header = cells.iter().map(|cell| cell.text().into_owned()).collect();
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(cells.len());
        for (column, name) in self.table.header.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            match seen.entry(fold(name).collect()) {
                Entry::Vacant(entry) => {
                    entry.insert(column);
                }
                Entry::Occupied(first) => {
                    let problem = self.table.header_at(column).problem(format!(
                        "column `{name}` is given twice; first as column {}",
                        self.table.column_name(*first.get())
                    ));
                    self.problems.push(problem);
                }
            }
        }
    }

    /// The table, once columns without a name but with values under them are reported;
    /// `None` for a file without a header.
    fn finish(self) -> Option<Table> {
        let table = self.table;
        if !self.has_header {
            let what = match &table.sheet {
                Some(sheet) => format!("sheet `{sheet}`"),
                None => "the file".to_owned(),
            };
            self.problems.push(Problem::general(format!(
                "{}: {what} is empty; it needs a header row naming its columns",
                table.file.display()
            )));
            return None;
        }
        for (column, _) in table
            .header
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_empty())
        {
            if let Some(row) = table.rows.iter().find(|row| !row.cell(column).is_empty()) {
                self.problems.push(table.header_at(column).problem(format!(
                    "the column has no name in the header, but row {} has a value in it",
                    row.number
                )));
            }
        }
        Some(table)
    }
}
