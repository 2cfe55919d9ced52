//! Dispatches each command to `cmd::<name>::run`, and maps outcomes and errors to the exit code.

// The one place, with run.rs and main.rs, that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::cmd;
use crate::exit::{Hinted, Outcome};
use crate::manifest::Problems;
use crate::text::{shown, terminal};

/// Runs a parsed command line and returns the process exit code. Errors are printed to stderr
/// with their whole context chain.
pub fn main(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Outcome::Error.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!(
                "{}",
                terminal(&format!("error: {}", error_text(&err)), false)
            );
            Outcome::Error.into()
        }
    }
}

/// The error with its context chain, each link on one line: only a list of manifest problems
/// (whose entries are escaped one by one) spans several lines.
fn error_text(err: &anyhow::Error) -> String {
    err.chain()
        .map(|cause| {
            if let Some(problems) = cause.downcast_ref::<Problems>() {
                problems.to_string()
            } else if let Some(hinted) = cause.downcast_ref::<Hinted>() {
                format!(
                    "{}\n  hint: {}",
                    shown(&hinted.message),
                    shown(&hinted.hint)
                )
            } else {
                shown(&cause.to_string()).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => cmd::validate::run(&cli.global, &args),
        Command::Plan(args) => cmd::plan::run(&cli.global, &args).await,
        Command::Apply(args) => cmd::apply::run(&cli.global, &args).await,
        Command::Export(args) => cmd::export::run(&cli.global, &args).await,
        Command::Pull(args) => cmd::pull::run(&cli.global, &args).await,
        Command::ImportCsv(args) => cmd::import_csv::run(&args),
        Command::Ingest(args) => cmd::ingest::run(&cli.global, &args),
        Command::Ids(args) => cmd::ids::run(&cli.global, &args).await,
        Command::Sandbox(args) => cmd::sandbox::run(args).await,
        Command::Schema(args) => cmd::schema::run(&args),
        Command::Completions(args) => cmd::completions::run(&args),
        Command::Agent(args) => cmd::agent::run(&cli.global, &args).await,
    }
}
