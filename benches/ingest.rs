//! The ERP ingest benchmark: the binary's `ingest` of a full ERP export into an existing tree of
//! N customers and 2N licenses, against `validate` of the same tree.
//!
//! ```text
//! cargo bench --bench ingest -- --customers 20000 --changed 0.01
//! ```
//!
//! One run writes the tree (the synthetic ISV of the other benchmarks, 100 customers per file), a
//! mapping and the two CSV exports an ERP would give for it (customers and licenses, with their
//! number, name, type, country, city and email; product, legacy key, edition and token limit).
//! Then it measures, as child processes of their own, `validate`, `ingest` of the export as the
//! tree already holds it (nothing to write), and `ingest` of the export with `--changed` of the
//! customers' cities and of the licenses' token limits changed. Each step runs `--runs` times
//! and its median is reported, with the ratio to `validate`'s median. After every changed run
//! the harness checks that exactly the changed lines were rewritten and nothing else, and puts
//! the tree back for the next run; a run that does not add up fails instead of printing numbers.

// Benchmark reports go to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, ensure};
use clap::Parser;
use common::measure::{MEASURE, Usage, measure_child};

/// Benchmark `ingest` of an ERP export against `validate` of the same tree.
#[derive(Debug, Parser)]
#[command(name = "ingest")]
struct Args {
    /// Customers in the tree and the export (each has two licenses).
    #[arg(long, default_value_t = 20_000)]
    customers: usize,
    /// Share of the customers' cities and of the licenses' token limits the changed export
    /// changes.
    #[arg(long, default_value_t = 0.01)]
    changed: f64,
    /// Measured runs of each step; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Write the tree and the exports into DIR and keep them, for profiling one step by hand
    /// (`perf record`) on the same files.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const MAPPING: &str = "\
customers:
  columns: { customer_number: Number, company_name: Name, customer_type: Type, country: Country,
             city: City, email: Email }
licenses:
  columns: { customer_number: Number, legacy_license_key: Contract, product: Product,
             edition: Edition, token_limit: Tokens }
";

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args_os().skip(1);
    if raw.next().is_some_and(|first| first == MEASURE) {
        return measure_child(raw.collect());
    }
    let args = Args::parse();
    ensure!(args.customers > 0, "--customers must be at least 1");
    ensure!(args.runs > 0, "--runs must be at least 1");
    ensure!(
        (0.0..=1.0).contains(&args.changed),
        "--changed must be 0..1"
    );
    run(&args)
}

/// One license of the synthetic tree, as the export lists it.
struct License {
    customer: usize,
    key: String,
    product: &'static str,
    edition: String,
    tokens: usize,
}

