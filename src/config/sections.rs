//! Deserializing the sections of a parsed file (`defaults`, each source, each target) one by
//! one, and each key of those as far as serde allows, so that one run reports every unknown,
//! missing and mistyped key; and turning serde's messages into ones about YAML. Sections are
//! read straight from the parsed tree (`node.rs`), by reference: nothing is copied to be read.

use super::locate::Locator;
use super::model::Source;
use super::node::{describe, Entry, Fields, Mapping, Node, Value};
use super::values::is_valid_name;
use super::walk::too_many_entries;
use crate::diagnostic::{closest, join, join_into, shown, Code, Diagnostic};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// Sources, and targets, a file may define: past any real fan-out (GitHub's secondary rate
/// limit allows about 80 dispatches a minute), and it bounds what `validate` renders.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// The keys a config struct has, read from its schema so the two cannot disagree.
pub(crate) struct Shape {
    keys: Vec<String>,
    required: Vec<String>,
    descriptions: IndexMap<String, String>,
}

impl Shape {
    pub(crate) fn of<T: JsonSchema>() -> Shape {
        let schema = schemars::schema_for!(T);
        let properties = schema.get("properties").and_then(|p| p.as_object());
        let keys = properties
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let descriptions = properties
            .map(|p| {
                p.iter()
                    .filter_map(|(key, property)| {
                        let text = property.get("description")?.as_str()?;
                        let text = text.replace('\n', " ");
                        let help = match property.get("title").and_then(|t| t.as_str()) {
                            Some(title) => format!("{title}: {text}"),
                            None => text,
                        };
                        Some((key.clone(), help))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let required = schema
            .get("required")
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Shape {
            keys,
            required,
            descriptions,
        }
    }

    fn knows(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// Deserializes each section (and each named source and target) on its own, and each key of
/// those as far as serde allows, so one typo does not hide the next.
pub(crate) struct SectionParser<'a> {
    pub locator: &'a Locator,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    /// Whether `defaults.github_app` is set, which stands in for a target's `token_env`.
    pub default_app: bool,
    /// Sections and entries that could not be read at all (`targets.web`, `sources`).
    pub dropped: Vec<String>,
}

/// What reading the file could not take into the model, so that compiling the rest does not
/// say it again: the key paths a problem was reported at (a value set aside, a missing key),
/// and the sections and entries not read at all.
#[derive(Debug, Default)]
pub(crate) struct Unread {
    said: std::collections::HashSet<String>,
    dropped: Vec<String>,
}

impl Unread {
    /// From the problems reading found and what it dropped. A repeated key is not unread (its
    /// first value is), nor is the file as a whole.
    pub(crate) fn new(problems: &[Diagnostic], dropped: Vec<String>) -> Unread {
        let said = problems
            .iter()
            .filter(|d| d.code != Code::DuplicateKey && !d.path.is_empty())
            .map(|d| d.path.clone())
            .chain(dropped.iter().cloned())
            .collect();
        Unread { said, dropped }
    }

    /// Whether a problem at `path` is about something already said: the path, or one it is
    /// under, was unread.
    pub(crate) fn covers(&self, path: &str) -> bool {
        !self.said.is_empty()
            && path
                .char_indices()
                .filter(|(_, c)| matches!(c, '.' | '['))
                .map(|(i, _)| i)
                .chain([path.len()])
                .any(|end| self.said.contains(&path[..end]))
    }

    /// Whether an entry of `section` (or the section) could not be read.
    pub(crate) fn dropped_in(&self, section: &str) -> bool {
        self.dropped.iter().any(|d| {
            d.strip_prefix(section)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }
}

impl SectionParser<'_> {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        let at = self.locator.find(&d.path);
        self.diagnostics.push(d.at(at));
    }

    /// Reports every unknown and every missing key of `map`; true when there are none.
    pub(crate) fn check_keys(&mut self, path: &str, map: &Mapping, shape: &Shape) -> bool {
        let mut sound = true;
        for Entry { key, .. } in &map.entries {
            if !key.as_str().is_some_and(|k| shape.knows(k)) {
                sound = false;
                let allowed: Vec<&str> = shape.keys.iter().map(String::as_str).collect();
                self.push(unknown_key(path, &key.key_name(), &allowed));
            }
        }
        for key in &shape.required {
            if !map.contains_key(key.as_str()) {
                sound = false;
                self.push(missing_key(path, key));
            }
        }
        // A target's required keys depend on its kind, which the schema says with if/then.
        if shape.knows("kind") {
            let kind = match map.get("kind").map(|k| &k.value) {
                Some(Value::Str(kind)) => kind.as_str(),
                Some(_) => "",
                None => "repository_dispatch",
            };
            for key in super::kinds::required_keys(kind) {
                if !map.contains_key(key) {
                    sound = false;
                    self.push(missing_key(path, key));
                }
            }
            let has_credential =
                map.contains_key("token_env") || map.contains_key("github_app") || self.default_app;
            if kind != "webhook" && !has_credential {
                sound = false;
                self.push(missing_key(path, "token_env"));
            }
        }
        sound
    }

    /// A plain value (not a config struct).
    pub(crate) fn value<T: DeserializeOwned>(&mut self, path: &str, value: &Node) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(err) => {
                let inner = render_path(path, err.path());
                let message = err.inner().to_string();
                let mut d = serde_diagnostic(&inner, &message);
                if let Some(help) = wrong_type_help(&message, Some(value)) {
                    d = d.with_help(help);
                }
                self.push(d);
                None
            }
        }
    }

    /// A config struct: its keys are checked first, then each known key's value. serde stops
    /// at the first bad value, so the value it names is set aside (the innermost key, so
    /// `when.prerelease` keeps `when.version`) and the rest tried again, until every value has
    /// been looked at. What is left is returned even when something was set aside: the rest of
    /// the section is still checked (templates, references, tokens), and the problems said
    /// here keep the file from being used.
    pub(crate) fn section<T: DeserializeOwned>(
        &mut self,
        path: &str,
        value: &Node,
        shape: &Shape,
    ) -> Option<T> {
        let Value::Map(map) = &value.value else {
            self.push(not_a_mapping(path, value, shape));
            return None;
        };
        let sound = self.check_keys(path, map, shape);
        // Most sections are sound: read them plainly, and track the path only to explain a
        // failure.
        if sound {
            if let Ok(v) = T::deserialize(value) {
                return Some(v);
            }
        }
        // Set aside on a copy: only a section with a problem pays for it.
        let mut kept: Vec<Entry> = map
            .entries
            .iter()
            .filter(|e| e.key.as_str().is_some_and(|k| shape.knows(k)))
            .cloned()
            .collect();
        // What was set aside so far, by key path: a required key set aside is not "missing".
        let mut aside: Vec<Vec<String>> = Vec::new();
        for pass in 0.. {
            let refs: Vec<&Entry> = kept.iter().collect();
            // What is left is read plainly first too.
            if let Ok(v) = T::deserialize(Fields(&refs)) {
                return Some(v);
            }
            let err = match serde_path_to_error::deserialize::<_, T>(Fields(&refs)) {
                Ok(v) => return Some(v),
                Err(err) => err,
            };
            let keys = map_keys(err.path());
            let message = err.inner().to_string();
            if !set_aside_before(&message, &keys, &aside) {
                self.explain(path, &message, err.path(), &kept, shape);
            }
            // Past a few nested values, whole keys go (each known key at most once), so a
            // hostile section costs as many passes as it has keys, not values.
            let depth = if pass < MAX_NESTED_SET_ASIDE {
                keys.len()
            } else {
                1
            };
            let keys = &keys[..depth.min(keys.len())];
            if keys
                .first()
                .is_some_and(|k| KEYSTONES.contains(&k.as_str()))
                || !set_aside(&mut kept, keys)
            {
                return None;
            }
            aside.push(keys.to_vec());
        }
        None
    }

    /// Reports why `kept` did not read, unless it is a missing key `check_keys` said already.
    fn explain(
        &mut self,
        path: &str,
        message: &str,
        at: &serde_path_to_error::Path,
        kept: &[Entry],
        shape: &Shape,
    ) {
        let keys = map_keys(at);
        // A missing key at this level was reported by `check_keys`, or is one set aside; only
        // a nested one is news.
        if message.starts_with("missing field") && keys.is_empty() {
            return;
        }
        let inner = render_path(path, at);
        let mut d = serde_diagnostic(&inner, message);
        if d.help.is_none() {
            let found = node_at(kept, at);
            let help = wrong_type_help(message, found)
                .or_else(|| variant_help(message))
                .or_else(|| {
                    keys.first()
                        .and_then(|k| shape.descriptions.get(k))
                        .cloned()
                });
            if let Some(help) = help {
                d = d.with_help(help);
            }
        }
        self.push(d);
    }

    /// Reads the entries of the mapping `section`, freeing each one's part of the tree as soon
    /// as it is read (a 10,000-target file's tree and model are never both whole in memory).
    /// An entry that does not read (a problem said) is taken as `salvage` reads it, when it
    /// can, so that what it refers to is still checked; otherwise it is left out.
    pub(crate) fn named_entries<T: DeserializeOwned + JsonSchema>(
        &mut self,
        root: &mut Mapping,
        section: &str,
        salvage: fn(&Node) -> Option<T>,
    ) -> IndexMap<String, Box<T>> {
        let map = match root.get_mut(section) {
            None => {
                // reported by `check_keys`
                self.dropped.push(section.to_owned());
                return IndexMap::new();
            }
            Some(Node {
                value: Value::Map(map),
                ..
            }) => map,
            Some(other) => {
                let message = format!(
                    "`{section}` must be a mapping of names, not {}",
                    describe(other)
                );
                let help = format!("write each entry as `name:` indented under `{section}:`");
                self.push(Diagnostic::error(Code::InvalidValue, section, message).with_help(help));
                self.dropped.push(section.to_owned());
                return IndexMap::new();
            }
        };
        // The walk stops at the first entry past the cap; a section that an alias copied in
        // whole is caught here.
        if map.len() > MAX_ENTRIES {
            self.push(too_many_entries(section, Some(map.len()), MAX_ENTRIES));
            self.dropped.push(section.to_owned());
            return IndexMap::new();
        }
        let shape = Shape::of::<T>();
        let mut entries = IndexMap::with_capacity(map.entries.len());
        // `section.name`, written into one buffer: 10,000 targets need no 10,000 paths.
        let mut path = String::new();
        for Entry { key, value } in &mut map.entries {
            let value = value.take();
            let valid = key.as_str().is_some_and(is_valid_name);
            // The key's own string, taken like its value: the tree is not read here again.
            let name = match &mut key.value {
                Value::Str(name) => std::mem::take(name),
                _ => key.key_name().into_owned(),
            };
            join_into(&mut path, section, &name);
            if !valid {
                self.dropped.push(path.clone());
                let message = format!("`{}` is not a usable name", shown(&name));
                let help = "names are 1 to 100 letters, digits, `-` or `_` (they are used on the command line and in key paths)";
                let d = Diagnostic::error(Code::InvalidName, path.as_str(), message);
                self.push(d.with_help(help));
                continue;
            }
            match self
                .section::<T>(&path, &value, &shape)
                .or_else(|| salvage(&value))
            {
                Some(entry) => {
                    // Boxed: a 10,000-target file's entries are freed one by one as they are
                    // compiled, not all at once at the end.
                    entries.insert(name, Box::new(entry));
                }
                None => self.dropped.push(path.clone()),
            }
        }
        entries
    }
}

/// A source whose `repository` or `targets` did not read, as far as it can be: the targets it
/// names (one written without brackets too), so they are still rendered and not reported as
/// fed by no source. Its repository, when not text, is empty (and refused, already said).
pub(crate) fn salvage_source(node: &Node) -> Option<Source> {
    let map = node.as_map()?;
    let names = |node: &Node| match &node.value {
        Value::Str(name) => vec![name.clone()],
        Value::Seq(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Some(Source {
        repository: map
            .get("repository")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_owned(),
        targets: map.get("targets").map(names).unwrap_or_default(),
        awaits: Vec::new(),
    })
}

/// A section written as something else than a mapping.
fn not_a_mapping(path: &str, value: &Node, shape: &Shape) -> Diagnostic {
    let keys: Vec<String> = shape.required.iter().map(|k| format!("`{k}`")).collect();
    let with = if keys.is_empty() {
        String::new()
    } else {
        format!(" with {}", keys.join(", "))
    };
    let message = format!("`{path}` must be a mapping{with}, not {}", describe(value));
    let help = "write its keys as `key: value` lines, indented under it";
    Diagnostic::error(Code::InvalidValue, path, message).with_help(help)
}

/// Nested values set aside one by one in a section before whole keys are.
const MAX_NESTED_SET_ASIDE: usize = 16;

/// Keys the others are read by: without its `kind`, a target's keys would be judged by
/// another kind's rules, so a target whose `kind` cannot be read is not read further.
const KEYSTONES: &[&str] = &["kind"];

/// The mapping keys of an error's path, up to its first list index: a list item is set aside
/// with its whole list, since removing it alone would shift the places of the items after it.
fn map_keys(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    let mut keys = Vec::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => keys.push(key.clone()),
            Segment::Enum { .. } => {}
            Segment::Seq { .. } | Segment::Unknown => break,
        }
    }
    keys
}

/// Whether `message` says a key is missing that was set aside (and said) before.
fn set_aside_before(message: &str, keys: &[String], aside: &[Vec<String>]) -> bool {
    let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    else {
        return false;
    };
    aside.iter().any(|path| {
        path.split_last()
            .is_some_and(|(last, parent)| last == name && parent == keys)
    })
}

/// Takes the value at `keys` out of `kept`; false when there is none (nothing more can be
/// set aside).
fn set_aside(kept: &mut Vec<Entry>, keys: &[String]) -> bool {
    let Some((first, rest)) = keys.split_first() else {
        return false;
    };
    let Some(i) = kept
        .iter()
        .position(|e| e.key.as_str() == Some(first.as_str()))
    else {
        return false;
    };
    let Some((last, between)) = rest.split_last() else {
        kept.remove(i);
        return true;
    };
    let mut node = &mut kept[i].value;
    for key in between {
        let Value::Map(map) = &mut node.value else {
            return false;
        };
        let Some(next) = map.get_mut(key) else {
            return false;
        };
        node = next;
    }
    match &mut node.value {
        Value::Map(map) => map.remove(last).is_some(),
        _ => false,
    }
}

/// The node an error's path leads to, to quote what was written.
fn node_at<'n>(kept: &'n [Entry], path: &serde_path_to_error::Path) -> Option<&'n Node> {
    use serde_path_to_error::Segment;
    let mut segments = path.iter();
    let first = match segments.next()? {
        Segment::Map { key } => key,
        _ => return None,
    };
    let mut node = &kept
        .iter()
        .find(|e| e.key.as_str() == Some(first.as_str()))?
        .value;
    for segment in segments {
        node = match (segment, &node.value) {
            (Segment::Map { key }, Value::Map(map)) => map.get(key)?,
            (Segment::Seq { index }, Value::Seq(items)) => items.get(*index)?,
            (Segment::Enum { .. }, _) => node,
            _ => return None,
        };
    }
    Some(node)
}

/// "did you mean" for a value that is not one of those allowed (`kind: webhok`).
fn variant_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant ")?;
    let quoted: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let (written, allowed) = quoted.split_first()?;
    closest(written, allowed.iter().copied()).map(|best| format!("did you mean `{best}`?"))
}

