//! What the agent reads from and sends to URLs it is given: `--git` writes only `--path`, within
//! limits, from https or file URLs only; the credentials of a `--git` or `--notify-url` URL show
//! nowhere, in any spelling; notifications follow no redirect.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gix::objs::tree::{Entry, EntryKind};
use serde_json::Value;
use slascone_sync::agent::git::GitSource;
use slascone_sync::agent::{Agent, Mode, Source};

use crate::agent::{Running, agent_config, manifest, project, result, start};
use crate::support::{self, ISV, KEY};

const MIB: usize = 1 << 20;

/// A bare repository written without a git program, whose trees a test lays out entry by entry.
struct Repo {
    repo: gix::Repository,
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = gix::init_bare(dir.path()).unwrap();
        Repo { repo, dir }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    fn blob(&self, bytes: &[u8]) -> gix::ObjectId {
        self.repo.write_blob(bytes).unwrap().detach()
    }

    fn tree(&self, entries: &[(&str, EntryKind, gix::ObjectId)]) -> gix::ObjectId {
        let mut entries: Vec<Entry> = entries
            .iter()
            .map(|(name, kind, oid)| Entry {
                mode: (*kind).into(),
                filename: (*name).into(),
                oid: *oid,
            })
            .collect();
        entries.sort();
        self.repo
            .write_object(gix::objs::Tree { entries })
            .unwrap()
            .detach()
    }

    /// Makes `root` the tree of a commit on main; the commit's id.
    fn commit(&self, root: gix::ObjectId) -> String {
        let signature = gix::actor::Signature {
            name: "Licensing".into(),
            email: "licensing@example.com".into(),
            time: gix::date::Time::new(1_764_633_600, 0),
        };
        let mut buffer = gix::date::parse::TimeBuf::default();
        let signature = signature.to_ref(&mut buffer);
        self.repo
            .commit_as(
                signature,
                signature,
                "refs/heads/main",
                "manifests",
                root,
                None::<gix::ObjectId>,
            )
            .unwrap()
            .detach()
            .to_string()
    }

    /// The tree of a manifest directory: a project file for `api_url`, one manifest, and
    /// `inside`.
    fn manifests(
        &self,
        api_url: &str,
        inside: &[(&str, EntryKind, gix::ObjectId)],
    ) -> gix::ObjectId {
        let project = self.blob(format!("api_url: {api_url}\nisv_id: {ISV}\n").as_bytes());
        let acme = self.blob(manifest("Berlin", 25).as_bytes());
        let mut entries = vec![
            ("slascone.yaml", EntryKind::Blob, project),
            ("acme.yaml", EntryKind::Blob, acme),
        ];
        entries.extend_from_slice(inside);
        self.tree(&entries)
    }
}

fn source(url: &str, cache: &Path) -> GitSource {
    GitSource {
        url: url.to_owned(),
        branch: "main".into(),
        path: "slascone".into(),
        cache_dir: cache.to_path_buf(),
        token: None,
    }
}

async fn fetch(source: GitSource) -> anyhow::Result<slascone_sync::agent::git::Fetched> {
    tokio::task::spawn_blocking(move || source.fetch())
        .await
        .expect("the fetch does not panic")
}

