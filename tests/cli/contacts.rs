//! A customer's contact persons: written by the endpoint their customer is written by, read only
//! for customers whose manifests list contacts, and never deleted.

use std::path::Path;

use slascone_sync::remote::wire::{CustomerContactDto, CustomerDto};
use slascone_sync::sandbox::{PatchSemantics, SandboxHandle};
use uuid::Uuid;

use crate::support::{self, Cli, api, project, write_files};

const ACME_ID: &str = "3b9f2c4e-1d7a-4e6b-8c5f-9a0b1c2d3e4f";

/// Acme (by id) and Globex (by number), each with the contacts given, and Initech without any.
fn manifest(acme_contacts: &str, globex_contacts: &str) -> String {
    format!(
        "customers:
  - id: {ACME_ID}
    customer_number: K1
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
{acme_contacts}  - customer_number: K2
    company_name: Globex AG
    customer_type: SMB
    country: Austria
{globex_contacts}  - customer_number: K3
    company_name: Initech
    customer_type: SMB
    country: Austria
"
    )
}

const ANNA: &str = "    contacts:
      - email: anna@acme.example
        name: Anna
        surname: Roth
        language: de
";

const BEN: &str = "    contacts:
      - { email: ben@globex.example, name: Ben, surname: Huber }
";

async fn contacts_of(sandbox: &SandboxHandle, customer_id: Uuid) -> Vec<CustomerContactDto> {
    support::client(sandbox)
        .list_contacts(customer_id)
        .await
        .unwrap()
}

async fn customer(sandbox: &SandboxHandle, number: &str) -> CustomerDto {
    support::client(sandbox)
        .get_customer_by_number(number)
        .await
        .unwrap()
        .unwrap()
}

async fn plan(dir: &Path) -> String {
    Cli::new(["plan"])
        .target(dir)
        .run()
        .await
        .expect(0)
        .stdout()
}