/// How to write a value of the type serde expected, from what was written: the help of a
/// wrong type (`targets: website` → "write `[website]`").
fn wrong_type_help(message: &str, found: Option<&Node>) -> Option<String> {
    if !message.starts_with("invalid type") {
        return None;
    }
    let expected = message.rsplit_once(", expected ")?.1;
    let scalar = found.and_then(|node| match &node.value {
        Value::Seq(_) | Value::Map(_) | Value::Null => None,
        _ => Some(shown(&node.key_name())),
    });
    let help = match expected {
        "a boolean" => "write `true` or `false`, without quotes".to_owned(),
        "a sequence" => match scalar {
            Some(item) => format!("write `[{item}]`: a list, even of one item"),
            None => "write a list: `[a, b]`, or one `- item` line per item".to_owned(),
        },
        "u8" | "u16" | "u32" | "u64" | "usize" | "i64" => match scalar {
            Some(text) if text.trim().parse::<u64>().is_ok() => {
                format!("write `{}` without quotes", text.trim())
            }
            _ => "write a whole number, without quotes".to_owned(),
        },
        "a string" => match scalar {
            Some(text) => format!("put it in quotes: `\"{text}\"`"),
            None => {
                "write text (in quotes when it could be read as a number or true/false)".to_owned()
            }
        },
        "a map" => "write its keys as `key: value` lines, indented under it".to_owned(),
        other if other.starts_with("struct ") => {
            "write its keys as `key: value` lines, indented under it".to_owned()
        }
        _ => return None,
    };
    Some(help)
}

