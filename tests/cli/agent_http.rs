//! The agent's HTTP server under hostile clients: bodies that never end, connections that say
//! nothing, HTTP/2, requests without credentials. Raw sockets where a client library would be
//! too polite; the binary where its memory and descriptors are what is measured.

use std::time::{Duration, Instant};

use slascone_sync::agent::{BODY_BUDGET, MAX_BODY, Mode};
use slascone_sync::sandbox::SandboxHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::agent::{
    API_TOKEN, Running, WEBHOOK_SECRET, agent_config, github_signature, parse_metrics, project,
    start,
};
use crate::support;

/// A signature of the right form that is nobody's.
const BOGUS: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// An agent whose only reconciles are the first and those a trigger asks for.
async fn running() -> (Running, tempfile::TempDir, SandboxHandle) {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    let (mut config, logs) = agent_config(dir.path(), Mode::Detect);
    config.interval = Duration::from_secs(3600);
    (start(config, logs).await, dir, sandbox)
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.strip_prefix("http://").unwrap())
        .await
        .expect("the agent accepts")
}

/// A POST's head, announcing `length` bytes of body unless `headers` say otherwise.
fn post_head(path: &str, headers: &[&str], length: Option<usize>) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nhost: agent\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    if let Some(length) = length {
        head.push_str(&format!("content-length: {length}\r\n"));
    }
    head + "\r\n"
}

