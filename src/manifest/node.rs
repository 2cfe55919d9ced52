//! YAML text parsed into a tree that keeps the position of every node.
//!
//! Validation walks this tree rather than deserializing straight into typed structs, because serde
//! stops at the first mismatch while users want every mistake of a file reported at once.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::de::IgnoredAny;
use serde_saphyr::granit_parser;
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, UserMessageFormatter};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{ScanError, TScalarStyle};

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
///
/// Text borrows from the file's text where it can (plain and most quoted scalars), so building
/// the tree copies only what validation keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'t> {
    pub line: usize,
    pub column: usize,
    pub value: Value<'t>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'t> {
    Null,
    Bool(bool),
    /// An integer together with its text as written.
    Int(i128, Cow<'t, str>),
    /// A number with a fraction or exponent, kept as written.
    Float(Cow<'t, str>),
    Str(Cow<'t, str>),
    Seq(Vec<Node<'t>>),
    /// Entries in document order; repeated keys are kept so that they can be reported.
    Map(Vec<(Node<'t>, Node<'t>)>),
}

impl Node<'_> {
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
///
/// The tree is built straight from the parser's event stream: going through serde with a
/// position wrapper around every node cost several times the parse itself on large repositories.
/// The events come from yaml-rust2, which produces them in two thirds of the time serde-saphyr's
/// parser takes on a large repository, where parsing is most of what loading costs.
pub fn parse_documents(text: &str) -> Result<Vec<Node<'_>>, ParseError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => return Ok(builder.documents),
            Ok((event, mark)) => {
                builder.event(from_yaml_rust2(event), mark.line(), mark.col() + 1)?
            }
            // yaml-rust2 holds a few things against a file that serde-saphyr's parser, which
            // the loader used before, takes (a flow mapping continued left of its block, say):
            // such a file is read the way it always was.
            Err(err) => return parse_with_granit(text, &err),
        }
    }
}

/// [`parse_documents`] through serde-saphyr's parser; its errors are syntax errors.
fn parse_with_granit<'t>(text: &'t str, refused: &ScanError) -> Result<Vec<Node<'t>>, ParseError> {
    let mut builder = Builder::default();
    let mut parser = granit_parser::Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        let Ok((event, span)) = event else {
            return Err(syntax_error(text, refused));
        };
        builder.event(from_granit(event), span.start.line(), span.start.col() + 1)?;
    }
    Ok(builder.documents)
}

/// An event of either parser, as the builder needs it.
enum Ev<'t> {
    DocumentStart,
    DocumentEnd,
    /// A scalar: its text, whether it is plain and untagged, its anchor, and the core schema
    /// type its tag names (`str` for the non-specific `!`).
    Scalar {
        text: Cow<'t, str>,
        plain: bool,
        untagged: bool,
        anchor: usize,
        core: Option<&'static str>,
    },
    SequenceStart(usize),
    MappingStart(usize),
    End,
    Alias(usize),
    Other,
}

fn from_yaml_rust2<'t>(event: Event) -> Ev<'t> {
    match event {
        Event::DocumentStart => Ev::DocumentStart,
        Event::DocumentEnd => Ev::DocumentEnd,
        Event::Scalar(text, style, anchor, tag) => Ev::Scalar {
            text: Cow::Owned(text),
            plain: style == TScalarStyle::Plain,
            untagged: tag.is_none(),
            anchor,
            core: tag.as_ref().and_then(|tag| {
                core_type(
                    tag.handle.is_empty() && tag.suffix == "!",
                    core_name(tag).as_deref(),
                )
            }),
        },
        Event::SequenceStart(anchor, _) => Ev::SequenceStart(anchor),
        Event::MappingStart(anchor, _) => Ev::MappingStart(anchor),
        Event::SequenceEnd | Event::MappingEnd => Ev::End,
        Event::Alias(id) => Ev::Alias(id),
        _ => Ev::Other,
    }
}

