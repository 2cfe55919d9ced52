//! Creating and updating one contact person: on `/customers/{id}/contacts` for a customer
//! written by id, with `PUT /data_exchange/customers/contacts` for one known by number.

use uuid::Uuid;

use super::{Done, Failure, Shared, create_safely, verify};
use crate::model::same_email;
use crate::plan::{Change, Identity};
use crate::remote::convert;
use crate::remote::wire::CustomerContactDto;
use crate::remote::{ApiError, Client};

/// SLASCONE's error id for a customer it does not have (documented).
const UNKNOWN_CUSTOMER: i64 = 4000;

pub(super) async fn create_contact(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    let send = || async move {
        Ok(match &change.identity {
            Identity::ContactByNumber {
                customer_number,
                email,
                ..
            } => {
                let body =
                    convert::contact_exchange_body(customer_number, email, None, &change.fields)
                        .map_err(Failure::Invalid)?;
                shared.client.put_contact_by_number(&body).await.into()
            }
            Identity::ContactById {
                customer_id, email, ..
            } => {
                let body = convert::contact_create_body(*customer_id, email, &change.fields)
                    .map_err(Failure::Invalid)?;
                shared
                    .client
                    .create_contact(*customer_id, &body)
                    .await
                    .into()
            }
            _ => return Err(Failure::Invalid("not a contact".into())),
        })
    };
    create_safely(
        send,
        |answer| async move {
            let created = answered_contact(shared, change, answer).await?;
            verify_contact(change, &created)?;
            Ok(Done::Created(created.id))
        },
        // Already there (409), or perhaps written before the answer was lost: a contact found
        // now is looked at rather than sent again.
        |_| async move {
            let Some(existing) = find_contact(&shared.client, change).await? else {
                return Ok(None);
            };
            Ok(Some(if finish_contact(shared, change, &existing).await? {
                Done::Updated(existing.id)
            } else {
                Done::Exists(existing.id)
            }))
        },
    )
    .await
}

pub(super) async fn update_contact(shared: &Shared, change: &Change) -> Result<Done, Failure> {
    let id = change
        .id()
        .ok_or_else(|| Failure::Invalid("an update needs the remote id".into()))?;
    let current = match shared.contacts.get(&id) {
        Some(current) => current.clone(),
        None => find_contact(&shared.client, change)
            .await?
            .ok_or_else(|| Failure::Invalid(format!("contact {} no longer exists", change.key)))?,
    };
    let updated = match write(shared, change, &current, &change.fields).await {
        Ok(updated) => updated,
        // The answer was lost: what SLASCONE holds now says whether the write took.
        Err(Failure::Api(error)) if error.is_ambiguous() => {
            match find_contact(&shared.client, change).await? {
                Some(found) => found,
                None => return Err(Failure::Api(error)),
            }
        }
        Err(failure) => return Err(failure),
    };
    verify_contact(change, &updated)?;
    Ok(Done::Updated(id))
}

/// Sends the changed fields of an existing contact by the endpoint its customer is written by.
async fn write(
    shared: &Shared,
    change: &Change,
    current: &CustomerContactDto,
    fields: &[crate::plan::FieldChange],
) -> Result<CustomerContactDto, Failure> {
    let answer = match &change.identity {
        Identity::ContactByNumber {
            customer_number, ..
        } => {
            let body = convert::contact_exchange_body(
                customer_number,
                &current.email,
                Some(current),
                fields,
            )
            .map_err(Failure::Invalid)?;
            shared.client.put_contact_by_number(&body).await?
        }
        Identity::ContactById { customer_id, .. } => {
            let body = convert::contact_update_body(current, fields).map_err(Failure::Invalid)?;
            shared.client.update_contact(*customer_id, &body).await?
        }
        _ => return Err(Failure::Invalid("not a contact".into())),
    };
    answered_contact(shared, change, answer).await
}

/// After finding a contact that a create was meant to make: writes what still differs. True
/// when something was written.
async fn finish_contact(
    shared: &Shared,
    change: &Change,
    existing: &CustomerContactDto,
) -> Result<bool, Failure> {
    let current = convert::current_contact(existing);
    let pending: Vec<crate::plan::FieldChange> = change
        .fields
        .iter()
        .filter(|field| current.fields.get(&field.path) != Some(&field.after))
        .cloned()
        .collect();
    if pending.is_empty() {
        return Ok(false);
    }
    let updated = write(shared, change, existing, &pending).await?;
    verify_contact(change, &updated)?;
    Ok(true)
}

/// The contact a write answered with, or, for an answer without a body, read back.
async fn answered_contact(
    shared: &Shared,
    change: &Change,
    answer: Option<CustomerContactDto>,
) -> Result<CustomerContactDto, Failure> {
    if let Some(contact) = answer {
        return Ok(contact);
    }
    find_contact(&shared.client, change).await?.ok_or_else(|| {
        Failure::Invalid(format!(
            "SLASCONE answered the write of contact {} without a body, and the contact cannot be \
             read back",
            change.key
        ))
    })
}

/// The contact a change is for, read from its customer's contacts by e-mail address; `None`
/// when the customer or the contact does not exist.
pub async fn find_contact(
    client: &Client,
    change: &Change,
) -> Result<Option<CustomerContactDto>, ApiError> {
    let Some(email) = change.identity.email() else {
        return Ok(None);
    };
    let customer_id: Option<Uuid> = match &change.identity {
        Identity::ContactById { customer_id, .. } => Some(*customer_id),
        Identity::ContactByNumber {
            customer_number, ..
        } => client
            .get_customer_by_number(customer_number)
            .await?
            .map(|customer| customer.id),
        _ => None,
    };
    let Some(customer_id) = customer_id else {
        return Ok(None);
    };
    let contacts = match client.list_contacts(customer_id).await {
        Ok(contacts) => contacts,
        // The customer does not exist (yet): neither does its contact.
        Err(error) if error.business_id() == Some(UNKNOWN_CUSTOMER) => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(contacts
        .into_iter()
        .find(|contact| same_email(&contact.email, email))
        .map(|contact| CustomerContactDto {
            customer_id,
            ..contact
        }))
}

/// Fails the change when a field it asked for is not what SLASCONE now holds.
fn verify_contact(change: &Change, contact: &CustomerContactDto) -> Result<(), Failure> {
    let current = convert::current_contact(contact);
    verify(change, |path| current.fields.get(path).cloned(), None).map_err(|message| {
        Failure::Kept {
            id: contact.id,
            message,
        }
    })
}
