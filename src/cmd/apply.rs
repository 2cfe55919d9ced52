//! `slascone-sync apply`: plan (or load a saved plan and check it is still current), confirm,
//! execute, report.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::apply::{self, ApplyInput};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::current::{self, Scope};
use crate::exit::Outcome;
use crate::model::Kind;
use crate::plan::{Action, Change, Plan, Risk};
use crate::remote::convert;
use crate::remote::wire::{CustomerContactDto, CustomerDto, LicenseDto};
use crate::remote::{ApiError, Client};
use crate::render::{self, Format, Style};
use crate::text::shown;

use super::pipeline::{Keep, UsageReads, customer_keys, make_plan};
use super::{Session, load_manifests, print_problems, progress, use_color, write_rendering};

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<Outcome> {
    let Some(manifests) = load_manifests(&args.dir, global) else {
        return Ok(Outcome::Error);
    };
    let session = Session::connect(global, &manifests, &args.read).await?;
    let result = run_in(&session, global, args, manifests).await;
    session.close().await;
    result
}

/// What apply executes: a plan and the objects it was made from.
struct Ready {
    plan: Plan,
    customers: Vec<CustomerDto>,
    licenses: Vec<LicenseDto>,
    contacts: Vec<CustomerContactDto>,
    catalog: crate::remote::catalog::Catalog,
    customer_keys: HashMap<String, Uuid>,
}

async fn run_in(
    session: &Session,
    global: &GlobalArgs,
    args: &ApplyArgs,
    manifests: crate::manifest::Manifests,
) -> anyhow::Result<Outcome> {
    let parallelism = usize::from(args.read.parallelism);
    let limits = Limits {
        max_changes: manifests.project.max_changes,
        max_risk: manifests.project.max_risk,
    };
    let ready = match &args.plan {
        Some(path) => saved_plan(session, path, &manifests, parallelism).await?,
        None => fresh_plan(session, global, args, manifests).await?,
    };
    let ready = match ready {
        Ok(ready) => ready,
        Err(outcome) => return Ok(outcome),
    };
    if ready.plan.is_empty() {
        if args.plan.is_some() {
            say_out!("No changes.");
        }
        return Ok(Outcome::Success);
    }
    if let Some(outcome) = gate(&ready.plan, limits, args)? {
        return Ok(outcome);
    }
    execute(session, ready, parallelism, args.format).await
}

/// A plan saved by `plan --out`, if it is for this target and SLASCONE has not changed the
/// objects it touches since.
async fn saved_plan(
    session: &Session,
    path: &Path,
    manifests: &crate::manifest::Manifests,
    parallelism: usize,
) -> anyhow::Result<Result<Ready, Outcome>> {
    let text = crate::fs::read_input_text(path, crate::fs::MAX_PLAN_BYTES)
        .with_context(|| format!("cannot read the saved plan {}", path.display()))?;
    // The version first: a newer plan's shape may not read as this one's at all.
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|plan| plan.get("format_version")?.as_u64());
    if let Some(version) = version
        && !(1..=u64::from(crate::plan::FORMAT_VERSION)).contains(&version)
    {
        anyhow::bail!(
            "{} has plan format_version {version}; this slascone-sync reads versions 1 to {}",
            path.display(),
            crate::plan::FORMAT_VERSION
        );
    }
    let mut plan: Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a plan saved by `plan --out`", path.display()))?;
    // The file's grades are not trusted: the ceiling applies to what the changes do.
    let today = super::pipeline::today(&manifests.project.timezone)?;
    crate::plan::risk::grade_plan(&mut plan, Some(today));
    if plan.target != session.target {
        say!(
            "error: the plan was made for {} (isv {}), not for {} (isv {}); refusing to apply it",
            shown(&plan.target.api_url),
            plan.target.isv_id,
            shown(&session.target.api_url),
            session.target.isv_id
        );
        return Ok(Err(Outcome::Refused));
    }
    let products: BTreeSet<String> = plan
        .changes
        .iter()
        .filter_map(|c| c.identity.product().map(str::to_owned))
        .collect();
    let mut remote =
        current::fetch(&session.client, &products, parallelism, Scope::CatalogOnly).await?;
    remote.catalog.zone = manifests.project.timezone.clone();
    let product_ids: HashMap<String, Uuid> = remote
        .catalog
        .products
        .iter()
        .map(|(name, product)| (name.clone(), product.product.id))
        .collect();
    let rechecked = recheck(&session.client, &plan, parallelism, &product_ids).await?;
    if !rechecked.stale.is_empty() {
        say!("error: SLASCONE changed since the plan was made; refusing to apply it:");
        for line in &rechecked.stale {
            say!("  {}", shown(line));
        }
        say!("hint: run plan again and review the new plan");
        return Ok(Err(Outcome::Refused));
    }
    Ok(Ok(Ready {
        plan,
        customers: rechecked.customers,
        licenses: rechecked.licenses,
        contacts: rechecked.contacts,
        catalog: remote.catalog,
        customer_keys: HashMap::new(),
    }))
}

