//! The action's run and comment steps (action/run.sh, action/comment.sh), as the composite action
//! runs them: with the inputs in the environment and GitHub's command files. The run step runs
//! the real binary against the embedded sandbox; the comment step runs a stand-in for the GitHub
//! CLI that records what it was asked.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

use crate::install::root;

/// The action's inputs that reach the run step.
#[derive(Default, Clone, Copy)]
pub struct Inputs<'a> {
    pub command: &'a str,
    pub directory: &'a str,
    pub args: &'a str,
    pub comment: &'a str,
}

/// What one run of the run step left: its own output, and the step outputs it wrote.
pub struct Run {
    pub output: Output,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    _runner: TempDir,
}

impl Run {
    fn get(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output {name}: {:?}", self.outputs))
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// Runs action/run.sh with `binary_dir` first on PATH (where `slascone-sync` is found).
pub fn run_step(inputs: Inputs, binary_dir: &Path, cwd: &Path) -> Run {
    let runner = tempfile::tempdir().unwrap();
    let outputs_file = runner.path().join("github_output");
    let summary_file = runner.path().join("step_summary");
    let path = std::env::join_paths(
        std::iter::once(binary_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let output = Command::new("bash")
        .arg(root().join("action/run.sh"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", path)
        .env("RUNNER_TEMP", runner.path())
        .env("GITHUB_OUTPUT", &outputs_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("SLASCONE_SYNC_COMMAND", inputs.command)
        .env("SLASCONE_SYNC_DIRECTORY", inputs.directory)
        .env("SLASCONE_SYNC_ARGS", inputs.args)
        .env("SLASCONE_SYNC_COMMENT", inputs.comment)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the run step itself never fails: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outputs = std::fs::read_to_string(&outputs_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let summary = std::fs::read_to_string(&summary_file).unwrap_or_default();
    Run {
        output,
        outputs,
        summary,
        _runner: runner,
    }
}

/// A directory whose `slascone-sync` is the real, built binary.
fn real_binary() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(crate::support::bin(), dir.path().join("slascone-sync")).unwrap();
    dir
}

/// A directory whose `slascone-sync` only writes its arguments, one a line, to `argv`.
pub struct Recorder {
    pub dir: TempDir,
}

impl Recorder {
    pub fn new() -> Recorder {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("slascone-sync");
        let log = dir.path().join("argv");
        std::fs::write(
            &script,
            format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", log.display()),
        )
        .unwrap();
        make_executable(&script);
        Recorder { dir }
    }

    /// The arguments of the last call; None if the binary was never called.
    pub fn argv(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.path().join("argv")).ok()?;
        Some(text.lines().map(str::to_owned).collect())
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn quickstart() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/quickstart"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        // A sandbox state left by running the quickstart by hand is no part of the example.
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn plan_changes(path: &str) -> usize {
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(plan["format_version"], 2);
    plan["changes"].as_array().unwrap().len()
}

#[test]
fn plan_and_apply_give_the_exit_code_the_json_plan_and_the_number_of_changes() {
    let project = quickstart();
    let bin = real_binary();
    let dir = project.path().to_str().unwrap();

    let step = |command, args, comment| {
        let inputs = Inputs {
            command,
            directory: dir,
            args,
            comment,
        };
        run_step(inputs, bin.path(), project.path())
    };

    let plan = step("plan", "--sandbox", "true");
    assert_eq!(plan.get("exitcode"), "0", "{}", plan.stderr());
    let changes = plan_changes(plan.get("plan-json"));
    assert!(changes > 0);
    assert_eq!(plan.get("changes"), changes.to_string());
    // comment: true renders markdown, for the comment and the job summary alike.
    let markdown = String::from_utf8_lossy(&plan.output.stdout).into_owned();
    assert!(markdown.contains("| "), "not a markdown table: {markdown}");
    assert_eq!(plan.summary, markdown);
    let comment = std::fs::read_to_string(plan.get("comment-file")).unwrap();
    assert_eq!(comment, markdown);

    let pending = step("plan", "--sandbox --detailed-exitcode", "false");
    assert_eq!(pending.get("exitcode"), "2");
    assert_eq!(pending.get("changes"), changes.to_string());
    assert_eq!(pending.get("comment-file"), "");
    assert_eq!(pending.summary, "", "text output stays out of the summary");

    let apply = step("apply", "--sandbox\n  --auto-approve", "false");
    assert_eq!(apply.get("exitcode"), "0", "{}", apply.stderr());
    assert_eq!(apply.get("plan-json"), "");
    assert_eq!(apply.get("changes"), "");

    let after = step("plan", "--sandbox --detailed-exitcode", "false");
    assert_eq!(after.get("exitcode"), "0");
    assert_eq!(after.get("changes"), "0");
}

#[test]
fn a_failed_plan_is_reported_in_the_outputs_and_the_comment() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("slascone.yaml"), "isv_id: not-a-uuid\n").unwrap();
    let bin = real_binary();
    let run = run_step(
        Inputs {
            command: "plan",
            directory: project.path().to_str().unwrap(),
            args: "--sandbox",
            comment: "true",
        },
        bin.path(),
        project.path(),
    );
    assert_eq!(run.get("exitcode"), "1");
    assert_eq!(run.get("plan-json"), "");
    assert_eq!(run.get("changes"), "");
    let comment = std::fs::read_to_string(run.get("comment-file")).unwrap();
    assert!(
        comment.starts_with("### slascone-sync plan failed (exit 1)"),
        "{comment}"
    );
    assert!(comment.contains("not-a-uuid"), "{comment}");
    assert!(
        run.stderr().contains("not-a-uuid"),
        "errors stay in the log"
    );
}

#[test]
fn the_command_line_is_the_command_the_directory_and_the_args_split_at_whitespace() {
    let recorder = Recorder::new();
    let cwd = tempfile::tempdir().unwrap();
    let run = run_step(
        Inputs {
            command: "apply",
            directory: "my manifests",
            args: " --plan plan.json\n\t--auto-approve ",
            comment: "false",
        },
        recorder.dir.path(),
        cwd.path(),
    );
    assert_eq!(run.get("exitcode"), "0");
    assert_eq!(
        recorder.argv().unwrap(),
        [
            "apply",
            "my manifests",
            "--plan",
            "plan.json",
            "--auto-approve"
        ]
    );

    let run = run_step(
        Inputs {
            command: "schema",
            ..Inputs::default()
        },
        recorder.dir.path(),
        cwd.path(),
    );
    assert_eq!(run.get("exitcode"), "0");
    assert_eq!(recorder.argv().unwrap(), ["schema"]);
}

#[test]
fn inputs_the_action_cannot_honour_are_refused_with_the_reason() {
    let inputs = |command, args, comment| Inputs {
        command,
        directory: "",
        args,
        comment,
    };
    let cases = [
        (inputs("", "", "false"), "the input `command` is required"),
        (
            inputs("--sandbox", "", "false"),
            "`--sandbox` is not a slascone-sync command",
        ),
        (
            inputs("apply", "", "true"),
            "`comment: true` posts a plan: it needs `command: plan`, not `apply`",
        ),
        (
            inputs("plan", "", "yes"),
            "the input `comment` is `yes`; use true or false",
        ),
        (
            inputs("plan", "--out=mine.json", "false"),
            "leave --out out of args",
        ),
        (
            inputs("plan", "--format json", "true"),
            "leave --format out of args",
        ),
    ];
    let cwd = tempfile::tempdir().unwrap();
    for (inputs, reason) in cases {
        let recorder = Recorder::new();
        let run = run_step(inputs, recorder.dir.path(), cwd.path());
        assert!(run.stderr().contains(reason), "{reason}: {}", run.stderr());
        assert_eq!(run.get("exitcode"), "1");
        assert_eq!(recorder.argv(), None, "{reason}: the binary must not run");
    }
}

/// A stand-in for the GitHub CLI: `gh api` answers the comment listing from `listing`, and
/// every call is appended to `calls`, the body of a comment to `body`.
struct FakeGh {
    dir: TempDir,
}

impl FakeGh {
    fn new(listing: &str) -> FakeGh {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("listing"), listing).unwrap();
        let here = dir.path().display();
        let script = format!(
            r#"#!/bin/bash
echo "$*" >> '{here}/calls'
for arg in "$@"; do
    case "$arg" in body=@*) cp "${{arg#body=@}}" '{here}/body' ;; esac
done
case "$*" in *--paginate*) cat '{here}/listing' ;; esac
"#
        );
        std::fs::write(dir.path().join("gh"), script).unwrap();
        make_executable(&dir.path().join("gh"));
        FakeGh { dir }
    }

    fn comment(&self, directory: &str, pull_request: &str) -> (Output, Vec<String>, String) {
        let plan = self.dir.path().join("plan.md");
        std::fs::write(&plan, "## Plan\n\n| create | 1 |\n").unwrap();
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap()
        );
        let output = Command::new("bash")
            .arg(root().join("action/comment.sh"))
            .env_clear()
            .env("PATH", path)
            .env("COMMENT_FILE", &plan)
            .env("SLASCONE_SYNC_DIRECTORY", directory)
            .env("PULL_REQUEST", pull_request)
            .env("GITHUB_REPOSITORY", "acme/licenses")
            .env("GH_TOKEN", "token")
            .output()
            .unwrap();
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        let calls = read("calls").lines().map(str::to_owned).collect();
        (output, calls, read("body"))
    }
}

fn marker(directory: &str) -> String {
    format!("<!-- slascone-sync plan: {directory} -->")
}

#[test]
fn the_plan_comment_is_updated_in_place() {
    let listing = format!(
        "11 Looks good to me\n42 {}\r\n43 {}\n",
        marker("slascone"),
        marker("other")
    );
    let gh = FakeGh::new(&listing);
    let (output, calls, body) = gh.comment("slascone", "7");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[0].contains("--paginate repos/acme/licenses/issues/7/comments"),
        "{calls:?}"
    );
    assert!(
        calls[1].starts_with("api --method PATCH repos/acme/licenses/issues/comments/42 "),
        "{calls:?}"
    );
    assert_eq!(
        body,
        format!("{}\n## Plan\n\n| create | 1 |\n", marker("slascone"))
    );
}

#[test]
fn the_first_plan_of_a_directory_posts_a_new_comment() {
    let gh = FakeGh::new(&format!("43 {}\n", marker("other")));
    let (output, calls, body) = gh.comment("", "7");
    assert!(output.status.success(), "{output:?}");
    assert!(
        calls[1].starts_with("api --method POST repos/acme/licenses/issues/7/comments "),
        "{calls:?}"
    );
    assert!(body.starts_with(&format!("{}\n", marker("."))), "{body}");
}

/// A directory name too long for the room the plan leaves for the marker is named by its
/// digest: the marker line and its line break stay within that room, and find the comment again.
#[test]
fn a_long_directory_keeps_the_marker_within_its_room() {
    let directory = "d/".repeat(400);
    let gh = FakeGh::new("");
    let (output, _, body) = gh.comment(&directory, "7");
    assert!(output.status.success(), "{output:?}");
    let first = body.lines().next().unwrap();
    assert!(
        first.starts_with("<!-- slascone-sync plan: sha256:") && first.ends_with(" -->"),
        "{first}"
    );
    let room = slascone_sync::render::plan_markdown::MARKER_CHARS;
    assert!(first.chars().count() < room, "{first}");
    let (_, _, again) = gh.comment(&directory, "7");
    assert_eq!(again.lines().next(), Some(first));
}

#[test]
fn a_comment_needs_a_pull_request() {
    let gh = FakeGh::new("");
    let (output, calls, _) = gh.comment("slascone", "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs a pull_request event"), "{stderr}");
    assert!(calls.is_empty(), "{calls:?}");
}