/// Every regular file below `dir`, and their bytes together.
fn files_below(dir: &Path) -> (Vec<String>, u64) {
    let mut files = Vec::new();
    let mut bytes = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else {
                bytes += entry.metadata().unwrap().len();
                let path = entry.path();
                files.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    (files, bytes)
}

/// A repository of 1 MB or so that names a 50 MB blob ten times and 5,000 files, all outside
/// `--path`: the binary writes the two manifests of `--path` and nothing else, and its memory
/// never holds the blob twice.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn only_the_path_is_written_from_a_repository_with_a_huge_blob_and_many_files() {
    use std::process::{Command, Stdio};

    let sandbox = support::sandbox().await;
    let origin = Repo::new();
    let big = origin.blob(&vec![0; 50 * MIB]);
    let small = origin.blob(b"x\n");
    let assets: Vec<(String, EntryKind, gix::ObjectId)> = (0..10)
        .map(|i| (format!("big-{i}.bin"), EntryKind::Blob, big))
        .collect();
    let assets: Vec<_> = assets
        .iter()
        .map(|(n, k, o)| (n.as_str(), *k, *o))
        .collect();
    let names: Vec<String> = (0..5_000).map(|i| format!("file-{i:04}.txt")).collect();
    let vendor: Vec<_> = names
        .iter()
        .map(|n| (n.as_str(), EntryKind::Blob, small))
        .collect();
    let inside = origin.manifests(&sandbox.base_url(), &[]);
    let root = origin.tree(&[
        ("assets", EntryKind::Tree, origin.tree(&assets)),
        ("vendor", EntryKind::Tree, origin.tree(&vendor)),
        ("slascone", EntryKind::Tree, inside),
    ]);
    let commit = origin.commit(root);
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(support::bin())
        .args(["agent", "--git", &origin.url(), "--path", "slascone"])
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["--interval", "1h", "--listen", "127.0.0.1:0"])
        .env("SLASCONE_ADMIN_KEY", KEY)
        .env("SLASCONE_SYNC_TODAY", "2026-12-01")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut start = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut start).unwrap();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let listen = start
        .split(' ')
        .find_map(|field| field.strip_prefix("listen="))
        .unwrap_or_else(|| panic!("no listen= in {start:?}"))
        .trim();
    let started = Instant::now();
    let status = loop {
        let status: Value = reqwest::get(format!("http://{listen}/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["reconciles"].as_u64() >= Some(1) {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{status:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let peak = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .unwrap()
        * 1024;
    child.kill().unwrap();
    child.wait().unwrap();
    println!("peak resident {} MiB", peak / MIB);
    assert_eq!(status["last"]["result"], "drift", "{status:#}");
    let (files, bytes) = files_below(&cache.path().join("trees"));
    assert_eq!(status["revision"], commit.as_str());
    let tree = format!("{commit}/slascone");
    assert!(
        files == [format!("{tree}/acme.yaml"), format!("{tree}/slascone.yaml")],
        "{} files written, the first {:?}",
        files.len(),
        &files[..files.len().min(3)]
    );
    assert!(bytes < 4096, "{bytes} bytes written");
    // Indexing the fetched pack inflates each object once; writing the files reads none of
    // those outside `--path`. Holding the blob twice (or ten times) would pass 100 MiB.
    assert!(peak < 100 * MIB, "peak resident {} MiB", peak / MIB);
}

/// Inside `--path`, a file over the manifest limit, a symbolic link and a submodule are each
/// named, and nothing is written: the loader would have read a directory missing them.
#[tokio::test]
async fn a_link_a_submodule_and_an_oversize_file_inside_the_path_are_named() {
    let origin = Repo::new();
    let link = origin.blob(b"../../../etc/passwd");
    let large = origin.blob(&vec![b'#'; 17 * MIB]);
    let elsewhere = origin.blob(b"not fetched\n");
    let nested = origin.tree(&[("shared.yaml", EntryKind::Link, link)]);
    let inside = origin.manifests(
        "https://api365.slascone.com",
        &[
            ("passwd.yaml", EntryKind::Link, link),
            ("huge.yaml", EntryKind::Blob, large),
            ("vendored", EntryKind::Commit, elsewhere),
            ("team", EntryKind::Tree, nested),
        ],
    );
    // Outside `--path`, a link is no business of the agent's.
    let root = origin.tree(&[
        ("slascone", EntryKind::Tree, inside),
        ("README.md", EntryKind::Link, link),
    ]);
    let commit = origin.commit(root);
    let cache = tempfile::tempdir().unwrap();
    let error = fetch(source(&origin.url(), cache.path()))
        .await
        .expect_err("the entries are refused");
    let error = format!("{error:#}");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(&regex_escape(&origin.url()), "file://[ORIGIN]");
    settings.add_filter(&commit[..12], "[COMMIT]");
    settings.bind(|| insta::assert_snapshot!("agent_git_refused_entries", error));
    assert!(!cache.path().join("trees").join(&commit).exists());
}

/// A tree of 1,000 files named 101 times holds 101,000 files in a few kilobytes: refused at
/// the limit, after listing no more than it.
#[tokio::test]
async fn a_path_of_more_files_than_the_limit_is_refused() {
    let origin = Repo::new();
    let blob = origin.blob(b"customers: []\n");
    let names: Vec<String> = (0..1_000).map(|i| format!("m{i:04}.yaml")).collect();
    let thousand = origin.tree(
        &names
            .iter()
            .map(|n| (n.as_str(), EntryKind::Blob, blob))
            .collect::<Vec<_>>(),
    );
    let dirs: Vec<String> = (0..101).map(|i| format!("d{i:03}")).collect();
    let inside = origin.manifests(
        "https://api365.slascone.com",
        &dirs
            .iter()
            .map(|n| (n.as_str(), EntryKind::Tree, thousand))
            .collect::<Vec<_>>(),
    );
    let commit = origin.commit(origin.tree(&[("slascone", EntryKind::Tree, inside)]));
    let cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let error = fetch(source(&origin.url(), cache.path()))
        .await
        .expect_err("too many files");
    let error = format!("{error:#}");
    assert_eq!(
        error,
        format!(
            "{} at {}: `slascone` holds more than 100000 files and directories, the most the agent writes",
            origin.url(),
            &commit[..12]
        )
    );
    assert!(!cache.path().join("trees").join(&commit).exists());
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// Waits until `sent` holds a notification, for at most 10 s.
async fn announced(sent: &Mutex<Vec<(axum::http::HeaderMap, String)>>) {
    let started = Instant::now();
    while sent.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nothing was announced"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stand-in for a webhook receiver that keeps each request as it came: its headers and its body
/// as text. `redirect_to`: every request is answered `307` to there instead.
async fn receiver(
    redirect_to: Option<String>,
) -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let got = Arc::clone(&got);
            move |headers: axum::http::HeaderMap, body: String| async move {
                got.lock().unwrap().push((headers, body));
                match redirect_to {
                    Some(to) => axum::response::Response::builder()
                        .status(307)
                        .header("location", to)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                    None => axum::response::Response::new(axum::body::Body::from("ok")),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

/// Everything the agent has shown: its log, its endpoints, and the notifications it sent.
async fn everything_shown(
    running: &Running,
    sent: &Mutex<Vec<(axum::http::HeaderMap, String)>>,
) -> String {
    let mut shown = running.logs.lock().unwrap().join("\n");
    for path in ["/status", "/", "/metrics"] {
        shown.push('\n');
        shown.push_str(&running.get(path).await.1);
    }
    for (_, body) in sent.lock().unwrap().iter() {
        shown.push('\n');
        shown.push_str(body);
    }
    shown
}

const TOKEN: &str = "ghp_TokenAsUserName0123456789abcdef";
/// A password holding what URLs encode and HTML and JSON escape, and its form in a URL.
const PASSWORD: &str = "p@ss&<w>ord\"";
const ENCODED: &str = "p%40ss%26%3Cw%3Eord%22";

#[track_caller]
fn assert_nowhere(shown: &str, secrets: &[&str]) {
    let forms = secrets.iter().flat_map(|secret| {
        let json = serde_json::to_string(secret).unwrap();
        let json = json[1..json.len() - 1].to_owned();
        [
            (*secret).to_owned(),
            slascone_sync::text::html(secret),
            slascone_sync::text::html(&json),
            json,
        ]
    });
    for form in forms {
        assert!(!shown.contains(&form), "{form} shown in:\n{shown}");
    }
}

/// GitHub takes a token as the URL's user name; a fetch that fails with one in the URL shows it
/// in no log line, endpoint, page or notification.
#[tokio::test]
async fn a_token_as_the_git_user_name_is_never_shown() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (url, sent) = receiver(None).await;
    let (mut config, logs) = agent_config(Path::new("unused"), Mode::Detect);
    config.source = Source::Git(GitSource {
        url: format!("https://{TOKEN}@{closed}/acme/licensing.git"),
        ..source("", cache.path())
    });
    config.notify_url = Some(url.replace("http://", &format!("http://hook:{ENCODED}@")));
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(20), |s| result(s) == "failed")
        .await;
    announced(&sent).await;
    let shown = everything_shown(&running, &sent).await;
    running.agent.shutdown(Duration::from_secs(5)).await;
    assert!(
        shown.contains(&format!("https://<redacted>@{closed}/acme/licensing.git")),
        "{shown}"
    );
    assert_nowhere(&shown, &[TOKEN, PASSWORD, ENCODED]);
}

/// The password of `--notify-url`, decoded, is also a manifest value: the page shows the plan
/// with it redacted, not HTML-escaped, and no other output shows it in any spelling.
#[tokio::test]
async fn an_encoded_notify_password_is_redacted_before_escaping() {
    let sandbox = support::sandbox().await;
    let value = format!("'{PASSWORD}'");
    let manifest = manifest("Berlin", 25).replace("city: Berlin", &format!("city: {value}"));
    let dir = support::project(&sandbox, &[("acme.yaml", &manifest)], "");
    let (url, sent) = receiver(None).await;
    let (mut config, logs) = agent_config(dir.path(), Mode::Detect);
    config.notify_url = Some(url.replace("http://", &format!("http://hook:{ENCODED}@")));
    let running = start(config, logs).await;
    running
        .wait_for(Duration::from_secs(20), |s| result(s) == "drift")
        .await;
    announced(&sent).await;
    let (_, page) = running.get("/").await;
    assert!(page.contains("&quot;&lt;redacted&gt;&quot;"), "{page}");
    let shown = everything_shown(&running, &sent).await;
    running.agent.shutdown(Duration::from_secs(5)).await;
    assert_nowhere(&shown, &[PASSWORD, ENCODED]);
}

/// A receiver answering 307 to another: the second receives nothing, the first no Referer,
/// and the failed notification is logged.
#[tokio::test]
async fn a_notification_follows_no_redirect() {
    let sandbox = support::sandbox().await;
    let dir = project(&sandbox, "Berlin", 25, "").await;
    let (elsewhere, stolen) = receiver(None).await;
    let (url, sent) = receiver(Some(elsewhere)).await;
    let (mut config, logs) = agent_config(dir.path(), Mode::Detect);
    config.notify_url = Some(url);
    let running = start(config, logs).await;
    let started = Instant::now();
    let logged = loop {
        let logged = running.logs.lock().unwrap().join("\n");
        if logged.contains("\"event\":\"notify\"") {
            break logged;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{logged}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Time for a redirect to arrive, were it followed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.agent.shutdown(Duration::from_secs(5)).await;
    assert!(
        logged.contains("the notification was answered 307 Temporary Redirect"),
        "{logged}"
    );
    assert!(
        stolen.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0.get("referer").is_none(), "{:?}", sent[0].0);
}

/// URLs that let whoever is on the way choose the manifests, or read the notifications, stop
/// the agent at start, before it connects anywhere: a `git://` server on loopback is never
/// dialled. Plain http to loopback stays for tests and sidecars.
#[tokio::test]
async fn urls_anyone_on_the_way_could_change_are_refused_at_start() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cache = tempfile::tempdir().unwrap();
    let mut refused = Vec::new();
    for (git, notify) in [
        (
            Some(format!("git://127.0.0.1:{port}/acme/licensing.git")),
            None,
        ),
        (
            Some("http://git.example.com/acme/licensing.git".to_owned()),
            None,
        ),
        (
            Some(format!("http://ci:{ENCODED}@10.0.0.1/acme/licensing.git")),
            None,
        ),
        (
            Some("ssh://git@github.com/acme/licensing.git".to_owned()),
            None,
        ),
        (Some("git@github.com:acme/licensing.git".to_owned()), None),
        (
            None,
            Some("http://hooks.example.com/services/T0/B0/XYZ".to_owned()),
        ),
        (None, Some("ftp://hooks.example.com/XYZ".to_owned())),
    ] {
        let (mut config, logs) = agent_config(cache.path(), Mode::Apply);
        if let Some(git) = &git {
            config.source = Source::Git(source(git, cache.path()));
        }
        config.notify_url = notify.clone();
        let error = match Agent::start(config).await {
            Ok(_) => panic!("{git:?} {notify:?} started"),
            Err(error) => format!("{error:#}"),
        };
        assert!(logs.lock().unwrap().is_empty(), "{logs:?}");
        refused.push(error);
    }
    assert!(listener.accept().is_err(), "the git:// server was dialled");
    let refused = refused.join("\n");
    assert_nowhere(&refused, &[ENCODED, PASSWORD, "XYZ"]);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(&format!(":{port}/"), ":[PORT]/");
    settings.bind(|| insta::assert_snapshot!("agent_refused_urls", refused));

    let (mut config, logs) = agent_config(cache.path(), Mode::Detect);
    config.source = Source::Git(source(
        &format!("http://127.0.0.1:{port}/x.git"),
        cache.path(),
    ));
    config.notify_url = Some(format!("http://localhost:{port}/hook"));
    let running = start(config, logs).await;
    running.agent.shutdown(Duration::from_secs(5)).await;
}

/// A zero width space and a right-to-left override in a license key: the log line of the
/// blocked plan, `/status` and the page show both escaped, never raw.
#[tokio::test]
async fn invisible_characters_reach_the_log_status_and_page_escaped() {
    let sandbox = support::sandbox().await;
    let extra = "safety: { max_risk: medium }\n";
    let hostile = |limit: u32| {
        manifest("Berlin", limit).replace(
            "legacy_license_key: SUB-1",
            "legacy_license_key: \"SUB-1\\u200b\\u202e\"",
        )
    };
    let dir = support::project(&sandbox, &[("acme.yaml", &hostile(25))], extra);
    support::apply_ok(dir.path()).await;
    support::write_files(dir.path(), &[("acme.yaml", &hostile(5))]);
    for format in [
        slascone_sync::agent::LogFormat::Json,
        slascone_sync::agent::LogFormat::Text,
    ] {
        let (mut config, logs) = agent_config(dir.path(), Mode::Apply);
        config.log_format = format;
        let running = start(config, logs).await;
        running
            .wait_for(Duration::from_secs(20), |s| result(s) == "blocked")
            .await;
        let logged = running.logs.lock().unwrap().join("\n");
        let (_, status) = running.get("/status").await;
        let (_, page) = running.get("/").await;
        running.agent.shutdown(Duration::from_secs(5)).await;
        for (name, shown, escaped) in [
            ("log", &logged, r"SUB-1\u200b\u202e"),
            ("/status", &status, r"SUB-1\u200b\u202e"),
            ("page", &page, r"SUB-1\u{200b}\u{202e}"),
        ] {
            assert!(shown.contains(escaped), "{format:?} {name}: {shown}");
            assert!(
                !shown.contains('\u{200b}') && !shown.contains('\u{202e}'),
                "{format:?} {name} shows them raw: {shown}"
            );
        }
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$#&-~".contains(c);
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}
