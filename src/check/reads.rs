//! One target's reads for `check`: every request a GET built from the target's configured API
//! base, paced on its lane and within its identity's read budget
//! ([`crate::dispatch::budget`]), retried like a dispatch (within [`READ_ATTEMPTS`]), and all of a
//! target's reads within one time budget ([`TARGET_READ_BUDGET`], or the target's
//! `deadline_secs` when shorter). Lists (`actions/workflows`, a directory) go through
//! [`crate::github::list`], so a list that is not whole is never taken for one.

use super::probe::Probe;
use crate::dispatch::budget::{self, Budget};
use crate::dispatch::pacing::Lane;
use crate::dispatch::retry::{self, Next};
use crate::github::classify::{Failure, Retry};
use crate::github::list::{self, End, ListReader, Listing, Shape, Unfetched};
use crate::github::response::{Answered, TokenExpiry};
use crate::plan::Job;
use crate::policy::RetryPolicy;
use crate::untrusted::{Message, Text};
use base64::Engine;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// Workflow files read per repository at most; a repository with more, none of which listens,
/// is "cannot tell".
pub(super) const MAX_FILES: usize = 100;
/// Attempts in all for one read (the target's `max_attempts` when lower).
const READ_ATTEMPTS: u32 = 3;
/// A check is a preflight someone waits for: a read is not retried past this (or the target's
/// `deadline_secs`, when shorter), whatever `Retry-After` asks.
const READ_DEADLINE: Duration = Duration::from_secs(30);
/// All the waits before retries of one target's reads together (a target reads its
/// repository, its workflow list and up to 100 workflow files): a server that answers every
/// read with a 503 and a Retry-After holds a target this long at most, not that long per read.
const TARGET_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The time one target's reads may take together (waiting for answers and before retries; not
/// the wait for a turn in the lane's pace), or the target's `deadline_secs` when shorter. Past
/// it no read is made and the target is "cannot tell": 100 files that never answer hold a
/// target this long, not 100 timeouts.
pub(super) const TARGET_READ_BUDGET: Duration = Duration::from_secs(60);

/// Why a read did not give what was asked.
pub(super) enum Unread {
    /// A 403 (or a 404 naming a permission), an unexpected answer, no answer, or an answer that
    /// is not what GitHub sends: the reason, and the permission to name (what a server sent
    /// in either is a [`Text`]).
    CannotTell(Message, Option<Message>),
    /// A 404: not there.
    Missing(Message),
}

/// One target's reads: paced on its lane, each answer's token expiry kept.
pub(super) struct Reader<'p, 'j> {
    pub probe: &'p Probe<'p>,
    pub job: std::borrow::Cow<'j, Job>,
    pub lane: Lane,
    /// The identity's read budget, shared by every target on it.
    read_budget: std::sync::Arc<Budget>,
    pub expiry: Option<TokenExpiry>,
    pub token_name: String,
    /// How long this target's reads have waited before retries, in all.
    waited: Duration,
    /// The time this target's reads may take, and what they have taken.
    budget: Duration,
    spent: Duration,
    /// Set once the budget ran out: no read is made after.
    pub out_of_time: bool,
    /// This target's turn to hold an answer (one of [`super::probe::ANSWERS_AT_ONCE`]): taken
    /// for each read, kept while its answer is worked on, given back before the next read.
    turn: Option<tokio::sync::SemaphorePermit<'p>>,
}

impl<'p, 'j> Reader<'p, 'j> {
    pub(super) fn new(probe: &'p Probe<'p>, job: &'j Job) -> Self {
        Reader {
            probe,
            job: std::borrow::Cow::Borrowed(job),
            lane: Lane::new(&job.lane, job.token.as_ref().map(|t| t.expose())),
            read_budget: probe.reads.of(&budget::identity(job)),
            expiry: None,
            token_name: job
                .token_env
                .as_ref()
                .map_or_else(|| "GitHub App".to_owned(), ToString::to_string),
            waited: Duration::ZERO,
            budget: TARGET_READ_BUDGET.min(job.retry.deadline),
            spent: Duration::ZERO,
            out_of_time: false,
            turn: None,
        }
    }

    /// The budget in seconds, for messages.
    pub(super) fn budget_secs(&self) -> String {
        crate::policy::shown_secs(self.budget)
    }

    fn out_of_time_message(&self) -> String {
        format!(
            "stopped after {} s, the time a target's reads may take",
            self.budget_secs()
        )
    }

