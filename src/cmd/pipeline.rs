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
    // The custom lists cost one request, and only when some manifest sets constrained
    // variables: their values are checked before anything is written.
    let custom_lists = async {
        if resolve::uses_constrained_variables(&manifests) {
            session.client.custom_lists().await.map(Some)
        } else {
            Ok(None)
        }
    };
    let ((mut catalog, mut wire_customers), custom_lists) = tokio::try_join!(
        current::fetch_catalog(
            &session.client,
            &products,
            parallelism,
            current::Scope::Everything,
        ),
        custom_lists,
    )?;
    catalog.custom_lists = custom_lists;
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
        read_usage(session, &mut plan, &current, &remote.catalog, parallelism).await;
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
/// and adds it to the change's risk reasons: `GET /licenses/{id}/assignments` for tokens, and
/// `POST /licenses/filtered` (its customer's licenses of its product) for users and floating
/// tokens, each page by page. No other change costs a read. A read that fails is a reason too
/// ("usage not read: …"), not a failed plan and not silence.
async fn read_usage(
    session: &Session,
    plan: &mut Plan,
    current: &CurrentState,
    catalog: &crate::remote::catalog::Catalog,
    parallelism: usize,
) {
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
                usage.tokens = Some(match client.license_assignments(id).await {
                    Ok(assignments) => {
                        let activated = assignments.iter().filter(|a| a.activated).count();
                        Ok(i64::try_from(activated).unwrap_or(i64::MAX))
                    }
                    Err(err) => Err(err.to_string()),
                });
            }
            if tree {
                let (users, floating) = light_row_usage(&client, product, customer, id).await;
                usage.users = Some(users);
                usage.floating_tokens = Some(floating);
            }
            (index, usage)
        });
    }
    while let Some(joined) = reads.join_next().await {
        let (index, usage) = match joined {
            Ok(read) => read,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        add_usage(&mut plan.changes[index], &usage);
    }
}

/// Named users and floating tokens in use, from the license's row of the light listing; why
/// not, for each, where they cannot be read.
async fn light_row_usage(
    client: &crate::remote::Client,
    product: Option<Uuid>,
    customer: Option<Uuid>,
    license: Uuid,
) -> (Result<i64, String>, Result<i64, String>) {
    let (Some(product), Some(customer)) = (product, customer) else {
        let why = Err("the license's product or customer is not known".to_owned());
        return (why.clone(), why);
    };
    let row = match client.license_tree(product, customer, license).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            let why = Err(format!(
                "POST {}: license {license} is not among its customer's licenses",
                client.path("/licenses/filtered")
            ));
            return (why.clone(), why);
        }
        Err(err) => return (Err(err.to_string()), Err(err.to_string())),
    };
    let field = |value: Option<i64>, name: &str| {
        value.ok_or_else(|| {
            format!(
                "POST {}: the row of license {license} has no {name}",
                client.path("/licenses/filtered")
            )
        })
    };
    (
        field(row.active_users, "active_users"),
        field(row.active_floating_tokens, "active_floating_tokens"),
    )
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
            (count, of) => format!(
                ", {count} contact{} of {of} customer{}",
                if count == 1 { "" } else { "s" },
                if of == 1 { "" } else { "s" }
            ),
        };
        progress(&format!(
            "Read {customers} customers and {licenses} licenses{contacts} in {} requests ({:.1?}).",
            self.session.client.request_count() - self.before,
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
