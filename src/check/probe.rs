//! The reads behind `check`, through the one transport: every request a GET built from the
//! target's configured API base, with GitHub's headers and the target's token (an App's
//! minted), paced per API host and token like a run.

use super::verdict::{self, WorkflowFile};
use super::workflow;
use super::{TargetCheck, TokenCheck, Verdict};
use crate::config::kinds::Action;
use crate::config::model::TargetKind;
use crate::config::TargetSpec;
use crate::dispatch::pacing::{Lane, Pacer};
use crate::dispatch::retry::{self, Next};
use crate::dispatch::sender::GitHub;
use crate::github::classify::{Failure, Retry};
use crate::github::response::{Answered, TokenExpiry};
use crate::plan::Job;
use crate::policy::RetryPolicy;
use crate::untrusted::{Message, Text};
use base64::Engine;
use futures::stream::{self, StreamExt};
use serde_json::Value;

/// Workflow files read per repository at most (a repository with more is judged on these).
const MAX_FILES: usize = 100;

/// What `check` needs besides the jobs.
pub struct Probe<'a> {
    pub github: &'a GitHub,
    pub pacer: &'a Pacer,
    /// Seconds since the epoch, for judging expiry.
    pub now_epoch: u64,
    pub warn_days: u64,
}

/// A job to check: the target's spec, and the source it was planned for.
pub struct ToCheck<'a> {
    pub job: &'a Job,
    pub spec: &'a TargetSpec,
    pub source: &'a str,
}