fn from_granit(event: granit_parser::Event<'_>) -> Ev<'_> {
    use granit_parser::Event as G;
    match event {
        G::DocumentStart(..) => Ev::DocumentStart,
        G::DocumentEnd => Ev::DocumentEnd,
        G::Scalar(text, style, anchor, tag) => Ev::Scalar {
            plain: style == granit_parser::ScalarStyle::Plain,
            untagged: tag.is_none(),
            anchor,
            core: tag.as_deref().and_then(|tag| {
                core_type(
                    tag.handle().is_empty() && tag.suffix() == "!",
                    tag.core_suffix(),
                )
            }),
            text,
        },
        G::SequenceStart(_, anchor, _) => Ev::SequenceStart(anchor),
        G::MappingStart(_, anchor, _) => Ev::MappingStart(anchor),
        G::SequenceEnd | G::MappingEnd => Ev::End,
        G::Alias(id) => Ev::Alias(id),
        _ => Ev::Other,
    }
}

/// The options the loader has always parsed with; also used to word syntax errors.
pub(super) fn saphyr_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: MAX_NODES * 2,
            max_recorded_anchor_events: MAX_ALIAS_EXPANSION,
        },
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    };
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_EXPANSION;
    options
}

fn syntax_error(text: &str, err: &ScanError) -> ParseError {
    match serde_saphyr::from_multiple_with_options::<IgnoredAny>(text, saphyr_options()) {
        Err(err) => parse_error(&err),
        // The two parsers disagree: this one's own words, and its place.
        Ok(_) => ParseError {
            position: Some((err.marker().line(), err.marker().col().max(1))),
            message: format!("not valid YAML: {}", err.info()),
        },
    }
}

/// A collection being built.
enum Open<'t> {
    Seq {
        node: Node<'t>,
        anchor: usize,
    },
    Map {
        node: Node<'t>,
        anchor: usize,
        /// A key waiting for its value; `true` when it is the merge key `<<`.
        key: Option<(Node<'t>, bool)>,
        /// The mappings `<<` brings in, in order: the first one to have a key wins.
        merged: Vec<Node<'t>>,
    },
}

/// Builds the documents from parser events, within the node, depth and alias budgets.
#[derive(Default)]
struct Builder<'t> {
    documents: Vec<Node<'t>>,
    /// The current document's root, once complete.
    root: Option<Node<'t>>,
    open: Vec<Open<'t>>,
    /// Finished anchored nodes by anchor id, with their size in events.
    anchors: HashMap<usize, (Node<'t>, usize)>,
    nodes: usize,
    /// Events aliases replayed.
    replayed: usize,
    /// Events anchors recorded.
    recorded: usize,
}

