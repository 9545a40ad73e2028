//! Where each key of the YAML file is, so a problem found after parsing (a reference to a
//! missing target, a template that fails to render) can still name its line and column.
//!
//! serde_yaml does not expose positions for values it has already deserialized, so we walk
//! the file once more with yaml-rust2's event parser. The walk comes first and doubles as a
//! guard: it pulls events one at a time (no recursion), and it stops the file before serde_yaml
//! sees it when the document nests deeper than [`MAX_DEPTH`] or its aliases expand past
//! [`MAX_NODES`] values or [`MAX_EXPANDED_BYTES`] of text. (libyaml, under serde_yaml, takes
//! time quadratic in the nesting depth, and expands aliases in full.)

use crate::diagnostic::{join, Code, Diagnostic, Location};
use std::collections::{HashMap, HashSet};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

/// Mappings and lists nested deeper than this are refused (serde_yaml's own limit is 128).
pub const MAX_DEPTH: usize = 128;
/// Keys, list items and values in the document once aliases are expanded; a real
/// configuration has a few hundred, a 10,000-target one about 150,000.
pub const MAX_NODES: u64 = 1_000_000;
/// Bytes of text in the document once aliases are expanded.
pub const MAX_EXPANDED_BYTES: u64 = 32 * 1024 * 1024;
/// Key paths kept for locating problems, in bytes; past it, problems are still reported but
/// located at an enclosing key. (Paths grow with depth, so without a budget a deep document
/// with long keys would cost memory quadratic in its size.)
const PATH_BUDGET: usize = 8 * 1024 * 1024;

/// Positions of keys (and list items) by key path, e.g. `targets.web.event_type` or
/// `sources.app.targets[1]`; the root node is at the empty path.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<String, Location>,
    duplicates: Vec<Diagnostic>,
}

/// What walking the file found besides positions.
pub struct Walk {
    pub locator: Locator,
    /// The file goes past a limit; it must not be handed to serde_yaml.
    pub refused: Option<Diagnostic>,
    /// yaml-rust2's syntax error, if it found one.
    pub syntax: Option<Diagnostic>,
}

impl Locator {
    pub fn new(text: &str) -> Locator {
        walk(text).locator
    }

    /// The position of `path`, or of its nearest enclosing key that exists in the file (a
    /// missing key is reported where its parent is).
    pub fn find(&self, path: &str) -> Option<Location> {
        let mut path = path;
        loop {
            if let Some(location) = self.positions.get(path) {
                return Some(*location);
            }
            path = parent(path)?;
        }
    }

    /// Keys that appear twice in one mapping; YAML forbids this, but parsers disagree on
    /// whether to reject it or keep the last one, so we always report it.
    pub fn duplicates(&self) -> &[Diagnostic] {
        &self.duplicates
    }
}

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Walks the whole document; see the module comment for what it refuses.
pub fn walk(text: &str) -> Walk {
    let mut walker = Walker::default();
    let mut parser = Parser::new_from_str(text);
    let mut refused = None;
    let mut syntax = None;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(err) => {
                let message = format!("invalid YAML: {}", err.info());
                let at = location(*err.marker());
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
        if let Err(limit) = walker.on_event(event, mark) {
            refused = Some(limit.at(Some(location(mark))));
            break;
        }
    }
    Walk {
        locator: Locator {
            positions: walker.positions,
            duplicates: walker.duplicates,
        },
        refused,
        syntax,
    }
}

enum Frame {
    Map {
        /// `None` once the path budget is spent.
        path: Option<String>,
        key: Option<String>,
        seen: HashSet<String>,
        /// yaml-rust2 marks a block mapping's start at its first `:`, so a mapping that is not
        /// the value of a key (the root, a list item) is located at its first key instead.
        at_first_key: bool,
    },
    Seq {
        path: Option<String>,
        next: usize,
    },
}

/// How much of the expanded document a node stands for.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: u64,
    bytes: u64,
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    /// For each open collection: its anchor and the totals when it started.
    anchors_open: Vec<(usize, Size)>,
    anchored: HashMap<usize, Size>,
    total: Size,
    positions: HashMap<String, Location>,
    path_bytes: usize,
    duplicates: Vec<Diagnostic>,
}

