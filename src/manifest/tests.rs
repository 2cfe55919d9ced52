//! Unit tests of parsing and validation internals; whole directories are tested in tests/cli.

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use serde_json::json;

use super::node::{self, Value};
use super::{check, document, load, paths, project, written};
use crate::model::fields::{CUSTOMER, LICENSE};
use crate::schema::SchemaKind;

fn check(text: &str) -> (Vec<super::Customer>, Vec<String>) {
    let (customers, problems) = load::check_text(Path::new("m.yaml"), text);
    (
        customers,
        problems.iter().map(ToString::to_string).collect(),
    )
}

#[test]
fn scalars_keep_the_text_as_written() {
    let (customers, problems) = check(
        "customers:\n  - customer_number: 1001\n    zip: 01234\n    phone: +43 1 234\n    \
         country: NO\n    street: 1_000\n    city: 1.10\n",
    );
    assert_eq!(problems, Vec::<String>::new());
    let customer = &customers[0];
    let text = |name: &str| written(&customer.fields, name).unwrap().value.clone();
    assert_eq!(customer.customer_number.as_ref().unwrap().value, "1001");
    assert_eq!(text("zip"), "01234");
    assert_eq!(text("phone"), "+43 1 234");
    assert_eq!(text("country"), "NO");
    assert_eq!(text("street"), "1_000");
    assert_eq!(text("city"), "1.10");
}

#[test]
fn values_are_located_where_they_are_written() {
    let (customers, problems) = check(
        "customers:\n- customer_number: K1\n  licenses:\n  - legacy_license_key: L1\n    \
         product: Argus\n    edition: Pro\n    expires: { days_after_activation: 30 }\n    \
         features: { Export: true }\n",
    );
    assert_eq!(problems, Vec::<String>::new());
    let customer = &customers[0];
    assert_eq!((customer.origin.line, customer.origin.column), (2, 3));
    let number = customer.customer_number.as_ref().unwrap();
    assert_eq!((number.origin.line, number.origin.column), (2, 20));
    let license = &customer.licenses[0];
    assert_eq!((license.origin.line, license.origin.column), (4, 5));
    assert_eq!(
        (license.edition.origin.line, license.edition.origin.column),
        (6, 14)
    );
    let expires = written(&license.fields, "expires").unwrap();
    assert_eq!(expires.value, json!({ "days_after_activation": 30 }));
    // Map entries are located at their name, which is what later has to resolve.
    let export = &license.entries[0];
    assert_eq!(
        (export.map.name, export.name.as_str()),
        ("features", "Export")
    );
    assert_eq!(export.value.value, json!(true));
    assert_eq!(
        (export.value.origin.line, export.value.origin.column),
        (8, 17)
    );
}

