//! Edits made line by line, without parsing the file: the common case of `pull` and `ingest`,
//! where each edited value stands alone on its line after its key in block context
//! (`    city: Berlin  # comment`). Parsing a file twice (to find the scalars, and to read the new
//! text back) costs as much as loading it; here each value is found, rewritten and read back
//! within its own line.
//!
//! Only what the line alone decides is taken: a line whose key is a plain name, whose value is a
//! plain or quoted scalar without escapes that ends on its line (before a comment), and after
//! which no more indented line could continue it. A file with anything that makes a value's
//! meaning depend on more than its line (an anchor, alias, tag or merge anywhere, a byte order
//! mark, a tab) is not edited here at all. Whatever is not taken is left to the parsing editor,
//! which then does every edit of the file, so both give the same result
//! (`the_line_editor_agrees_with_the_parsing_one` in the editor's properties).

use serde_saphyr::granit_parser::ScalarStyle;

use super::scalar::{NewValue, Target, Written, check, holds};
use super::{Edit, Outcome, Place};

/// The new text and each edit's outcome, as [`super::apply`] gives them; `None` when an edit is
/// not one this editor takes.
pub(super) fn apply(
    text: &str,
    edits: &[Edit],
    render: fn(&Target<'_>, &NewValue) -> Written,
) -> Option<(String, Vec<Outcome>)> {
    if text.starts_with('\u{FEFF}') || text.contains(['\t', '\u{85}', '\u{2028}', '\u{2029}']) {
        return None;
    }
    if text.contains("<<") || has_node_property(text) || !text.lines().all(simple) {
        return None;
    }
    let starts = line_starts(text);
    let mut splices: Vec<(usize, usize, String)> = Vec::new();
    let mut outcomes = Vec::with_capacity(edits.len());
    for edit in edits {
        let Place::Value(at) = &edit.at else {
            return None;
        };
        let line_start = *starts.get(at.line.checked_sub(1)?)?;
        let line = line_of(text, line_start);
        let scalar = scalar_at(line, at.column)?;
        if continues(text, &starts, at.line, scalar.key_column) {
            return None;
        }
        let (start, end) = (line_start + scalar.start, line_start + scalar.end);
        if splices.iter().any(|(s, _, _)| *s == start) {
            // The parsing editor says which edit came first.
            return None;
        }
        let target = Target {
            index: 0,
            at: *at,
            start,
            end,
            value: &scalar.value,
            style: scalar.style,
            flow: false,
        };
        match check(&target, &edit.value) {
            Err(reason) => outcomes.push(Outcome::Skipped(reason)),
            Ok(false) => outcomes.push(Outcome::Unchanged),
            Ok(true) => {
                let written = render(&target, &edit.value);
                // Read back within the line, as the parsing editor reads the whole file back.
                let new_line = format!(
                    "{}{}{}",
                    &line[..scalar.start],
                    written.text,
                    &line[scalar.end..]
                );
                let read = scalar_at(&new_line, at.column)?;
                let reads_back = read.end == scalar.start + written.text.len()
                    && read.value == written.value
                    && read.style == written.style
                    && holds(&read.value, read.style, &edit.value);
                if !reads_back {
                    return None;
                }
                splices.push((start, end, written.text));
                outcomes.push(Outcome::Edited);
            }
        }
    }
    splices.sort_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(text.len() + 64);
    let mut from = 0;
    for (start, end, written) in &splices {
        out.push_str(&text[from..*start]);
        out.push_str(written);
        from = *end;
    }
    out.push_str(&text[from..]);
    Some((out, outcomes))
}

/// Whether an anchor (`&a`), alias (`*a`) or tag (`!t`) may stand anywhere in `text`: the
/// indicator where a node may start (at a line's start or after white space, `-`, `:`, `?`, `,`,
/// `[` or `{`) and followed by a character that is no space. Errs towards yes: `R&D` is not
/// one, `a &b` in a plain scalar is taken for one.
fn has_node_property(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        matches!(b, b'&' | b'*' | b'!')
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b' ' | b'\n' | b'\r' | b'-' | b':' | b'?' | b',' | b'[' | b'{'
                ))
            && bytes
                .get(i + 1)
                .is_some_and(|next| !matches!(next, b' ' | b'\n' | b'\r'))
    })
}

/// The byte offset of each line's start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|at| at + 1))
        .collect()
}

/// The line starting at `start`, without its line end.
fn line_of(text: &str, start: usize) -> &str {
    let rest = &text[start..];
    let line = rest.find('\n').map_or(rest, |end| &rest[..end]);
    line.strip_suffix('\r').unwrap_or(line)
}

/// A scalar value found on its line.
struct Scalar {
    /// Byte offsets within the line: from the first character (an opening quote) to after the
    /// last.
    start: usize,
    end: usize,
    value: String,
    style: ScalarStyle,
    /// The column (0-based, in characters) of the key: a line indented deeper would continue
    /// a plain value.
    key_column: usize,
}

/// The scalar value that starts at `column` (1-based, in characters) of `line`, when the line is
/// `<spaces>[- ]...<name>: <scalar>[ # comment]` and nothing else.
fn scalar_at(line: &str, column: usize) -> Option<Scalar> {
    let start = line
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map(|(at, _)| at)?;
    let entry = entry(line)?;
    if !entry.named || entry.value_start != start {
        return None;
    }
    let (written, style, length) = token(entry.value)?;
    let value = match style {
        // Escapes are left to the parsing editor.
        ScalarStyle::DoubleQuoted if written.contains('\\') => return None,
        ScalarStyle::SingleQuoted => written.replace("''", "'"),
        _ => written.to_owned(),
    };
    Some(Scalar {
        start,
        end: start + length,
        value,
        style,
        key_column: entry.key_column,
    })
}

