//! CSV files: decoded to UTF-8 (by byte order mark, by the format's encoding, or checked to be
//! UTF-8 already), then split into records by the csv crate.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;

use super::{Builder, Cell, Format, Limits, Place, Table};
use crate::manifest::Problem;

/// The delimiters exports use; a header of one column holding another of them was split at
/// the wrong one.
const COMMON_DELIMITERS: [u8; 4] = [b';', b'\t', b'|', b','];

/// The table of the CSV file `file`, whose bytes are `bytes`.
pub(super) fn read(
    file: Arc<Path>,
    bytes: &[u8],
    format: &Format,
    limits: &Limits,
    problems: &mut Vec<Problem>,
) -> Option<Table> {
    let decoded = decode(&file, bytes, format, problems)?;
    let delimiter = format.delimiter.unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(&*decoded.text);
    let mut builder = Builder::new(file.clone(), None, 1, limits, problems);
    let mut undecodable = Undecodable::default();
    let mut header_checked = false;
    // A header that does not decode leaves no table, but the rest is read to count the cells
    // that do not decode either.
    let mut header_lost = false;
    let mut record = csv::ByteRecord::new();
    let mut lines = Lines::default();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            // Reading from memory, with records of any width allowed, fails only on I/O.
            Err(err) => {
                builder.problems.push(Problem::general(format!(
                    "{}: cannot read: {err}",
                    file.display()
                )));
                return None;
            }
        }
        let number = lines.at(&decoded.text, record.position().map_or(0, |p| p.byte()));
        if !builder.admit(record.len()) {
            return None;
        }
        let mut cells = Vec::with_capacity(record.len());
        for (index, field) in record.iter().enumerate() {
            match decoded.cell(field) {
                Some(cell) => cells.push(cell),
                None => undecodable.note(&file, number, index + 1),
            }
        }
        if cells.len() < record.len() {
            header_lost |= builder.header().is_none();
            continue;
        }
        if header_lost {
            continue;
        }
        builder.push(number, cells);
        if !header_checked && let Some(header) = builder.header() {
            header_checked = true;
            if let Some(other) = other_delimiter(header, delimiter) {
                let problem = wrong_delimiter(&builder, other, format);
                builder.problems.push(problem);
                return None;
            }
        }
    }
    if let Some(problem) = undecodable.problem(decoded.encoding, format) {
        builder.problems.push(problem);
    }
    if header_lost {
        return None;
    }
    builder.finish()
}

/// A file's text as UTF-8 bytes, and how to tell its undecodable cells.
struct Decoded<'b> {
    text: Cow<'b, [u8]>,
    encoding: &'static Encoding,
    /// The decoder met bytes it could not decode and put U+FFFD in their place.
    replaced: bool,
}

impl Decoded<'_> {
    /// The cell of `field`; `None` when its bytes were not text in the file's encoding.
    fn cell(&self, field: &[u8]) -> Option<Cell> {
        let text = std::str::from_utf8(field).ok()?;
        if self.replaced && text.contains(char::REPLACEMENT_CHARACTER) {
            return None;
        }
        Some(Cell::of_text(&unquoted(text)))
    }
}

/// A cell quoted after white space (`a, "b"`, as some exports write it): the csv crate quotes
/// only at a cell's first byte, so it keeps the quotes, which are not part of the value.
fn unquoted(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    match trimmed.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if trimmed.len() >= 2 && trimmed != text => {
            Cow::Owned(inner.replace("\"\"", "\""))
        }
        _ => Cow::Borrowed(text),
    }
}

/// The line a record starts on, counted from the text itself: the csv crate's own line count
/// runs one behind after every CRLF, the line end Excel writes. Records come in order, so the
/// count goes on from the last one.
#[derive(Default)]
struct Lines {
    offset: usize,
    line: usize,
}

