//! Contacts: `CustomerContactDto` (`/customers/{id}/contacts`) and
//! `DataExchangeAddOrUpdateCustomerContactDto` (`/data_exchange/customers/contacts`) to and from
//! the model, by the declarations of `CONTACT`.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{BodyError, fingerprint, text_value};
use crate::model::fields::{CONTACT, Field, Member, Role, Type};
use crate::model::{CurrentContact, Fields};
use crate::plan::FieldChange;
use crate::remote::wire::{
    CustomerContactDto, DataExchangeAddOrUpdateCustomerContactDto, ServerStamped,
};

/// The managed fields of a contact with the member of `CustomerContactDto` each travels in.
fn members() -> impl Iterator<Item = (&'static Field, &'static str)> {
    CONTACT.fields.iter().filter_map(|field| match field.wire {
        Member::Named(member) if field.role == Role::Managed => Some((field, member)),
        _ => None,
    })
}

fn field(path: &str) -> Result<&'static Field, BodyError> {
    CONTACT
        .field(path)
        .filter(|field| field.role == Role::Managed)
        .ok_or_else(|| format!("`{path}` is not a contact field"))
}

fn flag(path: &str, value: &Value) -> Result<bool, BodyError> {
    value
        .as_bool()
        .ok_or_else(|| format!("`{path}` must be true or false"))
}

/// The model of a contact as SLASCONE has it.
pub fn current_contact(contact: &CustomerContactDto) -> CurrentContact {
    let mut fields = Fields::new();
    for (field, member) in members() {
        let value = match field.ty {
            // A missing flag is SLASCONE's default for the non-null boolean: false.
            Type::Bool => contact
                .flag(member)
                .map(|flag| json!(flag.unwrap_or(false))),
            _ => match contact.required(member) {
                Some(text) => Some(json!(text)),
                None => contact.text(member).cloned().flatten().map(Value::String),
            },
        };
        if let Some(value) = value {
            fields.insert(field.name, value);
        }
    }
    fields.shrink_to_fit();
    CurrentContact {
        id: contact.id,
        customer_id: contact.customer_id,
        email: contact.email.clone(),
        fields,
        fingerprint: fingerprint(contact),
    }
}

/// Writes one contact field onto a `CustomerContactDto`, by its declaration.
fn write_field(
    contact: &mut CustomerContactDto,
    path: &str,
    value: &Value,
) -> Result<(), BodyError> {
    let field = field(path)?;
    let Member::Named(member) = field.wire else {
        return Err(format!("`{path}` is not a contact field"));
    };
    if field.ty == Type::Bool {
        let slot = contact
            .flag_mut(member)
            .ok_or_else(|| missing(path, member))?;
        *slot = Some(flag(path, value)?);
    } else if let Some(slot) = contact.required_mut(member) {
        *slot = text_value(path, value)?.unwrap_or_default();
    } else {
        let slot = contact
            .text_mut(member)
            .ok_or_else(|| missing(path, member))?;
        *slot = text_value(path, value)?;
    }
    Ok(())
}

/// Writes one contact field onto a `DataExchangeAddOrUpdateCustomerContactDto`, by its
/// data_exchange name.
fn write_exchange_field(
    contact: &mut DataExchangeAddOrUpdateCustomerContactDto,
    path: &str,
    value: &Value,
) -> Result<(), BodyError> {
    let field = field(path)?;
    let member = field
        .data_exchange
        .ok_or_else(|| format!("`{path}` does not travel on /data_exchange/customers/contacts"))?;
    if let Some(slot) = contact.switch_mut(member) {
        *slot = flag(path, value)?;
    } else if let Some(slot) = contact.required_mut(member) {
        *slot = text_value(path, value)?.unwrap_or_default();
    } else {
        let slot = contact
            .text_mut(member)
            .ok_or_else(|| missing(path, member))?;
        *slot = text_value(path, value)?;
    }
    Ok(())
}

fn missing(path: &str, member: &str) -> BodyError {
    format!("`{path}` has no member `{member}`")
}

/// The body of `POST /customers/{customer_id}/contacts`: what the manifest writes. A new
/// contact is active; it is a portal user only when the manifest says so.
pub fn contact_create_body(
    customer_id: Uuid,
    email: &str,
    fields: &[FieldChange],
) -> Result<CustomerContactDto, BodyError> {
    let mut contact = CustomerContactDto {
        customer_id,
        email: email.to_owned(),
        is_active: Some(true),
        ..CustomerContactDto::default()
    };
    for change in fields {
        write_field(&mut contact, &change.path, &change.after)?;
    }
    Ok(contact)
}

/// The body of `PATCH /customers/{customer_id}/contacts`: the current contact with the changed
/// fields written onto it, so nothing outside the manifest is lost whether SLASCONE merges or
/// replaces.
pub fn contact_update_body(
    current: &CustomerContactDto,
    fields: &[FieldChange],
) -> Result<CustomerContactDto, BodyError> {
    let mut contact = current.clone();
    contact.clear_server_fields();
    for change in fields {
        write_field(&mut contact, &change.path, &change.after)?;
    }
    Ok(contact)
}

/// The body of `PUT /data_exchange/customers/contacts`: the contact as SLASCONE has it (when it
/// has it) with the changed fields on top. Its flag is not optional, so sending only the
/// changes could turn a portal user into none.
pub fn contact_exchange_body(
    customer_number: &str,
    email: &str,
    current: Option<&CustomerContactDto>,
    fields: &[FieldChange],
) -> Result<DataExchangeAddOrUpdateCustomerContactDto, BodyError> {
    let mut contact = DataExchangeAddOrUpdateCustomerContactDto {
        customer_number: customer_number.to_owned(),
        email: email.to_owned(),
        ..DataExchangeAddOrUpdateCustomerContactDto::default()
    };
    if let Some(current) = current {
        for (path, value) in current_contact(current).fields.iter() {
            write_exchange_field(&mut contact, path, value)?;
        }
    }
    for change in fields {
        write_exchange_field(&mut contact, &change.path, &change.after)?;
    }
    Ok(contact)
}
