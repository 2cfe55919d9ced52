//! Fidelity to what SLASCONE documents: 204 answers, editions applied by SLASCONE, page numbering,
//! dates in the project's time zone, writes that do not take, and honest reports. The built
//! binary against the sandbox in each of its documented modes.

use std::collections::HashMap;

use serde_json::Value;
use slascone_sync::remote::wire::LicenseDto;
use slascone_sync::remote::wire::ServerStamped;
use slascone_sync::sandbox::{Catalog, EmptyAnswer, SandboxConfig, SandboxHandle};
use uuid::Uuid;

use crate::support::{self, ISV, KEY, cli, code, project, stderr, stdout, write_files};

/// Editions with consumption resets and constrained variables, which manifests do not write.
const CATALOG: &str = r#"
customer_types: [Enterprise, SMB]
license_types: [Commercial, Trial]
products:
  - name: Argus
    features: [Export, Reporting]
    limitations: [Users, Projects]
    variables: [Region]
    constrained_variables: { Modules: [Core, Analytics, Export] }
    editions:
      - name: Professional
        token_limit: 10
        features: { Export: true, Reporting: false }
        limitations:
          Users: 25
          Projects: { limit: 100, consumption_reset: { mode: 2, period_days: 30 } }
        variables: { Region: EU }
        constrained_variables: { Modules: [Core] }
      - name: Enterprise
        token_limit: 50
        features: { Export: true, Reporting: true }
        limitations:
          Users: 500
          Projects: { limit: 1000, consumption_reset: { mode: 3 } }
        variables: { Region: EU }
        constrained_variables: { Modules: [Core, Analytics] }
"#;

fn config() -> SandboxConfig {
    let catalog = Catalog::from_yaml_str(CATALOG, "fidelity catalog").unwrap();
    SandboxConfig::new(ISV, KEY, catalog)
}

fn manifest(explicit_projects: u32, edition: &str) -> String {
    format!(
        "customers:
  - customer_number: K1
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: E-1
        product: Argus
        edition: {edition}
      - legacy_license_key: X-1
        product: Argus
        edition: Professional
        limitations: {{ Projects: {explicit_projects} }}
"
    )
}

/// Every license of the sandbox, by legacy key.
async fn licenses(sandbox: &SandboxHandle) -> HashMap<String, LicenseDto> {
    let client = support::client(sandbox);
    let mut all = HashMap::new();
    for product in client.products().await.unwrap() {
        for license in client.list_licenses(product.id).await.unwrap() {
            all.insert(
                license.legacy_license_key.as_deref().unwrap().to_owned(),
                license,
            );
        }
    }
    all
}

