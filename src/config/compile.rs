//! From the file as written to a [`Config`] that cannot be invalid: references resolved,
//! names and URLs checked, templates compiled. Pure: no environment, network or clock.

use super::model::{Condition, DispatchFile, Settings, Source, Target, TokenEnv};
use super::model::{DEFAULT_API_URL, DEFAULT_API_VERSION};
use super::sections::Unread;
use super::values::{ApiUrl, Repo};
use super::{Config, SourceSpec, TargetSpec, VersionCondition, When};
use crate::diagnostic::{join, join_into, shown, Code, Diagnostic};
use crate::policy::RateLimits;
use crate::policy::RetryPolicy;
use crate::render::Templates;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Unknown target names get a "did you mean" only this often: each suggestion compares the
/// name with every target, which a hostile file could make cost minutes.
const MAX_SUGGESTIONS: usize = 100;

/// No source has listed the target (yet), in [`Listing::listed_by`].
const NONE: usize = usize::MAX;

/// Compiles `file` with `settings` (the file's defaults already layered with env and flags).
/// Returns the config and every diagnostic (warnings included); with an error, the config is
/// what compiled (a value with a problem replaced by its default, a target that could not be
/// built left out), only fit for finding more problems. `unread` is what reading the file
/// could not take in: references to it are not reported again.
///
/// Takes the file: each target is freed once compiled, so a large fan-out's file and its
/// compiled form are never both whole in memory.
pub(crate) fn compile(
    file: DispatchFile,
    settings: &Settings,
    unread: &Unread,
) -> (Config, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let defaults = effective_defaults(settings, &mut out);
    // The sources and the targets no source feeds are checked first, and said after the
    // targets' own problems, in file order as before.
    let mut listing = Listing::new(&file.targets, unread);
    for (nth, (name, source)) in file.sources.iter().enumerate() {
        listing.source(nth, name, source);
    }
    // A source that could not be read may feed any of them.
    if !unread.dropped_in("sources") {
        listing.warn_unfed(&file.targets);
    }
    super::needs::check(&file.targets, &file.sources, unread, &mut listing.later);
    let Listing {
        mut later,
        repositories,
        indices,
        ..
    } = listing;
    let mut templates = Templates::default();
    templates.allow_env(file.env, &mut out);
    let registries = super::gates::compile_registries(&file.registries, &mut out);
    let mut sources = source_specs(
        file.sources,
        repositories,
        indices,
        &mut templates,
        &mut out,
    );
    let listed = file.targets.len();
    let targets = compile_targets(file.targets, &defaults, &mut templates, &mut out);
    out.append(&mut later);
    if targets.len() != listed || out.iter().any(Diagnostic::is_error) {
        reindex(&mut sources, &targets);
    }
    let config = Config {
        concurrency: defaults.concurrency,
        rate_limit: defaults.rate_limit,
        read_budget: defaults.read_budget,
        sources,
        targets,
        templates,
        registries,
        await_interval: defaults.await_interval,
    };
    (config, out)
}

/// What checking the sources learns, and the problems it finds (said after the targets').
struct Listing<'f> {
    later: Vec<Diagnostic>,
    /// Every target of the file, for suggestions.
    targets: &'f IndexMap<String, Box<Target>>,
    /// Every target's name, for suggestions: made for the first unknown one.
    known: Option<Vec<&'f str>>,
    suggestions: usize,
    /// Which source (by position) listed each target (by position) last: a target listed
    /// twice by one source, and a target no source feeds, are found without a set of names.
    listed_by: Vec<usize>,
    /// Each source's repository when it is sound, and where its targets are, in file order.
    repositories: Vec<Option<Repo>>,
    indices: Vec<Vec<usize>>,
    by_repository: HashMap<String, &'f str>,
    /// What reading the file could not take in: a listed target that could not be read is not
    /// "not defined".
    unread: &'f Unread,
}

