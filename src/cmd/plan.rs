//! `slascone-sync plan`: read SLASCONE, diff, render; optionally save the plan.

use std::io::Write;

use anyhow::Context;

use crate::cli::{GlobalArgs, PlanArgs};
use crate::exit::Outcome;
use crate::render::{self, Format, Style};

use super::pipeline::{Keep, make_plan};
use super::{Session, load_manifests, print_problems, use_color};

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<Outcome> {
    let Some(manifests) = load_manifests(&args.dir, global) else {
        return Ok(Outcome::Error);
    };
    let session = Session::connect(global, &manifests, &args.read).await?;
    let planned = make_plan(&session, manifests, &args.read, Keep::Nothing).await;
    session.close().await;
    let planned = match planned? {
        Ok(planned) => planned,
        Err(problems) => {
            print_problems(&problems);
            return Ok(Outcome::Error);
        }
    };
    // Freeing the states of a large account piece by piece takes longer than the diff; the
    // process ends right after, and the system reclaims the memory at once.
    let planned = std::mem::ManuallyDrop::new(planned);
    let plan = &planned.plan;
    if let Some(path) = &args.out {
        let mut bytes = Vec::new();
        render::render(plan, Format::Json, &mut bytes, Style { color: false })?;
        crate::fs::write_atomically(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("Saved the plan to {}.", path.display());
    }
    let style = Style {
        color: args.format == Format::Text && use_color(global),
    };
    let mut stdout = std::io::stdout().lock();
    render::render(plan, args.format, &mut stdout, style)?;
    stdout.flush()?;
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        Outcome::ChangesPending
    } else {
        Outcome::Success
    })
}
