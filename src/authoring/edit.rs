//! Rewrites single YAML scalars in place, byte-exact.
//!
//! [`apply`] takes a file's text and edits, each naming where a value is written and its new
//! value. A [`Place`] names a value as the manifest loader reports it: by the position of the
//! scalar itself (a field's value), of its key (an entry of a license map such as `limitations`),
//! or by its key within a mapping (`days_after_activation` in `expires`). Only the bytes of each
//! addressed scalar change: comments, key order, indentation, blank lines, anchors, flow collections, line endings,
//! a byte order mark and other documents stay as they are. The scalar keeps its style where the
//! new value allows it:
//!
//! - plain stays plain when the new text can be written plain and the loader reads it back as the
//!   same value (text stays text: `yes` and `01234` stay plain, `true`, `null`, `a: b` or an empty
//!   text are double-quoted). Text replacing a bare number may be a bare number, which the loader
//!   takes as written (`customer_number: 1001` becomes `1002`);
//! - single-quoted stays single-quoted unless the text holds a tab, a line break or another
//!   character that needs an escape, and then it is double-quoted; double-quoted stays
//!   double-quoted;
//! - integers and booleans are written plain, the only way the loader reads them as such.
//!
//! A value that others share (inside an anchored node, brought in by an alias or a `<<` merge) is
//! refused, as are block scalars, tagged and empty values, and positions where no value starts:
//! each with a reason for people. The result is parsed again before it is returned: every edit
//! must read back as its new value and everything else as it was, or that edit is left out.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle, Span, Tag};

pub use insert::{Block, Insert};
pub use scalar::{NewValue, Position};
use scalar::{Target, Written, check, holds, write};

/// Which value an edit rewrites.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// The scalar that starts here: where the loader places a field's value.
    Value(Position),
    /// The value of the mapping entry whose key starts here: where the loader places an entry of
    /// `features`, `limitations`, `variables` or `constrained_variables` (at its name, which has
    /// to resolve against the catalog).
    ValueOfKey(Position),
    /// The value of the entry `key` of the mapping that starts here (at its `{`, or at its first
    /// key for a block mapping): `days_after_activation` of `expires: { days_after_activation:
    /// 30 }`, which the loader places at the mapping.
    Entry { mapping: Position, key: String },
}

impl From<Position> for Place {
    fn from(at: Position) -> Place {
        Place::Value(at)
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Value(at) => write!(f, "the value at {at}"),
            Place::ValueOfKey(at) => write!(f, "the value of the key at {at}"),
            Place::Entry { mapping, key } => {
                write!(f, "the value of `{key}` in the mapping at {mapping}")
            }
        }
    }
}

/// One value to write, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub at: Place,
    pub value: NewValue,
}

/// What became of one edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The scalar now holds the new value.
    Edited,
    /// The scalar already held the value; nothing was written.
    Unchanged,
    /// Nothing was written, for this reason (for people).
    Skipped(String),
}

/// The text is not YAML the parser reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: Position,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Applies every edit it can to `text`; returns the new text and, per edit in input order, what
/// happened. Fails only when `text` itself does not parse.
pub fn apply(text: &str, edits: &[Edit]) -> Result<(String, Vec<Outcome>), ParseError> {
    apply_with(text, edits, write)
}

