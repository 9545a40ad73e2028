//! Inside GitHub Actions (`GITHUB_ACTIONS=true`), `run` writes a job summary, step outputs and
//! annotations; outside it writes none of them. The runner's files are simulated with temp files.

use crate::support::cli::{Cli, Ran, CLI_TOKEN, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One target of each outcome: delivered, delivered with a run, failed, skipped.
const MIXED: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [site, deploy, broken, later]}
targets:
  site:
    repository: o/site
    event_type: release
    token_env: SITE_TOKEN
    client_payload: {version: "{{version}}"}
  deploy:
    kind: workflow_dispatch
    repository: o/deploy
    workflow: deploy.yml
    ref: main
    token_env: DEPLOY_TOKEN
  broken:
    repository: o/gone
    event_type: release
    token_env: SITE_TOKEN
  later:
    repository: o/later
    event_type: release
    token_env: SITE_TOKEN
    when: {version: ">=3.0.0"}
"#;

/// The files a runner hands a step, in their own temporary directory.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        Runner {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn summary(&self) -> PathBuf {
        self.dir.path().join("summary.md")
    }
    fn output(&self) -> PathBuf {
        self.dir.path().join("output.txt")
    }
    fn temp(&self) -> &Path {
        self.dir.path()
    }
    fn read(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }
    /// `name=value` lines of `$GITHUB_OUTPUT`.
    fn outputs(&self) -> Vec<(String, String)> {
        self.read(&self.output())
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
    fn output_value(&self, name: &str) -> Option<String> {
        self.outputs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

fn scripted_github() -> FakeGitHub {
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
    github.on("POST", "/repos/o/gone/dispatches", Reply::not_found());
    github
}

/// The mixed config in `runner`'s environment; `actions` decides whether GITHUB_ACTIONS is
/// `true`. Neither token may appear in stdout or stderr.
fn mixed(runner: &Runner, actions: bool) -> Cli {
    Cli::with_config(MIXED)
        .release("app", "2.0.0")
        .secret("SITE_TOKEN", WEBSITE_TOKEN)
        .env("GITHUB_STEP_SUMMARY", runner.summary())
        .env("GITHUB_OUTPUT", runner.output())
        .env("RUNNER_TEMP", runner.temp())
        .envs(actions.then_some(("GITHUB_ACTIONS", "true")))
}

/// Runs the mixed config against `github`, with `DEPLOY_TOKEN` set too.
fn run_mixed(runner: &Runner, github: &FakeGitHub, actions: bool, extra: &[&str]) -> Ran {
    mixed(runner, actions)
        .against(github)
        .args(extra)
        .secret("DEPLOY_TOKEN", CLI_TOKEN)
        .output()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [WEBSITE_TOKEN, CLI_TOKEN] {
        assert!(!text.contains(secret), "a token leaked into {what}: {text}");
    }
}

#[test]
fn a_run_in_actions_writes_a_summary_table_with_every_outcome() {
    let (runner, github) = (Runner::new(), scripted_github());
    let output = run_mixed(&runner, &github, true, &[]);
    assert_eq!(output.code, 1, "broken failed");
    let summary = runner.read(&runner.summary());
    assert!(summary.contains("### orchestrator: app 2.0.0"), "{summary}");
    assert!(
        summary.contains("**2 delivered**, **1 failed**, 1 skipped"),
        "{summary}"
    );
    assert!(
        summary
            .contains("| target | kind | destination | outcome | attempts | run | reason / hint |"),
        "{summary}"
    );
    let row = |target: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("| `{target}` |")))
            .unwrap_or_else(|| panic!("no row for {target}: {summary}"))
            .to_owned()
    };
    assert!(row("site").contains("| repository_dispatch | o/site | ✅ delivered | 1 |"));
    assert!(
        row("deploy").contains("[run 77](https://github.com/o/deploy/actions/runs/77)"),
        "{}",
        row("deploy")
    );
    let broken = row("broken");
    assert!(broken.contains("❌ failed (404)"), "{broken}");
    assert!(broken.contains("hint:"), "{broken}");
    let later = row("later");
    assert!(later.contains("⏭️ skipped"), "{later}");
    assert!(
        later.contains("`when.version: >=3.0.0`"),
        "our own code span, kept: {later}"
    );
    assert_no_secret("the summary", &summary);
}

#[test]
fn a_run_in_actions_writes_counts_and_a_report_as_step_outputs() {
    let (runner, github) = (Runner::new(), scripted_github());
    run_mixed(&runner, &github, true, &[]);
    assert_eq!(runner.output_value("delivered").as_deref(), Some("2"));
    assert_eq!(runner.output_value("failed").as_deref(), Some("1"));
    assert_eq!(runner.output_value("skipped").as_deref(), Some("1"));
    assert_eq!(runner.output_value("not_sent").as_deref(), Some("0"));
    assert_eq!(runner.output_value("interrupted").as_deref(), Some("false"));
    assert_eq!(
        runner.output_value("max_duration_reached").as_deref(),
        Some("false")
    );
    let report_path = PathBuf::from(runner.output_value("report").expect("report output"));
    assert!(report_path.is_absolute(), "{}", report_path.display());
    assert!(report_path.starts_with(runner.temp()), "in RUNNER_TEMP");
    let name = report_path.file_name().unwrap().to_string_lossy();
    assert!(name.starts_with("orchestrator-report-") && name.ends_with(".json"));
    let text = std::fs::read_to_string(&report_path).unwrap();
    assert_no_secret("the report", &text);
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["summary"]["delivered"], 2);
    assert_no_secret("the outputs", &runner.read(&runner.output()));
}

