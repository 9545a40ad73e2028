//! Identities and pacing of a plan: which identity (API host and token variable, or App
//! installation) each job uses, and how long the rate limits alone make the fan-out take.
//! Sharded `token_env` lists are assigned in `config::compile`; this counts the result.

use super::Job;
use crate::policy::{approx, RateLimits};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// How long the rate limits alone make a plan take: every identity paces its own share, so
/// the fan-out takes as long as its busiest identity. A forecast for the report; what holds
/// requests back as they are sent is `dispatch::pacing::Pacer`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PacingEstimate {
    /// The rate limit per identity, e.g. `80/min, 500/h`.
    pub rate_limit: String,
    pub requests: usize,
    /// API host and token variable (or App installation) pairs, each with its own budget.
    pub identities: usize,
    /// When the last request may start, counted from the first.
    pub expected_duration_ms: u64,
}

/// The API host (or App installation) and token variable a job's requests are paced by.
fn identity(job: &Job) -> (&str, Option<&str>) {
    (job.lane.as_str(), job.token_env.as_deref())
}

impl PacingEstimate {
    pub fn of(jobs: &[Job], limits: &RateLimits) -> PacingEstimate {
        let mut per_identity: HashMap<(&str, Option<&str>), usize> = HashMap::new();
        // Jobs in a row nearly always share their identity: each run of them is counted, then
        // looked up once.
        for run in jobs.chunk_by(|a, b| identity(a) == identity(b)) {
            *per_identity.entry(identity(&run[0])).or_default() += run.len();
        }
        let longest = per_identity
            .values()
            .map(|n| limits.expected_duration(*n))
            .max()
            .unwrap_or_default();
        PacingEstimate {
            rate_limit: limits.to_string(),
            requests: jobs.len(),
            identities: per_identity.len(),
            expected_duration_ms: u64::try_from(longest.as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub fn expected_duration(&self) -> Duration {
        Duration::from_millis(self.expected_duration_ms)
    }

    /// Whether the limits hold anything back: worth a line in the plan and the log only then.
    pub fn paces(&self) -> bool {
        !self.expected_duration().is_zero()
    }

    /// `1000 requests on 1 identity: about 1 h 7 min at 80/min, 500/h`.
    pub fn describe(&self) -> String {
        let on = match self.identities {
            1 => "1 identity".to_owned(),
            n => format!("{n} identities"),
        };
        let requests = match self.requests {
            1 => "1 request".to_owned(),
            n => format!("{n} requests"),
        };
        if self.rate_limit == "unlimited" {
            return format!("{requests} on {on}, no rate limit");
        }
        let took = self.expected_duration();
        let time = if took.is_zero() {
            "all at once".to_owned()
        } else {
            format!("about {}", approx(took))
        };
        format!(
            "{requests} on {on}: {time} at {} per identity",
            self.rate_limit
        )
    }
}
