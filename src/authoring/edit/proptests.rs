//! Properties of the editor: over generated YAML files (anchors, aliases, merges, flow and block
//! collections, every scalar style, comments, several documents, CRLF, a byte order mark), random
//! edits are skipped exactly where they must be, and otherwise change only the edited scalars,
//! which read back as their new values; and whatever text is written, the manifest loader reads
//! it back as that text.

use std::path::Path;

use proptest::prelude::*;
use serde_saphyr::granit_parser::{Event, Parser, Span};

use super::tests::at;
use super::*;

/// Texts that YAML reads as something else, or that end or break a plain scalar.
const TRICKY: &[&str] = &[
    "",
    " ",
    "true",
    "False",
    "TRUE",
    "null",
    "Null",
    "~",
    "yes",
    "no",
    "on",
    "0",
    "-0",
    "12",
    "+12",
    "-7",
    "0x1F",
    "0X1F",
    "0o17",
    "0b101",
    "1.0",
    "1.",
    ".5",
    "1e3",
    "-1E-3",
    ".inf",
    "-.inf",
    ".nan",
    "+.nan",
    "01234",
    "1_000",
    "2027-12-31",
    "a: b",
    "a:b",
    "ends:",
    ":start",
    "# x",
    "a #b",
    "a#b",
    " lead",
    "trail ",
    "- x",
    "-x",
    "--- x",
    "---",
    "...",
    "? x",
    "*x",
    "&x",
    "!x",
    "!!str",
    "|",
    ">",
    "%x",
    "@x",
    "`x`",
    "'q'",
    "\"q\"",
    "it's",
    "a\\b",
    "a, b",
    "[a]",
    "{a}",
    "a]",
    "a}",
    "tab\tx",
    "line\nbreak",
    "cr\rx",
    "München",
    "Straße 1",
    "€ 5",
    "\u{FEFF}bom",
    "nel\u{85}x",
    "ls\u{2028}x",
    "\u{1F600}",
    "\u{7}bell",
    "\u{0}nul",
    "a  b",
];

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(TRICKY).prop_map(str::to_owned),
        "[ a-z0-9:#,\\[\\]{}'\"\\-?&*!|>%@`.~+_\t\n\\\\]{0,12}",
        any::<String>(),
    ]
}

fn any_value() -> impl Strategy<Value = NewValue> {
    prop_oneof![
        4 => any_text().prop_map(NewValue::Text),
        1 => any::<i64>().prop_map(NewValue::Integer),
        1 => any::<bool>().prop_map(NewValue::Bool),
        1 => (1000i16..=9999, 1i8..=12, 1i8..=28)
            .prop_map(|(y, m, d)| NewValue::Date(jiff::civil::date(y, m, d))),
    ]
}

/// Where the value after `needle` starts in `yaml` (`needle` occurs once).
fn after(yaml: &str, needle: &str) -> Position {
    let end = yaml.find(needle).unwrap() + needle.len();
    let line_start = yaml[..end].rfind('\n').map_or(0, |at| at + 1);
    at(
        yaml[..end].matches('\n').count() + 1,
        yaml[line_start..end].chars().count() + 1,
    )
}

const CUSTOMER: &str = "\
customers:
  - customer_number: K1 # the number
    company_name: Acme
    street: Main 1
    city: 'Graz'
    zip: \"8010\"
    phone: 1234
    licenses:
      - legacy_license_key: L-1
        product: Argus
        edition: Standard
        variables: { Region: EU, Tier: Gold }