#[test]
fn the_report_output_names_the_file_given_with_report() {
    let (runner, github) = (Runner::new(), scripted_github());
    let kept = runner.temp().join("kept.json");
    run_mixed(
        &runner,
        &github,
        true,
        &["--report", kept.to_str().unwrap()],
    );
    assert_eq!(
        runner.output_value("report"),
        Some(kept.display().to_string())
    );
    let written: Vec<_> = std::fs::read_dir(runner.temp())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("orchestrator-report-")
        })
        .collect();
    assert!(
        written.is_empty(),
        "no second report when --report is given"
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    assert_eq!(report["summary"]["failed"], 1);
}

#[test]
fn failed_targets_are_error_annotations_and_skipped_ones_notices() {
    let (runner, github) = (Runner::new(), scripted_github());
    let output = run_mixed(&runner, &github, true, &["--output", "json"]);
    let stderr = &output.stderr;
    let error = stderr
        .lines()
        .find(|l| l.starts_with("::error title=dispatch%3A broken::"))
        .unwrap_or_else(|| panic!("no error annotation: {stderr}"));
    assert!(
        error.contains("o/gone (repository_dispatch) failed:"),
        "{error}"
    );
    assert!(
        error.contains("%0Ahint: "),
        "the hint on its own line: {error}"
    );
    // `when.version` skipped it, as intended: a notice, not a warning on every release.
    assert!(
        stderr
            .contains("::notice title=dispatch%3A later::o/later (repository_dispatch) skipped: "),
        "{stderr}"
    );
    assert!(!stderr.contains("::warning"), "{stderr}");
    assert_eq!(
        stderr.matches("::error").count() + stderr.matches("::notice").count(),
        2,
        "delivered targets are not annotated: {stderr}"
    );
    let stdout = output.json();
    assert_eq!(stdout["summary"]["failed"], 1);
}

#[test]
fn outside_actions_nothing_is_written_for_actions() {
    let (runner, github) = (Runner::new(), scripted_github());
    let output = run_mixed(&runner, &github, false, &[]);
    assert_eq!(output.code, 1);
    assert!(!runner.summary().exists(), "no job summary");
    assert!(!runner.output().exists(), "no step outputs");
    let stray: Vec<_> = std::fs::read_dir(runner.temp()).unwrap().collect();
    assert!(stray.is_empty(), "no report in RUNNER_TEMP: {stray:?}");
    let stderr = &output.stderr;
    assert!(
        !stderr.contains("::error") && !stderr.contains("::warning"),
        "{stderr}"
    );
}

#[test]
fn a_dry_run_in_actions_summarises_the_plan_and_warns_of_unset_tokens() {
    let runner = Runner::new();
    let output = mixed(&runner, true).arg("--dry-run").output();
    assert_eq!(output.code, 0, "{}", output.all());
    let summary = runner.read(&runner.summary());
    assert!(
        summary.contains("### orchestrator dry run: app 2.0.0"),
        "{summary}"
    );
    assert!(summary.contains("`$SITE_TOKEN` set"), "{summary}");
    assert!(summary.contains("`$DEPLOY_TOKEN` **not set**"), "{summary}");
    let stderr = &output.stderr;
    assert!(
        stderr.contains("::warning title=dry run%3A DEPLOY_TOKEN::token variable DEPLOY_TOKEN is not set; a real run needs it for deploy\n"),
        "{stderr}"
    );
    assert_eq!(runner.output_value("delivered").as_deref(), Some("0"));
    assert_no_secret("the summary", &summary);
}

#[test]
fn a_dry_run_with_one_unset_token_for_seven_targets_warns_once() {
    let output = Cli::with_config(&crate::support::cli::many_targets(7))
        .release("app", "1.0.0")
        .arg("--dry-run")
        .env("GITHUB_ACTIONS", "true")
        .output();
    assert_eq!(output.code, 0, "{}", output.all());
    let annotations: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.starts_with("::"))
        .collect();
    assert_eq!(
        annotations,
        ["::warning title=dry run%3A APP_TOKEN::token variable APP_TOKEN is not set; a real run needs it for t00, t01, t02, t03, t04, t05, t06"]
    );
}

#[test]
fn the_delivery_log_is_folded_into_a_group_only_in_actions() {
    let (runner, github) = (Runner::new(), scripted_github());
    let output = run_mixed(&runner, &github, true, &["-v"]);
    let stderr = &output.stderr;
    let open = stderr.find("::group::").expect("a group opens");
    let close = stderr.find("::endgroup::").expect("and closes");
    let first_log = stderr.find("attempt=1").expect("the -v log of a request");
    assert!(open < first_log && first_log < close, "{stderr}");
    assert!(
        stderr[close..].contains("::error"),
        "annotations stay outside the group: {stderr}"
    );

    let output = run_mixed(&runner, &github, false, &["-v"]);
    assert!(!output.stderr.contains("::group::"));
}

#[test]
fn without_v_a_delivery_that_logs_nothing_opens_no_empty_group() {
    let (runner, github) = (Runner::new(), scripted_github());
    let output = run_mixed(&runner, &github, true, &[]);
    let stderr = &output.stderr;
    assert!(!stderr.contains("::group::"), "{stderr}");
    assert!(!stderr.contains("::endgroup::"), "{stderr}");
    let output = run_mixed(&runner, &github, true, &["-v"]);
    assert!(
        output
            .stderr
            .starts_with("::group::orchestrator: sending 3 requests\nDEBUG "),
        "{}",
        output.stderr
    );
}
