//! `orchestrator check` against a fake GitHub: every verdict a user can meet before release
//! day, and reads that are exactly what GitHub's API describes.

use crate::support::cli::{config_dir, example_dir, orchestrator, CLI_TOKEN, WEBSITE_TOKEN};
use crate::support::{openapi, FakeGitHub, Reply};
use base64::Engine;
use serde_json::{json, Value};

/// A repository on the fake: readable, default branch `main`, with these workflow files.
pub fn serve_repo(github: &FakeGitHub, repo: &str, files: &[(&str, &str)]) {
    github.on(
        "GET",
        &format!("/repos/{repo}"),
        Reply::status(200).json(json!({"full_name": repo, "default_branch": "main"})),
    );
    let listing: Vec<Value> = files
        .iter()
        .map(|(name, _)| json!({"name": name, "path": format!(".github/workflows/{name}"), "type": "file"}))
        .collect();
    github.on(
        "GET",
        &format!("/repos/{repo}/contents/.github/workflows"),
        Reply::status(200).json(Value::Array(listing)),
    );
    for (name, text) in files {
        let content = base64::engine::general_purpose::STANDARD.encode(text);
        // GitHub wraps base64 at 60 characters.
        let wrapped: Vec<String> = content
            .as_bytes()
            .chunks(60)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        github.on(
            "GET",
            &format!("/repos/{repo}/contents/.github/workflows/{name}"),
            Reply::status(200).json(json!({"type": "file", "name": name, "encoding": "base64", "content": wrapped.join("\n")})),
        );
    }
}

pub const WEBSITE_WORKFLOW: &str =
    "name: rebuild\non:\n  repository_dispatch:\n    types: [upstream-release]\njobs: {}\n";
const CLI_WORKFLOW: &str = "name: follow\n'on': [push, repository_dispatch]\njobs: {}\n";

fn check(dir: &std::path::Path, github: &FakeGitHub, extra: &[&str]) -> std::process::Output {
    orchestrator(dir)
        .args(["check", "--api-url", &github.base_url()])
        .args(extra)
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .env("CLI_DISPATCH_TOKEN", CLI_TOKEN)
        .output()
        .unwrap()
}

fn text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every request was a GET that GitHub's description knows, with GitHub's headers.
fn assert_reads_are_valid(github: &FakeGitHub) {
    let ops = [
        "repos/get",
        "repos/get-content",
        "actions/list-repo-workflows",
        "actions/get-workflow",
    ];
    for request in github.requests() {
        assert_eq!(request.method, "GET", "{}", request.path);
        // `repos/get-content`'s `{path}` spans segments (`.github/workflows/x.yml`).
        let parts: Vec<&str> = request.path.split('?').next().unwrap().split('/').collect();
        if parts.len() > 5 && parts[1] == "repos" && parts[4] == "contents" {
            assert!(!openapi::operation("repos/get-content").path.is_empty());
            openapi::assert_github_headers(&request);
            continue;
        }
        let op = ops
            .iter()
            .find(|op| openapi::path_matches(op, &request.method, &request.path))
            .unwrap_or_else(|| panic!("{} is no read GitHub describes", request.path));
        openapi::assert_request_matches(op, &request);
    }
}

