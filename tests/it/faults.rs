//! GitHub having a bad minute, end to end: the real binary against the fake over TCP, one
//! test per piece of wiring (an HTTP answer read, classified and acted on). The schedules
//! themselves (backoff, waits, lane pauses, deadlines, pacing) are tested exactly, on a paused
//! clock, in `delivery`; here waits are at most a second and assertions never depend on how
//! loaded the machine is.

use crate::support::cli::{config_dir, many_targets, Cli, Ran, Watched};
use crate::support::{FakeGitHub, Reply};
use std::time::Duration;

/// `orchestrator run` for source `app` of `many_targets(n)`, JSON report, 50 ms backoff.
fn run(github: &FakeGitHub, n: usize, extra: &[&str]) -> Ran {
    run_config(github, &many_targets(n), extra)
}

fn run_config(github: &FakeGitHub, yaml: &str, extra: &[&str]) -> Ran {
    Cli::with_config(yaml)
        .release("app", "1.0.0")
        .json()
        .against(github)
        .args(["--backoff-ms", "50"])
        .args(extra)
        .app_token()
        .output()
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
    let ran = run(&github, 1, &[]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(github.requests().len(), 3);
    let t = ran.target("t00");
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
    let ran = run(&github, 1, &[]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.target("t00")["attempts"], 2);
    let requests = github.requests_to("/repos/o/t00/dispatches");
    assert!(requests[1].received_at - requests[0].received_at >= Duration::from_secs(1));
}

#[test]
fn a_secondary_rate_limit_pauses_every_target_on_the_host_then_delivers() {
    let github = FakeGitHub::start();
    // t00 is told to slow down at once; every other answer waits until the binary has said it
    // will retry t00, so the pause is in place before any other target could be sent.
    github.on("POST", "/repos/o/*/dispatches", Reply::no_content().held());
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::secondary_rate_limit(), Reply::no_content()],
    );
    let dir = config_dir(&many_targets(6));
    let child = Watched::new(
        Cli::in_dir(dir.path())
            .release("app", "1.0.0")
            .json()
            .against(&github)
            .args([
                "--backoff-ms",
                "50",
                "--concurrency",
                "2",
                "--secondary-wait",
                "300ms",
            ])
            .app_token()
            .spawn(),
    );
    child.wait_for_stderr("; retrying in ");
    github.release_answers();
    let ran = child.finish();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.json()["summary"]["delivered"], 6);
    assert_eq!(ran.target("t00")["attempts"], 2);

    // Without the pause the other four would follow t01's answer within milliseconds. With
    // it, only t00's first request and t01's (if it went out before t00's answer came back)
    // arrive before the pause ends.
    let first = github.requests()[0].received_at;
    let early = github
        .requests()
        .iter()
        .filter(|r| r.received_at < first + Duration::from_millis(300))
        .count();
    let seen: Vec<String> = github
        .requests()
        .iter()
        .map(|r| format!("{} at {:?}", r.path, r.received_at - first))
        .collect();
    assert!(early <= 2, "requests during the pause: {seen:#?}");
    assert_eq!(github.requests().len(), 7);
}

#[test]
fn a_connection_reset_is_retried() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [Reply::reset(), Reply::no_content()],
    );
    let ran = run(&github, 1, &[]);
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.target("t00")["outcome"], "delivered");
    assert_eq!(ran.target("t00")["attempts"], 2);
}

#[test]
fn an_answer_slower_than_the_timeout_is_retried_and_reported_with_attempts() {
    // t00 hangs once and is then answered; t01 (one attempt only) hangs and fails. Both
    // time out together, so the run takes about a second.
    let yaml = many_targets(2).replace(
        "  t01:\n    repository: o/t01\n",
        "  t01:\n    repository: o/t01\n    max_attempts: 1\n",
    );
    let github = FakeGitHub::start();
    // Far longer than the timeout (the fake's end cancels it), so however slow the machine,
    // the binary's timeout is what ends the attempt.
    let hang = Reply::hang(Duration::from_secs(600));
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [hang.clone(), Reply::no_content()],
    );
    github.on("POST", "/repos/o/t01/dispatches", hang);
    let ran = run_config(&github, &yaml, &["--timeout", "200ms"]);
    assert_eq!(ran.code, 1, "{}", ran.all());
    let t00 = ran.target("t00");
    assert_eq!(t00["outcome"], "delivered");
    assert_eq!(t00["attempts"], 2);
    assert!(t00["duration_ms"].as_u64().unwrap() >= 200);
    let t01 = ran.target("t01");
    assert_eq!(t01["attempts"], 1);
    assert_eq!(
        t01["reason"],
        "no answer within 0.2 s (gave up after 1 attempt(s))"
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
    let ran = run(&github, 4, &[]);
    assert_eq!(ran.code, 1);
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
        let t = ran.target(name);
        assert_eq!(t["http_status"], status);
        assert_eq!(t["attempts"], 1);
        assert!(t["hint"].as_str().unwrap().contains(hint), "{t}");
    }
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
    let ran = Cli::with_config(&yaml)
        .release("app", "1.0.0")
        .json()
        .against(&github)
        .env("ORCHESTRATOR_MAX_ATTEMPTS", "3")
        .env("ORCHESTRATOR_BACKOFF_MS", "20")
        .app_token()
        .output();
    assert_eq!(ran.code, 1);
    assert_eq!(ran.target("t00")["attempts"], 3, "from the environment");
    assert_eq!(
        ran.target("t01")["attempts"],
        1,
        "the target's own setting wins"
    );
    assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 3);
    assert_eq!(github.requests_to("/repos/o/t01/dispatches").len(), 1);
}
