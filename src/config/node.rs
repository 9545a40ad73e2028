//! The parsed file: one tree of YAML nodes, each with the line and column it was written at
//! (`walk.rs` builds it), and a serde deserializer over it (`node/de.rs`), so typed sections
//! are read straight from the tree the one parse built.
//!
//! Plain scalars are resolved by the YAML 1.2 core schema, as serde_yaml resolved them: `~`,
//! `null` and the empty scalar are null; `true`/`false` (and their capitalised forms) booleans;
//! integers in decimal, `0x`, `0o` and `0b`; floats including `.inf` and `.nan`; anything else,
//! and every quoted or block scalar, a string.

mod de;

pub(crate) use de::Fields;
use std::collections::HashMap;

/// Where a node was written: line and column, both from 1; `line == 0` when the node has no
/// place of its own (a copy made by an alias).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub const NONE: Pos = Pos { line: 0, column: 0 };

    pub fn location(self) -> Option<crate::diagnostic::Location> {
        (self.line > 0).then_some(crate::diagnostic::Location {
            line: self.line as usize,
            column: self.column as usize,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub at: Pos,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Mapping),
}

/// A mapping in file order. Large mappings (the `targets` of a big fan-out) get a hash index,
/// so finding a key stays cheap however many there are.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub entries: Vec<Entry>,
    index: Option<Box<KeyIndex>>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

/// Key name hash → position of the first entry with that hash. A hash shared by two different
/// names (rare, and harmless) sends the lookup to a linear scan.
type KeyIndex = HashMap<u64, u32>;

/// Mappings with fewer entries are searched linearly.
const INDEX_FROM: usize = 16;

fn hash(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
}

impl Mapping {
    /// The entry whose key is named `name` (see [`Node::key_name`]).
    pub fn get_entry(&self, name: &str) -> Option<&Entry> {
        self.position(name).and_then(|i| self.entries.get(i))
    }

    /// Where the entry named `name` is in `entries`.
    fn position(&self, name: &str) -> Option<usize> {
        if let Some(index) = &self.index {
            let &i = index.get(&hash(name))?;
            let i = i as usize;
            if self.entries.get(i)?.key.is_named(name) {
                return Some(i);
            }
        }
        self.entries.iter().position(|e| e.key.is_named(name))
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.get_entry(name).map(|e| &e.value)
    }

    /// The value of the entry named `name`, to take parts of it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        let i = self.position(name)?;
        self.entries.get_mut(i).map(|e| &mut e.value)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get_entry(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes out the entry named `name`: a value set aside because it could not be read. The
    /// index is dropped (positions after it moved); lookups fall back to a scan.
    pub fn remove(&mut self, name: &str) -> Option<Entry> {
        let i = self.position(name)?;
        self.index = None;
        Some(self.entries.remove(i))
    }

    /// Adds an entry, or gives it back when a key of the same name is already there.
    pub fn insert(&mut self, entry: Entry) -> Result<(), Entry> {
        let position = self.entries.len() as u32;
        let hashed = {
            let name = entry.key.key_name();
            if self.get_entry(&name).is_some() {
                return Err(entry);
            }
            (self.index.is_some() || self.entries.len() + 1 >= INDEX_FROM).then(|| hash(&name))
        };
        if let Some(hashed) = hashed {
            let index = self.index.get_or_insert_with(|| {
                let mut index = KeyIndex::with_capacity(2 * INDEX_FROM);
                for (i, e) in self.entries.iter().enumerate() {
                    index.entry(hash(&e.key.key_name())).or_insert(i as u32);
                }
                Box::new(index)
            });
            index.entry(hashed).or_insert(position);
        }
        self.entries.push(entry);
        Ok(())
    }
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Takes the node's value, leaving null in its place (its position stays).
    pub fn take(&mut self) -> Node {
        Node {
            at: self.at,
            value: std::mem::replace(&mut self.value, Value::Null),
        }
    }

    pub fn as_map(&self) -> Option<&Mapping> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// How a key is named in key paths and messages: its text, for a scalar.
    pub fn key_name(&self) -> std::borrow::Cow<'_, str> {
        match &self.value {
            Value::Str(s) => s.as_str().into(),
            Value::UInt(n) => n.to_string().into(),
            Value::Int(n) => n.to_string().into(),
            Value::Float(f) => f.to_string().into(),
            Value::Bool(b) => b.to_string().into(),
            Value::Null => "~".into(),
            Value::Seq(_) | Value::Map(_) => "?".into(),
        }
    }

    /// Whether [`Node::key_name`] is `name` (a string key is compared without the detour).
    fn is_named(&self, name: &str) -> bool {
        match &self.value {
            Value::Str(s) => s == name,
            _ => self.key_name() == name,
        }
    }

    /// A copy for an alias: the same values, placed where the alias is.
    pub fn copy_unplaced(&self) -> Node {
        let value = match &self.value {
            Value::Seq(items) => Value::Seq(items.iter().map(Node::copy_unplaced).collect()),
            Value::Map(map) => Value::Map(Mapping {
                entries: map
                    .entries
                    .iter()
                    .map(|e| Entry {
                        key: e.key.copy_unplaced(),
                        value: e.value.copy_unplaced(),
                    })
                    .collect(),
                index: map.index.clone(),
            }),
            other => other.clone(),
        };
        Node {
            at: Pos::NONE,
            value,
        }
    }
}

/// What kind of value a node is, for messages.
pub(crate) fn describe(node: &Node) -> &'static str {
    match node.value {
        Value::Null => "empty (null)",
        Value::Bool(_) => "a boolean",
        Value::UInt(_) | Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

/// A plain scalar's value by the core schema.
pub(crate) fn resolve_plain(text: String) -> Value {
    // The first character says what a scalar can be: null starts with one of `~nN`, a
    // boolean with one of `tTfF`, a number with a digit, a sign or `.`. Everything else (most
    // of a dispatch file, and names such as `token_env` or `t0001`) is a string without
    // trying to read it as anything more.
    match text.as_bytes().first() {
        None => Value::Null,
        Some(b'~' | b'n' | b'N') if parse_null(&text) => Value::Null,
        Some(b't' | b'T' | b'f' | b'F') => match parse_bool(&text) {
            Some(b) => Value::Bool(b),
            None => Value::Str(text),
        },
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => resolve_number(text),
        Some(_) => Value::Str(text),
    }
}

/// A plain scalar that starts like a number: an integer, a float, or else a string.
fn resolve_number(text: String) -> Value {
    if let Some(n) = parse_int(&text) {
        return n;
    }
    if !digits_but_not_number(&text) {
        if let Some(f) = parse_float(&text) {
            return Value::Float(f);
        }
    }
    Value::Str(text)
}

/// A scalar with a core-schema tag (`!!str`, `!!int`, ...): its value, or why it cannot have
/// that tag. Other tags are ignored, as serde_yaml ignored them for typed values.
pub(crate) fn resolve_tagged(text: String, tag: &str, plain: bool) -> Result<Value, String> {
    let fail = |what: &str| {
        Err(format!(
            "`{}` is not {what}, as its tag `!!{tag}` says",
            crate::diagnostic::shown(&text)
        ))
    };
    match tag {
        "str" => Ok(Value::Str(text)),
        "bool" => match parse_bool(&text) {
            Some(b) => Ok(Value::Bool(b)),
            None => fail("true or false"),
        },
        "int" => match parse_int(&text) {
            Some(n) => Ok(n),
            None => fail("a whole number"),
        },
        "float" => match parse_float(&text) {
            Some(f) => Ok(Value::Float(f)),
            None => fail("a number"),
        },
        "null" => match text.is_empty() || parse_null(&text) {
            true => Ok(Value::Null),
            false => fail("null"),
        },
        "seq" | "map" => fail(if tag == "seq" { "a list" } else { "a mapping" }),
        _ if plain => Ok(resolve_plain(text)),
        _ => Ok(Value::Str(text)),
    }
}

fn parse_null(text: &str) -> bool {
    matches!(text, "null" | "Null" | "NULL" | "~")
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Decimal, `0x`, `0o` or `0b`, with an optional sign; a leading zero makes it a string.
fn parse_int(text: &str) -> Option<Value> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if unsigned.starts_with(['+', '-']) || unsigned.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(rest) = unsigned.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = unsigned.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = unsigned.strip_prefix("0b") {
        (2, rest)
    } else {
        if digits_but_not_number(text) {
            return None;
        }
        (10, unsigned)
    };
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if !negative {
        return Some(Value::UInt(magnitude));
    }
    if magnitude == 0 {
        return Some(Value::UInt(0));
    }
    0i64.checked_sub_unsigned(magnitude).map(Value::Int)
}

fn parse_float(text: &str) -> Option<f64> {
    let unsigned = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    match unsigned {
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    // Rust also reads `inf`, `NaN` and `infinity`, which YAML does not.
    if !unsigned.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    unsigned.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Leading zeros followed by digits (`007`) is a string in YAML 1.2.
fn digits_but_not_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> String {
        format!("{:?}", resolve_plain(text.to_owned()))
    }

    #[test]
    fn plain_scalars_resolve_by_the_core_schema() {
        assert_eq!(plain(""), "Null");
        assert_eq!(plain("~"), "Null");
        assert_eq!(plain("NULL"), "Null");
        assert_eq!(plain("True"), "Bool(true)");
        assert_eq!(plain("yes"), "Str(\"yes\")");
        assert_eq!(plain("42"), "UInt(42)");
        assert_eq!(plain("+42"), "UInt(42)");
        assert_eq!(plain("-42"), "Int(-42)");
        assert_eq!(plain("0x1f"), "UInt(31)");
        assert_eq!(plain("0o17"), "UInt(15)");
        assert_eq!(plain("0b11"), "UInt(3)");
        assert_eq!(plain("007"), "Str(\"007\")");
        assert_eq!(plain("1.5"), "Float(1.5)");
        assert_eq!(plain("1e3"), "Float(1000.0)");
        assert_eq!(plain("-.inf"), "Float(-inf)");
        assert_eq!(plain(".NaN"), "Float(NaN)");
        assert_eq!(plain("inf"), "Str(\"inf\")");
        assert_eq!(plain("1.2.3"), "Str(\"1.2.3\")");
        assert_eq!(plain("--1"), "Str(\"--1\")");
        assert_eq!(
            plain("18446744073709551616"),
            "Float(1.8446744073709552e19)"
        );
    }

    #[test]
    fn core_tags_are_honoured() {
        let tagged = |text: &str, tag: &str| {
            resolve_tagged(text.to_owned(), tag, true).map(|v| format!("{v:?}"))
        };
        assert_eq!(tagged("123", "str").as_deref(), Ok("Str(\"123\")"));
        assert_eq!(tagged("123", "int").as_deref(), Ok("UInt(123)"));
        assert_eq!(tagged("1", "float").as_deref(), Ok("Float(1.0)"));
        assert_eq!(tagged("~", "null").as_deref(), Ok("Null"));
        assert!(tagged("x", "int").is_err());
        assert_eq!(tagged("12", "custom").as_deref(), Ok("UInt(12)"));
    }
}
