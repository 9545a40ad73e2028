//! The one parse of the file: yaml-rust2's events, pulled one at a time (no recursion), built
//! into a tree of [`Node`]s that keeps every node's line and column. The same pass checks what
//! a hostile file could abuse: it stops at [`MAX_DEPTH`] levels of nesting, and when aliases
//! would expand past [`MAX_NODES`] values or [`MAX_EXPANDED_BYTES`] of text (an alias is
//! counted at its expanded size before it is copied). Repeated keys are reported, never
//! silently resolved.
//!
//! While building the tree the walk also records where every key is (`locate.rs`), so that
//! record outlives the tree, which `sections.rs` takes apart as it reads the typed model.

use super::locate::{Children, Locator, Recorder};
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

/// What [`walk`] found.
pub struct Walk {
    /// The document's tree (`None` when the file holds no document, or the walk stopped).
    pub root: Option<Node>,
    /// Where each key and item of `root` is (empty without a root).
    pub locator: Locator,
    /// Repeated keys and scalars that contradict their tag (`!!int x`), in file order.
    pub problems: Vec<Diagnostic>,
    /// The file goes past a limit, or holds what a dispatch file never does (more than one
    /// document, an alias inside its own anchor); the walk stopped there.
    pub refused: Option<Diagnostic>,
    /// yaml-rust2's syntax error, if it found one; the walk stopped there.
    pub syntax: Option<Diagnostic>,
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
                let help = syntax_help(&message, text, Some(at.line));
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
    let (root, locator) = match builder.root.filter(|_| complete) {
        Some((root, children)) => {
            let locator = builder.recorder.finish(root.at, children);
            (Some(root), locator)
        }
        None => (None, Locator::default()),
    };
    Walk {
        root,
        locator,
        problems: builder.problems,
        refused,
        syntax,
    }
}

/// Where to look, for a YAML syntax error at `line` (1-based) of `text`.
pub fn syntax_help(message: &str, text: &str, line: Option<usize>) -> &'static str {
    let indented_with_tab = line
        .and_then(|n| text.lines().nth(n.saturating_sub(1)))
        .is_some_and(|l| {
            l.chars()
                .take_while(|c| c.is_whitespace())
                .any(|c| c == '\t')
        });
    if indented_with_tab || message.contains("tab") {
        "indent with spaces: YAML does not allow tabs for indentation"
    } else {
        "check the indentation, quotes and brackets on this line and the lines just above it"
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
    root: Option<(Node, Children)>,
    problems: Vec<Diagnostic>,
    recorder: Recorder,
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
                self.add(node, Children::NONE);
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
                let children = self.recorder.subtree(&copy);
                self.add(copy, children);
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
                self.recorder.open();
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
                let children = self.recorder.close(matches!(node.value, Value::Map(_)));
                if anchor > 0 {
                    let size = Size {
                        nodes: self.total.nodes - start.nodes,
                        bytes: self.total.bytes - start.bytes,
                    };
                    self.anchored.insert(anchor, (node.copy_unplaced(), size));
                }
                self.add(node, children);
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

    /// Puts a finished node where it belongs: the root, a list item, a key, or a key's value;
    /// and records where it is (`children`: where its own children were recorded).
    fn add(&mut self, node: Node, children: Children) {
        let repeated = match self.stack.last_mut() {
            None => {
                self.root = Some((node, children));
                None
            }
            Some(Frame::Seq { items, .. }) => {
                self.recorder.child(node.at, "", children);
                items.push(node);
                None
            }
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => {
                    *key = Some(node);
                    None
                }
                Some(k) => {
                    let inserted = map.insert(Entry {
                        key: k,
                        value: node,
                    });
                    match (inserted, map.entries.last()) {
                        (Ok(()), Some(entry)) => {
                            self.recorder
                                .child(entry.key.at, &entry.key.key_name(), children);
                            None
                        }
                        (Ok(()), None) => None,
                        (Err(entry), _) => Some(entry),
                    }
                }
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
    fn refuses_a_second_document_at_its_marker() {
        let refused = walk("version: 1\n---\nversion: 1\n")
            .refused
            .expect("refused");
        assert_eq!(refused.location, Some(Location { line: 2, column: 1 }));
        assert!(refused.message.contains("more than one"), "{refused:?}");
    }

    #[test]
    fn a_quoted_string_that_runs_on_is_shown_where_it_ends_and_names_where_it_began() {
        let syntax = walk("a:\n  b: \"open\n  c: x\n  d: \"y\"\n")
            .syntax
            .expect("syntax");
        assert_eq!(syntax.location, Some(Location { line: 4, column: 7 }));
        assert!(
            syntax.message.contains("starts at line 2 column 6"),
            "{syntax:?}"
        );
    }

    #[test]
    fn a_tab_is_shown_where_it_is() {
        let syntax = walk("a:\n  b: x\n\tc: y\n").syntax.expect("syntax");
        assert_eq!(syntax.location, Some(Location { line: 3, column: 1 }));
    }
}
