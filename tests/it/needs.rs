//! Release-day order (issue 24, items 2 and 3): a target that `needs` others is sent after
//! them (after their runs succeeded, when those are waited on) and is `blocked` when one does
//! not succeed; `validate` spells out a cycle where it is; a `required: false` target fails
//! softly; `--resume` continues the graph without sending again what was delivered.

#[cfg(unix)] // the resume-after-a-signal test
use crate::support::cli::Watched;
use crate::support::cli::{config_dir, Cli, WEBSITE_TOKEN};
use crate::support::snapshot::snapshot;
use crate::support::{FakeGitHub, Reply};
use serde_json::{json, Value};

/// cli and image go first; website (after cli) and chart (after image) second; e2e (after
/// both) third; notes needs nothing.
const THREE_WAVES: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [cli, image, website, chart, e2e, notes]}
targets:
  cli: {repository: o/cli, event_type: release, token_env: APP_TOKEN}
  image: {repository: o/image, event_type: release, token_env: APP_TOKEN}
  website: {repository: o/website, event_type: release, token_env: APP_TOKEN, needs: [cli]}
  chart: {repository: o/chart, event_type: release, token_env: APP_TOKEN, needs: [image]}
  e2e: {repository: o/e2e, event_type: release, token_env: APP_TOKEN, needs: [website, chart]}
  notes: {repository: o/notes, event_type: release, token_env: APP_TOKEN}
"#;

