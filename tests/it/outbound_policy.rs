//! One outbound policy (issue 10, items 1, 2a, 7, 8): every URL is built from the configured
//! base, a redirect is followed only within the configured origin (and never turns a POST into
//! a GET), no `Referer` is ever sent, and `--wait` polls carry the dispatch's token, an App's
//! installation token included. 127.0.0.1 is the configured host, 127.0.0.2 another host.

use crate::support::cli::{config_dir, orchestrator, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use serde_json::{json, Value};

const HOOK_ID: &str = "5f3a9c0ffee";
const HOOK_PATH: &str = "/build_hooks/5f3a9c0ffee";
const HOOK_SECRET: &str = "s3cret-signing-key";
const MINTED: &str = "ghs_mintedINSTALLATIONtoken000000000001";
const DISPATCH: &str = "/repos/o/site/dispatches";
const WORKFLOW: &str = "/repos/o/cli/actions/workflows/release.yml/dispatches";

const SITE: &str = "version: 1
sources:
  app: {repository: o/app, targets: [site]}
targets:
  site:
    repository: o/site
    event_type: release
    token_env: APP_TOKEN
    client_payload: {version: \"{{version}}\"}
";

const HOOK: &str = "version: 1
sources:
  app: {repository: o/app, targets: [hook]}
targets:
  hook:
    kind: webhook
    url_env: HOOK_URL
    body: {title: \"release {{version}}\"}
    signature: {secret_env: HOOK_SECRET}
";

const CLI: &str = "version: 1
sources:
  app: {repository: o/app, targets: [cli]}
targets:
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    ref: main
    token_env: APP_TOKEN
";

/// Runs the release against `github` and returns the exit code, the JSON report and the
/// target's entry; no secret may appear in any output.
fn run(github: &FakeGitHub, yaml: &str, extra: &[&str]) -> (i32, Value) {
    run_with(github, yaml, extra, &[])
}

fn run_with(github: &FakeGitHub, yaml: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let dir = config_dir(yaml);
    let output = orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "app",
            "--version",
            "2.0.0",
            "--output",
            "json",
        ])
        .args(["--api-url", &github.base_url(), "--backoff-ms", "10"])
        .args(extra)
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .env("HOOK_URL", format!("{}{HOOK_PATH}", github.base_url()))
        .env("HOOK_SECRET", HOOK_SECRET)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in [WEBSITE_TOKEN, HOOK_SECRET, HOOK_ID, MINTED] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    let report =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {all}"));
    (output.status.code().unwrap_or(-1), report)
}

fn target(report: &Value) -> &Value {
    &report["targets"][0]
}

fn text<'a>(report: &'a Value, field: &str) -> &'a str {
    target(report)[field].as_str().unwrap_or_default()
}

/// A host that answers anything it is sent, so a request that reaches it would succeed.
fn attacker() -> FakeGitHub {
    let other = FakeGitHub::other_host();
    for method in ["GET", "POST", "PUT"] {
        for path in ["/collect", "/steal/actions/runs/42", DISPATCH] {
            other.on(
                method,
                path,
                Reply::status(200).json(json!({"status": "completed", "conclusion": "success"})),
            );
        }
    }
    other
}

#[test]
fn wait_polls_the_run_on_the_configured_api_whatever_run_url_the_answer_names() {
    let github = FakeGitHub::start();
    let other = attacker();
    github.on(
        "POST",
        WORKFLOW,
        Reply::status(200).json(json!({
            "workflow_run_id": 42,
            "run_url": format!("{}/steal/actions/runs/42", other.base_url()),
            "html_url": "https://github.com/o/cli/actions/runs/42",
        })),
    );
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/42",
        [
            Reply::status(200).json(json!({"status": "in_progress", "conclusion": null})),
            Reply::status(200).json(json!({"status": "completed", "conclusion": "failure"})),
        ],
    );
    let (code, report) = run(
        &github,
        CLI,
        // A minute only bounds a broken run: this one ends at its second poll.
        &["--wait", "--wait-timeout", "60", "--poll-interval-ms", "20"],
    );
    assert!(
        other.requests().is_empty(),
        "another host was polled: {:?}",
        other.requests()
    );
    let polls = github.requests_to("/repos/o/cli/actions/runs/42");
    assert_eq!(polls.len(), 2, "{report}");
    let bearer = format!("Bearer {WEBSITE_TOKEN}");
    assert_eq!(polls[0].header("authorization"), Some(bearer.as_str()));
    // The configured host decides: its run failed, so the release does.
    assert_eq!(code, 1, "{report}");
    assert_eq!(target(&report)["run"]["conclusion"], "failure");
}

