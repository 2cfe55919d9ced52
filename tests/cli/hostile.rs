//! Hostile input never panics, hangs or takes memory out of proportion to its size: manifests
//! (the fuzz corpus, replayed through the loader) and the JSON SLASCONE answers with (a mock
//! server that answers every request the same broken way).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slascone_sync::remote::wire::DataExchangeAddCustomerDto;
use slascone_sync::remote::{
    AdminKey, ApiError, Client, ClientConfig, DEFAULT_MAX_BODY_BYTES, RetryPolicy,
};
use uuid::Uuid;

use crate::support::{self, Cli, ISV, KEY};

// ---- manifests -----------------------------------------------------------------------------

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/manifest");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Every input of the fuzz corpus, through the pure entry point the fuzz target uses and
/// through `manifest::load` on a directory: no panic, and each within a time budget.
#[test]
fn the_fuzz_corpus_replays_without_panics() {
    let files = corpus();
    assert!(files.len() >= 40, "{} corpus files", files.len());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slascone.yaml"), format!("isv_id: {ISV}\n")).unwrap();
    let target = dir.path().join("input.yaml");
    let mut valid = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let started = Instant::now();
        if let Ok(text) = std::str::from_utf8(&bytes)
            && slascone_sync::manifest::check_str(Path::new("input.yaml"), text).is_ok()
        {
            valid += 1;
        }
        std::fs::write(&target, &bytes).unwrap();
        if let Err(problems) = slascone_sync::manifest::load(dir.path(), None) {
            // Every problem is something a person can act on: it has a message.
            assert!(problems.0.iter().all(|p| !p.message.is_empty()));
        }
        let elapsed = started.elapsed();
        assert!(
            // Generous for a debug build on a busy machine; an unbounded input takes minutes.
            elapsed < Duration::from_secs(10),
            "{} took {elapsed:?}",
            file.display()
        );
    }
    // The seeds from the examples are valid manifests, so the corpus reaches the validator.
    assert!(valid >= 4, "{valid} valid inputs");
}

/// The answers fuzz target's corpus, through the entry point it uses: no panic, no raw control
/// character in an error, and the seeds reach past the JSON parser.
#[test]
fn the_answers_fuzz_corpus_replays_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/answers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} corpus files", files.len());
    let mut decoded = 0;
    for file in &files {
        decoded += slascone_sync::remote::decode_answer(&std::fs::read(file).unwrap());
    }
    assert!(decoded >= 8, "{decoded} decodings");
}

// ---- JSON from SLASCONE --------------------------------------------------------------------

/// How the mock answers every request.
#[derive(Debug, Clone)]
enum Reply {
    /// A complete answer with this status and body.
    Body(u16, Vec<u8>),
    /// 200, chunked, 64 KiB chunks until the client hangs up.
    Endless,
    /// 200, chunked, one byte every 50 ms until the client hangs up.
    Trickle,
    /// `Content-Length: 1000`, then 10 bytes and a closed connection.
    ShortBody,
    /// Not HTTP at all.
    Garbage,
    /// The license count claims `i64::MAX` licenses; every other request gets `[]`.
    HugeCount,
    /// The license count is `count`; each page of the detailed listing is `page` (see
    /// [`listing_page`]); every other request gets `[]`.
    Listing { count: i64, page: Page },
}

/// What a page of the detailed license listing holds.
#[derive(Debug, Clone, Copy)]
enum Page {
    /// 500 licenses never listed before, on every page, forever.
    Endless,
    /// Three licenses, the first of them twice.
    Repeated,
    /// One license, whose `expiration_mode` is 99 (SLASCONE documents 1, 2 and 3).
    UnknownMode,
    /// One license, which starts on `0000-00-00`.
    ImpossibleStart,
}

/// A license as the detailed listing has it, with the id `n`.
fn license_json(n: u128) -> String {
    format!(
        r#"{{"id": "{}", "customer_id": "{}", "product_id": "{}", "template_id": "{}", "legacy_license_key": "L{n}", "token_limit": 5, "license_features": [], "license_limitations": [], "license_variables": [], "license_constrained_variables": []}}"#,
        Uuid::from_u128(n),
        Uuid::from_u128(1),
        Uuid::from_u128(2),
        Uuid::from_u128(3)
    )
}

