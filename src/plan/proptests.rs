//! Properties of the diff over random desired and current states: small pools of ids, numbers,
//! legacy keys, paths and values, so identities overlap and fields collide often.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::subsequence;
use serde_json::{Value, json};

use super::parts::is_ignored;
use super::tests::{ctx, id};
use super::*;
use crate::model::{
    CurrentContact, CurrentCustomer, CurrentLicense, CurrentState, DesiredContact, DesiredCustomer,
    DesiredLicense, DesiredState, Fields, Origin, contact_key, license_key,
};
use uuid::Uuid;

const CUSTOMER_PATHS: &[&str] = &["company_name", "country", "email", "phone", "city"];
const LICENSE_PATHS: &[&str] = &[
    "edition",
    "token_limit",
    "active",
    "expires",
    "features.Export",
    "features.Import",
    "limitations.Users",
    "variables.Region",
];
const CUSTOMER_IGNORES: &[&str] = &["phone", "email", "company_name"];
const LICENSE_IGNORES: &[&str] = &[
    "features",
    "variables.Region",
    "limitations.Users",
    "edition",
    "customer",
    "token_limit",
];
const CONTACT_PATHS: &[&str] = &["name", "surname", "phone", "portal_user"];
const CONTACT_IGNORES: &[&str] = &["phone", "portal_user"];
/// Addresses that differ only in case name the same contact.
const EMAILS: &[&str] = &["ann@x.io", "bob@x.io", "Ann@X.io"];
const PRODUCTS: &[&str] = &["Argus", "Bolt"];
const EDITIONS: &[&str] = &["Professional", "Basic"];

fn value_for(path: &str, seed: u8) -> Value {
    let seed = usize::from(seed % 3);
    match path {
        "edition" => json!(EDITIONS[seed % 2]),
        "token_limit" | "limitations.Users" => json!(seed * 5),
        "active" | "features.Export" | "features.Import" => json!(seed == 1),
        "expires" => [
            json!("2027-12-31"),
            json!("never"),
            json!({"days_after_activation": 30}),
        ][seed]
            .clone(),
        "variables.Region" => json!(["EU", "US", "APAC"][seed]),
        "portal_user" => json!(seed == 2),
        _ => json!(["Acme", "Beta", "Gamma"][seed]),
    }
}

fn edition_fields(product: &str, edition: &str) -> Fields {
    let seed = u8::from(edition == "Basic") + u8::from(product == "Bolt");
    [
        "token_limit",
        "features.Export",
        "features.Import",
        "limitations.Users",
        "variables.Region",
    ]
    .iter()
    .map(|path| (path.to_string(), value_for(path, seed)))
    .collect()
}

fn field_set(paths: &'static [&'static str]) -> impl Strategy<Value = Fields> {
    prop::collection::vec((0..paths.len(), any::<u8>()), 0..6).prop_map(move |picks| {
        picks
            .into_iter()
            .map(|(path, seed)| (paths[path].to_owned(), value_for(paths[path], seed)))
            .collect()
    })
}

fn ignores(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    subsequence(pool, 0..=2).prop_map(|picked| picked.iter().map(|s| s.to_string()).collect())
}

fn origin() -> Origin {
    Origin {
        file: Path::new("m.yaml").into(),
        line: 1,
        column: 1,
    }
}

fn number(n: usize) -> String {
    format!("K{n}")
}

fn current_state() -> impl Strategy<Value = CurrentState> {
    let customers = subsequence((1u128..=6).collect::<Vec<_>>(), 0..=6).prop_flat_map(|ids| {
        let n = ids.len();
        (
            Just(ids),
            prop::collection::vec(prop::option::of(0..4usize), n),
            prop::collection::vec(field_set(CUSTOMER_PATHS), n),
        )
    });
    let licenses = subsequence((20u128..=27).collect::<Vec<_>>(), 0..=8).prop_flat_map(|ids| {
        let n = ids.len();
        (
            Just(ids),
            prop::collection::vec((0..2usize, prop::option::of(0..3usize), 1u128..=7), n),
            prop::collection::vec((0..2usize, field_set(LICENSE_PATHS)), n),
        )
    });
    (customers, licenses)
        .prop_map(|((ids, numbers, fields), (lids, keys, lfields))| {
            let mut used = BTreeSet::new();
            let customers = ids
                .into_iter()
                .zip(numbers)
                .zip(fields)
                .map(|((n, number), fields)| CurrentCustomer {
                    id: id(n),
                    customer_number: number.filter(|k| used.insert(*k)).map(self::number),
                    fields,
                    fingerprint: format!("c{n}"),
                })
                .collect();
            let mut used = BTreeSet::new();
            let licenses = lids
                .into_iter()
                .zip(keys)
                .zip(lfields)
                .map(|((n, (product, legacy, owner)), (edition, mut fields))| {
                    fields.insert("edition".to_owned(), json!(EDITIONS[edition]));
                    CurrentLicense {
                        id: id(n),
                        product: PRODUCTS[product].to_owned(),
                        legacy_license_key: legacy
                            .filter(|l| used.insert((product, *l)))
                            .map(|l| format!("L{l}")),
                        customer_id: id(owner),
                        fields,
                        fingerprint: format!("l{n}"),
                    }
                })
                .collect();
            CurrentState {
                customers,
                licenses,
                contacts: Vec::new(),
            }
        })
        .prop_flat_map(|state| {
            let owners: Vec<Uuid> = state.customers.iter().map(|c| c.id).collect();
            let contact = (
                any::<prop::sample::Index>(),
                0..EMAILS.len(),
                field_set(CONTACT_PATHS),
            );
            (Just(state), prop::collection::vec(contact, 0..5)).prop_map(
                move |(mut state, picks)| {
                    if owners.is_empty() {
                        return state;
                    }
                    let mut seen = BTreeSet::new();
                    for (n, (owner, email, fields)) in picks.into_iter().enumerate() {
                        let customer_id = owners[owner.index(owners.len())];
                        // SLASCONE keeps one contact per address and customer.
                        if !seen.insert((customer_id, EMAILS[email].to_lowercase())) {
                            continue;
                        }
                        state.contacts.push(CurrentContact {
                            id: id(100 + n as u128),
                            customer_id,
                            email: EMAILS[email].to_owned(),
                            fields,
                            fingerprint: format!("c{n}"),
                        });
                    }
                    state
                },
            )
        })
}

