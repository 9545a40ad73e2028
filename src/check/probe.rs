//! The reads behind `check`, through the one transport: every request a GET built from the
//! target's configured API base, with GitHub's headers and the target's token (an App's
//! minted), paced per API host and token like a run, and within each identity's read budget.

use super::event_types::Sent;
use super::reads::{
    self, needs, plain_file_name, read_file, read_workflow_dir, unexpected, Reader, States, Unread,
};
use super::verdict::{self, WorkflowFile};
use super::workflow;
use super::{TargetCheck, TokenCheck, Verdict};
use crate::config::kinds::Action;
use crate::config::model::TargetKind;
use crate::config::TargetSpec;
use crate::dispatch::budget::ReadBudgets;
use crate::dispatch::pacing::Pacer;
use crate::dispatch::sender::GitHub;
use crate::plan::Job;
use crate::untrusted::{Message, Text};
use futures::stream::{self, StreamExt};
use serde_json::Value;

/// What `check` needs besides the jobs.
pub(crate) struct Probe<'a> {
    pub github: &'a GitHub,
    pub pacer: &'a Pacer,
    /// Each identity's read budget (`read_budget`, or GitHub's headers once sent).
    pub reads: &'a ReadBudgets,
    /// Turns to hold an answer: [`ANSWERS_AT_ONCE`] across every target, so memory is bounded
    /// whatever the servers send and however many targets are checked side by side.
    pub answers: &'a tokio::sync::Semaphore,
    /// Seconds since the epoch, for judging expiry.
    pub now_epoch: u64,
    pub warn_days: u64,
}

/// Answers held at once by all targets together. An answer is at most 2 MiB (a list page or
/// a workflow file's base64), and a workflow file read from it holds up to 4 MiB of text once
/// parsed: 4 turns keep `check` within the 64 MiB BENCHMARKS.md states; reads take
/// milliseconds, so 4 in flight still check a hundred targets in seconds.
pub(crate) const ANSWERS_AT_ONCE: usize = 4;

/// A job to check: the target's spec, and the source it was planned for.
pub(crate) struct ToCheck<'a> {
    pub job: &'a Job,
    pub spec: &'a TargetSpec,
    pub source: &'a str,
    /// repository_dispatch: every event type a release of the source can send (see
    /// [`super::event_types`]); `None` for the one the job was planned with.
    pub event_types: Option<&'a Sent>,
}

/// Checks every target, `concurrency` at a time, in the order given.
pub(crate) async fn check_all(
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
    let mut out = check_target(probe, c).await;
    super::gates::judge(probe.github.client(), probe.answers, c.job, &mut out).await;
    out
}

/// The target itself: its access, and what listens for what it sends.
async fn check_target(probe: &Probe<'_>, c: &ToCheck<'_>) -> TargetCheck {
    let mut out = TargetCheck::new(c.job, c.source);
    if c.job.kind == TargetKind::Webhook {
        out.verdict = Verdict::NotCheckable;
        out.reason = "a webhook cannot be checked without calling it; nothing was sent".into();
        return out;
    }
    let mut reader = Reader::new(probe, c.job);
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

/// `GET /repos/{owner}/{repo}`: the one field `check` reads.
#[derive(serde::Deserialize)]
struct RepositoryAnswer {
    default_branch: Option<String>,
}

/// `GET …/actions/workflows/{id}`: the fields `check` reads.
#[derive(serde::Deserialize)]
struct WorkflowAnswer {
    state: Option<String>,
    path: Option<String>,
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
        200 => reads::fields::<RepositoryAnswer>(&answered.body)
            .and_then(|r| r.default_branch)
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
    // The answer is done with: a target waiting for its next read holds none.
    drop(answered);
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
            let planned = || Sent::literal(body["event_type"].as_str().unwrap_or_default());
            let sent = c.event_types.cloned().unwrap_or_else(planned);
            repository_dispatch(reader, &segments, &default_branch, &sent, out).await;
        }
        Action::WorkflowDispatch {
            workflow, wait_job, ..
        } => {
            let git_ref = body["ref"].as_str().map_or(default_branch, str::to_owned);
            let sent = Dispatched {
                inputs: body["inputs"].as_object().cloned().unwrap_or_default(),
                wait_job: wait_job.as_deref(),
            };
            workflow_dispatch(reader, &segments, workflow, &git_ref, &sent, out).await;
        }
        Action::Webhook { .. } => {}
    }
}

