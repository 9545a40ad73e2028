//! A workflow file, read for what `check` needs: which events start it (every `on:` form
//! GitHub accepts), the inputs it declares for workflow_dispatch, its `run-name`, and the
//! names its jobs are listed by in a run. Pure.

use crate::yaml::{self, Value};

/// What a workflow file says about its triggers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workflow {
    /// `Some` when it listens for repository_dispatch.
    pub repository_dispatch: Option<EventTypes>,
    /// `Some` when it declares workflow_dispatch: the inputs it declares.
    pub workflow_dispatch: Option<Vec<Input>>,
    pub run_name: Option<String>,
    /// Its jobs, as a run lists them (`wait: { job: NAME }` waits for one by that name).
    pub jobs: Vec<JobName>,
}

/// The name a run's jobs list shows for one job of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum JobName {
    /// Its `name:` when it is plain text, else its id: the name GitHub lists.
    Exactly(String),
    /// Computed when the run starts: a `name:` with an expression (`deploy (${{ matrix.x }})`),
    /// a matrix (GitHub adds its values), or a reusable workflow (`caller / job`). As written,
    /// for messages.
    Computed(String),
}

/// The event types a repository_dispatch trigger listens for.
#[derive(Debug, Clone, PartialEq)]
pub enum EventTypes {
    /// No `types:`: every event type.
    All,
    Only(Vec<String>),
}

impl EventTypes {
    pub fn accepts(&self, event_type: &str) -> bool {
        match self {
            EventTypes::All => true,
            EventTypes::Only(types) => types.iter().any(|t| t == event_type),
        }
    }
}

/// One declared workflow_dispatch input.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub name: String,
    pub required: bool,
    pub has_default: bool,
    /// `string` (the default), `boolean`, `number`, `choice`, `environment`.
    pub kind: String,
    /// A `choice` input's options.
    pub options: Vec<String>,
}

impl Workflow {
    /// `run-name` renders the dispatch id into the title GitHub shows for the run, so a
    /// dispatch can find the run it started (see [`super::expression`]: the property itself,
    /// not a longer name that starts alike).
    pub fn carries_dispatch_id(&self) -> bool {
        self.run_name.as_deref().is_some_and(|name| {
            super::expression::shows_payload_key(name, crate::config::kinds::TRACKING_KEY)
        })
    }
}

/// Event types one workflow may list and still be read: a real one lists a few, and `check`
/// holds every file of a repository at once.
pub const MAX_EVENT_TYPES: usize = 1_000;

/// Why a workflow file was not read.
#[derive(Debug, Clone, PartialEq)]
pub enum Unparsed {
    /// GitHub would not run it either (invalid YAML, not a workflow): it starts nothing.
    Invalid(String),
    /// Past the limits orchestrator reads within: what it would start is not known.
    PastLimits(String),
}

impl Unparsed {
    pub fn why(&self) -> &str {
        match self {
            Unparsed::Invalid(why) | Unparsed::PastLimits(why) => why,
        }
    }
}

/// [`read`], with the reason alone.
pub fn parse(text: &str) -> Result<Workflow, String> {
    read(text).map_err(|unparsed| unparsed.why().to_owned())
}

/// Reads a workflow file through the one YAML reader, within [`yaml::WORKFLOW_FILE`]'s limits
/// and [`MAX_EVENT_TYPES`]; `Err` says why it cannot be read, and whether GitHub would not run
/// it either or only orchestrator did not read it.
pub fn read(text: &str) -> Result<Workflow, Unparsed> {
    let root = yaml::read(text, yaml::WORKFLOW_FILE).map_err(|stop| {
        let past_limits = matches!(
            stop.why,
            yaml::Why::TooLarge { .. }
                | yaml::Why::TooDeep { .. }
                | yaml::Why::TooManyValues { .. }
                | yaml::Why::TooMuchText { .. }
        );
        if past_limits {
            Unparsed::PastLimits(stop.to_string())
        } else {
            Unparsed::Invalid(stop.to_string())
        }
    })?;
    let workflow = triggers(&root).map_err(|why| Unparsed::Invalid(why.to_owned()))?;
    match &workflow.repository_dispatch {
        Some(EventTypes::Only(types)) if types.len() > MAX_EVENT_TYPES => {
            Err(Unparsed::PastLimits(format!(
                "it lists {} event types; orchestrator reads at most {MAX_EVENT_TYPES}",
                types.len()
            )))
        }
        _ => Ok(workflow),
    }
}

