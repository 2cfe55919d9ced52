//! Crash safety: `apply` killed with SIGKILL at many points, and the sandbox itself killed and
//! restarted on its state file in the middle of an apply. After re-running apply, SLASCONE holds
//! exactly what the manifests say: no plan left, no duplicate, no answered write lost. And the
//! sandbox killed while it writes, over and over: every answered write is there, whole.

use std::fmt::Write as _;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use slascone_sync::cli::PatchSemantics;
use slascone_sync::sandbox::SandboxConfig;

use crate::support::{self, ISV, KEY, Logged};

/// `n` customers with two licenses each, over both products and both license models.
fn scenario(n: usize) -> String {
    let mut text = String::from("customers:\n");
    for i in 0..n {
        let _ = write!(
            text,
            "  - customer_number: C{i:04}\n    company_name: \"Customer {i}\"\n    customer_type: {}\n    country: Germany\n    licenses:\n      - legacy_license_key: A-{i}\n        product: Argus\n        edition: Professional\n        token_limit: {}\n",
            if i % 2 == 0 { "Enterprise" } else { "SMB" },
            5 + i % 7,
        );
        if i % 2 == 0 {
            let _ = writeln!(
                text,
                "      - legacy_license_key: B-{i}\n        product: Borealis\n        edition: Basic"
            );
        } else {
            let _ = writeln!(
                text,
                "      - legacy_license_key: X-{i}\n        product: Argus\n        edition: Enterprise\n        limitations: {{ Users: {} }}",
                10 + i % 50
            );
        }
    }
    text
}

