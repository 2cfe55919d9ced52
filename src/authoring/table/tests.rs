use std::io::Write;
use std::path::PathBuf;

use jiff::civil::date;

use super::*;

/// A file of `bytes` named `name` in a fresh directory (kept alive by the returned guard).
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Reads `bytes` as a file named `name`: the table, or the problems as displayed, with the
/// directory left out of the file names.
fn read_bytes(name: &str, bytes: &[u8], format: &Format) -> Result<Table, Vec<String>> {
    read_limited(name, bytes, format, &LIMITS)
}

fn read_limited(
    name: &str,
    bytes: &[u8],
    format: &Format,
    limits: &Limits,
) -> Result<Table, Vec<String>> {
    let (dir, path) = file(name, bytes);
    let mut problems = Vec::new();
    let table = read_within(&path, format, limits, &mut problems);
    if problems.is_empty() {
        return Ok(table.expect("a table when there are no problems"));
    }
    let prefix = format!("{}/", dir.path().display());
    Err(problems
        .iter()
        .map(|p| p.to_string().replace(&prefix, ""))
        .collect())
}

fn ok(name: &str, bytes: &[u8], format: &Format) -> Table {
    read_bytes(name, bytes, format).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

fn problems(name: &str, bytes: &[u8], format: &Format) -> Vec<String> {
    match read_bytes(name, bytes, format) {
        Ok(table) => panic!("no problems: {table:#?}"),
        Err(problems) => problems,
    }
}

/// Every row as (number, cell texts).
fn texts(table: &Table) -> Vec<(usize, Vec<String>)> {
    table
        .rows
        .iter()
        .map(|row| {
            let cells = row.cells.iter().map(|c| c.text().into_owned()).collect();
            (row.number, cells)
        })
        .collect()
}

fn delimited(delimiter: u8) -> Format {
    Format {
        delimiter: Some(delimiter),
        ..Format::default()
    }
}

fn encoded(delimiter: u8, encoding: &str) -> Format {
    Format {
        delimiter: Some(delimiter),
        encoding: Some(encoding.to_owned()),
        ..Format::default()
    }
}

fn row(number: usize, cells: &[&str]) -> (usize, Vec<String>) {
    (number, cells.iter().map(|c| (*c).to_owned()).collect())
}

#[test]
fn utf8_with_and_without_byte_order_mark_and_either_line_end_read_alike() {
    let lf = "Kundennummer,Firma\nK001,Müller GmbH\nK002,Straße AG\n";
    let crlf = lf.replace('\n', "\r\n");
    let bom = format!("\u{feff}{crlf}");
    for text in [lf, &crlf, &bom] {
        let table = ok("customers.csv", text.as_bytes(), &Format::default());
        assert_eq!(table.header, ["Kundennummer", "Firma"], "{text:?}");
        assert_eq!(table.header_row, 1);
        assert_eq!(
            texts(&table),
            [
                row(2, &["K001", "Müller GmbH"]),
                row(3, &["K002", "Straße AG"])
            ],
            "{text:?}"
        );
        assert_eq!(table.sheet, None);
    }
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn utf16_with_a_byte_order_mark_is_read_by_it() {
    // Excel's "Unicode Text": UTF-16LE with a byte order mark, tab-separated, CRLF.
    let text = "Kundennummer\tFirma\r\nK001\tMüller € GmbH\r\n";
    for big_endian in [false, true] {
        let bytes = utf16(text, big_endian);
        let table = ok("export.txt", &bytes, &delimited(b'\t'));
        assert_eq!(table.header, ["Kundennummer", "Firma"]);
        assert_eq!(texts(&table), [row(2, &["K001", "Müller € GmbH"])]);
        // The mark wins over a named encoding.
        let table = ok("export.txt", &bytes, &encoded(b'\t', "windows-1252"));
        assert_eq!(texts(&table), [row(2, &["K001", "Müller € GmbH"])]);
    }
}

#[test]
fn utf16_that_does_not_decode_is_named_at_its_cell() {
    let mut bytes = utf16("a\tb\r\n1\t", false);
    bytes.extend_from_slice(&[0x00, 0xD8]); // a high surrogate alone
    bytes.extend_from_slice(&utf16("x\r\n", false)[2..]);
    assert_eq!(
        problems("export.txt", &bytes, &delimited(b'\t')),
        ["export.txt:2:2: the cell is not UTF-16LE text\n  \
             hint: check the mapping's `format.encoding`"]
    );
}

/// A German Excel export: Windows-1252, semicolons, CRLF.
const WINDOWS_1252: &[u8] =
    b"Kundennummer;Firma;Stra\xdfe\r\nK001;M\xfcller GmbH;Hauptstra\xdfe 1\r\n\
    K002;Preis \x80 AG;Weg 2\r\n";

#[test]
fn windows_1252_is_decoded_when_named() {
    for label in ["windows-1252", "Windows-1252", "latin1", " cp1252 "] {
        let table = ok("kunden.csv", WINDOWS_1252, &encoded(b';', label));
        assert_eq!(table.header, ["Kundennummer", "Firma", "Straße"], "{label}");
        assert_eq!(
            texts(&table),
            [
                row(2, &["K001", "Müller GmbH", "Hauptstraße 1"]),
                row(3, &["K002", "Preis € AG", "Weg 2"])
            ]
        );
    }
    // Every byte is a character in a single-byte encoding.
    let all: Vec<u8> = (1..=255u8).filter(|b| !b",\"\r\n".contains(b)).collect();
    let bytes = [b"a\n".as_slice(), &all, b"\n"].concat();
    let table = ok("all.csv", &bytes, &encoded(b',', "windows-1252"));
    let Cell::Text(text) = &table.rows[0].cells[0] else {
        panic!("{table:?}")
    };
    assert_eq!(text.chars().count(), all.len());
}

#[test]
fn bytes_that_are_not_utf8_are_named_where_they_are_with_a_hint() {
    assert_eq!(
        problems("kunden.csv", WINDOWS_1252, &delimited(b';')),
        [
            "kunden.csv:1:3: the cell is not UTF-8 text, nor are 3 more cells\n  \
             hint: if the file is in another encoding, set the mapping's `format.encoding` to \
             it, such as `windows-1252` for a CSV file saved by Excel in Western Europe"
        ]
    );
    // Past the header, the rows read are kept and the others named.
    let bytes = b"a;b\r\n1;2\r\n3;\xfc\r\n4;5\r\n";
    let mut problems = Vec::new();
    let (_dir, path) = file("k.csv", bytes);
    let table = read(&path, &delimited(b';'), &mut problems).unwrap();
    assert_eq!(texts(&table), [row(2, &["1", "2"]), row(4, &["4", "5"])]);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].to_string().ends_with(
            "k.csv:3:2: the cell is not UTF-8 text\n  hint: if the file is in another \
             encoding, set the mapping's `format.encoding` to it, such as `windows-1252` for a \
             CSV file saved by Excel in Western Europe"
        ),
        "{}",
        problems[0]
    );
}

