//! The CI examples (examples/ci) are valid YAML of the expected shape, and every `slascone-sync`
//! command line in them uses only subcommands and flags the binary has, as clap defines them:
//! those in scripts, and those the action runs for the examples' `uses:` steps.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::Value;
use slascone_sync::cli::Cli;

use crate::action::{Inputs, Recorder, action, run_step};
use crate::support::commands;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn workflow_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let mut found = Vec::new();
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every shell script in a workflow: values of `run`, `script`, `before_script`, `after_script`.
fn scripts(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let is_script = matches!(
                    key.as_str(),
                    "run" | "script" | "before_script" | "after_script"
                );
                match inner {
                    Value::String(text) if is_script => into.push(text.clone()),
                    Value::Array(lines) if is_script => {
                        into.extend(lines.iter().filter_map(Value::as_str).map(str::to_owned))
                    }
                    _ => scripts(inner, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| scripts(item, into)),
        _ => {}
    }
}

/// Checks one command line against clap's definition; the first problem, if any.
fn check(words: &[String]) -> Result<(), String> {
    let mut root = Cli::command();
    root.build();
    let name = words.get(1).ok_or("no subcommand")?;
    let sub = root
        .find_subcommand(name)
        .ok_or_else(|| format!("unknown subcommand `{name}`"))?;
    let positionals = sub.get_positionals().count();
    let mut given_positionals = 0;
    let mut rest = words[2..].iter();
    while let Some(word) = rest.next() {
        if let Some(flag) = word.strip_prefix("--") {
            let (flag, inline_value) = match flag.split_once('=') {
                Some((flag, _)) => (flag, true),
                None => (flag, false),
            };
            let arg = sub
                .get_arguments()
                .chain(root.get_arguments())
                .find(|arg| arg.get_long() == Some(flag))
                .ok_or_else(|| format!("`{name}` has no flag --{flag}"))?;
            if arg.get_action().takes_values() && !inline_value {
                rest.next()
                    .ok_or_else(|| format!("--{flag} needs a value"))?;
            }
        } else if word.starts_with('-') && word.len() > 1 {
            return Err(format!(
                "short flag {word}: write the long form in examples"
            ));
        } else {
            given_positionals += 1;
            if given_positionals > positionals {
                return Err(format!("`{name}` takes no argument `{word}`"));
            }
        }
    }
    Ok(())
}

#[test]
fn the_checker_refuses_what_the_binary_would() {
    let words = |line: &str| commands(line).remove(0);
    assert!(
        check(&words(
            "slascone-sync plan dir --format markdown --out plan.json > x"
        ))
        .is_ok()
    );
    assert!(check(&words("slascone-sync plan --sandbox --env=prod")).is_ok());
    assert!(check(&words("slascone-sync plan --no-such-flag")).is_err());
    assert!(check(&words("slascone-sync deploy")).is_err());
    assert!(check(&words("slascone-sync apply --plan")).is_err());
    assert!(check(&words("slascone-sync schema extra")).is_err());
    assert!(commands("cargo install --locked slascone-sync").is_empty());
}

