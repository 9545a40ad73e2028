//! The one parse of the file: yaml-rust2's events, pulled one at a time (no recursion), built
//! into a tree of [`Node`]s that keeps every node's line and column. The same pass checks what
//! a hostile file could abuse: it stops at [`MAX_DEPTH`] levels of nesting, and when aliases
//! would expand past [`MAX_NODES`] values or [`MAX_EXPANDED_BYTES`] of text (an alias is
//! counted at its expanded size before it is copied). Repeated keys are reported, never
//! silently resolved.
//!
//! The tree then serves twice: `sections.rs` deserializes the typed model from it, and the
//! [`Locator`] keeps it so a problem found later (a reference to a missing target, a template
//! that fails to render) can still name its line and column.

use super::node::{self, Entry, Mapping, Node, Pos, Value};
use crate::diagnostic::{join, Code, Diagnostic, Location};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Mappings and lists nested deeper than this are refused (serde_yaml's limit was 128 too).
pub const MAX_DEPTH: usize = 128;
/// Keys, list items and values in the document once aliases are expanded; a real
/// configuration has a few hundred, a 10,000-target one about 150,000.
pub const MAX_NODES: u64 = 1_000_000;
/// Bytes of text in the document once aliases are expanded.
pub const MAX_EXPANDED_BYTES: u64 = 32 * 1024 * 1024;

/// Where every key and list item of the file is, so key paths such as
/// `targets.web.event_type` or `sources.app.targets[1]` can be placed; the root is at the
/// empty path. Built from the tree once the file is parsed, and much smaller than it: one
/// array of slots (breadth first, so a node's children are contiguous) and one string of key
/// names, with a hash index for large mappings.
#[derive(Debug, Default)]
pub struct Locator {
    slots: Vec<Slot>,
    names: String,
    /// (mapping slot, hash of a key name) → the first child slot with that hash.
    index: HashMap<(u32, u64), u32>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// A key's position for a mapping entry, the item's for a list item.
    at: Pos,
    name: (u32, u32),
    first: u32,
    count: u32,
    kind: SlotKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Scalar,
    Map,
    Seq,
}

/// Mappings with more keys than this are indexed rather than scanned.
const INDEX_FROM: u32 = 16;

fn hash(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
}

fn index32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What [`walk`] found.
pub struct Walk {
    /// The document's tree (`None` when the file holds no document, or the walk stopped).
    pub root: Option<Node>,
    /// Repeated keys and scalars that contradict their tag (`!!int x`), in file order.
    pub problems: Vec<Diagnostic>,
    /// The file goes past a limit, or holds what a dispatch file never does (more than one
    /// document, an alias inside its own anchor); the walk stopped there.
    pub refused: Option<Diagnostic>,
    /// yaml-rust2's syntax error, if it found one; the walk stopped there.
    pub syntax: Option<Diagnostic>,
}

impl Locator {
    pub fn new(text: &str) -> Locator {
        walk(text)
            .root
            .as_ref()
            .map(Locator::of)
            .unwrap_or_default()
    }

    /// Records where every key and item of `root` is.
    pub fn of(root: &Node) -> Locator {
        let mut locator = Locator::default();
        locator.push(root.at, "");
        let mut pending = std::collections::VecDeque::from([root]);
        let mut next = 0;
        while let Some(node) = pending.pop_front() {
            let first = locator.slots.len();
            let kind = match &node.value {
                Value::Map(map) => {
                    for entry in &map.entries {
                        locator.push(entry.key.at, &entry.key.key_name());
                        pending.push_back(&entry.value);
                    }
                    SlotKind::Map
                }
                Value::Seq(items) => {
                    for item in items {
                        locator.push(item.at, "");
                        pending.push_back(item);
                    }
                    SlotKind::Seq
                }
                _ => SlotKind::Scalar,
            };
            let count = locator.slots.len() - first;
            let (first, count) = (index32(first), index32(count));
            if kind == SlotKind::Map && count > INDEX_FROM {
                for child in first..first + count {
                    let name = locator.name(child);
                    locator
                        .index
                        .entry((index32(next), hash(name)))
                        .or_insert(child);
                }
            }
            let slot = &mut locator.slots[next];
            (slot.first, slot.count, slot.kind) = (first, count, kind);
            next += 1;
        }
        locator.slots.shrink_to_fit();
        locator.names.shrink_to_fit();
        locator
    }

    fn push(&mut self, at: Pos, name: &str) {
        let start = index32(self.names.len());
        self.names.push_str(name);
        self.slots.push(Slot {
            at,
            name: (start, index32(name.len())),
            first: 0,
            count: 0,
            kind: SlotKind::Scalar,
        });
    }

    fn name(&self, slot: u32) -> &str {
        let (start, len) = self.slots[slot as usize].name;
        self.names
            .get(start as usize..(start + len) as usize)
            .unwrap_or("")
    }

    /// The child of mapping slot `parent` whose key is `name`.
    fn child(&self, parent: u32, name: &str) -> Option<u32> {
        let slot = self.slots[parent as usize];
        if slot.count > INDEX_FROM {
            let found = self.index.get(&(parent, hash(name)))?;
            if self.name(*found) == name {
                return Some(*found);
            }
        }
        (slot.first..slot.first + slot.count).find(|&child| self.name(child) == name)
    }

    /// The position of `path`, or of its nearest enclosing key that exists in the file (a
    /// missing key is reported where its parent is). A key is placed at the key itself, a list
    /// item at the item (a mapping at its first key), a value copied by an alias at the alias.
    pub fn find(&self, path: &str) -> Option<Location> {
        let mut slot = 0u32;
        let mut best = self.slots.first()?.at.location();
        let mut rest = path;
        let mut at_root = true;
        while !rest.is_empty() {
            let current = self.slots[slot as usize];
            let (child, tail) = match current.kind {
                SlotKind::Map => {
                    let body = if at_root {
                        rest
                    } else {
                        match rest.strip_prefix('.') {
                            Some(body) => body,
                            None => break,
                        }
                    };
                    // A key may itself hold `.` or `[`: the longest key that fits wins.
                    let ends: Vec<usize> = body
                        .match_indices(['.', '['])
                        .map(|(i, _)| i)
                        .chain([body.len()])
                        .collect();
                    let found = ends
                        .iter()
                        .rev()
                        .find_map(|&end| self.child(slot, &body[..end]).map(|c| (c, end)));
                    let Some((child, end)) = found else { break };
                    (child, &body[end..])
                }
                SlotKind::Seq => {
                    let Some((digits, tail)) =
                        rest.strip_prefix('[').and_then(|r| r.split_once(']'))
                    else {
                        break;
                    };
                    let Some(i) = digits.parse::<u32>().ok().filter(|i| *i < current.count) else {
                        break;
                    };
                    (current.first + i, tail)
                }
                SlotKind::Scalar => break,
            };
            best = self.slots[child as usize].at.location().or(best);
            slot = child;
            rest = tail;
            at_root = false;
        }
        best
    }
}

/// Parses the whole document; see the module comment for what it refuses.
pub fn walk(text: &str) -> Walk {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut refused = None;
    let mut syntax = None;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(err) => {
                let (at, message) = place_syntax_error(text, err.info(), location(*err.marker()));
                let help = super::load::syntax_help(&message, text, Some(at.line));
                syntax = Some(
                    Diagnostic::error(Code::Syntax, "", message)
                        .with_help(help)
                        .at(Some(at)),
                );
                break;
            }
        };
        if event == Event::StreamEnd {
            break;
        }
        if let Err(stop) = builder.on_event(event, mark) {
            refused = Some(stop.at(Some(location(mark))));
            break;
        }
    }
    let complete = refused.is_none() && syntax.is_none();
    Walk {
        root: builder.root.filter(|_| complete),
        problems: builder.problems,
        refused,
        syntax,
    }
}

