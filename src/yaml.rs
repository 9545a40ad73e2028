//! The one reader of YAML: every file someone else wrote (`dispatch.yaml`, the base
//! `dispatch.yaml` that `diff` reads from git, a workflow file a server sends to `check`) is
//! read through a [`Reader`], and this file is the only one that names yaml-rust2
//! (`tests/it/architecture.rs` fails on any other).
//!
//! The reader pulls the parser's events one at a time (no recursion) and stops as soon as the
//! file crosses one of its [`Limits`], before anything past the limit is built: its size,
//! nesting depth, and the values and bytes of text it stands for once its aliases are
//! expanded. An alias costs what it copies, and an anchor what a builder keeps to copy it
//! from, so what any builder holds is what was counted. It also refuses what no file it reads
//! needs: a second document, and an alias inside the node it names.
//!
//! What is built from the events is the caller's: `config::walk` builds a tree that keeps
//! positions; [`read`] builds a plain [`Value`] for files that are looked into, not reported on.

mod value;

use std::collections::HashMap;
pub(crate) use value::{read, Value};
use yaml_rust2::parser::{Event as Parsed, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// What a file may hold. Each kind of file has its own, below; README's "Limits" table and its
/// `check` section repeat them for users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Bytes of text: a larger file is refused before it is parsed.
    pub max_bytes: u64,
    /// Mappings and lists open inside each other (which also bounds every recursion over a
    /// built tree, its drop included).
    pub max_depth: usize,
    /// Keys, list items and values, once aliases are expanded and anchors kept.
    pub max_nodes: u64,
    /// Bytes of scalar text (keys and values), counted as `max_nodes` is.
    pub max_expanded_bytes: u64,
}

const MIB: u64 = 1024 * 1024;

/// `dispatch.yaml`, and its base read by `diff`. A real file is a few KiB and a
/// 10,000-target one about 2 MiB and 150,000 values; 128 levels was serde_yaml's limit too.
/// The caps bound the time and memory any file can cost `validate` and `run`.
pub(crate) const DISPATCH_FILE: Limits = Limits {
    max_bytes: 8 * MIB,
    max_depth: 128,
    max_nodes: 1_000_000,
    max_expanded_bytes: 32 * MIB,
};

/// A workflow file that `check` reads through the contents API from a repository it does not
/// control. GitHub serves a file as base64 only up to 1 MiB (a larger one comes without its
/// content), so nothing larger is real. The largest real workflows are a few thousand lines:
/// some 20,000 values nested about 10 levels deep (`jobs.<id>.strategy.matrix.include[n]…`).
/// Aliases may repeat parts of a file, up to four times its cap in text. Within these caps a
/// file costs `check` a few MiB, however it is written.
pub(crate) const WORKFLOW_FILE: Limits = Limits {
    max_bytes: MIB,
    max_depth: 64,
    max_nodes: 100_000,
    max_expanded_bytes: 4 * MIB,
};

/// A Helm repository's `index.yaml`, read by an `await: - helm:` check from a server the
/// configuration names but does not control. Large public repositories list thousands of
/// chart versions (some 10 MiB, a few hundred thousand values); nothing real nests deep.
pub(crate) const HELM_INDEX: Limits = Limits {
    max_bytes: 16 * MIB,
    max_depth: 32,
    max_nodes: 2_000_000,
    max_expanded_bytes: 32 * MIB,
};

/// Where an event or a problem is: line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    const START: Mark = Mark { line: 1, column: 1 };

    fn of(marker: Marker) -> Mark {
        // yaml-rust2 counts lines from 1 and columns from 0; editors count both from 1.
        Mark {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// One step of the document. `anchor` is 0 for a node without one; an alias names the anchor
/// of a node that is complete.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Scalar(Scalar),
    Alias(usize),
    MappingStart { anchor: usize },
    SequenceStart { anchor: usize },
    MappingEnd,
    SequenceEnd,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    /// Written without quotes or a block indicator, so the core schema resolves it.
    pub plain: bool,
    pub anchor: usize,
    /// `Some` when tagged: the core schema's name (`str`, `int`, …), empty for another tag.
    pub tag: Option<String>,
}

/// Why the reader stopped, and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stop {
    pub why: Why,
    pub at: Mark,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Why {
    /// yaml-rust2's description of the syntax error.
    Syntax(String),
    TooLarge {
        bytes: u64,
        max: u64,
    },
    TooDeep {
        max: usize,
    },
    TooManyValues {
        max: u64,
    },
    TooMuchText {
        max: u64,
    },
    SecondDocument,
    AliasInsideItsAnchor,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Syntax(info) => write!(f, "invalid YAML: {info}"),
            Why::TooLarge { bytes, max } => write!(
                f,
                "the file is {bytes} bytes, more than the {} MiB it may have",
                max / MIB
            ),
            Why::TooDeep { max } => write!(f, "the document nests more than {max} levels deep"),
            Why::TooManyValues { max } => write!(
                f,
                "the document holds more than {max} values once its aliases are expanded"
            ),
            Why::TooMuchText { max } => write!(
                f,
                "the document holds more than {} MiB of text once its aliases are expanded",
                max / MIB
            ),
            Why::SecondDocument => f.write_str("the file holds more than one YAML document"),
            Why::AliasInsideItsAnchor => {
                f.write_str("this alias refers to the node that contains it")
            }
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.why {
            // Refused unread: no place in the file to name.
            Why::TooLarge { .. } => write!(f, "{}", self.why),
            _ => write!(
                f,
                "{} (line {}, column {})",
                self.why, self.at.line, self.at.column
            ),
        }
    }
}

