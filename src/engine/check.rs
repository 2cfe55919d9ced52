//! Before anything is written: the project's safety rules, and whether a saved plan is still
//! the plan for this target and for what SLASCONE holds now. Refusals are data (which rule,
//! which changes); the front end decides what to print and whether `--force` lifts them.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;
use uuid::Uuid;

use super::{Connection, Ready};
use crate::apply;
use crate::current::{self, Scope};
use crate::manifest::Project;
use crate::model::Kind;
use crate::plan::{Action, Change, FORMAT_VERSION, Plan, Risk};
use crate::remote::convert;
use crate::remote::wire::{CustomerContactDto, CustomerDto, LicenseDto};
use crate::remote::{ApiError, Client};

/// The project's `safety` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Safety {
    pub max_changes: usize,
    pub max_risk: Risk,
}

impl Safety {
    pub fn of(project: &Project) -> Safety {
        Safety {
            max_changes: project.max_changes,
            max_risk: project.max_risk,
        }
    }
}

/// Which rule refused a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Changes riskier than `safety.max_risk`.
    MaxRisk(Risk),
    /// More changes than `safety.max_changes`: the limit, and how many the plan has.
    MaxChanges { max: usize, planned: usize },
    /// A saved plan made for another target.
    OtherTarget {
        planned: crate::plan::Target,
        here: crate::plan::Target,
    },
    /// A saved plan whose objects SLASCONE changed since it was made.
    Stale,
}

/// A plan refused by a rule, with the changes that broke it: for `MaxRisk` the riskier changes,
/// for `Stale` one line per object that changed; none for the rules about the whole plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub rule: Rule,
    pub changes: Vec<Change>,
    /// For [`Rule::Stale`]: what changed, one line per object (`license Argus/K1 changed`).
    pub stale: Vec<String>,
}

/// The safety rules a plan breaks, in the order they are checked: `max_risk`, then
/// `max_changes`. Empty when it may be applied.
pub fn check(plan: &Plan, safety: Safety) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    let riskier: Vec<Change> = plan
        .changes
        .iter()
        .filter(|c| c.risk > safety.max_risk)
        .cloned()
        .collect();
    if !riskier.is_empty() {
        refusals.push(Refusal {
            rule: Rule::MaxRisk(safety.max_risk),
            changes: riskier,
            stale: Vec::new(),
        });
    }
    if plan.change_count() > safety.max_changes {
        refusals.push(Refusal {
            rule: Rule::MaxChanges {
                max: safety.max_changes,
                planned: plan.change_count(),
            },
            changes: Vec::new(),
            stale: Vec::new(),
        });
    }
    refusals
}

/// A plan saved by `plan --out`, from its bytes (`name` names them in errors). A plan of a
/// format this version does not read is an error; the grades are computed again (with `today`
/// for the expiry radar), since the file's are not trusted.
pub fn read_saved_plan(bytes: &[u8], name: &str, today: jiff::civil::Date) -> anyhow::Result<Plan> {
    // The version first: a newer plan's shape may not read as this one's at all.
    let version = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|plan| plan.get("format_version")?.as_u64());
    if let Some(version) = version
        && !(1..=u64::from(FORMAT_VERSION)).contains(&version)
    {
        anyhow::bail!(
            "{name} has plan format_version {version}; this slascone-sync reads versions 1 to {FORMAT_VERSION}"
        );
    }
    let mut plan: Plan = serde_json::from_slice(bytes)
        .with_context(|| format!("{name} is not a plan saved by `plan --out`"))?;
    crate::plan::risk::grade_plan(&mut plan, Some(today));
    Ok(plan)
}

/// Whether a saved plan can be applied here and now.
pub enum SavedPlan {
    /// For this target, and nothing it touches changed since: ready to apply.
    Current(Box<Ready>),
    Refused(Refusal),
}

/// Checks a saved plan against the connection's target and re-reads every object it touches.
pub async fn recheck_saved(
    connection: &Connection,
    plan: Plan,
    project: &Project,
) -> anyhow::Result<SavedPlan> {
    if plan.target != connection.target {
        return Ok(SavedPlan::Refused(Refusal {
            rule: Rule::OtherTarget {
                planned: plan.target.clone(),
                here: connection.target.clone(),
            },
            changes: Vec::new(),
            stale: Vec::new(),
        }));
    }
    let products: BTreeSet<String> = plan
        .changes
        .iter()
        .filter_map(|c| c.identity.product().map(str::to_owned))
        .collect();
    let parallelism = connection.parallelism;
    let client = &connection.client;
    let mut remote = current::fetch(client, &products, parallelism, Scope::CatalogOnly).await?;
    remote.catalog.zone = project.timezone.clone();
    let product_ids: HashMap<String, Uuid> = remote
        .catalog
        .products
        .iter()
        .map(|(name, product)| (name.clone(), product.product.id))
        .collect();
    let checked = crate::fanout::try_all(&plan.changes, parallelism, |change| {
        let client = client.clone();
        let change = change.clone();
        let product_id = change
            .identity
            .product()
            .and_then(|p| product_ids.get(p))
            .copied();
        async move { recheck_one(&client, &change, product_id).await }
    })
    .await?;
    let mut stale = Vec::new();
    for checked in checked {
        match checked {
            Checked::Customer(customer) => remote.customers.push(customer),
            Checked::License(license) => remote.licenses.push(license),
            Checked::Contact(contact) => remote.contacts.push(contact),
            Checked::Absent => {}
            Checked::Stale(line) => stale.push(line),
        }
    }
    if !stale.is_empty() {
        stale.sort();
        return Ok(SavedPlan::Refused(Refusal {
            rule: Rule::Stale,
            changes: Vec::new(),
            stale,
        }));
    }
    Ok(SavedPlan::Current(Box::new(Ready {
        plan,
        remote,
        customer_keys: HashMap::new(),
    })))
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
