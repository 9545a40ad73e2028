//! `orchestrator run` end to end: the real binary against a loopback stand-in for GitHub.

use crate::support::cli::{config_dir, many_targets, Cli, Watched, CLI_TOKEN, WEBSITE_TOKEN};
use crate::support::{openapi, FakeGitHub, Reply};
use serde_json::json;
use std::time::Duration;

const DISPATCH_OP: &str = "repos/create-dispatch-event";

#[test]
fn a_dot_ai_release_sends_exactly_the_seed_dispatches() {
    let github = FakeGitHub::start();
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .against(&github)
        .dot_ai_tokens()
        .output();
    let stdout = &ran.stdout;
    assert_eq!(ran.code, 0, "{}", ran.all());

    let website = github.requests_to("/repos/vfarcic/dot-ai-website/dispatches");
    let cli = github.requests_to("/repos/vfarcic/dot-ai-cli/dispatches");
    assert_eq!(github.requests().len(), 2);
    assert_eq!(website.len(), 1);
    assert_eq!(cli.len(), 1);
    assert_eq!(
        website[0].body_json(),
        json!({"event_type": "upstream-release", "client_payload": {"source": "dot-ai", "version": "1.2.3"}})
    );
    assert_eq!(
        cli[0].body_json(),
        json!({"event_type": "server-release", "client_payload": {"version": "1.2.3"}})
    );
    assert_eq!(
        website[0].header("authorization"),
        Some(format!("Bearer {WEBSITE_TOKEN}").as_str())
    );
    assert_eq!(
        cli[0].header("authorization"),
        Some(format!("Bearer {CLI_TOKEN}").as_str())
    );
    for request in github.requests() {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
        assert!(request
            .header("user-agent")
            .unwrap_or("")
            .starts_with("orchestrator/"));
        openapi::assert_request_matches(DISPATCH_OP, &request);
    }
    assert!(
        stdout.contains("delivered") && stdout.contains("dot-ai-website"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 delivered, 0 failed, 0 skipped"),
        "{stdout}"
    );
}

#[test]
fn a_controller_release_feeds_only_the_website_with_its_own_name() {
    let github = FakeGitHub::start();
    let ran = Cli::example()
        .release("dot-ai-controller", "v0.9.0")
        .against(&github)
        .secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let requests = github.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/repos/vfarcic/dot-ai-website/dispatches");
    assert_eq!(
        requests[0].body_json()["client_payload"],
        json!({"source": "dot-ai-controller", "version": "0.9.0"})
    );
}

#[test]
fn the_source_can_be_named_by_its_repository() {
    let github = FakeGitHub::start();
    let ran = Cli::example()
        .release("vfarcic/dot-ai-controller", "1.0.0")
        .against(&github)
        .secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(github.requests().len(), 1);
}

/// Runs `cli` (a release of `many_targets(20)`) with every answer held: returns how many
/// requests were in flight at once when it could send no more without an answer.
fn most_requests_without_an_answer(cli: Cli, github: &FakeGitHub, bound: usize) -> usize {
    github.hold_answers_after(0);
    let child = Watched::new(cli.spawn());
    github.wait_for_requests(bound);
    // A window for a client that ignores the bound to send more. A correct client sends
    // nothing more whatever the window, so this cannot fail it; it only lets a broken one show.
    std::thread::sleep(Duration::from_millis(100));
    let seen = github.requests().len();
    github.release_answers();
    let ran = child.finish();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(github.requests().len(), 20);
    assert_eq!(
        github.max_in_flight(),
        seen,
        "never more at once later either"
    );
    seen
}

#[test]
fn requests_overlap_up_to_the_concurrency_bound_and_never_more() {
    for bound in [5, 10] {
        let github = FakeGitHub::start();
        let dir = config_dir(&many_targets(20));
        let cli = Cli::in_dir(dir.path())
            .release("app", "1.0.0")
            .against(&github)
            .args(["--concurrency", &bound.to_string()])
            .app_token();
        assert_eq!(
            most_requests_without_an_answer(cli, &github, bound),
            bound,
            "bound {bound}"
        );
    }
}

#[test]
fn the_default_concurrency_is_ten() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(20));
    let cli = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .env("ORCHESTRATOR_API_URL", github.base_url())
        .app_token();
    assert_eq!(most_requests_without_an_answer(cli, &github, 10), 10);
}