/// Checks every target, `concurrency` at a time, in the order given.
pub async fn check_all(
    probe: &Probe<'_>,
    jobs: &[ToCheck<'_>],
    concurrency: usize,
) -> Vec<TargetCheck> {
    stream::iter(jobs)
        .map(|c| check_one(probe, c))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn check_one(probe: &Probe<'_>, c: &ToCheck<'_>) -> TargetCheck {
    let mut out = TargetCheck::new(c.job, c.source);
    if c.job.kind == TargetKind::Webhook {
        out.verdict = Verdict::NotCheckable;
        out.reason = "a webhook cannot be checked without calling it; nothing was sent".into();
        return out;
    }
    let mut reader = Reader {
        probe,
        job: std::borrow::Cow::Borrowed(c.job),
        lane: Lane::new(&c.job.lane, c.job.token.as_ref().map(|t| t.expose())),
        expiry: None,
        token_name: c
            .job
            .token_env
            .as_ref()
            .map_or_else(|| "GitHub App".to_owned(), ToString::to_string),
        waited: std::time::Duration::ZERO,
    };
    if c.job.token.is_none() && c.job.app.is_none() {
        out.verdict = Verdict::NotReady;
        out.reason = match &c.job.token_env {
            Some(env) => {
                format!("`{env}` is not set, so nothing can be checked and a release would fail")
                    .into()
            }
            None => "the target has no token".into(),
        };
        return out;
    }
    match probe.github.authorized(c.job).await {
        Ok(job) => reader.job = std::borrow::Cow::Owned(job.into_owned()),
        Err(failure) => {
            out.verdict = Verdict::NotReady;
            // The failure's reason has been through `untrusted` (see `github::classify`).
            out.reason =
                format!("cannot get a token for the GitHub App: {}", failure.reason).into();
            return out;
        }
    }
    judge(&mut reader, c, &mut out).await;
    if let Some(expiry) = reader.expiry {
        let token = TokenCheck::new(&reader.token_name, expiry, probe.now_epoch, probe.warn_days);
        if token.state == "expired" {
            out.verdict = Verdict::NotReady;
            out.problems.extend(token.message().map(Message::from));
        }
        out.token = Some(token);
    }
    if out.reason.is_empty() {
        out.reason = out.problems.first().cloned().unwrap_or_default();
    }
    out
}

/// Access, then the kind's own check.
async fn judge(reader: &mut Reader<'_, '_>, c: &ToCheck<'_>, out: &mut TargetCheck) {
    let Some(repo) = c.job.repository.clone() else {
        return;
    };
    let segments = ["repos", &repo.owner, &repo.name];
    let answered = match reader.get(&segments, None).await {
        Ok(answered) => answered,
        Err(why) => return cannot_tell(out, why.into(), None),
    };
    let default_branch = match answered.status {
        200 => serde_json::from_str::<Value>(&answered.body)
            .ok()
            .and_then(|v| v["default_branch"].as_str().map(str::to_owned))
            // Git refuses control characters in a ref, and GitHub names longer than 255 bytes.
            .filter(|b| b.len() <= 255 && !b.chars().any(char::is_control)),
        401 => {
            out.verdict = Verdict::NotReady;
            out.reason = format!(
                "bad credentials: the token in `{}` is invalid, revoked or expired",
                reader.token_name
            )
            .into();
            return;
        }
        403 | 404 => {
            out.verdict = Verdict::NotReady;
            let needs = needs(
                &answered,
                "Metadata: read (fine-grained) or `repo` scope (classic)",
            );
            out.reason = Message::from(format!(
                "{repo} not found or no access with `{}` (needs ",
                reader.token_name
            ))
            .then(needs.clone())
            .ours(")");
            out.needs = Some(needs);
            return;
        }
        _ => return cannot_tell(out, unexpected(&answered), None),
    };
    let Some(default_branch) = default_branch else {
        return cannot_tell(
            out,
            "GitHub's answer names no usable default branch".into(),
            None,
        );
    };
    // The raw name goes into requests; only its `Text` is shown.
    let shown_branch = Text::new(&default_branch, 200);
    out.evidence.push(
        Message::from(format!(
            "{repo} is readable with `{}`; default branch ",
            reader.token_name
        ))
        .value(&shown_branch),
    );
    out.default_branch = Some(shown_branch);
    let body = c.job.body();
    match &c.spec.action {
        Action::RepositoryDispatch { .. } => {
            let event_type = body["event_type"].as_str().unwrap_or_default().to_owned();
            repository_dispatch(reader, &segments, &default_branch, &event_type, out).await;
        }
        Action::WorkflowDispatch { workflow, .. } => {
            let git_ref = body["ref"].as_str().map_or(default_branch, str::to_owned);
            let sent = body["inputs"].as_object().cloned().unwrap_or_default();
            workflow_dispatch(reader, &segments, workflow, &git_ref, &sent, out).await;
        }
        Action::Webhook { .. } => {}
    }
}

async fn repository_dispatch(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    branch: &str,
    event_type: &str,
    out: &mut TargetCheck,
) {
    // Workflow states need Actions: read; without it every file counts as active.
    let mut states = std::collections::HashMap::new();
    let listed = reader
        .get(
            &[repo[0], repo[1], repo[2], "actions", "workflows"],
            Some(("per_page", "100")),
        )
        .await;
    match listed {
        Ok(answered) if answered.status == 200 => {
            let v: Value = serde_json::from_str(&answered.body).unwrap_or_default();
            for w in v["workflows"].as_array().into_iter().flatten() {
                if let (Some(path), Some(state)) = (w["path"].as_str(), w["state"].as_str()) {
                    states.insert(path.to_owned(), crate::untrusted::word(state));
                }
            }
        }
        _ => out.evidence.push(
            "workflow states are not visible (needs Actions: read), so every workflow file counts as active".into(),
        ),
    }
    let files = match read_workflow_dir(reader, repo, branch).await {
        Ok(files) => files,
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(why)) => {
            out.verdict = Verdict::NotReady;
            out.reason = Message::from(format!("nothing listens for `{event_type}`: ")).then(why);
            return;
        }
    };
    let mut read = Vec::new();
    for name in files {
        let path = format!(".github/workflows/{name}");
        let parsed = match read_file(reader, repo, &path, branch).await {
            Ok(text) => workflow::parse(&text),
            Err(Unread::CannotTell(why, _) | Unread::Missing(why)) => Err(why.terminal()),
        };
        read.push(WorkflowFile {
            state: states.get(&path).cloned(),
            path,
            parsed,
        });
    }
    let found = verdict::listening(event_type, &read);
    for unreadable in &found.unreadable {
        out.evidence
            .push(Message::from("not read: ").words(&Text::new(unreadable, 300)));
    }
    out.trackable = Some(found.trackable);
    let branch = Text::new(branch, 200);
    if !found.listeners.is_empty() {
        out.verdict = Verdict::Ready;
        out.reason = Message::new()
            .list(&shown_all(&found.listeners, 300), ", ")
            .ours(format!(" listen(s) for `{event_type}` on "))
            .value(&branch);
        if found.trackable {
            out.reason
                .push_ours(" (trackable: its run-name carries the dispatch id)");
        }
        return;
    }
    out.verdict = Verdict::NotReady;
    let mut reason = Message::from("no active workflow on ")
        .value(&branch)
        .ours(format!(" listens for `{event_type}`"));
    out.suggestion = found.suggestion.as_deref().map(|s| Text::new(s, 100));
    if let Some(suggestion) = &out.suggestion {
        reason = reason.ours(" (did you mean ").value(suggestion).ours("?)");
    }
    if !found.known_types.is_empty() {
        let types = shown_all(&found.known_types, 100);
        reason = reason.ours("; listened for: ").list(&types, ", ");
    }
    if !found.disabled.is_empty() {
        let disabled = shown_all(&found.disabled, 300);
        reason = reason
            .ours("; disabled workflows would: ")
            .list(&disabled, ", ");
    }
    out.reason = reason.clone();
    out.problems.push(reason);
}

/// Server words (file paths, event types), each made a [`Text`] of at most `max_chars`.
fn shown_all(items: &[String], max_chars: usize) -> Vec<Text> {
    items
        .iter()
        .map(|item| Text::new(item, max_chars))
        .collect()
}

async fn workflow_dispatch(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    workflow_id: &str,
    git_ref: &str,
    sent: &serde_json::Map<String, Value>,
    out: &mut TargetCheck,
) {
    let answered = match reader
        .get(
            &[
                repo[0],
                repo[1],
                repo[2],
                "actions",
                "workflows",
                workflow_id,
            ],
            None,
        )
        .await
    {
        Ok(answered) => answered,
        Err(why) => return cannot_tell(out, why.into(), None),
    };
    let info: Value = match answered.status {
        200 => serde_json::from_str(&answered.body).unwrap_or_default(),
        403 => {
            return cannot_tell(
                out,
                format!("the workflow `{workflow_id}` cannot be read").into(),
                Some(needs(&answered, "Actions: read")),
            )
        }
        404 if answered.accepted_permissions().is_some() => {
            return cannot_tell(
                out,
                format!("the workflow `{workflow_id}` cannot be read").into(),
                Some(needs(&answered, "Actions: read")),
            )
        }
        404 => {
            out.verdict = Verdict::NotReady;
            out.reason = format!(
                "there is no workflow `{workflow_id}` in {}/{}",
                repo[1], repo[2]
            )
            .into();
            out.problems.push(out.reason.clone());
            return;
        }
        _ => return cannot_tell(out, unexpected(&answered), None),
    };
    let state = info["state"].as_str().map(crate::untrusted::word);
    if let Some(state) = state.as_deref().filter(|s| *s != "active") {
        // A state is kept only when it is a plain word (`untrusted::word`).
        out.problems.push(
            format!("the workflow `{workflow_id}` is {state}, so GitHub will not run it").into(),
        );
    }
    let file_name = info["path"]
        .as_str()
        .and_then(|p| p.strip_prefix(".github/workflows/"))
        .unwrap_or(workflow_id);
    if !plain_file_name(file_name) {
        return cannot_tell(
            out,
            format!("the workflow `{workflow_id}` has no readable file name").into(),
            None,
        );
    }
    let path = format!(".github/workflows/{file_name}");
    let text = match read_file(reader, repo, &path, git_ref).await {
        Ok(text) => text,
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(_)) => {
            out.verdict = Verdict::NotReady;
            out.reason = Message::new()
                .words(&Text::new(&path, 300))
                .ours(" is not on ")
                .value(&Text::new(git_ref, 200))
                .ours(", where the dispatch would run it");
            out.problems.push(out.reason.clone());
            return;
        }
    };
    match workflow::parse(&text) {
        Err(why) => out.problems.push(
            on_ref(&path, git_ref)
                .ours(" cannot be read: ")
                .words(&Text::new(&why, 300)),
        ),
        Ok(parsed) => match parsed.workflow_dispatch {
            None => out
                .problems
                .push(on_ref(&path, git_ref).ours(" does not declare `workflow_dispatch`")),
            Some(inputs) => {
                out.evidence.push(on_ref(&path, git_ref).ours(format!(
                    " declares workflow_dispatch with {} input(s)",
                    inputs.len()
                )));
                // Sentences that quote the workflow's own input names and options.
                out.problems.extend(
                    verdict::input_problems(sent, &inputs)
                        .iter()
                        .map(|p| Message::new().words(&Text::new(p, 500))),
                );
            }
        },
    }
    if out.problems.is_empty() {
        out.verdict = Verdict::Ready;
        out.reason = Message::new()
            .words(&Text::new(&path, 300))
            .ours(" runs on ")
            .value(&Text::new(git_ref, 200))
            .ours(" and takes the inputs sent");
    } else {
        out.verdict = Verdict::NotReady;
    }
}

