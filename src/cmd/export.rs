//! `slascone-sync export`: read SLASCONE and write it as a manifest directory.
//!
//! The tenant comes from where `plan` takes it: `SOURCE_DIR/slascone.yaml` when there is one
//! (with `--env`), overridden by `--api-url`/`--isv-id`; without a project file the flags alone
//! name it (`--isv-id` is then required). `--sandbox` reads the source project's embedded sandbox
//! and copies its catalog and state into the export, so `plan --sandbox OUT` reads the same data.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cli::{ExportArgs, GlobalArgs};
use crate::current;
use crate::exit::Outcome;
use crate::manifest::{
    self, DEFAULT_ADMIN_KEY_ENV, DEFAULT_API_URL, Manifests, PROJECT_FILE, Project,
};
use crate::scaffold::export::{self, Settings};
use crate::scaffold::generate;

use super::{SANDBOX_STATE_FILE, Session, print_problems};

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<Outcome> {
    generate::check_out_dir(&args.out, args.force)?;
    let Some(source) = source_project(global, args)? else {
        return Ok(Outcome::Error);
    };
    let session = Session::connect(global, &source, &args.read).await?;
    let read = read_chosen(&session, args).await;
    session.close().await;
    let mut remote = read?;
    remote.catalog.zone = source.project.timezone.clone();

    let project = &source.project;
    let sandbox_catalog = match (&project.sandbox_catalog, global.sandbox) {
        (Some(catalog), true) => Some(
            crate::fs::read_input(&catalog.value, crate::fs::MAX_SANDBOX_BYTES)
                .with_context(|| format!("cannot read {}", catalog.value.display()))?,
        ),
        _ => None,
    };
    let settings = Settings {
        api_url: global
            .api_url
            .clone()
            .unwrap_or_else(|| project.api_url.clone()),
        isv_id: session_isv(global, project),
        portal_url: project.portal_url.clone(),
        admin_key_env: (project.admin_key_env != DEFAULT_ADMIN_KEY_ENV)
            .then(|| project.admin_key_env.clone()),
        sandbox_catalog,
        timezone: (project.timezone != crate::dates::Zone::utc())
            .then(|| project.timezone.name().to_owned()),
    };
    let mut export = export::export(&remote, &args.customer, &settings)?;
    if global.sandbox {
        // The sandbox's state lives beside slascone.yaml; after the session closed it holds
        // exactly what was read.
        let state_file = project.dir.join(SANDBOX_STATE_FILE);
        if state_file.is_file() {
            let bytes = crate::fs::read_input(&state_file, crate::fs::MAX_SANDBOX_BYTES)
                .with_context(|| format!("cannot read {}", state_file.display()))?;
            export
                .files
                .push((PathBuf::from(SANDBOX_STATE_FILE), bytes));
        }
    }
    for warning in &export.warnings {
        say!("warning: {}", crate::text::shown(warning));
    }
    generate::write_tree(&args.out, &export.files, args.force)?;
    let contacts = match export.contacts {
        0 => String::new(),
        1 => ", 1 contact".to_owned(),
        n => format!(", {n} contacts"),
    };
    say!(
        "Exported {} customer{}{contacts} and {} license{} to {}.",
        export.customers,
        if export.customers == 1 { "" } else { "s" },
        export.licenses,
        if export.licenses == 1 { "" } else { "s" },
        args.out.display()
    );
    say!(
        "Next: review the files, commit them, and run `slascone-sync plan {}`: it shows No changes.",
        args.out.display()
    );
    Ok(Outcome::Success)
}

/// The isv_id the session used (for `--sandbox` without one: the nil UUID the sandbox serves).
fn session_isv(global: &GlobalArgs, project: &Project) -> uuid::Uuid {
    global.isv_id.or(project.isv_id).unwrap_or_default()
}

/// The source project: `SOURCE_DIR/slascone.yaml` loaded like plan loads it, or, without one,
/// defaults the global flags complete. `None` when it had problems (printed).
fn source_project(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<Option<Manifests>> {
    let file = args.dir.join(PROJECT_FILE);
    if file.is_file() {
        return Ok(match manifest::load(&args.dir, global.env.as_deref()) {
            Ok(mut manifests) => {
                // Only the connection settings matter; the source's manifests are not exported.
                manifests.customers.clear();
                Some(manifests)
            }
            Err(problems) => {
                print_problems(&problems);
                None
            }
        });
    }
    if global.sandbox {
        bail!(
            "--sandbox needs a project with `sandbox: {{ catalog: FILE }}`, but {} does not exist",
            file.display()
        );
    }
    if global.isv_id.is_none() {
        bail!(
            "{} does not exist: pass --isv-id (and --api-url, default {DEFAULT_API_URL}) to name \
             the SLASCONE tenant, or the directory of a slascone.yaml",
            file.display()
        );
    }
    if global.env.is_some() {
        bail!(
            "--env needs a slascone.yaml with `environments`, but {} does not exist",
            file.display()
        );
    }
    Ok(Some(Manifests {
        project: Project::with_defaults(args.dir.clone(), file),
        customers: Vec::new(),
        files: 0,
        digests: Default::default(),
    }))
}

/// Reads the catalog, all customers, and the licenses of the chosen products (all of them
/// without `--product`).
async fn read_chosen(session: &Session, args: &ExportArgs) -> anyhow::Result<current::Remote> {
    let all: BTreeSet<String> = session
        .client
        .products()
        .await?
        .into_iter()
        .map(|product| product.name)
        .collect();
    let products: BTreeSet<String> = if args.product.is_empty() {
        all.clone()
    } else {
        args.product.iter().cloned().collect()
    };
    let unknown: Vec<&String> = products.difference(&all).collect();
    if !unknown.is_empty() {
        let names = |set: Vec<&String>| {
            set.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        bail!(
            "SLASCONE has no product {}; known products: {}",
            names(unknown),
            names(all.iter().collect())
        );
    }
    super::pipeline::read_remote(session, &products, &args.read).await
}
