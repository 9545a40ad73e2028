//! When to try a failed request again: exponential backoff with full jitter, never sooner
//! than GitHub asked, bounded by attempts and a total deadline. Pure, so it is tested as a
//! table; the sleeping happens in `dispatch`.
//!
//! Written here rather than taken from a backoff crate because the delay is the larger of our
//! backoff and the server's own instruction (`Retry-After`, a rate-limit reset, the minute
//! GitHub asks for after a secondary limit), and giving up depends on that instruction too.
//!
//! A server's wait is any number it likes (`Retry-After: 18446744073709551615`), so every sum
//! here saturates: a wait too long to represent is simply one that passes the deadline.
#![deny(clippy::arithmetic_side_effects)]

use crate::github::classify::{Failure, Retry};
use crate::policy::RetryPolicy;
use std::time::Duration;

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Next {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop; the reason is added to the failure (`None` for permanent failures, which speak
    /// for themselves).
    GiveUp(Option<String>),
}

/// `attempt` is the number of the attempt that just failed (1 for the first), `elapsed` the
/// time since the first attempt started, `jitter` a random number in [0, 1).
pub(crate) fn next(
    policy: &RetryPolicy,
    failure: &Failure,
    attempt: u32,
    elapsed: Duration,
    jitter: f64,
) -> Next {
    let required = match failure.retry {
        Retry::Never => return Next::GiveUp(None),
        Retry::Later { after } => after,
        Retry::RateLimited { wait } => Some(wait.unwrap_or(policy.secondary_wait)),
    };
    if attempt >= policy.max_attempts {
        return Next::GiveUp(Some(format!("gave up after {attempt} attempt(s)")));
    }
    let exponent = attempt.saturating_sub(1).min(16);
    let ceiling = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(policy.max_delay);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Not `mul_f64`, which panics where the product rounds past `Duration::MAX`.
    let backoff = Duration::try_from_secs_f64(ceiling.as_secs_f64() * jitter)
        .unwrap_or(ceiling)
        .min(ceiling);
    let delay = backoff.max(required.unwrap_or_default());
    if !fits(policy, elapsed, delay) {
        let why = match required {
            Some(wait) if wait >= backoff => format!(
                "GitHub asked to wait {} s, which would pass the {} s deadline",
                whole_secs(wait),
                crate::policy::shown_secs(policy.deadline)
            ),
            _ => format!(
                "the next retry would pass the {} s deadline",
                crate::policy::shown_secs(policy.deadline)
            ),
        };
        return Next::GiveUp(Some(format!("gave up after {attempt} attempt(s): {why}")));
    }
    Next::Retry(delay)
}

/// Whether waiting `wait` more, `elapsed` after the first attempt, still ends within the
/// deadline. A rate-limited target pauses its whole lane only for a wait it accepts itself.
pub(crate) fn fits(policy: &RetryPolicy, elapsed: Duration, wait: Duration) -> bool {
    elapsed.saturating_add(wait) <= policy.deadline
}

/// A duration in seconds, rounded up, for messages.
pub(crate) fn whole_secs(wait: Duration) -> u64 {
    let part = u64::from(wait.subsec_nanos() > 0);
    wait.as_secs().saturating_add(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(retry: Retry) -> Failure {
        Failure {
            http_status: Some(503),
            reason: "503".into(),
            hint: None,
            retry,
        }
    }

    const LATER: Retry = Retry::Later { after: None };
    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn permanent_failures_are_never_retried() {
        let next = next(
            &RetryPolicy::default(),
            &failure(Retry::Never),
            1,
            S(0),
            0.5,
        );
        assert_eq!(next, Next::GiveUp(None));
    }

    #[test]
    fn backoff_is_full_jitter_of_a_doubling_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(
            next(&p, &failure(LATER), 1, S(0), 0.5),
            Next::Retry(Duration::from_millis(500))
        );
        assert_eq!(next(&p, &failure(LATER), 3, S(0), 0.5), Next::Retry(S(2)));
        assert_eq!(next(&p, &failure(LATER), 2, S(0), 0.0), Next::Retry(S(0)));
        // capped at max_delay
        let p = RetryPolicy {
            max_attempts: 50,
            ..p
        };
        assert_eq!(
            next(&p, &failure(LATER), 40, S(0), 0.999_999),
            Next::Retry(S(30).mul_f64(0.999_999))
        );
    }

    #[test]
    fn the_server_wait_is_a_floor() {
        let p = RetryPolicy::default();
        let f = failure(Retry::Later { after: Some(S(7)) });
        assert_eq!(next(&p, &f, 1, S(0), 0.5), Next::Retry(S(7)));
        let f = failure(Retry::RateLimited { wait: None });
        assert_eq!(next(&p, &f, 1, S(0), 0.5), Next::Retry(S(60)));
        let f = failure(Retry::RateLimited { wait: Some(S(3)) });
        assert_eq!(next(&p, &f, 1, S(0), 0.1), Next::Retry(S(3)));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(matches!(
            next(&p, &failure(LATER), 2, S(0), 0.5),
            Next::Retry(_)
        ));
        assert_eq!(
            next(&p, &failure(LATER), 3, S(0), 0.5),
            Next::GiveUp(Some("gave up after 3 attempt(s)".into()))
        );
    }

    #[test]
    fn a_wait_past_the_deadline_gives_up_with_that_reason() {
        let p = RetryPolicy {
            deadline: S(10),
            ..RetryPolicy::default()
        };
        let f = failure(Retry::RateLimited { wait: None });
        assert_eq!(
            next(&p, &f, 1, S(0), 0.5),
            Next::GiveUp(Some(
                "gave up after 1 attempt(s): GitHub asked to wait 60 s, which would pass the 10 s deadline".into()
            ))
        );
        assert!(matches!(
            next(&p, &failure(LATER), 1, S(10), 0.5),
            Next::GiveUp(Some(_))
        ));
    }

    #[test]
    fn any_server_wait_gives_up_at_the_deadline_without_overflow() {
        let p = RetryPolicy::default();
        let huge = Duration::MAX;
        for retry in [
            Retry::Later { after: Some(huge) },
            Retry::RateLimited { wait: Some(huge) },
            Retry::RateLimited {
                wait: Some(S(u64::MAX)),
            },
        ] {
            assert_eq!(
                next(&p, &failure(retry), 1, S(299), 0.5),
                Next::GiveUp(Some(format!(
                    "gave up after 1 attempt(s): GitHub asked to wait {} s, which would pass the 300 s deadline",
                    u64::MAX
                ))),
                "{retry:?}"
            );
        }
        assert!(matches!(
            next(&p, &failure(LATER), 1, Duration::MAX, f64::NAN),
            Next::GiveUp(Some(_))
        ));
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay: Duration::MAX,
            max_delay: Duration::MAX,
            deadline: Duration::MAX,
            ..p
        };
        assert!(matches!(
            next(&p, &failure(LATER), u32::MAX - 1, S(1), 1.0),
            Next::Retry(_)
        ));
    }

    #[test]
    fn whole_seconds_round_up_and_saturate() {
        assert_eq!(whole_secs(Duration::from_millis(1500)), 2);
        assert_eq!(whole_secs(S(3)), 3);
        assert_eq!(whole_secs(Duration::MAX), u64::MAX);
    }
}