/// What `root` says about its triggers; `Err` when it is not a workflow.
fn triggers(root: &Value) -> Result<Workflow, &'static str> {
    if !matches!(root, Value::Map(_)) {
        return Err("not a workflow: the file is not a mapping");
    }
    // YAML 1.1 readers turn a bare `on` into `true`; GitHub does not, but a file written for
    // one might quote it either way.
    let on = root.get("on").or_else(|| match root {
        Value::Map(entries) => entries
            .iter()
            .rev()
            .find(|(k, _)| k.is_true())
            .map(|(_, v)| v),
        _ => None,
    });
    let mut workflow = Workflow {
        run_name: root
            .get("run-name")
            .and_then(Value::scalar)
            .map(str::to_owned),
        jobs: root.get("jobs").map(job_names).unwrap_or_default(),
        ..Workflow::default()
    };
    match on {
        None => return Err("not a workflow: it has no `on:`"),
        Some(Value::Seq(events)) => {
            for event in events.iter().filter_map(Value::scalar) {
                workflow.add(event, None);
            }
        }
        Some(Value::Map(events)) => {
            for (event, config) in events {
                if let Some(event) = event.scalar() {
                    workflow.add(event, Some(config));
                }
            }
        }
        Some(event) => match event.scalar() {
            Some(event) => workflow.add(event, None),
            None => return Err("`on:` is neither an event, a list nor a mapping"),
        },
    }
    Ok(workflow)
}

impl Workflow {
    fn add(&mut self, event: &str, config: Option<&Value>) {
        let setting = |key: &str| config.and_then(|c| c.get(key));
        match event {
            "repository_dispatch" => {
                let types = match setting("types") {
                    Some(Value::Seq(list)) => EventTypes::Only(scalars(list)),
                    Some(one) => match one.scalar() {
                        Some(one) => EventTypes::Only(vec![one.to_owned()]),
                        None => EventTypes::All,
                    },
                    None => EventTypes::All,
                };
                self.repository_dispatch = Some(types);
            }
            "workflow_dispatch" => {
                let mut inputs = Vec::new();
                if let Some(Value::Map(declared)) = setting("inputs") {
                    for (name, spec) in declared {
                        let Some(name) = name.scalar() else { continue };
                        inputs.push(input(name, spec));
                    }
                }
                self.workflow_dispatch = Some(inputs);
            }
            _ => {}
        }
    }
}

/// Each job of `jobs:`, by the name a run lists it under (see [`JobName`]).
fn job_names(jobs: &Value) -> Vec<JobName> {
    let Value::Map(entries) = jobs else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(id, job)| {
            let id = id.scalar()?;
            let name = job.get("name").and_then(Value::scalar).unwrap_or(id);
            let computed = name.contains("${{")
                || job
                    .get("strategy")
                    .is_some_and(|s| s.get("matrix").is_some())
                || job.get("uses").is_some();
            Some(if computed {
                JobName::Computed(name.to_owned())
            } else {
                JobName::Exactly(name.to_owned())
            })
        })
        .collect()
}

/// A declared workflow_dispatch input, as GitHub reads its settings.
fn input(name: &str, spec: &Value) -> Input {
    let required = spec.get("required");
    Input {
        name: name.to_owned(),
        required: required.is_some_and(|r| r.is_true() || r.text() == Some("true")),
        has_default: spec.get("default").is_some_and(|d| !d.is_null()),
        kind: spec
            .get("type")
            .and_then(Value::scalar)
            .unwrap_or("string")
            .to_owned(),
        options: match spec.get("options") {
            Some(Value::Seq(list)) => scalars(list),
            _ => Vec::new(),
        },
    }
}

