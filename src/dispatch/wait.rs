//! `--wait`: after delivery, follow the workflow runs that workflow_dispatch targets started
//! until they complete, and report each run's conclusion.
//!
//! A run is polled at `{api_base}/repos/{owner}/{repo}/actions/runs/{id}`, built from the
//! configured API base, whatever `run_url` GitHub's answer named (that stays display data),
//! with the same token the dispatch carried (an App's installation token included).

use super::sender::{self, GitHub};
use super::{Outcome, RunInfo, Status};
use crate::github::response::Answered;
use crate::plan::Job;
use crate::untrusted;
use futures::future::join_all;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// How long to follow runs, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitOptions {
    /// Wait for every workflow_dispatch target, not only those with `wait: true`.
    pub all: bool,
    pub timeout: Duration,
    /// The first pause between polls; it grows by half each time, up to 30 s.
    pub first_poll: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            all: false,
            timeout: Duration::from_secs(30 * 60),
            first_poll: Duration::from_secs(5),
        }
    }
}

/// A workflow run's JSON is a few KiB; more is not a run.
const MAX_RUN_BODY: usize = 1024 * 1024;

#[derive(Deserialize)]
struct Run {
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
}

/// Follows every run that should be waited for; the outcomes' run details are updated.
pub async fn wait_for_runs(
    github: &GitHub,
    jobs: &[Job],
    outcomes: &mut [Outcome],
    options: WaitOptions,
) {
    let waits = jobs.iter().zip(outcomes.iter_mut()).filter_map(|(job, outcome)| {
        let Status::Delivered { run, .. } = &mut outcome.status else {
            return None;
        };
        let wanted = options.all || job.workflow.as_ref().is_some_and(|w| w.wait);
        if !wanted {
            return None;
        }
        if job.workflow.is_none() {
            *run = Some(RunInfo::unknown(
                "a repository_dispatch does not identify the run it starts, so it cannot be waited for",
            ));
            return None;
        }
        let run = run.get_or_insert_with(RunInfo::default);
        if run.id.is_none() {
            run.cannot_wait();
            return None;
        }
        Some(follow(github, job, run, options))
    });
    join_all(waits).await;
}

async fn follow(github: &GitHub, job: &Job, run: &mut RunInfo, options: WaitOptions) {
    let Some(url) = poll_url(job, run) else {
        return;
    };
    let started = Instant::now();
    let mut pause = options.first_poll;
    loop {
        match poll(github, job, &url).await {
            Ok(seen) => {
                // Shown to people: only GitHub's words and a clean link survive.
                run.status = seen.status.as_deref().map(untrusted::word);
                run.conclusion = seen.conclusion.as_deref().map(untrusted::word);
                if let Some(url) = seen.html_url.as_deref().and_then(untrusted::link) {
                    run.html_url = Some(url);
                }
                if run.status.as_deref() == Some("completed") {
                    tracing::info!(target_name = %job.target, "run completed: {}", run.conclusion.as_deref().unwrap_or("unknown"));
                    return;
                }
            }
            Err(message) => {
                tracing::info!(target_name = %job.target, "could not read the run: {message}")
            }
        }
        if started.elapsed() + pause > options.timeout {
            let status = run.status.clone().unwrap_or_else(|| "unknown".to_owned());
            run.status = Some(status.clone());
            run.note = Some(format!(
                "still {status} after waiting {} s",
                options.timeout.as_secs()
            ));
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause + pause / 2).min(Duration::from_secs(30));
    }
}

/// The REST URL of the run, built from the configured API base and the run's id; a URL in
/// GitHub's answer is never requested (it could name any host).
fn poll_url(job: &Job, run: &RunInfo) -> Option<String> {
    let repo = job.repository.as_ref()?;
    Some(format!(
        "{}/repos/{}/{}/actions/runs/{}",
        job.api_base.trim_end_matches('/'),
        repo.owner,
        repo.name,
        run.id?
    ))
}

async fn poll(github: &GitHub, job: &Job, url: &str) -> Result<Run, String> {
    // Minted now, so a long wait gets a fresh App token before the cached one expires.
    let job = github.authorized(job).await.map_err(|f| f.reason)?;
    let request = github.github_request(reqwest::Method::GET, url, &job);
    let response = sender::send(&job, request).await.map_err(|f| f.reason)?;
    let answered = Answered::read(response, MAX_RUN_BODY).await;
    if !answered.is_success() {
        return Err(format!("GitHub answered {}", answered.status));
    }
    serde_json::from_str(&answered.body).map_err(|e| format!("unexpected answer: {e}"))
}
