//! The JSON Schema of dispatch.yaml, generated from the config types so it cannot drift from
//! what the loader accepts (a test compares it with the committed `schemas/` file).
//!
//! It describes the shape of the file and every rule that concerns one value alone (key names,
//! types, ranges, lengths, patterns). What needs more than one value, or running code, is
//! checked only by `orchestrator validate`: references between sources and targets,
//! templates, rendered sizes, and semver requirements.

use super::model::DispatchFile;
use serde_json::Value;

/// Where the committed schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/dispatch.schema.json";

/// The command that rewrites the committed schema.
pub const REGENERATE: &str = "cargo run -- schema > schemas/dispatch.schema.json";

/// The schema as pretty JSON with a trailing newline, exactly as committed.
pub fn schema_json() -> String {
    // Through `Serialize`, which puts `$schema`, `title` and `description` first for people.
    let mut schema = serde_json::to_value(schemars::schema_for!(DispatchFile)).unwrap_or_default();
    unwrap_descriptions(&mut schema);
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
