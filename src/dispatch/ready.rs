//! Readiness: what a target waits for before it may take a slot and be sent.
//!
//! A target that waits (for a published artifact, for the targets it needs) does so outside
//! the concurrency limit: it holds no slot while it waits, so targets that are ready go on.
//! A target with nothing to wait for is ready at once, and a plan where no target waits is
//! sent as it always was (see [`super::dispatch_all`]).

use super::{Run, Sender, Status};
use crate::plan::Job;

/// Whether `job` waits for anything before it is sent.
pub(super) fn waits(job: &Job) -> bool {
    super::needs::waits(job)
}

impl<S: Sender> Run<'_, S> {
    /// Returns once `job` may be sent, or with the status it ends with when it must not be
    /// (a gate that never opened, a need that did not succeed, a stopped run).
    pub(super) async fn ready(&self, job: &Job) -> Result<(), Status> {
        self.needs_met(job).await?;
        Ok(())
    }
}
