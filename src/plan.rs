//! From a configuration and a release to the exact requests to send. Pure: tokens come in
//! through a lookup function, and nothing is sent. `--dry-run` and `validate` stop here.

use crate::config::model::TargetKind;
use crate::config::{ApiUrl, Config, Repo, SourceSpec, TargetSpec};
use crate::diagnostic::{join, Code, Diagnostic};
use crate::dispatch::retry::RetryPolicy;
use crate::release::Release;
use crate::render::{release_context, target_context, RepoVars, TemplateProblem};
use crate::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;

/// GitHub rejects repository_dispatch bodies of 64 KB or more.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// GitHub's limit on `event_type`, in characters.
pub const MAX_EVENT_TYPE_CHARS: usize = 100;

/// Everything one release will cause.
#[derive(Debug)]
pub struct Plan {
    /// The source's name (even if it was chosen by repository).
    pub source: String,
    pub version: String,
    pub jobs: Vec<Job>,
    pub skipped: Vec<Skip>,
}

/// One request, fully rendered, ready to send.
#[derive(Debug, Clone)]
pub struct Job {
    pub target: String,
    /// Stable across retries and runs for the same source, version and target, so a receiver
    /// can recognise a repeat; `{{dispatch_id}}` in templates.
    pub dispatch_id: String,
    pub kind: TargetKind,
    pub repository: Repo,
    pub api_url: ApiUrl,
    /// The endpoint, e.g. `https://api.github.com/repos/o/r/dispatches`.
    pub url: String,
    pub api_version: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub event_type: String,
    /// The whole JSON request body.
    pub body: Value,
    /// The body encoded once, checked against GitHub's size limit and sent as it is.
    pub encoded: bytes::Bytes,
    pub token_env: String,
    /// `None` only in a dry run, where an unset variable is shown rather than an error.
    pub token: Option<Secret>,
}

impl Plan {
    /// Moves the jobs for which `reason` says why into `skipped` (e.g. those an earlier run
    /// delivered).
    pub fn set_aside(&mut self, reason: impl Fn(&Job) -> Option<String>) {
        let jobs = std::mem::take(&mut self.jobs);
        for job in jobs {
            match reason(&job) {
                Some(reason) => self.skipped.push(Skip {
                    target: job.target,
                    repository: job.repository,
                    reason,
                }),
                None => self.jobs.push(job),
            }
        }
    }
}

/// A target of this source that this release does not trigger, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    pub target: String,
    pub repository: Repo,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("no source is named `{given}` (known sources: {})", known.join(", "))]
    UnknownSource { given: String, known: Vec<String> },
    #[error("the plan has {} problem(s); nothing was sent", .0.len())]
    Problems(Vec<Diagnostic>),
}

/// Whether a missing token is an error (a real run) or only shown (a dry run, validate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    Required,
    Optional,
}

pub fn plan(
    config: &Config,
    release: &Release,
    lookup: &dyn Fn(&str) -> Option<String>,
    tokens: Tokens,
) -> Result<Plan, PlanError> {
    let source = find_source(config, &release.source)?;
    let source_vars = RepoVars {
        name: &source.name,
        repository: &source.repository.to_string(),
        owner: &source.repository.owner,
        repo: &source.repository.name,
    };
    let shared = release_context(release, &source_vars);

    let mut plan = Plan {
        source: source.name.clone(),
        version: release.version.text.clone(),
        jobs: Vec::new(),
        skipped: Vec::new(),
    };
    let mut problems = Vec::new();
    for name in &source.targets {
        let Some(target) = config.targets.get(name) else {
            continue; // compile() guarantees every listed target exists
        };
        let path = join("targets", name);
        match condition_holds(target, release, &path) {
            Err(problem) => {
                problems.push(problem);
                continue;
            }
            Ok(Some(reason)) => {
                plan.skipped.push(Skip {
                    target: name.clone(),
                    repository: target.repository.clone(),
                    reason,
                });
                continue;
            }
            Ok(None) => {}
        }
        let repository = target.repository.to_string();
        let dispatch_id = dispatch_id(&source.name, &release.version.text, name);
        let ctx = target_context(
            &shared,
            &RepoVars {
                name,
                repository: &repository,
                owner: &target.repository.owner,
                repo: &target.repository.name,
            },
            &dispatch_id,
        );
        let mut failed = Vec::new();
        let event_type = config
            .templates
            .render_text(&target.event_type, &ctx)
            .map_err(|p| failed.push(p))
            .unwrap_or_default();
        let payload = config
            .templates
            .render_payload(&target.client_payload, &ctx, &mut failed);
        if !failed.is_empty() {
            problems.extend(failed.into_iter().map(render_problem));
            continue;
        }
        let body = json!({ "event_type": event_type, "client_payload": payload });
        let encoded = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let limits = check_limits(&path, &event_type, &payload, encoded.len());
        if !limits.is_empty() {
            problems.extend(limits);
            continue;
        }
        let token = match resolve_token(target, lookup, tokens, &path) {
            Ok(token) => token,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        plan.jobs.push(Job {
            target: name.clone(),
            dispatch_id,
            kind: target.kind,
            url: target.api_url.dispatches(&target.repository),
            api_url: target.api_url.clone(),
            repository: target.repository.clone(),
            api_version: target.api_version.clone(),
            timeout: target.timeout,
            retry: target.retry,
            event_type,
            body,
            encoded,
            token_env: target.token_env.clone(),
            token,
        });
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::Problems(problems))
    }
}

