//! `needs:` while sending: a target waits (holding no slot) until each target it needs is
//! settled, then goes, or ends `blocked` naming the need.
//!
//! Each job has a settled signal (a `watch`), set once its outcome is final: at once for a
//! need nobody waits on the run of, and for a need whose run is waited on (`wait: true`, or
//! `track: true` under `--wait`) only once that run concluded. Such a run is followed as soon
//! as its dispatch is delivered, through [`Follow`], not after the whole fan-out; the wait
//! after the fan-out then passes over it, so it is never followed twice, and the report shows
//! it as any waited run. Independent targets go at once: a target waits for its own needs
//! only, not for a wave.

use super::{Outcome, Run, Sender, Status};
use crate::plan::Job;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;

/// Following a delivered run to its conclusion, for the targets that need it.
pub trait Follow: Sync {
    /// Whether `job`'s run is waited on to its conclusion.
    fn waits_for(&self, job: &Job) -> bool;
    /// Follows `job`'s delivered run until it concludes (or the wait times out), updating the
    /// run details in `outcome`.
    fn follow<'a>(&'a self, job: &'a Job, outcome: &'a mut Outcome) -> BoxFuture<'a, ()>;
}

/// No run is followed during the fan-out: each need is settled by its delivery.
pub(crate) struct NoFollow;

impl Follow for NoFollow {
    fn waits_for(&self, _job: &Job) -> bool {
        false
    }
    fn follow<'a>(&'a self, _job: &'a Job, _outcome: &'a mut Outcome) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// How a need ended, for its dependents: done, or why they are blocked ("failed").
type Settled = Option<Result<(), String>>;

/// Who needs whom in one plan, and each job's settled signal.
pub(super) struct Graph {
    index: HashMap<String, usize>,
    needed: Vec<bool>,
    settled: Vec<watch::Sender<Settled>>,
}

impl Graph {
    /// `None` when no job needs another: nothing to wait for.
    pub(super) fn of(jobs: &[Job]) -> Option<Graph> {
        if jobs.iter().all(|j| j.needs.is_empty()) {
            return None;
        }
        let index: HashMap<String, usize> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.target.clone(), i))
            .collect();
        let mut needed = vec![false; jobs.len()];
        for need in jobs.iter().flat_map(|j| &j.needs) {
            if let Some(&i) = index.get(need) {
                needed[i] = true;
            }
        }
        let settled = jobs.iter().map(|_| watch::Sender::new(None)).collect();
        Some(Graph {
            index,
            needed,
            settled,
        })
    }
}

/// Whether `job` waits for other targets.
pub(super) fn waits(job: &Job) -> bool {
    !job.needs.is_empty()
}

impl<S: Sender> Run<'_, S> {
    /// Returns once every need of `job` is done, or with `blocked` naming the first that is
    /// not (`not_sent` when the run stops first). While a need is not settled, the target
    /// says so ("waiting for `cli`"), like a target waiting for an artifact.
    pub(super) async fn needs_met(&self, job: &Job) -> Result<(), Status> {
        let Some(graph) = self.graph else {
            return Ok(());
        };
        let started = tokio::time::Instant::now();
        for need in &job.needs {
            let Some(&at) = graph.index.get(need) else {
                continue; // settled before sending (see `plan::needs::settle`)
            };
            let mut settled = graph.settled[at].subscribe();
            let stop = async {
                match self.stop_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let ended = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(super::interrupted(0, None)),
                _ = stop => return Err(super::out_of_time(0, None)),
                ended = self.waiting_for(job, need, &mut settled, started) => ended,
            };
            if let Some(Err(why)) = ended {
                return Err(Status::Blocked {
                    reason: format!("needs `{need}`, which {why}"),
                });
            }
        }
        Ok(())
    }

    /// How `need` ended, once it has; the target says it waits for it when it must, then once
    /// a minute (counted from `started`, when the target began waiting for its needs), never
    /// on every wake-up.
    async fn waiting_for(
        &self,
        job: &Job,
        need: &str,
        settled: &mut watch::Receiver<Settled>,
        started: tokio::time::Instant,
    ) -> Settled {
        let label = format!("`{need}`");
        loop {
            if let Some(ended) = settled.borrow_and_update().clone() {
                return Some(ended);
            }
            let waited = started.elapsed();
            self.observer.waiting(job, &label, waited);
            let next_minute = started + Duration::from_secs((waited.as_secs() / 60 + 1) * 60);
            tokio::select! {
                changed = settled.changed() => {
                    if changed.is_err() {
                        return None; // the graph is gone: nothing more will be said of it
                    }
                }
                () = tokio::time::sleep_until(next_minute) => {}
            }
        }
    }

    /// `job`'s outcome is final: when another target needs it and its run is waited on,
    /// that run is followed now; then its dependents hear how it ended.
    pub(super) async fn settle(&self, job: &Job, outcome: &mut Outcome) {
        let Some(graph) = self.graph else {
            return;
        };
        let Some(&at) = graph.index.get(&job.target) else {
            return;
        };
        if !graph.needed[at] {
            return;
        }
        let waited = self.follow.waits_for(job);
        if waited && matches!(outcome.status, Status::Delivered { .. }) {
            tokio::select! {
                biased;
                // The wait after the fan-out marks the run as not waited for.
                _ = self.cancel.cancelled() => {}
                () = self.follow.follow(job, outcome) => {}
            }
        }
        graph.settled[at].send_replace(Some(ended(&outcome.status, waited)));
    }
}