#[test]
fn expires_takes_a_date_never_or_days_after_activation() {
    let license = |expires: &str| {
        let (customers, problems) = check(&format!(
            "customers:\n- customer_number: K1\n  licenses:\n  - legacy_license_key: L1\n    \
             product: Argus\n    edition: Pro\n    expires: {expires}\n"
        ));
        (
            customers
                .first()
                .and_then(|c| c.licenses.first())
                .and_then(|l| written(&l.fields, "expires").map(|e| e.value.clone())),
            problems,
        )
    };
    assert_eq!(license("2027-12-31").0, Some(json!("2027-12-31")));
    assert_eq!(license("never").0, Some(json!("never")));
    assert_eq!(
        license("{ days_after_activation: 0 }").0,
        Some(json!({ "days_after_activation": 0 }))
    );
    assert_eq!(
        license("2027-12-32").1,
        vec![
            "m.yaml:7:14: `expires` is not a valid date: `2027-12-32`\n  hint: write a date as \
             `2027-12-31`, or `never`, or `{ days_after_activation: 30 }`"
        ]
    );
    assert_eq!(
        license("27-12-31").1[0].lines().next().unwrap(),
        "m.yaml:7:14: `expires` is not a valid date: `27-12-31`"
    );
    assert_eq!(
        license("{ days_after_activation: -1 }").1,
        vec!["m.yaml:7:39: `days_after_activation` must not be negative, found -1"]
    );
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = level - 1;
        bomb.push_str(&format!(
            "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, \
             *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
        ));
    }
    let started = Instant::now();
    let err = node::parse_documents(&bomb).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        err.message.starts_with("refused: aliases"),
        "{}",
        err.message
    );
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let err = node::parse_documents(&deep).unwrap_err();
    assert_eq!(err.message, "refused: nested deeper than 32 levels");
    let just_deep_enough = format!(
        "{}x{}",
        "[".repeat(node::MAX_DEPTH),
        "]".repeat(node::MAX_DEPTH)
    );
    assert!(node::parse_documents(&just_deep_enough).is_ok());
    let too_deep = format!(
        "{}x{}",
        "[".repeat(node::MAX_DEPTH + 1),
        "]".repeat(node::MAX_DEPTH + 1)
    );
    let err = node::parse_documents(&too_deep).unwrap_err();
    assert_eq!(err.message, "refused: nested deeper than 32 levels");
}

#[test]
fn empty_documents_hold_no_customers() {
    for text in [
        "",
        "---\n---\n",
        "# only a comment\n",
        "customers:\n",
        "customers: []\n",
    ] {
        assert_eq!(check(text), (Vec::new(), Vec::new()), "{text:?}");
    }
    let documents = node::parse_documents("---\n...\n").unwrap();
    assert!(
        documents
            .iter()
            .all(|document| document.value == Value::Null)
    );
}

#[test]
fn admin_key_like_names_are_recognised() {
    for name in [
        "admin_key",
        "adminkey",
        "AdminKey",
        "ADMIN-KEY",
        "slascone_admin_key",
    ] {
        assert!(check::is_secret_key(name), "{name}");
    }
    for name in ["admin_key_env", "AdminKeyEnv", "key", "admin"] {
        assert!(!check::is_secret_key(name), "{name}");
    }
}

#[test]
fn ignore_changes_paths_follow_the_model() {
    use paths::{PathScope, check_path};
    assert_eq!(check_path("phone", PathScope::Customer), Ok(()));
    assert_eq!(
        check_path("fone", PathScope::Customer),
        Err(Some("phone".to_owned()))
    );
    for path in [
        "features",
        "variables.Region",
        "limitations.Users",
        "expires",
        "customer",
    ] {
        assert_eq!(check_path(path, PathScope::License), Ok(()), "{path}");
    }
    for path in [
        "variables.",
        "product",
        "customer_number",
        "features.X.Y.Z.",
    ] {
        let valid = path == "features.X.Y.Z.";
        assert_eq!(
            check_path(path, PathScope::License).is_ok(),
            valid,
            "{path}"
        );
    }
    assert_eq!(check_path("customer.phone", PathScope::Project), Ok(()));
    assert_eq!(
        check_path("license.variables.Region", PathScope::Project),
        Ok(())
    );
    assert!(check_path("phone", PathScope::Project).is_err());
    assert!(check_path("customer.variables.Region", PathScope::Project).is_err());
}

/// The properties of an object schema, sorted.
fn properties(schema: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .expect("an object schema")
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = fields.iter().map(|field| (*field).to_owned()).collect();
    names.sort();
    names
}