";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever text is written into a plain, single-quoted, double-quoted, bare-number or
    /// flow-collection value, the manifest loader reads exactly that text there, and every other
    /// line stays as it was.
    #[test]
    fn the_loader_reads_back_any_text(
        street in any_text(),
        city in any_text(),
        zip in any_text(),
        phone in any_text(),
        region in any_text(),
        tier in any_text(),
    ) {
        let places = ["street: ", "city: ", "zip: ", "phone: ", "Region: ", "Tier: "];
        let texts = [&street, &city, &zip, &phone, &region, &tier];
        let edits: Vec<Edit> = places
            .iter()
            .zip(texts)
            .map(|(place, text)| Edit {
                at: after(CUSTOMER, place).into(),
                value: NewValue::Text(text.clone()),
            })
            .collect();
        let (out, outcomes) = apply(CUSTOMER, &edits).unwrap();
        for outcome in &outcomes {
            prop_assert!(matches!(outcome, Outcome::Edited | Outcome::Unchanged), "{outcomes:?}");
        }
        let customers = crate::manifest::check_str(Path::new("c.yaml"), &out);
        prop_assert!(customers.is_ok(), "{out}\n{customers:?}");
        let customer = &customers.unwrap()[0];
        let read = |name: &str| {
            crate::manifest::written(&customer.fields, name)
                .and_then(|located| located.value.as_str().map(str::to_owned))
        };
        prop_assert_eq!(read("street"), Some(street));
        prop_assert_eq!(read("city"), Some(city));
        prop_assert_eq!(read("zip"), Some(zip));
        prop_assert_eq!(read("phone"), Some(phone));
        let variables = &customer.licenses[0].entries;
        prop_assert_eq!(variables[0].value.value.as_str(), Some(region.as_str()));
        prop_assert_eq!(variables[1].value.value.as_str(), Some(tier.as_str()));
        prop_assert_eq!(out.lines().count(), CUSTOMER.lines().count());
        for (old, new) in CUSTOMER.lines().zip(out.lines()) {
            if old != new {
                prop_assert!(places.iter().any(|place| old.contains(place)), "{old:?} -> {new:?}");
                let (keep, _) = old.split_at(old.find(':').unwrap());
                prop_assert!(new.starts_with(keep), "{old:?} -> {new:?}");
            }
        }
    }

    /// Over generated files, an edit is applied (or found unchanged) exactly when it names an
    /// unshared scalar value; the result differs from the file only inside the edited scalars,
    /// which read back as their new values at the place they were.
    #[test]
    fn edits_change_only_the_edited_scalars(
        seed in any::<u64>(),
        picks in prop::collection::vec(
            (any::<prop::sample::Index>(), 0..40usize, any::<bool>(), any_value()),
            1..8,
        ),
    ) {
        let (yaml, spots) = generate(seed);
        let edits = edits_at(&yaml, &spots, picks);
        let result = apply(&yaml, &edits);
        prop_assert!(result.is_ok(), "{yaml}\n{result:?}");
        let (out, outcomes) = result.unwrap();

        // Skipped exactly where it must be.
        let mut seen = std::collections::HashSet::new();
        for (edit, outcome) in edits.iter().zip(&outcomes) {
            let at = position(edit);
            let editable = seen.insert(at)
                && spots.iter().any(|spot| spot.at == at && spot.editable);
            prop_assert_eq!(
                editable,
                !matches!(outcome, Outcome::Skipped(_)),
                "{:?} {:?} {:?}\n{}",
                edit,
                outcome,
                spots.iter().filter(|spot| spot.at == at).collect::<Vec<_>>(),
                yaml
            );
        }
        check_only_edited(&yaml, &out, &edits, &outcomes)?;
    }

    /// Whatever the line editor takes, it does as the parsing editor does: the same text and
    /// the same outcome for every edit. Over the generated files (which it mostly leaves to the
    /// parser) and over a manifest of the shapes it is for, with edits at its values and
    /// anywhere.
    #[test]
    fn the_line_editor_agrees_with_the_parsing_one(
        seed in any::<u64>(),
        manifest in any::<bool>(),
        picks in prop::collection::vec(
            (any::<prop::sample::Index>(), 0..40usize, any::<bool>(), any_value()),
            1..8,
        ),
    ) {
        let (yaml, spots) = if manifest {
            let spots = SIMPLE_VALUES
                .iter()
                .map(|needle| Spot { at: after(SIMPLE, needle), editable: true })
                .collect();
            (SIMPLE.to_owned(), spots)
        } else {
            generate(seed)
        };
        let edits = edits_at(&yaml, &spots, picks);
        if let Some(fast) = line::apply(&yaml, &edits, scalar::write) {
            let parsed = apply_parsed(&yaml, &edits, scalar::write);
            prop_assert_eq!(Ok(fast), parsed, "{}\n{:?}", yaml, edits);
        }
    }
}

/// An edit per pick: at a spot of the file, or (now and then) anywhere, most often nowhere in
/// particular.
fn edits_at(
    yaml: &str,
    spots: &[Spot],
    picks: Vec<(prop::sample::Index, usize, bool, NewValue)>,
) -> Vec<Edit> {
    let lines = yaml.lines().count();
    picks
        .into_iter()
        .map(|(index, column, anywhere, value)| {
            let at = if anywhere && column < 8 {
                at(index.index(lines + 2) + 1, column + 1)
            } else {
                spots[index.index(spots.len())].at
            };
            Edit {
                at: at.into(),
                value,
            }
        })
        .collect()
}

