//! The parsed file: one tree of YAML nodes, each with the line and column it was written at,
//! and a serde [`Deserializer`] over it, so typed sections are read straight from the tree the
//! one parse built (`locate.rs` builds it).
//!
//! Plain scalars are resolved by the YAML 1.2 core schema, as serde_yaml resolved them: `~`,
//! `null` and the empty scalar are null; `true`/`false` (and their capitalised forms) booleans;
//! integers in decimal, `0x`, `0o` and `0b`; floats including `.inf` and `.nan`; anything else,
//! and every quoted or block scalar, a string.

use serde::de::{self, DeserializeSeed, Deserializer, Unexpected, Visitor};
use std::collections::HashMap;
use std::fmt;

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
        if let Some(index) = &self.index {
            if let Some(&i) = index.get(&hash(name)) {
                let entry = self.entries.get(i as usize)?;
                if entry.key.key_name() == name {
                    return Some(entry);
                }
            } else {
                return None;
            }
        }
        self.entries.iter().find(|e| e.key.key_name() == name)
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.get_entry(name).map(|e| &e.value)
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

    fn unexpected(&self) -> Unexpected<'_> {
        match &self.value {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::UInt(n) => Unexpected::Unsigned(*n),
            Value::Int(n) => Unexpected::Signed(*n),
            Value::Float(f) => Unexpected::Float(*f),
            Value::Str(s) => Unexpected::Str(s),
            Value::Seq(_) => Unexpected::Seq,
            Value::Map(_) => Unexpected::Map,
        }
    }

    fn invalid_type(&self, expected: &dyn de::Expected) -> Error {
        de::Error::invalid_type(self.unexpected(), expected)
    }
}

/// What kind of value a node is, for messages.
pub fn describe(node: &Node) -> &'static str {
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
pub fn resolve_plain(text: String) -> Value {
    // Numbers start with a digit, a sign or `.`; null and booleans with one of `~nNtTfF`.
    // Everything else (most of a dispatch file) is a string without further ado.
    match text.as_bytes().first() {
        None => return Value::Null,
        Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F') => {
        }
        Some(_) => return Value::Str(text),
    }
    if parse_null(&text) {
        return Value::Null;
    }
    if let Some(b) = parse_bool(&text) {
        return Value::Bool(b);
    }
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
pub fn resolve_tagged(text: String, tag: &str, plain: bool) -> Result<Value, String> {
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

/// A deserialization problem, in serde's words (`sections.rs` rewords them for users).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Some entries of a mapping, read as a mapping: what is left of a section once unknown keys
/// and keys with bad values are set aside.
pub struct Fields<'a>(pub &'a [&'a Entry]);

impl<'de> Deserializer<'de> for Fields<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visit_map(self.0.iter().copied(), visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

fn visit_map<'de, V: Visitor<'de>>(
    entries: impl ExactSizeIterator<Item = &'de Entry>,
    visitor: V,
) -> Result<V::Value, Error> {
    let mut access = MapAccess {
        entries,
        value: None,
    };
    visitor.visit_map(&mut access)
}

fn visit_seq<'de, V: Visitor<'de>>(items: &'de [Node], visitor: V) -> Result<V::Value, Error> {
    visitor.visit_seq(SeqAccess {
        items: items.iter(),
    })
}

struct MapAccess<'de, I> {
    entries: I,
    value: Option<&'de Node>,
}

impl<'de, I: ExactSizeIterator<Item = &'de Entry>> de::MapAccess<'de> for MapAccess<'de, I> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            Some(entry) => {
                self.value = Some(&entry.value);
                seed.deserialize(&entry.key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("a mapping value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct SeqAccess<'de> {
    items: std::slice::Iter<'de, Node>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.items.next().map(|n| seed.deserialize(n)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// An enum variant named by a string (the only form a dispatch file uses).
struct UnitVariant<'de>(&'de str);

impl<'de> de::EnumAccess<'de> for UnitVariant<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let name = de::value::BorrowedStrDeserializer::<Error>::new(self.0);
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a newtype variant",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a tuple variant",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a struct variant",
        ))
    }
}

impl<'de> Deserializer<'de> for &'de Node {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::UInt(n) => visitor.visit_u64(*n),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visit_seq(items, visitor),
            Value::Map(map) => visit_map(map.entries.iter(), visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::UInt(_) | Value::Int(_) | Value::Float(_) => self.deserialize_any(visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Str(s) => visitor.visit_borrowed_str(s),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => visit_seq(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// A null list is an empty one, as with serde_yaml (`targets:` with nothing under it).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Seq(items) => visit_seq(items, visitor),
            Value::Null => visit_seq(&[], visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    /// A null mapping is an empty one, as with serde_yaml.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Map(map) => visit_map(map.entries.iter(), visitor),
            Value::Null => visit_map([].iter(), visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.value {
            Value::Str(s) => visitor.visit_enum(UnitVariant(s)),
            _ => Err(self.invalid_type(&"a string")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
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
