//! The reads behind `check`, through the one transport: every request a GET built from the
//! target's configured API base, with GitHub's headers and the target's token (an App's
//! minted), paced per API host and token like a run.

use super::reads::{
    self, needs, plain_file_name, read_file, read_workflow_dir, unexpected, Reader, States, Unread,
};
use super::verdict::{self, WorkflowFile};
use super::workflow;
use super::{TargetCheck, TokenCheck, Verdict};
use crate::config::kinds::Action;
use crate::config::model::TargetKind;
use crate::config::TargetSpec;
use crate::dispatch::pacing::Pacer;
use crate::dispatch::sender::GitHub;
use crate::plan::Job;
use crate::untrusted::shown;
use futures::stream::{self, StreamExt};
use serde_json::Value;

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
        out.reason = "a webhook cannot be checked without calling it; nothing was sent".to_owned();
        return out;
    }
    let mut reader = Reader::new(probe, c.job);
    if c.job.token.is_none() && c.job.app.is_none() {
        out.verdict = Verdict::NotReady;
        out.reason = match &c.job.token_env {
            Some(env) => {
                format!("`{env}` is not set, so nothing can be checked and a release would fail")
            }
            None => "the target has no token".to_owned(),
        };
        return out;
    }
    match probe.github.authorized(c.job).await {
        Ok(job) => reader.job = std::borrow::Cow::Owned(job.into_owned()),
        Err(failure) => {
            out.verdict = Verdict::NotReady;
            out.reason = format!("cannot get a token for the GitHub App: {}", failure.reason);
            return out;
        }
    }
    judge(&mut reader, c, &mut out).await;
    if let Some(expiry) = reader.expiry {
        let token = TokenCheck::new(&reader.token_name, expiry, probe.now_epoch, probe.warn_days);
        if token.state == "expired" {
            out.verdict = Verdict::NotReady;
            out.problems.extend(token.message());
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
        Err(why) => return cannot_tell(out, why, None),
    };
    let default_branch = match answered.status {
        200 => serde_json::from_str::<Value>(&answered.body)
            .ok()
            .and_then(|v| v["default_branch"].as_str().map(str::to_owned)),
        401 => {
            out.verdict = Verdict::NotReady;
            out.reason = format!(
                "bad credentials: the token in `{}` is invalid, revoked or expired",
                reader.token_name
            );
            return;
        }
        403 | 404 => {
            out.verdict = Verdict::NotReady;
            out.needs = Some(needs(
                &answered,
                "Metadata: read (fine-grained) or `repo` scope (classic)",
            ));
            out.reason = format!(
                "{repo} not found or no access with `{}` (needs {})",
                reader.token_name,
                out.needs.as_deref().unwrap_or_default()
            );
            return;
        }
        _ => return cannot_tell(out, unexpected(&answered), None),
    };
    let Some(default_branch) = default_branch.map(|b| shown(&b, 200)) else {
        return cannot_tell(
            out,
            "GitHub's answer names no default branch".to_owned(),
            None,
        );
    };
    out.evidence.push(format!(
        "{repo} is readable with `{}`; default branch `{default_branch}`",
        reader.token_name
    ));
    out.default_branch = Some(default_branch.clone());
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
    let dir = match read_workflow_dir(reader, repo, branch).await {
        Ok(dir) => dir,
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(why)) => {
            out.verdict = Verdict::NotReady;
            out.reason = format!("nothing listens for `{event_type}`: {why}");
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
                "workflow states are not visible (needs Actions: read), so every workflow file counts as active".to_owned(),
            );
            None
        }
        Ok(States::Known { states, skipped }) => Some((states, skipped)),
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(why)) => return cannot_tell(out, why, None),
    };
    let files = read_files(reader, repo, branch, &dir, states.as_ref().map(|s| &s.0)).await;
    let found = verdict::listening(event_type, &files.read);
    for unreadable in &found.unreadable {
        out.evidence
            .push(format!("not read: {}", shown(unreadable, 300)));
    }
    for (why, _) in &files.unread {
        out.evidence.push(format!("not read: {why}"));
    }
    out.trackable = Some(found.trackable);
    let unlisted_states = states.as_ref().map_or(0, |s| s.1);
    if !found.listeners.is_empty() {
        let stated = |l: &String| states.as_ref().is_some_and(|s| s.0.contains_key(l));
        if unlisted_states > 0 && !found.listeners.iter().any(stated) {
            return cannot_tell(
                out,
                format!("{unlisted_states} entries of the list of workflows could not be read, and the state of {} is not among the others", found.listeners.join(", ")),
                None,
            );
        }
        return listening(out, &found, event_type, branch);
    }
    if let Some((why, needs)) = files.incomplete(&dir, reader) {
        return cannot_tell(out, why, needs);
    }
    not_listening(out, found, event_type, branch);
}

