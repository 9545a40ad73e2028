//! Where each key of the YAML file is, so a problem found after parsing (a reference to a
//! missing target, a template that fails to render) can still name its line and column.
//!
//! serde_yaml does not expose positions for values it has already deserialized, so we walk
//! the file once more with yaml-rust2's event parser. Aliases are not expanded here (the
//! walk only records where keys are written), so an alias bomb costs nothing in this pass.

use crate::diagnostic::{Code, Diagnostic, Location};
use std::collections::{HashMap, HashSet};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions of keys (and list items) by key path, e.g. `targets.web.event_type` or
/// `sources.app.targets[1]`.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<String, Location>,
    duplicates: Vec<Diagnostic>,
}

impl Locator {
    pub fn new(text: &str) -> Locator {
        let mut walker = Walker::default();
        // A syntax error ends the walk early; serde_yaml reports it with its own position,
        // and the keys read so far still help locate other problems.
        let _ = Parser::new_from_str(text).load(&mut walker, false);
        Locator {
            positions: walker.positions,
            duplicates: walker.duplicates,
        }
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

enum Frame {
    Map {
        path: String,
        key: Option<String>,
        seen: HashSet<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    positions: HashMap<String, Location>,
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
    /// Called for every node; returns the path of that node if it is a value (not a key).
    fn node(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let Some(frame) = self.stack.last_mut() else {
            return Some(String::new());
        };
        match frame {
            Frame::Map { path, key, seen } => match key.take() {
                None => {
                    // This node is a key. Complex (non-scalar) keys get a placeholder name.
                    let name = scalar.unwrap_or("?").to_owned();
                    let full = crate::diagnostic::join(path, &name);
                    if !seen.insert(name.clone()) {
                        self.duplicates.push(
                            Diagnostic::error(
                                Code::DuplicateKey,
                                full.clone(),
                                format!("key `{name}` appears more than once in this mapping"),
                            )
                            .with_help("keep one of them; YAML does not allow repeated keys")
                            .at(Some(location(mark))),
                        );
                    } else {
                        self.positions.insert(full, location(mark));
                    }
                    *key = Some(name);
                    None
                }
                Some(name) => Some(crate::diagnostic::join(path, &name)),
            },
            Frame::Seq { path, next } => {
                let full = format!("{path}[{next}]");
                *next += 1;
                self.positions.entry(full.clone()).or_insert(location(mark));
                Some(full)
            }
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.node(Some(&value), mark);
            }
            Event::Alias(_) => {
                self.node(None, mark);
            }
            Event::MappingStart(..) => {
                let path = self.node(None, mark);
                self.stack.push(Frame::Map {
                    path: path.unwrap_or_default(),
                    key: None,
                    seen: HashSet::new(),
                });
            }
            Event::SequenceStart(..) => {
                let path = self.node(None, mark);
                self.stack.push(Frame::Seq {
                    path: path.unwrap_or_default(),
                    next: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
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
    fn reports_duplicate_keys_with_the_second_position() {
        let locator = Locator::new("targets:\n  web: {}\n  web: {}\n");
        let dup = &locator.duplicates()[0];
        assert_eq!(dup.code, Code::DuplicateKey);
        assert_eq!(dup.path, "targets.web");
        assert_eq!(dup.location, Some(Location { line: 3, column: 3 }));
    }
}
