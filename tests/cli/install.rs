//! The action's install script (action/install.sh) against fake releases in a directory, served
//! through file:// URLs and laid out like GitHub's (`download/vX.Y.Z/…`, `latest/download/…`).
//! The archives and SHA256SUMS are made by the release workflow's own packaging script, so these
//! tests also hold the release's names and layout to what the installer expects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every target a release builds, with the runner that gets it as GitHub names its platform.
pub const TARGETS: [(&str, &str, &str); 5] = [
    ("Linux", "X64", "x86_64-unknown-linux-musl"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
    ("macOS", "X64", "x86_64-apple-darwin"),
    ("macOS", "ARM64", "aarch64-apple-darwin"),
    ("Windows", "X64", "x86_64-pc-windows-msvc"),
];

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn failed(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure\nstdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stderr)
}

/// A stand-in for the binary that reports a version, as the installer's last check asks.
fn fake_binary(dir: &Path, reports: &str) -> PathBuf {
    let path = dir.join(format!("fake-{}", reports.replace(' ', "-")));
    std::fs::write(&path, format!("#!/bin/sh\necho '{reports}'\n")).unwrap();
    make_executable(&path);
    path
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn package(args: &[&str]) -> String {
    let output = Command::new("bash")
        .arg(root().join(".github/scripts/package.sh"))
        .args(args)
        .output()
        .unwrap();
    succeeded(&output).trim().to_owned()
}

/// A release directory: `download/v{version}/` with one archive per target and SHA256SUMS.
struct Release {
    dir: TempDir,
}

impl Release {
    fn new(version: &str, binary: &Path, targets: &[&str]) -> Release {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join(format!("download/v{version}"));
        for target in targets {
            package(&[
                "archive",
                version,
                target,
                binary.to_str().unwrap(),
                assets.to_str().unwrap(),
            ]);
        }
        package(&["sums", assets.to_str().unwrap()]);
        Release { dir }
    }

    fn assets(&self, version: &str) -> PathBuf {
        self.dir.path().join(format!("download/v{version}"))
    }

    /// GitHub's `releases/latest/download/NAME` serves the newest release's assets.
    fn mark_latest(&self, version: &str) {
        let latest = self.dir.path().join("latest/download");
        std::fs::create_dir_all(&latest).unwrap();
        std::fs::copy(
            self.assets(version).join("SHA256SUMS"),
            latest.join("SHA256SUMS"),
        )
        .unwrap();
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }
}

/// A runner's environment: its temp directory and GitHub's command files.
struct Runner {
    temp: TempDir,
}

impl Runner {
    fn new() -> Runner {
        Runner {
            temp: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.temp.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// Runs the install script with only the given variables (and PATH), as a runner would:
    /// whatever CI this test itself runs on must not leak in.
    fn install(&self, release: &Release, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new("bash");
        command
            .arg(root().join("action/install.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("RUNNER_TEMP", self.temp.path())
            .env("GITHUB_PATH", self.file("github_path"))
            .env("GITHUB_OUTPUT", self.file("github_output"))
            .env("SLASCONE_SYNC_RELEASES_URL", release.url());
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    }

    fn installed(&self, version: &str, target: &str, exe: &str) -> PathBuf {
        self.temp.path().join(format!(
            "slascone-sync/{version}-{target}/slascone-sync{exe}"
        ))
    }
}

/// A published release of VERSION whose archives hold a stand-in reporting `reports`.
fn published(reports: &str, targets: &[&str]) -> Release {
    let scratch = tempfile::tempdir().unwrap();
    let release = Release::new(VERSION, &fake_binary(scratch.path(), reports), targets);
    release.mark_latest(VERSION);
    release
}

fn platform<'a>(os: &'a str, arch: &'a str) -> [(&'a str, &'a str); 2] {
    [("RUNNER_OS", os), ("RUNNER_ARCH", arch)]
}

#[test]
fn installs_the_real_binary_for_the_runner_after_checking_its_checksum() {
    let target = "x86_64-unknown-linux-musl";
    let release = Release::new(VERSION, Path::new(crate::support::bin()), &[target]);
    let runner = Runner::new();
    let tag = format!("v{VERSION}");
    let mut env = platform("Linux", "X64").to_vec();
    env.push(("SLASCONE_SYNC_VERSION", &tag));
    let stdout = succeeded(&runner.install(&release, &env));
    assert!(stdout.contains(&format!("Installed slascone-sync {VERSION} ({target})")));

    let binary = runner.installed(VERSION, target, "");
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        succeeded(&version).trim(),
        format!("slascone-sync {VERSION}")
    );
    assert_eq!(
        runner.read("github_path").trim(),
        binary.parent().unwrap().to_str().unwrap()
    );
    let outputs = runner.read("github_output");
    assert!(
        outputs.contains(&format!("version={VERSION}\n")),
        "{outputs}"
    );
    assert!(
        outputs.contains(&format!("path={}\n", binary.display())),
        "{outputs}"
    );
}

#[test]
fn every_supported_runner_gets_the_archive_of_its_target() {
    let targets: Vec<&str> = TARGETS.iter().map(|(_, _, target)| *target).collect();
    let release = published(&format!("slascone-sync {VERSION}"), &targets);
    for (os, arch, target) in TARGETS {
        let runner = Runner::new();
        succeeded(&runner.install(&release, &platform(os, arch)));
        let exe = if os == "Windows" { ".exe" } else { "" };
        let binary = runner.installed(VERSION, target, exe);
        assert!(binary.is_file(), "{os} {arch}: no {}", binary.display());
    }
}

#[test]
fn a_checksum_mismatch_fails_and_installs_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let fake = fake_binary(scratch.path(), &format!("slascone-sync {VERSION}"));
    let target = "x86_64-unknown-linux-musl";
    let release = Release::new(VERSION, &fake, &[target]);
    // The archive is replaced after SHA256SUMS was written, as a tampered download would be.
    let other = fake_binary(scratch.path(), "slascone-sync 0.0.0-tampered");
    package(&[
        "archive",
        VERSION,
        target,
        other.to_str().unwrap(),
        release.assets(VERSION).to_str().unwrap(),
    ]);
    let runner = Runner::new();
    let tag = format!("v{VERSION}");
    let mut env = platform("Linux", "X64").to_vec();
    env.push(("SLASCONE_SYNC_VERSION", &tag));
    let stderr = failed(&runner.install(&release, &env));
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!runner.installed(VERSION, target, "").exists());
    assert_eq!(runner.read("github_path"), "");
}

#[test]
fn unsupported_platforms_are_named_in_the_error() {
    let release = published(
        &format!("slascone-sync {VERSION}"),
        &["x86_64-unknown-linux-musl"],
    );
    for (os, arch) in [("Windows", "ARM64"), ("Linux", "ARM"), ("FreeBSD", "X64")] {
        let runner = Runner::new();
        let stderr = failed(&runner.install(&release, &platform(os, arch)));
        assert!(
            stderr.contains(&format!(
                "no slascone-sync release is built for {os} {arch}"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("cargo install"), "{stderr}");
    }
}

#[test]
fn the_version_is_the_input_else_the_actions_release_tag_else_the_latest_release() {
    let scratch = tempfile::tempdir().unwrap();
    let fake = fake_binary(scratch.path(), &format!("slascone-sync {VERSION}"));
    let release = Release::new(VERSION, &fake, &["aarch64-apple-darwin"]);
    let tag = format!("v{VERSION}");
    let mac = platform("macOS", "ARM64");
    let with = |extra: &[(&'static str, &str)]| -> Vec<(&str, String)> {
        mac.iter()
            .chain(extra)
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect()
    };
    let run = |env: Vec<(&str, String)>| {
        let runner = Runner::new();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let output = runner.install(&release, &env);
        (output, runner.read("github_output"))
    };

    // No latest release is published yet: only the tag's own release can satisfy these.
    let (output, outputs) = run(with(&[("SLASCONE_SYNC_ACTION_REF", &tag)]));
    succeeded(&output);
    assert!(outputs.contains(&format!("version={VERSION}\n")));
    let action_path = format!("/home/runner/work/_actions/acme/slascone-sync/{tag}");
    succeeded(&run(with(&[("GITHUB_ACTION_PATH", &action_path)])).0);
    // A branch is no release: the latest one is asked for, and there is none.
    let (output, _) = run(with(&[("SLASCONE_SYNC_ACTION_REF", "main")]));
    let stderr = failed(&output);
    assert!(stderr.contains("latest/download/SHA256SUMS"), "{stderr}");

    release.mark_latest(VERSION);
    succeeded(&run(with(&[("SLASCONE_SYNC_ACTION_REF", "main")])).0);
    succeeded(&run(with(&[("SLASCONE_SYNC_VERSION", "latest")])).0);
    succeeded(&run(with(&[("SLASCONE_SYNC_VERSION", VERSION)])).0);

    let (output, _) = run(with(&[("SLASCONE_SYNC_VERSION", "9.9.9")]));
    let stderr = failed(&output);
    assert!(stderr.contains("could not download"), "{stderr}");
    assert!(stderr.contains("download/v9.9.9/SHA256SUMS"), "{stderr}");
    for bad in ["1.2", "v1.2.3-rc1", "main"] {
        let (output, _) = run(with(&[("SLASCONE_SYNC_VERSION", bad)]));
        let stderr = failed(&output);
        assert!(
            stderr.contains(&format!(
                "version `{bad}` is neither `latest` nor a release tag"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn a_release_without_the_runners_target_is_an_error() {
    let release = published(
        &format!("slascone-sync {VERSION}"),
        &["x86_64-unknown-linux-musl"],
    );
    let stderr = failed(&Runner::new().install(&release, &platform("macOS", "X64")));
    assert!(
        stderr.contains("lists no archive for x86_64-apple-darwin"),
        "{stderr}"
    );
}

#[test]
fn an_archive_holding_another_version_is_refused() {
    let release = published("slascone-sync 0.0.1", &["x86_64-unknown-linux-musl"]);
    let stderr = failed(&Runner::new().install(&release, &platform("Linux", "X64")));
    assert!(
        stderr.contains(&format!(
            "holds `slascone-sync 0.0.1`, not slascone-sync {VERSION}"
        )),
        "{stderr}"
    );
}

#[test]
fn a_second_install_in_the_same_job_reuses_the_first() {
    let release = published(
        &format!("slascone-sync {VERSION}"),
        &["x86_64-unknown-linux-musl"],
    );
    let runner = Runner::new();
    let first = succeeded(&runner.install(&release, &platform("Linux", "X64")));
    assert!(first.contains("Installed"), "{first}");
    let second = succeeded(&runner.install(&release, &platform("Linux", "X64")));
    assert!(second.contains("is already in"), "{second}");
}

#[test]
fn release_archives_hold_the_binary_and_the_readme_under_one_directory() {
    let scratch = tempfile::tempdir().unwrap();
    let fake = fake_binary(scratch.path(), &format!("slascone-sync {VERSION}"));
    let out = scratch.path().join("dist");
    let out_arg = out.to_str().unwrap();
    let fake_arg = fake.to_str().unwrap();
    let linux = package(&[
        "archive",
        VERSION,
        "aarch64-unknown-linux-musl",
        fake_arg,
        out_arg,
    ]);
    let windows = package(&[
        "archive",
        VERSION,
        "x86_64-pc-windows-msvc",
        fake_arg,
        out_arg,
    ]);
    let sums = package(&["sums", out_arg]);

    let prefix = format!("slascone-sync-{VERSION}-aarch64-unknown-linux-musl");
    assert_eq!(linux, format!("{}/{prefix}.tar.gz", out.display()));
    let listing = Command::new("tar")
        .arg("-tzvf")
        .arg(&linux)
        .output()
        .unwrap();
    let listing = succeeded(&listing);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with(&format!("{prefix}/slascone-sync"))),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("{prefix}/README.md")),
        "{listing}"
    );

    let prefix = format!("slascone-sync-{VERSION}-x86_64-pc-windows-msvc");
    assert_eq!(windows, format!("{}/{prefix}.zip", out.display()));
    let listing = succeeded(
        &Command::new("unzip")
            .arg("-l")
            .arg(&windows)
            .output()
            .unwrap(),
    );
    assert!(
        listing.contains(&format!("{prefix}/slascone-sync.exe")),
        "{listing}"
    );

    let sums_text = std::fs::read_to_string(&sums).unwrap();
    assert_eq!(sums_text.lines().count(), 2, "{sums_text}");
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&out)
        .output()
        .unwrap();
    succeeded(&check);

    let bad = Command::new("bash")
        .arg(root().join(".github/scripts/package.sh"))
        .args([
            "archive",
            "1.2",
            "x86_64-unknown-linux-musl",
            fake_arg,
            out_arg,
        ])
        .output()
        .unwrap();
    assert!(failed(&bad).contains("version `1.2` is not X.Y.Z"));
}
