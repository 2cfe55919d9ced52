use std::path::Path;

use jiff::civil::date;

use super::*;

pub(super) fn at(line: usize, column: usize) -> Position {
    Position { line, column }
}

fn text(value: &str) -> NewValue {
    NewValue::Text(value.to_owned())
}

/// `yaml` with the value at `line`:`column` set to `value`, which must be an edit.
fn edited(yaml: &str, line: usize, column: usize, value: NewValue) -> String {
    edited_at(yaml, &[(at(line, column).into(), value)])
}

/// Why the edit at `line`:`column` is skipped; checks that nothing was written.
fn skipped(yaml: &str, line: usize, column: usize, value: NewValue) -> String {
    skipped_edit(
        yaml,
        Edit {
            at: at(line, column).into(),
            value,
        },
    )
}

/// Why `edit` is skipped; checks that nothing was written.
fn skipped_edit(yaml: &str, edit: Edit) -> String {
    let (out, outcomes) = apply(yaml, &[edit]).unwrap();
    assert_eq!(out, yaml);
    match outcomes.as_slice() {
        [Outcome::Skipped(reason)] => reason.clone(),
        other => panic!("{yaml:?}: {other:?}"),
    }
}

#[test]
fn only_the_scalar_changes_around_comments_and_blank_lines() {
    let yaml = "\
# Customers of the north region.
customers:

  - company_name: Wayne Industrie AG   # the parent company
    # the city as the portal writes it
    city: Munich
    zip: \"80331\"


# the end
";
    let out = edited(yaml, 6, 11, text("München"));
    assert_eq!(out, yaml.replace("city: Munich", "city: München"));
    let out = edited(yaml, 4, 19, text("Wayne Holding"));
    assert_eq!(
        out,
        yaml.replace("Wayne Industrie AG   #", "Wayne Holding   #")
    );
}

#[test]
fn edits_in_flow_collections_keep_the_rest_of_the_line() {
    let yaml = "limits: { a: 1, b: 2 }\nfeatures: [Audit, Reporting]\n";
    assert_eq!(
        edited(yaml, 1, 20, NewValue::Integer(20)),
        "limits: { a: 1, b: 20 }\nfeatures: [Audit, Reporting]\n"
    );
    assert_eq!(
        edited(yaml, 2, 19, text("Export")),
        "limits: { a: 1, b: 2 }\nfeatures: [Audit, Export]\n"
    );
    // Two edits on one line: the second is found where it was, whatever the first wrote.
    let edits = [
        Edit {
            at: at(1, 14).into(),
            value: NewValue::Integer(1000),
        },
        Edit {
            at: at(1, 20).into(),
            value: NewValue::Integer(2000),
        },
    ];
    let (out, outcomes) = apply(yaml, &edits).unwrap();
    assert_eq!(
        out,
        "limits: { a: 1000, b: 2000 }\nfeatures: [Audit, Reporting]\n"
    );
    assert_eq!(outcomes, [Outcome::Edited, Outcome::Edited]);
}

#[test]
fn text_that_would_end_a_plain_scalar_in_a_flow_collection_is_quoted() {
    let yaml = "variables: { Region: EU, Tier: Gold }\n";
    for (new, written) in [
        ("EU, West", "\"EU, West\""),
        ("[EU]", "\"[EU]\""),
        ("EU]", "\"EU]\""),
        ("{EU}", "\"{EU}\""),
        ("EU}", "\"EU}\""),
        ("EU: West", "\"EU: West\""),
        ("EU #1", "\"EU #1\""),
        ("EU West", "EU West"),
        ("EU#1", "EU#1"),
    ] {
        assert_eq!(
            edited(yaml, 1, 22, text(new)),
            format!("variables: {{ Region: {written}, Tier: Gold }}\n"),
            "{new:?}"
        );
    }
    // Outside a flow collection, `,`, brackets and braces inside plain text are plain text.
    assert_eq!(
        edited("region: EU\n", 1, 9, text("EU, [W]")),
        "region: EU, [W]\n"
    );
}

