//! Sending a plan: every job concurrently (bounded and paced), retried while GitHub's answer
//! says it may help, each ending as exactly one [`Outcome`].
//!
//! The [`Sender`] trait is the seam between "what to send" and "how": the GitHub client
//! implements it over HTTP, and tests can put a recording fake in its place. The [`Observer`]
//! hears every step (the journal and the logs are observers).

pub(crate) mod budget;
pub mod gate;
pub(crate) mod needs;
pub(crate) mod pacing;
mod ready;
pub(crate) mod retry;
pub(crate) mod sender;
pub(crate) mod wait;

use crate::github::classify::{Failure, Retry};
use crate::plan::Job;
use futures::stream::{self, StreamExt};
use pacing::{Held, Lane, Pacer, RateLimits};
use retry::Next;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Status {
    Delivered {
        http_status: u16,
        /// The workflow run a workflow_dispatch started, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<RunInfo>,
    },
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http_status: Option<u16>,
        /// What went wrong, in GitHub's words where it gave any.
        reason: String,
        /// What to do about it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    Skipped {
        reason: String,
    },
    /// The run was interrupted before this target's request was sent.
    NotSent {
        reason: String,
    },
    /// Not sent: a target it needs failed, was skipped, was not sent or was blocked itself
    /// (or its waited run did not succeed). The reason names the need.
    Blocked {
        reason: String,
    },
}

/// A workflow run started by a dispatch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The run in the REST API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The run's page on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// After `--wait`: `queued`, `in_progress`, `completed`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// After `--wait`, once completed: `success`, `failure`, `cancelled`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// Why something is unknown (e.g. the server returns no run details).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// After `--wait`: a signal stopped the run before this run completed, so it was not
    /// waited for (neither success nor failure).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// A wait was asked for (`wait: true` or `--wait`) but cannot happen: GitHub did not say
    /// which run the dispatch started. A warning, not a failure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_waited: bool,
    /// `wait: { job: NAME }`: the job waited for, whose conclusion is the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Box<RunJob>>,
    /// `cancel_on_stop`: the cancel asked for when the run stopped before this one completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<Cancel>,
    /// The wait gave up on this run before it completed (`--wait-timeout`, `--queue-timeout`):
    /// `cancel_on_stop` cancels it.
    #[serde(skip)]
    pub abandoned: bool,
}

/// The one job of a run a target waits for (`wait: { job: NAME }`); GitHub's words only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunJob {
    /// The name waited for, as the configuration gives it.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, ...; none when the run has no such job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Once completed: `success`, `failure`, `skipped`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// The job's page on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
}

/// What became of a cancel `cancel_on_stop` asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Cancel {
    /// GitHub accepted it (202): the run is being cancelled.
    Requested,
    /// GitHub answered 409: the run had completed by then.
    AlreadyCompleted,
    /// No cancel was accepted: why.
    Failed { reason: String },
}

impl RunInfo {
    pub fn unknown(note: &str) -> RunInfo {
        RunInfo {
            note: Some(note.to_owned()),
            ..RunInfo::default()
        }
    }

    /// A waited-for run that did not succeed (including one still running at the timeout,
    /// but not one whose wait was interrupted).
    pub fn failed(&self) -> bool {
        self.status.is_some() && !self.interrupted && !self.concluded_success()
    }

    /// The waited-for thing succeeded: the run, or with `wait: { job: NAME }` that job,
    /// concluded `success` (and its wait was not interrupted).
    pub fn succeeded(&self) -> bool {
        self.status.is_some() && !self.interrupted && self.concluded_success()
    }

    fn concluded_success(&self) -> bool {
        let conclusion = match &self.job {
            Some(job) => &job.conclusion,
            None => &self.conclusion,
        };
        conclusion.as_deref() == Some("success")
    }

    /// A wait was asked for, and there is no run id to follow.
    pub fn cannot_wait(&mut self) {
        self.not_waited = true;
        let why = self
            .note
            .take()
            .unwrap_or_else(|| "GitHub did not return the run's id".to_owned());
        self.note = Some(format!("not waited for: {why}"));
    }

    /// A signal ended the wait before this run completed.
    pub fn interrupt_wait(&mut self, why: WaitEnd) {
        self.interrupted = true;
        let by = match why {
            WaitEnd::Signal => "the run was interrupted",
            WaitEnd::MaxDuration => "--max-duration was reached",
        };
        self.note = Some(format!(
            "not waited for: {by} before this workflow run completed"
        ));
    }
}

/// What ended a `--wait` before the run completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// Ctrl-C or SIGTERM.
    Signal,
    /// `--max-duration`.
    MaxDuration,
}

