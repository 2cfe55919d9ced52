//! The end-to-end benchmark of issue 7: the release binary's `plan` and `apply` against a sandbox
//! holding a synthetic ISV, next to a blind-upsert baseline and the request lower bound.
//!
//! ```text
//! cargo bench --bench e2e -- --customers 10000 --latency-ms 20 --drift 0.01 --parallelism 8
//! ```
//!
//! One run: writes the manifests of N customers (2N licenses) into a temporary directory; starts
//! a sandbox in this process with the given latency; seeds it with one `apply` of the binary;
//! drifts a share of customers and licenses through the API client; then measures `plan`, `apply`
//! and a second `plan` of the binary (child processes, so their CPU time and peak memory can be
//! read), and a blind upsert through the library's client (one PATCH per object, what a
//! hand-written ERP sync does). Requests are counted from the sandbox's request log.

// Test and benchmark reports go to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use common::measure::{MEASURE, Usage, measure_child};

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slascone_sync::remote::wire::ServerStamped;
use slascone_sync::remote::wire::{CustomerDto, DataExchangeUpdateCustomerDto, LicenseDto};
use slascone_sync::remote::{AdminKey, Client, ClientConfig};
use slascone_sync::sandbox::{self, SandboxConfig, SandboxHandle};

/// The hidden first argument that turns this program into the parse floor (see [`floor`]).
const FLOOR: &str = "__floor";

/// Benchmark plan and apply of slascone-sync against a blind-upsert baseline.
#[derive(Debug, Parser)]
#[command(name = "e2e")]
struct Args {
    /// Customers in the synthetic ISV (each has two licenses).
    #[arg(long, default_value_t = 10_000)]
    customers: usize,
    /// Latency the sandbox adds to every request, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Share of customers and of licenses changed in SLASCONE before plan and apply.
    #[arg(long, default_value_t = 0.01)]
    drift: f64,
    /// Requests in flight, for slascone-sync and the baseline alike.
    #[arg(long, default_value_t = 8)]
    parallelism: u16,
    /// Page size of the license listing.
    #[arg(long, default_value_t = 500)]
    page_size: u32,
    /// Requests in flight while seeding the sandbox (not measured).
    #[arg(long, default_value_t = 64)]
    seed_parallelism: u16,
    /// Skip the blind-upsert baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Run the sandbox with a state file (`--state`) in the temporary directory, so every write
    /// is journalled and synced before it is answered.
    #[arg(long)]
    state: bool,
    /// Print what the binary reported on stderr for each step (its phases and their times).
    #[arg(long)]
    progress: bool,
    /// After seeding and drifting, print the sandbox's address and the project directory and
    /// wait for Ctrl-C instead of measuring: for profiling one step by hand (`perf record`,
    /// `valgrind`) against the same state.
    #[arg(long)]
    hold: bool,
    /// Also write the results as JSON to this file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args_os().skip(1);
    match raw.next() {
        Some(first) if first == MEASURE => return measure_child(raw.collect()),
        Some(first) if first == FLOOR => return floor(raw.collect()),
        _ => {}
    }
    let args = Args::parse();
    ensure!((0.0..=1.0).contains(&args.drift), "--drift must be 0..1");
    ensure!(args.customers > 0, "--customers must be at least 1");
    tokio::runtime::Runtime::new()?.block_on(run(args))
}

// ---- measuring one child process -----------------------------------------------------------

/// A finished run of the binary: its usage, stdout and stderr.
struct Ran {
    usage: Usage,
    stdout: String,
    stderr: String,
}

/// With `--progress`, the binary's stderr for one step.
fn show_progress(show: bool, step: &str, ran: &Ran) {
    if show {
        println!("{step}:");
        for line in ran.stderr.lines() {
            println!("  {line}");
        }
    }
}

/// Runs `slascone-sync ARGS` through the measuring parent, off the async runtime.
async fn run_binary(work: &Path, args: Vec<String>, keep_stdout: bool) -> anyhow::Result<Ran> {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_slascone-sync"));
    run_measured(work, program, args, keep_stdout).await
}