#[test]
fn workflows_are_yaml_and_use_only_real_commands_and_flags() {
    let files = workflow_files();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "apply.yml",
            "drift.yml",
            "erp-ingest.yml",
            "plan.yml",
            ".gitlab-ci.yml"
        ],
        "{files:?}"
    );
    let mut all = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let yaml: Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("{}: not YAML: {err}", file.display()));
        let is_github = file.parent().unwrap().ends_with("github");
        if is_github {
            assert!(yaml.get("on").is_some(), "{}: no `on`", file.display());
            for (job, body) in yaml["jobs"].as_object().expect("jobs") {
                assert!(body["runs-on"].is_string(), "{job}: no runs-on");
                assert!(body["steps"].is_array(), "{job}: no steps");
            }
        } else {
            assert!(yaml["stages"].is_array(), "{}: no stages", file.display());
            for job in ["plan", "apply", "drift", "erp-ingest"] {
                assert!(yaml[job]["script"].is_array(), "{job}: no script");
            }
        }
        // ingest reads no SLASCONE: the ERP loop's workflow never holds the admin key.
        let needs_the_key = !file.ends_with("erp-ingest.yml");
        assert_eq!(
            text.contains("SLASCONE_ADMIN_KEY"),
            needs_the_key,
            "{}: the secret is named where it is used, and only there",
            file.display()
        );
        let mut found = Vec::new();
        scripts(&yaml, &mut found);
        let mut lines: Vec<Vec<String>> = found.iter().flat_map(|s| commands(s)).collect();
        if is_github {
            lines.extend(action_command_lines(file, &yaml, &text));
        }
        assert!(
            !lines.is_empty(),
            "{}: no slascone-sync command",
            file.display()
        );
        for words in &lines {
            if let Err(problem) = check(words) {
                panic!("{}: `{}`: {problem}", file.display(), words.join(" "));
            }
        }
        all.extend(lines.into_iter().map(|words| words.join(" ")));
    }
    let has = |parts: &[&str]| {
        all.iter()
            .any(|line| parts.iter().all(|p| line.contains(p)))
    };
    assert!(has(&[
        "plan",
        "--format markdown",
        "--out plan.json",
        "--detailed-exitcode"
    ]));
    assert!(has(&["apply", "--plan plan.json", "--auto-approve"]));
    // plan.yml's `comment: true`: the action renders markdown and saves the JSON plan.
    assert!(has(&["plan slascone --format markdown --out /"]));
    // Both ERP loops ingest the export the mapping reads, in full or as changes only.
    let ingests: Vec<&String> = all
        .iter()
        .filter(|line| line.starts_with("slascone-sync ingest "))
        .collect();
    assert_eq!(ingests.len(), 4, "{all:#?}");
    assert!(ingests.iter().all(|line| {
        ["--mapping", "--customers", "--licenses"]
            .iter()
            .all(|flag| line.contains(flag))
    }));
    assert_eq!(
        ingests
            .iter()
            .filter(|line| line.ends_with(" --partial"))
            .count(),
        2
    );
    // Both drift checks pull: the action's step on GitHub, the script on GitLab.
    let pulls = all
        .iter()
        .filter(|line| line.starts_with("slascone-sync pull "))
        .count();
    assert_eq!(pulls, 2, "{all:#?}");
}

/// The drift checks pull SLASCONE's values into the manifests and propose them for review: a
/// pull request (peter-evans/create-pull-request) on GitHub, a merge request opened through
/// GitLab's API.
#[test]
fn drift_checks_pull_and_open_a_pull_request() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let read = |file: &str| -> Value {
        serde_saphyr::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap()
    };

    let github = read("github/drift.yml");
    let steps = github["jobs"]["drift"]["steps"].as_array().unwrap();
    let uses = |step: &Value| step["uses"].as_str().unwrap_or_default().to_owned();
    let pull = steps
        .iter()
        .position(|step| {
            uses(step).contains("/slascone-sync@") && step["with"]["command"] == "pull"
        })
        .expect("a step runs pull");
    let request = steps
        .iter()
        .position(|step| uses(step) == "peter-evans/create-pull-request@v7")
        .expect("a step opens the pull request");
    assert!(
        pull < request,
        "pull runs before the pull request is opened"
    );
    let with = &steps[request]["with"];
    assert_eq!(
        with["add-paths"], "${{ env.SLASCONE_DIR }}",
        "only the manifests"
    );
    assert!(
        with["branch"].is_string() && with["title"].is_string(),
        "{with}"
    );
    assert_eq!(github["permissions"]["contents"], "write");
    assert_eq!(github["permissions"]["pull-requests"], "write");

    let gitlab = read("gitlab/.gitlab-ci.yml");
    let script = |job: &str| -> String {
        let lines = gitlab[job]["script"].as_array().expect("a script");
        let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
        lines.join("\n")
    };
    let drift: Vec<Vec<String>> = commands(&script("drift"));
    assert!(
        drift.iter().any(|words| words[1] == "pull"),
        "the drift job runs pull: {drift:?}"
    );
    let handed_on = gitlab["drift"]["artifacts"]["paths"].as_array().unwrap();
    assert!(
        handed_on.contains(&Value::from("slascone/")),
        "{handed_on:?}"
    );
    assert_eq!(
        gitlab["drift-merge-request"]["needs"],
        serde_json::json!(["drift"])
    );
    assert_eq!(
        gitlab["drift-merge-request"]["rules"],
        gitlab["drift"]["rules"]
    );
    let request = script("drift-merge-request");
    for part in [
        "git push",
        "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests",
        "PRIVATE-TOKEN: $GITLAB_TOKEN",
        "-X POST",
    ] {
        assert!(request.contains(part), "{part}: {request}");
    }
}

