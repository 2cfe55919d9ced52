//! read → resolve → diff: what `plan`, `apply` and `export` share.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use uuid::Uuid;

use crate::cli::{GlobalArgs, ReadArgs};
use crate::current::{self, Remote};
use crate::manifest::{self, Manifests, Problems};
use crate::model::fields::{CUSTOMER, Role};
use crate::model::{CurrentState, DesiredState, Kind};
use crate::plan::{Action, DiffContext, Endpoint, Plan};
use crate::remote::convert;
use crate::render::count;
use crate::resolve;

use super::progress;
use super::session::Session;

/// Everything plan computed, kept for apply.
pub struct Planned {
    /// Without its customers and licenses unless they were asked to be kept.
    pub remote: Remote,
    pub desired: DesiredState,
    /// Returned rather than freed here, so a caller about to exit can skip freeing it.
    #[expect(
        dead_code,
        reason = "held so that its memory is freed by the caller, or never"
    )]
    pub current: CurrentState,
    pub plan: Plan,
}

/// Whether [`make_plan`] keeps the wire objects it read (apply writes them back whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    WireObjects,
    Nothing,
}

/// Whether [`make_plan`] reads what is in use behind the limits a plan lowers: a reviewer's
/// reason, which `pull` does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageReads {
    Read,
    Skip,
}

/// Connects, reads SLASCONE and plans, then closes the connection: how `plan` and `pull` start.
/// `None` when the manifests' names do not resolve or a create would be refused; the problems
/// are printed.
pub async fn connect_and_plan(
    global: &GlobalArgs,
    manifests: Manifests,
    read: &ReadArgs,
    usage: UsageReads,
) -> anyhow::Result<Option<Planned>> {
    let session = Session::connect(global, &manifests, read).await?;
    let planned = make_plan(&session, manifests, read, Keep::Nothing, usage).await;
    session.close().await;
    match planned? {
        Ok(planned) => Ok(Some(planned)),
        Err(problems) => {
            super::print_problems(&problems);
            Ok(None)
        }
    }
}

/// Reads SLASCONE, resolves the manifests' names and diffs. `Err(problems)` for names that do
/// not resolve or creates SLASCONE would refuse.
///
/// Names are resolved while the licenses are read, since resolving needs only the catalog. The
/// manifests are taken because resolving frees them: on a large repository the manifests, the
/// wire objects and the two states would not all fit in memory at once.
pub async fn make_plan(
    session: &Session,
    mut manifests: Manifests,
    read: &ReadArgs,
    keep: Keep,
    usage: UsageReads,
) -> anyhow::Result<Result<Planned, Problems>> {
    let products = resolve::products_used(&manifests);
    let parallelism = usize::from(read.parallelism);
    let reading = Reading::start(session, &products);
    let (mut catalog, mut wire_customers) = current::fetch_catalog(
        &session.client,
        &products,
        parallelism,
        current::Scope::Everything,
    )
    .await?;
    catalog.zone = manifests.project.timezone.clone();
    let customers = std::mem::take(&mut manifests.customers);
    let resolving = {
        let catalog = catalog.clone();
        tokio::task::spawn_blocking(move || resolve::resolve_customers(customers, &catalog))
    };
    let client = &session.client;
    let (mut current, wire_licenses) = match keep {
        Keep::WireObjects => {
            let wire_licenses =
                current::fetch_licenses(client, &catalog, &products, parallelism).await?;
            let current = current::current_state_of(&catalog, &wire_customers, &wire_licenses);
            (current, wire_licenses)
        }
        Keep::Nothing => {
            let licenses =
                current::fetch_current_licenses(client, &catalog, &products, parallelism).await?;
            let customers = std::mem::take(&mut wire_customers)
                .iter()
                .map(|customer| convert::current_customer(&catalog, customer))
                .collect();
            let current = CurrentState {
                customers,
                licenses,
                contacts: Vec::new(),
            };
            (current, Vec::new())
        }
    };
    let mut desired = match resolving.await {
        Ok(Ok(desired)) => desired,
        Ok(Err(problems)) => return Ok(Err(problems)),
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    };
    let (ignore_customer, ignore_license) = resolve::project_ignores(&manifests);
    if ignore_customer.iter().any(|path| path == "contacts") {
        desired.contacts.clear();
    }
    // Contacts are read only for the customers whose manifests list some: one request each.
    let owners = crate::plan::contact_owners(&desired, &current);
    let wire_contacts = current::fetch_contacts(client, &owners, parallelism).await?;
    current.contacts = wire_contacts.iter().map(convert::current_contact).collect();
    reading.done(
        current.customers.len(),
        current.licenses.len(),
        (wire_contacts.len(), owners.len()),
    );
    let started = Instant::now();
    let remote = Remote {
        catalog,
        customers: wire_customers,
        licenses: wire_licenses,
        contacts: match keep {
            Keep::WireObjects => wire_contacts,
            Keep::Nothing => Vec::new(),
        },
    };
    let context = DiffContext {
        target: session.target.clone(),
        portal_url: manifests.project.portal_url.clone(),
        ignore_customer,
        ignore_license,
        today: Some(today(&manifests.project.timezone)?),
        expiring_within_days: manifests.project.expiring_within_days,
    };
    let mut plan = crate::plan::diff(&desired, &current, &context);
    progress(&format!(
        "Compared them with the manifests ({:.1?}).",
        started.elapsed()
    ));
    if usage == UsageReads::Read {
        read_usage(session, &mut plan, &current, &remote.catalog, parallelism).await?;
    }
    let problems = create_problems(&plan);
    if !problems.0.is_empty() {
        return Ok(Err(problems));
    }
    Ok(Ok(Planned {
        remote,
        desired,
        current,
        plan,
    }))
}

