//! One side of a diff: a configuration planned for the sample releases, without tokens, and
//! flattened into what a reviewer compares: per source, per target, its settings as words, what
//! each sample release does with it (sent, or skipped and why) and the body it renders.

use crate::config::kinds::{Action, WebhookUrl};
use crate::config::{Config, KeySource, SourceSpec, TargetSpec};
use crate::diagnostic::Diagnostic;
use crate::plan::{Job, PlanError, PlanMode};
use crate::release::{CiContext, Release};
use crate::render::Work;
use crate::version::Version;
use indexmap::IndexMap;
use serde_json::Value;

/// The releases both sides are planned for.
#[derive(Debug, Clone)]
pub(crate) struct Samples {
    pub versions: Vec<Version>,
    pub vars: IndexMap<String, String>,
    pub ci: CiContext,
}

impl Samples {
    /// `version`, and a pre-release after it when a target on either side has a condition
    /// (`when.prerelease: false` or `when.version`) that could treat a pre-release differently.
    pub(crate) fn new(
        version: Version,
        vars: IndexMap<String, String>,
        configs: &[&Config],
    ) -> Samples {
        let conditional = configs.iter().any(|c| {
            c.targets
                .values()
                .any(|t| !t.condition.prerelease || t.condition.requirement.is_some())
        });
        let mut versions = vec![version.clone()];
        if conditional && !version.is_prerelease() {
            versions.push(prerelease_after(&version));
        }
        Samples {
            versions,
            vars,
            ci: CiContext::sample(),
        }
    }
}

/// The first release candidate of the next minor version (`1.2.3` → `1.3.0-rc.1`); `1.3.0-rc.1`
/// after a version that is not semver.
pub(super) fn prerelease_after(version: &Version) -> Version {
    let text = match &version.semver {
        Some(v) => format!("{}.{}.0-rc.1", v.major, v.minor + 1),
        None => "1.3.0-rc.1".to_owned(),
    };
    Version::parse(&text).unwrap_or_else(|_| version.clone())
}

/// A configuration as the diff sees it.
#[derive(Debug, Default)]
pub(crate) struct Side {
    pub(super) sources: IndexMap<String, SourceView>,
}

#[derive(Debug)]
pub(super) struct SourceView {
    pub repository: String,
    pub feeds: Vec<String>,
    /// The source's own settings besides its repository (its `await`), and their items.
    pub settings: Settings,
    pub targets: IndexMap<String, TargetView>,
}

/// Settings as words, and the items of those that are lists (`needs`, `await`), so that a
/// change shows as the items added and removed rather than two long lines.
#[derive(Debug, Default)]
pub(super) struct Settings {
    pub fields: Vec<(String, String)>,
    pub lists: Vec<(String, Vec<String>)>,
}

#[derive(Debug)]
pub(super) struct TargetView {
    /// Kind, destination and event: a target with the same identity under a new name is a
    /// rename.
    pub identity: String,
    pub summary: String,
    pub settings: Settings,
    /// Per sample version: `sent`, or `skipped: why`.
    pub sends: Vec<String>,
    /// Per sample version: the body, without what `fields` already shows (`event_type`, `ref`).
    pub bodies: Vec<Value>,
}

impl Side {
    /// A side without the file: every source and target of the other side is added.
    pub(crate) fn empty() -> Side {
        Side::default()
    }

    /// Plans every source of `config` for every sample release, reading no token and no
    /// variable (`url_env` stays a name). `Err` holds the problems planning met.
    pub(crate) fn plan(config: &Config, samples: &Samples) -> Result<Side, Vec<Diagnostic>> {
        let mut work = Work::default();
        let mut sources = IndexMap::new();
        for source in config.sources.values() {
            let releases = Releases::plan(config, source, samples, &mut work)?;
            sources.insert(
                source.name.clone(),
                SourceView {
                    repository: source.repository.to_string(),
                    feeds: source.targets.clone(),
                    settings: source_settings(config, source),
                    targets: releases.target_views(config, source),
                },
            );
        }
        Ok(Side { sources })
    }
}

/// A source planned for each sample release: by target, its job and, when a release would
/// skip it, why.
struct Releases {
    rendered: Vec<IndexMap<String, Job>>,
    skipped: Vec<IndexMap<String, String>>,
}

