//! Snapshots of the three renderings of one representative plan, plus the properties each
//! rendering promises: plain text without colour, JSON valid against the committed schema,
//! markdown within GitHub's comment limit.

use serde_json::{Value, json};

use super::plan_summary::thousands;
use super::*;
use crate::model::{CurrentContact, DesiredContact, DesiredLicense, contact_key};
use crate::plan::tests::{
    ctx, customer, customer_by_id, fields, id, license, professional, remote, remote_customer,
    remote_license, state,
};
use crate::plan::{Action, Change, FieldChange, Identity, diff};

/// Creates (one depending on another), updates by number and by id, an owner change, an
/// edition-based license, contacts by number and by id, awkward characters, unmanaged objects
/// and warnings.
fn representative() -> Plan {
    let mut desired = state(
        vec![
            customer(
                "K001",
                json!({"company_name": "Acme GmbH", "country": "Germany", "customer_type": "Enterprise"}),
            ),
            customer(
                "K002",
                json!({"company_name": "Beta AG", "country": "Switzerland"}),
            ),
            customer_by_id(3, json!({"email": "ops@gamma.example"})),
            customer("K003", json!({"email": "other@gamma.example"})),
        ],
        vec![
            DesiredLicense {
                edition_fields: professional().into(),
                ..license(
                    "SUB-2026-0001",
                    json!({"customer": "K001", "edition": "Professional"}),
                )
            },
            license(
                "SUB-2026-0002",
                json!({"customer": "K002", "edition": "Professional", "limitations.Users": 50,
                       "expires": "2027-12-31", "variables.Note": "a | b `c` <d>"}),
            ),
        ],
    );
    let contact = |customer: &str, email: &str, field_values: Value| DesiredContact {
        key: contact_key(customer, email),
        customer: customer.to_owned(),
        email: email.to_owned(),
        fields: fields(field_values),
        ignore: Vec::new(),
        origin: desired.customers[0].origin.clone(),
    };
    let contacts = vec![
        contact(
            "K001",
            "anna@acme.example",
            json!({"name": "Anna", "surname": "Roth", "portal_user": true}),
        ),
        contact(
            &id(3).to_string(),
            "ops@gamma.example",
            json!({"name": "Olga", "surname": "Pohl"}),
        ),
    ];
    desired.contacts = contacts;
    let mut current = remote(
        vec![
            remote_customer(
                2,
                "K002",
                json!({"company_name": "Beta AG", "country": "Austria"}),
            ),
            remote_customer(3, "K003", json!({"email": "old@gamma.example"})),
            remote_customer(9, "K9", json!({})),
        ],
        vec![
            remote_license(
                20,
                "SUB-2026-0002",
                9,
                json!({"edition": "Professional", "limitations.Users": 25, "expires": "2026-12-31"}),
            ),
            remote_license(21, "OLD-1", 9, json!({"edition": "Professional"})),
        ],
    );
    current.contacts.push(CurrentContact {
        id: id(30),
        customer_id: id(3),
        email: "OPS@gamma.example".to_owned(),
        fields: fields(json!({"name": "Olga", "surname": "Paul"})),
        fingerprint: "c30".to_owned(),
    });
    diff(&desired, &current, &ctx())
}

fn rendered(plan: &Plan, format: Format, style: Style) -> String {
    let mut out = Vec::new();
    render(plan, format, &mut out, &style).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("renderings are UTF-8")
}

#[test]
fn text_snapshot() {
    insta::assert_snapshot!(rendered(&representative(), Format::Text, Style::default()));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(rendered(&representative(), Format::Json, Style::default()));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(rendered(
        &representative(),
        Format::Markdown,
        Style::default()
    ));
}

#[test]
fn colour_adds_ansi_codes_and_nothing_else() {
    let plan = representative();
    let plain = rendered(&plan, Format::Text, Style::default());
    let coloured = rendered(
        &plan,
        Format::Text,
        Style {
            color: true,
            ..Style::default()
        },
    );
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[32m+ customer K001"));
    assert!(coloured.contains("\x1b[33m~ license Argus/SUB-2026-0002"));
    let stripped = coloured
        .split('\x1b')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                &part[part.find('m').unwrap() + 1..]
            }
        })
        .collect::<String>();
    assert_eq!(stripped, plain);
    // JSON and markdown are for machines and web pages: never coloured.
    for format in [Format::Json, Format::Markdown] {
        assert!(
            !rendered(
                &plan,
                format,
                Style {
                    color: true,
                    ..Style::default()
                }
            )
            .contains('\x1b')
        );
    }
}

