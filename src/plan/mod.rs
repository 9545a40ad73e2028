//! From a configuration and a release to the exact requests to send. Pure: tokens come in
//! through a lookup function, and nothing is sent. `--dry-run` and `validate` stop here.

use crate::config::model::TargetKind;
mod chosen;
mod gate;
mod grouped;
mod identity;
mod ids;
pub mod needs;
mod request;
// Sharding: a plan's identities in shards.
mod shards;
pub use shards::{
    config_digest, parse_fingerprint, Shard, ShardOf, ShardRecord, Split, MOST_SHARDS,
};

use crate::config::kinds::{Action, HeaderSpec, WebhookUrl, TRACKING_KEY};
use crate::config::{AppSpec, Config, Repo, SourceSpec, TargetSpec};
use crate::diagnostic::{join, join_into, Code, Diagnostic};
use crate::policy::RetryPolicy;
use crate::release::Release;
use crate::render::{env, release_context, Memo, RepoVars, TemplateProblem, Work, MAX_RENDER_WORK};
use crate::secret::Secret;
pub use chosen::chosen_targets;
pub use gate::{Artifact, Gate, Gates};
pub use identity::PacingEstimate;
pub use ids::{DispatchId, Fingerprint, Hex};
use indexmap::IndexMap;
pub use request::{sign, JobUrl, WorkflowCall};
use request::{Rendered, Rendering};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

/// GitHub rejects repository_dispatch bodies of 64 KB or more.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub use crate::config::kinds::MAX_EVENT_TYPE_CHARS;

/// Everything one release will cause.
#[derive(Debug)]
pub struct Plan {
    /// The source's name (even if it was chosen by repository).
    pub source: String,
    pub version: String,
    /// The release's tag as given (`v1.2.3`): journals and reports record it, so `--resume`
    /// and `--retry-failed` can render `{{tag}}` as the earlier run did without `--version`.
    pub tag: String,
    pub jobs: Vec<Job>,
    pub skipped: Vec<Skip>,
}

/// One request, fully rendered, ready to send.
#[derive(Debug, Clone)]
pub struct Job {
    pub target: String,
    /// Stable across retries and runs for the same source, version and target, so a receiver
    /// can recognise a repeat; `{{dispatch_id}}` in templates.
    pub dispatch_id: DispatchId,
    /// SHA-256 (hex) of the rendered request: method, URL and body. Journals and reports record
    /// it, so `--resume` and `--retry-failed` skip a target only when the same request was
    /// delivered. It never shows the URL, which may be a secret. `None` in a plan for
    /// `validate` ([`PlanMode::Validate`]), which nothing sends.
    pub fingerprint: Option<Fingerprint>,
    pub kind: TargetKind,
    /// Where it goes, for reports: `owner/name`, or a webhook's host.
    pub destination: String,
    /// Shared with the target's configuration, as the strings below are with every job that
    /// has the same: a 10,000-target plan does not copy them 10,000 times.
    pub repository: Option<Arc<Repo>>,
    /// Requests with the same lane (API host and token) share one rate-limit budget.
    pub lane: Shared,
    pub method: &'static str,
    pub url: JobUrl,
    /// `Some` for GitHub kinds: the `X-GitHub-Api-Version` header.
    pub api_version: Option<Shared>,
    /// Extra headers (a webhook's own, its signature), as reports show them: a secret
    /// header's value is `<from $NAME>`.
    pub headers: Vec<(String, String)>,
    /// The values sent for the secret headers among `headers` (`{ env: NAME }`), by name.
    pub secret_headers: Vec<(String, Secret)>,
    /// The event type, `workflow@ref` or the HTTP method (shared by the jobs that send the
    /// same literal event type).
    pub label: Shared,
    /// The JSON request body, encoded once (empty for a webhook without one): checked against
    /// GitHub's size limit, sent as it is, and read back with [`Job::body`] where a part of it
    /// is needed. A 10,000-target plan keeps these bytes, not 10,000 trees of JSON values.
    pub encoded: bytes::Bytes,
    pub workflow: Option<WorkflowCall>,
    /// `track: true`: the id sent in `client_payload.dispatch_id`, by which the run it starts
    /// is found. It is [`Job::dispatch_id`] plus a nonce [`Plan::stamp`] sets for each run
    /// of orchestrator, so a re-run never finds the run an earlier send started; until
    /// stamped, the nonce is zeros (and the fingerprint is of that request, the same in
    /// every run).
    pub tracking_id: Option<String>,
    /// Shared by the jobs in a row that read the same variable.
    pub token_env: Option<Shared>,
    /// `None` in a dry run where the variable is unset, for webhooks without a token, and for
    /// GitHub App targets until the sender mints their token.
    pub token: Option<Secret>,
    /// Authenticate as this GitHub App: the sender mints the token.
    pub app: Option<std::sync::Arc<AppSpec>>,
    /// The GitHub API base URL (for GitHub kinds).
    pub api_base: Shared,
    pub timeout: Duration,
    pub retry: Arc<RetryPolicy>,
    /// Why a conditional target is sent (e.g. which files changed), for the report.
    pub note: Option<String>,
    /// `cancel_on_stop`: cancel the workflow run this job starts if the run stops (a signal,
    /// `--max-duration`, a wait given up) before it completed.
    pub cancel_on_stop: bool,
    /// `needs:`: the targets this one is sent after (see [`needs`]).
    pub needs: Vec<String>,
    /// `required: false`: its failure does not fail the run.
    pub required: bool,
    /// `await:`: the published artifacts it waits for before it is sent.
    pub gates: Option<Box<Gates>>,
}