fn listing_page(page: Page) -> Vec<u8> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 32);
    let ids: Vec<u128> = match page {
        Page::Endless => {
            let first = NEXT.fetch_add(500, std::sync::atomic::Ordering::Relaxed);
            (first..first + 500).map(u128::from).collect()
        }
        Page::Repeated => vec![11, 12, 11],
        Page::UnknownMode => {
            return format!(
                "[{}]",
                license_json(11).replace(
                    r#""token_limit""#,
                    r#""expiration_mode": 99, "token_limit""#
                )
            )
            .into_bytes();
        }
        Page::ImpossibleStart => {
            return format!(
                "[{}]",
                license_json(11).replace(
                    r#""token_limit""#,
                    r#""start_date_utc": "0000-00-00T00:00:00", "token_limit""#
                )
            )
            .into_bytes();
        }
    };
    let rows: Vec<String> = ids.into_iter().map(license_json).collect();
    format!("[{}]", rows.join(",")).into_bytes()
}

/// A server on loopback that reads each request's head and answers with `reply`.
fn mock(reply: Reply) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let reply = reply.clone();
            std::thread::spawn(move || answer(stream, &reply));
        }
    });
    url
}

fn answer(mut stream: TcpStream, reply: &Reply) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65_536 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    // The request body, read whole: closing a socket with unread data resets the connection.
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    if stream.read_exact(&mut body).is_err() {
        return;
    }
    let plain = |status: u16, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let chunked =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let _ = match reply {
        Reply::Body(status, body) => stream.write_all(&plain(*status, body)),
        Reply::Endless => {
            let mut chunk = format!("{:x}\r\n", 65_536).into_bytes();
            chunk.extend(std::iter::repeat_n(b' ', 65_536));
            chunk.extend_from_slice(b"\r\n");
            let _ = stream.write_all(chunked);
            let _ = stream.write_all(b"1\r\n[\r\n");
            while stream.write_all(&chunk).is_ok() {}
            Ok(())
        }
        Reply::Trickle => {
            let _ = stream.write_all(chunked);
            while stream.write_all(b"1\r\n \r\n").is_ok() {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }
        Reply::ShortBody => stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"id\": 1",
        ),
        Reply::Garbage => stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage\r\n\r\n"),
        Reply::HugeCount => {
            let detailed = head.contains("/licenses/filtered/detailed");
            let body: &[u8] = if !detailed && head.contains("/licenses/filtered") {
                br#"{"max_count": 9223372036854775807, "customer_count": 0}"#
            } else {
                b"[]"
            };
            stream.write_all(&plain(200, body))
        }
        Reply::Listing { count, page } => {
            let detailed = head.contains("/licenses/filtered/detailed");
            let body = if detailed {
                listing_page(*page)
            } else if head.contains("/licenses/filtered") {
                format!(r#"{{"max_count": {count}, "customer_count": 0}}"#).into_bytes()
            } else {
                b"[]".to_vec()
            };
            stream.write_all(&plain(200, &body))
        }
    };
    let _ = stream.flush();
}

/// A client with quick retries and a short deadline, so every case ends in seconds.
fn client(url: &str, max_body_bytes: usize) -> Client {
    let mut config = ClientConfig::new(url, ISV, AdminKey::new(KEY));
    config.retry = RetryPolicy {
        max_retries: 2,
        max_unreachable_retries: 2,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(50),
    };
    config.request_timeout = Duration::from_secs(3);
    config.total_timeout = Duration::from_secs(4);
    config.max_body_bytes = max_body_bytes;
    Client::new(config).unwrap()
}