/// What the value `before` in `key: before # c` becomes with `value`, the rest staying.
fn becomes(before: &str, value: NewValue) -> String {
    let yaml = format!("key: {before} # c\nnext: 1\n");
    let out = edited(&yaml, 1, 6, value);
    out.strip_prefix("key: ")
        .and_then(|out| out.strip_suffix(" # c\nnext: 1\n"))
        .unwrap_or_else(|| panic!("{yaml:?} became {out:?}"))
        .to_owned()
}

fn unchanged(before: &str, value: NewValue) {
    let yaml = format!("key: {before} # c\nnext: 1\n");
    let edit = Edit {
        at: at(1, 6).into(),
        value,
    };
    let (out, outcomes) = apply(&yaml, &[edit]).unwrap();
    assert_eq!(out, yaml);
    assert_eq!(outcomes, [Outcome::Unchanged], "{yaml:?}");
}

#[test]
fn quoted_scalars_keep_their_quotes() {
    for (before, new, after) in [
        ("'it''s'", "Bob's", "'Bob''s'"),
        ("'x'", " spaced, [quoted] # ", "' spaced, [quoted] # '"),
        ("'x'", "", "''"),
        (
            "\"say \\\"hi\\\"\"",
            "a \\ b \"c\"",
            "\"a \\\\ b \\\"c\\\"\"",
        ),
        ("\"x\"", "true", "\"true\""),
        ("\"x\"", "", "\"\""),
        // What single quotes cannot hold on one line goes into double quotes, escaped.
        ("'x'", "a\tb\nc\r", "\"a\\tb\\nc\\r\""),
        (
            "x",
            "bell\u{7}nel\u{85}ls\u{2028}bom\u{FEFF}",
            "\"bell\\x07nel\\x85ls\\u2028bom\\uFEFF\"",
        ),
        // Multi-line scalars become one line.
        ("\"two\n  lines\"", "one", "\"one\""),
        ("two\n  lines", "one", "one"),
    ] {
        assert_eq!(becomes(before, text(new)), after, "{before:?} {new:?}");
    }
}

#[test]
fn plain_text_stays_plain_where_the_loader_reads_it_back_as_that_text() {
    for (new, written) in [
        // Only `true` and `false` are booleans to the loader; `yes` and `NO` are text.
        ("yes", "yes"),
        ("NO", "NO"),
        ("true", "\"true\""),
        ("False", "\"False\""),
        ("null", "\"null\""),
        ("~", "\"~\""),
        ("", "\"\""),
        // Numbers would be read as numbers; leading zeros and underscores keep them text.
        ("1.0", "\"1.0\""),
        ("12", "\"12\""),
        ("0x1F", "\"0x1F\""),
        (".inf", "\".inf\""),
        ("01234", "01234"),
        ("1_000", "1_000"),
        ("2027-12-31", "2027-12-31"),
        ("+49 89 1234567", "+49 89 1234567"),
        // What YAML would read differently.
        ("a: b", "\"a: b\""),
        ("ends:", "\"ends:\""),
        ("# x", "\"# x\""),
        ("a #b", "\"a #b\""),
        (" lead", "\" lead\""),
        ("trail ", "\"trail \""),
        ("- x", "\"- x\""),
        ("-x", "\"-x\""),
        ("*x", "\"*x\""),
        ("&x", "\"&x\""),
        ("!x", "\"!x\""),
        ("|", "\"|\""),
        (">", "\">\""),
        ("%x", "\"%x\""),
        ("@x", "\"@x\""),
        ("`x`", "\"`x`\""),
        ("'q'", "\"'q'\""),
        ("\"q\"", "\"\\\"q\\\"\""),
        ("...", "\"...\""),
        ("tab\there", "\"tab\\there\""),
        // And what it reads as written.
        ("a:b", "a:b"),
        ("a#b", "a#b"),
        ("O'Brien", "O'Brien"),
        ("München", "München"),
    ] {
        assert_eq!(becomes("Munich", text(new)), written, "{new:?}");
    }
}

