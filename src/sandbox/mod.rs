//! The sandbox: a SLASCONE-compatible server on loopback.

use crate::cli::SandboxArgs;
use crate::exit::Outcome;

/// `slascone-sync sandbox`: serves until interrupted.
pub async fn run_cli(_args: SandboxArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("the sandbox is not available yet")
}
