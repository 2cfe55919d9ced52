//! Text that a person or a CI runner reads. Names, numbers, messages and file names come from
//! SLASCONE and from manifests, so anyone who can edit a customer in the portal or push a
//! manifest chooses them. Raw control characters in them could clear a terminal, retitle it,
//! hide text behind a carriage return, reorder a line (bidirectional overrides) or forge lines of
//! a report; a line that opens with `::` is a command to GitHub Actions (`##vso[` to Azure
//! Pipelines, `##teamcity[` to TeamCity). Two functions keep that out:
//!
//! - [`shown`] escapes one value where it is put into a line, so a line break in a value stays
//!   inside its line;
//! - [`terminal`] (and [`Guard`], the same per line for a writer) is the output boundary: every
//!   control character left in a finished text is escaped except the line breaks the program
//!   wrote, and no line may open with a runner's command prefix.
//!
//! JSON output is exact instead, with the same characters escaped the JSON way (`plan_json`).

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::ser::{Formatter, PrettyFormatter};

/// Characters never written raw: C0 controls, DEL, C1 controls, the line and paragraph
/// separators, and every invisible format character (Unicode's general category Cf): the
/// bidirectional marks, embeddings, overrides and isolates that reorder what a line shows, and
/// the zero-width characters that make `K001` and `K001\u{200b}` look the same.
pub fn is_hazard(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format(c)
}

/// Unicode's general category Cf (format characters), as of Unicode 16. A table rather than a
/// dependency: it is twenty ranges, and the category has gained one range since Unicode 6.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// `text` with every [`is_hazard`] character escaped (`\n`, `\r`, `\t`, `\e`, `\a`, otherwise
/// `\u{9b}`), borrowed when there is nothing to escape.
pub fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    if !is_hazard(c) {
        out.push(c);
        return;
    }
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{1b}' => out.push_str("\\e"),
        '\u{7}' => out.push_str("\\a"),
        c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
    }
}

/// A finished text (lines the program composed) made safe for a terminal or a CI log: the line
/// breaks stay, every other [`is_hazard`] character is escaped (with `keep_colour`, the colour
/// sequences `ESC [ digits ; ... m` the program itself writes stay too), and a line that would
/// open with a runner's command prefix, after any leading white space, has its first character
/// escaped.
pub fn terminal(text: &str, keep_colour: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        push_line(&mut out, line, keep_colour);
    }
    out
}

fn push_line(out: &mut String, line: &str, keep_colour: bool) {
    let mut escaped = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if keep_colour && c == '\u{1b}' {
            let sgr = sgr_len(rest);
            if sgr > 0 {
                escaped.push_str(&rest[..sgr]);
                rest = &rest[sgr..];
                continue;
            }
        }
        push_escaped(&mut escaped, c);
        rest = &rest[c.len_utf8()..];
    }
    // Colour codes take no room on the screen, so a runner reads the line without them.
    let visible = if keep_colour {
        strip_sgr(&escaped)
    } else {
        Cow::Borrowed(escaped.as_str())
    };
    let body = visible.trim_start();
    if is_runner_command(body) {
        // The runner reads the first printed character: escape it wherever it is.
        let first = body.chars().next().unwrap_or(':');
        let at = escaped.find(first).unwrap_or(0);
        out.push_str(&escaped[..at]);
        out.push_str(&format!("\\u{{{:x}}}", u32::from(first)));
        out.push_str(&escaped[at + first.len_utf8()..]);
    } else {
        out.push_str(&escaped);
    }
}

/// `::` (GitHub Actions, and Gitea and Forgejo Actions), `##[`, `##vso[` (Azure Pipelines) and
/// `##teamcity[`: `##` then letters then `[`, so a markdown heading (`## Plan`) is no command.
fn is_runner_command(line: &str) -> bool {
    if line.starts_with("::") {
        return true;
    }
    let Some(rest) = line.strip_prefix("##") else {
        return false;
    };
    rest.trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .starts_with('[')
}