impl Releases {
    fn plan(
        config: &Config,
        source: &SourceSpec,
        samples: &Samples,
        work: &mut Work,
    ) -> Result<Releases, Vec<Diagnostic>> {
        let mut releases = Releases {
            rendered: Vec::new(),
            skipped: Vec::new(),
        };
        for version in &samples.versions {
            let release = Release {
                source: source.name.clone(),
                version: version.clone(),
                vars: samples.vars.clone(),
                ci: samples.ci.clone(),
                changes: None,
            };
            // Every target rendered, whatever its `when` says…
            let every = plan(config, &release, PlanMode::Validate, work)?;
            // …and what a release would actually do with each.
            let real = plan(config, &release, PlanMode::DryRun, work)?;
            let by_target = every.jobs.into_iter().map(|job| (job.target.clone(), job));
            releases.rendered.push(by_target.collect());
            let why = real
                .skipped
                .into_iter()
                .map(|skip| (skip.target, skip.reason));
            releases.skipped.push(why.collect());
        }
        Ok(releases)
    }

    /// Each target the source feeds, as the diff compares it.
    fn target_views(&self, config: &Config, source: &SourceSpec) -> IndexMap<String, TargetView> {
        let mut targets = IndexMap::new();
        for name in &source.targets {
            let (Some(spec), Some(first)) = (
                config.targets.get(name),
                self.rendered.first().and_then(|jobs| jobs.get(name)),
            ) else {
                continue;
            };
            let sends = self
                .skipped
                .iter()
                .map(|skips| match skips.get(name) {
                    Some(why) => format!("skipped: {why}"),
                    None => "sent".to_owned(),
                })
                .collect();
            let bodies = self
                .rendered
                .iter()
                .map(|jobs| jobs.get(name).map(body).unwrap_or_default())
                .collect();
            targets.insert(name.clone(), view(config, spec, first, (sends, bodies)));
        }
        targets
    }
}

fn plan(
    config: &Config,
    release: &Release,
    mode: PlanMode,
    work: &mut Work,
) -> Result<crate::plan::Plan, Vec<Diagnostic>> {
    // No variable is ever looked up: tokens and `url_env` URLs stay names.
    crate::plan::plan_with(config, release, &|_| None, mode, None, work).map_err(|err| match err {
        PlanError::Problems(problems) => problems,
        // Planned with no `--target`: only an unknown source can be the other error.
        PlanError::UnknownSource { .. }
        | PlanError::UnknownTarget { .. }
        | PlanError::NotFed { .. } => Vec::new(),
    })
}

/// The body, without the keys that [`view`] shows as fields.
fn body(job: &Job) -> Value {
    let mut body = job.body();
    if let Value::Object(map) = &mut body {
        map.shift_remove("event_type");
        map.shift_remove("ref");
    }
    body
}

/// A target's settings as words, in the order a reviewer reads them: what it sends, with what
/// token, when, and how it is delivered.
fn view(
    config: &Config,
    spec: &TargetSpec,
    job: &Job,
    (sends, bodies): (Vec<String>, Vec<Value>),
) -> TargetView {
    let mut fields = Fields::default();
    fields.push("kind", spec.kind.as_str().to_owned());
    if let Some(repo) = &spec.repository {
        fields.push("repository", repo.to_string());
    }
    let (identity, summary) = action_fields(&mut fields, spec, job);
    fields.push("token", token(spec));
    condition_fields(&mut fields, spec);
    order_fields(&mut fields, config, spec);
    delivery_fields(&mut fields, spec);
    TargetView {
        identity: format!("{} {} {identity}", spec.kind.as_str(), job.destination),
        summary: format!("{} → {}, {summary}", spec.kind.as_str(), job.destination),
        settings: fields.0,
        sends,
        bodies,
    }
}

/// A target's settings, each a name and its value in words.
#[derive(Default)]
struct Fields(Settings);

impl Fields {
    fn push(&mut self, name: &str, value: String) {
        self.0.fields.push((name.to_owned(), value));
    }

    /// A list, said only when it has items (a file without it reads as it always did).
    fn push_list(&mut self, name: &str, items: Vec<String>) {
        if items.is_empty() {
            return;
        }
        self.push(name, items.join(", "));
        self.0.lists.push((name.to_owned(), items));
    }
}

/// The source's `await`: inherited by its targets, so said once, at the source.
fn source_settings(config: &Config, source: &SourceSpec) -> Settings {
    let mut fields = Fields::default();
    fields.push_list("await", written_gates(config, &source.gates));
    fields.0
}

/// When the target goes, and whether it counts: `needs`, its own `await`, `required`.
fn order_fields(fields: &mut Fields, config: &Config, spec: &TargetSpec) {
    fields.push_list("needs", spec.needs.clone());
    fields.push_list("await", written_gates(config, &spec.gates));
    // Said only when off, like `cancel_on_stop` when on; the diff reads a missing one as its
    // default (see `super::DEFAULTS`).
    if !spec.required {
        fields.push("required", "false".to_owned());
    }
}