/// A plan made now from the manifests, shown for confirmation: on stdout with a text report,
/// on stderr otherwise, so stdout holds only the JSON or markdown report.
async fn fresh_plan(
    session: &Session,
    global: &GlobalArgs,
    args: &ApplyArgs,
    manifests: crate::manifest::Manifests,
) -> anyhow::Result<Result<Ready, Outcome>> {
    let planned = match make_plan(
        session,
        manifests,
        &args.read,
        Keep::WireObjects,
        UsageReads::Read,
    )
    .await?
    {
        Ok(planned) => planned,
        Err(problems) => {
            print_problems(&problems);
            return Ok(Err(Outcome::Error));
        }
    };
    if args.format == Format::Text {
        let style = Style {
            color: use_color(global),
            manifest_links: None,
        };
        write_rendering(std::io::stdout().lock(), Format::Text, style.color, |out| {
            render::render(&planned.plan, Format::Text, &mut &mut *out, &style)
        })?;
    } else {
        write_rendering(std::io::stderr().lock(), Format::Text, false, |out| {
            render::render(
                &planned.plan,
                Format::Text,
                &mut &mut *out,
                &Style::default(),
            )
        })?;
    }
    let customer_keys = customer_keys(&planned.desired);
    let remote = planned.remote;
    Ok(Ok(Ready {
        plan: planned.plan,
        customers: remote.customers,
        licenses: remote.licenses,
        contacts: remote.contacts,
        catalog: remote.catalog,
        customer_keys,
    }))
}

/// The project's `safety` settings.
#[derive(Clone, Copy)]
struct Limits {
    max_changes: usize,
    max_risk: Risk,
}

/// The safety limits and the confirmation; `Some` when apply must stop here. `--force` lifts both
/// limits.
fn gate(plan: &Plan, limits: Limits, args: &ApplyArgs) -> anyhow::Result<Option<Outcome>> {
    let Limits {
        max_changes,
        max_risk,
    } = limits;
    let riskier: Vec<&Change> = plan.changes.iter().filter(|c| c.risk > max_risk).collect();
    if !riskier.is_empty() && !args.force {
        say!(
            "error: the plan holds {} above safety.max_risk ({}); refusing to apply it:",
            if riskier.len() == 1 {
                "a change".to_owned()
            } else {
                format!("{} changes", riskier.len())
            },
            max_risk.as_str()
        );
        for change in &riskier {
            say!(
                "  {} {} ({} risk: {})",
                change.kind(),
                shown(&change.key),
                change.risk.as_str(),
                shown(&change.risk_reasons.join("; "))
            );
        }
        say!(
            "hint: review those changes, then pass --force, or raise safety.max_risk in slascone.yaml"
        );
        return Ok(Some(Outcome::Refused));
    }
    if plan.change_count() > max_changes && !args.force {
        say!(
            "error: the plan has {} changes, more than safety.max_changes ({max_changes}); refusing to apply it",
            plan.change_count()
        );
        say!(
            "hint: review the plan, then pass --force, or raise safety.max_changes in slascone.yaml"
        );
        return Ok(Some(Outcome::Refused));
    }
    if !args.auto_approve && !confirm(plan.change_count())? {
        return Ok(Some(Outcome::Error));
    }
    Ok(None)
}

/// Sends the plan's requests with a progress bar, then prints the report.
async fn execute(
    session: &Session,
    ready: Ready,
    parallelism: usize,
    format: Format,
) -> anyhow::Result<Outcome> {
    let plan = &ready.plan;
    progress(&format!("Applying {} changes...", plan.change_count()));
    let bar = super::progress::Progress::new(plan.change_count());
    let on_done = {
        let bar = Arc::clone(&bar);
        Arc::new(move |entry: &apply::Entry| bar.record(entry))
    };
    let before = session.client.request_count();
    let report = apply::apply(
        &session.client,
        ApplyInput {
            plan,
            catalog: &ready.catalog,
            customers: ready.customers,
            licenses: ready.licenses,
            contacts: ready.contacts,
            customer_keys: ready.customer_keys,
            parallelism,
            on_done,
        },
    )
    .await;
    bar.finish();
    progress(&format!(
        "Sent {} requests.",
        session.client.request_count() - before
    ));
    write_rendering(std::io::stdout().lock(), format, false, |out| {
        render::apply_report::render(&report, format, out)
    })?;
    Ok(if report.is_partial() {
        Outcome::PartialFailure
    } else {
        Outcome::Success
    })
}

