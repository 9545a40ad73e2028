//! `run` with targets that authenticate as a GitHub App: one installation token for many
//! targets, masked under GitHub Actions, never printed.

use crate::support::cli::{config_dir, Cli};
use crate::support::{openapi, FakeGitHub, Reply};
use serde_json::json;

const MINTED: &str = "ghs_mintedINSTALLATIONtoken000000000001";

const CONFIG: &str = r#"version: 1
defaults:
  github_app: {app_id: 12345, private_key_env: APP_KEY, installation_id: 7}
sources:
  app: {repository: acme/app, targets: [site, docs, cli]}
targets:
  site: {repository: acme/site, event_type: release}
  docs: {repository: acme/docs, event_type: release}
  cli:
    kind: workflow_dispatch
    repository: acme/cli
    workflow: release.yml
    ref: main
"#;

/// The App key every test shares (an RSA key takes a random, sometimes long, time to make).
fn key_pem() -> String {
    crate::app_auth::fixture::test_key().pkcs1_pem.clone()
}

#[test]
fn one_installation_token_serves_every_target_and_is_never_printed() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Reply::status(201).json(json!({"token": MINTED, "expires_at": "2999-01-01T00:00:00Z"})),
    );
    let pem = key_pem();
    let dir = config_dir(CONFIG);
    let summary = dir.path().join("summary.md");
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .json()
        .against(&github)
        .env("APP_KEY", &pem)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", dir.path())
        .output();
    let (stdout, stderr) = (&ran.stdout, &ran.stderr);
    assert_eq!(ran.code, 0, "{}", ran.all());

    let minted = github.requests_to("/app/installations/7/access_tokens");
    assert_eq!(minted.len(), 1, "one token for the installation");
    openapi::assert_request_matches("apps/create-installation-access-token", &minted[0]);
    let mut narrowed: Vec<String> = minted[0].body_json()["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    narrowed.sort();
    assert_eq!(narrowed, ["cli", "docs", "site"]);
    assert!(
        minted[0]
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ey"),
        "a JWT"
    );

    for path in [
        "/repos/acme/site/dispatches",
        "/repos/acme/docs/dispatches",
        "/repos/acme/cli/actions/workflows/release.yml/dispatches",
    ] {
        let sent = github.requests_to(path);
        assert_eq!(sent.len(), 1, "{path}");
        assert_eq!(
            sent[0].header("authorization"),
            Some(format!("Bearer {MINTED}").as_str())
        );
    }

    // The runner is told to mask the token before anything could print it; nothing else does.
    assert!(
        stderr.contains(&format!("::add-mask::{MINTED}")),
        "{stderr}"
    );
    let unmasked = stderr.replace(&format!("::add-mask::{MINTED}"), "");
    let summary = std::fs::read_to_string(&summary).unwrap_or_default();
    for text in [stdout.as_str(), unmasked.as_str(), summary.as_str()] {
        assert!(!text.contains(MINTED), "token printed: {text}");
        assert!(!text.contains("PRIVATE KEY"), "key printed");
    }
}

#[test]
fn a_missing_app_key_sends_nothing_and_says_which() {
    let github = FakeGitHub::start();
    let dir = config_dir(CONFIG);
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .against(&github)
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(github.requests().is_empty());
    let stderr = &ran.stderr;
    assert!(stderr.contains("APP_KEY"), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
}

#[test]
fn the_dry_run_names_the_app_and_needs_no_key() {
    let dir = config_dir(CONFIG);
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let stdout = &ran.stdout;
    assert!(
        stdout.contains("auth: GitHub App 12345 (key in $APP_KEY)"),
        "{stdout}"
    );
}
