//! Manifest loading and validation, and the `validate` and `schema` commands.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use slascone_sync::manifest::{self, MAX_FILE_BYTES};

use crate::support::Cli;

const FIXTURES: &str = "tests/fixtures/manifests";
const PROJECT: &str = "isv_id: 2af5fe02-6207-4214-946e-b00ac5309f53\n";

fn slascone_sync(args: &[&str]) -> Output {
    slascone_sync_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn slascone_sync_in(dir: &Path, args: &[&str]) -> Output {
    Cli::new(args)
        .current_dir(dir)
        .env_remove("SLASCONE_ADMIN_KEY")
        .run_blocking()
        .output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A manifest directory in a tempdir with these files (parents created).
fn write_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

/// The problems `load` reports for `dir`, with the directory prefix removed.
fn problems(dir: &Path, env: Option<&str>) -> String {
    let problems = manifest::load(dir, env).expect_err("problems");
    problems
        .to_string()
        .replace(&format!("{}/", dir.display()), "")
}

/// Every directory in tests/fixtures/manifests is a broken case; its `expected.txt` holds every
/// problem `validate` must report, exactly (file, line, column, message, hint).
#[test]
fn every_broken_fixture_reports_exactly_its_problems() {
    let mut cases: Vec<PathBuf> = fs::read_dir(FIXTURES)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10);
    for case in cases {
        let expected = fs::read_to_string(case.join("expected.txt")).unwrap();
        let actual = manifest::load(&case, None)
            .expect_err(&case.display().to_string())
            .to_string();
        assert_eq!(actual, expected.trim_end(), "{}", case.display());
    }
}

#[test]
fn problems_of_all_files_are_reported_at_once() {
    let output = slascone_sync(&["validate", "tests/fixtures/manifests/syntax"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    // A file that does not parse does not hide the problems of the files after it.
    assert_eq!(
        text(&output.stderr),
        "tests/fixtures/manifests/syntax/a.yaml:3:19: unclosed quote\n\
         tests/fixtures/manifests/syntax/b.yaml:3:5: unknown field `compnay_name` in a customer\n  \
         hint: did you mean `company_name`?\n\
         tests/fixtures/manifests/syntax/c.yml:1:12: unclosed bracket '['\n\
         error: 3 problems found\n"
    );
}

#[test]
fn a_duplicate_across_files_names_both_places() {
    let report = problems(Path::new("tests/fixtures/manifests/duplicates"), None);
    let first = report.lines().next().unwrap();
    assert_eq!(
        first,
        "customers/b.yaml:2:22: customer_number `K1` is used twice; first at customers/a.yaml:3:22"
    );
}

#[test]
fn the_admin_key_is_refused_without_echoing_it() {
    let output = slascone_sync(&["validate", "tests/fixtures/manifests/secrets"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches("must not be written in a file").count(), 4);
    assert!(!stderr.contains("DO-NOT-LEAK"), "{stderr}");
}

#[test]
fn an_unknown_env_lists_the_known_ones() {
    let dir = write_dir(&[(
        "slascone.yaml",
        "isv_id: 2af5fe02-6207-4214-946e-b00ac5309f53\nenvironments:\n  demo: {}\n  staging:\n    \
         api_url: https://staging.example\n",
    )]);
    assert_eq!(
        problems(dir.path(), Some("stagign")),
        "slascone.yaml:2:1: unknown environment `stagign` (--env); slascone.yaml defines: demo, \
         staging\n  hint: did you mean `staging`?"
    );
    // A picked profile with mistakes is reported for those, not as unknown.
    let broken = write_dir(&[("slascone.yaml", "environments:\n  demo: [x]\n")]);
    assert_eq!(
        problems(broken.path(), Some("demo")),
        "slascone.yaml:2:9: environment `demo` must be a mapping of `key: value` lines, found a list"
    );
    let bare = write_dir(&[("slascone.yaml", PROJECT)]);
    assert_eq!(
        problems(bare.path(), Some("prod")),
        "slascone.yaml: unknown environment `prod` (--env): slascone.yaml defines no `environments`"
    );
}

#[test]
fn an_env_profile_overrides_the_top_level() {
    let project = manifest::load(Path::new("examples/complete"), Some("demo"))
        .unwrap()
        .project;
    assert_eq!(project.env.as_deref(), Some("demo"));
    assert_eq!(project.api_url, "https://api.slascone.com");
    assert_eq!(project.admin_key_env, "SLASCONE_DEMO_KEY");
    assert_eq!(
        project.isv_id.unwrap().to_string(),
        "7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a0f"
    );
    // Untouched by the profile: the top level's values.
    assert_eq!(project.max_changes, 50);

    let base = manifest::load(Path::new("examples/complete"), None)
        .unwrap()
        .project;
    assert_eq!(base.api_url, "https://api365.slascone.com");
    assert_eq!(base.admin_key_env, "SLASCONE_ADMIN_KEY");
}

#[test]
fn a_missing_directory_is_one_problem() {
    let output = slascone_sync(&["validate", "no/such/dir"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "no/such/dir: does not exist\n  hint: pass the manifest directory, the one that holds \
         slascone.yaml\nerror: 1 problem found\n"
    );
}

#[test]
fn the_project_file_has_defaults() {
    let dir = write_dir(&[("slascone.yaml", "")]);
    let project = manifest::load(dir.path(), None).unwrap().project;
    assert_eq!(project.api_url, "https://api365.slascone.com");
    assert_eq!(project.portal_url, "https://my.slascone.com");
    assert_eq!(project.admin_key_env, "SLASCONE_ADMIN_KEY");
    assert_eq!(project.max_changes, 200);
    assert_eq!(project.isv_id, None);
    assert!(project.ignore_changes.is_empty());
    assert_eq!(project.sandbox_catalog, None);
    assert_eq!(project.file, dir.path().join("slascone.yaml"));
}

#[test]
fn which_files_are_manifests() {
    let customer = |number: &str| format!("customers:\n  - customer_number: {number}\n");
    let dir = write_dir(&[
        ("slascone.yaml", "sandbox: { catalog: data/catalog.yaml }\n"),
        ("data/catalog.yaml", "products: [ { name: Argus } ]\n"),
        ("b.yml", &customer("B")),
        ("a/z.yaml", &customer("AZ")),
        ("a.yaml", &customer("A")),
        ("deep/er/c.yaml", &customer("C")),
        (".hidden.yaml", "not: a manifest\n"),
        (".git/config.yaml", "not: a manifest\n"),
        ("notes.txt", "not: a manifest\n"),
        (".slascone-sandbox.json", "{}"),
    ]);
    let manifests = manifest::load(dir.path(), None).unwrap();
    assert_eq!(manifests.files, 4);
    let numbers: Vec<&str> = manifests
        .customers
        .iter()
        .map(|c| c.customer_number.as_ref().unwrap().value.as_str())
        .collect();
    // Paths sorted component by component: a/z.yaml < a.yaml < b.yml < deep/er/c.yaml.
    assert_eq!(numbers, ["AZ", "A", "B", "C"]);
    let catalog = manifests.project.sandbox_catalog.unwrap();
    assert_eq!(catalog.value, dir.path().join("data/catalog.yaml"));
    assert_eq!((catalog.origin.line, catalog.origin.column), (1, 21));
}

#[test]
fn oversized_and_hostile_files_are_refused_with_the_file_named() {
    let mut big = String::from("customers:\n");
    while (big.len() as u64) <= MAX_FILE_BYTES {
        big.push_str("  - customer_number: K0000000000000000000000000000000000000000000000\n");
    }
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let p = level - 1;
        bomb.push_str(&format!(
            "a{level}: &a{level} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let deep = format!("customers: {}{}\n", "[".repeat(500), "]".repeat(500));
    let dir = write_dir(&[
        ("slascone.yaml", PROJECT),
        ("big.yaml", &big),
        ("bomb.yaml", &bomb),
        ("deep.yaml", &deep),
        ("latin1.yaml", ""),
    ]);
    fs::write(
        dir.path().join("latin1.yaml"),
        b"customers:\n  - city: Gr\xfcnau\n",
    )
    .unwrap();
    assert_eq!(
        problems(dir.path(), None),
        "big.yaml: file is larger than 16 MiB; manifest files are limited to that size, split it \
         into several files\n\
         latin1.yaml: not valid UTF-8 (byte 23); save the file as UTF-8\n\
         bomb.yaml:6:10: refused: aliases (`*name`) expand to too much (the limit is 100000 \
         replayed YAML events); this looks like an alias bomb\n\
         deep.yaml:1:267: refused: nested deeper than 32 levels"
    );
}

#[test]
fn the_examples_load() {
    let quickstart = manifest::load(Path::new("examples/quickstart"), None).unwrap();
    assert_eq!(quickstart.files, 2);
    assert_eq!(quickstart.customers.len(), 3);
    assert_eq!(quickstart.license_count(), 4);
    assert_eq!(
        quickstart.project.isv_id.unwrap().to_string(),
        "2af5fe02-6207-4214-946e-b00ac5309f53"
    );
    let complete = manifest::load(Path::new("examples/complete"), None).unwrap();
    assert_eq!(complete.files, 2);
    // Every form of `expires` is used once.
    let mut expires: Vec<String> = complete
        .customers
        .iter()
        .flat_map(|c| &c.licenses)
        .filter_map(|l| manifest::written(&l.fields, "expires"))
        .map(|e| match &e.value {
            serde_json::Value::String(text) => text.clone(),
            other => format!("{} days", other["days_after_activation"]),
        })
        .collect();
    expires.sort();
    assert_eq!(expires, ["2027-12-31", "30 days", "never"]);
}

#[test]
fn validate_prints_the_ok_line() {
    let output = slascone_sync(&["validate", "examples/quickstart"]);
    assert_eq!(text(&output.stderr), "");
    assert_eq!(
        text(&output.stdout),
        "ok: 3 customers, 4 licenses in 2 files\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// Without a directory argument, the current directory is validated and named as plain relative
/// paths (no `./`), the way editors and CI annotations expect them.
#[test]
fn validate_defaults_to_the_current_directory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = slascone_sync_in(&root.join("examples/quickstart"), &["validate"]);
    assert_eq!(
        text(&output.stdout),
        "ok: 3 customers, 4 licenses in 2 files\n"
    );
    assert_eq!(output.status.code(), Some(0));

    let output = slascone_sync_in(
        &root.join("tests/fixtures/manifests/duplicates"),
        &["validate"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(
            "customers/b.yaml:2:22: customer_number `K1` is used twice; first at \
             customers/a.yaml:3:22\n"
        ),
        "{stderr}"
    );
}

#[test]
fn validate_fails_with_positioned_problems() {
    let output = slascone_sync(&["validate", "tests/fixtures/manifests/identity"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    let expected = fs::read_to_string("tests/fixtures/manifests/identity/expected.txt").unwrap();
    let count = expected
        .lines()
        .filter(|l| !l.starts_with("  hint:"))
        .count();
    assert_eq!(
        text(&output.stderr),
        format!("{expected}error: {count} problems found\n")
    );
}

/// The committed schemas are what editors use; they must match the binary's.
#[test]
fn committed_schemas_are_current() {
    for kind in ["manifest", "project", "mapping"] {
        let output = slascone_sync(&["schema", "--kind", kind]);
        assert_eq!(output.status.code(), Some(0));
        let committed = fs::read_to_string(format!("schema/{kind}.schema.json")).unwrap();
        assert!(
            text(&output.stdout) == committed,
            "schema/{kind}.schema.json is stale: run `slascone-sync schema --kind {kind} > \
             schema/{kind}.schema.json`"
        );
    }
    let default = slascone_sync(&["schema"]);
    assert_eq!(
        text(&default.stdout),
        fs::read_to_string("schema/manifest.schema.json").unwrap()
    );
}

/// Every manifest, project and mapping file in examples/ names its schema for editors.
#[test]
fn example_files_name_their_schema() {
    let mut pending = vec![PathBuf::from("examples")];
    let mut checked = 0;
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // Hidden files are not part of an example (e.g. the sandbox state `--sandbox` keeps),
            // and examples/ci and examples/agent hold CI workflows and deployment files, not
            // manifests.
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                if !path.ends_with("ci") && !path.ends_with("agent") {
                    pending.push(path);
                }
                continue;
            }
            // Rust examples (e.g. the benchmark harness) live beside the manifest projects.
            if name.contains("catalog") || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                continue;
            }
            // examples/erp holds mapping files beside the exports they read, no manifests.
            let kind = if name == "slascone.yaml" {
                "project"
            } else if path.starts_with("examples/erp") {
                "mapping"
            } else {
                "manifest"
            };
            let first = fs::read_to_string(&path).unwrap();
            let first = first.lines().next().unwrap();
            let schema = first
                .strip_prefix("# yaml-language-server: $schema=")
                .unwrap_or_else(|| panic!("{}: no $schema line", path.display()));
            assert!(
                schema.ends_with(&format!("schema/{kind}.schema.json")),
                "{}",
                path.display()
            );
            assert!(
                path.parent().unwrap().join(schema).is_file(),
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 11);
}

/// `plan` and `apply` connect before the manifests load (to read SLASCONE meanwhile), yet a
/// manifest's problems are still what they report when the admin key is missing too.
#[test]
fn the_manifests_problems_come_before_a_missing_admin_key() {
    let dir = write_dir(&[
        ("slascone.yaml", PROJECT),
        (
            "customers/a.yaml",
            "customers:\n  - customer_number: K1\n    company_nam: Typo GmbH\n",
        ),
    ]);
    let path = dir.path().to_str().unwrap();
    for command in [&["plan", path][..], &["apply", "--auto-approve", path][..]] {
        let output = slascone_sync(command);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains("unknown field `company_nam`") && !stderr.contains("is not set"),
            "{command:?}: {stderr}"
        );
    }
    // With the manifests sound, the missing key is what is wrong.
    fs::write(
        dir.path().join("customers/a.yaml"),
        "customers:\n  - customer_number: K1\n    company_name: Typo GmbH\n",
    )
    .unwrap();
    let stderr = text(&slascone_sync(&["plan", path]).stderr);
    assert!(stderr.contains("SLASCONE_ADMIN_KEY is not set"), "{stderr}");
}
