//! `pull`: portal edits written back into hand-kept manifests, byte-exact, through the binary
//! against a sandbox edited over its HTTP API as a portal user would; what cannot be pulled in
//! place is reported and left; a dry run shows the diff and writes nothing; a file saved while
//! pull runs is not overwritten.

use std::path::Path;

use slascone_sync::cli::{GlobalArgs, PullArgs, ReadArgs};
use slascone_sync::exit::Outcome;
use slascone_sync::remote::Client;
use slascone_sync::remote::wire::{
    DataExchangeUpdateCustomerDto, LicenseDto, ServerStamped, expiration_mode,
};
use slascone_sync::sandbox::SandboxHandle;
use uuid::Uuid;

use crate::support::{self, Cli, project, write_files};

/// Comments, flow mappings, quoted strings in all three styles, an anchor brought in with `<<`,
/// ignore_changes, a contact, and two documents.
const NORTH: &str = "\
# Customers of the north region, kept by hand.
x-trial: &trial
  license_type: Trial
customers:
  - customer_number: K001
    company_name: 'Acme GmbH'        # as on the contract
    customer_type: Enterprise
    country: Germany
    city: \"Berlin\"
    phone: \"+49 30 1\"
    ignore_changes: [phone]
    contacts:
      - { email: anna@acme.example, name: Anna, surname: Roth }
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        token_limit: 25            # bought in 2026
        expires: 2027-12-31
        features: { Export: true }
        limitations:
          Users: 50
      - legacy_license_key: SUB-2
        product: Argus
        edition: Professional
        <<: *trial
        expires: { days_after_activation: 30 }
---
# The second document: Globex.
customers:
  - customer_number: K002
    company_name: Globex AG
    customer_type: SMB
    country: Austria
    licenses:
      - legacy_license_key: SUB-3
        product: Argus
        edition: Professional
        active: true
";

async fn argus(client: &Client) -> Uuid {
    let products = client.products().await.unwrap();
    products.into_iter().find(|p| p.name == "Argus").unwrap().id
}

async fn license(client: &Client, legacy: &str) -> LicenseDto {
    let mut found = client
        .find_licenses(argus(client).await, legacy)
        .await
        .unwrap()
        .remove(0);
    found.clear_server_fields();
    found
}

async fn edit_license(client: &Client, legacy: &str, edit: impl FnOnce(&mut LicenseDto)) {
    let mut found = license(client, legacy).await;
    edit(&mut found);
    client.update_license(&found, false).await.unwrap();
}

async fn edit_customer(client: &Client, edit: DataExchangeUpdateCustomerDto) {
    client.update_customer_by_number(&edit).await.unwrap();
}

async fn customer_id(client: &Client, number: &str) -> Uuid {
    let found = client.get_customer_by_number(number).await.unwrap();
    found.unwrap().id
}

/// The id of the Argus edition `name`.
async fn edition(client: &Client, name: &str) -> Uuid {
    let templates = client.templates(argus(client).await).await.unwrap();
    templates.into_iter().find(|t| t.name == name).unwrap().id
}