/// The length of the colour sequence `text` opens with, 0 for anything else.
fn sgr_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if bytes.len() < 3 || bytes[0] != 0x1b || bytes[1] != b'[' {
        return 0;
    }
    for (at, byte) in bytes.iter().enumerate().skip(2) {
        match byte {
            b'0'..=b'9' | b';' => {}
            b'm' => return at + 1,
            _ => return 0,
        }
    }
    0
}

fn strip_sgr(text: &str) -> Cow<'_, str> {
    if !text.contains('\u{1b}') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let sgr = sgr_len(rest);
        if sgr > 0 {
            rest = &rest[sgr..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Cow::Owned(out)
}

/// A writer that passes each finished line through [`terminal`]; a last line without a line
/// break is written by [`Guard::flush`] or when the guard is dropped.
pub struct Guard<W: Write> {
    inner: W,
    line: Vec<u8>,
    keep_colour: bool,
}

impl<W: Write> Guard<W> {
    pub fn new(inner: W, keep_colour: bool) -> Self {
        Guard {
            inner,
            line: Vec::new(),
            keep_colour,
        }
    }

    fn write_line(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.line);
        let safe = terminal(&text, self.keep_colour);
        self.line.clear();
        self.inner.write_all(safe.as_bytes())
    }
}

impl<W: Write> Write for Guard<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..=at]);
            self.write_line()?;
            rest = &rest[at + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_line()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Guard<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Escapes text for HTML element content and quoted attribute values alike, into `out`: the one
/// escaping every page (the sandbox's portal, the agent's status page) and markdown's HTML use.
pub fn html_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// [`html_into`] into a new string.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    html_into(text, &mut out);
    out
}

/// `value` as pretty JSON into `out`, exactly as `serde_json::to_writer_pretty` writes it except
/// that the [`is_hazard`] characters serde_json leaves raw (DEL, C1 controls, bidirectional
/// marks) are written as `\uXXXX` escapes: the same string to a JSON reader, no control
/// character to a terminal that shows the file.
pub fn write_json<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let mut serializer =
        serde_json::Serializer::with_formatter(out, EscapingFormatter(PrettyFormatter::new()));
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// `value` as compact JSON on one line, with the escapes of [`write_json`]: for log lines and
/// JSON answers that a person may read raw.
pub fn json_line<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut out,
        EscapingFormatter(serde_json::ser::CompactFormatter),
    );
    // Writing into memory fails only for a value that is no JSON (a map with other keys than
    // strings), which the callers never have.
    if value.serialize(&mut serializer).is_err() {
        return "null".to_owned();
    }
    String::from_utf8(out).unwrap_or_default()
}

struct EscapingFormatter<F>(F);

impl<F: Formatter> Formatter for EscapingFormatter<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(is_hazard) {
            writer.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            // JSON spells a character beyond the Basic Multilingual Plane (the tag characters)
            // as its UTF-16 surrogate pair.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{:04x}", unit)?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    // PrettyFormatter's layout, delegated.
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each character the hostile-input tests send, and how it is shown.
    const HOSTILE: [(char, &str); 7] = [
        ('\u{1b}', "\\e"),
        ('\u{7}', "\\a"),
        ('\r', "\\r"),
        ('\n', "\\n"),
        ('\u{9b}', "\\u{9b}"),
        ('\u{202e}', "\\u{202e}"),
        ('\u{200b}', "\\u{200b}"),
    ];

    #[test]
    fn values_show_every_control_escaped() {
        for (c, escaped) in HOSTILE {
            assert_eq!(shown(&format!("K{c}9")), format!("K{escaped}9"));
        }
        assert_eq!(shown("Müller & Söhne"), "Müller & Söhne");
        assert!(matches!(shown("plain"), Cow::Borrowed(_)));
        assert_eq!(shown("\u{7f}\u{2066}\t"), "\\u{7f}\\u{2066}\\t");
    }