/// The validator and the JSON Schema must accept the same fields, or editors would suggest
/// fields that `validate` refuses (or hide ones it accepts).
#[test]
fn schema_and_validator_know_the_same_fields() {
    let manifest = crate::schema::schema(SchemaKind::Manifest);
    assert_eq!(properties(&manifest), sorted(document::DOCUMENT_FIELDS));
    let customer = &manifest["properties"]["customers"]["items"];
    let keys: Vec<&str> = CUSTOMER.keys().collect();
    assert_eq!(properties(customer), sorted(&keys));
    let license = &customer["properties"]["licenses"]["items"];
    let keys: Vec<&str> = LICENSE.keys().collect();
    assert_eq!(properties(license), sorted(&keys));
    assert_eq!(
        license["required"],
        serde_json::json!(["product", "edition"])
    );
    let days = &license["properties"]["expires"]["anyOf"][2];
    assert_eq!(properties(days), sorted(check::EXPIRES_FIELDS));

    let project = crate::schema::schema(SchemaKind::Project);
    assert_eq!(properties(&project), sorted(project::PROJECT_FIELDS));
    let environment = &project["properties"]["environments"]["additionalProperties"];
    assert_eq!(properties(environment), sorted(project::ENVIRONMENT_FIELDS));
    assert_eq!(
        properties(&project["properties"]["safety"]),
        sorted(project::SAFETY_FIELDS)
    );
    assert_eq!(
        properties(&project["properties"]["sandbox"]),
        sorted(project::SANDBOX_FIELDS)
    );
}

fn example_files(kind: &str) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // Hidden files are not part of an example (e.g. the sandbox state `--sandbox` keeps),
            // and examples/ci and examples/agent hold CI workflows and deployment files, not
            // manifests; examples/erp holds mapping files.
            if name.starts_with('.') {
                continue;
            }
            let mapping = path.starts_with(root.join("erp"));
            if path.is_dir() && name != "ci" && name != "agent" {
                pending.push(path);
            } else if path.is_dir() || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
                continue;
            } else if match kind {
                "project" => name == "slascone.yaml",
                "catalog" => name.ends_with("catalog.yaml"),
                "mapping" => mapping,
                _ => !mapping && name != "slascone.yaml" && !name.ends_with("catalog.yaml"),
            } {
                found.push(path);
            }
        }
    }
    found.sort();
    assert!(!found.is_empty());
    found
}

/// Whether `value` fits `schema`, for the keywords our schemas use; `Err` names the first
/// place it does not.
fn fits(value: &serde_json::Value, schema: &serde_json::Value, at: &str) -> Result<(), String> {
    use serde_json::Value as J;
    if let Some(alternatives) = schema.get("anyOf").and_then(J::as_array) {
        return if alternatives.iter().any(|s| fits(value, s, at).is_ok()) {
            Ok(())
        } else {
            Err(format!("{at}: {value} fits no alternative"))
        };
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at}: {value} is not {constant}"));
    }
    if let Some(allowed) = schema.get("enum").and_then(J::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not among {allowed:?}"));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(J::String(one)) => vec![one.as_str()],
        Some(J::Array(many)) => many.iter().filter_map(J::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n) if n.is_i64() || n.is_u64() => "integer",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    };
    let accepted = types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !types.is_empty() && !accepted {
        return Err(format!("{at}: {value} is {kind}, not {types:?}"));
    }
    if let (Some(minimum), Some(n)) = (schema.get("minimum").and_then(J::as_i64), value.as_i64())
        && n < minimum
    {
        return Err(format!("{at}: {n} is below {minimum}"));
    }
    if let (Some(maximum), Some(n)) = (schema.get("maximum").and_then(J::as_i64), value.as_i64())
        && n > maximum
    {
        return Err(format!("{at}: {n} is above {maximum}"));
    }
    if let J::Array(items) = value
        && let Some(item) = schema.get("items")
    {
        for (index, element) in items.iter().enumerate() {
            fits(element, item, &format!("{at}[{index}]"))?;
        }
    }
    if let J::Object(map) = value {
        let properties = schema.get("properties").and_then(J::as_object);
        for (key, inner) in map {
            let at = format!("{at}.{key}");
            let by_pattern = schema
                .get("patternProperties")
                .and_then(J::as_object)
                .and_then(|patterns| {
                    patterns
                        .iter()
                        .find(|(pattern, _)| pattern_matches(pattern, key))
                        .map(|(_, inner)| inner)
                });
            match (properties.and_then(|p| p.get(key)), by_pattern) {
                (Some(property), _) => fits(inner, property, &at)?,
                (None, Some(pattern)) => fits(inner, pattern, &at)?,
                (None, None) => match schema.get("additionalProperties") {
                    Some(J::Bool(false)) => return Err(format!("{at}: not allowed")),
                    Some(other @ J::Object(_)) => fits(inner, other, &at)?,
                    _ => {}
                },
            }
        }
        for required in schema
            .get("required")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            if !map.contains_key(required.as_str().unwrap_or_default()) {
                return Err(format!("{at}: {required} is missing"));
            }
        }
    }
    Ok(())
}