#[test]
fn text_may_replace_a_bare_number_as_a_bare_number() {
    // The loader's text fields take numbers as written (`customer_number: 1001` is `1001`).
    for (new, written) in [
        ("1002", "1002"),
        ("1.50", "1.50"),
        ("K1002", "K1002"),
        ("true", "\"true\""),
        (" 7", "\" 7\""),
    ] {
        assert_eq!(becomes("1001", text(new)), written, "{new:?}");
    }
    // Text that is not a bare number stays text: a number is quoted.
    assert_eq!(becomes("01234", text("1234")), "\"1234\"");
    assert_eq!(becomes("01234", text("04321")), "04321");
}

#[test]
fn integers_and_booleans_are_written_plain() {
    for (before, new, after) in [
        ("\"5\"", NewValue::Integer(6), "6"),
        ("'5'", NewValue::Integer(-6), "-6"),
        ("5", NewValue::Integer(i64::MIN), "-9223372036854775808"),
        ("'yes'", NewValue::Bool(false), "false"),
        ("true", NewValue::Bool(false), "false"),
        ("true", NewValue::Integer(1), "1"),
    ] {
        assert_eq!(becomes(before, new.clone()), after, "{before:?} {new:?}");
    }
    assert_eq!(
        edited("limits: [ 5, 7 ]\n", 1, 11, NewValue::Integer(-6)),
        "limits: [ -6, 7 ]\n"
    );
}

#[test]
fn dates_keep_the_style_of_what_they_replace() {
    let day = NewValue::Date(date(2028, 6, 30));
    for (before, after) in [
        ("2027-12-31", "2028-06-30"),
        ("\"2027-12-31\"", "\"2028-06-30\""),
        ("'2027-12-31'", "'2028-06-30'"),
        ("never", "2028-06-30"),
    ] {
        assert_eq!(becomes(before, day.clone()), after, "{before:?}");
    }
    assert_eq!(
        edited("expires: { on: 2027-01-01 }\n", 1, 16, day),
        "expires: { on: 2028-06-30 }\n"
    );
}

#[test]
fn a_value_already_held_is_unchanged() {
    unchanged("0x0A", NewValue::Integer(10));
    unchanged("10", NewValue::Integer(10));
    unchanged("80331", text("80331"));
    unchanged("\"80331\"", text("80331"));
    unchanged("'80331'", text("80331"));
    unchanged("True", NewValue::Bool(true));
    unchanged("2027-12-31", NewValue::Date(date(2027, 12, 31)));
    unchanged("two\n  words", text("two words"));
    // Another type is another value.
    assert_eq!(becomes("true", text("true")), "\"true\"");
    assert_eq!(becomes("'10'", NewValue::Integer(10)), "10");
    assert_eq!(becomes("null", text("null")), "\"null\"");
}

#[test]
fn positions_count_characters_not_bytes() {
    // `ü`, `ß` and `€` take two and three bytes; columns count them as one.
    let yaml = "address: { city: München, street: Straße 1, note: 5 € }\n";
    assert_eq!(
        edited(yaml, 1, 35, text("Weg 2")),
        "address: { city: München, street: Weg 2, note: 5 € }\n"
    );
    assert_eq!(
        edited(yaml, 1, 51, text("ÄÖÜ")),
        "address: { city: München, street: Straße 1, note: ÄÖÜ }\n"
    );
    // The byte column of `Straße 1` is no value's start.
    assert_eq!(
        skipped(yaml, 1, 36, text("x")),
        "no value starts at line 1, column 36"
    );
}

#[test]
fn line_endings_a_byte_order_mark_and_documents_stay() {
    let yaml = "\u{FEFF}a: 1\r\nb: x # c\r\n\r\n---\r\nb: y\r\n...\r\n--- z\r\n";
    let edits = [
        Edit {
            at: at(1, 4).into(),
            value: NewValue::Integer(2),
        },
        Edit {
            at: at(2, 4).into(),
            value: text("new"),
        },
        Edit {
            at: at(5, 4).into(),
            value: text("two words"),
        },
        Edit {
            at: at(7, 5).into(),
            value: text("top"),
        },
    ];
    let (out, outcomes) = apply(yaml, &edits).unwrap();
    assert_eq!(
        out,
        "\u{FEFF}a: 2\r\nb: new # c\r\n\r\n---\r\nb: two words\r\n...\r\n--- top\r\n"
    );
    assert_eq!(outcomes, vec![Outcome::Edited; 4]);
}