impl<'f> Listing<'f> {
    fn new(targets: &'f IndexMap<String, Box<Target>>, unread: &'f Unread) -> Self {
        Listing {
            unread,
            later: Vec::new(),
            targets,
            known: None,
            suggestions: MAX_SUGGESTIONS,
            listed_by: vec![NONE; targets.len()],
            repositories: Vec::new(),
            indices: Vec::new(),
            by_repository: HashMap::new(),
        }
    }

    /// The `nth` source: its repository, and the targets it lists.
    fn source(&mut self, nth: usize, name: &'f str, source: &'f Source) {
        let path = join("sources", name);
        let repository = self.repository(name, &path, source);
        if source.targets.is_empty() {
            self.later.push(
                Diagnostic::warning(
                    Code::EmptySource,
                    join(&path, "targets"),
                    format!("source `{name}` feeds no target, so its releases send nothing"),
                )
                .with_help("list the targets it should trigger, or remove the source"),
            );
        }
        let found = source
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, target)| self.listed_target(nth, name, &path, i, target))
            .collect();
        self.repositories.push(repository);
        self.indices.push(found);
    }

    /// The source's repository, and a warning when an earlier source has the same one.
    fn repository(&mut self, name: &'f str, path: &str, source: &Source) -> Option<Repo> {
        let repository = check(
            Repo::parse(&source.repository),
            Code::InvalidRepository,
            &join(path, "repository"),
            "write it as `owner/name`, e.g. `vfarcic/dot-ai`",
            &mut self.later,
        )?;
        let key = repository.to_string().to_ascii_lowercase();
        if let Some(first) = self.by_repository.insert(key, name) {
            self.later.push(
                Diagnostic::warning(
                    Code::DuplicateSource,
                    join(path, "repository"),
                    format!("sources `{first}` and `{name}` both have repository `{repository}`"),
                )
                .with_help(format!("`--source {repository}` cannot choose between them; merge them, or always pass the name")),
            );
        }
        Some(repository)
    }

    /// Where the `i`th target the `nth` source lists is, unless it is not defined.
    fn listed_target(
        &mut self,
        nth: usize,
        name: &str,
        path: &str,
        i: usize,
        target: &str,
    ) -> Option<usize> {
        // Built only for a problem: a large fan-out lists thousands of sound targets.
        let item = || format!("{path}.targets[{i}]");
        let Some(index) = self.targets.get_index_of(target) else {
            if self.unread.covers(&join("targets", target)) {
                return None;
            }
            let help = match self.suggestion(target) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("define `{}` under `targets:`", shown(target)),
            };
            self.later.push(
                Diagnostic::error(
                    Code::UnknownTarget,
                    item(),
                    format!(
                        "source `{name}` feeds target `{}`, which is not defined",
                        shown(target)
                    ),
                )
                .with_help(help),
            );
            return None;
        };
        if self.listed_by[index] == nth {
            self.later.push(
                Diagnostic::error(
                    Code::DuplicateTarget,
                    item(),
                    format!("target `{target}` is listed twice for source `{name}`"),
                )
                .with_help("list each target once; it would otherwise be dispatched twice"),
            );
        }
        self.listed_by[index] = nth;
        Some(index)
    }

    /// The defined target closest to an unknown name, while suggestions last.
    fn suggestion(&mut self, target: &str) -> Option<&'f str> {
        if self.suggestions == 0 {
            return None;
        }
        self.suggestions -= 1;
        let targets = self.targets;
        let known = self
            .known
            .get_or_insert_with(|| targets.keys().map(String::as_str).collect());
        crate::diagnostic::closest(target, known.iter().copied())
    }

    /// A warning for each target no source feeds.
    fn warn_unfed(&mut self, targets: &IndexMap<String, Box<Target>>) {
        for (name, by) in targets.keys().zip(&self.listed_by) {
            if *by == NONE {
                self.later.push(
                    Diagnostic::warning(
                        Code::UnusedTarget,
                        join("targets", name),
                        format!(
                            "no source feeds target `{name}`, so nothing will ever be sent to it"
                        ),
                    )
                    .with_help("add it to a source's `targets:` list, or remove it"),
                );
            }
        }
    }
}

