//! The admin key never leaves the process except in the `AdminKey` header: every command, in
//! every output format and on every kind of error, is run with a distinctive key, and its stdout,
//! stderr and every file left in its working directory are searched for the key.
//!
//! New commands get one line in `CASES`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use slascone_sync::sandbox::{SandboxConfig, SandboxHandle};

use crate::support::{self, ISV};

/// The key every command runs with. Distinctive enough that any trace of it is found.
const CANARY: &str = "sk-live-4d3c2b1a-canary";
/// The middle of the key: found even if the key were cut, quoted or re-encoded around it.
const CANARY_CORE: &str = "4d3c2b1a";

/// `{KEY}` in manifests and arguments is replaced by the key.
const GOOD: &[(&str, &str)] = &[(
    "customers/acme.yaml",
    "customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        token_limit: 25
",
)];

const UNKNOWN_NAME: &[(&str, &str)] = &[(
    "acme.yaml",
    "customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: SUB-1
        product: Argos
        edition: Professional
",
)];

/// Country unknown to SLASCONE: the create is answered 409.
const CONFLICT: &[(&str, &str)] = &[(
    "acme.yaml",
    "customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Atlantis
",
)];

const BROKEN_YAML: &[(&str, &str)] = &[("acme.yaml", "customers:\n  - customer_number: [K001\n")];

/// The key written into a manifest under a key-like name.
const KEY_FIELD: &[(&str, &str)] = &[(
    "acme.yaml",
    "customers:
  - customer_number: K001
    admin_key: {KEY}
    company_name: Acme GmbH
",
)];

/// The key pasted as a value, where nothing about the field name gives it away.
const KEY_VALUE: &[(&str, &str)] = &[(
    "acme.yaml",
    "customers:
  - customer_number: K001
    company_name: \"{KEY}\"
    customer_type: Enterprise
    country: Germany
",
)];

/// The key pasted into fields whose problems quote the value: an id, a date.
const KEY_QUOTED: &[(&str, &str)] = &[(
    "acme.yaml",
    "customers:
  - id: {KEY}
    customer_number: K001
    licenses:
      - { product: Argus, edition: Professional, expires: \"{KEY}\" }
",
)];

/// ERP exports for import-csv: one good file, one with a bad row.
const CSV: &[(&str, &str)] = &[
    (
        "customers.csv",
        "customer_number,customer_name,customer_type,country\nK9,Nine AG,SMB,Germany\n",
    ),
    (
        "bad.csv",
        "customer_number,customer_name,customer_type,country\n,Nameless,SMB,Germany\n",
    ),
];

/// Where the command's slascone.yaml points.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A sandbox that accepts the key.
    Sandbox,
    /// A sandbox that wants another key: every request is answered 401.
    WrongKey,
    /// A loopback port nobody listens on.
    Refused,
    /// `--sandbox`: the embedded sandbox, with its state file in the manifest directory.
    Embedded,
}