/// A string that many jobs hold alike (an API base URL, a lane): cloning it copies a pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shared(Arc<str>);

impl Shared {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Arc<str>> for Shared {
    fn from(text: Arc<str>) -> Shared {
        Shared(text)
    }
}

impl From<String> for Shared {
    fn from(text: String) -> Shared {
        Shared(text.into())
    }
}

impl From<&str> for Shared {
    fn from(text: &str) -> Shared {
        Shared(text.into())
    }
}

impl serde::Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl Job {
    /// The request body (`null` for a webhook without one).
    pub fn body(&self) -> Value {
        if self.encoded.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.encoded).unwrap_or(Value::Null)
    }
}

impl Plan {
    /// Gives every tracked job this run's nonce: its `tracking_id` and the
    /// `client_payload.dispatch_id` it sends become `{dispatch_id}-{nonce:08x}`. The body keeps
    /// its size; the fingerprint stays that of the unstamped request, so `--resume` and
    /// `--retry-failed` recognise a target whatever the nonce.
    pub fn stamp(&mut self, nonce: u32) {
        for job in &mut self.jobs {
            if job.tracking_id.is_none() {
                continue;
            }
            let id = tracking_id(&job.dispatch_id, Some(nonce));
            let mut body = job.body();
            if let Some(payload) = body
                .get_mut("client_payload")
                .and_then(Value::as_object_mut)
            {
                payload.insert(TRACKING_KEY.into(), Value::String(id.clone()));
            }
            job.encoded = request::encode(&body);
            job.tracking_id = Some(id);
        }
    }

    /// Moves the jobs for which `reason` says why into `skipped` (e.g. those an earlier run
    /// delivered).
    pub fn set_aside(&mut self, reason: impl Fn(&Job) -> Option<String>) {
        let jobs = std::mem::take(&mut self.jobs);
        for job in jobs {
            match reason(&job) {
                Some(reason) => self.skipped.push(Skip {
                    target: job.target,
                    kind: job.kind,
                    destination: job.destination,
                    reason,
                    why: SkipWhy::Delivered,
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
    pub kind: TargetKind,
    pub destination: String,
    pub reason: String,
    pub why: SkipWhy,
}

/// What set a target aside, which decides what it means for the targets that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipWhy {
    /// Its `when` does not hold for this release: its dependents are blocked.
    When,
    /// An earlier run delivered it (`--resume`, `--retry-failed`): its dependents may go.
    Delivered,
    /// An optional target whose token variable is unset (see [`needs::token_unset`]): an
    /// optional failure, and its dependents are blocked.
    TokenUnset,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "no source is named `{}`{} (known sources: {})",
        crate::diagnostic::shown(given),
        crate::diagnostic::closest(given, known.iter().map(String::as_str))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default(),
        list_some(known)
    )]
    UnknownSource { given: String, known: Vec<String> },
    #[error(
        "--target: no target is named `{}`{} (known targets: {})",
        crate::diagnostic::shown(given),
        crate::diagnostic::closest(given, known.iter().map(String::as_str))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default(),
        list_some(known)
    )]
    UnknownTarget { given: String, known: Vec<String> },
    #[error(
        "--target: source `{source_name}` does not feed target `{target}` (its targets: {})",
        list_some(feeds)
    )]
    NotFed {
        source_name: String,
        target: String,
        feeds: Vec<String>,
    },
    #[error("the plan has {} problem(s); nothing was sent", .0.len())]
    Problems(Vec<Diagnostic>),
}

/// The first names of a list, and how many more; enough to spot a typo.
fn list_some(names: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// What a plan is for, which decides how it treats a missing token and a target's `when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMode {
    /// A run that sends: a missing token is an error.
    Send,
    /// A dry run (and `diff`'s plans): a missing token is only shown.
    DryRun,
    /// As `DryRun`, and every target is planned whatever its `when` says, so `validate`
    /// renders the templates of targets a sample release would skip; no fingerprints.
    Validate,
}

/// Whether any target that `source` feeds has a `when.changed` condition, so the edge knows to
/// ask git which files changed.
pub fn needs_changes(config: &Config, source: &str) -> bool {
    find_source(config, source).is_ok_and(|s| {
        s.targets.iter().any(|t| {
            config
                .targets
                .get(t)
                .is_some_and(|t| t.condition.changed.is_some())
        })
    })
}