/// The sound sources, compiled. Their lists of targets are moved, not copied: a fan-out lists
/// thousands.
fn source_specs(
    sources: IndexMap<String, Box<Source>>,
    repositories: Vec<Option<Repo>>,
    indices: Vec<Vec<usize>>,
    templates: &mut Templates,
    out: &mut Vec<Diagnostic>,
) -> IndexMap<String, SourceSpec> {
    sources
        .into_iter()
        .zip(repositories.into_iter().zip(indices))
        .filter_map(|((name, source), (repository, target_indices))| {
            let at = join("sources", &name);
            let gates = super::gates::compile_gates(&source.awaits, &at, templates, out);
            let spec = SourceSpec {
                gates,
                name: name.clone(),
                repository: repository?,
                targets: source.targets,
                target_indices,
            };
            Some((name, spec))
        })
        .collect()
}

/// Every target, compiled in file order and freed as it goes.
fn compile_targets(
    file_targets: IndexMap<String, Box<Target>>,
    defaults: &Defaults,
    templates: &mut Templates,
    out: &mut Vec<Diagnostic>,
) -> IndexMap<String, TargetSpec> {
    let mut targets = IndexMap::with_capacity(file_targets.len());
    // Targets that name the same list of token variables take them in turn, in file order.
    let mut shards: HashMap<Vec<String>, usize> = HashMap::new();
    // Each target's key path in one buffer: it is read only when a problem is reported.
    let mut path = String::new();
    for (name, target) in file_targets {
        join_into(&mut path, "targets", &name);
        let Some((mut spec, names)) = compile_target(&path, target, defaults, templates, out)
        else {
            continue;
        };
        if let Some(names) = names {
            let turn = shards.entry(names.clone()).or_default();
            spec.token_env = names.get(*turn % names.len()).cloned();
            *turn = turn.wrapping_add(1);
        }
        targets.insert(name, spec);
    }
    targets
}

/// The indices are the file's; they are the compiled targets' too when every target compiled.
/// Otherwise (a file with an error, compiled to find its other problems) each source keeps
/// the targets that compiled, names and indices side by side.
fn reindex(sources: &mut IndexMap<String, SourceSpec>, targets: &IndexMap<String, TargetSpec>) {
    for source in sources.values_mut() {
        let (names, indices) = std::mem::take(&mut source.targets)
            .into_iter()
            .filter_map(|name| targets.get_index_of(&name).map(|i| (name, i)))
            .unzip();
        source.targets = names;
        source.target_indices = indices;
    }
}

struct Defaults {
    api_url: Option<ApiUrl>,
    /// Shared by every target that uses it.
    api_version: Arc<str>,
    concurrency: usize,
    timeout: Duration,
    /// Shared by every target that keeps it.
    retry: Arc<RetryPolicy>,
    rate_limit: RateLimits,
    cancel_on_stop: bool,
    read_budget: Option<crate::policy::RateLimit>,
    await_timeout: Duration,
    await_interval: Duration,
    /// Shared by every target that uses it.
    github_app: Option<Arc<super::AppSpec>>,
    /// `github_app` was set but refused (and said): a target that would use it is not told it
    /// has no credential.
    app_refused: bool,
}

