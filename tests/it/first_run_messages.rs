//! The messages of a first run (a newcomer's first hour): every message a user meets says the
//! right thing, once, where they look.

use crate::support::cli::{config_dir, repo_file, Cli};
use crate::support::git::git;
use crate::support::snapshot::snapshot;
use crate::support::{FakeGitHub, Reply};
use serde_json::{json, Value};
use std::path::Path;

/// A fresh clone of orchestrator: its own dispatch.yaml, an `origin` remote, and release tags
/// of its own (which say nothing about dot-ai's docs).
fn orchestrator_clone() -> tempfile::TempDir {
    let dir = config_dir(&std::fs::read_to_string(repo_file("dispatch.yaml")).unwrap());
    git(dir.path(), &["init", "-q"]);
    git(
        dir.path(),
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/vfarcic/orchestrator.git",
        ],
    );
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    git(dir.path(), &["tag", "v0.1.0"]);
    std::fs::write(dir.path().join("src.rs"), "fn main() {}\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "second"]);
    dir
}

/// The README's "Set up" section: its first command and the output shown under it.
fn readme_first_command() -> (Vec<String>, String) {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let command = readme
        .lines()
        .find_map(|l| l.strip_prefix("cargo run -- "))
        .unwrap();
    let command = command.split('#').next().unwrap();
    let args = command.split_whitespace().map(str::to_owned).collect();
    let after = readme.split("The first command prints").nth(1).unwrap();
    let block = after.split("```text\n").nth(1).unwrap();
    let shown = block.split("```").next().unwrap().to_owned();
    (args, shown)
}

#[test]
fn the_readme_first_command_prints_what_the_readme_shows_whatever_tags_the_clone_has() {
    let clone = orchestrator_clone();
    let (args, shown) = readme_first_command();
    let ran = Cli::in_dir(clone.path()).args(&args).output();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, shown);
    assert_eq!(
        ran.stderr,
        "warning: cannot tell which files changed: the checkout at `.` is vfarcic/orchestrator, not the source's repository vfarcic/dot-ai\n"
    );
}

#[test]
fn a_real_run_in_a_checkout_of_another_repository_refuses_and_points_at_repo_dir() {
    let clone = orchestrator_clone();
    let ran = Cli::in_dir(clone.path())
        .release("dot-ai", "1.2.3")
        .dot_ai_tokens()
        .output();
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr,
        "error: cannot tell which files changed: the checkout at `.` is vfarcic/orchestrator, not the source's repository vfarcic/dot-ai; nothing was sent\n  help: run in a checkout of the source repository, or point --repo-dir at one\n"
    );
}

const WORKFLOW_AND_DISPATCH: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [cli, website-docs]}
targets:
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    ref: main
    token_env: APP_TOKEN
    wait: true
  website-docs:
    repository: o/website
    event_type: upstream-release
    token_env: APP_TOKEN
"#;

#[test]
fn a_failed_workflow_run_shows_in_the_summary_line_outputs_and_json() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/cli/actions/workflows/release.yml/dispatches",
        Reply::status(200).json(json!({
            "workflow_run_id": 9,
            "run_url": format!("{}/repos/o/cli/actions/runs/9", github.base_url()),
            "html_url": "https://github.com/o/cli/actions/runs/9",
        })),
    );
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/9",
        Reply::status(200).json(json!({"status": "completed", "conclusion": "failure",
            "html_url": "https://github.com/o/cli/actions/runs/9"})),
    );
    let outputs = tempfile::NamedTempFile::new().unwrap();
    let summary = tempfile::NamedTempFile::new().unwrap();
    let runner_temp = tempfile::tempdir().unwrap();
    let report = runner_temp.path().join("report.json");
    let ran = Cli::with_config(WORKFLOW_AND_DISPATCH)
        .release("app", "2.0.0")
        .against(&github)
        .app_token()
        .args(["--poll-interval-ms", "10", "--report"])
        .arg(&report)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", outputs.path())
        .env("GITHUB_STEP_SUMMARY", summary.path())
        .env("RUNNER_TEMP", runner_temp.path())
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    snapshot!("run_text_with_a_failed_workflow_run", ran.stdout);
    let outputs = std::fs::read_to_string(outputs.path()).unwrap();
    assert!(outputs.contains("runs_failed=1\n"), "{outputs}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["summary"]["runs_failed"], 1);
    let summary = std::fs::read_to_string(summary.path()).unwrap();
    assert!(
        summary.contains(", **1 workflow run** did not succeed"),
        "{summary}"
    );
}