fn run(args: &Args) -> anyhow::Result<()> {
    let temporary = tempfile::tempdir()?;
    let work = args.keep.as_deref().unwrap_or(temporary.path());
    ensure!(
        !work.join("tree").exists(),
        "{} holds a tree already",
        work.display()
    );
    let tree = work.join("tree");
    std::fs::create_dir_all(&tree)?;
    let files = common::write_project(&tree, "http://127.0.0.1:9", args.customers)?;
    let original = read_tree(&tree)?;
    let licenses = licenses_of(&original);
    ensure!(
        licenses.len() == 2 * args.customers,
        "the tree holds {} licenses, not {}",
        licenses.len(),
        2 * args.customers
    );
    let erp = work.join("erp");
    std::fs::create_dir_all(&erp)?;
    std::fs::write(erp.join("mapping.yaml"), MAPPING)?;

    let moved: Vec<usize> = common::spread(
        args.customers,
        common::drift_count(args.customers, args.changed),
    );
    let raised: Vec<usize> = common::spread(
        licenses.len(),
        common::drift_count(licenses.len(), args.changed),
    );
    let same = erp.join("same");
    let changed = erp.join("changed");
    write_exports(&same, args.customers, &licenses, &[], &[])?;
    write_exports(&changed, args.customers, &licenses, &moved, &raised)?;
    let bytes = std::fs::metadata(same.join("customers.csv"))?.len()
        + std::fs::metadata(same.join("licenses.csv"))?.len();
    println!(
        "{} customers, {} licenses in {files} files; exports {:.1} MiB; changed: {} cities, {} \
         token limits",
        args.customers,
        licenses.len(),
        bytes as f64 / (1024.0 * 1024.0),
        moved.len(),
        raised.len()
    );

    let ingest = |exports: &Path| -> Vec<String> {
        let arg = |path: PathBuf| path.to_string_lossy().into_owned();
        vec![
            "ingest".to_owned(),
            "--mapping".to_owned(),
            arg(erp.join("mapping.yaml")),
            "--customers".to_owned(),
            arg(exports.join("customers.csv")),
            "--licenses".to_owned(),
            arg(exports.join("licenses.csv")),
            arg(tree.clone()),
        ]
    };
    let validate = vec!["validate".to_owned(), tree.to_string_lossy().into_owned()];
    // One of each first, unmeasured: the page cache holds the files for every measured run.
    measure(work, &validate)?;
    measure(work, &ingest(&same))?;

    let mut steps: Vec<(&str, Vec<Usage>)> = vec![
        ("validate", Vec::new()),
        ("ingest, as the tree holds it", Vec::new()),
        ("ingest, changed", Vec::new()),
    ];
    for _ in 0..args.runs {
        steps[0].1.push(measure(work, &validate)?);
        steps[1].1.push(measure(work, &ingest(&same))?);
        ensure!(
            read_tree(&tree)? == original,
            "ingest of the export the tree already holds changed the tree"
        );
        steps[2].1.push(measure(work, &ingest(&changed))?);
        let touched = changed_lines(&original, &read_tree(&tree)?);
        let expected = moved.len() + raised.len();
        ensure!(
            touched.len() == expected,
            "ingest of the changed export touched {} lines, not the {expected} changed ones: {:?}",
            touched.len(),
            touched.iter().take(5).collect::<Vec<_>>()
        );
        ensure!(
            touched.iter().all(|(before, after)| {
                (before.starts_with("    city: ") && after.starts_with("    city: "))
                    || (before.starts_with("        token_limit: ")
                        && after.starts_with("        token_limit: "))
            }),
            "ingest of the changed export touched other lines than cities and token limits"
        );
        for (path, text) in &original {
            std::fs::write(tree.join(path), text)?;
        }
    }

    let floor = median(&steps[0].1, |u| u.wall_s);
    println!();
    println!(
        "{:<30} {:>9} {:>9} {:>9} {:>10}",
        "step (median)", "wall", "CPU", "peak RSS", "wall/val."
    );
    for (name, runs) in &steps {
        let wall = median(runs, |u| u.wall_s);
        println!(
            "{name:<30} {:>8.3}s {:>8.3}s {:>6} MiB {:>9.2}x",
            wall,
            median(runs, |u| u.cpu_user_s + u.cpu_sys_s),
            median(runs, |u| u.max_rss_kib as f64) as u64 / 1024,
            wall / floor
        );
    }
    Ok(())
}

