//! The synthetic ISV both benchmarks use: a catalog of three products, and `n` customers with two
//! licenses each as manifest files, covering both customer identity styles (number only, id and
//! number) and both license models (edition-based, explicit features/limitations/variables).

// Each benchmark target compiles this module on its own and uses a different part of it.
#![allow(dead_code)]

pub mod measure;

use std::fmt::Write as _;
use std::path::Path;

use uuid::Uuid;

pub const ISV: Uuid = Uuid::from_u128(0x2af5fe02_6207_4214_946e_b00ac5309f53);
pub const ADMIN_KEY: &str = "bench-admin-key";
/// Customers per manifest file: real repositories split by team or region, and the loader
/// refuses files over 16 MiB, so a big ISV is many files.
pub const CUSTOMERS_PER_FILE: usize = 100;

pub const CATALOG: &str = r#"customer_types: [Enterprise, SMB, Reseller]
license_types: [Commercial, Trial, NFR]
products:
  - name: Argus
    features: [Export, Import, Reporting, Audit]
    limitations: [Users, Projects]
    variables: [Region]
    editions:
      - name: Professional
        token_limit: 10
        license_type: Commercial
        expires: never
        features: { Export: true, Import: true, Reporting: false, Audit: false }
        limitations: { Users: 25, Projects: 100 }
        variables: { Region: EU }
      - name: Enterprise
        token_limit: 50
        floating_token_limit: 10
        license_type: Commercial
        expires: never
        features: { Export: true, Import: true, Reporting: true, Audit: true }
        limitations: { Users: 500, Projects: 1000 }
        variables: { Region: EU }
      - name: Trial
        token_limit: 1
        license_type: Trial
        expires: { days_after_activation: 30 }
        features: { Export: false, Import: true, Reporting: false, Audit: false }
        limitations: { Users: 3, Projects: 5 }
        variables: { Region: EU }
  - name: Borealis
    features: [Sync, Backup]
    limitations: [Seats]
    variables: []
    editions:
      - name: Basic
        token_limit: 1
        features: { Sync: false, Backup: true }
        limitations: { Seats: 5 }
      - name: Plus
        token_limit: 5
        license_type: Commercial
        features: { Sync: true, Backup: true }
        limitations: { Seats: 50 }
  - name: Cygnus
    features: [Api, Sso]
    limitations: [Calls]
    variables: [Tier, Region]
    editions:
      - name: Standard
        token_limit: 3
        license_type: Commercial
        expires: never
        features: { Api: true, Sso: false }
        limitations: { Calls: 10000 }
        variables: { Tier: silver, Region: EU }
"#;

const CUSTOMER_TYPES: [&str; 3] = ["Enterprise", "SMB", "Reseller"];
const COUNTRIES: [&str; 4] = ["Germany", "Austria", "Switzerland", "France"];
const ARGUS_EDITIONS: [&str; 3] = ["Professional", "Enterprise", "Trial"];

/// The customer number of customer `i`.
pub fn customer_number(i: usize) -> String {
    format!("C{i:07}")
}

/// Every fourth customer is identified by id (and written through `/customers`); the others by
/// number only (written through `/data_exchange/customers`).
pub fn customer_id(i: usize) -> Option<Uuid> {
    i.is_multiple_of(4)
        .then(|| Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 | i as u128))
}

fn write_customer(text: &mut String, i: usize) {
    let number = customer_number(i);
    let _ = writeln!(text, "  - customer_number: {number}");
    if let Some(id) = customer_id(i) {
        let _ = writeln!(text, "    id: {id}");
    }
    let _ = write!(
        text,
        "    company_name: \"Customer {i} GmbH\"\n    customer_type: {}\n    country: {}\n    city: City {}\n    email: it@{}.example\n    licenses:\n",
        CUSTOMER_TYPES[i % 3],
        COUNTRIES[i % 4],
        i % 97,
        number.to_lowercase(),
    );
    // Edition-based: the edition gives features, limitations and variables.
    let _ = write!(
        text,
        "      - legacy_license_key: ARG-{i:07}\n        product: Argus\n        edition: {}\n        token_limit: {}\n",
        ARGUS_EDITIONS[i % 3],
        5 + i % 20,
    );
    match i % 3 {
        0 => {
            let _ = write!(
                text,
                "      - legacy_license_key: BOR-{i:07}\n        product: Borealis\n        edition: {}\n        token_limit: {}\n        expires: 2027-12-31\n",
                if i.is_multiple_of(2) { "Basic" } else { "Plus" },
                1 + i % 9,
            );
        }
        1 => {
            // Explicit: every entry written out, overriding the edition.
            let _ = write!(
                text,
                "      - legacy_license_key: CYG-{i:07}\n        product: Cygnus\n        edition: Standard\n        license_type: Commercial\n        token_limit: {}\n        features: {{ Api: true, Sso: {} }}\n        limitations: {{ Calls: {} }}\n        variables: {{ Tier: {}, Region: EU }}\n",
                2 + i % 5,
                i.is_multiple_of(2),
                1000 * (1 + i % 10),
                if i.is_multiple_of(5) {
                    "gold"
                } else {
                    "silver"
                },
            );
        }
        _ => {
            let _ = write!(
                text,
                "      - legacy_license_key: ARX-{i:07}\n        product: Argus\n        edition: Professional\n        token_limit: {}\n        expires: never\n        features: {{ Reporting: true }}\n        limitations: {{ Users: {} }}\n",
                10 + i % 30,
                10 + i % 50,
            );
        }
    }
}

/// The manifest files of `n` customers: (path relative to the project, text).
pub fn manifest_files(n: usize) -> Vec<(String, String)> {
    (0..n.div_ceil(CUSTOMERS_PER_FILE))
        .map(|chunk| {
            let mut text = String::from("customers:\n");
            let end = ((chunk + 1) * CUSTOMERS_PER_FILE).min(n);
            for i in chunk * CUSTOMERS_PER_FILE..end {
                write_customer(&mut text, i);
            }
            (format!("customers/part-{chunk:05}.yaml"), text)
        })
        .collect()
}

/// Writes a project (slascone.yaml aimed at `api_url`, and the manifests of `n` customers) into
/// `dir`. Returns the number of manifest files.
pub fn write_project(dir: &Path, api_url: &str, n: usize) -> std::io::Result<usize> {
    let project = format!(
        "api_url: {api_url}\nisv_id: {ISV}\nadmin_key_env: SLASCONE_ADMIN_KEY\nsafety: {{ max_changes: {} }}\n",
        3 * n.max(1)
    );
    std::fs::write(dir.join("slascone.yaml"), project)?;
    std::fs::create_dir_all(dir.join("customers"))?;
    let files = manifest_files(n);
    for (path, text) in &files {
        std::fs::write(dir.join(path), text)?;
    }
    Ok(files.len())
}

/// `count` indices spread evenly over `0..len`.
pub fn spread(len: usize, count: usize) -> Vec<usize> {
    let count = count.min(len);
    (0..count).map(|k| k * len / count).collect()
}

/// How many of `len` objects a drift share touches (at least one, when the share is not zero).
pub fn drift_count(len: usize, share: f64) -> usize {
    if share <= 0.0 || len == 0 {
        return 0;
    }
    ((len as f64 * share).round() as usize).clamp(1, len)
}