#[test]
fn check_on_the_seed_config_reports_both_dot_ai_targets_ready() {
    let github = FakeGitHub::start();
    serve_repo(
        &github,
        "vfarcic/dot-ai-website",
        &[("rebuild.yml", WEBSITE_WORKFLOW), ("broken.yaml", "on: [")],
    );
    serve_repo(
        &github,
        "vfarcic/dot-ai-cli",
        &[("follow.yaml", CLI_WORKFLOW), ("notes.md", "x")],
    );
    let dir = example_dir();
    let output = check(
        dir.path(),
        &github,
        &["--source", "dot-ai", "--output", "json"],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let verdicts: Vec<(&str, &str)> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap(),
                t["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [("dot-ai-website", "ready"), ("dot-ai-cli", "ready")]
    );
    assert_eq!(report["targets"][0]["default_branch"], "main");
    // Invalid YAML in one file does not hide the file that listens.
    assert!(
        report["targets"][0]["evidence"]
            .to_string()
            .contains("broken.yaml"),
        "{stdout}"
    );
    // Read on the default branch, never another one.
    let reads =
        github.requests_to("/repos/vfarcic/dot-ai-website/contents/.github/workflows/rebuild.yml");
    assert!(reads[0].path.ends_with("?ref=main"), "{}", reads[0].path);
    assert!(github
        .requests_to("/repos/vfarcic/dot-ai-cli/contents/.github/workflows/notes.md")
        .is_empty());
    assert_reads_are_valid(&github);
    let website = github.requests_to("/repos/vfarcic/dot-ai-website");
    assert_eq!(
        website[0].header("authorization"),
        Some(format!("Bearer {WEBSITE_TOKEN}").as_str())
    );
}

/// Both dot-ai targets' repositories, each with a listening workflow.
fn serve_dot_ai(github: &FakeGitHub) {
    serve_repo(
        github,
        "vfarcic/dot-ai-website",
        &[("rebuild.yml", WEBSITE_WORKFLOW)],
    );
    serve_repo(
        github,
        "vfarcic/dot-ai-cli",
        &[("follow.yaml", CLI_WORKFLOW)],
    );
}

/// `check --source dot-ai --output json` with a short backoff: the exit code and the report.
fn check_dot_ai(github: &FakeGitHub) -> (Option<i32>, Value) {
    let dir = example_dir();
    let output = check(
        dir.path(),
        github,
        &[
            "--source",
            "dot-ai",
            "--output",
            "json",
            "--backoff-ms",
            "10",
        ],
    );
    let (stdout, stderr) = text(&output);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    (output.status.code(), report)
}

#[test]
fn a_read_that_meets_a_moment_of_github_trouble_is_tried_again() {
    let github = FakeGitHub::start();
    serve_dot_ai(&github);
    github.on(
        "GET",
        "/repos/vfarcic/dot-ai-website",
        [
            Reply::status(502).body("Bad Gateway"),
            Reply::status(503)
                .header("retry-after", "0")
                .body("Unavailable"),
            Reply::status(200)
                .json(json!({"full_name": "vfarcic/dot-ai-website", "default_branch": "main"})),
        ],
    );
    let (code, report) = check_dot_ai(&github);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["targets"][0]["verdict"], "ready", "{report:#}");
    assert_eq!(github.requests_to("/repos/vfarcic/dot-ai-website").len(), 3);
}

#[test]
fn a_read_github_keeps_failing_is_tried_three_times_then_said() {
    let github = FakeGitHub::start();
    serve_dot_ai(&github);
    github.on(
        "GET",
        "/repos/vfarcic/dot-ai-website",
        Reply::status(500).body("boom"),
    );
    let (_, report) = check_dot_ai(&github);
    assert_ne!(report["targets"][0]["verdict"], "ready", "{report:#}");
    assert!(
        report["targets"][0].to_string().contains("500"),
        "{report:#}"
    );
    assert_eq!(github.requests_to("/repos/vfarcic/dot-ai-website").len(), 3);
    // A read that is answered (404, 401) is not tried again.
    assert_eq!(github.requests_to("/repos/vfarcic/dot-ai-cli").len(), 1);
}

const ONE_TARGET: &str = "version: 1
sources:
  app: {repository: acme/app, targets: [site]}
targets:
  site:
    repository: acme/site
    event_type: upstream-relaese
    token_env: WEBSITE_DISPATCH_TOKEN
";

#[test]
fn a_mistyped_event_type_is_not_listening_and_the_right_one_is_suggested() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    let dir = config_dir(ONE_TARGET);
    let output = check(dir.path(), &github, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("not ready"), "{stdout}");
    assert!(
        stdout.contains("no active workflow on `main` listens for `upstream-relaese`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("did you mean `upstream-release`?"),
        "{stdout}"
    );
    assert!(
        stdout.contains("; `orchestrator receiver site` writes a workflow that listens"),
        "{stdout}"
    );
}

