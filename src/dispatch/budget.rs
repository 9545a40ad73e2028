//! One read budget per identity (a token, or an App installation, per API host) while
//! following runs and in `check`.
//!
//! Until GitHub says what is left, reads keep to the configured budget (`read_budget`,
//! [`crate::policy::RateLimit::READ_BUDGET`] = 4,000 an hour by default): up to a sixtieth of it at
//! once (66 reads of 4,000: a small wait goes as fast as its polls), then one read every
//! `window / (requests − burst)`, so no window of that length ever holds more than
//! `requests` reads, however long the wait. A server that sends no `x-ratelimit-*` headers is
//! paced all the same.
//!
//! Once an answer carries `x-ratelimit-remaining` / `x-ratelimit-reset`, the headers win:
//! reads go as fast as the poll interval allows while a fifth or more of the hour's requests
//! remain, and what is left is spread evenly up to the reset below that. They slow down; they
//! never stop (a wait gives up only at its own timeout).
//!
//! The budget is this process's: two processes on one token (two fan-outs in the same hour)
//! each assume the whole of it. The README's sharding recipe keeps one fan-out at a time per
//! identity pool with a `concurrency` group.

use crate::github::headers;
use crate::github::response::{Answered, RateLimitHeaders};
use crate::plan::Job;
use crate::policy::RateLimit;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Below this share of the limit (1/5, 20 %), reads are spread out until the reset.
const LOW_SHARE_DIVISOR: u64 = 5;
/// The longest pause between two reads on one token, whatever the server says: a read a
/// minute keeps a long wait alive even with nothing left until a far-off reset.
pub(crate) const LONGEST_SPACING: Duration = Duration::from_secs(60);

