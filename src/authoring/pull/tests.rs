//! `pull` over a manifest file as the loader reads it and plan changes pointing into it: which
//! values are rewritten where, what is left and why, and the report.

use std::path::Path;

use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::*;
use crate::manifest::{self, Project};
use crate::plan::{FieldChange, Identity, Source, Summary, Target};

const FILE: &str = "customers/acme.yaml";

/// Comments, an anchor merged with `<<`, flow and block mappings, quoted values and keys, two
/// documents.
const ACME: &str = "\
# Acme and friends.
x-defaults: &defaults
  country: Germany
customers:
  - customer_number: K001
    company_name: \"Acme GmbH\"   # as on the invoice
    city: Berlin
    <<: *defaults
    contacts:
      - { email: anna@acme.example, name: Anna, surname: 'Roth' }
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        token_limit: 25
        expires: 2027-12-31
        starts: 2026-01-01
        software_release_limitation: \"3.2\"
        features: { Export: true, 'Import': false }
        limitations:
          Users: 50     # seats bought
        constrained_variables: { Modules: [Core] }
      - legacy_license_key: SUB-2
        product: Argus
        edition: Professional
        expires: { days_after_activation: 30 }
      - legacy_license_key: SUB-3
        product: Argus
        edition: Professional
        expires:
          days_after_activation: 7
---
customers:
  - customer_number: K002
    company_name: Beta
";

fn manifests(text: &str) -> Manifests {
    let customers = manifest::check_str(Path::new(FILE), text).expect("the manifest is valid");
    Manifests {
        project: Project::with_defaults(".".into(), "slascone.yaml".into()),
        customers,
        files: 1,
        digests: Default::default(),
    }
}

fn field(path: &str, before: Json, after: Json) -> FieldChange {
    FieldChange {
        path: path.to_owned(),
        before,
        after,
        source: None,
    }
}

/// An update of the object whose entry starts at `origin`.
fn update(identity: Identity, key: &str, origin: &Origin, fields: Vec<FieldChange>) -> Change {
    Change {
        key: key.to_owned(),
        action: Action::Update,
        identity,
        fields,
        links: Vec::new(),
        fingerprint: Some("fp".to_owned()),
        depends_on: None,
        origin: Some(origin.clone()),
        risk: Default::default(),
        risk_reasons: Vec::new(),
    }
}

fn customer(number: &str) -> Identity {
    Identity::CustomerByNumber {
        customer_number: number.to_owned(),
        id: Some(Uuid::nil()),
    }
}

fn license(legacy: &str) -> Identity {
    Identity::License {
        id: Some(Uuid::nil()),
        product: "Argus".to_owned(),
        legacy_license_key: Some(legacy.to_owned()),
        edition_based: false,
    }
}

/// An update of the license `Argus/<legacy>` whose entry starts at `origin`.
fn license_update(legacy: &str, origin: &Origin, fields: Vec<FieldChange>) -> Change {
    update(license(legacy), &format!("Argus/{legacy}"), origin, fields)
}

/// An update of `expires` in days after activation, `before` (SLASCONE's) and `after`.
fn days_update(legacy: &str, origin: &Origin, before: i64, after: i64) -> Change {
    let days = |n: i64| json!({ "days_after_activation": n });
    license_update(
        legacy,
        origin,
        vec![field("expires", days(before), days(after))],
    )
}

fn plan(changes: Vec<Change>, unmanaged: Vec<Unmanaged>) -> Plan {
    Plan {
        format_version: crate::plan::FORMAT_VERSION,
        target: Target {
            api_url: "https://api365.slascone.com".to_owned(),
            isv_id: Uuid::nil(),
        },
        summary: Summary::default(),
        changes,
        unmanaged,
        warnings: Vec::new(),
    }
}

