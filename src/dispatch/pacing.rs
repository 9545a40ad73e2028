//! Pacing shared by all targets that use the same API host and identity (token, or App
//! installation: "a lane"): at most `requests` starts in any `window`, for every window of the
//! limit at once (`80/min,500/h`), and a pause for everyone when one of them is rate-limited,
//! so the others wait instead of hammering.
//!
//! A sliding window rather than a token bucket, because that is how GitHub counts its
//! per-minute secondary limit: a small fan-out still goes out at once, and a large one never
//! has more than `requests` starts in any window.
//!
//! Waiting is bounded by the caller's deadline: a lane paused, or full, until after it is not
//! waited for at all, and the caller gives up with [`Held`] as its reason. Instants are only
//! ever added to with `checked_add`, since a pause can come from a server's number.
#![deny(clippy::arithmetic_side_effects)]

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

pub(crate) use crate::policy::{RateLimit, RateLimits};

/// Identifies a lane without keeping the token: the API base URL and a hash of the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Lane {
    api: String,
    token: u64,
}

impl Lane {
    pub(crate) fn new(api: &str, token: Option<&str>) -> Lane {
        let mut hasher = DefaultHasher::new();
        token.hash(&mut hasher);
        Lane {
            api: api.to_owned(),
            token: hasher.finish(),
        }
    }
}

/// Why a lane cannot start a request before the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Another request on the lane was rate-limited and GitHub asked for a pause.
    Paused,
    /// The lane's own `--rate-limit` has no room left before the deadline.
    Full(RateLimit),
}

impl Held {
    /// Why the target gives up, for its report line.
    pub(crate) fn reason(&self, deadline: Duration) -> String {
        let deadline = crate::policy::shown_secs(deadline);
        match self {
            Held::Paused => format!(
                "GitHub's rate limit paused this host/token past the target's {deadline} s deadline"
            ),
            Held::Full(limit) => format!(
                "the rate limit of {limit} for this host/token would start this request past the target's {deadline} s deadline"
            ),
        }
    }
}

impl Held {
    fn deadline(&self, paused_by: Option<Instant>, full_by: Option<Instant>) -> Option<Instant> {
        match self {
            Held::Paused => paused_by,
            Held::Full(_) => full_by,
        }
    }
}

#[derive(Default)]
struct LaneState {
    starts: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// Holds each lane's requests to the rate limits as they are sent (the plan's
/// [`crate::plan::PacingEstimate`] only foresees how long that takes).
pub(crate) struct Pacer {
    limits: RateLimits,
    lanes: Mutex<HashMap<Lane, Arc<Mutex<LaneState>>>>,
}

impl Pacer {
    pub(crate) fn new(limits: impl Into<RateLimits>) -> Pacer {
        Pacer {
            limits: limits.into(),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    fn lane(&self, lane: &Lane) -> Arc<Mutex<LaneState>> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.entry(lane.clone()).or_default().clone()
    }

    /// Waits until this lane may start a request, and counts it; gives up at once, without
    /// waiting, when that would be after `deadline` (`None`: no deadline).
    pub(crate) async fn acquire(&self, lane: &Lane, deadline: Option<Instant>) -> Result<(), Held> {
        self.acquire_within(lane, deadline, deadline).await
    }

    /// [`Pacer::acquire`] with one deadline for a pause GitHub asked for (`paused_by`) and
    /// another for room in the lane's own windows (`full_by`).
    pub(crate) async fn acquire_within(
        &self,
        lane: &Lane,
        paused_by: Option<Instant>,
        full_by: Option<Instant>,
    ) -> Result<(), Held> {
        let state = self.lane(lane);
        loop {
            let wait = {
                let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                match self.wait_needed(&mut s, now) {
                    None => {
                        s.starts.push_back(now);
                        return Ok(());
                    }
                    Some((until, held)) => match (until, held.deadline(paused_by, full_by)) {
                        (Some(until), Some(deadline)) if until <= deadline => until,
                        (Some(until), None) => until,
                        _ => return Err(held),
                    },
                }
            };
            tokio::time::sleep_until(wait).await;
        }
    }

    /// `None` when a request may start now, else when to look again (`None` for a time too
    /// far to represent) and what holds it.
    fn wait_needed(&self, s: &mut LaneState, now: Instant) -> Option<(Option<Instant>, Held)> {
        if let Some(until) = s.paused_until {
            if until > now {
                return Some((Some(until), Held::Paused));
            }
            s.paused_until = None;
        }
        let longest = self
            .limits
            .windows()
            .iter()
            .map(RateLimit::paced_window)
            .max()?;
        while s
            .starts
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= longest)
        {
            s.starts.pop_front();
        }
        // Every window must have room; the one that frees up last says when to look again.
        let mut held: Option<(Option<Instant>, Held)> = None;
        for limit in self.limits.windows() {
            let window = limit.paced_window();
            let first_in = s
                .starts
                .partition_point(|t| now.saturating_duration_since(*t) >= window);
            let within = s.starts.len().saturating_sub(first_in);
            let allowed = usize::try_from(limit.requests).unwrap_or(usize::MAX);
            if within < allowed {
                continue;
            }
            // The start that has to leave this window before one more fits.
            let leaving = first_in.saturating_add(within.saturating_sub(allowed));
            let until = s.starts.get(leaving).and_then(|t| t.checked_add(window));
            let later = match &held {
                None => true,
                Some((None, _)) => false,
                Some((Some(at), _)) => until.is_none_or(|u| u > *at),
            };
            if later {
                held = Some((until, Held::Full(*limit)));
            }
        }
        held
    }

