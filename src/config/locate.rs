//! Where each key and list item of the file is, so a problem found after parsing (a reference
//! to a missing target, a template that fails to render) can still name its line and column.
//! Built from the parsed tree (`walk.rs`), which is freed once the sections are read.

use super::node::{Node, Pos, Value};
use super::walk::walk;
use crate::diagnostic::Location;
use std::collections::HashMap;

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
    fn counts_a_few_aliases_as_what_they_are() {
        let walked = walk("a: &a {k: v}\nb: *a\nc: *a\n");
        assert!(walked.refused.is_none());
        assert!(walked.syntax.is_none());
        assert_eq!(
            Locator::of(walked.root.as_ref().expect("parsed")).find("c.k"),
            Some(Location { line: 3, column: 1 })
        );
    }

    #[test]
    fn finds_keys_of_a_large_mapping_through_its_index() {
        let yaml: String = (0..100).map(|i| format!("k{i}: {{v: {i}}}\n")).collect();
        let locator = Locator::new(&yaml);
        assert_eq!(
            locator.find("k77.v"),
            Some(Location {
                line: 78,
                column: 7
            })
        );
        assert_eq!(
            locator.find("k77.w"),
            Some(Location {
                line: 78,
                column: 1
            })
        );
        assert_eq!(locator.find("k100"), Some(Location { line: 1, column: 1 }));
    }
}
