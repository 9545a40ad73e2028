//! The judgments of `check`, from what was read to a verdict: pure, no I/O.

use super::event_types::{ticked, Sent};
use super::workflow::{EventTypes, Input, JobName, Workflow};
use crate::diagnostic::closest;
use crate::untrusted::shown;
use serde_json::Value;

/// A workflow file read from the repository, with its state where the token can see it.
#[derive(Debug, Clone)]
pub(crate) struct WorkflowFile {
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

/// Whether a repository listens for what a target sends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listening {
    /// Active workflows that listen for what is sent; empty unless, between them, they hear
    /// every event type a release can send.
    pub listeners: Vec<String>,
    /// Whether one of them names the dispatch id in its `run-name`.
    pub trackable: bool,
    /// Every other event type some active workflow listens for, for "did you mean".
    pub known_types: Vec<String>,
    pub suggestion: Option<String>,
    /// Disabled workflows that would listen.
    pub disabled: Vec<String>,
    /// Files that could not be read, with why.
    pub unreadable: Vec<String>,
    /// What a release can send that no active workflow hears, for a sentence.
    pub unheard: String,
    /// Why it cannot be told: an event type that cannot be listed, and workflows that list
    /// some of its values (each hears only the releases that render one of them).
    pub uncertain: Option<String>,
}

/// Which of `files` listen for what is `sent` (only active ones count). A type that cannot be
/// listed ([`Sent::Pattern`]) is heard only by a workflow without `types:`.
pub(crate) fn listening(sent: &Sent, files: &[WorkflowFile]) -> Listening {
    let listed: &[String] = match sent {
        Sent::Listed { types, .. } => types,
        Sent::Pattern(_) => &[],
    };
    let mut found = Listening {
        listeners: Vec::new(),
        trackable: false,
        known_types: Vec::new(),
        suggestion: None,
        disabled: Vec::new(),
        unreadable: Vec::new(),
        unheard: String::new(),
        uncertain: None,
    };
    let mut heard = vec![false; listed.len()];
    // Event types already in `known_types`: a file may list a hundred thousand of them, and a
    // search of the list for each would take minutes.
    let mut known = std::collections::HashSet::new();
    // Pattern only: workflows that list types of its shape.
    let mut partial: Vec<String> = Vec::new();
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
        let Hears { all, hears, fits } = Hears::of(types, sent, listed);
        if let (true, EventTypes::Only(only)) = (file.active(), types) {
            for t in only {
                if !listed.contains(t) && known.insert(t.as_str()) {
                    found.known_types.push(t.clone());
                }
            }
        }
        if !all && hears.is_empty() && fits.is_empty() {
            continue;
        }
        if !file.active() {
            found.disabled.push(format!(
                "{} ({})",
                file.path,
                file.state.as_deref().unwrap_or("disabled")
            ));
        } else if all || !hears.is_empty() {
            found.listeners.push(file.path.clone());
            found.trackable |= workflow.carries_dispatch_id();
            hears.into_iter().for_each(|i| heard[i] = true);
        } else {
            // A server's file may list thousands: a few make the point.
            let named: Vec<String> = fits.iter().take(3).map(|t| shown(t, 100)).collect();
            let more = match fits.len() - named.len() {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            partial.push(format!("{} lists {}{more}", file.path, ticked(&named)));
        }
    }
    conclude(&mut found, sent, &heard, &partial);
    found
}

/// What one workflow's `types:` hear of what is sent.
struct Hears {
    /// No `types:`: every event type.
    all: bool,
    /// The listed types it names, by index.
    hears: Vec<usize>,
    /// For a pattern: the types it names that have its shape.
    fits: Vec<String>,
}

impl Hears {
    fn of(types: &EventTypes, sent: &Sent, listed: &[String]) -> Hears {
        let hears = (0..listed.len())
            .filter(|i| types.accepts(&listed[*i]))
            .collect();
        let (all, fits) = match (types, sent) {
            (EventTypes::All, _) => (true, Vec::new()),
            (EventTypes::Only(only), Sent::Pattern(p)) => {
                (false, only.iter().filter(|t| p.fits(t)).cloned().collect())
            }
            (EventTypes::Only(_), Sent::Listed { .. }) => (false, Vec::new()),
        };
        Hears { all, hears, fits }
    }
}

/// Whether what `found` hears covers what is `sent`: `unheard`, `uncertain` and the
/// suggestion from it.
fn conclude(found: &mut Listening, sent: &Sent, heard: &[bool], partial: &[String]) {
    match sent {
        Sent::Listed { types, template } => {
            let unheard: Vec<String> = types
                .iter()
                .zip(heard)
                .filter(|(_, heard)| !**heard)
                .map(|(t, _)| t.clone())
                .collect();
            let Some(first) = unheard.first() else { return };
            found.suggestion =
                closest(first, found.known_types.iter().map(String::as_str)).map(str::to_owned);
            found.unheard = match template {
                Some(template) if types.len() > 1 => format!(
                    "{} (`{template}` renders {} for the releases its `when` allows)",
                    ticked(&unheard),
                    ticked(types)
                ),
                _ => ticked(&unheard),
            };
        }
        Sent::Pattern(pattern) => {
            if !found.listeners.is_empty() {
                return;
            }
            found.unheard = sent.shown();
            if !partial.is_empty() {
                found.uncertain = Some(format!(
                    "the event type `{}` depends on {}, so a list of event types cannot hear every release: {} only, and a release that renders another type is not heard; listen without `types:` and filter in the job (`orchestrator receiver` writes such a workflow)",
                    pattern.template,
                    pattern.depends_on,
                    few(partial)
                ));
            }
        }
    }
    if !found.unheard.is_empty() {
        found.listeners.clear();
    }
}

