//! YAML text parsed into a tree that keeps the position of every node.
//!
//! Validation walks this tree rather than deserializing straight into typed structs, because serde
//! stops at the first mismatch while users want every mistake of a file reported at once.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, Spanned, UserMessageFormatter};

/// The largest manifest or project file read, in bytes. Far above any hand-written file, low
/// enough that reading and parsing one never strains memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The deepest nesting of mappings and sequences accepted. The format itself needs five levels.
pub const MAX_DEPTH: usize = 32;
/// The most YAML nodes (scalars, mappings, sequences) one file may hold.
pub const MAX_NODES: usize = 4_000_000;
/// The most YAML events aliases (`*name`) may replay, and anchors (`&name`) may record, in one
/// file. Sharing a block of license settings a few thousand times stays far below it; an alias
/// bomb hits it within milliseconds.
pub const MAX_ALIAS_EXPANSION: usize = 100_000;

/// One YAML node and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub column: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer together with its text as written.
    Int(i128, String),
    /// A number with a fraction or exponent, kept as written.
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; repeated keys are kept so that they can be reported.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a scalar as written: strings as they are, numbers in their original spelling
    /// (so `zip: 01234` or `version: 1.10` keep every character).
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.value {
            Value::Str(text) | Value::Int(_, text) | Value::Float(text) => Some(text),
            _ => None,
        }
    }

    /// What kind of value this is, for "found ..." in messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(..) => "an integer",
            Value::Float(_) => "a decimal number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a file could not be parsed, with the position when the parser knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub position: Option<(usize, usize)>,
    pub message: String,
}

/// Parses every YAML document of `text`. Empty documents come back as `Value::Null`.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: MAX_NODES * 2,
            max_recorded_anchor_events: MAX_ALIAS_EXPANSION,
        },
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        // `yes`, `no`, `on`, `off` stay strings: `country: NO` must not become `false`.
        strict_booleans: true,
        // `zip: 01234` and `customer_number: 1_000` stay text instead of turning into numbers.
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    };
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_EXPANSION;
    let documents: Vec<Spanned<Parsed>> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|err| parse_error(&err))?;
    Ok(documents
        .into_iter()
        .map(|document| into_node(document, text))
        .collect())
}

fn parse_error(err: &serde_saphyr::Error) -> ParseError {
    let message = budget_message(err)
        .map(Into::into)
        .unwrap_or_else(|| UserMessageFormatter.format_message(err.without_snippet()));
    // The parser's messages may quote input; control characters would break the one-line format.
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let position = err
        .location()
        .filter(|location| location.line() > 0)
        .map(|location| (location.line() as usize, location.column().max(1) as usize));
    ParseError { position, message }
}

/// A message naming the budget a file exceeded, or `None` for other errors.
fn budget_message(err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::{Error, ExternalMessageSource};
    let mut err = err;
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = err {
        err = error;
    }
    let aliases = || {
        format!(
            "refused: aliases (`*name`) expand to too much (the limit is {MAX_ALIAS_EXPANSION} \
             replayed YAML events); this looks like an alias bomb"
        )
    };
    let size = || {
        format!(
            "refused: too large (the limit is {MAX_NODES} YAML nodes); split it into several files"
        )
    };
    let depth = || format!("refused: nested deeper than {MAX_DEPTH} levels");
    Some(match err {
        // Flow collections (`[[[...]]]`) hit the parser's own nesting limit first.
        Error::ExternalMessage { source, .. }
            if matches!(source.as_ref(), ExternalMessageSource::Parser(scan)
                if *scan.kind() == serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded) =>
        {
            depth()
        }
        Error::AliasReplayCounterOverflow { .. }
        | Error::AliasReplayLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. } => aliases(),
        Error::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => depth(),
            BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::AliasAnchorRatio { .. }
            | BudgetBreach::RecordedAnchorEvents { .. }
            | BudgetBreach::RecordedAnchorBytes { .. }
            | BudgetBreach::MergeKeys { .. } => aliases(),
            BudgetBreach::Events { .. }
            | BudgetBreach::Nodes { .. }
            | BudgetBreach::Documents { .. }
            | BudgetBreach::ScalarBytes { .. }
            | BudgetBreach::CommentBytes { .. }
            | BudgetBreach::InputBytes { .. } => size(),
            _ => "refused: too large or too complex for a manifest".to_owned(),
        },
        _ => return None,
    })
}

/// The untyped shape serde-saphyr hands over; positions are attached by `Spanned` around it.
enum Parsed {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Parsed>>),
    Map(Vec<(Spanned<Parsed>, Spanned<Parsed>)>),
}

fn into_node(spanned: Spanned<Parsed>, source: &str) -> Node {
    let location = spanned.referenced;
    // The text as written, for numbers whose spelling matters once they are read as strings.
    let written = || -> Option<String> {
        let span = location.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        source
            .get(start..start.checked_add(len)?)
            .map(str::to_owned)
    };
    let value = match spanned.value {
        Parsed::Null => Value::Null,
        Parsed::Bool(value) => Value::Bool(value),
        Parsed::Int(value) => Value::Int(value, written().unwrap_or_else(|| value.to_string())),
        Parsed::Float(value) => Value::Float(written().unwrap_or_else(|| value.to_string())),
        Parsed::Str(value) => Value::Str(value),
        Parsed::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| into_node(item, source))
                .collect(),
        ),
        Parsed::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| (into_node(key, source), into_node(value, source)))
                .collect(),
        ),
    };
    Node {
        line: location.line() as usize,
        column: location.column() as usize,
        value,
    }
}

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParsedVisitor)
    }
}

struct ParsedVisitor;

impl<'de> Visitor<'de> for ParsedVisitor {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        Parsed::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Parsed, E> {
        Ok(Parsed::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Parsed, E> {
        Ok(Parsed::Int(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Parsed, E> {
        Ok(Parsed::Int(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Parsed, E> {
        Ok(Parsed::Int(value))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Parsed, E> {
        Ok(i128::try_from(value).map_or(Parsed::Float(value as f64), Parsed::Int))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Parsed, E> {
        Ok(Parsed::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Parsed, E> {
        Ok(Parsed::Str(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Parsed, E> {
        Ok(Parsed::Str(value))
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<Parsed, E> {
        Ok(Parsed::Str(String::from_utf8_lossy(value).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Parsed::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Parsed::Map(entries))
    }
}