pub fn plan(
    config: &Config,
    release: &Release,
    lookup: &dyn Fn(&str) -> Option<String>,
    mode: PlanMode,
) -> Result<Plan, PlanError> {
    plan_with(config, release, lookup, mode, None, &mut Work::default())
}

/// [`plan`] for only the targets in `only` (all when `None`), charging template work to `work`,
/// which `validate` shares across every source it plans.
pub fn plan_with(
    config: &Config,
    release: &Release,
    lookup: &dyn Fn(&str) -> Option<String>,
    mode: PlanMode,
    only: Option<&HashSet<&str>>,
    work: &mut Work,
) -> Result<Plan, PlanError> {
    Planning::new(config, release, lookup, mode, Keep::Jobs).run(only, work)
}

/// The problems a release would meet while planning the targets in `only` (as `validate` plans
/// them, see [`PlanMode::Validate`]), without keeping the requests: each is dropped once built,
/// so a 10,000-target check never holds 10,000 of them.
pub fn problems_with(
    config: &Config,
    release: &Release,
    only: &HashSet<&str>,
    work: &mut Work,
) -> Result<(), PlanError> {
    Planning::new(
        config,
        release,
        &|_| None,
        PlanMode::Validate,
        Keep::Problems,
    )
    .run(Some(only), work)
    .map(drop)
}

/// What [`Planning`] keeps of each request it builds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Jobs,
    Problems,
}

/// One release's plan in the making: what it is planned from, and what it has found so far.
struct Planning<'a> {
    config: &'a Config,
    release: &'a Release,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    mode: PlanMode,
    keep: Keep,
    jobs: Vec<Job>,
    skipped: Vec<Skip>,
    problems: Vec<Diagnostic>,
    /// Each target's key path, for its problems, in one buffer: most targets have none.
    path: String,
    /// The token read for the target before, and its variable: a fan-out's targets share a few,
    /// and reading the environment (and registering the value for redaction) each time costs.
    last_token: Option<(Shared, Option<Secret>)>,
    /// The placeholders a dry run shows for unset `ci.*` values, to note where one is sent.
    placeholders: Vec<String>,
}

