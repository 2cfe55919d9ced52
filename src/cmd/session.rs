//! The connection a command works on: the SLASCONE tenant named by the project file and the
//! global flags, or the embedded sandbox.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use uuid::Uuid;

use crate::cli::{GlobalArgs, ReadArgs};
use crate::manifest::{self, Manifests};
use crate::plan::Target;
use crate::remote::{AdminKey, Client, ClientConfig, RequestLog};
use crate::sandbox::{self, SandboxConfig, SandboxHandle};

/// The `api_url` a plan records for the embedded sandbox: its port changes with every run, so a
/// plan saved with `--sandbox` names the sandbox rather than an address.
pub const SANDBOX_TARGET: &str = "sandbox";

/// The file the embedded sandbox keeps its state in, beside slascone.yaml.
pub const SANDBOX_STATE_FILE: &str = ".slascone-sandbox.json";

/// A connection to the SLASCONE tenant a command works on.
pub struct Session {
    pub client: Client,
    pub target: Target,
    /// Keeps the embedded sandbox running for as long as the session lives.
    sandbox: Option<SandboxHandle>,
}

impl Session {
    /// Connects to the tenant named by the project file and the global flags, or starts the
    /// embedded sandbox with `--sandbox`.
    pub async fn connect(
        global: &GlobalArgs,
        manifests: &Manifests,
        read: &ReadArgs,
    ) -> anyhow::Result<Session> {
        let project = &manifests.project;
        let (base_url, isv_id, admin_key, target_url, sandbox) = if global.sandbox {
            let catalog_path = project.sandbox_catalog.as_ref().with_context(|| {
                format!(
                    "--sandbox needs `sandbox: {{ catalog: FILE }}` in {}",
                    project.file.display()
                )
            })?;
            let catalog = sandbox::Catalog::load(&catalog_path.value).with_context(|| {
                format!("cannot load the sandbox catalog ({})", catalog_path.origin)
            })?;
            let isv_id = global.isv_id.or(project.isv_id).unwrap_or(Uuid::nil());
            let admin_key = Uuid::new_v4().to_string();
            let mut config = SandboxConfig::new(isv_id, admin_key.clone(), catalog);
            config.state_file = Some(project.dir.join(SANDBOX_STATE_FILE));
            // A dropped torn record or a state file that cannot be written is worth knowing.
            config.events = Arc::new(|event| eprintln!("sandbox: {event}"));
            let handle = sandbox::start(config, ([127, 0, 0, 1], 0).into()).await?;
            (
                handle.base_url(),
                isv_id,
                AdminKey::new(admin_key),
                SANDBOX_TARGET.to_string(),
                Some(handle),
            )
        } else {
            let base_url = global
                .api_url
                .clone()
                .unwrap_or_else(|| project.api_url.clone());
            let isv_id = global.isv_id.or(project.isv_id).with_context(|| {
                format!(
                    "no isv_id: set `isv_id` in {} or pass --isv-id",
                    project.file.display()
                )
            })?;
            let key = match std::env::var(&project.admin_key_env) {
                Ok(key) if !key.trim().is_empty() => key.trim().to_owned(),
                _ => bail!(
                    "the environment variable {} is not set; it must hold the SLASCONE AdminKey (admin_key_env in {})",
                    project.admin_key_env,
                    project.file.display()
                ),
            };
            let written = manifest::key_written_in_files(project, &key);
            if !written.0.is_empty() {
                return Err(anyhow::Error::new(written));
            }
            let admin_key = AdminKey::new(key);
            (base_url.clone(), isv_id, admin_key, base_url, None)
        };
        let mut config = ClientConfig::new(base_url, isv_id, admin_key);
        config.page_size = i64::from(read.page_size);
        config.max_in_flight = usize::from(read.parallelism);
        if global.verbose {
            config.log = Some(RequestLog(Arc::new(|line| eprintln!("{line}"))));
        }
        config.total_timeout = Duration::from_secs(global.timeout);
        config.request_timeout = config.request_timeout.min(config.total_timeout);
        let client = Client::new(config).map_err(anyhow::Error::msg)?;
        Ok(Session {
            client,
            target: Target {
                api_url: target_url,
                isv_id,
            },
            sandbox,
        })
    }

    /// Stops the embedded sandbox, if any, after its last write was persisted.
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}
