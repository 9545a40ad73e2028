//! Trust at the boundary, waits and interruption (issue 10, items 5, 6 and 9): no wait a server
//! names can panic or hold other targets past their deadline, and a signal is exit 130 with
//! nothing reported as failed or delivered by accident.
//!
//! The logic runs on tokio's paused clock against a recording fake `Sender`, so hours of
//! waiting take milliseconds; a few end-to-end tests run the real binary for the wiring.

use crate::support::cli::{
    config_dir, many_targets, orchestrator_std, Ran, Watched, WEBSITE_TOKEN,
};
use crate::support::recorder::{delivered, is_delivered, jobs, reason, Quiet, Recorder};
use crate::support::{FakeGitHub, Reply};
use orchestrator::dispatch::{dispatch_all, Attempt, Delivery, Observer, Status};
use orchestrator::github::classify::{Failure, Retry};
use orchestrator::plan::Job;
use orchestrator::policy::RateLimit;
#[cfg(unix)] // only the signal tests use it
use serde_json::json;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// Paused clock, recording sender

fn rate_limited(wait: Option<Duration>) -> Attempt {
    Attempt::Failed(Failure {
        http_status: Some(403),
        reason: "403 Forbidden: You have exceeded a secondary rate limit.".to_owned(),
        hint: None,
        retry: Retry::RateLimited { wait },
    })
}

fn unavailable() -> Attempt {
    Attempt::Failed(Failure {
        http_status: Some(503),
        reason: "503 Service Unavailable".to_owned(),
        hint: None,
        retry: Retry::Later {
            after: Some(Duration::from_secs(20)),
        },
    })
}

/// Cancels the run when the first retry is scheduled: a signal during a backoff.
struct SignalAtFirstRetry(CancellationToken);
impl Observer for SignalAtFirstRetry {
    fn retrying(&self, _: &Job, _: &Failure, _: Duration) {
        self.0.cancel();
    }
}

