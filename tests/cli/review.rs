//! What a reviewer is shown and what apply refuses: risk grades and the `safety.max_risk`
//! ceiling, the expiry radar, and the usage read for a lowered limit (issue: review what
//! matters).

use std::path::Path;

use serde_json::Value;
use slascone_sync::sandbox::SandboxHandle;
use uuid::Uuid;

use crate::support::{self, Cli, Ran, project, write_files};

/// One customer with one Argus license that writes `license` (indented lines below the edition).
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

const START: &str = "        token_limit: 25
        user_limit: 20
        floating_token_limit: 8
        expires: 2027-12-31
";

async fn plan_json(dir: &Path, today: &str) -> Value {
    let out = Cli::new(["plan", "--format", "json"])
        .env("SLASCONE_SYNC_TODAY", today)
        .target(dir)
        .run()
        .await
        .expect(0)
        .stdout();
    serde_json::from_str(&out).expect("the plan is JSON")
}

async fn license_id(sandbox: &SandboxHandle, key: &str) -> Uuid {
    let client = support::client(sandbox);
    let products = client.products().await.unwrap();
    let argus = products.iter().find(|p| p.name == "Argus").unwrap();
    client
        .list_licenses(argus.id)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.legacy_license_key.as_deref() == Some(key))
        .expect("the license exists")
        .id
}

/// The token limit SLASCONE holds for the Argus license `key`.
async fn token_limit(sandbox: &SandboxHandle, key: &str) -> i64 {
    let id = license_id(sandbox, key).await;
    let license = support::client(sandbox).get_license(id).await.unwrap();
    license.expect("the license exists").token_limit
}

async fn set_usage(sandbox: &SandboxHandle, license: Uuid, usage: Value) {
    let answer = reqwest::Client::new()
        .put(format!("{}/_sandbox/usage/{license}", sandbox.base_url()))
        .json(&usage)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204, "{}", answer.text().await.unwrap());
}

/// Applies `START`, then writes `license` as the manifest's license.
async fn applied_then(sandbox: &SandboxHandle, license: &str, extra: &str) -> tempfile::TempDir {
    let dir = project(sandbox, &[("c.yaml", &manifest(START))], extra);
    support::apply_ok(dir.path()).await;
    write_files(dir.path(), &[("c.yaml", &manifest(license))]);
    dir
}

async fn save_plan(dir: &Path, saved: &Path) {
    Cli::new(["plan", "--out"])
        .arg(saved)
        .target(dir)
        .run()
        .await
        .expect(0);
}

async fn apply_saved(dir: &Path, saved: &Path, extra: &[&str]) -> Ran {
    extra
        .iter()
        .fold(Cli::new(["apply", "--auto-approve"]), |cli, arg| {
            cli.arg(arg)
        })
        .arg("--plan")
        .arg(saved)
        .target(dir)
        .run()
        .await
}

const LOWERED: &str = "        token_limit: 10
        user_limit: 20
        floating_token_limit: 8
        expires: 2027-12-31
";

