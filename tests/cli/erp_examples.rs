//! The ERP examples (examples/erp): each directory's README runs as written, on a copy of the
//! quickstart with the embedded sandbox. Its mapping merges its sample exports into the tree
//! (the customers and licenses it promises appear, the quickstart's comments stay, a second run
//! changes nothing), and the result validates, applies, and then plans no changes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use slascone_sync::manifest::{self, Manifests};

use crate::install::root;
use crate::support::xlsx::{X, workbook};
use crate::support::{self, Cli, commands, commands_of};

/// The examples, one directory per system.
const EXAMPLES: [&str; 5] = ["dynamics365", "excel-de", "hubspot", "salesforce", "zuora"];

/// The manifest directory the READMEs copy the quickstart to.
const TREE: &str = "try-erp";

fn example(name: &str) -> PathBuf {
    root().join("examples/erp").join(name)
}

/// The sh block under `## Try it` in an example's README.
fn try_it(name: &str) -> String {
    let readme = std::fs::read_to_string(example(name).join("README.md")).unwrap();
    let section = readme
        .split_once("## Try it")
        .unwrap_or_else(|| panic!("{name}/README.md has no `## Try it`"))
        .1;
    let block = section.split_once("```sh\n").expect("a sh block").1;
    block.split_once("```").unwrap().0.to_owned()
}

/// The quickstart as the README copies it, without the state a run of the quickstart leaves.
fn quickstart() -> tempfile::TempDir {
    let dir = support::copy_dir(&root().join("examples/quickstart"));
    let _ = std::fs::remove_file(dir.path().join(".slascone-sandbox.json"));
    dir
}

/// A README's words with its paths made absolute: the repository's, and `tree` for [`TREE`].
fn localized(words: &[String], tree: &Path) -> Vec<PathBuf> {
    words[1..]
        .iter()
        .map(|word| match word.as_str() {
            TREE => tree.to_path_buf(),
            _ if word.starts_with("examples/") => root().join(word),
            _ => PathBuf::from(word),
        })
        .collect()
}

/// Every manifest file of a tree, path → text.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path.strip_prefix(dir).unwrap().to_path_buf(), text));
            }
        }
    }
    found.sort();
    found
}

/// A value as a manifest means it: text without quotes, numbers and flags as written.
fn shown(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What the tree writes for `field` of the customer `number`.
fn customer_field(tree: &Manifests, number: &str, field: &str) -> Option<String> {
    let customer = tree.customers.iter().find(|c| {
        c.customer_number
            .as_ref()
            .is_some_and(|n| n.value == number)
    })?;
    manifest::written(&customer.fields, field).map(|value| shown(&value.value))
}

/// What the tree writes for `field` of the license `key` (its `legacy_license_key`): any field,
/// a map entry such as `limitations.Users`, or `customer`, the number of the customer whose list
/// holds it.
fn license_field(tree: &Manifests, key: &str, field: &str) -> Option<String> {
    let (customer, license) = tree.customers.iter().find_map(|customer| {
        customer
            .licenses
            .iter()
            .find(|l| {
                l.legacy_license_key
                    .as_ref()
                    .is_some_and(|k| k.value == key)
            })
            .map(|license| (customer, license))
    })?;
    match field {
        "product" => Some(license.product.value.clone()),
        "edition" => Some(license.edition.value.clone()),
        "customer" => customer.customer_number.as_ref().map(|n| n.value.clone()),
        _ => match field.split_once('.') {
            Some((map, name)) => license
                .entries
                .iter()
                .find(|entry| entry.map.name == map && entry.name == name)
                .map(|entry| shown(&entry.value.value)),
            None => manifest::written(&license.fields, field).map(|value| shown(&value.value)),
        },
    }
}

/// What an example promises: customers' and licenses' fields after the merge (`None`: the
/// field is not written), and the files it writes.
struct Promise {
    customers: &'static [(&'static str, &'static str, Option<&'static str>)],
    licenses: &'static [(&'static str, &'static str, Option<&'static str>)],
    new_files: &'static [&'static str],
}

