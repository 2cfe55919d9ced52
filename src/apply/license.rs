//! Creating and updating one license, with its owner looked up by key.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Done, Failure, Sent, Shared, create_safely, verify};
use crate::plan::{Change, FieldChange};
use crate::remote::catalog::ProductCatalog;
use crate::remote::convert::{self, LicenseContext};
use crate::remote::wire::LicenseDto;
use crate::remote::{ApiError, Client};

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
        .filter(|f| f.path == crate::model::fields::OWNER)
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

pub(super) async fn create_license(shared: &Shared, change: &Change) -> Result<Done, Failure> {
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
    let (body, ctx, customers) = (&body, &ctx, &customers);
    let mut lost = false;
    create_safely(
        || async move { Ok(Sent::from(shared.client.create_license(body).await)) },
        |answer| async move {
            let created = answered_license(shared, change, id, answer).await?;
            verify_license(shared, change, &created, customers)?;
            Ok(Done::Created(created.id))
        },
        |ambiguous| {
            lost |= ambiguous;
            let lost = lost;
            async move {
                let existing = match shared.client.get_license(id).await? {
                    Some(license) => Some(license),
                    None => find_license_by_key(&shared.client, change, product.product.id).await?,
                };
                Ok(match existing {
                    None => None,
                    // This run's create went through; only its answer was lost.
                    Some(existing) if lost && chosen && existing.id == id => {
                        verify_license(shared, change, &existing, customers)?;
                        Some(Done::Created(id))
                    }
                    Some(existing) => Some(
                        if finish_license(shared, change, ctx, &existing, customers).await? {
                            Done::Updated(existing.id)
                        } else {
                            Done::Exists(existing.id)
                        },
                    ),
                })
            }
        },
    )
    .await
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
            crate::model::fields::OWNER => {
                field.after.as_str().and_then(|key| customers.get(key)) != Some(&owner)
            }
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

pub(super) async fn update_license(shared: &Shared, change: &Change) -> Result<Done, Failure> {
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
        .find(|f| f.path == crate::model::fields::OWNER)
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
