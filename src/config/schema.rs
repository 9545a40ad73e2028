//! The JSON Schema of dispatch.yaml, generated from the config types so it cannot drift from
//! what the loader accepts (a test compares it with the committed `schemas/` file).

use super::model::DispatchFile;

/// Where the committed schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schemas/dispatch.schema.json";

/// The schema as pretty JSON with a trailing newline, exactly as committed.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(DispatchFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