async fn repository_dispatch(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    branch: &str,
    sent: &Sent,
    out: &mut TargetCheck,
) {
    let dir = match read_workflow_dir(reader, repo, branch).await {
        Ok(dir) => dir,
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(why)) => {
            out.verdict = Verdict::NotReady;
            out.reason = Message::from(format!("nothing listens for {}: ", sent.shown()))
                .then(why)
                .ours(receiver_hint(&out.target));
            return;
        }
    };
    let wanted = dir
        .names
        .iter()
        .map(|name| format!(".github/workflows/{name}"))
        .collect();
    // Workflow states need Actions: read; without it (a 403/404) every file counts as active.
    // A list that answered but could not be read whole is not that: it is "cannot tell".
    let states = match reads::workflow_states(reader, repo, &wanted).await {
        Ok(States::Hidden) => {
            out.evidence.push(
                "workflow states are not visible (needs Actions: read), so every workflow file counts as active".into(),
            );
            None
        }
        Ok(States::Known { states, skipped }) => Some((states, skipped)),
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(why)) => return cannot_tell(out, why, None),
    };
    let files = read_files(reader, repo, branch, &dir, states.as_ref().map(|s| &s.0)).await;
    let mut found = verdict::listening(sent, &files.read);
    for unreadable in &found.unreadable {
        out.evidence
            .push(Message::from("not read: ").words(&Text::new(unreadable, 300)));
    }
    for (why, _) in &files.unread {
        out.evidence
            .push(Message::from("not read: ").then(why.clone()));
    }
    out.trackable = Some(found.trackable);
    let unlisted_states = states.as_ref().map_or(0, |s| s.1);
    if !found.listeners.is_empty() {
        // A listener whose state was among the entries that could not be read may be disabled:
        // ready only if the listeners whose state is known hear everything without it.
        if unlisted_states > 0 && !heard_without_unknown_states(sent, &files.read) {
            let stated = |l: &&String| states.as_ref().is_some_and(|s| s.0.contains_key(*l));
            let unknown: Vec<String> = found
                .listeners
                .iter()
                .filter(|l| !stated(l))
                .cloned()
                .collect();
            let why = Message::from(format!(
                "{unlisted_states} entries of the list of workflows could not be read, and the state of "
            ))
            .list(&shown_all(&unknown, 300), ", ")
            .ours(" is not among the others");
            return cannot_tell(out, why, None);
        }
        return listening(out, &found, sent, branch);
    }
    if let Some((why, needs)) = files.incomplete(&dir, reader) {
        return cannot_tell(out, why, needs);
    }
    if let Some(why) = found.uncertain.take() {
        return cannot_tell(out, why.into(), None);
    }
    not_listening(out, found, branch);
}

/// What was read of a repository's workflow files.
struct FilesRead {
    read: Vec<WorkflowFile>,
    /// Files that could not be read: why, and the permission to name.
    unread: Vec<(Message, Option<Message>)>,
    /// Files not asked for: the target's time for reads ran out first.
    not_asked: usize,
}

