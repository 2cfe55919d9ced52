//! The diff: desired state × current state → [`Plan`]. Pure: no I/O, no clock, no async.
//!
//! Rules (docs/architecture.md, "Matching and identity rules"): objects are matched by id when the manifest gives one, else by their
//! natural key; only field paths the manifest writes are compared (server-side-apply style
//! ownership); ignored paths are never reconciled on existing objects; nothing is deleted, and
//! remote objects no manifest matches are reported as unmanaged.

use std::collections::BTreeSet;

use serde_json::Value;
use uuid::Uuid;

use super::parts::{
    CustomerMatching, DiffContext, creation_fields, is_ignored, nonempty, portal_links,
    update_fields,
};
use super::{
    Action, Change, FORMAT_VERSION, FieldChange, Identity, Plan, Risk, Source, Summary, Unmanaged,
    Warning, WarningKind,
};
use crate::hashing::{HashMap, HashSet, map_with_capacity};
use crate::model::{
    CurrentCustomer, CurrentLicense, CurrentState, DesiredCustomer, DesiredLicense, DesiredState,
    Fields, Kind,
};

/// The field path of a license that names its owning customer.
const CUSTOMER_FIELD: &str = crate::model::fields::OWNER;
/// The field path of a license's edition.
const EDITION_FIELD: &str = "edition";
/// The customer path that leaves every contact alone.
const CONTACTS: &str = crate::model::fields::CONTACTS;

/// Computes the plan that makes `current` match `desired`, in four steps: match the objects,
/// compare each matched pair (customers first, since a license may depend on a customer created
/// before it), list the remote objects nothing matched, and count.
pub fn diff(desired: &DesiredState, current: &CurrentState, ctx: &DiffContext) -> Plan {
    let mut warnings = Vec::new();
    let customers = CustomerMatching::new(desired, current, &mut warnings);
    let licenses = LicenseMatching::new(desired, current, &mut warnings);

    let mut changes = Vec::new();
    let mut unchanged = 0;
    for &(wanted, found) in &customers.planned {
        match customer_change(wanted, found, ctx, &mut warnings) {
            Some(change) => changes.push(change),
            None => unchanged += 1,
        }
    }
    let created_customers: BTreeSet<&str> = changes
        .iter()
        .filter(|change| change.action == Action::Create)
        .map(|change| change.key.as_str())
        .collect();
    let mut license_changes = Vec::new();
    for &(wanted, found) in &licenses.planned {
        let change = license_change(wanted, found, &customers, &created_customers, ctx);
        if let Some(found) = found {
            identity_warnings(wanted, found, &mut warnings);
        }
        match change {
            Some(change) => license_changes.push(change),
            None => unchanged += 1,
        }
    }
    if !ctx.ignore_customer.iter().any(|path| path == CONTACTS) {
        let (mut contact_changes, contacts_unchanged) = super::contacts::contact_changes(
            desired,
            current,
            &customers,
            &created_customers,
            ctx,
            &mut warnings,
        );
        license_changes.append(&mut contact_changes);
        unchanged += contacts_unchanged;
    }
    changes.append(&mut license_changes);
    changes.sort_by(|a, b| (a.kind(), &a.key).cmp(&(b.kind(), &b.key)));
    for change in &mut changes {
        super::risk::grade(change, ctx.today);
    }

    let mut unmanaged = unmanaged(current, &customers, &licenses);
    if !ctx.ignore_customer.iter().any(|path| path == CONTACTS) {
        unmanaged.extend(super::contacts::unmanaged_contacts(
            desired, current, &customers,
        ));
        unmanaged.sort();
    }
    warnings.extend(super::radar::expiry_warnings(&licenses.planned, ctx));
    warnings.sort_by(|a, b| a.message.cmp(&b.message));
    warnings.dedup();
    let count = |action| changes.iter().filter(|c| c.action == action).count();
    Plan {
        format_version: FORMAT_VERSION,
        target: ctx.target.clone(),
        summary: Summary {
            create: count(Action::Create),
            update: count(Action::Update),
            unchanged,
            unmanaged: unmanaged.len(),
        },
        changes,
        unmanaged,
        warnings,
    }
}

