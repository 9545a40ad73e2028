//! The per-release render memo: a template that reads nothing of the target renders once per
//! release and is reused for every target, so a template that does read the target (however
//! it is written) must never be taken for one that does not. Each target's body must be what
//! that target alone would get.

use crate::support::cli::Cli;
use crate::support::{FakeGitHub, Reply};
use serde_json::{json, Value};

/// `{{(lookup this "dispatch_id")}}`: a subexpression in the helper's place. Handlebars
/// evaluates it (the target's id) and prints it, so it reads the target as surely as
/// `{{dispatch_id}}` does.
const ID: &str = r#"{{(lookup this "dispatch_id")}}"#;

fn every_place(url: &str) -> String {
    format!(
        r#"version: 1
sources:
  app: {{repository: o/app, targets: [web, docs, wf, hook]}}
targets:
  web:
    repository: o/web
    token_env: T
    event_type: 'e-{ID}'
    client_payload: &payload
      id: '{ID}'
      nested: {{list: ['{{{ID}}}']}}
  docs:
    repository: o/docs
    token_env: T
    event_type: 'e-{ID}'
    client_payload: *payload
  wf:
    kind: workflow_dispatch
    repository: o/wf
    token_env: T
    workflow: ci.yml
    ref: '{ID}'
    inputs: {{id: '{ID}'}}
  hook:
    kind: webhook
    url: {url}
    headers: {{X-Id: '{ID}'}}
    body: {{id: '{ID}'}}
"#
    )
}

#[test]
fn a_template_whose_helper_is_a_subexpression_renders_each_targets_own_id_everywhere() {
    let ran = Cli::with_config(&every_place("https://example.com/hook"))
        .release("app", "1.0.0")
        .arg("--dry-run")
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let id = |name: &str| ran.target(name)["dispatch_id"].as_str().unwrap().to_owned();
    let body = |name: &str| ran.target(name)["body"].clone();
    let ids: Vec<String> = ["web", "docs", "wf", "hook"].map(id).to_vec();
    assert!(
        ids.iter().all(|i| i.len() == 16) && ids.windows(2).all(|w| w[0] != w[1]),
        "{ids:?}"
    );
    for name in ["web", "docs"] {
        let own = id(name);
        assert_eq!(
            body(name),
            json!({"event_type": format!("e-{own}"),
                   "client_payload": {"id": own, "nested": {"list": [own]}}}),
            "{name}"
        );
    }
    assert_eq!(
        body("wf"),
        json!({"ref": id("wf"), "inputs": {"id": id("wf")}, "return_run_details": true})
    );
    assert_eq!(body("hook"), json!({"id": id("hook")}));
}

#[test]
fn two_webhooks_each_send_their_own_id_in_header_and_body() {
    let github = FakeGitHub::start();
    github.on("POST", "/hook", Reply::status(200).body("ok"));
    let yaml = every_place(&format!("{}/hook", github.base_url()))
        .replace("[web, docs, wf, hook]", "[hook, other]")
        + &format!(
            "  other:\n    kind: webhook\n    url: {}/hook\n    headers: {{X-Id: '{ID}'}}\n    body: {{id: '{ID}'}}\n",
            github.base_url()
        );
    let ran = Cli::with_config(&yaml)
        .release("app", "1.0.0")
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let mut sent: Vec<(String, Value)> = github
        .requests_to("/hook")
        .iter()
        .map(|r| (r.header("x-id").unwrap_or("").to_owned(), r.body_json()))
        .collect();
    sent.sort_by(|a, b| a.0.cmp(&b.0));
    let mut wanted: Vec<(String, Value)> = ["hook", "other"]
        .iter()
        .map(|name| {
            let own = ran.target(name)["dispatch_id"].as_str().unwrap().to_owned();
            (own.clone(), json!({ "id": own }))
        })
        .collect();
    wanted.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(sent, wanted);
}

#[test]
fn a_key_with_a_dot_and_the_nested_key_it_spells_keep_their_own_templates() {
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [web, docs]}
targets:
  web:
    repository: o/web
    token_env: T
    event_type: e
    client_payload:
      "a.b": "{{target.name}}"
      a: {b: "{{version}}"}
  docs:
    repository: o/docs
    token_env: T
    event_type: e
    client_payload:
      "x[0]": "{{source.name}}"
      x: ["{{target.repository}}"]
"#;
    let ran = Cli::with_config(yaml)
        .release("app", "1.0.0")
        .arg("--dry-run")
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(
        ran.target("web")["body"]["client_payload"],
        json!({"a.b": "web", "a": {"b": "1.0.0"}})
    );
    assert_eq!(
        ran.target("docs")["body"]["client_payload"],
        json!({"x[0]": "app", "x": ["o/docs"]})
    );
}
