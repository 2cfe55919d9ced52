//! `slascone-sync agent`: the flags and the environment to an [`agent::Config`], log lines to
//! stderr, and SIGTERM or SIGINT to a graceful stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::agent::{self, Agent, Config, Secret};
use crate::cli::{AgentArgs, GlobalArgs};
use crate::exit::Outcome;

/// The first retry after a failure waits about this long (never longer than the interval).
const RETRY_BASE: Duration = Duration::from_secs(1);

pub async fn run(global: &GlobalArgs, args: &AgentArgs) -> anyhow::Result<Outcome> {
    let settings = super::settings(global, &args.read)?;
    let target: agent::TargetOf = {
        let global = global.clone();
        Arc::new(move |project| super::target(&global, project))
    };
    let config = Config {
        dir: args.dir.clone(),
        env: global.env.clone(),
        mode: args.mode,
        interval: args.interval,
        retry_base: RETRY_BASE.min(args.interval),
        unready_after: args.unready_after,
        listen: args.listen,
        settings,
        target,
        webhook_secret: secret_from(args.webhook_secret_env.as_deref(), "--webhook-secret-env")?,
        api_token: secret_from(args.api_token_env.as_deref(), "--api-token-env")?,
        notify_url: args.notify_url.clone(),
        log_format: args.log_format,
        log: Arc::new(|line| eprintln!("{line}")),
    };
    let agent = Agent::start(config).await?;
    stopped().await?;
    agent.shutdown(args.grace).await;
    Ok(Outcome::Success)
}

/// The secret in the variable `name` names; an unset or empty variable is an error, since an
/// endpoint meant to be protected must not silently stay off.
fn secret_from(name: Option<&str>, flag: &str) -> anyhow::Result<Option<Secret>> {
    let Some(name) = name else {
        return Ok(None);
    };
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(Secret::new(value.trim()))),
        _ => bail!("{flag} names the environment variable {name}, which is not set or empty"),
    }
}

/// Waits for SIGTERM or SIGINT.
async fn stopped() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(())
}