impl<'t> Builder<'t> {
    fn event(&mut self, event: Ev<'t>, line: usize, column: usize) -> Result<(), ParseError> {
        let at = |value| Node {
            line,
            column,
            value,
        };
        match event {
            Ev::DocumentStart => self.root = None,
            Ev::DocumentEnd => {
                let root = self.root.take().unwrap_or_else(|| at(Value::Null));
                self.documents.push(root);
            }
            Ev::Scalar {
                text,
                plain,
                untagged,
                anchor,
                core,
            } => {
                let merge_key = plain && untagged && text == "<<";
                let value = scalar(text, plain, core).map_err(|message| ParseError {
                    position: Some((line, column)),
                    message,
                })?;
                self.finish(at(value), anchor, merge_key)?;
            }
            Ev::SequenceStart(anchor) => {
                self.enter(line, column)?;
                let node = at(Value::Seq(Vec::new()));
                self.open.push(Open::Seq { node, anchor });
            }
            Ev::MappingStart(anchor) => {
                self.enter(line, column)?;
                let node = at(Value::Map(Vec::new()));
                self.open.push(Open::Map {
                    node,
                    anchor,
                    key: None,
                    merged: Vec::new(),
                });
            }
            Ev::End => match self.open.pop() {
                Some(Open::Seq { node, anchor }) => self.finish(node, anchor, false)?,
                Some(Open::Map {
                    mut node,
                    anchor,
                    merged,
                    ..
                }) => {
                    if let Value::Map(entries) = &mut node.value {
                        merge(entries, merged);
                    }
                    self.finish(node, anchor, false)?;
                }
                None => {}
            },
            Ev::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(ParseError {
                        position: Some((line, column)),
                        message: "an alias refers to the node it is part of; manifests cannot be \
                                  recursive"
                            .to_owned(),
                    });
                };
                self.replayed += size;
                self.nodes += size;
                if self.replayed > MAX_ALIAS_EXPANSION {
                    return Err(refused(line, column, aliases_message()));
                }
                // The copy is placed where it is used; what is inside keeps the place it is
                // written, which is where a mistake in it has to be fixed.
                let copy = Node {
                    line,
                    column,
                    value: node.value.clone(),
                };
                self.finish(copy, 0, false)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn enter(&mut self, line: usize, column: usize) -> Result<(), ParseError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(refused(line, column, depth_message()));
        }
        Ok(())
    }

    /// Adds a complete node to whatever is open: a list, a mapping, or the document.
    fn finish(&mut self, node: Node<'t>, anchor: usize, merge_key: bool) -> Result<(), ParseError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(refused(node.line, node.column, size_message()));
        }
        if anchor != 0 {
            let size = events(&node);
            self.recorded += size;
            if self.recorded > MAX_ALIAS_EXPANSION {
                return Err(refused(node.line, node.column, aliases_message()));
            }
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { node: seq, .. }) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Open::Map {
                node: map,
                key,
                merged,
                ..
            }) => match key.take() {
                None => {
                    // A block mapping's start is marked where its first key ends: it starts
                    // where that key does.
                    if let Value::Map(entries) = &map.value
                        && entries.is_empty()
                        && (node.line, node.column) < (map.line, map.column)
                    {
                        (map.line, map.column) = (node.line, node.column);
                    }
                    *key = Some((node, merge_key));
                }
                Some((key, true)) => match node.value {
                    Value::Map(_) => merged.push(node),
                    Value::Seq(items) if items.iter().all(|i| matches!(i.value, Value::Map(_))) => {
                        merged.extend(items);
                    }
                    _ => {
                        return Err(ParseError {
                            position: Some((key.line, key.column)),
                            message: "`<<` merges a mapping (`<<: *name`) or a list of mappings \
                                      into this one"
                                .to_owned(),
                        });
                    }
                },
                Some((key, false)) => {
                    if let Value::Map(entries) = &mut map.value {
                        entries.push((key, node));
                    }
                }
            },
        }
        Ok(())
    }
}

/// Adds the entries of `merged` mappings whose keys the mapping does not have yet: keys written
/// in the mapping win over merged ones, and an earlier merged mapping wins over a later one.
fn merge<'t>(entries: &mut Vec<(Node<'t>, Node<'t>)>, merged: Vec<Node<'t>>) {
    if merged.is_empty() {
        return;
    }
    let mut seen: HashSet<String> = entries.iter().filter_map(|(k, _)| key_text(k)).collect();
    for source in merged {
        let Value::Map(source) = source.value else {
            continue;
        };
        for (key, value) in source {
            if key_text(&key).is_none_or(|text| seen.insert(text)) {
                entries.push((key, value));
            }
        }
    }
}

fn key_text(key: &Node<'_>) -> Option<String> {
    match &key.value {
        Value::Null => Some("~".to_owned()),
        Value::Bool(value) => Some(value.to_string()),
        Value::Int(_, text) | Value::Float(text) | Value::Str(text) => Some(text.to_string()),
        Value::Seq(_) | Value::Map(_) => None,
    }
}

