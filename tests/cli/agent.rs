//! The agent: reconciles in a loop against the in-process sandbox, with its endpoints read over
//! HTTP as a probe, Prometheus or a webhook sender would; and the binary, stopped by SIGTERM.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use slascone_sync::agent::{Agent, Config, LogFormat, Mode, Secret, Source};
use slascone_sync::engine::{AdminKey, Settings, Target};
use slascone_sync::remote::wire::DataExchangeUpdateCustomerDto;
use slascone_sync::sandbox::SandboxHandle;

use crate::support::{self, ISV, KEY};

pub(crate) const WEBHOOK_SECRET: &str = "whsec-4b1d-never-print-me";
pub(crate) const API_TOKEN: &str = "apitok-93c7-never-print-me";
const INTERVAL: Duration = Duration::from_millis(200);

pub(crate) fn manifest(city: &str, token_limit: u32) -> String {
    format!(
        "customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    city: {city}
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        token_limit: {token_limit}
"
    )
}

/// A running agent, the lines it logged, and a client for its endpoints.
pub(crate) struct Running {
    pub(crate) agent: Agent,
    pub(crate) base: String,
    pub(crate) logs: Arc<Mutex<Vec<String>>>,
    pub(crate) http: reqwest::Client,
}

pub(crate) fn agent_config(dir: &Path, mode: Mode) -> (Config, Arc<Mutex<Vec<String>>>) {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let logs = Arc::clone(&logs);
        Arc::new(move |line: &str| logs.lock().unwrap().push(line.to_owned()))
    };
    let config = Config {
        source: Source::Dir(dir.to_path_buf()),
        env: None,
        mode,
        interval: INTERVAL,
        retry_base: Duration::from_millis(50),
        unready_after: 2,
        listen: ([127, 0, 0, 1], 0).into(),
        settings: Settings {
            today: Some(jiff::civil::date(2026, 12, 1)),
            timeout: Duration::from_secs(5),
            ..Settings::default()
        },
        // The project's api_url is read at every reconcile, so a test can point it elsewhere.
        target: Arc::new(|project| {
            Ok(Target::Api {
                url: project.api_url.clone(),
                isv_id: ISV,
                admin_key: AdminKey::new(KEY),
            })
        }),
        admin_key_of: Arc::new(|_, _| Some(KEY.to_owned())),
        webhook_secret: Some(Secret::new(WEBHOOK_SECRET)),
        api_token: Some(Secret::new(API_TOKEN)),
        notify_url: None,
        log_format: LogFormat::Json,
        log: sink,
    };
    (config, logs)
}

pub(crate) async fn start(config: Config, logs: Arc<Mutex<Vec<String>>>) -> Running {
    let agent = Agent::start(config).await.expect("the agent starts");
    Running {
        base: format!("http://{}", agent.addr()),
        agent,
        logs,
        http: reqwest::Client::new(),
    }
}

impl Running {
    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the agent answers");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    }

    async fn status(&self) -> Value {
        let (code, body) = self.get("/status").await;
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("/status is JSON")
    }

    /// Polls /status until `done` holds; panics with the last status after `within`.
    pub(crate) async fn wait_for(&self, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let status = self.status().await;
            if done(&status) {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "not reached in {within:?}; last status: {status:#}\nlogs:\n{}",
                self.logs.lock().unwrap().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .send()
            .await
            .expect("the agent answers")
            .status()
            .as_u16()
    }

    pub(crate) fn reconciles(status: &Value) -> u64 {
        status["reconciles"].as_u64().unwrap()
    }
}

pub(crate) fn result(status: &Value) -> &str {
    status["last"]["result"].as_str().unwrap_or("")
}

pub(crate) async fn project(
    sandbox: &SandboxHandle,
    city: &str,
    token_limit: u32,
    extra: &str,
) -> tempfile::TempDir {
    support::project(
        sandbox,
        &[("acme.yaml", &manifest(city, token_limit))],
        extra,
    )
}

#[tokio::test]
async fn a_manifest_change_is_applied_within_one_interval() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    let (config, logs) = agent_config(dir.path(), Mode::Apply);
    let running = start(config, logs).await;
    let first = running
        .wait_for(Duration::from_secs(10), |s| result(s) == "applied")
        .await;
    assert_eq!(first["last"]["changes"], 2, "{first:#}");
    assert_eq!(first["mode"], "apply");
    running
        .wait_for(Duration::from_secs(10), |s| result(s) == "in_sync")
        .await;