/// (limit, consumption_reset_mode, consumption_reset_period_days) of a limitation, by name.
fn limitation(license: &LicenseDto, name: &str) -> (Option<i64>, i32, Option<i32>) {
    let entry = license
        .license_limitations
        .iter()
        .flatten()
        .find(|l| l.limitation_name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no limitation {name}: {license:?}"));
    (
        entry.limit,
        entry.consumption_reset_mode,
        entry.consumption_reset_period_days,
    )
}

#[tokio::test]
async fn editions_are_applied_by_slascone_and_their_resets_survive_create_and_update() {
    let sandbox = support::start(config()).await;
    let dir = project(
        &sandbox,
        &[("customers.yaml", &manifest(200, "Professional"))],
        "",
    );

    let plan = cli(&["plan", "--format", "json"], dir.path()).await;
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let edition_based = &plan["changes"][1];
    assert_eq!(edition_based["key"], "Argus/E-1");
    assert_eq!(edition_based["edition_based"], true);
    let fields = edition_based["fields"].as_array().unwrap();
    let modules_field = fields
        .iter()
        .find(|f| f["path"] == "constrained_variables.Modules")
        .unwrap();
    assert_eq!(modules_field["after"], serde_json::json!(["Core"]));
    assert_eq!(modules_field["source"], "edition");
    let edition_field = fields.iter().find(|f| f["path"] == "edition").unwrap();
    assert!(edition_field.get("source").is_none(), "{edition_field}");
    assert!(plan["changes"][2].get("edition_based").is_none());

    assert!(
        support::apply_ok(dir.path())
            .await
            .contains("Apply complete: 3 created, 0 updated, 0 failed.")
    );
    let all = licenses(&sandbox).await;
    let (edition_based, explicit) = (&all["E-1"], &all["X-1"]);
    // Created without entries, the license got what its edition holds, reset included.
    assert_eq!(
        limitation(edition_based, "Projects"),
        (Some(100), 2, Some(30))
    );
    assert_eq!(
        support::constrained_values(edition_based, "Modules"),
        ["Core"]
    );
    assert_eq!(edition_based.trial_days_count, Some(0), "the edition's");
    // Explicit: the manifest's value, every other property the edition's.
    assert_eq!(limitation(explicit, "Projects"), (Some(200), 2, Some(30)));
    assert_eq!(limitation(explicit, "Users"), (Some(25), 0, None));
    assert_eq!(support::constrained_values(explicit, "Modules"), ["Core"]);
    support::assert_converged(dir.path()).await;

    write_files(
        dir.path(),
        &[("customers.yaml", &manifest(300, "Professional"))],
    );
    support::clear_requests(&sandbox).await;
    assert!(
        support::apply_ok(dir.path())
            .await
            .contains("Apply complete: 0 created, 1 updated, 0 failed.")
    );
    let log = support::requests(&sandbox).await;
    let patch = support::writes(&log)[0];
    assert_eq!(
        patch.query.as_deref(),
        Some("apply_template_properties=false")
    );
    assert_eq!(
        limitation(&licenses(&sandbox).await["X-1"], "Projects"),
        (Some(300), 2, Some(30)),
        "an update keeps the reset"
    );

    // A new edition: SLASCONE applies it, everything manifests do not model included.
    write_files(
        dir.path(),
        &[("customers.yaml", &manifest(300, "Enterprise"))],
    );
    let plan = cli(&["plan"], dir.path()).await;
    let text = stdout(&plan);
    assert!(
        text.contains("    edition:                       \"Professional\" → \"Enterprise\"\n"),
        "{text}"
    );
    assert!(
        text.contains("limitations.Users:             25 → 500 (edition)\n"),
        "{text}"
    );
    support::clear_requests(&sandbox).await;
    assert!(
        support::apply_ok(dir.path())
            .await
            .contains("0 created, 1 updated, 0 failed.")
    );
    let log = support::requests(&sandbox).await;
    let writes = support::writes(&log);
    assert_eq!(writes.len(), 1, "{log:#?}");
    assert_eq!(
        writes[0].query.as_deref(),
        Some("apply_template_properties=true")
    );
    let moved = &licenses(&sandbox).await["E-1"];
    assert_eq!(moved.token_limit, 50);
    assert_eq!(limitation(moved, "Projects"), (Some(1000), 3, None));
    assert_eq!(
        support::constrained_values(moved, "Modules"),
        ["Core", "Analytics"]
    );
    support::assert_converged(dir.path()).await;
    sandbox.shutdown().await;
}

const TENANT: &str = r#"customers:
  - customer_number: K1
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: L-1
        product: Argus
        edition: Professional
  - id: 6b69b539-dfe4-41a0-9b41-1192afebb1ae
    customer_number: K2
    company_name: Globex AG
    customer_type: SMB
    country: Austria
    licenses:
      - legacy_license_key: L-2
        product: Argus
        edition: Enterprise
        token_limit: 20
"#;

/// A tenant with no customers answers its listings with 204; writes are answered with 204 too.
#[tokio::test]
async fn an_empty_tenant_answering_204_is_planned_and_applied() {
    let mut config = config();
    config.empty_listing = EmptyAnswer::NoContent;
    config.write_answer = EmptyAnswer::NoContent;
    let sandbox = support::start(config).await;
    let dir = project(&sandbox, &[("customers.yaml", TENANT)], "");

    let plan = cli(&["plan", "--detailed-exitcode"], dir.path()).await;
    assert_eq!(code(&plan), 2, "{}{}", stdout(&plan), stderr(&plan));
    assert!(stdout(&plan).contains("Plan: 4 to create, 0 to update, 0 unchanged, 0 unmanaged."));
    let log = support::requests(&sandbox).await;
    let empty: Vec<&str> = log
        .iter()
        .filter(|r| r.status == 204)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        empty,
        [
            support::api("/customers").as_str(),
            support::api("/licenses/filtered").as_str()
        ],
        "{log:#?}"
    );
    // The lower bound: 3 catalog lists, the customers, and detail, templates and count of the
    // one product; no pages, since nothing is there.
    assert_eq!(log.len(), 3 + 1 + 3, "{log:#?}");

    support::clear_requests(&sandbox).await;
    let out = support::apply_ok(dir.path()).await;
    assert!(
        out.contains("Apply complete: 4 created, 0 updated, 0 failed."),
        "{out}"
    );
    let log = support::requests(&sandbox).await;
    // One write per change, each answered 204, and exactly one read-back for each.
    let writes = support::writes(&log);
    assert_eq!(writes.len(), 4);
    assert!(writes.iter().all(|w| w.status == 204), "{log:#?}");
    let licenses_held = licenses(&sandbox).await;
    let mut read_backs: Vec<String> = log
        .iter()
        .filter(|r| {
            r.method == "GET"
                && (r.path.contains("/customers/by_number")
                    || r.path.starts_with(&support::api("/customers/6b69"))
                    || (r.path.starts_with(&support::api("/licenses/"))
                        && !r.path.ends_with("/types")))
        })
        .map(|r| r.path.clone())
        .collect();
    read_backs.sort();
    let mut expected = vec![
        support::api("/customers/6b69b539-dfe4-41a0-9b41-1192afebb1ae"),
        support::api("/customers/by_number"),
        support::api(&format!("/licenses/{}", licenses_held["L-1"].id)),
        support::api(&format!("/licenses/{}", licenses_held["L-2"].id)),
    ];
    expected.sort();
    assert_eq!(read_backs, expected, "{log:#?}");
    // Besides those: the plan's reads (3 catalog lists, the customers, the product's detail,
    // templates and count) and the writes.
    assert_eq!(log.len(), 7 + 4 + 4, "{log:#?}");
    support::assert_converged(dir.path()).await;
    sandbox.shutdown().await;
}

