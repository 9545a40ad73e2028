//! What a user reads, pinned as reviewed snapshots (`tests/it/snapshots/`): the text report of
//! a dry run and of a run, the job summary, the JSON report, `validate`'s diagnostics and the
//! help. A change to any of them shows up as a diff of its `.snap` file.

use crate::support::cli::{Cli, Ran, WEBSITE_TOKEN};
use crate::support::snapshot::snapshot;
use crate::support::{FakeGitHub, Reply};
use serde_json::json;

const HOOK_PATH: &str = "/build_hooks/5f3a9c0ffee";

/// One target of each kind, one the server refuses, and one this release skips.
const MIXED: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [site, deploy, hook, gone, stable-only]}
targets:
  site:
    repository: o/site
    event_type: "app-{{major}}"
    token_env: APP_TOKEN
    client_payload: {version: "{{version}}", channel: "{{#if prerelease}}rc{{else}}stable{{/if}}"}
  deploy:
    kind: workflow_dispatch
    repository: o/deploy
    workflow: deploy.yml
    ref: main
    token_env: APP_TOKEN
    inputs: {version: "{{version}}"}
    wait: true
  hook:
    kind: webhook
    url_env: HOOK_URL
  gone:
    repository: o/gone
    event_type: release
    token_env: APP_TOKEN
  stable-only:
    repository: o/stable
    event_type: release
    token_env: APP_TOKEN
    when: {prerelease: false}
"#;

/// A fake GitHub on which `deploy`'s run succeeds, the hook answers and `gone` does not exist.
fn github() -> FakeGitHub {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/deploy/actions/workflows/deploy.yml/dispatches",
        Reply::status(200).json(json!({
            "workflow_run_id": 77,
            "run_url": format!("{}/repos/o/deploy/actions/runs/77", github.base_url()),
            "html_url": "https://github.com/o/deploy/actions/runs/77",
        })),
    );
    github.on(
        "GET",
        "/repos/o/deploy/actions/runs/77",
        Reply::status(200).json(json!({"status": "completed", "conclusion": "success",
            "html_url": "https://github.com/o/deploy/actions/runs/77"})),
    );
    github.on("POST", "/repos/o/gone/dispatches", Reply::not_found());
    github.on("POST", HOOK_PATH, Reply::no_content());
    github
}

/// `run` of app 2.0.0-rc.1 over [`MIXED`] against `github`.
fn mixed_run(github: &FakeGitHub) -> Cli {
    Cli::with_config(MIXED)
        .release("app", "2.0.0-rc.1")
        .against(github)
        .args(["--poll-interval-ms", "10"])
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .env("HOOK_URL", format!("{}{HOOK_PATH}", github.base_url()))
        .forbid("5f3a9c0ffee")
}

#[test]
fn the_text_report_of_a_dry_run() {
    let github = github();
    let ran = mixed_run(&github).arg("--dry-run").output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    snapshot!("dry_run_text", ran.stdout);
    assert!(github.requests().is_empty(), "a dry run sends nothing");
}

#[test]
fn the_text_report_of_a_run() {
    let ran = mixed_run(&github()).output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    snapshot!("run_text", ran.stdout);
}

#[test]
fn the_job_summary_and_the_json_report_of_a_run_under_actions() {
    let runner = tempfile::tempdir().unwrap();
    let summary = runner.path().join("summary.md");
    let report = runner.path().join("report.json");
    let ran = mixed_run(&github())
        .arg("--report")
        .arg(&report)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", runner.path().join("output"))
        .env("RUNNER_TEMP", runner.path())
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    snapshot!("job_summary", std::fs::read_to_string(&summary).unwrap());
    snapshot!("json_report", std::fs::read_to_string(&report).unwrap());
}

#[test]
fn the_markdown_report_of_a_dry_run() {
    let ran = mixed_run(&github())
        .args(["--dry-run", "--output", "markdown"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    snapshot!("dry_run_markdown", ran.stdout);
}

#[test]
fn validate_shows_each_problem_with_its_place_and_help() {
    let broken = MIXED
        .replace(
            "    event_type: release\n    token_env: APP_TOKEN\n    when:",
            "    event_typo: release\n    token_env: APP_TOKEN\n    when:",
        )
        .replace("    ref: main\n", "    ref: main\n    concurency: 3\n");
    let ran = Cli::with_config(&broken).arg("validate").output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    snapshot!("validate_diagnostics", ran.all());
}

fn help(args: &[&str]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    // Wrapped at 100 columns whatever the terminal the tests run in.
    let ran = Cli::in_dir(dir.path())
        .args(args)
        .env("COLUMNS", "100")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    ran
}

#[test]
fn the_help_of_the_main_command() {
    snapshot!("help", help(&["--help"]).stdout);
}

#[test]
fn the_help_of_run() {
    snapshot!("run_help", help(&["run", "--help"]).stdout);
}

#[test]
fn the_help_of_validate_groups_the_delivery_settings_it_only_checks() {
    snapshot!("validate_help", help(&["validate", "--help"]).stdout);
}

#[test]
fn the_help_of_diff_leaves_out_the_delivery_settings_that_change_nothing_there() {
    let diff = help(&["diff", "--help"]).stdout;
    assert!(!diff.contains("--concurrency") && !diff.contains("Delivery settings"));
    snapshot!("diff_help", diff);
}

#[test]
fn the_help_of_comment() {
    snapshot!("comment_help", help(&["comment", "--help"]).stdout);
}
