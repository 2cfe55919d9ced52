//! `ingest`: ERP exports merged into a hand-kept manifest tree in place. A German Excel CSV
//! (Windows-1252, semicolons, `dd.mm.yyyy`), the same data as `.xlsx`, bad input, full and
//! partial exports, and the result applied to the sandbox.

use std::path::Path;

use crate::support::xlsx::{X, workbook};
use crate::support::{self, Cli};

/// The tree as people keep it: comments, quoting, a field the ERP does not know, a flow list.
const KUNDEN_YAML: &str = "\
# Customers from the ERP. Notes are kept here, not in the ERP.
customers:
  - customer_number: \"10001\"   # Hauptkunde seit 2019
    company_name: Bäckerei Schmidt GmbH
    customer_type: Enterprise
    country: Germany
    city: Berlin
    phone: '+49 30 1234'        # hand-kept, not in the ERP
    licenses:
      # The main contract.
      - legacy_license_key: V-2026-001
        product: Argus
        edition: Professional
        token_limit: 10
        expires: 2027-12-31
      - { legacy_license_key: V-2026-009, product: Argus, edition: Professional }

  - customer_number: \"10002\"
    company_name: Müller & Söhne KG
    customer_type: SMB
    country: Germany
    city: Hamburg
    licenses:
      - legacy_license_key: V-2026-002
        product: Argus
        edition: Professional
        token_limit: 5
";

const MAPPING: &str = r##"# The German ERP's export, as Excel saves it.
format: { delimiter: ";", encoding: windows-1252, date: "%d.%m.%Y", empty: ["#N/A", "-"] }
customers:
  columns: { customer_number: Kundennummer, company_name: Firma, country: Land, city: Ort }
  values: { country: { DE: Germany, AT: Austria } }
  defaults: { customer_type: SMB }
licenses:
  columns: { customer_number: Kundennummer, legacy_license_key: Vertragsnummer, product: Produkt,
             edition: Edition, token_limit: Lizenzen, expires: Vertragsende }
  values: { product: { ARG: Argus } }
"##;

const KUNDEN_CSV: &str = "Kundennummer;Firma;Land;Ort\r\n\
10001;Bäckerei Schmidt GmbH;DE;München\r\n\
10002;Müller & Söhne KG;DE;#N/A\r\n\
10003;Größenwahn Ärzte AG;AT;Wien\r\n";

const VERTRAEGE_CSV: &str = "Kundennummer;Vertragsnummer;Produkt;Edition;Lizenzen;Vertragsende\r\n\
10001;V-2026-001;ARG;Professional;15;31.12.2028\r\n\
10001;V-2026-009;ARG;Professional;-;-\r\n\
10002;V-2026-002;ARG;Professional;5;-\r\n\
10003;V-2026-003;ARG;Professional;3;30.06.2027\r\n\
10001;V-2026-004;ARG;Professional;2;never\r\n";

/// A project on `sandbox` holding the hand-kept tree, and beside it (a mapping is no manifest)
/// the mapping and the exports in Windows-1252 as Excel writes them.
struct Project {
    manifests: tempfile::TempDir,
    erp: tempfile::TempDir,
}

impl Project {
    fn dir(&self) -> &Path {
        self.manifests.path()
    }

    fn erp(&self, file: &str) -> std::path::PathBuf {
        self.erp.path().join(file)
    }
}

fn project(sandbox: &slascone_sync::sandbox::SandboxHandle) -> Project {
    let manifests = support::project(sandbox, &[("customers/kunden.yaml", KUNDEN_YAML)], "");
    let erp = tempfile::tempdir().unwrap();
    std::fs::write(erp.path().join("mapping.yaml"), MAPPING).unwrap();
    write_1252(&erp.path().join("kunden.csv"), KUNDEN_CSV);
    write_1252(&erp.path().join("vertraege.csv"), VERTRAEGE_CSV);
    Project { manifests, erp }
}

fn write_1252(path: &Path, text: &str) {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    std::fs::write(path, bytes).unwrap();
}