impl FilesRead {
    /// Why "nothing listens" cannot be said, when it cannot: a file, or a part of the
    /// listing, that was not read.
    fn incomplete(
        &self,
        dir: &reads::WorkflowDir,
        reader: &Reader<'_, '_>,
    ) -> Option<(Message, Option<Message>)> {
        let total = dir.names.len();
        let read = total - self.unread.len() - self.not_asked;
        let needs = self.unread.iter().find_map(|(_, needs)| needs.clone());
        if self.not_asked > 0 || reader.out_of_time {
            let why = format!(
                "stopped after {} s: {read} of {total} workflow files read",
                reader.budget_secs()
            );
            return Some((why.into(), needs));
        }
        if let Some((first, _)) = self.unread.first() {
            let others = if self.unread.len() < total {
                ", and none of the others listens"
            } else {
                ""
            };
            let why = Message::from(format!(
                "{} of {total} workflow files could not be read (",
                self.unread.len()
            ))
            .then(first.clone())
            .ours(format!("){others}"));
            return Some((why, needs));
        }
        if dir.skipped > 0 {
            let why = format!(
                "{} entries of the listing of .github/workflows could not be read",
                dir.skipped
            );
            return Some((why.into(), None));
        }
        if dir.beyond > 0 {
            let why = format!(
                "only the first {} of {} workflow files are read, and none of them listens",
                reads::MAX_FILES,
                reads::MAX_FILES + dir.beyond
            );
            return Some((why.into(), None));
        }
        None
    }
}

/// Reads each workflow file of `dir` until the target's time for reads runs out.
async fn read_files(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    branch: &str,
    dir: &reads::WorkflowDir,
    states: Option<&std::collections::HashMap<String, String>>,
) -> FilesRead {
    let mut files = FilesRead {
        read: Vec::new(),
        unread: Vec::new(),
        not_asked: 0,
    };
    for (at, name) in dir.names.iter().enumerate() {
        if reader.out_of_time {
            files.not_asked = dir.names.len() - at;
            break;
        }
        let path = format!(".github/workflows/{name}");
        let parsed = match read_file(reader, repo, &path, branch).await {
            Ok(text) => match workflow::read(&text) {
                Ok(workflow) => Ok(workflow),
                Err(workflow::Unparsed::Invalid(why)) => Err(why),
                // Not read, so not known not to listen: "nothing listens" cannot rest on it.
                Err(workflow::Unparsed::PastLimits(why)) => {
                    let why = Message::new()
                        .words(&Text::new(&path, 300))
                        .ours(format!(": {why}"));
                    files.unread.push((why, None));
                    continue;
                }
            },
            // Listed, then gone: it does not listen. (Its reason is shown as a `Text` again.)
            Err(Unread::Missing(why)) => Err(why.terminal()),
            Err(Unread::CannotTell(why, needs)) => {
                files.unread.push((why, needs));
                continue;
            }
        };
        files.read.push(WorkflowFile {
            state: states.and_then(|s| s.get(&path).cloned()),
            path,
            parsed,
        });
    }
    files
}

/// An active workflow listens for everything the target can send: ready.
fn listening(out: &mut TargetCheck, found: &verdict::Listening, sent: &Sent, branch: &str) {
    out.verdict = Verdict::Ready;
    out.reason = Message::new()
        .list(&shown_all(&found.listeners, 300), ", ")
        .ours(format!(" listen(s) for {} on ", sent.shown()))
        .value(&Text::new(branch, 200));
    if found.trackable {
        out.reason
            .push_ours(" (trackable: its run-name carries the dispatch id)");
    }
}

/// Whether the files whose state is known hear everything `sent`, the others taken as disabled.
fn heard_without_unknown_states(sent: &Sent, read: &[WorkflowFile]) -> bool {
    let known: Vec<WorkflowFile> = read
        .iter()
        .map(|file| WorkflowFile {
            state: Some(file.state.clone().unwrap_or_else(|| "unknown".to_owned())),
            ..file.clone()
        })
        .collect();
    !verdict::listening(sent, &known).listeners.is_empty()
}

/// Event types a "not ready" reason names at most.
const SHOWN_TYPES: usize = 20;