/// The change one desired customer needs, or `None` when its remote counterpart already matches.
fn customer_change(
    wanted: &DesiredCustomer,
    found: Option<&CurrentCustomer>,
    ctx: &DiffContext,
    warnings: &mut Vec<Warning>,
) -> Option<Change> {
    let (action, id, fields) = match found {
        None => (Action::Create, wanted.id, creation_fields(&wanted.fields)),
        Some(found) => {
            let number = nonempty(wanted.customer_number.as_deref());
            let found_number = nonempty(found.customer_number.as_deref());
            if number.is_some() && number != found_number {
                warnings.push(Warning::new(
                    WarningKind::IdentityKept,
                    &wanted.key,
                    format!(
                        "customer {} ({}): the manifest gives customer_number {}, but SLASCONE \
                         customer {} has {}; a customer number is an identity and is not changed",
                        wanted.key,
                        wanted.origin,
                        number.unwrap_or_default(),
                        found.id,
                        found_number.unwrap_or("none")
                    ),
                ));
            }
            let ignore = ignore_list(&wanted.ignore, &ctx.ignore_customer);
            let fields = update_fields(&wanted.fields, &found.fields, &ignore);
            if fields.is_empty() {
                return None;
            }
            (Action::Update, Some(found.id), fields)
        }
    };
    let number = wanted
        .customer_number
        .as_deref()
        .or_else(|| found.and_then(|found| found.customer_number.as_deref()));
    let identity = match wanted.id {
        Some(id) => Identity::CustomerById {
            id,
            customer_number: number.map(str::to_owned),
        },
        None => Identity::CustomerByNumber {
            customer_number: number.unwrap_or(&wanted.key).to_owned(),
            id,
        },
    };
    // The portal knows the customer by the number SLASCONE holds, which a plan never changes.
    let link_number = found
        .and_then(|found| nonempty(found.customer_number.as_deref()))
        .or(number);
    Some(Change {
        key: wanted.key.clone(),
        action,
        identity,
        fields,
        links: portal_links(&ctx.portal_url, link_number),
        fingerprint: found.map(|found| found.fingerprint.clone()),
        depends_on: None,
        origin: Some(wanted.origin.clone()),
        risk: Risk::Low,
        risk_reasons: Vec::new(),
    })
}

/// The change one desired license needs, or `None` when its remote counterpart already matches.
/// A license whose owner is created by this plan depends on that customer's change.
fn license_change(
    wanted: &DesiredLicense,
    found: Option<&CurrentLicense>,
    customers: &CustomerMatching<'_>,
    created_customers: &BTreeSet<&str>,
    ctx: &DiffContext,
) -> Option<Change> {
    let owner = wanted.fields.get(CUSTOMER_FIELD).and_then(Value::as_str);
    let (action, id, fields) = match found {
        None => {
            let mut fields = creation_fields(&with_edition(wanted));
            mark_edition_values(&mut fields, wanted);
            (Action::Create, wanted.id, fields)
        }
        Some(found) => {
            let ignore = ignore_list(&wanted.ignore, &ctx.ignore_license);
            let fields = license_field_changes(wanted, found, owner, customers, &ignore);
            if fields.is_empty() {
                return None;
            }
            (Action::Update, Some(found.id), fields)
        }
    };
    let number = owner.and_then(|owner| customers.number_of(owner));
    Some(Change {
        key: wanted.key.clone(),
        action,
        identity: Identity::License {
            id,
            product: wanted.product.clone(),
            legacy_license_key: wanted.legacy_license_key.clone(),
            edition_based: wanted.is_edition_based(),
        },
        fields,
        links: portal_links(&ctx.portal_url, number),
        fingerprint: found.map(|found| found.fingerprint.clone()),
        depends_on: owner
            .filter(|owner| created_customers.contains(owner))
            .map(str::to_owned),
        origin: Some(wanted.origin.clone()),
        risk: Risk::Low,
        risk_reasons: Vec::new(),
    })
}

/// The fields of an existing license that differ from the manifest. A changed edition brings
/// the edition's values for the fields the manifest leaves to it.
fn license_field_changes(
    wanted: &DesiredLicense,
    found: &CurrentLicense,
    owner: Option<&str>,
    customers: &CustomerMatching<'_>,
    ignore: &[&str],
) -> Vec<FieldChange> {
    let edition_changes = !is_ignored(EDITION_FIELD, ignore)
        && wanted.fields.get(EDITION_FIELD) != found.fields.get(EDITION_FIELD);
    // Only a changed edition needs a merged map; otherwise the manifest's own fields are
    // compared in place, since copying both maps of every license dominated the diff of a
    // large, mostly unchanged state.
    let merged = edition_changes.then(|| with_edition(wanted));
    let after = merged.as_ref().unwrap_or(&wanted.fields);
    // Owners are compared by identity (two keys may name the same remote customer), while the
    // plan shows the key the manifest wrote. Compared as text, so only a change allocates
    // values.
    let owner_before = customers.current_owner(found.customer_id);
    let owner_after = owner.map(|owner| customers.desired_owner(owner));
    let mut fields: Vec<FieldChange> = after
        .paired_with(&found.fields)
        .filter(|(path, _, _)| !is_ignored(path, ignore))
        .filter_map(|(path, value, before)| {
            let changed = if path == CUSTOMER_FIELD {
                owner_after.or_else(|| value.as_str()) != Some(owner_before.as_ref())
            } else {
                before.unwrap_or(&Value::Null) != value
            };
            changed.then(|| FieldChange {
                path: path.to_owned(),
                before: if path == CUSTOMER_FIELD {
                    Value::String(owner_before.to_string())
                } else {
                    before.cloned().unwrap_or(Value::Null)
                },
                after: match owner {
                    Some(owner) if path == CUSTOMER_FIELD => Value::String(owner.to_owned()),
                    _ => value.clone(),
                },
                source: None,
            })
        })
        .collect();
    if merged.is_some() {
        mark_edition_values(&mut fields, wanted);
    }
    fields
}