/// [`apply`] with the function that writes a scalar's new text, which tests replace with a faulty
/// one to show that the check after editing catches it.
fn apply_with(
    text: &str,
    edits: &[Edit],
    render: fn(&Target<'_>, &NewValue) -> Written,
) -> Result<(String, Vec<Outcome>), ParseError> {
    if let Some(done) = line::apply(text, edits, render) {
        return Ok(done);
    }
    apply_parsed(text, edits, render)
}

/// [`apply_with`] by the parser's events: for any file and any edit.
fn apply_parsed(
    text: &str,
    edits: &[Edit],
    render: fn(&Target<'_>, &NewValue) -> Written,
) -> Result<(String, Vec<Outcome>), ParseError> {
    let events = parse(text)?;
    let found = survey(text, &events, &Wanted::new(edits));
    let (mut writes, mut outcomes) = rewrites(edits, &found, render);

    // The safety net: an edit that does not read back as written is left out, with a reason.
    // With correct writing this never happens; when it does, the edits at fault are found by
    // checking each alone.
    loop {
        let (candidate, starts) = splice(text, &writes);
        let bad = match verify(&events, &candidate, &writes, &starts) {
            Ok(()) => return Ok((candidate, outcomes)),
            Err(Failure::Edits(bad)) => bad,
            Err(Failure::Whole) => {
                let alone: Vec<usize> = writes
                    .iter()
                    .filter(|write| {
                        let single = std::slice::from_ref(*write);
                        let (candidate, starts) = splice(text, single);
                        verify(&events, &candidate, single, &starts).is_err()
                    })
                    .map(|write| write.edit)
                    .collect();
                if alone.is_empty() {
                    // Each reads back alone but not together: keep none of them.
                    writes.iter().map(|write| write.edit).collect()
                } else {
                    alone
                }
            }
        };
        for write in writes.iter().filter(|write| bad.contains(&write.edit)) {
            outcomes[write.edit] = Outcome::Skipped(format!(
                "the new text for the value at {} did not read back as the new value, so it was \
                 left as it was",
                write.target.at
            ));
        }
        writes.retain(|write| !bad.contains(&write.edit));
    }
}

/// The rewrites `edits` ask for of the scalars `found`, in file order, and what becomes of each
/// edit (in input order) unless the rewrite does not read back.
fn rewrites<'e>(
    edits: &'e [Edit],
    found: &'e HashMap<Place, Found<'e>>,
    render: fn(&Target<'_>, &NewValue) -> Written,
) -> (Vec<Write<'e>>, Vec<Outcome>) {
    let mut outcomes = Vec::with_capacity(edits.len());
    let mut writes = Vec::new();
    // Two places may name one scalar (by its position and by its key): its event's index.
    let mut seen = HashSet::new();
    for (number, edit) in edits.iter().enumerate() {
        let outcome = match found.get(&edit.at) {
            None => Outcome::Skipped(not_found(&edit.at)),
            Some(Found::Refused(reason)) => Outcome::Skipped(reason.clone()),
            Some(Found::Value(target)) if !seen.insert(target.index) => Outcome::Skipped(format!(
                "an earlier edit already rewrites the value at {}",
                target.at
            )),
            Some(Found::Value(target)) => match check(target, &edit.value) {
                Err(reason) => Outcome::Skipped(reason),
                Ok(false) => Outcome::Unchanged,
                Ok(true) => {
                    writes.push(Write {
                        edit: number,
                        target,
                        value: &edit.value,
                        written: render(target, &edit.value),
                    });
                    Outcome::Edited
                }
            },
        };
        outcomes.push(outcome);
    }
    writes.sort_by_key(|write| write.target.index);
    (writes, outcomes)
}

/// [`apply`] and [`Insert`]s in one pass over `text`: scalars rewritten as [`apply`] rewrites
/// them, new keys and list items added beside what is there. Returns the new text, what became
/// of each edit, and per insert `None` or why it has no place. The result is only checked to
/// parse: the caller reads it back with the manifest checker and compares it with what it meant
/// (an insert changes the events the rewrites are verified against).
pub fn apply_with_inserts(
    text: &str,
    edits: &[Edit],
    inserts: &[Insert],
    order: &dyn Fn(&str) -> usize,
) -> Result<Edited, ParseError> {
    if inserts.is_empty() {
        let (text, outcomes) = apply(text, edits)?;
        return Ok(Edited {
            text,
            outcomes,
            inserts: Vec::new(),
        });
    }
    let events = parse(text)?;
    let found = survey(text, &events, &Wanted::new(edits));
    let (writes, outcomes) = rewrites(edits, &found, write);
    let (mut splices, failures) = insert::splices(text, &events, inserts, order);
    splices.extend(writes.iter().map(|write| insert::Splice {
        at: write.target.start,
        replaced: write.target.end - write.target.start,
        text: write.written.text.clone(),
    }));
    let new = insert::splice(text, &mut splices);
    Ok(Edited {
        text: new,
        outcomes,
        inserts: failures,
    })
}

/// What [`apply_with_inserts`] made of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    /// Per edit, in input order.
    pub outcomes: Vec<Outcome>,
    /// Per insert, in input order: `None`, or why it has no place.
    pub inserts: Vec<Option<String>>,
}

type Events<'t> = Vec<(Event<'t>, Span)>;