/// The result of one request to a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered {
        http_status: u16,
        run: Option<RunInfo>,
    },
    Failed(Failure),
}

/// One target's outcome, with how it got there.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub target: String,
    pub dispatch_id: String,
    pub status: Status,
    /// Requests sent (0 when none was).
    pub attempts: u32,
    /// From the first attempt to the final answer: the requests' own time (with the waits
    /// between retries), not the time queued before it.
    pub duration: Duration,
    /// Time spent waiting for a turn in the lane (the rate limit) before the first attempt.
    pub queued: Duration,
}

impl Outcome {
    /// A target that ended before a request was sent, after `waited` waiting to be ready.
    fn unsent(job: &Job, status: Status, waited: Duration) -> Outcome {
        Outcome {
            target: job.target.clone(),
            dispatch_id: job.dispatch_id.to_string(),
            status,
            attempts: 0,
            duration: Duration::ZERO,
            queued: waited,
        }
    }
}

/// Sends one job once. Implementations must not panic and must redact the job's token from
/// anything they return.
pub trait Sender: Sync {
    fn send(&self, job: &Job) -> impl Future<Output = Attempt> + Send;

    /// Looks one of a job's `await:` artifacts up once. A sender that cannot look (a test
    /// fake) finds every artifact published.
    fn probe_gate(
        &self,
        _gate: &crate::plan::Gate,
    ) -> impl Future<Output = gate::GateAnswer> + Send {
        std::future::ready(gate::GateAnswer::Published)
    }
}

/// Hears each step of delivery; every method has a default that does nothing.
pub trait Observer: Sync {
    /// A request for `job` is about to go out (attempt 1, 2, ...).
    fn sending(&self, _job: &Job, _attempt: u32) {}
    /// `job` will be tried again after `delay`.
    fn retrying(&self, _job: &Job, _failure: &Failure, _delay: Duration) {}
    /// `job` has its final outcome.
    fn finished(&self, _job: &Job, _outcome: &Outcome) {}
    /// `job` is still waiting for `artifact` (`npm @vfarcic/dot-ai@1.2.3`) to be published,
    /// after `waited`: said after its first look, then once a minute.
    fn waiting(&self, _job: &Job, _artifact: &str, _waited: Duration) {}
}

/// How the whole run delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Request starts per lane (API host and identity), every window at once.
    pub rate_limit: RateLimits,
    /// `--max-duration`: from the start of sending, no request starts after this; requests
    /// in flight finish and the rest are `not_sent`.
    pub max_duration: Option<Duration>,
}

impl Delivery {
    /// `concurrency` in flight, paced by `rate_limit` (a window, several, or none).
    pub fn new(concurrency: usize, rate_limit: impl Into<RateLimits>) -> Delivery {
        Delivery {
            concurrency,
            rate_limit: rate_limit.into(),
            max_duration: None,
        }
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery::new(crate::policy::DEFAULT_CONCURRENCY, RateLimits::github())
    }
}

/// Sends every job with at most `delivery.concurrency` in flight; outcomes come back in plan
/// order, one per job, whatever fails. Once `cancel` fires no new request starts, requests
/// in flight finish (each within its timeout), and the rest are reported as not sent.
pub async fn dispatch_all<S: Sender>(
    sender: &S,
    jobs: &[Job],
    delivery: Delivery,
    observer: &dyn Observer,
    cancel: &CancellationToken,
) -> Vec<Outcome> {
    dispatch_following(sender, jobs, delivery, observer, cancel, &needs::NoFollow).await
}

