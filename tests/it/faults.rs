//! The fault matrix: GitHub having a bad minute, one row per test. Each asserts what the
//! server received and what the report says; waits are scaled down with flags so the suite
//! stays fast.

use crate::support::cli::{config_dir, many_targets, orchestrator, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Runs `orchestrator run` for source `app` of `many_targets(n)` with fast retries; returns
/// the exit code and the JSON report, after checking no output carries the token.
fn run(github: &FakeGitHub, n: usize, extra: &[&str]) -> (i32, Value) {
    let dir = config_dir(&many_targets(n));
    let output = orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "app",
            "--version",
            "1.0.0",
            "--output",
            "json",
        ])
        .args(["--api-url", &github.base_url(), "--backoff-ms", "50"])
        .args(extra)
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let all = [output.stdout.as_slice(), output.stderr.as_slice()].concat();
    assert!(
        !String::from_utf8_lossy(&all).contains(WEBSITE_TOKEN),
        "token leaked"
    );
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

fn target(report: &Value, name: &str) -> Value {
    report["targets"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["target"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

fn gap(github: &FakeGitHub, path: &str, from: usize, to: usize) -> Duration {
    let requests = github.requests_to(path);
    requests[to].received_at - requests[from].received_at
}

#[test]
fn two_server_errors_then_success_is_delivered_after_three_attempts() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [
            Reply::server_error(503),
            Reply::server_error(503),
            Reply::no_content(),
        ],
    );
    let (code, report) = run(&github, 1, &[]);
    assert_eq!(code, 0);
    assert_eq!(github.requests().len(), 3);
    let t = target(&report, "t00");
    assert_eq!(t["outcome"], "delivered");
    assert_eq!(t["attempts"], 3);
    assert!(t["duration_ms"].as_u64().is_some());
}

#[test]
fn too_many_requests_with_retry_after_waits_that_long_then_delivers() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::too_many(1), Reply::no_content()],
    );
    let (code, report) = run(&github, 1, &[]);
    assert_eq!(code, 0);
    assert_eq!(target(&report, "t00")["attempts"], 2);
    assert!(gap(&github, "/repos/o/t00/dispatches", 0, 1) >= Duration::from_secs(1));
}

#[test]
fn a_secondary_rate_limit_pauses_every_target_on_the_host_then_delivers() {
    let github = FakeGitHub::start();
    github.set_default_delay(Duration::from_millis(100));
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::secondary_rate_limit(), Reply::no_content()],
    );
    let (code, report) = run(
        &github,
        30,
        &["--concurrency", "2", "--secondary-wait", "2"],
    );
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["delivered"], 30);
    assert_eq!(target(&report, "t00")["attempts"], 2);

    let requests = github.requests();
    // t00 and t01 start together; t00's first request is the one that was limited. Its
    // answer leaves after the server's 100 ms. A request already on its way then may still
    // arrive; after that nothing new may start, from any target, until the 2 s pause is over.
    let limited = &github.requests_to("/repos/o/t00/dispatches")[0];
    let answered = limited.received_at + Duration::from_millis(100);
    let during_pause: Vec<_> = requests
        .iter()
        .filter(|r| r.received_at > answered + Duration::from_millis(500))
        .filter(|r| r.received_at < answered + Duration::from_millis(1800))
        .map(|r| r.path.clone())
        .collect();
    assert!(
        during_pause.is_empty(),
        "sent during the pause: {during_pause:?}"
    );
    assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 2);
}

#[test]
fn a_spent_primary_limit_waits_until_its_reset() {
    let github = FakeGitHub::start();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let reset = now + 2;
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::primary_rate_limited(reset), Reply::no_content()],
    );
    let (code, report) = run(&github, 1, &[]);
    assert_eq!(code, 0);
    assert_eq!(target(&report, "t00")["attempts"], 2);
    let retried = github.requests()[1].received_at;
    let first = github.requests()[0].received_at;
    // The reset is a whole second; the retry may not come before it.
    let retried_epoch = now as f64 + (retried - first).as_secs_f64();
    assert!(retried_epoch >= reset as f64, "retried before the reset");
}

#[test]
fn a_connection_reset_is_retried() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::reset(), Reply::no_content()],
    );
    let (code, report) = run(&github, 1, &[]);
    assert_eq!(code, 0);
    assert_eq!(target(&report, "t00")["outcome"], "delivered");
    assert_eq!(target(&report, "t00")["attempts"], 2);
}

