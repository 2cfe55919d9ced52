//! Criterion benchmarks of the CPU-bound stages of `plan`: loading the manifests (many files),
//! resolving names against the catalog, and the pure diff, at 10,000 and 100,000 customers (twice
//! as many licenses), to show how each scales. `cargo bench --bench pipeline`.

// Test and benchmark reports go to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use slascone_sync::current::{self, Scope};
use slascone_sync::engine;
use slascone_sync::manifest;
use slascone_sync::model::{CurrentCustomer, CurrentLicense, CurrentState, DesiredState, Fields};
use slascone_sync::plan::{DiffContext, Target, diff};
use slascone_sync::remote::catalog::Catalog;
use slascone_sync::remote::{AdminKey, Client, ClientConfig};
use slascone_sync::resolve;
use slascone_sync::sandbox::{self, SandboxConfig};
use uuid::Uuid;

const SIZES: [usize; 2] = [10_000, 100_000];
/// Share of customers and licenses that differ between desired and current state.
const DRIFT: f64 = 0.01;

/// The catalog as `plan` reads it: from a sandbox serving the benchmark catalog.
fn catalog() -> Catalog {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let catalog = sandbox::Catalog::from_yaml_str(common::CATALOG, "benchmark catalog")
            .expect("the benchmark catalog parses");
        let config = SandboxConfig::new(common::ISV, common::ADMIN_KEY, catalog);
        let handle = sandbox::start(config, ([127, 0, 0, 1], 0).into())
            .await
            .expect("the sandbox starts");
        let client = Client::new(ClientConfig::new(
            handle.base_url(),
            common::ISV,
            AdminKey::new(common::ADMIN_KEY),
        ))
        .expect("a loopback client");
        let products: BTreeSet<String> = ["Argus", "Borealis", "Cygnus"].map(String::from).into();
        let remote = current::fetch(&client, &products, 4, Scope::CatalogOnly)
            .await
            .expect("the catalog reads");
        handle.shutdown().await;
        remote.catalog
    })
}

/// SLASCONE as it would be after applying `desired`, with `DRIFT` of the customers (company
/// name) and licenses (token limit) changed since. Returns the state and the number of changes
/// the diff must find.
fn drifted_current(desired: &DesiredState) -> (CurrentState, usize) {
    let mut ids = HashMap::new();
    let mut customers: Vec<CurrentCustomer> = desired
        .customers
        .iter()
        .enumerate()
        .map(|(i, wanted)| {
            let id = wanted
                .id
                .unwrap_or(Uuid::from_u128(0xc0ffee << 64 | i as u128));
            ids.insert(wanted.key.clone(), id);
            CurrentCustomer {
                id,
                customer_number: wanted.customer_number.clone(),
                fields: wanted.fields.clone(),
                fingerprint: format!("{i:024x}"),
            }
        })
        .collect();
    let mut licenses: Vec<CurrentLicense> = desired
        .licenses
        .iter()
        .enumerate()
        .map(|(i, wanted)| {
            // What SLASCONE holds for a license created from the manifest: its edition's
            // configuration under the fields the manifest writes.
            let mut fields = Fields::clone(&wanted.edition_fields);
            fields.extend(wanted.fields.clone());
            let owner = fields
                .remove("customer")
                .and_then(|owner| owner.as_str().map(str::to_owned))
                .expect("every desired license names its customer");
            CurrentLicense {
                id: wanted
                    .id
                    .unwrap_or(Uuid::from_u128(0x11ce << 64 | i as u128)),
                product: wanted.product.clone(),
                legacy_license_key: wanted.legacy_license_key.clone(),
                customer_id: ids[&owner],
                fields,
                fingerprint: format!("{i:024x}"),
            }
        })
        .collect();
    let drifted_customers = common::drift_count(customers.len(), DRIFT);
    for i in common::spread(customers.len(), drifted_customers) {
        customers[i]
            .fields
            .insert("company_name", json!("edited in the portal"));
    }
    let drifted_licenses = common::drift_count(licenses.len(), DRIFT);
    for i in common::spread(licenses.len(), drifted_licenses) {
        let token_limit = licenses[i]
            .fields
            .get("token_limit")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        licenses[i]
            .fields
            .insert("token_limit", Value::from(token_limit + 1));
    }
    (
        CurrentState {
            customers,
            licenses,
            contacts: Vec::new(),
        },
        drifted_customers + drifted_licenses,
    )
}

fn write_manifests(dir: &Path, customers: usize) {
    common::write_project(dir, "http://127.0.0.1:9", customers).expect("the manifests are written");
}

fn benchmarks(c: &mut Criterion) {
    let catalog = catalog();
    let context = DiffContext {
        target: Target {
            api_url: "http://127.0.0.1:9".into(),
            isv_id: common::ISV,
        },
        portal_url: "https://my.slascone.com".into(),
        ignore_customer: Vec::new(),
        ignore_license: Vec::new(),
        today: Some(jiff::civil::date(2027, 12, 1)),
        expiring_within_days: 30,
    };

    // The engine's stages, as every front end runs them.
    let events = engine::no_events();
    let mut load = c.benchmark_group("load");
    load.sample_size(10).warm_up_time(Duration::from_secs(1));
    let mut dirs = Vec::new();
    for customers in SIZES {
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_manifests(dir.path(), customers);
        // Customers and licenses: the objects a manifest directory describes.
        load.throughput(Throughput::Elements(3 * customers as u64));
        load.bench_with_input(
            BenchmarkId::from_parameter(customers),
            dir.path(),
            |b, dir| {
                b.iter(|| engine::load(black_box(dir), None, &events).expect("the manifests load"))
            },
        );
        dirs.push((customers, dir));
    }
    load.finish();

    let mut resolve_group = c.benchmark_group("resolve");
    resolve_group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1));
    let mut states = Vec::new();
    for (customers, dir) in &dirs {
        let manifests = manifest::load(dir.path(), None).expect("the manifests load");
        assert_eq!(manifests.license_count(), 2 * customers);
        resolve_group.throughput(Throughput::Elements(3 * *customers as u64));
        resolve_group.bench_with_input(
            BenchmarkId::from_parameter(customers),
            &manifests,
            |b, manifests| {
                b.iter(|| resolve::resolve(black_box(manifests), &catalog).expect("names resolve"))
            },
        );
        let desired = resolve::resolve(&manifests, &catalog).expect("names resolve");
        states.push((*customers, desired));
    }
    resolve_group.finish();
    drop(dirs);

    let mut diff_group = c.benchmark_group("diff");
    diff_group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1));
    for (customers, desired) in &states {
        let (current, changes) = drifted_current(desired);
        let plan = diff(desired, &current, &context);
        assert_eq!(plan.change_count(), changes, "the diff finds every drift");
        assert_eq!(plan.summary.unmanaged, 0);
        diff_group.throughput(Throughput::Elements(3 * *customers as u64));
        diff_group.bench_with_input(
            BenchmarkId::from_parameter(customers),
            &current,
            |b, current| b.iter(|| diff(black_box(desired), black_box(current), &context)),
        );
    }
    diff_group.finish();
}

criterion_group!(pipeline, benchmarks);
criterion_main!(pipeline);