#[test]
fn anchored_aliased_and_merged_values_are_skipped() {
    let yaml = "\
defaults: &defaults
  edition: Standard
  token_limit: 10
license:
  <<: *defaults
  product: Argus
trial:
  <<: { edition: Trial }
  product: Vigil
shared: &name Acme
copy: *name
list: [ &first 1, 2 ]
quoted: { \"<<\": { edition: Beta } }
";
    let anchor = "comes from an anchor (`&defaults`), which aliases (`*defaults`) may reuse: \
                  editing it would change every place that uses the anchor";
    assert_eq!(
        skipped(yaml, 3, 16, NewValue::Integer(5)),
        format!("the value at line 3, column 16 {anchor}")
    );
    assert_eq!(
        skipped(yaml, 2, 12, text("Pro")),
        format!("the value at line 2, column 12 {anchor}")
    );
    assert_eq!(
        skipped(yaml, 5, 7, text("x")),
        "line 5, column 7 is an alias (`*defaults`): the value comes from an anchor, and editing \
         that would change every place that uses it"
    );
    assert_eq!(
        skipped(yaml, 8, 18, text("Pro")),
        "the value at line 8, column 18 comes from a `<<` merge: editing it would change what the \
         merge brings in"
    );
    assert!(skipped(yaml, 10, 15, text("Beta")).contains("anchor (`&name`)"));
    assert!(skipped(yaml, 11, 7, text("Beta")).contains("is an alias (`*name`)"));
    assert!(skipped(yaml, 12, 16, NewValue::Integer(3)).contains("anchor (`&first`)"));
    // What the merges and anchors do not reach is edited as usual.
    assert_eq!(
        edited(yaml, 6, 12, text("Vigil")),
        yaml.replace("product: Argus", "product: Vigil")
    );
    assert_eq!(
        edited(yaml, 12, 19, NewValue::Integer(3)),
        yaml.replace("1, 2 ]", "1, 3 ]")
    );
    // Only a plain `<<` merges; quoted, it is a key like any other.
    assert_eq!(
        edited(yaml, 13, 28, text("Gamma")),
        yaml.replace("Beta", "Gamma")
    );
}

#[test]
fn what_is_not_a_scalar_value_is_skipped_with_its_position() {
    let yaml = "\
name: x
nested:
  key: v
flow: { a: 1 }
list: [1]
block:
  - item
note: |
  text
folded: >
  text
phone:
zip: !!str 01234
";
    let value = text("y");
    let skip = |line, column| skipped(yaml, line, column, value.clone());
    assert_eq!(
        skip(1, 1),
        "line 1, column 1 is a key (`name`), not a value"
    );
    assert_eq!(skip(1, 3), "no value starts at line 1, column 3");
    assert_eq!(skip(1, 6), "no value starts at line 1, column 6");
    assert_eq!(skip(99, 1), "no value starts at line 99, column 1");
    // A block mapping starts where its first key does.
    assert_eq!(skip(3, 3), "line 3, column 3 is a key (`key`), not a value");
    assert_eq!(
        skip(4, 7),
        "line 4, column 7 is the start of a mapping, not a single value"
    );
    assert_eq!(
        skip(5, 7),
        "line 5, column 7 is the start of a list, not a single value"
    );
    assert_eq!(
        skip(7, 3),
        "line 7, column 3 is the start of a list, not a single value"
    );
    // A list level with its key starts where its first item does: the item is what is edited.
    assert_eq!(
        edited("list:\n- a\n- b\n", 2, 3, text("c")),
        "list:\n- c\n- b\n"
    );
    // The loader places a block scalar where its text starts.
    assert_eq!(
        skip(9, 3),
        "the value at line 9, column 3 is a block scalar (`|`); block scalars are left to edit \
         by hand"
    );
    assert!(skip(11, 3).contains("block scalar (`>`)"));
    // The parser places an empty value at the `:` before it.
    assert_eq!(
        skip(12, 6),
        "the value at line 12, column 6 is empty; there is no text to replace"
    );
    assert_eq!(
        skip(13, 12),
        "the value at line 13, column 12 has an explicit tag (`!!str`); tagged values are left \
         to edit by hand"
    );
    assert!(skipped("? [a, b]\n: c\n", 1, 3, value.clone()).contains("is a key (a list)"));
}

#[test]
fn a_second_edit_at_the_same_place_is_skipped() {
    let edits = [
        Edit {
            at: at(1, 4).into(),
            value: text("first"),
        },
        Edit {
            at: at(1, 4).into(),
            value: text("second"),
        },
    ];
    let (out, outcomes) = apply("a: x\n", &edits).unwrap();
    assert_eq!(out, "a: first\n");
    assert_eq!(
        outcomes,
        [
            Outcome::Edited,
            Outcome::Skipped(
                "an earlier edit already rewrites the value at line 1, column 4".to_owned()
            )
        ]
    );
}

/// `yaml` with the edits at `places`, which must all be edited.
fn edited_at(yaml: &str, places: &[(Place, NewValue)]) -> String {
    let edits: Vec<Edit> = places
        .iter()
        .map(|(at, value)| Edit {
            at: at.clone(),
            value: value.clone(),
        })
        .collect();
    let (out, outcomes) = apply(yaml, &edits).unwrap();
    assert_eq!(outcomes, vec![Outcome::Edited; edits.len()], "{yaml:?}");
    out
}

/// Why an edit at `place` is skipped; checks that nothing was written.
fn skipped_at(yaml: &str, place: Place) -> String {
    skipped_edit(
        yaml,
        Edit {
            at: place,
            value: NewValue::Integer(7),
        },
    )
}

#[test]
fn a_value_is_found_by_its_key() {
    let key = |line, column| Place::ValueOfKey(at(line, column));
    let yaml = "\
limitations: { Users: 50, \"Projects\": 100 }   # two entries
features:
  Export: true
  'Audit':    false # spaced
variables: {Region: EU}
";
    assert_eq!(
        edited_at(
            yaml,
            &[
                (key(1, 16), NewValue::Integer(60)),
                (key(1, 27), NewValue::Integer(200)),
                (key(3, 3), NewValue::Bool(false)),
                (key(4, 3), NewValue::Bool(true)),
                (key(5, 13), text("EU, West")),
            ]
        ),
        "\
limitations: { Users: 60, \"Projects\": 200 }   # two entries
features:
  Export: false
  'Audit':    true # spaced
variables: {Region: \"EU, West\"}
"
    );
    // A key names one value: by it and by its own position, the value is edited once.
    let edits = [
        Edit {
            at: key(3, 3),
            value: NewValue::Bool(false),
        },
        Edit {
            at: at(3, 11).into(),
            value: NewValue::Bool(false),
        },
    ];
    let (out, outcomes) = apply(yaml, &edits).unwrap();
    assert_eq!(out, yaml.replace("Export: true", "Export: false"));
    assert_eq!(
        outcomes[1],
        Outcome::Skipped("an earlier edit already rewrites the value at line 3, column 11".into())
    );
}

#[test]
fn a_value_found_by_its_key_is_refused_as_any_other() {
    let key = |line, column| Place::ValueOfKey(at(line, column));
    let yaml = "\
base: &base { Users: 5 }
limitations:
  <<: *base
  Projects: *base
  Seats:
modules: { Core: [a, b], Extra: { x: 1 } }
plain: value
";
    assert_eq!(
        skipped_at(yaml, key(1, 15)),
        "the value at line 1, column 22 comes from an anchor (`&base`), which aliases (`*base`) \
         may reuse: editing it would change every place that uses the anchor"
    );
    assert_eq!(
        skipped_at(yaml, key(3, 3)),
        "line 3, column 7 is an alias (`*base`): the value comes from an anchor, and editing \
         that would change every place that uses it"
    );
    assert!(skipped_at(yaml, key(4, 3)).contains("line 4, column 13 is an alias (`*base`)"));
    assert_eq!(
        skipped_at(yaml, key(5, 3)),
        "the value at line 5, column 8 is empty; there is no text to replace"
    );
    assert_eq!(
        skipped_at(yaml, key(6, 12)),
        "line 6, column 18 is the start of a list, not a single value"
    );
    assert_eq!(
        skipped_at(yaml, key(6, 26)),
        "line 6, column 33 is the start of a mapping, not a single value"
    );
    // A value, a place inside a key, nothing at all: no key starts there.
    for (line, column) in [(7, 8), (7, 2), (99, 1)] {
        assert_eq!(
            skipped_at(yaml, key(line, column)),
            format!("no key of a mapping starts at line {line}, column {column}")
        );
    }
}

#[test]
fn a_value_is_found_by_its_key_in_a_mapping() {
    let entry = |line, column| Place::Entry {
        mapping: at(line, column),
        key: "days_after_activation".into(),
    };
    let yaml = "\
- expires: { days_after_activation: 30 }  # flow
- expires:
    # block
    days_after_activation: 14
- expires: { days: 1 }
- expires: &trial { days_after_activation: 7 }
- expires: 2027-12-31
";
    assert_eq!(
        edited_at(
            yaml,
            &[
                (entry(1, 12), NewValue::Integer(60)),
                (entry(4, 5), NewValue::Integer(28)),
            ]
        ),
        yaml.replace(": 30 }", ": 60 }").replace(": 14", ": 28")
    );
    // Only keys of that very mapping count, not the keys of the mappings in it.
    assert_eq!(
        edited_at(
            "outer: { inner: { days_after_activation: 1 }, days_after_activation: 2 }\n",
            &[(entry(1, 8), NewValue::Integer(3))]
        ),
        "outer: { inner: { days_after_activation: 1 }, days_after_activation: 3 }\n"
    );
    let missing = "no mapping with the key `days_after_activation` starts at";
    assert_eq!(
        skipped_at(yaml, entry(5, 12)),
        format!("{missing} line 5, column 12")
    );
    assert_eq!(
        skipped_at(yaml, entry(7, 12)),
        format!("{missing} line 7, column 12")
    );
    // The mapping at the start of the list item is not `expires`.
    assert_eq!(
        skipped_at(yaml, entry(1, 3)),
        format!("{missing} line 1, column 3")
    );
    // The parser, and so the loader, places an anchored mapping at its `{`, after the anchor.
    assert!(skipped_at(yaml, entry(6, 19)).contains("comes from an anchor (`&trial`)"));
}

#[test]
fn a_key_named_twice_names_one_value() {
    // The block mapping and its first key both start at line 1, column 1: `b` is named by its
    // key's position and by its key in that mapping, and the value is edited once.
    let yaml = "a:\nb: 42\n";
    let edits = [
        Edit {
            at: Place::Entry {
                mapping: at(1, 1),
                key: "b".into(),
            },
            value: NewValue::Integer(7),
        },
        Edit {
            at: Place::ValueOfKey(at(2, 1)),
            value: NewValue::Integer(8),
        },
    ];
    let (out, outcomes) = apply(yaml, &edits).unwrap();
    assert_eq!(out, "a:\nb: 7\n");
    assert_eq!(
        outcomes,
        [
            Outcome::Edited,
            Outcome::Skipped(
                "an earlier edit already rewrites the value at line 2, column 4".into()
            )
        ]
    );
}

#[test]
fn a_date_that_is_no_yyyy_mm_dd_is_skipped() {
    let reason = skipped("expires: never\n", 1, 10, NewValue::Date(date(-1, 1, 1)));
    assert_eq!(
        reason,
        "the date -000001-01-01 cannot be written as YYYY-MM-DD"
    );
}

#[test]
fn outcomes_follow_the_order_of_the_edits() {
    let edits = [
        Edit {
            at: at(3, 4).into(),
            value: text("c2"),
        },
        Edit {
            at: at(9, 9).into(),
            value: text("none"),
        },
        Edit {
            at: at(1, 4).into(),
            value: text("a"),
        },
    ];
    let (out, outcomes) = apply("a: a\nb: b\nc: c\n", &edits).unwrap();
    assert_eq!(out, "a: a\nb: b\nc: c2\n");
    assert!(matches!(
        outcomes.as_slice(),
        [Outcome::Edited, Outcome::Skipped(_), Outcome::Unchanged]
    ));
}

#[test]
fn text_that_does_not_parse_is_an_error() {
    let err = apply("a: [1, 2\nb: 3\n", &[]).unwrap_err();
    assert!(err.at.line >= 1, "{err}");
    assert!(!err.message.is_empty());
    assert!(apply("a: \"open\n", &[]).is_err());
    assert_eq!(apply("a: 1\n", &[]).unwrap(), ("a: 1\n".to_owned(), vec![]));
}

/// A writer that gets some values wrong, to show the check after editing.
fn faulty(target: &Target<'_>, value: &NewValue) -> Written {
    let plain = |text: &str| Written::plain(text.to_owned());
    match value {
        // A different value than asked for.
        NewValue::Text(text) if text == "wrong" => plain("right"),
        // A plain scalar that YAML reads as a mapping.
        NewValue::Text(text) if text == "key: value" => plain(text),
        // A quote that swallows the rest of the file.
        NewValue::Text(text) if text == "open" => Written {
            text: "\"open".to_owned(),
            value: "open".to_owned(),
            style: ScalarStyle::DoubleQuoted,
        },
        // Text written where YAML reads null.
        NewValue::Text(text) if text == "null" => plain(text),
        _ => write(target, value),
    }
}

#[test]
fn an_edit_that_does_not_read_back_is_left_out() {
    let yaml = "a: x\nb: y # c\nc: z\n";
    for bad in ["wrong", "key: value", "open", "null"] {
        let edits = [
            Edit {
                at: at(1, 4).into(),
                value: text("fine"),
            },
            Edit {
                at: at(2, 4).into(),
                value: text(bad),
            },
            Edit {
                at: at(3, 4).into(),
                value: text("also fine"),
            },
        ];
        let (out, outcomes) = apply_with(yaml, &edits, faulty).unwrap();
        assert_eq!(out, "a: fine\nb: y # c\nc: also fine\n", "{bad}");
        assert_eq!(outcomes[0], Outcome::Edited);
        assert_eq!(
            outcomes[1],
            Outcome::Skipped(
                "the new text for the value at line 2, column 4 did not read back as the new \
                 value, so it was left as it was"
                    .to_owned()
            ),
            "{bad}"
        );
        assert_eq!(outcomes[2], Outcome::Edited);
        // The writer itself gets it right.
        let (out, outcomes) = apply(yaml, &edits).unwrap();
        assert_eq!(outcomes, vec![Outcome::Edited; 3]);
        assert!(out.starts_with("a: fine\nb: "), "{out}");
    }
}

/// The example manifest that writes every field, as the loader reads it.
fn wayne() -> (String, crate::manifest::Customer) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/complete/customers/wayne.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let mut customers = crate::manifest::check_str(&file, &yaml).unwrap();
    (yaml, customers.remove(0))
}

/// Where the value of the field `name` is written.
fn field(fields: &[crate::manifest::Written], name: &str) -> Position {
    let origin = &crate::manifest::written(fields, name).unwrap().origin;
    at(origin.line, origin.column)
}

/// The value of the field `name`.
fn value(fields: &[crate::manifest::Written], name: &str) -> serde_json::Value {
    crate::manifest::written(fields, name)
        .unwrap()
        .value
        .clone()
}

/// The first entry of the license map `map`.
fn entry<'l>(license: &'l crate::manifest::License, map: &str) -> &'l crate::manifest::Entry {
    license
        .entries
        .iter()
        .find(|entry| entry.map.name == map)
        .unwrap()
}