/// The action's metadata, as a JSON value.
pub fn action() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn the_action_passes_its_inputs_to_the_scripts_and_declares_its_outputs() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: Vec<&String> = action["inputs"].as_object().unwrap().keys().collect();
    assert_eq!(
        inputs,
        ["args", "command", "comment", "directory", "version"],
        "serde_json sorts keys"
    );
    let outputs: Vec<&String> = action["outputs"].as_object().unwrap().keys().collect();
    assert_eq!(outputs, ["changes", "exitcode", "plan-json"]);
    for (name, output) in action["outputs"].as_object().unwrap() {
        assert_eq!(
            output["value"],
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            "{name}"
        );
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let env_of = |script: &str| -> &serde_json::Map<String, Value> {
        steps
            .iter()
            .find(|step| step["run"].as_str().is_some_and(|run| run.contains(script)))
            .unwrap_or_else(|| panic!("no step runs {script}"))["env"]
            .as_object()
            .unwrap()
    };
    for (script, variable, value) in [
        ("install.sh", "SLASCONE_SYNC_VERSION", "inputs.version"),
        (
            "install.sh",
            "SLASCONE_SYNC_ACTION_REF",
            "github.action_ref",
        ),
        (
            "install.sh",
            "SLASCONE_SYNC_ACTION_REPOSITORY",
            "github.action_repository",
        ),
        ("run.sh", "SLASCONE_SYNC_COMMAND", "inputs.command"),
        ("run.sh", "SLASCONE_SYNC_DIRECTORY", "inputs.directory"),
        ("run.sh", "SLASCONE_SYNC_ARGS", "inputs.args"),
        ("run.sh", "SLASCONE_SYNC_COMMENT", "inputs.comment"),
        (
            "comment.sh",
            "COMMENT_FILE",
            "steps.run.outputs.comment-file",
        ),
        (
            "comment.sh",
            "PULL_REQUEST",
            "github.event.pull_request.number",
        ),
        ("comment.sh", "SLASCONE_SYNC_DIRECTORY", "inputs.directory"),
        ("comment.sh", "GH_TOKEN", "github.token"),
    ] {
        assert_eq!(
            env_of(script)[variable],
            format!("${{{{ {value} }}}}"),
            "{script}: {variable}"
        );
    }
    for step in steps {
        assert_eq!(step["shell"], "bash", "one shell on every runner: {step}");
    }
}