/// What `status` means for the targets that need it: done, or why they are blocked.
fn ended(status: &Status, waited: bool) -> Result<(), String> {
    match status {
        Status::Delivered { .. } if !waited => Ok(()),
        Status::Delivered { run: Some(run), .. } if run.not_waited => {
            Err("was delivered, but GitHub did not say which workflow run it started, so that run could not be followed".to_owned())
        }
        // What the need's own report counts as success: with `wait: { job: NAME }`, that job's.
        Status::Delivered { run: Some(run), .. } if run.succeeded() => Ok(()),
        Status::Delivered { run: Some(run), .. } => Err(not_succeeded(run)),
        Status::Delivered { run: None, .. } => {
            Err("was delivered, but its workflow run could not be followed".to_owned())
        }
        Status::Failed { .. } => Err("failed".to_owned()),
        Status::Skipped { .. } => Err("was skipped".to_owned()),
        Status::NotSent { .. } => Err("was not sent".to_owned()),
        Status::Blocked { .. } => Err("was blocked".to_owned()),
    }
}

/// Why a waited-for run (or its job waited for) is not a success, in the dependents' reason.
fn not_succeeded(run: &super::RunInfo) -> String {
    let (what, status, conclusion) = match &run.job {
        Some(job) => (
            format!("its job `{}`", job.name),
            job.status.as_deref(),
            job.conclusion.as_deref(),
        ),
        None => (
            "its workflow run".to_owned(),
            run.status.as_deref(),
            run.conclusion.as_deref(),
        ),
    };
    match (status, conclusion) {
        (Some("completed"), Some(conclusion)) => {
            format!("was delivered, but {what} concluded `{conclusion}`")
        }
        (Some(status), None) if status != "completed" => {
            format!("was delivered, but {what} was still `{status}` when the wait ended")
        }
        _ => format!("was delivered, but {what} did not conclude"),
    }
}

/// Follows a needed run through [`super::wait`], as the wait after the fan-out would.
pub(crate) struct Following<'a> {
    pub github: &'a super::sender::GitHub,
    pub options: super::wait::WaitOptions,
    pub budgets: &'a super::budget::ReadBudgets,
}

impl Follow for Following<'_> {
    fn waits_for(&self, job: &Job) -> bool {
        super::wait::waits_for(job, self.options)
    }

    fn follow<'a>(&'a self, job: &'a Job, outcome: &'a mut Outcome) -> BoxFuture<'a, ()> {
        Box::pin(super::wait::wait_for_runs(
            self.github,
            std::slice::from_ref(job),
            std::slice::from_mut(outcome),
            self.options,
            self.budgets,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::{RunInfo, RunJob};

    fn delivered(conclusion: &str, job: Option<(&str, Option<&str>)>) -> Status {
        Status::Delivered {
            http_status: 204,
            run: Some(RunInfo {
                id: Some(1),
                status: Some("completed".to_owned()),
                conclusion: Some(conclusion.to_owned()),
                job: job.map(|(name, conclusion)| {
                    Box::new(RunJob {
                        name: name.to_owned(),
                        status: conclusion.map(|_| "completed".to_owned()),
                        conclusion: conclusion.map(str::to_owned),
                        html_url: None,
                    })
                }),
                ..RunInfo::default()
            }),
        }
    }

    #[test]
    fn a_need_waited_for_by_one_job_is_done_when_that_job_succeeded() {
        assert_eq!(ended(&delivered("success", None), true), Ok(()));
        assert_eq!(
            ended(
                &delivered("failure", Some(("deploy", Some("success")))),
                true
            ),
            Ok(()),
            "the job waited for succeeded; another job failed the run"
        );
        assert_eq!(
            ended(
                &delivered("success", Some(("deploy", Some("skipped")))),
                true
            ),
            Err("was delivered, but its job `deploy` concluded `skipped`".to_owned())
        );
        assert_eq!(
            ended(&delivered("success", Some(("deploy", None))), true),
            Err("was delivered, but its job `deploy` did not conclude".to_owned())
        );
        assert_eq!(
            ended(&delivered("failure", None), true),
            Err("was delivered, but its workflow run concluded `failure`".to_owned())
        );
    }
}
