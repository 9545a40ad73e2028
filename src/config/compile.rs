//! From the file as written to a [`Config`] that cannot be invalid: references resolved,
//! names and URLs checked, templates compiled. Pure: no environment, network or clock.

use super::model::{Condition, DispatchFile, Settings, TokenEnv};
use super::settings::{
    range, DEFAULT_API_URL, DEFAULT_API_VERSION, DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
};
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

/// Compiles `file` with `settings` (the file's defaults already layered with env and flags).
/// Returns the config when there is no error, and every diagnostic (warnings included).
///
/// Takes the file: each target is freed once compiled, so a large fan-out's file and its
/// compiled form are never both whole in memory.
pub fn compile(file: DispatchFile, settings: &Settings) -> (Option<Config>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut templates = Templates::default();

    let defaults = effective_defaults(settings, &mut out);
    // The sources and the targets no source feeds are checked first, and said after the
    // targets' own problems, in file order as before.
    let mut later = Vec::new();
    // Every target's name, for suggestions: made for the first unknown one.
    let mut known: Option<Vec<&str>> = None;
    let mut suggestions = MAX_SUGGESTIONS;
    // Which source (by position) listed each target (by position) last: a target listed twice
    // by one source, and a target no source feeds, are found without a set of names.
    const NONE: usize = usize::MAX;
    let mut listed_by = vec![NONE; file.targets.len()];
    // Each source's repository when it is sound, and where its targets are, in file order.
    let mut repositories = Vec::with_capacity(file.sources.len());
    let mut indices = Vec::with_capacity(file.sources.len());
    let mut by_repository: HashMap<String, &str> = HashMap::new();
    for (nth, (name, source)) in file.sources.iter().enumerate() {
        let path = join("sources", name);
        let repository = check(
            Repo::parse(&source.repository),
            Code::InvalidRepository,
            &join(&path, "repository"),
            "write it as `owner/name`, e.g. `vfarcic/dot-ai`",
            &mut later,
        );
        if let Some(repository) = &repository {
            let key = repository.to_string().to_ascii_lowercase();
            if let Some(first) = by_repository.insert(key, name) {
                later.push(
                    Diagnostic::warning(
                        Code::DuplicateSource,
                        join(&path, "repository"),
                        format!("sources `{first}` and `{name}` both have repository `{repository}`"),
                    )
                    .with_help(format!("`--source {repository}` cannot choose between them; merge them, or always pass the name")),
                );
            }
        }
        if source.targets.is_empty() {
            later.push(
                Diagnostic::warning(
                    Code::EmptySource,
                    join(&path, "targets"),
                    format!("source `{name}` feeds no target, so its releases send nothing"),
                )
                .with_help("list the targets it should trigger, or remove the source"),
            );
        }
        let mut found = Vec::with_capacity(source.targets.len());
        for (i, target) in source.targets.iter().enumerate() {
            // Built only for a problem: a large fan-out lists thousands of sound targets.
            let item = || format!("{path}.targets[{i}]");
            let index = file.targets.get_index_of(target);
            found.extend(index);
            let Some(index) = index else {
                let best = if suggestions > 0 {
                    suggestions -= 1;
                    let known = known
                        .get_or_insert_with(|| file.targets.keys().map(String::as_str).collect());
                    crate::diagnostic::closest(target, known.iter().copied())
                } else {
                    None
                };
                let help = match best {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("define `{}` under `targets:`", shown(target)),
                };
                later.push(
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
                continue;
            };
            if listed_by[index] == nth {
                later.push(
                    Diagnostic::error(
                        Code::DuplicateTarget,
                        item(),
                        format!("target `{target}` is listed twice for source `{name}`"),
                    )
                    .with_help("list each target once; it would otherwise be dispatched twice"),
                );
            }
            listed_by[index] = nth;
        }
        repositories.push(repository);
        indices.push(found);
    }

    for (name, by) in file.targets.keys().zip(&listed_by) {
        if *by == NONE {
            later.push(
                Diagnostic::warning(
                    Code::UnusedTarget,
                    join("targets", name),
                    format!("no source feeds target `{name}`, so nothing will ever be sent to it"),
                )
                .with_help("add it to a source's `targets:` list, or remove it"),
            );
        }
    }
    // The sources' lists of targets are moved, not copied: a fan-out lists thousands.
    let mut sources: IndexMap<String, SourceSpec> = file
        .sources
        .into_iter()
        .zip(repositories.into_iter().zip(indices))
        .filter_map(|((name, source), (repository, target_indices))| {
            let spec = SourceSpec {
                name: name.clone(),
                repository: repository?,
                targets: source.targets,
                target_indices,
            };
            Some((name, spec))
        })
        .collect();
    let listed = file.targets.len();

    let mut targets = IndexMap::with_capacity(file.targets.len());
    // Targets that name the same list of token variables take them in turn, in file order.
    let mut shards: HashMap<Vec<String>, usize> = HashMap::new();
    // Each target's key path in one buffer: it is read only when a problem is reported.
    let mut path = String::new();
    for (name, target) in file.targets {
        join_into(&mut path, "targets", &name);
        if let Some((spec, names)) =
            compile_target(&path, target, &defaults, &mut templates, &mut out)
        {
            let mut spec = spec;
            if let Some(names) = names {
                let turn = shards.entry(names.clone()).or_default();
                spec.token_env = names.get(*turn % names.len()).cloned();
                *turn = turn.wrapping_add(1);
            }
            targets.insert(name, spec);
        }
    }

    out.append(&mut later);
    // The indices are the file's; they are the compiled targets' too when every target compiled
    // (otherwise there is an error, and no configuration: looked up again all the same).
    if targets.len() != listed {
        for source in sources.values_mut() {
            source.target_indices = source
                .targets
                .iter()
                .filter_map(|name| targets.get_index_of(name))
                .collect();
        }
    }

    let ok = !out.iter().any(Diagnostic::is_error);
    let config = match defaults {
        Some(defaults) if ok => Some(Config {
            concurrency: defaults.concurrency,
            rate_limit: defaults.rate_limit,
            sources,
            targets,
            templates,
        }),
        _ => None,
    };
    (config, out)
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
    /// Shared by every target that uses it.
    github_app: Option<Arc<super::AppSpec>>,
}

fn effective_defaults(settings: &Settings, out: &mut Vec<Diagnostic>) -> Option<Defaults> {
    // A token pasted into ORCHESTRATOR_API_URL or a flag would otherwise be quoted back by the
    // parsers below.
    let texts = [
        ("api_url", &settings.api_url),
        ("api_version", &settings.api_version),
        ("rate_limit", &settings.rate_limit),
    ];
    let mut pasted = false;
    for (key, value) in texts {
        if value.as_deref().is_some_and(crate::secret::holds_token) {
            pasted = true;
            out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    join("defaults", key),
                    format!("`{key}` holds what looks like a token (its value is not shown)"),
                )
                .with_help(format!(
                    "check `defaults.{key}`, ORCHESTRATOR_{} and --{}; revoke the token if it was written anywhere others can read",
                    key.to_ascii_uppercase(),
                    key.replace('_', "-")
                )),
            );
        }
    }
    if pasted {
        return None;
    }
    let api_url = match &settings.api_url {
        Some(url) => check(
            ApiUrl::parse(url),
            Code::InvalidUrl,
            "defaults.api_url",
            "use https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server",
            out,
        ),
        None => ApiUrl::parse(DEFAULT_API_URL).ok(),
    };
    let concurrency = settings.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if !range::CONCURRENCY.contains(&(concurrency as u64)) {
        out.push(
            Diagnostic::error(
                Code::InvalidValue,
                "defaults.concurrency",
                format!("concurrency {concurrency} is outside 1 to {MAX_CONCURRENCY}"),
            )
            .with_help("GitHub asks for at most 100 requests in flight; 10 is a good default"),
        );
    }
    let timeout = timeout(settings.timeout_secs, "defaults.timeout_secs", out);
    let api_version = api_version(settings.api_version.as_deref(), "defaults.api_version", out);
    let rate_limit = match &settings.rate_limit {
        Some(text) => check(
            RateLimits::parse(text),
            Code::InvalidValue,
            "defaults.rate_limit",
            "write a rate such as `80/min,500/h`, `80/min`, `5/s` or `unlimited`",
            out,
        ),
        None => Some(RateLimits::github()),
    };
    let mut retry = RetryPolicy::default();
    let mut ok = true;
    if let Some(n) = settings.max_attempts {
        ok &= in_range(n.into(), range::MAX_ATTEMPTS, "defaults.max_attempts", out);
        retry.max_attempts = n;
    }
    if let Some(secs) = settings.deadline_secs {
        ok &= in_range(secs, range::DEADLINE_SECS, "defaults.deadline_secs", out);
        retry.deadline = Duration::from_secs(secs);
    }
    if let Some(ms) = settings.backoff_ms {
        ok &= in_range(ms, range::BACKOFF_MS, "defaults.backoff_ms", out);
        retry.base_delay = Duration::from_millis(ms);
    }
    if let Some(secs) = settings.secondary_wait_secs {
        ok &= in_range(
            secs,
            range::SECONDARY_WAIT_SECS,
            "defaults.secondary_wait_secs",
            out,
        );
        retry.secondary_wait = Duration::from_secs(secs);
    }
    let github_app = match &settings.github_app {
        Some(app) => Some(Arc::new(app_spec(app, "defaults.github_app", out)?)),
        None => None,
    };
    if !ok {
        return None;
    }
    Some(Defaults {
        github_app,
        api_url,
        api_version: api_version?.into(),
        concurrency,
        timeout: timeout?,
        retry: Arc::new(retry),
        rate_limit: rate_limit?,
    })
}