#[test]
fn one_failing_target_neither_stops_nor_hides_the_others() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t01/dispatches", Reply::not_found());
    github.on(
        "POST",
        "/repos/o/t02/dispatches",
        Reply::validation_failed(
            "Invalid request.\n\nFor 'properties/client_payload', nil is not an object.",
        ),
    );
    github.on("POST", "/repos/o/t03/dispatches", Reply::bad_credentials());
    let ran = Cli::with_config(&many_targets(5))
        .release("app", "1.0.0")
        .json()
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(github.requests().len(), 5, "every target was tried");

    let report = ran.json();
    assert_eq!(report["summary"]["delivered"], 2);
    assert_eq!(report["summary"]["failed"], 3);
    let by_name = |name: &str| ran.target(name);
    assert_eq!(by_name("t00")["outcome"], "delivered");
    assert_eq!(by_name("t00")["http_status"], 204);
    let not_found = by_name("t01");
    assert_eq!(not_found["outcome"], "failed");
    assert_eq!(not_found["http_status"], 404);
    let hint = not_found["hint"].as_str().unwrap();
    assert!(
        hint.contains("repository not found or the token cannot see it"),
        "{hint}"
    );
    assert!(hint.contains("Contents: write"), "{hint}");
    let invalid = by_name("t02");
    assert_eq!(invalid["http_status"], 422);
    assert!(invalid["reason"]
        .as_str()
        .unwrap()
        .contains("nil is not an object"));
    assert!(by_name("t03")["hint"]
        .as_str()
        .unwrap()
        .contains("bad credentials"));
    assert_eq!(by_name("t04")["outcome"], "delivered");
}

#[test]
fn the_text_report_names_each_failure_with_its_hint() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/vfarcic/dot-ai-cli/dispatches",
        Reply::not_found(),
    );
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .against(&github)
        .dot_ai_tokens()
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    let stdout = &ran.stdout;
    let failed = stdout.lines().find(|l| l.starts_with("failed")).unwrap();
    assert!(
        failed.contains("dot-ai-cli") && failed.contains("404 Not Found"),
        "{stdout}"
    );
    assert!(stdout.contains("hint: repository not found"), "{stdout}");
    assert!(stdout.contains("1 delivered, 1 failed"), "{stdout}");
}

#[test]
fn an_unreachable_api_fails_every_target_with_a_reason() {
    // Bind and drop a listener so the port is very likely closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .json()
        .args(["--api-url", &format!("http://127.0.0.1:{port}")])
        .args(["--max-attempts", "1"])
        .dot_ai_tokens()
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    let report = ran.json();
    assert_eq!(report["summary"]["failed"], 2);
    assert!(report["targets"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("request failed"));
}

#[test]
fn a_refused_webhook_points_at_its_url_not_at_api_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [hook]}}\ntargets:\n  hook:\n    kind: webhook\n    url: http://127.0.0.1:{port}/hook\n"
    );
    let ran = Cli::with_config(&yaml)
        .release("app", "1.0.0")
        .json()
        .args(["--max-attempts", "1"])
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(
        ran.target("hook")["hint"],
        "check the network and the webhook's URL (`url`/`url_env`)"
    );
}

#[test]
fn a_webhook_that_does_not_answer_in_time_is_named_not_github() {
    let github = crate::support::FakeGitHub::start();
    github.on(
        "POST",
        "/hook",
        crate::support::Reply::status(200).delay(std::time::Duration::from_secs(5)),
    );
    let yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [hook]}}\ntargets:\n  hook:\n    kind: webhook\n    url: {}/hook\n",
        github.base_url()
    );
    let ran = Cli::with_config(&yaml)
        .release("app", "1.0.0")
        .json()
        .args(["--max-attempts", "1", "--timeout", "200ms"])
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(
        ran.target("hook")["hint"],
        "the webhook may be slow or unreachable (its `url`/`url_env`); the request may or may not have been delivered"
    );
}