/// Runs `PROGRAM ARGS` through the measuring parent, off the async runtime.
async fn run_measured(
    work: &Path,
    program: PathBuf,
    args: Vec<String>,
    keep_stdout: bool,
) -> anyhow::Result<Ran> {
    let work = work.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Ran> {
        let usage_file = work.join("usage.json");
        let stdout_file = work.join("stdout.txt");
        let stderr_file = work.join("stderr.txt");
        let stdout = if keep_stdout {
            Stdio::from(std::fs::File::create(&stdout_file)?)
        } else {
            Stdio::null()
        };
        let status = Command::new(std::env::current_exe()?)
            .arg(MEASURE)
            .arg(&usage_file)
            .arg(&program)
            .args(&args)
            .env("SLASCONE_ADMIN_KEY", common::ADMIN_KEY)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(std::fs::File::create(&stderr_file)?)
            .status()?;
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        ensure!(
            status.success(),
            "measuring `{}` failed: {stderr}",
            args.join(" ")
        );
        let usage: Usage = serde_json::from_slice(&std::fs::read(&usage_file)?)?;
        let stdout = if keep_stdout {
            std::fs::read_to_string(&stdout_file)?
        } else {
            String::new()
        };
        Ok(Ran {
            usage,
            stdout,
            stderr,
        })
    })
    .await?
}

// ---- the parse floor -----------------------------------------------------------------------

/// `__floor PROJECT BASE_URL PAGE_SIZE PARALLELISM`: what a plan cannot do with less, as a
/// process of its own: reads every manifest file of PROJECT and parses it into plain serde
/// values (serde-saphyr into `serde_json::Value`, on all cores, as `plan` loads), then reads the
/// bodies a plan reads from the sandbox (the customers, and every page of every product's
/// licenses, `PARALLELISM` in flight) and parses each into a `serde_json::Value`. No model, no
/// names resolved, no diff.
fn floor(args: Vec<OsString>) -> anyhow::Result<()> {
    let [project, base_url, page_size, parallelism] = args.as_slice() else {
        bail!("usage: {FLOOR} PROJECT BASE_URL PAGE_SIZE PARALLELISM");
    };
    let text = |arg: &OsString| arg.to_string_lossy().into_owned();
    let page_size: i64 = text(page_size).parse()?;
    let parallelism: usize = text(parallelism).parse()?;
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::from(project)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                files.push(path);
            }
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let nodes: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<usize> {
                    let mut parsed = 0;
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(index) else {
                            return Ok(parsed);
                        };
                        let text = std::fs::read_to_string(file)?;
                        let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
                            .with_context(|| file.display().to_string())?;
                        parsed += documents.len();
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a floor worker"))
            .sum::<anyhow::Result<usize>>()
    })?;
    ensure!(
        nodes == files.len(),
        "parsed {nodes} documents of {} files",
        files.len()
    );
    tokio::runtime::Runtime::new()?.block_on(floor_bodies(&text(base_url), page_size, parallelism))
}