/// Whether `text` matches a `patternProperties` pattern, in the few regex forms our schemas
/// write: `^`, literals and `\.`, a group of literal alternatives `(a|b)`, `.+` and `$`.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    enum Token {
        Literal(char),
        OneOf(Vec<String>),
        AnyPlus,
        End,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern
        .strip_prefix('^')
        .expect("anchored")
        .chars()
        .peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Token::Literal(chars.next().expect("an escaped character")),
            '(' => {
                let group: String = chars.by_ref().take_while(|c| *c != ')').collect();
                Token::OneOf(group.split('|').map(str::to_owned).collect())
            }
            '.' if chars.next_if_eq(&'+').is_some() => Token::AnyPlus,
            '$' => Token::End,
            c if c.is_alphanumeric() || "-_".contains(c) => Token::Literal(c),
            other => panic!("`{pattern}`: `{other}` is beyond this matcher"),
        });
    }
    fn rest(tokens: &[Token], text: &str) -> bool {
        let Some((first, more)) = tokens.split_first() else {
            return true;
        };
        match first {
            Token::End => text.is_empty(),
            Token::Literal(c) => text.strip_prefix(*c).is_some_and(|t| rest(more, t)),
            Token::OneOf(options) => options
                .iter()
                .any(|o| text.strip_prefix(o.as_str()).is_some_and(|t| rest(more, t))),
            Token::AnyPlus => text
                .char_indices()
                .skip(1)
                .map(|(at, _)| at)
                .chain([text.len()])
                .filter(|_| !text.is_empty())
                .any(|at| rest(more, &text[at..])),
        }
    }
    rest(&tokens, text)
}

#[test]
fn the_pattern_matcher_reads_the_schemas_patterns() {
    let entry = "^(features|limitations|variables)\\..+$";
    assert!(pattern_matches(entry, "limitations.Users"));
    assert!(!pattern_matches(entry, "limitations."));
    assert!(!pattern_matches(entry, "constrained_variables.Modules"));
    assert!(!pattern_matches(entry, "city"));
    assert!(pattern_matches("^x-", "x-argus"));
    assert!(!pattern_matches("^x-", "customers"));
}

/// What the validator accepts also fits the JSON Schema editors check by; and a value the
/// schema refuses is one the validator refuses too.
#[test]
fn examples_fit_the_schema() {
    let manifest = crate::schema::schema(SchemaKind::Manifest);
    for file in example_files("manifest") {
        let text = std::fs::read_to_string(&file).unwrap();
        let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert!(!documents.is_empty(), "{}", file.display());
        for document in documents {
            fits(&document, &manifest, &file.display().to_string()).unwrap();
        }
    }
    let project = crate::schema::schema(SchemaKind::Project);
    for file in example_files("project") {
        let text = std::fs::read_to_string(&file).unwrap();
        let value: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        fits(&value, &project, &file.display().to_string()).unwrap();
    }
    let mapping = crate::schema::schema(SchemaKind::Mapping);
    for file in example_files("mapping") {
        let text = std::fs::read_to_string(&file).unwrap();
        let value: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        fits(&value, &mapping, &file.display().to_string()).unwrap();
    }
    let typo = json!({ "customers": { "columns": { "customer_number": "Nr", "cty": "Ort" } } });
    assert!(fits(&typo, &mapping, "typo").is_err());
    let wrong = json!({ "customers": [{ "customer_number": "K1", "licenses": [
        { "legacy_license_key": "L1", "product": "Argus", "edition": "Pro", "token_limit": -1 }
    ]}]});
    assert!(fits(&wrong, &manifest, "wrong").is_err());
}