/// The remote customers and licenses no manifest object matched, sorted (contacts are
/// [`super::contacts::unmanaged_contacts`]).
fn unmanaged(
    current: &CurrentState,
    customers: &CustomerMatching<'_>,
    licenses: &LicenseMatching<'_>,
) -> Vec<Unmanaged> {
    let mut unmanaged: Vec<Unmanaged> = current
        .customers
        .iter()
        .filter(|found| !customers.primary_of.contains_key(&found.id))
        .map(|found| Unmanaged {
            kind: Kind::Customer,
            key: found.key(),
        })
        .chain(
            current
                .licenses
                .iter()
                .filter(|found| !licenses.claimed.contains(&found.id))
                .map(|found| Unmanaged {
                    kind: Kind::License,
                    key: found.key(),
                }),
        )
        .collect();
    unmanaged.sort();
    unmanaged
}

/// Which remote license each desired license is.
pub(crate) struct LicenseMatching<'a> {
    pub(crate) planned: Vec<(&'a DesiredLicense, Option<&'a CurrentLicense>)>,
    /// Remote ids some desired license matches.
    claimed: HashSet<Uuid>,
}

impl<'a> LicenseMatching<'a> {
    pub(crate) fn new(
        desired: &'a DesiredState,
        current: &'a CurrentState,
        warnings: &mut Vec<Warning>,
    ) -> Self {
        let by_id: HashMap<Uuid, &CurrentLicense> =
            current.licenses.iter().map(|l| (l.id, l)).collect();
        // Of several remote licenses with the same legacy key, the lowest id wins.
        let mut by_legacy: HashMap<(&str, &str), &CurrentLicense> =
            map_with_capacity(current.licenses.len());
        for found in &current.licenses {
            if let Some(legacy) = nonempty(found.legacy_license_key.as_deref()) {
                let winner = by_legacy.entry((&found.product, legacy)).or_insert(found);
                if found.id < winner.id {
                    *winner = found;
                }
            }
        }

        // Ids first, as for customers.
        let order = desired
            .licenses
            .iter()
            .filter(|l| l.id.is_some())
            .chain(desired.licenses.iter().filter(|l| l.id.is_none()));

        let mut planned = Vec::new();
        let mut primary_of: HashMap<Uuid, &DesiredLicense> =
            map_with_capacity(desired.licenses.len());
        for wanted in order {
            let found = match wanted.id {
                Some(id) => by_id.get(&id).copied(),
                None => nonempty(wanted.legacy_license_key.as_deref())
                    .and_then(|legacy| by_legacy.get(&(wanted.product.as_str(), legacy)).copied()),
            };
            let Some(found) = found else {
                planned.push((wanted, None));
                continue;
            };
            if let Some(first) = primary_of.get(&found.id) {
                warnings.push(Warning::new(
                    WarningKind::SameObject,
                    &wanted.key,
                    format!(
                        "license {} ({}) and license {} ({}) are the same SLASCONE license {}; \
                         only license {} is planned",
                        first.key, first.origin, wanted.key, wanted.origin, found.id, first.key
                    ),
                ));
                continue;
            }
            primary_of.insert(found.id, wanted);
            planned.push((wanted, Some(found)));
        }
        LicenseMatching {
            planned,
            claimed: primary_of.into_keys().collect(),
        }
    }
}

/// A license matched by id whose manifest gives another product or legacy key: these are
/// identities, never patched, so say so rather than leave the difference unexplained.
fn identity_warnings(wanted: &DesiredLicense, found: &CurrentLicense, warnings: &mut Vec<Warning>) {
    if wanted.product != found.product {
        warnings.push(Warning::new(
            WarningKind::IdentityKept,
            &wanted.key,
            format!(
                "license {} ({}): SLASCONE license {} belongs to product {}; a license's product \
                 is not changed",
                wanted.key, wanted.origin, found.id, found.product
            ),
        ));
    }
    let legacy = nonempty(wanted.legacy_license_key.as_deref());
    let found_legacy = nonempty(found.legacy_license_key.as_deref());
    if legacy.is_some() && legacy != found_legacy {
        warnings.push(Warning::new(
            WarningKind::IdentityKept,
            &wanted.key,
            format!(
                "license {} ({}): SLASCONE license {} has legacy_license_key {}; a legacy \
                 license key is an identity and is not changed",
                wanted.key,
                wanted.origin,
                found.id,
                found_legacy.unwrap_or("none")
            ),
        ));
    }
}

/// The fields a license gets from its edition, under the ones its manifest writes.
pub(crate) fn with_edition(license: &DesiredLicense) -> Fields {
    let mut fields = Fields::clone(&license.edition_fields);
    fields.extend(license.fields.iter().map(|(k, v)| (k, v.clone())));
    fields
}

/// Marks the fields a license gets from its edition rather than from its manifest.
fn mark_edition_values(fields: &mut [FieldChange], license: &DesiredLicense) {
    for field in fields {
        if !license.fields.contains_key(&field.path) {
            field.source = Some(Source::Edition);
        }
    }
}

fn ignore_list<'a>(own: &'a [String], project: &'a [String]) -> Vec<&'a str> {
    own.iter().chain(project).map(String::as_str).collect()
}