impl<'a> Planning<'a> {
    fn new(
        config: &'a Config,
        release: &'a Release,
        lookup: &'a dyn Fn(&str) -> Option<String>,
        mode: PlanMode,
        keep: Keep,
    ) -> Planning<'a> {
        Planning {
            config,
            release,
            lookup,
            mode,
            keep,
            jobs: Vec::new(),
            skipped: Vec::new(),
            problems: Vec::new(),
            path: String::new(),
            last_token: None,
            placeholders: Vec::new(),
        }
    }

    /// Plans every target of the release's source that `only` names (all when `None`).
    fn run(mut self, only: Option<&HashSet<&str>>, work: &mut Work) -> Result<Plan, PlanError> {
        let source = find_source(self.config, &self.release.source)?;
        let source_vars = RepoVars {
            name: &source.name,
            repository: &source.repository.to_string(),
            owner: &source.repository.owner,
            repo: &source.repository.name,
        };
        // Made once, then pointed at each target in turn.
        let mut memo = Memo::new(self.context(&source_vars), work);
        if self.keep == Keep::Jobs {
            self.jobs.reserve_exact(source.targets.len());
        }
        for (name, &index) in source.targets.iter().zip(&source.target_indices) {
            if only.is_some_and(|only| !only.contains(name.as_str())) {
                continue;
            }
            let Some((_, target)) = self.config.targets.get_index(index) else {
                continue; // compile() guarantees every listed target exists
            };
            if self
                .target(&source.name, name, target, &mut memo)
                .is_break()
            {
                break;
            }
        }
        if !self.problems.is_empty() {
            return Err(PlanError::Problems(grouped::said_once(self.problems)));
        }
        Ok(Plan {
            source: source.name.clone(),
            version: self.release.version.text.clone(),
            tag: self.release.version.tag.clone(),
            jobs: self.jobs,
            skipped: self.skipped,
        })
    }

    /// The release's part of the template context. A dry run previews templates that read
    /// an unset `ci.*` value with a placeholder in its place (a real run refuses them).
    /// The file's `env:` variables are read here, through the lookup the edge hands in.
    fn context(&mut self, source_vars: &RepoVars<'_>) -> serde_json::Map<String, Value> {
        let mut context = if self.mode == PlanMode::DryRun {
            let (ci, placeholders) = self.release.ci.with_placeholders();
            self.placeholders = placeholders;
            let preview = Release {
                ci,
                ..self.release.clone()
            };
            release_context(&preview, source_vars)
        } else {
            release_context(self.release, source_vars)
        };
        let names = self.config.templates.env_names();
        if !names.is_empty() {
            let unset = match self.mode {
                PlanMode::Send => env::Unset::Missing,
                PlanMode::DryRun => env::Unset::Placeholder,
                PlanMode::Validate => env::Unset::Sample,
            };
            let env = env::context(names, self.lookup, unset, &mut self.problems);
            if unset == env::Unset::Placeholder {
                let unset = env
                    .iter()
                    .map(|(name, value)| (env::placeholder(name), value));
                let shown =
                    unset.filter(|(placeholder, value)| value.as_str() == Some(placeholder));
                self.placeholders
                    .extend(shown.map(|(placeholder, _)| placeholder));
            }
            context.insert("env".into(), Value::Object(env));
        }
        context
    }

    /// What a dry run's job says about the placeholders it holds, if any.
    fn placeholder_note(&self, job: &Job) -> Option<String> {
        // Every placeholder ends in `unset>`: a job without it anywhere (nearly every job) is
        // passed over after one scan of its body, not one per placeholder.
        const END: &str = "unset>";
        let body_ends = |b: &[u8]| {
            b.iter()
                .enumerate()
                .any(|(i, c)| *c == b'>' && b[..=i].ends_with(END.as_bytes()))
        };
        if self.placeholders.is_empty()
            || !(body_ends(&job.encoded)
                || job.label.contains(END)
                || job.headers.iter().any(|(_, v)| v.contains(END)))
        {
            return None;
        }
        let holds = |text: &str| {
            job.encoded
                .windows(text.len())
                .any(|w| w == text.as_bytes())
                || job.label.contains(text)
                || job.headers.iter().any(|(_, v)| v.contains(text))
        };
        let used: Vec<&str> = self
            .placeholders
            .iter()
            .filter(|p| holds(p))
            .map(String::as_str)
            .collect();
        (!used.is_empty()).then(|| {
            format!(
                "placeholder for an unset variable: {}; a real run refuses to send until it is set",
                used.join(", ")
            )
        })
    }

    /// Plans one target: its `when`, its token, its request. `Break` once the template work
    /// budget is spent.
    fn target(
        &mut self,
        source: &str,
        name: &str,
        target: &TargetSpec,
        memo: &mut Memo<'_>,
    ) -> ControlFlow<()> {
        join_into(&mut self.path, "targets", name);
        let Some(note) = self.when(name, target) else {
            return ControlFlow::Continue(());
        };
        if let Some(skip) = needs::token_unset(name, target, self.mode, self.lookup) {
            self.skipped.push(skip);
            return ControlFlow::Continue(());
        }
        let dispatch_id = dispatch_id(source, &self.release.version.text, name);
        // `owner/name` for a target with a repository, which is what templates see too.
        let destination = destination(target);
        memo.set_target(&target_vars(name, target, &destination), &dispatch_id);
        let before = self.problems.len();
        let mut request = Rendering {
            templates: &self.config.templates,
            memo,
            path: &self.path,
            lookup: self.lookup,
            mode: self.mode,
            problems: &mut self.problems,
            failed: Vec::new(),
        };
        let (token_env, token) = token(target, &mut self.last_token, &mut request);
        let rendered = request.render(target);
        if memo.work().exhausted() {
            self.out_of_work(before);
            return ControlFlow::Break(());
        }
        let (Some(token), Some(rendered)) = (token, rendered) else {
            return ControlFlow::Continue(());
        };
        let gates = self.gates(source, target, token.as_ref(), memo);
        if self.problems.len() > before || self.keep == Keep::Problems {
            return ControlFlow::Continue(());
        }
        let mut job = self.job(name, target, rendered, dispatch_id, destination);
        job.token_env = token_env;
        job.token = token;
        job.gates = gates;
        job.note = match (note, self.placeholder_note(&job)) {
            (Some(note), Some(more)) => Some(format!("{note}; {more}")),
            (note, more) => note.or(more),
        };
        self.jobs.push(job);
        ControlFlow::Continue(())
    }

    /// Whether the target is planned (`Some`, with a note for the report) or not: skipped
    /// by its `when`, or its condition cannot be checked (a problem).
    fn when(&mut self, name: &str, target: &TargetSpec) -> Option<Option<String>> {
        let checked = match self.mode {
            PlanMode::Validate => Ok((None, None)),
            _ => condition_holds(target, self.release, &self.path),
        };
        match checked {
            Err(problem) => {
                self.problems.push(problem);
                None
            }
            Ok((Some(reason), _)) => {
                self.skipped.push(Skip {
                    target: name.to_owned(),
                    kind: target.kind,
                    destination: destination(target),
                    reason,
                    why: SkipWhy::When,
                });
                None
            }
            Ok((None, note)) => Some(note),
        }
    }

    /// Every render from here on would fail the same way: say it once, in place of what this
    /// target's render found.
    fn out_of_work(&mut self, before: usize) {
        self.problems.truncate(before);
        self.problems.push(
            Diagnostic::error(
                Code::Limit,
                self.path.clone(),
                format!(
                    "checking this file's templates takes more than {MAX_RENDER_WORK} units of template work, so it was stopped here"
                ),
            )
            .with_help("a real configuration uses a small fraction of this; make templates smaller, use `{{#each}}` less, or repeat them across fewer targets and sources (see the README's limits)"),
        );
    }

    /// The job for a rendered request, without its token and note.
    fn job(
        &self,
        name: &str,
        target: &TargetSpec,
        rendered: Rendered,
        dispatch_id: DispatchId,
        destination: String,
    ) -> Job {
        let api_base = Shared::from(target.api_url.shared());
        // `validate` only wants the problems; the hash is 8 % of a 10,000-target plan.
        let fingerprint = (self.mode != PlanMode::Validate)
            .then(|| fingerprint(rendered.method, rendered.url.expose(), &rendered.encoded));
        Job {
            target: name.to_owned(),
            dispatch_id,
            fingerprint,
            kind: target.kind,
            destination,
            repository: target.repository.clone(),
            lane: lane(target, &rendered.url, &api_base),
            method: rendered.method,
            url: rendered.url,
            api_version: target
                .kind
                .is_github()
                .then(|| Shared::from(Arc::clone(&target.api_version))),
            headers: rendered.headers,
            secret_headers: rendered.secret_headers,
            label: rendered.label,
            encoded: rendered.encoded,
            workflow: rendered.workflow,
            tracking_id: rendered.tracking_id,
            token_env: None,
            token: None,
            app: target.app.clone(),
            api_base,
            timeout: target.timeout,
            retry: Arc::clone(&target.retry),
            note: None,
            cancel_on_stop: target.cancel_on_stop,
            needs: target.needs.clone(),
            required: target.required,
            gates: None,
        }
    }
}