/// Every example catalog is one the sandbox accepts, as `--sandbox` will load it.
#[test]
fn example_catalogs_load_in_the_sandbox() {
    for file in example_files("catalog") {
        let catalog = crate::sandbox::Catalog::load(&file)
            .unwrap_or_else(|err| panic!("{}: {err:#}", file.display()));
        assert!(!catalog.products.is_empty(), "{}", file.display());
        assert!(!catalog.customer_types.is_empty(), "{}", file.display());
    }
}

/// Whenever serde-saphyr (with the loader's options) reads `text` as JSON-like data, the event
/// stream tree holds the same data: same scalars, same merges, same documents.
fn agrees_with_serde_saphyr(text: &str) -> Result<(), TestCaseError> {
    let Ok(expected) =
        serde_saphyr::from_multiple_with_options::<serde_json::Value>(text, node::saphyr_options())
    else {
        return Ok(());
    };
    let documents = node::parse_documents(text);
    prop_assert!(documents.is_ok(), "{text:?}: {documents:?}");
    let actual: Vec<serde_json::Value> = documents.unwrap().iter().map(as_json).collect();
    // serde-saphyr leaves empty documents out of a multi-document stream.
    let actual: Vec<serde_json::Value> = if expected.len() < actual.len() {
        actual.into_iter().filter(|d| !d.is_null()).collect()
    } else {
        actual
    };
    prop_assert_eq!(actual, expected, "{:?}", text);
    Ok(())
}

fn as_json(node: &node::Node<'_>) -> serde_json::Value {
    use serde_json::Value as Json;
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(value) => Json::Bool(*value),
        Value::Int(value, _) => i64::try_from(*value)
            .map(Json::from)
            .or_else(|_| u64::try_from(*value).map(Json::from))
            .unwrap_or_else(|_| Json::from(*value as f64)),
        Value::Float(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Value::Str(text) => Json::String(text.to_string()),
        Value::Seq(items) => Json::Array(items.iter().map(as_json).collect()),
        Value::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                let key = match as_json(key) {
                    Json::String(text) => text,
                    other => other.to_string(),
                };
                map.insert(key, as_json(value));
            }
            Json::Object(map)
        }
    }
}

