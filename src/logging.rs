//! Diagnostics for people watching a run: `tracing` to stderr, `-v` for more, `-q` for less.
//! Every event about a target names it. Tokens never reach a log: they live in `Secret`, and
//! the HTTP stack's own logs stay at warnings unless `-vvv` asks for them (its header logging
//! honours the sensitive flag set on `Authorization`).

use crate::dispatch::{Observer, Outcome, Status};
use crate::github::classify::Failure;
use crate::plan::Job;
use crate::style::indent;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `verbosity` is the count of `-v` minus the count of `-q`.
pub(crate) fn init(verbosity: i8) {
    let ours = match verbosity {
        i8::MIN..=-1 => "error",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let theirs = if verbosity >= 3 { "debug" } else { "warn" };
    let filter = EnvFilter::new(format!("{theirs},orchestrator={ours}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // stderr, lifting the progress line (if any) while a line is written.
        .with_writer(crate::progress::LogWriter)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// Where a server message's further lines go on: under the message, past the level word.
const CONTINUED: &str = "        ";

/// Logs each step of delivery.
pub(crate) struct Log;

impl Observer for Log {
    fn sending(&self, job: &Job, attempt: u32) {
        tracing::debug!(target_name = %job.target, attempt, url = %job.url.shown(), "sending");
    }

    fn retrying(&self, job: &Job, failure: &Failure, delay: Duration) {
        tracing::info!(
            target_name = %job.target,
            "{}; retrying in {:.1} s",
            indent(&failure.reason, CONTINUED),
            delay.as_secs_f64()
        );
    }

    fn finished(&self, job: &Job, outcome: &Outcome) {
        let ms = outcome.duration.as_millis() as u64;
        match &outcome.status {
            Status::Delivered { http_status, .. } => {
                tracing::debug!(target_name = %job.target, http_status, attempts = outcome.attempts, ms, "delivered")
            }
            Status::Failed { reason, .. } => {
                tracing::debug!(target_name = %job.target, attempts = outcome.attempts, ms, "failed: {}", indent(reason, CONTINUED))
            }
            Status::Skipped { reason } | Status::NotSent { reason } => {
                tracing::debug!(target_name = %job.target, "not sent: {}", indent(reason, CONTINUED))
            }
            Status::Blocked { reason } => {
                tracing::info!(target_name = %job.target, "blocked: {}", indent(reason, CONTINUED))
            }
        }
    }
}

/// Passes each step to several observers.
pub(crate) struct All<'a>(pub Vec<&'a dyn Observer>);

impl Observer for All<'_> {
    fn sending(&self, job: &Job, attempt: u32) {
        self.0.iter().for_each(|o| o.sending(job, attempt));
    }
    fn retrying(&self, job: &Job, failure: &Failure, delay: Duration) {
        self.0.iter().for_each(|o| o.retrying(job, failure, delay));
    }
    fn finished(&self, job: &Job, outcome: &Outcome) {
        self.0.iter().for_each(|o| o.finished(job, outcome));
    }
}