/// Asks on the terminal; refuses outright without one.
fn confirm(changes: usize) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "apply needs confirmation, and there is no terminal to ask on; pass --auto-approve to apply without asking"
        );
    }
    eprint!("Apply these {changes} changes to SLASCONE? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(true)
    } else {
        say!("Apply cancelled.");
        Ok(false)
    }
}

/// Re-reads every object a saved plan touches. Returns the objects and, for each one that
/// changed (or appeared) since the plan was made, a line naming it.
async fn recheck(
    client: &Client,
    plan: &Plan,
    parallelism: usize,
    product_ids: &HashMap<String, Uuid>,
) -> Result<Rechecked, ApiError> {
    let semaphore = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = JoinSet::new();
    for change in &plan.changes {
        let client = client.clone();
        let change = change.clone();
        let semaphore = Arc::clone(&semaphore);
        let product_id = change
            .identity
            .product()
            .and_then(|p| product_ids.get(p))
            .copied();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            recheck_one(&client, &change, product_id).await
        });
    }
    let mut rechecked = Rechecked::default();
    while let Some(joined) = tasks.join_next().await {
        let checked = match joined {
            Ok(checked) => checked?,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        match checked {
            Checked::Customer(customer) => rechecked.customers.push(customer),
            Checked::License(license) => rechecked.licenses.push(license),
            Checked::Contact(contact) => rechecked.contacts.push(contact),
            Checked::Absent => {}
            Checked::Stale(line) => rechecked.stale.push(line),
        }
    }
    rechecked.stale.sort();
    Ok(rechecked)
}

/// The objects a saved plan updates, as they are now, and a line for each that changed since.
#[derive(Default)]
struct Rechecked {
    customers: Vec<CustomerDto>,
    licenses: Vec<LicenseDto>,
    contacts: Vec<CustomerContactDto>,
    stale: Vec<String>,
}

enum Checked {
    Customer(CustomerDto),
    License(LicenseDto),
    Contact(CustomerContactDto),
    Absent,
    Stale(String),
}

async fn recheck_one(
    client: &Client,
    change: &Change,
    product_id: Option<Uuid>,
) -> Result<Checked, ApiError> {
    let name = format!("{} {}", change.kind(), change.key);
    match (change.kind(), change.action) {
        (Kind::Customer, Action::Update) => {
            let found = match change.id() {
                Some(id) => client.get_customer(id).await?,
                None => None,
            };
            Ok(match found {
                None => Checked::Stale(format!("{name} no longer exists")),
                Some(c) if Some(convert::fingerprint(&c)) != change.fingerprint => {
                    Checked::Stale(format!("{name} changed"))
                }
                Some(c) => Checked::Customer(c),
            })
        }
        (Kind::Customer, Action::Create) => {
            Ok(match apply::find_customer(client, change).await? {
                Some(_) => Checked::Stale(format!("{name} was created by someone else")),
                None => Checked::Absent,
            })
        }
        (Kind::License, Action::Update) => {
            let found = match change.id() {
                Some(id) => client.get_license(id).await?,
                None => None,
            };
            Ok(match found {
                None => Checked::Stale(format!("{name} no longer exists")),
                Some(l) if Some(convert::fingerprint(&l)) != change.fingerprint => {
                    Checked::Stale(format!("{name} changed"))
                }
                Some(l) => Checked::License(l),
            })
        }
        (Kind::License, Action::Create) => {
            let created = Checked::Stale(format!("{name} was created by someone else"));
            if let Some(id) = change.id()
                && client.get_license(id).await?.is_some()
            {
                return Ok(created);
            }
            if let Some(product_id) = product_id
                && apply::find_license_by_key(client, change, product_id)
                    .await?
                    .is_some()
            {
                return Ok(created);
            }
            Ok(Checked::Absent)
        }
        (Kind::Contact, action) => {
            let found = apply::find_contact(client, change).await?;
            Ok(match (action, found) {
                (Action::Create, Some(_)) => {
                    Checked::Stale(format!("{name} was created by someone else"))
                }
                (Action::Create, None) => Checked::Absent,
                (Action::Update, None) => Checked::Stale(format!("{name} no longer exists")),
                (Action::Update, Some(c))
                    if Some(convert::fingerprint(&c)) != change.fingerprint =>
                {
                    Checked::Stale(format!("{name} changed"))
                }
                (Action::Update, Some(c)) => Checked::Contact(c),
            })
        }
    }
}