/// A run whose one request to `path` is answered `status` with a `Location` on another host
/// (`then` after its origin): that host sees nothing, the run fails (exit 1) and its reason
/// names only the other origin. Gives the fake GitHub and the reason.
fn redirected_elsewhere(yaml: &str, path: &str, status: u16, then: &str) -> (FakeGitHub, String) {
    let github = FakeGitHub::start();
    let other = attacker();
    github.on(
        "POST",
        path,
        Reply::status(status).header("location", format!("{}{then}", other.base_url())),
    );
    let (code, report) = run(&github, yaml, &[]);
    assert!(
        other.requests().is_empty(),
        "{status}: another host got {:?}",
        other.requests()
    );
    assert_eq!(code, 1, "{status}: {report}");
    assert_eq!(text(&report, "outcome"), "failed", "{report}");
    let reason = text(&report, "reason");
    assert_eq!(
        reason,
        format!(
            "{status} redirect to {} (another origin): not followed",
            other.base_url()
        ),
    );
    if path == HOOK_PATH {
        assert!(text(&report, "hint").contains("webhook's URL"), "{report}");
    }
    (github, reason.to_owned())
}

#[test]
fn a_webhook_redirected_to_another_host_fails_and_that_host_sees_nothing() {
    for status in [302, 307] {
        let (github, _) = redirected_elsewhere(HOOK, HOOK_PATH, status, "/collect?from=hook");
        assert_eq!(github.requests().len(), 1, "sent once, not retried");
    }
}

#[test]
fn a_webhook_redirected_within_its_origin_sends_no_referer() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        HOOK_PATH,
        Reply::status(307).header("location", "/build_hooks/moved"),
    );
    github.on("POST", "/build_hooks/moved", Reply::status(200).body("ok"));
    let (code, report) = run(&github, HOOK, &[]);
    assert_eq!(code, 0, "{report}");
    let moved = github.requests_to("/build_hooks/moved");
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].header("referer"),
        None,
        "the secret URL left in a Referer"
    );
    assert_eq!(moved[0].body_json(), json!({"title": "release 2.0.0"}));
    assert!(moved[0].header("x-hub-signature-256").is_some());
}

#[test]
fn a_301_302_or_303_for_a_post_is_not_followed_even_within_the_origin() {
    for status in [301, 302, 303] {
        let github = FakeGitHub::start();
        github.on(
            "POST",
            DISPATCH,
            Reply::status(status).header("location", "/repos/o/site-renamed/dispatches"),
        );
        // A body-less GET there would "succeed".
        for method in ["GET", "POST"] {
            github.on(
                method,
                "/repos/o/site-renamed/dispatches",
                Reply::status(200).json(json!({})),
            );
        }
        let (code, report) = run(&github, SITE, &[]);
        assert!(
            github
                .requests_to("/repos/o/site-renamed/dispatches")
                .is_empty(),
            "{status} was followed"
        );
        assert_eq!(code, 1, "{status}: {report}");
        assert_eq!(text(&report, "outcome"), "failed");
        assert_eq!(
            text(&report, "reason"),
            format!(
                "{status} redirect to {} (it would re-send the request as a GET without its body): not followed",
                github.base_url()
            )
        );
        assert!(text(&report, "hint").contains("`api_url`"), "{report}");
        assert_eq!(github.requests_to(DISPATCH).len(), 1, "not retried");
    }
}