/// What the agent says before it closes or stops talking, up to the end of the first head; empty
/// when it says nothing within ten seconds.
async fn answer(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buffer[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends a head (and nothing else) and reads the answer.
async fn ask(base: &str, head: &str) -> (TcpStream, String) {
    let mut stream = connect(base).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let said = answer(&mut stream).await;
    (stream, said)
}

async fn metrics(base: &str) -> std::collections::BTreeMap<String, f64> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    parse_metrics(&text)
}

fn rejected(
    metrics: &std::collections::BTreeMap<String, f64>,
    endpoint: &str,
    reason: &str,
) -> f64 {
    let series = format!(
        "slascone_sync_rejected_requests_total{{endpoint=\"{endpoint}\",reason=\"{reason}\"}}"
    );
    *metrics
        .get(&series)
        .unwrap_or_else(|| panic!("no {series} in {metrics:#?}"))
}

#[tokio::test]
async fn a_trigger_without_its_credential_is_refused_before_its_body() {
    let (running, _dir, _sandbox) = running().await;
    // A megabyte announced and none sent: only an answer that does not wait for the body comes.
    for (path, credential) in [
        ("/hooks/github", None),
        ("/hooks/github", Some("x-hub-signature-256: sha256=not-hex")),
        ("/hooks/gitlab", None),
        ("/reconcile", Some("authorization: Basic dXNlcjpwYXNz")),
    ] {
        let headers: Vec<&str> = credential
            .into_iter()
            .chain(["expect: 100-continue"])
            .collect();
        let (_stream, said) = ask(&running.base, &post_head(path, &headers, Some(1 << 20))).await;
        assert!(
            said.starts_with("HTTP/1.1 401 "),
            "{path} {credential:?}: {said:?}"
        );
    }
    let metrics = metrics(&running.base).await;
    assert_eq!(rejected(&metrics, "/hooks/github", "missing"), 2.0);
    assert_eq!(rejected(&metrics, "/hooks/gitlab", "missing"), 1.0);
    assert_eq!(rejected(&metrics, "/reconcile", "missing"), 1.0);
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_refused_trigger_is_logged_and_counted_without_what_was_given() {
    let (running, _dir, _sandbox) = running().await;
    let given = "guessed-token-1f4e";
    let body = r#"{"ref":"refs/heads/main"}"#;
    let forged = github_signature(body, given);
    assert_eq!(
        running
            .post("/hooks/gitlab", &[("x-gitlab-token", given)], body)
            .await,
        401
    );
    assert_eq!(
        running
            .post("/hooks/github", &[("x-hub-signature-256", &forged)], body)
            .await,
        401
    );
    let bearer = format!("Bearer {given}");
    assert_eq!(
        running
            .post("/reconcile", &[("authorization", &bearer)], "")
            .await,
        401
    );
    let metrics = metrics(&running.base).await;
    for endpoint in ["/hooks/gitlab", "/hooks/github", "/reconcile"] {
        assert_eq!(rejected(&metrics, endpoint, "mismatch"), 1.0, "{endpoint}");
        assert_eq!(rejected(&metrics, endpoint, "missing"), 0.0, "{endpoint}");
    }
    let logs = running.logs.lock().unwrap().join("\n");
    for endpoint in ["/hooks/gitlab", "/hooks/github", "/reconcile"] {
        let line = logs
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .find(|line| line["event"] == "rejected" && line["endpoint"] == endpoint)
            .unwrap_or_else(|| panic!("no rejected line for {endpoint} in:\n{logs}"));
        assert_eq!(line["reason"], "mismatch");
        assert!(line["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    }
    for secret in [given, &forged[7..], WEBHOOK_SECRET, API_TOKEN] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
    }
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn cleartext_http2_is_refused() {
    let (running, _dir, _sandbox) = running().await;
    let mut stream = connect(&running.base).await;
    // The prior-knowledge preface, then an empty SETTINGS frame, as an h2c client opens.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got)).await;
    // An HTTP/2 server's first frame is its SETTINGS; an HTTP/1.1 one answers in text or not.
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 "),
        "answered {got:?}"
    );
    assert_eq!(running.get("/healthz").await.0, 200);
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_signed_push_of_10_mib_is_accepted_and_a_body_above_the_limit_gets_413() {
    let (running, _dir, _sandbox) = running().await;
    let body = format!(
        r#"{{"ref":"refs/heads/main","padding":"{}"}}"#,
        "x".repeat(10 << 20)
    );
    let signature = github_signature(&body, WEBHOOK_SECRET);
    let headers = [("x-hub-signature-256", signature.as_str())];
    assert_eq!(running.post("/hooks/github", &headers, &body).await, 202);

    let signed = format!("x-hub-signature-256: {BOGUS}");
    let head = post_head("/hooks/github", &[&signed], Some(MAX_BODY + 1));
    let (_stream, said) = ask(&running.base, &head).await;
    assert!(said.starts_with("HTTP/1.1 413 "), "announced: {said:?}");

    // Chunked, so only what arrives tells: one byte past the limit.
    let chunked = post_head(
        "/hooks/github",
        &[&signed, "transfer-encoding: chunked"],
        None,
    );
    let mut stream = connect(&running.base).await;
    stream.write_all(chunked.as_bytes()).await.unwrap();
    let chunk = [
        format!("{:x}\r\n", 1 << 20).into_bytes(),
        vec![b'x'; 1 << 20],
        b"\r\n".to_vec(),
    ]
    .concat();
    for _ in 0..MAX_BODY / (1 << 20) {
        stream.write_all(&chunk).await.unwrap();
    }
    stream.write_all(b"1\r\nx\r\n").await.unwrap();
    let said = answer(&mut stream).await;
    assert!(said.starts_with("HTTP/1.1 413 "), "chunked: {said:?}");

    let metrics = metrics(&running.base).await;
    assert_eq!(rejected(&metrics, "/hooks/github", "too_large"), 2.0);
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn bodies_in_flight_share_one_budget_and_beyond_it_get_503() {
    let (running, _dir, _sandbox) = running().await;
    let signed = format!("x-hub-signature-256: {BOGUS}");
    let largest = post_head(
        "/hooks/github",
        &[&signed, "expect: 100-continue"],
        Some(MAX_BODY),
    );
    // The agent asks for a body once it has reserved room for it.
    let mut held = Vec::new();
    for _ in 0..BODY_BUDGET / MAX_BODY {
        let (stream, said) = ask(&running.base, &largest).await;
        assert!(said.starts_with("HTTP/1.1 100 Continue"), "{said:?}");
        held.push(stream);
    }
    let (_stream, said) = ask(&running.base, &largest).await;
    assert!(said.starts_with("HTTP/1.1 503 "), "{said:?}");
    assert!(
        said.to_lowercase().contains("\r\nretry-after: "),
        "{said:?}"
    );

    // A client that gives up gives its room back.
    drop(held.pop());
    let started = Instant::now();
    while rejected(&metrics(&running.base).await, "/hooks/github", "incomplete") < 1.0 {
        assert!(started.elapsed() < Duration::from_secs(10), "not noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_stream, said) = ask(&running.base, &largest).await;
    assert!(said.starts_with("HTTP/1.1 100 Continue"), "{said:?}");
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let (running, _dir, _sandbox) = running().await;
    let http = reqwest::Client::new();
    let requests = [
        http.get(format!("{}/", running.base)),
        http.get(format!("{}/healthz", running.base)),
        http.get(format!("{}/status", running.base)),
        http.get(format!("{}/metrics", running.base)),
        http.get(format!("{}/nowhere", running.base)),
        http.post(format!("{}/hooks/github", running.base)),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            header("content-security-policy"),
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
             base-uri 'none'; form-action 'none'",
            "{}",
            response.url()
        );
        assert_eq!(
            header("x-content-type-options"),
            "nosniff",
            "{}",
            response.url()
        );
    }
    running.agent.shutdown(Duration::from_secs(5)).await;
}

#[cfg(target_os = "linux")]
mod binary {
    //! The built binary, whose memory and descriptors are its own.

    use std::io::BufRead;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{BOGUS, connect, metrics, post_head, rejected};
    use crate::agent::{WEBHOOK_SECRET, project};
    use crate::support::{self, KEY};

    /// `slascone-sync agent` reconciling `dir` every 200 ms; killed when dropped.
    struct Binary {
        child: Child,
        base: String,
    }

    impl Binary {
        /// Started with at most `descriptors` open files.
        fn start(dir: &Path, descriptors: u32) -> Binary {
            // The shell sets the limit and becomes the binary, so the process measured is it.
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(format!("ulimit -n {descriptors} && exec \"$0\" \"$@\""))
                .arg(support::bin())
                .args(["agent", "--interval", "200ms", "--listen", "127.0.0.1:0"])
                .args(["--webhook-secret-env", "AGENT_WEBHOOK_SECRET"])
                .arg(dir)
                .env("SLASCONE_ADMIN_KEY", KEY)
                .env("AGENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
                .env("SLASCONE_SYNC_TODAY", "2026-12-01")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary starts");
            let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
            let start = lines.next().expect("a start line").unwrap();
            let listen = start
                .split(' ')
                .find_map(|field| field.strip_prefix("listen="))
                .unwrap_or_else(|| panic!("no listen= in {start:?}"));
            let base = format!("http://{listen}");
            // Read on, so that a full pipe never stops the agent.
            std::thread::spawn(move || lines.for_each(drop));
            let binary = Binary { child, base };
            let limit = binary.proc("limits", "Max open files");
            assert!(
                limit
                    .split_whitespace()
                    .any(|word| word == descriptors.to_string()),
                "{limit}"
            );
            binary
        }

        /// The line of `/proc/PID/FILE` that starts with `key`.
        fn proc(&self, file: &str, key: &str) -> String {
            let path = format!("/proc/{}/{file}", self.child.id());
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .find(|line| line.starts_with(key))
                .unwrap_or_else(|| panic!("no {key} in {path}"))
                .to_owned()
        }

        /// The processor time the process has used, in clock ticks (a hundredth of a second on
        /// Linux).
        fn cpu_ticks(&self) -> u64 {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
            // After the command's name in parentheses: utime and stime are fields 14 and 15.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .unwrap()
                .1
                .split_whitespace()
                .collect();
            fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
        }

        /// The most memory the process has had resident, in bytes.
        fn peak_memory(&self) -> u64 {
            let line = self.proc("status", "VmHWM:");
            let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
            kib * 1024
        }

        async fn healthz(&self) -> Result<u16, reqwest::Error> {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let response = http.get(format!("{}/healthz", self.base)).send().await?;
            Ok(response.status().as_u16())
        }

        async fn reconciles(&self) -> f64 {
            let metrics = metrics(&self.base).await;
            total(&metrics, "slascone_sync_reconcile_total{")
        }
    }

    fn total(metrics: &std::collections::BTreeMap<String, f64>, prefix: &str) -> f64 {
        metrics
            .iter()
            .filter(|(series, _)| series.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    impl Drop for Binary {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    const MIB: u64 = 1024 * 1024;

    #[tokio::test]
    async fn unauthenticated_bodies_held_open_keep_its_memory_under_256_mib() {
        let sandbox = support::sandbox().await;
        let dir = project(&sandbox, "Berlin", 25, "").await;
        let binary = Binary::start(dir.path(), 1024);
        let body = 2 << 20;
        let signed = format!("x-hub-signature-256: {BOGUS}");
        let head = post_head("/hooks/github", &[&signed], Some(body));
        // Each sends all but the last kilobyte and holds on.
        let clients: Vec<_> = (0..300)
            .map(|_| {
                let (base, head) = (binary.base.clone(), head.clone());
                tokio::spawn(async move {
                    let mut stream = connect(&base).await;
                    let sent = async {
                        stream.write_all(head.as_bytes()).await?;
                        stream.write_all(&vec![b'{'; body - 1024]).await
                    };
                    sent.await.ok().map(|()| stream)
                })
            })
            .collect();
        let mut held = Vec::new();
        for client in clients {
            held.extend(client.await.unwrap());
        }
        // The agent reads what reached it while the clients wait: watch it do so for a while.
        let mut peak = 0;
        let watched = Instant::now();
        while watched.elapsed() < Duration::from_secs(3) {
            peak = peak.max(binary.peak_memory());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "{} of 300 bodies sent whole but for a kilobyte, peak resident {} MiB",
            held.len(),
            peak / MIB
        );
        assert!(peak < 256 * MIB, "peak resident {} MiB", peak / MIB);
        assert_eq!(binary.healthz().await.ok(), Some(200));
        let busy = rejected(&metrics(&binary.base).await, "/hooks/github", "busy");
        assert!(busy > 0.0, "the budget was never spent");
        drop(held);
    }

    #[tokio::test]
    async fn idle_and_unread_connections_are_closed_and_healthz_answers_under_1024_descriptors() {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        // This side holds every connection too.
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert!(
            hard >= 4096,
            "the test needs 4,096 descriptors, the hard limit is {hard}"
        );
        setrlimit(Resource::RLIMIT_NOFILE, soft.max(4096), hard).unwrap();

        let sandbox = support::sandbox().await;
        let dir = project(&sandbox, "Berlin", 25, "").await;
        let binary = Binary::start(dir.path(), 1024);
        // And one with fewer descriptors than connections it would serve: it must back off.
        let starved = Binary::start(dir.path(), 64);
        let started = Instant::now();
        while binary.reconciles().await < 1.0 {
            assert!(started.elapsed() < Duration::from_secs(20), "no reconcile");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let before = binary.reconciles().await;
        // One asks again and again and never reads an answer: more answers than the socket
        // buffers hold, so the agent's writes stall.
        let (mut unread, mut asking) = connect(&binary.base).await.into_split();
        let asks = "GET /metrics HTTP/1.1\r\nhost: agent\r\n\r\n".repeat(50_000);
        let asking = tokio::spawn(async move { asking.write_all(asks.as_bytes()).await });
        let mut idle = Vec::new();
        for _ in 0..1100 {
            idle.push(connect(&binary.base).await);
        }
        let starved_cpu = starved.cpu_ticks();
        let mut starving = Vec::new();
        for _ in 0..100 {
            starving.push(connect(&starved.base).await);
        }
        tokio::time::sleep(Duration::from_secs(40)).await;

        assert_eq!(binary.healthz().await.ok(), Some(200));
        for (n, stream) in idle.iter_mut().enumerate() {
            let mut buffer = [0u8; 256];
            let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await;
            assert!(read.is_ok(), "idle connection {n} is still open");
        }
        // Closed at the end of its lifetime: what it was sent reads to its end at once.
        let mut answers = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), unread.read_to_end(&mut answers));
        assert!(read.await.is_ok(), "the unread connection is still open");
        asking.abort();
        let metrics = metrics(&binary.base).await;
        assert_eq!(
            metrics[r#"slascone_sync_reconcile_total{result="failed"}"#], 0.0,
            "a reconcile failed while the connections were open"
        );
        assert!(binary.reconciles().await > before, "no reconcile ran");
        assert_eq!(starved.healthz().await.ok(), Some(200));
        // Out of descriptors, it waits for some to be freed rather than trying again at once.
        let spent = starved.cpu_ticks() - starved_cpu;
        // Trying again at once took about 8 s of processor time here, waiting about 1 s.
        assert!(spent < 400, "{spent} ticks of processor time in 40 s");
    }
}
