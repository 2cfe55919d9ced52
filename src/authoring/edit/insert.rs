//! New keys and list items written into a file people maintain by hand, beside what is there:
//! `city: Bonn` added to a customer, `limitations: { Users: 5 }` to a license, a license
//! appended to a customer's `licenses`. Nothing already written moves or changes; a new key goes
//! after the last key that comes before it in the declaration order, at the indentation of its
//! neighbours, in the collection's own style (block or flow) and the file's line ending.
//!
//! The text is only parsed here, not checked for meaning: the caller reads the result with the
//! manifest checker and compares it with what it meant to write (`ingest` does).

use serde_saphyr::granit_parser::{Event, ScalarStyle, StructureStyle};

use super::scalar::{Reading, can_be_plain, double_quoted, reading};
use super::{Events, NewValue, Position, bytes};

/// A value to write where nothing was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Scalar(NewValue),
    /// Keys and values, in the order they are written.
    Map(Vec<(String, Block)>),
    List(Vec<Block>),
}

type Entries = Vec<(String, Block)>;

/// What to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insert {
    /// `key: value` into the mapping that starts at `mapping`; with `within`, into the mapping
    /// that is the value of that key there, which is written (holding the new key) if missing.
    Key {
        mapping: Position,
        within: Option<String>,
        key: String,
        value: Block,
    },
    /// `item` at the end of the list that is the value of `key` in the mapping that starts at
    /// `mapping`; the key is written (holding a list of the item) if missing.
    Item {
        mapping: Position,
        key: String,
        item: Block,
    },
}

/// New text for the bytes `at..at + replaced` of the original (an insertion replaces none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub(crate) at: usize,
    pub(crate) replaced: usize,
    pub(crate) text: String,
}

impl Splice {
    fn insert(at: usize, text: String) -> Splice {
        Splice {
            at,
            replaced: 0,
            text,
        }
    }
}

/// Where the inserts go in `text` (whose events are `events`): the new text, and per insert in
/// input order `None`, or the
/// reason (for people) it has no place to go, such as a mapping that is not there or a key that
/// holds a single value where a mapping or a list was expected. `order` ranks the keys of the
/// mappings inserts name (an entity's keys in declaration order).
pub(crate) fn splices(
    text: &str,
    events: &Events<'_>,
    inserts: &[Insert],
    order: &dyn Fn(&str) -> usize,
) -> (Vec<Splice>, Vec<Option<String>>) {
    let layout = Layout::of(text, events);
    let writer = Writer {
        text,
        newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
    };
    let mut splices = Vec::with_capacity(inserts.len());
    let mut failures = vec![None; inserts.len()];
    // Keys for one missing map (`limitations`) are written as one new map holding them all.
    let mut created: Vec<(Position, &str, Entries)> = Vec::new();
    for (index, insert) in inserts.iter().enumerate() {
        let placed = match insert {
            Insert::Key {
                mapping,
                within: Some(within),
                key,
                value,
            } => match layout.mapping_at(*mapping) {
                Some(outer) if layout.entry(outer, within).is_none() => {
                    let entry = (key.clone(), value.clone());
                    match created
                        .iter_mut()
                        .find(|(at, name, _)| at == mapping && name == within)
                    {
                        Some((_, _, entries)) => entries.push(entry),
                        None => created.push((*mapping, within, vec![entry])),
                    }
                    continue;
                }
                _ => writer.place(&layout, insert, order),
            },
            _ => writer.place(&layout, insert, order),
        };
        match placed {
            Ok(splice) => splices.push(splice),
            Err(reason) => failures[index] = Some(reason),
        }
    }
    for (mapping, within, entries) in created {
        let create = Insert::Key {
            mapping,
            within: None,
            key: within.to_owned(),
            value: Block::Map(entries),
        };
        // The outer mapping was found above.
        if let Ok(splice) = writer.place(&layout, &create, order) {
            splices.push(splice);
        }
    }
    (splices, failures)
}

/// `text` with every splice written in its place; splices at one offset keep their order.
pub(crate) fn splice(text: &str, splices: &mut [Splice]) -> String {
    splices.sort_by_key(|splice| splice.at);
    let added: usize = splices.iter().map(|splice| splice.text.len()).sum();
    let mut out = String::with_capacity(text.len() + added);
    let mut done = 0;
    for splice in splices.iter() {
        out.push_str(&text[done..splice.at]);
        out.push_str(&splice.text);
        done = splice.at + splice.replaced;
    }
    out.push_str(&text[done..]);
    out
}

/// One mapping or sequence of the file.
#[derive(Debug)]
struct Collection {
    at: Position,
    map: bool,
    flow: bool,
    /// The column (0-based, in characters) of its keys, or of its items' `-`.
    column: usize,
    /// For a flow collection: the byte after its opening bracket.
    open_end: usize,
    /// Keys (for a sequence: empty texts) and their values.
    entries: Vec<(String, Node)>,
}

