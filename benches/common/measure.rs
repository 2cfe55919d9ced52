//! Measuring one child process: this benchmark program re-runs itself as the only parent of the
//! child, so `getrusage(RUSAGE_CHILDREN)` afterwards is exactly the child's CPU time and peak
//! memory.

use std::ffi::OsString;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The hidden first argument that turns a benchmark program into the measuring parent of one
/// child.
pub const MEASURE: &str = "__measure";

/// What one run of the binary cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Usage {
    pub exit_code: i32,
    pub wall_s: f64,
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
}

/// `__measure OUT.json PROGRAM ARGS...`: runs PROGRAM as the only child of this process, so the
/// children's resource usage afterwards is exactly its own, and writes it to OUT.json.
pub fn measure_child(args: Vec<OsString>) -> anyhow::Result<()> {
    let [out, program, rest @ ..] = args.as_slice() else {
        bail!("usage: {MEASURE} OUT.json PROGRAM [ARGS...]");
    };
    let started = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    let wall = started.elapsed();
    let usage = children_usage(status.code().unwrap_or(-1), wall)?;
    std::fs::write(out, serde_json::to_vec(&usage)?)?;
    Ok(())
}

#[cfg(unix)]
fn children_usage(exit_code: i32, wall: Duration) -> anyhow::Result<Usage> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(Usage {
        exit_code,
        wall_s: wall.as_secs_f64(),
        cpu_user_s: seconds(usage.user_time()),
        cpu_sys_s: seconds(usage.system_time()),
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: u64::try_from(usage.max_rss()).unwrap_or(0),
    })
}

#[cfg(not(unix))]
fn children_usage(_exit_code: i32, _wall: Duration) -> anyhow::Result<Usage> {
    bail!("measuring CPU time and peak memory needs getrusage (Unix)")
}
