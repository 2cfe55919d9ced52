//! Apply: sends exactly one write per planned change, customers before the licenses that need
//! them, independent changes concurrently, makes every create safe to repeat, and checks that
//! every write took.
//!
//! A creating POST whose outcome is unknown (timeout, dropped connection, server error) is never
//! sent again blindly: the object is first looked up by its identity (id, customer_number, or
//! product plus legacy_license_key). A 409 "already exists" means SLASCONE has it: it is re-read
//! and updated if still needed. Licenses get a client-chosen id when the manifest gives none, so
//! that lookup is one exact read, and so that a create whose answer was lost can be told from
//! one someone else made.
//!
//! After every write the object SLASCONE answers with is compared with the fields the change
//! asked for; a field that did not take fails the change, naming it. A write answered without a
//! body (204) counts as applied, and the object is read back once to learn its id and state.
//! The report says what the run did: `created`, `updated`, or `exists` for an object someone
//! else made that already matches.

pub mod report;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::current;
use crate::model::Kind;
use crate::plan::{Action, Change, Endpoint, FieldChange, Identity, Plan, Source};
use crate::remote::catalog::{Catalog, ProductCatalog};
use crate::remote::convert;
use crate::remote::wire::{CustomerDto, LicenseDto};
use crate::remote::{ApiError, Client};
use crate::render::display_value;

use crate::remote::convert::LicenseContext;

pub use report::{ApplyReport, Entry, Status};

/// How many times a create whose outcome stayed unknown is looked up and sent again.
const CREATE_ATTEMPTS: usize = 4;

/// What apply works from: the plan and the objects as they were read for it.
pub struct ApplyInput<'a> {
    pub plan: &'a Plan,
    pub catalog: &'a Catalog,
    /// The current wire objects the plan's updates start from (by id).
    pub customers: Vec<CustomerDto>,
    pub licenses: Vec<LicenseDto>,
    /// Customer keys known to belong to an id (keys of the manifests' customers with an id).
    pub customer_keys: HashMap<String, Uuid>,
    pub parallelism: usize,
    /// Called as each change finishes (for progress display).
    pub on_done: Arc<dyn Fn(&Entry) + Send + Sync>,
}

struct Shared {
    client: Client,
    catalog: Catalog,
    customers: HashMap<Uuid, CustomerDto>,
    licenses: HashMap<Uuid, LicenseDto>,
    /// Customer key → id, growing as customers are created.
    customer_ids: Mutex<HashMap<String, Uuid>>,
}

/// Applies every change of the plan and reports each one.
pub async fn apply(client: &Client, input: ApplyInput<'_>) -> ApplyReport {
    let mut customer_ids = current::customer_ids(&input.customers);
    customer_ids.extend(input.customer_keys);
    let shared = Arc::new(Shared {
        client: client.clone(),
        catalog: input.catalog.clone(),
        customers: input.customers.into_iter().map(|c| (c.id, c)).collect(),
        licenses: input.licenses.into_iter().map(|l| (l.id, l)).collect(),
        customer_ids: Mutex::new(customer_ids),
    });
    let semaphore = Arc::new(Semaphore::new(input.parallelism.max(1)));
    let mut entries = Vec::with_capacity(input.plan.changes.len());

    let (customers, licenses): (Vec<&Change>, Vec<&Change>) = input
        .plan
        .changes
        .iter()
        .partition(|change| change.kind() == Kind::Customer);
    let on_done = input.on_done;
    let customer_entries = run_all(&shared, &semaphore, customers, &on_done).await;
    let failed: Vec<String> = customer_entries
        .iter()
        .filter(|entry| !entry.status.is_done() && entry.id.is_none())
        .map(|entry| entry.key.clone())
        .collect();
    entries.extend(customer_entries);

    let (runnable, skipped): (Vec<&Change>, Vec<&Change>) =
        licenses.into_iter().partition(|change| {
            change
                .depends_on
                .as_ref()
                .is_none_or(|customer| !failed.contains(customer))
        });
    for change in skipped {
        let customer = change.depends_on.clone().unwrap_or_default();
        let entry = Entry::skipped(change, format!("its customer {customer} was not created"));
        on_done(&entry);
        entries.push(entry);
    }
    entries.extend(run_all(&shared, &semaphore, runnable, &on_done).await);
    ApplyReport::new(entries)
}