/// How many parser events a node stands for: what replaying it through an alias costs.
fn events(node: &Node<'_>) -> usize {
    match &node.value {
        Value::Seq(items) => 2 + items.iter().map(events).sum::<usize>(),
        Value::Map(entries) => {
            2 + entries
                .iter()
                .map(|(key, value)| events(key) + events(value))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// The value of a scalar under the YAML 1.2 core schema, with the loader's exceptions: only
/// `true`/`false` are booleans (`country: NO` stays text), and numbers with leading zeros or
/// underscores (`zip: 01234`, `1_000`) stay text.
///
/// `core` is the core schema type the scalar's tag names; the non-specific tag `!` makes a
/// plain scalar a string, so it comes as `str`.
fn scalar<'t>(
    text: Cow<'t, str>,
    plain: bool,
    core: Option<&'static str>,
) -> Result<Value<'t>, String> {
    let invalid = |kind: &str| format!("`{text}` is tagged as {kind} but is not one");
    match core {
        Some("str") => return Ok(Value::Str(text)),
        Some("null") => return Ok(Value::Null),
        Some("bool") => {
            return core_bool(&text)
                .map(Value::Bool)
                .ok_or_else(|| invalid("a boolean"));
        }
        Some("int") => {
            return core_int(&text)
                .map(|value| Value::Int(value, text.clone()))
                .ok_or_else(|| invalid("an integer"));
        }
        Some("float") => {
            return if core_int(&text).is_some() || is_core_float(&text) {
                Ok(Value::Float(text))
            } else {
                Err(invalid("a number"))
            };
        }
        _ => {}
    }
    if !plain {
        return Ok(Value::Str(text));
    }
    if matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(value) = core_bool(&text) {
        return Ok(Value::Bool(value));
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(&text);
    let leading_zero = unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned.bytes().all(|b| b.is_ascii_digit());
    if leading_zero || text.contains('_') {
        return Ok(Value::Str(text));
    }
    // Most scalars are names and other text; only these can start a number.
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return Ok(Value::Str(text));
    }
    if let Some(value) = core_int(&text) {
        return Ok(Value::Int(value, text));
    }
    if is_core_float(&text) {
        return Ok(Value::Float(text));
    }
    Ok(Value::Str(text))
}

/// The core schema type a scalar's tag names, as `scalar` reads it: `str` for the non-specific
/// tag `!`, else the one of the five the tag's name (`int` of `!!int`) is, if any.
fn core_type(non_specific: bool, name: Option<&str>) -> Option<&'static str> {
    if non_specific {
        return Some("str");
    }
    let name = name?;
    ["str", "null", "bool", "int", "float"]
        .into_iter()
        .find(|core| *core == name)
}

/// What follows the core schema's prefix in a resolved yaml-rust2 tag (`!!int`,
/// `!<tag:yaml.org,2002:int>` and `%TAG` spellings alike), or `None` for any other tag.
fn core_name(tag: &Tag) -> Option<String> {
    const CORE: &str = "tag:yaml.org,2002:";
    match tag.handle.strip_prefix(CORE) {
        Some(head) => Some(format!("{head}{}", tag.suffix)),
        None => Some(
            format!("{}{}", tag.handle, tag.suffix)
                .strip_prefix(CORE)?
                .to_owned(),
        ),
    }
}

fn core_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `[-+]?[0-9]+`, `0x[0-9a-fA-F]+`, `0o[0-7]+` or `0b[01]+`, within `i128`.
fn core_int(text: &str) -> Option<i128> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match unsigned.get(..2) {
        Some("0x") => (16, &unsigned[2..]),
        Some("0o") => (8, &unsigned[2..]),
        Some("0b") => (2, &unsigned[2..]),
        _ => (10, unsigned),
    };
    // `from_str_radix` accepts a sign of its own, which YAML does not allow after the prefix.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?.inf` and `.nan` in their three
/// spellings.
fn is_core_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() && digits(fraction))
                || (digits(whole) && (fraction.is_empty() || digits(fraction)))
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

fn refused(line: usize, column: usize, message: String) -> ParseError {
    ParseError {
        position: Some((line, column)),
        message,
    }
}

fn aliases_message() -> String {
    format!(
        "refused: aliases (`*name`) expand to too much (the limit is {MAX_ALIAS_EXPANSION} \
         replayed YAML events); this looks like an alias bomb"
    )
}

fn size_message() -> String {
    format!("refused: too large (the limit is {MAX_NODES} YAML nodes); split it into several files")
}

fn depth_message() -> String {
    format!("refused: nested deeper than {MAX_DEPTH} levels")
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
    let (aliases, size, depth) = (aliases_message, size_message, depth_message);
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