/// Runs the README of `name` as written and checks `promise` after its ingest; the tree, after
/// the sandbox has planned no changes.
async fn runs_as_its_readme_says(name: &str, promise: &Promise) -> tempfile::TempDir {
    let script = try_it(name);
    let copies = commands_of(&script, "cp");
    assert_eq!(
        copies,
        [["cp", "-r", "examples/quickstart", TREE]],
        "{name}: {script}"
    );
    let tree = quickstart();
    let before = files(tree.path());
    let lines = commands(&script);
    let names: Vec<&str> = lines.iter().map(|words| words[1].as_str()).collect();
    assert_eq!(
        names,
        ["ingest", "validate", "apply", "plan"],
        "{name}: {script}"
    );
    assert!(lines[3].contains(&"--detailed-exitcode".to_owned()));
    let run = |words: &Vec<String>| Cli::new(localized(words, tree.path())).current_dir(root());

    run(&lines[0]).run().await.expect(0);
    let merged = manifest::load(tree.path(), None)
        .unwrap_or_else(|problems| panic!("{name}: the merged tree does not load: {problems:?}"));
    for (number, field, value) in promise.customers {
        assert_eq!(
            customer_field(&merged, number, field).as_deref(),
            *value,
            "{name}: customer {number} {field}"
        );
    }
    for (key, field, value) in promise.licenses {
        assert_eq!(
            license_field(&merged, key, field).as_deref(),
            *value,
            "{name}: license {key} {field}"
        );
    }
    let after = files(tree.path());
    for file in promise.new_files {
        assert!(
            after.iter().any(|(path, _)| path == Path::new(file))
                && !before.iter().any(|(path, _)| path == Path::new(file)),
            "{name}: {file} is new"
        );
    }
    // The quickstart's files keep every comment; nothing is deleted.
    for (path, text) in &before {
        let (_, now) = after
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("{name}: {} is gone", path.display()));
        for comment in text.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                now.contains(comment),
                "{name}: {} lost `{comment}`",
                path.display()
            );
        }
    }
    // A second run with the same export writes nothing.
    run(&lines[0]).run().await.expect(0);
    assert_eq!(
        files(tree.path()),
        after,
        "{name}: the second run changed files"
    );

    for words in &lines[1..] {
        run(words).run().await.expect(0);
    }
    tree
}

#[tokio::test]
async fn the_salesforce_contracts_report_is_both_exports() {
    runs_as_its_readme_says(
        "salesforce",
        &Promise {
            customers: &[
                ("K001", "city", Some("Hamburg")),
                ("K001", "email", Some("it@acme.example")),
                ("K004", "company_name", Some("Northwind Traders Inc.")),
                ("K004", "country", Some("United States")),
                ("K004", "customer_type", Some("Enterprise")),
            ],
            licenses: &[
                ("00000101", "customer", Some("K001")),
                ("00000101", "token_limit", Some("25")),
                ("00000101", "starts", Some("2026-01-01")),
                ("00000101", "expires", Some("2027-12-31")),
                ("00000102", "edition", Some("Enterprise")),
                ("00000102", "expires", Some("2028-06-30")),
                ("00000102", "active", Some("false")),
                ("00000103", "customer", Some("K004")),
                ("00000103", "expires", Some("2027-03-14")),
                ("00000103", "active", Some("true")),
                ("SUB-2026-0001", "expires", Some("2027-12-31")),
            ],
            new_files: &["customers/K004.yaml"],
        },
    )
    .await;
}