/// What templates see of the target (`destination` is its `owner/name` when it has a
/// repository).
fn target_vars<'a>(name: &'a str, target: &'a TargetSpec, destination: &'a str) -> RepoVars<'a> {
    RepoVars {
        name,
        repository: match target.repository {
            Some(_) => destination,
            None => "",
        },
        owner: target.repository.as_ref().map_or("", |r| &r.owner),
        repo: target.repository.as_ref().map_or("", |r| &r.name),
    }
}

/// The target's token variable and token (`Some(None)`: none to read, or unset in a dry run;
/// `None`: a problem, reported). The token read last is kept in `last` and used again for the
/// same variable.
fn token(
    target: &TargetSpec,
    last: &mut Option<(Shared, Option<Secret>)>,
    request: &mut Rendering<'_, '_>,
) -> (Option<Shared>, Option<Option<Secret>>) {
    match (&target.token_env, &*last) {
        (Some(env), Some((last, token))) if last.as_str() == env => {
            (Some(last.clone()), Some(token.clone()))
        }
        (Some(env), _) => {
            let token = request.secret(env, "token_env");
            let env = Shared::from(env.as_str());
            // Only a token read without a problem is kept: a problem is each target's own.
            if let Some(token) = &token {
                *last = Some((env.clone(), token.clone()));
            }
            (Some(env), token)
        }
        (None, _) => (None, Some(None)),
    }
}

/// The rate-limit budget a job's requests count against: a token's, per API host; an App's
/// token's, per installation; a webhook's, per URL.
fn lane(target: &TargetSpec, url: &JobUrl, api_base: &Shared) -> Shared {
    match (&target.app, target.kind.is_github()) {
        (Some(app), _) => Shared::from(format!(
            "{} app:{}:{}",
            target.api_url,
            app.app_id,
            target.repository.as_ref().map_or("", |r| &r.owner)
        )),
        (None, true) => api_base.clone(),
        (None, false) => Shared::from(url.shown().to_owned()),
    }
}

/// For `validate`: which targets to render for which source so that every problem a release of
/// any source could meet is seen, without rendering every target once per source (10,000
/// sources feeding the same 16 targets would otherwise render them 160,000 times).
///
/// A target's templates see one source at a time only through `source.*` and `dispatch_id`,
/// which are never empty and always plain ASCII. Unless a template compares or looks up values
/// ([`crate::render::Traits::reads_values`]), two sources therefore render it alike except for
/// the length of those values, so it is rendered for the sources with the longest name, owner,
/// repository and all three together. A target whose templates read values is rendered for
/// every source that feeds it (within the command's work budget).
pub fn validation_sample(config: &Config) -> Vec<(&str, HashSet<&str>)> {
    let mut feeders: IndexMap<&str, Vec<&SourceSpec>> = IndexMap::new();
    for source in config.sources.values() {
        for target in &source.targets {
            feeders.entry(target.as_str()).or_default().push(source);
        }
    }
    let mut wanted: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (target, sources) in feeders {
        // A target one source feeds is rendered for it, whatever its templates read.
        let every = sources.len() == 1
            || config
                .targets
                .get(target)
                .is_some_and(|t| reads_values(&config.templates, t));
        let chosen: Vec<&SourceSpec> = if every {
            sources
        } else {
            let lengths: [fn(&SourceSpec) -> usize; 4] = [
                |s| s.name.len(),
                |s| s.repository.owner.len(),
                |s| s.repository.name.len(),
                |s| s.name.len() + s.repository.owner.len() + s.repository.name.len(),
            ];
            lengths
                .iter()
                .filter_map(|length| {
                    // The first of the longest, so the choice follows the file.
                    sources.iter().rev().max_by_key(|s| length(s)).copied()
                })
                .collect()
        };
        for source in chosen {
            wanted.entry(&source.name).or_default().insert(target);
        }
    }
    config
        .sources
        .keys()
        .filter_map(|name| wanted.remove_entry(name.as_str()))
        .collect()
}