/// A value: where its content ends (in bytes), and the collection it is, if it is one.
#[derive(Debug, Clone, Copy)]
struct Node {
    end: usize,
    collection: Option<usize>,
    /// A scalar with no text (`key:` and nothing after it).
    empty: bool,
}

struct Layout {
    collections: Vec<Collection>,
}

impl Layout {
    fn of(text: &str, events: &Events<'_>) -> Layout {
        let mut layout = Layout {
            collections: Vec::new(),
        };
        let mut at = 0;
        while at < events.len() {
            match &events[at].0 {
                Event::MappingStart(..) | Event::SequenceStart(..) | Event::Scalar(..) => {
                    layout.node(text, events, &mut at);
                }
                _ => at += 1,
            }
        }
        layout
    }

    /// Reads the node whose event is at `*at`, moving past it.
    fn node(&mut self, text: &str, events: &Events<'_>, at: &mut usize) -> Node {
        let (event, span) = &events[*at];
        *at += 1;
        skip_metadata(events, at);
        match event {
            Event::Scalar(value, style, ..) => {
                let (start, end) = bytes(text, span);
                let end = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    // A block scalar's span runs into the next line's indentation.
                    start + text[start..end].trim_end().len()
                } else {
                    end
                };
                Node {
                    end,
                    collection: None,
                    empty: start == end && value.is_empty(),
                }
            }
            Event::Alias(_) => {
                let (_, end) = bytes(text, span);
                Node {
                    end,
                    collection: None,
                    empty: false,
                }
            }
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                let map = matches!(event, Event::MappingStart(..));
                let flow = *style == StructureStyle::Flow;
                let (start, open_end) = bytes(text, span);
                let index = self.collections.len();
                self.collections.push(Collection {
                    at: Position::of(span),
                    map,
                    flow,
                    column: span.start.col(),
                    open_end,
                    entries: Vec::new(),
                });
                let mut end = if flow { open_end } else { start };
                loop {
                    skip_metadata(events, at);
                    let Some((event, span)) = events.get(*at) else {
                        break;
                    };
                    if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                        *at += 1;
                        break;
                    }
                    let key = if map {
                        let key = match event {
                            Event::Scalar(value, ..) => value.to_string(),
                            _ => String::new(),
                        };
                        let key_node = self.node(text, events, at);
                        end = key_node.end;
                        skip_metadata(events, at);
                        let _ = span;
                        key
                    } else {
                        String::new()
                    };
                    if events.get(*at).is_none() {
                        break;
                    }
                    let value = self.node(text, events, at);
                    end = end.max(value.end);
                    self.collections[index].entries.push((key, value));
                }
                Node {
                    end,
                    collection: Some(index),
                    empty: false,
                }
            }
            _ => Node {
                end: bytes(text, span).1,
                collection: None,
                empty: false,
            },
        }
    }

    fn mapping_at(&self, at: Position) -> Option<usize> {
        self.collections
            .iter()
            .position(|collection| collection.map && collection.at == at)
    }

    fn entry(&self, collection: usize, key: &str) -> Option<Node> {
        self.collections[collection]
            .entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, node)| *node)
    }
}

/// Moves past comments and anchor names, which are no nodes.
fn skip_metadata(events: &Events<'_>, at: &mut usize) {
    while let Some((Event::Comment(..) | Event::Anchor(..), _)) = events.get(*at) {
        *at += 1;
    }
}

struct Writer<'t> {
    text: &'t str,
    newline: &'static str,
}