async fn run_all(
    shared: &Arc<Shared>,
    semaphore: &Arc<Semaphore>,
    changes: Vec<&Change>,
    on_done: &Arc<dyn Fn(&Entry) + Send + Sync>,
) -> Vec<Entry> {
    let mut tasks = JoinSet::new();
    for (index, change) in changes.into_iter().enumerate() {
        let shared = Arc::clone(shared);
        let semaphore = Arc::clone(semaphore);
        let change = change.clone();
        let on_done = Arc::clone(on_done);
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let result = match (change.kind(), change.action) {
                (Kind::Customer, Action::Create) => create_customer(&shared, &change).await,
                (Kind::Customer, Action::Update) => update_customer(&shared, &change).await,
                (Kind::License, Action::Create) => create_license(&shared, &change).await,
                (Kind::License, Action::Update) => update_license(&shared, &change).await,
            };
            let entry = match result {
                Ok(done) => Entry::done(&change, done),
                Err(failure) => Entry::failed(&change, failure),
            };
            on_done(&entry);
            (index, entry)
        });
    }
    let mut entries = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(entry) => entries.push(entry),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
    entries.sort_by_key(|(index, _)| *index);
    entries.into_iter().map(|(_, entry)| entry).collect()
}

/// What a change did to SLASCONE, with the object's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// This run made the object.
    Created(Uuid),
    /// This run changed the object.
    Updated(Uuid),
    /// The object to be created was there already, as wanted: someone else made it.
    Exists(Uuid),
}

/// Why one change failed.
#[derive(Debug, Clone)]
pub enum Failure {
    Api(ApiError),
    /// A body could not be built.
    Invalid(String),
    /// The write was applied, but SLASCONE holds other values than it asked for (the message
    /// names each field). The object exists, so what depends on it can go ahead.
    Kept {
        id: Uuid,
        message: String,
    },
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Api(error)
    }
}

fn after_values(change: &Change) -> impl Iterator<Item = (&str, &Value)> {
    change.fields.iter().map(|f| (f.path.as_str(), &f.after))
}

// ---- customers -----------------------------------------------------------------------------

/// Sends the create of a customer by the identity it is written by.
async fn send_customer_create(
    shared: &Shared,
    change: &Change,
) -> Result<Result<Option<CustomerDto>, ApiError>, Failure> {
    let client = &shared.client;
    Ok(match &change.identity {
        Identity::CustomerByNumber {
            customer_number, ..
        } => {
            let body = convert::data_exchange_create_body(customer_number, after_values(change))
                .map_err(Failure::Invalid)?;
            client.create_customer_by_number(&body).await
        }
        Identity::CustomerById {
            id,
            customer_number,
        } => {
            let body = convert::customer_create_body(
                *id,
                customer_number.as_deref(),
                after_values(change),
                &shared.catalog,
            )
            .map_err(Failure::Invalid)?;
            client.create_customer(&body).await
        }
        Identity::License { .. } => {
            return Err(Failure::Invalid("a license is not a customer".into()));
        }
    })
}

