//! The vendor's sync vocabulary: a license's name, description, start day, software release,
//! temporary flag and constrained variables (and, in the complete example, a customer's
//! contacts), from manifest to SLASCONE and back.

use std::path::Path;

use serde_json::Value;
use slascone_sync::remote::wire::LicenseDto;
use slascone_sync::sandbox::{Catalog, PatchSemantics, SandboxConfig, SandboxHandle};

use crate::support::{self, Cli, ISV, KEY, project, write_files};

const CATALOG: &str = r#"
customer_types: [Enterprise]
license_types: [Commercial]
products:
  - name: Argus
    features: [Export]
    limitations: [Users]
    variables: [Region]
    software_releases: ["3.0", "3.1", "3.2"]
    constrained_variables: { Modules: [Core, Analytics, Export] }
    editions:
      - name: Professional
        token_limit: 10
        features: { Export: true }
        constrained_variables: { Modules: [Core] }
"#;

fn config(patch: PatchSemantics) -> SandboxConfig {
    let catalog = Catalog::from_yaml_str(CATALOG, "vocabulary catalog").unwrap();
    let mut config = SandboxConfig::new(ISV, KEY, catalog);
    config.patch_semantics = patch;
    config
}

/// One customer with one license that writes `license` (indented lines below the identity).
fn manifest(license: &str) -> String {
    format!(
        "customers:
  - customer_number: K1
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: L-1
        product: Argus
        edition: Professional
{license}"
    )
}

const EVERYTHING: &str = "        name: Gold subscription
        description: Order 4711
        starts: 2026-01-01
        software_release_limitation: \"3.2\"
        temporary: true
        constrained_variables: { Modules: [Core, Analytics] }
";