#[test]
fn version_conditions_skip_targets_and_say_why() {
    let yaml = r#"
version: 1
sources:
  app: {repository: o/app, targets: [stable-only, v2-and-up, always]}
targets:
  stable-only:
    repository: o/stable
    event_type: release
    token_env: APP_TOKEN
    when: {prerelease: false}
  v2-and-up:
    repository: o/v2
    event_type: release
    token_env: APP_TOKEN
    when: {version: ">=2.0.0"}
  always:
    repository: o/always
    event_type: release
    token_env: APP_TOKEN
"#;
    let github = FakeGitHub::start();
    let ran = Cli::with_config(yaml)
        .release("app", "1.5.0-rc.1")
        .json()
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let paths: Vec<String> = github.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/repos/o/always/dispatches"]);
    let report = ran.json();
    assert_eq!(report["summary"]["skipped"], 2);
    let reasons: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] == "skipped")
        .map(|t| t["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("pre-release"), "{reasons:?}");
    assert!(reasons[1].contains(">=2.0.0"), "{reasons:?}");
}

#[test]
fn templates_see_semver_parts_set_values_and_the_ci_run() {
    let yaml = r#"
version: 1
sources:
  app: {repository: o/app, targets: [web]}
targets:
  web:
    repository: o/web
    event_type: "release-{{major}}"
    token_env: APP_TOKEN
    client_payload:
      line: "{{major}}.{{minor}}"
      patch: "{{patch}}"
      pre: "{{prerelease}}"
      tag: "{{tag}}"
      from: "{{source.repository}} -> {{target.repository}}"
      channel: "{{vars.channel}}"
      run: "{{ci.run_url}}"
      sha: "{{ci.sha}}"
      fixed: 7
      nested: {ok: true, list: ["{{version}}"]}
"#;
    let github = FakeGitHub::start();
    let ran = Cli::with_config(yaml)
        .release("app", "v3.1.4-beta.2")
        .args(["--set", "channel=beta"])
        .against(&github)
        .app_token()
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "o/app")
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_SHA", "abc123")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let body = github.requests()[0].body_json();
    assert_eq!(
        body,
        json!({
            "event_type": "release-3",
            "client_payload": {
                "line": "3.1", "patch": "4", "pre": "beta.2", "tag": "v3.1.4-beta.2",
                "from": "o/app -> o/web", "channel": "beta",
                "run": "https://github.com/o/app/actions/runs/99", "sha": "abc123",
                "fixed": 7, "nested": {"ok": true, "list": ["3.1.4-beta.2"]}
            }
        })
    );
}

#[test]
fn rendered_values_cannot_break_the_json() {
    let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [web]}\ntargets:\n  web:\n    repository: o/web\n    event_type: release\n    token_env: APP_TOKEN\n    client_payload:\n      note: \"{{vars.note}}\"\n";
    let github = FakeGitHub::start();
    let hostile = r#"", "injected": true, "x": "<b>&amp;</b>\n"#;
    let ran = Cli::with_config(yaml)
        .release("app", "1.0.0")
        .args(["--set", &format!("note={hostile}")])
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let body = github.requests()[0].body_json();
    assert_eq!(body["client_payload"], json!({ "note": hostile }));
}

#[test]
fn settings_from_the_environment_are_overridden_by_flags() {
    let from_env = FakeGitHub::start();
    let from_flag = FakeGitHub::start();
    let ran = Cli::example()
        .release("dot-ai-controller", "1.0.0")
        .against(&from_flag)
        .env("ORCHESTRATOR_API_URL", from_env.base_url())
        .env("ORCHESTRATOR_API_VERSION", "2026-03-10")
        .secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(from_env.requests().len(), 0);
    let requests = from_flag.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("x-github-api-version"),
        Some("2026-03-10")
    );
}
