//! Every field of a customer and a license, declared once: its name in manifests, plans and
//! `ignore_changes`, its type, what editors show for it, where it travels on the wire, what
//! `export` leaves out, and its column in `import-csv` files.
//!
//! Validation, name resolution, both wire conversions, `export`, `import-csv`, the JSON Schema
//! and the sandbox all read these tables, so adding a field is one declaration here, its wire
//! mapping, and its tests.

use std::sync::OnceLock;

/// What a field's value is, as written in a manifest and held in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Text; numbers are taken as written (`zip: 01234` is the text `01234`).
    Text,
    /// Text that names something and so must not be empty.
    Name,
    /// A whole number SLASCONE keeps as a 32-bit integer: 0 to 2,147,483,647.
    Count,
    Bool,
    /// `2027-12-31`, `never`, or `{ days_after_activation: 30 }`; in the model `"2027-12-31"`,
    /// `"never"` or `{"days_after_activation": 30}`.
    Expires,
    /// A UUID, held as its text.
    Uuid,
    /// A calendar day, `2027-01-01`; in the model the same text.
    Date,
    /// A list of texts, `[Core, Analytics]`; in the model a JSON array of strings.
    TextList,
}

/// The list in SLASCONE's catalog a name must be found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    CustomerType,
    LicenseType,
    Product,
    /// An edition of the license's product.
    Edition,
    Feature,
    Limitation,
    Variable,
    ConstrainedVariable,
    /// A software release of the license's product, by its version (`3.2`); `none` for none.
    SoftwareRelease,
}

/// Whether and how a field appears in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Says which object is meant; never changed.
    Identity,
    /// Managed when written.
    Managed,
    /// Never written as such: a license's `customer` is the customer it is listed under.
    Implicit,
}

/// Where a field travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// A member of the DTO of `/customers` or `/licenses` (`CustomerDto`, `LicenseDto`) that
    /// holds the value as it is, by its JSON name.
    Named(&'static str),
    /// Converted by code of its own in `remote::convert`: a name becomes an id, a day an
    /// instant, an owner a customer id.
    Converted,
}

/// What `export` leaves out, so that an exported manifest manages no more than it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Always written.
    Always,
    /// Left out when empty.
    UnlessEmpty,
    /// Left out when equal to what the license's edition gives (a count of 0 where the
    /// edition gives none included).
    UnlessEdition,
    /// Written only when `false`: a license is active unless it says otherwise.
    OnlyFalse,
    /// Written only when `true`: a license is not temporary unless it says so.
    OnlyTrue,
    /// Never written (it is where the entry stands, not a key).
    Never,
}

/// A field's column in `import-csv` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// Its place in SLASCONE's own CSV layout, which orders the columns `import-csv` lists.
    pub order: u8,
    /// The header must have it.
    pub in_header: bool,
    /// Every row must give it a value.
    pub value_required: bool,
}

/// One field of a customer or a license.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name in manifests, plans and `ignore_changes`.
    pub name: &'static str,
    pub ty: Type,
    /// The catalog list the value must be found in, where it names something.
    pub names: Option<Names>,
    pub role: Role,
    /// Every manifest entry writes it.
    pub required: bool,
    /// What editors show for the field (the JSON Schema's description).
    pub doc: &'static str,
    /// On `/customers` or `/licenses`.
    pub wire: Member,
    /// Its JSON name on `/data_exchange/customers`, where it travels there.
    pub data_exchange: Option<&'static str>,
    /// A customer created by id (`POST /customers`) must have it.
    pub required_by_id: bool,
    /// A customer created by number (`POST /data_exchange/customers`) must have it.
    pub required_by_number: bool,
    pub export: Export,
    pub csv: Option<Column>,
}

/// A map of a license whose entries are named by the catalog and override the edition's entry
/// of the same name (`features: { Export: true }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Map {
    /// The name in manifests; an entry's path is `<name>.<entry name>`.
    pub name: &'static str,
    /// One entry, for messages: `feature`.
    pub what: &'static str,
    /// The type of an entry's value.
    pub value: Type,
    pub names: Names,
    pub doc: &'static str,
    /// The list of `LicenseDto` that holds the entries.
    pub wire: &'static str,
}

/// A list of objects of their own below an object: a customer's `licenses`.
#[derive(Debug, Clone, Copy)]
pub struct List {
    pub name: &'static str,
    pub doc: &'static str,
    pub entity: &'static Entity,
}

/// A kind of object a manifest describes.
#[derive(Debug)]
pub struct Entity {
    /// How messages name one: `a customer`.
    pub what: &'static str,
    /// What editors show for one (the JSON Schema's description).
    pub doc: &'static str,
    /// The title of its JSON Schema.
    pub title: &'static str,
    /// In the order manifests and `export` write them.
    pub fields: &'static [Field],
    pub maps: &'static [Map],
    pub lists: &'static [List],
    /// What editors show for its `ignore_changes`.
    pub ignore_doc: &'static str,
    /// [`Self::keys`], gathered once: every manifest entry is checked against them.
    key_list: OnceLock<Vec<&'static str>>,
}