#[tokio::test]
async fn the_hubspot_companies_export_gives_new_customers() {
    runs_as_its_readme_says(
        "hubspot",
        &Promise {
            customers: &[
                ("18210453311", "company_name", Some("Contoso Robotics GmbH")),
                ("18210453311", "phone", Some("+49 89 4400 1200")),
                ("18210453311", "city", Some("Munich")),
                ("18210453312", "country", Some("Switzerland")),
                ("18210453313", "company_name", Some("Tailspin Toys, Inc.")),
                ("18210453313", "city", None),
                ("18210453313", "phone", None),
                ("18210453313", "customer_type", Some("SMB")),
                ("K001", "city", Some("Berlin")),
            ],
            licenses: &[],
            new_files: &[
                "customers/18210453311.yaml",
                "customers/18210453312.yaml",
                "customers/18210453313.yaml",
            ],
        },
    )
    .await;
}

#[tokio::test]
async fn the_zuora_subscriptions_report_maps_rate_plans_to_editions() {
    runs_as_its_readme_says(
        "zuora",
        &Promise {
            customers: &[
                ("A00000101", "company_name", Some("Coho Winery GmbH")),
                ("A00000102", "country", Some("United Kingdom")),
                ("A00000103", "city", Some("Austin")),
            ],
            licenses: &[
                ("A-S00000201", "edition", Some("Enterprise")),
                ("A-S00000201", "token_limit", Some("40")),
                ("A-S00000202", "customer", Some("A00000102")),
                ("A-S00000202", "edition", Some("Professional")),
                ("A-S00000203", "customer", Some("A00000102")),
                ("A-S00000203", "active", Some("false")),
                ("A-S00000204", "expires", None),
                ("A-S00000204", "active", Some("true")),
            ],
            new_files: &[
                "customers/A00000101.yaml",
                "customers/A00000102.yaml",
                "customers/A00000103.yaml",
            ],
        },
    )
    .await;
}

const DYNAMICS: Promise = Promise {
    customers: &[
        ("K001", "phone", Some("+49 30 901820")),
        ("K001", "street", Some("Unter den Linden 1")),
        ("K001", "zip", Some("10117")),
        ("K001", "city", Some("Berlin")),
        ("K005", "zip", Some("01069")),
        ("K005", "street", Some("Prager Straße 2")),
        ("K006", "country", Some("Netherlands")),
        ("K006", "zip", Some("1015 CX")),
        ("K006", "phone", None),
    ],
    licenses: &[],
    new_files: &["customers/K005.yaml", "customers/K006.yaml"],
};

#[tokio::test]
async fn the_dynamics_accounts_export_adds_fields_beside_the_hand_kept_ones() {
    runs_as_its_readme_says("dynamics365", &DYNAMICS).await;
}

/// The workbook Dynamics exports holds the same cells as the CSV saved from it, and gives the
/// same files.
#[tokio::test]
async fn the_dynamics_workbook_gives_what_its_csv_gives() {
    let from_csv = runs_as_its_readme_says("dynamics365", &DYNAMICS).await;

    let csv = std::fs::read_to_string(example("dynamics365").join("accounts.csv")).unwrap();
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("Excel's byte order mark");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let rows: Vec<Vec<X<'_>>> = records
        .iter()
        .map(|record| {
            record
                .iter()
                .map(|cell| {
                    if cell.is_empty() {
                        X::Empty
                    } else {
                        X::Text(cell)
                    }
                })
                .collect()
        })
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let book = scratch
        .path()
        .join("Active Accounts 12-8-2026 9-14-03 AM.xlsx");
    std::fs::write(&book, workbook("Active Accounts", &rows)).unwrap();

    let tree = quickstart();
    Cli::new(["ingest", "--mapping"])
        .arg(example("dynamics365").join("mapping.yaml"))
        .arg("--customers")
        .arg(&book)
        .arg(tree.path())
        .run()
        .await
        .expect(0);
    assert_eq!(files(tree.path()), files(from_csv.path()));
}

