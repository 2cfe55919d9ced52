//! What one write costs a sandbox with a state file (`--state`), at 1,000 and at 100,000 objects:
//! a `PATCH /data_exchange/customers` over loopback, answered only once its journal line is
//! synced. And what rewriting the whole file as a snapshot costs at each size: what every write
//! cost before the journal, and what a compaction costs now (once per snapshot's worth of
//! journal). `cargo bench --bench state`.

// Test and benchmark reports go to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use serde_json::{Value, json};
use slascone_sync::sandbox::{self, SandboxConfig, SandboxHandle};
use uuid::Uuid;

/// Objects in the state: a third customers, two thirds licenses (two per customer, as in `e2e`).
const SIZES: [usize; 2] = [1_000, 100_000];

fn config(state: &Path) -> SandboxConfig {
    let catalog = sandbox::Catalog::from_yaml_str(common::CATALOG, "benchmark catalog")
        .expect("the benchmark catalog parses");
    let mut config = SandboxConfig::new(common::ISV, common::ADMIN_KEY, catalog);
    config.state_file = Some(state.to_owned());
    config
}

fn api(handle: &SandboxHandle, path: &str) -> String {
    format!("{}/api/v2/isv/{}/{path}", handle.base_url(), common::ISV)
}

/// A snapshot of `objects` objects with the catalog's real ids, written as the state file, so a
/// big state need not be created through the API first.
async fn seed(state: &Path, objects: usize) {
    let empty = tempfile::tempdir().expect("a temporary directory");
    let handle = sandbox::start(config(&empty.path().join("s")), ([127, 0, 0, 1], 0).into())
        .await
        .expect("the sandbox starts");
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client.get(path).header("AdminKey", common::ADMIN_KEY);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let smb = get(api(&handle, "customers/types")).await[1].clone();
    let product = get(api(&handle, "products")).await[0]["id"].clone();
    let product_id = product.as_str().unwrap().to_owned();
    let template =
        get(api(&handle, &format!("templates?product_id={product_id}"))).await[0]["id"].clone();
    handle.shutdown().await;

    let customers = objects / 3;
    let mut rows = Vec::with_capacity(customers);
    let mut licenses = Vec::with_capacity(objects - customers);
    for i in 0..customers {
        let id = Uuid::new_v5(&Uuid::nil(), format!("C{i}").as_bytes());
        rows.push(json!({
            "id": id, "customer_number": format!("C{i:06}"),
            "company_name": format!("Customer {i} GmbH"), "customer_type": smb,
            "country": "Germany", "city": "Berlin", "street": format!("Street {i}"),
            "email": format!("it@customer{i}.example"),
            "created_date_utc": "2026-01-01T00:00:00.000Z",
            "modified_date_utc": "2026-01-01T00:00:00.000Z", "last_modified_by": "seed",
        }));
        for n in 0..2 {
            if licenses.len() < objects - customers {
                licenses.push(json!({
                    "id": Uuid::new_v5(&id, &[n]), "customer_id": id, "product_id": product,
                    "template_id": template, "legacy_license_key": format!("K-{i}-{n}"),
                    "token_limit": 10, "expiration_mode": 1, "is_active": true,
                    "license_features": [], "license_limitations": [], "license_variables": [],
                    "license_constrained_variables": [],
                }));
            }
        }
    }
    let mut bytes =
        serde_json::to_vec(&json!({"customers": rows, "licenses": licenses})).expect("JSON");
    bytes.push(b'\n');
    std::fs::write(state, bytes).expect("the state file is written");
}

fn writes(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let mut group = c.benchmark_group("state");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for objects in SIZES {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let state = dir.path().join("state.json");
        runtime.block_on(seed(&state, objects));
        let size = std::fs::metadata(&state).expect("the state file").len();
        eprintln!("state of {objects} objects: {size} bytes");
        let handle = runtime
            .block_on(sandbox::start(config(&state), ([127, 0, 0, 1], 0).into()))
            .expect("the sandbox starts");
        let client = reqwest::Client::new();
        let url = api(&handle, "data_exchange/customers");
        let customers = objects / 3;
        let mut n = 0usize;
        group.bench_function(BenchmarkId::new("write", objects), |b| {
            b.iter(|| {
                n += 1;
                let body = json!({
                    "customer_number": format!("C{:06}", (n * 7919) % customers),
                    "city": format!("City {n}"),
                });
                let request = client
                    .patch(&url)
                    .header("AdminKey", common::ADMIN_KEY)
                    .json(&body);
                runtime.block_on(async move {
                    let response = request.send().await.expect("the write is answered");
                    assert!(response.status().is_success(), "{}", response.status());
                });
            });
        });
        runtime.block_on(handle.shutdown());

        // What a stop does after a write, timed alone: rewrite the whole file as one snapshot.
        // Every write did this before the journal; now a compaction does it once per snapshot's
        // worth of journal.
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function(BenchmarkId::new("compact", objects), |b| {
            b.iter_custom(|iters| {
                let state = state.clone();
                runtime.block_on(async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let handle = sandbox::start(config(&state), ([127, 0, 0, 1], 0).into())
                            .await
                            .expect("the sandbox starts");
                        let response = reqwest::Client::new()
                            .patch(api(&handle, "data_exchange/customers"))
                            .header("AdminKey", common::ADMIN_KEY)
                            .json(&json!({"customer_number": "C000000", "city": "Graz"}))
                            .send()
                            .await
                            .expect("the write is answered");
                        assert!(response.status().is_success());
                        let started = Instant::now();
                        handle.shutdown().await;
                        spent += started.elapsed();
                    }
                    spent
                })
            });
        });
        group.sampling_mode(SamplingMode::Auto);
    }
    group.finish();
}

criterion_group!(benches, writes);
criterion_main!(benches);