/// A manifest of the shapes the line editor takes: plain, quoted and numeric values with and
/// without comments, a one-line flow map, a list of scalars, CRLF-free.
const SIMPLE: &str = "\
# Customers of the north.
customers:
  - customer_number: K1   # the number
    company_name: 'Acme ''n'' Co'
    city: \"Graz\"
    phone: 1234
    street: Main 1st
    tags:
      - a
      - b
    licenses:
      - legacy_license_key: L-1
        product: Argus
        token_limit: 10 # ten
        features: { Export: true, Import: false }
        expires: 2027-12-31
---
customers:
  - customer_number: K2
    company_name: Beta
";

/// The values of [`SIMPLE`], by the text before them.
const SIMPLE_VALUES: &[&str] = &[
    "customer_number: ",
    "company_name: ",
    "city: ",
    "phone: ",
    "street: ",
    "legacy_license_key: ",
    "product: ",
    "token_limit: ",
    "expires: ",
    "features: { Export: ",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over generated files, a scalar value named by its key, or by its key in the mapping that
    /// holds it, is edited (or skipped) exactly as when it is named by its own position; a
    /// mapping or list named by its key is always skipped.
    #[test]
    fn a_value_named_by_its_key_is_the_value_at_its_position(
        seed in any::<u64>(),
        picks in prop::collection::vec(
            (any::<prop::sample::Index>(), 0..3u8, any_value()),
            1..6,
        ),
    ) {
        let (yaml, _) = generate(seed);
        let keyed = keyed_values(&yaml);
        let (scalars, collections): (Vec<&Keyed>, Vec<&Keyed>) =
            keyed.iter().partition(|keyed| keyed.scalar);
        prop_assume!(!scalars.is_empty());
        let (mut by_position, mut by_key) = (Vec::new(), Vec::new());
        for (index, how, value) in picks {
            let keyed = scalars[index.index(scalars.len())];
            by_position.push(Edit { at: Place::Value(keyed.value), value: value.clone() });
            by_key.push(Edit { at: keyed.place(how), value });
        }
        let (expected, expected_outcomes) = apply(&yaml, &by_position).unwrap();
        let (out, outcomes) = apply(&yaml, &by_key).unwrap();
        prop_assert_eq!(&out, &expected, "{:?}\n{}", by_key, yaml);
        for (outcome, expected) in outcomes.iter().zip(&expected_outcomes) {
            match (outcome, expected) {
                (Outcome::Skipped(_), Outcome::Skipped(_)) => {}
                _ => prop_assert_eq!(outcome, expected, "{:?}\n{}", by_key, yaml),
            }
        }
        for keyed in collections {
            for how in 1..3 {
                let edit = Edit { at: keyed.place(how), value: NewValue::Integer(1) };
                let (out, outcomes) = apply(&yaml, std::slice::from_ref(&edit)).unwrap();
                prop_assert_eq!(&out, &yaml);
                prop_assert!(matches!(&outcomes[0], Outcome::Skipped(_)), "{:?}", edit);
            }
        }
    }
}

/// A mapping entry with a scalar key, as the parser reads it.
#[derive(Debug)]
struct Keyed {
    key: Position,
    name: String,
    /// Where the mapping holding the entry starts.
    mapping: Position,
    /// Where the value starts.
    value: Position,
    /// The value is a scalar or an alias, not a mapping or a list.
    scalar: bool,
}

impl Keyed {
    /// The place of the value: 0 by its position, 1 by its key, 2 by its key in the mapping.
    fn place(&self, how: u8) -> Place {
        match how {
            0 => Place::Value(self.value),
            1 => Place::ValueOfKey(self.key),
            _ => Place::Entry {
                mapping: self.mapping,
                key: self.name.clone(),
            },
        }
    }
}

