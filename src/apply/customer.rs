//! Creating and updating one customer, by id or by customer_number.

use serde_json::Value;
use uuid::Uuid;

use super::{Done, Failure, Sent, Shared, after_values, create_safely, verify};
use crate::plan::{Change, Endpoint, Identity};
use crate::remote::convert;
use crate::remote::wire::CustomerDto;
use crate::remote::{ApiError, Client};

/// Sends the create of a customer by the identity it is written by.
async fn send_customer_create(
    shared: &Shared,
    change: &Change,
) -> Result<Sent<Option<CustomerDto>>, Failure> {
    let client = &shared.client;
    Ok(match &change.identity {
        Identity::CustomerByNumber {
            customer_number, ..
        } => {
            let body = convert::data_exchange_create_body(customer_number, after_values(change))
                .map_err(Failure::Invalid)?;
            client.create_customer_by_number(&body).await.into()
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
            client.create_customer(&body).await.into()
        }
        Identity::License { .. }
        | Identity::ContactById { .. }
        | Identity::ContactByNumber { .. } => {
            return Err(Failure::Invalid("not a customer".into()));
        }
    })
}

pub(super) async fn create_customer(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    create_safely(
        || send_customer_create(shared, change),
        |answer| async move {
            let created = answered_customer(shared, change, answer).await?;
            let id = remember_customer(shared, change, created.id);
            verify_customer(shared, change, &created)?;
            Ok(Done::Created(id))
        },
        // Already there (409), or perhaps created before the answer was lost. A customer carries
        // no id of this run's choosing, so one found now counts as someone else's.
        |_| async move {
            let Some(existing) = find_customer(&shared.client, change).await? else {
                return Ok(None);
            };
            let id = remember_customer(shared, change, existing.id);
            Ok(Some(if finish_customer(shared, change, &existing).await? {
                Done::Updated(id)
            } else {
                Done::Exists(id)
            }))
        },
    )
    .await
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
        Identity::License { .. }
        | Identity::ContactById { .. }
        | Identity::ContactByNumber { .. } => Ok(None),
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

pub(super) async fn update_customer(shared: &Shared, change: &Change) -> Result<Done, Failure> {
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
