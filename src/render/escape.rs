//! Markdown escaping, one set of rules for every markdown rendering: text in table cells and
//! list items, code spans, HTML elements and link destinations.

/// Escapes text for a markdown table cell or list item: no markup, no HTML, no cell breaks.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
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
    crate::text::shown(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A link destination in `<...>` form, which allows spaces and parentheses.
pub fn link(url: &str) -> String {
    format!("<{}>", url.replace('<', "%3C").replace('>', "%3E"))
}