    support::write_files(dir.path(), &[("acme.yaml", &manifest("Munich", 25))]);
    let written = jiff::Timestamp::now();
    let applied = running
        .wait_for(Duration::from_secs(10), |s| result(s) == "applied")
        .await;
    let started: jiff::Timestamp = applied["last"]["started_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The reconcile that applied it started no later than one interval after the write.
    let waited = started.duration_since(written);
    assert!(
        waited.as_secs_f64() <= INTERVAL.as_secs_f64() + 0.05,
        "waited {waited:?}"
    );
    assert_eq!(applied["last"]["changes"], 1, "{applied:#}");
    assert_eq!(applied["last"]["plan"][0]["key"], "K001");
    assert_eq!(applied["last"]["apply"]["summary"]["updated"], 1);
    assert!(
        applied["last"]["plan"][0]["origin"]
            .as_str()
            .unwrap()
            .ends_with("acme.yaml:2:5"),
        "{applied:#}"
    );
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_portal_edit_is_reported_in_detect_mode_and_reverted_in_apply_mode() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    support::apply_ok(dir.path()).await;
    support::client(&sandbox)
        .update_customer_by_number(&DataExchangeUpdateCustomerDto {
            customer_number: "K001".into(),
            city: Some("Hamburg".into()),
            ..DataExchangeUpdateCustomerDto::default()
        })
        .await
        .unwrap();
    support::clear_requests(&sandbox).await;

    let (config, logs) = agent_config(dir.path(), Mode::Detect);
    let detect = start(config, logs).await;
    let status = detect
        .wait_for(Duration::from_secs(10), |s| Running::reconciles(s) >= 2)
        .await;
    assert_eq!(result(&status), "drift", "{status:#}");
    assert_eq!(status["last"]["changes"], 1);
    assert_eq!(status["last"]["plan"][0]["action"], "update");
    let (_, metrics) = detect.get("/metrics").await;
    assert!(
        metrics.contains("\nslascone_sync_pending_changes 1\n"),
        "{metrics}"
    );
    detect.agent.shutdown(Duration::from_secs(5)).await;
    let log = support::requests(&sandbox).await;
    assert!(
        support::writes(&log).is_empty(),
        "detect mode wrote: {:?}",
        support::writes(&log)
    );

    let (config, logs) = agent_config(dir.path(), Mode::Apply);
    let apply = start(config, logs).await;
    let applied = apply
        .wait_for(Duration::from_secs(10), |s| result(s) == "applied")
        .await;
    assert_eq!(applied["last"]["apply"]["results"][0]["status"], "updated");
    apply
        .wait_for(Duration::from_secs(10), |s| result(s) == "in_sync")
        .await;
    apply.agent.shutdown(Duration::from_secs(5)).await;
    let log = support::requests(&sandbox).await;
    assert_eq!(
        support::writes(&log).len(),
        1,
        "{:?}",
        support::writes(&log)
    );
}

#[tokio::test]
async fn a_plan_above_max_risk_is_blocked_and_not_applied() {
    let sandbox = support::sandbox().await;
    let extra = "safety: { max_risk: medium }\n";
    let dir = project(&sandbox, "Berlin", 25, extra).await;
    support::apply_ok(dir.path()).await;
    support::write_files(dir.path(), &[("acme.yaml", &manifest("Berlin", 5))]);
    support::clear_requests(&sandbox).await;

    let (config, logs) = agent_config(dir.path(), Mode::Apply);
    let running = start(config, logs).await;
    let status = running
        .wait_for(Duration::from_secs(10), |s| Running::reconciles(s) >= 2)
        .await;
    assert_eq!(result(&status), "blocked", "{status:#}");
    let blocked = &status["last"]["blocked"][0];
    assert_eq!(blocked["rule"], "safety.max_risk: medium");
    assert_eq!(blocked["changes"][0], "license Argus/SUB-1");
    let (_, page) = running.get("/").await;
    assert!(page.contains("safety.max_risk: medium"), "{page}");
    assert!(page.contains("token_limit lowered"), "{page}");
    let logs = running.logs.lock().unwrap().join("\n");
    assert!(logs.contains("\"event\":\"blocked\""), "{logs}");
    running.agent.shutdown(Duration::from_secs(5)).await;
    let log = support::requests(&sandbox).await;
    assert!(
        support::writes(&log).is_empty(),
        "{:?}",
        support::writes(&log)
    );
}

pub(crate) fn github_signature(body: &str, secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn triggers_are_checked_against_their_secrets() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    let (mut config, logs) = agent_config(dir.path(), Mode::Detect);
    // Long enough that every reconcile after the first is one a trigger asked for.
    config.interval = Duration::from_secs(3600);
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(10), |s| Running::reconciles(s) == 1)
        .await;