/// `PATH on `REF``: a workflow file and the branch it was read on, both a server's.
fn on_ref(path: &str, git_ref: &str) -> Message {
    Message::new()
        .words(&Text::new(path, 300))
        .ours(" on ")
        .value(&Text::new(git_ref, 200))
}

/// Why a read did not give what was asked.
enum Unread {
    /// A 403 (or a 404 naming a permission), or an unexpected answer.
    CannotTell(Message, Option<Message>),
    /// A 404: not there.
    Missing(Message),
}

/// The `.yml`/`.yaml` files in `.github/workflows` on `branch`.
async fn read_workflow_dir(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    branch: &str,
) -> Result<Vec<String>, Unread> {
    let answered = reader
        .get(
            &[
                repo[0],
                repo[1],
                repo[2],
                "contents",
                ".github",
                "workflows",
            ],
            Some(("ref", branch)),
        )
        .await
        .map_err(|why| Unread::CannotTell(why.into(), None))?;
    let shown_branch = Text::new(branch, 200);
    match answered.status {
        200 => {}
        404 if answered.accepted_permissions().is_none() => {
            return Err(Unread::Missing(
                Message::from("there is no .github/workflows on ").value(&shown_branch),
            ))
        }
        403 | 404 => {
            return Err(Unread::CannotTell(
                Message::from("the workflows on ")
                    .value(&shown_branch)
                    .ours(" cannot be read"),
                Some(needs(&answered, "Contents: read")),
            ))
        }
        _ => return Err(Unread::CannotTell(unexpected(&answered), None)),
    }
    let listing: Value = serde_json::from_str(&answered.body).unwrap_or_default();
    let mut names: Vec<String> = listing
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_str() == Some("file"))
        .filter_map(|e| e["name"].as_str())
        .filter(|n| (n.ends_with(".yml") || n.ends_with(".yaml")) && plain_file_name(n))
        .map(str::to_owned)
        .collect();
    names.truncate(MAX_FILES);
    Ok(names)
}

