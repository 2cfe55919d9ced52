//! Table-driven diff cases (name, desired, current, expected changes), in the dnscontrol style:
//! the expected changes read like plan output.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::model::{
    CurrentCustomer, CurrentLicense, CurrentState, DesiredCustomer, DesiredLicense, DesiredState,
    Fields, Origin,
};
use crate::remote::endpoint;

pub(crate) const ISV: Uuid = Uuid::from_u128(0x2af5fe02_6207_4214_946e_b00ac5309f53);

pub(crate) fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_0000_0000_0000_0000_0000 + n)
}

pub(crate) fn ctx() -> DiffContext {
    DiffContext {
        target: Target {
            api_url: "https://api365.slascone.com".to_owned(),
            isv_id: ISV,
        },
        portal_url: "https://my.slascone.com/".to_owned(),
        ignore_customer: Vec::new(),
        ignore_license: Vec::new(),
        today: None,
        expiring_within_days: 30,
    }
}

pub(crate) fn fields(value: Value) -> Fields {
    value
        .as_object()
        .expect("fields are written as a JSON object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn origin(line: usize) -> Origin {
    Origin {
        file: Path::new("customers/acme.yaml").into(),
        line,
        column: 5,
    }
}

/// A customer identified by number.
pub(crate) fn customer(number: &str, value: Value) -> DesiredCustomer {
    DesiredCustomer {
        key: number.to_owned(),
        id: None,
        customer_number: Some(number.to_owned()),
        fields: fields(value),
        ignore: Vec::new(),
        origin: origin(2),
    }
}

/// A customer identified by id only.
pub(crate) fn customer_by_id(n: u128, value: Value) -> DesiredCustomer {
    DesiredCustomer {
        key: id(n).to_string(),
        id: Some(id(n)),
        customer_number: None,
        ..customer("", value)
    }
}

pub(crate) fn remote_customer(n: u128, number: &str, value: Value) -> CurrentCustomer {
    CurrentCustomer {
        id: id(n),
        customer_number: Some(number.to_owned()).filter(|n| !n.is_empty()),
        fields: fields(value),
        fingerprint: format!("fp-customer-{n}"),
    }
}

/// A license identified by (Argus, legacy key); `value` holds `customer`, `edition` and the rest.
pub(crate) fn license(legacy: &str, value: Value) -> DesiredLicense {
    DesiredLicense {
        key: format!("Argus/{legacy}"),
        id: None,
        product: "Argus".to_owned(),
        legacy_license_key: Some(legacy.to_owned()),
        fields: fields(value),
        edition_fields: Default::default(),
        ignore: Vec::new(),
        origin: origin(9),
    }
}

pub(crate) fn remote_license(n: u128, legacy: &str, owner: u128, value: Value) -> CurrentLicense {
    CurrentLicense {
        id: id(n),
        product: "Argus".to_owned(),
        legacy_license_key: Some(legacy.to_owned()),
        customer_id: id(owner),
        fields: fields(value),
        fingerprint: format!("fp-license-{n}"),
    }
}

pub(crate) fn professional() -> Fields {
    fields(json!({
        "token_limit": 10,
        "features.Export": true, "features.Import": true, "features.Reporting": false,
        "limitations.Users": 25, "limitations.Projects": 100,
        "variables.Region": "EU",
    }))
}

fn enterprise() -> Fields {
    fields(json!({
        "token_limit": 100,
        "features.Export": true, "features.Import": true, "features.Reporting": true,
        "limitations.Users": 500, "limitations.Projects": 1000,
        "variables.Region": "EU",
    }))
}

/// A change as one line: `~ license Argus/L1: limitations.Users 25 → 50; ...`, creates without
/// the (always null) before value.
fn describe(change: &Change) -> String {
    let fields: Vec<String> = change
        .fields
        .iter()
        .map(|f| match change.action {
            Action::Create => format!("{} {}", f.path, f.after),
            Action::Update => format!("{} {} → {}", f.path, f.before, f.after),
        })
        .collect();
    format!(
        "{} {} {}: {}",
        change.action.symbol(),
        change.kind(),
        change.key,
        fields.join("; ")
    )
}

struct Case {
    name: &'static str,
    desired: DesiredState,
    current: CurrentState,
    ctx: DiffContext,
    want: &'static [&'static str],
    /// create, update, unchanged, unmanaged
    summary: [usize; 4],
    warnings: usize,
}

