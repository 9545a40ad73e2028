//! A workflow file, read for what `check` needs: which events start it (every `on:` form
//! GitHub accepts), the inputs it declares for workflow_dispatch, and its `run-name`. Pure.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{Yaml, YamlLoader};

/// Nodes a file may expand to through aliases; a real workflow has a few thousand. Aliases
/// are expanded by copying, so a file of nested aliases would otherwise take any memory.
const MAX_NODES: u64 = 200_000;

/// What a workflow file says about its triggers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workflow {
    /// `Some` when it listens for repository_dispatch.
    pub repository_dispatch: Option<EventTypes>,
    /// `Some` when it declares workflow_dispatch: the inputs it declares.
    pub workflow_dispatch: Option<Vec<Input>>,
    pub run_name: Option<String>,
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

/// Reads a workflow file; `Err` says why it cannot be read (invalid YAML, not a mapping,
/// aliases that expand too far).
pub fn parse(text: &str) -> Result<Workflow, String> {
    expansion_within_bounds(text)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    let Some(Yaml::Hash(root)) = docs.first() else {
        return Err("not a workflow: the file is not a mapping".to_owned());
    };
    let on = root
        .get(&Yaml::String("on".to_owned()))
        // YAML 1.1 readers turn a bare `on` into `true`; GitHub does not, but a file written
        // for one might quote it either way.
        .or_else(|| root.get(&Yaml::Boolean(true)));
    let mut workflow = Workflow {
        run_name: match root.get(&Yaml::String("run-name".to_owned())) {
            Some(Yaml::String(name)) => Some(name.clone()),
            _ => None,
        },
        ..Workflow::default()
    };
    match on {
        None => return Err("not a workflow: it has no `on:`".to_owned()),
        Some(Yaml::String(event)) => workflow.add(event, &Yaml::Null),
        Some(Yaml::Array(events)) => {
            for event in events {
                if let Yaml::String(event) = event {
                    workflow.add(event, &Yaml::Null);
                }
            }
        }
        Some(Yaml::Hash(events)) => {
            for (event, config) in events {
                if let Yaml::String(event) = event {
                    workflow.add(event, config);
                }
            }
        }
        Some(_) => return Err("`on:` is neither an event, a list nor a mapping".to_owned()),
    }
    Ok(workflow)
}

impl Workflow {
    fn add(&mut self, event: &str, config: &Yaml) {
        match event {
            "repository_dispatch" => {
                let types = match &config["types"] {
                    Yaml::String(one) => EventTypes::Only(vec![one.clone()]),
                    Yaml::Array(list) => EventTypes::Only(list.iter().filter_map(scalar).collect()),
                    _ => EventTypes::All,
                };
                self.repository_dispatch = Some(types);
            }
            "workflow_dispatch" => {
                let mut inputs = Vec::new();
                if let Yaml::Hash(declared) = &config["inputs"] {
                    for (name, spec) in declared {
                        let Some(name) = scalar(name) else { continue };
                        inputs.push(Input {
                            name,
                            required: matches!(&spec["required"], Yaml::Boolean(true))
                                || matches!(&spec["required"], Yaml::String(s) if s == "true"),
                            has_default: !matches!(spec["default"], Yaml::BadValue | Yaml::Null),
                            kind: scalar(&spec["type"]).unwrap_or_else(|| "string".to_owned()),
                            options: match &spec["options"] {
                                Yaml::Array(list) => list.iter().filter_map(scalar).collect(),
                                _ => Vec::new(),
                            },
                        });
                    }
                }
                self.workflow_dispatch = Some(inputs);
            }
            _ => {}
        }
    }
}

/// A scalar as GitHub would read it: text, or a number or boolean written bare.
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(n) => Some(n.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Counts the nodes the file expands to, aliases included, before anything is copied.
fn expansion_within_bounds(text: &str) -> Result<(), String> {
    let mut parser = Parser::new_from_str(text);
    let mut sizes: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    // Open collections: their anchor and the nodes inside so far.
    let mut open: Vec<(usize, u64)> = vec![(0, 0)];
    loop {
        let (event, _) = parser
            .next_token()
            .map_err(|e| format!("invalid YAML: {e}"))?;
        let done = match event {
            Event::StreamEnd => break,
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                open.push((anchor, 1));
                None
            }
            Event::MappingEnd | Event::SequenceEnd => open.pop(),
            Event::Scalar(_, _, anchor, _) => Some((anchor, 1)),
            Event::Alias(id) => Some((0, sizes.get(&id).copied().unwrap_or(1))),
            _ => None,
        };
        if let Some((anchor, size)) = done {
            if anchor > 0 {
                sizes.insert(anchor, size);
            }
            if let Some((_, parent)) = open.last_mut() {
                *parent = parent.saturating_add(size);
                if *parent > MAX_NODES {
                    return Err(format!(
                        "its aliases expand to more than {MAX_NODES} nodes, so it was not read"
                    ));
                }
            }
        }
    }
    Ok(())
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
        assert!(parse(&bomb).unwrap_err().contains("aliases expand"));
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
}
