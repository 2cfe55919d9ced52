//! `slascone-sync ids`: the SLASCONE ids of the managed licenses and customers, matched as plan
//! matches them, so that an ERP can store them beside its own numbers.

use crate::cli::{GlobalArgs, IdsArgs};
use crate::engine::UsageReads;
use crate::exit::Outcome;
use crate::plan::ids::{self, IdsFormat};
use crate::render::{self, Format, count};

use super::{connect_and_plan, load_manifests, progress_events, write_rendering};

pub async fn run(global: &GlobalArgs, args: &IdsArgs) -> anyhow::Result<Outcome> {
    let Some(manifests) = load_manifests(&args.dir, global, &progress_events()) else {
        return Ok(Outcome::Error);
    };
    let portal_url = manifests.project.portal_url.clone();
    let Some(planned) = connect_and_plan(global, manifests, &args.read, UsageReads::Skip).await?
    else {
        return Ok(Outcome::Error);
    };
    let rows = ids::ids(&planned.desired, &planned.current, &portal_url);
    let stdout = std::io::stdout().lock();
    match args.format {
        IdsFormat::Csv => write_rendering(stdout, Format::Text, false, |out| {
            render::ids::csv(&rows, out)
        })?,
        IdsFormat::Json => write_rendering(stdout, Format::Json, false, |out| {
            render::ids::json(&rows, out)
        })?,
    }
    let pending = rows.iter().filter(|row| row.is_pending()).count();
    if pending > 0 {
        say!(
            "{} not in SLASCONE yet, so {} no id: apply creates {}.",
            count(pending, "row is", "rows are"),
            if pending == 1 { "it has" } else { "they have" },
            if pending == 1 { "it" } else { "them" },
        );
    }
    Ok(Outcome::Success)
}