#[test]
fn an_unknown_encoding_is_named() {
    assert_eq!(
        problems("k.csv", b"a\n1\n", &encoded(b',', "klingon")),
        [
            "k.csv: `klingon` is no encoding known here\n  hint: set the mapping's \
             `format.encoding` to a label such as utf-8, windows-1252, iso-8859-15 or utf-16le"
        ]
    );
}

#[test]
fn any_one_byte_delimiter_splits_cells() {
    for delimiter in [b',', b';', b'\t', b'|', b'^'] {
        let d = char::from(delimiter);
        let text = format!("a{d}b{d}c\n1{d}2{d}3\n");
        let table = ok("d.csv", text.as_bytes(), &delimited(delimiter));
        assert_eq!(table.header, ["a", "b", "c"], "{d:?}");
        assert_eq!(texts(&table), [row(2, &["1", "2", "3"])], "{d:?}");
    }
}

#[test]
fn quoted_cells_hold_delimiters_quotes_and_line_breaks() {
    let text = "name;note\r\n\"Acme; Inc.\";\"say \"\"hi\"\"\"\r\n\"two\r\nlines\";x\r\nlast;y\r\n";
    let table = ok("q.csv", text.as_bytes(), &delimited(b';'));
    assert_eq!(
        texts(&table),
        [
            row(2, &["Acme; Inc.", "say \"hi\""]),
            row(3, &["two\r\nlines", "x"]),
            // Numbered by the line the record starts on.
            row(5, &["last", "y"]),
        ]
    );
}