fn outcome(report: &Value, target: &str) -> Value {
    report["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == target))
        .cloned()
        .unwrap_or_else(|| panic!("no {target} in {report}"))
}

fn sent_to(github: &FakeGitHub, repo: &str) -> usize {
    github
        .requests_to(&format!("/repos/o/{repo}/dispatches"))
        .len()
}

#[test]
fn a_failed_middle_wave_blocks_the_third_and_the_markdown_shows_the_graph() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/*/dispatches", Reply::no_content());
    github.on(
        "POST",
        "/repos/o/website/dispatches",
        Reply::validation_failed("the website is frozen"),
    );
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let ran = Cli::with_config(THREE_WAVES)
        .release("app", "1.2.3")
        .args(["--output", "markdown", "--report"])
        .arg(&report)
        .against(&github)
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .output();

    assert_eq!(ran.code, 1, "a required target is blocked: {}", ran.all());
    assert_eq!(sent_to(&github, "e2e"), 0, "a blocked target is not sent");
    for delivered in ["cli", "image", "chart", "notes"] {
        assert_eq!(sent_to(&github, delivered), 1, "{delivered} was sent once");
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let e2e = outcome(&report, "e2e");
    assert_eq!(e2e["outcome"], "blocked");
    assert_eq!(e2e["reason"], "needs `website`, which failed");
    assert_eq!(e2e["wave"], 3);
    assert_eq!(report["summary"]["blocked"], 1);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["delivered"], 4);
    snapshot!("needs_three_waves_markdown", ran.stdout);
}

#[test]
fn a_dry_run_shows_the_waves() {
    let ran = Cli::with_config(THREE_WAVES)
        .release("app", "1.2.3")
        .args(["--dry-run", "--output", "table"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    snapshot!("needs_dry_run_table", ran.stdout);
}

/// build's workflow run is waited on; deploy needs build.
const WAITED: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [build, deploy]}
targets:
  build:
    kind: workflow_dispatch
    repository: o/build
    workflow: build.yml
    ref: main
    wait: true
    token_env: APP_TOKEN
  deploy: {repository: o/deploy, event_type: release, token_env: APP_TOKEN, needs: [build]}
"#;

const BUILD_DISPATCH: &str = "/repos/o/build/actions/workflows/build.yml/dispatches";
const BUILD_RUN: &str = "/repos/o/build/actions/runs/9";

fn build_run(status: &str, conclusion: Option<&str>) -> Reply {
    Reply::status(200).json(json!({
        "id": 9,
        "name": "build",
        "event": "workflow_dispatch",
        "status": status,
        "conclusion": conclusion,
        "html_url": "https://github.com/o/build/actions/runs/9",
    }))
}

fn waited_github(conclusion: &str) -> FakeGitHub {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        BUILD_DISPATCH,
        Reply::status(200).json(json!({
            "workflow_run_id": 9,
            "html_url": "https://github.com/o/build/actions/runs/9",
        })),
    );
    github.on(
        "GET",
        BUILD_RUN,
        [
            build_run("queued", None),
            build_run("in_progress", None),
            build_run("completed", Some(conclusion)),
        ],
    );
    github.on("POST", "/repos/o/deploy/dispatches", Reply::no_content());
    github
}

fn run_waited(github: &FakeGitHub) -> crate::support::cli::Ran {
    Cli::with_config(WAITED)
        .release("app", "1.2.3")
        .json()
        .args(["--poll-interval-ms", "20"])
        .against(github)
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .output()
}

#[test]
fn a_target_is_sent_only_after_the_run_it_needs_succeeded() {
    let github = waited_github("success");
    let ran = run_waited(&github);
    assert_eq!(ran.code, 0, "{}", ran.all());

    let reads = github.requests_to(BUILD_RUN);
    assert_eq!(reads.len(), 3, "the run was followed once, to its success");
    let deploy = github.requests_to("/repos/o/deploy/dispatches");
    assert_eq!(deploy.len(), 1);
    assert!(
        deploy[0].received_at > reads[2].received_at,
        "deploy was sent before build's run succeeded"
    );
    let report = ran.json();
    let build = outcome(&report, "build");
    assert_eq!(build["run"]["conclusion"], "success", "{build}");
    assert_eq!(outcome(&report, "deploy")["outcome"], "delivered");
    assert_eq!(
        ran.stderr.matches("waiting for `build` (0 s)").count(),
        1,
        "the log says once what deploy waits for, not on every read of the run:\n{}",
        ran.stderr
    );
}

#[test]
fn a_target_is_blocked_when_the_run_it_needs_fails() {
    let github = waited_github("failure");
    let ran = run_waited(&github);
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(sent_to(&github, "deploy"), 0, "deploy is not sent");
    let report = ran.json();
    assert_eq!(
        outcome(&report, "deploy")["reason"],
        "needs `build`, which was delivered, but its workflow run concluded `failure`"
    );
    assert_eq!(outcome(&report, "build")["run"]["conclusion"], "failure");
    assert_eq!(github.requests_to(BUILD_RUN).len(), 3, "followed once");
}

#[test]
fn validate_spells_out_a_cycle_where_it_is() {
    let ran = Cli::with_config(
        r#"version: 1
sources:
  app: {repository: o/app, targets: [cli, website, e2e]}
targets:
  cli:
    repository: o/cli
    event_type: release
    token_env: APP_TOKEN
    needs: [e2e]
  website:
    repository: o/website
    event_type: release
    token_env: APP_TOKEN
    needs: [cli, clii]
  e2e:
    repository: o/e2e
    event_type: release
    token_env: APP_TOKEN
    needs: [website]
"#,
    )
    .arg("validate")
    .output();
    assert_eq!(ran.code, 1);
    snapshot!("needs_cycle_validate", ran.all());
}

const OPTIONAL: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [website, blog, mirror]}
targets:
  website: {repository: o/website, event_type: release, token_env: APP_TOKEN}
  blog: {repository: o/blog, event_type: release, token_env: APP_TOKEN, required: false}
  mirror: {repository: o/mirror, event_type: release, token_env: MIRROR_TOKEN, required: false}
"#;

#[test]
fn an_optional_target_that_fails_does_not_fail_the_run() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/website/dispatches", Reply::no_content());
    github.on("POST", "/repos/o/blog/dispatches", Reply::not_found());
    let runner = tempfile::tempdir().unwrap();
    let outputs = runner.path().join("output.txt");
    let ran = Cli::with_config(OPTIONAL)
        .release("app", "1.2.3")
        .against(&github)
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", runner.path())
        .output();

    assert_eq!(ran.code, 0, "{}", ran.all());
    // mirror's token is unset: skipped with a warning, rather than refusing the whole run.
    assert!(
        ran.stderr.contains(
            "warning: target `mirror` is skipped: environment variable `MIRROR_TOKEN` is not set"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stdout.contains(
            "3 targets: 1 delivered, 0 failed, 0 skipped, 2 optional failed (not failing the run)"
        ),
        "{}",
        ran.stdout
    );
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("optional_failed=2\n"), "{outputs}");
    assert!(outputs.contains("failed=0\n"), "{outputs}");
}

#[cfg(unix)]
#[test]
fn resume_after_an_interrupt_continues_the_graph_without_sending_again() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        BUILD_DISPATCH,
        Reply::status(200).json(json!({"workflow_run_id": 9})),
    );
    // The run never concludes: the first run is interrupted while deploy waits for it.
    github.on("GET", BUILD_RUN, build_run("in_progress", None));
    github.on("POST", "/repos/o/deploy/dispatches", Reply::no_content());
    let dir = config_dir(WAITED);
    let journal = dir.path().join("journal.jsonl");
    let run = |extra: &[&str]| {
        Cli::in_dir(dir.path())
            .release("app", "1.2.3")
            .json()
            .args(["--poll-interval-ms", "20"])
            .against(&github)
            .args(extra)
            .env("APP_TOKEN", WEBSITE_TOKEN)
    };
    let child = Watched::new(run(&["--journal", journal.to_str().unwrap()]).spawn());
    github.wait_for_requests_to(BUILD_RUN, 1);
    child.signal("TERM");
    let first = child.finish();
    assert_eq!(first.code, 130, "{}", first.stderr);
    assert_eq!(outcome(&first.json(), "deploy")["outcome"], "not_sent");
    assert_eq!(sent_to(&github, "deploy"), 0);

    let resumed = run(&["--resume", journal.to_str().unwrap()]).output();
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert_eq!(
        github.requests_to(BUILD_DISPATCH).len(),
        1,
        "build, delivered, is not sent again"
    );
    assert_eq!(sent_to(&github, "deploy"), 1, "deploy goes on resume");
    let deploy = outcome(&resumed.json(), "deploy");
    assert_eq!(
        deploy["note"],
        "needs `build`: delivered by the earlier run (its run is not followed again)"
    );
}

/// On tokio's paused clock: t00 answers after 10 s, the others at once; t01 needs t00 and t03
/// needs t02. t03 goes as soon as t02 is delivered, not once the whole first wave is.
#[tokio::test(start_paused = true)]
async fn a_target_goes_when_its_own_needs_are_done_not_when_its_wave_is() {
    use crate::support::recorder::{delivered, jobs, Answered, Recorder};
    use orchestrator::dispatch::{dispatch_all, Delivery, Observer};
    use std::time::Duration;

    struct Quiet;
    impl Observer for Quiet {}
    let sender = Recorder::new().on_slow(
        "t00",
        [Answered {
            attempt: delivered(),
            after: Duration::from_secs(10),
        }],
    );
    let mut jobs = jobs(4);
    jobs[1].needs = vec!["t00".into()];
    jobs[3].needs = vec!["t02".into()];
    let cancel = tokio_util::sync::CancellationToken::new();
    let outcomes = dispatch_all(&sender, &jobs, Delivery::new(4, None), &Quiet, &cancel).await;

    assert!(outcomes.iter().all(|o| o.attempts == 1), "{outcomes:?}");
    assert_eq!(
        sender.sends_to("t03"),
        vec![Duration::ZERO],
        "t03 did not wait for t00"
    );
    assert_eq!(
        sender.sends_to("t01"),
        vec![Duration::from_secs(10)],
        "t01 waited for t00"
    );
}

/// On tokio's paused clock: t00 answers after 150 s; t01 needs it. t01 says what it waits for
/// when it starts waiting and once a minute after, not on every wake-up.
#[tokio::test(start_paused = true)]
async fn a_target_waiting_for_its_need_says_so_once_a_minute() {
    use crate::support::recorder::{delivered, jobs, Answered, Recorder};
    use orchestrator::dispatch::{dispatch_all, Delivery, Observer, Outcome};
    use orchestrator::plan::Job;
    use std::sync::Mutex;
    use std::time::Duration;

    #[derive(Default)]
    struct Heard(Mutex<Vec<(String, String, Duration)>>);
    impl Observer for Heard {
        fn waiting(&self, job: &Job, what: &str, waited: Duration) {
            let heard = (job.target.clone(), what.to_owned(), waited);
            self.0.lock().unwrap().push(heard);
        }
        fn finished(&self, _job: &Job, _outcome: &Outcome) {}
    }
    let sender = Recorder::new().on_slow(
        "t00",
        [Answered {
            attempt: delivered(),
            after: Duration::from_secs(150),
        }],
    );
    let mut jobs = jobs(2);
    jobs[1].needs = vec!["t00".into()];
    let heard = Heard::default();
    let cancel = tokio_util::sync::CancellationToken::new();
    dispatch_all(&sender, &jobs, Delivery::new(2, None), &heard, &cancel).await;

    let heard = heard.0.lock().unwrap();
    let said: Vec<(&str, &str, u64)> = heard
        .iter()
        .map(|(target, what, waited)| (target.as_str(), what.as_str(), waited.as_secs()))
        .collect();
    assert_eq!(
        said,
        [
            ("t01", "`t00`", 0),
            ("t01", "`t00`", 60),
            ("t01", "`t00`", 120)
        ]
    );
}

const SKIPPED_NEED: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [cli, website, e2e, docs]}
targets:
  cli: {repository: o/cli, event_type: release, token_env: APP_TOKEN, when: {version: ">=2.0.0"}}
  website: {repository: o/website, event_type: release, token_env: APP_TOKEN, needs: [cli]}
  e2e: {repository: o/e2e, event_type: release, token_env: APP_TOKEN, needs: [website]}
  docs: {repository: o/docs, event_type: release, token_env: APP_TOKEN, needs: [cli]}
"#;

#[test]
fn a_need_its_when_skips_blocks_its_dependents_down_the_graph() {
    let ran = Cli::with_config(SKIPPED_NEED)
        .release("app", "1.2.3")
        .args(["--dry-run"])
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let report = ran.json();
    assert_eq!(
        outcome(&report, "website")["reason"],
        "needs `cli`, which was skipped"
    );
    assert_eq!(
        outcome(&report, "e2e")["reason"],
        "needs `website`, which was blocked"
    );
    assert_eq!(report["summary"]["blocked"], 3);
}

#[test]
fn a_need_that_target_leaves_out_counts_as_done_with_a_note() {
    let ran = Cli::with_config(THREE_WAVES)
        .release("app", "1.2.3")
        .args(["--dry-run", "--target", "website"])
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let website = outcome(&ran.json(), "website");
    assert_eq!(website["outcome"], "planned");
    assert_eq!(
        website["note"],
        "needs `cli`, which this run does not send (--target): not waited for"
    );
}

/// The journal of a run whose `cli` its `when` skips: website, e2e and docs are blocked before
/// anything is sent, and the journal says so as it says any outcome. A resume of the same
/// release decides their needs anew: blocked again, nothing sent. Once `cli`'s `when` lets
/// 1.2.3 through, a resume sends cli and then what needs it.
#[test]
fn targets_blocked_before_sending_are_journaled_and_a_resume_decides_them_anew() {
    let github = FakeGitHub::start();
    for repo in ["cli", "website", "e2e", "docs"] {
        github.on(
            "POST",
            &format!("/repos/o/{repo}/dispatches"),
            Reply::no_content(),
        );
    }
    let dir = config_dir(SKIPPED_NEED);
    let journal = dir.path().join("journal.jsonl");
    let journal_arg = journal.to_str().unwrap().to_owned();
    let run = |extra: &[&str]| {
        Cli::in_dir(dir.path())
            .release("app", "1.2.3")
            .json()
            .against(&github)
            .args(extra)
            .env("APP_TOKEN", WEBSITE_TOKEN)
            .output()
    };
    let first = run(&["--journal", &journal_arg]);
    assert_eq!(
        first.code,
        1,
        "blocked required targets fail the run: {}",
        first.all()
    );
    let written = std::fs::read_to_string(&journal).unwrap();
    let blocked: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"] == "outcome" && r["outcome"] == "blocked")
        .collect();
    let names: Vec<&str> = blocked
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["website", "e2e", "docs"],
        "in plan order: {written}"
    );
    assert_eq!(blocked[0]["reason"], "needs `cli`, which was skipped");

    let again = run(&["--resume", &journal_arg]);
    assert_eq!(again.code, 1, "{}", again.all());
    assert_eq!(
        outcome(&again.json(), "e2e")["reason"],
        "needs `website`, which was blocked"
    );
    assert_eq!(github.requests().len(), 0, "nothing was ever sent");

    let released = SKIPPED_NEED.replace(", when: {version: \">=2.0.0\"}", "");
    std::fs::write(dir.path().join("dispatch.yaml"), released).unwrap();
    let resumed = run(&["--resume", &journal_arg]);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    for repo in ["cli", "website", "e2e", "docs"] {
        assert_eq!(sent_to(&github, repo), 1, "{repo}");
    }
}