fn render_path(prefix: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = prefix.to_owned();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join(&out, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// Turns serde's messages into diagnostics a user can act on.
fn serde_diagnostic(path: &str, message: &str) -> Diagnostic {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = quoted.first().copied().unwrap_or(rest);
        // serde_path_to_error's path already ends at the unknown key.
        let parent = path
            .strip_suffix(name)
            .and_then(|p| p.strip_suffix('.'))
            .unwrap_or(path);
        return unknown_key(parent, name, &quoted[1.min(quoted.len())..]);
    }
    if message.starts_with("missing field ") {
        if let Some(name) = quoted.first() {
            return missing_key(path, name);
        }
    }
    Diagnostic::error(Code::InvalidValue, path, plain_types(message))
}

/// serde speaks Rust (`u64`, `sequence`, `unit value`); users wrote YAML.
fn plain_types(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a mapping"),
        ("invalid type: map,", "invalid type: mapping,"),
        ("expected a boolean", "expected true or false"),
        ("unit value", "null"),
        ("sequence", "list"),
    ];
    let mut out = message.to_owned();
    for (rust, yaml) in WORDS {
        out = out.replace(rust, yaml);
    }
    if let Some(start) = out.find("expected struct ") {
        out.replace_range(start.., "expected a mapping");
    }
    out
}

