//! The read budget at scale, on tokio's paused clock: 200 tracked repositories on one token,
//! each polled as the wait polls (5 s, growing by half up to 30 s), for two hours, against a
//! server that sends no `x-ratelimit-*` headers and against one that does.

use super::{Quota, ReadBudgets};
use crate::policy::RateLimit;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const REPOSITORIES: usize = 200;
const HOUR: Duration = Duration::from_secs(3600);

/// What a server with GitHub's 5,000 an hour would say after each read: what is left of the
/// hour it is in, and when that hour ends.
struct HourlyQuota {
    start: Instant,
    reads: Mutex<Vec<u64>>,
}

impl HourlyQuota {
    fn answer(&self) -> Quota {
        let elapsed = self.start.elapsed();
        let hour = usize::try_from(elapsed.as_secs() / 3600).unwrap();
        let mut reads = self.reads.lock().unwrap();
        if reads.len() <= hour {
            reads.resize(hour + 1, 0);
        }
        reads[hour] += 1;
        let end = HOUR * u32::try_from(hour + 1).unwrap();
        Quota {
            limit: Some(5000),
            remaining: 5000u64.saturating_sub(reads[hour]),
            reset_in: end.saturating_sub(elapsed),
        }
    }
}

/// Every read's moment, from the start, when `REPOSITORIES` repositories on one token are
/// followed for `length` with the wait's poll intervals.
async fn follow(
    budgets: Arc<ReadBudgets>,
    server: Option<Arc<HourlyQuota>>,
    length: Duration,
) -> Vec<Duration> {
    let start = Instant::now();
    let reads = Arc::new(Mutex::new(Vec::new()));
    let polls: Vec<_> = (0..REPOSITORIES)
        .map(|_| {
            let (budgets, server, reads) = (budgets.clone(), server.clone(), reads.clone());
            tokio::spawn(async move {
                let budget = budgets.of("https://api.github.com\nTOKEN");
                let mut pause = Duration::from_secs(5);
                loop {
                    budget.take().await;
                    if start.elapsed() >= length {
                        return;
                    }
                    reads.lock().unwrap().push(start.elapsed());
                    if let Some(server) = &server {
                        budget.observe(server.answer());
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause + pause / 2).min(Duration::from_secs(30));
                }
            })
        })
        .collect();
    for poll in polls {
        poll.await.unwrap();
    }
    let mut reads = std::mem::take(&mut *reads.lock().unwrap());
    reads.sort();
    reads
}

/// The most reads in any window of `window` (each window starting at a read).
fn busiest(reads: &[Duration], window: Duration) -> usize {
    let mut end = 0;
    (0..reads.len())
        .map(|start| {
            while end < reads.len() && reads[end] < reads[start] + window {
                end += 1;
            }
            end - start
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn waiting_on_200_repositories_without_rate_headers_stays_within_4000_reads_an_hour() {
    let budgets = Arc::new(ReadBudgets::new(Some(RateLimit::READ_BUDGET)));
    let reads = follow(budgets, None, 2 * HOUR).await;
    // For BENCHMARKS.md (`cargo test --lib at_scale -- --nocapture`).
    println!(
        "200 repositories, one token, no rate headers, 2 h: {} reads; busiest hour {}, busiest minute {}",
        reads.len(),
        busiest(&reads, HOUR),
        busiest(&reads, Duration::from_secs(60))
    );
    // Unpaced, 200 repositories polled every 30 s would read 24,000 times an hour.
    assert!(busiest(&reads, HOUR) <= 4000, "{}", busiest(&reads, HOUR));
    // And the budget is used, not starved: the steady pace fills the hour.
    assert!(busiest(&reads, HOUR) >= 3990, "{}", busiest(&reads, HOUR));
    // A sixtieth goes at once, so a small wait is as quick as its polls.
    assert_eq!(reads.iter().filter(|r| r.is_zero()).count(), 66);
}

#[tokio::test(start_paused = true)]
async fn a_configured_budget_paces_every_window_of_its_length() {
    let budgets = Arc::new(ReadBudgets::new(RateLimit::parse("1000/h").unwrap()));
    let reads = follow(budgets, None, 3 * HOUR).await;
    assert!(busiest(&reads, HOUR) <= 1000, "{}", busiest(&reads, HOUR));
    assert!(
        busiest(&reads, HOUR / 2) <= 520,
        "{}",
        busiest(&reads, HOUR / 2)
    );
}

#[tokio::test(start_paused = true)]
async fn when_github_sends_rate_headers_they_pace_the_reads_instead() {
    let budgets = Arc::new(ReadBudgets::new(Some(RateLimit::READ_BUDGET)));
    let server = Arc::new(HourlyQuota {
        start: Instant::now(),
        reads: Mutex::new(Vec::new()),
    });
    let reads = follow(budgets, Some(server.clone()), 2 * HOUR).await;
    let hours = server.reads.lock().unwrap().clone();
    println!(
        "200 repositories, one token, GitHub's headers (5,000/h), reads per server hour: {hours:?}"
    );
    // The headers allow 5,000 an hour: more than the default budget's 4,000 are read, and
    // past the server's limit only the one read that finds nothing left (after it, a read a
    // minute at most keeps a long wait alive until the reset).
    assert!(hours.iter().all(|&n| n > 4000 && n <= 5001), "{hours:?}");
    // Plenty left at the start: every repository's first read goes at once.
    assert_eq!(reads.iter().filter(|r| r.is_zero()).count(), REPOSITORIES);
}