#[test]
fn a_trailing_delimiter_on_every_line_is_tolerated() {
    let table = ok("t.csv", b"a;b\n1;2;\n3;;\n", &delimited(b';'));
    assert_eq!(texts(&table), [row(2, &["1", "2"]), row(3, &["3", ""])]);
    // A header ending in one too.
    let table = ok("t.csv", b"a;b;\n1;2;\n", &delimited(b';'));
    assert_eq!(table.header, ["a", "b", ""]);
    assert_eq!(texts(&table), [row(2, &["1", "2", ""])]);
}

#[test]
fn blank_lines_and_rows_of_empty_cells_are_skipped() {
    let text = "\n\n;;\na;b\n\n1;2\n  ;\t\n\n3;4\n;\n";
    let table = ok("b.csv", text.as_bytes(), &delimited(b';'));
    assert_eq!(table.header_row, 4);
    assert_eq!(texts(&table), [row(6, &["1", "2"]), row(9, &["3", "4"])]);
}

#[test]
fn a_header_of_one_column_holding_another_delimiter_gets_a_hint() {
    let cases: [(&[u8], u8, &str, &str); 4] = [
        (
            b"Kundennummer;Firma;Land\nK1;A, B;DE\n",
            b',',
            "Kundennummer;Firma;Land",
            "`;`",
        ),
        (b"a\tb\n1\t2\n", b',', "a\\tb", "`tab`"),
        (b"a|b\n1|2\n", b';', "a|b", "`|`"),
        (b"a,b\n1,2\n", b';', "a,b", "`,`"),
    ];
    for (bytes, delimiter, header, shown) in cases {
        assert_eq!(
            problems("one.csv", bytes, &delimited(delimiter)),
            [format!(
                "one.csv:1:1: the header is one column, `{header}`; the file looks separated \
                 by {shown}\n  hint: set the mapping's `format.delimiter` to {shown}"
            )]
        );
    }
    // A command names its flag.
    let format = Format {
        delimiter: Some(b','),
        names: SettingNames {
            delimiter: "`--delimiter`",
            encoding: "`--encoding`",
        },
        ..Format::default()
    };
    assert_eq!(
        problems("one.csv", b"a;b\n", &format),
        [
            "one.csv:1:1: the header is one column, `a;b`; the file looks separated by `;`\n  \
          hint: set `--delimiter` to `;`"
        ]
    );
    // A single column of no other delimiter is a table.
    let table = ok("one.csv", b"Kundennummer\nK1\n", &Format::default());
    assert_eq!(texts(&table), [row(2, &["K1"])]);
}

#[test]
fn header_names_given_twice_are_named_at_their_header_cell() {
    assert_eq!(
        problems(
            "h.csv",
            b"Name,Ort, name ,ORT\n1,2,3,4\n",
            &Format::default()
        ),
        [
            "h.csv:1:3: column `name` is given twice; first as column 1",
            "h.csv:1:4: column `ORT` is given twice; first as column 2",
        ]
    );
}

#[test]
fn a_column_without_a_name_is_named_only_when_it_holds_a_value() {
    let table = ok("n.csv", b"a,,c\n1,,3\n", &Format::default());
    assert_eq!(table.header, ["a", "", "c"]);
    assert_eq!(
        problems("n.csv", b"a,,c\n1,,3\n4, 5,6\n", &Format::default()),
        ["n.csv:1:2: the column has no name in the header, but row 3 has a value in it"]
    );
}

#[test]
fn a_row_wider_than_the_header_is_named_and_left_out() {
    let (_dir, path) = file("w.csv", b"a,b\n1,2\n3,4,5\n6\n7,8,,\n");
    let mut problems = Vec::new();
    let table = read(&path, &Format::default(), &mut problems).unwrap();
    assert_eq!(texts(&table), [row(2, &["1", "2"]), row(4, &["6"])]);
    let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let path = path.display();
    assert_eq!(
        shown,
        [
            format!("{path}:3:3: the row has 3 values, the header 2 columns"),
            format!("{path}:5:3: the row has 4 values, the header 2 columns"),
        ]
    );
    // A short row reads as empty past its end.
    assert_eq!(table.rows[1].cell(1), &Cell::Empty);
}