/// The layered settings, each unset one at its declared default, checked. A value with a
/// problem (said) is replaced by its default, so the targets can still be checked.
fn effective_defaults(settings: &Settings, out: &mut Vec<Diagnostic>) -> Defaults {
    let mut settings = settings.clone();
    // A token pasted into ORCHESTRATOR_API_URL or a flag would otherwise be quoted back by
    // the parsers.
    for key in pasted_tokens(&settings, out) {
        settings.clear(key);
    }
    for key in out_of_range(&settings, "defaults", out) {
        settings.clear(key);
    }
    let settings = settings.or_defaults();
    let fallback = Settings::default().or_defaults();
    let api_url = settings
        .api_url
        .as_deref()
        .and_then(|url| api_url(url, "defaults.api_url", out));
    let api_version = settings
        .api_version
        .as_deref()
        .and_then(|version| api_version(version, "defaults.api_version", out));
    let rate_limit = settings.rate_limit.as_deref().and_then(|text| {
        check(
            RateLimits::parse(text),
            Code::InvalidValue,
            "defaults.rate_limit",
            "write a rate such as `80/min,500/h`, `80/min`, `5/s` or `unlimited`",
            out,
        )
    });
    let github_app = settings
        .github_app
        .as_ref()
        .map(|app| app_spec(app, "defaults.github_app", out).map(Arc::new));
    let default_rate = || RateLimits::parse(fallback.rate_limit.as_deref().unwrap_or_default());
    Defaults {
        app_refused: matches!(github_app, Some(None)),
        github_app: github_app.flatten(),
        api_url: api_url.or_else(|| ApiUrl::parse(DEFAULT_API_URL).ok()),
        api_version: api_version
            .unwrap_or_else(|| DEFAULT_API_VERSION.to_owned())
            .into(),
        concurrency: settings
            .concurrency
            .unwrap_or(crate::policy::DEFAULT_CONCURRENCY),
        timeout: settings
            .timeout_secs
            .map_or(super::model::DEFAULT_TIMEOUT, Duration::from),
        retry: Arc::new(retry_policy(RetryPolicy::default(), &settings)),
        await_timeout: settings
            .await_timeout_secs
            .map_or(crate::policy::DEFAULT_AWAIT_TIMEOUT, Duration::from),
        await_interval: settings
            .await_interval_secs
            .map_or(crate::policy::DEFAULT_AWAIT_INTERVAL, Duration::from),
        rate_limit: rate_limit
            .or_else(|| default_rate().ok())
            .unwrap_or_default(),
        cancel_on_stop: settings.cancel_on_stop.unwrap_or(false),
        read_budget: read_budget(&settings, out),
    }
}

/// `read_budget`, one window or `unlimited` (`None`); a value that does not read is said and
/// the default taken.
fn read_budget(settings: &Settings, out: &mut Vec<Diagnostic>) -> Option<crate::policy::RateLimit> {
    let Some(text) = settings.read_budget.as_deref() else {
        return Some(crate::policy::RateLimit::READ_BUDGET);
    };
    check(
        crate::policy::RateLimit::parse(text),
        Code::InvalidValue,
        "defaults.read_budget",
        "write one window such as `4000/h`, `1000/h` or `60/min`, or `unlimited`",
        out,
    )
    .unwrap_or(Some(crate::policy::RateLimit::READ_BUDGET))
}

/// Reports each text setting that holds what looks like a token, and gives their keys.
fn pasted_tokens(settings: &Settings, out: &mut Vec<Diagnostic>) -> Vec<&'static str> {
    let mut pasted = Vec::new();
    for (setting, value) in settings.values() {
        if !value.text().is_some_and(crate::secret::holds_token) {
            continue;
        }
        let key = setting.key;
        pasted.push(key);
        out.push(
            Diagnostic::error(
                Code::InvalidValue,
                join("defaults", key),
                format!("`{key}` holds what looks like a token (its value is not shown)"),
            )
            .with_help(format!(
                "check `defaults.{key}`, {} and {}; revoke the token if it was written anywhere others can read",
                setting.env, setting.flag
            )),
        );
    }
    pasted
}

/// Reports each set value outside its declared range, at `at.key`, and gives their keys.
fn out_of_range(settings: &Settings, at: &str, out: &mut Vec<Diagnostic>) -> Vec<&'static str> {
    let mut outside = Vec::new();
    for (setting, value) in settings.values() {
        if let Some((message, help)) = setting.range_problem(value) {
            out.push(
                Diagnostic::error(Code::InvalidValue, join(at, setting.key), message)
                    .with_help(help),
            );
            outside.push(setting.key);
        }
    }
    outside
}

/// `base` with the retry settings that `settings` sets.
fn retry_policy(base: RetryPolicy, settings: &Settings) -> RetryPolicy {
    RetryPolicy {
        max_attempts: settings.max_attempts.unwrap_or(base.max_attempts),
        deadline: settings.deadline_secs.map_or(base.deadline, Duration::from),
        base_delay: settings
            .backoff_ms
            .map_or(base.base_delay, Duration::from_millis),
        secondary_wait: settings
            .secondary_wait_secs
            .map_or(base.secondary_wait, Duration::from),
        ..base
    }
}

