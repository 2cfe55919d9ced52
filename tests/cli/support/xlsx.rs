//! `.xlsx` workbooks as spreadsheet programs write them, for the tests of exports: one sheet,
//! text in the shared strings, numbers as numbers, and dates as serial days with a date style.

use std::io::Write;

/// A cell of a sheet.
#[derive(Debug, Clone, Copy)]
pub enum X<'a> {
    Text(&'a str),
    Number(f64),
    Date(i16, i8, i8),
    Empty,
}

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// A workbook holding one sheet named `sheet` with `rows`, the first at row 1.
pub fn workbook(sheet: &str, rows: &[Vec<X<'_>>]) -> Vec<u8> {
    let mut strings: Vec<String> = Vec::new();
    let mut data = String::new();
    for (r, row) in rows.iter().enumerate() {
        data.push_str(&format!("<row r=\"{}\">", r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = format!("{}{}", column(c + 1), r + 1);
            match cell {
                X::Text(text) => {
                    let index = strings.iter().position(|s| s == text).unwrap_or_else(|| {
                        strings.push((*text).to_owned());
                        strings.len() - 1
                    });
                    data.push_str(&format!("<c r=\"{at}\" t=\"s\"><v>{index}</v></c>"));
                }
                X::Number(value) => data.push_str(&format!("<c r=\"{at}\"><v>{value}</v></c>")),
                X::Date(year, month, day) => {
                    let date = jiff::civil::date(*year, *month, *day);
                    let serial = jiff::civil::date(1899, 12, 30)
                        .until((jiff::Unit::Day, date))
                        .expect("days")
                        .get_days();
                    data.push_str(&format!("<c r=\"{at}\" s=\"1\"><v>{serial}</v></c>"));
                }
                X::Empty => {}
            }
        }
        data.push_str("</row>");
    }
    let shared: String = strings
        .iter()
        .map(|s| format!("<si><t xml:space=\"preserve\">{}</t></si>", escape(s)))
        .collect();
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_owned(),
        ),
        (
            "_rels/.rels",
            format!(r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ),
        (
            "xl/workbook.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#, escape(sheet)),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(r#"<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="{DOC}/styles" Target="styles.xml"/></Relationships>"#),
        ),
        (
            "xl/styles.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#),
        ),
        (
            "xl/sharedStrings.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{n}" uniqueCount="{n}">{shared}</sst>"#, n = strings.len()),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>{data}</sheetData></worksheet>"#),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        zip.start_file(name, options).expect("a part");
        zip.write_all(text.as_bytes()).expect("a part's text");
    }
    zip.finish().expect("the workbook").into_inner()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `1` → `A`, `27` → `AA`.
fn column(mut n: usize) -> String {
    let mut letters = Vec::new();
    while n > 0 {
        n -= 1;
        letters.push(char::from(b'A' + (n % 26) as u8));
        n /= 26;
    }
    letters.iter().rev().collect()
}