/// One call of each kind the reconciler makes, with the request it sends.
async fn calls(client: &Client) -> Vec<(String, Result<(), ApiError>)> {
    let id = Uuid::from_u128(7);
    let customer = DataExchangeAddCustomerDto {
        customer_number: "K001".into(),
        customer_name: "Acme".into(),
        customer_type: "Enterprise".into(),
        country: "Germany".into(),
        ..Default::default()
    };
    vec![
        ("GET /products".into(), client.products().await.map(drop)),
        (
            "GET /customers".into(),
            client.list_customers().await.map(drop),
        ),
        (
            format!("GET /customers/{id}"),
            client.get_customer(id).await.map(drop),
        ),
        (
            "GET /templates".into(),
            client.templates(id).await.map(drop),
        ),
        (
            "POST /licenses/filtered".into(),
            client.list_licenses(id).await.map(drop),
        ),
        (
            "POST /data_exchange/customers".into(),
            client.create_customer_by_number(&customer).await.map(drop),
        ),
    ]
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}

fn fifty_megabytes() -> Vec<u8> {
    let mut body = b"[".to_vec();
    body.extend(std::iter::repeat_n(b'7', 50 << 20));
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_answers_are_errors_naming_the_request() {
    let replies: Vec<(&str, Reply)> = vec![
        ("missing fields", Reply::Body(200, b"{}".to_vec())),
        (
            "missing fields in a list",
            Reply::Body(200, b"[{}]".to_vec()),
        ),
        (
            "wrong types",
            Reply::Body(
                200,
                br#"[{"id": 5, "name": true, "max_count": "x"}]"#.to_vec(),
            ),
        ),
        (
            "truncated",
            Reply::Body(200, br#"[{"id": "6b69b539-dfe4-41a0-9b41-11"#.to_vec()),
        ),
        ("null", Reply::Body(200, b"null".to_vec())),
        (
            "html",
            Reply::Body(200, b"<html><body>Login</body></html>".to_vec()),
        ),
        (
            "invalid UTF-8",
            Reply::Body(200, b"[\"\xff\xfe\"]".to_vec()),
        ),
        ("nested 100000 deep", Reply::Body(200, nested(100_000))),
        ("50 MB of junk", Reply::Body(200, fifty_megabytes())),
        (
            "409 with junk",
            Reply::Body(409, b"{\"id\": \"x\"".to_vec()),
        ),
        ("400 with junk", Reply::Body(400, nested(10_000))),
        ("418", Reply::Body(418, Vec::new())),
        ("endless body", Reply::Endless),
        ("trickled body", Reply::Trickle),
        ("body shorter than announced", Reply::ShortBody),
        ("not HTTP", Reply::Garbage),
        ("a count of i64::MAX", Reply::HugeCount),
    ];
    let mut tried = 0;
    for (name, reply) in replies {
        let url = mock(reply);
        let client = client(&url, 16 << 20);
        let started = Instant::now();
        for (request, result) in calls(&client).await {
            let (method, endpoint) = request.split_once(' ').unwrap();
            let named = format!("{method} /api/v2/isv/{ISV}{endpoint}");
            match result {
                // `[]` and `null`-free bodies may be valid for some calls; `{}` is a customer
                // nobody has for a lookup by id; what matters is no panic.
                Ok(()) => {}
                Err(err) => {
                    let text = err.to_string();
                    assert!(text.starts_with(&named), "{name}: {text}");
                    assert!(!text.contains(KEY), "{name}: {text}");
                    // An excerpt at most, never the whole answer.
                    assert!(text.len() < 2_000, "{name}: {} bytes", text.len());
                }
            }
            tried += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "{name}: {:?}",
            started.elapsed()
        );
    }
    assert!(tried >= 100, "{tried} calls");
}

/// The client's own limit holds with its defaults: an endless answer stops at 256 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_stops_at_the_body_limit() {
    let url = mock(Reply::Endless);
    let client = client(&url, DEFAULT_MAX_BODY_BYTES);
    let started = Instant::now();
    let err = client.products().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("GET /api/v2/isv/{ISV}/products"))
            && (text.contains("larger than 268435456 bytes") || text.contains("no answer within")),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Every broken answer through the binary: exit 1, the request named, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reports_broken_answers_without_panicking() {
    for reply in [
        Reply::Body(200, br#"[{"id": "6b69b"#.to_vec()),
        Reply::Body(200, b"{}".to_vec()),
        Reply::Garbage,
    ] {
        let url = mock(reply.clone());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("slascone.yaml"),
            format!("api_url: {url}\nisv_id: {ISV}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("acme.yaml"),
            "customers:\n  - customer_number: K1\n    licenses:\n      - { legacy_license_key: L1, product: Argus, edition: Professional }\n",
        )
        .unwrap();
        let dir_arg = dir.path().to_str().unwrap();
        let output = support::run(&["--timeout", "5", "plan", dir_arg], None).await;
        let err = support::stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{reply:?}: {err}");
        assert!(
            err.contains(&format!(" /api/v2/isv/{ISV}/")),
            "{reply:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{reply:?}: {err}");
    }
}

// ---- terminal and CI-log injection ---------------------------------------------------------

/// The characters each output is tested with: ESC (a screen clear and a title change), BEL, CR,
/// LF, the C1 control U+009B (CSI on its own), U+202E (right-to-left override) and U+200B (zero
/// width space).
const INJECTED: &str = "K9\u{1b}[2J\u{1b}]0;pwn\u{7}\r\u{9b}31m\u{202e}\u{200b}\n::warning title=forged::injected\nFAKE: Apply complete";

/// No raw control character but the line break, and no line a CI runner reads as a command.
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !slascone_sync::text::is_hazard(c),
            "{what}: raw {c:?} in\n{text}"
        );
    }
    for line in text.lines() {
        let start = line.trim_start();
        assert!(
            !start.starts_with("::") && !start.starts_with("##[") && !start.starts_with("##vso["),
            "{what}: a runner command line: {line:?}"
        );
        assert!(!line.starts_with("FAKE"), "{what}: a forged line: {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_values_reach_no_output_raw() {
    let sandbox = support::sandbox().await;
    // A YAML double-quoted scalar: JSON's escapes, and YAML refuses raw C1 and bidi characters.
    let number = serde_json::to_string(INJECTED)
        .unwrap()
        .replace('\u{9b}', "\\u009b")
        .replace('\u{202e}', "\\u202e")
        .replace('\u{200b}', "\\u200b");
    let manifest = format!(
        "customers:\n  - customer_number: {number}\n    company_name: {number}\n    customer_type: Enterprise\n    country: Germany\n    licenses:\n      - {{ legacy_license_key: {number}, product: Argus, edition: Professional }}\n"
    );
    let dir = support::project(&sandbox, &[("acme.yaml", &manifest)], "");
    let plan_file = dir.path().join("plan.json");
    for args in [
        vec!["plan"],
        vec!["--verbose", "plan", "--format", "markdown"],
        vec!["plan", "--format", "json"],
    ] {
        let ran = Cli::new(&args).target(dir.path()).run().await.expect(0);
        let what = args.join(" ");
        // The value is there, escaped.
        assert!(ran.stdout().contains("pwn\\"), "{what}: {}", ran.stdout());
        assert_clean(&format!("{what} stdout"), &ran.stdout());
        assert_clean(&format!("{what} stderr"), &ran.stderr());
    }
    // JSON stays exact: the value reads back as written.
    let ran = Cli::new(["plan", "--out"])
        .arg(&plan_file)
        .target(dir.path())
        .run()
        .await
        .expect(0);
    assert_clean("plan --out stdout", &ran.stdout());
    let saved = std::fs::read_to_string(&plan_file).unwrap();
    assert_clean("the saved plan", &saved);
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["changes"][0]["key"], INJECTED);
    for format in ["text", "json", "markdown"] {
        // A fresh account each time, so that every report has the creates to report.
        let sandbox = support::sandbox().await;
        let dir = support::project(&sandbox, &[("acme.yaml", &manifest)], "");
        let ran = Cli::new(["apply", "--auto-approve", "--format", format])
            .target(dir.path())
            .run()
            .await
            .expect(0);
        assert!(ran.stdout().contains("pwn"), "{format}: {}", ran.stdout());
        assert_clean(&format!("apply {format} stdout"), &ran.stdout());
        assert_clean(&format!("apply {format} stderr"), &ran.stderr());
    }
}