    let body = r#"{"ref":"refs/heads/main"}"#;
    let bad = github_signature(body, "not-the-secret");
    let headers = [
        ("x-hub-signature-256", bad.as_str()),
        ("x-github-event", "push"),
    ];
    assert_eq!(running.post("/hooks/github", &headers, body).await, 401);
    assert_eq!(running.post("/hooks/github", &[], body).await, 401);
    let good = github_signature(body, WEBHOOK_SECRET);
    let tampered = [("x-hub-signature-256", good.as_str())];
    assert_eq!(running.post("/hooks/github", &tampered, "{}").await, 401);
    assert_eq!(
        running
            .post("/hooks/gitlab", &[("x-gitlab-token", "wrong")], body)
            .await,
        401
    );
    assert_eq!(
        running
            .post("/reconcile", &[("authorization", "Bearer wrong")], "")
            .await,
        401
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        Running::reconciles(&running.status().await),
        1,
        "a refused trigger ran"
    );

    let headers = [
        ("x-hub-signature-256", good.as_str()),
        ("x-github-event", "push"),
    ];
    assert_eq!(running.post("/hooks/github", &headers, body).await, 202);
    let status = running
        .wait_for(Duration::from_secs(10), |s| Running::reconciles(s) == 2)
        .await;
    assert_eq!(status["last"]["trigger"], "github");
    let gitlab = [("x-gitlab-token", WEBHOOK_SECRET)];
    assert_eq!(running.post("/hooks/gitlab", &gitlab, body).await, 202);
    running
        .wait_for(Duration::from_secs(10), |s| {
            Running::reconciles(s) == 3 && s["last"]["trigger"] == "gitlab"
        })
        .await;
    let bearer = format!("Bearer {API_TOKEN}");
    assert_eq!(
        running
            .post("/reconcile", &[("authorization", bearer.as_str())], "")
            .await,
        202
    );
    running
        .wait_for(Duration::from_secs(10), |s| {
            Running::reconciles(s) == 4 && s["last"]["trigger"] == "api"
        })
        .await;
    running.agent.shutdown(Duration::from_secs(5)).await;

    // Without their secrets the triggers do not exist.
    let (mut bare_config, logs) = agent_config(dir.path(), Mode::Detect);
    bare_config.webhook_secret = None;
    bare_config.api_token = None;
    let bare = start(bare_config, logs).await;
    assert_eq!(bare.post("/hooks/github", &headers, body).await, 404);
    assert_eq!(bare.post("/hooks/gitlab", &gitlab, body).await, 404);
    assert_eq!(
        bare.post("/reconcile", &[("authorization", bearer.as_str())], "")
            .await,
        404
    );
    bare.agent.shutdown(Duration::from_secs(5)).await;
}

/// Points the project at a port nobody listens on, or back at the sandbox.
fn point_at(dir: &Path, url: &str) {
    let file = dir.join("slascone.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let rest: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("api_url:"))
        .collect();
    std::fs::write(&file, format!("api_url: {url}\n{}\n", rest.join("\n"))).unwrap();
}

#[tokio::test]
async fn readiness_follows_failures_in_a_row_and_recovers() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    point_at(dir.path(), &closed);
    let (config, logs) = agent_config(dir.path(), Mode::Detect);
    let running = start(config, logs).await;
    assert_eq!(running.get("/healthz").await.0, 200);
    let failed = running
        .wait_for(Duration::from_secs(20), |s| result(s) == "failed")
        .await;
    assert!(
        failed["last"]["error"]
            .as_str()
            .unwrap()
            .contains(closed.trim_start_matches("http://")),
        "{failed:#}"
    );
    let (code, body) = running.get("/readyz").await;
    assert_eq!(
        (code, body.as_str()),
        (503, "not ready: no reconcile has succeeded yet\n")
    );

    point_at(dir.path(), &sandbox.base_url());
    running
        .wait_for(Duration::from_secs(20), |s| result(s) == "drift")
        .await;
    assert_eq!(running.get("/readyz").await.0, 200);

    point_at(dir.path(), &closed);
    // One failure in a row is below --unready-after 2: still ready.
    running
        .wait_for(Duration::from_secs(20), |s| s["failures_in_a_row"] == 1)
        .await;
    assert_eq!(running.get("/readyz").await.0, 200);
    running
        .wait_for(Duration::from_secs(20), |s| s["failures_in_a_row"] == 2)
        .await;
    assert_eq!(
        running.get("/readyz").await,
        (503, "not ready: 2 reconciles failed in a row\n".to_owned())
    );
    let (_, metrics) = running.get("/metrics").await;
    let parsed = parse_metrics(&metrics);
    assert!(parsed["slascone_sync_reconcile_total{result=\"failed\"}"] >= 3.0);
    assert!(parsed["slascone_sync_last_success_timestamp_seconds"] > 1.7e9);

    point_at(dir.path(), &sandbox.base_url());
    running
        .wait_for(Duration::from_secs(20), |s| result(s) == "drift")
        .await;
    assert_eq!(running.get("/readyz").await.0, 200);
    running.agent.shutdown(Duration::from_secs(5)).await;
}