/// The first 16 hex digits of SHA-256 over source, version and target: the same in every
/// run, retry and resume of this release, different for every other release or target.
pub fn dispatch_id(source: &str, version: &str, target: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{source}\0{version}\0{target}").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// By name first; a repository (`owner/name`, as `${{ github.repository }}` gives it) works too.
fn find_source<'a>(config: &'a Config, given: &str) -> Result<&'a SourceSpec, PlanError> {
    if let Some(source) = config.sources.get(given) {
        return Ok(source);
    }
    let mut by_repo = config
        .sources
        .values()
        .filter(|s| s.repository.to_string().eq_ignore_ascii_case(given));
    match (by_repo.next(), by_repo.next()) {
        (Some(source), None) => Ok(source),
        _ => Err(PlanError::UnknownSource {
            given: given.to_owned(),
            known: config.sources.keys().cloned().collect(),
        }),
    }
}

/// `Ok(None)` when the target should be sent, `Ok(Some(why))` when it is skipped.
fn condition_holds(
    target: &TargetSpec,
    release: &Release,
    path: &str,
) -> Result<Option<String>, Diagnostic> {
    let version = &release.version;
    if version.is_prerelease() && !target.condition.prerelease {
        return Ok(Some(format!(
            "{} is a pre-release and the target has `when.prerelease: false`",
            version.text
        )));
    }
    let Some(requirement) = &target.condition.requirement else {
        return Ok(None);
    };
    let Some(semver) = &version.semver else {
        return Err(Diagnostic::error(
            Code::InvalidCondition,
            join(path, "when.version"),
            format!(
                "the version `{}` is not semver, so `when.version: {requirement}` cannot be checked",
                version.text
            ),
        )
        .with_help("release with a semver version such as 1.2.3, or remove the condition"));
    };
    // Requirements are about the release line; whether pre-releases count is `prerelease`'s job.
    let mut release_part = semver.clone();
    release_part.pre = semver::Prerelease::EMPTY;
    release_part.build = semver::BuildMetadata::EMPTY;
    if requirement.matches(&release_part) {
        Ok(None)
    } else {
        Ok(Some(format!(
            "{} does not satisfy `when.version: {requirement}`",
            version.text
        )))
    }
}

fn check_limits(
    path: &str,
    event_type: &str,
    payload: &Value,
    body_bytes: usize,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let chars = event_type.chars().count();
    if chars == 0 || chars > MAX_EVENT_TYPE_CHARS {
        out.push(
            Diagnostic::error(
                Code::PayloadLimit,
                join(path, "event_type"),
                format!("event_type renders to {chars} characters; GitHub accepts 1 to {MAX_EVENT_TYPE_CHARS}"),
            )
            .with_help("shorten the event type; put details in client_payload instead"),
        );
    }
    let properties = payload.as_object().map_or(0, |m| m.len());
    if properties > crate::config::compile::MAX_PAYLOAD_PROPERTIES {
        out.push(Diagnostic::error(
            Code::PayloadLimit,
            join(path, "client_payload"),
            format!("client_payload has {properties} top-level keys; GitHub accepts at most 10"),
        ));
    }
    if body_bytes >= MAX_BODY_BYTES {
        out.push(
            Diagnostic::error(
                Code::PayloadLimit,
                join(path, "client_payload"),
                format!("the request body is {body_bytes} bytes; GitHub accepts less than {MAX_BODY_BYTES}"),
            )
            .with_help("send a reference (a URL, a version) rather than the content itself"),
        );
    }
    out
}

fn resolve_token(
    target: &TargetSpec,
    lookup: &dyn Fn(&str) -> Option<String>,
    tokens: Tokens,
    path: &str,
) -> Result<Option<Secret>, Diagnostic> {
    let value = lookup(&target.token_env).filter(|v| !v.trim().is_empty());
    match value {
        Some(value) if !value.bytes().all(|b| b.is_ascii_graphic()) => Err(Diagnostic::error(
            Code::MissingToken,
            join(path, "token_env"),
            format!(
                "the token in `{}` contains spaces, line breaks or other characters a token cannot have (its value is not shown)",
                target.token_env
            ),
        )
        .with_help("check how the secret was pasted; a trailing newline is a common cause")),
        Some(value) => Ok(Some(Secret::new(value))),
        None if tokens == Tokens::Optional => Ok(None),
        None => Err(Diagnostic::error(
            Code::MissingToken,
            join(path, "token_env"),
            format!(
                "environment variable `{}` (the token for target `{}`) is not set",
                target.token_env, target.name
            ),
        )
        .with_help(format!(
            "set it, e.g. in GitHub Actions: `env: {{ {}: ${{{{ secrets.{} }}}} }}`",
            target.token_env, target.token_env
        ))),
    }
}

fn render_problem(problem: TemplateProblem) -> Diagnostic {
    Diagnostic::error(Code::Render, problem.name, problem.message)
        .with_help(format!(
            "templates can use {}; pass your own values with `--set key=value` and use `{{{{vars.key}}}}`",
            crate::render::VARIABLES.join(", ")
        ))
}