#[test]
fn a_disabled_listener_does_not_count() {
    let github = FakeGitHub::start();
    serve_repo(
        &github,
        "acme/site",
        &[("rebuild.yml", "on: repository_dispatch\njobs: {}\n")],
    );
    github.on(
        "GET",
        "/repos/acme/site/actions/workflows",
        Reply::status(200).json(json!({"total_count": 1, "workflows": [{"path": ".github/workflows/rebuild.yml", "state": "disabled_manually"}]})),
    );
    let dir = config_dir(ONE_TARGET);
    let output = check(dir.path(), &github, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "disabled workflows would: .github/workflows/rebuild.yml (disabled_manually)"
        ),
        "{stdout}"
    );
}

#[test]
fn no_access_names_the_token_variable_and_the_permission() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/acme/site",
        Reply::not_found().header("x-accepted-github-permissions", "metadata=read"),
    );
    let dir = config_dir(ONE_TARGET);
    let output = check(dir.path(), &github, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("acme/site not found or no access with `WEBSITE_DISPATCH_TOKEN`"),
        "{stdout}"
    );
    assert!(stdout.contains("GitHub: metadata=read"), "{stdout}");
}

#[test]
fn a_forbidden_workflow_read_is_cannot_tell_not_not_listening() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[]);
    github.on(
        "GET",
        "/repos/acme/site/contents/.github/workflows",
        Reply::forbidden_not_accessible(),
    );
    let dir = config_dir(ONE_TARGET);
    let output = check(dir.path(), &github, &["--output", "markdown"]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout
            .contains("cannot tell: the workflows on `main` cannot be read (needs Contents: read"),
        "{stdout}"
    );
    assert!(!stdout.contains("listens"), "{stdout}");
}

fn expiry_in_days(days: i64) -> String {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + days * 86_400;
    // GNU date (Linux, Git Bash) reads `-d @SECONDS`; BSD date (macOS) reads `-r SECONDS`.
    let (flag, when) = if cfg!(target_os = "macos") {
        ("-r", at.to_string())
    } else {
        ("-d", format!("@{at}"))
    };
    let output = std::process::Command::new("date")
        .args(["-u", flag, &when, "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn an_expiring_token_is_a_warning_and_an_expired_one_fails_the_check() {
    let github = FakeGitHub::start();
    serve_repo(
        &github,
        "acme/site",
        &[(
            "rebuild.yml",
            &WEBSITE_WORKFLOW.replace("upstream-release", "upstream-relaese"),
        )],
    );
    let soon = expiry_in_days(5);
    github.on(
        "GET",
        "/repos/acme/site",
        Reply::status(200)
            .header("github-authentication-token-expiration", &soon)
            .json(json!({"default_branch": "main"})),
    );
    let dir = config_dir(ONE_TARGET);
    let output = orchestrator(dir.path())
        .args(["check", "--api-url", &github.base_url()])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: the token in `WEBSITE_DISPATCH_TOKEN` expires on {soon}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "::warning title=check%3A token expiry::the token in `WEBSITE_DISPATCH_TOKEN` expires"
        ),
        "{stderr}"
    );
    // A wider window is asked for: still a warning; a token past its date fails.
    let past = expiry_in_days(-1);
    github.on(
        "GET",
        "/repos/acme/site",
        Reply::status(200)
            .header("github-authentication-token-expiration", &past)
            .json(json!({"default_branch": "main"})),
    );
    let output = check(dir.path(), &github, &["--output", "json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["targets"][0]["token"]["state"], "expired");
    assert_eq!(report["summary"]["tokens_expired"], 1);
    assert!(
        stderr.contains("error: the token in `WEBSITE_DISPATCH_TOKEN` expired on"),
        "{stderr}"
    );
}

#[test]
fn run_warns_once_per_token_that_expires_within_the_window() {
    let github = FakeGitHub::start();
    let soon = expiry_in_days(10);
    github.on(
        "POST",
        "/repos/*/*/dispatches",
        Reply::no_content().header("github-authentication-token-expiration", &soon),
    );
    let dir = example_dir();
    let output = orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "dot-ai",
            "--version",
            "1.2.3",
            "--api-url",
            &github.base_url(),
        ])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .env("CLI_DISPATCH_TOKEN", CLI_TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "vfarcic/dot-ai")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for env in ["WEBSITE_DISPATCH_TOKEN", "CLI_DISPATCH_TOKEN"] {
        let warning = format!("warning: the token in `{env}` expires on {soon}");
        assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "::warning title=dispatch%3A token expiry::the token in `{env}`"
            )),
            "{stderr}"
        );
    }
    // Outside the window: nothing said.
    let output = orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "dot-ai",
            "--version",
            "1.2.4",
            "--api-url",
            &github.base_url(),
        ])
        .args(["--expiry-warning-days", "3"])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .env("CLI_DISPATCH_TOKEN", CLI_TOKEN)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("expires"));
}

