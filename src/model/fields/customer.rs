//! The customer: its fields on `/customers` and `/data_exchange/customers`, and its lists.

use std::sync::OnceLock;

use super::{CONTACT, LICENSE};
use super::{Entity, Export, Field, List, Member, Names, Role, Type, column};

/// A text field of a customer, written as it is on both customer endpoints.
const fn customer_text(
    name: &'static str,
    doc: &'static str,
    wire: &'static str,
    data_exchange: &'static str,
    order: u8,
) -> Field {
    Field {
        name,
        ty: Type::Text,
        limit: None,
        names: None,
        role: Role::Managed,
        required: false,
        doc,
        wire: Member::Named(wire),
        data_exchange: Some(data_exchange),
        required_by_id: false,
        required_by_number: false,
        export: Export::UnlessEmpty,
        csv: column(data_exchange, order, false),
    }
}

pub static CUSTOMER: Entity = Entity {
    what: "a customer",
    title: "Customer",
    doc: "A customer. Identity: `customer_number`, or `id`, or both. Only the fields written here are\nmanaged; a field left out is never changed.",
    ignore_doc: "Fields of this customer never reconciled, e.g. `phone`.",
    key_list: OnceLock::new(),
    fields: &[
        Field {
            name: "id",
            ty: Type::Uuid,
            limit: None,
            names: None,
            role: Role::Identity,
            required: false,
            doc: "The customer's SLASCONE id (UUID). With an id, the customer is matched and written by id.",
            wire: Member::Named("id"),
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::Always,
            csv: None,
        },
        Field {
            name: "customer_number",
            ty: Type::Name,
            limit: None,
            names: None,
            role: Role::Identity,
            required: false,
            doc: "The customer number from your ERP/CRM. Without an `id`, the customer is matched by this\nnumber. Unique across all manifests.",
            wire: Member::Named("customer_number"),
            data_exchange: Some("customer_number"),
            required_by_id: false,
            required_by_number: true,
            export: Export::Always,
            csv: column("customer_number", 0, true),
        },
        Field {
            required_by_id: false,
            required_by_number: true,
            csv: column("customer_name", 1, true),
            ..customer_text(
                "company_name",
                "Company name.",
                "company_name",
                "customer_name",
                1,
            )
        },
        Field {
            name: "customer_type",
            ty: Type::Text,
            limit: None,
            names: Some(Names::CustomerType),
            role: Role::Managed,
            required: false,
            doc: "The name of a customer type defined in SLASCONE, e.g. `Enterprise`.",
            wire: Member::Converted,
            data_exchange: Some("customer_type"),
            required_by_id: false,
            required_by_number: true,
            export: Export::UnlessEmpty,
            csv: column("customer_type", 2, true),
        },
        Field {
            required_by_id: false,
            required_by_number: true,
            csv: column("country", 3, true),
            ..customer_text(
                "country",
                "Country, e.g. `Germany`.",
                "country",
                "country",
                3,
            )
        },
        customer_text("email", "Contact e-mail address.", "email", "email", 8),
        customer_text("street", "Street and number.", "street", "street", 4),
        customer_text(
            "zip",
            "Postal code; leading zeros are kept.",
            "postalcode",
            "zip",
            5,
        ),
        customer_text("city", "City.", "city", "city", 6),
        customer_text("phone", "Phone number.", "phone", "phone", 7),
        customer_text(
            "prospect_number",
            "Prospect number from your CRM.",
            "prospect_number",
            "prospect_number",
            9,
        ),
    ],
    maps: &[],
    lists: &[
        List {
            name: super::CONTACTS,
            doc: "The customer's contact persons, each known by its `email`. Contacts SLASCONE has that\nno manifest lists are left alone.",
            entity: &CONTACT,
            ignorable: true,
        },
        List {
            name: "licenses",
            doc: "The customer's licenses.",
            entity: &LICENSE,
            ignorable: false,
        },
    ],
};