/// `expires` is the end of its day in the project's zone, and a date a portal user set at
/// local midnight reads as the same day.
#[tokio::test]
async fn a_portal_set_date_converges_in_the_project_time_zone() {
    let sandbox = support::start(config()).await;
    let license = "customers:
  - customer_number: K1
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: D-1
        product: Argus
        edition: Professional
        expires: 2027-06-30
";
    let dir = project(
        &sandbox,
        &[("customers.yaml", license)],
        "timezone: Europe/Berlin\n",
    );
    support::apply_ok(dir.path()).await;
    let client = support::client(&sandbox);
    let mut stored = licenses(&sandbox).await.remove("D-1").unwrap();
    assert_eq!(
        stored.expiration_date_utc.as_deref(),
        Some("2027-06-30T21:59:59Z"),
        "23:59:59 in Berlin"
    );

    // A portal user in Berlin sets midnight at the start of 30 June.
    stored.expiration_date_utc = Some("2027-06-29T22:00:00Z".into());
    stored.clear_server_fields();
    client.update_license(&stored, false).await.unwrap();
    support::assert_converged(dir.path()).await;

    // Export reads dates by the same rule and keeps the zone.
    let out = tempfile::tempdir().unwrap();
    let exported = out.path().join("exported");
    let export = cli(&["export", "--out", exported.to_str().unwrap()], dir.path()).await;
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    let project = std::fs::read_to_string(exported.join("slascone.yaml")).unwrap();
    assert!(project.contains("timezone: Europe/Berlin"), "{project}");
    let manifest = std::fs::read_to_string(exported.join("customers/K1.yaml")).unwrap();
    assert!(manifest.contains("expires: \"2027-06-30\""), "{manifest}");
    support::assert_converged(&exported).await;

    // Read in UTC, the same instant is another day.
    std::fs::write(
        dir.path().join("slascone.yaml"),
        std::fs::read_to_string(dir.path().join("slascone.yaml"))
            .unwrap()
            .replace("timezone: Europe/Berlin", "timezone: UTC"),
    )
    .unwrap();
    let plan = cli(&["plan"], dir.path()).await;
    assert!(
        stdout(&plan).contains("    expires: \"2027-06-29\" → \"2027-06-30\"\n"),
        "{}",
        stdout(&plan)
    );
    sandbox.shutdown().await;
}

/// A value SLASCONE does not keep as sent fails the change by name, with exit 4, instead of
/// showing up as a difference in every later plan.
#[tokio::test]
async fn a_write_that_does_not_take_is_reported_and_exits_4() {
    let sandbox = support::start(config()).await;
    let lowercase = TENANT.replace("country: Germany", "country: germany");
    let dir = project(&sandbox, &[("customers.yaml", &lowercase)], "");
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 4, "{}{}", stdout(&apply), stderr(&apply));
    let out = stdout(&apply);
    assert!(
        out.contains(
            "failed  customer K1: SLASCONE kept country \"Germany\" where \"germany\" was sent ("
        ),
        "{out}"
    );
    // The customer exists, so its license went ahead.
    assert!(out.contains("created license Argus/L-1\n"), "{out}");
    assert!(
        out.contains("Apply complete: 3 created, 0 updated, 1 failed."),
        "{out}"
    );
    sandbox.shutdown().await;
}