/// Whether any of `settings` changes a retry policy.
fn sets_retry(settings: &Settings) -> bool {
    settings.max_attempts.is_some()
        || settings.deadline_secs.is_some()
        || settings.backoff_ms.is_some()
        || settings.secondary_wait_secs.is_some()
}

fn api_url(url: &str, path: &str, out: &mut Vec<Diagnostic>) -> Option<ApiUrl> {
    check(
        ApiUrl::parse(url),
        Code::InvalidUrl,
        path,
        "use https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server",
        out,
    )
}

/// A GitHub target needs `token_env` or a GitHub App (its own, or the defaults'); `Some(None)`
/// when it uses its token.
fn credential(
    target: &super::model::Target,
    path: &str,
    compiled: &super::kinds::Compiled,
    defaults: &Defaults,
    out: &mut Vec<Diagnostic>,
) -> Option<Option<Arc<super::AppSpec>>> {
    let own = match &target.github_app {
        Some(app) => Some(Arc::new(app_spec(app, &join(path, "github_app"), out)?)),
        None => None,
    };
    if !target.kind.is_github() {
        if own.is_some() {
            out.push(Diagnostic::error(
                Code::UnknownKey,
                join(path, "github_app"),
                "a webhook cannot authenticate as a GitHub App",
            ));
            return None;
        }
        return Some(None);
    }
    if compiled.token_env.is_some() {
        if own.is_some() {
            out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    join(path, "github_app"),
                    "a target has either `token_env` or `github_app`, not both",
                )
                .with_help("keep the GitHub App: its tokens do not expire like a personal token"),
            );
            return None;
        }
        return Some(None);
    }
    if compiled.token_refused || (own.is_none() && defaults.app_refused) {
        return Some(None); // said already
    }
    match own.or_else(|| defaults.github_app.clone()) {
        Some(app) => Some(Some(app)),
        None => {
            out.push(
                Diagnostic::error(
                    Code::MissingKey,
                    join(path, "token_env"),
                    format!("kind `{}` needs `token_env` or a `github_app`", target.kind.as_str()),
                )
                .with_help("name the variable that holds a token, e.g. `token_env: WEBSITE_DISPATCH_TOKEN`, or set `defaults.github_app`"),
            );
            None
        }
    }
}