async fn floor_bodies(base_url: &str, page_size: i64, parallelism: usize) -> anyhow::Result<()> {
    let api = format!("{base_url}/api/v2/isv/{}", common::ISV);
    let http = reqwest::Client::new();
    let get =
        |path: &str, body: Option<Value>| fetch_value(http.clone(), format!("{api}{path}"), body);
    let products = get("/products", None).await?;
    let mut reads: Vec<(&str, Option<Value>)> = vec![("/customers", None)];
    for product in products.as_array().into_iter().flatten() {
        let id = product["id"].clone();
        let count = get(
            "/licenses/filtered",
            Some(json!({ "page_size": 1, "product_filter": id })),
        )
        .await?;
        let licenses = count["max_count"].as_i64().unwrap_or(0);
        for page in 0..(licenses + page_size - 1) / page_size {
            let filter = json!({ "page_size": page_size, "page": page, "product_filter": id });
            reads.push(("/licenses/filtered/detailed", Some(filter)));
        }
    }
    let queue = Arc::new(Mutex::new(reads));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallelism.max(1) {
        let queue = Arc::clone(&queue);
        let (http, api) = (http.clone(), api.clone());
        workers.spawn(async move {
            loop {
                let read = queue.lock().expect("the queue lock").pop();
                let Some((path, body)) = read else {
                    return anyhow::Ok(());
                };
                fetch_value(http.clone(), format!("{api}{path}"), body).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(())
}

/// One answer of the sandbox, parsed into a plain value.
async fn fetch_value(
    http: reqwest::Client,
    url: String,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let request = match body {
        Some(body) => http.post(&url).json(&body),
        None => http.get(&url),
    };
    let bytes = request
        .header("AdminKey", common::ADMIN_KEY)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(serde_json::from_slice(&bytes)?)
}

// ---- the sandbox's request log -------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Logged {
    method: String,
    path: String,
}

/// What the sandbox was asked since its log was cleared.
#[derive(Debug, Clone, Copy)]
struct Counted {
    requests: usize,
    /// POSTs and PATCHes other than the listing POSTs.
    writes: usize,
    /// Reads of what is in use behind a lowered limit: `GET /licenses/{id}/assignments`, and
    /// the light listings (`POST /licenses/filtered`) beyond the one count per product.
    usage_reads: usize,
}

/// Counts the sandbox's log and clears it.
async fn take_log(sandbox: &SandboxHandle, products: usize) -> anyhow::Result<Counted> {
    let url = format!("{}/_sandbox/requests", sandbox.base_url());
    let http = reqwest::Client::new();
    let log: Vec<Logged> = http.get(&url).send().await?.json().await?;
    http.delete(&url).send().await?.error_for_status()?;
    let writes = log
        .iter()
        .filter(|r| r.method == "PATCH" || (r.method == "POST" && !r.path.contains("/filtered")))
        .count();
    let assignments = log
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/assignments"))
        .count();
    let light = log
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/licenses/filtered"))
        .count();
    Ok(Counted {
        requests: log.len(),
        writes,
        usage_reads: assignments + light.saturating_sub(products),
    })
}

// ---- the run -------------------------------------------------------------------------------

/// One measured step, as the table shows it.
#[derive(Debug, Clone, Serialize)]
struct Step {
    name: String,
    requests: usize,
    writes: usize,
    /// Of `requests`, the reads of what is in use behind lowered limits.
    usage_reads: usize,
    /// The fewest requests that can do this step's work, usage reads included.
    lower_bound: Option<usize>,
    changes: Option<usize>,
    wall_s: f64,
    /// The part of the wall time spent reading SLASCONE, as the binary reports it.
    read_s: Option<f64>,
    cpu_s: Option<f64>,
    max_rss_mib: Option<f64>,
}

impl Step {
    fn of_binary(name: &str, ran: &Ran, counted: Counted) -> Step {
        let usage = &ran.usage;
        Step {
            name: name.to_owned(),
            requests: counted.requests,
            writes: counted.writes,
            usage_reads: counted.usage_reads,
            lower_bound: None,
            changes: None,
            wall_s: usage.wall_s,
            read_s: read_time(&ran.stderr),
            cpu_s: Some(usage.cpu_user_s + usage.cpu_sys_s),
            max_rss_mib: Some(usage.max_rss_kib as f64 / 1024.0),
        }
    }
}

struct Snapshot {
    customers: Vec<CustomerDto>,
    licenses: Vec<LicenseDto>,
    /// (product name, licenses of it).
    per_product: Vec<(String, usize)>,
}

fn client(sandbox: &SandboxHandle, page_size: u32) -> anyhow::Result<Client> {
    let mut config = ClientConfig::new(
        sandbox.base_url(),
        common::ISV,
        AdminKey::new(common::ADMIN_KEY),
    );
    config.page_size = i64::from(page_size);
    Client::new(config).map_err(anyhow::Error::msg)
}

async fn snapshot(client: &Client) -> anyhow::Result<Snapshot> {
    let mut customers = client.list_customers().await?;
    customers.sort_by(|a, b| a.customer_number.cmp(&b.customer_number));
    let mut licenses = Vec::new();
    let mut per_product = Vec::new();
    for product in client.products().await? {
        let mut of_product = client.list_licenses(product.id).await?;
        of_product.sort_by(|a, b| a.legacy_license_key.cmp(&b.legacy_license_key));
        per_product.push((product.name, of_product.len()));
        licenses.extend(of_product);
    }
    Ok(Snapshot {
        customers,
        licenses,
        per_product,
    })
}

/// The fewest requests a plan can read with: the two type lists, the products, the customers,
/// and per product its detail, its editions, a count and the pages of its licenses.
fn read_lower_bound(snapshot: &Snapshot, page_size: u32) -> usize {
    4 + snapshot
        .per_product
        .iter()
        .map(|(_, licenses)| 3 + licenses.div_ceil(page_size as usize))
        .sum::<usize>()
}

/// The usage reads of a plan lowering the token limit of `lowered` licenses that hold no tokens:
/// two pages of assignments each (the empty page 0, and page 1, since a server counting from 1
/// may answer page 0 empty), for at most `warnings.max_usage_reads` licenses. Licenses without
/// tokens never show where the assignments' pages start, and the license listing's pages are no
/// proof of another endpoint's.
fn usage_lower_bound(lowered: usize) -> usize {
    2 * lowered.min(slascone_sync::manifest::DEFAULT_MAX_USAGE_READS)
}

/// One write per job, `parallelism` at a time; the first error stops the rest.
async fn run_writes(client: &Client, jobs: Vec<Write>, parallelism: usize) -> anyhow::Result<()> {
    let queue = Arc::new(Mutex::new(jobs));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..parallelism.max(1) {
        let queue = Arc::clone(&queue);
        let client = client.clone();
        workers.spawn(async move {
            loop {
                let job = queue.lock().expect("the queue lock").pop();
                let Some(job) = job else {
                    return Ok::<(), anyhow::Error>(());
                };
                match job {
                    Write::Customer(customer) => {
                        client.update_customer(&customer).await?;
                    }
                    Write::CustomerByNumber(customer) => {
                        client.update_customer_by_number(&customer).await?;
                    }
                    Write::License(license) => {
                        client.update_license(&license, false).await?;
                    }
                }
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result??;
    }
    Ok(())
}

enum Write {
    Customer(CustomerDto),
    CustomerByNumber(DataExchangeUpdateCustomerDto),
    License(LicenseDto),
}

/// Changes a managed field of `share` of the customers (company name) and of the licenses
/// (token limit), as someone editing in the SLASCONE portal would.
fn drift_writes(snapshot: &Snapshot, share: f64) -> (Vec<Write>, usize, usize) {
    let customers = common::spread(
        snapshot.customers.len(),
        common::drift_count(snapshot.customers.len(), share),
    );
    let licenses = common::spread(
        snapshot.licenses.len(),
        common::drift_count(snapshot.licenses.len(), share),
    );
    let mut writes = Vec::new();
    for &i in &customers {
        let mut customer = snapshot.customers[i].clone();
        customer.clear_server_fields();
        customer.company_name = Some(format!(
            "{} (edited)",
            customer.company_name.unwrap_or_default()
        ));
        writes.push(Write::Customer(customer));
    }
    for &i in &licenses {
        let mut license = snapshot.licenses[i].clone();
        license.clear_server_fields();
        license.token_limit += 1;
        writes.push(Write::License(license));
    }
    (writes, customers.len(), licenses.len())
}

/// What a hand-written sync sends: every customer and every license, changed or not, each with
/// the values the manifests hold (the state as seeded). Customers the manifests identify by id
/// go through `PATCH /customers`, the others through `PATCH /data_exchange/customers`.
fn baseline_writes(snapshot: &Snapshot) -> (Vec<Write>, Vec<Write>) {
    let customers = snapshot
        .customers
        .iter()
        .map(|customer| {
            let index: Option<usize> = customer
                .customer_number
                .as_deref()
                .and_then(|n| n.strip_prefix('C'))
                .and_then(|n| n.parse().ok());
            if index.and_then(common::customer_id) == Some(customer.id) {
                let mut customer = customer.clone();
                customer.clear_server_fields();
                Write::Customer(customer)
            } else {
                Write::CustomerByNumber(DataExchangeUpdateCustomerDto {
                    customer_number: customer.customer_number.clone().unwrap_or_default(),
                    customer_name: customer.company_name.clone(),
                    customer_type: customer
                        .customer_type
                        .as_ref()
                        .and_then(|t| t.customer_type_name.clone()),
                    country: customer.country.clone(),
                    city: customer.city.clone(),
                    email: customer.email.clone(),
                    ..DataExchangeUpdateCustomerDto::default()
                })
            }
        })
        .collect();
    let licenses = snapshot
        .licenses
        .iter()
        .map(|license| {
            let mut license = license.clone();
            license.clear_server_fields();
            Write::License(license)
        })
        .collect();
    (customers, licenses)
}

/// The duration in the binary's progress line `Read N customers and M licenses in R requests
/// (1.2s).`, which is printed with `Duration`'s `Debug` format.
fn read_time(stderr: &str) -> Option<f64> {
    let line = stderr.lines().find(|line| line.starts_with("Read "))?;
    let inner = line.rsplit_once('(')?.1.split_once(')')?.0;
    let split = inner.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = inner.split_at(split);
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "µs" => 1e-6,
        "ns" => 1e-9,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn plan_changes(stdout: &str) -> anyhow::Result<usize> {
    let plan: Value = serde_json::from_str(stdout).context("plan --format json output")?;
    let summary = &plan["summary"];
    Ok(
        (summary["create"].as_u64().unwrap_or(0) + summary["update"].as_u64().unwrap_or(0))
            as usize,
    )
}

async fn run(args: Args) -> anyhow::Result<()> {
    let load_before = load_average();
    let work = tempfile::tempdir()?;
    let project = work.path().join("project");
    std::fs::create_dir_all(&project)?;

    let mut config = SandboxConfig::new(
        common::ISV,
        common::ADMIN_KEY,
        sandbox::Catalog::from_yaml_str(common::CATALOG, "benchmark catalog")?,
    );
    config.latency = Duration::from_millis(args.latency_ms);
    if args.state {
        config.state_file = Some(work.path().join("state.json"));
    }
    let sandbox = sandbox::start(config, ([127, 0, 0, 1], 0).into()).await?;

    let started = Instant::now();
    let files = common::write_project(&project, &sandbox.base_url(), args.customers)?;
    let generate_s = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} customers in {files} manifest files ({generate_s:.1} s); seeding the sandbox...",
        args.customers
    );

    let project_arg = project.to_string_lossy().into_owned();
    let read_flags = |parallelism: u16| {
        vec![
            "--parallelism".to_owned(),
            parallelism.to_string(),
            "--page-size".to_owned(),
            args.page_size.to_string(),
        ]
    };
    let apply_args = |parallelism: u16| {
        let mut all = vec![
            "apply".to_owned(),
            "--auto-approve".to_owned(),
            "--force".to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
        ];
        all.extend(read_flags(parallelism));
        all.push(project_arg.clone());
        all
    };
    let plan_args = || {
        let mut all = vec![
            "plan".to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
            "--detailed-exitcode".to_owned(),
        ];
        all.extend(read_flags(args.parallelism));
        all.push(project_arg.clone());
        all
    };

    let seed = run_binary(work.path(), apply_args(args.seed_parallelism), false).await?;
    ensure!(seed.usage.exit_code == 0, "seeding failed: {}", seed.stderr);
    take_log(&sandbox, 0).await?;
    let client = client(&sandbox, args.page_size)?;
    let pristine = snapshot(&client).await?;
    ensure!(
        pristine.customers.len() == args.customers && pristine.licenses.len() == 2 * args.customers,
        "the sandbox holds {} customers and {} licenses after seeding",
        pristine.customers.len(),
        pristine.licenses.len()
    );
    let read_bound = read_lower_bound(&pristine, args.page_size);
    let products = pristine.per_product.len();
    eprintln!(
        "seeded in {:.1} s; drifting {:.2}% of the objects...",
        seed.usage.wall_s,
        args.drift * 100.0
    );

    let (drift, drifted_customers, drifted_licenses) = drift_writes(&pristine, args.drift);
    run_writes(&client, drift, 32).await?;
    let expected_changes = drifted_customers + drifted_licenses;
    // Every drifted license had its token limit raised, so plan and apply lower it back and
    // read the assignments behind it, for at most `warnings.max_usage_reads` of them.
    let usage_bound = usage_lower_bound(drifted_licenses);
    take_log(&sandbox, 0).await?;
    if args.hold {
        eprintln!(
            "holding: the sandbox is at {}; run, for example,\n  SLASCONE_ADMIN_KEY={} {} plan {} --page-size {}\nCtrl-C stops it",
            sandbox.base_url(),
            common::ADMIN_KEY,
            env!("CARGO_BIN_EXE_slascone-sync"),
            project.display(),
            args.page_size,
        );
        tokio::signal::ctrl_c().await?;
        sandbox.shutdown().await;
        return Ok(());
    }

    let mut steps = Vec::new();
    let plan = run_binary(work.path(), plan_args(), true).await?;
    let want_code = if expected_changes > 0 { 2 } else { 0 };
    ensure!(
        plan.usage.exit_code == want_code,
        "plan exited {}: {}",
        plan.usage.exit_code,
        plan.stderr
    );
    let planned = plan_changes(&plan.stdout)?;
    ensure!(
        planned == expected_changes,
        "plan found {planned} changes, {expected_changes} were made"
    );
    show_progress(args.progress, "plan", &plan);
    let mut step = Step::of_binary("plan", &plan, take_log(&sandbox, products).await?);
    step.lower_bound = Some(read_bound + usage_bound);
    step.changes = Some(planned);
    steps.push(step);

    let floor_args = vec![
        FLOOR.to_owned(),
        project_arg.clone(),
        sandbox.base_url(),
        args.page_size.to_string(),
        args.parallelism.to_string(),
    ];
    let floor = run_measured(work.path(), std::env::current_exe()?, floor_args, false).await?;
    let mut step = Step::of_binary("parse floor", &floor, take_log(&sandbox, products).await?);
    step.read_s = None;
    steps.push(step);

    let apply = run_binary(work.path(), apply_args(args.parallelism), true).await?;
    ensure!(
        apply.usage.exit_code == 0,
        "apply exited {}: {}",
        apply.usage.exit_code,
        apply.stderr
    );
    let report: Value = serde_json::from_str(&apply.stdout).context("apply report")?;
    let applied = report["summary"]["updated"].as_u64().unwrap_or(0) as usize
        + report["summary"]["created"].as_u64().unwrap_or(0) as usize;
    ensure!(
        applied == expected_changes,
        "apply reports {applied} changes, expected {expected_changes}: {}",
        report["summary"]
    );
    show_progress(args.progress, "apply", &apply);
    let mut step = Step::of_binary("apply", &apply, take_log(&sandbox, products).await?);
    step.lower_bound = Some(read_bound + usage_bound + expected_changes);
    step.changes = Some(applied);
    steps.push(step);

    let converged = run_binary(work.path(), plan_args(), true).await?;
    ensure!(
        converged.usage.exit_code == 0 && plan_changes(&converged.stdout)? == 0,
        "plan after apply still finds changes: {}",
        converged.stderr
    );
    show_progress(args.progress, "plan, no changes", &converged);
    let mut step = Step::of_binary(
        "plan, no changes",
        &converged,
        take_log(&sandbox, products).await?,
    );
    step.lower_bound = Some(read_bound);
    step.changes = Some(0);
    steps.push(step);

    if !args.no_baseline {
        // The same drift again, so the baseline starts from the state plan and apply did.
        let (drift, _, _) = drift_writes(&pristine, args.drift);
        run_writes(&client, drift, 32).await?;
        take_log(&sandbox, 0).await?;
        let (customers, licenses) = baseline_writes(&pristine);
        let objects = customers.len() + licenses.len();
        eprintln!("baseline: {objects} blind writes...");
        let parallelism = usize::from(args.parallelism);
        let started = Instant::now();
        // Customers first: a sync creating licenses would need their customers to exist.
        run_writes(&client, customers, parallelism).await?;
        run_writes(&client, licenses, parallelism).await?;
        let wall = started.elapsed();
        let Counted {
            requests, writes, ..
        } = take_log(&sandbox, products).await?;
        let check = run_binary(work.path(), plan_args(), true).await?;
        ensure!(
            check.usage.exit_code == 0,
            "the baseline did not converge: {}",
            check.stderr
        );
        take_log(&sandbox, 0).await?;
        steps.push(Step {
            name: "baseline (blind upsert)".into(),
            requests,
            writes,
            usage_reads: 0,
            lower_bound: None,
            changes: Some(objects),
            wall_s: wall.as_secs_f64(),
            read_s: None,
            cpu_s: None,
            max_rss_mib: None,
        });
    }
    sandbox.shutdown().await;
    let load_after = load_average();

    let report = Report {
        customers: args.customers,
        licenses: pristine.licenses.len(),
        per_product: pristine.per_product.clone(),
        manifest_files: files,
        latency_ms: args.latency_ms,
        drift: args.drift,
        drifted_customers,
        drifted_licenses,
        parallelism: args.parallelism,
        page_size: args.page_size,
        state_file: args.state,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        load_before,
        load_after,
        seed_s: seed.usage.wall_s,
        steps,
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report.to_json())?;
        if path.as_os_str() == "-" {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n")?;
        }
    }
    Ok(())
}

// ---- the report ----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Report {
    customers: usize,
    licenses: usize,
    per_product: Vec<(String, usize)>,
    manifest_files: usize,
    latency_ms: u64,
    drift: f64,
    drifted_customers: usize,
    drifted_licenses: usize,
    parallelism: u16,
    page_size: u32,
    /// The sandbox kept a state file (`--state`).
    state_file: bool,
    cores: usize,
    load_before: String,
    load_after: String,
    seed_s: f64,
    steps: Vec<Step>,
}

impl Report {
    fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// (requests, wall time) of the baseline divided by those of apply.
    fn ratios(&self) -> Option<(f64, f64)> {
        let apply = self.step("apply")?;
        let baseline = self.step("baseline (blind upsert)")?;
        Some((
            baseline.requests as f64 / apply.requests.max(1) as f64,
            baseline.wall_s / apply.wall_s,
        ))
    }

    fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some((requests, wall)) = self.ratios() {
            value["baseline_over_apply"] = json!({ "requests": requests, "wall_time": wall });
        }
        if let (Some(floor), Some(plan)) = (self.step("parse floor"), self.step("plan")) {
            value["plan_over_parse_floor"] = json!(plan.wall_s / floor.wall_s);
        }
        value
    }

    fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let products: Vec<String> = self
            .per_product
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "\n{} customers, {} licenses ({}), {} manifest files",
            self.customers,
            self.licenses,
            products.join(", "),
            self.manifest_files
        );
        let _ = writeln!(
            out,
            "drift {}% ({} customers, {} licenses), latency {} ms, parallelism {}, page size {}{}",
            self.drift * 100.0,
            self.drifted_customers,
            self.drifted_licenses,
            self.latency_ms,
            self.parallelism,
            self.page_size,
            if self.state_file { ", state file" } else { "" }
        );
        let _ = writeln!(
            out,
            "{} cores, load average {} before, {} after; seeding took {:.1} s\n",
            self.cores, self.load_before, self.load_after, self.seed_s
        );
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:>9} {:>6} {:>8} {:>8} {:>10} {:>9} {:>9} {:>10}",
            "step",
            "changes",
            "requests",
            "usage",
            "bound",
            "writes",
            "wall",
            "reading",
            "CPU",
            "peak RSS"
        );
        for step in &self.steps {
            let opt = |v: Option<usize>| v.map_or("-".to_owned(), |v| v.to_string());
            let _ = writeln!(
                out,
                "{:<24} {:>8} {:>9} {:>6} {:>8} {:>8} {:>8.2} s {:>9} {:>9} {:>10}",
                step.name,
                opt(step.changes),
                step.requests,
                step.usage_reads,
                opt(step.lower_bound),
                step.writes,
                step.wall_s,
                step.read_s.map_or("-".to_owned(), |r| format!("{r:.2} s")),
                step.cpu_s.map_or("-".to_owned(), |c| format!("{c:.2} s")),
                step.max_rss_mib
                    .map_or("-".to_owned(), |m| format!("{m:.0} MiB")),
            );
        }
        if let Some((requests, wall)) = self.ratios() {
            let _ = writeln!(
                out,
                "\nbaseline / apply: {requests:.1}x the requests, {wall:.1}x the wall time"
            );
        }
        if let Some(floor) = self.step("parse floor") {
            let _ = writeln!(out);
            for name in ["plan", "plan, no changes"] {
                if let Some(step) = self.step(name) {
                    let _ = writeln!(
                        out,
                        "{name} / parse floor: {:.2}x the wall time",
                        step.wall_s / floor.wall_s
                    );
                }
            }
        }
        for step in &self.steps {
            if let Some(bound) = step.lower_bound {
                let verdict = if step.requests == bound {
                    "at the lower bound"
                } else {
                    "ABOVE the lower bound"
                };
                let _ = writeln!(
                    out,
                    "{}: {} requests, {verdict} ({bound})",
                    step.name, step.requests
                );
            }
        }
        out
    }
}
