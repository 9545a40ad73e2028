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
//!
//! Whatever a server sends, a poll's memory is bounded: the runs list is read through
//! [`crate::github::list`] (`Link: rel="next"`, at most [`MAX_PAGES`] pages), each page's runs
//! parsed into the few fields used ([`ListedRun`]) and reduced to what is kept for each watch
//! before the next page is asked for, an answer is cut at [`MAX_LIST_BODY`] (unreadable past it), and at most
//! [`CONCURRENT_READS`] answers are held at once over every repository: 4 × 4 MiB = 16 MiB of
//! answers at most, plus per watch its run's id, two words and a link. An entry without an id,
//! or whose fields do not parse, is skipped and counted, never matched; a run not found in a
//! list that was not read whole is "cannot tell", never "no run started". No poll outlasts
//! the wait's timeout, however slowly a server answers or long the turns take.

use super::budget::{Budget, Quota, ReadBudgets};
use super::sender::{self, GitHub};
use super::{Outcome, RunInfo, Status};
use crate::config::Repo;
use crate::github::list;
use crate::github::response::Answered;
use crate::plan::Job;
use crate::untrusted;
use entries::{Entry, Parsed};
use futures::future::join_all;
use indexmap::IndexMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

pub(crate) mod cancel;
mod entries;
mod jobs;

/// What a tracked target reports when no run carried its id in time.
pub(crate) const NO_RUN: &str =
    "no run started: is a workflow listening? (see `orchestrator check`)";
/// How long a tracked run may take to appear (or the wait timeout, if shorter).
pub(crate) const FIND_TIMEOUT: Duration = Duration::from_secs(120);
/// Runs created this long before delivery started are listed too: our clock and GitHub's may
/// disagree.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(120);
const PER_PAGE: u64 = 100;
/// Pages read in one poll when the runs looked for are not on the first (a busy repository).
const MAX_PAGES: u32 = 5;
/// A run's JSON is about 15 KiB (two repository objects, two users, the head commit).
const MAX_RUN_BODY: usize = 1024 * 1024;
/// A page of 100 runs is about 1.5 MiB; this leaves room for runs of 40 KiB (long commit
/// messages). A longer page is unreadable for that poll.
const MAX_LIST_BODY: usize = 4 * 1024 * 1024;
/// Answers held at once, over every followed repository. Each is reduced to the few fields
/// the wait keeps before its turn is given back, so what a poll holds of answers is at most
/// `CONCURRENT_READS × MAX_LIST_BODY` = 16 MiB, whatever the number of repositories.
const CONCURRENT_READS: usize = 4;

/// How long to follow runs, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WaitOptions {
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
    /// `--queue-timeout`: a run still queued this long after following started fails as
    /// "queued too long". `None`: only `timeout`.
    pub queue_timeout: Option<Duration>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            all: false,
            timeout: Duration::from_secs(30 * 60),
            first_poll: Duration::from_secs(5),
            find_timeout: FIND_TIMEOUT,
            since: None,
            queue_timeout: None,
        }
    }
}

/// Whether `job`'s run is followed to its conclusion.
pub(crate) fn waits_for(job: &Job, options: WaitOptions) -> bool {
    match &job.workflow {
        Some(call) => options.all || call.wait,
        None => options.all && job.tracking_id.is_some(),
    }
}

/// Follows every run that should be found or waited for; the outcomes' run details are
/// updated. Reads are counted in `budgets`.
pub(crate) async fn wait_for_runs(
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
        // Followed already, as a need that other targets waited on (see `super::needs`).
        if to_completion && run.as_ref().is_some_and(|r| r.status.is_some()) {
            continue;
        }
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
                wanted_job: job
                    .workflow
                    .as_ref()
                    .and_then(|call| call.wait_job.as_deref())
                    .filter(|_| to_completion),
                looking,
                to_completion,
                done: false,
            });
    }
    let reads = Reads {
        github,
        budgets,
        turns: Semaphore::new(CONCURRENT_READS),
        until: Instant::now() + options.timeout,
    };
    let follows = repositories
        .into_values()
        .map(|watches| follow_repository(&reads, watches, options, since));
    join_all(follows).await;
}

/// After a signal, every run that was to be followed to its conclusion and had not completed
/// is marked as not waited for: an interrupted wait is neither success nor failure.
pub(crate) fn interrupt_waits(
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
        if waits_for(job, options) && followed && !run_or_job_completed(run) {
            run.interrupt_wait(why);
        }
    }
}

