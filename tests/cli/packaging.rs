//! How slascone-sync is shipped: the crate's file list and metadata, one home named in
//! Cargo.toml, the distribution profile, and the container image.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::install::root;

fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

#[test]
fn the_crate_package_holds_the_sources_and_no_test_or_bench_data() {
    let listing = run(cargo().args(["package", "--list", "--allow-dirty", "--offline"]));
    let files: Vec<&str> = listing.lines().collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "src/main.rs",
        "src/lib.rs",
        "schema/manifest.schema.json",
        "examples/quickstart/slascone.yaml",
    ] {
        assert!(files.contains(&needed), "{needed} is missing: {files:?}");
    }
    let allowed_dirs = ["src/", "schema/", "examples/"];
    let allowed_files = [
        "Cargo.toml",
        "Cargo.toml.orig",
        "Cargo.lock",
        "README.md",
        "SECURITY.md",
        ".cargo_vcs_info.json",
    ];
    for file in &files {
        assert!(
            allowed_files.contains(file) || allowed_dirs.iter().any(|dir| file.starts_with(dir)),
            "{file} does not belong in the crate"
        );
        assert!(
            !file.ends_with(".slascone-sandbox.json"),
            "{file}: a sandbox's state"
        );
    }
}

/// `owner/name` of the repository Cargo.toml names.
fn home() -> String {
    let metadata: Value = serde_json::from_str(&run(cargo().args([
        "metadata",
        "--no-deps",
        "--offline",
        "--format-version",
        "1",
    ])))
    .unwrap();
    let package = &metadata["packages"][0];
    let repository = package["repository"].as_str().expect("repository");
    let home = repository
        .strip_prefix("https://github.com/")
        .unwrap_or_else(|| panic!("{repository}: releases and the action live on GitHub"));
    assert_eq!(home.split('/').count(), 2, "{repository}: not OWNER/NAME");
    assert!(
        package["homepage"]
            .as_str()
            .is_some_and(|h| h.starts_with(repository))
    );
    assert!(
        package["documentation"]
            .as_str()
            .is_some_and(|d| d.starts_with(repository))
    );
    let keywords = package["keywords"].as_array().unwrap();
    assert!((1..=5).contains(&keywords.len()), "{keywords:?}");
    assert!(!package["categories"].as_array().unwrap().is_empty());
    home.to_owned()
}

fn files_below(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_below(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// The `owner/name` right before each `/slascone-sync`-ending repository reference in `text`
/// that follows `prefix` (e.g. `uses: `, `github.com/`, `ghcr.io/`).
fn references<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter_map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
                .unwrap_or(rest.len());
            let reference = rest[..end].trim_end_matches(['.', '/']);
            let mut parts = reference.splitn(3, '/');
            let (owner, name) = (parts.next()?, parts.next()?);
            (name == "slascone-sync" || name.starts_with("slascone-sync."))
                .then(|| &reference[..owner.len() + 1 + "slascone-sync".len()])
        })
        .collect()
}

#[test]
fn cargo_toml_is_the_one_place_that_names_the_home() {
    let home = home();
    // The action, its scripts and the workflows find the home from GitHub's context.
    let mut code = vec![root().join("action.yml"), root().join("Dockerfile")];
    files_below(&root().join("action"), &mut code);
    files_below(&root().join(".github"), &mut code);
    for file in &code {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains(&home),
            "{} names the home {home}; use github.repository or github.action_repository",
            file.display()
        );
    }
    // What users copy names it, as Cargo.toml does.
    let mut copied = vec![root().join("README.md")];
    files_below(&root().join("examples/ci"), &mut copied);
    let mut seen = 0;
    for file in &copied {
        let text = std::fs::read_to_string(file).unwrap();
        for prefix in ["uses: ", "github.com/", "ghcr.io/"] {
            for reference in references(&text, prefix) {
                assert_eq!(
                    reference.to_lowercase(),
                    home.to_lowercase(),
                    "{} names {reference}, Cargo.toml's repository is {home}",
                    file.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "the examples and README name no home at all");
}

#[test]
fn the_reference_finder_sees_every_form() {
    let text = "uses: acme/slascone-sync@v1\nghcr.io/acme/slascone-sync:0.1.0\n\
                https://github.com/acme/slascone-sync.git and github.com/acme/other";
    assert_eq!(references(text, "uses: "), ["acme/slascone-sync"]);
    assert_eq!(references(text, "ghcr.io/"), ["acme/slascone-sync"]);
    assert_eq!(references(text, "github.com/"), ["acme/slascone-sync"]);
}

#[test]
fn releases_build_the_stripped_distribution_profile() {
    let manifest = read("Cargo.toml");
    let dist = manifest
        .split("\n[")
        .find(|section| section.starts_with("profile.dist]"))
        .expect("a [profile.dist] section");
    for setting in ["inherits = \"release\"", "strip = true", "debug = false"] {
        assert!(dist.contains(setting), "[profile.dist] lacks {setting}");
    }
    let release = read(".github/workflows/release.yml");
    assert!(release.contains("cargo build --profile dist --locked"));
    assert!(read("Dockerfile").contains("cargo build --profile dist --locked"));
}

#[test]
fn the_image_is_multi_stage_and_runs_the_binary_as_a_user_with_a_shell_at_hand() {
    let dockerfile = read("Dockerfile");
    let instructions: Vec<&str> = dockerfile
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter(|line| !line.starts_with(' '))
        .collect();
    let stages: Vec<&&str> = instructions
        .iter()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "{stages:?}");
    // Alpine: busybox's sh for GitLab's job scripts, and the CA bundle.
    assert!(
        stages.last().unwrap().starts_with("FROM alpine:"),
        "{stages:?}"
    );
    let last_stage = &instructions[instructions
        .iter()
        .rposition(|line| line.starts_with("FROM "))
        .unwrap()..];
    let user = last_stage
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("a USER");
    assert!(!["root", "0"].contains(&user.split(':').next().unwrap()));
    assert!(last_stage.contains(&"ENTRYPOINT [\"slascone-sync\"]"));
}