/// A file's text on `git_ref` (the contents API's base64).
async fn read_file(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    path: &str,
    git_ref: &str,
) -> Result<String, Unread> {
    let mut segments = vec![repo[0], repo[1], repo[2], "contents"];
    segments.extend(path.split('/'));
    let answered = reader
        .get(&segments, Some(("ref", git_ref)))
        .await
        .map_err(|why| Unread::CannotTell(why.into(), None))?;
    let shown_path = Text::new(path, 300);
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
        _ => return Err(Unread::CannotTell(unexpected(&answered), None)),
    }
    let file: Value = serde_json::from_str(&answered.body).unwrap_or_default();
    if file["encoding"].as_str() != Some("base64") {
        return Err(Unread::CannotTell(
            Message::new()
                .words(&shown_path)
                .ours(" is too large to read through the API"),
            None,
        ));
    }
    let encoded: String = file["content"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| {
            let why = Message::new()
                .words(&shown_path)
                .ours(": GitHub's answer is not base64");
            Unread::CannotTell(why, None)
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A name that stays one path segment, and one line when it is shown (the server chose it).
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
        && name.len() <= 255
}

fn cannot_tell(out: &mut TargetCheck, why: Message, needs: Option<Message>) {
    out.verdict = Verdict::CannotTell;
    let mut reason = Message::from("cannot tell: ").then(why);
    if let Some(needs) = &needs {
        reason = reason.ours(" (needs ").then(needs.clone()).ours(")");
    }
    out.reason = reason;
    out.needs = needs;
}

/// The permission to name: GitHub's own `x-accepted-github-permissions` when it sent one.
fn needs(answered: &Answered, otherwise: &str) -> Message {
    match answered.accepted_permissions() {
        Some(accepted) => Message::from(format!("{otherwise} (GitHub: "))
            .words(&Text::new(accepted, 200))
            .ours(")"),
        None => otherwise.into(),
    }
}

fn unexpected(answered: &Answered) -> Message {
    let status = Message::from(format!("GitHub answered {}", answered.status));
    match serde_json::from_str::<Value>(&answered.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(|m| Text::new(m.trim_end(), 300)))
        .filter(|m| !m.is_empty())
    {
        Some(message) => status.ours(" ").words(&message),
        None => status,
    }
}

/// Attempts in all for one read (the target's `max_attempts` when lower).
const READ_ATTEMPTS: u32 = 3;
/// A check is a preflight someone waits for: a read is not retried past this (or the target's
/// `deadline_secs`, when shorter), whatever `Retry-After` asks.
const READ_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);
/// All the waits before retries of one target's reads together (a target reads its
/// repository, its workflow list and up to 100 workflow files): a server that answers every
/// read with a 503 and a Retry-After holds a target this long at most, not that long per read.
const TARGET_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// One target's reads: paced on its lane, each answer's token expiry kept.
struct Reader<'p, 'j> {
    probe: &'p Probe<'p>,
    job: std::borrow::Cow<'j, Job>,
    lane: Lane,
    expiry: Option<TokenExpiry>,
    token_name: String,
    /// How long this target's reads have waited before retries, in all.
    waited: std::time::Duration,
}