struct Case {
    name: &'static str,
    target: Target,
    manifests: &'static [(&'static str, &'static str)],
    /// Appended to slascone.yaml.
    project_extra: &'static str,
    /// Commands run one after the other in the manifest directory, each with its exit code.
    steps: &'static [(&'static [&'static str], i32)],
}

const fn case(
    name: &'static str,
    target: Target,
    manifests: &'static [(&'static str, &'static str)],
    steps: &'static [(&'static [&'static str], i32)],
) -> Case {
    Case {
        name,
        target,
        manifests,
        project_extra: "",
        steps,
    }
}

use Target::*;

const CASES: &[Case] = &[
    case("validate", Sandbox, GOOD, &[(&["validate"], 0)]),
    case(
        "validate a broken file",
        Sandbox,
        BROKEN_YAML,
        &[(&["validate"], 1)],
    ),
    case(
        "validate a key in a manifest",
        Sandbox,
        KEY_FIELD,
        &[(&["validate"], 1)],
    ),
    case(
        "plan a key in a manifest",
        Sandbox,
        KEY_FIELD,
        &[(&["plan"], 1)],
    ),
    case(
        "plan a key pasted as a value",
        Sandbox,
        KEY_VALUE,
        &[(&["plan"], 1)],
    ),
    case(
        "apply a key pasted as a value",
        Sandbox,
        KEY_VALUE,
        &[(&["apply", "--auto-approve"], 1)],
    ),
    Case {
        name: "a key in slascone.yaml",
        target: Sandbox,
        manifests: GOOD,
        project_extra: "AdminKey: {KEY}\n",
        steps: &[(&["validate"], 1), (&["plan"], 1)],
    },
    Case {
        name: "a key in an environment profile",
        target: Sandbox,
        manifests: GOOD,
        project_extra: "environments:\n  prod: { admin-key: \"{KEY}\" }\n",
        steps: &[(&["validate"], 1), (&["plan", "--env", "prod"], 1)],
    },
    Case {
        name: "a key where the variable's name belongs",
        target: Sandbox,
        manifests: GOOD,
        project_extra: "admin_key_env: {KEY}\n",
        steps: &[(&["validate"], 1), (&["plan"], 1)],
    },
    case(
        "validate a key quoted by problems",
        Sandbox,
        KEY_QUOTED,
        &[(&["validate"], 1)],
    ),
    case(
        "plan a key quoted by problems",
        Sandbox,
        KEY_QUOTED,
        &[(&["plan"], 1)],
    ),
    Case {
        name: "a key as the isv_id and URLs",
        target: Sandbox,
        manifests: GOOD,
        project_extra: "portal_url: \"{KEY}\"\nenvironments:\n  prod: { isv_id: \"{KEY}\", api_url: \"{KEY}\" }\n",
        steps: &[
            (&["validate"], 1),
            (&["plan"], 1),
            (&["apply", "--env", "prod", "--auto-approve"], 1),
        ],
    },
    case(
        "plan text",
        Sandbox,
        GOOD,
        &[(&["plan", "--out", "plan.json"], 0)],
    ),
    case(
        "plan json",
        Sandbox,
        GOOD,
        &[(&["plan", "--format", "json", "--out", "p.json"], 0)],
    ),
    case(
        "plan markdown",
        Sandbox,
        GOOD,
        &[(
            &[
                "plan",
                "--format",
                "markdown",
                "--out",
                "p.json",
                "--detailed-exitcode",
            ],
            2,
        )],
    ),
    case(
        "plan verbose",
        Sandbox,
        GOOD,
        &[(&["--verbose", "plan"], 0)],
    ),
    case(
        "apply text",
        Sandbox,
        GOOD,
        &[(&["--verbose", "apply", "--auto-approve"], 0)],
    ),
    case(
        "apply json",
        Sandbox,
        GOOD,
        &[(&["apply", "--auto-approve", "--format", "json"], 0)],
    ),
    case(
        "apply markdown",
        Sandbox,
        GOOD,
        &[(&["apply", "--auto-approve", "--format", "markdown"], 0)],
    ),
    case(
        "apply a saved plan, then a stale one",
        Sandbox,
        GOOD,
        &[
            (&["plan", "--out", "plan.json"], 0),
            (
                &[
                    "--verbose",
                    "apply",
                    "--plan",
                    "plan.json",
                    "--auto-approve",
                ],
                0,
            ),
            (&["apply", "--plan", "plan.json", "--auto-approve"], 3),
        ],
    ),
    case(
        "apply without confirmation",
        Sandbox,
        GOOD,
        &[(&["apply"], 1)],
    ),
    case(
        "plan an unknown name",
        Sandbox,
        UNKNOWN_NAME,
        &[(&["plan"], 1)],
    ),
    case(
        "apply an unknown name",
        Sandbox,
        UNKNOWN_NAME,
        &[(&["apply", "--auto-approve"], 1)],
    ),
    case(
        "apply answered 409",
        Sandbox,
        CONFLICT,
        &[(
            &["--verbose", "apply", "--auto-approve", "--format", "json"],
            4,
        )],
    ),
    case(
        "apply answered 409, markdown",
        Sandbox,
        CONFLICT,
        &[(&["apply", "--auto-approve", "--format", "markdown"], 4)],
    ),
    case(
        "plan with a wrong key",
        WrongKey,
        GOOD,
        &[(&["--verbose", "plan"], 1)],
    ),
    case(
        "apply with a wrong key",
        WrongKey,
        GOOD,
        &[(&["apply", "--auto-approve"], 1)],
    ),
    case(
        "plan, connection refused",
        Refused,
        GOOD,
        &[(&["--verbose", "plan"], 1)],
    ),
    case(
        "apply, connection refused",
        Refused,
        GOOD,
        &[(&["apply", "--auto-approve"], 1)],
    ),
    case(
        "embedded sandbox",
        Embedded,
        GOOD,
        &[
            (
                &["--sandbox", "plan", "--format", "json", "--out", "p.json"],
                0,
            ),
            (&["--sandbox", "--verbose", "apply", "--auto-approve"], 0),
            (&["--sandbox", "plan", "--detailed-exitcode"], 0),
        ],
    ),
    case(
        "sandbox help",
        Sandbox,
        GOOD,
        &[(&["sandbox", "--help"], 0)],
    ),
    case("schema", Sandbox, GOOD, &[(&["schema"], 0)]),
    case(
        "export, then plan the export",
        Sandbox,
        GOOD,
        &[
            (&["apply", "--auto-approve"], 0),
            (&["--verbose", "export", "--out", "exported", "."], 0),
            (&["plan", "--detailed-exitcode", "exported"], 0),
        ],
    ),
    case(
        "export, wrong key",
        WrongKey,
        GOOD,
        &[(&["export", "--out", "exported", "."], 1)],
    ),
    case(
        "import-csv, good and bad",
        Sandbox,
        CSV,
        &[
            (
                &[
                    "import-csv",
                    "--customers",
                    "customers.csv",
                    "--out",
                    "imported",
                ],
                0,
            ),
            (
                &["import-csv", "--customers", "bad.csv", "--out", "rejected"],
                1,
            ),
        ],
    ),
    case(
        "completions",
        Sandbox,
        GOOD,
        &[(&["completions", "bash"], 0)],
    ),
];

/// Fails naming where the key showed up.
fn assert_no_key(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for needle in [CANARY, CANARY_CORE] {
        assert!(
            !text.contains(needle),
            "{what} shows the admin key:\n{text}"
        );
    }
    assert!(!text.contains("panicked"), "{what} holds a panic:\n{text}");
}

/// Every file below `dir`, hidden ones included, is free of the key.
fn assert_no_key_in_files(case: &str, dir: &Path, manifests: &[(&str, &str)]) -> usize {
    let mut checked = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let written_by_the_test =
                relative == "slascone.yaml" || manifests.iter().any(|(name, _)| *name == relative);
            if written_by_the_test {
                continue;
            }
            assert_no_key(
                &format!("{case}: {relative}"),
                &std::fs::read(&path).unwrap(),
            );
            checked += 1;
        }
    }
    checked
}