/// What was read of a repository's workflow files.
struct FilesRead {
    read: Vec<WorkflowFile>,
    /// Files that could not be read: why, and the permission to name.
    unread: Vec<(String, Option<String>)>,
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
    ) -> Option<(String, Option<String>)> {
        let total = dir.names.len();
        let read = total - self.unread.len() - self.not_asked;
        let needs = self.unread.iter().find_map(|(_, needs)| needs.clone());
        if self.not_asked > 0 || reader.out_of_time {
            let why = format!(
                "stopped after {} s: {read} of {total} workflow files read",
                reader.budget_secs()
            );
            return Some((why, needs));
        }
        if let Some((first, _)) = self.unread.first() {
            let others = if self.unread.len() < total {
                ", and none of the others listens"
            } else {
                ""
            };
            let why = format!(
                "{} of {total} workflow files could not be read ({first}){others}",
                self.unread.len()
            );
            return Some((why, needs));
        }
        if dir.skipped > 0 {
            let why = format!(
                "{} entries of the listing of .github/workflows could not be read",
                dir.skipped
            );
            return Some((why, None));
        }
        if dir.beyond > 0 {
            let why = format!(
                "only the first {} of {} workflow files are read, and none of them listens",
                reads::MAX_FILES,
                reads::MAX_FILES + dir.beyond
            );
            return Some((why, None));
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
            Ok(text) => workflow::parse(&text),
            // Listed, then gone: it does not listen.
            Err(Unread::Missing(why)) => Err(why),
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

fn listening(out: &mut TargetCheck, found: &verdict::Listening, event_type: &str, branch: &str) {
    out.verdict = Verdict::Ready;
    out.reason = format!(
        "{} listen(s) for `{event_type}` on `{branch}`{}",
        found.listeners.join(", "),
        if found.trackable {
            " (trackable: its run-name carries the dispatch id)"
        } else {
            ""
        }
    );
}

/// Every file was read and none that is active listens.
fn not_listening(out: &mut TargetCheck, found: verdict::Listening, event_type: &str, branch: &str) {
    out.verdict = Verdict::NotReady;
    let mut reason = format!("no active workflow on `{branch}` listens for `{event_type}`");
    if let Some(suggestion) = &found.suggestion {
        reason.push_str(&format!(" (did you mean `{}`?)", shown(suggestion, 100)));
    }
    if !found.known_types.is_empty() {
        let types: Vec<String> = found.known_types.iter().map(|t| shown(t, 100)).collect();
        reason.push_str(&format!("; listened for: {}", types.join(", ")));
    }
    if !found.disabled.is_empty() {
        reason.push_str(&format!(
            "; disabled workflows would: {}",
            found.disabled.join(", ")
        ));
    }
    out.suggestion = found.suggestion.map(|s| shown(&s, 100));
    out.reason = reason.clone();
    out.problems.push(reason);
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
        Err(why) => return cannot_tell(out, why, None),
    };
    let info: Value = match answered.status {
        200 => match serde_json::from_str::<Value>(&answered.body) {
            Ok(info) if info.is_object() => info,
            _ => {
                return cannot_tell(
                    out,
                    format!(
                    "GitHub's answer about the workflow `{workflow_id}` is not the JSON it sends"
                ),
                    None,
                )
            }
        },
        403 => {
            return cannot_tell(
                out,
                format!("the workflow `{workflow_id}` cannot be read"),
                Some(needs(&answered, "Actions: read")),
            )
        }
        404 if answered.accepted_permissions().is_some() => {
            return cannot_tell(
                out,
                format!("the workflow `{workflow_id}` cannot be read"),
                Some(needs(&answered, "Actions: read")),
            )
        }
        404 => {
            out.verdict = Verdict::NotReady;
            out.reason = format!(
                "there is no workflow `{workflow_id}` in {}/{}",
                repo[1], repo[2]
            );
            out.problems.push(out.reason.clone());
            return;
        }
        _ => return cannot_tell(out, unexpected(&answered), None),
    };
    let state = info["state"].as_str().map(crate::untrusted::word);
    if let Some(state) = state.as_deref().filter(|s| *s != "active") {
        out.problems.push(format!(
            "the workflow `{workflow_id}` is {state}, so GitHub will not run it"
        ));
    }
    let file_name = info["path"]
        .as_str()
        .and_then(|p| p.strip_prefix(".github/workflows/"))
        .unwrap_or(workflow_id);
    if !plain_file_name(file_name) {
        return cannot_tell(
            out,
            format!("the workflow `{workflow_id}` has no readable file name"),
            None,
        );
    }
    let path = format!(".github/workflows/{file_name}");
    let text = match read_file(reader, repo, &path, git_ref).await {
        Ok(text) => text,
        Err(Unread::CannotTell(why, needs)) => return cannot_tell(out, why, needs),
        Err(Unread::Missing(_)) => {
            out.verdict = Verdict::NotReady;
            out.reason = format!("{path} is not on `{git_ref}`, where the dispatch would run it");
            out.problems.push(out.reason.clone());
            return;
        }
    };
    match workflow::parse(&text) {
        Err(why) => out.problems.push(format!(
            "{path} on `{git_ref}` cannot be read: {}",
            shown(&why, 300)
        )),
        Ok(parsed) => match parsed.workflow_dispatch {
            None => out.problems.push(format!(
                "{path} on `{git_ref}` does not declare `workflow_dispatch`"
            )),
            Some(inputs) => {
                out.evidence.push(format!(
                    "{path} on `{git_ref}` declares workflow_dispatch with {} input(s)",
                    inputs.len()
                ));
                out.problems.extend(
                    verdict::input_problems(sent, &inputs)
                        .iter()
                        .map(|p| shown(p, 500)),
                );
            }
        },
    }
    if out.problems.is_empty() {
        out.verdict = Verdict::Ready;
        out.reason = format!("{path} runs on `{git_ref}` and takes the inputs sent");
    } else {
        out.verdict = Verdict::NotReady;
    }
}

fn cannot_tell(out: &mut TargetCheck, why: String, needs: Option<String>) {
    out.verdict = Verdict::CannotTell;
    out.reason = match &needs {
        Some(needs) => format!("cannot tell: {why} (needs {needs})"),
        None => format!("cannot tell: {why}"),
    };
    out.needs = needs;
}
