//! `.xlsx` workbooks, read with calamine's cell reader, which streams a sheet's cells: its
//! `Range` would hold every cell of the rectangle from the first used cell to the last, and a
//! sheet with one cell in A1 and one in XFD1048576 makes that rectangle 17 billion cells.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use calamine::{DataRef, ExcelDateTime, Reader, Xlsx};
use jiff::civil::{Date, DateTime, Time};

use super::{Builder, Cell, Format, Limits, Table, fold};
use crate::fs::MIB;
use crate::manifest::Problem;

/// The first serial day Excel cannot show (10000-01-01); calamine would clamp it to 9999-12-31.
const END_OF_SERIAL_DAYS: f64 = 2_958_466.0;

type Workbook<'b> = Xlsx<Cursor<&'b [u8]>>;

/// The table of a sheet of the workbook `file`, whose bytes are `bytes`.
pub(super) fn read(
    file: Arc<Path>,
    bytes: &[u8],
    format: &Format,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Table> {
    let general = |message: String| Problem::general(format!("{}: {message}", file.display()));
    if let Err(message) = check_unpacked(bytes, limits.unpacked) {
        problems.push(general(message));
        return None;
    }
    let mut workbook: Workbook<'_> = match Xlsx::new(Cursor::new(bytes)) {
        Ok(workbook) => workbook,
        Err(err) => {
            problems.push(general(format!("not a readable .xlsx workbook: {err}")));
            return None;
        }
    };
    let sheet = match choose_sheet(&workbook.sheet_names(), format.sheet.as_deref()) {
        Ok(sheet) => sheet,
        Err(message) => {
            problems.push(general(message));
            return None;
        }
    };
    let cells = match sheet_cells(&mut workbook, &sheet, limits) {
        Ok(cells) => cells,
        Err(message) => {
            problems.push(general(format!("sheet `{sheet}`: {message}")));
            return None;
        }
    };
    build(file, Arc::from(sheet), cells, limits, problems)
}

/// Refuses a workbook whose parts declare more than `limit` bytes unpacked, together. The zip
/// reader calamine uses fails once a part unpacks past its declared size, so what is read
/// stays within the limit too.
fn check_unpacked(bytes: &[u8], limit: u64) -> Result<(), String> {
    let not_a_workbook = |err: zip::result::ZipError| format!("not an .xlsx workbook: {err}");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let part = archive.by_index_raw(index).map_err(not_a_workbook)?;
        total = total.saturating_add(part.size());
    }
    if total <= limit {
        return Ok(());
    }
    Err(format!(
        "the workbook unpacks to {}, more than the {} a workbook may",
        size(total),
        size(limit)
    ))
}

fn size(bytes: u64) -> String {
    if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The sheet `wanted` names (as written, else in any case), or the first.
fn choose_sheet(names: &[String], wanted: Option<&str>) -> Result<String, String> {
    let Some(wanted) = wanted else {
        return names
            .first()
            .cloned()
            .ok_or_else(|| "the workbook has no sheet".to_owned());
    };
    let trimmed = wanted.trim();
    names
        .iter()
        .find(|name| *name == wanted)
        .or_else(|| {
            names
                .iter()
                .find(|name| fold(name.trim()).eq(fold(trimmed)))
        })
        .cloned()
        .ok_or_else(|| {
            let listed: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            format!(
                "the workbook has no sheet `{wanted}`; its sheets: {}",
                listed.join(", ")
            )
        })
}

/// A cell and its (row, column), 0-based.
type Placed = ((u32, u32), Cell);

/// The sheet's cells that hold a value, with their (row, column), 0-based, in the order the
/// sheet lists them.
fn sheet_cells(
    workbook: &mut Workbook<'_>,
    sheet: &str,
    limits: &Limits,
) -> Result<Vec<Placed>, String> {
    let mut reader = workbook
        .worksheet_cells_reader(sheet)
        .map_err(|err| err.to_string())?;
    let mut cells = Vec::new();
    let mut text: u64 = 0;
    while let Some(cell) = reader.next_cell().map_err(|err| err.to_string())? {
        let value = cell.get_value();
        // A shared string is unpacked once and may be shown by a million cells.
        text = text.saturating_add(text_length(value) as u64);
        if text > limits.unpacked {
            return Err(format!(
                "its cells hold more than {} of text, the most a sheet may",
                size(limits.unpacked)
            ));
        }
        let value = cell_of(value);
        if value.is_empty() {
            continue;
        }
        if cells.len() == limits.cells {
            return Err(format!(
                "more than {} cells, the most a table may hold",
                limits.cells
            ));
        }
        cells.push((cell.get_position(), value));
    }
    Ok(cells)
}

fn text_length(value: &DataRef<'_>) -> usize {
    match value {
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
            text.len()
        }
        DataRef::SharedString(text) => text.len(),
        _ => 0,
    }
}