#[test]
fn an_answer_slower_than_the_timeout_is_retried_and_reported_with_attempts() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::hang(Duration::from_secs(3)), Reply::no_content()],
    );
    let (code, report) = run(&github, 1, &["--timeout", "1"]);
    assert_eq!(code, 0);
    let t = target(&report, "t00");
    assert_eq!(t["attempts"], 2);
    assert!(t["duration_ms"].as_u64().unwrap() >= 1000);

    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        Reply::hang(Duration::from_secs(3)),
    );
    let (code, report) = run(&github, 1, &["--timeout", "1", "--max-attempts", "2"]);
    assert_eq!(code, 1);
    let t = target(&report, "t00");
    assert_eq!(t["attempts"], 2);
    assert_eq!(
        t["reason"],
        "no answer within 1 s (gave up after 2 attempt(s))"
    );
}

#[test]
fn permanent_failures_are_sent_exactly_once_with_their_hint() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t00/dispatches", Reply::bad_credentials());
    github.on("POST", "/repos/o/t01/dispatches", Reply::not_found());
    github.on(
        "POST",
        "/repos/o/t02/dispatches",
        Reply::validation_failed("No subschema matched."),
    );
    github.on(
        "POST",
        "/repos/o/t03/dispatches",
        Reply::forbidden_not_accessible(),
    );
    let (code, report) = run(&github, 4, &[]);
    assert_eq!(code, 1);
    for (name, status, hint) in [
        ("t00", 401, "bad credentials"),
        (
            "t01",
            404,
            "repository not found or the token cannot see it",
        ),
        ("t02", 422, "GitHub rejected the request body"),
        (
            "t03",
            403,
            "lacks a permission GitHub needs here: contents=write",
        ),
    ] {
        let path = format!("/repos/o/{name}/dispatches");
        assert_eq!(github.requests_to(&path).len(), 1, "{name}");
        let t = target(&report, name);
        assert_eq!(t["http_status"], status);
        assert_eq!(t["attempts"], 1);
        assert!(t["hint"].as_str().unwrap().contains(hint), "{t}");
    }
}

#[test]
fn a_deadline_shorter_than_retry_after_fails_with_that_reason_without_waiting() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t00/dispatches", Reply::too_many(30));
    let started = std::time::Instant::now();
    let (code, report) = run(&github, 1, &["--deadline", "2"]);
    assert!(started.elapsed() < Duration::from_secs(10), "it waited");
    assert_eq!(code, 1);
    assert_eq!(github.requests().len(), 1);
    let reason = target(&report, "t00")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("GitHub asked to wait 30 s, which would pass the 2 s deadline"),
        "{reason}"
    );
}

#[test]
fn a_secondary_limit_without_a_wait_past_the_deadline_fails_not_hangs() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        Reply::secondary_rate_limit(),
    );
    let (code, report) = run(&github, 1, &["--deadline", "5"]);
    assert_eq!(code, 1);
    let reason = target(&report, "t00")["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("secondary rate limit"), "{reason}");
    assert!(reason.contains("GitHub asked to wait 60 s"), "{reason}");
}

#[test]
fn a_500_target_fan_out_within_the_servers_rate_limit_is_never_limited() {
    // GitHub's ~80 content-creating requests a minute, scaled down to 80 a second.
    let github = FakeGitHub::start();
    github.limit_per_window(80, Duration::from_secs(1));
    let (code, report) = run(
        &github,
        500,
        &["--rate-limit", "80/1s", "--concurrency", "50"],
    );
    assert_eq!(code, 0, "{}", report["summary"]);
    assert_eq!(report["summary"]["delivered"], 500);
    assert_eq!(github.rate_limited_replies(), 0);
    assert_eq!(github.requests().len(), 500);
}

#[test]
fn attempts_and_deadline_can_be_set_per_target_in_the_file_and_by_environment() {
    let yaml = many_targets(2).replace(
        "  t01:\n    repository: o/t01\n",
        "  t01:\n    repository: o/t01\n    max_attempts: 1\n",
    );
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t00/dispatches", Reply::server_error(503));
    github.on("POST", "/repos/o/t01/dispatches", Reply::server_error(503));
    let dir = config_dir(&yaml);
    let output = crate::support::cli::orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "app",
            "--version",
            "1.0.0",
            "--output",
            "json",
        ])
        .args(["--api-url", &github.base_url()])
        .env("ORCHESTRATOR_MAX_ATTEMPTS", "3")
        .env("ORCHESTRATOR_BACKOFF_MS", "20")
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        target(&report, "t00")["attempts"],
        3,
        "from the environment"
    );
    assert_eq!(
        target(&report, "t01")["attempts"],
        1,
        "the target's own setting wins"
    );
    assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 3);
    assert_eq!(github.requests_to("/repos/o/t01/dispatches").len(), 1);
}