#[tokio::test]
async fn a_change_above_max_risk_is_refused_unless_forced() {
    let sandbox = support::sandbox().await;
    let dir = applied_then(&sandbox, LOWERED, "safety: { max_risk: medium }\n").await;
    support::clear_requests(&sandbox).await;
    let refused = Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(3);
    assert!(
        refused.stderr().contains(
            "the plan holds a change above safety.max_risk (medium); refusing to apply it:\n  \
             license Argus/L-1 (high risk: token_limit lowered: 25 → 10"
        ),
        "{}",
        refused.stderr()
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());

    Cli::new(["apply", "--auto-approve", "--force"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    assert_eq!(token_limit(&sandbox, "L-1").await, 10);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_change_at_the_ceiling_is_applied() {
    let sandbox = support::sandbox().await;
    // A raised limit is low.
    let raised = LOWERED.replace("token_limit: 10", "token_limit: 30");
    let dir = applied_then(&sandbox, &raised, "safety: { max_risk: low }\n").await;
    Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_saved_plan_is_graded_again_not_trusted() {
    let sandbox = support::sandbox().await;
    let dir = applied_then(&sandbox, LOWERED, "safety: { max_risk: medium }\n").await;
    let saved = dir.path().join("plan.json");
    save_plan(dir.path(), &saved).await;
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(plan["format_version"], 2);
    assert_eq!(plan["changes"][0]["risk"], "high");
    // A file that claims the change is harmless changes nothing.
    plan["changes"][0]["risk"] = "low".into();
    plan["changes"][0]["risk_reasons"] = Value::Array(Vec::new());
    std::fs::write(&saved, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    support::clear_requests(&sandbox).await;
    let refused = apply_saved(dir.path(), &saved, &[]).await.expect(3);
    assert!(
        refused
            .stderr()
            .contains("license Argus/L-1 (high risk: token_limit lowered: 25 → 10)"),
        "{}",
        refused.stderr()
    );
    assert!(support::writes(&support::requests(&sandbox).await).is_empty());
    apply_saved(dir.path(), &saved, &["--force"])
        .await
        .expect(0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_version_1_plan_is_still_applied() {
    let sandbox = support::sandbox().await;
    let raised = LOWERED.replace("token_limit: 10", "token_limit: 30");
    let dir = applied_then(&sandbox, &raised, "").await;
    let saved = dir.path().join("plan.json");
    save_plan(dir.path(), &saved).await;
    // What a version 1 plan held: no risk, warnings as strings.
    let mut plan: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    plan["format_version"] = 1.into();
    plan["warnings"] = serde_json::json!(["an old warning"]);
    for change in plan["changes"].as_array_mut().unwrap() {
        let change = change.as_object_mut().unwrap();
        change.remove("risk");
        change.remove("risk_reasons");
    }
    std::fs::write(&saved, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    apply_saved(dir.path(), &saved, &[]).await.expect(0);
    assert_eq!(token_limit(&sandbox, "L-1").await, 30);

    plan["format_version"] = 3.into();
    std::fs::write(&saved, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let newer = apply_saved(dir.path(), &saved, &[]).await.expect(1);
    assert!(
        newer.stderr().contains("format_version 3"),
        "{}",
        newer.stderr()
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_radar_warns_of_active_licenses_expiring_soon_or_expired() {
    let sandbox = support::sandbox().await;
    let more = |key: &str, lines: &str| {
        format!(
            "      - legacy_license_key: {key}\n        product: Argus\n        edition: Professional\n{lines}"
        )
    };
    let text = [
        manifest(START),
        more("L-2", "        expires: 2026-12-21\n"),
        more(
            "L-3",
            "        active: false\n        expires: 2026-12-20\n",
        ),
        more("L-4", "        expires: 2026-11-01\n"),
        more("L-5", "        expires: 2027-01-20\n"),
    ]
    .concat();
    let dir = project(&sandbox, &[("c.yaml", &text)], "");
    let radar = |plan: &Value| -> Vec<(String, String, String, i64)> {
        plan["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["kind"].as_str().unwrap().to_owned(),
                    w["key"].as_str().unwrap().to_owned(),
                    w["date"].as_str().unwrap().to_owned(),
                    w["days_left"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let row = |kind: &str, key: &str, date: &str, days: i64| {
        (kind.to_owned(), key.to_owned(), date.to_owned(), days)
    };

    support::clear_requests(&sandbox).await;
    let plan = plan_json(dir.path(), "2026-12-01").await;
    let read = support::requests(&sandbox).await.len();
    // L-1 and L-5 expire later than 30 days from now; L-3 is not active.
    assert_eq!(
        radar(&plan),
        [
            row("expiring", "Argus/L-2", "2026-12-21", 20),
            row("expired", "Argus/L-4", "2026-11-01", -30),
        ]
    );
    let expired = &plan["warnings"][1]["message"];
    assert!(
        expired
            .as_str()
            .unwrap()
            .ends_with("expired on 2026-11-01, 30 days ago, and stays active"),
        "{expired}"
    );

    // Within 60 days L-5 counts too; 0 turns the radar off. Neither costs a request.
    let project_file = dir.path().join("slascone.yaml");
    let settings = std::fs::read_to_string(&project_file).unwrap();
    std::fs::write(
        &project_file,
        format!("{settings}warnings: {{ expiring_within_days: 60 }}\n"),
    )
    .unwrap();
    support::clear_requests(&sandbox).await;
    let plan = plan_json(dir.path(), "2026-12-01").await;
    assert_eq!(
        radar(&plan),
        [
            row("expiring", "Argus/L-2", "2026-12-21", 20),
            row("expired", "Argus/L-4", "2026-11-01", -30),
            row("expiring", "Argus/L-5", "2027-01-20", 50),
        ]
    );
    assert_eq!(support::requests(&sandbox).await.len(), read);

    std::fs::write(
        &project_file,
        format!("{settings}warnings: {{ expiring_within_days: 0 }}\n"),
    )
    .unwrap();
    let plan = plan_json(dir.path(), "2026-12-01").await;
    assert_eq!(plan["warnings"], serde_json::json!([]));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_bad_today_is_an_error_naming_the_variable() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(START))], "");
    let failed = Cli::new(["plan"])
        .env("SLASCONE_SYNC_TODAY", "tomorrow")
        .target(dir.path())
        .run()
        .await
        .expect(1);
    assert!(
        failed.stderr().contains("SLASCONE_SYNC_TODAY"),
        "{}",
        failed.stderr()
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn lowering_a_limit_reads_what_is_in_use_and_nothing_else_does() {
    let sandbox = support::sandbox().await;
    let dir = applied_then(&sandbox, START, "").await;
    let id = license_id(&sandbox, "L-1").await;
    set_usage(
        &sandbox,
        id,
        serde_json::json!({"tokens": 14, "users": 3, "floating_tokens": 8}),
    )
    .await;

    // Raising limits and other changes read no usage.
    let raised = START
        .replace("token_limit: 25", "token_limit: 30")
        .replace("expires: 2027-12-31", "expires: 2028-12-31");
    write_files(dir.path(), &[("c.yaml", &manifest(&raised))]);
    support::clear_requests(&sandbox).await;
    let plan = plan_json(dir.path(), "2026-12-01").await;
    assert_eq!(plan["changes"][0]["risk"], "low");
    let baseline = support::requests(&sandbox).await;
    // Assignment reads, and listings of licenses (the plan's own, and tree reads).
    let reads = |log: &[support::Logged]| {
        let count = |suffix: &str| log.iter().filter(|r| r.path.ends_with(suffix)).count();
        (count("/assignments"), count("/licenses/filtered"))
    };
    let (assignments, listings) = reads(&baseline);
    assert_eq!(assignments, 0);

    // Lowering tokens costs the assignments read: its one page, and the empty one after it
    // that shows the first was not cut short by a cap (none is known yet). Users and floating
    // tokens cost one read of the light listing, whose count says when the listing is read.
    let lowered = START
        .replace("token_limit: 25", "token_limit: 10")
        .replace("user_limit: 20", "user_limit: 5")
        .replace("floating_token_limit: 8", "floating_token_limit: 4");
    write_files(dir.path(), &[("c.yaml", &manifest(&lowered))]);
    support::clear_requests(&sandbox).await;
    let plan = plan_json(dir.path(), "2026-12-01").await;
    let log = support::requests(&sandbox).await;
    assert_eq!(reads(&log), (2, listings + 1));
    assert_eq!(log.len(), baseline.len() + 3);
    let reasons: Vec<&str> = plan["changes"][0]["risk_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "floating_token_limit lowered: 8 → 4",
            "token_limit lowered: 25 → 10",
            "user_limit lowered: 20 → 5",
            "8 of 8 floating tokens in use (active_floating_tokens); the new \
             floating_token_limit 4 leaves 4 over",
            "14 of 25 tokens in use (assignments); the new token_limit 10 leaves 4 over",
            "3 of 20 named users (active_users); the new user_limit 5 leaves room for 2",
        ]
    );
    sandbox.shutdown().await;
}

/// Usage reads are capped by `warnings.max_usage_reads`: past it, no request, and the reasons
/// say why the usage was not read.
#[tokio::test]
async fn usage_reads_stop_at_max_usage_reads() {
    let sandbox = support::sandbox().await;
    let dir = applied_then(&sandbox, START, "warnings: { max_usage_reads: 0 }\n").await;
    let lowered = START
        .replace("token_limit: 25", "token_limit: 10")
        .replace("user_limit: 20", "user_limit: 5");
    write_files(dir.path(), &[("c.yaml", &manifest(&lowered))]);
    support::clear_requests(&sandbox).await;
    let plan = plan_json(dir.path(), "2026-12-01").await;
    let log = support::requests(&sandbox).await;
    assert!(
        !log.iter().any(|r| r.path.ends_with("/assignments")),
        "{log:?}"
    );
    let reasons = plan["changes"][0]["risk_reasons"].to_string();
    let why = "this plan lowers limits of 1 license, and warnings.max_usage_reads reads 0";
    for what in ["tokens in use (assignments)", "named users (active_users)"] {
        assert!(
            reasons.contains(&format!("usage not read: {what}: {why}")),
            "{reasons}"
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_refuses_usage_of_an_unknown_license() {
    let sandbox = support::sandbox().await;
    let answer = reqwest::Client::new()
        .put(format!(
            "{}/_sandbox/usage/{}",
            sandbox.base_url(),
            Uuid::new_v4()
        ))
        .json(&serde_json::json!({"tokens": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 409);
    sandbox.shutdown().await;
}

/// The markdown plan's `Manifest:` lines of a project whose manifests sit one folder below the
/// repository root, run with the CI variables `env`.
async fn manifest_lines(env: &[(&str, String)]) -> Vec<String> {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(START))], "");
    let root = dir.path().parent().unwrap();
    let folder = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let env: Vec<(&str, String)> = env
        .iter()
        .map(|(name, value)| (*name, value.replace("{root}", &root.display().to_string())))
        .collect();
    let cli = env.iter().fold(
        Cli::new(["plan", "--format", "markdown"]),
        |cli, (name, value)| cli.env(name, value),
    );
    let markdown = cli.target(dir.path()).run().await.expect(0).stdout();
    sandbox.shutdown().await;
    markdown
        .lines()
        .filter(|line| line.starts_with("Manifest: "))
        .map(|line| line.replace(&folder, "{folder}"))
        .collect()
}

#[tokio::test]
async fn in_ci_each_manifest_line_links_to_the_reviewed_commit() {
    let github = [
        ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
        ("GITHUB_REPOSITORY", "acme/licensing".to_owned()),
        ("GITHUB_SHA", "1111111".to_owned()),
        ("GITHUB_WORKSPACE", "{root}".to_owned()),
    ];
    let lines = manifest_lines(&github).await;
    assert_eq!(
        lines,
        [
            "Manifest: [{folder}/c.yaml:2:5](<https://github.com/acme/licensing/blob/1111111/{folder}/c.yaml#L2>)",
            "Manifest: [{folder}/c.yaml:7:9](<https://github.com/acme/licensing/blob/1111111/{folder}/c.yaml#L7>) · created after customer K1",
        ]
    );

    // On a pull request, the head commit rather than the merge commit GitHub made for the run.
    let event = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        event.path(),
        r#"{"pull_request": {"head": {"sha": "2222222"}}}"#,
    )
    .unwrap();
    let mut pull_request = github.to_vec();
    pull_request.push(("GITHUB_EVENT_PATH", event.path().display().to_string()));
    let lines = manifest_lines(&pull_request).await;
    assert!(
        lines[0].contains("/blob/2222222/{folder}/c.yaml#L2>"),
        "{lines:?}"
    );

    let gitlab = [
        (
            "CI_PROJECT_URL",
            "https://gitlab.example/acme/licensing".to_owned(),
        ),
        ("CI_COMMIT_SHA", "3333333".to_owned()),
        ("CI_PROJECT_DIR", "{root}".to_owned()),
    ];
    let lines = manifest_lines(&gitlab).await;
    assert_eq!(
        lines[0],
        "Manifest: [{folder}/c.yaml:2:5](<https://gitlab.example/acme/licensing/-/blob/3333333/{folder}/c.yaml#L2>)"
    );

    // Outside CI, and for manifests outside the checkout, the line stays a plain position.
    let lines = manifest_lines(&[]).await;
    assert!(lines[0].starts_with("Manifest: /"), "{lines:?}");
    let mut elsewhere = github.to_vec();
    elsewhere[3].1 = "/proc".to_owned();
    let lines = manifest_lines(&elsewhere).await;
    assert!(lines[0].starts_with("Manifest: /"), "{lines:?}");
}

/// On a server whose pages count from 1 (page 0 empty) and hold at most 100 rows, every usage
/// is read in full, page by page; one the server does not give is said, never left out.
#[tokio::test]
async fn usage_is_read_in_full_on_a_server_that_pages_its_own_way() {
    use slascone_sync::sandbox::PageZero;
    let mut config = support::config();
    config.page_base = 1;
    config.page_zero = PageZero::Empty;
    config.max_page_size = 100;
    let sandbox = support::start(config).await;
    let start = "        token_limit: 200
        user_limit: 10
        floating_token_limit: 8
        expires: 2027-12-31
";
    let dir = project(&sandbox, &[("c.yaml", &manifest(start))], "");
    support::apply_ok(dir.path()).await;
    let id = license_id(&sandbox, "L-1").await;
    set_usage(
        &sandbox,
        id,
        serde_json::json!({"tokens": 150, "users": 9, "floating_tokens": null}),
    )
    .await;
    let lowered = start
        .replace("token_limit: 200", "token_limit: 120")
        .replace("user_limit: 10", "user_limit: 5")
        .replace("floating_token_limit: 8", "floating_token_limit: 4");
    write_files(dir.path(), &[("c.yaml", &manifest(&lowered))]);
    support::clear_requests(&sandbox).await;
    let plan = plan_json(dir.path(), "2026-12-01").await;
    let reasons: Vec<&str> = plan["changes"][0]["risk_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let listing = support::api("/licenses/filtered");
    assert_eq!(
        reasons[3..],
        [
            format!(
                "usage not read: floating tokens in use (active_floating_tokens): POST \
                 {listing}: the row of license {id} has no active_floating_tokens"
            ),
            "150 of 200 tokens in use (assignments); the new token_limit 120 leaves 30 over"
                .to_owned(),
            "9 of 10 named users (active_users); the new user_limit 5 leaves 4 over".to_owned(),
        ]
    );
    // The pages asked for: page 0, which is empty, then from page 1 until a short one. The
    // assignments listing finds out for itself where its pages start.
    let log = support::requests(&sandbox).await;
    let pages: Vec<(Option<&str>, u16)> = log
        .iter()
        .filter(|r| r.path.ends_with("/assignments"))
        .map(|r| (r.query.as_deref(), r.status))
        .collect();
    assert_eq!(
        pages,
        [
            (Some("page=0&page_size=500"), 200),
            (Some("page=1&page_size=500"), 200),
            (Some("page=2&page_size=500"), 200)
        ],
        "{log:#?}"
    );
    sandbox.shutdown().await;
}

/// What a stand-in in front of the sandbox does with the assignments reads it passes on.
#[derive(Clone, Copy)]
enum Assignments {
    /// Refuses each with a 409: a usage read that fails while the rest of the plan reads fine.
    Refused,
    /// Passes each on without its query, so every page is the sandbox's first: a server that
    /// ignores `page`.
    PageIgnored,
}

/// A stand-in in front of `sandbox` that treats assignments reads as `mode` says and passes
/// everything else on.
async fn assignments_proxy(sandbox: &SandboxHandle, mode: Assignments) -> String {
    use axum::body::{Body, to_bytes};
    use axum::extract::{Request, State};
    use axum::response::{IntoResponse, Response};

    async fn pass(State((base, mode)): State<(String, Assignments)>, request: Request) -> Response {
        let assignments = request.uri().path().ends_with("/assignments");
        if assignments && matches!(mode, Assignments::Refused) {
            let refusal = serde_json::json!({"id": 2000, "message": "Assignments unavailable"});
            return (axum::http::StatusCode::CONFLICT, axum::Json(refusal)).into_response();
        }
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, usize::MAX).await.unwrap();
        let target = if assignments {
            parts.uri.path().to_owned()
        } else {
            parts.uri.to_string()
        };
        let answer = reqwest::Client::new()
            .request(parts.method, format!("{base}{target}"))
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let headers = answer.headers().clone();
        let mut response = Response::new(Body::from(answer.bytes().await.unwrap()));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(pass)
        .with_state((sandbox.base_url(), mode));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Points the project in `dir` at `url` instead of the sandbox.
fn retarget(dir: &Path, sandbox: &SandboxHandle, url: &str) {
    let project = dir.join("slascone.yaml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(&project, text.replace(&sandbox.base_url(), url)).unwrap();
}

/// A usage read that fails is a reason of the change, and the plan goes on.
#[tokio::test]
async fn a_usage_read_that_fails_is_said_in_the_reasons() {
    let sandbox = support::sandbox().await;
    let dir = applied_then(&sandbox, LOWERED, "").await;
    let proxy = assignments_proxy(&sandbox, Assignments::Refused).await;
    retarget(dir.path(), &sandbox, &proxy);
    let plan = plan_json(dir.path(), "2026-12-01").await;
    let reasons = &plan["changes"][0]["risk_reasons"];
    let id = license_id(&sandbox, "L-1").await;
    assert_eq!(
        reasons[1],
        format!(
            "usage not read: tokens in use (assignments): GET {}: SLASCONE error 2000: \
             Assignments unavailable",
            support::api(&format!("/licenses/{id}/assignments"))
        ),
        "{reasons}"
    );
    sandbox.shutdown().await;
}

/// Tokens behind an assignments listing capped lower than the license listing, or one that
/// answers page 0 like page 1, are counted in full; behind one that ignores `page`, what was
/// seen is said as a floor, never as room to spare.
#[tokio::test]
async fn usage_behind_a_capped_or_repeating_assignments_listing_is_counted_or_marked() {
    use slascone_sync::sandbox::PageZero;
    // Two more licenses, so the license listing's first page is as long as `--page-size 2`
    // asks: it shows that listing honours a page of 2, which the assignments listing does not.
    let lowered = |limit: &str| {
        START.replace("token_limit: 25", &format!("token_limit: {limit}"))
            + "      - legacy_license_key: L-2
        product: Argus
        edition: Professional
      - legacy_license_key: L-3
        product: Argus
        edition: Professional
"
    };
    let token_reason = |plan: &Value| -> String {
        let reasons = plan["changes"][0]["risk_reasons"].as_array().unwrap();
        assert_eq!(plan["changes"][0]["risk"], "high", "{reasons:?}");
        reasons
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .find(|r| r.contains("tokens in use (assignments)"))
            .unwrap_or_else(|| panic!("{reasons:?}"))
    };
    let plan = |dir: &Path| {
        let dir = dir.to_owned();
        async move {
            let out = Cli::new(["plan", "--format", "json", "--page-size", "2"])
                .env("SLASCONE_SYNC_TODAY", "2026-12-01")
                .target(&dir)
                .run()
                .await
                .expect(0)
                .stdout();
            serde_json::from_str::<Value>(&out).expect("the plan is JSON")
        }
    };
    let mut seen = Vec::new();
    for (name, cap, base, zero) in [
        ("capped at 1", 1, 0, PageZero::Same),
        (
            "capped at 1, page 0 answered like page 1",
            1,
            1,
            PageZero::Same,
        ),
        (
            "capped at 10, page 0 answered like page 1",
            10,
            1,
            PageZero::Same,
        ),
    ] {
        let mut config = support::config();
        config.assignments_max_page_size = Some(cap);
        config.assignments_page_base = Some(base);
        config.assignments_page_zero = Some(zero);
        let sandbox = support::start(config).await;
        let dir = project(&sandbox, &[("c.yaml", &manifest(&lowered("25")))], "");
        support::apply_ok(dir.path()).await;
        write_files(dir.path(), &[("c.yaml", &manifest(&lowered("2")))]);
        let id = license_id(&sandbox, "L-1").await;
        set_usage(&sandbox, id, serde_json::json!({"tokens": 5})).await;
        let reason = token_reason(&plan(dir.path()).await);
        seen.push(format!("{name}: {reason}"));
        sandbox.shutdown().await;
    }
    let mut config = support::config();
    config.assignments_max_page_size = Some(1);
    let sandbox = support::start(config).await;
    let dir = project(&sandbox, &[("c.yaml", &manifest(&lowered("25")))], "");
    support::apply_ok(dir.path()).await;
    let id = license_id(&sandbox, "L-1").await;
    set_usage(&sandbox, id, serde_json::json!({"tokens": 5})).await;
    let proxy = assignments_proxy(&sandbox, Assignments::PageIgnored).await;
    retarget(dir.path(), &sandbox, &proxy);
    for limit in ["1", "0"] {
        write_files(dir.path(), &[("c.yaml", &manifest(&lowered(limit)))]);
        let reason = token_reason(&plan(dir.path()).await);
        seen.push(format!("page ignored, lowered to {limit}: {reason}"));
    }
    sandbox.shutdown().await;
    insta::assert_snapshot!(
        "usage_behind_capped_or_repeating_assignments",
        seen.join("\n")
    );
}