/// Rows from the sheet's cells, numbered as the sheet numbers them, column 0 being the
/// leftmost column used anywhere in the sheet.
fn build(
    file: Arc<Path>,
    sheet: Arc<str>,
    mut cells: Vec<((u32, u32), Cell)>,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Table> {
    // Excel writes rows and cells in order; not every program does.
    if !cells.is_sorted_by_key(|(position, _)| *position) {
        cells.sort_by_key(|(position, _)| *position);
    }
    let first_column = cells.iter().map(|((_, column), _)| *column).min();
    let first_column = first_column.unwrap_or(0) as usize;
    let mut builder = Builder::new(file, Some(sheet), first_column + 1, limits, problems);
    let mut cells = cells.into_iter().peekable();
    while let Some(((row, _), _)) = cells.peek() {
        let row = *row;
        let mut dense = Vec::new();
        while let Some(((_, column), cell)) = cells.next_if(|((r, _), _)| *r == row) {
            let offset = column as usize - first_column;
            if offset < dense.len() {
                dense[offset] = cell;
            } else {
                dense.resize(offset, Cell::Empty);
                dense.push(cell);
            }
        }
        if !builder.admit(dense.len()) {
            return None;
        }
        builder.push(row as usize + 1, dense);
    }
    builder.finish()
}

fn cell_of(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(text) | DataRef::DurationIso(text) => Cell::of_text(text),
        DataRef::SharedString(text) => Cell::of_text(text),
        DataRef::Int(value) => Cell::Int(*value),
        DataRef::Float(value) => Cell::Float(*value),
        DataRef::Bool(value) => Cell::Bool(*value),
        DataRef::DateTime(value) => serial_date(value),
        DataRef::DateTimeIso(text) => iso_date(text),
        DataRef::Error(error) => Cell::Error(error.to_string()),
    }
}

/// A number shown as a date or time: Excel stores the days since its epoch, with the time of
/// day as the fraction.
fn serial_date(value: &ExcelDateTime) -> Cell {
    let serial = value.as_f64();
    // A duration (`[h]:mm`), or a day Excel cannot show (it shows `####`), stays the number.
    if !value.is_datetime() || !(0.0..END_OF_SERIAL_DAYS).contains(&serial) {
        return Cell::Float(serial);
    }
    let (year, month, day, hour, minute, second, milli) = value.to_ymd_hms_milli();
    let time = Time::new(
        hour as i8,
        minute as i8,
        second as i8,
        i32::from(milli) * 1_000_000,
    )
    .unwrap_or(Time::midnight());
    // Days before 1900-01-01 are times without a day (serial 0.5 is noon).
    if year < 1900 {
        return Cell::Text(time.to_string());
    }
    match Date::new(year as i16, month as i8, day as i8) {
        Ok(date) if time == Time::midnight() => Cell::Date(date),
        Ok(date) => Cell::DateTime(date.to_datetime(time)),
        // Excel's 1900-02-29, a day that never was: a text no date reading accepts.
        Err(_) => Cell::Text(format!("{year:04}-{month:02}-{day:02}")),
    }
}

/// A cell of type `d`: an ISO 8601 date or date and time, as text.
fn iso_date(text: &str) -> Cell {
    let trimmed = text.trim();
    let local = trimmed.strip_suffix('Z').unwrap_or(trimmed);
    match local.parse::<DateTime>() {
        Ok(datetime) if datetime.time() == Time::midnight() => Cell::Date(datetime.date()),
        Ok(datetime) => Cell::DateTime(datetime),
        Err(_) => Cell::of_text(text),
    }
}
