//! The judgments of `check`, from what was read to a verdict: pure, no I/O.

use super::workflow::{Input, Workflow};
use serde_json::Value;

/// A workflow file read from the repository, with its state where the token can see it.
#[derive(Debug, Clone)]
pub struct WorkflowFile {
    /// `.github/workflows/NAME`.
    pub path: String,
    pub parsed: Result<Workflow, String>,
    /// `active`, `disabled_manually`, ...; `None` when the token cannot see workflow states.
    pub state: Option<String>,
}

impl WorkflowFile {
    fn active(&self) -> bool {
        self.state.as_deref().is_none_or(|s| s == "active")
    }
}

/// Whether a repository listens for an event type.
#[derive(Debug, Clone, PartialEq)]
pub struct Listening {
    /// Active workflows that listen for the event type.
    pub listeners: Vec<String>,
    /// Whether one of them names the dispatch id in its `run-name`.
    pub trackable: bool,
    /// Every event type some active workflow listens for, for "did you mean".
    pub known_types: Vec<String>,
    pub suggestion: Option<String>,
    /// Disabled workflows that would listen.
    pub disabled: Vec<String>,
    /// Files that could not be read, with why.
    pub unreadable: Vec<String>,
}

/// Which of `files` listen for `event_type` (only active ones count).
pub fn listening(event_type: &str, files: &[WorkflowFile]) -> Listening {
    let mut found = Listening {
        listeners: Vec::new(),
        trackable: false,
        known_types: Vec::new(),
        suggestion: None,
        disabled: Vec::new(),
        unreadable: Vec::new(),
    };
    // Event types already in `known_types`: a file may list a hundred thousand of them, and a
    // search of the list for each would take minutes.
    let mut known = std::collections::HashSet::new();
    for file in files {
        let workflow = match &file.parsed {
            Ok(workflow) => workflow,
            Err(why) => {
                found.unreadable.push(format!("{}: {why}", file.path));
                continue;
            }
        };
        let Some(types) = &workflow.repository_dispatch else {
            continue;
        };
        if !types.accepts(event_type) {
            if let (true, super::workflow::EventTypes::Only(types)) = (file.active(), types) {
                for t in types {
                    if known.insert(t.as_str()) {
                        found.known_types.push(t.clone());
                    }
                }
            }
            continue;
        }
        if file.active() {
            found.listeners.push(file.path.clone());
            found.trackable |= workflow.carries_dispatch_id();
        } else {
            found.disabled.push(format!(
                "{} ({})",
                file.path,
                file.state.as_deref().unwrap_or("disabled")
            ));
        }
    }
    found.suggestion = closest(event_type, &found.known_types);
    found
}

/// The candidate closest to `given`, when it is close enough to be a typo.
pub fn closest(given: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::levenshtein(&given.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(distance, c)| *distance <= (c.chars().count() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.clone())
}

/// Everything GitHub would refuse (or the workflow would not get) about the inputs we send:
/// undeclared inputs (422 "Unexpected inputs"), required ones without a default that are not
/// sent, choices outside the options, booleans that are not `true`/`false`, numbers that do not
/// parse.
pub fn input_problems(sent: &serde_json::Map<String, Value>, declared: &[Input]) -> Vec<String> {
    let mut problems = Vec::new();
    let names: Vec<String> = declared.iter().map(|i| i.name.clone()).collect();
    for name in sent.keys() {
        if !declared.iter().any(|i| &i.name == name) {
            let hint = closest(name, &names)
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            problems.push(format!(
                "input `{name}` is not declared by the workflow, so GitHub answers 422 \"Unexpected inputs\"{hint}"
            ));
        }
    }
    for input in declared {
        let Some(value) = sent.get(&input.name) else {
            if input.required && !input.has_default {
                problems.push(format!(
                    "input `{}` is required and has no default, but is not sent",
                    input.name
                ));
            }
            continue;
        };
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match input.kind.as_str() {
            "choice" if !input.options.contains(&text) => problems.push(format!(
                "input `{}` is `{text}`, which is not one of its options: {}",
                input.name,
                input.options.join(", ")
            )),
            "boolean" if text != "true" && text != "false" => problems.push(format!(
                "input `{}` is a boolean, but `{text}` is not `true` or `false`",
                input.name
            )),
            "number" if text.trim().parse::<f64>().is_err() => problems.push(format!(
                "input `{}` is a number, but `{text}` is not one",
                input.name
            )),
            _ => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::workflow::parse;
    use serde_json::json;

    fn file(path: &str, text: &str, state: Option<&str>) -> WorkflowFile {
        WorkflowFile {
            path: path.into(),
            parsed: parse(text),
            state: state.map(str::to_owned),
        }
    }

    #[test]
    fn a_listener_makes_it_ready_and_a_typo_gets_a_suggestion() {
        let files = [
            file("a.yml", "on:\n  repository_dispatch:\n    types: [upstream-release]\n", Some("active")),
            file("b.yml", "on: [", None),
            file("c.yml", "run-name: x ${{ github.event.client_payload.dispatch_id }}\non: repository_dispatch\n", Some("disabled_manually")),
        ];
        let ready = listening("upstream-release", &files);
        assert_eq!(ready.listeners, ["a.yml"]);
        assert!(!ready.trackable);
        assert_eq!(ready.disabled, ["c.yml (disabled_manually)"]);
        assert_eq!(ready.unreadable.len(), 1);
        let typo = listening("upstream-relaese", &files[..1]);
        assert!(typo.listeners.is_empty());
        assert_eq!(typo.suggestion.as_deref(), Some("upstream-release"));
        assert_eq!(listening("deploy", &files[..1]).suggestion, None);
    }

    #[test]
    fn inputs_are_checked_as_github_would() {
        let declared = parse("on:\n  workflow_dispatch:\n    inputs:\n      version: {required: true}\n      channel: {type: choice, options: [stable, beta]}\n      dry: {type: boolean}\n      n: {type: number}\n      ok: {required: true, default: x}\n")
            .unwrap()
            .workflow_dispatch
            .unwrap();
        let good = json!({"version": "1", "channel": "beta", "dry": "true", "n": "2.5"});
        assert_eq!(
            input_problems(good.as_object().unwrap(), &declared),
            Vec::<String>::new()
        );
        let bad = json!({"chanel": "x", "channel": "nightly", "dry": "yes", "n": "two"});
        let problems = input_problems(bad.as_object().unwrap(), &declared);
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(
            problems[0].contains("`chanel` is not declared")
                && problems[0].contains("did you mean `channel`")
        );
        assert!(problems[1].contains("`version` is required"));
        assert!(problems[2].contains("not one of its options: stable, beta"));
        assert!(problems[3].contains("boolean"));
        assert!(problems[4].contains("number"));
    }
}