/// Whether any template of `target` reads values (see [`crate::render::Traits`]).
fn reads_values(templates: &crate::render::Templates, target: &TargetSpec) -> bool {
    let mut texts = Vec::new();
    match &target.action {
        Action::RepositoryDispatch {
            event_type,
            client_payload,
            ..
        } => {
            texts.push(event_type);
            texts.extend(client_payload.texts());
        }
        Action::WorkflowDispatch {
            git_ref, inputs, ..
        } => {
            texts.extend(git_ref);
            texts.extend(inputs.texts());
        }
        Action::Webhook { headers, body, .. } => {
            texts.extend(headers.iter().filter_map(|(_, spec)| match spec {
                HeaderSpec::Template(text) => Some(text),
                HeaderSpec::Secret(_) => None,
            }));
            texts.extend(body.iter().flat_map(|b| b.texts()));
        }
    }
    texts.into_iter().any(|text| templates.reads_values(text))
}

/// The first 16 hex digits of SHA-256 over source, version and target: the same in every
/// run, retry and resume of this release, different for every other release or target.
pub fn dispatch_id(source: &str, version: &str, target: &str) -> DispatchId {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        source.as_bytes(),
        &[0],
        version.as_bytes(),
        &[0],
        target.as_bytes(),
    ] {
        digest.update(part);
    }
    Hex::of(&digest.finish().as_ref()[..8])
}

/// The id a tracked target sends: the stable [`dispatch_id`] and a per-run nonce (zeros
/// until [`Plan::stamp`]), always the same length.
pub fn tracking_id(dispatch_id: &str, nonce: Option<u32>) -> String {
    format!("{dispatch_id}-{:08x}", nonce.unwrap_or(0))
}

/// SHA-256 over the method, the URL and the encoded body, each preceded by its length so no
/// two different requests run together into the same bytes; 64 hex digits.
pub fn fingerprint(method: &str, url: &str, body: &[u8]) -> Fingerprint {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [method.as_bytes(), url.as_bytes(), body] {
        digest.update(&(part.len() as u64).to_le_bytes());
        digest.update(part);
    }
    // SHA-256 is 32 bytes; the fallback cannot happen.
    Fingerprint::of(digest.finish().as_ref().try_into().unwrap_or_default())
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
/// Whether the target's `when` holds: `Err` for a condition that cannot be checked,
/// otherwise the skip reason (`None` to send) and a note for the report.
fn condition_holds(
    target: &TargetSpec,
    release: &Release,
    path: &str,
) -> Result<(Option<String>, Option<String>), Diagnostic> {
    let version = &release.version;
    if version.is_prerelease() && !target.condition.prerelease {
        let why = format!(
            "{} is a pre-release and the target has `when.prerelease: false`",
            version.text
        );
        return Ok((Some(why), None));
    }
    if let Some(requirement) = &target.condition.requirement {
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
        // Requirements are about the release line; whether pre-releases count is
        // `prerelease`'s job.
        let mut release_part = semver.clone();
        release_part.pre = semver::Prerelease::EMPTY;
        release_part.build = semver::BuildMetadata::EMPTY;
        if !requirement.matches(&release_part) {
            let why = format!(
                "{} does not satisfy `when.version: {requirement}`",
                version.text
            );
            return Ok((Some(why), None));
        }
    }
    let Some(filter) = &target.condition.changed else {
        return Ok((None, None));
    };
    // Only a dry run gets here without the changes (a real run stops at the edge when git
    // cannot tell): plan the target, and say the condition was not decided.
    let Some(changes) = &release.changes else {
        return Ok((
            None,
            Some(format!(
                "when.changed ({filter}) not decided: the changed files are unknown (see the warning); a real run here reports this target failed and sends the others"
            )),
        ));
    };
    let verdict = changes.verdict(filter);
    match verdict.sends() {
        true => Ok((None, Some(verdict.reason()))),
        false => Ok((Some(verdict.reason()), None)),
    }
}

/// `owner/name` for GitHub kinds; a webhook's host (never a secret URL).
fn destination(target: &TargetSpec) -> String {
    if let Some(repo) = &target.repository {
        return repo.full_name();
    }
    match &target.action {
        Action::Webhook {
            url: WebhookUrl::Fixed(url),
            ..
        } => url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "webhook".to_owned()),
        Action::Webhook {
            url: WebhookUrl::Env(env),
            ..
        } => format!("${env}"),
        _ => String::new(),
    }
}