#[test]
fn a_multi_line_server_message_goes_on_under_its_target() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/vfarcic/dot-ai-cli/dispatches",
        Reply::validation_failed(
            "Invalid request.\n\nFor 'properties/client_payload', nil is not an object.",
        ),
    );
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .against(&github)
        .dot_ai_tokens()
        .args(["-v"])
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    let failed: Vec<&str> = ran
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("failed"))
        .take(3)
        .collect();
    assert_eq!(
        failed,
        [
            "failed     dot-ai-cli      vfarcic/dot-ai-cli      422 Unprocessable Entity: Invalid request.",
            "                           For 'properties/client_payload', nil is not an object.",
            "                           hint: GitHub rejected the request body; see its message above",
        ],
        "{}",
        ran.stdout
    );
    assert!(
        ran.stderr.contains(
            "DEBUG failed: 422 Unprocessable Entity: Invalid request.\n        For 'properties/client_payload', nil is not an object. target_name=dot-ai-cli"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn outcome_target_and_destination_columns_line_up_and_counts_are_plural_words() {
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [cli, website-docs, hook]}
targets:
  cli:
    repository: o/cli
    event_type: release
    token_env: APP_TOKEN
  website-docs:
    repository: o/website-and-docs
    event_type: release
    token_env: APP_TOKEN
    when: {prerelease: false}
  hook:
    kind: webhook
    url: https://hooks.example.com/build
"#;
    let ran = Cli::with_config(yaml)
        .release("app", "1.0.0-rc.1")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let rows: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(
        rows,
        [
            "Dry run: release 1.0.0-rc.1 of app would send 2 dispatches; nothing is sent.",
            "planned  cli           o/cli               (repository_dispatch)",
            "planned  hook          hooks.example.com   (webhook)",
            "skipped  website-docs  o/website-and-docs  1.0.0-rc.1 is a pre-release and the target has `when.prerelease: false`",
            "2 planned, 1 skipped (dry run)",
        ],
        "{}",
        ran.stdout
    );
    let one = Cli::with_config(&yaml.replace("[cli, website-docs, hook]", "[cli]"))
        .release("app", "1.0.0")
        .arg("--dry-run")
        .output();
    assert!(
        one.stdout
            .starts_with("Dry run: release 1.0.0 of app would send 1 dispatch; nothing is sent."),
        "{}",
        one.all()
    );
}

#[test]
fn no_dispatch_yaml_says_where_it_looked_and_offers_init_also_as_json() {
    let dir = tempfile::tempdir().unwrap();
    // The working directory as the binary reads it: symlinks resolved on Unix (macOS's temporary
    // directory is one); on Windows as set, without canonicalize's `\\?\` prefix.
    let here = if cfg!(windows) {
        dir.path().to_owned()
    } else {
        dir.path().canonicalize().unwrap()
    };
    let ran = Cli::in_dir(dir.path()).release("dot-ai", "1.0.0").output();
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr,
        format!(
            "error: no dispatch.yaml in {} (the working directory)\n  help: write one with `orchestrator init`, or name another file with --config FILE\n",
            here.display()
        )
    );
    assert_eq!(ran.stdout, "");
    let json = Cli::in_dir(dir.path())
        .release("dot-ai", "1.0.0")
        .json()
        .output()
        .json();
    assert_eq!(
        json,
        json!({"error": {
            "message": format!("no dispatch.yaml in {} (the working directory)", here.display()),
            "help": "write one with `orchestrator init`, or name another file with --config FILE",
            "exit_code": 2,
        }})
    );
}