fn empty_plan(unmanaged: usize) -> Plan {
    let current = remote(
        (0..unmanaged as u128)
            .map(|n| remote_customer(n, &format!("K{n}"), json!({})))
            .collect(),
        vec![],
    );
    diff(&state(vec![], vec![]), &current, &ctx())
}

#[test]
fn no_changes() {
    assert_eq!(
        rendered(&empty_plan(0), Format::Text, Style::default()),
        "No changes.\n"
    );
    assert_eq!(
        rendered(&empty_plan(12), Format::Text, Style::default()),
        "12 unmanaged objects left alone: customer K0, customer K1, customer K10, customer K11, \
         customer K2, customer K3, customer K4, customer K5, customer K6, customer K7, and 2 more\n\
         \n\
         No changes.\n"
    );
    let markdown = rendered(&empty_plan(1), Format::Markdown, Style::default());
    assert!(
        markdown.contains("| 0 | 0 | 0 | 1 |\n\nNo changes.\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("1 unmanaged object left alone"),
        "{markdown}"
    );
}

#[test]
fn json_is_byte_stable_and_ends_with_a_newline() {
    let first = rendered(&representative(), Format::Json, Style::default());
    assert_eq!(
        first,
        rendered(&representative(), Format::Json, Style::default())
    );
    assert!(first.ends_with("}\n"));
    assert!(first.starts_with("{\n  \"format_version\": 2,"));
    let back: Plan = serde_json::from_str(&first).expect("the JSON reads back");
    assert_eq!(back, representative());
}

/// A plan with `n` updates whose field values are long enough to overflow a comment.
fn huge_plan(n: usize) -> Plan {
    huge_plan_with_risk(n, |_| crate::plan::Risk::Low)
}

/// `n` updates of four long variables each; change `i` has the risk `risk(i)`.
fn huge_plan_with_risk(n: usize, risk: impl Fn(usize) -> crate::plan::Risk) -> Plan {
    let mut plan = empty_plan(300);
    plan.changes = (0..n)
        .map(|i| Change {
            key: format!("Argus/SUB-{i:05}"),
            action: Action::Update,
            identity: Identity::License {
                id: Some(id(i as u128)),
                product: "Argus".to_owned(),
                legacy_license_key: None,
                edition_based: false,
            },
            fields: (0..4)
                .map(|f| FieldChange {
                    path: format!("variables.V{f}"),
                    before: json!("x".repeat(40)),
                    after: json!("y".repeat(40)),
                    source: None,
                })
                .collect(),
            links: vec![],
            fingerprint: Some("fp".to_owned()),
            depends_on: None,
            origin: None,
            risk: risk(i),
            risk_reasons: match risk(i) {
                crate::plan::Risk::Low => Vec::new(),
                _ => vec![format!("reason {i}")],
            },
        })
        .collect();
    plan.summary.update = n;
    plan
}

#[test]
fn long_markdown_is_folded_under_the_comment_limit() {
    for n in [150, 600, 5000] {
        let markdown = rendered(&huge_plan(n), Format::Markdown, Style::default());
        // The action's longest marker line, with its line break, still fits GitHub's limit.
        assert!(
            markdown.chars().count() + plan_markdown::MARKER_CHARS
                <= plan_markdown::GITHUB_MAX_CHARS,
            "{n} changes"
        );
        assert!(
            markdown.contains(&format!("| 0 | {} | 0 | 300 |", thousands(n))),
            "{n}: summary kept"
        );
        assert!(
            markdown.contains("for the full plan."),
            "{n}: says what was left out"
        );
        assert!(
            markdown.contains("Argus/SUB-00000"),
            "{n}: the first change is shown"
        );
    }
    // Folding details is enough for a few hundred changes: every change keeps its line.
    let markdown = rendered(&huge_plan(600), Format::Markdown, Style::default());
    assert!(markdown.contains("Argus/SUB-00599"));
    assert!(!markdown.contains("not shown"));
    assert!(markdown.contains("shown without details;"));
    // Thousands need whole changes dropped, from the end.
    let markdown = rendered(&huge_plan(5000), Format::Markdown, Style::default());
    assert!(!markdown.contains("Argus/SUB-04999"));
    assert!(markdown.contains("changes not shown; run `slascone-sync plan --format json`"));
}

#[test]
fn high_risk_changes_are_the_last_to_be_cut() {
    use crate::plan::Risk;
    // The last ten of 5,000 are high-risk: they keep their details, though they come last.
    let risk = |i: usize| if i >= 4990 { Risk::High } else { Risk::Low };
    let markdown = rendered(
        &huge_plan_with_risk(5000, risk),
        Format::Markdown,
        Style::default(),
    );
    assert!(markdown.chars().count() <= plan_markdown::MAX_CHARS);
    for i in 4990..5000 {
        assert!(
            markdown.contains(&format!(
                "<b>Argus/SUB-{i:05}</b> · <code>PATCH /licenses</code> · <b>high risk</b>"
            )),
            "{i} keeps its details"
        );
    }
    // Low-risk ones give way: the first keeps its line, the last are left out.
    assert!(markdown.contains("- `~` update license Argus/SUB-00000 · 4 fields\n"));
    assert!(!markdown.contains("Argus/SUB-04989"));
    assert!(
        !markdown.contains("high-risk)"),
        "no high-risk change is left out"
    );

    // When even the high-risk ones do not fit, the comment counts those left out.
    let markdown = rendered(
        &huge_plan_with_risk(5000, |_| Risk::High),
        Format::Markdown,
        Style::default(),
    );
    assert!(markdown.chars().count() <= plan_markdown::MAX_CHARS);
    let footer = markdown.lines().last().unwrap();
    let dropped: usize = footer
        .split(" changes not shown (")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{footer}"));
    assert!(
        footer.contains(&format!(
            "{dropped} changes not shown ({} of them high-risk)",
            super::plan_summary::thousands(dropped)
        )),
        "{footer}"
    );
}

#[test]
fn markdown_opens_with_the_changes_grouped() {
    let markdown = rendered(&huge_plan(5000), Format::Markdown, Style::default());
    let summary = markdown.find("**Summary**\n\n- `~` 5,000 licenses of Argus updated: variables.V0 changed (5,000), variables.V1 changed (5,000), variables.V2 changed (5,000), variables.V3 changed (5,000)\n").expect("a grouped summary");
    assert!(summary < markdown.find("<details>").unwrap());
}

#[test]
fn text_opens_with_a_summary_above_200_changes() {
    use crate::plan::Risk;
    let risk = |i: usize| if i == 7 { Risk::High } else { Risk::Low };
    let text = rendered(
        &huge_plan_with_risk(201, risk),
        Format::Text,
        Style::default(),
    );
    assert!(
        text.starts_with(
            "Summary:\n  ~ 201 licenses of Argus updated: variables.V0 changed (201), variables.V1 \
             changed (201), variables.V2 changed (201), variables.V3 changed (201)\nHigh risk (1):\n  \
             ~ license Argus/SUB-00007: reason 7\n\n~ license Argus/SUB-00000"
        ),
        "{}",
        &text[..400]
    );
    let text = rendered(
        &huge_plan_with_risk(200, risk),
        Format::Text,
        Style::default(),
    );
    assert!(
        text.starts_with("~ license Argus/SUB-00000"),
        "{}",
        &text[..200]
    );
}

#[test]
fn manifest_lines_link_to_the_reviewed_commit() {
    use std::path::PathBuf;
    let links = |dir: &str, dir_in_repo: &str| ManifestLinks {
        blob_url: "https://github.com/acme/licensing/blob/abc123".to_owned(),
        dir: PathBuf::from(dir),
        dir_in_repo: dir_in_repo.to_owned(),
    };
    let origin = |file: &str| crate::model::Origin {
        file: std::path::Path::new(file).into(),
        line: 12,
        column: 9,
    };
    let located = |links: &ManifestLinks, file: &str| links.locate(&origin(file));
    assert_eq!(
        located(
            &links("/ci/work/repo/licensing", "licensing"),
            "/ci/work/repo/licensing/customers/acme.yaml"
        ),
        Some((
            "licensing/customers/acme.yaml:12:9".to_owned(),
            "https://github.com/acme/licensing/blob/abc123/licensing/customers/acme.yaml#L12"
                .to_owned()
        ))
    );
    // The current directory, at the repository root; names that need encoding.
    assert_eq!(
        located(&links(".", ""), "customers/a b#1.yaml"),
        Some((
            "customers/a b#1.yaml:12:9".to_owned(),
            "https://github.com/acme/licensing/blob/abc123/customers/a%20b%231.yaml#L12".to_owned()
        ))
    );
    assert_eq!(located(&links("/elsewhere", ""), "/ci/x.yaml"), None);
    assert_eq!(located(&links(".", ""), "/ci/x.yaml"), None);

    // Markdown links the Manifest line; without links it is as before.
    let plan = representative();
    let dir = plan.changes[0]
        .origin
        .as_ref()
        .unwrap()
        .file
        .parent()
        .unwrap()
        .to_path_buf();
    let style = Style {
        manifest_links: Some(ManifestLinks {
            dir,
            ..links(".", "m")
        }),
        ..Style::default()
    };
    let markdown = rendered(&plan, Format::Markdown, style);
    let line = markdown
        .lines()
        .find(|l| l.starts_with("Manifest: "))
        .unwrap();
    let origin = plan.changes[0].origin.as_ref().unwrap();
    let file = origin.file.file_name().unwrap().to_string_lossy();
    assert_eq!(
        line,
        format!(
            "Manifest: [m/{file}:{}:{}](<https://github.com/acme/licensing/blob/abc123/m/{file}#L{}>)",
            origin.line, origin.column, origin.line
        )
        .replace('_', "\\_")
    );
    let plain = rendered(&plan, Format::Markdown, Style::default());
    assert!(plain.contains(&format!(
        "Manifest: {}",
        origin.to_string().replace('_', "\\_")
    )));
}

#[test]
fn short_markdown_is_not_folded() {
    let markdown = rendered(&huge_plan(100), Format::Markdown, Style::default());
    assert_eq!(
        markdown.matches("<details><summary><code>~</code>").count(),
        100
    );
    assert!(!markdown.contains("for the full plan"));
}

#[test]
fn markdown_values_cannot_break_the_table() {
    let markdown = rendered(&representative(), Format::Markdown, Style::default());
    let row = markdown
        .lines()
        .find(|line| line.starts_with("| `variables.Note`"))
        .expect("the field row");
    assert_eq!(
        row,
        r#"| `variables.Note` | (none) | "a \| b \`c\` &lt;d&gt;" |"#
    );
}

/// Checks `value` against the subset of JSON Schema that schemars emits for the plan.
fn conforms(value: &Value, schema: &Value, root: &Value) -> Result<(), String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/$defs/");
            &root["$defs"][name]
        }
        None => schema,
    };
    if schema == &Value::Bool(true) {
        return Ok(());
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !names.contains(&actual) {
            return Err(format!("{value} is not {names:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{value} not in {allowed:?}"));
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        return Err(format!("{value} is not {expected}"));
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|o| conforms(value, o, root).is_ok())
            .count();
        if matching != 1 {
            return Err(format!("{value} matches {matching} of oneOf"));
        }
    }
    if let (Some(items), Value::Array(values)) = (schema.get("items"), value) {
        for item in values {
            conforms(item, items, root)?;
        }
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("missing {name} in {value}"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => conforms(field, property, root)?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("unexpected {name}"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

#[test]
fn json_conforms_to_the_committed_schema() {
    let schema: Value =
        serde_json::from_str(include_str!("../../schema/plan.schema.json")).expect("valid JSON");
    for plan in [representative(), empty_plan(3), huge_plan(3)] {
        let json: Value = serde_json::from_str(&rendered(&plan, Format::Json, Style::default()))
            .expect("valid JSON");
        conforms(&json, &schema, &schema).unwrap_or_else(|e| panic!("{e}"));
    }
    // The checker itself rejects what the schema forbids.
    let mut bad: Value = serde_json::to_value(representative()).expect("serialises");
    bad["changes"][0]["request"]["method"] = json!("DELETE");
    assert!(conforms(&bad, &schema, &schema).is_err());
    bad["changes"][0]["request"]["method"] = json!("POST");
    bad["changes"][0]["surprise"] = json!(1);
    assert!(conforms(&bad, &schema, &schema).is_err());
}

/// An expiry in the manifest's form, not JSON; a URL in a value never becomes a link; the
/// high-risk list is a GitHub alert block; the closing line stands apart from the warnings.
#[test]
fn values_read_as_written_and_never_link() {
    let mut plan = huge_plan_with_risk(1, |_| crate::plan::Risk::High);
    plan.unmanaged.truncate(1);
    plan.summary.unmanaged = 1;
    plan.changes[0].fields = vec![
        FieldChange {
            path: "expires".to_owned(),
            before: json!("never"),
            after: json!({"days_after_activation": 30}),
            source: None,
        },
        FieldChange {
            path: "variables.Homepage".to_owned(),
            before: json!("www.old.example"),
            after: json!("https://evil.example/`x`"),
            source: None,
        },
    ];
    plan.changes[0].risk_reasons = vec!["homepage changed to https://evil.example/x".to_owned()];
    let text = rendered(&plan, Format::Text, Style::default());
    insta::assert_snapshot!("values_text", text);
    let markdown = rendered(&plan, Format::Markdown, Style::default());
    insta::assert_snapshot!("values_markdown", markdown);
    assert!(text.contains(r#""never" → { days_after_activation: 30 }"#));
    // Code spans are never linked; text outside them is escaped.
    assert!(!markdown.contains("https://evil"), "{markdown}");
    assert!(markdown.contains(r#"`"www.old.example"`"#), "{markdown}");
    assert!(markdown.contains("> [!CAUTION]\n> **High risk** (1)\n"));
}