/// Every file was read and none that is active listens.
fn not_listening(out: &mut TargetCheck, found: verdict::Listening, branch: &str) {
    out.verdict = Verdict::NotReady;
    let mut reason = Message::from("no active workflow on ")
        .value(&Text::new(branch, 200))
        .ours(format!(" listens for {}", found.unheard));
    out.suggestion = found.suggestion.as_deref().map(|s| Text::new(s, 100));
    if let Some(suggestion) = &out.suggestion {
        reason = reason.ours(" (did you mean ").value(suggestion).ours("?)");
    }
    if !found.known_types.is_empty() {
        // A server's file may list a hundred thousand: a reason names the first few.
        let types = shown_all(
            &found.known_types[..found.known_types.len().min(SHOWN_TYPES)],
            100,
        );
        reason = reason.ours("; listened for: ").list(&types, ", ");
        let more = found.known_types.len().saturating_sub(SHOWN_TYPES);
        if more > 0 {
            reason = reason.ours(format!(" and {more} more"));
        }
    }
    if !found.disabled.is_empty() {
        let disabled = shown_all(&found.disabled, 300);
        reason = reason
            .ours("; disabled workflows would: ")
            .list(&disabled, ", ");
    }
    reason = reason.ours(receiver_hint(&out.target));
    out.reason = reason.clone();
    out.problems.push(reason);
}

/// Where a repository that does not listen gets a workflow that does.
fn receiver_hint(target: &str) -> String {
    format!("; `orchestrator receiver {target}` writes a workflow that listens")
}

/// Server words (file paths, event types), each made a [`Text`] of at most `max_chars`.
fn shown_all(items: &[String], max_chars: usize) -> Vec<Text> {
    items
        .iter()
        .map(|item| Text::new(item, max_chars))
        .collect()
}

/// A workflow_dispatch target: its workflow is read by id, then its file on the branch the
/// dispatch would run, and the inputs sent are held against the inputs it declares.
async fn workflow_dispatch(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    workflow_id: &str,
    git_ref: &str,
    sent: &Dispatched<'_>,
    out: &mut TargetCheck,
) {
    let Some(info) = workflow_info(reader, repo, workflow_id, out).await else {
        return;
    };
    let state = info.state.as_deref().map(crate::untrusted::word);
    if let Some(state) = state.as_deref().filter(|s| *s != "active") {
        // A state is kept only when it is a plain word (`untrusted::word`).
        out.problems.push(
            format!("the workflow `{workflow_id}` is {state}, so GitHub will not run it").into(),
        );
    }
    let file_name = info
        .path
        .as_deref()
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
    judge_inputs(&text, &path, git_ref, sent, out);
}

/// The workflow `workflow_id` as GitHub lists it (its state and file), or `None` with the
/// verdict set: cannot tell (unread, refused) or not ready (no such workflow).
async fn workflow_info(
    reader: &mut Reader<'_, '_>,
    repo: &[&str; 3],
    workflow_id: &str,
    out: &mut TargetCheck,
) -> Option<WorkflowAnswer> {
    let segments = [
        repo[0],
        repo[1],
        repo[2],
        "actions",
        "workflows",
        workflow_id,
    ];
    let answered = match reader.get(&segments, None).await {
        Ok(answered) => answered,
        Err(why) => {
            cannot_tell(out, why.into(), None);
            return None;
        }
    };
    let unreadable = || Message::from(format!("the workflow `{workflow_id}` cannot be read"));
    match answered.status {
        // The answer is dropped on return: the file read next holds the turn alone.
        200 => {
            let info = reads::fields(&answered.body);
            if info.is_none() {
                let why = format!(
                    "GitHub's answer about the workflow `{workflow_id}` is not the JSON it sends"
                );
                cannot_tell(out, why.into(), None);
            }
            info
        }
        403 => {
            cannot_tell(out, unreadable(), Some(needs(&answered, "Actions: read")));
            None
        }
        404 if answered.accepted_permissions().is_some() => {
            cannot_tell(out, unreadable(), Some(needs(&answered, "Actions: read")));
            None
        }
        404 => {
            out.verdict = Verdict::NotReady;
            out.reason = format!(
                "there is no workflow `{workflow_id}` in {}/{}",
                repo[1], repo[2]
            )
            .into();
            out.problems.push(out.reason.clone());
            None
        }
        _ => {
            cannot_tell(out, unexpected(&answered), None);
            None
        }
    }
}