/// Whether what a wait follows is over: the run completed, or the job waited for did.
fn run_or_job_completed(run: &RunInfo) -> bool {
    let status = match &run.job {
        Some(job) => &job.status,
        None => &run.status,
    };
    status.as_deref() == Some("completed") || run.status.as_deref() == Some("completed")
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
    /// `wait: { job: NAME }` (when followed to completion): the job whose conclusion counts.
    wanted_job: Option<&'a str>,
    done: bool,
}

/// What one poll of a repository learned about each watch it looked for.
struct Poll {
    /// Aligned with the watches looked for.
    sightings: Vec<Option<Sighting>>,
    /// Why a run not found may still exist: entries that did not parse, pages left unread.
    doubt: Option<String>,
}

impl Poll {
    fn new(watches: usize) -> Poll {
        Poll {
            sightings: (0..watches).map(|_| None).collect(),
            doubt: None,
        }
    }

    /// Takes in one list entry, for every watch it carries.
    fn offer(&mut self, looking: &[&Looking], entry: &Entry<'_>, id: u64) {
        for (slot, looking) in self.sightings.iter_mut().zip(looking) {
            if !carries(looking, entry, id) {
                continue;
            }
            match slot {
                // Several runs carry one id (several workflows listen): follow the first.
                Some(sighting) if sighting.id <= id => sighting.count += 1,
                Some(sighting) => {
                    let count = sighting.count + 1;
                    *sighting = Sighting {
                        count,
                        ..Sighting::of(entry, id)
                    };
                }
                None => *slot = Some(Sighting::of(entry, id)),
            }
        }
    }

    fn all_found(&self) -> bool {
        self.sightings.iter().all(Option::is_some)
    }
}

/// A run a poll found for a watch, reduced to what is kept: its id, GitHub's words for its
/// state, a clean link, and how many runs carried the watch's id.
struct Sighting {
    id: u64,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    count: usize,
}

impl Sighting {
    fn of(entry: &Entry<'_>, id: u64) -> Sighting {
        Sighting {
            id,
            // Shown to people: only GitHub's words and a clean link survive.
            status: entry.status.as_deref().map(untrusted::word),
            conclusion: entry.conclusion.as_deref().map(untrusted::word),
            html_url: entry.html_url.as_deref().and_then(untrusted::link),
            count: 1,
        }
    }
}

/// Reads on behalf of every followed repository: each in its token's budget, and at most
/// [`CONCURRENT_READS`] answers held at once.
struct Reads<'a> {
    github: &'a GitHub,
    budgets: &'a ReadBudgets,
    turns: Semaphore,
    /// When the wait ends: no read starts after it.
    until: Instant,
}

/// A 2xx answer's body, held with its turn: the next read waits until this one is reduced.
struct Held<'a> {
    text: String,
    /// The `Link` header, for [`list`] to find the next page.
    link: Option<String>,
    _turn: SemaphorePermit<'a>,
}

impl list::ListPage for Held<'_> {
    fn status(&self) -> u16 {
        // Only a 2xx answer is held; any other is an `Err` of `Reads::get`.
        200
    }
    fn link(&self) -> Option<&str> {
        self.link.as_deref()
    }
    fn body(&self) -> &str {
        &self.text
    }
}

/// A run as a page of the runs list gives it, for [`list`]: an entry without a u64 `id`, or
/// with a used field of the wrong type, does not parse, so the list skips and counts it.
/// Every other field is skipped as it is parsed.
#[derive(serde::Deserialize)]
struct ListedRun {
    id: u64,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    display_title: Option<String>,
    event: Option<String>,
}

impl ListedRun {
    fn entry(&self) -> Entry<'_> {
        fn borrowed(field: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
            field.as_deref().map(std::borrow::Cow::Borrowed)
        }
        Entry {
            id: Some(self.id),
            status: borrowed(&self.status),
            conclusion: borrowed(&self.conclusion),
            html_url: borrowed(&self.html_url),
            display_title: borrowed(&self.display_title),
            event: borrowed(&self.event),
        }
    }
}