fn unknown_key(path: &str, name: &str, allowed: &[&str]) -> Diagnostic {
    // A likely typo gets its fix alone; the whole list only when nothing is close.
    let help = match closest(name, allowed.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if allowed.is_empty() => String::new(),
        None => {
            let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
            format!("allowed keys here: {}", list.join(", "))
        }
    };
    Diagnostic::error(
        Code::UnknownKey,
        join(path, name),
        format!("unknown key `{}`", shown(name)),
    )
    .with_help(help)
}

fn missing_key(path: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        Code::MissingKey,
        join(path, name),
        format!("required key `{name}` is missing"),
    )
    .with_help(format!("add `{name}:` (see the README's config reference)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::parse;
    use crate::config::model::Target;

    fn codes_and_paths(yaml: &str) -> Vec<(Code, String)> {
        parse(yaml.as_bytes())
            .diagnostics
            .into_iter()
            .map(|d| (d.code, d.path))
            .collect()
    }

    #[test]
    fn reports_every_unknown_missing_and_mistyped_key_of_a_target_at_once() {
        let yaml = "version: 1\nsources: {}\ntargets:\n  web:\n    repo: o/web\n    event_typ: e\n    timeout_secs: soon\n    api_version: [x]\n    token_env: T\n";
        assert_eq!(
            codes_and_paths(yaml),
            vec![
                (Code::UnknownKey, "targets.web.repo".into()),
                (Code::UnknownKey, "targets.web.event_typ".into()),
                (Code::MissingKey, "targets.web.repository".into()),
                (Code::MissingKey, "targets.web.event_type".into()),
                (Code::InvalidValue, "targets.web.timeout_secs".into()),
                (Code::InvalidValue, "targets.web.api_version".into()),
            ]
        );
    }

    #[test]
    fn speaks_yaml_rather_than_rust_about_types() {
        let parsed = parse(b"version: one\nsources: {}\ntargets: {}\n");
        assert_eq!(
            parsed.diagnostics[0].message,
            "invalid type: string \"one\", expected a whole number"
        );
    }

    #[test]
    fn a_token_variable_or_app_id_of_the_wrong_type_is_named_as_what_was_expected() {
        let yaml = "version: 1\nsources: {}\ndefaults:\n  github_app: {app_id: [1], private_key_env: K}\ntargets:\n  a: {repository: o/a, event_type: e, token_env: {x: 1}}\n  b: {repository: o/b, event_type: e, token_env: 12}\n  c: {repository: o/c, event_type: e, token_env: [A, {b: 1}]}\n";
        let found: Vec<(String, String)> = parse(yaml.as_bytes())
            .diagnostics
            .into_iter()
            .map(|d| (d.path, d.message))
            .collect();
        let expected = [
            (
                "defaults.github_app.app_id",
                "invalid type: list, expected an App id (a number) or a client id (text)",
            ),
            (
                "targets.a.token_env",
                "invalid type: mapping, expected a variable name or a list of variable names",
            ),
            (
                "targets.b.token_env",
                "invalid type: integer `12`, expected a variable name or a list of variable names",
            ),
            (
                "targets.c.token_env[1]",
                "invalid type: mapping, expected a string",
            ),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_file_with_a_problem_is_compiled_only_to_be_checked_further() {
        let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [web]}\ntargets:\n  web:\n    repository: o/web\n    event_type: e\n    token_env: T\n    when: {version: '>=1', prerelease: 'no'}\n";
        let none =
            figment::providers::Serialized::defaults(crate::config::model::Settings::default());
        let checked = crate::config::check(yaml.as_bytes(), none, &Default::default());
        assert!(checked.config.is_none(), "never planned for sending");
        let salvaged = checked.salvaged.expect("what compiled");
        assert!(
            salvaged.targets["web"].condition.requirement.is_some(),
            "when.version kept"
        );
        assert_eq!(checked.diagnostics.len(), 1, "{:?}", checked.diagnostics);
    }

    #[test]
    fn a_misspelt_kind_gets_the_closest_one() {
        let yaml = "version: 1\nsources: {}\ntargets:\n  hook: {kind: webhok, url: 'https://example.com/x'}\n";
        let found = parse(yaml.as_bytes()).diagnostics;
        let kind = found
            .iter()
            .find(|d| d.path == "targets.hook.kind")
            .unwrap();
        assert_eq!(kind.help.as_deref(), Some("did you mean `webhook`?"));
    }

    #[test]
    fn the_key_lists_come_from_the_schema() {
        let shape = Shape::of::<Target>();
        // What a target requires depends on its kind; `config::kinds` checks that.
        assert!(shape.required.is_empty());
        assert!(shape.knows("client_payload") && !shape.knows("payload"));
        let shape = Shape::of::<crate::config::model::Source>();
        assert_eq!(shape.required, ["repository", "targets"]);
    }
}
