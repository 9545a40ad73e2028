//! Target kinds beyond repository_dispatch: workflow_dispatch (with run details and waiting)
//! and webhooks (with HMAC signatures), against the loopback stand-in.

use crate::support::cli::{Cli, Ran};
use crate::support::{openapi, FakeGitHub, Reply};
use serde_json::{json, Value};

const WORKFLOW_OP: &str = "actions/create-workflow-dispatch";
const HOOK_SECRET: &str = "s3cret-signing-key";
const HOOK_URL_PATH: &str = "/build_hooks/5f3a9c0ffee";

fn workflow_config(extra: &str) -> String {
    format!(
        r#"version: 1
sources:
  app: {{repository: o/app, targets: [cli]}}
targets:
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    token_env: APP_TOKEN
    inputs:
      version: "{{{{version}}}}"
      dry: false
{extra}"#
    )
}

/// `run` of app 2.0.0 with a JSON report: exit code, report, stderr. No output may show a
/// token, the webhook's signing secret or its secret URL.
fn run(github: &FakeGitHub, yaml: &str, extra: &[&str]) -> (i32, Value, String) {
    let ran = Cli::with_config(yaml)
        .release("app", "2.0.0")
        .json()
        .against(github)
        .args(["--backoff-ms", "10"])
        .args(extra)
        .app_token()
        .env("HOOK_URL", format!("{}{HOOK_URL_PATH}", github.base_url()))
        .secret("HOOK_SECRET", HOOK_SECRET)
        .forbid("5f3a9c0ffee")
        .output();
    (ran.code, ran.json(), ran.stderr)
}

/// A fake whose workflow dispatch starts run 5, which stays in progress.
fn running_workflow() -> FakeGitHub {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/cli/actions/workflows/release.yml/dispatches",
        run_details(5, &github),
    );
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/5",
        Reply::status(200).json(json!({"status": "in_progress", "conclusion": null})),
    );
    github
}

fn run_details(id: u64, github: &FakeGitHub) -> Reply {
    Reply::status(200).json(json!({
        "workflow_run_id": id,
        "run_url": format!("{}/repos/o/cli/actions/runs/{id}", github.base_url()),
        "html_url": format!("https://github.com/o/cli/actions/runs/{id}"),
    }))
}

#[test]
fn workflow_dispatch_sends_a_valid_body_and_reports_the_run() {
    let github = FakeGitHub::start();
    let path = "/repos/o/cli/actions/workflows/release.yml/dispatches";
    github.on("POST", path, run_details(42, &github));
    let (code, report, _) = run(&github, &workflow_config("    ref: main\n"), &[]);
    assert_eq!(code, 0, "{report}");
    let request = &github.requests_to(path)[0];
    openapi::assert_request_matches(WORKFLOW_OP, request);
    assert_eq!(
        request.body_json(),
        json!({"ref": "main", "inputs": {"version": "2.0.0", "dry": "false"}, "return_run_details": true})
    );
    let target = &report["targets"][0];
    assert_eq!(target["kind"], "workflow_dispatch");
    assert_eq!(target["run"]["id"], 42);
    assert_eq!(
        target["run"]["html_url"],
        "https://github.com/o/cli/actions/runs/42"
    );
}

#[test]
fn the_default_branch_is_looked_up_once_when_no_ref_is_given() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/o/cli",
        Reply::status(200).json(json!({"default_branch": "trunk"})),
    );
    let yaml = workflow_config("")
        .replace("targets: [cli]", "targets: [cli, cli2]")
        + "  cli2:\n    kind: workflow_dispatch\n    repository: o/cli\n    workflow: docs.yml\n    token_env: APP_TOKEN\n";
    let (code, _, _) = run(&github, &yaml, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        github.requests_to("/repos/o/cli").len(),
        1,
        "looked up once"
    );
    for path in [
        "/repos/o/cli/actions/workflows/release.yml/dispatches",
        "/repos/o/cli/actions/workflows/docs.yml/dispatches",
    ] {
        let request = &github.requests_to(path)[0];
        assert_eq!(request.body_json()["ref"], "trunk");
        openapi::assert_request_matches(WORKFLOW_OP, request);
    }
}