    #[test]
    fn invisible_characters_are_shown_escaped() {
        // Zero-width, word joiner, byte order mark, soft hyphen, a tag character, and the
        // separators some readers take for a line break.
        for (c, escaped) in [
            ('\u{200b}', "\\u{200b}"),
            ('\u{200d}', "\\u{200d}"),
            ('\u{2060}', "\\u{2060}"),
            ('\u{feff}', "\\u{feff}"),
            ('\u{ad}', "\\u{ad}"),
            ('\u{e0041}', "\\u{e0041}"),
            ('\u{2028}', "\\u{2028}"),
        ] {
            assert_eq!(shown(&format!("K001{c}")), format!("K001{escaped}"));
        }
        // Letters of every script stay as they are.
        assert_eq!(shown("Ärzte 株式会社 شركة"), "Ärzte 株式会社 شركة");
        let mut out = Vec::new();
        write_json(&mut out, "K\u{200b}\u{e0041}").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#""K\u200b\udb40\udc41""#);
        assert_eq!(
            serde_json::from_str::<String>(&text).unwrap(),
            "K\u{200b}\u{e0041}"
        );
    }

    #[test]
    fn the_boundary_keeps_line_breaks_and_escapes_the_rest() {
        let text = "a\u{1b}]0;pwn\u{7} \r\u{9b}2J\u{202e}\nb";
        assert_eq!(
            terminal(text, false),
            "a\\e]0;pwn\\a \\r\\u{9b}2J\\u{202e}\nb"
        );
        // Colour is the program's only escape sequence; anything else is escaped even then.
        assert_eq!(
            terminal("\u{1b}[31mred\u{1b}[0m \u{1b}[2J\u{1b}]0;x\u{7}", true),
            "\u{1b}[31mred\u{1b}[0m \\e[2J\\e]0;x\\a"
        );
        assert_eq!(terminal("\u{1b}[31mred", false), "\\e[31mred");
    }

    #[test]
    fn no_line_opens_with_a_runner_command() {
        for line in [
            "::warning title=x::y",
            "  ::error::y",
            "\u{a0}::set-output name=a::b",
            "##vso[task.setvariable variable=a]b",
            "##[error]x",
            "##teamcity[buildStatus text='x']",
        ] {
            let safe = terminal(&format!("ok\n{line}\nok"), false);
            for out in safe.lines() {
                let start = out.trim_start();
                assert!(
                    !start.starts_with("::") && !is_runner_command(start),
                    "{line:?} -> {out:?}"
                );
            }
        }
        assert_eq!(terminal("::warning::x", false), "\\u{3a}:warning::x");
        let coloured = terminal("\u{1b}[33m::warning::x\u{1b}[0m", true);
        assert_eq!(strip_sgr(&coloured).trim_start(), "\\u{3a}:warning::x");
        // A markdown heading and a `::` inside a line are no commands.
        assert_eq!(terminal("## Plan\nK1 ::x", false), "## Plan\nK1 ::x");
    }

    #[test]
    fn json_stays_exact_and_escapes_what_serde_json_leaves_raw() {
        let value: String = HOSTILE.iter().map(|(c, _)| *c).collect::<String>() + "\u{7f}ü";
        let mut out = Vec::new();
        write_json(
            &mut out,
            &serde_json::json!({ "name": value, "list": [1, 2] }),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| is_hazard(c) && c != '\n'), "{text}");
        assert!(
            text.contains(r#""\u001b\u0007\r\n\u009b\u202e\u200b\u007fü""#),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], value);
        // The layout is serde_json's own.
        let plain = serde_json::to_string_pretty(&serde_json::json!({ "list": [1, 2] })).unwrap();
        let mut out = Vec::new();
        write_json(&mut out, &serde_json::json!({ "list": [1, 2] })).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), plain);
        // One line, else the same.
        let line = json_line(&serde_json::json!({ "name": value, "list": [1, 2] }));
        assert!(!line.chars().any(is_hazard), "{line}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap()["name"],
            value
        );
        assert_eq!(
            json_line(&serde_json::json!({ "list": [1, 2] })),
            r#"{"list":[1,2]}"#
        );
    }

    #[test]
    fn the_guard_works_line_by_line() {
        let mut out = Vec::new();
        {
            let mut guard = Guard::new(&mut out, false);
            guard.write_all(b"one\n::warn").unwrap();
            guard.write_all(b"ing::x\nthree \x1b[2J").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "one\n\\u{3a}:warning::x\nthree \\e[2J"
        );
    }
}