/// The plan of a portal user's edits to everything in [`ACME`], a license SLASCONE does not
/// have, and a customer no manifest mentions.
fn portal_edits(manifests: &Manifests) -> Plan {
    let k001 = &manifests.customers[0];
    let (sub1, sub2, sub3) = (&k001.licenses[0], &k001.licenses[1], &k001.licenses[2]);
    let mut reporting = field("features.Reporting", json!(true), json!(false));
    reporting.source = Some(Source::Edition);
    plan(
        vec![
            update(
                customer("K001"),
                "K001",
                &k001.origin,
                vec![
                    field("city", json!("Hamburg"), json!("Berlin")),
                    field("company_name", json!("Acme AG"), json!("Acme GmbH")),
                    field("country", json!("Austria"), json!("Germany")),
                ],
            ),
            update(
                customer("K002"),
                "K002",
                &manifests.customers[1].origin,
                vec![field("company_name", Json::Null, json!("Beta"))],
            ),
            license_update(
                "SUB-1",
                &sub1.origin,
                vec![
                    field(
                        "constrained_variables.Modules",
                        json!(["Core", "Analytics"]),
                        json!(["Core"]),
                    ),
                    field("edition", json!("Enterprise"), json!("Professional")),
                    field("expires", json!("2028-06-30"), json!("2027-12-31")),
                    field("features.Export", json!(false), json!(true)),
                    field("features.Import", json!(true), json!(false)),
                    reporting,
                    field("limitations.Users", json!(40), json!(50)),
                    field("software_release_limitation", Json::Null, json!("3.2")),
                    field("starts", json!("2026-02-01"), json!("2026-01-01")),
                    field("token_limit", json!(30), json!(25)),
                ],
            ),
            days_update("SUB-2", &sub2.origin, 60, 30),
            days_update("SUB-3", &sub3.origin, 14, 7),
            Change {
                action: Action::Create,
                ..license_update("NEW-1", &k001.origin, Vec::new())
            },
            update(
                Identity::ContactByNumber {
                    customer_number: "K001".to_owned(),
                    email: "anna@acme.example".to_owned(),
                    id: Some(Uuid::nil()),
                },
                "K001/anna@acme.example",
                &k001.contacts[0].origin,
                vec![field("surname", json!("Rot"), json!("Roth"))],
            ),
        ],
        vec![Unmanaged {
            kind: Kind::Customer,
            key: "K999".to_owned(),
        }],
    )
}

/// `pull` then the edit of the one file: the new text and the report.
fn pulled(text: &str, plan: impl Fn(&Manifests) -> Plan) -> (String, Pull) {
    let manifests = manifests(text);
    let mut pull = pull(&manifests, &plan(&manifests));
    let out = match pull.files.as_mut_slice() {
        [] => text.to_owned(),
        [file] => {
            assert_eq!(&*file.file, Path::new(FILE));
            file.edit(text).unwrap()
        }
        more => panic!("one file expected: {more:?}"),
    };
    (out, pull)
}

