//! `orchestrator receiver TARGET`: the workflow the receiving repository needs, written from
//! what the plan sends. Pure: it takes the planned jobs of the target (one per source that
//! feeds it) and returns YAML.

use super::event_types::{Pattern, Sent};
use crate::config::model::TargetKind;
use crate::plan::Job;
use serde_json::Value;
use std::fmt::Write;

/// The key of the dispatch id in `client_payload` (added when the target is tracked).
pub(crate) const DISPATCH_ID_KEY: &str = "dispatch_id";

/// The receiving workflow for `jobs` (the same target planned for each source that feeds it),
/// `sent` being what each can send as its event type ([`super::event_types::sent`]); `None`
/// for a webhook, which has no workflow.
pub(crate) fn workflow(
    jobs: &[&Job],
    sent: &[Sent],
    workflow_file: Option<&str>,
) -> Option<String> {
    let first = jobs.first()?;
    match first.kind {
        TargetKind::Webhook => None,
        TargetKind::RepositoryDispatch => Some(repository_dispatch(jobs, sent)),
        TargetKind::WorkflowDispatch => Some(workflow_dispatch(jobs, workflow_file)),
    }
}

/// What a repository_dispatch workflow listens for.
struct Listen<'s> {
    /// Event types named exactly.
    types: Vec<String>,
    /// Templates whose values are listed in `types`, for a comment.
    listed_from: Vec<&'s str>,
    /// Event types that cannot be listed: the workflow hears every type and its job filters.
    patterns: Vec<&'s Pattern>,
}

impl<'s> Listen<'s> {
    fn of(jobs: &[&Job], sent: &'s [Sent]) -> Listen<'s> {
        let mut listen = Listen {
            types: Vec::new(),
            listed_from: Vec::new(),
            patterns: Vec::new(),
        };
        let add = |types: &mut Vec<String>, t: &str| {
            if !types.iter().any(|k| k == t) {
                types.push(t.to_owned());
            }
        };
        for one in sent {
            match one {
                Sent::Listed { types, template } => {
                    types.iter().for_each(|t| add(&mut listen.types, t));
                    if let Some(t) = template
                        .as_deref()
                        .filter(|t| !listen.listed_from.contains(t))
                    {
                        listen.listed_from.push(t);
                    }
                }
                Sent::Pattern(pattern) if !listen.patterns.contains(&pattern) => {
                    listen.patterns.push(pattern)
                }
                Sent::Pattern(_) => {}
            }
        }
        if sent.is_empty() {
            for job in jobs {
                add(
                    &mut listen.types,
                    job.body()["event_type"].as_str().unwrap_or_default(),
                );
            }
        }
        listen
    }

    /// The job's `if:` when it must filter: each listed type, or the shape of each pattern.
    fn condition(&self) -> Option<String> {
        let action = "github.event.action";
        let mut any: Vec<String> = self
            .types
            .iter()
            .map(|t| format!("{action} == {}", literal(t)))
            .collect();
        for p in &self.patterns {
            let parts: Vec<String> = [("startsWith", &p.prefix), ("endsWith", &p.suffix)]
                .into_iter()
                .filter(|(_, text)| !text.is_empty())
                .map(|(function, text)| format!("{function}({action}, {})", literal(text)))
                .collect();
            if parts.is_empty() {
                return None; // a pattern with no fixed text: every type may be it
            }
            any.push(parts.join(" && "));
        }
        match any.as_slice() {
            _ if self.patterns.is_empty() => None,
            [one] => Some(one.clone()),
            _ => Some(format!("({})", any.join(") || ("))),
        }
    }
}

fn repository_dispatch(jobs: &[&Job], sent: &[Sent]) -> String {
    let mut out = String::new();
    let Some(first) = jobs.first() else {
        return out;
    };
    let listen = Listen::of(jobs, sent);
    let mut keys: Vec<String> = Vec::new();
    for job in jobs {
        collect_keys(&job.body()["client_payload"], &mut keys);
    }
    // Only a tracked target (`track: true`) sends a dispatch id: for the others it would be
    // an always-empty field and `[]` in every run's title.
    let tracked = jobs.iter().any(|job| job.tracking_id.is_some());
    if tracked && !keys.iter().any(|k| k == DISPATCH_ID_KEY) {
        keys.push(DISPATCH_ID_KEY.to_owned());
    }
    let templates: Vec<&str> = listen
        .patterns
        .iter()
        .map(|p| p.template.as_str())
        .collect();
    let stem = match (listen.types.first(), listen.patterns.first()) {
        (Some(t), _) if listen.patterns.is_empty() => file_stem(t),
        (_, Some(p)) => file_stem(&format!(
            "{}-{}",
            p.prefix
                .trim_end_matches(|c: char| !c.is_ascii_alphanumeric()),
            p.suffix
                .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        )),
        _ => "upstream-release".to_owned(),
    };
    let _ = writeln!(
        out,
        "# The receiving half of orchestrator's `{}` target. Save it in {} as\n\
         # .github/workflows/{stem}.yml on the default branch: GitHub runs repository_dispatch\n\
         # workflows from the default branch only. `orchestrator check` tells whether it listens.",
        first.target, first.destination
    );
    let mut names = listen.types.clone();
    names.extend(templates.iter().map(|t| (*t).to_owned()));
    let _ = writeln!(
        out,
        "name: {}",
        quoted(&format!("{} from upstream", names.join(", ")))
    );
    // The dispatch id in the run's title lets the sender find the run it started.
    let mut title = match listen.types.as_slice() {
        [one] if listen.patterns.is_empty() => one.clone(),
        _ => "${{ github.event.action }}".to_owned(),
    };
    if keys.iter().any(|k| k == "source") {
        title.push_str(&format!(" of ${{{{ {} }}}}", payload("source")));
    }
    if keys.iter().any(|k| k == "version") {
        title.push_str(&format!(" ${{{{ {} }}}}", payload("version")));
    }
    if tracked {
        title.push_str(&format!(" [${{{{ {} }}}}]", payload(DISPATCH_ID_KEY)));
    }
    let _ = writeln!(out, "run-name: {}", quoted(&title));
    write_trigger(&mut out, &listen);
    let fields: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), payload(k))).collect();
    write_job(&mut out, &fields, listen.condition().as_deref());
    out
}

