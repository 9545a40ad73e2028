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
/// How long a target waits for its `await:` artifacts to be published: 30 minutes.
pub const DEFAULT_AWAIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The first wait between two looks at a registry; it doubles up to
/// [`MAX_AWAIT_INTERVAL`].
pub const DEFAULT_AWAIT_INTERVAL: Duration = Duration::from_secs(10);
/// The longest wait between two looks at a registry (unless the first is set longer).
pub const MAX_AWAIT_INTERVAL: Duration = Duration::from_secs(60);

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

    /// GitHub's second window: about 500 content-creating requests an hour.
    pub const HOURLY: RateLimit = RateLimit {
        requests: 500,
        window: Duration::from_secs(3600),
    };

    /// Reads per identity (a token, or an App installation) while following runs and in
    /// `check`, unless `read_budget` says otherwise: 4,000 an hour, four fifths of a token's
    /// 5,000 and of the least an App installation gets (5,000, up to 12,500 with its
    /// repositories and users), leaving a fifth for everything else on that identity.
    pub const READ_BUDGET: RateLimit = RateLimit {
        requests: 4000,
        window: Duration::from_secs(3600),
    };

    /// Parses one window, `N/min`, `N/s`, `N/h`, `N/Ms` (e.g. `80/min`, `10/1s`, `80/60s`,
    /// `500/h`) or `unlimited`.
    pub fn parse(text: &str) -> Result<Option<RateLimit>, String> {
        if text == "unlimited" {
            return Ok(None);
        }
        let err = || {
            format!(
                "`{text}` is not a rate such as `80/min`, `500/h`, `5/s`, `80/60s` or `unlimited`"
            )
        };
        let (count, per) = text.split_once('/').ok_or_else(err)?;
        let requests: u32 = count.trim().parse().map_err(|_| err())?;
        let window = match per.trim() {
            "min" | "m" => Duration::from_secs(60),
            "s" | "sec" => Duration::from_secs(1),
            "h" | "hour" => Duration::from_secs(3600),
            other => {
                let (number, unit) =
                    other.split_at(other.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
                let n: u64 = number.parse().map_err(|_| err())?;
                let times =
                    |secs: u64| n.checked_mul(secs).map(Duration::from_secs).ok_or_else(err);
                match unit {
                    "ms" => Duration::from_millis(n),
                    "s" => Duration::from_secs(n),
                    "min" | "m" => times(60)?,
                    "h" => times(3600)?,
                    _ => return Err(err()),
                }
            }
        };
        if requests == 0 || window.is_zero() {
            return Err(err());
        }
        Ok(Some(RateLimit { requests, window }))
    }

    /// The window the pacer keeps: the limit's plus slack, so that jitter between our start
    /// and the server's arrival (scheduling, a new connection) cannot squeeze requests of two
    /// of our windows into one of the server's: 2% of the window, at least a quarter second.
    pub fn paced_window(&self) -> Duration {
        let slack =
            (self.window.checked_div(50).unwrap_or_default()).max(Duration::from_millis(250));
        self.window.saturating_add(slack)
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.window.as_millis();
        let per = match ms {
            3_600_000 => "h".to_owned(),
            60_000 => "min".to_owned(),
            1000 => "s".to_owned(),
            ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
            ms if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
            ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
            ms => format!("{ms}ms"),
        };
        write!(f, "{}/{per}", self.requests)
    }
}

/// Several windows enforced together (`80/min,500/h`): a request starts only when every one
/// has room, so the tightest wins. No window at all is `unlimited`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimits {
    windows: Vec<RateLimit>,
}

impl RateLimits {
    /// GitHub's documented limits for content-creating requests, per identity: 80 a minute
    /// and 500 an hour.
    pub fn github() -> RateLimits {
        RateLimits {
            windows: vec![RateLimit::DEFAULT, RateLimit::HOURLY],
        }
    }

    pub fn unlimited() -> RateLimits {
        RateLimits::default()
    }

    pub fn windows(&self) -> &[RateLimit] {
        &self.windows
    }