/// A value that differs only by an invisible character (`K001` against `K001` and a zero width
/// space) must not read as no change: every output shows the character escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_by_an_invisible_character_is_shown() {
    let sandbox = support::sandbox().await;
    let manifest = |name: &str| {
        format!(
            "customers:\n  - customer_number: K001\n    company_name: \"{name}\"\n    customer_type: Enterprise\n    country: Germany\n"
        )
    };
    let dir = support::project(&sandbox, &[("acme.yaml", &manifest("Acme"))], "");
    Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    std::fs::write(dir.path().join("acme.yaml"), manifest("Acme\\u200b\\u202e")).unwrap();
    for (format, shown) in [
        ("text", r#""Acme\u{200b}\u{202e}""#),
        ("markdown", r"Acme\u{200b}\u{202e}"),
        ("json", r#""Acme\u200b\u202e""#),
    ] {
        let ran = Cli::new(["plan", "--format", format])
            .target(dir.path())
            .run()
            .await
            .expect(0);
        let out = ran.stdout();
        assert!(out.contains(shown), "{format}: {out}");
        assert!(
            !out.contains('\u{200b}') && !out.contains('\u{202e}'),
            "{format}: raw in {out}"
        );
    }
}

#[test]
fn manifest_file_names_reach_no_output_raw() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slascone.yaml"), format!("isv_id: {ISV}\n")).unwrap();
    let name = "::error::forged\n\u{1b}]0;x\u{7}\u{9b}\u{202e}\rx.yaml";
    std::fs::write(dir.path().join(name), "customers:\n  - country: 7\n").unwrap();
    // A problem quoting a value: the date it cannot read.
    let expires = serde_json::to_string(INJECTED)
        .unwrap()
        .replace('\u{9b}', "\\u009b")
        .replace('\u{202e}', "\\u202e");
    std::fs::write(
        dir.path().join("value.yaml"),
        format!("customers:\n  - customer_number: K1\n    licenses:\n      - {{ legacy_license_key: L1, product: Argus, edition: Pro, expires: {expires} }}\n"),
    )
    .unwrap();
    // Relative to the manifest directory, the file name opens the problem line.
    let ran = Cli::new(["validate", "."])
        .current_dir(dir.path())
        .run_blocking();
    assert_eq!(ran.code(), 1, "{}", ran.stderr());
    assert_clean("validate stderr", &ran.stderr());
    assert!(
        ran.stderr().contains("not a valid date: `K9\\e[2J"),
        "{}",
        ran.stderr()
    );
    assert!(
        ran.stderr().contains("\\u{3a}:error::forged\\n"),
        "{}",
        ran.stderr()
    );
    let ran = Cli::new(["plan", "--sandbox", "."])
        .current_dir(dir.path())
        .run_blocking();
    assert_clean("plan stderr", &ran.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_messages_reach_no_output_raw() {
    let message = serde_json::to_string(INJECTED).unwrap();
    let body = format!(r#"{{"id": 2001, "message": {message}}}"#).into_bytes();
    for reply in [
        Reply::Body(409, body.clone()),
        Reply::Body(
            400,
            format!(r#"{{"title": {message}, "detail": {message}}}"#).into_bytes(),
        ),
        Reply::Body(418, INJECTED.as_bytes().to_vec()),
        Reply::Body(200, format!(r#"[{{"id": {message}}}]"#).into_bytes()),
    ] {
        let url = mock(reply.clone());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("slascone.yaml"),
            format!("api_url: {url}\nisv_id: {ISV}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("acme.yaml"),
            "customers:\n  - customer_number: K1\n    licenses:\n      - { legacy_license_key: L1, product: Argus, edition: Professional }\n",
        )
        .unwrap();
        let ran = Cli::new(["--timeout", "3", "--verbose", "plan"])
            .target(dir.path())
            .run()
            .await
            .expect(1);
        assert_clean(&format!("{reply:?}"), &ran.stderr());
        if !matches!(reply, Reply::Body(200, _)) {
            // The message is shown, escaped.
            assert!(ran.stderr().contains("\\e[2J"), "{}", ran.stderr());
        }
    }
}

// ---- bounded listings ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_that_are_no_counts_are_errors_naming_the_request() {
    // Pages that bring more licenses than the count: an error, not a longer read.
    let url = mock(Reply::Listing {
        count: 3,
        page: Page::Endless,
    });
    let err = client(&url, 16 << 20)
        .list_licenses(Uuid::from_u128(2))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "POST /api/v2/isv/{ISV}/licenses/filtered/detailed: incomplete listing: read 500 licenses"
        )) && err.contains("SLASCONE counts 3"),
        "{err}"
    );
    for count in [-1, i64::MAX, 2_147_483_647] {
        let url = mock(Reply::Listing {
            count,
            page: Page::Endless,
        });
        let err = client(&url, 16 << 20)
            .list_licenses(Uuid::from_u128(2))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("POST /api/v2/isv/{ISV}/licenses/filtered: "))
                && err.contains(&format!("max_count {count} ")),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_license_listed_twice_is_an_error_naming_it() {
    let url = mock(Reply::Listing {
        count: 3,
        page: Page::Repeated,
    });
    let err = client(&url, 16 << 20)
        .list_licenses(Uuid::from_u128(2))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "POST /api/v2/isv/{ISV}/licenses/filtered/detailed: "
        )) && err.contains(&format!("license {} ", Uuid::from_u128(11)))
            && err.contains("listed twice"),
        "{err}"
    );
}