fn median(runs: &[Usage], of: impl Fn(&Usage) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(of).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs `slascone-sync ARGS` as the only child of a measuring copy of this program.
fn measure(work: &Path, args: &[String]) -> anyhow::Result<Usage> {
    let usage_file = work.join("usage.json");
    let stderr_file = work.join("stderr.txt");
    let status = Command::new(std::env::current_exe()?)
        .arg(MEASURE)
        .arg(&usage_file)
        .arg(env!("CARGO_BIN_EXE_slascone-sync"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_file)?)
        .status()?;
    let usage: Usage = serde_json::from_slice(&std::fs::read(&usage_file)?)
        .with_context(|| format!("measuring `{}`", args.join(" ")))?;
    ensure!(
        status.success() && usage.exit_code == 0,
        "`slascone-sync {}` exited {}: {}",
        args[0],
        usage.exit_code,
        std::fs::read_to_string(&stderr_file).unwrap_or_default()
    );
    Ok(usage)
}

/// The manifest files of the tree, path → text, sorted.
fn read_tree(tree: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(tree.join("customers"))? {
        let path = entry?.path();
        let name = format!(
            "customers/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        files.push((name, std::fs::read_to_string(&path)?));
    }
    files.sort();
    Ok(files)
}

/// The licenses of the tree in the order its files list them, read from the lines the common
/// generator writes (every license starts with its legacy key, then product, edition and token
/// limit).
fn licenses_of(tree: &[(String, String)]) -> Vec<License> {
    let mut licenses = Vec::new();
    let mut customer = 0;
    for (_, text) in tree {
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if let Some(number) = line.strip_prefix("  - customer_number: C") {
                customer = number.parse().unwrap_or(0);
            }
            let Some(key) = line.strip_prefix("      - legacy_license_key: ") else {
                continue;
            };
            let mut field = |name: &str| {
                lines
                    .next()
                    .and_then(|line| line.trim().strip_prefix(name).map(str::to_owned))
                    .unwrap_or_default()
            };
            let product = match field("product: ").as_str() {
                "Argus" => "Argus",
                "Borealis" => "Borealis",
                _ => "Cygnus",
            };
            let edition = field("edition: ");
            // An explicit license writes its type before the token limit.
            let mut tokens = field("token_limit: ");
            if tokens.is_empty() {
                tokens = field("token_limit: ");
            }
            licenses.push(License {
                customer,
                key: key.to_owned(),
                product,
                edition,
                tokens: tokens.parse().unwrap_or(0),
            });
        }
    }
    licenses
}

/// The two exports in `dir`: every customer and license as the tree holds it, except the cities
/// of the customers at `moved` and the token limits of the licenses at `raised`.
fn write_exports(
    dir: &Path,
    customers: usize,
    licenses: &[License],
    moved: &[usize],
    raised: &[usize],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    const TYPES: [&str; 3] = ["Enterprise", "SMB", "Reseller"];
    const COUNTRIES: [&str; 4] = ["Germany", "Austria", "Switzerland", "France"];
    let mut text = String::from("Number,Name,Type,Country,City,Email\r\n");
    let mut moved = moved.iter().peekable();
    for i in 0..customers {
        let number = common::customer_number(i);
        let city = if moved.next_if_eq(&&i).is_some() {
            format!("Moved {i}")
        } else {
            format!("City {}", i % 97)
        };
        let _ = write!(
            text,
            "{number},Customer {i} GmbH,{},{},{city},it@{}.example\r\n",
            TYPES[i % 3],
            COUNTRIES[i % 4],
            number.to_lowercase()
        );
    }
    std::fs::write(dir.join("customers.csv"), &text)?;
    let mut text = String::from("Number,Contract,Product,Edition,Tokens\r\n");
    let mut raised = raised.iter().peekable();
    for (k, license) in licenses.iter().enumerate() {
        let tokens = license.tokens + usize::from(raised.next_if_eq(&&k).is_some()) * 1000;
        let _ = write!(
            text,
            "{},{},{},{},{tokens}\r\n",
            common::customer_number(license.customer),
            license.key,
            license.product,
            license.edition
        );
    }
    std::fs::write(dir.join("licenses.csv"), &text)?;
    Ok(())
}

/// The lines that differ between two versions of the tree, as (before, after); the trees have
/// the same files and, here, the same number of lines in each.
fn changed_lines(before: &[(String, String)], after: &[(String, String)]) -> Vec<(String, String)> {
    let mut changed = Vec::new();
    for ((path, old), (new_path, new)) in before.iter().zip(after) {
        if path != new_path || old.lines().count() != new.lines().count() {
            changed.push((path.clone(), new_path.clone()));
            continue;
        }
        for (a, b) in old.lines().zip(new.lines()) {
            if a != b {
                changed.push((a.to_owned(), b.to_owned()));
            }
        }
    }
    changed
}