#[test]
fn an_older_github_that_rejects_run_details_gets_a_plain_dispatch() {
    let github = FakeGitHub::start();
    let path = "/repos/o/cli/actions/workflows/release.yml/dispatches";
    github.on(
        "POST",
        path,
        [
            Reply::validation_failed("\"return_run_details\" is not a permitted key."),
            Reply::no_content(),
        ],
    );
    let (code, report, _) = run(&github, &workflow_config("    ref: main\n"), &[]);
    assert_eq!(code, 0, "{report}");
    let requests = github.requests_to(path);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].body_json().get("return_run_details"), None);
    let run = &report["targets"][0]["run"];
    assert!(
        run["note"]
            .as_str()
            .unwrap()
            .contains("does not return run details"),
        "{run}"
    );
    assert_eq!(run.get("id"), None);
}

#[test]
fn api_version_2026_03_10_gets_run_details_without_asking() {
    let github = FakeGitHub::start();
    let path = "/repos/o/cli/actions/workflows/release.yml/dispatches";
    github.on("POST", path, run_details(7, &github));
    let (code, report, _) = run(
        &github,
        &workflow_config("    ref: main\n    api_version: \"2026-03-10\"\n"),
        &[],
    );
    assert_eq!(code, 0);
    let request = &github.requests_to(path)[0];
    assert_eq!(request.header("x-github-api-version"), Some("2026-03-10"));
    assert_eq!(request.body_json().get("return_run_details"), None);
    assert_eq!(report["targets"][0]["run"]["id"], 7);
}

#[test]
fn wait_polls_the_run_until_it_completes_and_the_exit_code_follows_its_conclusion() {
    for (conclusion, code) in [("success", 0), ("failure", 1)] {
        let github = FakeGitHub::start();
        github.on(
            "POST",
            "/repos/o/cli/actions/workflows/release.yml/dispatches",
            run_details(9, &github),
        );
        github.on(
            "GET",
            "/repos/o/cli/actions/runs/9",
            [
                Reply::status(200).json(json!({"status": "queued", "conclusion": null})),
                Reply::status(200).json(json!({"status": "in_progress", "conclusion": null})),
                Reply::status(200).json(json!({"status": "completed", "conclusion": conclusion,
                    "html_url": "https://github.com/o/cli/actions/runs/9"})),
            ],
        );
        let (exit, report, _) = run(
            &github,
            &workflow_config("    ref: main\n"),
            &["--wait", "--poll-interval-ms", "20"],
        );
        assert_eq!(exit, code, "{conclusion}: {report}");
        assert_eq!(github.requests_to("/repos/o/cli/actions/runs/9").len(), 3);
        assert_eq!(report["targets"][0]["run"]["conclusion"], conclusion);
        assert_eq!(
            report["summary"]["runs_failed"],
            if code == 0 { 0 } else { 1 }
        );
    }
}

#[test]
fn a_run_still_going_at_the_wait_timeout_is_reported_and_can_be_ignored() {
    let github = running_workflow();
    let yaml = workflow_config("    ref: main\n    wait: true\n");
    let wait = ["--wait-timeout", "600ms", "--poll-interval-ms", "50"];
    // Both runs wait out the same time, side by side.
    let ((exit, report, _), (ignoring, _, _)) = std::thread::scope(|scope| {
        let ignoring = scope.spawn(|| {
            run(
                &github,
                &yaml,
                &[&wait[..], &["--ignore-run-failures"]].concat(),
            )
        });
        (run(&github, &yaml, &wait), ignoring.join().unwrap())
    });
    assert_eq!(exit, 1);
    let note = report["targets"][0]["run"]["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        note.contains("still in_progress after waiting 0.6 s"),
        "{note}"
    );
    assert_eq!(ignoring, 0, "--ignore-run-failures");
}

#[test]
fn max_duration_ending_only_a_wait_exits_130_and_says_the_run_was_not_waited_for() {
    let github = running_workflow();
    let yaml = workflow_config("    ref: main\n    wait: true\n");
    let (exit, report, stderr) = run(
        &github,
        &yaml,
        &["--max-duration", "600ms", "--poll-interval-ms", "50"],
    );

    assert_eq!(exit, 130, "the run did not do all it was asked: {report}");
    assert_eq!(report["summary"]["delivered"], 1);
    assert_eq!(report["summary"]["not_sent"], 0);
    assert_eq!(report["summary"]["max_duration_reached"], true);
    assert_eq!(report["targets"][0]["run"]["interrupted"], true);
    let note = report["targets"][0]["run"]["note"].as_str().unwrap();
    assert!(note.contains("--max-duration was reached"), "{note}");
    assert!(
        stderr.contains(
            "stopped at --max-duration: 0 target(s) were not sent, 1 workflow run(s) not waited for"
        ),
        "{stderr}"
    );
}