/// The first three of `items`, and how many more.
fn few(items: &[String]) -> String {
    match items {
        [a, b, c, rest @ ..] if !rest.is_empty() => {
            format!("{a}; {b}; {c}; and {} more", rest.len())
        }
        _ => items.join("; "),
    }
}

/// Everything GitHub would refuse (or the workflow would not get) about the inputs we send:
/// undeclared inputs (422 "Unexpected inputs"), required ones without a default that are not
/// sent, choices outside the options, booleans that are not `true`/`false`, numbers that do not
/// parse.
pub(crate) fn input_problems(
    sent: &serde_json::Map<String, Value>,
    declared: &[Input],
) -> Vec<String> {
    let mut problems = Vec::new();
    for name in sent.keys() {
        if !declared.iter().any(|i| &i.name == name) {
            let hint = closest(name, declared.iter().map(|i| i.name.as_str()))
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

/// Whether a run of the workflow will list a job named `wanted` (`wait: { job: NAME }`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JobFound {
    Yes,
    /// No job is listed by that name, and none has a computed name that could be it: the
    /// closest name, for "did you mean".
    No(Option<String>),
    /// Not by a plain name, but a computed one (as written) might render to it.
    CannotTell(String),
}

/// Looks `wanted` up among `jobs`: a plain name must equal it (GitHub compares names as they
/// are); a computed name is never called missing.
pub(crate) fn job_found(wanted: &str, jobs: &[JobName]) -> JobFound {
    let exactly = || {
        jobs.iter().filter_map(|job| match job {
            JobName::Exactly(name) => Some(name.as_str()),
            JobName::Computed(_) => None,
        })
    };
    if exactly().any(|name| name == wanted) {
        return JobFound::Yes;
    }
    let computed = jobs.iter().find_map(|job| match job {
        JobName::Computed(name) => Some(name.clone()),
        JobName::Exactly(_) => None,
    });
    match computed {
        Some(name) => JobFound::CannotTell(name),
        None => JobFound::No(closest(wanted, exactly()).map(str::to_owned)),
    }
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
        let ready = listening(&Sent::literal("upstream-release"), &files);
        assert_eq!(ready.listeners, ["a.yml"]);
        assert!(!ready.trackable);
        assert_eq!(ready.disabled, ["c.yml (disabled_manually)"]);
        assert_eq!(ready.unreadable.len(), 1);
        let typo = listening(&Sent::literal("upstream-relaese"), &files[..1]);
        assert!(typo.listeners.is_empty());
        assert_eq!(typo.suggestion.as_deref(), Some("upstream-release"));
        assert_eq!(
            listening(&Sent::literal("deploy"), &files[..1]).suggestion,
            None
        );
    }

    fn lists(types: &str) -> WorkflowFile {
        let text = format!("on:\n  repository_dispatch:\n    types: [{types}]\n");
        file(
            &format!("{}.yml", types.replace(", ", "+")),
            &text,
            Some("active"),
        )
    }

    #[test]
    fn every_listed_event_type_must_be_heard() {
        let sent = Sent::Listed {
            types: vec!["lib-1.x-release".into(), "lib-2.x-release".into()],
            template: Some("lib-{{major}}.x-release".into()),
        };
        let one = listening(&sent, &[lists("lib-1.x-release")]);
        assert!(
            one.listeners.is_empty() && one.uncertain.is_none(),
            "{one:?}"
        );
        assert!(
            one.unheard
                .starts_with("`lib-2.x-release` (`lib-{{major}}.x-release` renders"),
            "{}",
            one.unheard
        );
        let both = listening(
            &sent,
            &[lists("lib-1.x-release"), lists("lib-2.x-release, other")],
        );
        assert_eq!(both.listeners.len(), 2, "{both:?}");
        assert_eq!(both.known_types, ["other"]);
    }

    #[test]
    fn a_pattern_is_heard_only_without_types_and_a_list_of_its_values_cannot_tell() {
        let sent = Sent::Pattern(crate::check::event_types::Pattern {
            template: "lib-{{major}}.x-release".into(),
            depends_on: "the major version".into(),
            prefix: "lib-".into(),
            suffix: ".x-release".into(),
        });
        let listed = listening(&sent, &[lists("lib-1.x-release")]);
        assert!(listed.listeners.is_empty());
        let why = listed.uncertain.unwrap();
        assert!(
            why.contains("depends on the major version")
                && why.contains("lib-1.x-release.yml lists `lib-1.x-release`"),
            "{why}"
        );
        let unrelated = listening(&sent, &[lists("deploy")]);
        assert_eq!(unrelated.uncertain, None);
        assert!(unrelated.unheard.contains("lib-{{major}}.x-release"));
        let every = file("all.yml", "on: repository_dispatch\n", Some("active"));
        let all = listening(&sent, &[lists("lib-1.x-release"), every]);
        assert_eq!(all.listeners, ["all.yml"]);
        assert_eq!((all.unheard.as_str(), all.uncertain), ("", None));
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