#[tokio::test]
async fn the_german_excel_lists_are_decoded_and_their_codes_mapped() {
    runs_as_its_readme_says(
        "excel-de",
        &Promise {
            customers: &[
                ("K001", "street", Some("Friedrichstraße 12")),
                ("K001", "zip", Some("10117")),
                ("K001", "city", Some("Berlin")),
                ("10004", "company_name", Some("Bäckerei Schmidt GmbH")),
                ("10004", "customer_type", Some("SMB")),
                ("10004", "city", Some("München")),
                ("10006", "company_name", Some("Größenwahn Ärzte AG")),
                ("10006", "country", Some("Austria")),
                ("10006", "customer_type", Some("Enterprise")),
                ("10006", "zip", Some("1010")),
            ],
            licenses: &[
                ("SUB-2026-0001", "expires", Some("2028-12-31")),
                ("SUB-2026-0001", "token_limit", None),
                ("SUB-2026-0001", "limitations.Users", None),
                ("V-2026-0104", "limitations.Users", Some("10")),
                ("V-2026-0104", "expires", Some("2027-06-30")),
                ("V-2026-0105", "expires", None),
                ("V-2026-0105", "active", Some("false")),
                ("V-2026-0106", "edition", Some("Enterprise")),
                ("V-2026-0106", "token_limit", Some("50")),
            ],
            new_files: &[
                "customers/10004.yaml",
                "customers/10005.yaml",
                "customers/10006.yaml",
            ],
        },
    )
    .await;
}

/// Each example is a mapping that names its schema, a README, and the exports the README's
/// ingest reads: no file of examples/erp goes unread.
#[test]
fn every_file_of_the_erp_examples_is_read_by_its_readme() {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("examples/erp")).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            path.is_dir(),
            "{}: examples/erp holds directories",
            path.display()
        );
        found.insert(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(found, EXAMPLES.iter().map(|e| (*e).to_owned()).collect());
    for name in EXAMPLES {
        let ingest = commands(&try_it(name)).remove(0);
        let prefix = format!("examples/erp/{name}/");
        let read: BTreeSet<&str> = ingest
            .iter()
            .filter_map(|word| word.strip_prefix(&prefix))
            .collect();
        assert!(read.contains("mapping.yaml"), "{name}: {ingest:?}");
        for entry in std::fs::read_dir(example(name)).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                file == "README.md" || read.contains(file.as_str()),
                "{name}/{file} is read by no command of its README"
            );
        }
        let mapping = std::fs::read_to_string(example(name).join("mapping.yaml")).unwrap();
        assert_eq!(
            mapping.lines().next(),
            Some("# yaml-language-server: $schema=../../../schema/mapping.schema.json"),
            "{name}/mapping.yaml"
        );
    }
}

/// The mapping docs/erp.md shows reads as a mapping, every key it documents in it.
#[test]
fn the_mapping_in_the_erp_docs_reads() {
    let docs = std::fs::read_to_string(root().join("docs/erp.md")).unwrap();
    let section = docs.split_once("## The mapping file").unwrap().1;
    let block = section.split_once("```yaml\n").unwrap().1;
    let block = block.split_once("```").unwrap().0;
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("mapping.yaml");
    std::fs::write(&file, block).unwrap();
    let mapping = manifest::mapping::read(&file)
        .unwrap_or_else(|problems| panic!("docs/erp.md's mapping: {problems:?}"));
    assert_eq!(mapping.format.delimiter, Some(b';'));
    assert_eq!(mapping.format.empty, ["#N/A", "-"]);
    assert!(mapping.customers.file.is_some() && !mapping.customers.defaults.is_empty());
    let licenses = mapping.licenses.expect("a licenses section");
    assert_eq!(licenses.missing, manifest::mapping::Missing::Report);
    for key in [
        "delimiter",
        "encoding",
        "date",
        "empty",
        "columns",
        "values",
        "defaults",
        "sheet",
        "file",
        "missing",
    ] {
        assert!(
            section.contains(&format!("`{key}`"))
                || section.contains(&format!("`customers.{key}`"))
                || section.contains(&format!("`licenses.{key}`")),
            "docs/erp.md documents `{key}`"
        );
    }
}
