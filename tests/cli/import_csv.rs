//! `import-csv` on good and bad files (tests/fixtures/csv): the output passes `validate` and
//! applies to a sandbox; every bad row is reported with its position, and nothing is written.

use std::path::{Path, PathBuf};

use crate::support::{self, ISV, code, stderr, stdout};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csv")
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

async fn import(dir: &str, extra: &[&str], out: &Path) -> std::process::Output {
    let dir = fixtures().join(dir);
    let customers = dir.join("customers.csv");
    let licenses = dir.join("licenses.csv");
    let mut args = vec![
        "import-csv",
        "--customers",
        path(&customers),
        "--out",
        path(out),
    ];
    if licenses.is_file() {
        args.extend(["--licenses", path(&licenses)]);
    }
    args.extend_from_slice(extra);
    support::run(&args, None).await
}

/// Every file below `dir`, relative path → text.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn good_files_become_manifests_that_validate_and_apply() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let run = import("good", &[], &out).await;
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert!(
        stderr(&run).contains("Wrote 3 customers and 4 licenses"),
        "{}",
        stderr(&run)
    );

    let validate = support::run(&["validate", path(&out)], None).await;
    assert_eq!(code(&validate), 0, "{}", stderr(&validate));
    assert_eq!(
        stdout(&validate),
        "ok: 3 customers, 4 licenses in 3 files\n"
    );

    let k001 = std::fs::read_to_string(out.join("customers/K001.yaml")).unwrap();
    assert_eq!(
        k001,
        "# yaml-language-server: $schema=../schema/manifest.schema.json
customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    email: it@acme.example
    street: Hauptstraße 1
    zip: \"01067\"
    city: Dresden
    phone: +49 351 1
    prospect_number: P-17
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        license_type: Commercial
        token_limit: 25
        expires: \"2027-12-31\"
        active: true
      - legacy_license_key: SUB-3
        product: Argus
        edition: Enterprise
        token_limit: 5
      - legacy_license_key: B-1
        product: Borealis
        edition: Basic
        expires: never
"
    );
    let project = std::fs::read_to_string(out.join("slascone.yaml")).unwrap();
    assert!(project.contains("FILL IN"), "{project}");
    assert!(project.contains("# isv_id: "), "{project}");

    // The same data as a semicolon-separated file with a byte order mark and CRLF lines gives the
    // same bytes.
    let semicolon = work.path().join("semicolon");
    let run = import("semicolon", &["--delimiter", ";"], &semicolon).await;
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert_eq!(tree(&out), tree(&semicolon));

    // Filled in, it applies to SLASCONE and then plans no changes.
    let sandbox = support::sandbox().await;
    let filled = project.replace(
        "api_url: https://api365.slascone.com",
        &format!("api_url: {}\nisv_id: {ISV}", sandbox.base_url()),
    );
    std::fs::write(out.join("slascone.yaml"), filled).unwrap();
    let apply = support::run(&["apply", "--auto-approve", path(&out)], None).await;
    assert_eq!(code(&apply), 0, "{}{}", stdout(&apply), stderr(&apply));
    assert!(
        stdout(&apply).contains("Apply complete: 7 created, 0 updated, 0 failed."),
        "{}",
        stdout(&apply)
    );
    let plan = support::run(&["plan", "--detailed-exitcode", path(&out)], None).await;
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn every_bad_row_is_reported_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let run = support::run(
        &[
            "import-csv",
            "--customers",
            "bad/customers.csv",
            "--licenses",
            "bad/licenses.csv",
            "--out",
            path(&out),
        ],
        Some(&fixtures()),
    )
    .await;
    assert_eq!(code(&run), 1);
    let expected = std::fs::read_to_string(fixtures().join("bad/expected.txt")).unwrap();
    assert_eq!(stderr(&run), expected);
    assert!(!out.exists(), "nothing written");
    assert!(
        std::fs::read_dir(work.path()).unwrap().next().is_none(),
        "no staging left behind"
    );
}

#[tokio::test]
async fn unknown_and_missing_columns_are_named() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let run = support::run(
        &[
            "import-csv",
            "--customers",
            "columns/customers.csv",
            "--out",
            path(&out),
        ],
        Some(&fixtures()),
    )
    .await;
    assert_eq!(code(&run), 1);
    let expected = std::fs::read_to_string(fixtures().join("columns/expected.txt")).unwrap();
    assert_eq!(stderr(&run), expected);
    assert!(!out.exists());

    let bad_delimiter = import("good", &["--delimiter", ";;"], &out).await;
    assert_eq!(code(&bad_delimiter), 2, "a usage error");
    assert!(
        stderr(&bad_delimiter).contains("the delimiter is one character"),
        "{}",
        stderr(&bad_delimiter)
    );
}

#[tokio::test]
async fn a_full_output_directory_is_refused_without_force() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("notes.txt"), "mine").unwrap();
    let run = import("good", &[], work.path()).await;
    assert_eq!(code(&run), 1);
    assert!(
        stderr(&run).contains("already holds files (notes.txt)"),
        "{}",
        stderr(&run)
    );
    let forced = import("good", &["--force"], work.path()).await;
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert_eq!(
        std::fs::read_to_string(work.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(work.path().join("customers/K001.yaml").is_file());
}

#[tokio::test]
async fn license_names_descriptions_start_days_releases_and_temporary_flags_are_imported() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let run = import("vocabulary", &[], &out).await;
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let k001 = std::fs::read_to_string(out.join("customers/K001.yaml")).unwrap();
    assert_eq!(
        k001,
        "# yaml-language-server: $schema=../schema/manifest.schema.json
customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        expires: \"2027-12-31\"
        name: Gold
        description: Order 4711, 3 years
        starts: \"2026-01-01\"
        software_release_limitation: \"3.1\"
        temporary: true
      - legacy_license_key: SUB-2
        product: Argus
        edition: Professional
        starts: \"2026-02-01\"
        software_release_limitation: none
        temporary: false
"
    );
    let validate = support::run(&["validate", path(&out)], None).await;
    assert_eq!(code(&validate), 0, "{}", stderr(&validate));

    let bad = support::run(
        &[
            "import-csv",
            "--customers",
            "vocabulary/customers.csv",
            "--licenses",
            "vocabulary/licenses-bad.csv",
            "--out",
            path(&work.path().join("bad")),
        ],
        Some(&fixtures()),
    )
    .await;
    assert_eq!(code(&bad), 1);
    assert_eq!(
        stderr(&bad),
        "vocabulary/licenses-bad.csv:2:7: `start_date` is not a date: `someday`
  hint: write a date as 2027-01-01 or 01.01.2027
vocabulary/licenses-bad.csv:2:8: `temporary` must be true or false (or yes/no, 1/0), not `perhaps`
vocabulary/licenses-bad.csv:3:7: `start_date` is not a date: `31.02.2026`
  hint: write a date as 2027-01-01 or 01.01.2027
error: 3 problems found
Nothing was written.
"
    );
}
