//! Following runs after delivery: finding the run each `track: true` repository_dispatch
//! started, and with `--wait` (or `wait: true`) following runs to their conclusion.
//!
//! Reads go per repository, not per run: each poll makes one request per repository for every
//! run followed there, `GET {api_base}/repos/{owner}/{repo}/actions/runs` (with `event=` when
//! all runs there came from one kind of event, `created=>=` the delivery's start minus a clock
//! skew, 100 a page), or `.../actions/runs/{id}` when the repository has just one run left and
//! its id is known. A tracked run is the one whose `display_title` contains the target's
//! tracking id, never "the newest run". Every URL is built from the configured API base,
//! whatever GitHub's answers name (those stay display data), and every read takes its turn
//! in its token's [`super::budget`].

use super::budget::{Budget, Quota, ReadBudgets};
use super::sender::{self, GitHub};
use super::{Outcome, RunInfo, Status};
use crate::config::Repo;
use crate::github::response::Answered;
use crate::plan::Job;
use crate::untrusted;
use futures::future::join_all;
use indexmap::IndexMap;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// What a tracked target reports when no run carried its id in time.
pub const NO_RUN: &str = "no run started: is a workflow listening? (see `orchestrator check`)";
/// How long a tracked run may take to appear (or the wait timeout, if shorter).
pub const FIND_TIMEOUT: Duration = Duration::from_secs(120);
/// Runs created this long before delivery started are listed too: our clock and GitHub's may
/// disagree.
pub const CLOCK_SKEW: Duration = Duration::from_secs(120);
const PER_PAGE: u64 = 100;
/// Pages read in one poll when the runs looked for are not on the first (a busy repository).
const MAX_PAGES: u64 = 5;
/// A run's JSON is a few KiB; a page of 100 some hundreds.
const MAX_RUN_BODY: usize = 1024 * 1024;
const MAX_LIST_BODY: usize = 16 * 1024 * 1024;

/// How long to follow runs, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitOptions {
    /// Wait for every workflow_dispatch and tracked target, not only those with `wait: true`.
    pub all: bool,
    pub timeout: Duration,
    /// The first pause between polls; it grows by half each time, up to 30 s.
    pub first_poll: Duration,
    /// How long a tracked run may take to appear (capped by `timeout`).
    pub find_timeout: Duration,
    /// When delivery started; runs created from then (minus [`CLOCK_SKEW`]) are listed.
    /// `None`: when following starts.
    pub since: Option<SystemTime>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            all: false,
            timeout: Duration::from_secs(30 * 60),
            first_poll: Duration::from_secs(5),
            find_timeout: FIND_TIMEOUT,
            since: None,
        }
    }
}

/// Whether `job`'s run is followed to its conclusion.
pub fn waits_for(job: &Job, options: WaitOptions) -> bool {
    match &job.workflow {
        Some(call) => options.all || call.wait,
        None => options.all && job.tracking_id.is_some(),
    }
}

/// Follows every run that should be found or waited for; the outcomes' run details are
/// updated. Reads are counted in `budgets`.
pub async fn wait_for_runs(
    github: &GitHub,
    jobs: &[Job],
    outcomes: &mut [Outcome],
    options: WaitOptions,
    budgets: &ReadBudgets,
) {
    let since = options.since.unwrap_or_else(SystemTime::now);
    let mut repositories: IndexMap<String, Vec<Watch<'_>>> = IndexMap::new();
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        let Status::Delivered { run, .. } = &mut outcome.status else {
            continue;
        };
        let to_completion = waits_for(job, options);
        let looking = match (&job.workflow, &job.tracking_id) {
            (Some(_), _) if to_completion => match run.as_ref().and_then(|r| r.id) {
                Some(id) => Looking::Id(id),
                // A wait was asked for, but GitHub named no run: say so rather than pass.
                None => {
                    run.get_or_insert_with(RunInfo::default).cannot_wait();
                    continue;
                }
            },
            (None, Some(id)) => Looking::Title(id.clone()),
            (None, None) if options.all => {
                *run = Some(RunInfo::unknown(
                    "a repository_dispatch does not identify the run it starts, so it cannot be waited for; `track: true` follows it",
                ));
                continue;
            }
            _ => continue,
        };
        let Some(repo) = &job.repository else {
            continue;
        };
        // One budget per token (by its lane and variable, never its value), one poll per
        // repository and token.
        let token = format!("{}\n{}", job.lane, job.token_env.as_deref().unwrap_or(""));
        repositories
            .entry(format!("{token}\n{}\n{repo}", job.api_base))
            .or_default()
            .push(Watch {
                job,
                budget: budgets.of(&token),
                run: run.get_or_insert_with(RunInfo::default),
                looking,
                to_completion,
                done: false,
            });
    }
    let follows = repositories
        .into_values()
        .map(|watches| follow_repository(github, watches, options, since, budgets));
    join_all(follows).await;
}