fn one_at_a_time(rate_limit: Option<RateLimit>) -> Delivery {
    Delivery::new(1, rate_limit)
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_of_u64_max_fails_that_target_at_once_and_the_others_are_delivered() {
    let huge = Some(Duration::from_secs(u64::MAX));
    let sender = Recorder::new().on("t00", [rate_limited(huge)]);
    let jobs = jobs(3);
    let cancel = CancellationToken::new();
    let delivery = one_at_a_time(Some(RateLimit::DEFAULT));

    let outcomes = dispatch_all(&sender, &jobs, delivery, &Quiet, &cancel).await;

    assert!(matches!(outcomes[0].status, Status::Failed { .. }));
    assert!(
        reason(&outcomes[0]).contains(
            "GitHub asked to wait 18446744073709551615 s, which would pass the 300 s deadline"
        ),
        "{}",
        reason(&outcomes[0])
    );
    assert!(outcomes[1..].iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(sender.elapsed(), Duration::ZERO, "nobody waited");
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_on_one_target_does_not_hold_the_others_on_its_token() {
    let sender = Recorder::new().on("t00", [rate_limited(Some(Duration::from_secs(100_000)))]);
    let jobs = jobs(3);
    let cancel = CancellationToken::new();

    let outcomes = dispatch_all(&sender, &jobs, one_at_a_time(None), &Quiet, &cancel).await;

    assert_eq!(outcomes[0].attempts, 1);
    assert!(
        reason(&outcomes[0])
            .contains("GitHub asked to wait 100000 s, which would pass the 300 s deadline"),
        "{}",
        reason(&outcomes[0])
    );
    assert!(outcomes[1..].iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(sender.sends_to("t01"), [Duration::ZERO]);
    assert_eq!(sender.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_target_gives_up_when_its_lane_is_paused_past_its_own_deadline() {
    // t00 accepts a 120 s pause (its deadline is the default 300 s); t01 allows only 60 s and
    // gives up at once instead of sleeping; t02 on another token is not held at all.
    let sender = Recorder::new().on(
        "t00",
        [rate_limited(Some(Duration::from_secs(120))), delivered()],
    );
    let mut jobs = jobs(3);
    std::sync::Arc::make_mut(&mut jobs[1].retry).deadline = Duration::from_secs(60);
    jobs[2].token = Some(orchestrator::secret::Secret::new("another-token"));
    let cancel = CancellationToken::new();
    let delivery = Delivery::new(3, None);

    let outcomes = dispatch_all(&sender, &jobs, delivery, &Quiet, &cancel).await;

    assert!(is_delivered(&outcomes[0]), "{:?}", outcomes[0]);
    assert_eq!(
        sender.sends_to("t00"),
        [Duration::ZERO, Duration::from_secs(120)]
    );
    assert_eq!(
        reason(&outcomes[1]),
        "not sent: GitHub's rate limit paused this host/token past the target's 60 s deadline"
    );
    assert_eq!(outcomes[1].attempts, 0);
    assert!(
        outcomes[1].duration.is_zero(),
        "never sleeps past a deadline"
    );
    assert!(sender.sends_to("t01").is_empty());
    assert!(is_delivered(&outcomes[2]));
    assert_eq!(sender.sends_to("t02"), [Duration::ZERO]);
}

#[tokio::test(start_paused = true)]
async fn a_target_waits_for_room_in_its_lane_since_its_deadline_runs_from_its_first_attempt() {
    // At 500/h the 501st target waits most of an hour for room: that is pacing, not a failure
    // of the target, whose 10 s deadline only starts with its first request.
    let limit = RateLimit {
        requests: 1,
        window: Duration::from_secs(60),
    };
    let mut jobs = jobs(2);
    std::sync::Arc::make_mut(&mut jobs[1].retry).deadline = Duration::from_secs(10);
    let sender = Recorder::new();
    let cancel = CancellationToken::new();

    let outcomes = dispatch_all(&sender, &jobs, one_at_a_time(Some(limit)), &Quiet, &cancel).await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(sender.sends_to("t01"), [Duration::from_millis(61_200)]);
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_a_retry_backoff_leaves_the_target_not_sent_rather_than_failed() {
    let sender = Recorder::new().on("t00", [unavailable()]);
    let jobs = jobs(1);
    let cancel = CancellationToken::new();
    let observer = SignalAtFirstRetry(cancel.clone());

    let outcomes = dispatch_all(&sender, &jobs, one_at_a_time(None), &observer, &cancel).await;

    assert!(
        matches!(outcomes[0].status, Status::NotSent { .. }),
        "{:?}",
        outcomes[0]
    );
    assert_eq!(outcomes[0].attempts, 1);
    assert!(reason(&outcomes[0]).contains("interrupted while waiting to retry, after 1 attempt(s)"));
    assert_eq!(
        sender.elapsed(),
        Duration::ZERO,
        "the backoff was cut short"
    );
}

// ---------------------------------------------------------------------------------------------
// The real binary

/// Runs `orchestrator run` for source `app` with a JSON report; kills it (and fails) if it takes
/// longer than `limit`.
fn run_within(limit: Duration, yaml: &str, github: &FakeGitHub, extra: &[&str]) -> Ran {
    let dir = config_dir(yaml);
    let child = spawn(dir.path(), github, extra);
    Watched::new(child).finish_within(limit)
}

fn spawn(dir: &std::path::Path, github: &FakeGitHub, extra: &[&str]) -> Child {
    orchestrator_std(dir)
        .args(["run", "--source", "app", "--version", "1.0.0"])
        .args(["--output", "json", "--api-url", &github.base_url()])
        .args(extra)
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn target(report: &Value, name: &str) -> Value {
    report["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

/// A hang guard, not a timing window: what these tests rule out is a wait of a day or more.
const SHORT: Duration = Duration::from_secs(20);

#[test]
fn retry_after_u64_max_and_a_reset_near_u64_max_fail_one_target_exit_1_and_deliver_the_rest() {
    for (name, reply) in [
        (
            "retry-after",
            Reply::secondary_rate_limit().header("retry-after", u64::MAX),
        ),
        ("reset", Reply::primary_rate_limited(u64::MAX)),
    ] {
        let github = FakeGitHub::start();
        github.on("POST", "/repos/o/t00/dispatches", reply);
        let output = run_within(SHORT, &many_targets(3), &github, &["--concurrency", "1"]);
        assert_eq!(output.code, 1, "{name}: no panic");
        let report = output.json();
        let t00 = target(&report, "t00");
        assert_eq!(t00["outcome"], "failed", "{name}");
        assert!(
            t00["reason"]
                .as_str()
                .unwrap()
                .contains("s, which would pass the 300 s deadline"),
            "{name}: {t00}"
        );
        assert_eq!(report["summary"]["delivered"], 2, "{name}");
        assert_eq!(github.requests_to("/repos/o/t01/dispatches").len(), 1);
        assert_eq!(github.requests_to("/repos/o/t02/dispatches").len(), 1);
    }
}

#[test]
fn retry_after_100000_on_one_target_fails_it_at_once_and_the_others_on_its_token_are_delivered() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        Reply::secondary_rate_limit().header("retry-after", 100_000),
    );
    let output = run_within(SHORT, &many_targets(3), &github, &["--concurrency", "1"]);
    assert_eq!(output.code, 1);
    let report = output.json();
    let t00 = target(&report, "t00");
    assert_eq!(t00["attempts"], 1);
    assert!(
        t00["reason"]
            .as_str()
            .unwrap()
            .contains("GitHub asked to wait 100000 s, which would pass the 300 s deadline"),
        "{t00}"
    );
    for name in ["t01", "t02"] {
        assert_eq!(target(&report, name)["outcome"], "delivered", "{report}");
    }
}

// A signal: Windows has none to send one process (see `Watched::signal`).
#[cfg(unix)]
#[test]
fn sigterm_during_a_retry_backoff_exits_130_with_that_target_not_sent() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        Reply::server_error(503).header("retry-after", 250),
    );
    let dir = config_dir(&many_targets(2));
    let child = Watched::new(spawn(dir.path(), &github, &["--concurrency", "2"]));
    github.wait_for_requests(2);
    child.wait_for_stderr("; retrying in ");
    child.signal("TERM");
    let output = child.finish();

    assert_eq!(output.code, 130, "{}", output.stderr);
    let report = output.json();
    let t00 = target(&report, "t00");
    assert_eq!(t00["outcome"], "not_sent", "{t00}");
    assert_eq!(t00["attempts"], 1);
    assert!(
        t00["reason"]
            .as_str()
            .unwrap()
            .contains("interrupted while waiting to retry"),
        "{t00}"
    );
    assert_eq!(target(&report, "t01")["outcome"], "delivered");
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["interrupted"], true);
    assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 1);
}

// A signal: Windows has none to send one process (see `Watched::signal`).
#[cfg(unix)]
#[test]
fn sigterm_during_wait_exits_130_and_the_run_is_reported_as_not_waited_for() {
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [cli]}
targets:
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    ref: main
    wait: true
    token_env: APP_TOKEN
"#;
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
        Reply::status(200).json(json!({"status": "in_progress", "conclusion": null})),
    );
    let dir = config_dir(yaml);
    let child = spawn(dir.path(), &github, &["--poll-interval-ms", "5000"]);
    let child = Watched::new(child);
    github.wait_for_requests_to("/repos/o/cli/actions/runs/9", 1);
    child.signal("TERM");
    let output = child.finish_within(SHORT);

    assert_eq!(output.code, 130);
    let report = output.json();
    let cli = target(&report, "cli");
    assert_eq!(cli["outcome"], "delivered");
    assert_eq!(cli["run"]["interrupted"], true, "{cli}");
    assert!(
        cli["run"]["note"]
            .as_str()
            .unwrap()
            .contains("not waited for"),
        "{cli}"
    );
    assert_eq!(
        report["summary"]["runs_failed"], 0,
        "not waited for is not failed"
    );
    assert_eq!(report["summary"]["interrupted"], true);
    assert!(output.stderr.contains("1 workflow run(s) not waited for"));
}

// A signal: Windows has none to send one process (see `Watched::signal`).
#[cfg(unix)]
#[test]
fn sigterm_with_only_requests_in_flight_that_then_finish_still_exits_130() {
    let github = FakeGitHub::start();
    // Both answers are held until the binary has taken the signal.
    github.hold_answers_after(0);
    let dir = config_dir(&many_targets(2));
    let child = Watched::new(spawn(dir.path(), &github, &["--concurrency", "2"]));
    let output = child.interrupt_in_flight(&github, 2, "TERM");

    assert_eq!(output.code, 130, "{}", output.stderr);
    let report = output.json();
    assert_eq!(report["summary"]["delivered"], 2, "{report}");
    assert_eq!(report["summary"]["not_sent"], 0);
    assert_eq!(report["summary"]["interrupted"], true);
}