/// yaml-rust2 places an error at the start of the token it was reading. For a tab, the tab
/// itself is the place to show; for a quoted string that runs on, the place where the file
/// stops making sense is where the string finally ends, and the message says where it began.
fn place_syntax_error(text: &str, info: &str, at: Location) -> (Location, String) {
    if info.contains("tab") {
        if let Some(tab) = first_indenting_tab(text, at.line) {
            return (tab, format!("invalid YAML: {info}"));
        }
    }
    if info.contains("quoted scalar") {
        return match closing_quote(text, at) {
            Some(end) => (
                Location {
                    line: end.line,
                    column: end.column + 1,
                },
                format!(
                    "invalid YAML: the quoted string that starts at line {} column {} only ends here, at line {} column {}; is a closing quote missing on line {}?",
                    at.line, at.column, end.line, end.column, at.line
                ),
            ),
            None => (
                at,
                "invalid YAML: this quoted string is never closed".to_owned(),
            ),
        };
    }
    (at, format!("invalid YAML: {info}"))
}

/// The first tab in the indentation of line `from` or a later line.
fn first_indenting_tab(text: &str, from: usize) -> Option<Location> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find_map(|(i, line)| {
            let column = line
                .chars()
                .take_while(|c| c.is_whitespace())
                .position(|c| c == '\t')?;
            Some(Location {
                line: i + 1,
                column: column + 1,
            })
        })
}

