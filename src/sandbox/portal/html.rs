//! Building a page: static markup is `&'static str`, everything else goes through [`Html::text`],
//! which escapes it, so a value from the state can never become markup.

use std::fmt::Write as _;

/// A page being written.
pub(crate) struct Html(String);

/// Escapes text for element content and for quoted attribute values alike.
pub(crate) fn escape(text: &str, out: &mut String) {
    crate::text::html_into(text, out);
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved characters.
pub(crate) fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The page skeleton before the title.
const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<link rel=\"stylesheet\" href=\"/_sandbox/portal.css\">\n<title>";

impl Html {
    /// A page with `title`, the header with the search form (holding `query`), and an open
    /// `<main>`.
    pub(crate) fn page(title: &str, query: &str) -> Html {
        let mut html = Html(String::with_capacity(16 * 1024));
        html.raw(HEAD);
        html.text(title);
        html.raw(" · SLASCONE sandbox</title>\n</head>\n<body>\n<header>\n");
        html.raw("<a class=\"home\" href=\"/\">SLASCONE sandbox</a>\n");
        html.raw("<form action=\"/\" method=\"get\" role=\"search\">");
        html.raw("<input type=\"search\" name=\"q\" placeholder=\"Customer number or name\" ");
        html.raw("aria-label=\"Customer number or name\" value=\"");
        html.text(query);
        html.raw("\"> <button type=\"submit\">Search</button></form>\n</header>\n<main>\n");
        html
    }

    /// Markup written in the source: never a value.
    pub(crate) fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// A value, escaped.
    pub(crate) fn text(&mut self, text: &str) -> &mut Html {
        escape(text, &mut self.0);
        self
    }

    /// A number or another value whose `Display` is written escaped.
    pub(crate) fn display(&mut self, value: impl std::fmt::Display) -> &mut Html {
        self.text(&value.to_string())
    }

    /// `<tag>text</tag>`, for a tag written in the source.
    pub(crate) fn element(&mut self, tag: &'static str, text: &str) -> &mut Html {
        self.raw("<")
            .raw(tag)
            .raw(">")
            .text(text)
            .raw("</")
            .raw(tag)
            .raw(">")
    }

    /// A link to one of the portal's customer pages.
    pub(crate) fn customer_link(
        &mut self,
        page: &'static str,
        number: &str,
        label: &str,
    ) -> &mut Html {
        self.raw("<a href=\"/").raw(page).raw("?customernumber=");
        self.text(&encode_query(number));
        self.raw("\">").text(label).raw("</a>")
    }

    /// Closes the page.
    pub(crate) fn finish(mut self) -> String {
        self.raw("</main>\n<footer>Read-only pages of the state this sandbox serves; ");
        self.raw("changes are made through the API.</footer>\n</body>\n</html>\n");
        self.0
    }
}

/// The one stylesheet, served by the sandbox itself: no external assets.
pub(crate) const CSS: &str = r#":root { color-scheme: light; --line: #d9dee5; --muted: #5b6472; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; background: #13294b; }
header a.home { color: #fff; font-weight: 600; text-decoration: none; }
header input { width: 16rem; padding: .3rem .5rem; border: 1px solid #8895a7; border-radius: 4px; }
header button { padding: .3rem .8rem; border: 0; border-radius: 4px; background: #e8eef7; cursor: pointer; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 2rem; }
h1 { margin: .5rem 0 .25rem; font-size: 1.6rem; }
h2 { margin: 1.75rem 0 .5rem; font-size: 1.2rem; }
h3 { margin: 1.25rem 0 .4rem; font-size: 1rem; color: var(--muted); }
p.sub { margin: 0 0 1rem; color: var(--muted); }
a { color: var(--accent); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: .4rem .6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem; margin: 0; padding: .75rem 1rem; background: #fff; border: 1px solid var(--line); }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
.none { color: var(--muted); font-style: italic; }
.state { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .85em; }
.state.active { background: #dff3e4; color: #17692f; }
.state.inactive { background: #eceff3; color: #4a5260; }
.state.expired { background: #fde2e1; color: #9b1c1c; }
.origin { display: inline-block; margin-left: .4rem; padding: 0 .35rem; border-radius: 3px; font-size: .78em; }
.origin.edition { background: #e8eef7; color: #24487a; }
.origin.license { background: #fff1d6; color: #7a4b00; }
section.license { margin-top: 1.5rem; padding: .25rem 1rem 1rem; background: #fff; border: 1px solid var(--line); }
section.license table { border: 0; }
footer { max-width: 72rem; margin: 0 auto; padding: 0 1.5rem 2rem; color: var(--muted); font-size: .85em; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        let mut html = Html::page("<b>", "\"><script>");
        html.element("p", "a & b < c > d ' e");
        html.customer_link("licenses", "K 1&2", "\"x\"");
        let page = html.finish();
        assert!(page.contains("<title>&lt;b&gt; · SLASCONE"), "{page}");
        assert!(
            page.contains("value=\"&quot;&gt;&lt;script&gt;\""),
            "{page}"
        );
        assert!(
            page.contains("<p>a &amp; b &lt; c &gt; d &#39; e</p>"),
            "{page}"
        );
        assert!(
            page.contains("<a href=\"/licenses?customernumber=K%201%262\">&quot;x&quot;</a>"),
            "{page}"
        );
        assert!(!page.contains("<script>") && !page.contains("<b>"));
    }
}