#[test]
fn init_into_a_github_directory_that_does_not_exist_yet_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Cli::in_dir(dir.path())
        .args(["init", "--config", ".github/dispatch.yaml"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    // The schema's path is joined with the system's separator (`\` on Windows).
    let schema = Path::new(".github").join("dispatch.schema.json");
    assert_eq!(
        ran.stdout,
        format!("wrote .github/dispatch.yaml\nwrote {} (editor completion)\nnext: orchestrator validate --config .github/dispatch.yaml\n      orchestrator run --config .github/dispatch.yaml --source your-app --version 1.2.3 --dry-run\n", schema.display())
    );
    // Not `--strict`, which refuses the placeholders (validate.rs tests that).
    let checked = Cli::in_dir(dir.path())
        .args(["validate", "--config", ".github/dispatch.yaml"])
        .output();
    assert_eq!(checked.code, 0, "{}", checked.all());
}

const FOUR_TARGETS: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [a, b, c, d]}
targets:
  a: {repository: o/a, event_type: e, token_env: DISPATCH_TOKEN, client_payload: {v: "{{verison}}", w: "{{verison}}"}}
  b: {repository: o/b, event_type: e, token_env: DISPATCH_TOKEN}
  c: {repository: o/c, event_type: e, token_env: DISPATCH_TOKEN}
  d: {repository: o/d, event_type: e, token_env: EMPTY_TOKEN}
"#;

#[test]
fn each_problem_is_said_once_with_a_suggestion_where_one_is_close() {
    let ran = Cli::with_config(FOUR_TARGETS)
        .release("app", "1.0.0")
        .env("EMPTY_TOKEN", "")
        .output();
    assert_eq!(ran.code, 2);
    snapshot!("plan_problems_of_a_run", ran.stderr);
    let wrong_source = Cli::with_config(FOUR_TARGETS)
        .release("ap", "1.0.0")
        .output();
    assert_eq!(
        wrong_source.stderr,
        "error: no source is named `ap`; did you mean `app`? (known sources: app)\n"
    );
    let typo = Cli::with_config(&FOUR_TARGETS.replace("o/b, event_type", "o/b, evnt_type"))
        .arg("validate")
        .output();
    assert!(
        typo.all().contains(
            "error[unknown_key] targets.b.evnt_type: unknown key `evnt_type`\n  help: did you mean `event_type`?\n"
        ),
        "{}",
        typo.all()
    );
}

#[test]
fn outside_a_git_checkout_without_tokens_a_real_run_reports_both_problems() {
    let dir = config_dir(&std::fs::read_to_string(repo_file("dispatch.yaml")).unwrap());
    let ran = Cli::in_dir(dir.path())
        .release("dot-ai", "1.2.3")
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output();
    assert_eq!(ran.code, 2);
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(
        lines[..5],
        [
            "dispatch.yaml:27:5: error[missing_token] targets.dot-ai-website.token_env: environment variable `WEBSITE_DISPATCH_TOKEN` is not set",
            "  help: set it, e.g. in GitHub Actions: `env: { WEBSITE_DISPATCH_TOKEN: ${{ secrets.WEBSITE_DISPATCH_TOKEN }} }`",
            "dispatch.yaml:38:5: error[missing_token] targets.dot-ai-cli.token_env: environment variable `CLI_DISPATCH_TOKEN` is not set",
            "  help: set it, e.g. in GitHub Actions: `env: { CLI_DISPATCH_TOKEN: ${{ secrets.CLI_DISPATCH_TOKEN }} }`",
            "2 error(s), 0 warning(s) in dispatch.yaml",
        ],
        "{}",
        ran.stderr
    );
    // git words its own part ("not a git repository (fatal: ...)").
    assert!(
        lines[5]
            .starts_with("error: cannot tell which files changed: `.` is not a git repository (")
            && lines[5].ends_with("), and the plan has problems (above); nothing was sent"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        lines[6..],
        ["  help: run orchestrator in a checkout of the source repository (actions/checkout)"]
    );
}

#[test]
fn a_wait_that_cannot_happen_is_a_warning_and_the_dry_run_names_the_waits() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/cli/actions/workflows/release.yml/dispatches",
        Reply::no_content(),
    );
    github.on("POST", "/repos/o/website/dispatches", Reply::no_content());
    let runner_temp = tempfile::tempdir().unwrap();
    let ran = Cli::with_config(WORKFLOW_AND_DISPATCH)
        .release("app", "2.0.0")
        .against(&github)
        .app_token()
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", runner_temp.path())
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    snapshot!("run_text_with_a_run_not_waited_for", ran.stdout);
    assert!(
        ran.stderr.contains(
            "::warning title=dispatch%3A cli::o/cli (workflow_dispatch): the workflow run was not waited for: GitHub did not return the run's id\n"
        ),
        "{}",
        ran.stderr
    );
    let planned = Cli::with_config(WORKFLOW_AND_DISPATCH)
        .release("app", "2.0.0")
        .arg("--dry-run")
        .output();
    assert!(
        planned
            .stdout
            .contains("  token: $APP_TOKEN (not set; a real run needs it)\n  wait: for the workflow run it starts\n"),
        "{}",
        planned.stdout
    );
    assert_eq!(
        planned.stdout.matches("  wait: ").count(),
        1,
        "{}",
        planned.stdout
    );
}

