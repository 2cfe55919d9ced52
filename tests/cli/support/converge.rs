//! Convergence: apply until nothing is left, and what "nothing left" means.

use std::collections::HashSet;
use std::path::Path;

use slascone_sync::remote::Client;

use super::cli::Cli;

/// Applies once, which must succeed; its report.
pub async fn apply_ok(dir: &Path) -> String {
    Cli::new(["apply", "--auto-approve"])
        .target(dir)
        .run()
        .await
        .expect(0)
        .stdout()
}

/// Applies until apply reports success, at most `runs` times; faults may leave work for another
/// run (exit 4). Returns the number of runs it took.
pub async fn apply_until_done(dir: &Path, runs: usize) -> usize {
    for run in 1..=runs {
        let apply = Cli::new(["apply", "--auto-approve"])
            .target(dir)
            .run()
            .await;
        match apply.code() {
            0 => return run,
            4 => continue,
            other => panic!(
                "apply exited {other}:\n{}{}",
                apply.stdout(),
                apply.stderr()
            ),
        }
    }
    panic!("apply did not finish in {runs} runs");
}

/// A plan of `dir` finds nothing to do.
pub async fn assert_converged(dir: &Path) {
    let plan = Cli::new(["plan", "--detailed-exitcode"])
        .target(dir)
        .run()
        .await
        .expect(0);
    assert_eq!(plan.stdout(), "No changes.\n");
}

/// SLASCONE holds exactly `customers` customers, no two with one number, and `licenses`
/// licenses, no two with one product and legacy key.
pub async fn assert_no_duplicates(client: &Client, customers: usize, licenses: usize) {
    let all = client.list_customers().await.unwrap();
    let numbers: HashSet<_> = all
        .iter()
        .filter_map(|c| c.customer_number.clone())
        .collect();
    assert_eq!(all.len(), customers, "no duplicate customers");
    assert_eq!(numbers.len(), customers);
    let mut keys = HashSet::new();
    let mut count = 0;
    for product in client.products().await.unwrap() {
        for license in client.list_licenses(product.id).await.unwrap() {
            count += 1;
            keys.insert((product.id, license.legacy_license_key.clone()));
        }
    }
    assert_eq!(count, licenses, "no duplicate licenses");
    assert_eq!(keys.len(), licenses);
}
