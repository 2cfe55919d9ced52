//! `slascone-sync sandbox`: serves a SLASCONE-compatible sandbox until Ctrl-C or SIGTERM.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::SandboxArgs;
use crate::exit::Outcome;
use crate::sandbox::{self, Catalog, SandboxConfig};

pub async fn run(args: SandboxArgs) -> anyhow::Result<Outcome> {
    let catalog = Catalog::load(&args.catalog)?;
    let mut config = SandboxConfig::new(args.isv_id, args.admin_key, catalog);
    config.state_file = args.state;
    config.latency = Duration::from_millis(args.latency_ms);
    config.fail_rate = args.fail_rate;
    config.rate_limit = args.rate_limit;
    config.drop_after_commit = args.drop_after_commit;
    config.patch_semantics = args.patch_semantics;
    config.page_base = args.page_base;
    config.page_zero = args.page_zero;
    config.max_page_size = usize::try_from(args.max_page_size).unwrap_or(usize::MAX);
    config.assignments_page_base = args.assignments_page_base;
    config.assignments_page_zero = args.assignments_page_zero;
    config.assignments_max_page_size = args
        .assignments_max_page_size
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    config.empty_listing = args.empty_listing;
    config.write_answer = args.write_answer;
    config.events = Arc::new(|event| say!("sandbox: {}", crate::text::shown(event)));
    let signals = StopSignals::register()?;
    let handle = sandbox::start(config, args.listen).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{}", handle.addr())?;
        stdout.flush()?;
    }
    let stopped = signals.recv().await;
    handle.shutdown().await;
    stopped?;
    Ok(Outcome::Success)
}

/// The signals that stop `slascone-sync sandbox`: Ctrl-C, and SIGTERM on Unix. They are
/// registered before the sandbox announces itself, so a signal sent right after the `listening on`
/// line stops it cleanly instead of killing the process.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> anyhow::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn recv(self) -> anyhow::Result<()> {
        #[cfg(unix)]
        {
            let StopSignals {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")?;
        Ok(())
    }
}