#[test]
fn a_run_under_actions_without_runner_temp_writes_its_report_into_the_tests_own_directory() {
    let github = FakeGitHub::start();
    let dir = config_dir(&std::fs::read_to_string(repo_file("dispatch.yaml")).unwrap());
    git(dir.path(), &["init", "-q"]);
    let outputs = dir.path().join("outputs.txt");
    let ran = Cli::in_dir(dir.path())
        .release("dot-ai", "1.2.3")
        .against(&github)
        .dot_ai_tokens()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "vfarcic/dot-ai")
        .env("GITHUB_OUTPUT", &outputs)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    let report = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report="))
        .unwrap();
    let here = dir.path().canonicalize().unwrap();
    assert!(
        Path::new(report).starts_with(dir.path()) || Path::new(report).starts_with(&here),
        "{report}"
    );
    assert!(Path::new(report).is_file());
}

#[test]
fn an_hmac_secret_may_be_any_non_empty_string_such_as_githubs_own_example() {
    for signing_secret in ["It's a Secret to Everybody", "sécret"] {
        let github = FakeGitHub::start();
        github.on("POST", "/hook", Reply::status(200).body("ok"));
        let yaml = format!(
            "version: 1\nsources:\n  app: {{repository: o/app, targets: [hook]}}\ntargets:\n  hook:\n    kind: webhook\n    url: {}/hook\n    signature:\n      secret_env: HOOK_SECRET\n",
            github.base_url()
        );
        let ran = Cli::with_config(&yaml)
            .release("app", "1.0.0")
            .secret("HOOK_SECRET", signing_secret)
            .output();
        assert_eq!(ran.code, 0, "{signing_secret}: {}", ran.all());
        let request = &github.requests_to("/hook")[0];
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, signing_secret.as_bytes());
        let expected = format!(
            "sha256={}",
            hex::encode(ring::hmac::sign(&key, &request.body))
        );
        assert_eq!(
            request.header("x-hub-signature-256"),
            Some(expected.as_str())
        );
    }
}

#[test]
fn workflow_inputs_are_sent_as_strings_as_the_web_ui_sends_them() {
    let github = FakeGitHub::start();
    let path = "/repos/o/cli/actions/workflows/release.yml/dispatches";
    github.on("POST", path, Reply::no_content());
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [cli]}
targets:
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    ref: main
    token_env: APP_TOKEN
    inputs:
      version: "{{version}}"
      dry: false
      retries: 3
"#;
    let ran = Cli::with_config(yaml)
        .release("app", "2.0.0")
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let request = &github.requests_to(path)[0];
    assert_eq!(
        request.body_json()["inputs"],
        json!({"version": "2.0.0", "dry": "false", "retries": "3"})
    );
    crate::support::openapi::assert_request_matches("actions/create-workflow-dispatch", request);
}

/// `ORCHESTRATOR_BLESS_README=1 cargo test --test it readme_flag_tables` rewrites them.
const BLESS: &str = "ORCHESTRATOR_BLESS_README";