/// [`dispatch_all`], where a target that needs another waits for it, and for its run when
/// `follow` waits on it (see [`needs`]).
pub async fn dispatch_following<S: Sender>(
    sender: &S,
    jobs: &[Job],
    delivery: Delivery,
    observer: &dyn Observer,
    cancel: &CancellationToken,
    follow: &dyn needs::Follow,
) -> Vec<Outcome> {
    let pacer = Pacer::new(delivery.rate_limit);
    let graph = needs::Graph::of(jobs);
    let run = Run {
        sender,
        pacer: &pacer,
        observer,
        cancel,
        graph: graph.as_ref(),
        follow,
        stop_at: delivery
            .max_duration
            .and_then(|max| Instant::now().checked_add(max)),
    };
    let mut outcomes = if jobs.iter().any(ready::waits) {
        run.when_ready(jobs, delivery.concurrency).await
    } else {
        run.at_once(jobs, delivery.concurrency).await
    };
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

impl<S: Sender> Run<'_, S> {
    /// Every job in plan order, `concurrency` at a time: nothing waits before it is sent.
    async fn at_once(&self, jobs: &[Job], concurrency: usize) -> Vec<(usize, Outcome)> {
        stream::iter(jobs.iter().enumerate())
            .map(|(index, job)| async move {
                let outcome = self.deliver(job).await;
                self.observer.finished(job, &outcome);
                (index, outcome)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await
    }

    /// Every job waits for what it needs, holding no slot, then takes one of `concurrency`
    /// slots (in the order they became ready) to be sent.
    async fn when_ready(&self, jobs: &[Job], concurrency: usize) -> Vec<(usize, Outcome)> {
        let slots = Semaphore::new(concurrency.max(1));
        let slots = &slots;
        stream::iter(jobs.iter().enumerate())
            .map(|(index, job)| async move {
                let waited = Instant::now();
                let mut outcome = match self.ready(job).await {
                    Err(status) => Outcome::unsent(job, status, waited.elapsed()),
                    Ok(()) => {
                        // Never closed; a closed semaphore would only lift the limit.
                        let _slot = slots.acquire().await.ok();
                        Box::pin(self.deliver(job)).await
                    }
                };
                self.observer.finished(job, &outcome);
                Box::pin(self.settle(job, &mut outcome)).await;
                (index, outcome)
            })
            .buffer_unordered(jobs.len().max(1))
            .collect()
            .await
    }
}

struct Run<'a, S> {
    sender: &'a S,
    pacer: &'a Pacer,
    observer: &'a dyn Observer,
    cancel: &'a CancellationToken,
    /// `--max-duration`: no request starts after this.
    stop_at: Option<Instant>,
    /// Who needs whom, when any target needs another.
    graph: Option<&'a needs::Graph>,
    follow: &'a dyn needs::Follow,
}

/// One target's delivery so far: its lane, its attempts, and the last answer that asked for a
/// retry.
struct Tries<'j> {
    job: &'j Job,
    lane: Lane,
    started: Instant,
    /// The target's deadline runs from its first attempt: waiting for room in the lane's own
    /// windows before it (an hour, at 500/h) is not the target's failure. A pause GitHub asked
    /// for is bounded by the deadline from the start, as before.
    deadline: Option<Instant>,
    attempts: u32,
    last: Option<Failure>,
}

impl<'j> Tries<'j> {
    fn new(job: &'j Job) -> Tries<'j> {
        Tries {
            job,
            lane: Lane::new(&job.lane, job.token.as_ref().map(|t| t.expose())),
            started: Instant::now(),
            deadline: None,
            attempts: 0,
            last: None,
        }
    }

    /// An attempt starts now; the first starts the deadline.
    fn begin_attempt(&mut self) {
        if self.attempts == 0 {
            self.deadline = Instant::now().checked_add(self.job.retry.deadline);
        }
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Time since the first attempt (since the start, before one).
    fn elapsed(&self) -> Duration {
        self.deadline
            .and_then(|d| d.checked_sub(self.job.retry.deadline))
            .map_or_else(|| self.started.elapsed(), |first| first.elapsed())
    }

    fn interrupted(&mut self) -> Status {
        interrupted(self.attempts, self.last.take())
    }

    fn out_of_time(&mut self) -> Status {
        out_of_time(self.attempts, self.last.take())
    }

    fn outcome(self, status: Status) -> Outcome {
        Outcome {
            target: self.job.target.clone(),
            dispatch_id: self.job.dispatch_id.to_string(),
            status,
            attempts: self.attempts,
            duration: self.elapsed(),
            queued: self.started.elapsed().saturating_sub(self.elapsed()),
        }
    }
}

impl<S: Sender> Run<'_, S> {
    /// Sends `job` until an answer is final, its retries are spent, or the run stops: a turn
    /// in its lane, an attempt, and what the answer calls for, again and again.
    async fn deliver(&self, job: &Job) -> Outcome {
        let mut tries = Tries::new(job);
        let status = loop {
            if let ControlFlow::Break(status) = self.take_turn(&mut tries).await {
                break status;
            }
            tries.begin_attempt();
            self.observer.sending(job, tries.attempts);
            let failure = match self.sender.send(job).await {
                Attempt::Delivered { http_status, run } => {
                    break Status::Delivered { http_status, run }
                }
                Attempt::Failed(failure) => failure,
            };
            if let ControlFlow::Break(status) = self.after_failure(&mut tries, failure).await {
                break status;
            }
        };
        tries.outcome(status)
    }

    /// Waits for the lane to have room for the next attempt; breaks with the target's status
    /// when the run stops first or the lane cannot make room before the deadline.
    async fn take_turn(&self, tries: &mut Tries<'_>) -> ControlFlow<Status> {
        if self.stop_at.is_some_and(|stop| Instant::now() >= stop) {
            return ControlFlow::Break(tries.out_of_time());
        }
        let own_pause = tries
            .deadline
            .or_else(|| Instant::now().checked_add(tries.job.retry.deadline));
        let paused_by = earliest(own_pause, self.stop_at);
        let full_by = earliest(tries.deadline, self.stop_at);
        let acquired = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => None,
            acquired = self.pacer.acquire_within(&tries.lane, paused_by, full_by) => Some(acquired),
        };
        match acquired {
            None => ControlFlow::Break(tries.interrupted()),
            Some(Err(held)) => {
                let own = match held {
                    Held::Paused => own_pause,
                    Held::Full(_) => tries.deadline,
                };
                if self
                    .stop_at
                    .is_some_and(|stop| own.is_none_or(|own| stop < own))
                {
                    return ControlFlow::Break(tries.out_of_time());
                }
                let last = tries.last.take();
                ControlFlow::Break(held_past_deadline(held, tries.job, tries.attempts, last))
            }
            Some(Ok(())) => ControlFlow::Continue(()),
        }
    }

