//! Transport rules, through the built binary: https or loopback only, checked before any
//! connection; no switch to turn certificate verification off; no redirects and no proxies for
//! plain http; and a total deadline, so a server that never answers cannot hang a CI job.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use clap::CommandFactory;

use crate::support::{self, ISV, KEY};

const MANIFEST: &str = "customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
";

fn project(api_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slascone.yaml"),
        format!("api_url: {api_url}\nisv_id: {ISV}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("acme.yaml"), MANIFEST).unwrap();
    dir
}

/// A listener that records whether anyone connected: set as every proxy of the environment, it
/// catches a connection attempt to any address.
struct Trap(TcpListener);

impl Trap {
    fn new() -> Trap {
        Trap(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    /// Connections wait in the backlog until accepted, so a non-blocking accept finds any.
    fn was_contacted(&self) -> bool {
        self.0.set_nonblocking(true).unwrap();
        match self.0.accept() {
            Ok(_) => true,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(err) => panic!("the trap fails: {err}"),
        }
    }
}

/// Runs the binary in `dir` with every proxy variable pointing at `trap`.
async fn run_trapped(dir: &Path, args: &[&str], trap: &Trap) -> (Output, Duration) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let dir = dir.to_path_buf();
    let proxy = trap.url();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut command = Command::new(support::bin());
        command
            .args(&args)
            .arg(&dir)
            .env("SLASCONE_ADMIN_KEY", KEY)
            .env("NO_COLOR", "1")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .stdin(Stdio::null());
        for name in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
        ] {
            command.env(name, &proxy);
        }
        let output = command.output().unwrap();
        (output, started.elapsed())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_before_any_connection() {
    let urls = [
        "http://api.example.com",
        "http://api365.slascone.com",
        "http://10.0.0.1:8080",
        "http://[::2]:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
    ];
    for url in urls {
        let trap = Trap::new();
        let dir = project(url);
        let (output, elapsed) = run_trapped(dir.path(), &["plan"], &trap).await;
        let err = support::stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{url}: {err}");
        assert!(
            err.contains(&format!(
                "api_url `{url}` uses plain http; only https is allowed"
            )),
            "{url}: {err}"
        );
        assert!(!trap.was_contacted(), "{url}: a connection was attempted");
        assert!(elapsed < Duration::from_secs(10), "{url}: {elapsed:?}");
    }
    // The same through the flag, which overrides a valid https URL.
    let trap = Trap::new();
    let dir = project("https://api365.slascone.com");
    let args = [
        "--api-url",
        "http://api.example.com",
        "apply",
        "--auto-approve",
    ];
    let (output, _) = run_trapped(dir.path(), &args, &trap).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(support::stderr(&output).contains("only https is allowed"));
    assert!(!trap.was_contacted());
    // Other schemes are refused too.
    let dir = project("ftp://api.example.com");
    let (output, _) = run_trapped(dir.path(), &["plan"], &trap).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(support::stderr(&output).contains("must be an http:// or https:// URL"));
    assert!(!trap.was_contacted());
}

/// Plain http to loopback works, by name and by address, and never goes through a proxy: the
/// proxy would carry the key off the machine in clear text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_http_is_direct_even_with_a_proxy_configured() {
    let sandbox = support::sandbox().await;
    let port = sandbox.addr().port();
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        let trap = Trap::new();
        let dir = project(&url);
        let (output, _) = run_trapped(dir.path(), &["plan", "--detailed-exitcode"], &trap).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{url}: {}",
            support::stderr(&output)
        );
        assert!(!trap.was_contacted(), "{url} went through the proxy");
    }
    sandbox.shutdown().await;
}

/// Every flag of every command: none may turn certificate checks off or allow plain http.
#[test]
fn no_flag_turns_verification_off() {
    fn walk(command: &clap::Command, path: &str, seen: &mut usize) {
        for arg in command.get_arguments() {
            let names: Vec<String> = arg
                .get_long_and_visible_aliases()
                .unwrap_or_default()
                .into_iter()
                .map(str::to_lowercase)
                .chain([arg.get_id().as_str().to_lowercase()])
                .collect();
            for name in names {
                *seen += 1;
                for banned in [
                    "insecure",
                    "verify",
                    "tls",
                    "cert",
                    "ssl",
                    "danger",
                    "invalid",
                    "allow-http",
                    "plain",
                    "trust",
                    "ca-",
                ] {
                    assert!(
                        !name.contains(banned),
                        "`{path} --{name}` looks like a switch for transport security"
                    );
                }
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), seen);
        }
    }
    let mut seen = 0;
    let command = slascone_sync::cli::Cli::command();
    walk(&command, "slascone-sync", &mut seen);
    assert!(seen > 20, "only {seen} flags found");
}

/// The client code never disables what rustls checks.
#[test]
fn the_client_never_relaxes_certificate_checks() {
    let mut pending = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for banned in [
                    "danger_accept_invalid",
                    "tls_built_in_root_certs(false)",
                    "https_only(false)",
                    "dangerous()",
                ] {
                    assert!(!text.contains(banned), "{}: {banned}", path.display());
                }
                files += 1;
            }
        }
    }
    assert!(files > 10);
}