/// The parser's events for `text`, as the loader's parser reads it, with anchor names.
fn parse(text: &str) -> Result<Events<'_>, ParseError> {
    let options = granit_parser::options! { emit_anchor_events: true };
    Parser::new_from_str_with_options(text, options)
        .collect::<Result<Events<'_>, _>>()
        .map_err(|err| ParseError {
            at: Position {
                line: err.marker().line(),
                column: err.marker().col() + 1,
            },
            message: err.info(),
        })
}

/// Why nothing was found at `place`.
fn not_found(place: &Place) -> String {
    match place {
        Place::Value(at) => format!("no value starts at {at}"),
        Place::ValueOfKey(at) => format!("no key of a mapping starts at {at}"),
        Place::Entry { mapping, key } => {
            format!("no mapping with the key `{key}` starts at {mapping}")
        }
    }
}

/// What starts at a position an edit names.
#[derive(Clone)]
enum Found<'e> {
    Value(Target<'e>),
    /// Not something an edit may rewrite, and why.
    Refused(String),
}

/// Why a node's value is shared with other places.
#[derive(Clone, Copy)]
enum Shared<'e> {
    /// The node is (inside) a node with this anchor.
    Anchor(&'e str),
    /// The node is (inside) the value of a `<<` merge key.
    Merge,
}

/// The places edits name, sorted by how the walk over the events meets them.
struct Wanted<'p> {
    values: HashSet<Position>,
    keys: HashSet<Position>,
    /// Mapping position → the keys whose values are wanted.
    entries: HashMap<Position, Vec<&'p str>>,
}

impl<'p> Wanted<'p> {
    fn new(edits: &'p [Edit]) -> Self {
        let mut wanted = Wanted {
            values: HashSet::new(),
            keys: HashSet::new(),
            entries: HashMap::new(),
        };
        for edit in edits {
            match &edit.at {
                Place::Value(at) => {
                    wanted.values.insert(*at);
                }
                Place::ValueOfKey(at) => {
                    wanted.keys.insert(*at);
                }
                Place::Entry { mapping, key } => {
                    wanted.entries.entry(*mapping).or_default().push(key);
                }
            }
        }
        wanted
    }
}

/// An open mapping or sequence while walking the events.
struct Frame<'e, 'p> {
    flow: bool,
    shared: Option<Shared<'e>>,
    /// For a mapping: whether a key comes next, and whether the pending key is `<<`.
    entry: Option<(bool, bool)>,
    /// For a mapping edits name by its position ([`Place::Entry`]): where it starts, and the keys
    /// whose values they want.
    keys: Option<(Position, &'p [&'p str])>,
    /// After a key edits name, the places its value answers to: by the key's position, by its
    /// name in this mapping, or both.
    pending: Vec<Place>,
}