async fn the_license(sandbox: &SandboxHandle) -> LicenseDto {
    let client = support::client(sandbox);
    let product = client.products().await.unwrap().remove(0);
    let mut licenses = client.list_licenses(product.id).await.unwrap();
    assert_eq!(licenses.len(), 1);
    licenses.remove(0)
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
async fn every_field_reaches_slascone_and_reads_back_unchanged() {
    for patch in [PatchSemantics::Merge, PatchSemantics::Replace] {
        let sandbox = support::start(config(patch)).await;
        let dir = project(
            &sandbox,
            &[("k1.yaml", &manifest(EVERYTHING))],
            "timezone: America/New_York\n",
        );
        support::apply_ok(dir.path()).await;
        let license = the_license(&sandbox).await;
        assert_eq!(license.name.as_deref(), Some("Gold subscription"));
        assert_eq!(license.description.as_deref(), Some("Order 4711"));
        // The start of the day in the project's zone: 00:00 in New York is 05:00 UTC in winter.
        assert_eq!(
            license.start_date_utc.as_deref(),
            Some("2026-01-01T05:00:00Z")
        );
        assert_eq!(license.is_temporary, Some(true));
        let detail = support::client(&sandbox)
            .product_detail(license.product_id)
            .await
            .unwrap();
        let release = detail
            .software_release_limitations
            .unwrap()
            .into_iter()
            .find(|r| r.software_release.as_deref() == Some("3.2"))
            .unwrap();
        assert_eq!(license.software_release(), Some(release.id));
        assert_eq!(
            support::constrained_values(&license, "Modules"),
            ["Core", "Analytics"]
        );
        support::assert_converged(dir.path()).await;

        // `none` clears the release, on a server that merges as well as on one that replaces.
        let cleared = EVERYTHING.replace("\"3.2\"", "none");
        write_files(dir.path(), &[("k1.yaml", &manifest(&cleared))]);
        let planned = plan(dir.path()).await;
        assert!(
            planned.contains("software_release_limitation: \"3.2\" → (none)"),
            "{patch:?}: {planned}"
        );
        support::apply_ok(dir.path()).await;
        assert_eq!(the_license(&sandbox).await.software_release(), None);
        support::assert_converged(dir.path()).await;
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_changed_start_day_and_module_list_are_one_update() {
    let sandbox = support::start(config(PatchSemantics::Merge)).await;
    let dir = project(&sandbox, &[("k1.yaml", &manifest(EVERYTHING))], "");
    support::apply_ok(dir.path()).await;
    let edited = EVERYTHING
        .replace("2026-01-01", "2026-02-01")
        .replace("[Core, Analytics]", "[Core, Analytics, Export]")
        .replace("temporary: true", "temporary: false");
    write_files(dir.path(), &[("k1.yaml", &manifest(&edited))]);
    let planned = plan(dir.path()).await;
    insta::assert_snapshot!(planned, @r#"
    ~ license Argus/L-1 (PATCH /licenses)
        constrained_variables.Modules: ["Core","Analytics"] → ["Core","Analytics","Export"]
        starts:                        "2026-01-01" → "2026-02-01"
        temporary:                     true → false

    Plan: 0 to create, 1 to update, 1 unchanged, 0 unmanaged.
    "#);
    support::apply_ok(dir.path()).await;
    let license = the_license(&sandbox).await;
    assert_eq!(
        license.start_date_utc.as_deref(),
        Some("2026-02-01T00:00:00Z")
    );
    assert_eq!(
        support::constrained_values(&license, "Modules"),
        ["Core", "Analytics", "Export"]
    );
    assert_eq!(license.is_temporary, Some(false));
    support::assert_converged(dir.path()).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_releases_and_constrained_variables_are_named_at_their_place() {
    let sandbox = support::start(config(PatchSemantics::Merge)).await;
    let license = "        software_release_limitation: \"3.9\"
        constrained_variables: { Modulez: [Core] }
";
    let dir = project(&sandbox, &[("k1.yaml", &manifest(license))], "");
    let plan = Cli::new(["plan"]).target(dir.path()).run().await.expect(1);
    let file = dir.path().join("k1.yaml");
    assert_eq!(
        plan.stderr()
            .lines()
            .filter(|line| !line.starts_with("Loaded") && !line.starts_with("Read"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace(&file.display().to_string(), "k1.yaml"),
        "k1.yaml:10:38: product Argus has no software release `3.9`
  hint: known software releases: `3.0`, `3.1`, `3.2`
k1.yaml:11:34: product Argus has no constrained variable `Modulez`
  hint: known constrained variables: `Modules`
error: 2 problems found"
    );
    assert!(
        support::writes(&support::requests(&sandbox).await).is_empty(),
        "nothing is sent"
    );
    sandbox.shutdown().await;
}

/// A value the variable's custom list does not hold is refused before anything is sent (the
/// sandbox's own 409 id 3005 for it is tested in `fidelity`).
#[tokio::test]
async fn a_value_the_list_does_not_allow_is_refused_at_plan_time() {
    let sandbox = support::start(config(PatchSemantics::Merge)).await;
    let license = "        constrained_variables: { Modules: [Core, Reporting] }\n";
    let dir = project(&sandbox, &[("k1.yaml", &manifest(license))], "");
    let apply = Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(1);
    assert!(
        apply
            .stderr()
            .contains("constrained variable Modules of product Argus has no value `Reporting`"),
        "{}",
        apply.stderr()
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_complete_example_converges_and_exports_every_field() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/complete");
    let dir = support::copy_dir(&example);
    let _ = std::fs::remove_file(dir.path().join(".slascone-sandbox.json"));
    Cli::new(["apply", "--sandbox", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    let plan = Cli::new(["plan", "--sandbox", "--detailed-exitcode"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    assert_eq!(plan.stdout(), "No changes.\n");

    let out = dir.path().join("exported");
    Cli::new(["export", "--sandbox", "--out"])
        .arg(&out)
        .target(dir.path())
        .run()
        .await
        .expect(0);
    let plan = Cli::new(["plan", "--sandbox", "--detailed-exitcode"])
        .target(&out)
        .run()
        .await
        .expect(0);
    assert_eq!(plan.stdout(), "No changes.\n");
    let exported = std::fs::read_to_string(out.join("customers/K100.yaml")).unwrap();
    let yaml: Value = serde_saphyr::from_str(&exported).unwrap();
    let licenses = &yaml["customers"][0]["licenses"];
    let sub = licenses
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["legacy_license_key"] == "SUB-2026-0100")
        .unwrap();
    assert_eq!(sub["name"], "Argus Enterprise subscription");
    assert_eq!(sub["description"], "Order 4711, three-year term");
    assert_eq!(sub["starts"], "2026-01-01");
    assert_eq!(sub["software_release_limitation"], "3.2");
    assert_eq!(
        sub["constrained_variables"]["Modules"],
        serde_json::json!(["Core", "Analytics", "Export"])
    );
    let nfr = licenses
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["legacy_license_key"] == "NFR-2026-0007")
        .unwrap();
    assert_eq!(nfr["temporary"], true);
    assert!(nfr.get("software_release_limitation").is_none());
    assert_eq!(
        yaml["customers"][0]["contacts"],
        serde_json::json!([{
            "email": "bruce@wayne.example", "name": "Bruce", "surname": "Wayne",
            "phone": "+49 89 1234568", "mobile": "+49 170 1234567", "language": "de",
            "portal_user": true
        }])
    );
}
