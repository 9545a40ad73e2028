//! Delivery on tokio's paused clock against a recording fake `Sender` (`support::recorder`):
//! retry schedules, server waits, lane pauses, deadlines, attempt bounds, pacing windows and
//! cancellation, each asserted at exact virtual instants. Minutes of waiting take
//! milliseconds and no assertion depends on how loaded the machine is; `faults` keeps a few
//! end-to-end tests for the HTTP wiring.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may panic: that is its failure

use crate::support::recorder::{
    answer, delivered, is_delivered, jobs, permanent, reason, secondary_limit, unavailable,
    Answered, Quiet, Recorder,
};
use orchestrator::dispatch::{dispatch_all, Attempt, Delivery, Observer, Outcome, Status};
use orchestrator::github::classify::{Answer, Failure};
use orchestrator::plan::Job;
use orchestrator::policy::RateLimit;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

fn unpaced(concurrency: usize) -> Delivery {
    Delivery::new(concurrency, None)
}

async fn deliver(sender: &Recorder, jobs: &[Job], delivery: Delivery) -> Vec<Outcome> {
    dispatch_all(sender, jobs, delivery, &Quiet, &CancellationToken::new()).await
}

/// The gaps between successive sends to `target`.
fn gaps(sender: &Recorder, target: &str) -> Vec<Duration> {
    let sends = sender.sends_to(target);
    sends.windows(2).map(|w| w[1] - w[0]).collect()
}

// ---------------------------------------------------------------------------------------------
// Retry schedules

#[tokio::test(start_paused = true)]
async fn backoff_is_full_jitter_under_a_doubling_ceiling_capped_at_max_delay() {
    fastrand::seed(11);
    let mut sender = Recorder::new();
    for i in 0..100 {
        sender = sender.on(&format!("t{i:02}"), [unavailable(None)]);
    }
    let mut jobs = jobs(100);
    for job in &mut jobs {
        std::sync::Arc::make_mut(&mut job.retry).max_attempts = 5;
        std::sync::Arc::make_mut(&mut job.retry).max_delay = S(3);
    }

    let outcomes = deliver(&sender, &jobs, unpaced(100)).await;

    // Ceilings: 1 s, 2 s, then 4 s and 8 s capped at 3 s.
    let ceilings = [S(1), S(2), S(3), S(3)];
    let mut longest = [Duration::ZERO; 4];
    for outcome in &outcomes {
        assert_eq!(outcome.attempts, 5, "{outcome:?}");
        let gaps = gaps(&sender, &outcome.target);
        assert_eq!(gaps.len(), 4);
        for (i, gap) in gaps.iter().enumerate() {
            assert!(*gap <= ceilings[i], "retry {} waited {gap:?}", i + 1);
            longest[i] = longest[i].max(*gap);
        }
    }
    // Full jitter: over 100 targets some wait close to the ceiling (not a fixed fraction).
    for (i, ceiling) in ceilings.iter().enumerate() {
        assert!(
            longest[i] > ceiling.mul_f64(0.9),
            "retry {}: {longest:?}",
            i + 1
        );
    }
}

