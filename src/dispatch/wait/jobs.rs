//! `wait: { job: NAME }`: following one job of a run instead of the whole run.
//!
//! Once a watched run is seen, each poll also reads its jobs, `GET
//! {api_base}/repos/{owner}/{repo}/actions/runs/{id}/jobs?per_page=100`, through
//! [`crate::github::list`] with the runs list's bounds (pages, bytes per page, entries), in the
//! same turns and token budget as every other read of the wait. Each job is parsed into the few
//! fields used ([`ListedJob`]; its steps are skipped as they are read) and compared by name at
//! once: what is kept is the job waited for and a bounded sample of the other names, for a
//! "did you mean". Job names are the server's text: one shown in a note is neutralized first.
//!
//! The job's conclusion is the target's. A run that completed without the job fails the target
//! with "the run has no job NAME".

use super::{doubt_of, run_url, Reads, Watch, MAX_LIST_BODY, MAX_PAGES};
use crate::dispatch::RunJob;
use crate::github::list;
use crate::untrusted;
use futures::future::join_all;

/// Names of other jobs kept for a "did you mean" (each cut to what `closest` measures).
const NAMES_KEPT: usize = 100;
/// `closest` measures names up to this many characters; a longer one is no typo of ours.
const NAME_CHARS: usize = 100;

/// A job as a page of the jobs list gives it: an entry whose used fields have the wrong type
/// does not parse, so the list skips and counts it.
#[derive(serde::Deserialize)]
struct ListedJob {
    name: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
}

/// What one read of a run's jobs found for the job waited for.
struct JobsRead {
    job: Option<RunJob>,
    /// Other names, for a "did you mean" when the job is not there.
    names: Vec<String>,
    /// Why a job not found may still exist (pages left unread, entries skipped).
    doubt: Option<String>,
}

/// Reads the jobs of every watched run that waits for a job, was seen, and is not done; the
/// watches are updated (and done once their job completed, or their run completed without it).
pub(super) async fn follow_jobs(reads: &Reads<'_>, watches: &mut [Watch<'_>]) {
    let following = watches
        .iter_mut()
        .filter(|w| !w.done && w.wanted_job.is_some() && w.run.id.is_some())
        .filter(|w| w.run.status.is_some())
        .map(|watch| follow_job(reads, watch));
    join_all(following).await;
}

async fn follow_job(reads: &Reads<'_>, watch: &mut Watch<'_>) {
    let (Some(wanted), Some(id)) = (watch.wanted_job, watch.run.id) else {
        return;
    };
    let read = match read_jobs(reads, watch, id, wanted).await {
        Ok(read) => read,
        Err(message) => {
            tracing::info!(target_name = %watch.job.target, "could not read the run's jobs: {message}");
            return;
        }
    };
    let run_completed = watch.run.status.as_deref() == Some("completed");
    match read.job {
        Some(job) => {
            if job.status.as_deref() == Some("completed") {
                let conclusion = job.conclusion.as_deref().unwrap_or("unknown");
                tracing::info!(target_name = %watch.job.target, "job completed: {conclusion}");
                watch.done = true;
            }
            watch.run.job = Some(Box::new(job));
        }
        None if run_completed => {
            watch.run.note = Some(no_such_job(wanted, &read.names, read.doubt.as_deref()));
            watch.run.job = Some(Box::new(RunJob {
                name: untrusted::shown(wanted, NAME_CHARS),
                ..RunJob::default()
            }));
            watch.done = true;
        }
        // The run has not made the job yet (its jobs start as it goes).
        None => {}
    }
}

/// "the run has no job `deploy`; did you mean `Deploy`?", every name neutralized. A jobs list
/// not read whole cannot say the job is not there: "cannot tell whether …", with why.
fn no_such_job(wanted: &str, names: &[String], doubt: Option<&str>) -> String {
    let wanted_shown = untrusted::shown(wanted, NAME_CHARS);
    let mut note = match doubt {
        None => format!("the run has no job `{wanted_shown}`"),
        Some(_) => format!("cannot tell whether the run has a job `{wanted_shown}`"),
    };
    if let Some(near) = crate::diagnostic::closest(wanted, names.iter().map(String::as_str)) {
        note.push_str(&format!(
            "; did you mean `{}`?",
            untrusted::shown(near, NAME_CHARS)
        ));
    }
    if let Some(why) = doubt {
        note.push_str(&format!(" ({why})"));
    }
    note
}