    /// `{api_base}/{segments...}?{query}`.
    fn url(&self, segments: &[&str], query: Option<(&str, &str)>) -> Result<reqwest::Url, String> {
        let mut url =
            reqwest::Url::parse(&self.job.api_base).map_err(|e| format!("bad API URL: {e}"))?;
        url.path_segments_mut()
            .map_err(|()| "the API URL cannot have a path".to_owned())?
            .pop_if_empty()
            .extend(segments);
        if let Some((name, value)) = query {
            url.query_pairs_mut().append_pair(name, value);
        }
        Ok(url)
    }

    /// GETs `{api_base}/{segments...}?{query}`; `Err` only when no answer came.
    pub(super) async fn get(
        &mut self,
        segments: &[&str],
        query: Option<(&str, &str)>,
    ) -> Result<Answered, String> {
        let url = self.url(segments, query)?;
        self.get_url(url).await
    }

    /// GETs `url` (built from the API base); `Err` when no answer came or the budget ran out.
    async fn get_url(&mut self, url: reqwest::Url) -> Result<Answered, String> {
        // A read that gets no answer, or a 5xx, is tried again as a dispatch would be (with
        // the target's backoff and deadline), at most READ_ATTEMPTS times in all: a moment of
        // GitHub trouble does not turn into "cannot tell".
        let policy = RetryPolicy {
            max_attempts: self.job.retry.max_attempts.clamp(1, READ_ATTEMPTS),
            deadline: self.job.retry.deadline.min(READ_DEADLINE),
            ..*self.job.retry
        };
        let started = Instant::now();
        let mut attempt: u32 = 1;
        let answered = loop {
            let read = self.attempt(url.as_str()).await?;
            let Some(delay) = self.retry_after(&policy, &read, attempt, started.elapsed()) else {
                break read.map_err(|failure| failure.reason)?;
            };
            self.waited = self.waited.saturating_add(delay);
            self.spent = self.spent.saturating_add(delay);
            self.turn = None;
            tokio::time::sleep(delay).await;
            attempt = attempt.saturating_add(1);
        };
        if let Some(expiry) = answered
            .token_expiration
            .as_deref()
            .and_then(TokenExpiry::parse)
        {
            self.expiry = Some(self.expiry.map_or(expiry, |e| e.min(expiry)));
        }
        Ok(answered)
    }

    /// One request in its turn, within what is left of the budget (`Err` when none is).
    async fn attempt(&mut self, url: &str) -> Result<Result<Answered, Failure>, String> {
        let left = self.budget.saturating_sub(self.spent);
        if self.out_of_time || left.is_zero() {
            self.out_of_time = true;
            return Err(self.out_of_time_message());
        }
        // The last answer is done with: its turn goes back before this read waits for anything.
        self.turn = None;
        let _ = self.probe.pacer.acquire(&self.lane, None).await;
        self.read_budget.take().await;
        self.turn = Some(
            self.probe
                .answers
                .acquire()
                .await
                .map_err(|_| "check was stopped".to_owned())?,
        );
        let started = Instant::now();
        let read = tokio::time::timeout(left, self.probe.github.read(&self.job, url)).await;
        self.spent = self.spent.saturating_add(started.elapsed());
        if let Ok(Ok(answered)) = &read {
            self.read_budget.observe_answer(answered);
        }
        read.map_err(|_| {
            self.out_of_time = true;
            self.out_of_time_message()
        })
    }

    /// The wait before trying `read` again, when it is to be tried again.
    fn retry_after(
        &self,
        policy: &RetryPolicy,
        read: &Result<Answered, Failure>,
        attempt: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        let retry = match read {
            Err(failure) => failure.retry,
            Ok(answered) if (500..600).contains(&answered.status) => Retry::Later {
                after: answered.retry_after(),
            },
            Ok(_) => Retry::Never,
        };
        let failure = Failure {
            http_status: None,
            reason: String::new(),
            hint: None,
            retry,
        };
        match retry::next(policy, &failure, attempt, elapsed, fastrand::f64()) {
            Next::Retry(delay)
                if matches!(retry, Retry::Later { .. })
                    && self.waited.saturating_add(delay) <= TARGET_RETRY_WAIT
                    && self.spent.saturating_add(delay) < self.budget =>
            {
                Some(delay)
            }
            _ => None,
        }
    }