/// Every mapping entry of `yaml` with a scalar key.
fn keyed_values(yaml: &str) -> Vec<Keyed> {
    /// An open collection: for a mapping, where it starts, whether a key comes next, and the
    /// scalar key waiting for its value.
    struct Open {
        map: Option<(Position, bool)>,
        key: Option<(Position, String)>,
    }
    let mut found = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    for event in Parser::new_from_str(yaml) {
        let (event, span) = event.unwrap();
        let at = Position::of(&span);
        let node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
        );
        if let Some(Open {
            map: Some((mapping, key_next)),
            key,
        }) = open.last_mut()
            && node
        {
            if *key_next {
                *key = match &event {
                    Event::Scalar(name, ..) => Some((at, name.to_string())),
                    _ => None,
                };
            } else if let Some((key, name)) = key.take() {
                found.push(Keyed {
                    key,
                    name,
                    mapping: *mapping,
                    value: at,
                    scalar: matches!(event, Event::Scalar(..) | Event::Alias(_)),
                });
            }
            *key_next = !*key_next;
        }
        match event {
            Event::MappingStart(..) => open.push(Open {
                map: Some((at, true)),
                key: None,
            }),
            Event::SequenceStart(..) => open.push(Open {
                map: None,
                key: None,
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
            }
            _ => {}
        }
    }
    found
}

/// Where an edit of these properties writes: they name values by their position.
fn position(edit: &Edit) -> Position {
    match edit.at {
        Place::Value(at) => at,
        _ => unreachable!("{edit:?}"),
    }
}