fn report(pull: &Pull, dry_run: bool) -> String {
    let mut out = Vec::new();
    render(pull, dry_run, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_managed_value_is_rewritten_in_its_place() {
    let (out, _) = pulled(ACME, portal_edits);
    let expected = ACME
        .replace("\"Acme GmbH\"", "\"Acme AG\"")
        .replace("city: Berlin", "city: Hamburg")
        .replace("surname: 'Roth'", "surname: 'Rot'")
        .replace(
            "edition: Professional\n        token_limit: 25",
            "edition: Enterprise\n        token_limit: 30",
        )
        .replace("expires: 2027-12-31", "expires: 2028-06-30")
        .replace("starts: 2026-01-01", "starts: 2026-02-01")
        .replace("\"3.2\"", "\"none\"")
        .replace(
            "{ Export: true, 'Import': false }",
            "{ Export: false, 'Import': true }",
        )
        .replace("Users: 50     #", "Users: 40     #")
        .replace("days_after_activation: 30", "days_after_activation: 60")
        .replace("days_after_activation: 7", "days_after_activation: 14");
    assert_eq!(out, expected);
    // What is read back is what SLASCONE holds.
    let again = manifests(&out);
    let k001 = &again.customers[0];
    let sub1 = &k001.licenses[0];
    assert_eq!(sub1.edition.value, "Enterprise");
    assert_eq!(
        manifest::written(&sub1.fields, "software_release_limitation")
            .unwrap()
            .value,
        json!("none")
    );
    assert_eq!(
        manifest::written(&k001.licenses[2].fields, "expires")
            .unwrap()
            .value,
        json!({ "days_after_activation": 14 })
    );
}

#[test]
fn what_cannot_be_rewritten_in_place_is_reported_with_its_reason() {
    let (_, pull) = pulled(ACME, portal_edits);
    let skipped: Vec<(&str, &str, &str)> = pull.files[0]
        .values
        .iter()
        .filter_map(|value| match &value.fate {
            Fate::Skipped(reason) => {
                Some((value.key.as_str(), value.path.as_str(), reason.as_str()))
            }
            _ => None,
        })
        .collect();
    insta::assert_debug_snapshot!(skipped, @r#"
    [
        (
            "K001",
            "country",
            "the value at line 3, column 12 comes from an anchor (`&defaults`), which aliases (`*defaults`) may reuse: editing it would change every place that uses the anchor",
        ),
        (
            "Argus/SUB-1",
            "constrained_variables.Modules",
            "a list of values is left to edit by hand: pull rewrites single values",
        ),
        (
            "K002",
            "company_name",
            "SLASCONE holds no value for it, and a manifest cannot write none: delete the line to stop managing the field, or keep it to restore the value with apply",
        ),
    ]
    "#);
    // The edition's own values are not the manifest's: not pulled, not listed.
    assert!(
        pull.files[0]
            .values
            .iter()
            .all(|v| v.path != "features.Reporting")
    );
}

#[test]
fn the_report_lists_each_value_and_what_there_is_nothing_to_pull_from() {
    let (_, pull) = pulled(ACME, portal_edits);
    insta::assert_snapshot!(report(&pull, false));
}

#[test]
fn a_dry_run_says_what_would_be_pulled_and_shows_the_diff() {
    let (out, pull) = pulled(ACME, portal_edits);
    let last = report(&pull, true);
    assert!(
        last.ends_with("Would pull 13 values into 1 file; 3 not pulled.\n"),
        "{last}"
    );
    insta::assert_snapshot!(unified_diff(Path::new(FILE), ACME, &out));
}

#[test]
fn a_license_under_another_customer_is_left_whole() {
    let (out, pull) = pulled(ACME, |manifests| {
        let sub1 = &manifests.customers[0].licenses[0];
        plan(
            vec![license_update(
                "SUB-1",
                &sub1.origin,
                vec![
                    field("customer", json!("K002"), json!("K001")),
                    field("token_limit", json!(30), json!(25)),
                ],
            )],
            Vec::new(),
        )
    });
    assert_eq!(out, ACME);
    insta::assert_snapshot!(report(&pull, false), @r#"
    customers/acme.yaml
      ! license Argus/SUB-1 customer: "K001" → "K002" (line 12) not pulled: SLASCONE has this license under customer K002; moving its entry to that customer's `licenses` is left to do by hand, so none of its values is pulled
    
    Nothing to pull; 1 not pulled.
    "#);
}

#[test]
fn an_expires_that_changes_form_is_left_as_it_is() {
    let forms = [
        ("expires: 2027-12-31", json!("2027-12-31"), json!("never")),
        ("expires: never", json!("never"), json!("2027-12-31")),
        (
            "expires: { days_after_activation: 30 }",
            json!({ "days_after_activation": 30 }),
            json!("2027-12-31"),
        ),
        (
            "expires: 2027-12-31",
            json!("2027-12-31"),
            json!({ "days_after_activation": 5 }),
        ),
    ];
    let mut reasons = Vec::new();
    for (written, after, before) in forms {
        let text = format!(
            "customers:\n  - customer_number: K001\n    licenses:\n      - legacy_license_key: S\n        product: Argus\n        edition: Professional\n        {written}\n"
        );
        let (out, pull) = pulled(&text, |manifests| {
            let entry = &manifests.customers[0].licenses[0];
            plan(
                vec![license_update(
                    "S",
                    &entry.origin,
                    vec![field("expires", before.clone(), after.clone())],
                )],
                Vec::new(),
            )
        });
        assert_eq!(out, text);
        match &pull.files[0].values[0].fate {
            Fate::Skipped(reason) => reasons.push(reason.clone()),
            other => panic!("{written}: {other:?}"),
        }
    }
    insta::assert_debug_snapshot!(reasons, @r#"
    [
        "`expires` changes form, from a date to `never`: only a value of the same form is rewritten in place, so this is left to edit by hand",
        "`expires` changes form, from `never` to a date: only a value of the same form is rewritten in place, so this is left to edit by hand",
        "`expires` changes form, from `days_after_activation` to a date: only a value of the same form is rewritten in place, so this is left to edit by hand",
        "`expires` changes form, from a date to `days_after_activation`: only a value of the same form is rewritten in place, so this is left to edit by hand",
    ]
    "#);
}

#[test]
fn map_entries_are_found_by_their_key_in_flow_and_block_mappings() {
    let text = "\
customers:
  - customer_number: K001
    licenses:
      - legacy_license_key: S
        product: Argus
        edition: Professional
        variables: {\"Region\": EU}   # flow, quoted key
        limitations:
          # block, commented
          'Users':   50
          Projects: 100
        features: {Export: true}
";
    let (out, _) = pulled(text, |manifests| {
        let entry = &manifests.customers[0].licenses[0];
        plan(
            vec![license_update(
                "S",
                &entry.origin,
                vec![
                    field("features.Export", json!(false), json!(true)),
                    field("limitations.Projects", json!(150), json!(100)),
                    field("limitations.Users", json!(60), json!(50)),
                    field("variables.Region", json!("US West"), json!("EU")),
                ],
            )],
            Vec::new(),
        )
    });
    assert_eq!(
        out,
        text.replace("EU}", "US West}")
            .replace("'Users':   50", "'Users':   60")
            .replace("Projects: 100", "Projects: 150")
            .replace("{Export: true}", "{Export: false}")
    );
}

#[test]
fn creates_and_unmanaged_objects_are_listed_and_nothing_is_written() {
    let (out, pull) = pulled(ACME, |manifests| {
        let k002 = &manifests.customers[1];
        plan(
            vec![Change {
                action: Action::Create,
                ..update(customer("K002"), "K002", &k002.origin, Vec::new())
            }],
            (0..12)
                .map(|n| Unmanaged {
                    kind: Kind::License,
                    key: format!("Argus/OLD-{n:02}"),
                })
                .collect(),
        )
    });
    assert_eq!(out, ACME);
    assert!(pull.files.is_empty());
    insta::assert_snapshot!(report(&pull, false), @r"
    Not in SLASCONE, so nothing to pull (apply creates them):
      + customer K002 (customers/acme.yaml:34:5)
    12 objects in SLASCONE that no manifest mentions, not pulled (`slascone-sync export` writes them as manifests): license Argus/OLD-00, license Argus/OLD-01, license Argus/OLD-02, license Argus/OLD-03, license Argus/OLD-04, license Argus/OLD-05, license Argus/OLD-06, license Argus/OLD-07, license Argus/OLD-08, license Argus/OLD-09, and 2 more
    Nothing to pull.
    ");
}

#[test]
fn a_file_is_as_read_only_while_it_holds_the_very_same_bytes() {
    let read = manifest::digest(ACME.as_bytes());
    assert!(still_as_read(&read, ACME.as_bytes()));
    // A comment, a trailing space: no value moves, but someone saved the file.
    assert!(!still_as_read(
        &read,
        ACME.replace("# Acme", "# ACME").as_bytes()
    ));
    assert!(!still_as_read(&read, format!("{ACME} ").as_bytes()));
}
