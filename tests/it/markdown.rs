//! `--output markdown`: the plan (or the outcomes) as a table a pull-request bot can post.

use crate::support::cli::{Cli, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};

const HOOK_PATH: &str = "/build_hooks/5f3a9c0ffee";

const CONFIG: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [site, deploy, hook, later]}
targets:
  site:
    repository: o/site
    event_type: "app-{{major}}"
    token_env: SITE_TOKEN
    client_payload: {version: "{{version}}", note: "a | b `c`"}
  deploy:
    kind: workflow_dispatch
    repository: o/deploy
    workflow: deploy.yml
    ref: main
    token_env: DEPLOY_TOKEN
  hook:
    kind: webhook
    url_env: HOOK_URL
  later:
    repository: o/later
    event_type: release
    token_env: SITE_TOKEN
    when: {prerelease: false}
"#;

fn markdown(args: &[&str], github: Option<&FakeGitHub>) -> (i32, String) {
    let base = github.map_or("https://api.github.com".to_owned(), |g| g.base_url());
    let ran = Cli::with_config(CONFIG)
        .release("app", "2.0.0-rc.1")
        .args(["--output", "markdown", "--api-url", &base])
        .args(args)
        .secret("SITE_TOKEN", WEBSITE_TOKEN)
        .env("HOOK_URL", format!("{base}{HOOK_PATH}"))
        .forbid("5f3a9c0ffee")
        .output();
    (ran.code, ran.stdout)
}

fn row<'a>(text: &'a str, target: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("| `{target}` |")))
        .unwrap_or_else(|| panic!("no row for {target}:\n{text}"))
}

#[test]
fn a_dry_run_as_markdown_is_a_table_of_what_each_target_is_sent() {
    let (code, md) = markdown(&["--dry-run"], None);
    assert_eq!(code, 0, "{md}");
    assert!(
        md.starts_with("### orchestrator dry run: app 2.0.0-rc.1\n"),
        "{md}"
    );
    assert!(
        md.contains("Would send **3 dispatches**, 1 skipped"),
        "{md}"
    );
    assert!(md.contains("| target | kind | destination | sends | token | note |"));
    assert_eq!(
        row(&md, "site"),
        "| `site` | repository_dispatch | o/site | event `app-2` | `$SITE_TOKEN` set |  |"
    );
    assert_eq!(
        row(&md, "deploy"),
        "| `deploy` | workflow_dispatch | o/deploy | workflow `deploy.yml@main` | `$DEPLOY_TOKEN` **not set** |  |"
    );
    assert_eq!(
        row(&md, "hook"),
        "| `hook` | webhook | $HOOK\\_URL | `POST` | none |  |",
        "a secret URL is named by its variable"
    );
    assert!(row(&md, "later").contains("skipped: "), "{md}");
    assert!(
        md.contains("<details><summary>Request bodies</summary>"),
        "{md}"
    );
    assert!(
        md.contains("\"note\": \"a | b `c`\""),
        "bodies are shown exactly: {md}"
    );
}

#[test]
fn a_run_as_markdown_is_a_table_of_outcomes() {
    let github = FakeGitHub::start();
    github.on("POST", HOOK_PATH, Reply::no_content());
    github.on(
        "POST",
        "/repos/o/deploy/actions/workflows/deploy.yml/dispatches",
        Reply::status(200).json(serde_json::json!({
            "workflow_run_id": 9,
            "html_url": "https://github.com/o/deploy/actions/runs/9",
        })),
    );
    let ran = Cli::with_config(CONFIG)
        .release("app", "2.0.0")
        .args(["--output", "markdown"])
        .against(&github)
        .secret("SITE_TOKEN", WEBSITE_TOKEN)
        .secret("DEPLOY_TOKEN", WEBSITE_TOKEN)
        .env("HOOK_URL", format!("{}{HOOK_PATH}", github.base_url()))
        .forbid("5f3a9c0ffee")
        .output();
    let md = ran.stdout;
    assert_eq!(ran.code, 0, "{md}");
    assert!(md.starts_with("### orchestrator: app 2.0.0\n"), "{md}");
    assert!(
        md.contains("**4 delivered**, **0 failed**, 0 skipped"),
        "{md}"
    );
    assert!(row(&md, "site").contains("| ✅ delivered | 1 |"), "{md}");
    assert!(
        row(&md, "deploy").contains("[run 9](https://github.com/o/deploy/actions/runs/9)"),
        "{md}"
    );
}

#[test]
fn validate_as_markdown_lists_each_problem() {
    let ran = Cli::with_config(&CONFIG.replace("targets: [site,", "targets: [sight,"))
        .args(["validate", "--output", "markdown"])
        .output();
    assert_eq!(ran.code, 1);
    let md = ran.stdout;
    assert!(md.starts_with("### `dispatch.yaml`: ❌ not valid"), "{md}");
    assert!(md.contains("| error `unknown_target` | 3 |"), "{md}");
    assert!(md.contains("| `sources.app.targets[0]` |"), "{md}");
    assert!(md.contains("| warning `unused_target` | 5 |"), "{md}");
}