/// `out` reads as `yaml` event for event, but for the scalars of edited edits, which hold their
/// new values; the text between those scalars is byte-identical; unchanged ones already held
/// theirs.
fn check_only_edited(
    yaml: &str,
    out: &str,
    edits: &[Edit],
    outcomes: &[Outcome],
) -> Result<(), TestCaseError> {
    let events = |text| -> Vec<(Event<'_>, Span)> {
        Parser::new_from_str(text)
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let (old, new) = (events(yaml), events(out));
    prop_assert_eq!(old.len(), new.len(), "{}\n---- became\n{}", yaml, out);
    let edit_at = |span: &Span| {
        edits
            .iter()
            .zip(outcomes)
            .find(|(edit, _)| position(edit) == Position::of(span))
    };
    let (mut old_done, mut new_done) = (0, 0);
    // Whether an edit earlier in the file changed how many lines there are, or what a line holds.
    let (mut lines_moved, mut last_edited_line) = (false, 0);
    for ((old_event, old_span), (new_event, new_span)) in old.iter().zip(&new) {
        let edit = match old_event {
            Event::Scalar(..) => edit_at(old_span),
            _ => None,
        };
        match (edit, old_event, new_event) {
            (Some((edit, Outcome::Edited)), _, Event::Scalar(value, style, ..)) => {
                prop_assert!(
                    holds(value, *style, &edit.value),
                    "{:?} for {:?}\n{}",
                    new_event,
                    edit,
                    out
                );
                let (old_start, old_end) = bytes(yaml, old_span);
                let (new_start, new_end) = bytes(out, new_span);
                prop_assert_eq!(&yaml[old_done..old_start], &out[new_done..new_start]);
                (old_done, new_done) = (old_end, new_end);
                let at = position(edit);
                if !lines_moved && last_edited_line != at.line {
                    prop_assert_eq!(Position::of(new_span), at);
                }
                lines_moved |= old_span.start.line() != old_span.end.line();
                last_edited_line = at.line;
            }
            (Some((edit, Outcome::Edited)), _, _) => {
                prop_assert!(false, "{:?} became {:?}\n{}", edit, new_event, out);
            }
            (Some((edit, Outcome::Unchanged)), Event::Scalar(value, style, ..), _) => {
                prop_assert!(
                    holds(value, *style, &edit.value),
                    "{:?} {:?}",
                    edit,
                    old_event
                );
                prop_assert_eq!(old_event, new_event);
            }
            _ => prop_assert_eq!(old_event, new_event, "{}\n---- became\n{}", yaml, out),
        }
    }
    prop_assert_eq!(&yaml[old_done..], &out[new_done..]);
    Ok(())
}

/// A place in a generated file, and whether an edit there may write.
#[derive(Debug)]
struct Spot {
    at: Position,
    editable: bool,
}

/// Scalars as written, valid anywhere a value stands.
const SCALARS: &[&str] = &[
    "word",
    "two words",
    "München",
    "42",
    "-7",
    "01234",
    "2027-12-31",
    "true",
    "null",
    "~",
    "1.5",
    "0x1F",
    "O'Brien",
    "yes",
    "K-100",
    "'it''s'",
    "'a, b'",
    "''",
    "' pad '",
    "'München'",
    "\"say \\\"hi\\\"\"",
    "\"a: b\"",
    "\"\"",
    "\"tab\\there\"",
    "\"\\u00e9\"",
    "\"x # y\"",
];

/// Writes a random YAML file and notes every place where a node starts.
struct Generator {
    rng: fastrand::Rng,
    out: String,
    spots: Vec<Spot>,
    /// Anchors defined so far in this document, and whether each names a mapping.
    anchors: Vec<(String, bool)>,
    names: usize,
}

/// A random YAML file and the places in it.
fn generate(seed: u64) -> (String, Vec<Spot>) {
    let mut generator = Generator {
        rng: fastrand::Rng::with_seed(seed),
        out: String::new(),
        spots: Vec::new(),
        anchors: Vec::new(),
        names: 0,
    };
    let documents = generator.rng.usize(1..=3);
    for document in 0..documents {
        generator.anchors.clear();
        if document > 0 {
            if generator.rng.bool() {
                generator.out.push_str("...\n");
            }
            generator.out.push_str("---");
            if generator.rng.u8(..4) == 0 {
                generator.out.push(' ');
                generator.scalar(false);
                generator.out.push('\n');
                continue;
            }
            generator.out.push('\n');
        }
        if generator.rng.bool() {
            generator.out.push_str("# a document\n");
        }
        generator.block_map(0, false, 0);
    }
    let Generator {
        mut out,
        spots,
        mut rng,
        ..
    } = generator;
    if rng.u8(..4) == 0 {
        out = out.replace('\n', "\r\n");
    }
    if rng.u8(..4) == 0 {
        out.insert(0, '\u{FEFF}');
    }
    (out, spots)
}

impl Generator {
    fn here(&self) -> Position {
        let line_start = self.out.rfind('\n').map_or(0, |at| at + 1);
        at(
            self.out.matches('\n').count() + 1,
            self.out[line_start..].chars().count() + 1,
        )
    }

    fn spot(&mut self, editable: bool) {
        let at = self.here();
        self.spots.push(Spot { at, editable });
    }

    fn name(&mut self) -> String {
        self.names += 1;
        format!("k{}", self.names)
    }

    fn indent(&mut self, indent: usize) {
        self.out.push_str(&" ".repeat(indent));
    }

    /// Maybe an anchor before a node; the name is usable once the node is complete.
    fn anchor(&mut self) -> Option<String> {
        (self.rng.u8(..8) == 0).then(|| {
            let name = format!("a{}", self.rng.u16(..1000));
            self.out.push('&');
            self.out.push_str(&name);
            self.out.push(' ');
            name
        })
    }

    fn scalar(&mut self, shared: bool) {
        let anchor = self.anchor();
        self.spot(!shared && anchor.is_none());
        let written = SCALARS[self.rng.usize(..SCALARS.len())];
        self.out.push_str(written);
        if let Some(name) = anchor {
            self.anchors.push((name, false));
        }
    }

    fn alias(&mut self, maps_only: bool) -> bool {
        let choices: Vec<String> = self
            .anchors
            .iter()
            .filter(|(_, map)| *map || !maps_only)
            .map(|(name, _)| name.clone())
            .collect();
        if choices.is_empty() {
            return false;
        }
        self.spot(false);
        let name = &choices[self.rng.usize(..choices.len())];
        self.out.push('*');
        self.out.push_str(name);
        true
    }

    /// A flow mapping or sequence (a mapping when `map` says so).
    fn flow(&mut self, shared: bool, depth: usize, map: Option<bool>) {
        let anchor = self.anchor();
        let shared = shared || anchor.is_some();
        self.spot(false);
        let map = map.unwrap_or_else(|| self.rng.bool());
        let pad = if self.rng.bool() { " " } else { "" };
        self.out.push_str(if map { "{" } else { "[" });
        self.out.push_str(pad);
        for item in 0..self.rng.usize(0..=3) {
            if item > 0 {
                self.out.push_str(", ");
            }
            if map {
                self.spot(false);
                let name = self.name();
                self.out.push_str(&name);
                self.out.push_str(": ");
            }
            self.flow_value(shared, depth);
        }
        self.out.push_str(pad);
        self.out.push_str(if map { "}" } else { "]" });
        if let Some(name) = anchor {
            self.anchors.push((name, map));
        }
    }

    fn flow_value(&mut self, shared: bool, depth: usize) {
        match self.rng.u8(..10) {
            0 if depth < 3 => self.flow(shared, depth + 1, None),
            1 if self.alias(false) => {}
            _ => self.scalar(shared),
        }
    }

    fn block_map(&mut self, indent: usize, shared: bool, depth: usize) {
        let mut merged = false;
        for _ in 0..self.rng.usize(1..=4) {
            match self.rng.u8(..10) {
                0 => self.out.push('\n'),
                1 => {
                    self.indent(indent);
                    self.out.push_str("# between entries\n");
                }
                _ => {}
            }
            self.indent(indent);
            if !merged && self.rng.u8(..8) == 0 {
                merged = true;
                self.spot(false);
                self.out.push_str("<<: ");
                if !self.alias(true) {
                    self.flow(true, depth, Some(true));
                }
                self.out.push('\n');
                continue;
            }
            self.spot(false);
            let name = self.name();
            self.out.push_str(&name);
            self.out.push(':');
            self.value(indent, shared, depth);
        }
    }

    /// A mapping value after `key:`, through the end of its last line.
    fn value(&mut self, indent: usize, shared: bool, depth: usize) {
        let comment = |generator: &mut Generator| {
            if generator.rng.u8(..4) == 0 {
                generator.out.push_str("   # a comment");
            }
            generator.out.push('\n');
        };
        match self.rng.u8(..20) {
            0..=1 if depth < 3 => {
                let anchor = self.anchor_after_key();
                self.out.push('\n');
                self.block_map(indent + 2, shared || anchor.is_some(), depth + 1);
                if let Some(name) = anchor {
                    self.anchors.push((name, true));
                }
            }
            2..=3 if depth < 3 => {
                let anchor = self.anchor_after_key();
                self.out.push('\n');
                // Indented, or not (a list may stand level with its key).
                let indent = if self.rng.bool() { indent + 2 } else { indent };
                self.block_seq(indent, shared || anchor.is_some(), depth + 1);
                if let Some(name) = anchor {
                    self.anchors.push((name, false));
                }
            }
            4..=5 => {
                self.out.push(' ');
                self.flow(shared, depth, None);
                comment(self);
            }
            6 => {
                // Empty: the parser places the null at the `:`.
                let Position { line, column } = self.here();
                self.spots.push(Spot {
                    at: at(line, column - 1),
                    editable: false,
                });
                self.out.push('\n');
            }
            7 => {
                self.out.push_str(" !!str ");
                self.spot(false);
                self.out.push_str("123\n");
            }
            8 => {
                self.out
                    .push_str(if self.rng.bool() { " |\n" } else { " >-\n" });
                self.indent(indent + 2);
                self.spot(false);
                self.out.push_str("block text\n");
            }
            9 => {
                self.out.push(' ');
                let anchor = self.anchor();
                self.spot(!shared && anchor.is_none());
                let (open, close) = if self.rng.bool() {
                    ("\"", "\"")
                } else {
                    ("", "")
                };
                self.out.push_str(open);
                self.out.push_str("first\n");
                self.indent(indent + 2);
                self.out.push_str("second");
                self.out.push_str(close);
                if let Some(name) = anchor {
                    self.anchors.push((name, false));
                }
                comment(self);
            }
            10 if !self.anchors.is_empty() => {
                self.out.push(' ');
                self.alias(false);
                comment(self);
            }
            _ => {
                self.out.push(' ');
                self.scalar(shared);
                comment(self);
            }
        }
    }

    fn anchor_after_key(&mut self) -> Option<String> {
        (self.rng.u8(..6) == 0).then(|| {
            let name = format!("a{}", self.rng.u16(..1000));
            self.out.push_str(" &");
            self.out.push_str(&name);
            name
        })
    }

    fn block_seq(&mut self, indent: usize, shared: bool, depth: usize) {
        for _ in 0..self.rng.usize(1..=3) {
            self.indent(indent);
            match self.rng.u8(..6) {
                0 if depth < 3 => {
                    // A mapping on lines of its own.
                    self.out.push_str("-\n");
                    self.block_map(indent + 2, shared, depth + 1);
                }
                1 => {
                    self.out.push_str("- ");
                    self.flow(shared, depth, None);
                    self.out.push('\n');
                }
                _ => {
                    self.out.push_str("- ");
                    self.scalar(shared);
                    self.out.push('\n');
                }
            }
        }
    }
}
