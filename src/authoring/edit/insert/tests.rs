use super::*;
use crate::authoring::edit::apply_with_inserts;
use crate::model::fields::{CUSTOMER, LICENSE};

/// Customer keys, then license keys, in declaration order: the order ingest gives.
fn order(key: &str) -> usize {
    CUSTOMER
        .key_list()
        .iter()
        .chain(LICENSE.key_list())
        .position(|known| *known == key)
        .unwrap_or(usize::MAX)
}

fn at(line: usize, column: usize) -> Position {
    Position { line, column }
}

fn text(value: &str) -> Block {
    Block::Scalar(NewValue::Text(value.to_owned()))
}

fn int(value: i64) -> Block {
    Block::Scalar(NewValue::Integer(value))
}

/// The new text, which must read as manifests.
fn inserted(before: &str, inserts: &[Insert]) -> String {
    let edited = apply_with_inserts(before, &[], inserts, &order).unwrap();
    assert!(
        edited.inserts.iter().all(Option::is_none),
        "{:?}",
        edited.inserts
    );
    crate::manifest::check_str(std::path::Path::new("a.yaml"), &edited.text)
        .unwrap_or_else(|problems| panic!("{problems}\n{}", edited.text));
    edited.text
}

const ACME: &str = "\
customers:
  # Our first customer.
  - customer_number: K001   # from the ERP
    company_name: 'Acme GmbH'
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
      - { legacy_license_key: SUB-2, product: Orion, edition: Basic }

  - customer_number: K002
    company_name: Beta
    licenses: []
";

#[test]
fn a_new_key_goes_after_the_keys_declared_before_it() {
    let after = inserted(
        ACME,
        &[Insert::Key {
            mapping: at(3, 5),
            within: None,
            key: "city".into(),
            value: text("Köln"),
        }],
    );
    assert_eq!(
        after,
        ACME.replace(
            "    country: Germany\n",
            "    country: Germany\n    city: Köln\n"
        )
    );
}

#[test]
fn a_key_goes_into_a_flow_mapping_in_flow_style() {
    let after = inserted(
        ACME,
        &[Insert::Key {
            mapping: at(11, 9),
            within: None,
            key: "token_limit".into(),
            value: int(5),
        }],
    );
    assert!(
        after.contains("      - { legacy_license_key: SUB-2, product: Orion, edition: Basic, token_limit: 5 }\n"),
        "{after}"
    );
}

#[test]
fn licenses_are_appended_to_block_and_flow_lists() {
    let license = |key: &str| {
        Block::Map(vec![
            ("legacy_license_key".into(), text(key)),
            ("product".into(), text("Argus")),
            ("edition".into(), text("Professional")),
            ("token_limit".into(), int(3)),
        ])
    };
    let after = inserted(
        ACME,
        &[
            Insert::Item {
                mapping: at(3, 5),
                key: "licenses".into(),
                item: license("SUB-3"),
            },
            Insert::Item {
                mapping: at(3, 5),
                key: "licenses".into(),
                item: license("SUB-4"),
            },
            Insert::Item {
                mapping: at(13, 5),
                key: "licenses".into(),
                item: license("SUB-5"),
            },
        ],
    );
    assert_eq!(
        after,
        ACME.replace(
            "      - { legacy_license_key: SUB-2, product: Orion, edition: Basic }\n",
            "      - { legacy_license_key: SUB-2, product: Orion, edition: Basic }
      - legacy_license_key: SUB-3
        product: Argus
        edition: Professional
        token_limit: 3
      - legacy_license_key: SUB-4
        product: Argus
        edition: Professional
        token_limit: 3
"
        )
        .replace(
            "    licenses: []\n",
            "    licenses: [{ legacy_license_key: SUB-5, product: Argus, edition: Professional, token_limit: 3 }]\n"
        )
    );
}

#[test]
fn a_missing_list_is_written_with_its_item() {
    let before = "customers:\n  - customer_number: K003\n    company_name: Gamma\n";
    let after = inserted(
        before,
        &[Insert::Item {
            mapping: at(2, 5),
            key: "licenses".into(),
            item: Block::Map(vec![
                ("legacy_license_key".into(), text("L-1")),
                ("product".into(), text("Argus")),
                ("edition".into(), text("Basic")),
            ]),
        }],
    );
    assert_eq!(
        after,
        "customers:\n  - customer_number: K003\n    company_name: Gamma\n    licenses:\n      - legacy_license_key: L-1\n        product: Argus\n        edition: Basic\n"
    );
}

