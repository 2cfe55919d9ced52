//! plan and apply end to end: the built binary against a sandbox over loopback, with the
//! sandbox's request log as evidence.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use slascone_sync::cli::PatchSemantics;
use slascone_sync::remote::wire::DataExchangeUpdateCustomerDto;
use slascone_sync::remote::wire::ServerStamped;
use slascone_sync::sandbox::{SandboxConfig, SandboxHandle};

use crate::support::{self, ISV, cli, code, project, stderr, stdout};

const ACME: &str = r#"customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    city: Berlin
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        token_limit: 25
        expires: 2027-12-31
      - legacy_license_key: SUB-2
        product: Argus
        edition: Enterprise
        features: { Reporting: false }
        limitations: { Users: 50 }
        variables: { Region: US }
  - id: 6b69b539-dfe4-41a0-9b41-1192afebb1ae
    customer_number: K002
    company_name: Globex AG
    customer_type: SMB
    country: Austria
    licenses:
      - legacy_license_key: B-1
        product: Borealis
        edition: Basic
"#;

#[tokio::test]
async fn empty_slascone_gives_only_creates_then_apply_converges() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("customers/acme.yaml", ACME)], "");

    let plan = cli(&["plan", "--detailed-exitcode"], dir.path()).await;
    assert_eq!(code(&plan), 2, "{}", stderr(&plan));
    let text = stdout(&plan);
    assert!(
        text.contains("Plan: 5 to create, 0 to update, 0 unchanged, 0 unmanaged."),
        "{text}"
    );
    assert!(!text.contains("~ "), "only creates: {text}");
    assert!(
        support::writes(&support::requests(&sandbox).await).is_empty(),
        "plan writes nothing"
    );

    support::clear_requests(&sandbox).await;
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}{}", stdout(&apply), stderr(&apply));
    assert!(
        stdout(&apply).contains("Apply complete: 5 created, 0 updated, 0 failed."),
        "{}",
        stdout(&apply)
    );
    let log = support::requests(&sandbox).await;
    let writes = support::writes(&log);
    assert_eq!(writes.len(), 5, "exactly one write per change: {writes:?}");
    let data_exchange = writes
        .iter()
        .filter(|w| w.path.ends_with("/data_exchange/customers"))
        .count();
    assert_eq!(data_exchange, 1, "K001 has no id: created by number");
    assert_eq!(
        writes
            .iter()
            .filter(|w| w.path == support::api("/customers"))
            .count(),
        1
    );

    support::clear_requests(&sandbox).await;
    let again = cli(&["plan", "--detailed-exitcode"], dir.path()).await;
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    assert!(
        stdout(&again).trim_end().ends_with("No changes."),
        "{}",
        stdout(&again)
    );
    let log = support::requests(&sandbox).await;
    assert!(support::writes(&log).is_empty(), "{log:?}");
    // The minimum: 3 catalog lists + customers + per product (detail, templates, count, 1 page).
    assert_eq!(log.len(), 4 + 2 * 4, "{log:#?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn one_drifted_field_gives_one_update_naming_it() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("acme.yaml", ACME)], "");
    assert_eq!(
        code(&cli(&["apply", "--auto-approve"], dir.path()).await),
        0
    );

    let client = support::client(&sandbox);
    let drift = DataExchangeUpdateCustomerDto {
        customer_number: "K001".into(),
        city: Some("Hamburg".into()),
        phone: Some("+49 40 1".into()),
        ..DataExchangeUpdateCustomerDto::default()
    };
    client.update_customer_by_number(&drift).await.unwrap();
    let extra = slascone_sync::remote::wire::DataExchangeAddCustomerDto {
        customer_number: "K999".into(),
        customer_name: "Stranger".into(),
        customer_type: "SMB".into(),
        country: "Germany".into(),
        ..Default::default()
    };
    client.create_customer_by_number(&extra).await.unwrap();

    let plan = cli(&["plan", "--format", "json"], dir.path()).await;
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{json:#}");
    assert_eq!(changes[0]["action"], "update");
    assert_eq!(changes[0]["key"], "K001");
    let fields = changes[0]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "phone is not in the manifest: {fields:?}");
    assert_eq!(fields[0]["path"], "city");
    assert_eq!(fields[0]["before"], "Hamburg");
    assert_eq!(fields[0]["after"], "Berlin");
    assert_eq!(
        json["summary"]["unmanaged"], 1,
        "K999 is counted, never changed"
    );

    support::clear_requests(&sandbox).await;
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    let log = support::requests(&sandbox).await;
    let writes = support::writes(&log);
    assert_eq!(writes.len(), 1, "{writes:?}");
    let customer = client
        .get_customer_by_number("K001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.city.as_deref(), Some("Berlin"));
    assert_eq!(
        customer.phone.as_deref(),
        Some("+49 40 1"),
        "unmanaged field kept"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_names_are_positioned_errors() {
    let sandbox = support::sandbox().await;
    let broken = ACME
        .replace("product: Borealis", "product: Boreas")
        .replace("Reporting: false", "Reportage: false");
    let dir = project(&sandbox, &[("acme.yaml", &broken)], "");
    let plan = cli(&["plan"], dir.path()).await;
    assert_eq!(code(&plan), 1);
    let err = stderr(&plan);
    assert!(
        err.contains("acme.yaml:26:18: unknown product `Boreas`"),
        "{err}"
    );
    assert!(err.contains("known products: `Argus`, `Borealis`"), "{err}");
    assert!(
        err.contains("acme.yaml:16:21: product Argus has no feature `Reportage`"),
        "{err}"
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_number_keyed_customer_without_country_fails_at_plan_time() {
    let sandbox = support::sandbox().await;
    let manifest = "customers:\n  - customer_number: K005\n    company_name: Initech\n    customer_type: SMB\n";
    let dir = project(&sandbox, &[("initech.yaml", manifest)], "");
    let plan = cli(&["plan"], dir.path()).await;
    assert_eq!(code(&plan), 1);
    let err = stderr(&plan);
    assert!(
        err.contains("initech.yaml:2:5: customer K005 does not exist in SLASCONE yet"),
        "{err}"
    );
    assert!(err.contains("`country`"), "{err}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn apply_without_a_terminal_needs_auto_approve() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("acme.yaml", ACME)], "");
    let apply = cli(&["apply"], dir.path()).await;
    assert_eq!(code(&apply), 1);
    assert!(
        stderr(&apply).contains("--auto-approve"),
        "{}",
        stderr(&apply)
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn max_changes_refuses_big_plans_unless_forced() {
    let sandbox = support::sandbox().await;
    let dir = project(
        &sandbox,
        &[("acme.yaml", ACME)],
        "safety: { max_changes: 2 }\n",
    );
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 3, "{}", stderr(&apply));
    assert!(
        stderr(&apply).contains("more than safety.max_changes (2)"),
        "{}",
        stderr(&apply)
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    let forced = cli(&["apply", "--auto-approve", "--force"], dir.path()).await;
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_saved_plan_is_applied_exactly_or_refused_when_stale() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("acme.yaml", ACME)], "");
    assert_eq!(
        code(&cli(&["apply", "--auto-approve"], dir.path()).await),
        0
    );
    let client = support::client(&sandbox);
    let drift = |city: &str| DataExchangeUpdateCustomerDto {
        customer_number: "K001".into(),
        city: Some(city.into()),
        ..DataExchangeUpdateCustomerDto::default()
    };
    client
        .update_customer_by_number(&drift("Hamburg"))
        .await
        .unwrap();

    let plan_file = dir.path().join("plan.json");
    let plan_path = plan_file.to_str().unwrap();
    let plan = cli(&["plan", "--out", plan_path], dir.path()).await;
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert!(saved["changes"][0]["fingerprint"].is_string(), "{saved:#}");

    // Someone edits the customer in the SLASCONE UI after the review.
    client
        .update_customer_by_number(&drift("Munich"))
        .await
        .unwrap();
    support::clear_requests(&sandbox).await;
    let stale = cli(
        &["apply", "--auto-approve", "--plan", plan_path],
        dir.path(),
    )
    .await;
    assert_eq!(code(&stale), 3, "{}", stderr(&stale));
    assert!(
        stderr(&stale).contains("customer K001 changed"),
        "{}",
        stderr(&stale)
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());

    // A fresh plan applies, and touches exactly what it says.
    client
        .update_customer_by_number(&drift("Hamburg"))
        .await
        .unwrap();
    let plan = cli(&["plan", "--out", plan_path], dir.path()).await;
    assert_eq!(code(&plan), 0);
    support::clear_requests(&sandbox).await;
    let apply = cli(
        &["apply", "--auto-approve", "--plan", plan_path],
        dir.path(),
    )
    .await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    assert_eq!(support::writes(&support::requests(&sandbox).await).len(), 1);
    let customer = client
        .get_customer_by_number("K001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(customer.city.as_deref(), Some("Berlin"));

    // A plan made for another tenant is refused.
    let other = std::fs::read_to_string(&plan_file)
        .unwrap()
        .replace(&ISV.to_string(), "00000000-0000-0000-0000-0000000000ff");
    std::fs::write(&plan_file, other).unwrap();
    let refused = cli(
        &["apply", "--auto-approve", "--plan", plan_path],
        dir.path(),
    )
    .await;
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("the plan was made for"),
        "{}",
        stderr(&refused)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_failing_object_is_reported_and_the_rest_goes_on() {
    let sandbox = support::sandbox().await;
    let broken = ACME.replace("country: Austria", "country: Atlantis");
    let dir = project(&sandbox, &[("acme.yaml", &broken)], "");
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 4, "{}{}", stdout(&apply), stderr(&apply));
    let report = stdout(&apply);
    assert!(report.contains("failed  customer K002"), "{report}");
    assert!(report.contains("SLASCONE error 9000"), "{report}");
    assert!(
        report.contains("acme.yaml:19:5"),
        "manifest position: {report}"
    );
    assert!(
        report.contains("skipped license Borealis/B-1: its customer K002 was not created"),
        "{report}"
    );
    assert!(
        report.contains("Apply complete: 3 created, 0 updated, 1 failed, 1 skipped."),
        "{report}"
    );

    // Fixed, the next apply finishes the rest.
    std::fs::write(dir.path().join("acme.yaml"), ACME).unwrap();
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    assert!(
        stdout(&apply).contains("Apply complete: 2 created"),
        "{}",
        stdout(&apply)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn replace_semantics_loses_nothing_outside_the_manifest() {
    let mut config = support::config();
    config.patch_semantics = PatchSemantics::Replace;
    let sandbox = support::start(config).await;
    let dir = project(&sandbox, &[("acme.yaml", ACME)], "");
    assert_eq!(
        code(&cli(&["apply", "--auto-approve"], dir.path()).await),
        0
    );
    let client = support::client(&sandbox);
    // Fields the manifest does not manage, set in SLASCONE.
    let mut globex = client
        .get_customer_by_number("K002")
        .await
        .unwrap()
        .unwrap();
    globex.phone = Some("+43 1".into());
    globex.city = Some("Vienna".into());
    globex.clear_server_fields();
    client.update_customer(&globex).await.unwrap();
    let before_licenses = client
        .find_licenses(
            client
                .products()
                .await
                .unwrap()
                .iter()
                .find(|p| p.name == "Argus")
                .unwrap()
                .id,
            "SUB-1",
        )
        .await
        .unwrap();

    let changed = ACME
        .replace("company_name: Globex AG", "company_name: Globex Holding AG")
        .replace("token_limit: 25", "token_limit: 30");
    std::fs::write(dir.path().join("acme.yaml"), changed).unwrap();
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    let globex = client
        .get_customer_by_number("K002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(globex.company_name.as_deref(), Some("Globex Holding AG"));
    assert_eq!(globex.phone.as_deref(), Some("+43 1"));
    assert_eq!(globex.city.as_deref(), Some("Vienna"));
    let license = client
        .get_license(before_licenses[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(license.token_limit, 30);
    assert_eq!(
        license.license_features,
        before_licenses[0].license_features
    );
    assert_eq!(
        license.license_limitations,
        before_licenses[0].license_limitations
    );
    assert_eq!(
        license.expiration_date_utc,
        before_licenses[0].expiration_date_utc
    );
    let plan = cli(&["plan"], dir.path()).await;
    assert!(
        stdout(&plan).trim_end().ends_with("No changes."),
        "{}",
        stdout(&plan)
    );
    sandbox.shutdown().await;
}

/// `n` customers with two licenses each, over both products and both license models, in files of
/// 100 customers.
fn scenario(n: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for chunk in 0..n.div_ceil(100) {
        let mut text = String::from("customers:\n");
        for i in chunk * 100..((chunk + 1) * 100).min(n) {
            let _ = write!(
                text,
                "  - customer_number: C{i:05}\n    company_name: \"Customer {i}\"\n    customer_type: {}\n    country: Germany\n    licenses:\n      - legacy_license_key: A-{i}\n        product: Argus\n        edition: {}\n        token_limit: {}\n",
                if i % 2 == 0 { "Enterprise" } else { "SMB" },
                if i % 3 == 0 {
                    "Enterprise"
                } else {
                    "Professional"
                },
                5 + i % 7,
            );
            if i % 2 == 0 {
                let _ = write!(
                    text,
                    "      - legacy_license_key: B-{i}\n        product: Borealis\n        edition: Basic\n"
                );
            } else {
                let _ = write!(
                    text,
                    "      - legacy_license_key: X-{i}\n        product: Argus\n        edition: Professional\n        limitations: {{ Users: {} }}\n        features: {{ Reporting: true }}\n",
                    10 + i % 50
                );
            }
        }
        files.push((format!("customers/part-{chunk:03}.yaml"), text));
    }
    files
}

async fn converge(config: SandboxConfig, customers: usize, max_runs: usize) -> SandboxHandle {
    let sandbox = support::start(config).await;
    let files = scenario(customers);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&sandbox, &refs, "safety: { max_changes: 100000 }\n");
    support::apply_until_done(dir.path(), max_runs).await;
    support::assert_converged(dir.path()).await;
    support::assert_no_duplicates(&support::client(&sandbox), customers, customers * 2).await;
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_customers_converge_with_one_write_per_change() {
    let sandbox = support::sandbox().await;
    let files = scenario(1000);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&sandbox, &refs, "safety: { max_changes: 100000 }\n");
    let apply = cli(&["apply", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}", stderr(&apply));
    assert!(stdout(&apply).contains("Apply complete: 3000 created, 0 updated, 0 failed."));
    assert_eq!(
        support::writes(&support::requests(&sandbox).await).len(),
        3000
    );
    support::clear_requests(&sandbox).await;
    let plan = cli(&["plan", "--detailed-exitcode"], dir.path()).await;
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    assert!(stdout(&plan).contains("No changes."));
    let log = support::requests(&sandbox).await;
    assert!(support::writes(&log).is_empty());
    // 2000 Argus licenses... in pages of 500: the minimum number of reads.
    let argus_pages = 1500usize.div_ceil(500);
    let borealis_pages = 500usize.div_ceil(500);
    assert_eq!(
        log.len(),
        4 + 2 * 3 + argus_pages + borealis_pages,
        "{}",
        log.len()
    );
    support::assert_no_duplicates(&support::client(&sandbox), 1000, 2000).await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_under_server_errors_and_rate_limits() {
    let mut config = support::config();
    config.fail_rate = 0.2;
    config.rate_limit = 400;
    let sandbox = converge(config, 150, 4).await;
    let log = support::requests(&sandbox).await;
    assert!(log.iter().any(|r| r.status >= 500), "faults were injected");
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_when_answers_are_lost_after_commit() {
    let mut config = support::config();
    config.drop_after_commit = 0.3;
    let sandbox = converge(config, 150, 4).await;
    let log = support::requests(&sandbox).await;
    let dropped = log.iter().filter(|r| r.dropped).count();
    assert!(dropped > 0, "no answer was dropped");
    assert!(
        log.iter().filter(|r| r.dropped).all(|r| r.method != "GET"),
        "only writes are dropped"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_apply_converges_on_the_next_run() {
    let mut config = support::config();
    config.latency = Duration::from_millis(3);
    let sandbox = support::start(config).await;
    let files = scenario(300);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = project(&sandbox, &refs, "safety: { max_changes: 100000 }\n");
    let path = dir.path().to_path_buf();
    for delay_ms in [150u64, 400, 700] {
        let path = path.clone();
        let killed = tokio::task::spawn_blocking(move || {
            let mut child = std::process::Command::new(support::bin())
                .args(["apply", "--auto-approve", "--parallelism", "4"])
                .arg(&path)
                .env("SLASCONE_ADMIN_KEY", support::KEY)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(delay_ms));
            child.kill().unwrap();
            child.wait().unwrap()
        })
        .await
        .unwrap();
        assert!(!killed.success());
    }
    support::apply_until_done(&path, 2).await;
    let plan = cli(&["plan", "--detailed-exitcode"], &path).await;
    assert_eq!(code(&plan), 0, "{}", stdout(&plan));
    support::assert_no_duplicates(&support::client(&sandbox), 300, 600).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_quickstart_converges_in_the_embedded_sandbox() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let dir = support::copy_dir(&example);
    let _ = std::fs::remove_file(dir.path().join(".slascone-sandbox.json"));
    let apply = cli(&["apply", "--sandbox", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}{}", stdout(&apply), stderr(&apply));
    assert!(
        stdout(&apply).contains("Apply complete: 7 created, 0 updated, 0 failed."),
        "{}",
        stdout(&apply)
    );
    assert!(
        dir.path().join(".slascone-sandbox.json").exists(),
        "the sandbox state is kept"
    );
    let plan = cli(&["plan", "--sandbox", "--detailed-exitcode"], dir.path()).await;
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    assert_eq!(stdout(&plan), "No changes.\n");
}

/// The embedded sandbox's state file is a journal like `--state`'s: a write killed while it was
/// appended leaves a torn last line, which the next command drops with a warning and compacts
/// away, keeping every whole record; a stopped sandbox leaves one JSON document.
#[tokio::test]
async fn the_embedded_sandbox_drops_a_torn_record_and_keeps_the_rest() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let dir = support::copy_dir(&example);
    let state = dir.path().join(".slascone-sandbox.json");
    let _ = std::fs::remove_file(&state);
    let apply = cli(&["apply", "--sandbox", "--auto-approve"], dir.path()).await;
    assert_eq!(code(&apply), 0, "{}{}", stdout(&apply), stderr(&apply));
    let snapshot = std::fs::read(&state).unwrap();
    serde_json::from_slice::<serde_json::Value>(&snapshot).expect("one JSON document");
    // A whole record (K001 moved to Hamburg) and the start of another, as a kill leaves them.
    let mut saved = support::read_state(&state);
    let acme = saved["customers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["customer_number"] == "K001")
        .unwrap();
    acme["city"] = "Hamburg".into();
    let record = format!(
        "{}\n{{\"customer\":{{\"id\":\"",
        serde_json::json!({"customer": acme})
    );
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&state)
        .unwrap();
    std::io::Write::write_all(&mut file, record.as_bytes()).unwrap();
    drop(file);

    let plan = cli(&["plan", "--sandbox"], dir.path()).await;
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    assert!(
        stderr(&plan).contains(
            "ends in an incomplete record (line 3), a write that was never answered; it is dropped"
        ),
        "{}",
        stderr(&plan)
    );
    assert!(
        stdout(&plan).contains("city: \"Hamburg\" → \"Berlin\""),
        "{}",
        stdout(&plan)
    );
    let compacted = std::fs::read(&state).unwrap();
    let whole: serde_json::Value = serde_json::from_slice(&compacted).expect("compacted on stop");
    assert_eq!(whole["customers"].as_array().unwrap().len(), 3);
    let again = cli(&["plan", "--sandbox"], dir.path()).await;
    assert!(
        !stderr(&again).contains("incomplete record"),
        "{}",
        stderr(&again)
    );
}

#[tokio::test]
async fn the_apply_report_comes_in_three_formats() {
    let sandbox = support::sandbox().await;
    let broken = ACME.replace("country: Austria", "country: Atlantis");
    let dir = project(&sandbox, &[("acme.yaml", &broken)], "");
    let apply = cli(&["apply", "--auto-approve", "--format", "json"], dir.path()).await;
    assert_eq!(code(&apply), 4);
    // stdout holds the report alone; the plan went to stderr.
    let report: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    assert!(
        stderr(&apply).contains("Plan: 5 to create"),
        "{}",
        stderr(&apply)
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"created": 3, "updated": 0, "exists": 0, "failed": 1, "skipped": 1})
    );
    let failed = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "failed")
        .unwrap();
    assert_eq!(failed["key"], "K002");
    assert_eq!(failed["slascone_error_id"], 9000);
    assert!(
        failed["origin"]
            .as_str()
            .unwrap()
            .ends_with("acme.yaml:19:5")
    );

    let apply = cli(
        &["apply", "--auto-approve", "--format", "markdown"],
        dir.path(),
    )
    .await;
    assert_eq!(code(&apply), 4);
    let text = stdout(&apply);
    assert!(
        text.contains("| ❌ | customer | `K002` | failed: "),
        "{text}"
    );
    assert!(
        text.contains("Apply complete: 0 created, 0 updated, 1 failed, 1 skipped."),
        "{text}"
    );
    sandbox.shutdown().await;
}

/// On a terminal, apply asks and only `yes` goes ahead (`script` gives the binary a pty).
#[tokio::test]
async fn apply_asks_on_a_terminal() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("acme.yaml", ACME)], "");
    let ask = |answer: &'static str| {
        let command = format!("{} apply {}", support::bin(), dir.path().to_str().unwrap());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new("script")
                .args(["-qec", &command, "/dev/null"])
                .env("SLASCONE_ADMIN_KEY", support::KEY)
                .env("NO_COLOR", "1")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("script(1) from util-linux runs");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(answer.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        })
    };
    let declined = ask("no\n").await.unwrap();
    let text = String::from_utf8_lossy(&declined.stdout).into_owned();
    assert!(
        text.contains("Apply these 5 changes to SLASCONE? Only 'yes' is accepted:"),
        "{text}"
    );
    assert!(text.contains("Apply cancelled."), "{text}");
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());

    let accepted = ask("yes\n").await.unwrap();
    let text = String::from_utf8_lossy(&accepted.stdout).into_owned();
    assert!(
        text.contains("Apply complete: 5 created, 0 updated, 0 failed."),
        "{text}"
    );
    assert_eq!(support::writes(&support::requests(&sandbox).await).len(), 5);
    sandbox.shutdown().await;
}
