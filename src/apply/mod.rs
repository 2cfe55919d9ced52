//! Apply: sends exactly one write per planned change, customers before the licenses and
//! contacts that need them, independent changes concurrently, makes every create safe to repeat, and checks that
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

mod contact;
mod customer;
mod license;
pub mod report;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use uuid::Uuid;

use crate::current;
use crate::fanout;
use crate::model::Kind;
use crate::model::display_value;
use crate::plan::{Action, Change, Plan, Source};
use crate::remote::catalog::Catalog;
use crate::remote::wire::{CustomerContactDto, CustomerDto, LicenseDto};
use crate::remote::{ApiError, Client};

pub use contact::find_contact;
pub use customer::find_customer;
pub use license::find_license_by_key;
pub use report::{ApplyReport, Entry, Status};

use contact::{create_contact, update_contact};
use customer::{create_customer, update_customer};
use license::{create_license, update_license};

/// How many times a create whose outcome stayed unknown is looked up and sent again.
const CREATE_ATTEMPTS: usize = 4;

/// What apply works from: the plan and the objects as they were read for it.
pub struct ApplyInput<'a> {
    pub plan: &'a Plan,
    pub catalog: &'a Catalog,
    /// The current wire objects the plan's updates start from (by id).
    pub customers: Vec<CustomerDto>,
    pub licenses: Vec<LicenseDto>,
    pub contacts: Vec<CustomerContactDto>,
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
    contacts: HashMap<Uuid, CustomerContactDto>,
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
        contacts: input.contacts.into_iter().map(|c| (c.id, c)).collect(),
        customer_ids: Mutex::new(customer_ids),
    });
    let mut entries = Vec::with_capacity(input.plan.changes.len());

    let (customers, licenses): (Vec<&Change>, Vec<&Change>) = input
        .plan
        .changes
        .iter()
        .partition(|change| change.kind() == Kind::Customer);
    let on_done = input.on_done;
    let customer_entries = run_all(&shared, input.parallelism, customers, &on_done).await;
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
    entries.extend(run_all(&shared, input.parallelism, runnable, &on_done).await);
    ApplyReport::new(entries)
}

async fn run_all(
    shared: &Arc<Shared>,
    parallelism: usize,
    changes: Vec<&Change>,
    on_done: &Arc<dyn Fn(&Entry) + Send + Sync>,
) -> Vec<Entry> {
    fanout::all(changes, parallelism, |change| {
        let shared = Arc::clone(shared);
        let change = change.clone();
        let on_done = Arc::clone(on_done);
        async move {
            let result = match (change.kind(), change.action) {
                (Kind::Customer, Action::Create) => create_customer(&shared, &change).await,
                (Kind::Customer, Action::Update) => update_customer(&shared, &change).await,
                (Kind::License, Action::Create) => create_license(&shared, &change).await,
                (Kind::License, Action::Update) => update_license(&shared, &change).await,
                (Kind::Contact, Action::Create) => create_contact(&shared, &change).await,
                (Kind::Contact, Action::Update) => update_contact(&shared, &change).await,
            };
            let entry = match result {
                Ok(done) => Entry::done(&change, done),
                Err(failure) => Entry::failed(&change, failure),
            };
            on_done(&entry);
            entry
        }
    })
    .await
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

/// The create every kind shares. `send` sends it (or fails to build its body); `answered` makes
/// an answer a result. On 409 "already exists", or a failure that leaves open whether the create
/// went through, `look_up` looks for the object by its identity and finishes it instead of
/// sending blindly again; a create whose outcome stays unknown is sent again, at most
/// [`CREATE_ATTEMPTS`] times in all.
async fn create_safely<A, Post, Posted, Answered, Made, LookUp, Found>(
    mut send: Post,
    answered: Answered,
    mut look_up: LookUp,
) -> Result<Done, Failure>
where
    Post: FnMut() -> Posted,
    Posted: Future<Output = Result<Sent<A>, Failure>>,
    Answered: FnOnce(A) -> Made,
    Made: Future<Output = Result<Done, Failure>>,
    // Told whether the failure left open if the create went through.
    LookUp: FnMut(bool) -> Found,
    Found: Future<Output = Result<Option<Done>, Failure>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send().await? {
            Sent::Answered(answer) => return answered(answer).await,
            Sent::Failed(error) if error.status() == Some(409) || error.is_ambiguous() => {
                match look_up(error.is_ambiguous()).await? {
                    Some(done) => return Ok(done),
                    None if error.is_ambiguous() && attempt < CREATE_ATTEMPTS => continue,
                    None => return Err(error.into()),
                }
            }
            Sent::Failed(error) => return Err(error.into()),
        }
    }
}

/// What one send of a create came to. (A body that cannot be built is a [`Failure`] before
/// anything is sent.)
enum Sent<A> {
    Answered(A),
    Failed(ApiError),
}

impl<A> From<Result<A, ApiError>> for Sent<A> {
    fn from(result: Result<A, ApiError>) -> Self {
        match result {
            Ok(answer) => Sent::Answered(answer),
            Err(error) => Sent::Failed(error),
        }
    }
}

fn after_values(change: &Change) -> impl Iterator<Item = (&str, &Value)> {
    change.fields.iter().map(|f| (f.path.as_str(), &f.after))
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
        if field.path == crate::model::fields::OWNER {
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