/// The ERP loop: on a schedule and by hand, the export is fetched, ingested into the manifests,
/// and proposed as one pull request (create-pull-request on a fixed branch, the manifests only)
/// on GitHub, one merge request opened or updated through GitLab's API; and GitLab's drift check
/// never runs on the ERP's schedule.
#[test]
fn the_erp_loops_ingest_and_open_one_pull_request() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let read = |file: &str| -> Value {
        serde_saphyr::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap()
    };

    let github = read("github/erp-ingest.yml");
    assert!(github["on"]["schedule"].is_array(), "{}", github["on"]);
    let inputs = &github["on"]["workflow_dispatch"]["inputs"];
    for input in ["customers-url", "licenses-url", "partial"] {
        assert!(inputs.get(input).is_some(), "the input {input}");
    }
    let steps = github["jobs"]["ingest"]["steps"].as_array().unwrap();
    let uses = |step: &Value| step["uses"].as_str().unwrap_or_default().to_owned();
    let runs = |step: &Value| commands(step["run"].as_str().unwrap_or_default());
    let fetches: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step["if"].is_string() && step["run"].is_string())
        .map(|(at, _)| at)
        .collect();
    assert_eq!(fetches.len(), 2, "the drop's and the given export's");
    let ingest = steps
        .iter()
        .position(|step| runs(step).iter().any(|words| words[1] == "ingest"))
        .expect("a step runs ingest");
    let install = steps
        .iter()
        .position(|step| uses(step).contains("/slascone-sync@"))
        .expect("a step installs slascone-sync");
    let request = steps
        .iter()
        .position(|step| uses(step) == "peter-evans/create-pull-request@v7")
        .expect("a step opens the pull request");
    assert!(fetches.iter().all(|at| *at < ingest) && install < ingest && ingest < request);
    let with = &steps[request]["with"];
    assert_eq!(
        with["add-paths"], "${{ env.SLASCONE_DIR }}",
        "only the manifests"
    );
    assert_eq!(with["branch"], "slascone/erp-ingest", "one pull request");
    assert!(with["body-path"].is_string(), "the ingest report: {with}");
    assert_eq!(github["permissions"]["contents"], "write");
    assert_eq!(github["permissions"]["pull-requests"], "write");
    // The export is never committed: it lands outside the manifests.
    for file in ["ERP_CUSTOMERS", "ERP_LICENSES", "ERP_MAPPING"] {
        let path = github["env"][file].as_str().unwrap();
        assert!(!path.starts_with("slascone/"), "{file}: {path}");
    }

    let gitlab = read("gitlab/.gitlab-ci.yml");
    let script = |job: &str| -> String {
        let lines = gitlab[job]["script"].as_array().expect("a script");
        let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
        lines.join("\n")
    };
    assert!(
        commands(&script("erp-ingest"))
            .iter()
            .all(|words| words[1] == "ingest"),
        "{}",
        script("erp-ingest")
    );
    assert_eq!(
        gitlab["erp-ingest"]["needs"],
        serde_json::json!(["erp-export"])
    );
    assert_eq!(
        gitlab["erp-merge-request"]["needs"],
        serde_json::json!(["erp-ingest"])
    );
    for job in ["erp-ingest", "erp-merge-request"] {
        assert_eq!(gitlab[job]["rules"], gitlab["erp-export"]["rules"], "{job}");
    }
    let rule = gitlab["erp-export"]["rules"][0]["if"].as_str().unwrap();
    assert!(rule.contains("$SLASCONE_JOB == \"erp-ingest\""), "{rule}");
    let drift = gitlab["drift"]["rules"][0]["if"].as_str().unwrap();
    assert!(drift.contains("$SLASCONE_JOB != \"erp-ingest\""), "{drift}");
    let handed_on = gitlab["erp-ingest"]["artifacts"]["paths"]
        .as_array()
        .unwrap();
    assert!(
        handed_on.contains(&Value::from("slascone/")),
        "{handed_on:?}"
    );
    let request = script("erp-merge-request");
    for part in [
        "git add --intent-to-add",
        "git push",
        "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests",
        "source_branch=$ERP_BRANCH",
        "-X PUT",
        "-X POST",
    ] {
        assert!(request.contains(part), "{part}: {request}");
    }
}

