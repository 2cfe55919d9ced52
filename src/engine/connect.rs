//! The connection the engine works on: a SLASCONE tenant, or an embedded sandbox started for it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use uuid::Uuid;

use super::{Event, Events, Settings};
use crate::manifest::{self, Located, Project};
use crate::remote::{AdminKey, Client, ClientConfig, RequestLog};
use crate::sandbox::{self, SandboxConfig, SandboxHandle};

/// The `api_url` a plan records for the embedded sandbox: its port changes with every run, so a
/// plan saved with `--sandbox` names the sandbox rather than an address.
pub const SANDBOX_TARGET: &str = "sandbox";

/// The file the embedded sandbox keeps its state in, beside slascone.yaml.
pub const SANDBOX_STATE_FILE: &str = ".slascone-sandbox.json";

/// The SLASCONE tenant to work on.
#[derive(Debug, Clone)]
pub enum Target {
    /// A SLASCONE API: its base URL, the ISV, and the ISV's admin key.
    Api {
        url: String,
        isv_id: Uuid,
        admin_key: AdminKey,
    },
    /// An embedded sandbox seeded from `catalog` (with where the project names it), its state
    /// kept in `state_file`.
    Sandbox {
        isv_id: Uuid,
        catalog: Located<PathBuf>,
        state_file: PathBuf,
    },
}

impl Target {
    /// The embedded sandbox of a project: seeded from its `sandbox.catalog`, its state beside
    /// slascone.yaml, serving the project's ISV (or the nil UUID).
    pub fn sandbox_of(project: &Project, isv_id: Option<Uuid>) -> anyhow::Result<Target> {
        let catalog = project.sandbox_catalog.as_ref().with_context(|| {
            format!(
                "--sandbox needs `sandbox: {{ catalog: FILE }}` in {}",
                project.file.display()
            )
        })?;
        Ok(Target::Sandbox {
            isv_id: isv_id.or(project.isv_id).unwrap_or(Uuid::nil()),
            catalog: catalog.clone(),
            state_file: project.dir.join(SANDBOX_STATE_FILE),
        })
    }
}

/// A connection to the SLASCONE tenant a command works on.
pub struct Connection {
    pub client: Client,
    /// What plans made on this connection name as their target.
    pub target: crate::plan::Target,
    pub(crate) parallelism: usize,
    today: Option<jiff::civil::Date>,
    /// Keeps the embedded sandbox running for as long as the connection lives.
    sandbox: Option<SandboxHandle>,
}

impl Connection {
    /// Connects to `target`, or starts its embedded sandbox. Refuses an admin key that is written
    /// in one of `project`'s files.
    pub async fn open(
        target: Target,
        project: &Project,
        settings: &Settings,
        events: &Events,
    ) -> anyhow::Result<Connection> {
        let (base_url, isv_id, admin_key, target_url, sandbox) = match target {
            Target::Sandbox {
                isv_id,
                catalog,
                state_file,
            } => {
                let catalog = sandbox::Catalog::load(&catalog.value).with_context(|| {
                    format!("cannot load the sandbox catalog ({})", catalog.origin)
                })?;
                let admin_key = Uuid::new_v4().to_string();
                let mut config = SandboxConfig::new(isv_id, admin_key.clone(), catalog);
                config.state_file = Some(state_file);
                // A dropped torn record or a state file that cannot be written is worth knowing.
                let told = Arc::clone(events);
                config.events = Arc::new(move |line| told(&Event::Sandbox(line)));
                let handle = sandbox::start(config, ([127, 0, 0, 1], 0).into()).await?;
                (
                    handle.base_url(),
                    isv_id,
                    AdminKey::new(admin_key),
                    SANDBOX_TARGET.to_string(),
                    Some(handle),
                )
            }
            Target::Api {
                url,
                isv_id,
                admin_key,
            } => {
                let written = manifest::key_written_in_files(project, admin_key.expose());
                if !written.0.is_empty() {
                    return Err(anyhow::Error::new(written));
                }
                (url.clone(), isv_id, admin_key, url, None)
            }
        };
        let mut config = ClientConfig::new(base_url, isv_id, admin_key);
        config.page_size = settings.page_size;
        config.max_in_flight = settings.parallelism;
        if settings.log_requests {
            let events = Arc::clone(events);
            config.log = Some(RequestLog(Arc::new(move |line| {
                events(&Event::Request(line));
            })));
        }
        let retries = Arc::clone(events);
        config.retry_log = Some(RequestLog(Arc::new(move |line| {
            retries(&Event::Retry(line));
        })));
        config.total_timeout = settings.timeout;
        config.request_timeout = config.request_timeout.min(config.total_timeout);
        let client = Client::new(config).map_err(anyhow::Error::msg)?;
        Ok(Connection {
            client,
            target: crate::plan::Target {
                api_url: target_url,
                isv_id,
            },
            parallelism: settings.parallelism.max(1),
            today: settings.today,
            sandbox,
        })
    }

    /// The day the expiry radar takes as today: the settings' day, or today in `zone`.
    pub fn today(&self, zone: &crate::dates::Zone) -> jiff::civil::Date {
        self.today.unwrap_or_else(|| zone.today())
    }

    /// Stops the embedded sandbox, if any, after its last write was persisted.
    pub async fn close(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}