/// After a signal, every run that was to be followed to its conclusion and had not completed
/// is marked as not waited for: an interrupted wait is neither success nor failure.
pub fn interrupt_waits(
    jobs: &[Job],
    outcomes: &mut [Outcome],
    options: WaitOptions,
    why: super::WaitEnd,
) {
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        let Status::Delivered { run: Some(run), .. } = &mut outcome.status else {
            continue;
        };
        let followed = run.id.is_some() || job.tracking_id.is_some();
        if waits_for(job, options) && followed && run.status.as_deref() != Some("completed") {
            run.interrupt_wait(why);
        }
    }
}

enum Looking {
    /// A workflow_dispatch run, by the id GitHub answered with.
    Id(u64),
    /// A tracked repository_dispatch run, by the tracking id in its title.
    Title(String),
}

struct Watch<'a> {
    job: &'a Job,
    budget: Arc<Budget>,
    run: &'a mut RunInfo,
    looking: Looking,
    to_completion: bool,
    done: bool,
}

#[derive(Deserialize)]
struct Run {
    #[serde(default)]
    id: Option<u64>,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    event: Option<String>,
}

#[derive(Deserialize)]
struct RunList {
    #[serde(default)]
    total_count: Option<u64>,
    workflow_runs: Vec<Run>,
}

async fn follow_repository(
    github: &GitHub,
    mut watches: Vec<Watch<'_>>,
    options: WaitOptions,
    since: SystemTime,
    budgets: &ReadBudgets,
) {
    let started = Instant::now();
    let find_timeout = options.find_timeout.min(options.timeout);
    let mut pause = options.first_poll;
    loop {
        let pending: Vec<usize> = (0..watches.len()).filter(|&i| !watches[i].done).collect();
        let Some(&first) = pending.first() else {
            return;
        };
        let job = watches[first].job;
        let budget = Arc::clone(&watches[first].budget);
        let single = match (&watches[first].looking, pending.len()) {
            (Looking::Id(id), 1) => Some(*id),
            _ => None,
        };
        let read = match single {
            Some(id) => read_run(github, job, &budget, budgets, id)
                .await
                .map(|run| vec![run]),
            None => {
                let event = list_event(pending.iter().map(|&i| &watches[i]));
                read_list(github, job, &budget, budgets, event, since, |runs| {
                    pending.iter().all(|&i| find(&watches[i], runs).is_some())
                })
                .await
            }
        };
        match read {
            Ok(runs) => {
                for &i in &pending {
                    let watch = &mut watches[i];
                    let matches = matching(watch, &runs);
                    if let Some(run) = matches.first() {
                        seen(watch, run, matches.len());
                    }
                }
            }
            Err(message) => {
                tracing::info!(target_name = %job.target, "could not read the runs: {message}")
            }
        }
        let elapsed = started.elapsed();
        for &i in &pending {
            let watch = &mut watches[i];
            if watch.done {
                continue;
            }
            let found = watch.run.id.is_some();
            if !found && matches!(watch.looking, Looking::Title(_)) {
                if elapsed + pause > find_timeout {
                    tracing::info!(target_name = %watch.job.target, "{NO_RUN}");
                    watch.run.note = Some(NO_RUN.to_owned());
                    if watch.to_completion {
                        watch.run.status = Some("not_started".to_owned());
                    }
                    watch.done = true;
                }
            } else if elapsed + pause > options.timeout {
                let status = watch
                    .run
                    .status
                    .clone()
                    .unwrap_or_else(|| "unknown".to_owned());
                watch.run.status = Some(status.clone());
                watch.run.note = Some(format!(
                    "still {status} after waiting {} s",
                    options.timeout.as_secs()
                ));
                watch.done = true;
            }
        }
        if watches.iter().all(|w| w.done) {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause + pause / 2).min(Duration::from_secs(30));
    }
}