impl Reader<'_, '_> {
    /// GETs `{api_base}/{segments...}?{query}`; `Err` only when no answer came.
    async fn get(
        &mut self,
        segments: &[&str],
        query: Option<(&str, &str)>,
    ) -> Result<Answered, String> {
        let mut url =
            reqwest::Url::parse(&self.job.api_base).map_err(|e| format!("bad API URL: {e}"))?;
        url.path_segments_mut()
            .map_err(|()| "the API URL cannot have a path".to_owned())?
            .pop_if_empty()
            .extend(segments);
        if let Some((name, value)) = query {
            url.query_pairs_mut().append_pair(name, value);
        }
        // A read that gets no answer, or a 5xx, is tried again as a dispatch would be (with
        // the target's backoff and deadline), at most READ_ATTEMPTS times in all: a moment of
        // GitHub trouble does not turn into "cannot tell".
        let policy = RetryPolicy {
            max_attempts: self.job.retry.max_attempts.clamp(1, READ_ATTEMPTS),
            deadline: self.job.retry.deadline.min(READ_DEADLINE),
            ..*self.job.retry
        };
        let started = tokio::time::Instant::now();
        let mut attempt: u32 = 1;
        let answered = loop {
            let _ = self.probe.pacer.acquire(&self.lane, None).await;
            let read = self.probe.github.read(&self.job, url.as_str()).await;
            let retry = match &read {
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
            let elapsed = started.elapsed();
            match retry::next(&policy, &failure, attempt, elapsed, fastrand::f64()) {
                Next::Retry(delay)
                    if matches!(retry, Retry::Later { .. })
                        && self.waited.saturating_add(delay) <= TARGET_RETRY_WAIT =>
                {
                    self.waited = self.waited.saturating_add(delay);
                    tokio::time::sleep(delay).await;
                    attempt = attempt.saturating_add(1);
                }
                _ => break read.map_err(|failure| failure.reason)?,
            }
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
}