/// What a workflow_dispatch target sends, and the job of the run it waits for.
struct Dispatched<'a> {
    inputs: serde_json::Map<String, Value>,
    wait_job: Option<&'a str>,
}

/// The verdict from the workflow file's text: it must declare `workflow_dispatch`, take the
/// inputs sent, and have the job waited for.
fn judge_inputs(
    text: &str,
    path: &str,
    git_ref: &str,
    sent: &Dispatched<'_>,
    out: &mut TargetCheck,
) {
    match workflow::parse(text) {
        Err(why) => out.problems.push(
            on_ref(path, git_ref)
                .ours(" cannot be read: ")
                .words(&Text::new(&why, 300)),
        ),
        Ok(parsed) => {
            match &parsed.workflow_dispatch {
                None => out
                    .problems
                    .push(on_ref(path, git_ref).ours(" does not declare `workflow_dispatch`")),
                Some(inputs) => {
                    out.evidence.push(on_ref(path, git_ref).ours(format!(
                        " declares workflow_dispatch with {} input(s)",
                        inputs.len()
                    )));
                    // Sentences that quote the workflow's own input names and options.
                    out.problems.extend(
                        verdict::input_problems(&sent.inputs, inputs)
                            .iter()
                            .map(|p| Message::new().words(&Text::new(p, 500))),
                    );
                }
            }
            if let Some(wanted) = sent.wait_job {
                return judge_job(wanted, &parsed.jobs, (path, git_ref), out);
            }
        }
    }
    conclude_inputs(path, git_ref, out);
}

/// `wait: { job: NAME }`: the file must have a job a run lists as `wanted`; one whose name is
/// computed when the run starts makes it "cannot tell", never missing.
fn judge_job(
    wanted: &str,
    jobs: &[workflow::JobName],
    (path, git_ref): (&str, &str),
    out: &mut TargetCheck,
) {
    let job = Text::new(wanted, 200);
    match verdict::job_found(wanted, jobs) {
        verdict::JobFound::Yes => {
            let has = on_ref(path, git_ref).ours(" has the job ").value(&job);
            out.evidence.push(has.ours(" waited for"));
        }
        verdict::JobFound::No(near) => {
            let mut problem = on_ref(path, git_ref)
                .ours(" has no job ")
                .value(&job)
                .ours(", which `wait: { job }` waits for");
            if let Some(near) = near {
                let near = Text::new(&near, 200);
                problem = problem.ours(" (did you mean ").value(&near).ours("?)");
            }
            out.problems.push(problem);
        }
        verdict::JobFound::CannotTell(computed) if out.problems.is_empty() => {
            let why = Message::from("whether a run of ")
                .then(on_ref(path, git_ref))
                .ours(" lists the job ")
                .value(&job)
                .ours(": a job's name is computed when it runs (")
                .value(&Text::new(&computed, 200))
                .ours(")");
            return cannot_tell(out, why, None);
        }
        verdict::JobFound::CannotTell(_) => {}
    }
    conclude_inputs(path, git_ref, out);
}

/// Ready when nothing was found wrong: the file runs on the ref and takes the inputs sent.
fn conclude_inputs(path: &str, git_ref: &str, out: &mut TargetCheck) {
    if out.problems.is_empty() {
        out.verdict = Verdict::Ready;
        out.reason = Message::new()
            .words(&Text::new(path, 300))
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

fn cannot_tell(out: &mut TargetCheck, why: Message, needs: Option<Message>) {
    out.verdict = Verdict::CannotTell;
    let mut reason = Message::from("cannot tell: ").then(why);
    if let Some(needs) = &needs {
        reason = reason.ours(" (needs ").then(needs.clone()).ours(")");
    }
    out.reason = reason;
    out.needs = needs;
}
