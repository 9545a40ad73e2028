//! `cancel_on_stop`: cancelling the workflow runs this run started when it stops before they
//! completed (a signal, `--max-duration`, or a wait given up on).
//!
//! Only runs this run knows are ours are cancelled: a workflow_dispatch run by the id GitHub
//! answered the dispatch with, a tracked run by the id of the run found carrying its tracking
//! id. The request is `POST {api_base}/repos/{owner}/{repo}/actions/runs/{id}/cancel`, built
//! from the configured API base and the run's number (never from a URL a server sent), with
//! the headers and token of every GitHub request, through `github::outbound`'s client. GitHub
//! answers 202 (cancelling) or 409 (the run had completed). The cancels go
//! [`CANCELS_AT_ONCE`] at a time and all of them within [`CANCEL_DEADLINE`]: a server that is
//! slow, silent or huge cannot hold the end of the run, and only the status of its answer is
//! read (the body is cut at [`MAX_CANCEL_BODY`] and dropped).

use super::{run_or_job_completed, run_url, sender};
use crate::dispatch::sender::GitHub;
use crate::dispatch::{Cancel, Outcome, RunInfo, Status, WaitEnd};
use crate::github::response::Answered;
use crate::plan::Job;
use futures::stream::{self, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// How long every cancel together may take: the run is stopping, and its user is waiting.
pub(crate) const CANCEL_DEADLINE: Duration = Duration::from_secs(10);
/// Cancels in flight at once.
const CANCELS_AT_ONCE: usize = 8;
/// A cancel's answer is `{}`; only its status is used.
const MAX_CANCEL_BODY: usize = 64 * 1024;

/// How many runs a stop cancelled, and how many cancels failed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cancelled {
    pub requested: usize,
    pub failed: usize,
}

/// Cancels every run `cancel_on_stop` covers: after `stop` (a signal, `--max-duration`), every
/// known run of ours not completed; without one, the runs the wait gave up on. Each run's
/// [`RunInfo::cancel`] says what became of its cancel.
pub(crate) async fn cancel_runs(
    github: &GitHub,
    jobs: &[Job],
    outcomes: &mut [Outcome],
    stop: Option<WaitEnd>,
) -> Cancelled {
    let chosen: Vec<(usize, u64)> = jobs
        .iter()
        .zip(outcomes.iter())
        .enumerate()
        .filter_map(|(i, (job, outcome))| Some((i, to_cancel(job, outcome, stop)?)))
        .collect();
    if chosen.is_empty() {
        return Cancelled::default();
    }
    let mut answers: Vec<Option<Cancel>> = vec![None; chosen.len()];
    let deadline = Instant::now() + CANCEL_DEADLINE;
    let asked = async {
        let mut cancels = stream::iter(chosen.iter().enumerate())
            .map(|(slot, &(i, id))| async move { (slot, cancel_one(github, &jobs[i], id).await) })
            .buffer_unordered(CANCELS_AT_ONCE);
        while let Some((slot, answer)) = cancels.next().await {
            answers[slot] = Some(answer);
        }
    };
    // Whatever is unanswered at the deadline is dropped (its connection closed) and said.
    let _ = tokio::time::timeout_at(deadline, asked).await;
    let mut cancelled = Cancelled::default();
    for ((i, id), answer) in chosen.into_iter().zip(answers) {
        let answer = answer.unwrap_or_else(|| Cancel::Failed {
            reason: format!(
                "no answer within the {} s the cancels may take",
                crate::policy::shown_secs(CANCEL_DEADLINE)
            ),
        });
        said(&jobs[i], id, &answer);
        match answer {
            Cancel::Requested => cancelled.requested += 1,
            Cancel::Failed { .. } => cancelled.failed += 1,
            Cancel::AlreadyCompleted => {}
        }
        if let Status::Delivered { run: Some(run), .. } = &mut outcomes[i].status {
            run.cancel = Some(answer);
        }
    }
    cancelled
}

/// The run id to cancel for this target, if `cancel_on_stop` covers its run.
fn to_cancel(job: &Job, outcome: &Outcome, stop: Option<WaitEnd>) -> Option<u64> {
    if !job.cancel_on_stop || job.repository.is_none() {
        return None;
    }
    let Status::Delivered { run: Some(run), .. } = &outcome.status else {
        return None;
    };
    let ours = run.id?;
    (!run_or_job_completed(run) && (stop.is_some() || run.abandoned)).then_some(ours)
}

/// One cancel: GitHub's answer as a [`Cancel`].
async fn cancel_one(github: &GitHub, job: &Job, id: u64) -> Cancel {
    let Some(repo) = &job.repository else {
        return Cancel::Failed {
            reason: "no repository".to_owned(),
        };
    };
    let job = match github.authorized(job).await {
        Ok(job) => job,
        Err(failure) => return failed(&failure.reason),
    };
    let url = format!("{}/cancel", run_url(&job.api_base, repo, id));
    let request = github.github_request(reqwest::Method::POST, &url, &job);
    let response = match sender::send(&job, request).await {
        Ok(response) => response,
        Err(failure) => return failed(&failure.reason),
    };
    let answered = Answered::read(response, MAX_CANCEL_BODY).await;
    match answered.status {
        202 => Cancel::Requested,
        409 => Cancel::AlreadyCompleted,
        status => Cancel::Failed {
            reason: format!("GitHub answered {status}"),
        },
    }
}