#[test]
fn map_entries_go_into_their_map_or_a_new_one() {
    let before = "customers:\n  - customer_number: K001\n    licenses:\n      - legacy_license_key: A\n        product: Argus\n        edition: Pro\n        features:\n          Export: true\n      - legacy_license_key: B\n        product: Argus\n        edition: Pro\n";
    let after = inserted(
        before,
        &[
            Insert::Key {
                mapping: at(4, 9),
                within: Some("features".into()),
                key: "Import".into(),
                value: Block::Scalar(NewValue::Bool(false)),
            },
            Insert::Key {
                mapping: at(9, 9),
                within: Some("limitations".into()),
                key: "Users".into(),
                value: int(5),
            },
            Insert::Key {
                mapping: at(9, 9),
                within: Some("limitations".into()),
                key: "Max Sessions".into(),
                value: int(2),
            },
        ],
    );
    assert_eq!(
        after,
        "customers:\n  - customer_number: K001\n    licenses:\n      - legacy_license_key: A\n        product: Argus\n        edition: Pro\n        features:\n          Export: true\n          Import: false\n      - legacy_license_key: B\n        product: Argus\n        edition: Pro\n        limitations:\n          Users: 5\n          Max Sessions: 2\n"
    );
}

#[test]
fn line_endings_comments_and_block_scalars_are_kept() {
    let before = "customers:\r\n  - customer_number: K001 # ERP\r\n    company_name: |\r\n      Acme\r\n\r\n  # next\r\n  - customer_number: K002\r\n";
    let after = inserted(
        before,
        &[Insert::Key {
            mapping: at(2, 5),
            within: None,
            key: "city".into(),
            value: text("yes: no"),
        }],
    );
    assert_eq!(
        after,
        "customers:\r\n  - customer_number: K001 # ERP\r\n    company_name: |\r\n      Acme\r\n    city: \"yes: no\"\r\n\r\n  # next\r\n  - customer_number: K002\r\n"
    );
}

#[test]
fn values_that_would_read_otherwise_are_quoted() {
    for (value, written) in [
        ("true", "\"true\""),
        ("01234", "01234"),
        ("12345", "12345"),
        ("- x", "\"- x\""),
        ("a #b", "\"a #b\""),
        ("", "\"\""),
        ("Zeile\nzwei", "\"Zeile\\nzwei\""),
    ] {
        let after = inserted(
            "customers:\n  - customer_number: K1\n",
            &[Insert::Key {
                mapping: at(2, 5),
                within: None,
                key: "zip".into(),
                value: text(value),
            }],
        );
        assert_eq!(
            after,
            format!("customers:\n  - customer_number: K1\n    zip: {written}\n")
        );
    }
}

#[test]
fn an_insert_without_a_place_says_why() {
    let edited = apply_with_inserts(
        ACME,
        &[],
        &[
            Insert::Key {
                mapping: at(99, 1),
                within: None,
                key: "city".into(),
                value: text("x"),
            },
            Insert::Key {
                mapping: at(3, 5),
                within: Some("country".into()),
                key: "x".into(),
                value: text("x"),
            },
            Insert::Item {
                mapping: at(3, 5),
                key: "country".into(),
                item: text("x"),
            },
        ],
        &order,
    )
    .unwrap();
    assert_eq!(edited.text, ACME);
    assert_eq!(
        edited.inserts,
        [
            Some("no mapping starts at line 99, column 1".to_owned()),
            Some("`country` in the mapping at line 3, column 5 is not a mapping".to_owned()),
            Some("`country` in the mapping at line 3, column 5 is not a list".to_owned()),
        ]
    );
}

#[test]
fn rewrites_and_inserts_go_together() {
    let edited = apply_with_inserts(
        ACME,
        &[crate::authoring::edit::Edit {
            at: crate::authoring::edit::Place::Value(at(11, 63)),
            value: NewValue::Text("Premium".into()),
        }],
        &[Insert::Key {
            mapping: at(11, 9),
            within: None,
            key: "token_limit".into(),
            value: int(5),
        }],
        &order,
    )
    .unwrap();
    assert!(
        edited.text.contains(
            "{ legacy_license_key: SUB-2, product: Orion, edition: Premium, token_limit: 5 }"
        ),
        "{}",
        edited.text
    );
}