/// `event=` for the list: the one kind of event every run looked for came from, if one.
fn list_event<'a>(mut watches: impl Iterator<Item = &'a Watch<'a>>) -> Option<&'static str> {
    let event = |w: &Watch<'_>| match w.looking {
        Looking::Id(_) => "workflow_dispatch",
        Looking::Title(_) => "repository_dispatch",
    };
    let first = event(watches.next()?);
    watches.all(|w| event(w) == first).then_some(first)
}

fn find<'r>(watch: &Watch<'_>, runs: &'r [Run]) -> Option<&'r Run> {
    matching(watch, runs).into_iter().next()
}

/// The runs that are this watch's, lowest id first.
fn matching<'r>(watch: &Watch<'_>, runs: &'r [Run]) -> Vec<&'r Run> {
    let mut found: Vec<&Run> = runs
        .iter()
        .filter(|run| match &watch.looking {
            Looking::Id(id) => run.id.is_none_or(|seen| seen == *id),
            Looking::Title(marker) => {
                run.id.is_some()
                    && run
                        .event
                        .as_deref()
                        .is_none_or(|e| e == "repository_dispatch")
                    && run
                        .display_title
                        .as_deref()
                        .is_some_and(|t| t.contains(marker.as_str()))
            }
        })
        .collect();
    found.sort_by_key(|run| run.id);
    found
}

/// Takes in what a read said about a watched run.
fn seen(watch: &mut Watch<'_>, run: &Run, how_many: usize) {
    let info = &mut *watch.run;
    if let (Looking::Title(_), Some(id), Some(repo)) =
        (&watch.looking, run.id, &watch.job.repository)
    {
        if info.id.is_none() {
            tracing::info!(target_name = %watch.job.target, "found the run {id}");
        }
        info.id = Some(id);
        info.url = Some(run_url(&watch.job.api_base, repo, id));
        if how_many > 1 {
            info.note = Some(format!(
                "{how_many} runs carry this dispatch id (several workflows listen); following the first"
            ));
        }
    }
    // Shown to people: only GitHub's words and a clean link survive.
    if let Some(url) = run.html_url.as_deref().and_then(untrusted::link) {
        info.html_url = Some(url);
    }
    if !watch.to_completion {
        watch.done = true;
        return;
    }
    info.status = run.status.as_deref().map(untrusted::word);
    info.conclusion = run.conclusion.as_deref().map(untrusted::word);
    if info.status.as_deref() == Some("completed") {
        tracing::info!(target_name = %watch.job.target, "run completed: {}", info.conclusion.as_deref().unwrap_or("unknown"));
        watch.done = true;
    }
}

/// The REST URL of a run, from the configured API base; a URL in GitHub's answer is never
/// requested (it could name any host).
fn run_url(api_base: &str, repo: &Repo, id: u64) -> String {
    format!(
        "{}/repos/{}/{}/actions/runs/{id}",
        api_base.trim_end_matches('/'),
        repo.owner,
        repo.name
    )
}

async fn read_run(
    github: &GitHub,
    job: &Job,
    budget: &Budget,
    budgets: &ReadBudgets,
    id: u64,
) -> Result<Run, String> {
    let repo = job.repository.as_ref().ok_or("no repository")?;
    let body = get(
        github,
        job,
        budget,
        budgets,
        &run_url(&job.api_base, repo, id),
        MAX_RUN_BODY,
    )
    .await?;
    serde_json::from_str(&body).map_err(|e| format!("unexpected answer: {e}"))
}