impl Entity {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    pub fn map(&self, name: &str) -> Option<&'static Map> {
        self.maps.iter().find(|map| map.name == name)
    }

    /// The keys a manifest entry may have, in the order they are listed in messages.
    /// The keys a manifest entry may write, as a list gathered once.
    pub fn key_list(&self) -> &[&'static str] {
        self.key_list.get_or_init(|| self.keys().collect())
    }

    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .filter(|field| field.role != Role::Implicit)
            .map(|field| field.name)
            .chain(self.maps.iter().map(|map| map.name))
            .chain([IGNORE_CHANGES])
            .chain(self.lists.iter().map(|list| list.name))
    }

    /// The field paths `ignore_changes` may name outright; a map also takes one entry
    /// (`variables.Region`).
    pub fn ignore_paths(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .filter(|field| field.role != Role::Identity)
            .map(|field| field.name)
            .chain(self.maps.iter().map(|map| map.name))
    }
}

/// The key of an entry's list of field paths never reconciled.
pub const IGNORE_CHANGES: &str = "ignore_changes";

const fn column(name: &'static str, order: u8, required: bool) -> Option<Column> {
    Some(Column {
        name,
        order,
        in_header: required,
        value_required: required,
    })
}

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
    lists: &[List {
        name: "licenses",
        doc: "The customer's licenses.",
        entity: &LICENSE,
    }],
};

/// A count of a license, compared with its edition's.
const fn license_count(name: &'static str, doc: &'static str, order: u8, in_header: bool) -> Field {
    Field {
        name,
        ty: Type::Count,
        names: None,
        role: Role::Managed,
        required: false,
        doc,
        wire: Member::Named(name),
        data_exchange: None,
        required_by_id: false,
        required_by_number: false,
        export: Export::UnlessEdition,
        csv: Some(Column {
            name,
            order,
            in_header,
            value_required: false,
        }),
    }
}

/// A text of a license that travels as it is, in the member of its name.
const fn license_text(name: &'static str, doc: &'static str, order: u8) -> Field {
    Field {
        name,
        ty: Type::Text,
        names: None,
        role: Role::Managed,
        required: false,
        doc,
        wire: Member::Named(name),
        data_exchange: None,
        required_by_id: false,
        required_by_number: false,
        export: Export::UnlessEmpty,
        csv: Some(Column {
            name,
            order,
            in_header: false,
            value_required: false,
        }),
    }
}