const WORKFLOW_TARGET: &str = "version: 1
sources:
  app: {repository: acme/app, targets: [deploy]}
targets:
  deploy:
    kind: workflow_dispatch
    repository: acme/ops
    workflow: deploy.yml
    token_env: WEBSITE_DISPATCH_TOKEN
    inputs:
      version: \"{{version}}\"
      chanel: stable
      dry_run: \"maybe\"
      channel: nightly
";

#[test]
fn workflow_dispatch_inputs_are_checked_against_the_declared_ones() {
    let github = FakeGitHub::start();
    serve_repo(
        &github,
        "acme/ops",
        &[("deploy.yml", "on:\n  workflow_dispatch:\n    inputs:\n      version: {required: true}\n      channel: {type: choice, options: [stable, beta]}\n      dry_run: {type: boolean}\n      region: {required: true}\n")],
    );
    github.on(
        "GET",
        "/repos/acme/ops/actions/workflows/deploy.yml",
        Reply::status(200)
            .json(json!({"id": 1, "path": ".github/workflows/deploy.yml", "state": "active"})),
    );
    let dir = config_dir(WORKFLOW_TARGET);
    let output = check(dir.path(), &github, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    for expected in [
        "input `chanel` is not declared by the workflow, so GitHub answers 422 \"Unexpected inputs\"",
        "input `region` is required and has no default, but is not sent",
        "input `channel` is `nightly`, which is not one of its options: stable, beta",
        "input `dry_run` is a boolean, but `maybe` is not `true` or `false`",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    assert_reads_are_valid(&github);
}

/// `check` of a workflow_dispatch target that waits for job `wait_job` of acme/ops's
/// deploy.yml, whose `jobs:` are `jobs`: exit code and stdout.
fn check_waited_job(wait_job: &str, jobs: &str) -> (Option<i32>, String) {
    let github = FakeGitHub::start();
    let file = format!("on: workflow_dispatch\njobs:\n{jobs}");
    serve_repo(&github, "acme/ops", &[("deploy.yml", file.as_str())]);
    github.on(
        "GET",
        "/repos/acme/ops/actions/workflows/deploy.yml",
        Reply::status(200)
            .json(json!({"id": 1, "path": ".github/workflows/deploy.yml", "state": "active"})),
    );
    let config = format!(
        "version: 1\nsources:\n  app: {{repository: acme/app, targets: [deploy]}}\ntargets:\n  deploy: {{kind: workflow_dispatch, repository: acme/ops, workflow: deploy.yml, token_env: WEBSITE_DISPATCH_TOKEN, wait: {{job: \"{wait_job}\"}}}}\n"
    );
    let dir = config_dir(&config);
    let output = check(dir.path(), &github, &[]);
    let (stdout, stderr) = text(&output);
    assert_reads_are_valid(&github);
    (output.status.code(), format!("{stdout}\n{stderr}"))
}

#[test]
fn a_waited_job_the_workflow_does_not_have_is_a_problem_with_the_closest_name() {
    let jobs =
        "  build: {runs-on: ubuntu-latest}\n  ship: {name: Deploy, runs-on: ubuntu-latest}\n";
    let (code, text) = check_waited_job("deploy", jobs);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(".github/workflows/deploy.yml on `main` has no job `deploy`, which `wait: { job }` waits for (did you mean `Deploy`?)"),
        "{text}"
    );

    let (code, text) = check_waited_job("Deploy", jobs);
    assert_eq!(code, Some(0), "a job is listed by its name:\n{text}");
}

#[test]
fn a_waited_job_whose_name_is_computed_is_cannot_tell_never_missing() {
    let jobs = "  deploy:\n    name: deploy (${{ matrix.region }})\n    strategy: {matrix: {region: [eu, us]}}\n    runs-on: ubuntu-latest\n";
    let (_, text) = check_waited_job("deploy (eu)", jobs);
    assert!(
        text.contains("0 ready, 0 not ready, 1 cannot tell"),
        "{text}"
    );
    assert!(!text.contains("has no job"), "{text}");
    assert!(
        text.contains("cannot tell: whether a run of .github/workflows/deploy.yml on `main` lists the job `deploy (eu)`: a job's name is computed when it runs (`deploy (${{ matrix.region }})`)"),
        "{text}"
    );
}

#[test]
fn a_hostile_job_name_in_the_workflow_is_shown_escaped() {
    let jobs = "  ship: {name: \"Deploy\\e[31m\", runs-on: x}\n";
    let (code, text) = check_waited_job("Deploy", jobs);
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(
        text.contains("(did you mean `Deploy\\u{1b}[31m`?)"),
        "{text}"
    );
}

#[test]
fn a_webhook_is_not_checkable_and_gets_no_request() {
    let github = FakeGitHub::start();
    let dir = config_dir("version: 1\nsources:\n  app: {repository: acme/app, targets: [hook]}\ntargets:\n  hook:\n    kind: webhook\n    url: https://hooks.example/build\n");
    let output = check(dir.path(), &github, &[]);
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("not checkable  hook") || stdout.contains("not checkable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cannot be checked without calling it"),
        "{stdout}"
    );
    assert!(github.requests().is_empty());
}