/// Reads the run's jobs list until the job `wanted` is found or the list ends.
async fn read_jobs(
    reads: &Reads<'_>,
    watch: &Watch<'_>,
    id: u64,
    wanted: &str,
) -> Result<JobsRead, String> {
    let repo = watch.job.repository.as_ref().ok_or("no repository")?;
    let first = format!(
        "{}/jobs?per_page=100",
        run_url(&watch.job.api_base, repo, id)
    );
    let first = reqwest::Url::parse(&first).map_err(|e| format!("bad API URL: {e}"))?;
    let limits = list::Limits {
        max_pages: MAX_PAGES,
        max_page_bytes: MAX_LIST_BODY,
        max_entries: list::DEFAULT_MAX_ENTRIES,
        time: None,
    };
    let mut reader = list::ListReader::<ListedJob>::new(first, list::Shape::Field("jobs"), limits);
    let mut read = JobsRead {
        job: None,
        names: Vec::new(),
        doubt: None,
    };
    while let Some(url) = reader.next_page() {
        let answer = reads
            .get(watch.job, &watch.budget, url.as_str(), MAX_LIST_BODY)
            .await
            .map_err(list::Unfetched::NoAnswer);
        reader.take(answer);
        for listed in reader.drain() {
            take_in(&mut read, listed, wanted);
        }
        let found = read.job.is_some();
        reader.enough_if(|_| found);
    }
    read.doubt = doubt_of(&reader.finish(), "jobs")?;
    Ok(read)
}

/// One listed job: the one waited for (the first of that name) is kept as GitHub's words; any
/// other name joins the bounded sample.
fn take_in(read: &mut JobsRead, listed: ListedJob, wanted: &str) {
    let Some(name) = listed.name else {
        return;
    };
    if name == wanted {
        if read.job.is_none() {
            read.job = Some(RunJob {
                name: untrusted::shown(wanted, NAME_CHARS),
                status: listed.status.as_deref().map(untrusted::word),
                conclusion: listed.conclusion.as_deref().map(untrusted::word),
                html_url: listed.html_url.as_deref().and_then(untrusted::link),
            });
        }
    } else if read.names.len() < NAMES_KEPT && name.chars().count() <= NAME_CHARS {
        read.names.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::RunInfo;

    #[test]
    fn with_a_job_waited_for_the_jobs_conclusion_is_what_succeeded_or_failed() {
        let run = |conclusion: &str, job: Option<&str>| RunInfo {
            status: Some("completed".to_owned()),
            conclusion: Some(conclusion.to_owned()),
            job: job.map(|c| {
                Box::new(RunJob {
                    name: "deploy".to_owned(),
                    status: Some("completed".to_owned()),
                    conclusion: Some(c.to_owned()),
                    html_url: None,
                })
            }),
            ..RunInfo::default()
        };
        assert!(run("success", None).succeeded());
        assert!(!run("success", Some("failure")).succeeded());
        assert!(run("success", Some("failure")).failed());
        assert!(run("failure", Some("success")).succeeded());
        assert!(!run("failure", Some("success")).failed());
        let interrupted = RunInfo {
            interrupted: true,
            ..run("success", None)
        };
        assert!(!interrupted.succeeded() && !interrupted.failed());
        assert!(!RunInfo::default().succeeded(), "nothing waited for");
    }

    #[test]
    fn a_missing_job_names_the_closest_one_and_escapes_what_the_server_named() {
        let names = vec!["Deploy".to_owned(), "build\u{1b}[31m".to_owned()];
        assert_eq!(
            no_such_job("deploy", &names, None),
            "the run has no job `deploy`; did you mean `Deploy`?"
        );
        assert_eq!(
            no_such_job("deploy", &[], Some("only the first 5 pages of jobs were read")),
            "cannot tell whether the run has a job `deploy` (only the first 5 pages of jobs were read)"
        );
        let hostile = vec!["deploy\u{202e}x".to_owned()];
        let note = no_such_job("deploy", &hostile, None);
        assert!(!note.contains('\u{202e}'), "{note}");
    }
}