fn ingest(project: &Project) -> Cli {
    Cli::new(["ingest", "--mapping"])
        .arg(project.erp("mapping.yaml"))
        .arg("--customers")
        .arg(project.erp("kunden.csv"))
        .arg("--licenses")
        .arg(project.erp("vertraege.csv"))
        .arg(project.dir())
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// The manifest files of a project, path → text.
fn manifests(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let customers = dir.join("customers");
    for entry in std::fs::read_dir(&customers).unwrap() {
        let path = entry.unwrap().path();
        files.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    files.sort();
    files
}

/// What the report and the files show no matter where the project lives.
fn neutral(text: &str, project: &Project) -> String {
    text.lines()
        .filter(|line| !line.starts_with("Loaded "))
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        .replace(&format!("{}/", project.dir().display()), "[DIR]/")
        .replace(&format!("{}/", project.erp.path().display()), "[ERP]/")
}

#[tokio::test]
async fn a_german_excel_export_is_merged_in_place() {
    let sandbox = support::sandbox().await;
    let project = project(&sandbox);
    let dir = project.dir();
    let ran = ingest(&project).run().await.expect(0);
    insta::assert_snapshot!("ingest_report", neutral(&ran.stdout(), &project));

    // Only the lines whose values changed, changed; comments, quoting, the hand-kept phone and
    // the flow entry stay; #N/A and `-` left their fields alone; the new license went last.
    let expected = KUNDEN_YAML
        .replace("    city: Berlin\n", "    city: München\n")
        .replace("        token_limit: 10\n", "        token_limit: 15\n")
        .replace(
            "        expires: 2027-12-31\n",
            "        expires: 2028-12-31\n",
        )
        .replace(
            "      - { legacy_license_key: V-2026-009, product: Argus, edition: Professional }\n",
            "      - { legacy_license_key: V-2026-009, product: Argus, edition: Professional }
      - legacy_license_key: V-2026-004
        product: Argus
        edition: Professional
        token_limit: 2
        expires: never
",
        );
    assert_eq!(read(dir, "customers/kunden.yaml"), expected);
    // A new customer has a file of its own, written as import-csv writes, its text decoded.
    insta::assert_snapshot!("ingest_new_customer", read(dir, "customers/10003.yaml"));

    // A second run with the same export changes nothing.
    let before = manifests(dir);
    let again = ingest(&project).run().await.expect(0);
    assert_eq!(manifests(dir), before);
    assert!(
        again.stdout().ends_with(
            "Customers: 0 created, 0 changed, 3 unchanged, 0 missing. \
             Licenses: 0 created, 0 changed, 5 unchanged, 0 missing.\n"
        ),
        "{}",
        again.stdout()
    );

    // The result applies to SLASCONE, after which plan finds nothing to do.
    Cli::new(["apply", "--auto-approve"])
        .target(dir)
        .run()
        .await
        .expect(0);
    Cli::new(["plan", "--detailed-exitcode"])
        .target(dir)
        .run()
        .await
        .expect(0);
}

#[tokio::test]
async fn a_dry_run_shows_the_diff_and_writes_nothing() {
    let sandbox = support::sandbox().await;
    let project = project(&sandbox);
    let before = manifests(project.dir());
    let ran = ingest(&project).arg("--dry-run").run().await.expect(0);
    assert_eq!(manifests(project.dir()), before);
    insta::assert_snapshot!("ingest_dry_run", neutral(&ran.stdout(), &project));
    assert!(
        ran.stderr().contains("Dry run (nothing written)."),
        "{}",
        ran.stderr()
    );
}

#[tokio::test]
async fn what_a_full_export_lacks_is_named_and_a_partial_one_names_nothing() {
    let sandbox = support::sandbox().await;
    let project = project(&sandbox);
    let dir = project.dir();
    // The export of changes only: one customer, one license.
    write_1252(
        &project.erp("kunden.csv"),
        "Kundennummer;Firma;Land;Ort\r\n10002;Müller & Söhne KG;DE;Bremen\r\n",
    );
    write_1252(
        &project.erp("vertraege.csv"),
        "Kundennummer;Vertragsnummer;Produkt;Edition;Lizenzen;Vertragsende\r\n\
         10002;V-2026-002;ARG;Professional;5;-\r\n",
    );
    let partial = ingest(&project).arg("--partial").run().await.expect(0);
    assert!(
        !partial.stdout().contains("Not in the export"),
        "{}",
        partial.stdout()
    );
    assert!(read(dir, "customers/kunden.yaml").contains("    city: Bremen\n"));

    let full = ingest(&project).run().await.expect(0);
    let out = neutral(&full.stdout(), &project);
    for named in [
        "  - customer 10001 ([DIR]/customers/kunden.yaml:3:5)",
        "  - license Argus/V-2026-001 ([DIR]/customers/kunden.yaml:11:9)",
        "  - license Argus/V-2026-009 ([DIR]/customers/kunden.yaml:16:9)",
    ] {
        assert!(out.contains(named), "{named} in\n{out}");
    }
    // Named, never deleted.
    assert!(read(dir, "customers/kunden.yaml").contains("V-2026-001"));

    // With `missing: deactivate`, what the export lacks gets `active: false`, once.
    let mapping = MAPPING.replace(
        "  values: { product: { ARG: Argus } }\n",
        "  values: { product: { ARG: Argus } }\n  missing: deactivate\n",
    );
    std::fs::write(project.erp("mapping.yaml"), mapping).unwrap();
    ingest(&project).run().await.expect(0);
    let kunden = read(dir, "customers/kunden.yaml");
    assert!(
        kunden.contains("        expires: 2027-12-31\n        active: false\n"),
        "{kunden}"
    );
    assert!(
        kunden.contains(
            "{ legacy_license_key: V-2026-009, product: Argus, edition: Professional, active: false }"
        ),
        "{kunden}"
    );
    let before = manifests(dir);
    ingest(&project).run().await.expect(0);
    assert_eq!(manifests(dir), before);
}

#[tokio::test]
async fn the_same_export_as_a_workbook_gives_the_same_files() {
    let sandbox = support::sandbox().await;
    let from_csv = project(&sandbox);
    ingest(&from_csv).run().await.expect(0);

    let project = project(&sandbox);
    let kunden = [
        ["Kundennummer", "Firma", "Land", "Ort"],
        ["10001", "Bäckerei Schmidt GmbH", "DE", "München"],
        ["10002", "Müller & Söhne KG", "DE", "#N/A"],
        ["10003", "Größenwahn Ärzte AG", "AT", "Wien"],
    ];
    let rows: Vec<Vec<X<'_>>> = kunden
        .iter()
        .map(|row| row.iter().map(|cell| X::Text(cell)).collect())
        .collect();
    std::fs::write(project.erp("kunden.xlsx"), workbook("Kunden", &rows)).unwrap();
    // Numbers as Excel stores them (15.0), contract ends as real date cells.
    let contract =
        |number: &'static str, key: &'static str, tokens: X<'static>, end: X<'static>| {
            vec![
                X::Text(number),
                X::Text(key),
                X::Text("ARG"),
                X::Text("Professional"),
                tokens,
                end,
            ]
        };
    let header = [
        "Kundennummer",
        "Vertragsnummer",
        "Produkt",
        "Edition",
        "Lizenzen",
        "Vertragsende",
    ];
    let vertraege = vec![
        header.iter().map(|h| X::Text(h)).collect(),
        contract(
            "10001",
            "V-2026-001",
            X::Number(15.0),
            X::Date(2028, 12, 31),
        ),
        contract("10001", "V-2026-009", X::Text("-"), X::Empty),
        contract("10002", "V-2026-002", X::Number(5.0), X::Text("-")),
        contract("10003", "V-2026-003", X::Number(3.0), X::Date(2027, 6, 30)),
        contract("10001", "V-2026-004", X::Number(2.0), X::Text("never")),
    ];
    std::fs::write(
        project.erp("vertraege.xlsx"),
        workbook("Verträge", &vertraege),
    )
    .unwrap();
    Cli::new(["ingest", "--mapping"])
        .arg(project.erp("mapping.yaml"))
        .arg("--customers")
        .arg(project.erp("kunden.xlsx"))
        .arg("--licenses")
        .arg(project.erp("vertraege.xlsx"))
        .arg(project.dir())
        .run()
        .await
        .expect(0);
    assert_eq!(manifests(project.dir()), manifests(from_csv.dir()));
}

/// A report of customers with their contracts (one row per contract, its customer's columns
/// repeated) is both exports at once, and gives the files the two exports give.
#[tokio::test]
async fn a_report_repeating_each_customer_on_its_contracts_rows_is_both_exports() {
    let sandbox = support::sandbox().await;
    let from_two = project(&sandbox);
    ingest(&from_two).run().await.expect(0);

    let project = project(&sandbox);
    let header =
        "Kundennummer;Firma;Land;Ort;Vertragsnummer;Produkt;Edition;Lizenzen;Vertragsende\r\n";
    let report = format!(
        "{header}\
         10001;Bäckerei Schmidt GmbH;DE;München;V-2026-001;ARG;Professional;15;31.12.2028\r\n\
         10001;Bäckerei Schmidt GmbH;DE;München;V-2026-009;ARG;Professional;-;-\r\n\
         10002;Müller & Söhne KG;DE;#N/A;V-2026-002;ARG;Professional;5;-\r\n\
         10003;Größenwahn Ärzte AG;AT;Wien;V-2026-003;ARG;Professional;3;30.06.2027\r\n\
         10001;Bäckerei Schmidt GmbH;DE;München;V-2026-004;ARG;Professional;2;never\r\n"
    );
    write_1252(&project.erp("bericht.csv"), &report);
    let both = |project: &Project| {
        Cli::new(["ingest", "--mapping"])
            .arg(project.erp("mapping.yaml"))
            .arg("--customers")
            .arg(project.erp("bericht.csv"))
            .arg("--licenses")
            .arg(project.erp("bericht.csv"))
            .arg(project.dir())
    };
    let ran = both(&project).run().await.expect(0);
    assert!(
        ran.stdout()
            .contains("Customers: 1 created, 1 changed, 1 unchanged, 0 missing."),
        "{}",
        ran.stdout()
    );
    assert_eq!(manifests(project.dir()), manifests(from_two.dir()));

    // A repeat that says something else is a second customer of the same number.
    let project = self::project(&sandbox);
    let before = manifests(project.dir());
    write_1252(
        &project.erp("bericht.csv"),
        &format!(
            "{header}\
             10001;Bäckerei Schmidt GmbH;DE;München;V-2026-001;ARG;Professional;15;31.12.2028\r\n\
             10001;Bäckerei Schmidt GmbH;DE;Bonn;V-2026-009;ARG;Professional;-;-\r\n"
        ),
    );
    let ran = both(&project).run().await.expect(1);
    assert_eq!(manifests(project.dir()), before);
    assert!(
        neutral(&ran.stderr(), &project).contains(
            "[ERP]/bericht.csv:3:1: customer_number `10001` is already on [ERP]/bericht.csv:2"
        ),
        "{}",
        ran.stderr()
    );
}

#[tokio::test]
async fn bad_input_is_named_at_its_cell_and_nothing_is_written() {
    let sandbox = support::sandbox().await;
    let project = project(&sandbox);
    let dir = project.dir();
    write_1252(
        &project.erp("kunden.csv"),
        "Kundennummer;Firma;Land;Ort\r\n\
         10001;Bäckerei Schmidt GmbH;DE;München\r\n\
         10001;Doppelt GmbH;DE;Bonn\r\n\
         10004;Neu AG;CH;Zürich\r\n",
    );
    write_1252(
        &project.erp("vertraege.csv"),
        "Kundennummer;Vertragsnummer;Produkt;Edition;Lizenzen;Vertragsende\r\n\
         10001;V-2026-001;ARG;Professional;15;31.02.2028\r\n\
         10001;V-2026-005;XYZ;Professional;zehn;-\r\n\
         99999;V-2026-006;ARG;Professional;1;-\r\n",
    );
    let before = manifests(dir);
    let ran = ingest(&project).run().await.expect(1);
    assert_eq!(manifests(dir), before);
    insta::assert_snapshot!("ingest_bad_rows", neutral(&ran.stderr(), &project));

    // A mapping that names a column the export does not have.
    std::fs::write(
        project.erp("mapping.yaml"),
        MAPPING.replace("city: Ort", "city: Stadt"),
    )
    .unwrap();
    let ran = ingest(&project).run().await.expect(1);
    assert_eq!(manifests(dir), before);
    let err = neutral(&ran.stderr(), &project);
    assert!(
        err.contains(
            "[ERP]/mapping.yaml:4:87: `city` is mapped from the column `Stadt`, which \
             [ERP]/kunden.csv does not have"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_mapping_inside_the_manifest_directory_is_refused_at_once() {
    let sandbox = support::sandbox().await;
    let project = project(&sandbox);
    let inside = project.dir().join("erp");
    std::fs::create_dir(&inside).unwrap();
    std::fs::copy(project.erp("mapping.yaml"), inside.join("mapping.yaml")).unwrap();
    let ran = Cli::new(["ingest", "--mapping"])
        .arg(inside.join("mapping.yaml"))
        .arg("--customers")
        .arg(project.erp("kunden.csv"))
        .arg(project.dir())
        .run()
        .await
        .expect(1);
    assert!(
        ran.stderr().contains("is inside the manifest directory")
            && ran
                .stderr()
                .contains("hint: keep it beside the manifest directory"),
        "{}",
        ran.stderr()
    );
}