fn with_key(text: &str) -> String {
    text.replace("{KEY}", CANARY)
}

fn project(dir: &Path, api_url: &str, case: &Case) {
    let project = format!(
        "api_url: {api_url}\nisv_id: {ISV}\nsandbox: {{ catalog: catalog.yaml }}\n{}",
        with_key(case.project_extra)
    );
    std::fs::write(dir.join("slascone.yaml"), project).unwrap();
    std::fs::write(dir.join("catalog.yaml"), support::CATALOG).unwrap();
    for (name, text) in case.manifests {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, with_key(text)).unwrap();
    }
}

/// Runs the binary in `dir` with the key in the environment (also where the sandbox command
/// reads its key), with backtraces on, so a panic would print everything it has.
async fn run_in(dir: &Path, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| with_key(a)).collect();
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(support::bin())
            .args(&args)
            .current_dir(&dir)
            .env("SLASCONE_ADMIN_KEY", CANARY)
            .env("SLASCONE_SANDBOX_ADMIN_KEY", CANARY)
            .env("RUST_BACKTRACE", "1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

async fn target(target: Target) -> (String, Option<SandboxHandle>) {
    match target {
        Sandbox => {
            let sandbox = support::start(SandboxConfig::new(ISV, CANARY, support::catalog())).await;
            (sandbox.base_url(), Some(sandbox))
        }
        WrongKey => {
            let sandbox = support::sandbox().await;
            (sandbox.base_url(), Some(sandbox))
        }
        Refused => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            drop(listener);
            (url, None)
        }
        Embedded => ("https://api365.slascone.com".to_owned(), None),
    }
}