/// Identity of a desired customer: `(Some(id), number)` or `(None, Some(number))`.
type CustomerIdentity = (Option<u128>, Option<usize>);
/// Identity of a desired license: product, then `(Some(id), legacy)` or `(None, Some(legacy))`.
type LicenseIdentity = (usize, Option<u128>, Option<usize>);

fn desired_state() -> impl Strategy<Value = DesiredState> {
    let customer = (
        prop_oneof![
            (1u128..=8, prop::option::of(0..4usize)).prop_map(|(i, n)| (Some(i), n)),
            (0..4usize).prop_map(|n| (None, Some(n))),
        ],
        field_set(CUSTOMER_PATHS),
        ignores(CUSTOMER_IGNORES),
    );
    let license = (
        prop_oneof![
            (0..2usize, 20u128..=29, prop::option::of(0..3usize)).prop_map(|(p, i, l)| (
                p,
                Some(i),
                l
            )),
            (0..2usize, 0..3usize).prop_map(|(p, l)| (p, None, Some(l))),
        ],
        any::<prop::sample::Index>(),
        0..2usize,
        field_set(LICENSE_PATHS),
        ignores(LICENSE_IGNORES),
    );
    let contact = (
        any::<prop::sample::Index>(),
        0..EMAILS.len(),
        field_set(CONTACT_PATHS),
        ignores(CONTACT_IGNORES),
    );
    (
        prop::collection::vec(customer, 0..5),
        prop::collection::vec(license, 0..6),
        prop::collection::vec(contact, 0..5),
    )
        .prop_map(|(customers, licenses, contacts)| {
            // Manifest validation guarantees unique identities; keep only the first of each.
            let mut ids = BTreeSet::new();
            let mut numbers = BTreeSet::new();
            let customers: Vec<DesiredCustomer> = customers
                .into_iter()
                .filter(|((i, n), _, _): &(CustomerIdentity, _, _)| {
                    i.is_none_or(|i| ids.insert(i)) && n.is_none_or(|n| numbers.insert(n))
                })
                .map(|((i, n), fields, ignore)| DesiredCustomer {
                    key: n.map_or_else(|| id(i.unwrap_or_default()).to_string(), number),
                    id: i.map(id),
                    customer_number: n.map(number),
                    fields,
                    ignore,
                    origin: origin(),
                })
                .collect();
            let mut ids = BTreeSet::new();
            let mut legacies = BTreeSet::new();
            let licenses = licenses
                .into_iter()
                .filter(|_| !customers.is_empty())
                .filter(|((p, i, l), ..): &(LicenseIdentity, _, _, _, _)| {
                    i.is_none_or(|i| ids.insert(i)) && l.is_none_or(|l| legacies.insert((*p, l)))
                })
                .map(|((p, i, l), owner, edition, mut fields, ignore)| {
                    let product = PRODUCTS[p];
                    let legacy = l.map(|l| format!("L{l}"));
                    fields.insert("edition".to_owned(), json!(EDITIONS[edition]));
                    fields.insert(
                        "customer".to_owned(),
                        json!(customers[owner.index(customers.len())].key),
                    );
                    DesiredLicense {
                        key: license_key(product, legacy.as_deref(), i.map(id)),
                        id: i.map(id),
                        product: product.to_owned(),
                        legacy_license_key: legacy,
                        fields,
                        edition_fields: Arc::new(edition_fields(product, EDITIONS[edition])),
                        ignore,
                        origin: origin(),
                    }
                })
                .collect();
            // Manifest validation keeps one address per customer, whatever its case.
            let mut seen = BTreeSet::new();
            let contacts = contacts
                .into_iter()
                .filter(|_| !customers.is_empty())
                .filter_map(|(owner, email, fields, ignore)| {
                    let customer = &customers[owner.index(customers.len())].key;
                    let email = EMAILS[email];
                    seen.insert((customer.clone(), email.to_lowercase()))
                        .then(|| DesiredContact {
                            key: contact_key(customer, email),
                            customer: customer.clone(),
                            email: email.to_owned(),
                            fields,
                            ignore,
                            origin: origin(),
                        })
                })
                .collect();
            DesiredState {
                customers,
                licenses,
                contacts,
            }
        })
}