/// A server whose pages never run out: the read ends with an error within the call's time
/// (4 s here), not after the pages, and memory stays bounded meanwhile. Run in a process of its
/// own, so the peak memory it checks is the listing's, not that of the tests beside it.
#[test]
fn an_endless_listing_ends_within_the_deadline() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hostile::endless_listing_alone",
            "--ignored",
            "--nocapture",
        ])
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("1 passed"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by an_endless_listing_ends_within_the_deadline in a process of its own"]
async fn endless_listing_alone() {
    let url = mock(Reply::Listing {
        count: 9_000_000,
        page: Page::Endless,
    });
    let client = client(&url, DEFAULT_MAX_BODY_BYTES);
    let started = Instant::now();
    let mut read = 0usize;
    let err = client
        .list_licenses_each(Uuid::from_u128(2), |rows| read += rows.len())
        .await
        .unwrap_err()
        .to_string();
    let elapsed = started.elapsed();
    assert!(
        err.starts_with(&format!(
            "POST /api/v2/isv/{ISV}/licenses/filtered/detailed: no answer within 4s"
        )),
        "{err}"
    );
    assert!(read > 0, "the listing was read until the deadline");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    #[cfg(target_os = "linux")]
    {
        // The whole test process, other tests included: an upper bound of the listing's share.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let peak_kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        assert!(
            peak_kib < 300 * 1024,
            "peak {peak_kib} KiB after {read} licenses"
        );
    }
}

