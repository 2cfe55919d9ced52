//! The plan: what `apply` would do, as plain, serialisable data (docs/architecture.md, "The plan JSON contract").
//!
//! A plan is the single source of truth for review and for `apply --plan`: the text and markdown
//! renderings are views of it, and its JSON form (`plan --format json`) is a versioned contract
//! described by `schema/plan.schema.json`. Nothing here does I/O; [`diff::diff`] builds a plan
//! from a desired and a current state.

mod contacts;
pub mod diff;
pub mod ids;
mod parts;
mod radar;
pub mod risk;
pub mod simulate;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Kind, Origin};

pub use contacts::contact_owners;
pub use diff::diff;
pub use parts::DiffContext;
pub use simulate::apply_changes;

/// The version of the plan JSON; bumped on any incompatible change of its shape. Version 2 made
/// warnings objects and graded each change's risk; `apply --plan` still reads version 1.
pub const FORMAT_VERSION: u32 = 2;

/// Every change that would make SLASCONE match the manifests, plus what was left alone. Its JSON
/// form, both ways, is in [`crate::render::plan_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    /// The SLASCONE account the plan was made against; `apply --plan` refuses another one.
    pub target: Target,
    pub summary: Summary,
    /// Sorted: customers, then licenses, then contacts, each by key. Executed in this order,
    /// except that independent changes may run in parallel.
    pub changes: Vec<Change>,
    /// Remote objects no manifest mentions: listed, never changed. Sorted by kind, then key.
    pub unmanaged: Vec<Unmanaged>,
    /// Things a reviewer should know that do not stop the plan (e.g. two manifest entries that
    /// are the same SLASCONE object, a license about to expire). Sorted by message.
    pub warnings: Vec<Warning>,
}

/// Something a reviewer should know that does not stop the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    pub kind: WarningKind,
    /// What a reviewer reads, naming the object and where the manifests write it.
    pub message: String,
    /// The key of the object it concerns, where it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `expiring`, `expired`: the day the license expires, in the project's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `expiring`, `expired`: days from today to that day; negative once it has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
}

impl Warning {
    pub fn new(kind: WarningKind, key: &str, message: String) -> Warning {
        Warning {
            kind,
            message,
            key: Some(key.to_owned()),
            date: None,
            days_left: None,
        }
    }
}

/// How much harm a change can do to a customer who relies on the license, as a reviewer should
/// weigh it. Ordered: `Low < Medium < High`.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Nothing a customer relies on is taken away.
    #[default]
    Low,
    /// Something a customer sees changes.
    Medium,
    /// Something a customer relies on may stop working: fewer tokens or users, a feature off, a
    /// license deactivated, moved, or expiring earlier.
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<Risk> {
        match text {
            "low" => Some(Risk::Low),
            "medium" => Some(Risk::Medium),
            "high" => Some(Risk::High),
            _ => None,
        }
    }
}

/// What a warning is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// An active license expires within `warnings.expiring_within_days`, as it will be after
    /// apply.
    Expiring,
    /// An active license has expired, as it will be after apply.
    Expired,
    /// Two manifest entries are the same SLASCONE object; only the first is planned.
    SameObject,
    /// SLASCONE holds several customers with one customer number.
    SharedNumber,
    /// A manifest gives another identity (customer number, product, legacy key) than SLASCONE
    /// holds for the object; identities are never changed.
    IdentityKept,
    /// Creating the customer would give SLASCONE a second customer with its number.
    WouldDuplicate,
    /// A contact becomes a portal user, which may send them an invitation e-mail.
    PortalInvitation,
    /// A warning of a version 1 plan, which did not record what it was about.
    Unclassified,
}

/// The SLASCONE account a plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub api_url: String,
    pub isv_id: Uuid,
}

/// Object counts. `create` and `update` count the changes; `unchanged` counts managed objects
/// that already match; `unmanaged` counts remote objects left alone.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub unmanaged: usize,
}

/// What a change does to its object. There is no delete: unmanaged objects are left alone.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The object does not exist in SLASCONE: POST.
    Create,
    /// The object exists and some managed field differs: PATCH.
    Update,
}

impl Action {
    /// The terraform-style marker: `+` for create, `~` for update.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
        }
    }
}

/// One POST or PATCH, as data: which object, what it does, and to which fields. Where it is sent
/// follows from its identity ([`Identity::endpoint`]); `remote` turns that into a method and path.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The object's key: a customer's number (else its id), a license's
    /// `<product>/<legacy_license_key>` (else `<product>/<id>`).
    pub key: String,
    pub action: Action,
    pub identity: Identity,
    /// Field paths in order. A create lists every field it sets (`before` null); an update
    /// lists only the fields that differ.
    pub fields: Vec<FieldChange>,
    /// Deep links into the SLASCONE portal for the customer concerned.
    pub links: Vec<String>,
    /// Identifies the remote object as read (updates only); `apply --plan` refuses to patch an
    /// object whose fingerprint has changed since.
    pub fingerprint: Option<String>,
    /// The key of the customer this license or contact belongs to, when that customer is
    /// created by this plan: it must be created first.
    pub depends_on: Option<String>,
    /// Where the object is written in the manifests.
    pub origin: Option<Origin>,
    /// How much harm the change can do to a customer relying on the license ([`risk`]).
    pub risk: Risk,
    /// Why it is graded so, highest first; empty for a low-risk change.
    pub risk_reasons: Vec<String>,
}

