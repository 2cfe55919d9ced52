//! Shell completions and the examples in every subcommand's `--help`.

use clap::CommandFactory;
use slascone_sync::cli::Cli;

use crate::support::{self, stderr, stdout};

fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .filter(|name| name != "help")
        .collect()
}

#[tokio::test]
async fn completion_scripts_know_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = support::run(&["completions", shell], None).await;
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        for name in subcommands() {
            assert!(script.contains(&name), "{shell}: {name} missing");
        }
        assert!(script.contains("detailed-exitcode"), "{shell}");
    }
    let unknown = support::run(&["completions", "tcsh"], None).await;
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test]
async fn every_subcommand_help_shows_an_example() {
    let names = subcommands();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let output = support::run(&[&name, "--help"], None).await;
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let help = stdout(&output);
        assert!(
            help.contains(&format!("slascone-sync {name} ")),
            "{name} --help shows no example:\n{help}"
        );
    }
}