// ---- input files ---------------------------------------------------------------------------

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|status| status.success()), "mkfifo {path:?}");
}

/// `/dev/zero` and a FIFO as the saved plan or a CSV file: refused at once, named, exit 1.
#[cfg(unix)]
#[test]
fn inputs_that_are_no_regular_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slascone.yaml"),
        format!("api_url: http://127.0.0.1:9\nisv_id: {ISV}\n"),
    )
    .unwrap();
    let fifo = dir.path().join("input.fifo");
    mkfifo(&fifo);
    for input in [Path::new("/dev/zero"), fifo.as_path()] {
        let kind = if input == fifo {
            "a FIFO"
        } else {
            "a character device"
        };
        let runs = [
            Cli::new(["apply", "--auto-approve", "--plan"])
                .arg(input)
                .target(dir.path()),
            Cli::new(["import-csv", "--customers"])
                .arg(input)
                .arg("--out")
                .arg(dir.path().join("out")),
        ];
        for cli in runs {
            let started = Instant::now();
            let ran = cli.run_blocking();
            let err = ran.stderr();
            assert_eq!(ran.code(), 1, "{input:?}: {err}");
            assert!(
                err.contains(&input.display().to_string())
                    && err.contains(&format!("not a regular file but {kind}")),
                "{input:?}: {err}"
            );
            assert!(started.elapsed() < Duration::from_secs(10), "{input:?}");
        }
    }
}