/// Runs one case; returns the number of commands run and of files checked.
async fn check_case(case: &'static Case) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let (url, sandbox) = target(case.target).await;
    project(dir.path(), &url, case);
    for (args, expected) in case.steps {
        let output = run_in(dir.path(), args).await;
        let what = format!("{}: `{}`", case.name, args.join(" "));
        assert_eq!(
            output.status.code(),
            Some(*expected),
            "{what}\nstdout:\n{}\nstderr:\n{}",
            support::stdout(&output),
            support::stderr(&output)
        );
        assert_no_key(&format!("{what}: stdout"), &output.stdout);
        assert_no_key(&format!("{what}: stderr"), &output.stderr);
    }
    let files = assert_no_key_in_files(case.name, dir.path(), case.manifests);
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    (case.steps.len(), files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_the_admin_key() {
    // Concurrently: the connection-refused cases spend most of their time in retry backoff.
    let mut tasks = tokio::task::JoinSet::new();
    for case in CASES {
        tasks.spawn(check_case(case));
    }
    let (mut runs, mut files) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (case_runs, case_files) =
            done.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        runs += case_runs;
        files += case_files;
    }
    assert!(runs > CASES.len());
    // Saved plans, the embedded sandbox's state file and the catalog at least.
    assert!(files > CASES.len(), "{files} files checked");
}

/// A key-like field is refused, saying where it is and never what it holds.
#[tokio::test]
async fn a_key_in_a_file_is_refused_by_position() {
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        "https://api365.slascone.com",
        &case("", Sandbox, KEY_FIELD, &[]),
    );
    let output = run_in(dir.path(), &["validate"]).await;
    let err = support::stderr(&output);
    assert!(
        err.contains("acme.yaml:3:5: `admin_key` must not be written in a file"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        "http://127.0.0.1:9",
        &case("", Sandbox, KEY_VALUE, &[]),
    );
    let output = run_in(dir.path(), &["plan"]).await;
    let err = support::stderr(&output);
    assert!(
        err.contains("acme.yaml:3:20: the admin key (the value of the environment variable SLASCONE_ADMIN_KEY) is written here"),
        "{err}"
    );
}

/// The key written so that the file's text does not hold it, but its values do: a YAML escape
/// in a value and in a key, a double-quoted line continuation. `validate` (with the key at hand) and `plan`
/// refuse it by position, never showing it.
#[tokio::test]
async fn a_key_hidden_by_yaml_escapes_is_refused() {
    let escaped = CANARY.replacen('c', "\\x63", 1);
    let (head, tail) = CANARY.split_at(8);
    let manifests = [
        format!("    company_name: \"{escaped}\"\n"),
        format!("    company_name: \"{head}\\\n      {tail}\"\n"),
        format!(
            "    \"\\x{:02x}{}\": x\n",
            CANARY.as_bytes()[0],
            &CANARY[1..]
        ),
    ];
    for written in manifests {
        assert!(!written.contains(CANARY), "{written}");
        let text = format!(
            "customers:\n  - customer_number: K001\n{written}    customer_type: Enterprise\n    country: Germany\n"
        );
        let dir = tempfile::tempdir().unwrap();
        project(
            dir.path(),
            "http://127.0.0.1:9",
            &case("", Sandbox, &[], &[]),
        );
        std::fs::write(dir.path().join("acme.yaml"), text).unwrap();
        for command in ["validate", "plan"] {
            let output = run_in(dir.path(), &[command]).await;
            let err = support::stderr(&output);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{command} {written:?}: {err}"
            );
            assert!(
                err.contains("acme.yaml:3:") && err.contains("the admin key"),
                "{command} {written:?}: {err}"
            );
            assert_no_key(command, &output.stdout);
            assert_no_key(command, &output.stderr);
        }
    }
}