/// One line's entry: `<spaces>[- ]...` then `<name>:` and its value, or a list item's value.
struct Entry<'l> {
    /// The column (0-based) of the name, or of the item's value.
    key_column: usize,
    /// `<name>:` stands before the value.
    named: bool,
    /// From the value's first character to the line's end (empty for `<name>:` alone).
    value: &'l str,
    /// Where the value starts in the line, in bytes.
    value_start: usize,
}

fn entry(line: &str) -> Option<Entry<'_>> {
    let mut rest = line.trim_start_matches(' ');
    let mut item = false;
    while let Some(after) = rest.strip_prefix("- ") {
        rest = after.trim_start_matches(' ');
        item = true;
    }
    let key_column = line.len() - rest.len();
    match rest.split_once(':') {
        Some((name, after)) if plain_name(name) && (after.is_empty() || after.starts_with(' ')) => {
            let value = after.trim_start_matches(' ');
            Some(Entry {
                key_column,
                named: true,
                value,
                value_start: line.len() - value.len(),
            })
        }
        _ if item => Some(Entry {
            key_column,
            named: false,
            value: rest,
            value_start: key_column,
        }),
        _ => None,
    }
}

/// The scalar at the start of `rest`, when it ends on the line and only a comment may follow
/// it: its text as written (between its quotes, for a quoted one), its style, and its length in
/// bytes, quotes included.
fn token(rest: &str) -> Option<(&str, ScalarStyle, usize)> {
    let (written, style, length) = match rest.as_bytes().first()? {
        b'"' => {
            let close = rest[1..].find('"')?;
            (&rest[1..=close], ScalarStyle::DoubleQuoted, close + 2)
        }
        b'\'' => {
            let inner = &rest[1..];
            let mut at = 0;
            loop {
                let quote = at + inner[at..].find('\'')?;
                if inner[quote + 1..].starts_with('\'') {
                    at = quote + 2;
                } else {
                    break (&inner[..quote], ScalarStyle::SingleQuoted, quote + 2);
                }
            }
        }
        _ => {
            let length = rest.find(" #").unwrap_or(rest.len());
            let value = rest[..length].trim_end_matches(' ');
            if !plain_on_its_line(value) {
                return None;
            }
            (value, ScalarStyle::Plain, value.len())
        }
    };
    ends_here(&rest[length..]).then_some((written, style, length))
}

/// Whether what follows a value on its line ends it: nothing, or white space and a comment.
fn ends_here(tail: &str) -> bool {
    let after = tail.trim_start_matches(' ');
    after.is_empty() || (after.starts_with('#') && after.len() < tail.len())
}

/// Whether a line is one of the few shapes whose meaning the line alone decides: blank, a
/// comment, a document marker, or `<spaces>[- ]...` then `<name>:` alone, `<name>: <value>` or a
/// list item's `<value>`, where the value is a scalar or a flow collection that ends on the line
/// (the collection without quotes or comments inside, so its brackets can be counted), and a
/// comment may follow. A file of only such lines has no scalar or collection that spans lines,
/// so a value's line is its whole context.
fn simple(line: &str) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let content = line.trim_start_matches(' ');
    if content.is_empty() || content.starts_with('#') || matches!(line, "---" | "...") {
        return true;
    }
    let Some(entry) = entry(line) else {
        // `-` alone: an item whose value follows on the next lines.
        return content == "-";
    };
    let value = entry.value;
    if value.is_empty() || value.starts_with('#') || (!entry.named && value == "-") {
        return true;
    }
    match value.as_bytes()[0] {
        b'{' | b'[' => {
            let mut depth = 0i32;
            for (at, c) in value.char_indices() {
                match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth -= 1;
                        if depth == 0 {
                            return ends_here(&value[at + 1..]);
                        }
                    }
                    '"' | '\'' | '#' => return false,
                    _ => {}
                }
            }
            false
        }
        _ => token(value).is_some(),
    }
}

fn plain_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `value` is one plain scalar on one line as YAML reads it in block context, as far as
/// the line can tell: no indicator that starts something else, no `: ` or ` #` inside, no end in
/// `:`. Stricter than YAML; what it refuses goes to the parsing editor.
fn plain_on_its_line(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let second = value[first.len_utf8()..].chars().next();
    let starts_plain = match first {
        '-' | '?' | ':' => second.is_some_and(|c| c != ' '),
        c => !",[]{}#&*!|>'\"%@`".contains(c),
    };
    starts_plain
        && !value.contains(": ")
        && !value.ends_with(':')
        && !value.starts_with("---")
        && !value.starts_with("...")
        && value.chars().all(|c| !c.is_control())
}

/// Whether a line after `line` (1-based) could continue its value: the next line that is neither
/// blank nor a comment is indented deeper than the key.
fn continues(text: &str, starts: &[usize], line: usize, key_column: usize) -> bool {
    for &start in &starts[line..] {
        let next = line_of(text, start);
        let content = next.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        return next.len() - content.len() > key_column;
    }
    false
}