/// For each change that lowers a license's token, user or floating limit, reads what is in use
/// and adds it to the change's risk reasons: one `GET /licenses/{id}/assignments` for tokens,
/// one `POST /licenses/filtered` (its customer's licenses of its product) for users and floating
/// tokens. No other change costs a read.
async fn read_usage(
    session: &Session,
    plan: &mut Plan,
    current: &CurrentState,
    catalog: &crate::remote::catalog::Catalog,
    parallelism: usize,
) -> anyhow::Result<()> {
    use crate::plan::risk::{Usage, add_usage, lowered_limits};

    let owners: HashMap<Uuid, Uuid> = current
        .licenses
        .iter()
        .map(|license| (license.id, license.customer_id))
        .collect();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut reads = tokio::task::JoinSet::new();
    for (index, change) in plan.changes.iter().enumerate() {
        let lowered = lowered_limits(change);
        let (Some(id), false) = (change.id(), lowered.is_empty()) else {
            continue;
        };
        let tokens = lowered.contains(&"token_limit");
        let tree = lowered
            .iter()
            .any(|path| *path == "user_limit" || *path == "floating_token_limit");
        let product = change
            .identity
            .product()
            .and_then(|name| catalog.products.get(name))
            .map(|product| product.product.id);
        let customer = owners.get(&id).copied();
        let client = session.client.clone();
        let semaphore = std::sync::Arc::clone(&semaphore);
        reads.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let mut usage = Usage::default();
            if tokens {
                let assignments = client.license_assignments(id).await?;
                let activated = assignments.iter().filter(|a| a.activated).count();
                usage.tokens = Some(i64::try_from(activated).unwrap_or(i64::MAX));
            }
            if tree
                && let (Some(product), Some(customer)) = (product, customer)
                && let Some(row) = client.license_tree(product, customer, id).await?
            {
                usage.users = row.active_users;
                usage.floating_tokens = row.active_floating_tokens;
            }
            Ok::<_, crate::remote::ApiError>((index, usage))
        });
    }
    while let Some(joined) = reads.join_next().await {
        let (index, usage) = match joined {
            Ok(read) => read?,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        add_usage(&mut plan.changes[index], &usage);
    }
    Ok(())
}

/// The variable that sets the day `plan` takes as today (`YYYY-MM-DD`), for reproducible tests
/// and demos of the expiry radar.
pub const TODAY_VARIABLE: &str = "SLASCONE_SYNC_TODAY";

