//! Fleet scale (issue 16): fan-outs past GitHub's hourly limit paced by every window at once,
//! sharded token variables, the pacing estimate in the plan, and `--max-duration` handing over
//! to `--resume`. Delivery runs on tokio's paused clock (hours take milliseconds); the CLI tests
//! are arranged so that nothing depends on how fast the machine is.

use crate::support::cli::{config_dir, many_targets, Cli, WEBSITE_TOKEN};
use crate::support::recorder::{is_delivered, reason, Quiet, Recorder};
use crate::support::FakeGitHub;
use orchestrator::config::{self, model::Settings};
use orchestrator::dispatch::{dispatch_all, Delivery, Outcome, Status};
use orchestrator::plan::{plan, Job, PacingEstimate, PlanMode};
use orchestrator::policy::RateLimits;
use orchestrator::release::{CiContext, Release, Version};
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const S: fn(u64) -> Duration = Duration::from_secs;
const MS: fn(u64) -> Duration = Duration::from_millis;
const SHARDS: &str = "token_env: [TOKEN_A, TOKEN_B, TOKEN_C]";

/// `many_targets(n)` with every target sharding over three token variables.
fn sharded_targets(n: usize) -> String {
    many_targets(n).replace("token_env: APP_TOKEN", SHARDS)
}

fn planned(yaml: &str) -> Vec<Job> {
    let none = figment::providers::Serialized::defaults(Settings::default());
    let checked = config::check(yaml.as_bytes(), none, &Settings::default());
    let config = checked.config.expect("valid config");
    let release = Release {
        source: "app".to_owned(),
        version: Version::parse("1.0.0").unwrap(),
        vars: Default::default(),
        ci: CiContext::sample(),
        changes: None,
    };
    let token = |name: &str| Some(format!("ghp_value_of_{name}_0000000000000000000000"));
    plan(&config, &release, &token, PlanMode::Send)
        .expect("a plan")
        .jobs
}

async fn send(jobs: &[Job], delivery: Delivery) -> (Recorder, Vec<Outcome>) {
    let sender = Recorder::new().latency(MS(10));
    let outcomes = dispatch_all(&sender, jobs, delivery, &Quiet, &CancellationToken::new()).await;
    (sender, outcomes)
}

/// The most starts in any `window` (a start exactly `window` after another is outside it).
fn most_in_any(starts: &[Duration], window: Duration) -> usize {
    let mut most = 0;
    for (i, first) in starts.iter().enumerate() {
        let within = starts[i..]
            .iter()
            .take_while(|t| **t - *first < window)
            .count();
        most = most.max(within);
    }
    most
}

#[tokio::test(start_paused = true)]
async fn a_1000_target_fan_out_on_one_token_keeps_both_of_githubs_windows_and_is_never_refused() {
    let jobs = crate::support::recorder::jobs(1000);
    let limits = RateLimits::github();

    let (sender, outcomes) = send(&jobs, Delivery::new(100, limits.clone())).await;

    assert!(
        outcomes.iter().all(is_delivered),
        "no target failed or waited past a deadline"
    );
    let starts: Vec<Duration> = sender.sent().iter().map(|s| s.at).collect();
    assert_eq!(
        starts.len(),
        1000,
        "one request each: nothing was refused and retried"
    );
    assert!(most_in_any(&starts, S(60)) <= 80);
    assert!(most_in_any(&starts, S(3600)) <= 500);
    // A burst of 80, 80 a minute up to 500, then the hour: exactly the plan's estimate.
    assert_eq!(starts[79], Duration::ZERO);
    assert_eq!(starts[500], S(3672));
    assert_eq!(*starts.last().unwrap(), limits.expected_duration(1000));
    assert_eq!(
        PacingEstimate::of(&jobs, &limits).describe(),
        "1000 requests on 1 identity: about 1 h 7 min at 80/min, 500/h per identity"
    );
}

