#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = slascone_sync::cli::Cli::parse();
    slascone_sync::run::main(cli)
}