/// A GitHub target needs `token_env` or a GitHub App (its own, or the defaults'); `Some(None)`
/// when it uses its token.
fn credential(
    target: &super::model::Target,
    path: &str,
    compiled: &super::kinds::Compiled,
    defaults: &Option<Defaults>,
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
    match own.or_else(|| defaults.as_ref().and_then(|d| d.github_app.clone())) {
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

/// Reports `value` at `path` unless it lies in `min..=max`.
fn in_range(
    value: u64,
    allowed: std::ops::RangeInclusive<u64>,
    path: &str,
    out: &mut Vec<Diagnostic>,
) -> bool {
    if allowed.contains(&value) {
        return true;
    }
    let (min, max) = (allowed.start(), allowed.end());
    let key = path.rsplit('.').next().unwrap_or(path);
    out.push(
        Diagnostic::error(
            Code::InvalidValue,
            path,
            format!("`{key}` is {value}, outside {min} to {max}"),
        )
        .with_help("leave it out to use the default"),
    );
    false
}

fn compile_target(
    path: &str,
    mut target: Box<super::model::Target>,
    defaults: &Option<Defaults>,
    templates: &mut Templates,
    out: &mut Vec<Diagnostic>,
) -> Option<(TargetSpec, Option<Vec<String>>)> {
    let token_env = target.token_env.take();
    let target = &*target;
    let compiled = super::kinds::compile_action(target, token_env, path, templates, out);
    let condition = compile_condition(target.when.as_deref(), path, out);
    let api_url = match &target.api_url {
        Some(url) => check(
            ApiUrl::parse(url),
            Code::InvalidUrl,
            &join(path, "api_url"),
            "use https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server",
            out,
        ),
        None => defaults.as_ref().and_then(|d| d.api_url.clone()),
    };
    let api_version = match &target.api_version {
        Some(v) => api_version(Some(v), &join(path, "api_version"), out).map(Arc::from),
        None => defaults.as_ref().map(|d| Arc::clone(&d.api_version)),
    };
    let timeout = match target.timeout_secs {
        Some(secs) => timeout(Some(secs), &join(path, "timeout_secs"), out),
        None => defaults.as_ref().map(|d| d.timeout),
    };
    let mut retry = defaults
        .as_ref()
        .map(|d| Arc::clone(&d.retry))
        .unwrap_or_default();
    let mut retry_ok = true;
    if let Some(n) = target.max_attempts {
        retry_ok &= in_range(
            n.into(),
            range::MAX_ATTEMPTS,
            &join(path, "max_attempts"),
            out,
        );
        Arc::make_mut(&mut retry).max_attempts = n;
    }
    if let Some(secs) = target.deadline_secs {
        retry_ok &= in_range(
            secs,
            range::DEADLINE_SECS,
            &join(path, "deadline_secs"),
            out,
        );
        Arc::make_mut(&mut retry).deadline = Duration::from_secs(secs);
    }
    let compiled = compiled?;
    let (condition, api_url, api_version, timeout, retry) = (
        condition?,
        api_url?,
        api_version?,
        timeout?,
        retry_ok.then_some(retry)?,
    );
    let app = credential(target, path, &compiled, defaults, out)?;
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
        api_url,
        api_version,
        timeout,
        retry,
        app,
        repository: compiled.repository.map(Arc::new),
        token_env,
        action: compiled.action,
    };
    Some((spec, shard))
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

fn timeout(secs: Option<u64>, path: &str, out: &mut Vec<Diagnostic>) -> Option<Duration> {
    match secs {
        None => Some(DEFAULT_TIMEOUT),
        Some(s) if range::TIMEOUT_SECS.contains(&s) => Some(Duration::from_secs(s)),
        Some(s) => {
            out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    path,
                    format!(
                        "timeout of {s} s is outside {} to {}",
                        range::TIMEOUT_SECS.start(),
                        range::TIMEOUT_SECS.end()
                    ),
                )
                .with_help("30 is a good default"),
            );
            None
        }
    }
}

