//! read → resolve → diff → usage → create checks: what `plan`, `apply`, `pull` and `export`
//! share.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use super::{Connection, Event, Events, Ready};
use crate::current::{self, Remote};
use crate::manifest::{self, Manifests, Problems};
use crate::model::fields::{CUSTOMER, Limit, Role};
use crate::model::{CurrentState, DesiredState, Kind};
use crate::plan::risk::InUse;
use crate::plan::{Action, DiffContext, Endpoint, Plan};
use crate::remote::convert;
use crate::resolve;

/// What [`plan`] came to: a plan, or the manifests' problems found against SLASCONE (names that
/// do not resolve, creates SLASCONE would refuse); from [`load_and_plan`], also those found
/// loading them.
pub enum Planning {
    Planned(Box<Planned>),
    Problems(Problems),
}

/// Everything plan computed, kept for apply.
pub struct Planned {
    pub plan: Plan,
    /// Without its customers and licenses unless they were asked to be kept.
    pub remote: Remote,
    pub desired: DesiredState,
    /// Returned rather than freed here, so a caller about to exit can skip freeing it.
    pub current: CurrentState,
}

impl Planned {
    /// What [`super::apply()`] needs of this plan: the plan and the wire objects it was made from
    /// (read with [`Keep::WireObjects`]).
    pub fn ready(self) -> Ready {
        Ready {
            customer_keys: customer_keys(&self.desired),
            plan: self.plan,
            remote: self.remote,
        }
    }
}

/// Whether [`plan`] keeps the wire objects it read (apply writes them back whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    WireObjects,
    Nothing,
}

/// Whether [`plan`] reads what is in use behind the limits a plan lowers: a reviewer's
/// reason, which `pull` does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageReads {
    Read,
    Skip,
}

/// Reads SLASCONE, resolves the manifests' names and diffs, reads usage behind lowered limits,
/// and checks the creates.
///
/// Names are resolved while the licenses are read, since resolving needs only the catalog. The
/// manifests are taken because resolving frees them: on a large repository the manifests, the
/// wire objects and the two states would not all fit in memory at once.
pub async fn plan(
    connection: &Connection,
    manifests: Manifests,
    keep: Keep,
    usage: UsageReads,
    events: &Events,
) -> anyhow::Result<Planning> {
    plan_with(connection, manifests, None, keep, usage, events).await
}

/// [`super::load`] and [`plan`] in one: what SLASCONE holds whatever the manifests say (the
/// types, the products and every customer: [`current::Basics`]) is read while the manifests of
/// `dir` load, so a large account's longest listing is not waited for after the longest load.
///
/// The manifests' problems come back as [`Planning::Problems`], and what was being read is then
/// dropped unread; a failed read counts only once the manifests are known to be sound.
pub async fn load_and_plan(
    connection: &Connection,
    dir: &Path,
    env: Option<&str>,
    keep: Keep,
    usage: UsageReads,
    events: &Events,
) -> anyhow::Result<Planning> {
    let started = Instant::now();
    let before = connection.client.request_count();
    let basics = current::fetch_basics(&connection.client, current::Scope::Everything);
    let loading = {
        let (dir, env, events) = (
            dir.to_path_buf(),
            env.map(str::to_owned),
            Arc::clone(events),
        );
        tokio::task::spawn_blocking(move || super::load(&dir, env.as_deref(), &events))
    };
    tokio::pin!(basics, loading);
    let mut read = None;
    let loaded = loop {
        tokio::select! {
            result = &mut basics, if read.is_none() => read = Some(result),
            loaded = &mut loading => break loaded,
        }
    };
    let manifests = match loaded {
        Ok(Ok(manifests)) => manifests,
        Ok(Err(problems)) => return Ok(Planning::Problems(problems)),
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    };
    let basics = match read {
        Some(result) => result?,
        None => basics.await?,
    };
    let begun = Begun {
        started,
        before,
        basics,
    };
    plan_with(connection, manifests, Some(begun), keep, usage, events).await
}

/// A read begun before the manifests were loaded: when, at which request count, and what it
/// read.
struct Begun {
    started: Instant,
    before: u64,
    basics: current::Basics,
}

