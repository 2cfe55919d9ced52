//! A customer's contact person.

use std::sync::OnceLock;

use super::{Entity, Export, Field, Member, Role, Type};

/// A text of a contact, written as it is on both contact endpoints.
const fn contact_text(
    name: &'static str,
    doc: &'static str,
    wire: &'static str,
    data_exchange: &'static str,
    required: bool,
) -> Field {
    Field {
        name,
        ty: if required { Type::Name } else { Type::Text },
        limit: None,
        names: None,
        role: Role::Managed,
        required,
        doc,
        wire: Member::Named(wire),
        data_exchange: Some(data_exchange),
        required_by_id: required,
        required_by_number: required,
        export: if required {
            Export::Always
        } else {
            Export::UnlessEmpty
        },
        csv: None,
    }
}

/// A contact person of a customer: `CustomerContactDto` on `/customers/{id}/contacts`,
/// `DataExchangeAddOrUpdateCustomerContactDto` on `/data_exchange/customers/contacts`.
pub static CONTACT: Entity = Entity {
    what: "a contact",
    title: "Contact",
    doc: "A contact person of the enclosing customer. Identity: `email`, unique per customer. Only the\nfields written here are managed.",
    ignore_doc: "Fields of this contact never reconciled, e.g. `phone`.",
    key_list: OnceLock::new(),
    fields: &[
        Field {
            name: "email",
            ty: Type::Name,
            limit: None,
            names: None,
            role: Role::Identity,
            required: true,
            doc: "The contact's e-mail address: who the contact is, unique per customer.",
            wire: Member::Named("email"),
            data_exchange: Some("email"),
            required_by_id: true,
            required_by_number: true,
            export: Export::Always,
            csv: None,
        },
        contact_text("name", "First name.", "name", "contact_name", true),
        contact_text("surname", "Last name.", "surname", "contact_surname", true),
        contact_text("phone", "Phone number.", "phone", "phone", false),
        contact_text("mobile", "Mobile number.", "mobile", "mobil", false),
        contact_text(
            "language",
            "Preferred language, e.g. `de`.",
            "language",
            "language",
            false,
        ),
        Field {
            name: "portal_user",
            ty: Type::Bool,
            limit: None,
            names: None,
            role: Role::Managed,
            required: false,
            doc: "Whether the contact may use the customer portal. Making someone a portal user may\nsend them an invitation e-mail.",
            wire: Member::Named("is_customer_portal_user"),
            data_exchange: Some("is_customer_portal_user"),
            required_by_id: false,
            required_by_number: false,
            export: Export::OnlyTrue,
            csv: None,
        },
    ],
    maps: &[],
    lists: &[],
};