#[test]
fn an_unknown_source_is_a_usage_error() {
    let github = FakeGitHub::start();
    let dir = config_dir(ONE_TARGET);
    let output = check(dir.path(), &github, &["--source", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(github.requests().is_empty());
}

#[test]
fn a_5xx_that_asks_for_a_day_is_not_waited_for_nor_tried_again() {
    let github = FakeGitHub::start();
    serve_dot_ai(&github);
    github.on(
        "GET",
        "/repos/vfarcic/dot-ai-website",
        Reply::status(503)
            .header("retry-after", "86400")
            .body("Unavailable"),
    );
    let (_, report) = check_dot_ai(&github);
    assert_ne!(report["targets"][0]["verdict"], "ready", "{report:#}");
    assert_eq!(github.requests_to("/repos/vfarcic/dot-ai-website").len(), 1);
}

#[test]
fn a_rate_limited_read_is_not_tried_again_and_a_retried_5xx_that_echoes_the_token_never_shows_it() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/vfarcic/dot-ai-website",
        Reply::status(429)
            .header("retry-after", "0")
            .json(json!({"message": "You have exceeded a secondary rate limit"})),
    );
    github.on(
        "GET",
        "/repos/vfarcic/dot-ai-cli",
        Reply::status(502).body(format!("upstream saw Authorization: Bearer {CLI_TOKEN}")),
    );
    let dir = example_dir();
    for output_format in ["json", "text", "markdown"] {
        let output = check(
            dir.path(),
            &github,
            &[
                "--source",
                "dot-ai",
                "--output",
                output_format,
                "--backoff-ms",
                "10",
            ],
        );
        let (stdout, stderr) = text(&output);
        assert_ne!(output.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("502"),
            "{output_format}: {stdout}\n{stderr}"
        );
        for printed in [&stdout, &stderr] {
            assert!(!printed.contains(CLI_TOKEN), "{printed}");
            assert!(!printed.contains(WEBSITE_TOKEN), "{printed}");
        }
    }
    // Three formats: the rate limit read once each time, the 502 three times each time.
    assert_eq!(github.requests_to("/repos/vfarcic/dot-ai-website").len(), 3);
    assert_eq!(github.requests_to("/repos/vfarcic/dot-ai-cli").len(), 9);
}