fn app_spec(
    app: &super::model::GithubApp,
    path: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<super::AppSpec> {
    let app_id = app.app_id.to_string();
    let id_ok = (1..=100).contains(&app_id.len())
        && app_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !id_ok {
        out.push(Diagnostic::error(
            Code::InvalidValue,
            join(path, "app_id"),
            "app_id is the App's numeric id or its client id (letters, digits, `.`, `_`, `-`)",
        ));
        return None;
    }
    let key = match (&app.private_key_env, &app.private_key_file) {
        (Some(env), None) => super::KeySource::Env(super::kinds::check_token_env(
            env,
            &join(path, "private_key_env"),
            out,
        )?),
        (None, Some(file)) => super::KeySource::File(file.into()),
        _ => {
            out.push(
                Diagnostic::error(
                    Code::MissingKey,
                    join(path, "private_key_env"),
                    "a GitHub App needs exactly one of `private_key_env` and `private_key_file`",
                )
                .with_help("put the App's PEM private key in a secret and name its variable with `private_key_env`"),
            );
            return None;
        }
    };
    Some(super::AppSpec {
        app_id,
        key,
        installation_id: app.installation_id,
    })
}

fn compile_target(
    path: &str,
    mut target: Box<Target>,
    defaults: &Defaults,
    templates: &mut Templates,
    out: &mut Vec<Diagnostic>,
) -> Option<(TargetSpec, Option<Vec<String>>)> {
    let token_env = target.token_env.take();
    let own = target.take_settings();
    let target = &*target;
    let compiled = super::kinds::compile_action(target, token_env, path, templates, out);
    // A condition or a setting with a problem (said) is left at its default: the target's
    // templates are still rendered by `validate`. Only what a request cannot be built without
    // (the action) leaves the target out.
    let condition = compile_condition(target.when.as_deref(), path, out).unwrap_or_default();
    let settings = target_settings(&own, path, defaults, out);
    let (compiled, settings) = (compiled?, settings?);
    let app = credential(target, path, &compiled, defaults, out).unwrap_or_default();
    // Several names are returned to be taken in turn; one is simply this target's.
    let (token_env, shard) = match compiled.token_env {
        Some(TokenEnv::Several(names)) if names.len() > 1 => (names.first().cloned(), Some(names)),
        Some(TokenEnv::Several(names)) => (names.into_iter().next(), None),
        Some(TokenEnv::One(name)) => (Some(name), None),
        None => (None, None),
    };
    let spec = TargetSpec {
        kind: target.kind,
        condition,
        api_url: settings.api_url,
        api_version: settings.api_version,
        timeout: settings.timeout,
        retry: settings.retry,
        cancel_on_stop: settings.cancel_on_stop,
        app,
        repository: compiled.repository.map(Arc::new),
        token_env,
        action: compiled.action,
        needs: target.needs.clone(),
        required: target.required.unwrap_or(true),
        gates: super::gates::compile_gates(&target.awaits, path, templates, out),
        await_timeout: settings.await_timeout,
    };
    warn_no_run_to_cancel(&own, &spec, path, out);
    Some((spec, shard))
}

/// A target that sets `cancel_on_stop: true` itself but can never have a run to cancel is
/// told so: it reads as a promise. One that has it from `defaults` is not (the default covers
/// the targets that can; the dry run says which cannot).
fn warn_no_run_to_cancel(own: &Settings, spec: &TargetSpec, path: &str, out: &mut Vec<Diagnostic>) {
    let Some(why) = spec.action.no_run_to_cancel() else {
        return;
    };
    if own.cancel_on_stop == Some(true) {
        out.push(
            Diagnostic::warning(
                Code::NoRunToCancel,
                join(path, "cancel_on_stop"),
                format!("`cancel_on_stop` has nothing to cancel here: {why}"),
            )
            .with_help(match spec.kind {
                super::TargetKind::Webhook => "remove it: a webhook's receiver is not a run orchestrator can stop",
                _ => "set `track: true` (and run with `--wait`) so the run is found and can be cancelled, or remove it",
            }),
        );
    }
}

/// A target's delivery settings: its own where it sets them, the defaults' elsewhere.
struct TargetSettings {
    api_url: ApiUrl,
    api_version: Arc<str>,
    timeout: Duration,
    retry: Arc<RetryPolicy>,
    cancel_on_stop: bool,
    await_timeout: Duration,
}

/// The settings a target sets (`own`), checked at its `path`, over the defaults; one with a
/// problem (said) is the defaults'.
fn target_settings(
    own: &Settings,
    path: &str,
    defaults: &Defaults,
    out: &mut Vec<Diagnostic>,
) -> Option<TargetSettings> {
    let mut own = own.clone();
    for key in out_of_range(&own, path, out) {
        own.clear(key);
    }
    let api_url = own
        .api_url
        .as_ref()
        .and_then(|url| api_url(url, &join(path, "api_url"), out))
        .or_else(|| defaults.api_url.clone())
        .or_else(|| ApiUrl::parse(DEFAULT_API_URL).ok());
    let api_version = own
        .api_version
        .as_ref()
        .and_then(|v| api_version(v, &join(path, "api_version"), out))
        .map_or_else(|| Arc::clone(&defaults.api_version), Arc::from);
    let retry = if sets_retry(&own) {
        Arc::new(retry_policy(*defaults.retry, &own))
    } else {
        Arc::clone(&defaults.retry)
    };
    Some(TargetSettings {
        api_url: api_url?,
        api_version,
        timeout: own.timeout_secs.map_or(defaults.timeout, Duration::from),
        retry,
        cancel_on_stop: own.cancel_on_stop.unwrap_or(defaults.cancel_on_stop),
        await_timeout: own
            .await_timeout_secs
            .map_or(defaults.await_timeout, Duration::from),
    })
}

/// The target at `target_path`'s `when`.
fn compile_condition(
    when: Option<&Condition>,
    target_path: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<When> {
    let Some(when) = when else {
        return Some(When::default());
    };
    let path = &join(target_path, "when");
    let requirement = match &when.version {
        Some(req) => Some(check(
            semver::VersionReq::parse(req)
                .map_err(|e| format!("`{}` is not a semver requirement: {e}", shown(req))),
            Code::InvalidCondition,
            &join(path, "version"),
            "write a requirement such as `>=1.0.0`, `^2` or `>=1.2, <2`",
            out,
        )?),
        None => None,
    };
    let changed = match &when.changed {
        Some(patterns) => match crate::changes::ChangeFilter::new(patterns) {
            Ok(filter) => Some(filter),
            Err(errors) => {
                for e in errors {
                    let at = match e.index {
                        Some(i) => format!("{path}.changed[{i}]"),
                        None => join(path, "changed"),
                    };
                    let mut d = Diagnostic::error(Code::InvalidCondition, at, e.to_string());
                    if let Some(help) = &e.help {
                        d = d.with_help(help);
                    }
                    out.push(d);
                }
                return None;
            }
        },
        None => None,
    };
    Some(
        VersionCondition {
            requirement,
            prerelease: when.prerelease.unwrap_or(true),
            changed,
        }
        .into(),
    )
}

fn api_version(version: &str, path: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
    let b = version.as_bytes();
    let is_date = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !is_date {
        out.push(
            Diagnostic::error(
                Code::InvalidValue,
                path,
                format!(
                    "`{}` is not a GitHub API version (a date such as 2022-11-28)",
                    shown(version)
                ),
            )
            .with_help(format!("leave it out to use {DEFAULT_API_VERSION}")),
        );
        return None;
    }
    Some(version.to_owned())
}

fn check<T>(
    result: Result<T, String>,
    code: Code,
    path: &str,
    help: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<T> {
    result
        .map_err(|message| out.push(Diagnostic::error(code, path, message).with_help(help)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> DispatchFile {
        let parsed = super::super::load::parse(yaml.as_bytes());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        parsed.file.unwrap()
    }

    const BASE: &str = "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [web]\ntargets:\n  web:\n    repository: o/web\n    event_type: release\n    token_env: WEB_TOKEN\n";

    #[test]
    fn a_sound_file_compiles_without_diagnostics() {
        let (config, diags) = compile(file(BASE), &Settings::default(), &Unread::default());
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(config.concurrency, 10);
        assert_eq!(
            config.targets["web"].api_url.as_str(),
            "https://api.github.com"
        );
    }

    #[test]
    fn reports_unknown_target_with_a_suggestion() {
        let yaml = BASE.replace("targets: [web]", "targets: [web, wbe2, webb]");
        let (config, diags) = compile(file(&yaml), &Settings::default(), &Unread::default());
        assert!(diags.iter().any(Diagnostic::is_error));
        assert_eq!(
            config.sources["app"].targets,
            ["web"],
            "the known ones are kept"
        );
        let unknown: Vec<_> = diags
            .iter()
            .filter(|d| d.code == Code::UnknownTarget)
            .collect();
        assert_eq!(unknown.len(), 2);
        assert_eq!(unknown[1].path, "sources.app.targets[2]");
        assert_eq!(unknown[1].help.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn a_token_pasted_into_token_env_is_not_echoed() {
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
        let yaml = BASE.replace("WEB_TOKEN", token);
        let (_, diags) = compile(file(&yaml), &Settings::default(), &Unread::default());
        assert_eq!(diags[0].code, Code::InvalidTokenEnv);
        assert!(!format!("{diags:?}").contains(token));
    }

    #[test]
    fn warns_about_targets_no_source_feeds() {
        let yaml =
            format!("{BASE}  unused:\n    repository: o/x\n    event_type: e\n    token_env: T\n");
        let (_, diags) = compile(file(&yaml), &Settings::default(), &Unread::default());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::UnusedTarget);
        assert_eq!(diags[0].path, "targets.unused");
    }
}