/// Where the value of an entry of `features`, `limitations` or `variables` starts: the loader
/// places the entry at its key, and the value follows `key: ` in the example.
fn value_of(entry: &crate::manifest::Entry) -> Position {
    let origin = &entry.value.origin;
    at(origin.line, origin.column + entry.name.chars().count() + 2)
}

#[test]
fn the_loader_reads_each_new_value_where_it_read_the_old_one() {
    let (yaml, customer) = wayne();
    let license = &customer.licenses[0];
    let number = customer.customer_number.as_ref().unwrap().origin.clone();
    let edits = [
        (
            field(&customer.fields, "company_name"),
            text("Wayne: Holdings # 2"),
        ),
        (field(&customer.fields, "zip"), text("01234")),
        (field(&customer.fields, "city"), text("Köln")),
        (field(&customer.fields, "phone"), text("+49 221 7654321")),
        (at(number.line, number.column), text("true")),
        (
            field(&license.fields, "token_limit"),
            NewValue::Integer(150),
        ),
        (field(&license.fields, "active"), NewValue::Bool(false)),
        (
            field(&license.fields, "expires"),
            NewValue::Date(date(2028, 1, 31)),
        ),
        (value_of(entry(license, "features")), NewValue::Bool(false)),
        (
            value_of(entry(license, "limitations")),
            NewValue::Integer(700),
        ),
        (value_of(entry(license, "variables")), text("EU, West")),
    ];
    let edits: Vec<Edit> = edits
        .into_iter()
        .map(|(at, value)| Edit {
            at: at.into(),
            value,
        })
        .collect();
    let (out, outcomes) = apply(&yaml, &edits).unwrap();
    assert_eq!(outcomes, vec![Outcome::Edited; edits.len()]);

    let changed: Vec<(&str, &str)> = yaml
        .lines()
        .zip(out.lines())
        .filter(|(old, new)| old != new)
        .collect();
    assert_eq!(yaml.lines().count(), out.lines().count());
    assert_eq!(changed.len(), 11, "{changed:#?}");
    assert!(changed.contains(&(
        "        variables: { Region: EU, SupportLevel: Premium }",
        "        variables: { Region: \"EU, West\", SupportLevel: Premium }"
    )));

    let file = Path::new("wayne.yaml");
    let new = crate::manifest::check_str(file, &out).unwrap().remove(0);
    let new_license = &new.licenses[0];
    assert_eq!(value(&new.fields, "company_name"), "Wayne: Holdings # 2");
    assert_eq!(value(&new.fields, "zip"), "01234");
    assert_eq!(value(&new.fields, "city"), "Köln");
    assert_eq!(value(&new.fields, "phone"), "+49 221 7654321");
    assert_eq!(new.customer_number.as_ref().unwrap().value, "true");
    assert_eq!(value(&new_license.fields, "token_limit"), 150);
    assert_eq!(value(&new_license.fields, "active"), false);
    assert_eq!(value(&new_license.fields, "expires"), "2028-01-31");
    assert_eq!(entry(new_license, "features").value.value, false);
    assert_eq!(entry(new_license, "limitations").value.value, 700);
    assert_eq!(entry(new_license, "variables").value.value, "EU, West");
    // Each at the place the old one was read.
    let new_number = &new.customer_number.as_ref().unwrap().origin;
    let found = [
        field(&new.fields, "company_name"),
        field(&new.fields, "zip"),
        field(&new.fields, "city"),
        field(&new.fields, "phone"),
        at(new_number.line, new_number.column),
        field(&new_license.fields, "token_limit"),
        field(&new_license.fields, "active"),
        field(&new_license.fields, "expires"),
        value_of(entry(new_license, "features")),
        value_of(entry(new_license, "limitations")),
        value_of(entry(new_license, "variables")),
    ];
    for edit in &edits {
        assert!(
            found.iter().any(|at| edit.at == Place::Value(*at)),
            "{:?}",
            edit.at
        );
    }
}
