//! Shell completions and the examples in every subcommand's `--help`.

use clap::{CommandFactory, FromArgMatches};
use slascone_sync::cli::Cli;

use crate::support::{self, Cli as Run, stderr, stdout};

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

/// Each subcommand's `--help` ends with an `Examples:` section whose every line is a command of
/// that subcommand that the parser accepts.
#[test]
fn every_subcommand_help_shows_examples_that_parse() {
    let names = subcommands();
    for name in [
        "validate",
        "plan",
        "apply",
        "export",
        "pull",
        "import-csv",
        "sandbox",
    ] {
        assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
    }
    for name in names {
        let help = Run::new([name.as_str(), "--help"])
            .run_blocking()
            .expect(0)
            .stdout();
        let (_, section) = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{name} --help has no Examples section:\n{help}"));
        let lines: Vec<&str> = section
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .collect();
        let commands = support::commands(&lines.join("\n"));
        assert!(
            !commands.is_empty(),
            "{name}: no example under Examples:\n{help}"
        );
        assert_eq!(
            commands.len(),
            lines.len(),
            "{name}: a line is not a command:\n{section}"
        );
        for words in commands {
            let line = words.join(" ");
            let matches = Cli::command()
                .try_get_matches_from(&words)
                .unwrap_or_else(|err| panic!("{name}: `{line}` does not parse:\n{err}"));
            assert_eq!(
                matches.subcommand_name(),
                Some(name.as_str()),
                "{name}: `{line}` is an example of another subcommand"
            );
            Cli::from_arg_matches(&matches)
                .unwrap_or_else(|err| panic!("{name}: `{line}` does not parse:\n{err}"));
        }
    }
}