/// Today in the project's time zone, unless the environment says which day it is.
pub fn today(zone: &crate::dates::Zone) -> anyhow::Result<jiff::civil::Date> {
    match std::env::var(TODAY_VARIABLE) {
        Ok(text) => crate::dates::parse_date(text.trim()).ok_or_else(|| {
            anyhow::anyhow!("{TODAY_VARIABLE} must be a date like 2026-11-28, not `{text}`")
        }),
        Err(_) => Ok(zone.today()),
    }
}

/// The progress lines around a read of SLASCONE.
struct Reading<'s> {
    session: &'s Session,
    started: Instant,
    before: u64,
}

impl<'s> Reading<'s> {
    fn start(session: &'s Session, products: &BTreeSet<String>) -> Self {
        progress(&format!(
            "Reading SLASCONE ({}, {} product{})...",
            session.target.api_url,
            products.len(),
            if products.len() == 1 { "" } else { "s" }
        ));
        Reading {
            session,
            started: Instant::now(),
            before: session.client.request_count(),
        }
    }

    /// `contacts`: how many contacts were read, of how many customers.
    fn done(self, customers: usize, licenses: usize, contacts: (usize, usize)) {
        let contacts = match contacts {
            (_, 0) => String::new(),
            (read, of) => format!(
                ", {} of {}",
                count(read, "contact", "contacts"),
                count(of, "customer", "customers")
            ),
        };
        let requests = self.session.client.request_count() - self.before;
        progress(&format!(
            "Read {} and {}{contacts} in {} ({:.1?}).",
            count(customers, "customer", "customers"),
            count(licenses, "license", "licenses"),
            count(requests, "request", "requests"),
            self.started.elapsed()
        ));
    }
}

/// Reads everything `export` writes (the catalog, all customers with their contacts, the
/// licenses of `products`), with progress lines on stderr.
pub async fn read_remote(
    session: &Session,
    products: &BTreeSet<String>,
    read: &ReadArgs,
) -> anyhow::Result<Remote> {
    let reading = Reading::start(session, products);
    let parallelism = usize::from(read.parallelism);
    let mut remote = current::fetch(
        &session.client,
        products,
        parallelism,
        current::Scope::Everything,
    )
    .await?;
    let customers: Vec<Uuid> = remote
        .customers
        .iter()
        .map(|customer| customer.id)
        .collect();
    remote.contacts = current::fetch_contacts(&session.client, &customers, parallelism).await?;
    reading.done(
        remote.customers.len(),
        remote.licenses.len(),
        (remote.contacts.len(), customers.len()),
    );
    Ok(remote)
}

/// Creates SLASCONE is known to refuse, found before anything is sent: a customer created lacks
/// a field its declaration says SLASCONE requires for that way of creating it.
fn create_problems(plan: &Plan) -> Problems {
    let mut problems = Vec::new();
    for change in &plan.changes {
        if change.kind() != Kind::Customer || change.action != Action::Create {
            continue;
        }
        let has = |path: &str| {
            change
                .fields
                .iter()
                .any(|f| f.path == path && f.after.as_str().is_some_and(|v| !v.is_empty()))
        };
        let by_number = change.identity.endpoint() == Endpoint::DataExchangeCustomers;
        let missing: Vec<&str> = CUSTOMER
            .fields
            .iter()
            .filter(|f| f.role == Role::Managed)
            .filter(|f| {
                if by_number {
                    f.required_by_number
                } else {
                    f.required_by_id
                }
            })
            .map(|f| f.name)
            .filter(|path| !has(path))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let message = format!(
            "customer {} does not exist in SLASCONE yet, and creating it needs {}",
            change.key,
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let problem = match &change.origin {
            Some(origin) => manifest::Problem::at(origin.clone(), message),
            None => manifest::Problem::general(message),
        };
        problems.push(problem.with_hint("add the missing fields to the customer in its manifest"));
    }
    Problems(problems)
}

/// Keys of the manifests' customers that carry an id, so apply can name their licenses' owner.
pub fn customer_keys(desired: &DesiredState) -> HashMap<String, Uuid> {
    desired
        .customers
        .iter()
        .filter_map(|customer| customer.id.map(|id| (customer.key.clone(), id)))
        .collect()
}