/// A strict reader of the Prometheus text format (0.0.4): every line a comment of the known
/// kinds or a sample of a family declared before it, label values quoted and escaped, values
/// numbers; histograms cumulative and ending in `+Inf` equal to their count. Returns every
/// sample by its name and labels as written.
pub(crate) fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    assert!(
        text.ends_with('\n'),
        "the exposition ends with a line break"
    );
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let name_ok = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (kind, name, rest) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            assert!(name_ok(name), "bad metric name in {line:?}");
            match kind {
                "HELP" => assert!(rest.is_some_and(|h| !h.is_empty()), "{line:?}"),
                "TYPE" => {
                    let kind = rest.unwrap();
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "{line:?}"
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "{name} typed twice"
                    );
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("{line:?}"));
                for pair in split_labels(labels) {
                    let (key, quoted) = pair.split_once('=').unwrap_or_else(|| panic!("{line:?}"));
                    assert!(name_ok(key), "{line:?}");
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "{line:?}"
                    );
                }
                name
            }
            None => series,
        };
        assert!(name_ok(name), "{line:?}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample {line:?} before its # TYPE"
        );
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{series} twice"
        );
    }
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let buckets: Vec<f64> = samples
            .iter()
            .filter(|(series, _)| series.starts_with(&format!("{family}_bucket{{")))
            .map(|(_, v)| *v)
            .collect();
        let inf = samples[&format!("{family}_bucket{{le=\"+Inf\"}}")];
        assert_eq!(inf, samples[&format!("{family}_count")]);
        assert!(buckets.iter().all(|b| *b <= inf));
        let mut ordered: Vec<(f64, f64)> = samples
            .iter()
            .filter_map(|(series, v)| {
                let le = series
                    .strip_prefix(&format!("{family}_bucket{{le=\""))?
                    .strip_suffix("\"}")?;
                Some((
                    if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().ok()?
                    },
                    *v,
                ))
            })
            .collect();
        ordered.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(
            ordered.windows(2).all(|w| w[0].1 <= w[1].1),
            "{family} is not cumulative"
        );
    }
    samples
}

/// Label pairs, split at commas outside quotes.
fn split_labels(labels: &str) -> Vec<String> {
    let (mut pairs, mut current, mut quoted, mut escaped) =
        (Vec::new(), String::new(), false, false);
    for c in labels.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pairs.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    assert!(!quoted, "unterminated label value in {labels:?}");
    if !current.is_empty() {
        pairs.push(current);
    }
    pairs
}

#[test]
fn the_metrics_reader_refuses_what_is_not_the_format() {
    for bad in [
        "x 1\n",
        "# TYPE x counter\nx one\n",
        "# TYPE x counter\nx{a=b} 1\n",
        "# TYPE x countr\nx 1\n",
        "# TYPE x counter\nx 1",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_metrics(bad)).is_err(),
            "{bad:?} parsed"
        );
    }
}