async fn follow_repository(
    reads: &Reads<'_>,
    mut watches: Vec<Watch<'_>>,
    options: WaitOptions,
    since: SystemTime,
) {
    let started = Instant::now();
    let mut pause = options.first_poll;
    loop {
        let pending: Vec<usize> = (0..watches.len()).filter(|&i| !watches[i].done).collect();
        // A slow server (or other repositories' turns) cannot hold a poll past the wait.
        let polled = tokio::time::timeout_at(reads.until, async {
            let doubt = poll_once(reads, &mut watches, &pending, since).await;
            jobs::follow_jobs(reads, &mut watches).await;
            doubt
        })
        .await;
        let doubt = polled.unwrap_or_else(|_| {
            Some(format!(
                "the runs were still being read when the {} s wait ran out",
                crate::policy::shown_secs(options.timeout)
            ))
        });
        let elapsed = started.elapsed();
        for &i in &pending {
            judge(&mut watches[i], options, elapsed, pause, doubt.as_deref());
        }
        if watches.iter().all(|w| w.done) {
            return;
        }
        tokio::time::sleep(until_next_poll(&watches, options, elapsed, pause)).await;
        pause = (pause + pause / 2).min(Duration::from_secs(30));
    }
}

/// After a poll, whether a watch is over: its run not found in time, the wait's time or the
/// queue's run out. `elapsed` is since following started; `pause` the wait before the next poll.
fn judge(
    watch: &mut Watch<'_>,
    options: WaitOptions,
    elapsed: Duration,
    pause: Duration,
    doubt: Option<&str>,
) {
    if watch.done {
        return;
    }
    let found = watch.run.id.is_some();
    if !found && matches!(watch.looking, Looking::Title(_)) {
        if elapsed + pause > options.find_timeout.min(options.timeout) {
            not_found(watch, doubt);
        }
    } else if elapsed + pause > options.timeout {
        timed_out(watch, options.timeout, doubt);
    } else if watch.to_completion
        && is_queued(watch.run)
        && options.queue_timeout.is_some_and(|limit| elapsed >= limit)
    {
        queued_too_long(watch, elapsed);
    }
}

/// GitHub's states of a run no runner has taken yet (`waiting` is a run held for an
/// environment's approval, which is not the queue).
fn is_queued(run: &RunInfo) -> bool {
    matches!(
        run.status.as_deref(),
        Some("queued" | "requested" | "pending")
    )
}

/// The pause before the next poll, cut short so that a queued run is looked at again when its
/// `--queue-timeout` comes, not up to a pause later.
fn until_next_poll(
    watches: &[Watch<'_>],
    options: WaitOptions,
    elapsed: Duration,
    pause: Duration,
) -> Duration {
    let queued = watches
        .iter()
        .any(|w| !w.done && w.to_completion && is_queued(w.run));
    match options.queue_timeout {
        Some(limit) if queued && limit > elapsed => pause.min(limit - elapsed),
        _ => pause,
    }
}

/// A run still queued at `--queue-timeout`: given up on, and failed (its status stays
/// `queued`, so it counts as a run that did not succeed).
fn queued_too_long(watch: &mut Watch<'_>, in_queue: Duration) {
    let note = format!(
        "queued too long ({} in the queue)",
        crate::policy::approx(in_queue)
    );
    tracing::info!(target_name = %watch.job.target, "{note}");
    watch.run.note = Some(note);
    watch.run.abandoned = true;
    watch.done = true;
}

/// One read of a repository's runs for the `pending` watches; what it found is taken in.
/// Returns why a run it did not find may still exist (`None`: the list was read whole).
async fn poll_once(
    reads: &Reads<'_>,
    watches: &mut [Watch<'_>],
    pending: &[usize],
    since: SystemTime,
) -> Option<String> {
    let &first = pending.first()?;
    let job = watches[first].job;
    let budget = Arc::clone(&watches[first].budget);
    let read = match (&watches[first].looking, pending.len()) {
        (Looking::Id(id), 1) => read_one(reads, job, &budget, *id).await,
        _ => {
            let looking: Vec<&Looking> = pending.iter().map(|&i| &watches[i].looking).collect();
            let event = list_event(&looking);
            read_list(reads, job, &budget, &looking, event, since).await
        }
    };
    match read {
        Ok(poll) => {
            for (sighting, &i) in poll.sightings.iter().zip(pending) {
                if let Some(sighting) = sighting {
                    seen(&mut watches[i], sighting);
                }
            }
            poll.doubt
        }
        Err(message) => {
            tracing::info!(target_name = %job.target, "could not read the runs: {message}");
            Some(format!("the runs could not be read ({message})"))
        }
    }
}

/// A tracked run never found: "no run started" only when the list was read whole; otherwise
/// the wait cannot tell.
fn not_found(watch: &mut Watch<'_>, doubt: Option<&str>) {
    let note = match doubt {
        None => NO_RUN.to_owned(),
        Some(why) => format!("cannot tell whether a run started: {why}"),
    };
    tracing::info!(target_name = %watch.job.target, "{note}");
    watch.run.note = Some(untrusted::shown(&note, 500));
    if watch.to_completion {
        let status = if doubt.is_none() {
            "not_started"
        } else {
            "unknown"
        };
        watch.run.status = Some(status.to_owned());
    }
    watch.done = true;
}

/// The wait's time ran out before the run completed; a run never seen says why it may not
/// have been.
fn timed_out(watch: &mut Watch<'_>, timeout: Duration, doubt: Option<&str>) {
    let never_seen = watch.run.status.is_none();
    let status = watch
        .run
        .status
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());
    let mut note = format!(
        "still {status} after waiting {} s",
        crate::policy::shown_secs(timeout)
    );
    if let (true, Some(why)) = (never_seen, doubt) {
        note.push_str(&format!("; {why}"));
    }
    watch.run.status = Some(status);
    watch.run.note = Some(untrusted::shown(&note, 500));
    watch.run.abandoned = true;
    watch.done = true;
}

/// `event=` for the list: the one kind of event every run looked for came from, if one.
fn list_event(looking: &[&Looking]) -> Option<&'static str> {
    let event = |l: &Looking| match l {
        Looking::Id(_) => "workflow_dispatch",
        Looking::Title(_) => "repository_dispatch",
    };
    let first = event(looking.first()?);
    looking.iter().all(|l| event(l) == first).then_some(first)
}