fn case(name: &'static str, desired: DesiredState, current: CurrentState) -> Case {
    Case {
        name,
        desired,
        current,
        ctx: ctx(),
        want: &[],
        summary: [0; 4],
        warnings: 0,
    }
}

impl Case {
    fn want(self, want: &'static [&'static str], summary: [usize; 4]) -> Self {
        Case {
            want,
            summary,
            ..self
        }
    }

    fn warns(self, warnings: usize) -> Self {
        Case { warnings, ..self }
    }

    fn ignoring(mut self, customer: &[&str], license: &[&str]) -> Self {
        self.ctx.ignore_customer = customer.iter().map(|s| s.to_string()).collect();
        self.ctx.ignore_license = license.iter().map(|s| s.to_string()).collect();
        self
    }
}

pub(crate) fn state(
    customers: Vec<DesiredCustomer>,
    licenses: Vec<DesiredLicense>,
) -> DesiredState {
    DesiredState {
        customers,
        licenses,
        contacts: Vec::new(),
    }
}

pub(crate) fn remote(
    customers: Vec<CurrentCustomer>,
    licenses: Vec<CurrentLicense>,
) -> CurrentState {
    CurrentState {
        customers,
        licenses,
        contacts: Vec::new(),
    }
}

fn acme() -> DesiredCustomer {
    customer(
        "K001",
        json!({"company_name": "Acme GmbH", "country": "Germany"}),
    )
}

fn remote_acme() -> CurrentCustomer {
    remote_customer(
        1,
        "K001",
        json!({"company_name": "Acme GmbH", "country": "Germany", "email": "it@acme.example"}),
    )
}

fn edition_based(edition: &str) -> DesiredLicense {
    DesiredLicense {
        edition_fields: Arc::new(if edition == "Enterprise" {
            enterprise()
        } else {
            professional()
        }),
        ..license("L1", json!({"customer": "K001", "edition": edition}))
    }
}

fn remote_professional(extra: Value) -> CurrentLicense {
    let mut found = remote_license(10, "L1", 1, json!({"edition": "Professional"}));
    found.fields.extend(professional());
    found.fields.extend(fields(extra));
    found
}

