//! Waiting for a target's published artifacts (`await:`): every gate of the job looked up
//! concurrently until each answers "published", the target's `await_timeout_secs` passes (it
//! fails, so `--retry-failed` sends it later), or the run stops (it is not sent, so
//! `--resume` sends it).
//!
//! Between two looks at a registry the wait is a tenth of the time waited so far, at least
//! `await_interval_secs` and at most a minute (or the interval, when it is longer), and
//! jittered to between half and all of that: a gate that opens after `t` is seen by about
//! `1.1 t`, and a registry is asked a few times a minute at most, however long the wait.

mod probe;

use super::{Run, Sender, Status};
use crate::plan::{Gate, Gates, Job};
use std::time::Duration;
use tokio::time::Instant;

/// What a registry said about one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateAnswer {
    Published,
    /// Not there (yet): `404 Not Found`, a release without the asset, an index without the
    /// version.
    NotYet(String),
    /// No usable answer: unreachable, refused (401, 403), a server error, a body that does not
    /// read. A wait goes on through it; `check` reports it as an error.
    Unusable(String),
}

impl GateAnswer {
    fn last(self) -> Option<String> {
        match self {
            GateAnswer::Published => None,
            GateAnswer::NotYet(last) | GateAnswer::Unusable(last) => Some(last),
        }
    }
}

/// The HTTP sender's lookups, for `check` too.
pub(crate) use probe::{probe, Looks};

impl<S: Sender> Run<'_, S> {
    /// Returns once every gate of `job` is published, or with the status it ends with.
    pub(super) async fn gates_open(&self, job: &Job) -> Result<(), Status> {
        let Some(gates) = job.gates.as_deref().filter(|g| !g.checks.is_empty()) else {
            return Ok(());
        };
        let started = Instant::now();
        let deadline = started.checked_add(gates.timeout);
        let polls = gates
            .checks
            .iter()
            .map(|gate| self.poll(job, gate, gates.interval, started, deadline));
        let all = futures::future::join_all(polls);
        let stop_at = self.stop_at;
        let max_duration = async move {
            match stop_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let waiting_for = || gates.checks.first().map(Gate::label).unwrap_or_default();
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Status::NotSent {
                reason: format!("the run was interrupted while this target waited for {} to be published", waiting_for()),
            }),
            () = max_duration => Err(Status::NotSent {
                reason: format!("the run reached --max-duration while this target waited for {} to be published", waiting_for()),
            }),
            lasts = all => not_published(gates, lasts).map_or(Ok(()), Err),
        }
    }

    /// Looks `gate` up until it is published (`None`) or `deadline` passes (its last answer).
    async fn poll(
        &self,
        job: &Job,
        gate: &Gate,
        interval: Duration,
        started: Instant,
        deadline: Option<Instant>,
    ) -> Option<String> {
        let label = gate.label();
        // Said on the first look and once a minute after: a thousand targets looking every
        // few seconds would otherwise flood the log.
        let mut said: Option<u64> = None;
        let mut before: Option<String> = None;
        loop {
            // A look waiting for its turn, or a registry that trickles, ends at the deadline:
            // the target fails then (with the answer before), not when the look would end.
            let look = self.sender.probe_gate(gate);
            let answer = match deadline {
                Some(at) => tokio::time::timeout_at(at, look).await.ok(),
                None => Some(look.await),
            };
            let Some(answer) = answer else {
                return Some(before.unwrap_or_else(|| NO_ANSWER_IN_TIME.to_owned()));
            };
            let last = answer.last()?;
            before = Some(last.clone());
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Some(last);
            }
            let waited = now.saturating_duration_since(started);
            let minute = waited.as_secs() / 60;
            if said != Some(minute) {
                said = Some(minute);
                self.observer.waiting(job, &label, waited);
            }
            let next = now
                .checked_add(next_look(waited, interval, fastrand::f64()))
                .map_or(deadline, |at| Some(deadline.map_or(at, |d| d.min(at))));
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        }
    }
}

/// The last answer of a look the await timeout cut short.
const NO_ANSWER_IN_TIME: &str = "the registry did not answer in time";

/// The wait before the next look, after `waited`: a tenth of it, within `interval` and
/// `max(interval, 60 s)`, times `jitter` (0 to 1) mapped to a half to all of it.
fn next_look(waited: Duration, interval: Duration, jitter: f64) -> Duration {
    let ceiling = crate::policy::MAX_AWAIT_INTERVAL.max(interval);
    let wait = (waited / 10).clamp(interval, ceiling);
    wait.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// Every gate answered: all published (`None`), or the target fails naming the first that was
/// not.
fn not_published(gates: &Gates, lasts: Vec<Option<String>>) -> Option<Status> {
    let mut missing = gates
        .checks
        .iter()
        .zip(lasts)
        .filter_map(|(gate, last)| Some((gate.label(), last?)));
    let (label, last) = missing.next()?;
    let more = missing.count();
    let others = match more {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(Status::Failed {
        http_status: None,
        reason: format!(
            "not published within {}: {label} (last: {last}){others}",
            minutes(gates.timeout)
        ),
        hint: Some(
            "run again once it is published (`--retry-failed` sends only what failed), or raise `await_timeout_secs`"
                .to_owned(),
        ),
    })
}

/// `30 min`, `2 h`, `45 s`, `300 ms`: how long, as a release engineer says it.
pub(crate) fn minutes(duration: Duration) -> String {
    match duration.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 => format!("{} min", s / 60),
        0 => format!("{} ms", duration.as_millis()),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_between_looks_is_a_tenth_of_the_wait_so_far_within_its_bounds() {
        let ten = Duration::from_secs(10);
        assert_eq!(next_look(Duration::ZERO, ten, 1.0), ten);
        assert_eq!(
            next_look(Duration::from_secs(300), ten, 1.0),
            Duration::from_secs(30)
        );
        assert_eq!(
            next_look(Duration::from_secs(3000), ten, 1.0),
            Duration::from_secs(60)
        );
        assert_eq!(
            next_look(Duration::from_secs(300), ten, 0.0),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn timeouts_read_as_minutes_or_hours() {
        assert_eq!(minutes(Duration::from_secs(1800)), "30 min");
        assert_eq!(minutes(Duration::from_secs(7200)), "2 h");
        assert_eq!(minutes(Duration::from_secs(45)), "45 s");
    }
}