/// Which SLASCONE object a change is for: what it is matched and written by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A customer with an id in its manifest: matched and written by id.
    CustomerById {
        id: Uuid,
        customer_number: Option<String>,
    },
    /// A customer known by its number only: matched and written by number. `id` is the remote
    /// id, once SLASCONE has the customer.
    CustomerByNumber {
        customer_number: String,
        id: Option<Uuid>,
    },
    /// A license: matched by id when known, else by product and legacy key.
    License {
        /// The remote id for an update; for a create, the id the manifest gives, if any.
        id: Option<Uuid>,
        product: String,
        legacy_license_key: Option<String>,
        /// The manifest lists no features, limitations, variables or constrained variables: the
        /// license is written without them, so SLASCONE applies its edition's configuration.
        edition_based: bool,
    },
    /// A contact of a customer written by id: on `/customers/{customer_id}/contacts`. `id` is
    /// the contact's own, once SLASCONE has it.
    ContactById {
        customer_id: Uuid,
        email: String,
        id: Option<Uuid>,
    },
    /// A contact of a customer known by its number: on `/data_exchange/customers/contacts`,
    /// which adds or updates by (customer number, e-mail).
    ContactByNumber {
        customer_number: String,
        email: String,
        id: Option<Uuid>,
    },
}

/// The collection of SLASCONE's API a change is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/customers`: customers by id.
    Customers,
    /// `/data_exchange/customers`: customers by number (SLASCONE's sync guide).
    DataExchangeCustomers,
    /// `/licenses`.
    Licenses,
    /// `/customers/{customer_id}/contacts`: the contacts of a customer by id.
    CustomerContacts { customer_id: Uuid },
    /// `/data_exchange/customers/contacts`: contacts by customer number and e-mail.
    DataExchangeContacts,
}

impl Identity {
    pub fn kind(&self) -> Kind {
        match self {
            Identity::CustomerById { .. } | Identity::CustomerByNumber { .. } => Kind::Customer,
            Identity::License { .. } => Kind::License,
            Identity::ContactById { .. } | Identity::ContactByNumber { .. } => Kind::Contact,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        match self {
            Identity::CustomerById { .. } => Endpoint::Customers,
            Identity::CustomerByNumber { .. } => Endpoint::DataExchangeCustomers,
            Identity::License { .. } => Endpoint::Licenses,
            Identity::ContactById { customer_id, .. } => Endpoint::CustomerContacts {
                customer_id: *customer_id,
            },
            Identity::ContactByNumber { .. } => Endpoint::DataExchangeContacts,
        }
    }

    /// The remote id (updates), or the id the manifest gives (creates).
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Identity::CustomerById { id, .. } => Some(*id),
            Identity::CustomerByNumber { id, .. }
            | Identity::License { id, .. }
            | Identity::ContactById { id, .. }
            | Identity::ContactByNumber { id, .. } => *id,
        }
    }

    /// A contact's e-mail address.
    pub fn email(&self) -> Option<&str> {
        match self {
            Identity::ContactById { email, .. } | Identity::ContactByNumber { email, .. } => {
                Some(email)
            }
            _ => None,
        }
    }

    /// The id of the customer a contact of a customer written by id belongs to.
    pub fn customer_id(&self) -> Option<Uuid> {
        match self {
            Identity::ContactById { customer_id, .. } => Some(*customer_id),
            _ => None,
        }
    }

    pub fn customer_number(&self) -> Option<&str> {
        match self {
            Identity::CustomerById {
                customer_number, ..
            } => customer_number.as_deref(),
            Identity::CustomerByNumber {
                customer_number, ..
            }
            | Identity::ContactByNumber {
                customer_number, ..
            } => Some(customer_number),
            Identity::License { .. } | Identity::ContactById { .. } => None,
        }
    }

    pub fn product(&self) -> Option<&str> {
        match self {
            Identity::License { product, .. } => Some(product),
            _ => None,
        }
    }

    pub fn legacy_license_key(&self) -> Option<&str> {
        match self {
            Identity::License {
                legacy_license_key, ..
            } => legacy_license_key.as_deref(),
            _ => None,
        }
    }

    pub fn edition_based(&self) -> bool {
        matches!(
            self,
            Identity::License {
                edition_based: true,
                ..
            }
        )
    }
}

/// One field's value before and after the change; `null` means absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldChange {
    /// The field path, e.g. `company_name`, `features.Export`, `limitations.Users`.
    pub path: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// Where the value comes from when the manifest does not write it: `edition` for what the
    /// license's edition gives it. Absent for fields the manifest writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// Where a field's value comes from, when not from the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The license's edition: SLASCONE applies it; the manifest does not write the field.
    Edition,
}

/// A remote object no manifest mentions.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Unmanaged {
    pub kind: Kind,
    pub key: String,
}

impl Plan {
    /// True when applying the plan would send nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The number of requests `apply` would send.
    pub fn change_count(&self) -> usize {
        self.changes.len()
    }
}

impl Change {
    pub fn kind(&self) -> Kind {
        self.identity.kind()
    }

    /// The remote id (updates), or the id the manifest gives (creates).
    pub fn id(&self) -> Option<Uuid> {
        self.identity.id()
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod proptests;
