//! Markdown escaping, one set of rules for every markdown rendering: text in table cells and
//! list items, code spans, HTML elements and link destinations.

/// Escapes text for a markdown table cell or list item: no markup, no HTML, no cell breaks, and
/// no link: GitHub turns `scheme://…` and `www.…` in text into links, which a value from SLASCONE
/// or a manifest must not become, so the `:` or `.` that starts one is escaped (it still reads
/// the same).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let starts_link = match c {
            ':' => text[at + 1..].starts_with("//"),
            '.' => {
                let before = &text[..at];
                before.len() >= 3
                    && before.is_char_boundary(before.len() - 3)
                    && before[before.len() - 3..].eq_ignore_ascii_case("www")
            }
            _ => false,
        };
        if starts_link {
            escaped.push('\\');
            escaped.push(c);
            continue;
        }
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\n' => escaped.push_str("<br>"),
            '\r' => {}
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                escaped.push('\\');
                escaped.push(c);
            }
            c if crate::text::is_hazard(c) => escaped.push_str(&crate::text::shown(&c.to_string())),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Text as a code span in a table cell; text holding a backtick or a control character is
/// escaped instead, since a code span cannot hold it reliably.
pub fn code(text: &str) -> String {
    if text.contains('`') || text.chars().any(crate::text::is_hazard) {
        escape(text)
    } else {
        format!("`{}`", text.replace('|', "\\|"))
    }
}

/// Escapes text inside an HTML element, where markdown escapes do not apply.
pub fn html(text: &str) -> String {
    crate::text::html(&crate::text::shown(text))
}

/// A link destination in `<...>` form, which allows spaces and parentheses.
pub fn link(url: &str) -> String {
    format!("<{}>", url.replace('<', "%3C").replace('>', "%3E"))
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn urls_in_text_do_not_become_links() {
        assert_eq!(
            escape("see https://evil.example/x and ftp://f.example"),
            r"see https\://evil.example/x and ftp\://f.example"
        );
        assert_eq!(escape("WWW.evil.example"), r"WWW\.evil.example");
        assert_eq!(escape("a: b. www"), "a: b. www");
        assert_eq!(escape("ü.www"), "ü.www");
    }
}