/// Where each node in `events` sits, for the places in `wanted`: a scalar value an edit may
/// rewrite, or the reason it may not. Where several nodes start at one position (a block mapping
/// and its first key), a value wins over a key, and a key over a collection.
fn survey<'e>(
    text: &'e str,
    events: &'e Events<'e>,
    wanted: &Wanted<'_>,
) -> HashMap<Place, Found<'e>> {
    let mut found: HashMap<Place, (u8, Found<'e>)> = HashMap::new();
    let mut frames: Vec<Frame<'e, '_>> = Vec::new();
    for (index, (event, span)) in events.iter().enumerate() {
        // With `emit_anchor_events`, an anchored node's event is followed by its anchor's.
        let anchor = |id: usize| {
            (id != 0).then(|| match events.get(index + 1) {
                Some((Event::Anchor(_, name), _)) => Shared::Anchor(name.as_ref()),
                _ => Shared::Anchor(""),
            })
        };
        let (key, shared, flow) = match frames.last() {
            Some(frame) => {
                let (key, merge) = frame.entry.unwrap_or((false, false));
                let merge = (!key && merge).then_some(Shared::Merge);
                (key, frame.shared.or(merge), frame.flow)
            }
            None => (false, None, false),
        };
        let at = Position::of(span);
        // The places this node answers to: its own position, and the key before it.
        let node = matches!(
            event,
            Event::Scalar(..)
                | Event::Alias(_)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
        );
        let after_key = match frames.last_mut() {
            Some(frame) if node && !key => std::mem::take(&mut frame.pending),
            _ => Vec::new(),
        };
        let places: Vec<Place> = wanted
            .values
            .contains(&at)
            .then_some(Place::Value(at))
            .into_iter()
            .chain(after_key)
            .collect();
        let here = !places.is_empty();
        let mut record = |(rank, what): (u8, Found<'e>)| {
            let Some((last, rest)) = places.split_last() else {
                return;
            };
            for place in rest {
                if found.get(place).is_none_or(|(best, _)| rank < *best) {
                    found.insert(place.clone(), (rank, what.clone()));
                }
            }
            if found.get(last).is_none_or(|(best, _)| rank < *best) {
                found.insert(last.clone(), (rank, what));
            }
        };
        match event {
            Event::Scalar(value, style, id, tag) => {
                if here {
                    let shared = shared.or_else(|| anchor(*id));
                    let scalar = Target {
                        index,
                        at,
                        start: 0,
                        end: 0,
                        value: value.as_ref(),
                        style: *style,
                        flow,
                    };
                    record(at_scalar(text, span, scalar, tag.as_deref(), key, shared));
                }
                if key && let Some(frame) = frames.last_mut() {
                    frame.pending = wanted
                        .keys
                        .contains(&at)
                        .then_some(Place::ValueOfKey(at))
                        .into_iter()
                        .chain(
                            frame
                                .keys
                                .filter(|(_, keys)| keys.contains(&value.as_ref()))
                                .map(|(mapping, _)| Place::Entry {
                                    mapping,
                                    key: value.to_string(),
                                }),
                        )
                        .collect();
                }
                let merge_key =
                    key && *style == ScalarStyle::Plain && tag.is_none() && value == "<<";
                step(&mut frames, merge_key);
            }
            Event::Alias(_) => {
                if here {
                    let (start, end) = bytes(text, span);
                    let alias = &text[start..end];
                    record(if key {
                        (
                            2,
                            Found::Refused(format!("{at} is a key (`{alias}`), not a value")),
                        )
                    } else {
                        (
                            1,
                            Found::Refused(format!(
                                "{at} is an alias (`{alias}`): the value comes from an anchor, \
                                 and editing that would change every place that uses it"
                            )),
                        )
                    });
                }
                step(&mut frames, false);
            }
            Event::MappingStart(style, id, _) | Event::SequenceStart(style, id, _) => {
                let map = matches!(event, Event::MappingStart(..));
                if here {
                    let what = if map { "a mapping" } else { "a list" };
                    record((
                        3,
                        Found::Refused(if key {
                            format!("{at} is a key ({what}), not a value")
                        } else {
                            format!("{at} is the start of {what}, not a single value")
                        }),
                    ));
                }
                frames.push(Frame {
                    flow: flow || *style == granit_parser::StructureStyle::Flow,
                    shared: shared.or_else(|| anchor(*id)),
                    entry: map.then_some((true, false)),
                    keys: wanted
                        .entries
                        .get(&at)
                        .filter(|_| map && !key)
                        .map(|keys| (at, keys.as_slice())),
                    pending: Vec::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
                step(&mut frames, false);
            }
            _ => {}
        }
    }
    found
        .into_iter()
        .map(|(at, (_, what))| (at, what))
        .collect()
}

/// What an edit finds at a scalar (`scalar` without its bytes yet), ranked: a value first.
fn at_scalar<'e>(
    text: &str,
    span: &Span,
    mut scalar: Target<'e>,
    tag: Option<&Tag>,
    key: bool,
    shared: Option<Shared<'_>>,
) -> (u8, Found<'e>) {
    let at = Position::of(span);
    let refused = |reason: String| (0, Found::Refused(reason));
    if key {
        return (
            2,
            Found::Refused(format!("{at} is a key (`{}`), not a value", scalar.value)),
        );
    }
    if let Some(shared) = shared {
        return refused(match shared {
            Shared::Anchor(name) => format!(
                "the value at {at} comes from an anchor (`&{name}`), which aliases (`*{name}`) \
                 may reuse: editing it would change every place that uses the anchor"
            ),
            Shared::Merge => format!(
                "the value at {at} comes from a `<<` merge: editing it would change what the \
                 merge brings in"
            ),
        });
    }
    if let Some(tag) = tag {
        let tag = format!("{}{}", tag.original_handle(), tag.suffix());
        return refused(format!(
            "the value at {at} has an explicit tag (`{tag}`); tagged values are left to edit by \
             hand"
        ));
    }
    if let Some(indicator) = match scalar.style {
        ScalarStyle::Literal => Some('|'),
        ScalarStyle::Folded => Some('>'),
        _ => None,
    } {
        return refused(format!(
            "the value at {at} is a block scalar (`{indicator}`); block scalars are left to edit \
             by hand"
        ));
    }
    if span.start == span.end {
        return refused(format!(
            "the value at {at} is empty; there is no text to replace"
        ));
    }
    (scalar.start, scalar.end) = bytes(text, span);
    (0, Found::Value(scalar))
}

/// After a complete node: in a mapping, a value follows a key and a key a value.
fn step(frames: &mut [Frame<'_, '_>], merge_key: bool) {
    if let Some(Frame {
        entry: Some((key, merge)),
        ..
    }) = frames.last_mut()
    {
        *merge = *key && merge_key;
        *key = !*key;
    }
}

/// The byte range of `span` in `text`. The parser keeps byte offsets for text it reads from a
/// string; character indices are the fallback.
fn bytes(text: &str, span: &Span) -> (usize, usize) {
    let byte = |marker: &granit_parser::Marker| {
        marker.byte_offset().unwrap_or_else(|| {
            text.char_indices()
                .nth(marker.index())
                .map_or(text.len(), |(at, _)| at)
        })
    };
    (byte(&span.start), byte(&span.end))
}

/// `Ok(true)` when `value` is to be written into `target`, `Ok(false)` when it holds that value
/// already, `Err` with a reason when it cannot be written.
/// A planned rewrite of one scalar.
struct Write<'e> {
    /// The edit's index in the input.
    edit: usize,
    target: &'e Target<'e>,
    value: &'e NewValue,
    written: Written,
}