/// Each check as written, templates unrendered (`npm @x/y@{{version}}`): what the reviewer
/// wrote, the same for every sample release.
fn written_gates(config: &Config, gates: &[crate::config::gates::GateSpec]) -> Vec<String> {
    gates.iter().map(|g| g.written(&config.templates)).collect()
}

/// The fields of what the target sends (event, workflow and ref, or webhook request), and its
/// identity and summary in a few words.
fn action_fields(fields: &mut Fields, spec: &TargetSpec, job: &Job) -> (String, String) {
    match &spec.action {
        Action::RepositoryDispatch { .. } => {
            fields.push("event_type", job.label.to_string());
            (job.label.to_string(), format!("event `{}`", job.label))
        }
        Action::WorkflowDispatch {
            workflow,
            wait,
            wait_job,
            ..
        } => {
            let body = job.body();
            let git_ref = body.get("ref").and_then(Value::as_str);
            fields.push("workflow", workflow.clone());
            fields.push("ref", git_ref.unwrap_or("the default branch").to_owned());
            let wait = match wait_job {
                Some(job) => format!("job `{job}`"),
                None => wait.to_string(),
            };
            fields.push("wait", wait);
            (workflow.clone(), format!("workflow `{}`", job.label))
        }
        Action::Webhook {
            url,
            method,
            signature,
            ..
        } => {
            let url = match url {
                WebhookUrl::Fixed(url) => fixed_url(url),
                WebhookUrl::Env(env) => format!("${env}"),
            };
            fields.push("url", url.clone());
            fields.push("method", method.as_str().to_owned());
            for (name, value) in &job.headers {
                match signature {
                    Some(sig) if sig.header == *name => fields.push("signature", value.clone()),
                    _ => fields.push(&format!("header {name}"), value.clone()),
                }
            }
            let request = format!("{} {url}", method.as_str());
            (request.clone(), request)
        }
    }
}

/// The token variable, or the GitHub App and where its key is read from.
fn token(spec: &TargetSpec) -> String {
    match (&spec.token_env, &spec.app) {
        (Some(env), _) => format!("${env}"),
        (None, Some(app)) => {
            let key = match &app.key {
                KeySource::Env(env) => format!("${env}"),
                KeySource::File(path) => path.display().to_string(),
            };
            let installation = app
                .installation_id
                .map(|id| format!(", installation {id}"))
                .unwrap_or_default();
            format!("GitHub App {} (key {key}{installation})", app.app_id)
        }
        (None, None) => "none".to_owned(),
    }
}

/// When the target is sent: `when.version`, `when.prerelease`, `when.changed`.
fn condition_fields(fields: &mut Fields, spec: &TargetSpec) {
    let condition = &spec.condition;
    fields.push(
        "when.version",
        condition
            .requirement
            .as_ref()
            .map_or("any".to_owned(), ToString::to_string),
    );
    fields.push("when.prerelease", condition.prerelease.to_string());
    fields.push(
        "when.changed",
        condition
            .changed
            .as_ref()
            .map_or("any files".to_owned(), ToString::to_string),
    );
}

/// How the target is delivered: GitHub's API, the time-out and the retries.
fn delivery_fields(fields: &mut Fields, spec: &TargetSpec) {
    if spec.kind.is_github() {
        fields.push("api_url", spec.api_url.as_str().to_owned());
        fields.push("api_version", spec.api_version.to_string());
    }
    fields.push("timeout", seconds(spec.timeout));
    let retry = &spec.retry;
    fields.push("retry.max_attempts", retry.max_attempts.to_string());
    fields.push("retry.deadline", seconds(retry.deadline));
    fields.push(
        "retry.backoff",
        format!("{} ms", retry.base_delay.as_millis()),
    );
    fields.push("retry.secondary_wait", seconds(retry.secondary_wait));
    // Said only when on, so that the targets of a file without it read as they always did.
    if spec.cancel_on_stop {
        fields.push("cancel_on_stop", "true".to_owned());
    }
}

/// A fixed webhook URL by its host, and a short digest that changes with the rest of it: a
/// reviewer sees that the path changed without the diff printing it.
fn fixed_url(url: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, url.as_bytes());
    let digest = hex::encode(&digest.as_ref()[..4]);
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}/… (#{digest})",
            parsed.scheme(),
            parsed.host_str().unwrap_or("?")
        ),
        Err(_) => format!("(#{digest})"),
    }
}

fn seconds(duration: std::time::Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}