    /// Every page of a list, each page's entries given to `keep` as they come (so only what
    /// it keeps is held); the answer that refused a page, if one did.
    async fn list<T: serde::de::DeserializeOwned>(
        &mut self,
        segments: &[&str],
        query: Option<(&str, &str)>,
        shape: Shape,
        mut keep: impl FnMut(T),
    ) -> Result<(Listing<T>, Option<Answered>), String> {
        let mut pages = ListReader::new(self.url(segments, query)?, shape, list::Limits::default());
        while let Some(url) = pages.next_page() {
            let answer = self.get_url(url).await.map_err(|why| {
                if self.out_of_time {
                    Unfetched::OutOfTime(why)
                } else {
                    Unfetched::NoAnswer(why)
                }
            });
            let refused = pages.take(answer);
            pages.drain().for_each(&mut keep);
            if let Some(refused) = refused {
                return Ok((pages.finish(), Some(refused)));
            }
        }
        Ok((pages.finish(), None))
    }
}

/// The states of a repository's workflows, as far as the token can see them.
pub(super) enum States {
    /// From a list read whole: path → state (`active`, `disabled_manually`, …); `skipped`
    /// entries of it did not parse.
    Known {
        states: HashMap<String, String>,
        skipped: usize,
    },
    /// GitHub answered 403/404 (Actions: read missing): every file counts as active.
    Hidden,
}

#[derive(Deserialize)]
struct ListedWorkflow {
    path: String,
    state: String,
}

/// `GET …/actions/workflows`, every page; the states of the `wanted` paths are kept (a path
/// listed twice keeps the state that is not `active`, if one is not).
pub(super) async fn workflow_states(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    wanted: &HashSet<String>,
) -> Result<States, Unread> {
    let segments = [repo[0], repo[1], repo[2], "actions", "workflows"];
    let mut states: HashMap<String, String> = HashMap::new();
    let keep = |w: ListedWorkflow| {
        if wanted.contains(&w.path) {
            let state = crate::untrusted::word(&w.state);
            let kept = states.entry(w.path).or_insert_with(|| state.clone());
            if kept == "active" {
                *kept = state;
            }
        }
    };
    let per_page = Some(("per_page", "100"));
    let (listing, refused) = reader
        .list(&segments, per_page, Shape::Field("workflows"), keep)
        .await
        .map_err(|why| Unread::CannotTell(why.into(), None))?;
    let what = "the list of workflows (actions/workflows)";
    match (&listing.end, refused) {
        (End::Refused { page: 1, .. }, Some(answer)) if matches!(answer.status, 403 | 404) => {
            Ok(States::Hidden)
        }
        (_, Some(answer)) => Err(Unread::CannotTell(
            Message::from(format!("{what}: ")).then(unexpected(&answer)),
            None,
        )),
        _ if !listing.is_complete() => Err(Unread::CannotTell(
            format!(
                "{what} was not read whole: {}",
                listing.incomplete().unwrap_or_default()
            )
            .into(),
            None,
        )),
        _ => Ok(States::Known {
            skipped: listing.skipped,
            states,
        }),
    }
}

/// The `.yml`/`.yaml` files in `.github/workflows` on a branch.
pub(super) struct WorkflowDir {
    pub names: Vec<String>,
    /// Entries of the listing that did not parse (each might have been a workflow).
    pub skipped: usize,
    /// Workflow files past [`MAX_FILES`], not read.
    pub beyond: usize,
}