    /// Holds every request of the lane until `wait` has passed (extending, never shortening,
    /// a pause already in force).
    /// A wait too long to represent is no pause: callers pause only for waits within a
    /// deadline, which are short.
    pub(crate) fn pause(&self, lane: &Lane, wait: Duration) {
        let state = self.lane(lane);
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(until) = Instant::now().checked_add(wait) else {
            return;
        };
        s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            pacer.acquire(&lane, None).await.unwrap();
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
        pacer
            .acquire(&Lane::new("https://a", Some("t")), None)
            .await
            .unwrap();
        pacer
            .acquire(&Lane::new("https://a", Some("u")), None)
            .await
            .unwrap();
        pacer
            .acquire(&Lane::new("https://b", Some("t")), None)
            .await
            .unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request_of_the_lane() {
        let pacer = Pacer::new(None);
        let lane = Lane::new("https://a", Some("t"));
        pacer.pause(&lane, Duration::from_secs(5));
        pacer.pause(&lane, Duration::from_secs(2));
        let start = Instant::now();
        pacer.acquire(&lane, None).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        pacer
            .acquire(&Lane::new("https://other", Some("t")), None)
            .await
            .unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_past_the_deadline_gives_up_at_once() {
        let pacer = Pacer::new(None);
        let lane = Lane::new("https://a", Some("t"));
        pacer.pause(&lane, Duration::from_secs(100_000));
        let start = Instant::now();
        let deadline = start.checked_add(Duration::from_secs(300));
        assert_eq!(pacer.acquire(&lane, deadline).await, Err(Held::Paused));
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "never sleeps past a deadline"
        );
        assert_eq!(
            Held::Paused.reason(Duration::from_secs(300)),
            "GitHub's rate limit paused this host/token past the target's 300 s deadline"
        );
        // within the deadline, it waits
        let deadline = start.checked_add(Duration::from_secs(200_000));
        assert_eq!(pacer.acquire(&lane, deadline).await, Ok(()));
        assert_eq!(start.elapsed(), Duration::from_secs(100_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_lane_past_the_deadline_gives_up_at_once() {
        let limit = RateLimit {
            requests: 1,
            window: Duration::from_secs(60),
        };
        let pacer = Pacer::new(Some(limit));
        let lane = Lane::new("https://a", Some("t"));
        let start = Instant::now();
        let deadline = start.checked_add(Duration::from_secs(10));
        assert_eq!(pacer.acquire(&lane, deadline).await, Ok(()));
        assert_eq!(pacer.acquire(&lane, deadline).await, Err(Held::Full(limit)));
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn waits_too_long_to_represent_do_not_panic() {
        let pacer = Pacer::new(Some(RateLimit {
            requests: 1,
            window: Duration::MAX,
        }));
        let lane = Lane::new("https://a", Some("t"));
        pacer.pause(&lane, Duration::MAX);
        assert_eq!(pacer.acquire(&lane, None).await, Ok(()));
        assert!(pacer.acquire(&lane, None).await.is_err());
        assert!(RateLimit::parse("1/999999999999999999min").is_err());
    }
}