/// Two applies of the same manifests at once: SLASCONE holds each object once, and the two
/// reports together say each was created once; the other run found it made. Both plan before
/// either writes (each waits for its confirmation on a terminal), so every create of one run
/// meets the other run's object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_at_once_report_what_each_did() {
    use std::io::Write;
    let sandbox = support::start(config()).await;
    let mut text = String::from("customers:\n");
    for i in 0..200 {
        text.push_str(&format!(
            "  - customer_number: C{i:03}\n    company_name: Customer {i}\n    customer_type: SMB\n    country: Austria\n    licenses:\n      - {{ legacy_license_key: A-{i}, product: Argus, edition: Professional }}\n      - {{ legacy_license_key: B-{i}, product: Argus, edition: Enterprise, token_limit: 5 }}\n"
        ));
    }
    let dir = project(
        &sandbox,
        &[("customers.yaml", &text)],
        "safety: { max_changes: 1000 }\n",
    );
    let command = format!("{} apply {}", support::bin(), dir.path().to_str().unwrap());
    let start = || {
        std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("SLASCONE_ADMIN_KEY", KEY)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux runs")
    };
    let mut runs = [start(), start()];
    // Each plan reads the 3 catalog lists, the customers, and the product's detail, templates
    // and license count: 7 requests.
    let mut waited = 0;
    while support::requests(&sandbox).await.len() < 2 * 7 {
        waited += 1;
        assert!(waited < 600, "both plans are read within a minute");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    for run in &mut runs {
        run.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    }
    let mut created = 0;
    let mut existed = 0;
    for run in runs {
        let output = tokio::task::spawn_blocking(move || run.wait_with_output().unwrap())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(code(&output), 0, "{text}");
        let summary = text
            .lines()
            .find(|line| line.starts_with("Apply complete: "))
            .unwrap_or_else(|| panic!("{text}"));
        let count = |what: &str| -> u64 {
            summary
                .split([':', ','])
                .find_map(|part| part.trim().strip_suffix(what))
                .map_or(0, |n| n.trim().parse().unwrap())
        };
        assert_eq!((count("updated"), count("failed")), (0, 0), "{summary}");
        created += count("created");
        existed += count("already existed");
    }
    let customers = support::client(&sandbox).list_customers().await.unwrap();
    let held = customers.len() + licenses(&sandbox).await.len();
    assert_eq!(held, 600);
    assert_eq!(
        created as usize, held,
        "each object is reported created once"
    );
    assert_eq!(existed as usize, held, "and found made once");
    sandbox.shutdown().await;
}