async fn plan_with(
    connection: &Connection,
    mut manifests: Manifests,
    begun: Option<Begun>,
    keep: Keep,
    usage: UsageReads,
    events: &Events,
) -> anyhow::Result<Planning> {
    let products = resolve::products_used(&manifests);
    let parallelism = connection.parallelism;
    let since = begun.as_ref().map(|begun| (begun.started, begun.before));
    let reading = Reading::start(connection, &products, events, since);
    let basics = begun.map(|begun| begun.basics);
    // The custom lists cost one request, and only when some manifest sets constrained
    // variables: their values are checked before anything is written.
    let custom_lists = async {
        if resolve::uses_constrained_variables(&manifests) {
            connection.client.custom_lists().await.map(Some)
        } else {
            Ok(None)
        }
    };
    let catalog = async {
        let basics = match basics {
            Some(basics) => basics,
            None => current::fetch_basics(&connection.client, current::Scope::Everything).await?,
        };
        current::catalog_of(&connection.client, basics, &products, parallelism).await
    };
    let ((mut catalog, mut wire_customers), custom_lists) =
        tokio::try_join!(catalog, custom_lists)?;
    catalog.custom_lists = custom_lists;
    catalog.zone = manifests.project.timezone.clone();
    let customers = std::mem::take(&mut manifests.customers);
    let resolving = {
        let catalog = catalog.clone();
        tokio::task::spawn_blocking(move || resolve::resolve_customers(customers, &catalog))
    };
    let client = &connection.client;
    let (mut current, wire_licenses) = match keep {
        Keep::WireObjects => {
            let wire_licenses =
                current::fetch_licenses(client, &catalog, &products, parallelism).await?;
            let current = current::current_state_of(&catalog, &wire_customers, &wire_licenses);
            (current, wire_licenses)
        }
        Keep::Nothing => {
            // Reduced before the licenses are read, so the wire customers are not held through
            // the longest part of the read.
            let customers = std::mem::take(&mut wire_customers)
                .iter()
                .map(|customer| convert::current_customer(&catalog, customer))
                .collect();
            let licenses =
                current::fetch_current_licenses(client, &catalog, &products, parallelism).await?;
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
        Ok(Err(problems)) => return Ok(Planning::Problems(problems)),
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    };
    let (ignore_customer, ignore_license) = resolve::project_ignores(&manifests);
    if ignore_customer
        .iter()
        .any(|path| path == crate::model::fields::CONTACTS)
    {
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
        target: connection.target.clone(),
        portal_url: manifests.project.portal_url.clone(),
        ignore_customer,
        ignore_license,
        today: Some(connection.today(&manifests.project.timezone)),
        expiring_within_days: manifests.project.expiring_within_days,
    };
    let mut plan = crate::plan::diff(&desired, &current, &context);
    events(&Event::Compared {
        elapsed: started.elapsed(),
    });
    if usage == UsageReads::Read {
        let most = manifests.project.max_usage_reads;
        read_usage(
            connection,
            &mut plan,
            &current,
            &remote.catalog,
            parallelism,
            most,
        )
        .await;
    }
    let problems = create_problems(&plan);
    if !problems.0.is_empty() {
        return Ok(Planning::Problems(problems));
    }
    Ok(Planning::Planned(Box::new(Planned {
        plan,
        remote,
        desired,
        current,
    })))
}

/// For each change that lowers a license's token, user or floating limit, reads what is in use
/// and adds it to the change's risk reasons: `GET /licenses/{id}/assignments` for tokens, and
/// `POST /licenses/filtered` (its customer's licenses of its product) for users and floating
/// tokens, each page by page. No other change costs a read. A read that fails is a reason too
/// ("usage not read: …"), not a failed plan and not silence.
async fn read_usage(
    connection: &Connection,
    plan: &mut Plan,
    current: &CurrentState,
    catalog: &crate::remote::catalog::Catalog,
    parallelism: usize,
    most: usize,
) {
    use crate::plan::risk::{Usage, add_usage, lowered_limits};

    let owners: HashMap<Uuid, Uuid> = current
        .licenses
        .iter()
        .map(|license| (license.id, license.customer_id))
        .collect();
    let mut wanted = Vec::new();
    for (index, change) in plan.changes.iter().enumerate() {
        let lowered = lowered_limits(change);
        let (Some(id), false) = (change.id(), lowered.is_empty()) else {
            continue;
        };
        let tokens = lowered.iter().any(|(_, limit)| *limit == Limit::Tokens);
        let tree = lowered
            .iter()
            .any(|(_, limit)| matches!(limit, Limit::Users | Limit::FloatingTokens));
        let product = change
            .identity
            .product()
            .and_then(|name| catalog.products.get(name))
            .map(|product| product.product.id);
        let customer = owners.get(&id).copied();
        wanted.push((index, id, tokens, tree, product, customer));
    }
    // At most `most` licenses are read (`warnings.max_usage_reads`), the riskiest first; the
    // others say why they were not, so a reviewer never takes silence for room to spare.
    if wanted.len() > most {
        wanted.sort_by_key(|wanted| std::cmp::Reverse(plan.changes[wanted.0].risk));
        let why = format!(
            "this plan lowers limits of {}, and warnings.max_usage_reads reads {most}",
            match wanted.len() {
                1 => "1 license".to_owned(),
                n => format!("{} licenses", crate::render::thousands(n)),
            }
        );
        for (index, _, tokens, tree, _, _) in wanted.split_off(most) {
            let skipped = || Some(Err(why.clone()));
            let usage = Usage {
                tokens: if tokens { skipped() } else { None },
                users: if tree { skipped() } else { None },
                floating_tokens: if tree { skipped() } else { None },
            };
            add_usage(&mut plan.changes[index], &usage);
        }
    }
    let usages = crate::fanout::all(
        wanted,
        parallelism,
        |(index, id, tokens, tree, product, customer)| {
            let client = connection.client.clone();
            async move {
                let mut usage = Usage::default();
                if tokens {
                    usage.tokens = Some(match client.license_assignments(id).await {
                        Ok(read) => {
                            let activated = read.rows.iter().filter(|a| a.activated).count();
                            let activated = i64::try_from(activated).unwrap_or(i64::MAX);
                            Ok(if read.complete {
                                InUse::Exactly(activated)
                            } else {
                                InUse::AtLeast(activated)
                            })
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
            }
        },
    )
    .await;
    for (index, usage) in usages {
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
) -> (Result<InUse, String>, Result<InUse, String>) {
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
    // The row is the license's own, so its counts are the whole of it.
    (
        field(row.active_users, "active_users").map(InUse::Exactly),
        field(row.active_floating_tokens, "active_floating_tokens").map(InUse::Exactly),
    )
}

/// The events around a read of SLASCONE.
struct Reading<'s> {
    connection: &'s Connection,
    events: &'s Events,
    started: Instant,
    before: u64,
}

impl<'s> Reading<'s> {
    /// `since`: when the read began and the request count then, for a read begun earlier.
    fn start(
        connection: &'s Connection,
        products: &BTreeSet<String>,
        events: &'s Events,
        since: Option<(Instant, u64)>,
    ) -> Self {
        events(&Event::Reading {
            target: &connection.target.api_url,
            products: products.len(),
        });
        let (started, before) =
            since.unwrap_or_else(|| (Instant::now(), connection.client.request_count()));
        Reading {
            connection,
            events,
            started,
            before,
        }
    }

    /// `contacts`: how many contacts were read, of how many customers.
    fn done(self, customers: usize, licenses: usize, contacts: (usize, usize)) {
        (self.events)(&Event::Read {
            customers,
            licenses,
            contacts,
            requests: self.connection.client.request_count() - self.before,
            elapsed: self.started.elapsed(),
        });
    }
}

/// Reads everything `export` writes: the catalog, all customers with their contacts, and the
/// licenses of the products named in `chosen` (of every product when it names none). A name
/// SLASCONE does not know is an error that lists the ones it does.
pub async fn read_remote(
    connection: &Connection,
    chosen: &[String],
    events: &Events,
) -> anyhow::Result<Remote> {
    let all: BTreeSet<String> = connection
        .client
        .products()
        .await?
        .into_iter()
        .map(|product| product.name)
        .collect();
    let products: BTreeSet<String> = if chosen.is_empty() {
        all.clone()
    } else {
        chosen.iter().cloned().collect()
    };
    let unknown: Vec<&String> = products.difference(&all).collect();
    if !unknown.is_empty() {
        let names = |set: Vec<&String>| {
            set.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        anyhow::bail!(
            "SLASCONE has no product {}; known products: {}",
            names(unknown),
            names(all.iter().collect())
        );
    }
    let reading = Reading::start(connection, &products, events, None);
    let parallelism = connection.parallelism;
    let mut remote = current::fetch(
        &connection.client,
        &products,
        parallelism,
        current::Scope::Everything,
    )
    .await?;
    let customers: Vec<Uuid> = remote
        .customers
        .iter()
        .map(|customer| customer.id)
        .collect();
    remote.contacts = current::fetch_contacts(&connection.client, &customers, parallelism).await?;
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
fn customer_keys(desired: &DesiredState) -> HashMap<String, Uuid> {
    desired
        .customers
        .iter()
        .filter_map(|customer| customer.id.map(|id| (customer.key.clone(), id)))
        .collect()
}
