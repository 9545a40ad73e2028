//! Reading `dispatch.yaml` into a [`DispatchFile`], reporting every structural problem at once.
//!
//! This is the only place that knows the file is YAML or that serde_yaml parses it; a
//! successor parser replaces this file and `locate.rs`, nothing else.

use super::locate::Locator;
use super::model::{DispatchFile, Settings, Source, Target};
use crate::diagnostic::{join, Code, Diagnostic, Location};
use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::io::Read;
use std::path::Path;

/// Larger files are refused before parsing: a real dispatch.yaml is a few KiB, and the cap
/// bounds the time and memory any input can cost (with serde_yaml's own depth and alias
/// expansion limits).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Why the configuration file could not be read at all (as opposed to read and found wrong).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {limit} bytes; a dispatch configuration is never that big")]
    TooLarge { path: String, limit: u64 },
}

/// Reads at most [`MAX_CONFIG_BYTES`] (+1 to notice a larger file) of the file.
pub fn read(path: &Path) -> Result<Vec<u8>, ReadError> {
    let shown = path.display().to_string();
    let io = |source| ReadError::Io {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge {
            path: shown,
            limit: MAX_CONFIG_BYTES,
        });
    }
    Ok(bytes)
}

/// The result of parsing: the file if its structure is sound, and every problem found.
pub struct Parsed {
    pub file: Option<DispatchFile>,
    pub locator: Locator,
    pub diagnostics: Vec<Diagnostic>,
}

const TOP_LEVEL_KEYS: &[&str] = &["version", "defaults", "sources", "targets"];

pub fn parse(bytes: &[u8]) -> Parsed {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            let d = Diagnostic::error(Code::Syntax, "", "the file is not valid UTF-8 text")
                .with_help("save the file as UTF-8")
                .at(Some(Location { line, column }));
            return failed(Locator::default(), vec![d]);
        }
    };
    let locator = Locator::new(text);
    let mut diagnostics = locator.duplicates().to_vec();

    let root: Value = match serde_yaml::from_str(text) {
        Ok(root) => root,
        Err(err) => {
            // serde_yaml rejects some duplicate keys itself; the locator already said so.
            if diagnostics.is_empty() || !err.to_string().contains("duplicate") {
                let at = err.location().map(|l| Location {
                    line: l.line(),
                    column: l.column(),
                });
                diagnostics.push(
                    Diagnostic::error(Code::Syntax, "", format!("invalid YAML: {err}")).at(at),
                );
            }
            return failed(locator, diagnostics);
        }
    };
    let root = match root {
        Value::Mapping(map) => map,
        Value::Null => {
            let d = Diagnostic::error(Code::Syntax, "", "the file is empty")
                .with_help("start from `orchestrator init`, or see the README's config reference");
            diagnostics.push(d);
            return failed(locator, diagnostics);
        }
        other => {
            let d = Diagnostic::error(
                Code::InvalidValue,
                "",
                format!(
                    "the file must be a mapping with `version`, `sources` and `targets`, not {}",
                    describe(&other)
                ),
            )
            .at(Some(Location { line: 1, column: 1 }));
            diagnostics.push(d);
            return failed(locator, diagnostics);
        }
    };

    let mut parser = SectionParser {
        locator: &locator,
        diagnostics: &mut diagnostics,
    };
    for key in root.keys() {
        match key.as_str() {
            Some(k) if TOP_LEVEL_KEYS.contains(&k) => {}
            _ => {
                let name = scalar_name(key);
                parser.push(unknown_key("", &name, TOP_LEVEL_KEYS));
            }
        }
    }
    let version = parser.required::<u32>(&root, "version");
    let defaults = match root.get("defaults") {
        Some(value) => parser.entry::<Settings>("defaults", value.clone()),
        None => Some(Settings::default()),
    };
    let sources = parser.named_entries::<Source>(&root, "sources");
    let targets = parser.named_entries::<Target>(&root, "targets");
    if let Some(v) = version.filter(|v| *v != 1) {
        parser.push(
            Diagnostic::error(
                Code::UnsupportedVersion,
                "version",
                format!("format version {v} is not supported by this orchestrator"),
            )
            .with_help("use `version: 1`"),
        );
    }

    let file = match (version, defaults, sources, targets) {
        (Some(version), Some(defaults), Some(sources), Some(targets))
            if !diagnostics.iter().any(Diagnostic::is_error) =>
        {
            Some(DispatchFile {
                version,
                defaults,
                sources,
                targets,
            })
        }
        _ => None,
    };
    Parsed {
        file,
        locator,
        diagnostics,
    }
}