/// A license id is always one SLASCONE can show: the id of a created license comes back.
#[tokio::test]
async fn created_ids_are_the_ones_slascone_holds() {
    let sandbox = support::start(config()).await;
    let dir = project(&sandbox, &[("customers.yaml", TENANT)], "");
    let apply = cli(&["apply", "--auto-approve", "--format", "json"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    let report: Value = serde_json::from_slice(&apply.stdout).unwrap();
    let held = licenses(&sandbox).await;
    for result in report["results"].as_array().unwrap() {
        let id: Uuid = result["id"].as_str().unwrap().parse().unwrap();
        if result["kind"] == "license" {
            let key = result["key"].as_str().unwrap().trim_start_matches("Argus/");
            assert_eq!(held[key].id, id);
        }
    }
    sandbox.shutdown().await;
}

/// The sandbox serves constrained variables: in the product detail, in a license created from
/// its edition, and refusing a value the custom list does not hold (its documented choice).
#[tokio::test]
async fn the_sandbox_serves_and_checks_constrained_variables() {
    let sandbox = support::start(config()).await;
    let client = support::client(&sandbox);
    let argus = &client.products().await.unwrap()[0];
    let detail = client.product_detail(argus.id).await.unwrap();
    let variable = &detail.constrained_variables.unwrap()[0];
    assert_eq!(variable.name, "Modules");
    let customer = client
        .create_customer_by_number(&slascone_sync::remote::wire::DataExchangeAddCustomerDto {
            customer_number: "K1".into(),
            customer_name: "Acme".into(),
            customer_type: "SMB".into(),
            country: "Austria".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .unwrap();
    let edition = &client.templates(argus.id).await.unwrap()[0];
    let mut license = LicenseDto {
        customer_id: customer.id,
        product_id: argus.id,
        template_id: edition.id,
        token_limit: 1,
        legacy_license_key: Some("CV-1".into()),
        ..LicenseDto::default()
    };
    let created = client.create_license(&license).await.unwrap().unwrap();
    assert_eq!(
        support::constrained_values(&created, "Modules"),
        ["Core"],
        "the edition's"
    );

    license.legacy_license_key = Some("CV-2".into());
    license.license_constrained_variables = Some(vec![
        slascone_sync::remote::wire::LicenseConstrainedVariableDto {
            product_id: argus.id,
            variable_id: variable.id,
            variable_name: None,
            variable_description: None,
            values: Some(vec!["Core".into(), "Billing".into()]),
        },
    ]);
    let err = client.create_license(&license).await.unwrap_err();
    assert_eq!(err.business_id(), Some(3005), "{err}");
    sandbox.shutdown().await;
}

/// A constrained value the variable's custom list does not hold is refused at plan time, at its
/// position with the values the list holds, before anything is written; the lists cost one
/// request, and only when manifests set constrained variables.
#[tokio::test]
async fn constrained_values_are_checked_against_their_custom_list_before_any_write() {
    let sandbox = support::start(config()).await;
    let with_modules = |modules: &str| {
        format!(
            "{}      - legacy_license_key: M-1
        product: Argus
        edition: Professional
        constrained_variables: {{ Modules: {modules} }}
",
            manifest(200, "Professional")
        )
    };
    let dir = project(
        &sandbox,
        &[("customers.yaml", &with_modules("[Core, Bogus]"))],
        "",
    );
    let lists = support::api("/administration/customlist");
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        support::clear_requests(&sandbox).await;
        let run = cli(command, dir.path()).await;
        assert_eq!(code(&run), 1, "{}{}", stdout(&run), stderr(&run));
        let err = stderr(&run);
        assert!(
            err.contains(
                "customers.yaml:17:50: constrained variable Modules of product Argus has no \
                 value `Bogus`"
            ),
            "{err}"
        );
        assert!(
            err.contains("allowed values: `Core`, `Analytics`, `Export`"),
            "{err}"
        );
        let log = support::requests(&sandbox).await;
        assert!(support::writes(&log).is_empty(), "{log:#?}");
        assert_eq!(
            log.iter().filter(|r| r.path == lists).count(),
            1,
            "{log:#?}"
        );
    }

    write_files(
        dir.path(),
        &[("customers.yaml", &with_modules("[Core, Analytics]"))],
    );
    let out = support::apply_ok(dir.path()).await;
    assert!(out.contains("4 created, 0 updated, 0 failed."), "{out}");
    assert_eq!(
        support::constrained_values(&licenses(&sandbox).await["M-1"], "Modules"),
        ["Core", "Analytics"]
    );
    support::assert_converged(dir.path()).await;

    // Without constrained variables in the manifests, the lists are not read.
    write_files(
        dir.path(),
        &[("customers.yaml", &manifest(200, "Professional"))],
    );
    support::clear_requests(&sandbox).await;
    cli(&["plan"], dir.path()).await;
    let log = support::requests(&sandbox).await;
    assert!(log.iter().all(|r| r.path != lists), "{log:#?}");
    sandbox.shutdown().await;
}

/// The sandbox serves each constrained variable's custom list like the reference: all of them,
/// one by id, and 404 for an id no list has.
#[tokio::test]
async fn the_sandbox_serves_custom_lists() {
    let sandbox = support::start(config()).await;
    let client = support::client(&sandbox);
    let argus = &client.products().await.unwrap()[0];
    let detail = client.product_detail(argus.id).await.unwrap();
    let variable = &detail.constrained_variables.unwrap()[0];
    let lists = client.custom_lists().await.unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].id, Some(variable.custom_list_id));
    assert_eq!(
        lists[0].values().collect::<Vec<_>>(),
        ["Core", "Analytics", "Export"]
    );
    let one = |id: String| {
        let url = format!(
            "{}{}",
            sandbox.base_url(),
            support::api(&format!("/administration/customlist/{id}"))
        );
        async move {
            reqwest::Client::new()
                .get(url)
                .header("AdminKey", KEY)
                .send()
                .await
                .unwrap()
        }
    };
    let answer = one(variable.custom_list_id.to_string()).await;
    assert_eq!(answer.status(), 200);
    let list: slascone_sync::remote::wire::CustomListDto = answer.json().await.unwrap();
    assert_eq!(list, lists[0]);
    assert_eq!(one(Uuid::new_v4().to_string()).await.status(), 404);
    sandbox.shutdown().await;
}

/// Editions that limit their licenses to a release and make them temporary.
const RELEASE_CATALOG: &str = r#"
customer_types: [Enterprise]
license_types: [Commercial]
products:
  - name: Argus
    software_releases: ["3.1", "3.2"]
    constrained_variables: { Modules: [Core, Analytics] }
    editions:
      - name: Basic
        token_limit: 5
        temporary: true
        software_release: "3.1"
        constrained_variables: { Modules: [Core] }
      - name: Pro
        token_limit: 10
        software_release: "3.2"
        constrained_variables: { Modules: [Core, Analytics] }
"#;

/// An edition-based license shows everything its edition gives it as the edition's: release,
/// temporary flag and constrained values; an edition change shows what the new edition brings,
/// SLASCONE applies it, and pull never writes those values into the manifest.
#[tokio::test]
async fn an_edition_shows_its_whole_configuration() {
    let catalog = Catalog::from_yaml_str(RELEASE_CATALOG, "release catalog").unwrap();
    let sandbox = support::start(SandboxConfig::new(ISV, KEY, catalog)).await;
    let manifest = |edition: &str| {
        format!(
            "customers:
  - customer_number: K1
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: E-1
        product: Argus
        edition: {edition}
"
        )
    };
    let dir = project(&sandbox, &[("customers.yaml", &manifest("Basic"))], "");
    let plan = stdout(&cli(&["plan"], dir.path()).await);
    for line in [
        "    constrained_variables.Modules: [\"Core\"] (edition)\n",
        "    software_release_limitation:   \"3.1\" (edition)\n",
        "    temporary:                     true (edition)\n",
    ] {
        assert!(plan.contains(line), "{line}{plan}");
    }
    let json = cli(&["plan", "--format", "json"], dir.path()).await;
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    let fields = json["changes"][1]["fields"].as_array().unwrap();
    for path in ["software_release_limitation", "temporary"] {
        let field = fields.iter().find(|f| f["path"] == path).unwrap();
        assert_eq!(field["source"], "edition", "{field}");
    }
    support::apply_ok(dir.path()).await;
    let client = support::client(&sandbox);
    let argus = &client.products().await.unwrap()[0];
    let releases = client
        .product_detail(argus.id)
        .await
        .unwrap()
        .software_release_limitations
        .unwrap();
    let release = |version: &str| {
        releases
            .iter()
            .find(|r| r.software_release.as_deref() == Some(version))
            .unwrap()
            .id
    };
    let held = &licenses(&sandbox).await["E-1"];
    assert_eq!(held.software_release(), Some(release("3.1")));
    assert_eq!(held.is_temporary, Some(true));
    support::assert_converged(dir.path()).await;

    write_files(dir.path(), &[("customers.yaml", &manifest("Pro"))]);
    let plan = stdout(&cli(&["plan"], dir.path()).await);
    for line in [
        "    constrained_variables.Modules: [\"Core\"] → [\"Core\",\"Analytics\"] (edition)\n",
        "    software_release_limitation:   \"3.1\" → \"3.2\" (edition)\n",
        "    temporary:                     true → false (edition)\n",
    ] {
        assert!(plan.contains(line), "{line}{plan}");
    }
    support::apply_ok(dir.path()).await;
    let mut held = licenses(&sandbox).await.remove("E-1").unwrap();
    assert_eq!(held.software_release(), Some(release("3.2")));
    assert_eq!(held.is_temporary, Some(false));
    support::assert_converged(dir.path()).await;

    // Moved back to Basic in the portal: pull writes the edition, and nothing it brings.
    let basic = &client.templates(argus.id).await.unwrap()[0];
    assert_eq!(basic.name, "Basic");
    held.template_id = basic.id;
    held.clear_server_fields();
    client.update_license(&held, true).await.unwrap();
    let pull = cli(&["pull"], dir.path()).await;
    assert_eq!(code(&pull), 0, "{}{}", stdout(&pull), stderr(&pull));
    let written = std::fs::read_to_string(dir.path().join("customers.yaml")).unwrap();
    assert_eq!(written, manifest("Basic"));
    support::assert_converged(dir.path()).await;
    sandbox.shutdown().await;
}