/// `text` with `writes` (in file order) applied, and where each written scalar starts in it.
fn splice(text: &str, writes: &[Write<'_>]) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut starts = Vec::with_capacity(writes.len());
    let mut done = 0;
    for write in writes {
        out.push_str(&text[done..write.target.start]);
        starts.push(out.len());
        out.push_str(&write.written.text);
        done = write.target.end;
    }
    out.push_str(&text[done..]);
    (out, starts)
}

enum Failure {
    /// These edits (by input index) did not read back as written.
    Edits(Vec<usize>),
    /// The text does not parse, or something other than the edited scalars changed.
    Whole,
}

/// Whether `candidate` reads as the original `events` but for the written scalars, each of which
/// spans exactly its new text at its place and holds its new value.
fn verify(
    events: &Events<'_>,
    candidate: &str,
    writes: &[Write<'_>],
    starts: &[usize],
) -> Result<(), Failure> {
    // The candidate's events are compared as they are parsed, never held: a large file's
    // events take more memory than its text, and a difference ends the read.
    let options = granit_parser::options! { emit_anchor_events: true };
    let mut new_events = Parser::new_from_str_with_options(candidate, options);
    let mut writes = writes.iter().zip(starts).peekable();
    let mut bad = Vec::new();
    for (index, (old, _)) in events.iter().enumerate() {
        let Some(Ok((new, span))) = new_events.next() else {
            return Err(Failure::Whole);
        };
        let Some((write, &start)) = writes.next_if(|(write, _)| write.target.index == index) else {
            if *old != new {
                return Err(Failure::Whole);
            }
            continue;
        };
        let end = start + write.written.text.len();
        let reads_back = matches!(&new, Event::Scalar(value, style, 0, None)
            if *value == write.written.value
                && *style == write.written.style
                && holds(value.as_ref(), *style, write.value))
            && span.start.byte_offset() == Some(start)
            && span.end.byte_offset() == Some(end);
        if !reads_back {
            bad.push(write.edit);
        }
    }
    if new_events.next().is_some() {
        return Err(Failure::Whole);
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Failure::Edits(bad))
    }
}

mod insert;
mod line;
#[cfg(test)]
mod proptests;
mod scalar;
#[cfg(test)]
mod tests;