/// What GitHub last said about a token's primary rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    /// `x-ratelimit-limit`: requests per hour (5,000 for a PAT, 1,000 for `GITHUB_TOKEN`).
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining`.
    pub remaining: u64,
    /// Until `x-ratelimit-reset`, as of the answer.
    pub reset_in: Duration,
}

impl Quota {
    /// From the headers' text, every number saturating ([`headers::count`]); `None` when
    /// neither `x-ratelimit-remaining` nor `x-ratelimit-limit` with `x-ratelimit-used` says
    /// what is left.
    pub(crate) fn from_headers(sent: RateLimitHeaders<'_>, now_epoch: u64) -> Option<Quota> {
        let number = |text: Option<&str>| text.and_then(headers::count);
        let limit = number(sent.limit);
        let remaining =
            number(sent.remaining).or_else(|| Some(limit?.saturating_sub(number(sent.used)?)))?;
        let reset_in = number(sent.reset).map_or(Duration::ZERO, |reset| {
            Duration::from_secs(reset.saturating_sub(now_epoch))
        });
        Some(Quota {
            limit,
            remaining,
            reset_in,
        })
    }

    /// The least time between two reads on this token: none while 20 % or more of the limit
    /// remains; below that, the time to the reset shared evenly by the reads left (so the last
    /// one lands at the reset), at most [`LONGEST_SPACING`].
    pub(crate) fn spacing(&self) -> Duration {
        let low = match self.limit {
            Some(limit) => self.remaining.saturating_mul(LOW_SHARE_DIVISOR) < limit,
            None => self.remaining == 0,
        };
        if !low {
            return Duration::ZERO;
        }
        let shares = u32::try_from(self.remaining.saturating_add(1)).unwrap_or(u32::MAX);
        (self.reset_in / shares).min(LONGEST_SPACING)
    }
}

/// The configured budget as a schedule: `burst` reads at once, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pace {
    interval: Duration,
    /// How far ahead of its even share a read may go: `(burst − 1) × interval`.
    ahead: Duration,
}

impl Pace {
    /// At most `limit.requests` reads in any `limit.window`: a sixtieth of them (at least one)
    /// at once, the rest evenly spaced over the window.
    pub(crate) fn of(limit: RateLimit) -> Pace {
        let requests = limit.requests.max(1);
        let burst = (requests / 60).clamp(1, requests.saturating_sub(1).max(1));
        let interval = limit.window / requests.saturating_sub(burst).max(1);
        Pace {
            interval,
            ahead: interval.saturating_mul(burst - 1),
        }
    }

    /// How long `reads` reads take at the steady pace (past the burst): the time between
    /// two reads of one repository when `reads` repositories share the identity.
    pub(crate) fn round(&self, reads: usize) -> Duration {
        self.interval
            .saturating_mul(u32::try_from(reads).unwrap_or(u32::MAX))
    }
}

/// One identity's reads: when the last one started, what the last answer said, and the
/// configured pace that holds until an answer says something.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    state: Mutex<State>,
    pace: Option<Pace>,
}

#[derive(Debug, Default)]
struct State {
    last_read: Option<Instant>,
    quota: Option<(Quota, Instant)>,
    /// When the next read would be due at the configured pace (its theoretical arrival time).
    due: Option<Instant>,
}

impl Budget {
    /// A budget kept to `pace` until GitHub's headers say more (`None`: headers only).
    pub(crate) fn paced(pace: Option<Pace>) -> Budget {
        Budget {
            state: Mutex::default(),
            pace,
        }
    }

    /// Waits until this identity may read again, and books that moment as its latest read.
    pub(crate) async fn take(&self) {
        let at = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let at = match state.quota {
                Some((quota, seen)) => {
                    let spacing = Quota {
                        reset_in: quota
                            .reset_in
                            .saturating_sub(now.saturating_duration_since(seen)),
                        ..quota
                    }
                    .spacing();
                    state
                        .last_read
                        .map_or(now, |last| (last + spacing).max(now))
                }
                None => self.paced_read(&mut state, now),
            };
            state.last_read = Some(at);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// When the next read may start at the configured pace (a generic cell rate: each read
    /// books one interval; a read may run `ahead` of its booking), and books it.
    fn paced_read(&self, state: &mut State, now: Instant) -> Instant {
        let Some(pace) = self.pace else {
            return now;
        };
        let due = state.due.map_or(now, |due| due.max(now));
        let at = due
            .checked_sub(pace.ahead)
            .map_or(now, |early| early.max(now));
        state.due = due.checked_add(pace.interval);
        at
    }

    /// The configured pace, for the wait's estimate.
    pub(crate) fn pace(&self) -> Option<Pace> {
        self.pace
    }

    /// Records what an answer's `x-ratelimit-*` headers said, if anything.
    pub(crate) fn observe_answer(&self, answered: &Answered) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some(quota) = Quota::from_headers(answered.rate_limit(), now) {
            self.observe(quota);
        }
    }

    /// Records what an answer said about the token's limit.
    pub(crate) fn observe(&self, quota: Quota) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.quota = Some((quota, Instant::now()));
    }
}

/// Every identity's budget for one run, and the number of reads made.
#[derive(Debug)]
pub(crate) struct ReadBudgets {
    budgets: Mutex<HashMap<String, Arc<Budget>>>,
    reads: AtomicU64,
    pace: Option<Pace>,
}

impl ReadBudgets {
    /// Each identity's reads kept to `limit` until GitHub's headers say more (`None`:
    /// `unlimited`, only the headers pace).
    pub(crate) fn new(limit: Option<RateLimit>) -> ReadBudgets {
        ReadBudgets {
            budgets: Mutex::default(),
            reads: AtomicU64::new(0),
            pace: limit.map(Pace::of),
        }
    }

    /// The budget of the identity `key` names (never the token itself; see [`identity`]).
    pub(crate) fn of(&self, key: &str) -> Arc<Budget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            budgets
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(Budget::paced(self.pace))),
        )
    }

    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Read requests sent so far.
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// The identity whose budget `job`'s reads count against: its lane (API host, or App
/// installation) and token variable, never the token's value.
pub(crate) fn identity(job: &Job) -> String {
    format!("{}\n{}", job.lane, job.token_env.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u64, remaining: u64, reset_secs: u64) -> Quota {
        Quota {
            limit: Some(limit),
            remaining,
            reset_in: Duration::from_secs(reset_secs),
        }
    }

    #[test]
    fn reads_are_spread_only_below_a_fifth_of_the_limit() {
        assert_eq!(quota(5000, 1000, 3600).spacing(), Duration::ZERO);
        assert_eq!(
            quota(5000, 999, 3600).spacing(),
            Duration::from_millis(3600)
        );
        assert_eq!(quota(1000, 99, 1000).spacing(), Duration::from_secs(10));
        // Nothing left: the next read waits for the reset, but never more than a minute.
        assert_eq!(quota(5000, 0, 30).spacing(), Duration::from_secs(30));
        assert_eq!(quota(5000, 0, 3000).spacing(), LONGEST_SPACING);
    }

    fn sent<'a>(
        limit: Option<&'a str>,
        remaining: Option<&'a str>,
        reset: Option<&'a str>,
        used: Option<&'a str>,
    ) -> RateLimitHeaders<'a> {
        RateLimitHeaders {
            limit,
            remaining,
            reset,
            used,
        }
    }

    #[test]
    fn headers_are_read_leniently_and_a_past_reset_is_now() {
        let q = Quota::from_headers(sent(Some("5000"), Some(" 42 "), Some("1000"), None), 400);
        assert_eq!(q, Some(quota(5000, 42, 600)));
        let past = Quota::from_headers(sent(None, Some("0"), Some("10"), None), 400).unwrap();
        assert_eq!(past.reset_in, Duration::ZERO);
        assert_eq!(
            Quota::from_headers(sent(Some("5000"), Some("many"), None, None), 0),
            None
        );
    }

    #[test]
    fn numbers_of_any_size_saturate_and_nonsense_says_nothing() {
        let huge = "99999999999999999999999";
        let max = u64::MAX;
        let cases: &[(RateLimitHeaders<'_>, u64, Option<Quota>)] = &[
            // past u64: the most there can be, the longest reset there can be
            (
                sent(Some(huge), Some(huge), Some(huge), None),
                0,
                Some(quota(max, max, max)),
            ),
            (
                sent(Some("5000"), Some("0"), Some("18446744073709551615"), None),
                max,
                Some(quota(5000, 0, 0)),
            ),
            // what is left, from the limit and what was used, when `remaining` is missing
            (
                sent(Some("5000"), None, Some("460"), Some("4990")),
                400,
                Some(quota(5000, 10, 60)),
            ),
            (
                sent(Some("5000"), Some("-1"), None, Some(huge)),
                0,
                Some(quota(5000, 0, 0)),
            ),
            // negative, fractional or missing: unknown, never a panic or a wrap-around
            (
                sent(Some("-1"), Some("-1"), Some("-1"), Some("-1")),
                0,
                None,
            ),
            (sent(None, None, Some("100"), Some("5")), 0, None),
            (sent(Some("5000"), Some("1.5"), None, Some("x")), 0, None),
        ];
        for (headers, now, expected) in cases {
            assert_eq!(
                Quota::from_headers(*headers, *now),
                *expected,
                "{headers:?}"
            );
        }
        // u64::MAX of everything still spaces reads within the longest pause
        assert_eq!(quota(max, 0, max).spacing(), LONGEST_SPACING);
        assert_eq!(quota(max, max, max).spacing(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_with_plenty_left_reads_without_pause() {
        let budget = Budget::default();
        budget.observe(quota(5000, 4000, 3600));
        let start = Instant::now();
        for _ in 0..5 {
            budget.take().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_below_a_fifth_slows_down_and_keeps_reading() {
        let budget = Budget::default();
        let start = Instant::now();
        budget.take().await;
        // 99 of 1,000 left, reset in 1,000 s: one read every 10 s from now on.
        budget.observe(quota(1000, 99, 1000));
        budget.take().await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        budget.observe(quota(1000, 98, 990));
        budget.take().await;
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        // Exhausted: the next read waits for the reset (30 s away), then goes ahead.
        budget.observe(quota(1000, 0, 30));
        budget.take().await;
        assert_eq!(start.elapsed(), Duration::from_secs(50));
    }

    #[test]
    fn the_default_budget_lets_a_sixtieth_go_at_once_and_spaces_the_rest_over_the_hour() {
        let pace = Pace::of(RateLimit::READ_BUDGET);
        // 66 at once, then 3,934 in the hour: one every 915 ms.
        assert_eq!(pace.interval, Duration::from_secs(3600) / 3934);
        assert_eq!(pace.ahead, pace.interval * 65);
        assert_eq!(pace.round(200), pace.interval * 200);
        // The smallest budgets still read, one at a time.
        let one = Pace::of(RateLimit::parse("1/h").unwrap().unwrap());
        assert_eq!(
            (one.interval, one.ahead),
            (Duration::from_secs(3600), Duration::ZERO)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn once_github_says_what_is_left_its_headers_pace_instead_of_the_budget() {
        let budget = Budget::paced(Some(Pace::of(RateLimit::parse("2/h").unwrap().unwrap())));
        let start = Instant::now();
        budget.take().await;
        // The budget alone would hold the next read an hour; plenty left says go now.
        budget.observe(quota(5000, 4000, 3600));
        budget.take().await;
        budget.take().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_have_budgets_of_their_own() {
        let budgets = ReadBudgets::new(None);
        budgets.of("a").observe(quota(1000, 0, 60));
        budgets.of("a").take().await;
        let start = Instant::now();
        budgets.of("b").take().await;
        budgets.of("b").take().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        budgets.of("a").take().await;
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }
}

#[cfg(test)]
mod at_scale;
