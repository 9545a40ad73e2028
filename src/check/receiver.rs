//! `orchestrator receiver TARGET`: the workflow the receiving repository needs, written from
//! what the plan sends. Pure: it takes the planned jobs of the target (one per source that
//! feeds it) and returns YAML.

use crate::config::model::TargetKind;
use crate::plan::Job;
use serde_json::Value;
use std::fmt::Write;

/// The key of the dispatch id in `client_payload` (added when the target is tracked).
pub const DISPATCH_ID_KEY: &str = "dispatch_id";

/// The receiving workflow for `jobs` (the same target planned for each source that feeds it);
/// `None` for a webhook, which has no workflow.
pub fn workflow(jobs: &[&Job], workflow_file: Option<&str>) -> Option<String> {
    let first = jobs.first()?;
    let mut out = String::new();
    let repository = &first.destination;
    match first.kind {
        TargetKind::Webhook => None,
        TargetKind::RepositoryDispatch => {
            let mut types: Vec<String> = Vec::new();
            let mut keys: Vec<String> = Vec::new();
            for job in jobs {
                let body = job.body();
                if let Some(t) = body["event_type"].as_str() {
                    if !types.iter().any(|k| k == t) {
                        types.push(t.to_owned());
                    }
                }
                collect_keys(&body["client_payload"], &mut keys);
            }
            if !keys.iter().any(|k| k == DISPATCH_ID_KEY) {
                keys.push(DISPATCH_ID_KEY.to_owned());
            }
            let file = types
                .first()
                .map_or("upstream-release".to_owned(), |t| file_stem(t));
            let _ = writeln!(
                out,
                "# The receiving half of orchestrator's `{}` target. Save it in {repository} as\n\
                 # .github/workflows/{file}.yml on the default branch: GitHub runs repository_dispatch\n\
                 # workflows from the default branch only. `orchestrator check` tells whether it listens.",
                first.target
            );
            let _ = writeln!(
                out,
                "name: {}",
                quoted(&format!("{} from upstream", types.join(", ")))
            );
            // The dispatch id in the run's title lets the sender find the run it started.
            let mut title = types.join(", ");
            if keys.iter().any(|k| k == "source") {
                title.push_str(&format!(" of ${{{{ {} }}}}", payload("source")));
            }
            if keys.iter().any(|k| k == "version") {
                title.push_str(&format!(" ${{{{ {} }}}}", payload("version")));
            }
            title.push_str(&format!(" [${{{{ {} }}}}]", payload(DISPATCH_ID_KEY)));
            let _ = writeln!(out, "run-name: {}", quoted(&title));
            let list: Vec<String> = types.iter().map(|t| quoted(t)).collect();
            let _ = writeln!(
                out,
                "on:\n  repository_dispatch:\n    types: [{}]",
                list.join(", ")
            );
            let fields: Vec<(String, String)> =
                keys.iter().map(|k| (k.clone(), payload(k))).collect();
            write_job(&mut out, &fields);
            Some(out)
        }
        TargetKind::WorkflowDispatch => {
            let mut keys: Vec<String> = Vec::new();
            for job in jobs {
                collect_keys(&job.body()["inputs"], &mut keys);
            }
            let file = workflow_file.unwrap_or("upstream-release.yml");
            let _ = writeln!(
                out,
                "# The receiving half of orchestrator's `{}` target. Save it in {repository} as\n\
                 # .github/workflows/{file} on the branch the dispatch names (`ref`, or the default\n\
                 # branch). `orchestrator check` tells whether it takes the inputs sent.",
                first.target
            );
            let _ = writeln!(out, "name: {}", quoted("Upstream release"));
            let _ = writeln!(out, "on:\n  workflow_dispatch:");
            if !keys.is_empty() {
                let _ = writeln!(out, "    inputs:");
            }
            for key in &keys {
                let _ = writeln!(
                    out,
                    "      {}:\n        description: {}\n        required: false\n        type: string",
                    quoted(key),
                    quoted(&format!("`{key}` as orchestrator sends it"))
                );
            }
            let fields: Vec<(String, String)> =
                keys.iter().map(|k| (k.clone(), input(k))).collect();
            write_job(&mut out, &fields);
            Some(out)
        }
    }
}

/// A job whose one step shows how to read each field: through `env:`, never pasted into the
/// script, so a value cannot inject shell.
fn write_job(out: &mut String, fields: &[(String, String)]) {
    let _ = writeln!(
        out,
        "permissions:\n  contents: read\njobs:\n  rebuild:\n    runs-on: ubuntu-latest\n    steps:"
    );
    let _ = writeln!(out, "      - name: Read what the upstream release sent");
    let mut names: Vec<String> = Vec::new();
    if !fields.is_empty() {
        let _ = writeln!(out, "        env:");
    }
    for (key, expression) in fields {
        let mut name = env_name(key);
        while names.contains(&name) {
            name.push('_');
        }
        let _ = writeln!(
            out,
            "          {name}: {}",
            quoted(&format!("${{{{ {expression} }}}}"))
        );
        names.push(name);
    }
    let _ = writeln!(out, "        run: |");
    for ((key, _), name) in fields.iter().zip(&names) {
        let label = key.replace(['\'', '"', '$', '`', '\\', '\n', '\r'], "_");
        let _ = writeln!(out, "          echo \"{label}: ${name}\"");
    }
    if fields.is_empty() {
        let _ = writeln!(out, "          echo \"no fields were sent\"");
    }
    let _ = writeln!(out, "      # Your rebuild goes here.");
}

/// The top-level keys of an object, added to `keys` in order.
fn collect_keys(value: &Value, keys: &mut Vec<String>) {
    for key in value.as_object().into_iter().flat_map(|m| m.keys()) {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
}

fn payload(key: &str) -> String {
    property("github.event.client_payload", key)
}

fn input(key: &str) -> String {
    property("inputs", key)
}

/// `base.key`, or `base['key']` for a key that is not a plain name.
fn property(base: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{base}.{key}")
    } else {
        format!("{base}['{}']", key.replace('\'', "''"))
    }
}

/// `VERSION` for `version`; anything else becomes `_`.
fn env_name(key: &str) -> String {
    let mut name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// A file name from an event type.
fn file_stem(text: &str) -> String {
    let stem: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    if stem.trim_matches('-').is_empty() {
        "upstream-release".to_owned()
    } else {
        stem
    }
}

/// A YAML double-quoted scalar (JSON's string syntax is valid YAML).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_keys_are_read_safely() {
        assert_eq!(payload("version"), "github.event.client_payload.version");
        assert_eq!(payload("it's"), "github.event.client_payload['it''s']");
        assert_eq!(env_name("1st-key"), "_1ST_KEY");
        assert_eq!(file_stem("a b/c"), "a-b-c");
    }
}