fn api_version(version: Option<&str>, path: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
    let version = version.unwrap_or(DEFAULT_API_VERSION);
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
        let (config, diags) = compile(file(BASE), &Settings::default());
        assert!(diags.is_empty(), "{diags:?}");
        let config = config.unwrap();
        assert_eq!(config.concurrency, 10);
        assert_eq!(
            config.targets["web"].api_url.as_str(),
            "https://api.github.com"
        );
    }

    #[test]
    fn reports_unknown_target_with_a_suggestion() {
        let yaml = BASE.replace("targets: [web]", "targets: [web, wbe2, webb]");
        let (config, diags) = compile(file(&yaml), &Settings::default());
        assert!(config.is_none());
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
        let (_, diags) = compile(file(&yaml), &Settings::default());
        assert_eq!(diags[0].code, Code::InvalidTokenEnv);
        assert!(!format!("{diags:?}").contains(token));
    }

    #[test]
    fn warns_about_targets_no_source_feeds() {
        let yaml =
            format!("{BASE}  unused:\n    repository: o/x\n    event_type: e\n    token_env: T\n");
        let (config, diags) = compile(file(&yaml), &Settings::default());
        assert!(config.is_some());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::UnusedTarget);
        assert_eq!(diags[0].path, "targets.unused");
    }
}