/// Many customers, so that applying them takes a while against a slow sandbox.
fn many_customers(n: usize) -> String {
    let mut text = String::from("customers:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - customer_number: M{i:03}\n    company_name: Many {i}\n    customer_type: SMB\n    country: Germany\n"
        ));
    }
    text
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_stops_on_sigterm_after_its_writes_and_shows_no_secret() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut config = support::config();
    config.latency = Duration::from_millis(40);
    let sandbox = support::start(config).await;
    let dir = support::project(&sandbox, &[("many.yaml", &many_customers(30))], "");
    let mut child = Command::new(support::bin())
        .args([
            "agent",
            "--mode",
            "apply",
            "--interval",
            "200ms",
            "--listen",
            "127.0.0.1:0",
        ])
        .args([
            "--webhook-secret-env",
            "AGENT_WEBHOOK_SECRET",
            "--api-token-env",
            "AGENT_API_TOKEN",
        ])
        .args(["--parallelism", "2", "--grace", "30s"])
        .arg(dir.path())
        .env("SLASCONE_ADMIN_KEY", KEY)
        .env("AGENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("AGENT_API_TOKEN", API_TOKEN)
        .env("SLASCONE_SYNC_TODAY", "2026-12-01")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (lines_in, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let _ = lines_in.send(line.clone());
            all.push(line);
        }
        all
    });
    let start = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("a start line");
    let listen = start
        .split(' ')
        .find_map(|field| field.strip_prefix("listen="))
        .unwrap_or_else(|| panic!("no listen= in {start:?}"));
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();

    // Mid-apply: some customer is written, the first reconcile has not finished.
    let started = Instant::now();
    loop {
        let log = support::requests(&sandbox).await;
        if !support::writes(&log).is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no write came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut shown = String::new();
    for path in ["/status", "/metrics", "/", "/readyz", "/healthz"] {
        shown.push_str(
            &http
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    let status: Value = http
        .get(format!("{base}/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["reconciles"], 0,
        "the first reconcile ended before SIGTERM"
    );
    let bad = http
        .post(format!("{base}/hooks/github"))
        .header("x-hub-signature-256", format!("sha256={}", "00".repeat(32)))
        .body(WEBHOOK_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    shown.push_str(&bad.text().await.unwrap());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logged = reader.join().unwrap().join("\n");
    assert_eq!(output.status.code(), Some(0), "{logged}");
    assert!(logged.contains(" shutdown "), "{logged}");
    assert!(
        logged.contains(" reconcile result=applied trigger=start changes=30 "),
        "{logged}"
    );
    assert!(logged.contains(" stopped"), "{logged}");

    // The writes in flight finished: nothing is left to do.
    support::Cli::new(["plan", "--detailed-exitcode"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    let everything = format!(
        "{shown}\n{logged}\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    for secret in [KEY, WEBHOOK_SECRET, API_TOKEN] {
        assert!(
            !everything.contains(secret),
            "{secret} shown in:\n{everything}"
        );
    }
}

/// A stand-in for a Slack incoming webhook: keeps every JSON body it is sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let got = Arc::clone(&got);
            move |axum::Json(body): axum::Json<Value>| async move {
                got.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn drift_is_announced_once_per_plan() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    support::apply_ok(dir.path()).await;
    let (url, got) = receiver().await;
    let (mut config, logs) = agent_config(dir.path(), Mode::Detect);
    config.notify_url = Some(url);
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(10), |s| Running::reconciles(s) >= 3)
        .await;
    assert!(got.lock().unwrap().is_empty(), "in sync was announced");

    support::write_files(dir.path(), &[("acme.yaml", &manifest("Munich", 25))]);
    let seen = running.reconciles_now().await;
    running
        .wait_for(Duration::from_secs(10), |s| {
            Running::reconciles(s) >= seen + 3
        })
        .await;
    {
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(
            got[0]["text"],
            "slascone-sync: SLASCONE differs from the manifests: 1 change pending (customer K001)"
        );
        assert_eq!(got[0]["result"], "drift");
    }
    // Another plan is another announcement.
    support::write_files(dir.path(), &[("acme.yaml", &manifest("Bonn", 25))]);
    let seen = running.reconciles_now().await;
    running
        .wait_for(Duration::from_secs(10), |s| {
            Running::reconciles(s) >= seen + 3
        })
        .await;
    assert_eq!(got.lock().unwrap().len(), 2);
    running.agent.shutdown(Duration::from_secs(5)).await;
    let logs = running.logs.lock().unwrap().join("\n");
    assert_eq!(logs.matches("\"event\":\"notify\"").count(), 2, "{logs}");
}

impl Running {
    async fn reconciles_now(&self) -> u64 {
        Running::reconciles(&self.status().await)
    }
}

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/agent")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn yaml(name: &str) -> Value {
    serde_saphyr::from_str(&example(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// An `agent` command line as the binary's own parser reads it.
fn parses(args: &[&str], place: &str) {
    use clap::Parser;
    let args = std::iter::once("slascone-sync").chain(args.iter().copied());
    if let Err(err) = slascone_sync::cli::Cli::try_parse_from(args) {
        panic!("{place}: {err}");
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[test]
fn the_kubernetes_example_holds_together() {
    let deployment = yaml("deployment.yaml");
    let secret = yaml("secret.yaml");
    let service = yaml("service.yaml");
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1, "one agent per tenant");
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let pod = &deployment["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(&service["spec"]["selector"], labels);
    let containers = pod["spec"]["containers"].as_array().unwrap();
    let agent = containers.iter().find(|c| c["name"] == "agent").unwrap();
    parses(&strings(&agent["args"]), "deployment.yaml");
    assert_eq!(agent["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(agent["readinessProbe"]["httpGet"]["path"], "/readyz");
    let port = &agent["ports"][0];
    assert_eq!(port["containerPort"], 9090);
    assert_eq!(agent["livenessProbe"]["httpGet"]["port"], port["name"]);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port["name"]);
    let args = strings(&agent["args"]).join(" ");
    assert!(args.contains("--listen=0.0.0.0:9090"), "{args}");
    // Every secret a container reads is in the Secret, under the name the container uses.
    let keys = secret["stringData"].as_object().unwrap();
    for container in containers {
        for env in container["env"].as_array().unwrap() {
            let Some(reference) = env["valueFrom"]["secretKeyRef"].as_object() else {
                continue;
            };
            assert_eq!(reference["name"], secret["metadata"]["name"]);
            let key = reference["key"].as_str().unwrap();
            assert!(keys.contains_key(key), "the Secret has no {key}");
        }
    }
    let env: Vec<&str> = agent["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"SLASCONE_ADMIN_KEY") && env.contains(&"WEBHOOK_SECRET"));
    // The manifests' volume is the one git-sync writes.
    let mounts = |c: &Value| c["volumeMounts"][0]["name"].clone();
    assert!(containers.iter().all(|c| mounts(c) == "manifests"));
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    assert!(grace > 30, "the pod is killed before --grace ends");
}

#[test]
fn the_compose_file_and_the_systemd_unit_run_a_valid_command() {
    let compose = yaml("compose.yaml");
    let command = strings(&compose["services"]["agent"]["command"]);
    parses(&command, "compose.yaml");
    let unit = example("slascone-sync-agent.service");
    let exec = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart=/usr/local/bin/slascone-sync "))
        .expect("an ExecStart line");
    parses(
        &exec.split_whitespace().collect::<Vec<_>>(),
        "slascone-sync-agent.service",
    );
    assert!(unit.contains("KillSignal=SIGTERM"));
}

/// A bare repository standing in for the team's git server, written without a git program.
struct Origin {
    repo: gix::Repository,
    dir: tempfile::TempDir,
    head: Option<gix::ObjectId>,
}

impl Origin {
    fn new() -> Origin {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        Origin {
            repo,
            dir,
            head: None,
        }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    /// Commits `files` as the whole content of `slascone/` on main; the commit's id.
    fn commit(&mut self, files: &[(&str, &str)]) -> String {
        use gix::objs::tree::{Entry, EntryKind};
        let mut entries: Vec<Entry> = files
            .iter()
            .map(|(name, text)| Entry {
                mode: EntryKind::Blob.into(),
                filename: (*name).into(),
                oid: self.repo.write_blob(text.as_bytes()).unwrap().detach(),
            })
            .collect();
        entries.sort_by(|a, b| a.filename.cmp(&b.filename));
        let inner = self
            .repo
            .write_object(gix::objs::Tree { entries })
            .unwrap()
            .detach();
        let root = gix::objs::Tree {
            entries: vec![Entry {
                mode: EntryKind::Tree.into(),
                filename: "slascone".into(),
                oid: inner,
            }],
        };
        let root = self.repo.write_object(root).unwrap().detach();
        let signature = gix::actor::Signature {
            name: "Licensing".into(),
            email: "licensing@example.com".into(),
            time: gix::date::Time::new(1_764_633_600, 0),
        };
        let mut buffer = gix::date::parse::TimeBuf::default();
        let signature = signature.to_ref(&mut buffer);
        let id = self
            .repo
            .commit_as(
                signature,
                signature,
                "refs/heads/main",
                "manifests",
                root,
                self.head,
            )
            .unwrap()
            .detach();
        self.head = Some(id);
        id.to_string()
    }
}

fn git_config(origin: &Origin, cache: &Path, branch: &str) -> (Config, Arc<Mutex<Vec<String>>>) {
    let (mut config, logs) = agent_config(Path::new("unused"), Mode::Apply);
    config.source = Source::Git(slascone_sync::agent::git::GitSource {
        url: origin.url(),
        branch: branch.to_owned(),
        path: "slascone".into(),
        cache_dir: cache.to_path_buf(),
        token: None,
    });
    (config, logs)
}

#[tokio::test]
async fn a_pushed_commit_is_applied_and_its_revision_shown() {
    let sandbox = support::sandbox().await;
    let project = format!(
        "api_url: {}\nisv_id: {ISV}\nportal_url: https://my.slascone.com\n",
        sandbox.base_url()
    );
    let mut origin = Origin::new();
    let first = origin.commit(&[
        ("slascone.yaml", &project),
        ("acme.yaml", &manifest("Berlin", 25)),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let (config, logs) = git_config(&origin, cache.path(), "main");
    let running = start(config, logs).await;
    let applied = running
        .wait_for(Duration::from_secs(20), |s| result(s) == "applied")
        .await;
    assert_eq!(applied["revision"], first.as_str(), "{applied:#}");
    assert_eq!(applied["last"]["revision"], first.as_str());
    running
        .wait_for(Duration::from_secs(10), |s| result(s) == "in_sync")
        .await;

    let second = origin.commit(&[
        ("slascone.yaml", &project),
        ("acme.yaml", &manifest("Munich", 25)),
    ]);
    let pushed = jiff::Timestamp::now();
    let applied = running
        .wait_for(Duration::from_secs(20), |s| {
            result(s) == "applied" && s["revision"] == second.as_str()
        })
        .await;
    let started: jiff::Timestamp = applied["last"]["started_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(started.duration_since(pushed).as_secs_f64() <= INTERVAL.as_secs_f64() + 0.05);
    assert_eq!(applied["last"]["changes"], 1, "{applied:#}");
    let (_, metrics) = running.get("/metrics").await;
    assert!(
        metrics.contains(&format!("revision=\"{second}\"")),
        "{metrics}"
    );
    let (_, page) = running.get("/").await;
    assert!(page.contains(&second), "{page}");
    let logs = running.logs.lock().unwrap().join("\n");
    assert!(
        logs.contains(&format!("\"revision\":\"{second}\"")),
        "{logs}"
    );
    running.agent.shutdown(Duration::from_secs(5)).await;
    // Only the head's tree is kept.
    let trees: Vec<_> = std::fs::read_dir(cache.path().join("trees"))
        .unwrap()
        .collect();
    assert_eq!(trees.len(), 1);
}

#[tokio::test]
async fn a_branch_that_does_not_exist_fails_naming_it() {
    let mut origin = Origin::new();
    origin.commit(&[(
        "slascone.yaml",
        "isv_id: 2af5fe02-6207-4214-946e-b00ac5309f53\n",
    )]);
    let cache = tempfile::tempdir().unwrap();
    let (config, logs) = git_config(&origin, cache.path(), "release");
    let running = start(config, logs).await;
    let failed = running
        .wait_for(Duration::from_secs(20), |s| result(s) == "failed")
        .await;
    let error = failed["last"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("cannot fetch release from file://"),
        "{error}"
    );
    assert!(error.contains("refs/heads/release"), "{error}");
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_https_remote_is_reached_with_the_built_in_tls() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let source = slascone_sync::agent::git::GitSource {
        url: format!("https://{closed}/acme/licensing.git"),
        branch: "main".into(),
        path: ".".into(),
        cache_dir: cache.path().to_path_buf(),
        token: Some(Secret::new("ghp-token-never-print-me")),
    };
    let error = tokio::task::spawn_blocking(move || source.fetch())
        .await
        .expect("the fetch does not panic")
        .expect_err("nobody listens there");
    let error = format!("{error:#}");
    assert!(
        error.starts_with(&format!("cannot connect to https://{closed}/"))
            || error.contains("cannot fetch"),
        "{error}"
    );
    assert!(!error.contains("never-print-me"), "{error}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_reconciles_a_git_branch_into_its_cache_dir() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let sandbox = support::sandbox().await;
    let project = format!("api_url: {}\nisv_id: {ISV}\n", sandbox.base_url());
    let mut origin = Origin::new();
    let commit = origin.commit(&[
        ("slascone.yaml", &project),
        ("acme.yaml", &manifest("Berlin", 25)),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(support::bin())
        .args([
            "agent",
            "--git",
            &origin.url(),
            "--path",
            "slascone",
            "--cache-dir",
        ])
        .arg(cache.path())
        .args([
            "--interval",
            "200ms",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("SLASCONE_ADMIN_KEY", KEY)
        .env("SLASCONE_SYNC_TODAY", "2026-12-01")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut start = String::new();
    stderr.read_line(&mut start).unwrap();
    let start: Value = serde_json::from_str(&start).unwrap_or_else(|_| panic!("{start}"));
    let base = format!("http://{}", start["listen"].as_str().unwrap());
    let started = Instant::now();
    let status = loop {
        let status: Value = reqwest::get(format!("{base}/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["reconciles"].as_u64() >= Some(1) {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{status:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    assert_eq!(status["last"]["result"], "drift", "{status:#}");
    assert_eq!(status["revision"], commit.as_str());
    assert!(cache.path().join("repository.git").join("HEAD").is_file());
    assert!(
        cache
            .path()
            .join("trees")
            .join(&commit)
            .join("slascone/acme.yaml")
            .is_file()
    );
}

#[tokio::test]
async fn the_status_page_shows_a_hostile_name_as_text() {
    let sandbox = support::sandbox().await;
    let hostile = manifest("Berlin", 25).replace(
        "company_name: Acme GmbH",
        "company_name: \"<script>alert(1)</script>\"",
    );
    let dir = support::project(&sandbox, &[("acme.yaml", &hostile)], "");
    let (config, logs) = agent_config(dir.path(), Mode::Detect);
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(10), |s| result(s) == "drift")
        .await;
    let (code, page) = running.get("/").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("acme.yaml:2:5"), "{page}");
    assert!(page.contains("Pending changes"), "{page}");
    let csp = running
        .http
        .get(&running.base)
        .send()
        .await
        .unwrap()
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    running.agent.shutdown(Duration::from_secs(5)).await;
}

/// A headless Chromium or Chrome on PATH; `None` (the test skips) unless
/// `SLASCONE_SYNC_BROWSER=required`, as .ci/run sets it.
fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert_ne!(
            std::env::var("SLASCONE_SYNC_BROWSER").as_deref(),
            Ok("required"),
            "no chromium, chromium-browser or google-chrome on PATH"
        );
        eprintln!("skipped: no headless Chromium on PATH");
    }
    found
}

#[tokio::test]
async fn the_status_page_renders_in_headless_chromium() {
    let Some(browser) = browser() else {
        return;
    };
    let sandbox = support::sandbox().await;
    let project = format!("api_url: {}\nisv_id: {ISV}\n", sandbox.base_url());
    let hostile = manifest("Berlin", 25).replace(
        "company_name: Acme GmbH",
        "company_name: \"<script>alert(1)</script>\"",
    );
    let mut origin = Origin::new();
    let commit = origin.commit(&[("slascone.yaml", &project), ("acme.yaml", &hostile)]);
    let cache = tempfile::tempdir().unwrap();
    let (mut config, logs) = git_config(&origin, cache.path(), "main");
    config.mode = Mode::Detect;
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(20), |s| result(s) == "drift")
        .await;
    let profile = tempfile::tempdir().unwrap();
    let url = format!("{}/", running.base);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--dump-dom", &url])
            .output()
            .expect("the browser runs")
    })
    .await
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // What the browser built: the revision, the pending change with its manifest line, and the
    // hostile name as a text node, not an element.
    assert!(dom.contains(&commit), "{dom}");
    assert!(dom.contains("Pending changes"), "{dom}");
    assert!(dom.contains("acme.yaml:2:5"), "{dom}");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<script"), "{dom}");
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_password_in_the_git_url_is_never_shown() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (mut config, logs) = agent_config(Path::new("unused"), Mode::Detect);
    config.source = Source::Git(slascone_sync::agent::git::GitSource {
        url: format!("https://ci:pw-in-url-never-print-me@{closed}/acme/licensing.git"),
        branch: "main".into(),
        path: ".".into(),
        cache_dir: cache.path().to_path_buf(),
        token: None,
    });
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(20), |s| result(s) == "failed")
        .await;
    let mut shown = running.logs.lock().unwrap().join("\n");
    for path in ["/status", "/", "/metrics"] {
        shown.push_str(&running.get(path).await.1);
    }
    running.agent.shutdown(Duration::from_secs(5)).await;
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains("pw-in-url-never-print-me"), "{shown}");
}

#[tokio::test]
async fn healthz_fails_once_the_loop_is_gone() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    let (mut config, logs) = agent_config(dir.path(), Mode::Detect);
    config.target = Arc::new(|_| panic!("a bug in the loop"));
    let running = start(config, logs).await;
    let started = Instant::now();
    loop {
        let (code, body) = running.get("/healthz").await;
        if code == 503 {
            assert_eq!(body, "the reconcile loop has stopped\n");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still healthy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.agent.shutdown(Duration::from_secs(5)).await;
}