async fn create_customer(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send_customer_create(shared, change).await? {
            Ok(answer) => {
                let created = answered_customer(shared, change, answer).await?;
                let id = remember_customer(shared, change, created.id);
                verify_customer(shared, change, &created)?;
                return Ok(Done::Created(id));
            }
            Err(error) if error.status() == Some(409) || error.is_ambiguous() => {
                // Already there (409), or perhaps created before the answer was lost. A customer
                // carries no id of this run's choosing, so one found now counts as someone
                // else's.
                match find_customer(&shared.client, change).await? {
                    Some(existing) => {
                        let id = remember_customer(shared, change, existing.id);
                        return Ok(if finish_customer(shared, change, &existing).await? {
                            Done::Updated(id)
                        } else {
                            Done::Exists(id)
                        });
                    }
                    None if error.is_ambiguous() && attempt < CREATE_ATTEMPTS => continue,
                    None => return Err(error.into()),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The customer a write answered with, or, for an answer without a body, read back by the
/// identity the change writes it by.
async fn answered_customer(
    shared: &Shared,
    change: &Change,
    answer: Option<CustomerDto>,
) -> Result<CustomerDto, Failure> {
    if let Some(customer) = answer {
        return Ok(customer);
    }
    find_customer(&shared.client, change).await?.ok_or_else(|| {
        Failure::Invalid(format!(
            "SLASCONE answered the write of customer {} without a body, and the customer cannot \
             be read back",
            change.key
        ))
    })
}

/// The customer a create is meant to make, looked up by the identity it is written by.
pub async fn find_customer(
    client: &Client,
    change: &Change,
) -> Result<Option<CustomerDto>, ApiError> {
    match &change.identity {
        Identity::CustomerById { id, .. } => client.get_customer(*id).await,
        Identity::CustomerByNumber {
            customer_number, ..
        } => client.get_customer_by_number(customer_number).await,
        Identity::License { .. } => Ok(None),
    }
}

/// After finding a customer that a create was meant to make: writes what still differs. True
/// when something was written.
async fn finish_customer(
    shared: &Shared,
    change: &Change,
    existing: &CustomerDto,
) -> Result<bool, Failure> {
    let current = convert::current_customer(&shared.catalog, existing);
    let pending: Vec<(&str, &Value)> = after_values(change)
        .filter(|(path, value)| current.fields.get(path) != Some(*value))
        .collect();
    if pending.is_empty() {
        return Ok(false);
    }
    let answer = if change.identity.endpoint() == Endpoint::DataExchangeCustomers {
        let number = existing
            .customer_number
            .clone()
            .unwrap_or_else(|| change.key.clone());
        let body =
            convert::data_exchange_update_body(&number, pending).map_err(Failure::Invalid)?;
        shared.client.update_customer_by_number(&body).await?
    } else {
        let body = convert::customer_update_body(existing, pending, &shared.catalog)
            .map_err(Failure::Invalid)?;
        shared.client.update_customer(&body).await?
    };
    let updated = answered_customer(shared, change, answer).await?;
    verify_customer(shared, change, &updated)?;
    Ok(true)
}

fn remember_customer(shared: &Shared, change: &Change, id: Uuid) -> Uuid {
    let mut ids = shared
        .customer_ids
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    ids.insert(change.key.clone(), id);
    if let Some(number) = change.identity.customer_number() {
        ids.insert(number.to_owned(), id);
    }
    id
}

async fn update_customer(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    let id = change
        .id()
        .ok_or_else(|| Failure::Invalid("an update needs the remote id".into()))?;
    let answer = if change.identity.endpoint() == Endpoint::DataExchangeCustomers {
        let number = shared
            .customers
            .get(&id)
            .and_then(|c| c.customer_number.clone())
            .or_else(|| change.identity.customer_number().map(str::to_owned))
            .unwrap_or_else(|| change.key.clone());
        let body = convert::data_exchange_update_body(&number, after_values(change))
            .map_err(Failure::Invalid)?;
        shared.client.update_customer_by_number(&body).await?
    } else {
        let current = current_customer(shared, id).await?;
        let body = convert::customer_update_body(&current, after_values(change), &shared.catalog)
            .map_err(Failure::Invalid)?;
        shared.client.update_customer(&body).await?
    };
    let updated = answered_customer(shared, change, answer).await?;
    verify_customer(shared, change, &updated)?;
    Ok(Done::Updated(id))
}

async fn current_customer(shared: &Shared, id: Uuid) -> Result<CustomerDto, Failure> {
    if let Some(customer) = shared.customers.get(&id) {
        return Ok(customer.clone());
    }
    shared
        .client
        .get_customer(id)
        .await?
        .ok_or_else(|| Failure::Invalid(format!("customer {id} no longer exists in SLASCONE")))
}

/// Fails the change when a field it asked for is not what SLASCONE now holds.
fn verify_customer(
    shared: &Shared,
    change: &Change,
    customer: &CustomerDto,
) -> Result<(), Failure> {
    let current = convert::current_customer(&shared.catalog, customer);
    verify(change, |path| current.fields.get(path).cloned(), None).map_err(|message| {
        Failure::Kept {
            id: customer.id,
            message,
        }
    })
}

/// Compares what SLASCONE holds (`held`, by field path) with every field of the change. The
/// owner of a license is compared by id, as `owner` gives it: (the id SLASCONE holds, the id the
/// change's customer key stands for).
fn verify(
    change: &Change,
    held: impl Fn(&str) -> Option<Value>,
    owner: Option<(Uuid, Option<Uuid>)>,
) -> Result<(), String> {
    let mut kept = Vec::new();
    for field in &change.fields {
        if field.path == "customer" {
            if let Some((held, wanted)) = owner
                && Some(held) != wanted
            {
                kept.push(format!(
                    "SLASCONE kept the license with customer {held} where {} was sent",
                    display_value(&field.after)
                ));
            }
            continue;
        }
        let value = held(&field.path).unwrap_or(Value::Null);
        if value != field.after {
            kept.push(match field.source {
                Some(Source::Edition) => format!(
                    "SLASCONE has {} {} where the edition gives {}",
                    field.path,
                    display_value(&value),
                    display_value(&field.after)
                ),
                None => format!(
                    "SLASCONE kept {} {} where {} was sent",
                    field.path,
                    display_value(&value),
                    display_value(&field.after)
                ),
            });
        }
    }
    if kept.is_empty() {
        Ok(())
    } else {
        Err(kept.join("; "))
    }
}

// ---- licenses ------------------------------------------------------------------------------

fn product<'a>(shared: &'a Shared, change: &Change) -> Result<&'a ProductCatalog, Failure> {
    let name = change
        .identity
        .product()
        .ok_or_else(|| Failure::Invalid("a license change needs its product".into()))?;
    shared
        .catalog
        .products
        .get(name)
        .ok_or_else(|| Failure::Invalid(format!("unknown product `{name}`")))
}

/// Customer ids for the `customer` field, looked up once per key that apply does not know yet.
async fn customer_lookup(
    shared: &Shared,
    change: &Change,
) -> Result<HashMap<String, Uuid>, Failure> {
    let mut known = HashMap::new();
    let keys = change
        .fields
        .iter()
        .filter(|f| f.path == "customer")
        .filter_map(|f| f.after.as_str());
    for key in keys {
        let cached = shared
            .customer_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied();
        let id = match cached {
            Some(id) => Some(id),
            None => match key.parse::<Uuid>() {
                Ok(id) => Some(id),
                Err(_) => shared
                    .client
                    .get_customer_by_number(key)
                    .await?
                    .map(|c| c.id),
            },
        };
        if let Some(id) = id {
            known.insert(key.to_string(), id);
        }
    }
    Ok(known)
}

async fn create_license(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    let product = product(shared, change)?;
    let customers = customer_lookup(shared, change).await?;
    let resolve = |key: &str| customers.get(key).copied();
    let ctx = LicenseContext {
        product,
        catalog: &shared.catalog,
        customer_id: &resolve,
    };
    // A client-chosen id makes "did the lost create go through?" one exact read, and tells this
    // run's license from one someone else made.
    let chosen = change.id().is_none();
    let id = change.id().unwrap_or_else(Uuid::new_v4);
    let body = convert::license_create_body(
        id,
        change.identity.legacy_license_key(),
        &change.fields,
        change.identity.edition_based(),
        &ctx,
    )
    .map_err(Failure::Invalid)?;
    let mut lost = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match shared.client.create_license(&body).await {
            Ok(answer) => {
                let created = answered_license(shared, change, id, answer).await?;
                verify_license(shared, change, &created, &customers)?;
                return Ok(Done::Created(created.id));
            }
            Err(error) if error.status() == Some(409) || error.is_ambiguous() => {
                lost |= error.is_ambiguous();
                let existing = match shared.client.get_license(id).await? {
                    Some(license) => Some(license),
                    None => find_license_by_key(&shared.client, change, product.product.id).await?,
                };
                match existing {
                    // This run's create went through; only its answer was lost.
                    Some(existing) if lost && chosen && existing.id == id => {
                        verify_license(shared, change, &existing, &customers)?;
                        return Ok(Done::Created(id));
                    }
                    Some(existing) => {
                        let id = existing.id;
                        return Ok(
                            if finish_license(shared, change, &ctx, &existing, &customers).await? {
                                Done::Updated(id)
                            } else {
                                Done::Exists(id)
                            },
                        );
                    }
                    None if error.is_ambiguous() && attempt < CREATE_ATTEMPTS => continue,
                    None => return Err(error.into()),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The license a write answered with, or, for an answer without a body, read back by its id.
async fn answered_license(
    shared: &Shared,
    change: &Change,
    id: Uuid,
    answer: Option<LicenseDto>,
) -> Result<LicenseDto, Failure> {
    if let Some(license) = answer {
        return Ok(license);
    }
    shared.client.get_license(id).await?.ok_or_else(|| {
        Failure::Invalid(format!(
            "SLASCONE answered the write of license {} without a body, and license {id} cannot \
             be read back",
            change.key
        ))
    })
}

/// The license a create is meant to make, looked up by (product, legacy_license_key).
pub async fn find_license_by_key(
    client: &Client,
    change: &Change,
    product_id: Uuid,
) -> Result<Option<LicenseDto>, ApiError> {
    let Some(legacy) = change.identity.legacy_license_key() else {
        return Ok(None);
    };
    let found = client.find_licenses(product_id, legacy).await?;
    Ok(found
        .into_iter()
        .find(|l| l.product_id == product_id && l.legacy_license_key.as_deref() == Some(legacy)))
}

/// After finding a license that a create was meant to make: writes what still differs. True
/// when something was written.
async fn finish_license(
    shared: &Shared,
    change: &Change,
    ctx: &LicenseContext<'_>,
    existing: &LicenseDto,
    customers: &HashMap<String, Uuid>,
) -> Result<bool, Failure> {
    let current = convert::current_license(&shared.catalog, existing);
    let owner = existing.customer_id;
    let pending: Vec<FieldChange> = change
        .fields
        .iter()
        .filter(|field| match field.path.as_str() {
            "customer" => field.after.as_str().and_then(|key| customers.get(key)) != Some(&owner),
            path => current.as_ref().and_then(|c| c.fields.get(path)) != Some(&field.after),
        })
        .cloned()
        .collect();
    if pending.is_empty() {
        return Ok(false);
    }
    let (body, apply_template) =
        convert::license_update_body(existing, &pending, change.identity.edition_based(), ctx)
            .map_err(Failure::Invalid)?;
    let answer = shared.client.update_license(&body, apply_template).await?;
    let updated = answered_license(shared, change, existing.id, answer).await?;
    verify_license(shared, change, &updated, customers)?;
    Ok(true)
}

async fn update_license(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    let id = change
        .id()
        .ok_or_else(|| Failure::Invalid("an update needs the remote id".into()))?;
    let product = product(shared, change)?;
    let customers = customer_lookup(shared, change).await?;
    let resolve = |key: &str| customers.get(key).copied();
    let ctx = LicenseContext {
        product,
        catalog: &shared.catalog,
        customer_id: &resolve,
    };
    let current = match shared.licenses.get(&id) {
        Some(license) => license.clone(),
        None => shared.client.get_license(id).await?.ok_or_else(|| {
            Failure::Invalid(format!("license {id} no longer exists in SLASCONE"))
        })?,
    };
    let (body, apply_template) = convert::license_update_body(
        &current,
        &change.fields,
        change.identity.edition_based(),
        &ctx,
    )
    .map_err(Failure::Invalid)?;
    let answer = shared.client.update_license(&body, apply_template).await?;
    let updated = answered_license(shared, change, id, answer).await?;
    verify_license(shared, change, &updated, &customers)?;
    Ok(Done::Updated(id))
}

/// Fails the change when a field it asked for is not what SLASCONE now holds.
fn verify_license(
    shared: &Shared,
    change: &Change,
    license: &LicenseDto,
    customers: &HashMap<String, Uuid>,
) -> Result<(), Failure> {
    let current = convert::current_license(&shared.catalog, license);
    let wanted_owner = change
        .fields
        .iter()
        .find(|f| f.path == "customer")
        .and_then(|f| f.after.as_str())
        .and_then(|key| customers.get(key).copied());
    verify(
        change,
        |path| current.as_ref().and_then(|c| c.fields.get(path).cloned()),
        Some((license.customer_id, wanted_owner)),
    )
    .map_err(|message| Failure::Kept {
        id: license.id,
        message,
    })
}
