//! `export` end to end: a sandbox seeded with varied data, exported, then planned: the plan must
//! be `No changes.` with nothing unmanaged, which proves every value was written back exactly.

use std::path::Path;

use serde_json::Value;
use slascone_sync::remote::wire::ServerStamped;
use slascone_sync::sandbox::SandboxHandle;

use crate::support::{self, ISV, code, stderr, stdout};

/// Both identity styles, both license models, all three expiration modes, and text that YAML
/// would misread if written carelessly.
const SEED: &str = r#"customers:
  - customer_number: "K:1 #a"
    company_name: "Müller & Söhne: \"Qualität\" #1 'ok'"
    customer_type: Enterprise
    country: Germany
    street: "  Hauptstraße 1"
    zip: "01067"
    city: "yes"
    phone: "null"
    prospect_number: "123"
    email: "it@müller.example"
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        expires: 2027-12-31
      - legacy_license_key: "SUB-2: #x"
        product: Argus
        edition: Enterprise
        license_type: Trial
        token_limit: 7
        goodwill_token_limit: 3
        expires: { days_after_activation: 30 }
        active: false
        features: { Reporting: false }
        limitations: { Users: 50 }
        variables: { Region: "null" }
      # `never` is what Basic gives, so the export leaves it out.
      - legacy_license_key: B-1
        product: Borealis
        edition: Basic
        expires: never
        variables: {}
  - customer_number: "007"
    company_name: "true"
    customer_type: SMB
    country: Austria
    licenses:
      - id: 5a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d
        product: Argus
        edition: Professional
        variables: { Region: "  ☃ a: b # c" }
  - id: 6b69b539-dfe4-41a0-9b41-1192afebb1ae
    company_name: "~"
    customer_type: SMB
    country: Germany
    licenses:
      - legacy_license_key: "123"
        product: Argus
        edition: Enterprise
        limitations: { Projects: 0 }
"#;

fn project_dir(sandbox: &SandboxHandle, manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let project = format!("api_url: {}\nisv_id: {ISV}\n", sandbox.base_url());
    std::fs::write(dir.path().join("slascone.yaml"), project).unwrap();
    std::fs::write(dir.path().join("seed.yaml"), manifest).unwrap();
    dir
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A sandbox holding the seed, plus changes made in SLASCONE directly (as the UI would).
async fn seeded() -> SandboxHandle {
    let sandbox = support::sandbox().await;
    let seed = project_dir(&sandbox, SEED);
    let apply = support::run(&["apply", "--auto-approve", path(seed.path())], None).await;
    assert_eq!(code(&apply), 0, "{}{}", stdout(&apply), stderr(&apply));

    let client = support::client(&sandbox);
    let argus = client
        .products()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "Argus")
        .unwrap();
    let mut license = client.find_licenses(argus.id, "SUB-1").await.unwrap()[0].clone();
    license.token_limit = 12;
    for feature in license.license_features.iter_mut().flatten() {
        feature.is_active = !feature.is_active;
    }
    license.clear_server_fields();
    client.update_license(&license, false).await.unwrap();
    let extra = slascone_sync::remote::wire::DataExchangeAddCustomerDto {
        customer_number: "K 3/ü".into(),
        customer_name: "  leading spaces".into(),
        customer_type: "SMB".into(),
        country: "Germany".into(),
        phone: Some(String::new()),
        ..Default::default()
    };
    client.create_customer_by_number(&extra).await.unwrap();
    sandbox
}

fn read_yaml(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{}",
        file.display()
    );
    serde_saphyr::from_str(&text).unwrap()
}