pub static LICENSE: Entity = Entity {
    what: "a license",
    title: "License",
    doc: "A license of the enclosing customer. Identity: `id`, or (`product`, `legacy_license_key`), or\nboth. Without `features`, `limitations`, `variables` and `constrained_variables` the license\ntakes its edition's configuration; entries listed there override the edition one by one.",
    ignore_doc: "Fields of this license never reconciled, e.g. `variables.Region` or `features`.",
    key_list: OnceLock::new(),
    fields: &[
        Field {
            name: "customer",
            ty: Type::Name,
            names: None,
            role: Role::Implicit,
            required: false,
            doc: "The customer the license belongs to: the one it is listed under.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::Never,
            csv: column("customer_number", 0, true),
        },
        Field {
            name: "id",
            ty: Type::Uuid,
            names: None,
            role: Role::Identity,
            required: false,
            doc: "The license's SLASCONE id (UUID). With an id, the license is matched by id.",
            wire: Member::Named("id"),
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::Always,
            csv: None,
        },
        Field {
            name: "legacy_license_key",
            ty: Type::Name,
            names: None,
            role: Role::Identity,
            required: false,
            doc: "Your own key for the license, e.g. a subscription number. Without an `id`, the license is\nmatched by product and this key, which SLASCONE keeps unique per product.",
            wire: Member::Named("legacy_license_key"),
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::Always,
            csv: column("legacy_license_key", 3, true),
        },
        Field {
            name: "product",
            ty: Type::Name,
            names: Some(Names::Product),
            role: Role::Identity,
            required: true,
            doc: "The name of a product defined in SLASCONE.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::Always,
            csv: column("product", 1, true),
        },
        Field {
            name: "edition",
            ty: Type::Name,
            names: Some(Names::Edition),
            role: Role::Managed,
            required: true,
            doc: "The name of an edition (license template) of the product.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::Always,
            csv: column("edition", 2, true),
        },
        Field {
            name: "license_type",
            ty: Type::Name,
            names: Some(Names::LicenseType),
            role: Role::Managed,
            required: false,
            doc: "The name of a license type defined in SLASCONE, e.g. `Commercial`.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::UnlessEdition,
            csv: Some(Column {
                name: "license_type",
                order: 6,
                in_header: false,
                value_required: false,
            }),
        },
        Field {
            wire: Member::Converted,
            ..license_count(
                "token_limit",
                "Number of tokens (activations) allowed.",
                4,
                true,
            )
        },
        license_count(
            "goodwill_token_limit",
            "Extra tokens allowed beyond `token_limit` as goodwill.",
            7,
            false,
        ),
        license_count(
            "floating_token_limit",
            "Number of floating tokens allowed.",
            8,
            false,
        ),
        license_count("user_limit", "Number of named users allowed.", 9, false),
        Field {
            name: "expires",
            ty: Type::Expires,
            names: None,
            role: Role::Managed,
            required: false,
            doc: "When the license expires: a date (`2027-12-31`: the end of that day in the project's\n`timezone`, compared by day), `never`, or\n`{ days_after_activation: 30 }`.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::UnlessEdition,
            csv: Some(Column {
                name: "expiration_date",
                order: 5,
                in_header: true,
                value_required: false,
            }),
        },
        Field {
            name: "active",
            ty: Type::Bool,
            names: None,
            role: Role::Managed,
            required: false,
            doc: "Whether the license is active.",
            wire: Member::Named("is_active"),
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::OnlyFalse,
            csv: Some(Column {
                name: "active",
                order: 10,
                in_header: false,
                value_required: false,
            }),
        },
        license_text("name", "The license's name, e.g. the contract's title.", 11),
        license_text(
            "description",
            "A description of the license, e.g. the order text.",
            12,
        ),
        Field {
            name: "starts",
            ty: Type::Date,
            names: None,
            role: Role::Managed,
            required: false,
            doc: "The day the license starts (`2027-01-01`): the start of that day in the project's\n`timezone`, compared by day.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::UnlessEmpty,
            csv: Some(Column {
                name: "start_date",
                order: 13,
                in_header: false,
                value_required: false,
            }),
        },
        Field {
            name: "software_release_limitation",
            ty: Type::Name,
            names: Some(Names::SoftwareRelease),
            role: Role::Managed,
            required: false,
            doc: "The newest software release of the product the license may run, by its version (e.g.\n`\"3.2\"`), or `none` for no limit.",
            wire: Member::Converted,
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::UnlessEmpty,
            csv: Some(Column {
                name: "software_release_limitation",
                order: 14,
                in_header: false,
                value_required: false,
            }),
        },
        Field {
            name: "temporary",
            ty: Type::Bool,
            names: None,
            role: Role::Managed,
            required: false,
            doc: "Whether the license is temporary.",
            wire: Member::Named("is_temporary"),
            data_exchange: None,
            required_by_id: false,
            required_by_number: false,
            export: Export::OnlyTrue,
            csv: Some(Column {
                name: "temporary",
                order: 15,
                in_header: false,
                value_required: false,
            }),
        },
    ],
    maps: &[
        Map {
            name: "features",
            what: "feature",
            value: Type::Bool,
            names: Names::Feature,
            doc: "Feature name → enabled. Overrides the edition's feature of that name.",
            wire: "license_features",
        },
        Map {
            name: "limitations",
            what: "limitation",
            value: Type::Count,
            names: Names::Limitation,
            doc: "Limitation name → value. Overrides the edition's limitation of that name.",
            wire: "license_limitations",
        },
        Map {
            name: "variables",
            what: "variable",
            value: Type::Text,
            names: Names::Variable,
            doc: "Variable name → value. Overrides the edition's variable of that name.",
            wire: "license_variables",
        },
        Map {
            name: "constrained_variables",
            what: "constrained variable",
            value: Type::TextList,
            names: Names::ConstrainedVariable,
            doc: "Constrained variable name → the values chosen from its list, e.g.\n`Modules: [Core, Analytics]`. Overrides the edition's constrained variable of that name.",
            wire: "license_constrained_variables",
        },
    ],
    lists: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name appears once per entity, and only fields that travel on the customer
    /// endpoints have a data_exchange name.
    #[test]
    fn declarations_are_consistent() {
        for entity in [&CUSTOMER, &LICENSE] {
            let mut keys: Vec<&str> = entity.keys().collect();
            let count = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), count, "{}", entity.what);
            let mut columns: Vec<u8> = entity
                .fields
                .iter()
                .filter_map(|f| f.csv.map(|c| c.order))
                .collect();
            let count = columns.len();
            columns.sort_unstable();
            columns.dedup();
            assert_eq!(columns.len(), count, "CSV order of {}", entity.what);
        }
        assert!(LICENSE.fields.iter().all(|f| f.data_exchange.is_none()));
    }
}