/// Whether the list entry with `id` is the run `looking` is for. Only an entry with an id
/// counts: one without says nothing about which run it is.
fn carries(looking: &Looking, entry: &Entry<'_>, id: u64) -> bool {
    match looking {
        Looking::Id(wanted) => id == *wanted,
        Looking::Title(marker) => {
            entry
                .event
                .as_deref()
                .is_none_or(|e| e == "repository_dispatch")
                && entry
                    .display_title
                    .as_deref()
                    .is_some_and(|t| t.contains(marker.as_str()))
        }
    }
}

/// Takes in what a read said about a watched run.
fn seen(watch: &mut Watch<'_>, run: &Sighting) {
    let info = &mut *watch.run;
    if let (Looking::Title(_), Some(repo)) = (&watch.looking, &watch.job.repository) {
        if info.id.is_none() {
            tracing::info!(target_name = %watch.job.target, "found the run {}", run.id);
        }
        info.id = Some(run.id);
        info.url = Some(run_url(&watch.job.api_base, repo, run.id));
        if run.count > 1 {
            info.note = Some(format!(
                "{} runs carry this dispatch id (several workflows listen); following the first",
                run.count
            ));
        }
    }
    if let Some(url) = &run.html_url {
        info.html_url = Some(url.clone());
    }
    if !watch.to_completion {
        watch.done = true;
        return;
    }
    info.status.clone_from(&run.status);
    info.conclusion.clone_from(&run.conclusion);
    // A job waited for decides when the watch is over (`jobs::follow_jobs`).
    if info.status.as_deref() == Some("completed") && watch.wanted_job.is_none() {
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

/// Reads one run by its own URL. An answer without an id is that run; one naming another id
/// is not taken as it.
async fn read_one(reads: &Reads<'_>, job: &Job, budget: &Budget, id: u64) -> Result<Poll, String> {
    let repo = job.repository.as_ref().ok_or("no repository")?;
    let body = reads
        .get(job, budget, &run_url(&job.api_base, repo, id), MAX_RUN_BODY)
        .await?;
    let mut poll = Poll::new(1);
    match entries::read_run(&body.text)? {
        Parsed::Run(entry) if entry.id.unwrap_or(id) == id => {
            poll.sightings[0] = Some(Sighting::of(&entry, id));
        }
        Parsed::Run(_) => {}
        Parsed::Malformed => return Err("unexpected answer: not a workflow run".to_owned()),
    }
    Ok(poll)
}

/// Reads the list's pages through [`list`] (`Link: rel="next"`, at most [`MAX_PAGES`] pages of
/// [`MAX_LIST_BODY`]), each page's runs reduced to what the watches need before the next is
/// read, until every watch has its run or the list ends. `Err` when the list could not be
/// read; a list read only in part, or with entries skipped, leaves its doubt in the poll.
async fn read_list(
    reads: &Reads<'_>,
    job: &Job,
    budget: &Budget,
    looking: &[&Looking],
    event: Option<&str>,
    since: SystemTime,
) -> Result<Poll, String> {
    let repo = job.repository.as_ref().ok_or("no repository")?;
    let first = reqwest::Url::parse(&list_url(&job.api_base, repo, event, since))
        .map_err(|e| format!("bad API URL: {e}"))?;
    let limits = list::Limits {
        max_pages: MAX_PAGES,
        max_page_bytes: MAX_LIST_BODY,
        max_entries: list::DEFAULT_MAX_ENTRIES,
        time: None,
    };
    let mut reader =
        list::ListReader::<ListedRun>::new(first, list::Shape::Field("workflow_runs"), limits);
    let mut poll = Poll::new(looking.len());
    while let Some(url) = reader.next_page() {
        let answer = reads
            .get(job, budget, url.as_str(), MAX_LIST_BODY)
            .await
            .map_err(list::Unfetched::NoAnswer);
        reader.take(answer);
        for run in reader.drain() {
            poll.offer(looking, &run.entry(), run.id);
        }
        reader.enough_if(|_| poll.all_found());
    }
    let listing = reader.finish();
    if listing.skipped > 0 {
        tracing::info!(target_name = %job.target, "skipped {} run entries that could not be read", listing.skipped);
    }
    poll.doubt = doubt_of(&listing, "runs")?;
    Ok(poll)
}

/// Why something not found in a list of `what` (`runs`, `jobs`) may still exist: `Ok(None)`
/// when the list was read whole, `Err` when it could not be read at all.
fn doubt_of<T>(listing: &list::Listing<T>, what: &str) -> Result<Option<String>, String> {
    Ok(match (&listing.end, listing.skipped) {
        (list::End::Refused { .. } | list::End::Unreadable(_), _) => {
            return Err(listing.incomplete().unwrap_or_default())
        }
        (list::End::Complete | list::End::Enough, 0) => None,
        (list::End::StoppedByBudget(_), 0) => Some(format!(
            "only the first {MAX_PAGES} pages of {what} were read"
        )),
        (_, n) => Some(format!("{n} of the listed {what} could not be read")),
    })
}

/// `GET .../actions/runs?event=…&created=>=…&per_page=100`: the first page (the list sets
/// `page` for the next ones).
fn list_url(api_base: &str, repo: &Repo, event: Option<&str>, since: SystemTime) -> String {
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
    url
}

impl Reads<'_> {
    /// One read, in its token's turn and counted, then in one of the [`CONCURRENT_READS`]
    /// turns: the body of a 2xx answer, at most `max_body` bytes.
    async fn get(
        &self,
        job: &Job,
        budget: &Budget,
        url: &str,
        max_body: usize,
    ) -> Result<Held<'_>, String> {
        // Minted now, so a long wait gets a fresh App token before the cached one expires.
        let job = self.github.authorized(job).await.map_err(|f| f.reason)?;
        budget.take().await;
        let turn = self
            .turns
            .acquire()
            .await
            .map_err(|_| "the wait was stopped".to_owned())?;
        // A turn given back as the wait ran out starts nothing more.
        if Instant::now() >= self.until {
            return Err("the wait ran out of time".to_owned());
        }
        self.budgets.count_read();
        let request = self.github.github_request(reqwest::Method::GET, url, &job);
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
        Ok(Held {
            link: answered.link().map(str::to_owned),
            text: answered.body,
            _turn: turn,
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a moment (UTC), as GitHub's `created` filter reads it.
fn utc_timestamp(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::github::headers::utc(secs)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
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
            list_url("http://127.0.0.1:1/", &repo, Some("repository_dispatch"), since),
            "http://127.0.0.1:1/repos/o/site/actions/runs?event=repository_dispatch&created=%3E%3D2024-02-29T23:59:59Z&per_page=100"
        );
        assert!(list_url("https://api.github.com", &repo, None, since)
            .ends_with("/actions/runs?created=%3E%3D2024-02-29T23:59:59Z&per_page=100"));
    }
}