fn failed(locator: Locator, diagnostics: Vec<Diagnostic>) -> Parsed {
    Parsed {
        file: None,
        locator,
        diagnostics,
    }
}

/// Deserializes each section (and each named source and target) on its own, so one typo does
/// not hide the next: serde stops at the first error inside one value.
struct SectionParser<'a> {
    locator: &'a Locator,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl SectionParser<'_> {
    fn push(&mut self, d: Diagnostic) {
        let at = self.locator.find(&d.path);
        self.diagnostics.push(d.at(at));
    }

    fn required<T: DeserializeOwned>(
        &mut self,
        root: &serde_yaml::Mapping,
        key: &str,
    ) -> Option<T> {
        match root.get(key) {
            Some(value) => self.entry(key, value.clone()),
            None => {
                self.push(missing_key("", key));
                None
            }
        }
    }

    fn entry<T: DeserializeOwned>(&mut self, path: &str, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(err) => {
                let inner = render_path(path, err.path());
                let d = serde_diagnostic(&inner, &err.inner().to_string());
                self.push(d);
                None
            }
        }
    }

    fn named_entries<T: DeserializeOwned>(
        &mut self,
        root: &serde_yaml::Mapping,
        section: &str,
    ) -> Option<IndexMap<String, T>> {
        let map = match root.get(section) {
            None => {
                self.push(missing_key("", section));
                return None;
            }
            Some(Value::Mapping(map)) => map,
            Some(Value::Null) => return Some(IndexMap::new()),
            Some(other) => {
                let message = format!(
                    "`{section}` must be a mapping of names, not {}",
                    describe(other)
                );
                self.push(Diagnostic::error(Code::InvalidValue, section, message));
                return None;
            }
        };
        let mut entries = IndexMap::new();
        let mut ok = true;
        for (key, value) in map {
            let name = scalar_name(key);
            let path = join(section, &name);
            if !valid_name(key.as_str()) {
                ok = false;
                let message = format!("`{name}` is not a usable name");
                let help = "names are 1 to 100 letters, digits, `-` or `_` (they are used on the command line and in key paths)";
                self.push(Diagnostic::error(Code::InvalidValue, path, message).with_help(help));
                continue;
            }
            match self.entry::<T>(&path, value.clone()) {
                Some(entry) => {
                    entries.insert(name, entry);
                }
                None => ok = false,
            }
        }
        ok.then_some(entries)
    }
}

fn valid_name(name: Option<&str>) -> bool {
    name.is_some_and(|n| {
        (1..=100).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
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
        return unknown_key(path, name, &quoted[1.min(quoted.len())..]);
    }
    if message.starts_with("missing field ") {
        if let Some(name) = quoted.first() {
            return missing_key(path, name);
        }
    }
    // serde_yaml appends its own position, which for a detached value is meaningless.
    let message = message.split(" at line ").next().unwrap_or(message);
    Diagnostic::error(Code::InvalidValue, path, message.to_owned())
}

fn unknown_key(path: &str, name: &str, allowed: &[&str]) -> Diagnostic {
    let mut help = match closest(name, allowed) {
        Some(best) => format!("did you mean `{best}`? "),
        None => String::new(),
    };
    if !allowed.is_empty() {
        let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
        help.push_str(&format!("allowed keys here: {}", list.join(", ")));
    }
    Diagnostic::error(
        Code::UnknownKey,
        join(path, name),
        format!("unknown key `{name}`"),
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

/// The candidate most like `name`, if any is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        // Jaro-Winkler ranks, but misses swapped letters in short names (`bda` for `bad`).
        .filter(|(score, c)| *score > 0.8 || strsim::damerau_levenshtein(name, c) == 1)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn scalar_name(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "~".to_owned(),
        other => describe(other).to_owned(),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}
