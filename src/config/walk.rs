//! The one parse of the file: the YAML reader's events (`crate::yaml`, which pulls them one at
//! a time, without recursion, and stops where the file crosses [`yaml::DISPATCH_FILE`]'s
//! limits) built into a tree of [`Node`]s that keeps every node's line and column. Repeated
//! keys are reported, never silently resolved. A section with entry caps (`targets`,
//! `sources`) is refused at its first entry past the cap, not once the whole file is built.
//!
//! While building the tree the walk also records where every key is (`locate.rs`), so that
//! record outlives the tree, which `sections.rs` takes apart as it reads the typed model.

use super::locate::{Children, Locator, Recorder};
use super::node::{self, Entry, Mapping, Node, Pos, Value};
use crate::diagnostic::{join, Code, Diagnostic, Location};
use crate::yaml::{self, Event, Mark, Why};
use std::collections::HashMap;

/// A top-level section whose entries are counted as they are read: `max` at most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryCap {
    pub section: &'static str,
    pub max: usize,
}

/// What [`walk`] found.
pub(crate) struct Walk {
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

/// Parses the whole document within [`yaml::DISPATCH_FILE`] and `caps`; see the module comment.
pub(crate) fn walk(text: &str, caps: &[EntryCap]) -> Walk {
    let mut builder = Builder {
        caps,
        ..Builder::default()
    };
    let (mut refused, mut syntax) = (None, None);
    match build(text, &mut builder) {
        Ok(()) => {}
        Err(Stopped::Builder(problem)) => refused = Some(problem),
        Err(Stopped::Reader(yaml::Stop {
            why: Why::Syntax(info),
            at,
        })) => syntax = Some(syntax_error(text, &info, location(at))),
        Err(Stopped::Reader(stop)) => {
            refused = Some(refusal(&stop.why).at(Some(location(stop.at))));
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

/// Why [`build`] stopped.
enum Stopped {
    Reader(yaml::Stop),
    Builder(Diagnostic),
}

/// Feeds every event of `text` to `builder`, until the end or the first refusal.
fn build(text: &str, builder: &mut Builder) -> Result<(), Stopped> {
    let mut reader = yaml::Reader::new(text, yaml::DISPATCH_FILE).map_err(Stopped::Reader)?;
    while let Some((event, mark)) = reader.next_event().map_err(Stopped::Reader)? {
        builder
            .on_event(event, mark)
            .map_err(|problem| Stopped::Builder(problem.at(Some(location(mark)))))?;
    }
    Ok(())
}

fn syntax_error(text: &str, info: &str, at: Location) -> Diagnostic {
    let (at, message) = place_syntax_error(text, info, at);
    let help = syntax_help(&message, text, Some(at.line));
    Diagnostic::error(Code::Syntax, "", message)
        .with_help(help)
        .at(Some(at))
}

/// The reader's refusal, said for a dispatch file.
fn refusal(why: &Why) -> Diagnostic {
    let (code, help) = match why {
        Why::TooDeep { .. } => (
            Code::Limit,
            "a dispatch configuration needs a handful of levels; flatten the structure",
        ),
        Why::TooManyValues { .. } | Why::TooMuchText { .. } => (
            Code::Limit,
            "a dispatch configuration is a few hundred values; if aliases (`*name`) repeat a large part of the file, write it out or shrink it",
        ),
        Why::TooLarge { .. } => (Code::Limit, "a dispatch configuration is never that big"),
        Why::SecondDocument => (
            Code::Syntax,
            "a dispatch file is one document: remove this `---` and merge what follows into the first",
        ),
        Why::AliasInsideItsAnchor | Why::Syntax(_) => (
            Code::Syntax,
            "an alias (`*name`) can only repeat a node that is complete where the alias is written",
        ),
    };
    Diagnostic::error(code, "", why.to_string()).with_help(help)
}

/// The `too_many_entries` problem: `section` has more than `max` entries (`count` when known).
pub(crate) fn too_many_entries(section: &str, count: Option<usize>, max: usize) -> Diagnostic {
    let message = match count {
        Some(count) => {
            format!("`{section}` has {count} entries; orchestrator accepts at most {max}")
        }
        None => {
            format!("`{section}` has more than {max} entries; orchestrator accepts at most {max}")
        }
    };
    let help = "split the fan-out across several files, one per group of sources";
    Diagnostic::error(Code::Limit, section, message).with_help(help)
}

/// Where to look, for a YAML syntax error at `line` (1-based) of `text`.
pub(crate) fn syntax_help(message: &str, text: &str, line: Option<usize>) -> &'static str {
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
        map: Mapping,
        /// The key read, waiting for its value.
        key: Option<Node>,
        /// The section's cap, for a capped top-level section (and where its key is).
        cap: Option<(EntryCap, Pos)>,
    },
    Seq {
        at: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
}

#[derive(Default)]
struct Builder<'c> {
    caps: &'c [EntryCap],
    stack: Vec<Frame>,
    /// Finished anchored nodes, already without positions, ready to copy (the reader counted
    /// each one kept here against its limits).
    anchored: HashMap<usize, Node>,
    root: Option<(Node, Children)>,
    problems: Vec<Diagnostic>,
    recorder: Recorder,
}

fn location(mark: Mark) -> Location {
    Location {
        line: mark.line,
        column: mark.column,
    }
}

fn pos(mark: Mark) -> Pos {
    Pos {
        line: u32::try_from(mark.line).unwrap_or(u32::MAX),
        column: u32::try_from(mark.column).unwrap_or(u32::MAX),
    }
}

impl Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Mark) -> Result<(), Diagnostic> {
        match event {
            Event::Scalar(scalar) => {
                let plain = scalar.plain;
                let value = match scalar.tag {
                    Some(tag) => match node::resolve_tagged(scalar.text, &tag, plain) {
                        Ok(value) => value,
                        Err(message) => {
                            let d = Diagnostic::error(Code::InvalidValue, self.path(), message)
                                .with_help("remove the tag, or write a value of that type")
                                .at(Some(location(mark)));
                            self.problems.push(d);
                            Value::Null
                        }
                    },
                    None if plain => node::resolve_plain(scalar.text),
                    None => Value::Str(scalar.text),
                };
                let node = Node {
                    at: pos(mark),
                    value,
                };
                if scalar.anchor > 0 {
                    self.anchored.insert(scalar.anchor, node.copy_unplaced());
                }
                self.add(node, Children::NONE)?;
            }
            Event::Alias(anchor) => {
                // The reader refuses an alias of a node that is not complete.
                let Some(copy) = self.anchored.get(&anchor) else {
                    return Ok(());
                };
                let mut copy = copy.clone();
                copy.at = pos(mark);
                let children = self.recorder.subtree(&copy);
                self.add(copy, children)?;
            }
            Event::MappingStart { anchor } => {
                let cap = self.cap_of_next();
                self.recorder.open();
                self.stack.push(Frame::Map {
                    at: pos(mark),
                    anchor,
                    map: Mapping::default(),
                    key: None,
                    cap,
                });
            }
            Event::SequenceStart { anchor } => {
                self.recorder.open();
                self.stack.push(Frame::Seq {
                    at: pos(mark),
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => self.close()?,
        }
        Ok(())
    }

    /// The innermost collection is complete: it takes its place in its parent.
    fn close(&mut self) -> Result<(), Diagnostic> {
        let (node, anchor) = match self.stack.pop() {
            Some(Frame::Map {
                at, anchor, map, ..
            }) => {
                // yaml-rust2 marks a block mapping at its first `:`; the first key is where a
                // reader looks.
                let at = map.entries.first().map_or(at, |e| e.key.at);
                let value = Value::Map(map);
                (Node { at, value }, anchor)
            }
            Some(Frame::Seq { at, anchor, items }) => {
                let value = Value::Seq(items);
                (Node { at, value }, anchor)
            }
            None => return Ok(()),
        };
        let children = self.recorder.close(matches!(node.value, Value::Map(_)));
        if anchor > 0 {
            self.anchored.insert(anchor, node.copy_unplaced());
        }
        self.add(node, children)
    }

    /// The cap of a mapping that opens now: the value of a capped top-level key.
    fn cap_of_next(&self) -> Option<(EntryCap, Pos)> {
        let [Frame::Map { key: Some(key), .. }] = self.stack.as_slice() else {
            return None;
        };
        let name = key.as_str()?;
        let cap = self.caps.iter().find(|cap| cap.section == name)?;
        Some((*cap, key.at))
    }

    /// Puts a finished node where it belongs: the root, a list item, a key, or a key's value;
    /// and records where it is (`children`: where its own children were recorded).
    /// A key past its section's cap stops the walk.
    fn add(&mut self, node: Node, children: Children) -> Result<(), Diagnostic> {
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
            Some(Frame::Map { map, key, cap, .. }) => match key.take() {
                None => {
                    if let Some((cap, at)) = cap.filter(|(cap, _)| map.len() >= cap.max) {
                        return Err(too_many_entries(cap.section, None, cap.max).at(at.location()));
                    }
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
        Ok(())
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
        let walked = walk("targets:\n  web: {}\n  web: {}\n", &[]);
        let dup = &walked.problems[0];
        assert_eq!(dup.code, Code::DuplicateKey);
        assert_eq!(dup.path, "targets.web");
        assert_eq!(dup.location, Some(Location { line: 3, column: 3 }));
    }

    #[test]
    fn refuses_deep_nesting_without_recursing() {
        let walked = walk(&"- ".repeat(200_000), &[]);
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
        let refused = walk(&yaml, &[]).refused.expect("refused");
        assert!(refused.message.contains("aliases"), "{refused:?}");
    }

    #[test]
    fn refuses_a_second_document_at_its_marker() {
        let refused = walk("version: 1\n---\nversion: 1\n", &[])
            .refused
            .expect("refused");
        assert_eq!(refused.location, Some(Location { line: 2, column: 1 }));
        assert!(refused.message.contains("more than one"), "{refused:?}");
    }

    #[test]
    fn a_quoted_string_that_runs_on_is_shown_where_it_ends_and_names_where_it_began() {
        let syntax = walk("a:\n  b: \"open\n  c: x\n  d: \"y\"\n", &[])
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
        let syntax = walk("a:\n  b: x\n\tc: y\n", &[]).syntax.expect("syntax");
        assert_eq!(syntax.location, Some(Location { line: 3, column: 1 }));
    }

    #[test]
    fn a_capped_section_is_refused_at_its_first_entry_past_the_cap() {
        let cap = [EntryCap {
            section: "targets",
            max: 3,
        }];
        let mut yaml = String::from("version: 1\ntargets:\n");
        for i in 0..5 {
            yaml.push_str(&format!("  t{i}: {{}}\n"));
        }
        // The other sections are not capped, nor a `targets` deeper down.
        yaml.push_str(
            "other:\n  a: 1\n  b: 2\n  c: 3\n  d: 4\n  targets: {a: 1, b: 2, c: 3, d: 4}\n",
        );
        let refused = walk(&yaml, &cap).refused.expect("refused");
        assert_eq!(refused.code, Code::Limit);
        assert_eq!(refused.path, "targets");
        assert_eq!(
            refused.message,
            "`targets` has more than 3 entries; orchestrator accepts at most 3"
        );
        assert_eq!(refused.location, Some(Location { line: 2, column: 1 }));
        let three = yaml.replace("  t3: {}\n  t4: {}\n", "");
        assert!(walk(&three, &cap).refused.is_none());
    }

    #[test]
    fn anchors_nested_in_anchors_count_the_copies_they_keep() {
        // Each anchor keeps a copy of all it holds: 127 of them would keep 127 copies of this
        // scalar, 4 GiB for a file of 32 MiB, had the copies not been counted.
        let big = "x".repeat(1024 * 1024);
        let mut yaml = String::new();
        for i in 0..40 {
            yaml.push_str(&format!("{}- &a{i}\n", "  ".repeat(i)));
        }
        yaml.push_str(&format!("{}- {big}\n", "  ".repeat(40)));
        let refused = walk(&yaml, &[]).refused.expect("refused");
        assert!(refused.message.contains("MiB of text"), "{refused:?}");
    }
}