    /// Parses windows separated by commas (`80/min,500/h`, `40/1s, 100/5s`), one window, or
    /// `unlimited` (alone).
    pub fn parse(text: &str) -> Result<RateLimits, String> {
        let text = text.trim();
        if text == "unlimited" {
            return Ok(RateLimits::unlimited());
        }
        let mut windows = Vec::new();
        for part in text.split(',') {
            match RateLimit::parse(part.trim()) {
                Ok(Some(limit)) => windows.push(limit),
                Ok(None) => {
                    return Err(format!(
                        "`{text}`: `unlimited` cannot be combined with other windows"
                    ))
                }
                Err(err) => return Err(err),
            }
        }
        windows.sort_by_key(|w| w.window);
        Ok(RateLimits { windows })
    }

    /// When the last of `requests` starts goes out, counted from the first, if each starts as
    /// early as every (paced) window allows and nothing else holds it: the time the limits
    /// alone impose on a fan-out of that size on one identity. Zero when unlimited.
    pub fn expected_duration(&self, requests: usize) -> Duration {
        if self.windows.is_empty() || requests == 0 {
            return Duration::ZERO;
        }
        // The k-th start (from 0) is at max(t[k-1], t[k-r] + w) over every window: a sliding
        // window filled greedily.
        let mut starts: Vec<Duration> = Vec::with_capacity(requests);
        for k in 0..requests {
            let mut at = starts.last().copied().unwrap_or_default();
            for limit in &self.windows {
                let r = usize::try_from(limit.requests).unwrap_or(usize::MAX);
                if let Some(earlier) = k.checked_sub(r).and_then(|i| starts.get(i)) {
                    at = at.max(earlier.saturating_add(limit.paced_window()));
                }
            }
            starts.push(at);
        }
        starts.last().copied().unwrap_or_default()
    }
}

impl From<RateLimit> for RateLimits {
    fn from(limit: RateLimit) -> RateLimits {
        RateLimits {
            windows: vec![limit],
        }
    }
}

impl From<Option<RateLimit>> for RateLimits {
    fn from(limit: Option<RateLimit>) -> RateLimits {
        limit.map(RateLimits::from).unwrap_or_default()
    }
}

impl std::fmt::Display for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.windows.is_empty() {
            return write!(f, "unlimited");
        }
        let windows: Vec<String> = self.windows.iter().map(ToString::to_string).collect();
        write!(f, "{}", windows.join(", "))
    }
}

/// Parses a duration written as hours, minutes, seconds and milliseconds in that order, each
/// optional but not all: `5h30m`, `90m`, `1h`, `45s`, `2h15m30s`, `200ms`, `1s500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let err = || format!("`{text}` is not a duration such as `5h30m`, `90m`, `45s` or `200ms`");
    let mut rest = text.trim();
    let mut millis: u64 = 0;
    let mut units = ["h", "m", "s", "ms"]
        .iter()
        .zip([3_600_000u64, 60_000, 1000, 1]);
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (number, after) = rest.split_at(digits);
        let n: u64 = number.parse().map_err(|_| err())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit = match unit {
            "min" => "m",
            "sec" => "s",
            other => other,
        };
        let (_, per) = units.find(|(u, _)| **u == unit).ok_or_else(err)?;
        millis = n
            .checked_mul(per)
            .and_then(|ms| millis.checked_add(ms))
            .ok_or_else(err)?;
        rest = after;
    }
    if millis == 0 {
        return Err(format!(
            "`{text}` is no time at all: a duration must be more than zero, such as `30m` or `45s`"
        ));
    }
    Ok(Duration::from_millis(millis))
}

/// A duration flag that has always taken whole seconds: a bare number is still seconds (`30`,
/// `0` included, for the setting's own range check to judge), and a unit makes it any
/// [`parse_duration`] duration (`200ms`, `2m`).
pub fn parse_seconds_or_duration(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => parse_duration(text),
    }
}

/// A duration in seconds for a message: `30`, or `0.2` below a whole second (a flag may ask for
/// `200ms`).
pub fn shown_secs(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        duration.as_secs().to_string()
    } else {
        duration.as_secs_f64().to_string()
    }
}