#[test]
fn the_readme_flag_tables_are_the_clap_definition() {
    let path = repo_file("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let mut generated = readme.clone();
    for sub in [
        "run", "validate", "check", "diff", "init", "comment", "plan",
    ] {
        let open = format!("<!-- flags:{sub} ");
        let close = format!("<!-- /flags:{sub} -->");
        let start = generated.find(&open).unwrap();
        let start = start + generated[start..].find("-->\n").unwrap() + 4;
        let end = generated.find(&close).unwrap();
        let table = orchestrator::shell::flag_table(sub).unwrap();
        generated.replace_range(start..end, &table);
    }
    let start = generated.find("<!-- settings ").unwrap();
    let start = start + generated[start..].find("-->\n").unwrap() + 4;
    let end = generated.find("<!-- /settings -->").unwrap();
    generated.replace_range(
        start..end,
        &orchestrator::config::settings::markdown_table(),
    );
    if std::env::var_os(BLESS).is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(
        generated == readme,
        "README.md's flag tables differ from `--help` (or its settings table from their declaration); regenerate them with\n\n    {BLESS}=1 cargo test --test it readme_flag_tables\n"
    );
}

#[test]
fn help_names_all_three_kinds_every_exit_code_and_validates_own_flags() {
    let top = Cli::in_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .arg("--help")
        .output();
    assert!(
        top.stdout.contains(
            "Reads dispatch.yaml, renders the request of every target the released source feeds (a\nrepository_dispatch event, a workflow_dispatch or a webhook)"
        ),
        "{}",
        top.stdout
    );
    assert!(
        top.stdout.contains("130 interrupted by Ctrl-C or SIGTERM."),
        "{}",
        top.stdout
    );
    let validate = Cli::in_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(["validate", "--help"])
        .output();
    assert!(
        validate
            .stdout
            .contains("Report format: text, JSON (every problem in a list) or Markdown"),
        "{}",
        validate.stdout
    );
    let (own, checked) = validate
        .stdout
        .split_once("Delivery settings (only checked):")
        .unwrap();
    assert!(!own.contains("--max-attempts"), "{own}");
    assert!(checked.contains("--max-attempts"), "{checked}");
}

const CHANGED_AND_PLAIN: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [website, cli]}
targets:
  website:
    repository: o/website
    event_type: upstream-release
    token_env: APP_TOKEN
    when:
      changed: ["docs/**"]
  cli:
    repository: o/cli
    event_type: server-release
    token_env: APP_TOKEN
"#;

/// A shallow clone (`actions/checkout` without `fetch-depth: 0`) of a repository with tags.
fn shallow_clone() -> (tempfile::TempDir, tempfile::TempDir) {
    let origin = config_dir(CHANGED_AND_PLAIN);
    git(origin.path(), &["init", "-q"]);
    git(origin.path(), &["add", "-A"]);
    git(origin.path(), &["commit", "-q", "-m", "first"]);
    git(origin.path(), &["tag", "v1.0.0"]);
    std::fs::create_dir(origin.path().join("docs")).unwrap();
    std::fs::write(origin.path().join("docs/guide.md"), "new\n").unwrap();
    git(origin.path(), &["add", "-A"]);
    git(origin.path(), &["commit", "-q", "-m", "second"]);
    let clone = tempfile::tempdir().unwrap();
    // `file:///C:/...` on Windows, where `file://` and the path would be `file://C:\...`.
    let url = url::Url::from_file_path(origin.path()).unwrap().to_string();
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "."]);
    (origin, clone)
}

#[test]
fn a_shallow_clone_sends_what_it_can_decide_and_fails_the_rest_with_the_fix() {
    let (_origin, clone) = shallow_clone();
    let github = FakeGitHub::start();
    let ran = Cli::in_dir(clone.path())
        .release("app", "1.1.0")
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(github.requests_to("/repos/o/cli/dispatches").len(), 1);
    assert!(github.requests_to("/repos/o/website/dispatches").is_empty());
    snapshot!("run_text_of_a_shallow_clone", ran.stdout);
    assert_eq!(
        ran.stderr,
        "warning: cannot tell which files changed: `.` is a shallow clone, so its tags and history are incomplete and the files changed since the previous release cannot be known; the targets with `when.changed` are not sent and are reported failed, the others are sent\n"
    );
    let planned = Cli::in_dir(clone.path())
        .release("app", "1.1.0")
        .arg("--dry-run")
        .output();
    assert!(
        planned.stdout.contains(
            "  why: when.changed (`docs/**`) not decided: the changed files are unknown (see the warning); a real run here reports this target failed and sends the others\n"
        ),
        "{}",
        planned.stdout
    );
}

