//! Headers read by their RFCs, end to end (issue 21, item 10): a `Retry-After` that is an
//! HTTP-date, or a number past u64, is the wait the server asked for, never an unreadable
//! header that sends the request again at the ordinary backoff. The parsing itself is tested
//! as tables in `src/github/headers.rs`; here, that the real binary acts on it.

use crate::support::cli::{config_dir, many_targets, Cli};
#[cfg(unix)] // only the signal test uses them
use crate::support::cli::{Ran, Watched};
use crate::support::{http_date, FakeGitHub, Reply};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `orchestrator run` for source `app`, JSON report, 50 ms backoff (so any wait longer than
/// that is the server's).
fn app_run(dir: &std::path::Path, github: &FakeGitHub) -> Cli {
    Cli::in_dir(dir)
        .release("app", "1.0.0")
        .json()
        .against(github)
        .args(["--backoff-ms", "50", "--concurrency", "1"])
        .app_token()
}

fn epoch_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The delay the binary said it would wait before its first retry (`retrying in 7.0 s`).
#[cfg(unix)] // only the signal test uses it
fn first_retry_delay(ran: &Ran) -> f64 {
    let (_, after) = ran
        .stderr
        .split_once("; retrying in ")
        .unwrap_or_else(|| panic!("no retry: {}", ran.stderr));
    after.split(' ').next().unwrap().parse().unwrap()
}

// Ends the wait with SIGTERM: Windows has no signal to send one process (see `Watched::signal`).
#[cfg(unix)]
#[test]
fn a_retry_after_date_seven_seconds_ahead_is_a_wait_of_seven_seconds() {
    for (name, reply) in [
        ("503", Reply::server_error(503)),
        ("429", Reply::status(429)),
        ("secondary limit", Reply::secondary_rate_limit()),
    ] {
        let github = FakeGitHub::start();
        let asked_at = SystemTime::now();
        let at = UNIX_EPOCH + Duration::from_secs(epoch_secs(asked_at) + 7);
        github.on(
            "POST",
            "/repos/o/t00/dispatches",
            [
                reply.header("retry-after", http_date(at)),
                Reply::no_content(),
            ],
        );
        let dir = config_dir(&many_targets(1));
        let child = Watched::new(app_run(dir.path(), &github).spawn());
        child.wait_for_stderr("; retrying in ");
        let seen_at = SystemTime::now();
        // The wait itself is not sat through: it is the binary's to keep, and a signal ends it.
        child.signal("TERM");
        let ran = child.finish();

        // The binary read the date somewhere between the two clocks: 7 s from the first,
        // less however many whole seconds the machine took to get it there.
        let delay = first_retry_delay(&ran);
        let least = (epoch_secs(at) - epoch_secs(seen_at).min(epoch_secs(at))) as f64;
        assert!(
            (least..=7.0).contains(&delay),
            "{name}: waits {delay} s, not {least}–7 s: {}",
            ran.stderr
        );
        assert_eq!(ran.code, 130, "{name}: {}", ran.all());
        assert_eq!(ran.target("t00")["outcome"], "not_sent", "{name}");
        assert_eq!(
            github.requests().len(),
            1,
            "{name}: not sent again before the date"
        );
    }
}

#[test]
fn a_retry_after_past_u64_is_the_longest_wait_and_the_deadline_decides() {
    for (name, reply) in [
        ("503", Reply::server_error(503)),
        ("429", Reply::status(429)),
        ("secondary limit", Reply::secondary_rate_limit()),
    ] {
        let github = FakeGitHub::start();
        github.on(
            "POST",
            "/repos/o/t00/dispatches",
            [
                reply.header("retry-after", "99999999999999999999999"),
                Reply::no_content(),
            ],
        );
        let dir = config_dir(&many_targets(2));
        let ran = app_run(dir.path(), &github).output();

        assert_eq!(ran.code, 1, "{name}: {}", ran.all());
        let t00 = ran.target("t00");
        assert_eq!(t00["outcome"], "failed", "{name}: {t00}");
        assert_eq!(t00["attempts"], 1, "{name}: not retried at the backoff");
        assert!(
            t00["reason"].as_str().unwrap().contains(
                "GitHub asked to wait 18446744073709551615 s, which would pass the 300 s deadline"
            ),
            "{name}: {t00}"
        );
        assert_eq!(ran.target("t01")["outcome"], "delivered", "{name}");
        assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 1);
    }
}

#[test]
fn a_retry_after_date_past_the_deadline_gives_up_at_once_naming_the_wait() {
    let github = FakeGitHub::start();
    let at = UNIX_EPOCH + Duration::from_secs(epoch_secs(SystemTime::now()) + 3600);
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        [
            Reply::server_error(503).header("retry-after", http_date(at)),
            Reply::no_content(),
        ],
    );
    let dir = config_dir(&many_targets(1));
    let ran = app_run(dir.path(), &github).output();

    assert_eq!(ran.code, 1, "{}", ran.all());
    let reason = ran.target("t00")["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("GitHub asked to wait 3") && reason.contains("the 300 s deadline"),
        "{reason}"
    );
    assert_eq!(github.requests().len(), 1);
}