fn context() -> impl Strategy<Value = DiffContext> {
    (ignores(CUSTOMER_IGNORES), ignores(LICENSE_IGNORES)).prop_map(|(customer, license)| {
        DiffContext {
            ignore_customer: customer,
            ignore_license: license,
            // Eleven days before the pool's one date, so the radar has licenses to warn of.
            today: Some(jiff::civil::date(2027, 12, 20)),
            ..ctx()
        }
    })
}

fn json_bytes(plan: &Plan) -> Vec<u8> {
    serde_json::to_vec_pretty(plan).expect("a plan serialises")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn applying_the_plan_converges(
        desired in desired_state(), current in current_state(), ctx in context(),
    ) {
        let plan = diff(&desired, &current, &ctx);
        let after = apply_changes(&current, &plan, &desired);
        let again = diff(&desired, &after, &ctx);
        prop_assert!(again.is_empty(), "left over: {:#?}", again.changes);
    }

    #[test]
    fn changes_touch_only_desired_paths(
        desired in desired_state(), current in current_state(), ctx in context(),
    ) {
        let plan = diff(&desired, &current, &ctx);
        for change in &plan.changes {
            let allowed: BTreeSet<&str> = match change.kind() {
                Kind::Customer => {
                    let wanted = desired.customers.iter().find(|d| d.key == change.key).unwrap();
                    wanted.fields.keys().collect()
                }
                Kind::License => {
                    let wanted = desired.licenses.iter().find(|d| d.key == change.key).unwrap();
                    let edition_applies = change.action == Action::Create
                        || change.fields.iter().any(|f| f.path == "edition");
                    wanted
                        .fields
                        .keys()
                        .chain(wanted.edition_fields.keys().filter(|_| edition_applies))
                        .collect()
                }
                Kind::Contact => {
                    let wanted = desired.contacts.iter().find(|d| d.key == change.key).unwrap();
                    wanted.fields.keys().collect()
                }
            };
            for field in &change.fields {
                prop_assert!(allowed.contains(field.path.as_str()), "{} in {}", field.path, change.key);
            }
        }
    }

    #[test]
    fn updates_never_touch_ignored_paths(
        desired in desired_state(), current in current_state(), ctx in context(),
    ) {
        let plan = diff(&desired, &current, &ctx);
        for change in plan.changes.iter().filter(|c| c.action == Action::Update) {
            let (own, project) = match change.kind() {
                Kind::Customer => (
                    &desired.customers.iter().find(|d| d.key == change.key).unwrap().ignore,
                    &ctx.ignore_customer,
                ),
                Kind::License => (
                    &desired.licenses.iter().find(|d| d.key == change.key).unwrap().ignore,
                    &ctx.ignore_license,
                ),
                Kind::Contact => (
                    &desired.contacts.iter().find(|d| d.key == change.key).unwrap().ignore,
                    &Vec::new(),
                ),
            };
            let ignore: Vec<&str> = own.iter().chain(project).map(String::as_str).collect();
            for field in &change.fields {
                prop_assert!(!is_ignored(&field.path, &ignore), "{} in {}", field.path, change.key);
            }
        }
    }

    #[test]
    fn the_plan_is_deterministic(
        desired in desired_state(), current in current_state(), ctx in context(),
    ) {
        let plan = diff(&desired, &current, &ctx);
        prop_assert_eq!(json_bytes(&plan), json_bytes(&diff(&desired, &current, &ctx)));

        // Neither the manifests' nor SLASCONE's listing order changes the plan.
        let mut desired_reversed = desired.clone();
        desired_reversed.customers.reverse();
        desired_reversed.licenses.reverse();
        desired_reversed.contacts.reverse();
        let mut current_reversed = current.clone();
        current_reversed.customers.reverse();
        current_reversed.licenses.reverse();
        current_reversed.contacts.reverse();
        let reversed = diff(&desired_reversed, &current_reversed, &ctx);
        prop_assert_eq!(json_bytes(&plan), json_bytes(&reversed));
    }

    #[test]
    fn the_summary_counts_the_plan(
        desired in desired_state(), current in current_state(), ctx in context(),
    ) {
        let plan = diff(&desired, &current, &ctx);
        let s = plan.summary;
        prop_assert_eq!(s.create + s.update, plan.change_count());
        prop_assert_eq!(s.unmanaged, plan.unmanaged.len());
        prop_assert!(
            s.create + s.update + s.unchanged
                <= desired.customers.len() + desired.licenses.len() + desired.contacts.len()
        );
        let mut sorted = plan.changes.clone();
        sorted.sort_by(|a, b| (a.kind(), &a.key).cmp(&(b.kind(), &b.key)));
        prop_assert_eq!(sorted, plan.changes);
    }
}
