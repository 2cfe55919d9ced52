//! Sequences the stages of each command; the one place that maps outcomes to exit codes.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command, CompletionsArgs};
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
        Command::Validate(args) => crate::manifest::command::validate(&cli.global, &args),
        Command::Plan(args) => crate::cmd::plan::run(&cli.global, &args).await,
        Command::Apply(args) => crate::cmd::apply::run(&cli.global, &args).await,
        Command::Schema(args) => crate::manifest::command::schema(&args),
        Command::Sandbox(args) => crate::sandbox::run_cli(args).await,
        Command::Export(args) => crate::cmd::export::run(&cli.global, &args).await,
        Command::ImportCsv(args) => crate::import_csv::run(&args),
        Command::Completions(args) => completions(&args),
    }
}

/// Prints the completion script, generated from the same clap definition that parses the
/// command line, so it never lists a flag the binary lacks.
fn completions(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "slascone-sync", &mut stdout);
    Ok(Outcome::Success)
}