#[tokio::test(start_paused = true)]
async fn the_tightest_window_wins_whichever_it_is() {
    // 10 a second is the tighter window for a burst; 20 a minute takes over after it.
    let limits = RateLimits::parse("10/s,20/min").unwrap();
    let jobs = crate::support::recorder::jobs(45);

    let (sender, _) = send(&jobs, Delivery::new(45, limits.clone())).await;

    let starts: Vec<Duration> = sender.sent().iter().map(|s| s.at).collect();
    assert_eq!(starts[9], Duration::ZERO);
    assert_eq!(starts[10], MS(1250), "the second window");
    assert_eq!(starts[20], MS(61_200), "the minute");
    assert_eq!(*starts.last().unwrap(), limits.expected_duration(45));
}

#[tokio::test(start_paused = true)]
async fn a_target_s_duration_is_its_request_s_own_time_and_its_queueing_is_apart() {
    // Two a second: the third target waits a second for its turn, then takes 10 ms.
    let limits = RateLimits::parse("2/s").unwrap();
    let jobs = crate::support::recorder::jobs(3);
    let (_, outcomes) = send(&jobs, Delivery::new(3, limits)).await;
    let last = &outcomes[2];
    assert_eq!(last.duration, MS(10));
    assert!(last.queued >= MS(900), "{:?}", last.queued);
    assert_eq!(outcomes[0].queued, Duration::ZERO);
}

#[test]
fn sharded_targets_take_the_listed_tokens_in_turn_the_same_way_every_time() {
    let jobs = planned(&sharded_targets(7));
    let assigned: Vec<&str> = jobs
        .iter()
        .map(|j| j.token_env.as_deref().unwrap())
        .collect();
    assert_eq!(
        assigned,
        ["TOKEN_A", "TOKEN_B", "TOKEN_C", "TOKEN_A", "TOKEN_B", "TOKEN_C", "TOKEN_A"]
    );
    // A resume plans the same file again: the same assignment, whatever was delivered.
    let again = planned(&sharded_targets(7));
    let again: Vec<&str> = again
        .iter()
        .map(|j| j.token_env.as_deref().unwrap())
        .collect();
    assert_eq!(assigned, again);
}

#[tokio::test(start_paused = true)]
async fn three_tokens_divide_the_fan_out_into_three_budgets() {
    let limits = RateLimits::github();
    let one = crate::support::recorder::jobs(1500);
    let three = planned(&sharded_targets(1500));

    let (sender, outcomes) = send(&three, Delivery::new(100, limits.clone())).await;

    assert!(outcomes.iter().all(is_delivered));
    let token_of: HashMap<&str, &str> = three
        .iter()
        .map(|j| (j.target.as_str(), j.token_env.as_deref().unwrap()))
        .collect();
    let mut per_token: HashMap<&str, Vec<Duration>> = HashMap::new();
    for sent in sender.sent() {
        per_token
            .entry(token_of[sent.target.as_str()])
            .or_default()
            .push(sent.at);
    }
    assert_eq!(per_token.len(), 3);
    for starts in per_token.values() {
        assert_eq!(starts.len(), 500);
        assert!(most_in_any(starts, S(60)) <= 80);
    }
    let took = sender.sent().iter().map(|s| s.at).max().unwrap();
    assert_eq!(
        took,
        limits.expected_duration(500),
        "each token sends its own 500"
    );
    assert_eq!(
        PacingEstimate::of(&three, &limits).expected_duration(),
        took
    );
    // One token would need two more hours for the same fan-out.
    assert_eq!(
        PacingEstimate::of(&one, &limits).expected_duration(),
        S(2 * 3672) + MS(6 * 61_200)
    );
    assert_eq!(
        PacingEstimate::of(&three, &limits).describe(),
        "1500 requests on 3 identities: about 6 min 7 s at 80/min, 500/h per identity"
    );
}