/// How much of the expanded document a node stands for.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: u64,
    bytes: u64,
}

impl Size {
    fn plus(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }

    fn since(self, start: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_sub(start.nodes),
            bytes: self.bytes.saturating_sub(start.bytes),
        }
    }
}

/// The bounded event reader; see the module comment.
pub(crate) struct Reader<'a> {
    parser: Parser<std::str::Chars<'a>>,
    limits: Limits,
    /// Open collections, innermost last: each one's anchor and `expanded` when it opened.
    open: Vec<(usize, Size)>,
    /// The expanded size of each complete anchored node, which an alias of it costs.
    anchored: HashMap<usize, Size>,
    /// What the document stands for so far, aliases expanded.
    expanded: Size,
    /// What builders keep to copy anchored nodes from (not part of any node's size).
    kept: Size,
    documents: usize,
    finished: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `text`, or why it is refused unread (larger than `limits.max_bytes`).
    pub(crate) fn new(text: &'a str, limits: Limits) -> Result<Reader<'a>, Stop> {
        let bytes = text.len() as u64;
        if bytes > limits.max_bytes {
            return Err(Stop {
                why: Why::TooLarge {
                    bytes,
                    max: limits.max_bytes,
                },
                at: Mark::START,
            });
        }
        Ok(Reader {
            parser: Parser::new_from_str(text),
            limits,
            open: Vec::new(),
            anchored: HashMap::new(),
            expanded: Size::default(),
            kept: Size::default(),
            documents: 0,
            finished: false,
        })
    }

    /// The next event, `None` at the end of the file; after an `Err` the reader is done.
    pub(crate) fn next_event(&mut self) -> Result<Option<(Event, Mark)>, Stop> {
        while !self.finished {
            let (parsed, marker) = match self.parser.next_token() {
                Ok(next) => next,
                Err(err) => return self.stop(Why::Syntax(err.info().to_owned()), *err.marker()),
            };
            match self.count(parsed) {
                Ok(Some(event)) => return Ok(Some((event, Mark::of(marker)))),
                Ok(None) => {}
                Err(why) => return self.stop(why, marker),
            }
        }
        Ok(None)
    }

    fn stop<T>(&mut self, why: Why, at: Marker) -> Result<T, Stop> {
        self.finished = true;
        Err(Stop {
            why,
            at: Mark::of(at),
        })
    }

    /// Counts what `parsed` adds to the document and turns it into an [`Event`] (`None` for
    /// the parser's bookkeeping events).
    fn count(&mut self, parsed: Parsed) -> Result<Option<Event>, Why> {
        let event = match parsed {
            Parsed::StreamEnd => {
                self.finished = true;
                return Ok(None);
            }
            Parsed::DocumentStart => {
                self.documents += 1;
                return match self.documents {
                    1 => Ok(None),
                    _ => Err(Why::SecondDocument),
                };
            }
            Parsed::Scalar(text, style, anchor, tag) => {
                let size = Size {
                    nodes: 1,
                    bytes: text.len() as u64,
                };
                self.grow(size)?;
                self.keep(anchor, size)?;
                Event::Scalar(Scalar {
                    text,
                    plain: style == TScalarStyle::Plain,
                    anchor,
                    tag: tag.map(|tag| core_tag(&tag).to_owned()),
                })
            }
            Parsed::Alias(anchor) => {
                let size = *self
                    .anchored
                    .get(&anchor)
                    .ok_or(Why::AliasInsideItsAnchor)?;
                self.grow(size)?;
                Event::Alias(anchor)
            }
            Parsed::MappingStart(anchor, _) | Parsed::SequenceStart(anchor, _) => {
                if self.open.len() >= self.limits.max_depth {
                    return Err(Why::TooDeep {
                        max: self.limits.max_depth,
                    });
                }
                self.open.push((anchor, self.expanded));
                self.grow(Size { nodes: 1, bytes: 0 })?;
                match parsed {
                    Parsed::MappingStart(..) => Event::MappingStart { anchor },
                    _ => Event::SequenceStart { anchor },
                }
            }
            Parsed::MappingEnd | Parsed::SequenceEnd => {
                if let Some((anchor, start)) = self.open.pop() {
                    self.keep(anchor, self.expanded.since(start))?;
                }
                match parsed {
                    Parsed::MappingEnd => Event::MappingEnd,
                    _ => Event::SequenceEnd,
                }
            }
            Parsed::Nothing | Parsed::StreamStart | Parsed::DocumentEnd => return Ok(None),
        };
        Ok(Some(event))
    }

    /// The document grows by `size` (a node, or an alias's copy).
    fn grow(&mut self, size: Size) -> Result<(), Why> {
        self.expanded = self.expanded.plus(size);
        self.within_limits()
    }

    /// A complete node of `size` is anchored: a builder keeps a copy of it to repeat.
    fn keep(&mut self, anchor: usize, size: Size) -> Result<(), Why> {
        if anchor == 0 {
            return Ok(());
        }
        self.anchored.insert(anchor, size);
        self.kept = self.kept.plus(size);
        self.within_limits()
    }

    fn within_limits(&self) -> Result<(), Why> {
        let held = self.expanded.plus(self.kept);
        if held.nodes > self.limits.max_nodes {
            return Err(Why::TooManyValues {
                max: self.limits.max_nodes,
            });
        }
        if held.bytes > self.limits.max_expanded_bytes {
            return Err(Why::TooMuchText {
                max: self.limits.max_expanded_bytes,
            });
        }
        Ok(())
    }
}