/// `on: repository_dispatch`: with the exact `types:` when every event type is listed, without
/// (every type, filtered by the job) when one cannot be.
fn write_trigger(out: &mut String, listen: &Listen<'_>) {
    if listen.patterns.is_empty() {
        if !listen.listed_from.is_empty() {
            let from: Vec<String> = listen
                .listed_from
                .iter()
                .map(|t| format!("`{}`", one_line(t)))
                .collect();
            let _ = writeln!(
                out,
                "# Every event type {} renders, for the releases the target's `when` allows.",
                from.join(", ")
            );
        }
        let list: Vec<String> = listen.types.iter().map(|t| quoted(t)).collect();
        let _ = writeln!(
            out,
            "on:\n  repository_dispatch:\n    types: [{}]",
            list.join(", ")
        );
        return;
    }
    for p in &listen.patterns {
        let _ = writeln!(
            out,
            "# The event type `{}` depends on\n\
             # {}.\n\
             # It cannot be listed: GitHub's `types:` takes exact names only (no wildcards).",
            one_line(&p.template),
            p.depends_on
        );
    }
    let _ = writeln!(
        out,
        "{}",
        match listen.condition() {
            Some(_) =>
                "# This workflow hears every repository_dispatch, and its job runs only for event\n\
                        # types of that shape (see `if:`; other events leave a skipped run).",
            None =>
                "# This workflow hears every repository_dispatch: nothing in the event type is\n\
                     # fixed, so its job cannot tell ours from others by it.",
        }
    );
    let _ = writeln!(out, "on:\n  repository_dispatch:");
}

fn workflow_dispatch(jobs: &[&Job], workflow_file: Option<&str>) -> String {
    let mut out = String::new();
    let Some(first) = jobs.first() else {
        return out;
    };
    let mut keys: Vec<String> = Vec::new();
    for job in jobs {
        collect_keys(&job.body()["inputs"], &mut keys);
    }
    let file = workflow_file.unwrap_or("upstream-release.yml");
    let _ = writeln!(
        out,
        "# The receiving half of orchestrator's `{}` target. Save it in {} as\n\
         # .github/workflows/{file} on the branch the dispatch names (`ref`, or the default\n\
         # branch). `orchestrator check` tells whether it takes the inputs sent.",
        first.target, first.destination
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
    let fields: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), input(k))).collect();
    write_job(&mut out, &fields, None);
    out
}

/// A job whose one step shows how to read each field: through `env:`, never pasted into the
/// script, so a value cannot inject shell.
fn write_job(out: &mut String, fields: &[(String, String)], condition: Option<&str>) {
    let _ = writeln!(out, "permissions:\n  contents: read\njobs:\n  rebuild:");
    if let Some(condition) = condition {
        let _ = writeln!(out, "    if: {}", quoted(condition));
    }
    let _ = writeln!(out, "    runs-on: ubuntu-latest\n    steps:");
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

/// `text` fit for a YAML comment: one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A string literal of a GitHub Actions expression.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
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