/// Where the quoted string that opens at `at` closes (`"` with `\` escapes, `'` with `''`).
fn closing_quote(text: &str, at: Location) -> Option<Location> {
    let line = text.split_inclusive('\n').nth(at.line.checked_sub(1)?)?;
    let offset = line.as_ptr() as usize - text.as_ptr() as usize;
    let start = offset + line.char_indices().nth(at.column.checked_sub(1)?)?.0;
    let mut chars = text[start..].chars();
    let quote = chars.next().filter(|q| matches!(q, '"' | '\''))?;
    let (mut line, mut column) = (at.line, at.column);
    let mut escaped = false;
    let mut chars = chars.peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            (line, column, escaped) = (line + 1, 0, false);
            continue;
        }
        column += 1;
        if escaped {
            escaped = false;
        } else if quote == '"' && c == '\\' {
            escaped = true;
        } else if c == quote {
            if quote == '\'' && chars.peek() == Some(&'\'') {
                escaped = true;
            } else {
                return Some(Location { line, column });
            }
        }
    }
    None
}

/// A collection still open, with what it holds so far.
enum Frame {
    Map {
        at: Pos,
        anchor: usize,
        start: Size,
        map: Mapping,
        /// The key read, waiting for its value.
        key: Option<Node>,
    },
    Seq {
        at: Pos,
        anchor: usize,
        start: Size,
        items: Vec<Node>,
    },
}

/// How much of the expanded document a node stands for.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: u64,
    bytes: u64,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Finished anchored nodes (already without positions, ready to copy) and their sizes.
    anchored: HashMap<usize, (Node, Size)>,
    total: Size,
    documents: usize,
    root: Option<Node>,
    problems: Vec<Diagnostic>,
}