fn project(api_url: &str, customers: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slascone.yaml"),
        format!("api_url: {api_url}\nisv_id: {ISV}\nsafety: {{ max_changes: 100000 }}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("customers.yaml"), scenario(customers)).unwrap();
    std::fs::write(dir.path().join(".catalog.yaml"), support::CATALOG).unwrap();
    dir
}

fn spawn_apply(dir: &Path) -> Child {
    Command::new(support::bin())
        .args([
            "--timeout",
            "60",
            "apply",
            "--auto-approve",
            "--parallelism",
            "4",
        ])
        .arg(dir)
        .env("SLASCONE_ADMIN_KEY", KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn request_log(base_url: &str) -> Option<Vec<Logged>> {
    let response = reqwest::get(format!("{base_url}/_sandbox/requests"))
        .await
        .ok()?;
    response.json().await.ok()
}

fn writes(log: &[Logged]) -> usize {
    support::writes(log).len()
}

/// Waits until the sandbox has logged `count` writes (or, with `count == 0`, any request), or
/// `child` has ended. True when the count was reached while the child still ran.
async fn wait_for_writes(base_url: &str, count: usize, child: &mut Child) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if let Some(log) = request_log(base_url).await {
            let reached = if count == 0 {
                !log.is_empty()
            } else {
                writes(&log) >= count
            };
            if reached {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{count} writes were not reached in 20 s");
}

/// Child::kill sends SIGKILL on Unix: no destructor, no flush, no graceful anything.
fn sigkill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Kill points of one series: the number of writes after which apply is killed; 0 means as soon
/// as it has sent its first request (while it still reads). Each run continues where the last
/// one stopped, so together they spread over the whole apply.
const KILL_AFTER_WRITES: [usize; 12] = [0, 1, 3, 8, 0, 20, 2, 35, 12, 50, 5, 70];
const CUSTOMERS: usize = 80;

async fn kill_apply_series(config: SandboxConfig) -> usize {
    let sandbox = support::start(config).await;
    let url = sandbox.base_url();
    let dir = project(&url, CUSTOMERS);
    let mut kills = 0;
    for count in KILL_AFTER_WRITES {
        support::clear_requests(&sandbox).await;
        let mut child = spawn_apply(dir.path());
        if wait_for_writes(&url, count, &mut child).await {
            kills += 1;
        }
        sigkill(&mut child);
    }
    support::apply_until_done(dir.path(), 6).await;
    support::assert_converged(dir.path()).await;
    support::assert_no_duplicates(&support::client_for(&url, KEY), CUSTOMERS, CUSTOMERS * 2).await;
    sandbox.shutdown().await;
    kills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_apply_loses_nothing() {
    let mut config = support::config();
    config.latency = Duration::from_millis(2);
    let kills = kill_apply_series(config).await;
    eprintln!("apply killed {kills} times during an apply, then converged");
    assert!(kills >= 10, "only {kills} kills landed during an apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_apply_loses_nothing_under_faults() {
    // Server errors and rate limits; answers lost after commit; replace-style PATCH with pages
    // counted from 1.
    let mut errors = support::config();
    errors.latency = Duration::from_millis(1);
    errors.fail_rate = 0.1;
    errors.rate_limit = 500;
    let mut dropped = support::config();
    dropped.latency = Duration::from_millis(1);
    dropped.drop_after_commit = 0.2;
    let mut replace = support::config();
    replace.latency = Duration::from_millis(1);
    replace.patch_semantics = PatchSemantics::Replace;
    replace.page_base = 1;
    let mut kills = 0;
    for config in [errors, dropped, replace] {
        kills += kill_apply_series(config).await;
    }
    eprintln!("apply killed {kills} times under three fault combinations, then converged");
    assert!(kills >= 30, "only {kills} kills landed during an apply");
}

// ---- the sandbox killed -------------------------------------------------------------------

struct SandboxProcess {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn start_sandbox(dir: &Path, state: &Path, port: u16) -> SandboxProcess {
    spawn_sandbox(dir, state, port, &["--latency-ms", "2"], Stdio::null())
}

/// The `sandbox` binary on `port` with the state file `state` and `extra` flags; `stderr` is
/// where its warnings go.
fn spawn_sandbox(
    dir: &Path,
    state: &Path,
    port: u16,
    extra: &[&str],
    stderr: Stdio,
) -> SandboxProcess {
    let isv = ISV.to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(support::bin())
        .args(["sandbox", "--listen", &listen, "--isv-id", &isv])
        .args(["--admin-key", KEY])
        .args(extra)
        .arg("--catalog")
        .arg(dir.join(".catalog.yaml"))
        .arg("--state")
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("listening on"),
        "the sandbox did not start: {line}"
    );
    SandboxProcess {
        child,
        url: format!("http://{listen}"),
    }
}

/// Answered creates of customers and licenses in a request log.
fn answered_creates(log: &[Logged]) -> (usize, usize) {
    let answered = |suffix: &str| {
        log.iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(suffix) && r.status < 300)
            .count()
    };
    (answered("/data_exchange/customers"), answered("/licenses"))
}

/// Customers and licenses stored. apply keeps writing meanwhile, so a listing whose count and
/// pages disagree (an error, never a short result) is read again.
async fn stored(url: &str) -> (usize, usize) {
    let client = support::client_for(url, KEY);
    let mut last_error = None;
    for _ in 0..20 {
        let read = async {
            let customers = client.list_customers().await?.len();
            let mut licenses = 0;
            for product in client.products().await? {
                licenses += client.list_licenses(product.id).await?.len();
            }
            Ok::<_, slascone_sync::remote::ApiError>((customers, licenses))
        };
        match read.await {
            Ok(counts) => return counts,
            Err(err) => last_error = Some(err),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sandbox could not be read: {last_error:?}");
}

/// Kill points of the sandbox: the writes one incarnation answers before it is killed.
const SANDBOX_KILL_AFTER_WRITES: [usize; 10] = [1, 4, 10, 2, 18, 7, 25, 3, 12, 30];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sandbox_keeps_every_answered_write() {
    const N: usize = 60;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = project(&url, N);
    let state: PathBuf = dir.path().join("state.json");
    let mut sandbox = start_sandbox(dir.path(), &state, port);
    let mut apply = spawn_apply(dir.path());
    // Creates answered before a kill, over all incarnations: each must still be there.
    let (mut customers_answered, mut licenses_answered) = (0, 0);
    let mut kills = 0;
    for count in SANDBOX_KILL_AFTER_WRITES {
        if apply.try_wait().unwrap().is_some() {
            apply = spawn_apply(dir.path());
        }
        let started = Instant::now();
        let mut last_log = Vec::new();
        while started.elapsed() < Duration::from_secs(20) {
            if let Some(log) = request_log(&sandbox.url).await {
                let reached = writes(&log) >= count;
                last_log = log;
                if reached {
                    break;
                }
            }
            match apply.try_wait().unwrap() {
                // Done: nothing more will be written, so kill the sandbox now.
                Some(status) if status.success() => break,
                Some(_) => apply = spawn_apply(dir.path()),
                None => {}
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sigkill(&mut sandbox.child);
        kills += 1;
        let (customers, licenses) = answered_creates(&last_log);
        customers_answered += customers;
        licenses_answered += licenses;
        sandbox = start_sandbox(dir.path(), &state, port);
        let (customers, licenses) = stored(&url).await;
        assert!(
            customers >= customers_answered && licenses >= licenses_answered,
            "after kill {kills}: {customers} customers and {licenses} licenses stored, \
             {customers_answered} and {licenses_answered} creates answered"
        );
    }
    assert_eq!(kills, SANDBOX_KILL_AFTER_WRITES.len());
    eprintln!(
        "sandbox killed {kills} times; {customers_answered} customer and {licenses_answered} license creates answered before a kill, none lost"
    );
    sigkill(&mut apply);
    support::apply_until_done(dir.path(), 6).await;
    support::assert_converged(dir.path()).await;
    support::assert_no_duplicates(&support::client_for(&url, KEY), N, N * 2).await;
    sigkill(&mut sandbox.child);
}

// ---- the sandbox killed while it writes ---------------------------------------------------

/// One customer as the writers know it: created (answered) or not yet known, its fields, the
/// city its last answered update set, and the city of an update sent but never answered.
#[derive(Debug, Clone)]
struct Known {
    number: String,
    name: String,
    street: String,
    answered: bool,
    city: String,
    in_flight_city: Option<String>,
}

/// A writer sends one request at a time and owns its customers, so each customer has at most one
/// write in flight when the sandbox dies.
async fn writer(
    url: String,
    id: usize,
    mut own: Vec<Known>,
    mut next: usize,
    answers: Arc<AtomicUsize>,
) -> (Vec<Known>, usize) {
    let client = reqwest::Client::new();
    let endpoint = format!("{url}{}", support::api("/data_exchange/customers"));
    loop {
        // Two updates for each create, so the journal holds replacements as well as inserts.
        let update = !next.is_multiple_of(3) && own.iter().any(|k| k.answered);
        let (slot, request) = if update {
            let answered: Vec<usize> = (0..own.len()).filter(|&i| own[i].answered).collect();
            let slot = answered[next % answered.len()];
            let city = format!("City {id}-{next}");
            own[slot].in_flight_city = Some(city.clone());
            let body = serde_json::json!({"customer_number": own[slot].number, "city": city});
            (slot, client.patch(&endpoint).json(&body))
        } else {
            let number = format!("W{id}-{next:05}");
            let known = Known {
                name: format!("Customer {number} {}", "x".repeat(200)),
                street: format!("Street {next}"),
                city: format!("City {id}-{next}"),
                number,
                answered: false,
                in_flight_city: None,
            };
            let body = serde_json::json!({
                "customer_number": known.number, "customer_name": known.name,
                "customer_type": "SMB", "country": "Germany",
                "street": known.street, "city": known.city,
            });
            own.push(known);
            (own.len() - 1, client.post(&endpoint).json(&body))
        };
        next += 1;
        let answer = request.header("AdminKey", KEY).send().await;
        match answer {
            Ok(response) if response.status().is_success() => {
                let known = &mut own[slot];
                known.answered = true;
                if let Some(city) = known.in_flight_city.take() {
                    known.city = city;
                }
                answers.fetch_add(1, Ordering::Relaxed);
            }
            Ok(response) => panic!("write answered {}", response.status()),
            // The sandbox is gone: this write may or may not have been stored.
            Err(_) => return (own, next),
        }
    }
}

/// Checks what a restarted sandbox holds against what the writers know, and makes their
/// knowledge agree with it (an unanswered write is either whole or absent).
async fn check_after_kill(url: &str, writers: &mut [(Vec<Known>, usize)], kill: usize) -> usize {
    let client = support::client_for(url, KEY);
    let stored = client.list_customers().await.unwrap();
    let mut by_number: std::collections::HashMap<String, _> = stored
        .into_iter()
        .map(|c| (c.customer_number.clone().unwrap_or_default(), c))
        .collect();
    let mut answered = 0;
    for (own, _) in writers.iter_mut() {
        own.retain_mut(|known| {
            let Some(customer) = by_number.remove(&known.number) else {
                assert!(
                    !known.answered,
                    "after kill {kill}: the answered create of {} is lost",
                    known.number
                );
                return false;
            };
            assert_eq!(customer.company_name.as_deref(), Some(known.name.as_str()));
            assert_eq!(customer.street.as_deref(), Some(known.street.as_str()));
            let city = customer.city.clone().unwrap_or_default();
            let expected = [Some(&known.city), known.in_flight_city.as_ref()];
            assert!(
                expected.contains(&Some(&city)),
                "after kill {kill}: {} holds city {city:?}, answered {:?}, in flight {:?}",
                known.number,
                known.city,
                known.in_flight_city
            );
            known.city = city;
            known.in_flight_city = None;
            known.answered = true;
            answered += 1;
            true
        });
    }
    assert!(
        by_number.is_empty(),
        "after kill {kill}: customers nobody wrote: {:?}",
        by_number.keys().collect::<Vec<_>>()
    );
    answered
}

/// The sandbox with no added latency, its stderr kept for the warnings it gives.
fn start_fast_sandbox(dir: &Path, state: &Path, port: u16) -> SandboxProcess {
    spawn_sandbox(dir, state, port, &[], Stdio::piped())
}

/// The writes each incarnation answers before it is killed (while more are in flight).
const KILL_AFTER_ANSWERS: [usize; 24] = [
    10, 40, 3, 90, 25, 60, 8, 120, 35, 1, 70, 20, 150, 6, 45, 30, 100, 12, 55, 2, 80, 18, 65, 200,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_killed_mid_write_keeps_every_answered_write_whole() {
    const WRITERS: usize = 4;
    let port = free_port();
    let dir = project(&format!("http://127.0.0.1:{port}"), 0);
    let state = dir.path().join("state.json");
    let mut writers: Vec<(Vec<Known>, usize)> = (0..WRITERS).map(|_| (Vec::new(), 0)).collect();
    let mut kills = 0;
    // Lines of the state file at each restart: fewer than the time before means the journal was
    // compacted while the sandbox was being killed and restarted.
    let (mut lines_before, mut compacted) = (0, 0);
    for (round, kill_after) in KILL_AFTER_ANSWERS.into_iter().enumerate() {
        let lines = std::fs::read(&state).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        if lines < lines_before {
            compacted += 1;
        }
        lines_before = lines;
        let mut sandbox = start_fast_sandbox(dir.path(), &state, port);
        check_after_kill(&sandbox.url, &mut writers, kills).await;
        let answers = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for (id, (own, next)) in std::mem::take(&mut writers).into_iter().enumerate() {
            let (url, answers) = (sandbox.url.clone(), answers.clone());
            tasks.spawn(async move { (id, writer(url, id, own, next, answers).await) });
        }
        let started = Instant::now();
        while answers.load(Ordering::Relaxed) < kill_after {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "round {round}: writes stalled"
            );
            tokio::task::yield_now().await;
        }
        sigkill(&mut sandbox.child);
        kills += 1;
        let mut back: Vec<_> = tasks.join_all().await;
        back.sort_by_key(|(id, _)| *id);
        writers = back.into_iter().map(|(_, r)| r).collect();
        let stderr = {
            use std::io::Read;
            let mut text = String::new();
            let _ = sandbox
                .child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut text);
            text
        };
        assert!(
            stderr.lines().all(|l| l.contains("incomplete record")),
            "round {round}: the sandbox reported {stderr}"
        );
    }
    let mut sandbox = start_fast_sandbox(dir.path(), &state, port);
    let stored = check_after_kill(&sandbox.url, &mut writers, kills).await;
    sigkill(&mut sandbox.child);
    eprintln!(
        "sandbox killed {kills} times while writing; {stored} customers stored, every answered \
         write whole; the journal was compacted in {compacted} rounds"
    );
    assert!(compacted >= 1, "no round compacted the journal");
    assert!(
        stored >= 200,
        "only {stored} writes landed: the kills came too early"
    );
}
