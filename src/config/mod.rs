//! `dispatch.yaml`: its model, loading, and compilation into a [`Config`].

pub(crate) mod compile;
pub mod kinds;
pub(crate) mod load;
pub(crate) mod locate;
pub mod model;
pub(crate) mod needs;
pub(crate) mod node;
pub mod schema;
pub(crate) mod seconds;
pub(crate) mod sections;
pub mod settings;
pub mod values;
pub(crate) mod walk;

use crate::diagnostic::Diagnostic;
use crate::render::Templates;
use indexmap::IndexMap;
use locate::Locator;
use model::{Settings, TargetKind};
use std::time::Duration;
pub use values::{ApiUrl, Repo};

/// A configuration that passed every check: what the planner works from.
#[derive(Debug)]
pub struct Config {
    /// Requests in flight at once, for the whole run.
    pub concurrency: usize,
    /// Request starts per API host and identity, every window at once; none for no limit.
    pub rate_limit: crate::policy::RateLimits,
    pub sources: IndexMap<String, SourceSpec>,
    pub targets: IndexMap<String, TargetSpec>,
    pub templates: Templates,
}

#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    pub repository: Repo,
    /// Names of targets, each known to exist.
    pub targets: Vec<String>,
    /// Where each of `targets` is in [`Config::targets`], so planning need not look it up by
    /// name.
    pub target_indices: Vec<usize>,
}

#[derive(Debug, Clone)]
/// A target, compiled; its name is its key in [`Config::targets`].
pub struct TargetSpec {
    pub kind: TargetKind,
    /// Required for GitHub kinds; optional (informational) for webhooks.
    /// Shared with the jobs planned for this target.
    pub repository: Option<std::sync::Arc<Repo>>,
    /// Required for GitHub kinds; optional (a Bearer token) for webhooks. When the file names
    /// several to shard over, the one assigned to this target.
    pub token_env: Option<String>,
    pub action: kinds::Action,
    /// Authenticate as this GitHub App (when `token_env` is not set).
    pub app: Option<std::sync::Arc<AppSpec>>,
    pub condition: When,
    pub api_url: ApiUrl,
    /// Shared by every target with the same version (the defaults', usually).
    pub api_version: std::sync::Arc<str>,
    pub timeout: Duration,
    /// Shared by the targets that keep the defaults' (and with their jobs).
    pub retry: std::sync::Arc<crate::policy::RetryPolicy>,
    /// `cancel_on_stop`: cancel the run it starts when the run stops before it completed.
    pub cancel_on_stop: bool,
    /// `needs:`: the targets this one is sent after, each known to exist, fed by the same
    /// sources, and outside any cycle.
    pub needs: Vec<String>,
    /// `required: false` makes its failure not fail the run.
    pub required: bool,
}

/// A GitHub App, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub app_id: String,
    pub key: KeySource,
    pub installation_id: Option<u64>,
}

/// Where an App's private key is read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySource {
    Env(String),
    File(std::path::PathBuf),
}

/// A target's `when:`, read as a [`VersionCondition`]. Boxed, and only when the file has one:
/// it is read once per target while planning, so it need not sit inline in the table of
/// targets (10,000 entries in a large fan-out, all allocated up front), and most targets
/// have none.
#[derive(Debug, Clone, Default)]
pub struct When(Option<Box<VersionCondition>>);

/// What a target without `when:` is sent on: every release.
static ALWAYS: VersionCondition = VersionCondition {
    requirement: None,
    prerelease: true,
    changed: None,
};

impl From<VersionCondition> for When {
    fn from(condition: VersionCondition) -> When {
        When(Some(Box::new(condition)))
    }
}

impl std::ops::Deref for When {
    type Target = VersionCondition;

    fn deref(&self) -> &VersionCondition {
        self.0.as_deref().unwrap_or(&ALWAYS)
    }
}

/// A compiled `when:`.
#[derive(Debug, Clone)]
pub struct VersionCondition {
    pub requirement: Option<semver::VersionReq>,
    pub prerelease: bool,
    /// `when.changed`: send only when matching files changed since the previous release.
    pub changed: Option<crate::changes::ChangeFilter>,
}

impl Default for VersionCondition {
    fn default() -> Self {
        VersionCondition {
            requirement: None,
            prerelease: true,
            changed: None,
        }
    }
}

/// The outcome of checking a file: the config when it has no error, and every diagnostic
/// (located in the file where possible).
pub struct Checked {
    pub config: Option<Config>,
    /// For a file with an error, what of it compiled (the entries and values that could be
    /// read): `validate` renders its templates, so one run finds every problem. Never planned
    /// for sending.
    pub salvaged: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
    pub locator: Locator,
}

impl Checked {
    /// Gives diagnostics found later (while planning) their place in the file.
    pub fn locate(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        diagnostics
            .into_iter()
            .map(|d| {
                let at = self.locator.find(&d.path);
                d.at(at)
            })
            .collect()
    }
}

/// Parses and compiles the bytes of a dispatch file; `env` and `flags` are the settings layers
/// above the file's `defaults`.
pub fn check(bytes: &[u8], env: impl figment::Provider, flags: &Settings) -> Checked {
    check_parsed(load::parse(bytes), env, flags)
}

/// [`check`] from a file already parsed, so the caller can free the file's bytes (the tree
/// holds all it needs) before the file is compiled.
pub fn check_parsed(
    parsed: load::Parsed,
    env: impl figment::Provider,
    flags: &Settings,
) -> Checked {
    let load::Parsed {
        file,
        locator,
        mut diagnostics,
        unread,
    } = parsed;
    let (mut config, mut salvaged) = (None, None);
    if let Some(file) = file {
        let layered = settings::layer(&file.defaults, env, flags);
        diagnostics.extend(layered.problems);
        let (compiled, found) = compile::compile(file, &layered.settings, &unread);
        // What reading the file already said is not said again, and a value from a flag or
        // variable is reported there, not at a line of the file.
        diagnostics.extend(
            found
                .into_iter()
                .filter(|d| !unread.covers(&d.path))
                .map(|d| match layered.origins.of_path(&d.path) {
                    Some(origin) => d.from_origin(origin),
                    None => d,
                }),
        );
        if diagnostics.iter().any(Diagnostic::is_error) {
            salvaged = Some(compiled);
        } else {
            config = Some(compiled);
        }
    }
    let mut checked = Checked {
        config,
        salvaged,
        diagnostics: Vec::new(),
        locator,
    };
    checked.diagnostics = checked.locate(diagnostics);
    checked
}
