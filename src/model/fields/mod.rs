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
    /// A license limit: lowering it can lock devices or users out, so a plan grades that high
    /// risk, and reads what is in use behind it where SLASCONE tells.
    pub limit: Option<Limit>,
}

/// What is in use behind a license limit, as SLASCONE tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Activated tokens: `GET /licenses/{id}/assignments`.
    Tokens,
    /// Named users: `active_users` of the light license listing.
    Users,
    /// Floating tokens in use: `active_floating_tokens` of the light license listing.
    FloatingTokens,
    /// Nothing tells what is in use.
    Unread,
}

impl Limit {
    /// How a risk reason names what is in use.
    pub fn in_use(self) -> Option<&'static str> {
        match self {
            Limit::Tokens => Some("tokens in use (assignments)"),
            Limit::Users => Some("named users (active_users)"),
            Limit::FloatingTokens => Some("floating tokens in use (active_floating_tokens)"),
            Limit::Unread => None,
        }
    }
}

/// The limit a license field path is, if it is one.
pub fn limit_of(path: &str) -> Option<Limit> {
    LICENSE.field(path).and_then(|field| field.limit)
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

/// A list of objects of their own below an object: a customer's `licenses` and `contacts`.
#[derive(Debug, Clone, Copy)]
pub struct List {
    pub name: &'static str,
    pub doc: &'static str,
    pub entity: &'static Entity,
    /// `ignore_changes` may name the whole list, leaving every object in it alone.
    pub ignorable: bool,
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
    pub(super) key_list: OnceLock<Vec<&'static str>>,
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
    /// (`variables.Region`), and an ignorable list leaves its objects alone (`contacts`).
    pub fn ignore_paths(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .filter(|field| field.role != Role::Identity)
            .map(|field| field.name)
            .chain(self.maps.iter().map(|map| map.name))
            .chain(
                self.lists
                    .iter()
                    .filter(|list| list.ignorable)
                    .map(|list| list.name),
            )
    }
}

/// The key of an entry's list of field paths never reconciled.
/// The license field that names its customer (the customer it is listed under): what links a
/// license to its owner in the model, the plan and every conversion.
pub const OWNER: &str = "customer";
/// The customer list of contacts: one object, and one change, per contact.
pub const CONTACTS: &str = "contacts";
pub const IGNORE_CHANGES: &str = "ignore_changes";

pub(super) const fn column(name: &'static str, order: u8, required: bool) -> Option<Column> {
    Some(Column {
        name,
        order,
        in_header: required,
        value_required: required,
    })
}

mod contact;
mod customer;
mod license;

pub use contact::CONTACT;
pub use customer::CUSTOMER;
pub use license::LICENSE;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name appears once per entity, and only fields that travel on the customer
    /// endpoints have a data_exchange name.
    #[test]
    fn declarations_are_consistent() {
        for entity in [&CUSTOMER, &LICENSE, &CONTACT] {
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
