//! `slascone-sync agent`: the flags and the environment to an [`agent::Config`], log lines to
//! stderr, and SIGTERM or SIGINT to a graceful stop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::agent::git::GitSource;
use crate::agent::{self, Agent, Config, Secret, Source};
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
        source: source(args)?,
        env: global.env.clone(),
        mode: args.mode,
        interval: args.interval,
        retry_base: RETRY_BASE.min(args.interval),
        unready_after: args.unready_after,
        listen: args.listen,
        settings,
        target,
        admin_key_of: {
            let global = global.clone();
            Arc::new(move |dir, env| {
                let global = GlobalArgs {
                    env: env.map(str::to_owned),
                    ..global.clone()
                };
                super::admin_key_from_env(dir, &global)
            })
        },
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

/// DIR, or the --git repository with its cache directory.
fn source(args: &AgentArgs) -> anyhow::Result<Source> {
    let Some(url) = &args.git else {
        return Ok(Source::Dir(args.dir.clone().unwrap_or_else(|| ".".into())));
    };
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir()?.join(cache_name(url, &args.branch)),
    };
    Ok(Source::Git(GitSource {
        url: url.clone(),
        branch: args.branch.clone(),
        path: args.path.clone(),
        cache_dir,
        token: secret_from(args.git_token_env.as_deref(), "--git-token-env")?,
    }))
}

/// The system's cache directory: `$XDG_CACHE_HOME`, else `~/.cache` (`~/Library/Caches` on
/// macOS, `%LOCALAPPDATA%` on Windows), with `slascone-sync/agent` below it.
fn default_cache_dir() -> anyhow::Result<std::path::PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    let base = if cfg!(windows) {
        var("LOCALAPPDATA")
    } else if let Some(xdg) = var("XDG_CACHE_HOME") {
        Some(xdg)
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|home| home.join("Library/Caches"))
    } else {
        var("HOME").map(|home| home.join(".cache"))
    };
    let base = base
        .context("no cache directory (neither XDG_CACHE_HOME nor HOME is set); pass --cache-dir")?;
    Ok(base.join("slascone-sync").join("agent"))
}

/// One cache per repository and branch, named so that a person can tell them apart.
fn cache_name(url: &str, branch: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{url}\n{branch}"));
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit('/')
        .next()
        .unwrap_or("repository")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("{tail}-{hex}")
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
