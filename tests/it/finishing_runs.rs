//! Finishing what we started (issue 24, item 4): with `cancel_on_stop` the runs this run
//! started are cancelled when it stops before they completed (a signal, `--max-duration`, a
//! wait given up on), and only those; `--queue-timeout` gives up on a run stuck in the queue
//! apart from `--wait-timeout`; `wait: { job: NAME }` follows one job of the run.
//!
//! The fake GitHub answers the cancel and jobs operations as GitHub's OpenAPI description
//! (`tests/fixtures/github-api/`: `actions/cancel-workflow-run`,
//! `actions/list-jobs-for-workflow-run`) says.

use crate::support::cli::{Cli, Ran, WEBSITE_TOKEN};
// The signal tests (Unix only) start the process themselves.
#[cfg(unix)]
use crate::support::cli::{config_dir, orchestrator_std, Watched};
use crate::support::snapshot::snapshot;
use crate::support::{openapi, FakeGitHub, Reply};
use serde_json::{json, Value};
#[cfg(unix)]
use std::process::Stdio;
use std::time::{Duration, Instant};

const CANCEL_OP: &str = "actions/cancel-workflow-run";
const JOBS_OP: &str = "actions/list-jobs-for-workflow-run";
/// A hang guard, not a timing window.
#[cfg(unix)]
const SHORT: Duration = Duration::from_secs(30);

/// Workflow-dispatch targets fed by `app`, each `name: (repository, extra keys)`.
fn workflows(targets: &[(&str, &str)], defaults: &str) -> String {
    let names: Vec<&str> = targets.iter().map(|(name, _)| *name).collect();
    let mut yaml = format!(
        "version: 1\n{defaults}sources:\n  app: {{repository: o/app, targets: [{}]}}\ntargets:\n",
        names.join(", ")
    );
    for (name, extra) in targets {
        yaml.push_str(&format!(
            "  {name}:\n    kind: workflow_dispatch\n    repository: o/{name}\n    workflow: release.yml\n    ref: main\n    token_env: APP_TOKEN\n{extra}"
        ));
    }
    yaml
}

/// The dispatch of `name`'s workflow answers with run `id`.
fn starts_run(github: &FakeGitHub, name: &str, id: u64) {
    github.on(
        "POST",
        &format!("/repos/o/{name}/actions/workflows/release.yml/dispatches"),
        Reply::status(200).json(json!({
            "workflow_run_id": id,
            "run_url": format!("{}/repos/o/{name}/actions/runs/{id}", github.base_url()),
            "html_url": format!("https://github.com/o/{name}/actions/runs/{id}"),
        })),
    );
}

fn run_state(status: &str, conclusion: Option<&str>) -> Reply {
    Reply::status(200).json(json!({"status": status, "conclusion": conclusion}))
}

/// `run` of app 2.0.0, with a JSON report unless `extra` asks for another.
fn run(github: &FakeGitHub, yaml: &str, extra: &[&str]) -> Ran {
    let cli = Cli::with_config(yaml).release("app", "2.0.0");
    let cli = if extra.contains(&"--output") {
        cli
    } else {
        cli.json()
    };
    cli.against(github)
        .args(["--poll-interval-ms", "20"])
        .args(extra)
        .app_token()
        .output()
}