#[test]
fn a_webhook_is_signed_with_hmac_over_the_exact_body() {
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [netlify]}
targets:
  netlify:
    kind: webhook
    url_env: HOOK_URL
    headers:
      X-Release: "{{source.name}}@{{version}}"
    body:
      trigger_title: "release {{version}}"
    signature:
      secret_env: HOOK_SECRET
"#;
    let github = FakeGitHub::start();
    github.on("POST", HOOK_URL_PATH, Reply::status(200).body("ok"));
    let (code, report, _) = run(&github, yaml, &[]);
    assert_eq!(code, 0, "{report}");
    let request = &github.requests_to(HOOK_URL_PATH)[0];
    assert_eq!(
        request.body_json(),
        json!({"trigger_title": "release 2.0.0"})
    );
    assert_eq!(request.header("x-release"), Some("app@2.0.0"));
    assert_eq!(
        request.header("x-github-api-version"),
        None,
        "not a GitHub API request"
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HOOK_SECRET.as_bytes());
    let expected = format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, &request.body))
    );
    assert_eq!(
        request.header("x-hub-signature-256"),
        Some(expected.as_str())
    );
    assert_eq!(report["targets"][0]["destination"], "$HOOK_URL");
}

#[test]
fn a_dry_run_shows_a_secret_webhook_url_only_by_its_host() {
    let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [hook]}\ntargets:\n  hook:\n    kind: webhook\n    url_env: HOOK_URL\n";
    let github = FakeGitHub::start();
    let (code, report, _) = run(&github, yaml, &["--dry-run"]);
    assert_eq!(code, 0);
    assert!(github.requests().is_empty());
    let url = report["targets"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1/") && url.contains("$HOOK_URL"),
        "{url}"
    );
}

#[test]
fn one_file_mixing_every_kind_runs_end_to_end() {
    let yaml = format!(
        r#"version: 1
sources:
  app: {{repository: o/app, targets: [site, cli, hook]}}
targets:
  site:
    repository: o/site
    event_type: upstream-release
    token_env: APP_TOKEN
    client_payload: {{version: "{{{{version}}}}"}}
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    ref: "v{{{{version}}}}"
    token_env: APP_TOKEN
  hook:
    kind: webhook
    url: "{}/hooks/public"
    method: PUT
"#,
        "http://127.0.0.1:1"
    );
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/cli/actions/workflows/release.yml/dispatches",
        run_details(3, &github),
    );
    github.on("PUT", "/hooks/public", Reply::no_content());
    let yaml = yaml.replace("http://127.0.0.1:1", &github.base_url());
    let (code, report, _) = run(&github, &yaml, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["summary"]["delivered"], 3);
    let kinds: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["repository_dispatch", "workflow_dispatch", "webhook"]
    );
    assert_eq!(
        github.requests_to("/repos/o/cli/actions/workflows/release.yml/dispatches")[0].body_json()
            ["ref"],
        "v2.0.0"
    );
    assert_eq!(github.requests_to("/hooks/public")[0].method, "PUT");
}

#[test]
fn a_webhook_failure_gets_a_webhook_hint() {
    let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [hook]}\ntargets:\n  hook:\n    kind: webhook\n    url_env: HOOK_URL\n";
    let github = FakeGitHub::start();
    github.on("POST", HOOK_URL_PATH, Reply::not_found());
    let (code, report, _) = run(&github, yaml, &[]);
    assert_eq!(code, 1);
    assert!(report["targets"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("webhook URL is wrong"));
    assert_eq!(github.requests().len(), 1);
}

#[test]
fn max_duration_ending_only_a_wait_offers_no_resume_of_a_rest_that_does_not_exist() {
    let github = running_workflow();
    let dispatches = "/repos/o/cli/actions/workflows/release.yml/dispatches";
    let yaml = workflow_config("    ref: main\n    wait: true\n");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let (exit, _, stderr) = run(
        &github,
        &yaml,
        &[
            "--max-duration",
            "600ms",
            "--poll-interval-ms",
            "50",
            "--journal",
            journal,
        ],
    );
    assert_eq!(exit, 130, "{stderr}");
    assert!(
        !stderr.contains("send the rest"),
        "every target was sent; only the wait was cut short: {stderr}"
    );

    let (exit, report, stderr) = run(&github, &yaml, &["--resume", journal]);
    assert_eq!(exit, 0, "{report}\n{stderr}");
    assert_eq!(github.requests_to(dispatches).len(), 1, "sent once");
}

const GITLAB_TOKEN: &str = "glpat-s3cretGitlabValue0042";

