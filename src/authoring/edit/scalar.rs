//! One scalar: where it stands, what it holds, whether a new value changes it, and how that
//! value is written so the loader reads it back as meant, in the scalar's own style where it can.

use std::fmt;

use jiff::civil::Date;
use serde_saphyr::granit_parser::{ScalarStyle, Span};

use crate::dates::{format_date, parse_date};

/// Where a value is written: 1-based line and 1-based column (in characters) of the scalar's
/// first character (its opening quote for a quoted scalar), exactly as the manifest loader reports
/// node positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub(super) fn of(span: &Span) -> Position {
        Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewValue {
    Text(String),
    Integer(i64),
    Bool(bool),
    /// Written as `YYYY-MM-DD`, which the loader reads as text (and `expires` as a date).
    Date(Date),
}

/// A scalar value that an edit may rewrite.
#[derive(Debug, Clone)]
pub(super) struct Target<'e> {
    /// Its event's index in the file's events.
    pub(super) index: usize,
    /// Where it starts.
    pub(super) at: Position,
    /// Its bytes in the text: from the first character (an opening quote) to after the last.
    pub(super) start: usize,
    pub(super) end: usize,
    /// Its value, after escapes and line folding.
    pub(super) value: &'e str,
    pub(super) style: ScalarStyle,
    /// Inside a flow collection (`[...]`, `{...}`), where `,`, brackets and braces end a plain
    /// scalar.
    pub(super) flow: bool,
}

pub(super) fn check(target: &Target<'_>, value: &NewValue) -> Result<bool, String> {
    if let NewValue::Date(date) = value
        && parse_date(&format_date(*date)) != Some(*date)
    {
        return Err(format!("the date {date} cannot be written as YYYY-MM-DD"));
    }
    Ok(!holds(target.value, target.style, value))
}

/// How the loader reads a scalar (see `manifest::node`): quoted scalars are text; plain ones are
/// typed under the YAML 1.2 core schema, with only `true`/`false` as booleans and numbers with
/// leading zeros or underscores kept as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    Null,
    Bool(bool),
    Int(i128),
    /// A number with a fraction or exponent.
    Float,
    /// Text: the value as it is.
    Text,
    /// Anything else: not one scalar of this very text (`a: b`, `a #b`, ` x`), or a number that
    /// JSON cannot hold (`.inf`).
    Other,
}

/// Plain scalars are read by serde-saphyr with the loader's options: the loader is kept in step
/// with it (see `agrees_with_serde_saphyr` in the manifest tests), and a differential test here
/// checks the editor's results against the loader itself.
pub(super) fn reading(value: &str, style: ScalarStyle) -> Reading {
    use serde_json::Value as Json;
    if style != ScalarStyle::Plain {
        return Reading::Text;
    }
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    };
    match serde_saphyr::from_str_with_options::<Json>(value, options) {
        Ok(Json::Null) => Reading::Null,
        Ok(Json::Bool(value)) => Reading::Bool(value),
        Ok(Json::Number(number)) => match (number.as_i64(), number.as_u64()) {
            (Some(int), _) => Reading::Int(int.into()),
            (None, Some(int)) => Reading::Int(int.into()),
            (None, None) => Reading::Float,
        },
        Ok(Json::String(text)) if text == value => Reading::Text,
        _ => Reading::Other,
    }
}

/// Whether a scalar with this value and style already holds `new`. Text is held by text and by a
/// bare number written the same way, which the loader's text fields take as written.
pub(super) fn holds(value: &str, style: ScalarStyle, new: &NewValue) -> bool {
    let reading = reading(value, style);
    match new {
        NewValue::Text(text) => holds_text(value, reading, text),
        NewValue::Date(date) => holds_text(value, reading, &format_date(*date)),
        NewValue::Integer(int) => reading == Reading::Int((*int).into()),
        NewValue::Bool(bool) => reading == Reading::Bool(*bool),
    }
}

fn holds_text(value: &str, reading: Reading, text: &str) -> bool {
    value == text && matches!(reading, Reading::Text | Reading::Int(_) | Reading::Float)
}

/// A scalar's new text, and how the parser reads it back.
#[derive(Debug, Clone)]
pub(super) struct Written {
    pub(super) text: String,
    pub(super) value: String,
    pub(super) style: ScalarStyle,
}

impl Written {
    pub(super) fn plain(text: String) -> Written {
        Written {
            value: text.clone(),
            text,
            style: ScalarStyle::Plain,
        }
    }
}

/// The new text of `target` for `value`, in the target's style where the value allows it.
pub(super) fn write(target: &Target<'_>, value: &NewValue) -> Written {
    match value {
        NewValue::Integer(int) => Written::plain(int.to_string()),
        NewValue::Bool(bool) => Written::plain(bool.to_string()),
        NewValue::Text(text) => write_text(target, text),
        NewValue::Date(date) => write_text(target, &format_date(*date)),
    }
}

fn write_text(target: &Target<'_>, text: &str) -> Written {
    let (written, style) = match target.style {
        ScalarStyle::Plain if plain_keeps(target, text) => {
            return Written::plain(text.to_owned());
        }
        ScalarStyle::SingleQuoted if text.chars().all(printable) => (
            format!("'{}'", text.replace('\'', "''")),
            ScalarStyle::SingleQuoted,
        ),
        _ => (double_quoted(text), ScalarStyle::DoubleQuoted),
    };
    Written {
        text: written,
        value: text.to_owned(),
        style,
    }
}

/// Whether `text` may replace the plain scalar `target` as a plain scalar: it must be one, and
/// read back as text (or, where the target is a bare number, as a number written as `text`).
fn plain_keeps(target: &Target<'_>, text: &str) -> bool {
    can_be_plain(text, target.flow)
        && match reading(text, ScalarStyle::Plain) {
            Reading::Text => true,
            Reading::Int(_) | Reading::Float => matches!(
                reading(target.value, target.style),
                Reading::Int(_) | Reading::Float
            ),
            _ => false,
        }
}

/// Whether `text` may stand as a plain scalar wherever a value stands (in a flow collection when
/// `flow`), as far as reading it on its own cannot tell: [`plain_keeps`] also reads it, which
/// refuses what YAML takes for more than a scalar or for another text (`a: b`, `a #b`, `ends:`,
/// `...`). Stricter than YAML: whatever it refuses is quoted.
pub(super) fn can_be_plain(text: &str, flow: bool) -> bool {
    const INDICATORS: &str = "-?:,[]{}#&*!|>'\"%@`";
    let (Some(first), Some(last)) = (text.chars().next(), text.chars().next_back()) else {
        return false;
    };
    // A plain scalar has no spaces at its ends, and reading the text on its own would not tell.
    !INDICATORS.contains(first)
        && first != ' '
        && last != ' '
        && text.chars().all(printable)
        && !(flow && text.contains([',', '[', ']', '{', '}']))
}

/// Characters written as they are in any scalar style: YAML's printable characters, without tab,
/// the byte order mark and the characters YAML 1.1 took as line breaks.
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// `text` as a double-quoted scalar, escaping what is not [`printable`].
pub(super) fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c if u32::from(c) <= 0xFF => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c if u32::from(c) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08X}", u32::from(c))),
        }
    }
    out.push('"');
    out
}