#[tokio::test(start_paused = true)]
async fn two_server_errors_then_success_is_delivered_on_the_third_attempt() {
    let sender = Recorder::new().on("t00", [unavailable(None), unavailable(None), delivered()]);

    let outcomes = deliver(&sender, &jobs(1), unpaced(1)).await;

    assert!(is_delivered(&outcomes[0]), "{outcomes:?}");
    assert_eq!(outcomes[0].attempts, 3);
    assert_eq!(sender.sends_to("t00").len(), 3);
    assert_eq!(outcomes[0].duration, sender.sends_to("t00")[2]);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_is_a_floor_under_the_backoff() {
    let sender = Recorder::new()
        .on("t00", [unavailable(Some("7")), delivered()])
        .on("t01", [unavailable(Some("0")), delivered()]);

    let outcomes = deliver(&sender, &jobs(2), unpaced(2)).await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    // 7 s is above the first backoff's 1 s ceiling, so it is the wait, exactly.
    assert_eq!(sender.sends_to("t00"), [S(0), S(7)]);
    // `Retry-After: 0` asks for nothing: the backoff alone decides.
    assert!(
        gaps(&sender, "t01")[0] <= S(1),
        "{:?}",
        sender.sends_to("t01")
    );
}

#[tokio::test(start_paused = true)]
async fn the_observer_hears_each_attempt_and_each_retry_with_its_delay() {
    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);
    impl Observer for Heard {
        fn sending(&self, job: &Job, attempt: u32) {
            let mut heard = self.0.lock().unwrap();
            heard.push(format!("sending {} {attempt}", job.target));
        }
        fn retrying(&self, job: &Job, failure: &Failure, delay: Duration) {
            let mut heard = self.0.lock().unwrap();
            let status = failure.http_status.unwrap_or_default();
            heard.push(format!("retrying {} {status} {delay:?}", job.target));
        }
        fn finished(&self, job: &Job, outcome: &Outcome) {
            let mut heard = self.0.lock().unwrap();
            heard.push(format!("finished {} {}", job.target, outcome.attempts));
        }
    }
    let sender = Recorder::new().on("t00", [unavailable(Some("4")), delivered()]);
    let heard = Heard::default();

    dispatch_all(
        &sender,
        &jobs(1),
        unpaced(1),
        &heard,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(
        *heard.0.lock().unwrap(),
        [
            "sending t00 1",
            "retrying t00 503 4s",
            "sending t00 2",
            "finished t00 2"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limits: a pause for the whole lane

/// t00's first answer (after 50 ms) is `limit`; every other answer takes 100 ms, two at a
/// time. Returns the outcomes and when each request went out.
async fn one_limited_among(
    n: usize,
    limit: Attempt,
    change: impl Fn(&mut Job),
) -> (Vec<Outcome>, Recorder) {
    let sender = Recorder::new().latency(MS(100)).on_slow(
        "t00",
        [
            Answered {
                attempt: limit,
                after: MS(50),
            },
            Answered {
                attempt: delivered(),
                after: MS(100),
            },
        ],
    );
    let mut jobs = jobs(n);
    jobs.iter_mut().for_each(change);
    let outcomes = deliver(&sender, &jobs, unpaced(2)).await;
    (outcomes, sender)
}

/// Every request but t00's first and t01's (both out at 0) starts at or after `resume`.
fn assert_lane_held_until(sender: &Recorder, resume: Duration) {
    let early: Vec<_> = sender
        .sent()
        .into_iter()
        .filter(|s| s.at < resume)
        .map(|s| format!("{} at {:?}", s.target, s.at))
        .collect();
    assert_eq!(early, ["t00 at 0ns", "t01 at 0ns"]);
}

#[tokio::test(start_paused = true)]
async fn a_secondary_limit_with_retry_after_pauses_every_target_on_the_lane() {
    let (outcomes, sender) = one_limited_among(30, secondary_limit(Some("2")), |_| {}).await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(outcomes[0].attempts, 2);
    // Limited at 50 ms, for 2 s: nothing new starts before 2.05 s, t00's retry exactly then.
    assert_eq!(sender.sends_to("t00"), [S(0), MS(2050)]);
    assert_lane_held_until(&sender, MS(2050));
    assert_eq!(sender.sends_to("t02"), [MS(2050)]);
    assert_eq!(sender.sent().len(), 31);
}

#[tokio::test(start_paused = true)]
async fn a_secondary_limit_without_a_wait_pauses_the_lane_for_the_secondary_wait() {
    let (outcomes, sender) = one_limited_among(4, secondary_limit(None), |job| {
        std::sync::Arc::make_mut(&mut job.retry).secondary_wait = S(5);
    })
    .await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    assert_eq!(sender.sends_to("t00"), [S(0), MS(5050)]);
    assert_lane_held_until(&sender, MS(5050));
}

#[tokio::test(start_paused = true)]
async fn a_spent_primary_limit_waits_until_its_reset_and_a_second_more() {
    let reset = answer(Answer {
        status: 403,
        ratelimit_remaining: Some("0"),
        ratelimit_reset: Some("1002"),
        now_epoch: 1000,
        body: r#"{"message":"API rate limit exceeded for user ID 1."}"#,
        ..Answer::default()
    });
    let (outcomes, sender) = one_limited_among(4, reset, |_| {}).await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    // The reset is 2 s away in whole seconds; one more covers the header's resolution.
    assert_eq!(sender.sends_to("t00"), [S(0), MS(3050)]);
    assert_lane_held_until(&sender, MS(3050));
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_sent_once_and_pauses_nothing() {
    let sender = Recorder::new().on("t00", [permanent(404)]);

    let outcomes = deliver(&sender, &jobs(3), unpaced(1)).await;

    assert_eq!(outcomes[0].attempts, 1);
    assert!(
        reason(&outcomes[0]).starts_with("404 Not Found"),
        "{outcomes:?}"
    );
    assert!(matches!(
        outcomes[0].status,
        Status::Failed {
            http_status: Some(404),
            hint: Some(_),
            ..
        }
    ));
    assert!(outcomes[1..].iter().all(is_delivered));
    assert_eq!(sender.elapsed(), Duration::ZERO);
}

// ---------------------------------------------------------------------------------------------
// Deadlines and attempt bounds

#[tokio::test(start_paused = true)]
async fn a_retry_after_past_the_deadline_fails_at_once_with_that_reason() {
    let too_many = answer(Answer {
        status: 429,
        retry_after: Some("30"),
        body: r#"{"message":"You have exceeded a secondary rate limit."}"#,
        ..Answer::default()
    });
    let sender = Recorder::new().on("t00", [too_many]);
    let mut jobs = jobs(1);
    std::sync::Arc::make_mut(&mut jobs[0].retry).deadline = S(2);

    let outcomes = deliver(&sender, &jobs, unpaced(1)).await;

    assert_eq!(outcomes[0].attempts, 1);
    assert!(
        reason(&outcomes[0])
            .contains("GitHub asked to wait 30 s, which would pass the 2 s deadline"),
        "{}",
        reason(&outcomes[0])
    );
    assert_eq!(sender.elapsed(), Duration::ZERO, "it waited");
}

#[tokio::test(start_paused = true)]
async fn a_secondary_limit_without_a_wait_past_the_deadline_fails_not_hangs() {
    let sender = Recorder::new().on("t00", [secondary_limit(None)]);
    let mut jobs = jobs(1);
    std::sync::Arc::make_mut(&mut jobs[0].retry).deadline = S(5);

    let outcomes = deliver(&sender, &jobs, unpaced(1)).await;

    let reason = reason(&outcomes[0]);
    assert!(reason.contains("secondary rate limit"), "{reason}");
    assert!(reason.contains("GitHub asked to wait 60 s"), "{reason}");
    assert_eq!(sender.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_until_the_next_retry_would_pass_the_deadline() {
    fastrand::seed(3);
    let sender = Recorder::new().on("t00", [unavailable(None)]);
    let mut jobs = jobs(1);
    std::sync::Arc::make_mut(&mut jobs[0].retry).max_attempts = 1000;
    std::sync::Arc::make_mut(&mut jobs[0].retry).deadline = S(20);

    let outcomes = deliver(&sender, &jobs, unpaced(1)).await;

    let sends = sender.sends_to("t00");
    assert_eq!(outcomes[0].attempts as usize, sends.len());
    assert!(sends.len() > 3, "{sends:?}");
    assert!(sends.last().unwrap() <= &S(20), "{sends:?}");
    assert!(
        reason(&outcomes[0]).contains("the next retry would pass the 20 s deadline"),
        "{}",
        reason(&outcomes[0])
    );
}

#[tokio::test(start_paused = true)]
async fn attempts_are_bounded_per_target() {
    let sender = Recorder::new()
        .on("t00", [unavailable(None)])
        .on("t01", [unavailable(None)]);
    let mut jobs = jobs(2);
    std::sync::Arc::make_mut(&mut jobs[0].retry).max_attempts = 3;
    std::sync::Arc::make_mut(&mut jobs[1].retry).max_attempts = 1;

    let outcomes = deliver(&sender, &jobs, unpaced(2)).await;

    assert_eq!(sender.sends_to("t00").len(), 3);
    assert_eq!(sender.sends_to("t01").len(), 1);
    assert_eq!(
        reason(&outcomes[0]),
        "503 Service Unavailable (gave up after 3 attempt(s))"
    );
    assert_eq!(
        reason(&outcomes[1]),
        "503 Service Unavailable (gave up after 1 attempt(s))"
    );
    assert_eq!(outcomes[0].attempts, 3);
}

// ---------------------------------------------------------------------------------------------
// Pacing

#[tokio::test(start_paused = true)]
async fn a_500_target_fan_out_starts_exactly_80_per_window() {
    let limit = RateLimit {
        requests: 80,
        window: S(60),
    };
    let sender = Recorder::new().latency(MS(10));
    let delivery = Delivery::new(50, Some(limit));

    let outcomes = deliver(&sender, &jobs(500), delivery).await;

    assert!(outcomes.iter().all(is_delivered));
    let starts: Vec<Duration> = sender.sent().iter().map(|s| s.at).collect();
    assert_eq!(starts.len(), 500);
    // The pacer's window is the limit's plus 2% slack (1.2 s): count starts in each.
    let paced_window = MS(61_200);
    let mut per_window: HashMap<u128, usize> = HashMap::new();
    for start in &starts {
        *per_window
            .entry(start.as_nanos() / paced_window.as_nanos())
            .or_default() += 1;
    }
    let mut counts: Vec<(u128, usize)> = per_window.into_iter().collect();
    counts.sort();
    assert_eq!(
        counts,
        [
            (0, 80),
            (1, 80),
            (2, 80),
            (3, 80),
            (4, 80),
            (5, 80),
            (6, 20)
        ]
    );
    // And in any sliding window of the server's 60 s, never more than 80.
    for (earlier, later) in starts.iter().zip(&starts[80..]) {
        assert!(
            *later - *earlier >= paced_window,
            "{earlier:?} .. {later:?}"
        );
    }
    assert_eq!(starts[499], paced_window * 6);
}

#[tokio::test(start_paused = true)]
async fn lanes_are_paced_separately_by_token() {
    let limit = RateLimit {
        requests: 2,
        window: S(10),
    };
    let sender = Recorder::new();
    let mut jobs = jobs(4);
    jobs[2].token = Some(orchestrator::secret::Secret::new("another-token"));
    jobs[3].token = Some(orchestrator::secret::Secret::new("another-token"));
    let delivery = Delivery::new(4, Some(limit));

    let outcomes = deliver(&sender, &jobs, delivery).await;

    assert!(outcomes.iter().all(is_delivered));
    assert_eq!(
        sender.elapsed(),
        Duration::ZERO,
        "two lanes, two starts each"
    );
}

// ---------------------------------------------------------------------------------------------
// Cancellation

/// Counts what the journal would record, and fires `cancel` at the `at`-th send.
struct CancelAtSend {
    cancel: CancellationToken,
    at: u32,
    sends: AtomicU32,
    finished: Mutex<Vec<String>>,
}

impl CancelAtSend {
    fn new(at: u32) -> CancelAtSend {
        CancelAtSend {
            cancel: CancellationToken::new(),
            at,
            sends: AtomicU32::new(0),
            finished: Mutex::new(Vec::new()),
        }
    }
}

impl Observer for CancelAtSend {
    fn sending(&self, _: &Job, _: u32) {
        if self.sends.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            self.cancel.cancel();
        }
    }
    fn finished(&self, job: &Job, _: &Outcome) {
        self.finished.lock().unwrap().push(job.target.clone());
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancel_stops_new_sends_lets_those_in_flight_finish_and_records_every_target_once() {
    let sender = Recorder::new().latency(MS(300));
    let observer = CancelAtSend::new(6);
    let jobs = jobs(30);

    let outcomes = dispatch_all(&sender, &jobs, unpaced(4), &observer, &observer.cancel).await;

    // Four went out at 0, four more at 300 ms; the sixth send cancelled the run, so the
    // seventh and eighth never started. Both in flight then finished, delivered.
    assert_eq!(sender.sent().len(), 6);
    let delivered: Vec<&str> = outcomes
        .iter()
        .filter(|o| is_delivered(o))
        .map(|o| o.target.as_str())
        .collect();
    assert_eq!(delivered, ["t00", "t01", "t02", "t03", "t04", "t05"]);
    for outcome in &outcomes[6..] {
        assert_eq!(
            reason(outcome),
            "the run was interrupted before this target was sent"
        );
        assert_eq!(outcome.attempts, 0);
    }
    assert_eq!(sender.elapsed(), MS(600), "in-flight requests finished");
    let mut finished = observer.finished.lock().unwrap().clone();
    finished.sort();
    let all: Vec<String> = jobs.iter().map(|j| j.target.clone()).collect();
    assert_eq!(finished, all, "one outcome per target");
}

#[tokio::test(start_paused = true)]
async fn a_cancel_before_the_run_sends_nothing() {
    let sender = Recorder::new();
    let cancel = CancellationToken::new();
    cancel.cancel();

    let outcomes = dispatch_all(&sender, &jobs(5), unpaced(2), &Quiet, &cancel).await;

    assert!(sender.sent().is_empty());
    assert_eq!(outcomes.len(), 5);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o.status, Status::NotSent { .. }) && o.attempts == 0));
}

#[tokio::test(start_paused = true)]
async fn a_cancel_while_the_lane_is_paused_ends_every_wait_and_sends_nothing_more() {
    let (outcomes, sender) = {
        let cancel = CancellationToken::new();
        let sender = Recorder::new().latency(MS(100)).on_slow(
            "t00",
            [Answered {
                attempt: secondary_limit(Some("60")),
                after: MS(50),
            }],
        );
        let jobs = jobs(5);
        let cancelling = async {
            tokio::time::sleep(S(10)).await;
            cancel.cancel();
        };
        let (outcomes, ()) = tokio::join!(
            dispatch_all(&sender, &jobs, unpaced(2), &Quiet, &cancel),
            cancelling
        );
        (outcomes, sender)
    };

    // t00 was limited at 50 ms and paused the lane for 60 s; t01 was delivered; t02 waited
    // for the lane. The cancel at 10 s ends both waits, and nothing else is sent.
    assert_eq!(sender.elapsed(), S(10));
    assert_eq!(sender.sent().len(), 2);
    assert!(
        reason(&outcomes[0]).contains("interrupted while waiting to retry, after 1 attempt(s)"),
        "{outcomes:?}"
    );
    assert!(is_delivered(&outcomes[1]));
    for outcome in &outcomes[2..] {
        assert_eq!(
            reason(outcome),
            "the run was interrupted before this target was sent"
        );
    }
}