fn cases() -> Vec<Case> {
    vec![
        case("create a customer by number", state(vec![acme()], vec![]), remote(vec![], vec![]))
            .want(
                &[r#"+ customer K001: company_name "Acme GmbH"; country "Germany""#],
                [1, 0, 0, 0],
            ),
        case(
            "no change, unmanaged remote field left alone",
            state(vec![acme()], vec![]),
            remote(vec![remote_acme()], vec![]),
        )
        .want(&[], [0, 0, 1, 0]),
        case(
            "one drifted field",
            state(vec![acme()], vec![]),
            remote(
                vec![remote_customer(
                    1,
                    "K001",
                    json!({"company_name": "Acme GmbH", "country": "Austria"}),
                )],
                vec![],
            ),
        )
        .want(&[r#"~ customer K001: country "Austria" → "Germany""#], [0, 1, 0, 0]),
        case(
            "a managed field missing remotely",
            state(vec![acme()], vec![]),
            remote(
                vec![remote_customer(1, "K001", json!({"company_name": "Acme GmbH"}))],
                vec![],
            ),
        )
        .want(&[r#"~ customer K001: country null → "Germany""#], [0, 1, 0, 0]),
        case(
            "owner change",
            state(
                vec![acme(), customer("K002", json!({}))],
                vec![license("L1", json!({"customer": "K001", "edition": "Professional"}))],
            ),
            remote(
                vec![remote_acme(), remote_customer(2, "K002", json!({}))],
                vec![remote_license(10, "L1", 2, json!({"edition": "Professional"}))],
            ),
        )
        .want(&[r#"~ license Argus/L1: customer "K002" → "K001""#], [0, 1, 2, 0]),
        case(
            "owner change to an unmanaged remote customer's license",
            state(
                vec![acme()],
                vec![license("L1", json!({"customer": "K001", "edition": "Professional"}))],
            ),
            remote(
                vec![remote_acme(), remote_customer(2, "K002", json!({}))],
                vec![remote_license(10, "L1", 2, json!({"edition": "Professional"}))],
            ),
        )
        .want(&[r#"~ license Argus/L1: customer "K002" → "K001""#], [0, 1, 1, 1]),
        case(
            "an id-identified owner equals the same customer's number",
            state(
                vec![customer_by_id(1, json!({}))],
                vec![license(
                    "L1",
                    json!({"customer": id(1).to_string(), "edition": "Professional"}),
                )],
            ),
            remote(
                vec![remote_acme()],
                vec![remote_license(10, "L1", 1, json!({"edition": "Professional"}))],
            ),
        )
        .want(&[], [0, 0, 2, 0]),
        case(
            "edition change gives an edition-based license the new edition's configuration",
            state(vec![acme()], vec![edition_based("Enterprise")]),
            remote(
                vec![remote_acme()],
                vec![remote_professional(json!({"variables.Extra": "x"}))],
            ),
        )
        .want(
            &[
                r#"~ license Argus/L1: edition "Professional" → "Enterprise"; features.Reporting false → true; limitations.Projects 100 → 1000; limitations.Users 25 → 500; token_limit 10 → 100"#,
            ],
            [0, 1, 1, 0],
        ),
        case(
            "edition change keeps explicit overrides over the edition",
            state(
                vec![acme()],
                vec![DesiredLicense {
                    edition_fields: Arc::new(enterprise()),
                    ..license(
                        "L1",
                        json!({"customer": "K001", "edition": "Enterprise",
                               "limitations.Users": 50, "features.Reporting": false}),
                    )
                }],
            ),
            remote(vec![remote_acme()], vec![remote_professional(json!({}))]),
        )
        .want(
            &[
                r#"~ license Argus/L1: edition "Professional" → "Enterprise"; limitations.Projects 100 → 1000; limitations.Users 25 → 50; token_limit 10 → 100"#,
            ],
            [0, 1, 1, 0],
        ),
        case(
            "same edition: an edition-based license's drifted entries are left alone",
            state(vec![acme()], vec![edition_based("Professional")]),
            remote(
                vec![remote_acme()],
                vec![remote_professional(json!({"limitations.Users": 7, "features.Export": false}))],
            ),
        )
        .want(&[], [0, 0, 2, 0]),
        case(
            "same edition: an explicit override is reconciled",
            state(
                vec![acme()],
                vec![DesiredLicense {
                    edition_fields: Arc::new(professional()),
                    ..license(
                        "L1",
                        json!({"customer": "K001", "edition": "Professional", "limitations.Users": 50}),
                    )
                }],
            ),
            remote(vec![remote_acme()], vec![remote_professional(json!({}))]),
        )
        .want(&[r#"~ license Argus/L1: limitations.Users 25 → 50"#], [0, 1, 1, 0]),
        case(
            "create an edition-based license: edition configuration under explicit fields",
            state(
                vec![acme()],
                vec![DesiredLicense {
                    edition_fields: Arc::new(fields(json!({"token_limit": 10, "features.Export": true, "limitations.Users": 25}))),
                    ..license(
                        "L1",
                        json!({"customer": "K001", "edition": "Professional", "limitations.Users": 50}),
                    )
                }],
            ),
            remote(vec![remote_acme()], vec![]),
        )
        .want(
            &[
                r#"+ license Argus/L1: customer "K001"; edition "Professional"; features.Export true; limitations.Users 50; token_limit 10"#,
            ],
            [1, 0, 1, 0],
        ),
        case(
            "dates compare by day, expiration modes by value",
            state(
                vec![acme()],
                vec![
                    license("L1", json!({"customer": "K001", "edition": "Professional", "expires": "2027-12-31"})),
                    license("L2", json!({"customer": "K001", "edition": "Professional", "expires": "2027-12-31"})),
                    license("L3", json!({"customer": "K001", "edition": "Professional", "expires": "never"})),
                    license("L4", json!({"customer": "K001", "edition": "Professional", "expires": {"days_after_activation": 30}})),
                ],
            ),
            remote(
                vec![remote_acme()],
                vec![
                    remote_license(10, "L1", 1, json!({"edition": "Professional", "expires": "2027-12-31"})),
                    remote_license(11, "L2", 1, json!({"edition": "Professional", "expires": "2026-12-31"})),
                    remote_license(12, "L3", 1, json!({"edition": "Professional", "expires": "2026-12-31"})),
                    remote_license(13, "L4", 1, json!({"edition": "Professional", "expires": {"days_after_activation": 30}})),
                ],
            ),
        )
        .want(
            &[
                r#"~ license Argus/L2: expires "2026-12-31" → "2027-12-31""#,
                r#"~ license Argus/L3: expires "2026-12-31" → "never""#,
            ],
            [0, 2, 3, 0],
        ),
        case(
            "ignore on the object, a path covers what is below it",
            state(
                vec![DesiredCustomer {
                    ignore: vec!["phone".to_owned()],
                    ..customer("K001", json!({"company_name": "Acme GmbH", "phone": "+49 1"}))
                }],
                vec![DesiredLicense {
                    ignore: vec!["features".to_owned()],
                    ..license(
                        "L1",
                        json!({"customer": "K001", "edition": "Professional",
                               "features.Export": true, "limitations.Users": 50}),
                    )
                }],
            ),
            remote(
                vec![remote_customer(1, "K001", json!({"company_name": "Acme GmbH", "phone": "+49 2"}))],
                vec![remote_license(
                    10,
                    "L1",
                    1,
                    json!({"edition": "Professional", "features.Export": false, "limitations.Users": 25}),
                )],
            ),
        )
        .want(&[r#"~ license Argus/L1: limitations.Users 25 → 50"#], [0, 1, 1, 0]),
        case(
            "project-wide ignore",
            state(
                vec![customer("K001", json!({"company_name": "Acme GmbH", "phone": "+49 1"}))],
                vec![license(
                    "L1",
                    json!({"customer": "K001", "edition": "Professional", "variables.Region": "US"}),
                )],
            ),
            remote(
                vec![remote_customer(1, "K001", json!({"company_name": "Acme AG", "phone": "+49 2"}))],
                vec![remote_license(10, "L1", 1, json!({"edition": "Professional", "variables.Region": "EU"}))],
            ),
        )
        .ignoring(&["phone"], &["variables.Region"])
        .want(&[r#"~ customer K001: company_name "Acme AG" → "Acme GmbH""#], [0, 1, 1, 0]),
        case(
            "ignore does not narrow a create",
            state(
                vec![DesiredCustomer {
                    ignore: vec!["phone".to_owned()],
                    ..customer("K001", json!({"phone": "+49 1"}))
                }],
                vec![],
            ),
            remote(vec![], vec![]),
        )
        .ignoring(&["phone"], &[])
        .want(&[r#"+ customer K001: phone "+49 1""#], [1, 0, 0, 0]),
        case(
            "ignoring the edition stops edition reconciliation",
            state(vec![acme()], vec![DesiredLicense {
                ignore: vec!["edition".to_owned()],
                ..edition_based("Enterprise")
            }]),
            remote(vec![remote_acme()], vec![remote_professional(json!({}))]),
        )
        .want(&[], [0, 0, 2, 0]),
        case(
            "unmanaged remote objects are counted and never changed",
            state(vec![acme()], vec![]),
            remote(
                vec![remote_customer(3, "K009", json!({})), remote_acme(), remote_customer(2, "", json!({}))],
                vec![remote_license(10, "L1", 3, json!({"edition": "Professional"}))],
            ),
        )
        .want(&[], [0, 0, 1, 3]),
        case(
            "a customer with an id is matched by id, whatever its number",
            state(
                vec![DesiredCustomer {
                    customer_number: Some("K001".to_owned()),
                    key: "K001".to_owned(),
                    ..customer_by_id(2, json!({"company_name": "Acme GmbH"}))
                }],
                vec![],
            ),
            remote(vec![remote_acme(), remote_customer(2, "K002", json!({"company_name": "Other"}))], vec![]),
        )
        .want(&[r#"~ customer K001: company_name "Other" → "Acme GmbH""#], [0, 1, 0, 1])
        .warns(1),
        case(
            "a customer with an unknown id is created",
            state(vec![customer_by_id(7, json!({"company_name": "New"}))], vec![]),
            remote(vec![remote_acme()], vec![]),
        )
        .want(
            &[r#"+ customer 10000000-0000-0000-0000-000000000007: company_name "New""#],
            [1, 0, 0, 1],
        ),
        case(
            "licenses match by id, else by product and legacy key",
            state(
                vec![acme()],
                vec![
                    DesiredLicense {
                        id: Some(id(11)),
                        ..license("OTHER", json!({"customer": "K001", "edition": "Professional"}))
                    },
                    license("L1", json!({"customer": "K001", "edition": "Professional"})),
                ],
            ),
            remote(
                vec![remote_acme()],
                vec![
                    remote_license(10, "L1", 1, json!({"edition": "Professional"})),
                    remote_license(11, "L2", 1, json!({"edition": "Basic"})),
                    CurrentLicense {
                        product: "Bolt".to_owned(),
                        ..remote_license(12, "L1", 1, json!({"edition": "Basic"}))
                    },
                ],
            ),
        )
        .want(
            &[r#"~ license Argus/OTHER: edition "Basic" → "Professional""#],
            [0, 1, 2, 1],
        )
        .warns(1),
    ]
}

#[test]
fn diff_cases() {
    for case in cases() {
        let plan = diff(&case.desired, &case.current, &case.ctx);
        let got: Vec<String> = plan.changes.iter().map(describe).collect();
        assert_eq!(got, case.want, "case: {}", case.name);
        let s = plan.summary;
        assert_eq!(
            [s.create, s.update, s.unchanged, s.unmanaged],
            case.summary,
            "summary of case: {}",
            case.name
        );
        assert_eq!(plan.unmanaged.len(), s.unmanaged, "case: {}", case.name);
        assert!(
            plan.warnings.len() == case.warnings,
            "case: {}: {:?}",
            case.name,
            plan.warnings
        );
    }
}

#[test]
fn requests_links_ids_and_fingerprints() {
    let desired = state(
        vec![
            acme(),
            DesiredCustomer {
                key: "K2 /ü".to_owned(),
                customer_number: Some("K2 /ü".to_owned()),
                ..customer_by_id(2, json!({"company_name": "Beta"}))
            },
        ],
        vec![
            license("L1", json!({"customer": "K001", "edition": "Professional"})),
            license(
                "L2",
                json!({"customer": "K2 /ü", "edition": "Professional"}),
            ),
        ],
    );
    let current = remote(
        vec![remote_customer(2, "K2 /ü", json!({"company_name": "Old"}))],
        vec![remote_license(11, "L2", 2, json!({"edition": "Basic"}))],
    );
    let plan = diff(&desired, &current, &ctx());
    let [acme, beta, l1, l2] = plan.changes.as_slice() else {
        panic!("four changes expected: {:#?}", plan.changes);
    };
    let isv = ISV;

    assert_eq!((acme.key.as_str(), acme.action), ("K001", Action::Create));
    assert_eq!(
        endpoint::method(acme.identity.endpoint(), acme.action),
        "POST"
    );
    assert_eq!(
        endpoint::path(isv, acme.identity.endpoint()),
        format!("/api/v2/isv/{isv}/data_exchange/customers")
    );
    assert_eq!(
        endpoint::collection(acme.identity.endpoint()),
        "/data_exchange/customers"
    );
    assert_eq!((acme.id(), acme.fingerprint.as_deref()), (None, None));
    assert_eq!(
        acme.links,
        [
            "https://my.slascone.com/customeranalytics?customernumber=K001",
            "https://my.slascone.com/licenses?customernumber=K001",
        ]
    );
    assert_eq!(
        acme.origin.as_ref().map(|o| o.to_string()).as_deref(),
        Some("customers/acme.yaml:2:5")
    );

    assert_eq!((beta.action, beta.id()), (Action::Update, Some(id(2))));
    assert_eq!(
        endpoint::method(beta.identity.endpoint(), beta.action),
        "PATCH"
    );
    assert_eq!(
        endpoint::path(isv, beta.identity.endpoint()),
        format!("/api/v2/isv/{isv}/customers")
    );
    assert_eq!(beta.fingerprint.as_deref(), Some("fp-customer-2"));
    assert_eq!(
        beta.links[0],
        "https://my.slascone.com/customeranalytics?customernumber=K2%20%2F%C3%BC"
    );

    assert_eq!(
        (l1.action, l1.depends_on.as_deref()),
        (Action::Create, Some("K001"))
    );
    assert_eq!(
        endpoint::path(isv, l1.identity.endpoint()),
        format!("/api/v2/isv/{isv}/licenses")
    );
    assert_eq!(l1.links, acme.links, "a license links to its customer");

    assert_eq!(
        (l2.action, l2.id(), l2.depends_on.as_deref()),
        (Action::Update, Some(id(11)), None)
    );
    assert_eq!(endpoint::method(l2.identity.endpoint(), l2.action), "PATCH");
    assert_eq!(l2.fingerprint.as_deref(), Some("fp-license-11"));
}

#[test]
fn no_portal_url_no_links() {
    let plan = diff(
        &state(vec![acme()], vec![]),
        &remote(vec![], vec![]),
        &DiffContext {
            portal_url: String::new(),
            ..ctx()
        },
    );
    assert!(plan.changes[0].links.is_empty());
}

#[test]
fn a_customer_without_fields_is_still_created() {
    let plan = diff(
        &state(vec![customer("K001", json!({}))], vec![]),
        &remote(vec![], vec![]),
        &ctx(),
    );
    assert_eq!(plan.summary.create, 1);
    assert!(plan.changes[0].fields.is_empty());
}

#[test]
fn two_entries_for_one_remote_customer_warn_and_plan_one() {
    let desired = state(
        vec![
            customer_by_id(1, json!({"company_name": "By id"})),
            customer("K001", json!({"company_name": "By number"})),
        ],
        vec![license(
            "L1",
            json!({"customer": "K001", "edition": "Professional"}),
        )],
    );
    let current = remote(
        vec![remote_acme()],
        vec![remote_license(
            10,
            "L1",
            1,
            json!({"edition": "Professional"}),
        )],
    );
    let plan = diff(&desired, &current, &ctx());
    let got: Vec<String> = plan.changes.iter().map(describe).collect();
    assert_eq!(
        got,
        [r#"~ customer 10000000-0000-0000-0000-000000000001: company_name "Acme GmbH" → "By id""#]
    );
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].message.contains("same SLASCONE customer"),
        "{:?}",
        plan.warnings
    );
    assert_eq!(plan.warnings[0].kind, WarningKind::SameObject);
    // The license names the customer by number; it is the same customer, so no owner change.
    assert_eq!(plan.summary.unchanged, 1);
}

#[test]
fn an_unknown_id_with_a_taken_number_warns() {
    let desired = state(
        vec![DesiredCustomer {
            key: "K001".to_owned(),
            customer_number: Some("K001".to_owned()),
            ..customer_by_id(7, json!({}))
        }],
        vec![],
    );
    let plan = diff(&desired, &remote(vec![remote_acme()], vec![]), &ctx());
    assert_eq!(plan.summary.create, 1);
    assert!(
        plan.warnings[0]
            .message
            .contains("would duplicate the number"),
        "{:?}",
        plan.warnings
    );
    assert_eq!(plan.warnings[0].kind, WarningKind::WouldDuplicate);
}

#[test]
fn a_remote_customer_with_a_desired_key_is_not_mistaken_for_it() {
    // K001 in the manifest has an id SLASCONE does not know; the remote K001 is another customer.
    let desired = state(
        vec![DesiredCustomer {
            key: "K001".to_owned(),
            customer_number: Some("K001".to_owned()),
            ..customer_by_id(7, json!({}))
        }],
        vec![license(
            "L1",
            json!({"customer": "K001", "edition": "Professional"}),
        )],
    );
    let current = remote(
        vec![remote_acme()],
        vec![remote_license(
            10,
            "L1",
            1,
            json!({"edition": "Professional"}),
        )],
    );
    let plan = diff(&desired, &current, &ctx());
    let license = plan
        .changes
        .iter()
        .find(|c| c.kind() == Kind::License)
        .expect("an owner change");
    assert_eq!(license.fields[0].before, json!(id(1).to_string()));
    assert_eq!(license.depends_on.as_deref(), Some("K001"));
}

#[test]
fn applying_a_plan_converges() {
    for case in cases() {
        let plan = diff(&case.desired, &case.current, &case.ctx);
        let after = apply_changes(&case.current, &plan, &case.desired);
        let again = diff(&case.desired, &after, &case.ctx);
        assert!(
            again.is_empty(),
            "case: {}: {:#?}",
            case.name,
            again.changes
        );
        assert_eq!(
            again.summary.unchanged,
            plan.summary.unchanged + plan.change_count(),
            "case: {}",
            case.name
        );
    }
}

#[test]
fn plan_json_round_trips() {
    for case in cases() {
        let plan = diff(&case.desired, &case.current, &case.ctx);
        let json = serde_json::to_string(&plan).expect("a plan serialises");
        let back: Plan = serde_json::from_str(&json).expect("a plan deserialises");
        assert_eq!(back, plan, "case: {}", case.name);
    }
}

#[test]
fn committed_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.schema.json");
    let mut generated = serde_json::to_string_pretty(&crate::render::plan_json::schema())
        .expect("a schema serialises");
    generated.push('\n');
    if std::env::var_os("SLASCONE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("schema/plan.schema.json is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/plan.schema.json is stale; regenerate it with \
         `slascone-sync schema --kind plan > schema/plan.schema.json`"
    );
}

#[test]
fn two_entries_for_one_remote_license_warn_and_plan_one() {
    let desired = state(
        vec![acme()],
        vec![
            DesiredLicense {
                id: Some(id(10)),
                key: format!("Argus/{}", id(10)),
                legacy_license_key: None,
                ..license("L1", json!({"customer": "K001", "edition": "Professional"}))
            },
            license("L1", json!({"customer": "K001", "edition": "Basic"})),
        ],
    );
    let current = remote(
        vec![remote_acme()],
        vec![remote_license(
            10,
            "L1",
            1,
            json!({"edition": "Professional"}),
        )],
    );
    let plan = diff(&desired, &current, &ctx());
    assert!(plan.is_empty(), "{:#?}", plan.changes);
    assert_eq!(
        plan.summary.unchanged, 2,
        "the customer and the license planned by id"
    );
    assert_eq!(plan.warnings.len(), 1);
    assert!(
        plan.warnings[0].message.contains("same SLASCONE license"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn remote_customers_sharing_a_number_warn_and_match_one() {
    let current = remote(
        vec![
            remote_customer(
                2,
                "K001",
                json!({"company_name": "Acme GmbH", "country": "Germany"}),
            ),
            remote_customer(1, "K001", json!({"company_name": "Acme GmbH"})),
        ],
        vec![],
    );
    let plan = diff(&state(vec![acme()], vec![]), &current, &ctx());
    // The lower id wins whatever the listing order, so the plan does not flap between runs.
    assert_eq!(plan.changes[0].id(), Some(id(1)));
    assert_eq!(
        plan.unmanaged,
        [Unmanaged {
            kind: Kind::Customer,
            key: "K001".to_owned()
        }]
    );
    assert!(
        plan.warnings[0]
            .message
            .contains("several customers with customer_number K001")
    );
    assert_eq!(plan.warnings[0].kind, WarningKind::SharedNumber);
}

#[test]
fn identities_that_differ_behind_an_id_are_reported_not_changed() {
    let desired = state(
        vec![DesiredCustomer {
            key: "K005".to_owned(),
            customer_number: Some("K005".to_owned()),
            ..customer_by_id(1, json!({}))
        }],
        vec![DesiredLicense {
            id: Some(id(10)),
            product: "Bolt".to_owned(),
            key: "Bolt/L9".to_owned(),
            legacy_license_key: Some("L9".to_owned()),
            ..license("L9", json!({"customer": "K005", "edition": "Professional"}))
        }],
    );
    let current = remote(
        vec![remote_acme()],
        vec![remote_license(
            10,
            "L1",
            1,
            json!({"edition": "Professional"}),
        )],
    );
    let plan = diff(&desired, &current, &ctx());
    assert!(plan.is_empty(), "{:#?}", plan.changes);
    assert!(
        plan.warnings
            .iter()
            .all(|w| w.kind == WarningKind::IdentityKept)
    );
    let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    let warnings = warnings.join("\n");
    assert!(warnings.contains("customer K005 (customers/acme.yaml:2:5): the manifest gives customer_number K005, but SLASCONE customer 10000000-0000-0000-0000-000000000001 has K001"), "{warnings}");
    assert!(warnings.contains("belongs to product Argus"), "{warnings}");
    assert!(warnings.contains("has legacy_license_key L1"), "{warnings}");
}

#[test]
fn the_radar_reads_each_license_as_apply_leaves_it() {
    let mut ctx = ctx();
    ctx.today = Some(jiff::civil::date(2027, 6, 1));
    let soon = json!("2027-06-11");
    let radar = |desired: DesiredLicense, found: Option<CurrentLicense>, ctx: &DiffContext| {
        let plan = diff(
            &state(vec![acme()], vec![desired]),
            &remote(vec![remote_acme()], found.into_iter().collect()),
            ctx,
        );
        plan.warnings
            .iter()
            .map(|w| (w.kind, w.days_left))
            .collect::<Vec<_>>()
    };
    let expiring = vec![(WarningKind::Expiring, Some(10))];

    // A created license expires when its edition says, unless its manifest says otherwise.
    let mut created = edition_based("Professional");
    Arc::make_mut(&mut created.edition_fields).insert("expires", soon.clone());
    assert_eq!(radar(created.clone(), None, &ctx), expiring);
    created.fields.insert("expires", json!("never"));
    assert_eq!(radar(created, None, &ctx), []);

    // An ignored expiry stays SLASCONE's, and so does an active flag the manifest leaves alone.
    let mut ignored = edition_based("Professional");
    ignored.fields.insert("expires", json!("2030-01-01"));
    ignored.ignore = vec!["expires".into()];
    let found = remote_professional(json!({"expires": soon}));
    assert_eq!(radar(ignored.clone(), Some(found.clone()), &ctx), expiring);
    let inactive = remote_professional(json!({"expires": soon, "active": false}));
    assert_eq!(radar(ignored.clone(), Some(inactive.clone()), &ctx), []);
    ignored.fields.insert("active", json!(true));
    assert_eq!(radar(ignored, Some(inactive), &ctx), expiring);

    // Without today, or with the radar at 0 days, nothing is said.
    let written = || {
        let mut license = edition_based("Professional");
        license.fields.insert("expires", soon.clone());
        license
    };
    assert_eq!(radar(written(), Some(found.clone()), &ctx), expiring);
    let mut off = ctx.clone();
    off.expiring_within_days = 0;
    assert_eq!(radar(written(), Some(found.clone()), &off), []);
    off = ctx.clone();
    off.today = None;
    assert_eq!(radar(written(), Some(found), &off), []);
}

/// A change of `kind` (a license of `product`) making `fields` (path, before, after), graded low:
/// for tests of what reads changes (risk grades, renderings).
pub(crate) fn bare_change(
    kind: crate::model::Kind,
    action: Action,
    product: &str,
    fields: &[(&str, Value, Value)],
) -> Change {
    use crate::model::Kind;
    let identity = match kind {
        Kind::Customer => Identity::CustomerByNumber {
            customer_number: "K1".into(),
            id: None,
        },
        Kind::License => Identity::License {
            id: None,
            product: product.into(),
            legacy_license_key: Some("L1".into()),
            edition_based: false,
        },
        Kind::Contact => Identity::ContactByNumber {
            customer_number: "K1".into(),
            email: "a@b.example".into(),
            id: None,
        },
    };
    Change {
        key: "k".into(),
        action,
        identity,
        fields: fields
            .iter()
            .map(|(path, before, after)| FieldChange {
                path: (*path).into(),
                before: before.clone(),
                after: after.clone(),
                source: None,
            })
            .collect(),
        links: Vec::new(),
        fingerprint: None,
        depends_on: None,
        origin: None,
        risk: super::Risk::Low,
        risk_reasons: Vec::new(),
    }
}
