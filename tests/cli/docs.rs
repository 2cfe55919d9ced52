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

/// The sh block under `heading` in `page`.
fn block_under(page: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(root().join(page)).unwrap();
    let section = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("{page} has no `{heading}`"))
        .1;
    let block = section.split_once("```sh\n").expect("a sh block").1;
    block.split_once("```").unwrap().0.to_owned()
}

/// docs/sandbox.md's portal edit, run as written (in a copy of the quickstart, on a free port):
/// apply, serve the state, PATCH with curl's arguments, stop the server, and `pull --dry-run`
/// shows the edit as the comment says.
#[tokio::test]
async fn the_portal_edit_recipe_in_the_sandbox_docs_works() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let script = block_under("docs/sandbox.md", "## A portal edit, to try `pull`");
    let dir = crate::support::copy_dir(&root().join("examples/quickstart"));
    let _ = std::fs::remove_file(dir.path().join(".slascone-sandbox.json"));
    let here = dir.path().display().to_string();
    let localize = |words: &[String]| -> Vec<String> {
        words[1..]
            .iter()
            .map(|w| w.replace("examples/quickstart", &here))
            .map(|w| {
                if w == "127.0.0.1:8080" {
                    "127.0.0.1:0".to_owned()
                } else {
                    w
                }
            })
            .collect()
    };
    let commands = crate::support::commands(&script);
    let names: Vec<&str> = commands.iter().map(|c| c[1].as_str()).collect();
    assert_eq!(names, ["apply", "sandbox", "pull"], "{script}");

    let apply = Command::new(crate::support::bin())
        .args(localize(&commands[0]))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        apply.status.success(),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );

    let mut server = Command::new(crate::support::bin())
        .args(localize(&commands[1]))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();

    let curl = crate::support::commands_of(&script, "curl").remove(0);
    let value = |flag: &str| {
        let at = curl.iter().position(|w| w == flag).unwrap();
        curl[at + 1].clone()
    };
    let url = curl.last().unwrap().replace("http://127.0.0.1:8080", &base);
    let mut request = reqwest::Client::new()
        .request(value("-X").parse().unwrap(), url)
        .body(value("-d"));
    for (at, word) in curl.iter().enumerate() {
        if word == "-H" {
            let (name, header) = curl[at + 1].split_once(": ").unwrap();
            request = request.header(name, header);
        }
    }
    let status = request.send().await.unwrap().status();
    // `kill %1`: SIGTERM.
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let _ = server.wait();
    assert!(status.is_success(), "{status}");

    let pull = Command::new(crate::support::bin())
        .args(localize(&commands[2]))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    // The diff goes to stdout, the report of what would be pulled to stderr.
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&pull.stdout),
        String::from_utf8_lossy(&pull.stderr)
    );
    assert!(pull.status.success(), "{shown}");
    let promised = script
        .lines()
        .find_map(|l| {
            l.split_once("pull --sandbox")
                .and_then(|(_, rest)| rest.split_once("# "))
        })
        .expect("the pull line says what it shows")
        .1
        .trim();
    assert!(shown.contains(promised), "`{promised}` not in:\n{shown}");
}

/// The README and docs/sandbox.md name the same commands for `--sandbox`.
#[test]
fn the_readme_and_the_sandbox_docs_list_the_same_sandbox_commands() {
    let listed = |page: &str| -> Vec<String> {
        let text = std::fs::read_to_string(root().join(page))
            .unwrap()
            .replace('\n', " ");
        let after = text
            .split_once("`--sandbox` on ")
            .unwrap_or_else(|| panic!("{page} says which commands take --sandbox"))
            .1;
        after
            .split_whitespace()
            .next()
            .unwrap()
            .split('/')
            .map(|c| c.trim_matches('`').to_owned())
            .collect()
    };
    assert_eq!(listed("README.md"), listed("docs/sandbox.md"));
    assert_eq!(listed("README.md"), ["plan", "apply", "export", "pull"]);
}

/// The repository explains itself: every path the architecture and contributing guides cite
/// (in code spans or as relative links) exists, and no source file cites a file outside it.
#[test]
fn the_guides_cite_only_paths_that_exist() {
    let mut missing = Vec::new();
    for page in ["docs/architecture.md", "CONTRIBUTING.md"] {
        let text = std::fs::read_to_string(root().join(page)).unwrap();
        let base = root().join(page).parent().unwrap().to_path_buf();
        let spans = text.split('`').skip(1).step_by(2);
        for span in spans {
            let looks_like_path = !span.contains(' ')
                && (span.starts_with("src/")
                    || span.starts_with("tests/")
                    || span.starts_with("docs/")
                    || span.starts_with("benches/")
                    || span.starts_with("examples/")
                    || span.starts_with("schema/")
                    || span.starts_with(".ci/"));
            let path = span.trim_end_matches('/');
            if looks_like_path && !path.contains(['*', '<', '{']) && !root().join(path).exists() {
                missing.push(format!("{page}: `{span}`"));
            }
        }
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap_or_default();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            if !base.join(target).exists() {
                missing.push(format!("{page}: link {target}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let mut outside = Vec::new();
    for path in source_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("DESIGN.md") || text.contains("../shared") {
            outside.push(path.display().to_string());
        }
    }
    assert!(
        outside.is_empty(),
        "cite a file outside the repository: {outside:?}"
    );
}

/// The layers hold: only the CLI layer (`cli.rs`, `cmd/`, `run.rs`, `main.rs`) names clap or
/// reads the environment; the commands reach SLASCONE through the engine, never the client or
/// the reads; and no result nests another.
#[test]
fn the_layers_hold() {
    let mut broken = Vec::new();
    for path in source_files() {
        let name = path.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let cli_layer = name.starts_with("src/cmd/")
            || ["src/cli.rs", "src/run.rs", "src/main.rs"].contains(&name.as_str());
        let test_file = name.ends_with("tests.rs") || name.ends_with("proptests.rs");
        if !cli_layer && text.contains("clap") {
            broken.push(format!("{name} names clap"));
        }
        if !cli_layer && !test_file && text.contains("std::env::var") {
            broken.push(format!("{name} reads the environment"));
        }
        if name.starts_with("src/cmd/")
            && ["crate::remote", "crate::current", "reqwest"]
                .iter()
                .any(|layer| text.contains(layer))
        {
            broken.push(format!("{name} reaches past the engine"));
        }
        if text.contains("Result<Result<") {
            broken.push(format!("{name} nests a Result in a Result"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Every Rust file below `src/`.
fn source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}