/// The scalars of a list, as written (GitHub reads numbers and booleans there as text).
fn scalars(list: &[Value]) -> Vec<String> {
    list.iter()
        .filter_map(Value::scalar)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(text: &str) -> Workflow {
        parse(&format!("name: w\n{text}\njobs: {{}}\n")).unwrap()
    }

    #[test]
    fn every_form_of_on_is_read() {
        let only = |types: &[&str]| {
            Some(EventTypes::Only(
                types.iter().map(|t| t.to_string()).collect(),
            ))
        };
        assert_eq!(
            on("on: repository_dispatch").repository_dispatch,
            Some(EventTypes::All)
        );
        assert_eq!(
            on("on: [push, repository_dispatch]").repository_dispatch,
            Some(EventTypes::All)
        );
        assert_eq!(
            on("on:\n  repository_dispatch:\n").repository_dispatch,
            Some(EventTypes::All)
        );
        assert_eq!(
            on("on:\n  repository_dispatch: {}\n").repository_dispatch,
            Some(EventTypes::All)
        );
        assert_eq!(
            on("on:\n  repository_dispatch:\n    types: a\n").repository_dispatch,
            only(&["a"])
        );
        assert_eq!(
            on("on:\n  repository_dispatch:\n    types: [a, 'b']\n").repository_dispatch,
            only(&["a", "b"])
        );
        assert_eq!(
            on("'on':\n  repository_dispatch:\n    types:\n      - a\n").repository_dispatch,
            only(&["a"])
        );
        assert_eq!(on("on: push").repository_dispatch, None);
        assert_eq!(on("on: [push]").workflow_dispatch, None);
        assert_eq!(on("on: workflow_dispatch").workflow_dispatch, Some(vec![]));
    }

    #[test]
    fn a_file_past_the_limits_is_told_apart_from_one_github_would_not_run() {
        let deep = format!("on: repository_dispatch\njobs:\n{}", "- ".repeat(100));
        assert!(matches!(read(&deep), Err(Unparsed::PastLimits(_))));
        let types: Vec<String> = (0..=MAX_EVENT_TYPES).map(|i| format!("t{i}")).collect();
        let many = format!(
            "on:\n  repository_dispatch:\n    types: [{}]\n",
            types.join(", ")
        );
        assert!(matches!(read(&many), Err(Unparsed::PastLimits(_))));
        assert!(matches!(read("on: [push\n"), Err(Unparsed::Invalid(_))));
        assert!(matches!(read("jobs: {}\n"), Err(Unparsed::Invalid(_))));
    }

    #[test]
    fn jobs_are_named_as_a_run_lists_them() {
        let w = parse("on: workflow_dispatch\njobs:\n  build: {runs-on: x}\n  ship: {name: Deploy, runs-on: x}\n  test: {name: 'test (${{ matrix.os }})', strategy: {matrix: {os: [a, b]}}}\n  lint: {strategy: {matrix: {v: [1]}}}\n  call: {uses: o/r/.github/workflows/w.yml@main}\n").unwrap();
        assert_eq!(
            w.jobs,
            [
                JobName::Exactly("build".into()),
                JobName::Exactly("Deploy".into()),
                JobName::Computed("test (${{ matrix.os }})".into()),
                JobName::Computed("lint".into()),
                JobName::Computed("call".into()),
            ]
        );
    }

    #[test]
    fn inputs_are_read_with_their_rules() {
        let w = on("on:\n  workflow_dispatch:\n    inputs:\n      v: {required: true}\n      c: {type: choice, options: [a, 1], default: a}\n      b: {type: boolean, required: true, default: false}\n");
        let inputs = w.workflow_dispatch.unwrap();
        assert_eq!(inputs[0].name, "v");
        assert!(inputs[0].required && !inputs[0].has_default);
        assert_eq!(inputs[0].kind, "string");
        assert_eq!(inputs[1].options, ["a", "1"]);
        assert!(inputs[2].has_default);
    }

    #[test]
    fn anchors_are_followed_and_alias_bombs_refused() {
        let w =
            parse("x: &types [a, b]\non:\n  repository_dispatch:\n    types: *types\n").unwrap();
        assert_eq!(
            w.repository_dispatch,
            Some(EventTypes::Only(vec!["a".into(), "b".into()]))
        );
        let mut bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        bomb.push_str("on: push\n");
        assert!(parse(&bomb)
            .unwrap_err()
            .contains("once its aliases are expanded"));
    }

    #[test]
    fn a_run_name_with_the_dispatch_id_is_trackable() {
        let w =
            parse("run-name: Rebuild ${{ github.event.client_payload.dispatch_id }}\non: push\n")
                .unwrap();
        assert!(w.carries_dispatch_id());
        for name in [
            "Rebuild",
            "Rebuild ${{ github.event.client_payload.dispatch_identity }}",
            "Rebuild ${{ github.event.client_payload.dispatch_id_old }}",
        ] {
            let text = format!("run-name: '{name}'\non: push\n");
            assert!(!parse(&text).unwrap().carries_dispatch_id(), "{name}");
        }
        assert!(parse("on: [push\n")
            .unwrap_err()
            .starts_with("invalid YAML"));
    }

    /// `size` bytes of text anchored once and aliased `aliases` times, under a trigger that
    /// listens: the file of issue 21 (323 KB that expanded to 1.2 GB).
    fn alias_bomb(size: usize, aliases: usize) -> String {
        format!(
            "name: w\non:\n  repository_dispatch:\n    types: [upstream-release]\nenv:\n  BIG: &big {}\nrepeat: [{}]\njobs: {{}}\n",
            "x".repeat(size),
            vec!["*big"; aliases].join(", ")
        )
    }

    #[test]
    fn a_large_scalar_aliased_thousands_of_times_is_refused_before_it_is_copied() {
        for (size, aliases) in [(300_000, 4_000), (1_000_000, 3_000)] {
            let bomb = alias_bomb(size, aliases);
            assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
            let why = parse(&bomb).unwrap_err();
            assert!(
                why.starts_with("the document holds more than 4 MiB of text once its aliases are expanded (line "),
                "{why}"
            );
        }
        // The same file with a few aliases is an ordinary workflow.
        let few = parse(&alias_bomb(300_000, 3)).unwrap();
        assert_eq!(
            few.repository_dispatch,
            Some(EventTypes::Only(vec!["upstream-release".into()]))
        );
    }

    #[test]
    fn a_deep_nest_and_an_oversized_file_are_refused() {
        let deep = format!("on: push\njobs:\n{}", "- ".repeat(10_000));
        let why = parse(&deep).unwrap_err();
        assert_eq!(
            why,
            "the document nests more than 64 levels deep (line 3, column 127)"
        );
        let large = format!("on: push\nx: {}\n", "y".repeat(1024 * 1024));
        let why = parse(&large).unwrap_err();
        assert_eq!(
            why,
            "the file is 1048589 bytes, more than the 1 MiB it may have"
        );
    }
}