fn location(mark: Marker) -> Location {
    // yaml-rust2 counts lines from 1 and columns from 0; editors count both from 1.
    Location {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl Walker {
    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), Diagnostic> {
        match event {
            Event::Scalar(value, _, anchor, _) => {
                let size = Size {
                    nodes: 1,
                    bytes: value.len() as u64,
                };
                if anchor > 0 {
                    self.anchored.insert(anchor, size);
                }
                self.grow(size)?;
                self.node(Some(&value), mark);
            }
            Event::Alias(anchor) => {
                // An alias to an anchor still open (a cycle) counts once; serde_yaml refuses it.
                let size = self
                    .anchored
                    .get(&anchor)
                    .copied()
                    .unwrap_or(Size { nodes: 1, bytes: 0 });
                self.grow(size)?;
                self.node(None, mark);
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
                self.anchors_open.push((anchor, self.total));
                self.grow(Size { nodes: 1, bytes: 0 })?;
                let at_first_key = !matches!(self.stack.last(), Some(Frame::Map { .. }));
                let path = self.node(None, mark);
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map {
                            path,
                            key: None,
                            seen: HashSet::new(),
                            at_first_key,
                        }
                    } else {
                        Frame::Seq { path, next: 0 }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                if let Some((anchor, start)) = self.anchors_open.pop() {
                    if anchor > 0 {
                        let size = Size {
                            nodes: self.total.nodes - start.nodes,
                            bytes: self.total.bytes - start.bytes,
                        };
                        self.anchored.insert(anchor, size);
                    }
                }
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

    /// Records a node's position; returns its path if it is a value (not a key) and the path
    /// budget allows.
    fn node(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let Some(frame) = self.stack.last_mut() else {
            self.positions.insert(String::new(), location(mark));
            return Some(String::new());
        };
        match frame {
            Frame::Map {
                path,
                key,
                seen,
                at_first_key,
            } => match key.take() {
                None => {
                    // This node is a key. Complex (non-scalar) keys get a placeholder name.
                    let name = scalar.unwrap_or("?");
                    if std::mem::take(at_first_key) {
                        if let Some(path) = path.as_deref() {
                            self.positions.insert(path.to_owned(), location(mark));
                        }
                    }
                    let full = path
                        .as_deref()
                        .filter(|p| self.path_bytes + p.len() + name.len() < PATH_BUDGET)
                        .map(|p| join(p, name));
                    if !seen.insert(name.to_owned()) {
                        let full = full.unwrap_or_else(|| name.to_owned());
                        self.duplicates.push(
                            Diagnostic::error(
                                Code::DuplicateKey,
                                full,
                                format!(
                                    "key `{}` appears more than once in this mapping",
                                    crate::diagnostic::shown(name)
                                ),
                            )
                            .with_help("keep one of them; YAML does not allow repeated keys")
                            .at(Some(location(mark))),
                        );
                    } else if let Some(full) = full {
                        self.path_bytes += full.len();
                        self.positions.insert(full, location(mark));
                    }
                    *key = Some(name.to_owned());
                    None
                }
                Some(name) => {
                    let full = path
                        .as_deref()
                        .filter(|p| self.path_bytes + p.len() + name.len() < PATH_BUDGET)
                        .map(|p| join(p, &name));
                    if let Some(full) = &full {
                        self.path_bytes += full.len();
                    }
                    full
                }
            },
            Frame::Seq { path, next } => {
                let index = *next;
                *next += 1;
                let full = path
                    .as_deref()
                    .filter(|p| self.path_bytes + p.len() + 24 < PATH_BUDGET)
                    .map(|p| format!("{p}[{index}]"))?;
                self.path_bytes += full.len();
                self.positions.entry(full.clone()).or_insert(location(mark));
                Some(full)
            }
        }
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
        let locator = Locator::new("targets:\n  web: {}\n  web: {}\n");
        let dup = &locator.duplicates()[0];
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
            walked.locator.find("c.k"),
            Some(Location { line: 3, column: 1 })
        );
    }
}