    /// An answer that was not a delivery: the lane paused if GitHub asked for it, then the
    /// retry waited for, or the target's final status.
    async fn after_failure(&self, tries: &mut Tries<'_>, failure: Failure) -> ControlFlow<Status> {
        let job = tries.job;
        let elapsed = tries.elapsed();
        // The lane pauses only for a wait this target accepts itself: a longer one would
        // hold every other target on the host and token past its own deadline.
        if let Retry::RateLimited { wait } = failure.retry {
            let pause = wait.unwrap_or(job.retry.secondary_wait);
            if retry::fits(&job.retry, elapsed, pause) {
                self.pacer.pause(&tries.lane, pause);
            }
        }
        let delay = match retry::next(
            &job.retry,
            &failure,
            tries.attempts,
            elapsed,
            fastrand::f64(),
        ) {
            Next::GiveUp(why) => return ControlFlow::Break(failed(failure, why)),
            Next::Retry(delay) => delay,
        };
        self.observer.retrying(job, &failure, delay);
        tries.last = Some(failure);
        let retry_at = Instant::now().checked_add(delay);
        if self
            .stop_at
            .is_some_and(|stop| retry_at.is_none_or(|at| at >= stop))
        {
            return ControlFlow::Break(tries.out_of_time());
        }
        let waited = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        };
        if waited {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(tries.interrupted())
        }
    }
}

fn failed(failure: Failure, why: Option<String>) -> Status {
    let reason = match why {
        Some(why) => format!("{} ({why})", failure.reason),
        None => failure.reason,
    };
    Status::Failed {
        http_status: failure.http_status,
        reason,
        hint: failure.hint,
    }
}

/// A signal stopped the run before this target had a final answer: `not_sent`, whether or
/// not an earlier attempt went out (that attempt's answer asked for a retry, so it is not
/// delivered; nor did it fail, since the run gave up rather than the target).
fn interrupted(attempts: u32, last: Option<Failure>) -> Status {
    let reason = match last {
        Some(failure) => format!(
            "the run was interrupted while waiting to retry, after {attempts} attempt(s) without a final answer (last: {})",
            failure.reason
        ),
        None => "the run was interrupted before this target was sent".to_owned(),
    };
    Status::NotSent { reason }
}

/// `--max-duration` came before this target had a final answer: `not_sent`, as after a
/// signal, so that `--resume` sends it.
fn out_of_time(attempts: u32, last: Option<Failure>) -> Status {
    let reason = match last {
        Some(failure) => format!(
            "the run reached --max-duration while waiting to retry, after {attempts} attempt(s) without a final answer (last: {})",
            failure.reason
        ),
        None => "the run reached --max-duration before this target was sent".to_owned(),
    };
    Status::NotSent { reason }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The lane (API host and token) cannot start this target's next request before its deadline.
fn held_past_deadline(held: Held, job: &Job, attempts: u32, last: Option<Failure>) -> Status {
    let why = held.reason(job.retry.deadline);
    match last {
        Some(failure) => failed(
            failure,
            Some(format!("gave up after {attempts} attempt(s): {why}")),
        ),
        None => Status::Failed {
            http_status: None,
            reason: format!("not sent: {why}"),
            hint: Some(
                "other targets on this host and token used up its rate limit; run again later (`--retry-failed`), or raise `--deadline`"
                    .to_owned(),
            ),
        },
    }
}