/// A problem rendering a template of the target at `path` (template paths are within it).
pub(crate) fn render_problem(path: &str, problem: TemplateProblem) -> Diagnostic {
    let help = problem.help.unwrap_or_else(|| {
        "keep rendered values small: send a reference (a version, a URL), not the content"
            .to_owned()
    });
    Diagnostic::error(Code::Render, join(path, &problem.name), problem.message).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Settings;
    use crate::release::{CiContext, Version};

    fn config(yaml: &str) -> Config {
        let none = figment::providers::Serialized::defaults(Settings::default());
        let checked = crate::config::check(yaml.as_bytes(), none, &Settings::default());
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        checked.config.expect("valid")
    }

    fn release(source: &str) -> Release {
        Release {
            source: source.into(),
            version: Version::parse("1.2.3").expect("version"),
            vars: Default::default(),
            ci: CiContext::sample(),
            changes: None,
        }
    }

    const SOURCES: &str = "version: 1
sources:
  a: {repository: o/a, targets: [plain, compares]}
  bbbbbbbb: {repository: o/b, targets: [plain, compares]}
  c: {repository: oooooooo/c, targets: [plain, compares]}
  d: {repository: o/d, targets: [plain, compares]}
targets:
  plain: {repository: o/p, event_type: \"{{source.name}}\", token_env: T}
  compares: {repository: o/q, event_type: \"{{#if (eq source.name 'a')}}x{{else}}y{{/if}}\", token_env: T}
";

    #[test]
    fn validation_renders_a_plain_target_for_the_longest_sources_only() {
        let config = config(SOURCES);
        let sample = validation_sample(&config);
        let plain: Vec<&str> = sample
            .iter()
            .filter(|(_, targets)| targets.contains("plain"))
            .map(|(source, _)| *source)
            .collect();
        assert_eq!(plain, ["a", "bbbbbbbb", "c"]);
        let compares = sample
            .iter()
            .filter(|(_, targets)| targets.contains("compares"))
            .count();
        assert_eq!(compares, 4);
    }

    #[test]
    fn a_plan_past_the_work_budget_stops_with_one_limit_problem() {
        let body = "{{#if @first}}x{{/if}}".repeat(180);
        let yaml = format!(
            "version: 1\nsources:\n  a: {{repository: o/a, targets: [t0, t1]}}\ntargets:\n  t0: {{repository: o/p, event_type: e, token_env: T, client_payload: {{k: \"{{{{#each this}}}}{body}{{{{/each}}}}\"}}}}\n  t1: {{repository: o/q, event_type: e, token_env: T}}\n"
        );
        let config = config(&yaml);
        // What 10,000 sources would spend, in a budget of a thousandth.
        let mut work = Work::limited(crate::render::MAX_RENDER_WORK / 1000);
        let release = release("a");
        let validate = |work: &mut Work| {
            plan_with(&config, &release, &|_| None, PlanMode::Validate, None, work)
        };
        for _ in 0..10_000 {
            if validate(&mut work).is_err() {
                break;
            }
        }
        assert!(work.exhausted());
        let Err(PlanError::Problems(problems)) = validate(&mut work) else {
            panic!("the budget is spent");
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code, Code::Limit);
        assert_eq!(problems[0].path, "targets.t0");
    }

    #[test]
    fn targets_with_one_payload_share_its_bytes_only_when_it_reads_nothing_of_the_target() {
        let same = r#"{v: "{{version}}", s: "{{source.name}}"}"#;
        let own = r#"{v: "{{version}}", t: "{{target.name}}"}"#;
        let yaml = format!(
            "version: 1\nsources:\n  a: {{repository: o/a, targets: [p, q, r, s, t, u]}}\ntargets:\n  p: {{repository: o/p, event_type: e, token_env: T, client_payload: {same}}}\n  q: {{repository: o/q, event_type: e, token_env: T, client_payload: {same}}}\n  r: {{repository: o/r, event_type: f, token_env: T, client_payload: {same}}}\n  s: {{repository: o/s, event_type: f, token_env: T, client_payload: {same}, track: true}}\n  t: {{repository: o/t, event_type: e, token_env: T, client_payload: {own}}}\n  u: {{repository: o/u, event_type: e, token_env: T, client_payload: {own}}}\n"
        );
        let config = config(&yaml);
        let [p, q, t] = ["p", "q", "t"].map(|name| match &config.targets[name].action {
            Action::RepositoryDispatch { client_payload, .. } => client_payload.clone(),
            _ => unreachable!(),
        });
        assert!(std::sync::Arc::ptr_eq(&p, &q), "one compiled payload");
        assert!(!std::sync::Arc::ptr_eq(&p, &t));
        let planned = plan(&config, &release("a"), &|_| None, PlanMode::DryRun).expect("plans");
        let bodies: Vec<Value> = planned.jobs.iter().map(Job::body).collect();
        let payload = serde_json::json!({"v": "1.2.3", "s": "a"});
        assert_eq!(
            bodies[0],
            serde_json::json!({"event_type": "e", "client_payload": payload})
        );
        assert_eq!(bodies[1], bodies[0]);
        assert_eq!(
            bodies[2],
            serde_json::json!({"event_type": "f", "client_payload": payload})
        );
        assert_eq!(
            bodies[3]["client_payload"]["dispatch_id"],
            tracking_id(&planned.jobs[3].dispatch_id, None)
        );
        assert_eq!(bodies[4]["client_payload"]["t"], "t");
        assert_eq!(bodies[5]["client_payload"]["t"], "u");
        let fingerprints: HashSet<Fingerprint> =
            planned.jobs.iter().filter_map(|j| j.fingerprint).collect();
        assert_eq!(fingerprints.len(), 6, "each request its own fingerprint");
    }

    #[test]
    fn a_tracked_target_sends_its_id_with_the_run_nonce_and_keeps_its_size_and_fingerprint() {
        let yaml = "version: 1\nsources:\n  a: {repository: o/a, targets: [t, u]}\ntargets:\n  t: {repository: o/p, event_type: e, token_env: T, track: true}\n  u: {repository: o/q, event_type: e, token_env: T}\n";
        let config = config(yaml);
        let mut planned = plan(&config, &release("a"), &|_| None, PlanMode::DryRun).expect("plans");
        let before = planned.jobs[0].clone();
        assert_eq!(
            before.fingerprint.map(|f| f.hex().len()),
            Some(64),
            "a run's plan has fingerprints"
        );
        assert_eq!(
            before.body()["client_payload"]["dispatch_id"],
            tracking_id(&before.dispatch_id, None)
        );
        planned.stamp(0xabcd_ef01);
        let after = &planned.jobs[0];
        let sent = format!("{}-abcdef01", before.dispatch_id);
        assert_eq!(after.tracking_id.as_deref(), Some(sent.as_str()));
        assert_eq!(after.body()["client_payload"]["dispatch_id"], sent.as_str());
        assert_eq!(after.encoded.len(), before.encoded.len());
        assert_eq!(after.fingerprint, before.fingerprint);
        assert_eq!(planned.jobs[1].tracking_id, None);
        assert_eq!(
            planned.jobs[1].body()["client_payload"].get("dispatch_id"),
            None
        );
    }

    #[test]
    fn a_stamped_body_keeps_every_number_as_written() {
        let yaml = "version: 1\nsources:\n  a: {repository: o/a, targets: [t]}\ntargets:\n  t: {repository: o/p, event_type: e, token_env: T, track: true, client_payload: {f: 1.0715660391465826e-75, g: 0.1, nz: -0.0, huge: 1e300, u: 18446744073709551615}}\n";
        let config = config(yaml);
        let mut planned = plan(&config, &release("a"), &|_| None, PlanMode::DryRun).expect("plans");
        let before = planned.jobs[0].encoded.clone();
        planned.stamp(0xabcd_ef01);
        let after = String::from_utf8(planned.jobs[0].encoded.to_vec()).expect("utf-8");
        let unstamped = String::from_utf8(before.to_vec()).expect("utf-8");
        let id = &planned.jobs[0].dispatch_id;
        assert_eq!(
            after,
            unstamped.replace(&tracking_id(id, None), &format!("{id}-abcdef01"))
        );
        assert!(after.contains("1.0715660391465826e-75"), "{after}");
    }

    #[test]
    fn a_payload_that_repeats_a_template_renders_it_once_per_target() {
        let leaves = vec!["\"{{version}}-{{target.name}}\""; 200].join(", ");
        let yaml = format!(
            "version: 1\nsources:\n  a: {{repository: o/a, targets: [t0]}}\ntargets:\n  t0: {{repository: o/p, event_type: e, token_env: T, client_payload: {{k: [{leaves}]}}}}\n"
        );
        let config = config(&yaml);
        let planned = plan(&config, &release("a"), &|_| None, PlanMode::Validate).expect("plans");
        let body = planned.jobs[0].body();
        let list = &body["client_payload"]["k"];
        assert_eq!(list.as_array().map(Vec::len), Some(200));
        assert_eq!(list[199], "1.2.3-t0");
    }

    #[test]
    fn ids_fingerprints_and_signatures_are_plain_sha_256_and_hmac_sha_256() {
        // Known answers from another implementation (Python's hashlib and hmac), and GitHub's
        // own example of a webhook signature.
        assert_eq!(
            dispatch_id("app", "v1.2.3", "web").to_string(),
            "bdc4fed8f401bd23"
        );
        assert_eq!(
            fingerprint(
                "POST",
                "https://api.github.com/repos/o/web/dispatches",
                br#"{"event_type":"release"}"#
            )
            .to_string(),
            "f9d9a348319923008454b693586e528074866d3ac3ee7fc3bd716855b7ef8ee4"
        );
        assert_eq!(
            sign(&Secret::new("It's a Secret to Everybody"), b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