#[tokio::test]
async fn contacts_go_by_their_customers_endpoint_and_only_listed_customers_are_read() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(ANNA, BEN))], "");
    support::apply_ok(dir.path()).await;
    // Concurrent, so in either order.
    let mut writes: Vec<(String, String)> = support::writes(&support::requests(&sandbox).await)
        .into_iter()
        .filter(|r| r.path.contains("contacts"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    writes.sort();
    assert_eq!(
        writes,
        [
            (
                "POST".to_owned(),
                api(&format!("/customers/{ACME_ID}/contacts"))
            ),
            ("PUT".to_owned(), api("/data_exchange/customers/contacts")),
        ]
    );
    let acme = ACME_ID.parse().unwrap();
    let anna = contacts_of(&sandbox, acme).await;
    assert_eq!(anna.len(), 1);
    assert_eq!(
        (
            anna[0].name.as_str(),
            anna[0].surname.as_str(),
            anna[0].language.as_deref()
        ),
        ("Anna", "Roth", Some("de"))
    );
    let globex = customer(&sandbox, "K2").await.id;
    assert_eq!(contacts_of(&sandbox, globex).await[0].name, "Ben");

    // A plan reads the contacts of the two customers that list some: the lower bound (4
    // requests with no products) plus one each.
    support::clear_requests(&sandbox).await;
    assert_eq!(plan(dir.path()).await, "No changes.\n");
    let log = support::requests(&sandbox).await;
    let reads: Vec<&str> = log
        .iter()
        .filter(|r| r.path.ends_with("/contacts"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(log.len(), 4 + 2, "{log:#?}");
    let initech = customer(&sandbox, "K3").await.id;
    assert!(!reads.iter().any(|path| path.contains(&initech.to_string())));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn updates_keep_what_the_manifest_does_not_write_under_merge_and_replace() {
    for patch in [PatchSemantics::Merge, PatchSemantics::Replace] {
        let mut config = support::config();
        config.patch_semantics = patch;
        let sandbox = support::start(config).await;
        let dir = project(&sandbox, &[("c.yaml", &manifest(ANNA, BEN))], "");
        support::apply_ok(dir.path()).await;
        // Someone gives both contacts a phone number in the portal.
        let client = support::client(&sandbox);
        let acme: Uuid = ACME_ID.parse().unwrap();
        let mut anna = contacts_of(&sandbox, acme).await.remove(0);
        anna.phone = Some("+49 1".into());
        client.update_contact(acme, &anna).await.unwrap();
        let globex = customer(&sandbox, "K2").await.id;
        let mut ben = contacts_of(&sandbox, globex).await.remove(0);
        ben.phone = Some("+43 1".into());
        ben.is_customer_portal_user = Some(true);
        client.update_contact(globex, &ben).await.unwrap();

        let edited = manifest(
            &ANNA.replace("language: de", "language: en"),
            &BEN.replace("Huber", "Gruber"),
        );
        write_files(dir.path(), &[("c.yaml", &edited)]);
        let planned = plan(dir.path()).await;
        assert!(
            planned.contains("~ contact K1/anna@acme.example (PATCH /customers/"),
            "{planned}"
        );
        assert!(
            planned.contains(
                "~ contact K2/ben@globex.example (PUT /data_exchange/customers/contacts)\n    surname: \"Huber\" → \"Gruber\"\n"
            ),
            "{planned}"
        );
        support::apply_ok(dir.path()).await;
        let anna = contacts_of(&sandbox, acme).await.remove(0);
        assert_eq!(
            (anna.language.as_deref(), anna.phone.as_deref()),
            (Some("en"), Some("+49 1")),
            "{patch:?}"
        );
        let ben = contacts_of(&sandbox, globex).await.remove(0);
        assert_eq!(
            (
                ben.surname.as_str(),
                ben.phone.as_deref(),
                ben.is_customer_portal_user
            ),
            ("Gruber", Some("+43 1"), Some(true)),
            "{patch:?}"
        );
        support::assert_converged(dir.path()).await;
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn contacts_no_manifest_lists_are_left_alone_and_ignored_ones_are_not_read() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(ANNA, ""))], "");
    support::apply_ok(dir.path()).await;
    let acme: Uuid = ACME_ID.parse().unwrap();
    // A second contact, made in the portal.
    let carl = CustomerContactDto {
        name: "Carl".into(),
        surname: "Berg".into(),
        email: "carl@acme.example".into(),
        ..CustomerContactDto::default()
    };
    support::client(&sandbox)
        .create_contact(acme, &carl)
        .await
        .unwrap();
    // Listed as unmanaged in every format, and left alone by apply.
    assert_eq!(
        plan(dir.path()).await,
        "1 unmanaged object left alone: contact K1/carl@acme.example\n\nNo changes.\n"
    );
    let json = Cli::new(["plan", "--format", "json"])
        .target(dir.path())
        .run()
        .await
        .expect(0)
        .stdout();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["unmanaged"],
        serde_json::json!([{"kind": "contact", "key": "K1/carl@acme.example"}])
    );
    assert_eq!(json["summary"]["unmanaged"], 1);
    let markdown = Cli::new(["plan", "--format", "markdown"])
        .target(dir.path())
        .run()
        .await
        .expect(0)
        .stdout();
    assert!(
        markdown.contains("- contact K1/carl@acme.example\n"),
        "{markdown}"
    );
    support::clear_requests(&sandbox).await;
    Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    let held = contacts_of(&sandbox, acme).await;
    let held_carl = held.iter().find(|c| c.email == carl.email).unwrap();
    assert_eq!(
        (held_carl.name.as_str(), held_carl.surname.as_str()),
        ("Carl", "Berg")
    );

    // With `ignore_changes: [contacts]`, Acme's contacts are neither read nor written.
    let ignored = manifest(
        &format!(
            "    ignore_changes: [contacts]\n{}",
            ANNA.replace("Roth", "Ross")
        ),
        "",
    );
    write_files(dir.path(), &[("c.yaml", &ignored)]);
    support::clear_requests(&sandbox).await;
    // Not read, so not listed either.
    assert_eq!(plan(dir.path()).await, "No changes.\n");
    let log = support::requests(&sandbox).await;
    assert!(
        !log.iter().any(|r| r.path.ends_with("/contacts")),
        "{log:#?}"
    );
    assert_eq!(contacts_of(&sandbox, acme).await.len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn making_someone_a_portal_user_is_warned_about() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(ANNA, ""))], "");
    support::apply_ok(dir.path()).await;
    let portal = manifest(&format!("{ANNA}        portal_user: true\n"), "");
    write_files(dir.path(), &[("c.yaml", &portal)]);
    let planned = Cli::new(["plan", "--format", "json"])
        .target(dir.path())
        .run()
        .await
        .expect(0)
        .stdout();
    let plan: serde_json::Value = serde_json::from_str(&planned).unwrap();
    assert_eq!(plan["warnings"][0]["kind"], "portal_invitation");
    let warning = plan["warnings"][0]["message"].as_str().unwrap();
    assert!(
        warning.starts_with("contact K1/anna@acme.example (")
            && warning.ends_with(
                "): making anna@acme.example a portal user may send them an invitation e-mail"
            ),
        "{warning}"
    );
    let change = &plan["changes"][0];
    assert_eq!(change["kind"], "contact");
    assert_eq!(change["email"], "anna@acme.example");
    assert_eq!(change["request"]["method"], "PATCH");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_saved_plan_with_contacts_applies_and_refuses_when_a_contact_changed() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(ANNA, BEN))], "");
    let saved = dir.path().join("plan.json");
    Cli::new(["plan", "--out"])
        .arg(&saved)
        .target(dir.path())
        .run()
        .await
        .expect(0);
    Cli::new(["apply", "--auto-approve", "--plan"])
        .arg(&saved)
        .target(dir.path())
        .run()
        .await
        .expect(0);
    support::assert_converged(dir.path()).await;

    let edited = manifest(&ANNA.replace("Roth", "Ross"), "");
    write_files(dir.path(), &[("c.yaml", &edited)]);
    Cli::new(["plan", "--out"])
        .arg(&saved)
        .target(dir.path())
        .run()
        .await
        .expect(0);
    // The contact changes in SLASCONE after the plan was made.
    let acme: Uuid = ACME_ID.parse().unwrap();
    let mut anna = contacts_of(&sandbox, acme).await.remove(0);
    anna.mobile = Some("+49 170 9".into());
    support::client(&sandbox)
        .update_contact(acme, &anna)
        .await
        .unwrap();
    let refused = Cli::new(["apply", "--auto-approve", "--plan"])
        .arg(&saved)
        .target(dir.path())
        .run()
        .await
        .expect(3);
    assert!(
        refused
            .stderr()
            .contains("  contact K1/anna@acme.example changed\n"),
        "{}",
        refused.stderr()
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_converge_when_answers_are_lost() {
    let mut config = support::config();
    // Every write is applied and its answer lost.
    config.drop_after_commit = 1.0;
    let sandbox = support::start(config).await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(ANNA, BEN))], "");
    support::apply_until_done(dir.path(), 8).await;
    support::assert_converged(dir.path()).await;
    let log = support::requests(&sandbox).await;
    for path in [
        api(&format!("/customers/{ACME_ID}/contacts")),
        api("/data_exchange/customers/contacts"),
    ] {
        assert!(
            log.iter().any(|r| r.dropped && r.path == path),
            "no answer of {path} was lost"
        );
    }
    let acme: Uuid = ACME_ID.parse().unwrap();
    assert_eq!(contacts_of(&sandbox, acme).await.len(), 1, "no duplicate");
    let globex = customer(&sandbox, "K2").await.id;
    assert_eq!(contacts_of(&sandbox, globex).await.len(), 1, "no duplicate");
    sandbox.shutdown().await;
}
