//! The built binary as a test drives it: a builder in the style of just's tests, so a test says
//! what it runs and what it expects in one chain, and a failing exit code shows both streams.
//!
//! ```ignore
//! Cli::new(["plan", "--detailed-exitcode"]).target(dir).run().await.expect(2);
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::KEY;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_slascone-sync")
}

/// The exit code of a finished command (-1 when a signal ended it).
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Variables the binary reads from a CI system; unset in every run unless a test sets them.
const OUTSIDE_CI: [&str; 8] = [
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_WORKSPACE",
    "GITHUB_EVENT_PATH",
    "CI_PROJECT_URL",
    "CI_COMMIT_SHA",
    "CI_PROJECT_DIR",
];

/// The day every run takes as today unless a test says otherwise, so that the expiry radar and
/// the "expires in the past" risk read the same in every year the tests run.
pub const TODAY: &str = "2026-12-01";

/// One run of the binary. By default it has the test admin key in its environment, `NO_COLOR`
/// set, today fixed to [`TODAY`], no CI variables, and stdin closed.
#[derive(Debug, Clone)]
#[must_use = "a Cli does nothing until it is run"]
pub struct Cli {
    args: Vec<OsString>,
    current_dir: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
}

impl Cli {
    pub fn new<I, S>(args: I) -> Cli
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Cli {
            args: args.into_iter().map(Into::into).collect(),
            current_dir: None,
            env: vec![
                ("SLASCONE_ADMIN_KEY".into(), Some(KEY.into())),
                ("NO_COLOR".into(), Some("1".into())),
                ("SLASCONE_SYNC_TODAY".into(), Some(TODAY.into())),
            ]
            .into_iter()
            // Output must not depend on the CI system the tests run in, nor on the day.
            .chain(OUTSIDE_CI.iter().map(|name| ((*name).into(), None)))
            .collect(),
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Cli {
        self.args.push(arg.into());
        self
    }

    /// The manifest directory, as the last argument.
    pub fn target(self, dir: &Path) -> Cli {
        self.arg(dir)
    }

    pub fn current_dir(mut self, dir: &Path) -> Cli {
        self.current_dir = Some(dir.to_path_buf());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Cli {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, key: impl Into<OsString>) -> Cli {
        self.env.push((key.into(), None));
        self
    }

    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Cli {
        self.stdin = Some(text.into());
        self
    }

    /// Runs on the current thread; for tests without a runtime.
    pub fn run_blocking(self) -> Ran {
        let mut command = Command::new(bin());
        command.args(&self.args);
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        let output = match self.stdin {
            None => command
                .stdin(Stdio::null())
                .output()
                .expect("the binary runs"),
            Some(input) => {
                use std::io::Write;
                let mut child = command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("the binary starts");
                let mut pipe = child.stdin.take().expect("a stdin pipe");
                // A binary that stops reading early closes the pipe; that is its business.
                let _ = pipe.write_all(&input);
                drop(pipe);
                child.wait_with_output().expect("the binary finishes")
            }
        };
        Ran { output }
    }

    /// Runs off the async runtime, so an in-process sandbox keeps answering meanwhile.
    pub async fn run(self) -> Ran {
        tokio::task::spawn_blocking(move || self.run_blocking())
            .await
            .expect("the binary's task finishes")
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Ran {
    pub output: Output,
}

impl Ran {
    pub fn code(&self) -> i32 {
        code(&self.output)
    }

    pub fn stdout(&self) -> String {
        stdout(&self.output)
    }

    pub fn stderr(&self) -> String {
        stderr(&self.output)
    }

    /// Asserts the exit code; when it differs, the failure shows what the run printed.
    #[track_caller]
    pub fn expect(self, code: i32) -> Ran {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Runs the binary (off the async runtime) with the admin key in the environment.
pub async fn run(args: &[&str], dir: Option<&Path>) -> Output {
    let mut cli = Cli::new(args);
    if let Some(dir) = dir {
        cli = cli.current_dir(dir);
    }
    cli.run().await.output
}

/// Runs the binary with `args` and the manifest directory `dir` as its last argument.
pub async fn cli(args: &[&str], dir: &Path) -> Output {
    Cli::new(args).target(dir).run().await.output
}
