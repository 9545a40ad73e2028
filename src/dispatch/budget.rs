//! One read budget per token while following runs: reads follow GitHub's
//! `x-ratelimit-remaining` / `x-ratelimit-reset`, going as fast as the poll interval allows
//! while a fifth or more of the hour's requests remain, and spreading what is left evenly
//! up to the reset below that. They slow down; they never stop (a wait gives up only at its
//! own timeout).

use crate::github::headers;
use crate::github::response::RateLimitHeaders;
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

/// One token's reads: when the last one started and what the last answer said.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_read: Option<Instant>,
    quota: Option<(Quota, Instant)>,
}

impl Budget {
    /// Waits until this token may read again, and books that moment as its latest read.
    pub(crate) async fn take(&self) {
        let at = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let spacing = state.quota.map_or(Duration::ZERO, |(quota, seen)| {
                Quota {
                    reset_in: quota
                        .reset_in
                        .saturating_sub(now.saturating_duration_since(seen)),
                    ..quota
                }
                .spacing()
            });
            let at = state
                .last_read
                .map_or(now, |last| (last + spacing).max(now));
            state.last_read = Some(at);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Records what an answer said about the token's limit.
    pub(crate) fn observe(&self, quota: Quota) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.quota = Some((quota, Instant::now()));
    }
}

/// Every token's budget for one run, and the number of reads made.
#[derive(Debug, Default)]
pub(crate) struct ReadBudgets {
    budgets: Mutex<HashMap<String, Arc<Budget>>>,
    reads: AtomicU64,
}

impl ReadBudgets {
    /// The budget of the token `key` names (never the token itself).
    pub(crate) fn of(&self, key: &str) -> Arc<Budget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(budgets.entry(key.to_owned()).or_default())
    }

    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Read requests sent so far.
    pub(crate) fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
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

    #[tokio::test(start_paused = true)]
    async fn tokens_have_budgets_of_their_own() {
        let budgets = ReadBudgets::default();
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