const SECRET_HEADER_CONFIG: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [gitlab]}
targets:
  gitlab:
    kind: webhook
    url_env: HOOK_URL
    headers:
      PRIVATE-TOKEN: { env: GITLAB_TOKEN }
      X-Release: "{{version}}"
"#;

/// `run` of app 2.0.0 against the fake's hook, with `GITLAB_TOKEN` set when `token` is.
fn run_gitlab_hook(github: &FakeGitHub, token: Option<&str>, extra: &[&str]) -> Ran {
    let cli = Cli::with_config(SECRET_HEADER_CONFIG)
        .release("app", "2.0.0")
        .against(github)
        .args(extra)
        .env("HOOK_URL", format!("{}{HOOK_URL_PATH}", github.base_url()))
        .forbid("5f3a9c0ffee")
        .forbid(GITLAB_TOKEN);
    match token {
        Some(token) => cli.env("GITLAB_TOKEN", token),
        None => cli,
    }
    .output()
}

#[test]
fn a_secret_header_arrives_with_its_value_and_is_shown_only_by_its_variable() {
    let github = FakeGitHub::start();
    github.on("POST", HOOK_URL_PATH, Reply::status(200).body("ok"));
    let ran = run_gitlab_hook(&github, Some(GITLAB_TOKEN), &["--output", "json"]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    let request = &github.requests_to(HOOK_URL_PATH)[0];
    assert_eq!(request.header("private-token"), Some(GITLAB_TOKEN));
    assert_eq!(request.header("x-release"), Some("2.0.0"));
}

#[test]
fn a_dry_run_without_the_secret_header_variable_names_it_and_sends_nothing() {
    let github = FakeGitHub::start();
    let ran = run_gitlab_hook(&github, None, &["--dry-run"]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(github.requests().is_empty());
    assert!(
        ran.stdout
            .contains("  PRIVATE-TOKEN: <from $GITLAB_TOKEN> (not set; a real run needs it)\n"),
        "{}",
        ran.stdout
    );
    let with_value = run_gitlab_hook(&github, Some(GITLAB_TOKEN), &["--dry-run"]);
    assert!(
        with_value
            .stdout
            .contains("  PRIVATE-TOKEN: <from $GITLAB_TOKEN>\n"),
        "{}",
        with_value.stdout
    );
}

#[test]
fn a_real_run_without_the_secret_header_variable_sends_nothing_and_names_it() {
    let github = FakeGitHub::start();
    let ran = run_gitlab_hook(&github, None, &[]);
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(github.requests().is_empty());
    assert!(
        ran.stderr
            .contains("environment variable `GITLAB_TOKEN` is not set"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("targets.gitlab.headers.PRIVATE-TOKEN.env"),
        "{}",
        ran.stderr
    );
}

#[test]
fn validate_refuses_a_secret_header_naming_no_variable_with_its_line() {
    let pasted = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    let yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [gitlab]}}\ntargets:\n  gitlab:\n    kind: webhook\n    url: https://gitlab.example/hook\n    headers:\n      PRIVATE-TOKEN: {{ env: {pasted} }}\n      Circle-Token: {{ env: \"CIRCLE TOKEN\" }}\n      X-Other: {{ name: X }}\n"
    );
    let ran = Cli::with_config(&yaml)
        .arg("validate")
        .forbid(pasted)
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    let out = ran.all();
    assert!(
        out.contains("dispatch.yaml:9:") && out.contains("error[invalid_token_env] targets.gitlab.headers.PRIVATE-TOKEN.env: env holds what looks like a token itself"),
        "{out}"
    );
    assert!(
        out.contains("dispatch.yaml:10:")
            && out.contains("targets.gitlab.headers.Circle-Token.env"),
        "{out}"
    );
    assert!(out.contains("dispatch.yaml:11:"), "{out}");
}

#[test]
fn targets_missing_one_secret_header_variable_are_told_once_together() {
    let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [a, b]}\ntargets:\n  a:\n    kind: webhook\n    url: https://gitlab.example/a\n    headers: { PRIVATE-TOKEN: { env: GITLAB_TOKEN } }\n  b:\n    kind: webhook\n    url: https://gitlab.example/b\n    headers: { PRIVATE-TOKEN: { env: GITLAB_TOKEN } }\n";
    let ran = Cli::with_config(yaml).release("app", "2.0.0").output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert_eq!(
        ran.stderr.matches("`GITLAB_TOKEN` is not set").count(),
        1,
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("needed by a.headers.PRIVATE-TOKEN, b.headers.PRIVATE-TOKEN"),
        "{}",
        ran.stderr
    );
}