impl Writer<'_> {
    fn place(
        &self,
        layout: &Layout,
        insert: &Insert,
        order: &dyn Fn(&str) -> usize,
    ) -> Result<Splice, String> {
        let (mapping, within) = match insert {
            Insert::Key {
                mapping, within, ..
            } => (mapping, within.as_deref()),
            Insert::Item { mapping, .. } => (mapping, None),
        };
        let Some(mut target) = layout.mapping_at(*mapping) else {
            return Err(format!("no mapping starts at {mapping}"));
        };
        if let Some(within) = within {
            match layout.entry(target, within) {
                Some(Node {
                    collection: Some(inner),
                    ..
                }) if layout.collections[inner].map => target = inner,
                _ => {
                    return Err(format!(
                        "`{within}` in the mapping at {mapping} is not a mapping"
                    ));
                }
            }
        }
        match insert {
            // Entries of a map such as `limitations` have no order of their own: they go last.
            Insert::Key { key, value, .. } => {
                let rank = if within.is_some() {
                    usize::MAX
                } else {
                    order(key)
                };
                Ok(self.key(layout, target, key, value, rank, order))
            }
            Insert::Item { key, item, .. } => match layout.entry(target, key) {
                Some(Node {
                    collection: Some(list),
                    ..
                }) if !layout.collections[list].map => Ok(self.item(layout, list, item)),
                Some(node) if node.empty => Err(format!(
                    "`{key}` in the mapping at {mapping} is empty; write `{key}: []` or a list"
                )),
                Some(_) => Err(format!("`{key}` in the mapping at {mapping} is not a list")),
                None => Ok(self.key(
                    layout,
                    target,
                    key,
                    &Block::List(vec![item.clone()]),
                    order(key),
                    order,
                )),
            },
        }
    }

    /// `key: value` into the mapping `target`, after the last key ranked before it (`rank`
    /// `usize::MAX`: after the last key); after the first key when none is.
    fn key(
        &self,
        layout: &Layout,
        target: usize,
        key: &str,
        value: &Block,
        rank: usize,
        order: &dyn Fn(&str) -> usize,
    ) -> Splice {
        let collection = &layout.collections[target];
        let after = collection
            .entries
            .iter()
            .rev()
            .find(|(name, _)| rank == usize::MAX || order(name) < rank)
            .or_else(|| collection.entries.first())
            .map(|(_, node)| node.end);
        if collection.flow {
            let entry = format!("{}: {}", scalar_key(key, true), flow(value));
            return match after {
                Some(end) => Splice::insert(end, format!(", {entry}")),
                None => Splice::insert(collection.open_end, entry),
            };
        }
        let mut body = String::new();
        self.block_entry(&mut body, collection.column, key, value);
        self.after_line(after.unwrap_or(collection.open_end), &body)
    }

    /// `item` at the end of the list `list`.
    fn item(&self, layout: &Layout, list: usize, item: &Block) -> Splice {
        let collection = &layout.collections[list];
        let last = collection.entries.last().map(|(_, node)| node.end);
        if collection.flow {
            return match last {
                Some(end) => Splice::insert(end, format!(", {}", flow(item))),
                None => Splice::insert(collection.open_end, flow(item)),
            };
        }
        let mut body = String::new();
        self.block_item(&mut body, collection.column, item);
        self.after_line(last.unwrap_or(collection.open_end), &body)
    }

    /// A new line holding `body` after the line on which the content ending at `end` ends.
    fn after_line(&self, end: usize, body: &str) -> Splice {
        let text = self.text;
        if end == 0 || text.as_bytes()[end - 1] == b'\n' {
            return Splice::insert(end, format!("{body}{}", self.newline));
        }
        let line_end = text[end..].find('\n').map_or(text.len(), |at| end + at);
        let line_end = if line_end > end && text.as_bytes()[line_end - 1] == b'\r' {
            line_end - 1
        } else {
            line_end
        };
        Splice::insert(line_end, format!("{}{body}", self.newline))
    }

    /// `key: value` at `column`, as one or more lines without a line break at either end.
    fn block_entry(&self, out: &mut String, column: usize, key: &str, value: &Block) {
        out.push_str(&" ".repeat(column));
        out.push_str(&scalar_key(key, false));
        out.push(':');
        match value {
            Block::Scalar(value) => {
                out.push(' ');
                out.push_str(&scalar(value, false));
            }
            Block::Map(entries) if !entries.is_empty() => {
                for (key, value) in entries {
                    out.push_str(self.newline);
                    self.block_entry(out, column + 2, key, value);
                }
            }
            Block::List(items) if !items.is_empty() => {
                for item in items {
                    out.push_str(self.newline);
                    self.block_item(out, column + 2, item);
                }
            }
            empty => {
                out.push(' ');
                out.push_str(&flow(empty));
            }
        }
    }

    /// `- ` and the item at `column`, as one or more lines without a line break at either end.
    fn block_item(&self, out: &mut String, column: usize, item: &Block) {
        out.push_str(&" ".repeat(column));
        out.push_str("- ");
        match item {
            Block::Map(entries) if !entries.is_empty() => {
                let mut lines = String::new();
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        lines.push_str(self.newline);
                    }
                    self.block_entry(&mut lines, column + 2, key, value);
                }
                // The first key takes the place of the indentation after the `- `.
                out.push_str(&lines[column + 2..]);
            }
            other => out.push_str(&flow(other)),
        }
    }
}

/// A key as a plain scalar where it reads back as the same text, else double-quoted.
fn scalar_key(key: &str, flow: bool) -> String {
    scalar(&NewValue::Text(key.to_owned()), flow)
}

/// A new scalar: plain where the loader reads it back as the same value, else double-quoted.
/// Text that reads as a number stays plain: the loader takes text fields as written.
fn scalar(value: &NewValue, flow: bool) -> String {
    let text = match value {
        NewValue::Integer(int) => return int.to_string(),
        NewValue::Bool(bool) => return bool.to_string(),
        NewValue::Text(text) => text.clone(),
        NewValue::Date(date) => crate::dates::format_date(*date),
    };
    let plain = can_be_plain(&text, flow)
        && matches!(
            reading(&text, ScalarStyle::Plain),
            Reading::Text | Reading::Int(_) | Reading::Float
        );
    if plain { text } else { double_quoted(&text) }
}

/// A value in flow style: `{ Users: 5, Region: EU }`.
fn flow(value: &Block) -> String {
    match value {
        Block::Scalar(value) => scalar(value, true),
        Block::Map(entries) if entries.is_empty() => "{}".to_owned(),
        Block::Map(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(key, value)| format!("{}: {}", scalar_key(key, true), flow(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Block::List(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