#[tokio::test]
async fn an_export_plans_no_changes() {
    let sandbox = seeded().await;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("exported");
    // No slascone.yaml in the working directory: the flags name the tenant.
    let export = support::run(
        &[
            "export",
            "--api-url",
            &sandbox.base_url(),
            "--isv-id",
            &ISV.to_string(),
            "--out",
            "exported",
        ],
        Some(work.path()),
    )
    .await;
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    assert!(
        stderr(&export).contains("Exported 4 customers and 5 licenses"),
        "{}",
        stderr(&export)
    );
    assert!(!stderr(&export).contains("warning"), "{}", stderr(&export));

    support::clear_requests(&sandbox).await;
    let plan = support::run(&["plan", "--detailed-exitcode", path(&out)], None).await;
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    assert_eq!(stdout(&plan), "No changes.\n");
    let json = support::run(&["plan", "--format", "json", path(&out)], None).await;
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({"create": 0, "update": 0, "unchanged": 9, "unmanaged": 0}),
        "everything is managed"
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());

    // The files: one per customer, safe names, ids where there is no number, defaults left out.
    let mut names: Vec<String> = std::fs::read_dir(out.join("customers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "007.yaml",
            "6b69b539-dfe4-41a0-9b41-1192afebb1ae.yaml",
            "K_1__a.yaml",
            "K_3__.yaml"
        ]
    );
    let k1 = read_yaml(&out.join("customers/K_1__a.yaml"));
    let customer = &k1["customers"][0];
    assert_eq!(customer["customer_number"], "K:1 #a");
    assert_eq!(customer["street"], "  Hauptstraße 1");
    assert_eq!(customer["city"], "yes");
    assert_eq!(customer["phone"], "null");
    assert!(
        customer.get("id").is_none(),
        "identity by number: {customer}"
    );
    let licenses = customer["licenses"].as_array().unwrap();
    let keys: Vec<&str> = licenses
        .iter()
        .map(|l| l["legacy_license_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["SUB-1", "SUB-2: #x", "B-1"],
        "sorted by product, key"
    );
    let sub1 = &licenses[0];
    assert_eq!(sub1["token_limit"], 12);
    assert_eq!(sub1["expires"], "2027-12-31");
    assert_eq!(
        sub1["features"],
        serde_json::json!({"Export": false, "Import": false, "Reporting": true})
    );
    assert!(sub1.get("limitations").is_none(), "equal to the edition's");
    assert!(sub1.get("license_type").is_none(), "equal to the edition's");
    assert!(sub1.get("active").is_none(), "active is the default");
    let sub2 = &licenses[1];
    assert_eq!(sub2["active"], false);
    assert_eq!(
        sub2["expires"],
        serde_json::json!({"days_after_activation": 30})
    );
    assert_eq!(sub2["variables"], serde_json::json!({"Region": "null"}));
    assert_eq!(sub2["features"], serde_json::json!({"Reporting": false}));
    let b1 = &licenses[2];
    assert!(
        b1.get("features").is_none()
            && b1.get("token_limit").is_none()
            && b1.get("expires").is_none(),
        "edition-based: {b1}"
    );
    let by_id = read_yaml(&out.join("customers/6b69b539-dfe4-41a0-9b41-1192afebb1ae.yaml"));
    assert_eq!(
        by_id["customers"][0]["id"],
        "6b69b539-dfe4-41a0-9b41-1192afebb1ae"
    );
    assert_eq!(by_id["customers"][0]["company_name"], "~");
    let k3 = read_yaml(&out.join("customers/K_3__.yaml"));
    assert!(k3["customers"][0].get("phone").is_none(), "empty text");
    let project = std::fs::read_to_string(out.join("slascone.yaml")).unwrap();
    assert!(project.contains(&sandbox.base_url()), "{project}");
    assert!(out.join("schema/manifest.schema.json").is_file());

    let validate = support::run(&["validate", path(&out)], None).await;
    assert_eq!(code(&validate), 0, "{}", stderr(&validate));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn filters_narrow_the_export_and_a_full_directory_is_refused() {
    let sandbox = seeded().await;
    let work = tempfile::tempdir().unwrap();
    let source = project_dir(&sandbox, "");
    std::fs::remove_file(source.path().join("seed.yaml")).unwrap();
    let out = work.path().join("out");
    let export = |extra: &'static [&'static str]| {
        let out = out.clone();
        let source = source.path().to_path_buf();
        async move {
            let mut args = vec!["export", "--out", path(&out)];
            args.extend_from_slice(extra);
            args.push(path(&source));
            support::run(&args, None).await
        }
    };
    let run = export(&["--product", "Argus", "--customer", "007"]).await;
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    assert!(
        stderr(&run).contains("warning: 3 licenses of customers not exported are left out"),
        "{}",
        stderr(&run)
    );
    let files: Vec<_> = std::fs::read_dir(out.join("customers")).unwrap().collect();
    assert_eq!(files.len(), 1);
    let plan = support::run(&["plan", "--detailed-exitcode", path(&out)], None).await;
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));

    let before = std::fs::read_to_string(out.join("customers/007.yaml")).unwrap();
    let refused = export(&[]).await;
    assert_eq!(code(&refused), 1);
    assert!(
        stderr(&refused).contains("already holds files") && stderr(&refused).contains("--force"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        std::fs::read_dir(out.join("customers")).unwrap().count(),
        1,
        "nothing written"
    );
    let forced = export(&["--force"]).await;
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert_eq!(std::fs::read_dir(out.join("customers")).unwrap().count(), 4);
    assert_eq!(
        std::fs::read_to_string(out.join("customers/007.yaml")).unwrap(),
        before,
        "the same state gives the same bytes"
    );

    let unknown = export(&["--force", "--product", "Argos"]).await;
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown)
            .contains("SLASCONE has no product `Argos`; known products: `Argus`, `Borealis`"),
        "{}",
        stderr(&unknown)
    );
    let no_tenant = support::run(&["export", "--out", "x"], Some(work.path())).await;
    assert_eq!(code(&no_tenant), 1);
    assert!(
        stderr(&no_tenant).contains("pass --isv-id"),
        "{}",
        stderr(&no_tenant)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_quickstart_exports_from_the_embedded_sandbox() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let dir = support::copy_dir(&example);
    let _ = std::fs::remove_file(dir.path().join(".slascone-sandbox.json"));
    let apply = support::run(
        &["apply", "--sandbox", "--auto-approve", path(dir.path())],
        None,
    )
    .await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    let out = dir.path().join("exported");
    let export = support::run(
        &["export", "--sandbox", "--out", path(&out), path(dir.path())],
        None,
    )
    .await;
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    // The closing hint names a command that works here: the one below, run as printed.
    let hint = stderr(&export);
    let next = hint
        .split_once("Next: review the files, commit them, and run `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(command, _)| command.to_owned())
        .unwrap_or_else(|| panic!("no Next: hint in {hint}"));
    assert_eq!(
        next,
        format!("slascone-sync plan --sandbox {}", out.display())
    );
    let mut words = support::commands(&next).remove(0);
    words.remove(0);
    words.insert(1, "--detailed-exitcode".to_owned());
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let plan = support::run(&words, None).await;
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    assert_eq!(stdout(&plan), "No changes.\n");
}
