//! The JSON Schema of dispatch.yaml, generated from the config types so it cannot drift from
//! what the loader accepts (a test compares it with the committed `schemas/` file).
//!
//! It describes the shape of the file, every rule that concerns one value alone (key names,
//! types, ranges, lengths, patterns) and the rules across the keys of one object that a schema
//! can say ([`tighten`]: what each kind needs and forbids, one webhook URL, one App key). What
//! needs more, or running code, is checked only by `orchestrator validate`: references between
//! sources and targets, a token from `defaults`, templates, rendered sizes, semver
//! requirements, and `1.0` written for `1` (the same number once read as JSON). The fixtures
//! marked `# schema: accept (only validate: ...)` are those exceptions. The result compiles
//! under ajv's strict mode (no formats of schemars' own, `required` keys listed in
//! `properties`). The model's per-kind `allOf` is replaced here, built from the kinds' tables.

use super::kinds::{required_keys, KIND_KEYS};
use super::model::{DispatchFile, TargetKind};
use serde_json::{json, Value};

/// Where the committed schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/dispatch.schema.json";

/// The command that rewrites the committed schema.
pub const REGENERATE: &str = "cargo run -- schema > schemas/dispatch.schema.json";

/// The schema as pretty JSON with a trailing newline, exactly as committed.
pub fn schema_json() -> String {
    // Through `Serialize`, which puts `$schema`, `title` and `description` first for people.
    let mut schema = serde_json::to_value(schemars::schema_for!(DispatchFile)).unwrap_or_default();
    unwrap_descriptions(&mut schema);
    strip_formats(&mut schema);
    tighten(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Doc comments are wrapped at 100 columns; editors wrap text themselves, so single line
/// breaks become spaces (a blank line, a paragraph break, stays).
fn unwrap_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.replace('\n', " "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// The formats JSON Schema defines; schemars' own (`uint`, `uint64`, ...) are not among them, and
/// a strict validator (ajv `--strict`) refuses a schema that uses them. `minimum` already says
/// what they mean.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

fn strip_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let custom = map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| !STANDARD_FORMATS.contains(&f));
            if custom {
                map.remove("format");
            }
            map.values_mut().for_each(strip_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_formats),
        _ => {}
    }
}

/// Header names as HTTP defines them (a `token`), as the loader checks them.
const HEADER_NAME_PATTERN: &str = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// Headers the HTTP client sets itself, refused in `headers` (any letter case).
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

/// The rules the loader applies across keys of one object, where a schema can say them too:
/// which keys each kind needs (present and not null) and which belong to another kind; a
/// webhook's one URL; an App's one key; header names; workflow file names. Keys that may be
/// written as `~` (an empty map) accept null, as the loader does.
fn tighten(schema: &mut Value) {
    let kinds = [
        TargetKind::RepositoryDispatch,
        TargetKind::WorkflowDispatch,
        TargetKind::Webhook,
    ];
    let rules: Vec<Value> = kinds.iter().map(|kind| kind_rule(*kind)).collect();
    if let Some(target) = schema.pointer_mut("/$defs/Target") {
        target["allOf"] = Value::Array(rules);
        let properties = &mut target["properties"];
        for map in ["client_payload", "inputs", "headers"] {
            properties[map]["type"] = json!(["object", "null"]);
        }
        properties["headers"]["propertyNames"] = json!({
            "pattern": HEADER_NAME_PATTERN,
            "not": { "pattern": any_case(RESERVED_HEADERS) },
        });
        properties["workflow"]["pattern"] = json!("^(?:[0-9]+|[A-Za-z0-9._-]*\\.ya?ml)$");
    }
    if let Some(header) = schema.pointer_mut("/$defs/Signature/properties/header") {
        header["pattern"] = json!(HEADER_NAME_PATTERN);
    }
    if let Some(app) = schema.pointer_mut("/$defs/GithubApp") {
        app["oneOf"] = json!([present("private_key_env"), present("private_key_file")]);
    }
}

/// The `if`/`then` of one kind: its required keys present and not null, another kind's keys
/// absent (or null, or an empty map: the loader reads those as absent).
fn kind_rule(kind: TargetKind) -> Value {
    let name = kind.as_str();
    let mut condition = json!({ "properties": { "kind": { "const": name } } });
    // A target without `kind` is a repository_dispatch.
    if kind != TargetKind::RepositoryDispatch {
        condition["required"] = json!(["kind"]);
    }
    let mut properties = serde_json::Map::new();
    let required = required_keys(name);
    for key in required {
        properties.insert((*key).to_owned(), json!({ "type": "string" }));
    }
    for (key, owner) in KIND_KEYS {
        if *owner == kind {
            continue;
        }
        let absent = match *key {
            "client_payload" | "inputs" | "headers" => {
                json!({ "type": ["object", "null"], "maxProperties": 0 })
            }
            _ => json!({ "type": "null" }),
        };
        properties.insert((*key).to_owned(), absent);
    }
    let mut then = json!({ "properties": properties });
    if !required.is_empty() {
        then["required"] = json!(required);
    }
    if kind == TargetKind::Webhook {
        then["oneOf"] = json!([present("url"), present("url_env")]);
    }
    json!({ "if": condition, "then": then })
}

/// `key` is present and not null.
fn present(key: &str) -> Value {
    json!({ "required": [key], "properties": { key: { "type": "string" } } })
}

/// A pattern matching any of `words` whole, in any letter case (JSON Schema patterns have no
/// case-insensitive flag).
fn any_case(words: &[&str]) -> String {
    let alternatives: Vec<String> = words
        .iter()
        .map(|word| {
            word.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}