/// Every manifest entry that cannot be read as a manifest, or leads out of the directory, is a
/// problem naming it; `validate` does not say "ok" without it.
#[cfg(unix)]
#[test]
fn unreadable_and_outside_manifest_entries_are_named() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("slascone.yaml"), format!("isv_id: {ISV}\n")).unwrap();
    std::fs::write(root.join("ok.yaml"), "customers: []\n").unwrap();
    std::fs::create_dir(root.join("data")).unwrap();
    std::fs::write(root.join("data/inside.txt"), "customers: []\n").unwrap();
    // A link to a file inside the directory is read like the file.
    symlink(root.join("data/inside.txt"), root.join("inside.yaml")).unwrap();
    mkfifo(&root.join("fifo.yaml"));
    symlink("/dev/zero", root.join("zero.yaml")).unwrap();
    symlink(root.join("nothing.yaml"), root.join("dangling.yaml")).unwrap();
    symlink(root.join("loop.yaml"), root.join("loop.yaml")).unwrap();
    symlink("/etc/passwd", root.join("passwd.yaml")).unwrap();
    let started = Instant::now();
    let ran = Cli::new(["validate"]).target(root).run_blocking();
    let err = ran.stderr();
    assert_eq!(ran.code(), 1, "{err}");
    for (name, why) in [
        ("fifo.yaml", "not a regular file but a FIFO"),
        (
            "zero.yaml",
            "a link to /dev/zero, outside the manifest directory",
        ),
        ("dangling.yaml", "a link that leads to no file"),
        ("loop.yaml", "a link that leads to no file"),
        (
            "passwd.yaml",
            "a link to /etc/passwd, outside the manifest directory",
        ),
    ] {
        let line = format!("{}: {why}", root.join(name).display());
        assert!(err.contains(&line), "{line}\n{err}");
    }
    assert!(!err.contains("inside.yaml"), "{err}");
    assert_eq!(err.matches("hint: a manifest must be").count(), 5, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The project file itself.
    std::fs::remove_file(root.join("slascone.yaml")).unwrap();
    mkfifo(&root.join("slascone.yaml"));
    let ran = Cli::new(["validate"]).target(root).run_blocking();
    assert_eq!(ran.code(), 1);
    assert!(
        ran.stderr().contains("not a regular file but a FIFO"),
        "{}",
        ran.stderr()
    );
}

/// An error answer quoting the key, as written or with JSON escapes, shows it redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_quoted_by_an_error_answer_is_redacted() {
    let escaped = KEY.replacen('t', "\\u0074", 1);
    for body in [
        format!(r#"{{"id": 2001, "message": "unknown key {KEY}"}}"#),
        format!(r#"{{"id": 2001, "message": "unknown key {escaped}"}}"#),
    ] {
        let url = mock(Reply::Body(409, body.into_bytes()));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("slascone.yaml"),
            format!("api_url: {url}\nisv_id: {ISV}\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("acme.yaml"), "customers: []\n").unwrap();
        let ran = Cli::new(["--timeout", "3", "--verbose", "plan"])
            .target(dir.path())
            .run()
            .await
            .expect(1);
        let err = ran.stderr();
        assert!(!err.contains(KEY), "{err}");
        assert!(err.contains("unknown key <the admin key>"), "{err}");
    }
}

// ---- values the diff cannot read -----------------------------------------------------------

/// An unknown `expiration_mode` and an impossible date are errors naming the license, the field
/// and the request, never read as "no expiry" or "no start".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_modes_and_impossible_dates_are_errors_naming_the_field() {
    for (page, field) in [
        (
            Page::UnknownMode,
            "expiration_mode 99 is none SLASCONE documents",
        ),
        (
            Page::ImpossibleStart,
            "start_date_utc \"0000-00-00T00:00:00\" is no date",
        ),
    ] {
        let url = mock(Reply::Listing { count: 1, page });
        let err = client(&url, 16 << 20)
            .list_licenses(Uuid::from_u128(2))
            .await
            .unwrap_err()
            .to_string();
        let license = format!(
            "license {} (legacy_license_key \"L11\"): ",
            Uuid::from_u128(11)
        );
        assert!(
            err.starts_with(&format!(
                "POST /api/v2/isv/{ISV}/licenses/filtered/detailed: "
            )) && err.contains(&format!("{license}{field}")),
            "{err}"
        );
    }
}
