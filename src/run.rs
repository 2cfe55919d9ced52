//! Dispatches each command to `cmd::<name>::run`, and maps outcomes and errors to the exit code.

// The one place, with run.rs and main.rs, that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::cmd;
use crate::exit::Outcome;

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
            eprintln!("error: {err:#}");
            Outcome::Error.into()
        }
    }
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
        Command::Sandbox(args) => cmd::sandbox::run(args).await,
        Command::Schema(args) => cmd::schema::run(&args),
        Command::Completions(args) => cmd::completions::run(&args),
        Command::Agent(args) => cmd::agent::run(&cli.global, &args).await,
    }
}
