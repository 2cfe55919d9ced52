//! The README and `docs/` read as whole sentences: no paragraph runs into a heading or stops
//! mid-sentence.

use std::path::PathBuf;

use crate::install::root;

fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    pages.retain(|p| p.exists());
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages
}

/// Where a page's prose breaks off: a heading right under a paragraph, or a paragraph whose last
/// line ends without closing punctuation. Lists, tables, quotes, HTML and code blocks are not prose.
fn broken_sentences(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_code = false;
    let mut paragraph: Vec<&str> = Vec::new();
    let lines: Vec<&str> = text.lines().chain([""]).collect();
    for (at, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            paragraph.clear();
            continue;
        }
        if in_code {
            continue;
        }
        let heading = line.starts_with('#');
        if heading && at > 0 && !lines[at - 1].trim().is_empty() {
            found.push(format!(
                "line {}: a heading right under `{}`",
                at + 1,
                lines[at - 1]
            ));
        }
        if !(line.trim().is_empty() || heading) {
            paragraph.push(line);
            continue;
        }
        let prose = paragraph.first().is_some_and(|first| {
            let first = first.trim_start();
            !first.starts_with(['|', '-', '*', '>', '<', '!', '['])
                && !first.starts_with(|c: char| c.is_ascii_digit())
        });
        if let (true, Some(last)) = (prose, paragraph.last())
            && !last.trim_end().ends_with(['.', ':', '!', '?', ')', '`'])
        {
            found.push(format!("line {at}: a paragraph stops at `{last}`"));
        }
        paragraph.clear();
    }
    found
}

#[test]
fn the_readme_and_docs_have_no_cut_sentences() {
    let mut found = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        found.extend(
            broken_sentences(&text)
                .into_iter()
                .map(|f| format!("{name}: {f}")),
        );
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_cut_sentence_is_found() {
    let cut = "Intro.\n\nand editor completion from the committed JSON\n## Commands\n\nText.\n";
    assert_eq!(
        broken_sentences(cut),
        [
            "line 4: a heading right under `and editor completion from the committed JSON`",
            "line 3: a paragraph stops at `and editor completion from the committed JSON`",
        ]
    );
    assert!(broken_sentences("Whole.\n\n- a list item\n\n```\ncode\n```\n").is_empty());
}

/// Before its first bare `slascone-sync` command, the README says how a from-source user gets one.
#[test]
fn the_readme_says_where_a_bare_slascone_sync_comes_from() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let first_bare = readme
        .lines()
        .position(|l| l.trim_start().starts_with("slascone-sync "))
        .expect("the README shows slascone-sync commands");
    let before: String = readme
        .lines()
        .take(first_bare)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        before.contains("`cargo install --locked --path .`"),
        "the README shows `slascone-sync …` at line {} before saying how to install it from a clone",
        first_bare + 1
    );
    assert!(before.contains("target/release/slascone-sync"));
}
