//! A plan with any problem sends nothing, exits 2 and names every problem's target and key.

use crate::support::cli::{Cli, CLI_TOKEN, WEBSITE_TOKEN};
use crate::support::FakeGitHub;

const TWO_TARGETS: &str = r#"version: 1
sources:
  app:
    repository: o/app
    targets: [good, bad]
targets:
  good:
    repository: o/good
    event_type: release
    token_env: APP_TOKEN
    client_payload:
      version: "{{version}}"
  bad:
    repository: o/bad
    event_type: release
    token_env: APP_TOKEN
    client_payload:
      version: "{{versoin}}"
"#;

fn run_against(github: &FakeGitHub, yaml: &str, envs: &[(&str, &str)]) -> (i32, String) {
    let ran = Cli::with_config(yaml)
        .release("app", "1.0.0")
        .against(github)
        .envs(envs.iter().copied())
        .output();
    (ran.code, ran.stderr)
}

#[test]
fn an_unknown_template_variable_sends_nothing_and_names_target_and_key() {
    let github = FakeGitHub::start();
    let (code, stderr) = run_against(&github, TWO_TARGETS, &[("APP_TOKEN", WEBSITE_TOKEN)]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        github.requests().len(),
        0,
        "the good target must not be sent either"
    );
    assert!(
        stderr.contains("dispatch.yaml:18:7: error[render] targets.bad.client_payload.version"),
        "{stderr}"
    );
    assert!(stderr.contains("versoin"), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
}

#[test]
fn a_missing_token_sends_nothing_and_names_the_variable() {
    let github = FakeGitHub::start();
    let yaml = TWO_TARGETS.replace("{{versoin}}", "{{version}}").replacen(
        "token_env: APP_TOKEN\n    client_payload:\n      version: \"{{version}}\"\n",
        "token_env: OTHER_TOKEN\n    client_payload:\n      version: \"{{version}}\"\n",
        2,
    );
    let (code, stderr) = run_against(&github, &yaml, &[("APP_TOKEN", WEBSITE_TOKEN)]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(github.requests().len(), 0);
    assert!(
        stderr.contains("error[missing_token] targets.good.token_env: environment variable `OTHER_TOKEN` is not set; needed by good, bad\n"),
        "one problem for both targets: {stderr}"
    );
}

#[test]
fn an_empty_token_counts_as_missing() {
    let github = FakeGitHub::start();
    let ran = Cli::example()
        .release("dot-ai", "1.0.0")
        .against(&github)
        .env("WEBSITE_DISPATCH_TOKEN", "")
        .secret("CLI_DISPATCH_TOKEN", CLI_TOKEN)
        .output();
    assert_eq!(ran.code, 2);
    assert_eq!(github.requests().len(), 0);
    assert!(
        ran.stderr.contains("WEBSITE_DISPATCH_TOKEN"),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_unknown_target_name_sends_nothing_and_suggests_the_right_one() {
    let github = FakeGitHub::start();
    let yaml = TWO_TARGETS
        .replace("{{versoin}}", "{{version}}")
        .replace("targets: [good, bad]", "targets: [good, bda]");
    let (code, stderr) = run_against(&github, &yaml, &[("APP_TOKEN", WEBSITE_TOKEN)]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(github.requests().len(), 0);
    assert!(
        stderr.contains("dispatch.yaml:5:21: error[unknown_target] sources.app.targets[1]"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `bad`?"), "{stderr}");
}

#[test]
fn an_unknown_source_lists_the_known_ones() {
    let ran = Cli::example()
        .release("dot-aii", "1.0.0")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 2);
    let stderr = ran.stderr;
    assert!(stderr.contains("no source is named `dot-aii`"), "{stderr}");
    assert!(stderr.contains("dot-ai, dot-ai-controller"), "{stderr}");
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Cli::in_dir(dir.path()).release("dot-ai", "1.0.0").output();
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("error: no dispatch.yaml in "),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_invalid_version_is_a_usage_error() {
    let ran = Cli::example()
        .release("dot-ai", "")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("the version is empty"),
        "{}",
        ran.stderr
    );
}

#[test]
fn plain_http_to_a_real_host_is_refused_before_sending() {
    let ran = Cli::example()
        .release("dot-ai", "1.0.0")
        .args(["--api-url", "http://api.github.com"])
        .dot_ai_tokens()
        .output();
    assert_eq!(ran.code, 2);
    let stderr = ran.stderr;
    assert!(stderr.contains("--api-url: error[invalid_url]"), "{stderr}");
}

#[test]
fn run_output_json_lists_the_plan_s_problems_as_validate_does() {
    let github = FakeGitHub::start();
    let ran = Cli::with_config(TWO_TARGETS)
        .release("app", "1.0.0")
        .against(&github)
        .json()
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(github.requests().is_empty());
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["format"], 1);
    assert_eq!(report["valid"], false);
    let problems = report["problems"].as_array().unwrap();
    let messages: Vec<&str> = problems
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("versoin")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("APP_TOKEN")),
        "{messages:?}"
    );
    assert_eq!(report["errors"], problems.len());
}
