//! `slascone-sync plan`: read SLASCONE, diff, render; optionally save the plan.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{GlobalArgs, PlanArgs};
use crate::engine::{Keep, Planning};
use crate::exit::Outcome;
use crate::render::{self, Format, ManifestLinks, Style};

use super::{
    connect_and_load, print_manifest_problems, progress_events, use_color, write_rendering,
};

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<Outcome> {
    let events = progress_events();
    let Some((connection, _, planning)) =
        connect_and_load(global, &args.dir, &args.read, Keep::Nothing, &events).await?
    else {
        return Ok(Outcome::Error);
    };
    connection.close().await;
    let planned = match planning {
        Planning::Planned(planned) => *planned,
        Planning::Problems(problems) => {
            print_manifest_problems(&args.dir, global, problems);
            return Ok(Outcome::Error);
        }
    };
    // Freeing the states of a large account piece by piece takes longer than the diff; the
    // process ends right after, and the system reclaims the memory at once.
    let planned = std::mem::ManuallyDrop::new(planned);
    let plan = &planned.plan;
    if let Some(path) = &args.out {
        let mut bytes = Vec::new();
        render::render(plan, Format::Json, &mut bytes, &Style::default())?;
        crate::fs::write_atomically(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        say!("Saved the plan to {}.", path.display());
    }
    let style = Style {
        color: args.format == Format::Text && use_color(global),
        manifest_links: match args.format {
            Format::Markdown => manifest_links(&args.dir),
            _ => None,
        },
    };
    write_rendering(std::io::stdout().lock(), args.format, style.color, |out| {
        render::render(plan, args.format, &mut &mut *out, &style)
    })?;
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        Outcome::ChangesPending
    } else {
        Outcome::Success
    })
}

/// Where the manifests are in the repository a CI job checked out, from the variables GitHub
/// Actions and GitLab CI set; `None` outside CI, or for a directory outside the checkout.
fn manifest_links(dir: &Path) -> Option<ManifestLinks> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let (blob_url, root) = if let (Some(server), Some(repository), Some(sha)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_SHA"),
    ) {
        // On a pull request GITHUB_SHA is a merge commit made for the run; the reviewed commit
        // is the pull request's head.
        let sha = var("GITHUB_EVENT_PATH")
            .and_then(|path| pull_request_head(Path::new(&path)))
            .unwrap_or(sha);
        let server = server.trim_end_matches('/');
        (
            format!("{server}/{repository}/blob/{sha}"),
            var("GITHUB_WORKSPACE"),
        )
    } else if let (Some(project), Some(sha)) = (var("CI_PROJECT_URL"), var("CI_COMMIT_SHA")) {
        let project = project.trim_end_matches('/');
        (format!("{project}/-/blob/{sha}"), var("CI_PROJECT_DIR"))
    } else {
        return None;
    };
    let root = match root {
        Some(root) => PathBuf::from(root),
        None => std::env::current_dir().ok()?,
    };
    let root = root.canonicalize().ok()?;
    let inside = dir.canonicalize().ok()?;
    let relative = inside.strip_prefix(&root).ok()?;
    let dir_in_repo: Vec<String> = relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(ManifestLinks {
        blob_url,
        dir: dir.to_path_buf(),
        dir_in_repo: dir_in_repo.join("/"),
    })
}

/// `pull_request.head.sha` of a GitHub event file, where the event is a pull request's.
fn pull_request_head(event: &Path) -> Option<String> {
    let text = crate::fs::read_input_text(event, crate::fs::MAX_EVENT_BYTES).ok()?;
    let event: serde_json::Value = serde_json::from_str(&text).ok()?;
    event["pull_request"]["head"]["sha"]
        .as_str()
        .map(str::to_owned)
}