#[tokio::test(start_paused = true)]
async fn max_duration_stops_starting_requests_and_leaves_the_rest_not_sent_at_once() {
    let jobs = crate::support::recorder::jobs(700);
    let mut delivery = Delivery::new(10, RateLimits::github());
    delivery.max_duration = Some(S(30 * 60));

    let (sender, outcomes) = send(&jobs, delivery).await;

    let delivered = outcomes.iter().filter(|o| is_delivered(o)).count();
    assert_eq!(delivered, 500, "the hour's budget, within the 30 minutes");
    let rest: Vec<&Outcome> = outcomes.iter().filter(|o| !is_delivered(o)).collect();
    assert!(rest
        .iter()
        .all(|o| matches!(o.status, Status::NotSent { .. })));
    assert_eq!(
        reason(rest[0]),
        "the run reached --max-duration before this target was sent"
    );
    assert!(
        sender.elapsed() < S(7 * 60),
        "the rest did not sleep until the limit: {:?}",
        sender.elapsed()
    );
}

#[test]
fn the_dry_run_shows_how_long_the_limits_make_the_fan_out_take() {
    let dir = config_dir(&sharded_targets(1000));
    let text = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .args(["--dry-run", "--rate-limit", "80/min,500/h"])
        .output();
    assert_eq!(text.code, 0, "{}", text.all());
    assert!(
        text.stdout.contains(
            "Pacing: 1000 requests on 3 identities: about 4 min 4 s at 80/min, 500/h per identity."
        ),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("$TOKEN_B not set"), "{}", text.stdout);

    let json = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .args(["--dry-run"])
        .json()
        .output()
        .json();
    assert_eq!(json["pacing"]["identities"], 3);
    assert_eq!(json["pacing"]["rate_limit"], "80/min, 500/h");
    assert_eq!(
        json["pacing"]["expected_duration_ms"],
        61_200 * 4,
        "334 on the busiest"
    );
}

#[test]
fn max_duration_hands_over_through_the_journal_and_resume_sends_each_target_once() {
    let github = FakeGitHub::start();
    let dir = config_dir(&sharded_targets(12));
    let journal = dir.path().join("journal.jsonl");
    let journal_arg = journal.to_str().unwrap();
    let tokens = [
        ("TOKEN_A", "ghp_tokenAvalue000000000000000000000000001"),
        ("TOKEN_B", "ghp_tokenBvalue000000000000000000000000002"),
        ("TOKEN_C", WEBSITE_TOKEN),
    ];
    let run = |extra: &[&str]| {
        let mut cli = Cli::in_dir(dir.path())
            .release("app", "1.0.0")
            .json()
            .against(&github)
            .args(extra);
        for (name, value) in tokens {
            cli = cli.secret(name, value);
        }
        cli.output()
    };

    // Two an hour per token: six go out at once, the others could only start after the
    // 30-minute limit, so they are not sent, at once.
    let first = run(&[
        "--rate-limit",
        "2/h",
        "--max-duration",
        "30m",
        "--journal",
        journal_arg,
    ]);

    assert_eq!(first.code, 130, "{}", first.all());
    let report = first.json();
    assert_eq!(report["summary"]["delivered"], 6);
    assert_eq!(report["summary"]["not_sent"], 6);
    assert!(first
        .stderr
        .contains("stopped at --max-duration: 6 target(s) were not sent"));
    assert!(first
        .stderr
        .contains(&format!("send the rest with `--resume {journal_arg}`")));
    assert_eq!(first.target("t00")["token_env"], "TOKEN_A");
    assert_eq!(first.target("t01")["token_env"], "TOKEN_B");
    assert_eq!(first.target("t02")["token_env"], "TOKEN_C");

    let second = run(&["--rate-limit", "unlimited", "--resume", journal_arg]);

    assert_eq!(second.code, 0, "{}", second.all());
    assert_eq!(second.json()["summary"]["delivered"], 6);
    assert_eq!(github.requests().len(), 12, "each target exactly once");
    let mut paths: Vec<String> = github.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 12);
    // Each request carried the token its target was assigned, on both runs.
    for r in github.requests() {
        let n: usize = r.path.split("/t").nth(1).unwrap()[..2].parse().unwrap();
        let auth = r
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(auth, format!("Bearer {}", tokens[n % 3].1), "{}", r.path);
    }
}
