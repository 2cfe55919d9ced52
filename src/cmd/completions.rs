//! `slascone-sync completions`: a shell completion script, generated from the same clap
//! definition that parses the command line, so it never lists a flag the binary lacks.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Outcome;

pub fn run(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "slascone-sync", &mut stdout);
    Ok(Outcome::Success)
}
