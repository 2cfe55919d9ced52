//! What a person reads, pinned through the binary: plans as text and markdown, the apply report
//! as text, JSON and markdown, every `--help`, and `validate`'s errors. Ports, temporary paths,
//! timings and generated ids are filtered, so a snapshot changes only when the output does.
//!
//! Review a change with `cargo insta review` (or accept the `.snap.new` files by hand).

use std::path::Path;

use clap::CommandFactory;
use slascone_sync::remote::wire::CustomerDto;

use crate::support::{self, Cli};

/// The filters every snapshot here goes through; `dirs` are the temporary directories the test
/// made, shown as `[DIR]`.
fn settings(dirs: &[&Path]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    for dir in dirs {
        settings.add_filter(&escape(&dir.display().to_string()), "[DIR]");
    }
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    settings.add_filter(r"\b\d+(\.\d+)?(ns|µs|ms|s)\b", "[TIME]");
    settings
}

/// A path as a regex that matches it literally.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn example(name: &str) -> tempfile::TempDir {
    support::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
}

/// `examples/complete` applied, then edited: a customer moves, a limit rises, an edition
/// changes.
fn edit_complete(dir: &Path) {
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} holds `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit("customers/wayne.yaml", "city: München", "city: Augsburg");
    edit("customers/wayne.yaml", "user_limit: 600", "user_limit: 650");
    edit(
        "customers/trials.yaml",
        "edition: Trial",
        "edition: Professional",
    );
}

#[test]
fn plans_and_apply_reports() {
    let dir = example("complete");
    let path = dir.path();
    let settings = settings(&[path]);
    let _bound = settings.bind_to_scope();

    let plan = |format: &str| {
        Cli::new(["plan", "--sandbox", "--format", format])
            .target(path)
            .run_blocking()
            .expect(0)
            .stdout()
    };
    insta::assert_snapshot!("plan_create.txt", plan("text"));
    insta::assert_snapshot!("plan_create.md", plan("markdown"));

    // One apply per report format, each from the same empty sandbox.
    for (format, name) in [
        ("text", "apply_report.txt"),
        ("json", "apply_report.json"),
        ("markdown", "apply_report.md"),
    ] {
        let _ = std::fs::remove_file(path.join(".slascone-sandbox.json"));
        let report = Cli::new(["apply", "--sandbox", "--auto-approve", "--format", format])
            .target(path)
            .run_blocking()
            .expect(0)
            .stdout();
        insta::assert_snapshot!(name, report);
    }

    edit_complete(path);
    insta::assert_snapshot!("plan_update.txt", plan("text"));
    insta::assert_snapshot!("plan_update.md", plan("markdown"));
}

#[tokio::test]
async fn a_plan_with_warnings_and_unmanaged_objects() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);
    let customer = "    company_name: Acme\n    customer_type: SMB\n    country: Austria\n";
    let dir = support::project(
        &sandbox,
        &[(
            "customers.yaml",
            &format!("customers:\n  - customer_number: K1\n{customer}"),
        )],
        "",
    );
    Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    let id = client
        .get_customer_by_number("K1")
        .await
        .unwrap()
        .unwrap()
        .id;
    // Someone else adds a customer no manifest names.
    let other = CustomerDto {
        company_name: Some("Initech".into()),
        customer_number: Some("K9".into()),
        ..CustomerDto::default()
    };
    client.create_customer(&other).await.unwrap();
    // The manifest names K1 by id now, with another number and name.
    support::write_files(
        dir.path(),
        &[(
            "customers.yaml",
            &format!(
                "customers:\n  - id: {id}\n    customer_number: K1-NEW\n{}",
                customer.replace("Acme", "Acme GmbH")
            ),
        )],
    );
    let settings = settings(&[dir.path()]);
    let _bound = settings.bind_to_scope();
    let plan = Cli::new(["plan"]).target(dir.path()).run().await.expect(0);
    insta::assert_snapshot!("plan_warnings.txt", plan.stdout());
    let plan = Cli::new(["plan", "--format", "markdown"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    insta::assert_snapshot!("plan_warnings.md", plan.stdout());
    sandbox.shutdown().await;
}

#[test]
fn every_help() {
    let settings = settings(&[]);
    let _bound = settings.bind_to_scope();
    let top = Cli::new(["--help"]).run_blocking().expect(0).stdout();
    insta::assert_snapshot!("help", top);
    for sub in slascone_sync::cli::Cli::command().get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let help = Cli::new([name, "--help"]).run_blocking().expect(0).stdout();
        insta::assert_snapshot!(format!("help_{name}"), help);
    }
}

#[test]
fn validate_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = settings(&[]);
    let _bound = settings.bind_to_scope();
    let fixtures = root.join("tests/fixtures/manifests");
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let ran = Cli::new(["validate", &format!("tests/fixtures/manifests/{name}")])
            .current_dir(root)
            .run_blocking();
        insta::assert_snapshot!(
            format!("validate_{name}"),
            format!("exit {}\n{}{}", ran.code(), ran.stdout(), ran.stderr())
        );
    }
}

/// A missing admin key where a new user most likely forgot `--sandbox` says so; a project that
/// names its own tenant gets the plain error.
#[test]
fn a_missing_key_hints_at_the_sandbox() {
    let quickstart = example("quickstart");
    let bare = tempfile::tempdir().unwrap();
    std::fs::write(
        bare.path().join("slascone.yaml"),
        "isv_id: 2af5fe02-6207-4214-946e-b00ac5309f53\n",
    )
    .unwrap();
    let own = tempfile::tempdir().unwrap();
    std::fs::write(
        own.path().join("slascone.yaml"),
        "api_url: https://api.example.com\nisv_id: 2af5fe02-6207-4214-946e-b00ac5309f53\n",
    )
    .unwrap();
    let settings = settings(&[quickstart.path(), bare.path(), own.path()]);
    let _bound = settings.bind_to_scope();
    let mut seen = String::new();
    for dir in [quickstart.path(), bare.path(), own.path()] {
        let ran = Cli::new(["plan"])
            .env_remove("SLASCONE_ADMIN_KEY")
            .target(dir)
            .run_blocking();
        seen.push_str(&format!("exit {}\n{}\n", ran.code(), ran.stderr()));
    }
    insta::assert_snapshot!("missing_key", seen);
}

/// Hostile text as a plan and `validate` show it: control characters escaped, no line opening
/// with a CI runner's command, and every manifest entry that cannot be read named.
#[cfg(unix)]
#[test]
fn hostile_input_as_shown() {
    use std::os::unix::fs::symlink;
    let dir = example("quickstart");
    let path = dir.path();
    let settings = settings(&[path]);
    let _bound = settings.bind_to_scope();
    std::fs::write(
        path.join("customers/hostile.yaml"),
        "customers:\n  - customer_number: \"K9\\e[2J\\e]0;pwn\\a\\r\\x9b31m\\u202e\\n::warning title=forged::injected\\nFAKE: Apply complete\"\n    company_name: \"##vso[task.setvariable variable=x]y\"\n    customer_type: Enterprise\n    country: Germany\n",
    )
    .unwrap();
    let plan = Cli::new(["plan", "--sandbox"])
        .target(path)
        .run_blocking()
        .expect(0)
        .stdout();
    // The hostile customer's block: its header and its four fields.
    let lines: Vec<&str> = plan.lines().collect();
    let at = lines.iter().position(|line| line.contains("pwn")).unwrap();
    let hostile = lines[at..at + 4].join("\n");
    insta::assert_snapshot!("hostile_plan.txt", hostile);

    let status = std::process::Command::new("mkfifo")
        .arg(path.join("customers/fifo.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    symlink("/dev/zero", path.join("customers/zero.yaml")).unwrap();
    symlink(path.join("none.yaml"), path.join("customers/dangling.yaml")).unwrap();
    symlink("/etc/passwd", path.join("customers/passwd.yaml")).unwrap();
    let ran = Cli::new(["validate"]).target(path).run_blocking();
    insta::assert_snapshot!(
        "validate_unreadable_entries",
        format!("exit {}\n{}{}", ran.code(), ran.stdout(), ran.stderr())
    );
}
