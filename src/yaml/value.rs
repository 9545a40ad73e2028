//! A document as plain values, for a file that is looked into rather than reported on (a
//! workflow file): no positions, scalars as written. Built from a [`Reader`]'s events, so it
//! is never larger than the reader's limits allow.

use super::{Event, Limits, Reader, Stop};
use std::collections::HashMap;

/// A node of the document. Scalars keep their text as written; [`Value::is_null`] and
/// [`Value::is_true`] read a plain one by the core schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Value>),
    /// Entries in file order (a repeated key is kept; [`Value::get`] finds the last, as
    /// GitHub's loader would).
    Map(Vec<(Value, Value)>),
}

impl Value {
    const NULL: Value = Value::Scalar {
        text: String::new(),
        plain: true,
    };

    /// A scalar's text (a null one included).
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A scalar's text when it is not null.
    pub(crate) fn scalar(&self) -> Option<&str> {
        self.text().filter(|_| !self.is_null())
    }

    /// The value of the mapping's last entry whose key is the scalar `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// `~`, `null` (any case the core schema allows) or nothing, written plain.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// `true` (any case the core schema allows), written plain.
    pub(crate) fn is_true(&self) -> bool {
        matches!(self, Value::Scalar { text, plain: true } if matches!(text.as_str(), "true" | "True" | "TRUE"))
    }
}

/// A collection still open.
enum Open {
    Seq(usize, Vec<Value>),
    /// Its entries so far, and the key read that waits for its value.
    Map(usize, Vec<(Value, Value)>, Option<Value>),
}

/// Reads `text` within `limits`: its document (null when the file holds none), or where and
/// why the reader stopped.
pub(crate) fn read(text: &str, limits: Limits) -> Result<Value, Stop> {
    let mut reader = Reader::new(text, limits)?;
    let mut open: Vec<Open> = Vec::new();
    // The reader has counted each copy kept here and each one an alias makes.
    let mut anchored: HashMap<usize, Value> = HashMap::new();
    let mut root = None;
    while let Some((event, _)) = reader.next_event()? {
        let (done, anchor) = match event {
            Event::MappingStart { anchor } => {
                open.push(Open::Map(anchor, Vec::new(), None));
                continue;
            }
            Event::SequenceStart { anchor } => {
                open.push(Open::Seq(anchor, Vec::new()));
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => match open.pop() {
                Some(Open::Seq(anchor, items)) => (Value::Seq(items), anchor),
                Some(Open::Map(anchor, entries, _)) => (Value::Map(entries), anchor),
                None => continue,
            },
            Event::Scalar(scalar) => {
                let plain = scalar.plain && scalar.tag.is_none();
                let value = Value::Scalar {
                    text: scalar.text,
                    plain,
                };
                (value, scalar.anchor)
            }
            Event::Alias(anchor) => (anchored.get(&anchor).cloned().unwrap_or(Value::NULL), 0),
        };
        if anchor > 0 {
            anchored.insert(anchor, done.clone());
        }
        match open.last_mut() {
            None => root = Some(done),
            Some(Open::Seq(_, items)) => items.push(done),
            Some(Open::Map(_, entries, key)) => match key.take() {
                None => *key = Some(done),
                Some(k) => entries.push((k, done)),
            },
        }
    }
    Ok(root.unwrap_or(Value::NULL))
}

#[cfg(test)]
mod tests {
    use super::super::{Why, WORKFLOW_FILE};
    use super::*;

    #[test]
    fn a_document_is_read_with_its_aliases_copied() {
        let doc = read("x: &t [a, 'b']\ny: *t\n'on': ~\n", WORKFLOW_FILE).unwrap();
        assert_eq!(doc.get("y"), doc.get("x"));
        let items = match doc.get("y") {
            Some(Value::Seq(items)) => items,
            other => panic!("{other:?}"),
        };
        assert_eq!(items[1].scalar(), Some("b"));
        assert!(doc.get("on").is_some_and(Value::is_null));
        assert_eq!(read("", WORKFLOW_FILE).unwrap(), Value::NULL);
    }

    #[test]
    fn a_quoted_or_tagged_scalar_is_never_null_or_true() {
        let doc = read("- ''\n- 'true'\n- !!str true\n- True\n", WORKFLOW_FILE).unwrap();
        let Value::Seq(items) = doc else {
            panic!("{doc:?}")
        };
        assert!(!items[0].is_null());
        assert!(!items[1].is_true() && !items[2].is_true());
        assert!(items[3].is_true());
    }

    #[test]
    fn a_deep_nest_is_refused_without_building_it() {
        let stop = read(&"- ".repeat(10_000), WORKFLOW_FILE).unwrap_err();
        assert_eq!(stop.why, Why::TooDeep { max: 64 });
    }
}