#[derive(Deserialize)]
struct DirEntry {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

/// The `.yml`/`.yaml` files in `.github/workflows` on `branch`.
pub(super) async fn read_workflow_dir(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    branch: &str,
) -> Result<WorkflowDir, Unread> {
    let segments = [
        repo[0],
        repo[1],
        repo[2],
        "contents",
        ".github",
        "workflows",
    ];
    let mut names = Vec::new();
    let keep = |e: DirEntry| {
        let workflow = e.name.ends_with(".yml") || e.name.ends_with(".yaml");
        if e.kind == "file" && workflow && plain_file_name(&e.name) {
            names.push(e.name);
        }
    };
    let (listing, refused) = reader
        .list(&segments, Some(("ref", branch)), Shape::Array, keep)
        .await
        .map_err(|why| Unread::CannotTell(why.into(), None))?;
    let shown_branch = Text::new(branch, 200);
    if let Some(answered) = refused {
        return Err(match answered.status {
            404 if answered.accepted_permissions().is_none() => Unread::Missing(
                Message::from("there is no .github/workflows on ").value(&shown_branch),
            ),
            403 | 404 => Unread::CannotTell(
                Message::from("the workflows on ")
                    .value(&shown_branch)
                    .ours(" cannot be read"),
                Some(needs(&answered, "Contents: read")),
            ),
            _ => Unread::CannotTell(unexpected(&answered), None),
        });
    }
    if let Some(why) = listing.incomplete() {
        return Err(Unread::CannotTell(
            Message::from("the listing of .github/workflows on ")
                .value(&shown_branch)
                .ours(format!(" was not read whole: {why}")),
            None,
        ));
    }
    let beyond = names.len().saturating_sub(MAX_FILES);
    names.truncate(MAX_FILES);
    Ok(WorkflowDir {
        names,
        skipped: listing.skipped,
        beyond,
    })
}

/// A file's text on `git_ref` (the contents API's base64).
pub(super) async fn read_file(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    path: &str,
    git_ref: &str,
) -> Result<String, Unread> {
    let mut segments = vec![repo[0], repo[1], repo[2], "contents"];
    segments.extend(path.split('/'));
    let shown_path = Text::new(path, 300);
    let answered = reader
        .get(&segments, Some(("ref", git_ref)))
        .await
        .map_err(|why| {
            let why = Message::new().words(&shown_path).ours(format!(": {why}"));
            Unread::CannotTell(why, None)
        })?;
    match answered.status {
        200 => {}
        404 if answered.accepted_permissions().is_none() => {
            return Err(Unread::Missing(
                Message::new()
                    .words(&shown_path)
                    .ours(" is not on ")
                    .value(&Text::new(git_ref, 200)),
            ))
        }
        403 | 404 => {
            return Err(Unread::CannotTell(
                Message::new().words(&shown_path).ours(" cannot be read"),
                Some(needs(&answered, "Contents: read")),
            ))
        }
        _ => {
            return Err(Unread::CannotTell(
                Message::new()
                    .words(&shown_path)
                    .ours(": ")
                    .then(unexpected(&answered)),
                None,
            ))
        }
    }
    decode_file(&shown_path, &answered.body)
}

/// Fields of an answer's JSON object, read without building the rest of it (a tree of a
/// hostile 2 MiB answer costs tens of times its bytes): `None` when the body is not an object
/// with those fields of those types.
pub(super) fn fields<T: serde::de::DeserializeOwned>(body: &str) -> Option<T> {
    serde_json::from_str(body).ok()
}

/// The contents API's answer for a file.
#[derive(Deserialize)]
struct FileAnswer {
    encoding: Option<String>,
    content: Option<String>,
}

/// The text in a contents answer: `{"encoding": "base64", "content": "…"}`.
fn decode_file(path: &Text, body: &str) -> Result<String, Unread> {
    let cannot = |why: &str| Unread::CannotTell(Message::new().words(path).ours(why), None);
    let file: FileAnswer =
        fields(body).ok_or_else(|| cannot(": GitHub's answer is not the JSON it sends"))?;
    if file.encoding.as_deref() != Some("base64") {
        return Err(cannot(" is too large to read through the API"));
    }
    let encoded: String = file
        .content
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| cannot(": GitHub's answer is not base64"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A name that stays one path segment, and one line when it is shown (the server chose it).
pub(super) fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
        && name.len() <= 255
}

/// The permission to name: GitHub's own `x-accepted-github-permissions` when it sent one.
pub(super) fn needs(answered: &Answered, otherwise: &str) -> Message {
    match answered.accepted_permissions() {
        Some(accepted) => Message::from(format!("{otherwise} (GitHub: "))
            .words(&Text::new(accepted, 200))
            .ours(")"),
        None => otherwise.into(),
    }
}

/// `GitHub answered STATUS MESSAGE`, GitHub's message (when it sent one) as its words.
pub(super) fn unexpected(answered: &Answered) -> Message {
    let status = Message::from(format!("GitHub answered {}", answered.status));
    #[derive(Deserialize)]
    struct ErrorAnswer {
        message: Option<String>,
    }
    match fields::<ErrorAnswer>(&answered.body)
        .and_then(|e| e.message)
        .map(|m| Text::new(m.trim_end(), 300))
        .filter(|m| !m.is_empty())
    {
        Some(message) => status.ours(" ").words(&message),
        None => status,
    }
}