/// A cancel that got no answer: why, as a terminal shows it.
fn failed(reason: &str) -> Cancel {
    Cancel::Failed {
        reason: crate::untrusted::shown(reason, 300),
    }
}

/// The log's line for one cancel.
fn said(job: &Job, id: u64, answer: &Cancel) {
    let target = &job.target;
    match answer {
        Cancel::Requested => {
            tracing::info!(target_name = %target, "cancelled the workflow run {id}")
        }
        Cancel::AlreadyCompleted => {
            tracing::info!(target_name = %target, "the workflow run {id} had completed; nothing to cancel");
        }
        Cancel::Failed { reason } => {
            tracing::warn!(target_name = %target, "could not cancel the workflow run {id}: {reason}");
        }
    }
}

impl RunInfo {
    /// How the report shows this run's cancel, if one was asked for.
    pub fn cancel_said(&self) -> Option<String> {
        Some(match self.cancel.as_ref()? {
            Cancel::Requested => "cancelled (cancel_on_stop)".to_owned(),
            Cancel::AlreadyCompleted => "not cancelled: it had completed".to_owned(),
            Cancel::Failed { reason } => format!("could not cancel it: {reason}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Settings;
    use crate::release::{CiContext, Release};
    use crate::version::Version;

    /// Workflow-dispatch targets `a`, `b`, `c` on `api`, `cancel_on_stop` set as given.
    fn jobs(api: &str, cancel_on_stop: &str) -> Vec<Job> {
        let mut yaml = format!("version: 1\ndefaults: {{api_url: \"{api}\", cancel_on_stop: {cancel_on_stop}}}\nsources:\n  app: {{repository: o/app, targets: [a, b, c]}}\ntargets:\n");
        for name in ["a", "b", "c"] {
            yaml.push_str(&format!("  {name}: {{kind: workflow_dispatch, repository: o/{name}, workflow: w.yml, ref: main, token_env: T, wait: true}}\n"));
        }
        let none = figment::providers::Serialized::defaults(Settings::default());
        let config = crate::config::check(yaml.as_bytes(), none, &Settings::default())
            .config
            .unwrap();
        let release = Release {
            source: "app".to_owned(),
            version: Version::parse("1.0.0").unwrap(),
            vars: Default::default(),
            ci: CiContext::sample(),
            changes: None,
        };
        let token = |_: &str| Some("a-token-for-tests".to_owned());
        crate::plan::plan(&config, &release, &token, crate::plan::PlanMode::Send)
            .unwrap()
            .jobs
    }

    /// Each job delivered, its run (ids 1, 2, 3) with the status given.
    fn outcomes(jobs: &[Job], statuses: [&str; 3]) -> Vec<Outcome> {
        jobs.iter()
            .zip(1..)
            .zip(statuses)
            .map(|((job, id), status)| Outcome {
                target: job.target.clone(),
                dispatch_id: job.dispatch_id.to_string(),
                status: Status::Delivered {
                    http_status: 200,
                    run: Some(RunInfo {
                        id: Some(id),
                        status: Some(status.to_owned()),
                        ..RunInfo::default()
                    }),
                },
                attempts: 1,
                duration: Duration::ZERO,
                queued: Duration::ZERO,
            })
            .collect()
    }

    #[test]
    fn a_stop_cancels_our_runs_not_completed_and_a_wait_only_the_runs_it_gave_up_on() {
        let jobs = jobs("http://127.0.0.1:9", "true");
        let mut done = outcomes(&jobs, ["in_progress", "completed", "queued"]);
        let chosen = |done: &[Outcome], stop| -> Vec<Option<u64>> {
            jobs.iter()
                .zip(done)
                .map(|(job, outcome)| to_cancel(job, outcome, stop))
                .collect()
        };
        assert_eq!(
            chosen(&done, Some(WaitEnd::Signal)),
            [Some(1), None, Some(3)]
        );
        assert_eq!(chosen(&done, None), [None, None, None]);
        if let Status::Delivered { run: Some(run), .. } = &mut done[2].status {
            run.abandoned = true;
        }
        assert_eq!(chosen(&done, None), [None, None, Some(3)]);
        let off = self::jobs("http://127.0.0.1:9", "false");
        assert!(off.iter().zip(&done).all(|(job, outcome)| to_cancel(
            job,
            outcome,
            Some(WaitEnd::MaxDuration)
        )
        .is_none()));
    }

    #[tokio::test(start_paused = true)]
    async fn cancels_never_answered_end_at_the_deadline_and_say_so() {
        // A socket that accepts connections (the kernel's backlog) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api = format!("http://{}", silent.local_addr().unwrap());
        let jobs = jobs(&api, "true");
        let mut done = outcomes(&jobs, ["in_progress", "queued", "in_progress"]);
        let started = Instant::now();

        let github = GitHub::new().unwrap();
        let cancelled = cancel_runs(&github, &jobs, &mut done, Some(WaitEnd::Signal)).await;

        assert_eq!(started.elapsed(), CANCEL_DEADLINE);
        assert_eq!(
            cancelled,
            Cancelled {
                requested: 0,
                failed: 3
            }
        );
        for outcome in &done {
            let Status::Delivered { run: Some(run), .. } = &outcome.status else {
                panic!("{outcome:?}");
            };
            assert_eq!(
                run.cancel_said().as_deref(),
                Some("could not cancel it: no answer within the 10 s the cancels may take")
            );
        }
    }
}