/// A duration as people say it, to the minute past an hour and to the second below:
/// `1 h 6 min`, `6 min 7 s`, `15 s`, `less than a second`.
pub fn approx(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, 0) => "less than a second".to_owned(),
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
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
        assert_eq!(RateLimit::parse("500/h"), Ok(per(500, 3_600_000)));
        assert_eq!(RateLimit::parse("500/2h"), Ok(per(500, 7_200_000)));
        for bad in ["0/min", "80", "x/min", "5/0s", "5/day"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_several_windows_tightest_first() {
        let limits = RateLimits::parse("500/h, 80/min").unwrap();
        assert_eq!(limits, RateLimits::github());
        assert_eq!(limits.to_string(), "80/min, 500/h");
        assert_eq!(RateLimits::parse("unlimited"), Ok(RateLimits::unlimited()));
        assert_eq!(
            RateLimits::parse("10/250ms").unwrap().windows(),
            [RateLimit {
                requests: 10,
                window: Duration::from_millis(250)
            }]
        );
        for bad in ["80/min,", "80/min,unlimited", ",", "80/min;500/h"] {
            assert!(RateLimits::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expected_duration_is_a_burst_then_the_tightest_window() {
        let s = Duration::from_secs;
        let github = RateLimits::github();
        // 80 at once, then 80 a (paced) minute: the 500th start is 6 paced minutes in.
        assert_eq!(github.expected_duration(80), Duration::ZERO);
        assert_eq!(
            github.expected_duration(81),
            s(61) + Duration::from_millis(200)
        );
        assert_eq!(
            github.expected_duration(500),
            Duration::from_millis(6 * 61_200)
        );
        // The 501st waits for the hour: the first start leaves it at 3672 s (2% slack).
        assert_eq!(github.expected_duration(501), s(3672));
        // 1,000 on one identity: the second hour repeats the first.
        assert_eq!(
            github.expected_duration(1000),
            s(3672) + Duration::from_millis(6 * 61_200)
        );
        assert_eq!(approx(github.expected_duration(1000)), "1 h 7 min");
        // One window alone is a plain staircase.
        let minute = RateLimits::from(RateLimit::DEFAULT);
        assert_eq!(
            minute.expected_duration(1000),
            Duration::from_millis(12 * 61_200)
        );
        assert_eq!(
            RateLimits::unlimited().expected_duration(1000),
            Duration::ZERO
        );
    }

    #[test]
    fn expected_duration_of_a_third_per_identity() {
        let limits = RateLimits::parse("40/1s,100/5s").unwrap();
        let whole = limits.expected_duration(300);
        let third = limits.expected_duration(100);
        assert_eq!(whole, Duration::from_millis(2 * 5250 + 2 * 1250));
        assert_eq!(third, Duration::from_millis(2 * 1250));
    }

    #[test]
    fn parses_durations_in_hours_minutes_and_seconds() {
        let s = Duration::from_secs;
        assert_eq!(parse_duration("5h30m"), Ok(s(5 * 3600 + 30 * 60)));
        assert_eq!(parse_duration("90m"), Ok(s(5400)));
        assert_eq!(parse_duration("45s"), Ok(s(45)));
        assert_eq!(parse_duration("2h15m30s"), Ok(s(8130)));
        assert_eq!(parse_duration("10min"), Ok(s(600)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_seconds_or_duration("30"), Ok(s(30)));
        assert_eq!(parse_seconds_or_duration("0"), Ok(s(0)));
        assert!(parse_seconds_or_duration("30x").is_err());
        for bad in ["", "5", "30m5h", "5h5h", "0s", "5d", "h", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let s = Duration::from_secs;
        assert_eq!(approx(Duration::from_millis(300)), "less than a second");
        assert_eq!(approx(s(15)), "15 s");
        assert_eq!(approx(s(367)), "6 min 7 s");
        assert_eq!(approx(s(120)), "2 min");
        assert_eq!(approx(s(3600 + 6 * 60 + 59)), "1 h 6 min");
        assert_eq!(approx(s(7200)), "2 h");
    }
}
