//! Plain policy data at the bottom of the crate: how persistent delivery is, how fast it may
//! go, how much runs at once. The config compiles into these; `dispatch` enforces them. No
//! behaviour here beyond parsing, so every layer may use it.

use std::time::Duration;

/// Requests in flight at once, unless configured.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// How persistent delivery is; set per target or by flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 turns retries off.
    pub max_attempts: u32,
    /// From the first attempt; no retry starts that would end its wait after this.
    pub deadline: Duration,
    /// The first backoff's upper bound; each retry doubles it, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long to wait after a secondary rate limit that names no wait. GitHub's guidance is
    /// at least a minute.
    pub secondary_wait: Duration,
}

pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);
pub const DEFAULT_SECONDARY_WAIT: Duration = Duration::from_secs(60);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            deadline: DEFAULT_DEADLINE,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            secondary_wait: DEFAULT_SECONDARY_WAIT,
        }
    }
}

/// At most `requests` request starts in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window: Duration,
}

impl RateLimit {
    /// GitHub documents about 80 content-creating requests a minute; staying just under it
    /// keeps a large fan-out from being blocked.
    pub const DEFAULT: RateLimit = RateLimit {
        requests: 80,
        window: Duration::from_secs(60),
    };

    /// Parses `N/min`, `N/s`, `N/Ms` (e.g. `80/min`, `10/1s`, `80/60s`) or `unlimited`.
    pub fn parse(text: &str) -> Result<Option<RateLimit>, String> {
        if text == "unlimited" {
            return Ok(None);
        }
        let err =
            || format!("`{text}` is not a rate such as `80/min`, `5/s`, `80/60s` or `unlimited`");
        let (count, per) = text.split_once('/').ok_or_else(err)?;
        let requests: u32 = count.trim().parse().map_err(|_| err())?;
        let window = match per.trim() {
            "min" | "m" => Duration::from_secs(60),
            "s" | "sec" => Duration::from_secs(1),
            other => {
                let (number, unit) =
                    other.split_at(other.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
                let n: u64 = number.parse().map_err(|_| err())?;
                match unit {
                    "ms" => Duration::from_millis(n),
                    "s" => Duration::from_secs(n),
                    "min" | "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(err)?),
                    _ => return Err(err()),
                }
            }
        };
        if requests == 0 || window.is_zero() {
            return Err(err());
        }
        Ok(Some(RateLimit { requests, window }))
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}ms", self.requests, self.window.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        let per = |requests, ms| {
            Some(RateLimit {
                requests,
                window: Duration::from_millis(ms),
            })
        };
        assert_eq!(RateLimit::parse("80/min"), Ok(per(80, 60_000)));
        assert_eq!(RateLimit::parse("5/s"), Ok(per(5, 1000)));
        assert_eq!(RateLimit::parse("80/60s"), Ok(per(80, 60_000)));
        assert_eq!(RateLimit::parse("10/250ms"), Ok(per(10, 250)));
        assert_eq!(RateLimit::parse("unlimited"), Ok(None));
        for bad in ["0/min", "80", "x/min", "5/0s", "5/hour"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }
}