/// `slascone-sync sandbox`, with its key from the command line and from the environment, and
/// its state file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_command_does_not_show_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), support::CATALOG).unwrap();
    let isv = ISV.to_string();
    let with_flag: &[&str] = &["--admin-key", CANARY];
    for key_args in [with_flag, &[]] {
        let mut child = Command::new(support::bin())
            .args(["sandbox", "--listen", "127.0.0.1:0", "--isv-id", &isv])
            .args(["--catalog", "catalog.yaml", "--state", "state.json"])
            .args(key_args)
            .current_dir(dir.path())
            .env("SLASCONE_SANDBOX_ADMIN_KEY", CANARY)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let url = read_listening_line(&mut child);
        // Writes make the sandbox persist its state; the file must not hold the key.
        let client = support::client_for(&url, CANARY);
        let customer = slascone_sync::remote::wire::DataExchangeAddCustomerDto {
            customer_number: "K001".into(),
            customer_name: "Acme".into(),
            customer_type: "Enterprise".into(),
            country: "Germany".into(),
            ..Default::default()
        };
        client.create_customer_by_number(&customer).await.unwrap();
        let wrong = support::client_for(&url, "another-key");
        assert!(wrong.list_customers().await.is_err());
        stop(&child);
        let output = child.wait_with_output().unwrap();
        assert_no_key("sandbox stdout", &output.stdout);
        assert_no_key("sandbox stderr", &output.stderr);
        assert!(assert_no_key_in_files("sandbox", dir.path(), &[]) >= 2);
        std::fs::remove_file(dir.path().join("state.json")).unwrap();
    }
}

/// The `listening on http://ADDR` line, as a URL.
fn read_listening_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.as_mut().unwrap();
    let mut line = String::new();
    let started = Instant::now();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned()
}

fn stop(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A server that echoes the key, in an error message (as written and with JSON escapes) or in
/// a customer's field: the key is redacted before anything prints or saves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_echoed_by_the_server_is_redacted() {
    use slascone_sync::remote::wire::DataExchangeAddCustomerDto;
    let key = support::KEY;
    let sandbox = support::sandbox().await;
    // The key as the company name, written with escapes where JSON allows them.
    let customer = DataExchangeAddCustomerDto {
        customer_number: "K001".into(),
        customer_name: key.into(),
        customer_type: "Enterprise".into(),
        country: "Germany".into(),
        ..Default::default()
    };
    support::client(&sandbox)
        .create_customer_by_number(&customer)
        .await
        .unwrap();
    let manifest = "customers:\n  - customer_number: K001\n    company_name: Acme GmbH\n    customer_type: Enterprise\n    country: Germany\n";
    let dir = support::project(&sandbox, &[("acme.yaml", manifest)], "");
    let plan = dir.path().join("plan.json");
    let ran = support::Cli::new(["plan", "--out"])
        .arg(&plan)
        .target(dir.path())
        .run()
        .await
        .expect(0);
    let saved = std::fs::read_to_string(&plan).unwrap();
    for text in [ran.stdout(), ran.stderr(), saved] {
        assert!(!text.contains(key), "{text}");
    }
    assert!(
        ran.stdout().contains("\"<the admin key>\" → \"Acme GmbH\""),
        "{}",
        ran.stdout()
    );
}
