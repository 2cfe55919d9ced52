//! Exit codes, the same for every command (docs/architecture.md, "Exit codes"), and the one
//! error that carries a hint.

use std::process::ExitCode;

/// What a command ended with; `main` turns it into the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: success, or no changes.
    Success,
    /// 1: an error.
    Error,
    /// 2: changes pending (`plan --detailed-exitcode`).
    ChangesPending,
    /// 3: refused by a safety rule (max_changes, max_risk, stale plan; for pull, a manifest file
    /// that changed while it ran).
    Refused,
    /// 4: apply partially failed.
    PartialFailure,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Error => 1,
            Outcome::ChangesPending => 2,
            Outcome::Refused => 3,
            Outcome::PartialFailure => 4,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

/// An error with a hint on what to do about it, shown on a line of its own under the error.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}
