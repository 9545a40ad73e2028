//! `orchestrator receiver TARGET`: the workflow a receiving repository needs, which `check`
//! then calls ready (and trackable, for a target with `track: true`) for that target.

use crate::check::serve_repo;
use crate::support::cli::{example_dir, orchestrator, WEBSITE_TOKEN};
use crate::support::FakeGitHub;
use orchestrator::check::workflow::{parse, EventTypes};
use serde_json::Value;

fn receiver(dir: &std::path::Path, target: &str) -> std::process::Output {
    orchestrator(dir)
        .args(["receiver", target])
        .output()
        .unwrap()
}

#[test]
fn the_website_receiver_listens_for_upstream_release_with_no_dispatch_id_as_it_is_not_tracked() {
    let dir = example_dir();
    let output = receiver(dir.path(), "dot-ai-website");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let workflow = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        workflow.repository_dispatch,
        Some(EventTypes::Only(vec!["upstream-release".into()]))
    );
    // Without `track: true` no dispatch id is sent: none in the title, none in the job.
    assert!(!workflow.carries_dispatch_id(), "{text}");
    assert!(!text.contains("dispatch_id"), "{text}");
    assert!(
        text.contains("run-name: \"upstream-release of ${{ github.event.client_payload.source }} ${{ github.event.client_payload.version }}\"\n"),
        "{text}"
    );
    // Each payload field is shown through env, never pasted into the script.
    for field in ["source", "version"] {
        assert!(
            text.contains(&format!("${{{{ github.event.client_payload.{field} }}}}")),
            "{field}\n{text}"
        );
    }
    assert!(!text.contains("run: echo ${{"), "{text}");

    // Served as the repository's workflow, `check` calls the target ready.
    let github = FakeGitHub::start();
    serve_repo(
        &github,
        "vfarcic/dot-ai-website",
        &[("upstream-release.yml", &text)],
    );
    let output = orchestrator(dir.path())
        .args([
            "check",
            "--source",
            "dot-ai-controller",
            "--output",
            "json",
            "--api-url",
            &github.base_url(),
        ])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["targets"][0]["verdict"], "ready");
}

#[test]
fn a_tracked_target_s_receiver_carries_the_dispatch_id_in_its_run_name() {
    let dir = crate::support::cli::config_dir(
        "version: 1\nsources:\n  lib: {repository: acme/lib, targets: [app]}\ntargets:\n  app: {repository: acme/app, event_type: release, token_env: T, track: true}\n",
    );
    let output = receiver(dir.path(), "app");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(parse(&text).unwrap().carries_dispatch_id(), "{text}");
    assert!(
        text.contains("run-name: \"release [${{ github.event.client_payload.dispatch_id }}]\"\n"),
        "{text}"
    );
}

#[test]
fn a_workflow_dispatch_receiver_declares_every_input_sent() {
    let dir = crate::support::cli::config_dir(
        "version: 1\nsources:\n  app: {repository: acme/app, targets: [deploy]}\ntargets:\n  deploy:\n    kind: workflow_dispatch\n    repository: acme/ops\n    workflow: deploy.yml\n    token_env: T\n    inputs:\n      version: \"{{version}}\"\n      it's: odd\n",
    );
    let output = receiver(dir.path(), "deploy");
    let text = String::from_utf8(output.stdout).unwrap();
    let inputs = parse(&text).unwrap().workflow_dispatch.unwrap();
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["version", "it's"]);
    assert!(text.contains("${{ inputs['it''s'] }}"), "{text}");
}

#[test]
fn a_webhook_or_unknown_target_has_no_receiver() {
    let dir = example_dir();
    let output = receiver(dir.path(), "dot-ai-site");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("known targets: dot-ai-website, dot-ai-cli"));
}

fn check_json(dir: &std::path::Path, github: &FakeGitHub) -> (Option<i32>, Value) {
    let output = orchestrator(dir)
        .args(["check", "--output", "json", "--api-url", &github.base_url()])
        .env("T", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    (output.status.code(), serde_json::from_str(&stdout).unwrap())
}

const MAJOR_SERIES: &str = "version: 1\nsources:\n  lib: {repository: acme/lib, targets: [app]}\ntargets:\n  app: {repository: acme/app, event_type: \"lib-{{major}}.x-release\", token_env: T, track: true}\n";

#[test]
fn an_event_type_that_names_the_major_is_heard_for_every_major_and_filtered_in_the_job() {
    let dir = crate::support::cli::config_dir(MAJOR_SERIES);
    let output = receiver(dir.path(), "app");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`lib-{{major}}.x-release` depends on the major version")
            && stderr.contains("start with `lib-` and end with `.x-release`"),
        "{stderr}"
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let workflow = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // GitHub's `types:` has no wildcards: every type is heard, and the job keeps its shape.
    assert_eq!(
        workflow.repository_dispatch,
        Some(EventTypes::All),
        "{text}"
    );
    assert!(
        text.contains("if: \"startsWith(github.event.action, 'lib-') && endsWith(github.event.action, '.x-release')\""),
        "{text}"
    );
    assert!(text.contains("# It cannot be listed"), "{text}");
    assert!(workflow.carries_dispatch_id(), "{text}");

    let github = FakeGitHub::start();
    serve_repo(&github, "acme/app", &[("lib-x-release.yml", &text)]);
    let (code, report) = check_json(dir.path(), &github);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["targets"][0]["verdict"], "ready");
}

#[test]
fn an_event_type_with_majors_bounded_by_when_lists_each_major_series() {
    let config = MAJOR_SERIES.replace("track: true}", "track: true, when: {version: '>=1, <3'}}");
    let dir = crate::support::cli::config_dir(&config);
    let output = receiver(dir.path(), "app");
    let text = String::from_utf8(output.stdout).unwrap();
    let workflow = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        workflow.repository_dispatch,
        Some(EventTypes::Only(vec![
            "lib-1.x-release".into(),
            "lib-2.x-release".into()
        ])),
        "{text}"
    );
    assert!(!text.contains("if:"), "{text}");
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/app", &[("lib.yml", &text)]);
    let (code, report) = check_json(dir.path(), &github);
    assert_eq!(code, Some(0), "{report:#}");
}