/// [`NORTH`] applied, then edited in the portal: every kind of managed value, a field under
/// ignore_changes, a contact, and SUB-3's edition (whose values come with it).
async fn portal_edits(sandbox: &SandboxHandle) -> tempfile::TempDir {
    let dir = project(sandbox, &[("customers/north.yaml", NORTH)], "");
    support::apply_ok(dir.path()).await;
    let client = support::client(sandbox);
    edit_customer(
        &client,
        DataExchangeUpdateCustomerDto {
            customer_number: "K001".into(),
            customer_name: Some("Acme SE".into()),
            city: Some("Hamburg".into()),
            phone: Some("+49 40 2".into()),
            ..Default::default()
        },
    )
    .await;
    edit_customer(
        &client,
        DataExchangeUpdateCustomerDto {
            customer_number: "K002".into(),
            customer_name: Some("Globex \"North\" AG: Wien".into()),
            ..Default::default()
        },
    )
    .await;
    let acme = customer_id(&client, "K001").await;
    let mut anna = client.list_contacts(acme).await.unwrap().remove(0);
    anna.surname = "Rot".into();
    anna.clear_server_fields();
    client.update_contact(acme, &anna).await.unwrap();
    edit_license(&client, "SUB-1", |license| {
        license.token_limit = 30;
        let date = license.expiration_date_utc.take().unwrap();
        license.expiration_date_utc = Some(date.replace("2027-12-31", "2028-06-30").into());
        for feature in license.license_features.iter_mut().flatten() {
            if feature.feature_name.as_deref() == Some("Export") {
                feature.is_active = false;
            }
        }
        for limitation in license.license_limitations.iter_mut().flatten() {
            if limitation.limitation_name.as_deref() == Some("Users") {
                limitation.limit = Some(40);
            }
        }
    })
    .await;
    edit_license(&client, "SUB-2", |license| {
        license.valid_days_count = Some(45);
    })
    .await;
    let enterprise = edition(&client, "Enterprise").await;
    edit_license(&client, "SUB-3", |license| {
        license.template_id = enterprise;
        license.is_active = Some(false);
    })
    .await;
    dir
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// The plan as JSON: its changes' (key, field paths).
async fn planned(dir: &Path) -> Vec<(String, Vec<String>)> {
    let plan = Cli::new(["plan", "--format", "json"])
        .target(dir)
        .run()
        .await
        .expect(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout()).unwrap();
    json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            let paths = change["fields"].as_array().unwrap();
            (
                change["key"].as_str().unwrap().to_owned(),
                paths
                    .iter()
                    .map(|f| f["path"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Snapshot settings: the temporary directory as `[DIR]`.
fn settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(&regex_escape(&dir.display().to_string()), "[DIR]");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$#&-~".contains(c);
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[tokio::test]
async fn portal_edits_are_pulled_byte_exact_and_plan_then_shows_no_changes() {
    let sandbox = support::sandbox().await;
    let dir = portal_edits(&sandbox).await;
    support::clear_requests(&sandbox).await;

    let pull = Cli::new(["pull"]).target(dir.path()).run().await.expect(0);
    assert!(
        pull.stdout().ends_with("Pulled 11 values into 1 file.\n"),
        "{}",
        pull.stdout()
    );
    let requests = support::requests(&sandbox).await;
    assert!(support::writes(&requests).is_empty());
    // The plan behind pull lowers SUB-1's token_limit (SLASCONE 30, manifest 25), but pull
    // shows no risk, so it reads no usage.
    assert!(
        requests.iter().all(|r| !r.path.ends_with("/assignments")),
        "{requests:?}"
    );
    // Only the values' text changed: quoting kept where the value allows it, every comment,
    // the anchor, the flow mappings and the second document as they were.
    let expected = NORTH
        .replace("'Acme GmbH'", "'Acme SE'")
        .replace("city: \"Berlin\"", "city: \"Hamburg\"")
        .replace("surname: Roth", "surname: Rot")
        .replace("token_limit: 25 ", "token_limit: 30 ")
        .replace("expires: 2027-12-31", "expires: 2028-06-30")
        .replace("{ Export: true }", "{ Export: false }")
        .replace("Users: 50", "Users: 40")
        .replace("days_after_activation: 30", "days_after_activation: 45")
        .replace(
            "company_name: Globex AG",
            r#"company_name: "Globex \"North\" AG: Wien""#,
        )
        .replace(
            "edition: Professional\n        active: true",
            "edition: Enterprise\n        active: false",
        );
    assert_eq!(read(dir.path(), "customers/north.yaml"), expected);
    // The phone is under ignore_changes, and SUB-3's new edition brings values its manifest
    // does not write: none of them is pulled, and the plan has nothing left to change.
    assert!(!expected.contains("+49 40 2"));
    assert_eq!(planned(dir.path()).await, []);
    let again = Cli::new(["pull"]).target(dir.path()).run().await.expect(0);
    assert_eq!(again.stdout(), "Nothing to pull.\n");
    assert_eq!(read(dir.path(), "customers/north.yaml"), expected);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn what_cannot_be_pulled_in_place_is_reported_and_left_as_it_is() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("customers/north.yaml", NORTH)], "");
    support::apply_ok(dir.path()).await;
    let client = support::client(&sandbox);
    // SUB-2's license type comes from the `&trial` anchor; SUB-1 no longer expires; SUB-3
    // moves to Acme (and is deactivated). SUB-5 and K003 exist only in SLASCONE.
    let types = client.license_types().await.unwrap();
    let commercial = types
        .iter()
        .find(|t| t.name.as_deref() == Some("Commercial"))
        .unwrap()
        .id;
    edit_license(&client, "SUB-2", |license| {
        license.license_type_id = Some(commercial);
    })
    .await;
    edit_license(&client, "SUB-1", |license| {
        license.expiration_mode = Some(expiration_mode::NEVER);
        license.expiration_date_utc = None;
    })
    .await;
    let acme = customer_id(&client, "K001").await;
    edit_license(&client, "SUB-3", |license| {
        license.customer_id = acme;
        license.is_active = Some(false);
    })
    .await;
    let mut stray = license(&client, "SUB-1").await;
    stray.id = Uuid::new_v4();
    stray.legacy_license_key = Some("SUB-5".into());
    client.create_license(&stray).await.unwrap();
    client
        .create_customer_by_number(&slascone_sync::remote::wire::DataExchangeAddCustomerDto {
            customer_number: "K003".into(),
            customer_name: "Initech".into(),
            customer_type: "SMB".into(),
            country: "Germany".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // SUB-6 is written in a manifest, but not in SLASCONE yet.
    let with_sub6 = NORTH.replace(
        "      - legacy_license_key: SUB-3",
        "      - legacy_license_key: SUB-6\n        product: Argus\n        edition: Professional\n      - legacy_license_key: SUB-3",
    );
    write_files(dir.path(), &[("customers/north.yaml", &with_sub6)]);

    let before = planned(dir.path()).await;
    let pull = Cli::new(["pull"]).target(dir.path()).run().await.expect(0);
    let _bound = settings(dir.path()).bind_to_scope();
    insta::assert_snapshot!("pull_skipped", pull.stdout());
    assert_eq!(read(dir.path(), "customers/north.yaml"), with_sub6);
    assert_eq!(planned(dir.path()).await, before);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_shows_the_diff_and_writes_nothing() {
    let sandbox = support::sandbox().await;
    let dir = portal_edits(&sandbox).await;
    let ran = Cli::new(["pull", "--dry-run"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    assert_eq!(read(dir.path(), "customers/north.yaml"), NORTH);
    assert!(
        ran.stderr()
            .ends_with("Would pull 11 values into 1 file.\n"),
        "{}",
        ran.stderr()
    );
    let _bound = settings(dir.path()).bind_to_scope();
    insta::assert_snapshot!("pull_dry_run", ran.stdout());
    sandbox.shutdown().await;
}

/// Two files against the embedded sandbox, which holds other values than both: it was applied
/// from other manifests.
fn drifted_embedded_project() -> tempfile::TempDir {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let dir = support::copy_dir(&catalog);
    let files = ["customers/acme.yaml", "customers/globex.yaml"];
    let originals: Vec<String> = files.iter().map(|f| read(dir.path(), f)).collect();
    std::fs::write(
        dir.path().join(files[0]),
        originals[0].replace("city: Berlin", "city: Bonn"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(files[1]),
        originals[1].replace("city: Wien", "city: Graz"),
    )
    .unwrap();
    Cli::new(["apply", "--sandbox", "--auto-approve"])
        .target(dir.path())
        .run_blocking()
        .expect(0);
    for (file, text) in files.iter().zip(&originals) {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    dir
}

#[tokio::test]
async fn a_file_saved_while_pull_runs_is_not_overwritten_and_the_others_are_written() {
    let dir = drifted_embedded_project();
    let acme = dir.path().join("customers/acme.yaml");
    let saved = read(dir.path(), "customers/acme.yaml").replace("# A customer", "# Our customer");
    let global = GlobalArgs {
        sandbox: true,
        ..GlobalArgs::default()
    };
    let args = PullArgs {
        dir: dir.path().to_path_buf(),
        dry_run: false,
        read: ReadArgs {
            parallelism: 8,
            page_size: 500,
        },
    };
    let mut seen = Vec::new();
    let outcome = slascone_sync::cmd::pull::run_with(&global, &args, &mut |path| {
        seen.push(path.to_path_buf());
        // Someone saves acme.yaml in an editor after pull read it.
        if path == acme {
            std::fs::write(path, &saved).unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::Refused);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(read(dir.path(), "customers/acme.yaml"), saved);
    assert!(read(dir.path(), "customers/globex.yaml").contains("city: Graz"));

    // Through the binary: the file saved meanwhile is pulled now, and everything matches.
    let ran = Cli::new(["pull", "--sandbox"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    assert!(
        ran.stdout().ends_with("Pulled 1 value into 1 file.\n"),
        "{}",
        ran.stdout()
    );
    assert_eq!(
        read(dir.path(), "customers/acme.yaml"),
        saved.replace("city: Berlin", "city: Bonn")
    );
}

#[tokio::test]
async fn a_broken_manifest_is_an_error_naming_its_place_and_nothing_is_written() {
    let sandbox = support::sandbox().await;
    let broken = NORTH.replace("token_limit: 25 ", "token_limit: many ");
    let dir = project(&sandbox, &[("customers/north.yaml", &broken)], "");
    let ran = Cli::new(["pull"]).target(dir.path()).run().await.expect(1);
    assert!(
        ran.stderr()
            .contains("customers/north.yaml:18:22: `token_limit` must be a whole number"),
        "{}",
        ran.stderr()
    );
    assert_eq!(read(dir.path(), "customers/north.yaml"), broken);
    sandbox.shutdown().await;
}