fn location(mark: Marker) -> Location {
    // yaml-rust2 counts lines from 1 and columns from 0; editors count both from 1.
    Location {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

fn pos(mark: Marker) -> Pos {
    Pos {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
    }
}

/// The core schema's tags (`!!str`, written `tag:yaml.org,2002:str` in full).
fn core_tag(tag: &Tag) -> Option<&str> {
    const CORE: &str = "tag:yaml.org,2002:";
    if tag.handle == CORE {
        Some(&tag.suffix)
    } else if tag.handle.is_empty() || tag.handle == "!" {
        tag.suffix.strip_prefix(CORE)
    } else {
        None
    }
}

impl Builder {
    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::error(
                        Code::Syntax,
                        "",
                        "the file holds more than one YAML document",
                    )
                    .with_help("a dispatch file is one document: remove this `---` and merge what follows into the first"));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let size = Size {
                    nodes: 1,
                    bytes: text.len() as u64,
                };
                self.grow(size)?;
                let plain = style == TScalarStyle::Plain;
                let value = match tag.as_ref() {
                    Some(tag) => {
                        let core = core_tag(tag).unwrap_or("");
                        match node::resolve_tagged(text, core, plain) {
                            Ok(value) => value,
                            Err(message) => {
                                let d = Diagnostic::error(Code::InvalidValue, self.path(), message)
                                    .with_help("remove the tag, or write a value of that type")
                                    .at(Some(location(mark)));
                                self.problems.push(d);
                                Value::Null
                            }
                        }
                    }
                    None if plain => node::resolve_plain(text),
                    None => Value::Str(text),
                };
                let node = Node {
                    at: pos(mark),
                    value,
                };
                if anchor > 0 {
                    self.anchored.insert(anchor, (node.copy_unplaced(), size));
                }
                self.add(node);
            }
            Event::Alias(anchor) => {
                let Some((copy, size)) = self.anchored.get(&anchor) else {
                    return Err(Diagnostic::error(
                        Code::Syntax,
                        "",
                        "this alias refers to the node that contains it",
                    )
                    .with_help("an alias (`*name`) can only repeat a node that is complete where the alias is written"));
                };
                let (mut copy, size) = (copy.clone(), *size);
                self.grow(size)?;
                copy.at = pos(mark);
                self.add(copy);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(Diagnostic::error(
                        Code::Limit,
                        "",
                        format!("the document nests more than {MAX_DEPTH} levels deep"),
                    )
                    .with_help(
                        "a dispatch configuration needs a handful of levels; flatten the structure",
                    ));
                }
                let start = self.total;
                self.grow(Size { nodes: 1, bytes: 0 })?;
                let at = pos(mark);
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map {
                            at,
                            anchor,
                            start,
                            map: Mapping::default(),
                            key: None,
                        }
                    } else {
                        Frame::Seq {
                            at,
                            anchor,
                            start,
                            items: Vec::new(),
                        }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (node, anchor, start) = match self.stack.pop() {
                    Some(Frame::Map {
                        at,
                        anchor,
                        start,
                        map,
                        ..
                    }) => {
                        // yaml-rust2 marks a block mapping at its first `:`; the first key is
                        // where a reader looks.
                        let at = map.entries.first().map_or(at, |e| e.key.at);
                        (
                            Node {
                                at,
                                value: Value::Map(map),
                            },
                            anchor,
                            start,
                        )
                    }
                    Some(Frame::Seq {
                        at,
                        anchor,
                        start,
                        items,
                    }) => (
                        Node {
                            at,
                            value: Value::Seq(items),
                        },
                        anchor,
                        start,
                    ),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    let size = Size {
                        nodes: self.total.nodes - start.nodes,
                        bytes: self.total.bytes - start.bytes,
                    };
                    self.anchored.insert(anchor, (node.copy_unplaced(), size));
                }
                self.add(node);
            }
            _ => {}
        }
        Ok(())
    }

    fn grow(&mut self, size: Size) -> Result<(), Diagnostic> {
        self.total.nodes = self.total.nodes.saturating_add(size.nodes);
        self.total.bytes = self.total.bytes.saturating_add(size.bytes);
        let help = "a dispatch configuration is a few hundred values; if aliases (`*name`) repeat a large part of the file, write it out or shrink it";
        if self.total.nodes > MAX_NODES {
            return Err(Diagnostic::error(
                Code::Limit,
                "",
                format!(
                    "the document holds more than {MAX_NODES} values once its aliases are expanded"
                ),
            )
            .with_help(help));
        }
        if self.total.bytes > MAX_EXPANDED_BYTES {
            return Err(Diagnostic::error(
                Code::Limit,
                "",
                format!(
                    "the document holds more than {} MiB of text once its aliases are expanded",
                    MAX_EXPANDED_BYTES / (1024 * 1024)
                ),
            )
            .with_help(help));
        }
        Ok(())
    }

    /// Puts a finished node where it belongs: the root, a list item, a key, or a key's value.
    fn add(&mut self, node: Node) {
        let repeated = match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                None
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                None
            }
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => {
                    *key = Some(node);
                    None
                }
                Some(k) => map
                    .insert(Entry {
                        key: k,
                        value: node,
                    })
                    .err(),
            },
        };
        if let Some(entry) = repeated {
            self.repeated(&entry.key);
        }
    }

    fn repeated(&mut self, key: &Node) {
        let name = key.key_name();
        let parent = self.path();
        let d = Diagnostic::error(
            Code::DuplicateKey,
            join(&parent, &name),
            format!(
                "key `{}` appears more than once in this mapping",
                crate::diagnostic::shown(&name)
            ),
        )
        .with_help("keep one of them; YAML does not allow repeated keys")
        .at(key.at.location());
        self.problems.push(d);
    }

    /// The key path of the node being read (only computed for a problem).
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Map { key: Some(k), .. } => path = join(&path, &k.key_name()),
                Frame::Map { key: None, .. } => {}
                Frame::Seq { items, .. } => path.push_str(&format!("[{}]", items.len())),
            }
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [web, cli]\ntargets:\n  web:\n    repository: o/web\n    client_payload:\n      version: \"{{version}}\"\n";

    #[test]
    fn finds_keys_and_list_items_with_one_based_positions() {
        let locator = Locator::new(FILE);
        assert_eq!(
            locator.find("sources.app.repository"),
            Some(Location { line: 4, column: 5 })
        );
        assert_eq!(
            locator.find("sources.app.targets[1]"),
            Some(Location {
                line: 5,
                column: 20
            })
        );
        assert_eq!(
            locator.find("targets.web.client_payload.version"),
            Some(Location {
                line: 10,
                column: 7
            })
        );
    }

    #[test]
    fn a_missing_key_is_located_at_its_parent() {
        let locator = Locator::new(FILE);
        assert_eq!(
            locator.find("targets.web.event_type"),
            Some(Location { line: 7, column: 3 })
        );
    }

    #[test]
    fn the_root_mapping_is_located_at_its_first_key() {
        let locator = Locator::new("# a comment\n\nversion: 1\n");
        assert_eq!(locator.find(""), Some(Location { line: 3, column: 1 }));
    }

    #[test]
    fn reports_duplicate_keys_with_the_second_position() {
        let walked = walk("targets:\n  web: {}\n  web: {}\n");
        let dup = &walked.problems[0];
        assert_eq!(dup.code, Code::DuplicateKey);
        assert_eq!(dup.path, "targets.web");
        assert_eq!(dup.location, Some(Location { line: 3, column: 3 }));
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let walked = walk(&"- ".repeat(200_000));
        let refused = walked.refused.expect("refused");
        assert_eq!(refused.code, Code::Limit);
        assert!(refused.message.contains("128 levels"), "{refused:?}");
    }

    #[test]
    fn refuses_aliases_that_expand_past_the_limit() {
        let mut yaml = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (name, previous) in ["b", "c", "d", "e", "f"]
            .iter()
            .zip(["a", "b", "c", "d", "e"])
        {
            yaml.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{previous}"); 10].join(", ")
            ));
        }
        let refused = walk(&yaml).refused.expect("refused");
        assert!(refused.message.contains("aliases"), "{refused:?}");
    }

    #[test]
    fn counts_a_few_aliases_as_what_they_are() {
        let walked = walk("a: &a {k: v}\nb: *a\nc: *a\n");
        assert!(walked.refused.is_none());
        assert!(walked.syntax.is_none());
        assert_eq!(
            Locator::of(walked.root.as_ref().expect("parsed")).find("c.k"),
            Some(Location { line: 3, column: 1 })
        );
    }
}