#[test]
fn a_307_within_the_origin_repeats_the_dispatch_with_its_body_and_token() {
    let github = FakeGitHub::start();
    let renamed = "/repos/o/site-renamed/dispatches";
    github.on(
        "POST",
        DISPATCH,
        Reply::status(307).header("location", format!("{}{renamed}", github.base_url())),
    );
    github.on("POST", renamed, Reply::no_content());
    let (code, report) = run(&github, SITE, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(text(&report, "outcome"), "delivered");
    let first = &github.requests_to(DISPATCH)[0];
    let repeated = &github.requests_to(renamed)[0];
    assert_eq!(repeated.body, first.body);
    assert_eq!(repeated.body_json()["client_payload"]["version"], "2.0.0");
    let bearer = format!("Bearer {WEBSITE_TOKEN}");
    assert_eq!(repeated.header("authorization"), Some(bearer.as_str()));
    assert_eq!(repeated.header("referer"), None);
}

#[test]
fn a_307_or_308_from_a_dispatch_to_another_host_is_not_followed() {
    for status in [307, 308] {
        let (_, reason) =
            redirected_elsewhere(SITE, DISPATCH, status, &format!("{DISPATCH}?steal=1"));
        assert!(
            !reason.contains("steal") && !reason.contains("/repos"),
            "{reason}"
        );
    }
}

#[test]
fn an_app_token_request_redirected_to_another_host_never_carries_the_jwt_there() {
    let github = FakeGitHub::start();
    let other = attacker();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Reply::status(307).header("location", format!("{}/collect", other.base_url())),
    );
    let pem = key_pem();
    let (code, report) = run_with(&github, &app_config(""), &[], &[("APP_KEY", &pem)]);
    assert!(
        other.requests().is_empty(),
        "another host got {:?}",
        other.requests()
    );
    assert_eq!(code, 1, "{report}");
    assert!(
        text(&report, "reason").contains(&format!(
            "307 redirect to {} (another origin): not followed",
            other.base_url()
        )),
        "{report}"
    );
    assert!(
        github
            .requests_to("/repos/acme/cli/actions/workflows/release.yml/dispatches")
            .is_empty(),
        "dispatched without a token"
    );
}

#[test]
fn wait_with_github_app_auth_polls_with_the_installation_token() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Reply::status(201).json(json!({"token": MINTED, "expires_at": "2999-01-01T00:00:00Z"})),
    );
    github.on(
        "POST",
        "/repos/acme/cli/actions/workflows/release.yml/dispatches",
        Reply::status(200).json(json!({"workflow_run_id": 42})),
    );
    github.on(
        "GET",
        "/repos/acme/cli/actions/runs/42",
        Reply::status(200).json(json!({"status": "completed", "conclusion": "success"})),
    );
    let pem = key_pem();
    let (code, report) = run_with(
        &github,
        &app_config("    wait: true\n"),
        // A minute only bounds a broken run: this one ends at its first poll.
        &["--wait-timeout", "60", "--poll-interval-ms", "20"],
        &[("APP_KEY", &pem)],
    );
    let polls = github.requests_to("/repos/acme/cli/actions/runs/42");
    assert!(!polls.is_empty(), "{report}");
    let bearer = format!("Bearer {MINTED}");
    for poll in &polls {
        assert_eq!(poll.header("authorization"), Some(bearer.as_str()));
    }
    assert_eq!(code, 0, "{report}");
    assert_eq!(target(&report)["run"]["conclusion"], "success");
    assert_eq!(
        github
            .requests_to("/app/installations/7/access_tokens")
            .len(),
        1,
        "the dispatch's token is reused"
    );
}

fn app_config(extra: &str) -> String {
    format!(
        "version: 1
defaults:
  github_app: {{app_id: 12345, private_key_env: APP_KEY, installation_id: 7}}
sources:
  app: {{repository: acme/app, targets: [cli]}}
targets:
  cli:
    kind: workflow_dispatch
    repository: acme/cli
    workflow: release.yml
    ref: main
{extra}"
    )
}

/// The App key every test shares (an RSA key takes a random, sometimes long, time to make).
fn key_pem() -> String {
    crate::app_auth::fixture::test_key().pkcs1_pem.clone()
}

#[test]
fn a_lookup_redirected_within_the_origin_is_followed_as_the_get_it_is() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/o/cli",
        Reply::status(301).header("location", "/repositories/99"),
    );
    github.on(
        "GET",
        "/repositories/99",
        Reply::status(200).json(json!({"default_branch": "trunk"})),
    );
    let (code, report) = run(&github, &CLI.replace("    ref: main\n", ""), &[]);
    assert_eq!(code, 0, "{report}");
    let moved = github.requests_to("/repositories/99");
    assert_eq!(moved.len(), 1);
    let bearer = format!("Bearer {WEBSITE_TOKEN}");
    assert_eq!(moved[0].header("authorization"), Some(bearer.as_str()));
    assert_eq!(github.requests_to(WORKFLOW)[0].body_json()["ref"], "trunk");
}