/// Reads the list's pages until `enough` says every run looked for is there (or pages run out).
async fn read_list(
    github: &GitHub,
    job: &Job,
    budget: &Budget,
    budgets: &ReadBudgets,
    event: Option<&str>,
    since: SystemTime,
    enough: impl Fn(&[Run]) -> bool,
) -> Result<Vec<Run>, String> {
    let repo = job.repository.as_ref().ok_or("no repository")?;
    let mut runs = Vec::new();
    for page in 1..=MAX_PAGES {
        let url = list_url(&job.api_base, repo, event, since, page);
        let body = get(github, job, budget, budgets, &url, MAX_LIST_BODY).await?;
        let list: RunList =
            serde_json::from_str(&body).map_err(|e| format!("unexpected answer: {e}"))?;
        let last = list.workflow_runs.len() < PER_PAGE as usize
            || list.total_count.is_some_and(|n| n <= page * PER_PAGE);
        runs.extend(list.workflow_runs);
        if last || enough(&runs) {
            break;
        }
    }
    Ok(runs)
}

/// `GET .../actions/runs?event=…&created=>=…&per_page=100&page=…`
fn list_url(
    api_base: &str,
    repo: &Repo,
    event: Option<&str>,
    since: SystemTime,
    page: u64,
) -> String {
    let from = since.checked_sub(CLOCK_SKEW).unwrap_or(UNIX_EPOCH);
    let mut url = format!(
        "{}/repos/{}/{}/actions/runs?",
        api_base.trim_end_matches('/'),
        repo.owner,
        repo.name
    );
    if let Some(event) = event {
        url.push_str(&format!("event={event}&"));
    }
    // `>=` is GitHub's search syntax for "from"; `%3E%3D` is it in a query.
    url.push_str(&format!(
        "created=%3E%3D{}&per_page={PER_PAGE}",
        utc_timestamp(from)
    ));
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

/// One read, in its token's turn, counted: the body of a 2xx answer.
async fn get(
    github: &GitHub,
    job: &Job,
    budget: &Budget,
    budgets: &ReadBudgets,
    url: &str,
    max_body: usize,
) -> Result<String, String> {
    // Minted now, so a long wait gets a fresh App token before the cached one expires.
    let job = github.authorized(job).await.map_err(|f| f.reason)?;
    budget.take().await;
    budgets.count_read();
    let request = github.github_request(reqwest::Method::GET, url, &job);
    let response = sender::send(&job, request).await.map_err(|f| f.reason)?;
    let answered = Answered::read(response, max_body).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(quota) = Quota::from_headers(answered.rate_limit(), now) {
        budget.observe(quota);
    }
    if !answered.is_success() {
        return Err(format!("GitHub answered {}", answered.status));
    }
    Ok(answered.body)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a moment (UTC), as GitHub's `created` filter reads it.
fn utc_timestamp(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let days = i64::try_from(days).unwrap_or(i64::MAX / 2);
    let (year, month, day) = crate::github::response::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_in_github_search_syntax() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let at = UNIX_EPOCH + Duration::from_secs(1_709_251_199); // the last second of Feb 29
        assert_eq!(utc_timestamp(at), "2024-02-29T23:59:59Z");
        let at = UNIX_EPOCH + Duration::from_secs(1_798_761_600);
        assert_eq!(utc_timestamp(at), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn the_list_asks_for_one_event_from_the_delivery_minus_the_skew() {
        let repo = Repo {
            owner: "o".into(),
            name: "site".into(),
        };
        let since = UNIX_EPOCH + Duration::from_secs(1_709_251_319);
        assert_eq!(
            list_url("http://127.0.0.1:1/", &repo, Some("repository_dispatch"), since, 1),
            "http://127.0.0.1:1/repos/o/site/actions/runs?event=repository_dispatch&created=%3E%3D2024-02-29T23:59:59Z&per_page=100"
        );
        assert!(list_url("https://api.github.com", &repo, None, since, 2)
            .ends_with("/actions/runs?created=%3E%3D2024-02-29T23:59:59Z&per_page=100&page=2"));
    }
}