#[test]
fn cells_are_trimmed_and_columns_found_exactly_then_in_any_case() {
    let table = ok(
        "c.csv",
        b" Kundennummer ,Firma,FIRMA2\n  K1 , \"  Acme \" ,x\n",
        &Format::default(),
    );
    assert_eq!(table.header, ["Kundennummer", "Firma", "FIRMA2"]);
    assert_eq!(texts(&table), [row(2, &["K1", "Acme", "x"])]);
    assert_eq!(table.column("Firma"), Some(1));
    assert_eq!(table.column(" firma "), Some(1));
    assert_eq!(table.column("firma2"), Some(2));
    assert_eq!(table.column("KUNDENNUMMER"), Some(0));
    assert_eq!(table.column("Land"), None);
}

#[test]
fn files_that_are_empty_unreadable_or_no_regular_files_are_named() {
    assert_eq!(
        problems("e.csv", b"\n;;\n", &delimited(b';')),
        ["e.csv: the file is empty; it needs a header row naming its columns"]
    );
    let dir = tempfile::tempdir().unwrap();
    let mut found = Vec::new();
    assert!(read(dir.path(), &Format::default(), &mut found).is_none());
    assert_eq!(
        found[0].to_string(),
        format!(
            "{}: cannot read: not a regular file but a directory",
            dir.path().display()
        )
    );
    let mut found = Vec::new();
    assert!(read(&dir.path().join("gone.csv"), &Format::default(), &mut found).is_none());
    assert!(found[0].to_string().contains("cannot read"), "{}", found[0]);
}

#[test]
fn a_table_holds_at_most_its_cells() {
    let limits = Limits {
        cells: 6,
        unpacked: MAX_UNPACKED_BYTES,
    };
    assert!(read_limited("l.csv", b"a,b\n1,2\n3,4\n", &Format::default(), &limits).is_ok());
    assert_eq!(
        read_limited("l.csv", b"a,b\n1,2\n3,4,\n", &Format::default(), &limits).unwrap_err(),
        ["l.csv: more than 6 cells, the most a table may hold"]
    );
}

#[test]
fn a_cell_reads_as_a_person_reads_it() {
    let cases = [
        (Cell::Empty, ""),
        (Cell::Text("01234".into()), "01234"),
        (Cell::Int(-7), "-7"),
        (Cell::Float(5.0), "5"),
        (Cell::Float(2.5), "2.5"),
        (Cell::Float(-0.0), "0"),
        (Cell::Float(0.1 + 0.2), "0.30000000000000004"),
        (Cell::Float(1e16), "10000000000000000"),
        (Cell::Float(1.5e-7), "0.00000015"),
        (Cell::Bool(true), "true"),
        (Cell::Bool(false), "false"),
        (Cell::Date(date(2027, 12, 31)), "2027-12-31"),
        (
            Cell::DateTime(date(2027, 12, 31).at(8, 30, 0, 0)),
            "2027-12-31T08:30:00",
        ),
        (Cell::Error("#N/A".into()), "#N/A"),
    ];
    for (cell, text) in cases {
        assert_eq!(cell.text(), text, "{cell:?}");
    }
}

#[test]
fn places_name_the_file_row_and_column() {
    let file: Arc<Path> = Arc::from(Path::new("exports/kunden.csv"));
    let csv = Place {
        file: file.clone(),
        sheet: None,
        row: 7,
        column: 3,
    };
    assert_eq!(csv.to_string(), "exports/kunden.csv:7:3");
    assert_eq!(
        csv.problem("bad").origin.unwrap().to_string(),
        "exports/kunden.csv:7:3"
    );
    let sheet = |name: &str, row, column| Place {
        file: Arc::from(Path::new("book.xlsx")),
        sheet: Some(Arc::from(name)),
        row,
        column,
    };
    assert_eq!(sheet("Daten", 7, 3).to_string(), "book.xlsx:Daten!C7");
    assert_eq!(
        sheet("Sheet 1", 10, 27).to_string(),
        "book.xlsx:'Sheet 1'!AA10"
    );
    assert_eq!(sheet("Bob's", 1, 1).to_string(), "book.xlsx:'Bob''s'!A1");
    assert_eq!(
        sheet("Daten", 1_048_576, 16_384).to_string(),
        "book.xlsx:Daten!XFD1048576"
    );
    assert_eq!(
        sheet("Daten", 2, 52).problem("bad").to_string(),
        "book.xlsx:Daten!AZ2: bad"
    );
    for (column, letters) in [
        (1, "A"),
        (26, "Z"),
        (27, "AA"),
        (52, "AZ"),
        (53, "BA"),
        (702, "ZZ"),
        (703, "AAA"),
    ] {
        assert_eq!(column_letters(column), letters);
    }
}