/// A listener that accepts connections and never says a word.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

#[tokio::test]
async fn a_server_that_never_answers_cannot_hang_the_command() {
    let url = silent_server();
    let dir = project(&url);
    let trap = Trap::new();
    for args in [
        &["--timeout", "2", "plan"][..],
        &["--timeout", "2", "apply", "--auto-approve"],
    ] {
        let (output, elapsed) = run_trapped(dir.path(), args, &trap).await;
        let err = support::stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        // Named by method and path, e.g. `GET /api/v2/isv/<id>/customers/types`.
        assert!(
            err.contains(&format!("GET /api/v2/isv/{ISV}/")) && err.contains("no answer within 2s"),
            "{err}"
        );
        assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    }
}

#[test]
fn the_timeouts_have_documented_defaults() {
    use slascone_sync::remote::{
        DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_TOTAL_TIMEOUT,
    };
    assert_eq!(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs(10));
    assert_eq!(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(60));
    assert_eq!(DEFAULT_TOTAL_TIMEOUT, Duration::from_secs(300));
    let global = slascone_sync::cli::GlobalArgs::default();
    assert_eq!(global.timeout, 300);
    let help = slascone_sync::cli::Cli::command()
        .render_long_help()
        .to_string();
    assert!(help.contains("--timeout <SECONDS>"), "{help}");
}

/// A redirect would carry the AdminKey header to wherever it points.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let trap = Trap::new();
    let elsewhere = format!("{}/steal", trap.url());
    let router = axum::Router::new().fallback(move || {
        let elsewhere = elsewhere.clone();
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, elsewhere)],
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let dir = project(&url);
    let output = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            Command::new(support::bin())
                .args(["plan"])
                .arg(&dir)
                .env("SLASCONE_ADMIN_KEY", KEY)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let err = support::stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("HTTP 307"), "{err}");
    assert!(!trap.was_contacted(), "the redirect was followed");
    server.abort();
}

/// A port nobody listens on: a connection to it is refused at once.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A refused connection is a wrong address far more often than a passing fault: two retries,
/// each said on stderr with its attempt number and wait, then the error (not the 5xx budget of
/// six retries).
#[test]
fn a_refused_connection_is_retried_twice_and_every_retry_says_so() {
    let port = closed_port();
    let dir = project(&format!("http://127.0.0.1:{port}"));
    let ran = support::Cli::new(["plan"])
        .target(dir.path())
        .run_blocking();
    assert_eq!(ran.code(), 1);
    let stderr = ran.stderr();
    let customers = format!("GET /api/v2/isv/{ISV}/customers: connection failed: 127.0.0.1:{port}");
    let retries: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("retrying: {customers}")))
        .collect();
    assert_eq!(retries.len(), 2, "{stderr}");
    for (retry, attempt) in retries
        .iter()
        .zip(["attempt 2 of 3 in ", "attempt 3 of 3 in "])
    {
        let wait = retry
            .split_once(attempt)
            .unwrap_or_else(|| panic!("{retry}: no `{attempt}`"))
            .1;
        let seconds: f64 = wait.strip_suffix('s').unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&seconds), "{retry}");
    }
    assert!(!stderr.contains("attempt 4"), "{stderr}");
    assert!(
        stderr.lines().last().is_some_and(
            |l| l.starts_with("error: GET /api/v2/isv/") && l.contains("connection failed")
        ),
        "{stderr}"
    );
}

/// `--verbose` names the request once per line, the reason after the arrow.
#[test]
fn a_verbose_line_names_the_request_once() {
    let port = closed_port();
    let dir = project(&format!("http://127.0.0.1:{port}"));
    let ran = support::Cli::new(["plan", "--verbose"])
        .target(dir.path())
        .run_blocking();
    assert_eq!(ran.code(), 1);
    let stderr = ran.stderr();
    let logged: Vec<&str> = stderr.lines().filter(|l| l.contains(" -> ")).collect();
    assert!(!logged.is_empty(), "{stderr}");
    for line in logged {
        assert_eq!(line.matches("/api/v2/isv/").count(), 1, "{line}");
        assert!(
            line.contains(&format!(" -> connection failed: 127.0.0.1:{port}: ")),
            "{line}"
        );
    }
}

/// A host name that does not resolve (`.invalid` never does) is a wrong address too: two
/// retries, then the error naming the host.
#[test]
fn an_unresolvable_host_is_retried_twice() {
    let dir = project("https://no-such-host.invalid");
    let ran = support::Cli::new(["plan"])
        .target(dir.path())
        .run_blocking();
    assert_eq!(ran.code(), 1);
    let stderr = ran.stderr();
    let customers =
        format!("GET /api/v2/isv/{ISV}/customers: connection failed: no-such-host.invalid:443: ");
    let retries = stderr
        .lines()
        .filter(|l| l.starts_with(&format!("retrying: {customers}")))
        .count();
    assert!(retries <= 2, "{stderr}");
    assert!(!stderr.contains("attempt 4"), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("error: ")),
        "{stderr}"
    );
}