/// HTML as GitHub renders Markdown (cmark-gfm: tables, autolinks, strikethrough).
fn gfm(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    comrak::markdown_to_html(markdown, &options)
}

#[test]
fn the_job_summary_renders_our_code_spans_as_code_and_server_text_as_text() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/gone/dispatches",
        Reply::validation_failed("see [this](https://evil.example) `x` <b>now</b>"),
    );
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [site, broken, later]}
targets:
  site: {repository: o/site, event_type: release, token_env: APP_TOKEN}
  broken: {repository: o/gone, event_type: release, token_env: APP_TOKEN}
  later:
    repository: o/later
    event_type: release
    token_env: APP_TOKEN
    when: {version: ">=3"}
"#;
    let runner = tempfile::tempdir().unwrap();
    let summary = runner.path().join("summary.md");
    let ran = Cli::with_config(yaml)
        .release("app", "2.0.0")
        .against(&github)
        .app_token()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", runner.path())
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    let html = gfm(&std::fs::read_to_string(&summary).unwrap());
    assert!(
        html.contains("<th>target</th>\n<th>kind</th>\n<th>destination</th>\n<th>outcome</th>\n<th>attempts</th>\n<th>reason / hint</th>"),
        "no run column without a workflow_dispatch: {html}"
    );
    assert!(
        html.contains("<td>2.0.0 does not satisfy <code>when.version: &gt;=3</code></td>"),
        "{html}"
    );
    assert!(!html.contains("\\`") && !html.contains("`when"), "{html}");
    // The server's words: its link, code and HTML stay inert text.
    assert!(!html.contains("<a href=\"https://evil"), "{html}");
    assert!(!html.contains("<b>now"), "{html}");
    assert!(html.contains("see [this]("), "{html}");
}

/// Every file validate accepts, the schema accepts (what editors flag is what is wrong). The
/// other direction is `schema::the_schema_rejects_exactly_the_fixtures_marked_as_schema_violations`
/// over `tests/fixtures/invalid`, whose `accept (only validate: ...)` lines are the documented
/// exceptions.
#[test]
fn validate_and_the_schema_accept_the_same_valid_files() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file(orchestrator::config::schema::SCHEMA_PATH)).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let dir = repo_file("tests/fixtures/valid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    let mut wrong = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let ran = Cli::in_dir(&dir)
            .args(["validate", "--strict", "--config", &name])
            .output();
        if ran.code != 0 {
            wrong.push(format!("{name}: validate says\n{}", ran.all()));
        }
        let document: Value =
            serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for error in validator.iter_errors(&document) {
            wrong.push(format!(
                "{name}: the schema says {error} at {}",
                error.instance_path()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What ajv's strict mode (`ajv compile --spec=draft2020 --strict=true`) refuses: formats JSON
/// Schema does not define, and a `required` key with no `properties` entry beside it.
#[test]
fn the_schema_compiles_under_a_strict_validator() {
    fn walk(at: &str, value: &Value, wrong: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(format) = map.get("format").and_then(Value::as_str) {
                    wrong.push(format!(
                        "{at}: format `{format}` is not a JSON Schema format"
                    ));
                }
                if let Some(required) = map.get("required").and_then(Value::as_array) {
                    for key in required.iter().filter_map(Value::as_str) {
                        if map.get("properties").and_then(|p| p.get(key)).is_none() {
                            wrong.push(format!("{at}: `{key}` is required but not in properties"));
                        }
                    }
                }
                for (key, child) in map {
                    walk(&format!("{at}/{key}"), child, wrong);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{at}/{i}"), child, wrong);
                }
            }
            _ => {}
        }
    }
    let schema: Value = serde_json::from_str(&orchestrator::config::schema::schema_json()).unwrap();
    let mut wrong = Vec::new();
    walk("#", &schema, &mut wrong);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
