//! Customers: `CustomerDto` (`/customers`) and the data_exchange DTOs
//! (`/data_exchange/customers`) to and from the model, by the declarations of `CUSTOMER`.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{BodyError, fingerprint, text_value};
use crate::model::fields::{CUSTOMER, Field, Member, Role};
use crate::model::{CurrentCustomer, Fields};
use crate::remote::catalog::Catalog;
use crate::remote::wire::*;

/// The managed fields of a customer: what a customer's `Fields` may hold.
fn managed() -> impl Iterator<Item = &'static Field> {
    CUSTOMER.fields.iter().filter(|f| f.role == Role::Managed)
}

fn field(path: &str) -> Result<&'static Field, BodyError> {
    managed()
        .find(|field| field.name == path)
        .ok_or_else(|| format!("`{path}` is not a customer field"))
}

/// A customer as SLASCONE has it, as the diff compares it.
pub fn current_customer(catalog: &Catalog, customer: &CustomerDto) -> CurrentCustomer {
    let mut fields = Fields::new();
    for field in managed() {
        let value = match field.wire {
            Member::Named(member) => customer.text(member).cloned().flatten().map(Value::String),
            // `customer_type` is an object on the wire: its name, else the catalog's name for
            // its id, else the id.
            Member::Converted => customer.customer_type.as_ref().map(|customer_type| {
                let name = customer_type.customer_type_name.clone().or_else(|| {
                    catalog
                        .customer_types
                        .iter()
                        .find(|t| t.id == customer_type.id)
                        .and_then(|t| t.customer_type_name.clone())
                });
                json!(name.unwrap_or_else(|| customer_type.id.to_string()))
            }),
        };
        if let Some(value) = value {
            fields.insert(field.name, value);
        }
    }
    fields.shrink_to_fit();
    CurrentCustomer {
        id: customer.id,
        customer_number: customer.customer_number.clone(),
        fields,
        fingerprint: fingerprint(customer),
    }
}

/// Writes one customer field onto a `CustomerDto`.
fn write_customer_field(
    customer: &mut CustomerDto,
    path: &str,
    value: &Value,
    catalog: &Catalog,
) -> Result<(), BodyError> {
    let field = field(path)?;
    let text = text_value(path, value)?;
    match field.wire {
        Member::Named(member) => {
            *customer
                .text_mut(member)
                .ok_or_else(|| format!("`{path}` has no member `{member}` on /customers"))? = text;
        }
        Member::Converted => {
            customer.customer_type = match text {
                None => None,
                Some(name) => {
                    let found = catalog
                        .customer_type(&name)
                        .ok_or_else(|| format!("unknown customer type `{name}`"))?;
                    Some(CustomerTypeDto {
                        id: found.id,
                        customer_type_name: Some(name),
                        created_date_utc: None,
                        modified_date_utc: None,
                        last_modified_by: None,
                    })
                }
            }
        }
    }
    Ok(())
}

/// The body of `POST /customers` for a customer keyed by id.
pub fn customer_create_body<'a>(
    id: Uuid,
    customer_number: Option<&str>,
    fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    catalog: &Catalog,
) -> Result<CustomerDto, BodyError> {
    let mut customer = CustomerDto {
        id,
        customer_number: customer_number.map(str::to_string),
        ..CustomerDto::default()
    };
    for (path, value) in fields {
        write_customer_field(&mut customer, path, value, catalog)?;
    }
    Ok(customer)
}

/// The body of `PATCH /customers`: the current customer with the changed fields written onto it.
pub fn customer_update_body<'a>(
    current: &CustomerDto,
    changes: impl IntoIterator<Item = (&'a str, &'a Value)>,
    catalog: &Catalog,
) -> Result<CustomerDto, BodyError> {
    let mut customer = current.clone();
    customer.clear_server_fields();
    for (path, value) in changes {
        write_customer_field(&mut customer, path, value, catalog)?;
    }
    Ok(customer)
}

/// The body of `POST /data_exchange/customers`: SLASCONE requires the fields declared
/// `required_by_number` (name, type and country).
pub fn data_exchange_create_body<'a>(
    customer_number: &str,
    fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<DataExchangeAddCustomerDto, BodyError> {
    let mut update = data_exchange_update_body(customer_number, fields)?;
    for field in managed().filter(|f| f.required_by_number) {
        let name = field.data_exchange.unwrap_or(field.name);
        if update
            .text(name)
            .cloned()
            .flatten()
            .is_none_or(|v| v.is_empty())
        {
            return Err(format!(
                "creating customer {customer_number} by customer_number needs `{}`",
                field.name
            ));
        }
    }
    let mut take = |name: &str| update.text_mut(name).and_then(Option::take);
    Ok(DataExchangeAddCustomerDto {
        customer_name: take("customer_name").unwrap_or_default(),
        customer_type: take("customer_type").unwrap_or_default(),
        country: take("country").unwrap_or_default(),
        street: take("street"),
        zip: take("zip"),
        city: take("city"),
        phone: take("phone"),
        email: take("email"),
        prospect_number: take("prospect_number"),
        customer_number: update.customer_number,
        tags: None,
    })
}

/// The body of `PATCH /data_exchange/customers`: the number and the changed fields only.
pub fn data_exchange_update_body<'a>(
    customer_number: &str,
    changes: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<DataExchangeUpdateCustomerDto, BodyError> {
    let mut update = DataExchangeUpdateCustomerDto {
        customer_number: customer_number.to_string(),
        ..DataExchangeUpdateCustomerDto::default()
    };
    for (path, value) in changes {
        let field = field(path)?;
        let name = field
            .data_exchange
            .ok_or_else(|| format!("`{path}` does not travel on /data_exchange/customers"))?;
        *update.text_mut(name).ok_or_else(|| {
            format!("`{path}` has no member `{name}` on /data_exchange/customers")
        })? = text_value(path, value)?;
    }
    Ok(update)
}