impl Lines {
    /// The line of the record whose position is byte `offset`. After a CR the csv crate places
    /// the next record at the LF that ends the line, so line ends are stepped over first.
    fn at(&mut self, text: &[u8], offset: u64) -> usize {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        while matches!(text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.max(self.offset);
        self.line += memchr::memchr_iter(b'\n', &text[self.offset..start]).count();
        self.offset = start;
        self.line + 1
    }
}

/// Decodes `bytes` as the format says; `None` (reported) for an unknown encoding.
fn decode<'b>(
    file: &Path,
    bytes: &'b [u8],
    format: &Format,
    problems: &mut Vec<Problem>,
) -> Option<Decoded<'b>> {
    let named = match &format.encoding {
        None => encoding_rs::UTF_8,
        Some(label) => match Encoding::for_label(label.trim().as_bytes()) {
            // The replacement encoding stands for ones that are never decoded (ISO-2022-KR...).
            Some(encoding) if encoding != encoding_rs::REPLACEMENT => encoding,
            _ => {
                problems.push(
                    Problem::general(format!(
                        "{}: `{label}` is no encoding known here",
                        file.display()
                    ))
                    .with_hint(format!(
                        "set {} to a label such as utf-8, windows-1252, iso-8859-15 or utf-16le",
                        format.names.encoding
                    )),
                );
                return None;
            }
        },
    };
    // A byte order mark says for certain what the file is, whatever the format says.
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((encoding, length)) => (encoding, &bytes[length..]),
        None => (named, bytes),
    };
    if encoding == encoding_rs::UTF_8 {
        // Checked cell by cell, so an undecodable byte is reported where it is.
        return Some(Decoded {
            text: Cow::Borrowed(body),
            encoding,
            replaced: false,
        });
    }
    let (text, replaced) = encoding.decode_without_bom_handling(body);
    let text = match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    };
    Some(Decoded {
        text,
        encoding,
        replaced,
    })
}

/// The first undecodable cell, and how many more there are: one problem for a file saved in
/// another encoding, not one per cell.
#[derive(Default)]
struct Undecodable {
    first: Option<Place>,
    more: usize,
}

impl Undecodable {
    fn note(&mut self, file: &Arc<Path>, row: usize, column: usize) {
        if self.first.is_some() {
            self.more += 1;
            return;
        }
        self.first = Some(Place {
            file: file.clone(),
            sheet: None,
            row,
            column,
        });
    }

    fn problem(self, encoding: &'static Encoding, format: &Format) -> Option<Problem> {
        let first = self.first?;
        let more = match self.more {
            0 => String::new(),
            1 => ", nor is 1 more cell".to_owned(),
            n => format!(", nor are {n} more cells"),
        };
        let encoding_name = format.names.encoding;
        Some(if encoding == encoding_rs::UTF_8 {
            first
                .problem(format!("the cell is not UTF-8 text{more}"))
                .with_hint(format!(
                    "if the file is in another encoding, set {encoding_name} to it, such as \
                     `windows-1252` for a CSV file saved by Excel in Western Europe"
                ))
        } else {
            first
                .problem(format!("the cell is not {} text{more}", encoding.name()))
                .with_hint(format!("check {encoding_name}"))
        })
    }
}

/// The common delimiter the header holds when it is one column: the file was split at the
/// wrong one.
fn other_delimiter(header: &[String], delimiter: u8) -> Option<u8> {
    let [name] = header else { return None };
    // The first of the most frequent, in the order of COMMON_DELIMITERS.
    let (count, other) = COMMON_DELIMITERS
        .iter()
        .rev()
        .filter(|&&d| d != delimiter)
        .map(|&d| (name.bytes().filter(|&b| b == d).count(), d))
        .max_by_key(|(count, _)| *count)?;
    (count > 0).then_some(other)
}

fn wrong_delimiter(builder: &Builder<'_>, other: u8, format: &Format) -> Problem {
    let shown = match other {
        b'\t' => "tab".to_owned(),
        _ => char::from(other).to_string(),
    };
    builder
        .table
        .header_at(0)
        .problem(format!(
            "the header is one column, `{}`; the file looks separated by `{shown}`",
            builder.table.header[0]
        ))
        .with_hint(format!("set {} to `{shown}`", format.names.delimiter))
}
