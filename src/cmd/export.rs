//! `slascone-sync export`: read SLASCONE and write it as a manifest directory.
//!
//! The tenant comes from where `plan` takes it: `SOURCE_DIR/slascone.yaml` when there is one
//! (with `--env`), overridden by `--api-url`/`--isv-id`; without a project file the flags alone
//! name it (`--isv-id` is then required). `--sandbox` reads the source project's embedded sandbox
//! and copies its catalog and state into the export, so `plan --sandbox OUT` reads the same data.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::authoring::export::{self, Settings};
use crate::authoring::generate;
use crate::cli::{ExportArgs, GlobalArgs};
use crate::engine;
use crate::exit::Outcome;
use crate::manifest::{
    self, DEFAULT_ADMIN_KEY_ENV, DEFAULT_API_URL, Manifests, PROJECT_FILE, Project,
};

use super::{SANDBOX_STATE_FILE, print_problems};

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<Outcome> {
    generate::check_out_dir(&args.out, args.force)?;
    let Some(source) = source_project(global, args)? else {
        return Ok(Outcome::Error);
    };
    let events = super::progress_events();
    let connection = super::connect(global, &source.project, &args.read, &events).await?;
    let read = engine::read_remote(&connection, &args.product, &events).await;
    connection.close().await;
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
    say!("{}", next_step(global, &args.out));
    Ok(Outcome::Success)
}

/// The command that shows the export matches what it read: the same tenant, so `--sandbox` stays.
/// `--env` does not: the export's slascone.yaml holds the profile's target at its top level.
fn next_step(global: &GlobalArgs, out: &std::path::Path) -> String {
    let sandbox = if global.sandbox { " --sandbox" } else { "" };
    let env = match &global.env {
        Some(env) => format!(
            " Its slascone.yaml holds the `{env}` profile's target, so plan it without --env."
        ),
        None => String::new(),
    };
    format!(
        "Next: review the files, commit them, and run `slascone-sync plan{sandbox} {}`: it shows \
         No changes.{env}",
        shell_word(&out.display().to_string())
    )
}

/// `word` as one shell word: quoted when it holds anything but the characters paths usually do.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:@%=,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
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
