//! The contacts of the diff: a contact is matched by its customer and e-mail address (in any
//! case), and written on the endpoint its customer is written by.

use std::collections::{BTreeSet, HashMap, HashSet};

use uuid::Uuid;

use super::parts::{CustomerMatching, creation_fields, nonempty, portal_links, update_fields};
use super::{Action, Change, DiffContext, Identity, Risk, Unmanaged, Warning, WarningKind};
use crate::model::{CurrentContact, CurrentState, DesiredContact, DesiredState, Kind, contact_key};

/// The field of a contact whose `true` may invite the contact to the customer portal.
const PORTAL_USER: &str = "portal_user";

/// The remote customers whose contacts a plan compares: those that SLASCONE has, of the
/// customers whose manifests list contacts. One `GET /customers/{id}/contacts` each.
pub fn contact_owners(desired: &DesiredState, current: &CurrentState) -> Vec<Uuid> {
    if desired.contacts.is_empty() {
        return Vec::new();
    }
    let customers = CustomerMatching::new(desired, current, &mut Vec::new());
    let owners: BTreeSet<Uuid> = desired
        .contacts
        .iter()
        .filter_map(|contact| customers.remote_of.get(contact.customer.as_str()).copied())
        .collect();
    owners.into_iter().collect()
}

/// The changes the contacts need, and how many already match.
pub(super) fn contact_changes(
    desired: &DesiredState,
    current: &CurrentState,
    customers: &CustomerMatching<'_>,
    created_customers: &BTreeSet<&str>,
    ctx: &DiffContext,
    warnings: &mut Vec<Warning>,
) -> (Vec<Change>, usize) {
    let found_by: HashMap<(Uuid, String), &CurrentContact> = current
        .contacts
        .iter()
        .map(|contact| ((contact.customer_id, email_key(&contact.email)), contact))
        .collect();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let mut planned: HashSet<(Uuid, String)> = HashSet::new();
    // The contacts of a customer's planned manifest entry come first, so when two entries are one
    // SLASCONE customer, the same one wins whatever the order of the manifests.
    let mut order: Vec<&DesiredContact> = desired.contacts.iter().collect();
    order.sort_by(|a, b| {
        let primary = |c: &DesiredContact| !customers.is_primary(&c.customer);
        (primary(a), &a.key).cmp(&(primary(b), &b.key))
    });
    for wanted in order {
        let found = match customers.remote_of.get(wanted.customer.as_str()) {
            // The customer is created by this plan (or cannot be): so is the contact.
            None => None,
            Some(&owner) => {
                let identity = (owner, email_key(&wanted.email));
                if !planned.insert(identity.clone()) {
                    warnings.push(Warning::new(
                        WarningKind::SameObject,
                        &wanted.key,
                        format!(
                            "contact {} ({}): another manifest entry is the same SLASCONE \
                             contact; only the first is planned",
                            wanted.key, wanted.origin
                        ),
                    ));
                    continue;
                }
                found_by.get(&identity).copied()
            }
        };
        match contact_change(wanted, found, customers, created_customers, ctx, warnings) {
            Some(change) => changes.push(change),
            None => unchanged += 1,
        }
    }
    (changes, unchanged)
}

/// The contacts read that no manifest lists: those of the customers whose manifests list
/// contacts (no others are read), each under `<customer>/<email>`, the customer named by the
/// key SLASCONE knows it by. Left alone like every unmanaged object.
pub(super) fn unmanaged_contacts(
    desired: &DesiredState,
    current: &CurrentState,
    customers: &CustomerMatching<'_>,
) -> Vec<Unmanaged> {
    if current.contacts.is_empty() {
        return Vec::new();
    }
    let listed: HashSet<(Uuid, String)> = desired
        .contacts
        .iter()
        .filter_map(|contact| {
            let owner = customers.remote_of.get(contact.customer.as_str())?;
            Some((*owner, email_key(&contact.email)))
        })
        .collect();
    let customer_keys: HashMap<Uuid, String> = current
        .customers
        .iter()
        .map(|customer| (customer.id, customer.key()))
        .collect();
    current
        .contacts
        .iter()
        .filter(|found| !listed.contains(&(found.customer_id, email_key(&found.email))))
        .map(|found| {
            let customer = customer_keys
                .get(&found.customer_id)
                .cloned()
                .unwrap_or_else(|| found.customer_id.to_string());
            Unmanaged {
                kind: Kind::Contact,
                key: contact_key(&customer, &found.email),
            }
        })
        .collect()
}

fn email_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The change one desired contact needs, or `None` when SLASCONE's already matches.
fn contact_change(
    wanted: &DesiredContact,
    found: Option<&CurrentContact>,
    customers: &CustomerMatching<'_>,
    created_customers: &BTreeSet<&str>,
    ctx: &DiffContext,
    warnings: &mut Vec<Warning>,
) -> Option<Change> {
    let (action, fields) = match found {
        None => (Action::Create, creation_fields(&wanted.fields)),
        Some(found) => {
            let ignore: Vec<&str> = wanted.ignore.iter().map(String::as_str).collect();
            let fields = update_fields(&wanted.fields, &found.fields, &ignore);
            if fields.is_empty() {
                return None;
            }
            (Action::Update, fields)
        }
    };
    if fields
        .iter()
        .any(|field| field.path == PORTAL_USER && field.after == true && field.before != true)
    {
        warnings.push(Warning::new(
            WarningKind::PortalInvitation,
            &wanted.key,
            format!(
                "contact {} ({}): making {} a portal user may send them an invitation e-mail",
                wanted.key, wanted.origin, wanted.email
            ),
        ));
    }
    let number = customers.number_of(&wanted.customer);
    let owner = customers.desired_by_key.get(wanted.customer.as_str())?;
    let id = found.map(|found| found.id);
    let identity = match owner.id {
        Some(customer_id) => Identity::ContactById {
            customer_id,
            email: wanted.email.clone(),
            id,
        },
        None => Identity::ContactByNumber {
            customer_number: number.unwrap_or(&wanted.customer).to_owned(),
            email: wanted.email.clone(),
            id,
        },
    };
    Some(Change {
        key: wanted.key.clone(),
        action,
        identity,
        fields,
        links: portal_links(&ctx.portal_url, number.and_then(|n| nonempty(Some(n)))),
        fingerprint: found.map(|found| found.fingerprint.clone()),
        depends_on: created_customers
            .contains(wanted.customer.as_str())
            .then(|| wanted.customer.clone()),
        origin: Some(wanted.origin.clone()),
        risk: Risk::Low,
        risk_reasons: Vec::new(),
    })
}