/// The command lines the action runs for a workflow's steps that use it, as its run step
/// composes them (the binary it calls only records its arguments), after checking each step's
/// inputs, the release it pins, and the outputs the workflow reads.
fn action_command_lines(file: &Path, workflow: &Value, text: &str) -> Vec<Vec<String>> {
    let action = action();
    let mut lines = Vec::new();
    for (job, body) in workflow["jobs"].as_object().unwrap() {
        for step in body["steps"].as_array().unwrap() {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            let Some((_, reference)) = uses.split_once("/slascone-sync@") else {
                continue;
            };
            let place = format!("{}: job {job}, step {}", file.display(), step["name"]);
            assert_eq!(
                reference,
                format!("v{VERSION}"),
                "{place}: examples pin the release of this version"
            );
            // Without a command, the action installs the binary for the steps after it.
            let Some(with) = step["with"]
                .as_object()
                .filter(|w| w.contains_key("command"))
            else {
                continue;
            };
            for key in with.keys() {
                assert!(
                    action["inputs"].get(key).is_some(),
                    "{place}: the action has no input `{key}`"
                );
            }
            if let Some(id) = step["id"].as_str() {
                let prefix = format!("steps.{id}.outputs.");
                for (at, _) in text.match_indices(&prefix) {
                    let name: String = text[at + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect();
                    assert!(
                        action["outputs"].get(&name).is_some(),
                        "{place}: the action has no output `{name}`"
                    );
                }
            }
            let input = |name: &str| -> String {
                let value = with.get(name).map_or(String::new(), |v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                resolve_env(&value, workflow)
            };
            let (command, directory, args, comment) = (
                input("command"),
                input("directory"),
                input("args"),
                input("comment"),
            );
            let recorder = Recorder::new();
            let cwd = tempfile::tempdir().unwrap();
            let comment = if comment.is_empty() {
                "false"
            } else {
                &comment
            };
            let run = run_step(
                Inputs {
                    command: &command,
                    directory: &directory,
                    args: &args,
                    comment,
                },
                recorder.dir.path(),
                cwd.path(),
            );
            let argv = recorder.argv().unwrap_or_else(|| {
                panic!(
                    "{place}: the action refused its inputs: {}",
                    String::from_utf8_lossy(&run.output.stderr)
                )
            });
            lines.push(
                std::iter::once("slascone-sync".to_owned())
                    .chain(argv)
                    .collect(),
            );
        }
    }
    lines
}

/// `${{ env.NAME }}` replaced by the workflow's value of NAME.
fn resolve_env(value: &str, workflow: &Value) -> String {
    let mut resolved = value.to_owned();
    while let Some(start) = resolved.find("${{ env.") {
        let end = start + resolved[start..].find("}}").expect("closed expression") + 2;
        let name = resolved[start + "${{ env.".len()..end - 2].trim();
        let env = workflow["env"][name]
            .as_str()
            .unwrap_or_else(|| panic!("the workflow sets no env {name}"));
        resolved.replace_range(start..end, env);
    }
    resolved
}

#[test]
fn gitlab_runs_the_release_image_with_a_shell() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/gitlab/.gitlab-ci.yml");
    let yaml: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let image = &yaml[".slascone"]["image"];
    let name = image["name"].as_str().unwrap();
    assert!(name.starts_with("ghcr.io/"), "{name}");
    assert!(
        name.ends_with(&format!("/slascone-sync:{VERSION}")),
        "{name}: the image of this version"
    );
    // The image's entrypoint is the binary; GitLab must start its own shell for the script.
    assert_eq!(image["entrypoint"], serde_json::json!([""]));
    for job in ["plan", "apply", "drift", "erp-ingest"] {
        assert_eq!(yaml[job]["extends"], ".slascone", "{job}");
    }
}

#[test]
fn plans_of_forked_pull_requests_never_get_the_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let text = std::fs::read_to_string(root.join("github/plan.yml")).unwrap();
    let yaml: Value = serde_saphyr::from_str(&text).unwrap();
    assert!(yaml["on"].get("pull_request_target").is_none());
    assert_eq!(
        yaml["jobs"]["plan"]["if"],
        "github.event.pull_request.head.repo.full_name == github.repository"
    );
    let text = std::fs::read_to_string(root.join("gitlab/.gitlab-ci.yml")).unwrap();
    let yaml: Value = serde_saphyr::from_str(&text).unwrap();
    let rule = yaml["plan"]["rules"][0]["if"].as_str().unwrap();
    assert!(
        rule.contains("$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID"),
        "{rule}"
    );
}