/// The core schema's name in a tag (`!!str` is `tag:yaml.org,2002:str` in full), or `""`.
fn core_tag(tag: &Tag) -> &str {
    const CORE: &str = "tag:yaml.org,2002:";
    if tag.handle == CORE {
        &tag.suffix
    } else if tag.handle.is_empty() || tag.handle == "!" {
        tag.suffix.strip_prefix(CORE).unwrap_or("")
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `text`, or where and why the reader stopped.
    fn events(text: &str, limits: Limits) -> Result<Vec<Event>, Stop> {
        let mut reader = Reader::new(text, limits)?;
        let mut all = Vec::new();
        while let Some((event, _)) = reader.next_event()? {
            all.push(event);
        }
        Ok(all)
    }

    fn small(max_nodes: u64, max_expanded_bytes: u64) -> Limits {
        Limits {
            max_bytes: MIB,
            max_depth: 8,
            max_nodes,
            max_expanded_bytes,
        }
    }

    #[test]
    fn a_file_over_the_byte_cap_is_refused_before_it_is_parsed() {
        let stop = events(&"x".repeat(2_000_000), WORKFLOW_FILE).unwrap_err();
        assert_eq!(
            stop.why,
            Why::TooLarge {
                bytes: 2_000_000,
                max: MIB
            }
        );
        assert_eq!(stop.at, Mark::START);
    }

    #[test]
    fn an_alias_costs_what_it_copies_and_is_refused_before_it_is_copied() {
        let stop = events("a: &a xxxxxxxxxx\nb: [*a, *a, *a]\n", small(100, 40)).unwrap_err();
        assert_eq!(stop.why, Why::TooMuchText { max: 40 });
        // a (1) + the anchor's value (10, and 10 kept) + b (1) + two copies (20) > 40: the
        // second alias is where it stops.
        assert_eq!(stop.at, Mark { line: 2, column: 9 });
    }

    #[test]
    fn anchors_nested_in_anchors_count_the_copies_they_keep() {
        let text = "- &a [&b [&c [&d [xxxxxxxxxx]]]]\n";
        let stop = events(text, small(100, 45)).unwrap_err();
        assert_eq!(stop.why, Why::TooMuchText { max: 45 });
        assert!(events(text, small(100, 50)).is_ok());
    }

    #[test]
    fn depth_is_refused_at_the_first_level_too_many() {
        let stop = events(&"- ".repeat(10_000), small(1_000, 1_000)).unwrap_err();
        assert_eq!(stop.why, Why::TooDeep { max: 8 });
        assert_eq!(
            stop.at,
            Mark {
                line: 1,
                column: 17
            }
        );
    }

    #[test]
    fn a_second_document_and_an_alias_inside_its_anchor_are_refused() {
        let second = events("a: 1\n---\nb: 2\n", DISPATCH_FILE).unwrap_err();
        assert_eq!(second.why, Why::SecondDocument);
        let inside = events("a: &a [x, *a]\n", DISPATCH_FILE).unwrap_err();
        assert_eq!(inside.why, Why::AliasInsideItsAnchor);
    }

    #[test]
    fn scalars_say_how_they_were_written() {
        let read = events("- 'q'\n- !!str p\n- !custom c\n- &n n\n", DISPATCH_FILE).unwrap();
        let scalar = |i: usize| match &read[i] {
            Event::Scalar(s) => (s.text.as_str(), s.plain, s.tag.as_deref(), s.anchor > 0),
            other => panic!("{other:?}"),
        };
        assert_eq!(scalar(1), ("q", false, None, false));
        assert_eq!(scalar(2), ("p", true, Some("str"), false));
        assert_eq!(scalar(3), ("c", true, Some(""), false));
        assert_eq!(scalar(4), ("n", true, None, true));
    }
}
