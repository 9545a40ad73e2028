//! Sending a plan: every job concurrently (bounded), each ending as an [`Outcome`].
//!
//! The [`Sender`] trait is the seam between "what to send" and "how": the GitHub client
//! implements it over HTTP, and tests can put a recording fake in its place.

pub mod classify;
pub mod github;

use crate::plan::Job;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant};

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Status {
    Delivered {
        http_status: u16,
    },
    Failed {
        #[serde(skip_serializing_if = "Option::is_none")]
        http_status: Option<u16>,
        /// What went wrong, in GitHub's words where it gave any.
        reason: String,
        /// What to do about it.
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    Skipped {
        reason: String,
    },
}

/// The result of one request to a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered { http_status: u16 },
    Failed(classify::Failure),
}

/// One target's outcome, with how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub target: String,
    pub status: Status,
    pub attempts: u32,
    pub duration: Duration,
}

/// Sends one job once. Implementations must not panic and must redact the job's token from
/// anything they return.
pub trait Sender: Sync {
    fn send(&self, job: &Job) -> impl Future<Output = Attempt> + Send;
}

/// Sends every job with at most `concurrency` in flight; outcomes come back in plan order,
/// one per job, whatever fails.
pub async fn dispatch_all<S: Sender>(sender: &S, jobs: &[Job], concurrency: usize) -> Vec<Outcome> {
    let mut outcomes: Vec<(usize, Outcome)> = stream::iter(jobs.iter().enumerate())
        .map(|(index, job)| async move { (index, deliver(sender, job).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

async fn deliver<S: Sender>(sender: &S, job: &Job) -> Outcome {
    let started = Instant::now();
    let status = match sender.send(job).await {
        Attempt::Delivered { http_status } => Status::Delivered { http_status },
        Attempt::Failed(failure) => Status::Failed {
            http_status: failure.http_status,
            reason: failure.reason,
            hint: failure.hint,
        },
    };
    Outcome {
        target: job.target.clone(),
        status,
        attempts: 1,
        duration: started.elapsed(),
    }
}