// Workbooks, built part by part as Excel lays them out.

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="dd.mm.yyyy hh:mm"/></numFmts>
<cellXfs count="5">
<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/>
<xf numFmtId="20" applyNumberFormat="1"/><xf numFmtId="46" applyNumberFormat="1"/>
</cellXfs>
</styleSheet>"#;

/// Style indexes of [`STYLES`].
const DATE: u8 = 1;
const DATE_TIME: u8 = 2;
const TIME: u8 = 3;
const DURATION: u8 = 4;

/// An `.xlsx` workbook of `sheets` (name, the rows inside `<sheetData>`), with `strings` as its
/// shared strings.
fn workbook(sheets: &[(&str, &str)], strings: &[&str]) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let mut parts: Vec<(String, String)> = vec![
        (
            "[Content_Types].xml".into(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#.into(),
        ),
        (
            "_rels/.rels".into(),
            format!(r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ),
        ("xl/styles.xml".into(), STYLES.into()),
    ];
    let mut listed = String::new();
    let mut relationships = String::new();
    for (index, (name, rows)) in sheets.iter().enumerate() {
        let n = index + 1;
        listed.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
        ));
        relationships.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="{DOC}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
        parts.push((
            format!("xl/worksheets/sheet{n}.xml"),
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>"#),
        ));
    }
    parts.push((
        "xl/workbook.xml".into(),
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets>{listed}</sheets></workbook>"#),
    ));
    parts.push((
        "xl/_rels/workbook.xml.rels".into(),
        format!(r#"<Relationships xmlns="{RELS}">{relationships}<Relationship Id="rIdS" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rIdY" Type="{DOC}/styles" Target="styles.xml"/></Relationships>"#),
    ));
    let items: String = strings
        .iter()
        .map(|s| format!("<si><t xml:space=\"preserve\">{s}</t></si>"))
        .collect();
    parts.push((
        "xl/sharedStrings.xml".into(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{n}" uniqueCount="{n}">{items}</sst>"#,
            n = strings.len()
        ),
    ));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A cell of `value` at `at` (`C7`), of type `t` (empty for a number) and style `s` (0 for
/// none).
fn c(at: &str, t: &str, s: u8, value: &str) -> String {
    let t = if t.is_empty() {
        String::new()
    } else {
        format!(r#" t="{t}""#)
    };
    let s = if s == 0 {
        String::new()
    } else {
        format!(r#" s="{s}""#)
    };
    if t == r#" t="inlineStr""# {
        return format!(r#"<c r="{at}"{t}{s}><is><t>{value}</t></is></c>"#);
    }
    format!(r#"<c r="{at}"{t}{s}><v>{value}</v></c>"#)
}

fn xml_row(number: usize, cells: &[String]) -> String {
    format!(r#"<row r="{number}">{}</row>"#, cells.concat())
}

#[test]
fn workbook_cells_keep_their_types() {
    let header: Vec<String> = ('A'..='O')
        .enumerate()
        .map(|(i, col)| c(&format!("{col}1"), "s", 0, &i.to_string()))
        .collect();
    let values = [
        c("A2", "", 0, "5"),
        c("B2", "", 0, "2.5"),
        c("C2", "s", 0, "15"),
        c("D2", "inlineStr", 0, " Acme GmbH "),
        c("E2", "b", 0, "1"),
        c("F2", "", DATE, "46752"),
        c("G2", "", DATE_TIME, "46752.5"),
        c("H2", "", DATE_TIME, "46752"),
        c("I2", "d", 0, "2027-12-31"),
        c("J2", "d", 0, "2027-12-31T08:30:00"),
        c("K2", "e", 0, "#N/A"),
        c("L2", "e", 0, "#DIV/0!"),
        c("M2", "", TIME, "0.5"),
        c("N2", "", DURATION, "1.5"),
        c("O2", "str", 0, "formula text"),
    ];
    let names = [
        "count", "share", "zip", "company", "active", "expires", "at", "midnight", "iso", "iso_at",
        "na", "div", "time", "duration", "formula", "01234",
    ];
    let bytes = workbook(
        &[("Daten", &(xml_row(1, &header) + &xml_row(2, &values)))],
        &names,
    );
    let table = ok("book.xlsx", &bytes, &Format::default());
    assert_eq!(table.header, names[..15]);
    assert_eq!(table.sheet.as_deref(), Some("Daten"));
    let cells = &table.rows[0].cells;
    assert_eq!(
        cells,
        &[
            Cell::Float(5.0),
            Cell::Float(2.5),
            Cell::Text("01234".into()),
            Cell::Text("Acme GmbH".into()),
            Cell::Bool(true),
            Cell::Date(date(2027, 12, 31)),
            Cell::DateTime(date(2027, 12, 31).at(12, 0, 0, 0)),
            Cell::Date(date(2027, 12, 31)),
            Cell::Date(date(2027, 12, 31)),
            Cell::DateTime(date(2027, 12, 31).at(8, 30, 0, 0)),
            Cell::Error("#N/A".into()),
            Cell::Error("#DIV/0!".into()),
            Cell::Text("12:00:00".into()),
            Cell::Float(1.5),
            Cell::Text("formula text".into()),
        ]
    );
    let shown: Vec<Cow<'_, str>> = cells.iter().map(Cell::text).collect();
    assert_eq!(
        shown,
        [
            "5",
            "2.5",
            "01234",
            "Acme GmbH",
            "true",
            "2027-12-31",
            "2027-12-31T12:00:00",
            "2027-12-31",
            "2027-12-31",
            "2027-12-31T08:30:00",
            "#N/A",
            "#DIV/0!",
            "12:00:00",
            "1.5",
            "formula text",
        ]
    );
}

#[test]
fn days_excel_cannot_show_stay_numbers_or_text() {
    let rows = xml_row(1, &[c("A1", "inlineStr", 0, "d")])
        + &xml_row(2, &[c("A2", "", DATE, "60")])
        + &xml_row(3, &[c("A3", "", DATE, "-1")])
        + &xml_row(4, &[c("A4", "", DATE, "3000000")])
        + &xml_row(5, &[c("A5", "", DATE, "61")]);
    let table = ok(
        "d.xlsx",
        &workbook(&[("S", &rows)], &[]),
        &Format::default(),
    );
    let cells: Vec<&Cell> = table.rows.iter().map(|r| &r.cells[0]).collect();
    assert_eq!(
        cells,
        [
            &Cell::Text("1900-02-29".into()),
            &Cell::Float(-1.0),
            &Cell::Float(3_000_000.0),
            &Cell::Date(date(1900, 3, 1)),
        ]
    );
}

#[test]
fn the_first_sheet_is_read_unless_one_is_named() {
    let sheet = |text: &str| {
        xml_row(1, &[c("A1", "inlineStr", 0, "name")])
            + &xml_row(2, &[c("A2", "inlineStr", 0, text)])
    };
    let bytes = workbook(
        &[
            ("Kunden", &sheet("first")),
            ("Lizenzen 2027", &sheet("second")),
        ],
        &[],
    );
    let first = ok("b.xlsx", &bytes, &Format::default());
    assert_eq!(
        (first.sheet.as_deref(), texts(&first)),
        (Some("Kunden"), vec![row(2, &["first"])])
    );
    for name in ["Lizenzen 2027", "lizenzen 2027 "] {
        let format = Format {
            sheet: Some(name.into()),
            ..Format::default()
        };
        let second = ok("b.xlsx", &bytes, &format);
        assert_eq!(second.sheet.as_deref(), Some("Lizenzen 2027"));
        assert_eq!(texts(&second), [row(2, &["second"])]);
    }
    let format = Format {
        sheet: Some("Verträge".into()),
        ..Format::default()
    };
    assert_eq!(
        problems("b.xlsx", &bytes, &format),
        ["b.xlsx: the workbook has no sheet `Verträge`; its sheets: `Kunden`, `Lizenzen 2027`"]
    );
}

#[test]
fn workbook_places_are_the_sheets_own_cells() {
    // The table starts at C5: rows and columns are numbered as the sheet numbers them.
    let s = |at: &str, text: &str| c(at, "inlineStr", 0, text);
    let rows = xml_row(
        5,
        &[s("C5", "Kundennummer"), s("D5", "Firma"), s("F5", "firma")],
    ) + &xml_row(6, &[s("C6", "K1"), s("D6", "Acme")])
        + &xml_row(7, &[s("C7", "K2"), s("E7", "nameless")])
        + &xml_row(9, &[s("C9", "K3"), s("H9", "wide")]);
    let bytes = workbook(&[("Daten", &rows)], &[]);
    let (_dir, path) = file("book.xlsx", &bytes);
    let mut found = Vec::new();
    let table = read(&path, &Format::default(), &mut found).unwrap();
    let shown: Vec<String> = found
        .iter()
        .map(|p| {
            p.to_string()
                .replace(&format!("{}", path.display()), "book.xlsx")
        })
        .collect();
    assert_eq!(
        shown,
        [
            "book.xlsx:Daten!F5: column `firma` is given twice; first as column D",
            "book.xlsx:Daten!H9: the row has 6 values, the header 4 columns",
            "book.xlsx:Daten!E5: the column has no name in the header, but row 7 has a value in it",
        ]
    );
    assert_eq!(table.header_row, 5);
    assert_eq!(table.header, ["Kundennummer", "Firma", "", "firma"]);
    assert_eq!(
        texts(&table),
        [row(6, &["K1", "Acme"]), row(7, &["K2", "", "nameless"])]
    );
    let place = table.at(&table.rows[1], 2).to_string();
    assert_eq!(
        place.replace(&format!("{}", path.display()), "book.xlsx"),
        "book.xlsx:Daten!E7"
    );
    assert_eq!(table.header_at(0).row, 5);
}

#[test]
fn cells_far_apart_are_read_without_the_rectangle_between_them() {
    let rows = xml_row(1, &[c("A1", "inlineStr", 0, "name")])
        + &xml_row(1_048_576, &[c("XFD1048576", "", 0, "1")]);
    assert_eq!(
        problems(
            "far.xlsx",
            &workbook(&[("S", &rows)], &[]),
            &Format::default()
        ),
        ["far.xlsx:S!XFD1048576: the row has 16384 values, the header 1 columns"]
    );
}

#[test]
fn a_sheet_holds_at_most_its_cells() {
    let rows = xml_row(
        1,
        &[c("A1", "inlineStr", 0, "a"), c("B1", "inlineStr", 0, "b")],
    ) + &xml_row(2, &[c("A2", "", 0, "1"), c("B2", "", 0, "2")])
        + &xml_row(3, &[c("A3", "", 0, "3")])
        + &xml_row(4, &[c("B4", "", 0, "4")]);
    let bytes = workbook(&[("S", &rows)], &[]);
    let limits = |cells| Limits {
        cells,
        unpacked: MAX_UNPACKED_BYTES,
    };
    assert!(read_limited("c.xlsx", &bytes, &Format::default(), &limits(7)).is_ok());
    // The cells with a value fit; the rows they make do not.
    assert_eq!(
        read_limited("c.xlsx", &bytes, &Format::default(), &limits(6)).unwrap_err(),
        ["c.xlsx: sheet `S`: more than 6 cells, the most a table may hold"]
    );
    // Too many cells with a value.
    assert_eq!(
        read_limited("c.xlsx", &bytes, &Format::default(), &limits(5)).unwrap_err(),
        ["c.xlsx: sheet `S`: more than 5 cells, the most a table may hold"]
    );
}

/// Sets the size `part` declares unpacked, in its local header and in the central directory.
fn declare_size(zip: &mut [u8], part: &str, size: u32) {
    // (signature, where the name's length is, where the name is, where the size is)
    let headers: [(&[u8], usize, usize, usize); 2] =
        [(b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)];
    for (signature, name_length_at, name_at, size_at) in headers {
        let mut patched = 0;
        for start in 0..zip.len() - 46 {
            if &zip[start..start + 4] != signature {
                continue;
            }
            let length =
                u16::from_le_bytes([zip[start + name_length_at], zip[start + name_length_at + 1]]);
            if &zip[start + name_at..start + name_at + usize::from(length)] == part.as_bytes() {
                zip[start + size_at..start + size_at + 4].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(patched, 1, "{part} in {signature:?}");
    }
}

fn small_sheet() -> Vec<u8> {
    let rows = xml_row(1, &[c("A1", "inlineStr", 0, "name")])
        + &(2..200)
            .map(|n| xml_row(n, &[c(&format!("A{n}"), "", 0, &n.to_string())]))
            .collect::<String>();
    workbook(&[("S", &rows)], &["shared"])
}

#[test]
fn a_workbook_declaring_more_than_the_limit_unpacked_is_refused_before_it_is_unpacked() {
    let mut bytes = small_sheet();
    assert!(read_bytes("z.xlsx", &bytes, &Format::default()).is_ok());
    declare_size(&mut bytes, "xl/worksheets/sheet1.xml", 1 << 31);
    assert_eq!(
        problems("z.xlsx", &bytes, &Format::default()),
        ["z.xlsx: the workbook unpacks to 2048 MiB, more than the 1024 MiB a workbook may"]
    );
    // All parts together count.
    let bytes = small_sheet();
    let total = {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..])).unwrap();
        (0..archive.len())
            .map(|i| archive.by_index_raw(i).unwrap().size())
            .sum::<u64>()
    };
    let limits = |unpacked| Limits {
        cells: MAX_CELLS,
        unpacked,
    };
    assert!(read_limited("z.xlsx", &bytes, &Format::default(), &limits(total)).is_ok());
    assert_eq!(
        read_limited("z.xlsx", &bytes, &Format::default(), &limits(total - 1)).unwrap_err(),
        [format!(
            "z.xlsx: the workbook unpacks to {total} bytes, more than the {} bytes a workbook may",
            total - 1
        )]
    );
}

#[test]
fn a_part_unpacking_past_its_declared_size_is_refused() {
    for part in ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"] {
        let mut bytes = small_sheet();
        declare_size(&mut bytes, part, 100);
        let found = problems("z.xlsx", &bytes, &Format::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("z.xlsx: "), "{found:?}");
        assert!(
            found[0].contains("larger than its declared uncompressed size"),
            "{found:?}"
        );
    }
}

#[test]
fn a_shared_string_counts_for_every_cell_showing_it() {
    let long = "x".repeat(1000);
    let rows = xml_row(1, &[c("A1", "inlineStr", 0, "name")])
        + &(2..=21)
            .map(|n| xml_row(n, &[c(&format!("A{n}"), "s", 0, "0")]))
            .collect::<String>();
    let bytes = workbook(&[("S", &rows)], &[&long]);
    let limits = |unpacked| Limits {
        cells: MAX_CELLS,
        unpacked,
    };
    assert!(read_limited("s.xlsx", &bytes, &Format::default(), &limits(20_004)).is_ok());
    assert_eq!(
        read_limited("s.xlsx", &bytes, &Format::default(), &limits(20_003)).unwrap_err(),
        ["s.xlsx: sheet `S`: its cells hold more than 20003 bytes of text, the most a sheet may"]
    );
}

#[test]
fn files_that_are_no_workbooks_are_named() {
    let found = problems("not.xlsx", b"a,b\n1,2\n", &Format::default());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("not.xlsx: not an .xlsx workbook: "),
        "{found:?}"
    );
    assert_eq!(
        problems("old.XLS", b"\xD0\xCF\x11\xE0", &Format::default()),
        [
            "old.XLS: a .xls file cannot be read; .xlsx workbooks and CSV files can\n  \
          hint: save the sheet as an Excel workbook (.xlsx) or as CSV"
        ]
    );
    let empty = workbook(&[("Leer", "")], &[]);
    assert_eq!(
        problems("empty.xlsm", &empty, &Format::default()),
        ["empty.xlsm: sheet `Leer` is empty; it needs a header row naming its columns"]
    );
}
