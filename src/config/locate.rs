//! Where each key and list item of the file is, so a problem found after parsing (a reference
//! to a missing target, a template that fails to render) can still name its line and column.
//! Recorded by `walk.rs` as it builds the tree (a [`Recorder`]), so it outlives the tree, which
//! is freed once the sections are read.

use super::node::{Node, Pos, Value};
use crate::diagnostic::Location;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Where every key and list item of the file is, so key paths such as
/// `targets.web.event_type` or `sources.app.targets[1]` can be placed; the root is at the
/// empty path. Much smaller than the tree: one array of slots (a node's children contiguous,
/// the root last) and one string of key names, with a hash index for large mappings.
#[derive(Debug, Default)]
pub struct Locator {
    slots: Vec<Slot>,
    names: String,
    /// (first child slot of a mapping, hash of a key name) → the first child slot with that
    /// hash. Built on the first search: a valid file is usually never searched.
    index: OnceLock<HashMap<(u32, u64), u32>>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// A key's position for a mapping entry, the item's for a list item.
    at: Pos,
    name: (u32, u32),
    children: Children,
}

/// Where a node's children are among the slots, once it is recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Children {
    first: u32,
    count: u32,
    kind: SlotKind,
}

impl Children {
    /// What a scalar has.
    pub(crate) const NONE: Children = Children {
        first: 0,
        count: 0,
        kind: SlotKind::Scalar,
    };
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

/// Builds a [`Locator`] bottom up while the tree is built, so the tree is not walked again:
/// the children of a collection are kept aside while it is open and appended together when it
/// closes.
#[derive(Default)]
pub(crate) struct Recorder {
    locator: Locator,
    /// The children recorded so far of each open collection, innermost last (the buffers are
    /// kept for reuse, `open` of them in use).
    pending: Vec<Vec<Slot>>,
    open: usize,
}

impl Recorder {
    /// A mapping or list starts.
    pub(crate) fn open(&mut self) {
        match self.pending.get_mut(self.open) {
            Some(children) => children.clear(),
            None => self.pending.push(Vec::new()),
        }
        self.open += 1;
    }

    /// The innermost open collection ends: its children take their place.
    pub(crate) fn close(&mut self, map: bool) -> Children {
        self.open = self.open.saturating_sub(1);
        let locator = &mut self.locator;
        let first = index32(locator.slots.len());
        let pending = self.pending.get(self.open).map_or(&[][..], Vec::as_slice);
        locator.slots.extend_from_slice(pending);
        let count = index32(pending.len());
        Children {
            first,
            count,
            kind: if map { SlotKind::Map } else { SlotKind::Seq },
        }
    }

    /// A finished node of the innermost open collection: a list item (named `""`) or a key's
    /// value (at the key, named by it).
    pub(crate) fn child(&mut self, at: Pos, name: &str, children: Children) {
        let start = index32(self.locator.names.len());
        self.locator.names.push_str(name);
        let slot = Slot {
            at,
            name: (start, index32(name.len())),
            children,
        };
        if let Some(pending) = self
            .open
            .checked_sub(1)
            .and_then(|i| self.pending.get_mut(i))
        {
            pending.push(slot);
        }
    }

    /// Records all of `node` below it (a copy an alias made) and says where its children are.
    pub(crate) fn subtree(&mut self, node: &Node) -> Children {
        match &node.value {
            Value::Map(map) => {
                self.open();
                for entry in &map.entries {
                    let children = self.subtree(&entry.value);
                    self.child(entry.key.at, &entry.key.key_name(), children);
                }
                self.close(true)
            }
            Value::Seq(items) => {
                self.open();
                for item in items {
                    let children = self.subtree(item);
                    self.child(item.at, "", children);
                }
                self.close(false)
            }
            _ => Children::NONE,
        }
    }

    /// The locator of the document whose root is at `at`.
    pub(crate) fn finish(mut self, at: Pos, children: Children) -> Locator {
        self.open = 0;
        self.locator.slots.push(Slot {
            at,
            name: (0, 0),
            children,
        });
        self.locator.slots.shrink_to_fit();
        self.locator.names.shrink_to_fit();
        self.locator
    }
}

impl Locator {
    /// The index of the mappings with more than [`INDEX_FROM`] keys.
    fn index(&self) -> &HashMap<(u32, u64), u32> {
        self.index.get_or_init(|| {
            let mut index = HashMap::new();
            let large = self
                .slots
                .iter()
                .map(|slot| slot.children)
                .filter(|children| children.kind == SlotKind::Map && children.count > INDEX_FROM);
            for Children { first, count, .. } in large {
                for child in first..first + count {
                    index
                        .entry((first, hash(self.name(child))))
                        .or_insert(child);
                }
            }
            index
        })
    }

    fn name(&self, slot: u32) -> &str {
        let (start, len) = self.slots[slot as usize].name;
        self.names
            .get(start as usize..(start + len) as usize)
            .unwrap_or("")
    }

    /// The child of mapping slot `parent` whose key is `name`.
    fn child(&self, parent: u32, name: &str) -> Option<u32> {
        let slot = self.slots[parent as usize].children;
        if slot.count > INDEX_FROM {
            let found = self.index().get(&(slot.first, hash(name)))?;
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
        let mut slot = index32(self.slots.len().checked_sub(1)?);
        let mut best = self.slots.last()?.at.location();
        let mut rest = path;
        let mut at_root = true;
        while !rest.is_empty() {
            let current = self.slots[slot as usize].children;
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
    use crate::config::walk::walk;

    fn located(text: &str) -> Locator {
        walk(text, &[]).locator
    }

    const FILE: &str = "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [web, cli]\ntargets:\n  web:\n    repository: o/web\n    client_payload:\n      version: \"{{version}}\"\n";

    #[test]
    fn finds_keys_and_list_items_with_one_based_positions() {
        let locator = located(FILE);
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
        let locator = located(FILE);
        assert_eq!(
            locator.find("targets.web.event_type"),
            Some(Location { line: 7, column: 3 })
        );
    }

    #[test]
    fn the_root_mapping_is_located_at_its_first_key() {
        let locator = located("# a comment\n\nversion: 1\n");
        assert_eq!(locator.find(""), Some(Location { line: 3, column: 1 }));
    }

    #[test]
    fn counts_a_few_aliases_as_what_they_are() {
        let walked = walk("a: &a {k: v}\nb: *a\nc: *a\n", &[]);
        assert!(walked.refused.is_none());
        assert!(walked.syntax.is_none());
        assert_eq!(
            walked.locator.find("c.k"),
            Some(Location { line: 3, column: 1 })
        );
    }

    #[test]
    fn finds_keys_of_a_large_mapping_through_its_index() {
        let yaml: String = (0..100).map(|i| format!("k{i}: {{v: {i}}}\n")).collect();
        let locator = located(&yaml);
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