/// `site` as ONE_TARGET, spelt right, with a listener whose run-name is `run_name`.
fn trackable_with(run_name: &str) -> Value {
    let github = FakeGitHub::start();
    let workflow = format!(
        "run-name: {run_name}\non:\n  repository_dispatch:\n    types: [upstream-release]\njobs: {{}}\n"
    );
    serve_repo(&github, "acme/site", &[("rebuild.yml", &workflow)]);
    let dir = config_dir(&ONE_TARGET.replace("upstream-relaese", "upstream-release"));
    let output = check(dir.path(), &github, &["--output", "json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    serde_json::from_str::<Value>(&stdout).unwrap()["targets"][0].clone()
}

#[test]
fn a_run_name_is_trackable_only_when_it_shows_the_dispatch_id_itself() {
    for shown in [
        "\"Rebuild ${{ github.event.client_payload.dispatch_id }}\"",
        "\"Rebuild ${{ github.event.client_payload[ 'dispatch_id' ] || 'manual' }}\"",
    ] {
        let target = trackable_with(shown);
        assert_eq!(target["trackable"], true, "{shown}: {target:#}");
        assert!(
            target["reason"].to_string().contains("trackable"),
            "{target:#}"
        );
    }
    for lookalike in [
        "\"Rebuild ${{ github.event.client_payload.dispatch_identity }}\"",
        "\"Rebuild ${{ github.event.client_payload.dispatch_id_old }}\"",
        "\"Rebuild ${{ github.event.client_payload.dispatch_id == '' }}\"",
        "\"Rebuild github.event.client_payload.dispatch_id\"",
    ] {
        let target = trackable_with(lookalike);
        assert_eq!(target["verdict"], "ready", "{target:#}");
        assert_eq!(target["trackable"], false, "{lookalike}: {target:#}");
    }
}

/// `site`, whose event type names the release's major version, with `when` as given.
fn major_series(when: &str) -> String {
    format!(
        "version: 1\nsources:\n  lib: {{repository: acme/lib, targets: [site]}}\ntargets:\n  site:\n    repository: acme/site\n    event_type: \"lib-{{{{major}}}}.x-release\"\n    token_env: WEBSITE_DISPATCH_TOKEN\n{when}"
    )
}

fn listing(types: &str) -> String {
    format!("on:\n  repository_dispatch:\n    types: [{types}]\njobs: {{}}\n")
}

/// `check --output json` of `config` against acme/site serving `files`: exit code and target.
fn check_site(config: &str, files: &[(&str, &str)]) -> (Option<i32>, Value) {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", files);
    let dir = config_dir(config);
    let output = check(dir.path(), &github, &["--output", "json"]);
    let (stdout, stderr) = text(&output);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    (output.status.code(), report["targets"][0].clone())
}

#[test]
fn a_listener_for_one_major_series_cannot_tell_for_an_event_type_that_names_the_major() {
    let config = major_series("");
    let (code, target) = check_site(&config, &[("lib.yml", &listing("lib-1.x-release"))]);
    assert_eq!(code, Some(1), "{target:#}");
    assert_eq!(target["verdict"], "cannot_tell", "{target:#}");
    let reason = target["reason"].as_str().unwrap();
    assert!(
        reason.contains("`lib-{{major}}.x-release` depends on the major version")
            && reason.contains(".github/workflows/lib.yml lists `lib-1.x-release`"),
        "{reason}"
    );
    // A workflow without `types:` hears every major series.
    let every = "on: repository_dispatch\njobs: {}\n";
    let (code, target) = check_site(&config, &[("all.yml", every)]);
    assert_eq!(
        (code, target["verdict"].as_str()),
        (Some(0), Some("ready")),
        "{target:#}"
    );
    // Nothing of that shape listened for: a release is heard by nothing.
    let (code, target) = check_site(&config, &[("x.yml", &listing("deploy"))]);
    assert_eq!(
        (code, target["verdict"].as_str()),
        (Some(1), Some("not_ready")),
        "{target:#}"
    );
}

#[test]
fn every_major_series_when_allows_must_be_listened_for() {
    let config = major_series("    when: {version: \">=1, <3\"}\n");
    let (code, target) = check_site(&config, &[("lib.yml", &listing("lib-1.x-release"))]);
    assert_eq!(code, Some(1), "{target:#}");
    assert_eq!(target["verdict"], "not_ready", "{target:#}");
    assert!(
        target["reason"]
            .as_str()
            .unwrap()
            .contains("listens for `lib-2.x-release`"),
        "{target:#}"
    );
    let both = listing("lib-1.x-release, lib-2.x-release");
    let (code, target) = check_site(&config, &[("lib.yml", &both)]);
    assert_eq!(code, Some(0), "{target:#}");
    assert!(
        target["reason"]
            .as_str()
            .unwrap()
            .contains("listen(s) for `lib-1.x-release` and `lib-2.x-release`"),
        "{target:#}"
    );
}

#[test]
fn check_target_reads_only_the_chosen_target() {
    let github = FakeGitHub::start();
    serve_dot_ai(&github);
    let dir = example_dir();
    let output = check(
        dir.path(),
        &github,
        &["--target", "dot-ai-cli", "--output", "json"],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let checked: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(checked, ["dot-ai-cli"]);
    assert!(github
        .requests()
        .iter()
        .all(|r| !r.path.contains("dot-ai-website")));
}

#[test]
fn check_target_with_a_typo_is_a_usage_error_that_suggests_the_name() {
    let github = FakeGitHub::start();
    let dir = example_dir();
    let output = check(dir.path(), &github, &["--target", "dot-ai-clj"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--target: no target is named `dot-ai-clj`; did you mean `dot-ai-cli`?"),
        "{stderr}"
    );
    assert!(github.requests().is_empty());
}

#[test]
fn check_under_actions_writes_its_counts_as_step_outputs_and_its_json_names_its_format() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    let dir = config_dir(ONE_TARGET);
    let outputs = dir.path().join("outputs.txt");
    let output = orchestrator(dir.path())
        .args(["check", "--output", "json", "--api-url", &github.base_url()])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["format"], 1);
    assert_eq!(
        std::fs::read_to_string(&outputs).unwrap(),
        "ready=0\nnot_ready=1\ncannot_tell=0\nnot_checkable=0\ntokens_expiring=0\ntokens_expired=0\n"
    );
}

#[test]
fn a_token_that_expires_soon_is_said_once_however_many_targets_use_it() {
    let github = FakeGitHub::start();
    let soon = expiry_in_days(5);
    for repo in ["acme/site", "acme/docs"] {
        serve_repo(&github, repo, &[("rebuild.yml", WEBSITE_WORKFLOW)]);
        github.on(
            "GET",
            &format!("/repos/{repo}"),
            Reply::status(200)
                .header("github-authentication-token-expiration", &soon)
                .json(json!({"default_branch": "main"})),
        );
    }
    let config = "version: 1
sources:
  app: {repository: acme/app, targets: [site, docs]}
targets:
  site: {repository: acme/site, event_type: upstream-release, token_env: WEBSITE_DISPATCH_TOKEN}
  docs: {repository: acme/docs, event_type: upstream-release, token_env: WEBSITE_DISPATCH_TOKEN}
";
    let dir = config_dir(config);
    let output = check(dir.path(), &github, &[]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let line = format!("token: the token in `WEBSITE_DISPATCH_TOKEN` expires on {soon}");
    assert_eq!(stdout.matches(&line).count(), 1, "{stdout}");
    assert_eq!(stdout.matches("token:").count(), 1, "{stdout}");
}