fn target(report: &Value, name: &str) -> Value {
    report["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

/// The paths of the cancels the fake received, sorted.
fn cancels(github: &FakeGitHub) -> Vec<String> {
    let mut paths: Vec<String> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/cancel"))
        .map(|r| {
            openapi::assert_request_matches(CANCEL_OP, &r);
            r.path
        })
        .collect();
    paths.sort();
    paths
}

// ---------------------------------------------------------------------------------------------
// cancel_on_stop

// A signal: Windows has none to send one process (see `Watched::signal`).
#[cfg(unix)]
#[test]
fn sigterm_during_a_tracked_wait_cancels_exactly_the_runs_we_started() {
    let yaml = "version: 1\ndefaults:\n  cancel_on_stop: true\nsources:\n  app: {repository: o/app, targets: [site, docs]}\ntargets:\n  site: {repository: o/site, event_type: release, token_env: APP_TOKEN, track: true}\n  docs: {repository: o/docs, event_type: release, token_env: APP_TOKEN, track: true}\n";
    let github = FakeGitHub::start();
    for repo in ["site", "docs"] {
        github.on(
            "POST",
            &format!("/repos/o/{repo}/dispatches"),
            Reply::no_content(),
        );
        github.on(
            "GET",
            &format!("/repos/o/{repo}/actions/runs"),
            runs(vec![]),
        );
        github.on(
            "POST",
            &format!("/repos/o/{repo}/actions/runs/*/cancel"),
            Reply::status(202).json(json!({})),
        );
    }
    let dir = config_dir(yaml);
    let child = Watched::new(
        orchestrator_std(dir.path())
            .args(["run", "--source", "app", "--version", "2.0.0", "--wait"])
            .args(["--output", "json", "--api-url", &github.base_url()])
            .args(["--poll-interval-ms", "20"])
            .env("APP_TOKEN", WEBSITE_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    for (repo, ours) in [("site", 101), ("docs", 201)] {
        let sent = github.wait_for_requests_to(&format!("/repos/o/{repo}/dispatches"), 1);
        let id = sent[0].body_json()["client_payload"]["dispatch_id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Someone else's run in the same repository, also in progress: never ours to cancel.
        github.on(
            "GET",
            &format!("/repos/o/{repo}/actions/runs"),
            runs(vec![
                listed(555, "Rebuild for somebody else", "in_progress"),
                listed(ours, &format!("Rebuild for {id}"), "in_progress"),
            ]),
        );
    }
    // Each list has been read at least twice since: both runs are found.
    for repo in ["site", "docs"] {
        let path = format!("/repos/o/{repo}/actions/runs");
        let before = github.requests_to(&path).len();
        github.wait_for_requests_to(&path, before + 2);
    }
    child.signal("TERM");
    let output = child.finish_within(SHORT);

    assert_eq!(output.code, 130, "as for any interrupt: {}", output.stderr);
    assert_eq!(
        cancels(&github),
        [
            "/repos/o/docs/actions/runs/201/cancel",
            "/repos/o/site/actions/runs/101/cancel"
        ]
    );
    let report = output.json();
    for name in ["site", "docs"] {
        let run = &target(&report, name)["run"];
        assert_eq!(run["cancel"], json!({"outcome": "requested"}), "{run}");
        assert_eq!(run["interrupted"], true, "{run}");
    }
}

/// Run 5 of `cli` stays in progress; its cancel is answered 202.
fn running_cli(github: &FakeGitHub) {
    starts_run(github, "cli", 5);
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/5",
        run_state("in_progress", None),
    );
    github.on(
        "POST",
        "/repos/o/cli/actions/runs/5/cancel",
        Reply::status(202).json(json!({})),
    );
}

#[test]
fn max_duration_during_a_wait_cancels_the_run_only_with_cancel_on_stop() {
    let yaml = workflows(&[("cli", "    wait: true\n")], "");
    for (cancelling, flags) in [(true, &["--cancel-on-stop"][..]), (false, &[][..])] {
        let github = FakeGitHub::start();
        running_cli(&github);
        let ran = run(
            &github,
            &yaml,
            &[&["--max-duration", "400ms"], flags].concat(),
        );
        assert_eq!(ran.code, 130, "{}", ran.stderr);
        let run = target(&ran.json(), "cli")["run"].clone();
        assert_eq!(run["interrupted"], true);
        if cancelling {
            assert_eq!(cancels(&github), ["/repos/o/cli/actions/runs/5/cancel"]);
            assert_eq!(run["cancel"]["outcome"], "requested", "{run}");
        } else {
            assert!(cancels(&github).is_empty());
            assert!(run.get("cancel").is_none(), "{run}");
        }
    }
}

#[test]
fn the_runs_cancelled_are_counted_in_the_summary_the_last_line_and_a_step_output() {
    let yaml = workflows(&[("cli", "    wait: true\n    cancel_on_stop: true\n")], "");
    let github = FakeGitHub::start();
    running_cli(&github);
    let ran = run(&github, &yaml, &["--max-duration", "400ms"]);
    assert_eq!(ran.code, 130, "{}", ran.stderr);
    assert_eq!(ran.json()["summary"]["cancelled_runs"], 1);

    let github = FakeGitHub::start();
    running_cli(&github);
    let runner = tempfile::tempdir().unwrap();
    let outputs = runner.path().join("outputs");
    let ran = Cli::with_config(&yaml)
        .release("app", "2.0.0")
        .against(&github)
        .args(["--poll-interval-ms", "20", "--max-duration", "400ms"])
        .app_token()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", runner.path())
        .output();
    assert_eq!(ran.code, 130, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("; 1 workflow run cancelled (cancel_on_stop) in "),
        "{}",
        ran.stdout
    );
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("cancelled_runs=1\n"), "{outputs}");
}

#[test]
fn a_run_without_cancels_has_no_cancelled_count_in_its_json() {
    let yaml = workflows(&[("cli", "    wait: true\n    cancel_on_stop: true\n")], "");
    let github = FakeGitHub::start();
    starts_run(&github, "cli", 5);
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/5",
        run_state("completed", Some("success")),
    );
    let ran = run(&github, &yaml, &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let summary = &ran.json()["summary"];
    assert!(summary.get("cancelled_runs").is_none(), "{summary}");
}

#[test]
fn a_run_that_completed_meanwhile_is_said_so_and_is_not_a_failed_cancel() {
    let yaml = workflows(&[("cli", "    wait: true\n    cancel_on_stop: true\n")], "");
    let github = FakeGitHub::start();
    running_cli(&github);
    github.on(
        "POST",
        "/repos/o/cli/actions/runs/5/cancel",
        Reply::status(409)
            .json(json!({"message": "Cannot cancel a workflow run that is completed."})),
    );
    let ran = run(
        &github,
        &yaml,
        &["--max-duration", "300ms", "--output", "text"],
    );
    assert_eq!(ran.code, 130, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("not cancelled: it had completed"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stderr.contains("could not cancel"), "{}", ran.stderr);
}

#[test]
fn hostile_cancel_answers_neither_stall_the_end_of_the_run_nor_panic() {
    let huge = "x".repeat(8 * 1024 * 1024);
    let answers = [
        ("error", Reply::server_error(500)),
        (
            "garbage",
            Reply::status(202).body("\u{1b}]0;owned\u{7}not json"),
        ),
        ("huge", Reply::status(202).body(huge)),
        ("silent", Reply::hang(Duration::from_secs(120))),
    ];
    for (what, answer) in answers {
        let yaml = workflows(&[("cli", "    wait: true\n")], "");
        let github = FakeGitHub::start();
        running_cli(&github);
        github.on("POST", "/repos/o/cli/actions/runs/5/cancel", answer);
        let started = Instant::now();
        let ran = run(
            &github,
            &yaml,
            &[
                "--max-duration",
                "300ms",
                "--cancel-on-stop",
                "--timeout",
                "1",
            ],
        );
        assert_eq!(ran.code, 130, "{what}: {}", ran.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{what}: the cancel held the end of the run for {:?}",
            started.elapsed()
        );
        let cancel = target(&ran.json(), "cli")["run"]["cancel"].clone();
        let expected = match what {
            "error" => json!({"outcome": "failed", "reason": "GitHub answered 500"}),
            "garbage" | "huge" => json!({"outcome": "requested"}),
            _ => cancel.clone(),
        };
        assert_eq!(cancel, expected, "{what}");
        if what == "silent" {
            assert_eq!(cancel["outcome"], "failed", "{cancel}");
            assert!(
                ran.stderr.contains("could not cancel the workflow run 5"),
                "{}",
                ran.stderr
            );
        }
        assert!(!ran.stdout.contains('\u{1b}'), "{what}");
    }
}

#[test]
fn the_markdown_report_says_which_runs_were_cancelled_and_which_could_not_be() {
    let yaml = workflows(
        &[("cli", "    wait: true\n"), ("api", "    wait: true\n")],
        "",
    );
    let github = FakeGitHub::start();
    running_cli(&github);
    starts_run(&github, "api", 6);
    github.on(
        "GET",
        "/repos/o/api/actions/runs/6",
        run_state("queued", None),
    );
    github.on(
        "POST",
        "/repos/o/api/actions/runs/6/cancel",
        Reply::status(403).json(json!({"message": "Resource not accessible by integration"})),
    );
    let ran = run(
        &github,
        &yaml,
        &[
            "--max-duration",
            "300ms",
            "--cancel-on-stop",
            "--output",
            "markdown",
        ],
    );
    assert_eq!(ran.code, 130, "{}", ran.stderr);
    let row = |name: &str| {
        ran.stdout
            .lines()
            .find(|l| l.contains(&format!("o/{name}")))
            .unwrap_or_else(|| panic!("no row for {name}: {}", ran.stdout))
            .to_owned()
    };
    assert!(
        row("cli").contains("cancelled (cancel\\_on\\_stop)"),
        "{}",
        row("cli")
    );
    assert!(
        row("api").contains("could not cancel it: GitHub answered 403"),
        "{}",
        row("api")
    );
    assert!(
        ran.stderr
            .contains("could not cancel the workflow run 6: GitHub answered 403"),
        "{}",
        ran.stderr
    );
    snapshot!("run_markdown_with_runs_cancelled", ran.stdout);
    github.restart_scripts();
    let text = run(
        &github,
        &yaml,
        &[
            "--max-duration",
            "300ms",
            "--cancel-on-stop",
            "--output",
            "text",
        ],
    );
    snapshot!("run_text_with_runs_cancelled", text.stdout);
}

#[test]
fn the_dry_run_says_which_job_a_target_waits_for() {
    let yaml = workflows(&[("cli", "    wait: {job: deploy (prod)}\n")], "");
    let ran = Cli::with_config(&yaml)
        .release("app", "2.0.0")
        .arg("--dry-run")
        .app_token()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stdout
            .contains("  wait: for job `deploy (prod)` of the workflow run it starts\n"),
        "{}",
        ran.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// --queue-timeout

#[test]
fn a_run_stuck_in_the_queue_fails_as_queued_too_long_while_a_slow_run_succeeds() {
    let yaml = workflows(
        &[("stuck", "    wait: true\n"), ("slow", "    wait: true\n")],
        "",
    );
    let github = FakeGitHub::start();
    starts_run(&github, "stuck", 7);
    starts_run(&github, "slow", 8);
    github.on(
        "GET",
        "/repos/o/stuck/actions/runs/7",
        run_state("queued", None),
    );
    let mut slow: Vec<Reply> = (0..8).map(|_| run_state("in_progress", None)).collect();
    slow.push(run_state("completed", Some("success")));
    github.on("GET", "/repos/o/slow/actions/runs/8", slow);
    github.on(
        "POST",
        "/repos/o/*/actions/runs/*/cancel",
        Reply::status(202).json(json!({})),
    );

    let ran = run(
        &github,
        &yaml,
        &[
            "--queue-timeout",
            "300ms",
            "--wait-timeout",
            "60",
            "--cancel-on-stop",
        ],
    );

    assert_eq!(
        ran.code, 1,
        "a run that never left the queue failed: {}",
        ran.stderr
    );
    let report = ran.json();
    let stuck = target(&report, "stuck")["run"].clone();
    assert_eq!(stuck["status"], "queued");
    assert_eq!(
        stuck["note"], "queued too long (less than a second in the queue)",
        "{stuck}"
    );
    let slow = target(&report, "slow")["run"].clone();
    assert_eq!(slow["conclusion"], "success", "{slow}");
    assert_eq!(report["summary"]["runs_failed"], 1);
    // The run given up on is cancelled too, the one that finished is not.
    assert_eq!(cancels(&github), ["/repos/o/stuck/actions/runs/7/cancel"]);
    assert_eq!(stuck["cancel"]["outcome"], "requested");
}

// ---------------------------------------------------------------------------------------------
// wait: { job: NAME }

fn jobs_page(jobs: &[(&str, &str, Option<&str>)]) -> Reply {
    let jobs: Vec<Value> = jobs
        .iter()
        .enumerate()
        .map(|(i, (name, status, conclusion))| {
            json!({
                "id": 900 + i, "run_id": 1, "name": name, "status": status,
                "conclusion": conclusion, "steps": [{"name": "checkout", "status": "completed"}],
                "html_url": format!("https://github.com/o/r/actions/runs/1/job/{}", 900 + i),
            })
        })
        .collect();
    Reply::status(200).json(json!({"total_count": jobs.len(), "jobs": jobs}))
}

#[test]
fn a_job_wait_takes_the_jobs_conclusion_not_the_runs() {
    let yaml = workflows(
        &[
            ("good_run", "    wait: {job: deploy}\n"),
            ("bad_run", "    wait: {job: deploy}\n"),
        ],
        "",
    );
    let github = FakeGitHub::start();
    starts_run(&github, "good_run", 11);
    starts_run(&github, "bad_run", 12);
    // The run succeeds but its deploy job failed; the other way round for the other.
    github.on(
        "GET",
        "/repos/o/good_run/actions/runs/11",
        run_state("completed", Some("success")),
    );
    github.on(
        "GET",
        "/repos/o/bad_run/actions/runs/12",
        run_state("in_progress", None),
    );
    github.on(
        "GET",
        "/repos/o/good_run/actions/runs/11/jobs",
        jobs_page(&[
            ("build", "completed", Some("success")),
            ("deploy", "completed", Some("failure")),
        ]),
    );
    github.on(
        "GET",
        "/repos/o/bad_run/actions/runs/12/jobs",
        [
            jobs_page(&[("deploy", "in_progress", None)]),
            jobs_page(&[
                ("deploy", "completed", Some("success")),
                ("smoke", "in_progress", None),
            ]),
        ],
    );

    let ran = run(&github, &yaml, &[]);

    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let report = ran.json();
    let failed = target(&report, "good_run")["run"].clone();
    assert_eq!(failed["conclusion"], "success", "the run's own");
    assert_eq!(failed["job"]["name"], "deploy");
    assert_eq!(failed["job"]["conclusion"], "failure", "{failed}");
    let succeeded = target(&report, "bad_run")["run"].clone();
    assert_eq!(succeeded["job"]["conclusion"], "success", "{succeeded}");
    assert_eq!(
        report["summary"]["runs_failed"], 1,
        "only the failed job's target"
    );
    for request in github.requests_to("/repos/o/*/actions/runs/*/jobs") {
        openapi::assert_request_matches(JOBS_OP, &request);
    }
}

#[test]
fn a_run_without_the_job_fails_naming_the_closest_and_hostile_names_are_escaped() {
    let yaml = workflows(&[("cli", "    wait: {job: deploy}\n")], "");
    let github = FakeGitHub::start();
    starts_run(&github, "cli", 5);
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/5",
        run_state("completed", Some("success")),
    );
    github.on(
        "GET",
        "/repos/o/cli/actions/runs/5/jobs",
        jobs_page(&[
            ("build\u{1b}[2J::error::owned", "completed", Some("success")),
            ("Deploy\u{202e}", "completed", Some("success")),
        ]),
    );

    let ran = run(&github, &yaml, &["--output", "text"]);

    assert_eq!(ran.code, 1, "{}", ran.all());
    assert!(
        ran.stdout
            .contains("the run has no job `deploy`; did you mean `Deploy\\u{202e}`?"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains('\u{1b}') && !ran.stdout.contains('\u{202e}'));
    assert!(!ran.stdout.contains("::error::"), "{}", ran.stdout);
}

#[cfg(unix)]
fn runs(runs: Vec<Value>) -> Reply {
    Reply::status(200).json(json!({"total_count": runs.len(), "workflow_runs": runs}))
}

#[cfg(unix)]
fn listed(id: u64, title: &str, status: &str) -> Value {
    json!({
        "id": id, "name": "rebuild", "display_title": title, "event": "repository_dispatch",
        "status": status, "conclusion": null,
        "html_url": format!("https://github.com/o/r/actions/runs/{id}"),
    })
}

/// `hook` (a webhook) and `chart` (a repository_dispatch nobody tracks) never have a run
/// orchestrator knows; `build` (a workflow_dispatch) does.
const NOTHING_TO_CANCEL: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [build, chart, hook]}
targets:
  build: {kind: workflow_dispatch, repository: o/build, workflow: build.yml, ref: main, token_env: APP_TOKEN, cancel_on_stop: true}
  chart: {repository: o/chart, event_type: release, token_env: APP_TOKEN, cancel_on_stop: true}
  hook: {kind: webhook, url: "https://hooks.example.com/release", cancel_on_stop: true}
"#;

#[test]
fn cancel_on_stop_on_a_target_without_a_run_is_a_warning_where_it_is_written() {
    let ran = Cli::with_config(NOTHING_TO_CANCEL).arg("validate").output();
    assert_eq!(ran.code, 0, "a warning, not an error:\n{}", ran.all());
    let text = ran.all();
    assert!(
        text.contains("dispatch.yaml:6:75: warning[no_run_to_cancel] targets.chart.cancel_on_stop: `cancel_on_stop` has nothing to cancel here: a repository_dispatch without `track: true` is never matched to the run it starts"),
        "{text}"
    );
    assert!(
        text.contains("targets.hook.cancel_on_stop: `cancel_on_stop` has nothing to cancel here: a webhook starts no workflow run orchestrator can know"),
        "{text}"
    );
    assert!(!text.contains("targets.build.cancel_on_stop"), "{text}");
}

#[test]
fn the_dry_run_says_which_targets_cancel_on_stop_cannot_cancel() {
    let ran = Cli::with_config(NOTHING_TO_CANCEL)
        .release("app", "1.2.3")
        .arg("--dry-run")
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(
        ran.stdout
            .matches("  cancel_on_stop: nothing to cancel (")
            .count(),
        2,
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("  cancel_on_stop: nothing to cancel (a webhook starts no workflow run orchestrator can know)\n"),
        "{}",
        ran.stdout
    );
}
