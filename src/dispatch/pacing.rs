//! Pacing shared by all targets that use the same API host and token ("a lane"): at most
//! `requests` starts in any `window`, and a pause for everyone when one of them is
//! rate-limited, so the others wait instead of hammering.
//!
//! A sliding window rather than a token bucket, because that is how GitHub counts its
//! per-minute secondary limit: a small fan-out still goes out at once, and a large one never
//! has more than `requests` starts in any window.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

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
                    "min" | "m" => Duration::from_secs(n * 60),
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

/// Identifies a lane without keeping the token: the API base URL and a hash of the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lane {
    api: String,
    token: u64,
}

impl Lane {
    pub fn new(api: &str, token: Option<&str>) -> Lane {
        let mut hasher = DefaultHasher::new();
        token.hash(&mut hasher);
        Lane {
            api: api.to_owned(),
            token: hasher.finish(),
        }
    }
}

#[derive(Default)]
struct LaneState {
    starts: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

pub struct Pacer {
    limit: Option<RateLimit>,
    lanes: Mutex<HashMap<Lane, Arc<Mutex<LaneState>>>>,
}

impl Pacer {
    pub fn new(limit: Option<RateLimit>) -> Pacer {
        Pacer {
            limit,
            lanes: Mutex::new(HashMap::new()),
        }
    }

    fn lane(&self, lane: &Lane) -> Arc<Mutex<LaneState>> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.entry(lane.clone()).or_default().clone()
    }

    /// Waits until this lane may start a request, and counts it.
    pub async fn acquire(&self, lane: &Lane) {
        let state = self.lane(lane);
        loop {
            let wait = {
                let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                match self.wait_needed(&mut s, now) {
                    None => {
                        s.starts.push_back(now);
                        return;
                    }
                    Some(until) => until,
                }
            };
            tokio::time::sleep_until(wait).await;
        }
    }

    /// `None` when a request may start now, else when to look again.
    fn wait_needed(&self, s: &mut LaneState, now: Instant) -> Option<Instant> {
        if let Some(until) = s.paused_until {
            if until > now {
                return Some(until);
            }
            s.paused_until = None;
        }
        let limit = self.limit?;
        // Slack so that jitter between our start and the server's arrival (scheduling, a new
        // connection) cannot squeeze requests of two of our windows into one of the server's:
        // 2% of a minute, and at least a quarter second for short windows.
        let window = limit.window + (limit.window / 50).max(Duration::from_millis(250));
        while s
            .starts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            s.starts.pop_front();
        }
        if s.starts.len() < limit.requests as usize {
            return None;
        }
        s.starts.front().map(|oldest| *oldest + window)
    }

    /// Holds every request of the lane until `wait` has passed (extending, never shortening,
    /// a pause already in force).
    pub fn pause(&self, lane: &Lane, wait: Duration) {
        let state = self.lane(lane);
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        let until = Instant::now() + wait;
        s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
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

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_limit_start_in_any_window() {
        let pacer = Pacer::new(Some(RateLimit {
            requests: 3,
            window: Duration::from_secs(10),
        }));
        let lane = Lane::new("https://api.github.com", Some("t"));
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..7 {
            pacer.acquire(&lane).await;
            starts.push(start.elapsed());
        }
        assert_eq!(starts[..3], [Duration::ZERO; 3]);
        assert_eq!(starts[3], Duration::from_millis(10_250));
        assert_eq!(starts[6], Duration::from_millis(20_500));
    }

    #[tokio::test(start_paused = true)]
    async fn lanes_are_separate_by_host_and_token() {
        let pacer = Pacer::new(Some(RateLimit {
            requests: 1,
            window: Duration::from_secs(60),
        }));
        let start = Instant::now();
        pacer.acquire(&Lane::new("https://a", Some("t"))).await;
        pacer.acquire(&Lane::new("https://a", Some("u"))).await;
        pacer.acquire(&Lane::new("https://b", Some("t"))).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request_of_the_lane() {
        let pacer = Pacer::new(None);
        let lane = Lane::new("https://a", Some("t"));
        pacer.pause(&lane, Duration::from_secs(5));
        pacer.pause(&lane, Duration::from_secs(2));
        let start = Instant::now();
        pacer.acquire(&lane).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        pacer.acquire(&Lane::new("https://other", Some("t"))).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }
}