/// The example manifests with one random edit: deleted, duplicated or inserted characters.
fn mutated_example() -> impl Strategy<Value = String> {
    let examples: Vec<String> = example_files("manifest")
        .into_iter()
        .map(|file| std::fs::read_to_string(file).unwrap())
        .collect();
    (
        prop::sample::select(examples),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                0..3usize,
                "[ -~\n\t:{}\\[\\]&*!|>-]{0,4}",
            ),
            1..4,
        ),
    )
        .prop_map(|(mut text, edits)| {
            for (at, action, insert) in edits {
                let mut index = at.index(text.len() + 1);
                while !text.is_char_boundary(index) {
                    index -= 1;
                }
                match action {
                    0 => {
                        let end = (index + insert.len()).min(text.len());
                        let end = (end..=text.len())
                            .find(|e| text.is_char_boundary(*e))
                            .unwrap();
                        text.replace_range(index..end, "");
                    }
                    1 => {
                        let line_start = text[..index].rfind('\n').map_or(0, |n| n + 1);
                        let line = text[line_start..index].to_owned();
                        text.insert_str(line_start, &line);
                    }
                    _ => text.insert_str(index, &insert),
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = check(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "([a-z_ ]{0,12}(: |- |:\n)[-a-zA-Z0-9 \\[\\]{},:&*\"'~]{0,20}\n){0,12}") {
        let _ = check(&text);
    }

    #[test]
    fn the_tree_reads_like_serde_saphyr_on_yaml_like_text(
        text in "([a-z_ ]{0,8}(: |- |:\n  |: &a |: \\*a\n|<<: \\*a\n)[-a-zA-Z0-9_. \\[\\]{},:&*\"'~+]{0,16}\n){0,10}"
    ) {
        agrees_with_serde_saphyr(&text)?;
    }

    #[test]
    fn the_tree_reads_like_serde_saphyr_on_edited_examples(text in mutated_example()) {
        agrees_with_serde_saphyr(&text)?;
    }

    #[test]
    fn mutated_examples_never_panic_and_problems_are_located(text in mutated_example()) {
        let (_, problems) = load::check_text(Path::new("m.yaml"), &text);
        for problem in problems {
            prop_assert!(!problem.message.is_empty());
            if let Some(origin) = problem.origin {
                prop_assert!(origin.line >= 1 && origin.column >= 1, "{origin}");
            }
        }
    }
}

#[test]
fn x_keys_hold_anchors_for_reuse() {
    let (customers, problems) = check(
        "x-argus: &argus\n  product: Argus\n  edition: Professional\ncustomers:\n- \
         customer_number: K1\n  licenses:\n  - <<: *argus\n    legacy_license_key: L1\n  - <<: \
         *argus\n    legacy_license_key: L2\n    edition: Enterprise\n",
    );
    assert_eq!(problems, Vec::<String>::new());
    let licenses = &customers[0].licenses;
    assert_eq!(licenses[0].product.value, "Argus");
    assert_eq!(licenses[0].edition.value, "Professional");
    assert_eq!(licenses[1].edition.value, "Enterprise");
    // Other unknown top-level keys are still mistakes.
    let (_, problems) = check("y-argus: 1\n");
    assert_eq!(
        problems,
        vec![
            "m.yaml:1:1: unknown field `y-argus` in a manifest document\n  hint: known fields: \
             customers"
        ]
    );
}

#[test]
fn the_tree_reads_like_serde_saphyr_on_tricky_scalars() {
    for text in [
        "a: &a {x: 1, y: [1, 2]}\nb: {<<: *a, y: 2}\nc:\n  <<: [*a, {z: 3}]\n  x: 5\n",
        "a: 0x1F\nb: .5\nc: 1e3\nd: -0\ne: +1\nf: 0o17\ng: !!str 12\nh: ! 12\ni: 1e\nj: 0b101\n",
        "a: 1.\nb: -.5e-3\nc: 12e+2\nd: 0X1F\ne: 0xg\nf: '12'\ng: \"true\"\nh: True\ni: NULL\nj: ~\n",
        "a: +0123\nb: -00\nc: 1_0\nd: 9223372036854775808\ne: -9223372036854775809\nf: |\n  x\n",
        "- &x a\n- *x\n- [*x, *x]\n",
        "---\na: 1\n---\n---\nb: 2\n",
        "a: !!int 12\nb: !!float 1\nc: !!null x\nd: !!bool true\n",
        "a: !foo 1\nb: !foo x\nc: !foo\n",
        "a: !<tag:yaml.org,2002:int> 12\nb: !<tag:yaml.org,2002:str> 12\n",
        "%TAG !e! tag:yaml.org,2002:\n---\na: !e!int 12\nb: !e!str 12\n",
        // A flow mapping continued left of its block: yaml-rust2 refuses it, and the file is
        // read through serde-saphyr's parser as it always was.
        "a:\n  b: {\n c: 1 }\n",
    ] {
        agrees_with_serde_saphyr(text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    }
}
