//! The one test harness: an in-process sandbox, a client with fast retries, the request log,
//! project directories, the built binary ([`cli`]) and convergence ([`converge`]).

#![allow(dead_code)]

mod cli;
mod converge;
mod shell;
pub mod xlsx;

pub use cli::{Cli, Ran, bin, cli, code, run, stderr, stdout};
pub use converge::{apply_ok, apply_until_done, assert_converged, assert_no_duplicates};
pub use shell::{commands, commands_of};

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use slascone_sync::remote::{AdminKey, Client, ClientConfig, RetryPolicy};
use slascone_sync::sandbox::{self, Catalog, SandboxConfig, SandboxHandle};
use uuid::Uuid;

pub const ISV: Uuid = Uuid::from_u128(0x2af5fe02_6207_4214_946e_b00ac5309f53);
/// Distinctive, so a test can prove it never shows up in output.
pub const KEY: &str = "sk-test-7f3a9c2e-never-print-me";

pub const CATALOG: &str = r#"
customer_types: [Enterprise, SMB]
license_types: [Commercial, Trial]
products:
  - name: Argus
    features: [Export, Import, Reporting]
    limitations: [Users, Projects]
    variables: [Region]
    editions:
      - name: Professional
        token_limit: 10
        license_type: Commercial
        features: { Export: true, Import: true, Reporting: false }
        limitations: { Users: 25, Projects: 100 }
        variables: { Region: EU }
      - name: Enterprise
        token_limit: 50
        expires: never
        features: { Export: true, Import: true, Reporting: true }
        limitations: { Users: 500, Projects: 1000 }
        variables: { Region: EU }
  - name: Borealis
    features: [Sync]
    limitations: [Seats]
    variables: []
    editions:
      - name: Basic
        token_limit: 1
        features: { Sync: false }
        limitations: { Seats: 5 }
"#;

pub fn catalog() -> Catalog {
    Catalog::from_yaml_str(CATALOG, "test catalog").expect("the test catalog parses")
}

pub fn config() -> SandboxConfig {
    SandboxConfig::new(ISV, KEY, catalog())
}

pub async fn start(config: SandboxConfig) -> SandboxHandle {
    sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("the sandbox starts")
}

pub async fn sandbox() -> SandboxHandle {
    start(config()).await
}

/// A client whose retries are quick enough for tests.
pub fn client(handle: &SandboxHandle) -> Client {
    client_for(&handle.base_url(), KEY)
}

pub fn client_for(base_url: &str, key: &str) -> Client {
    let mut config = ClientConfig::new(base_url, ISV, AdminKey::new(key));
    config.retry = RetryPolicy {
        max_retries: 8,
        max_unreachable_retries: 8,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(2),
    };
    config.request_timeout = Duration::from_secs(10);
    Client::new(config).expect("a loopback client")
}

#[derive(Debug, Clone, Deserialize)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The query string, where the request had one.
    #[serde(default)]
    pub query: Option<String>,
    pub status: u16,
    /// Requests in flight when this one arrived, itself included.
    pub concurrent: usize,
    /// The write was applied and its answer dropped with the connection.
    #[serde(default)]
    pub dropped: bool,
}

pub async fn requests(handle: &SandboxHandle) -> Vec<Logged> {
    reqwest::get(format!("{}/_sandbox/requests", handle.base_url()))
        .await
        .expect("the request log answers")
        .json()
        .await
        .expect("the request log is JSON")
}

pub async fn clear_requests(handle: &SandboxHandle) {
    reqwest::Client::new()
        .delete(format!("{}/_sandbox/requests", handle.base_url()))
        .send()
        .await
        .expect("the request log clears");
}

/// Requests that change something: POST, PATCH and PUT, except the listing POSTs.
pub fn writes(log: &[Logged]) -> Vec<&Logged> {
    log.iter()
        .filter(|r| {
            matches!(r.method.as_str(), "PATCH" | "PUT")
                || (r.method == "POST" && !r.path.contains("/filtered"))
        })
        .collect()
}

pub fn api(path: &str) -> String {
    format!("/api/v2/isv/{ISV}{path}")
}

/// Copies a directory tree (an example) into a fresh temporary directory.
pub fn copy_dir(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_into(from, dir.path());
    dir
}

fn copy_into(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("the directory reads") {
        let entry = entry.expect("an entry");
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            std::fs::create_dir_all(&target).expect("a directory");
            copy_into(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copy");
        }
    }
}

/// A manifest directory pointing at `sandbox`, holding `files`; `extra` is appended to its
/// slascone.yaml.
pub fn project(sandbox: &SandboxHandle, files: &[(&str, &str)], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let project = format!(
        "api_url: {}\nisv_id: {ISV}\nportal_url: https://my.slascone.com\n{extra}",
        sandbox.base_url()
    );
    std::fs::write(dir.path().join("slascone.yaml"), project).unwrap();
    write_files(dir.path(), files);
    dir
}

/// Writes `files` (relative paths and their text) below `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// The values a license holds for the constrained variable `name`.
pub fn constrained_values(
    license: &slascone_sync::remote::wire::LicenseDto,
    name: &str,
) -> Vec<String> {
    license
        .license_constrained_variables
        .iter()
        .flatten()
        .find(|v| v.variable_name.as_deref() == Some(name))
        .and_then(|v| v.values.as_ref())
        .map(|values| values.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

/// The state a sandbox's `--state` file holds, read as docs/sandbox.md describes the format: the
/// snapshot, then each complete record line applied by id (a last line without its newline is a
/// write that was never answered).
pub fn read_state(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the state file exists");
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
    let mut state = stream
        .next()
        .expect("a snapshot")
        .expect("the snapshot is JSON");
    let rest = &text[stream.byte_offset()..];
    let complete = &rest[..rest.rfind('\n').map_or(0, |end| end + 1)];
    for line in complete.lines().filter(|line| !line.trim().is_empty()) {
        let record: serde_json::Value = serde_json::from_str(line).expect("a record is JSON");
        let (kind, object) = record
            .as_object()
            .and_then(|fields| fields.iter().next())
            .expect("a record is one tagged object");
        if kind == "usage" {
            let id = object["license_id"].as_str().unwrap().to_owned();
            let usage = state
                .as_object_mut()
                .unwrap()
                .entry("usage")
                .or_insert_with(|| serde_json::json!({}));
            usage[id] = object.clone();
            continue;
        }
        let list = state
            .as_object_mut()
            .unwrap()
            .entry(format!("{kind}s"))
            .or_insert_with(|| serde_json::json!([]))
            .as_array_mut()
            .unwrap();
        match list.iter_mut().find(|row| row["id"] == object["id"]) {
            Some(row) => *row = object.clone(),
            None => list.push(object.clone()),
        }
    }
    state
}
