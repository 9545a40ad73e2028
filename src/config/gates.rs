//! `await:` and `registries:`, compiled: each check's texts compiled as templates (rendered and
//! read into a request per release by the planner), each registry's URL and token variable
//! checked.

use super::kinds::{check_token_env, url_problem};
use super::published::{AwaitCheck, Registries, Registry};
use crate::diagnostic::{join, Code, Diagnostic};
use crate::render::{Templates, Text};
use std::sync::Arc;

/// What kind of artifact a check waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    Npm,
    Pypi,
    Crate,
    Oci,
    Helm,
    GithubRelease,
    Url,
}

impl GateKind {
    /// The key that names it in `await:` and `registries:`.
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::Npm => "npm",
            GateKind::Pypi => "pypi",
            GateKind::Crate => "crate",
            GateKind::Oci => "oci",
            GateKind::Helm => "helm",
            GateKind::GithubRelease => "github_release",
            GateKind::Url => "url",
        }
    }

    /// The public registry a check of this kind asks when `registries:` names none.
    pub fn default_base(self) -> Option<&'static str> {
        match self {
            GateKind::Npm => Some("https://registry.npmjs.org"),
            GateKind::Pypi => Some("https://pypi.org"),
            GateKind::Crate => Some("https://crates.io"),
            _ => None,
        }
    }
}

/// One compiled `await:` check: its kind and its texts, in the order the kind writes them
/// (`npm`, `pypi`, `crate`, `oci`, `url`: the one text; `helm`: repo, chart, version;
/// `github_release`: repository, tag, and the asset when there is one).
#[derive(Debug, Clone)]
pub struct GateSpec {
    pub kind: GateKind,
    /// Its key path in its target or source (`await[0].npm`), for messages.
    pub path: String,
    pub texts: Vec<Text>,
}

/// A registry, checked: its base URL (the kind's default when `None`) and token variable.
#[derive(Debug, Clone, Default)]
pub struct RegistrySpec {
    pub url: Option<url::Url>,
    pub token_env: Option<String>,
}

/// Every kind's registry.
#[derive(Debug, Clone, Default)]
pub struct RegistrySpecs {
    pub npm: RegistrySpec,
    pub pypi: RegistrySpec,
    pub crate_: RegistrySpec,
    pub oci: RegistrySpec,
    pub helm: RegistrySpec,
    pub github_release: RegistrySpec,
    pub url: RegistrySpec,
}

impl RegistrySpecs {
    pub fn of(&self, kind: GateKind) -> &RegistrySpec {
        match kind {
            GateKind::Npm => &self.npm,
            GateKind::Pypi => &self.pypi,
            GateKind::Crate => &self.crate_,
            GateKind::Oci => &self.oci,
            GateKind::Helm => &self.helm,
            GateKind::GithubRelease => &self.github_release,
            GateKind::Url => &self.url,
        }
    }
}

/// Compiles the checks of the target or source at `owner` (its key path); a check whose
/// template does not compile is reported and left out.
pub(crate) fn compile_gates(
    checks: &[AwaitCheck],
    owner: &str,
    templates: &mut Templates,
    out: &mut Vec<Diagnostic>,
) -> Arc<[GateSpec]> {
    checks
        .iter()
        .enumerate()
        .filter_map(|(i, check)| compile_gate(check, &format!("await[{i}]"), templates, owner, out))
        .collect()
}

fn compile_gate(
    check: &AwaitCheck,
    at: &str,
    templates: &mut Templates,
    owner: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<GateSpec> {
    let (kind, sources): (GateKind, Vec<(&str, &str)>) = match check {
        AwaitCheck::Npm(text) => (GateKind::Npm, vec![("npm", text)]),
        AwaitCheck::Pypi(text) => (GateKind::Pypi, vec![("pypi", text)]),
        AwaitCheck::Crate(text) => (GateKind::Crate, vec![("crate", text)]),
        AwaitCheck::Oci(text) => (GateKind::Oci, vec![("oci", text)]),
        AwaitCheck::Url(text) => (GateKind::Url, vec![("url", text)]),
        AwaitCheck::Helm(helm) => (
            GateKind::Helm,
            vec![
                ("helm.repo", &helm.repo),
                ("helm.chart", &helm.chart),
                ("helm.version", &helm.version),
            ],
        ),
        AwaitCheck::GithubRelease(release) => {
            let mut parts = vec![
                ("github_release.repository", release.repository.as_str()),
                ("github_release.tag", release.tag.as_str()),
            ];
            if let Some(asset) = &release.asset {
                parts.push(("github_release.asset", asset));
            }
            (GateKind::GithubRelease, parts)
        }
    };
    let mut texts = Vec::with_capacity(sources.len());
    for (key, source) in sources {
        let name = join(at, key);
        match templates.text(&name, source) {
            Ok(text) => texts.push(text),
            Err(problem) => {
                let help = problem.help.unwrap_or_else(|| {
                    "templates use Handlebars syntax, e.g. `{{version}}`".to_owned()
                });
                out.push(
                    Diagnostic::error(Code::Template, join(owner, &name), problem.message)
                        .with_help(help),
                );
            }
        }
    }
    let path = join(at, kind.as_str());
    let whole = texts.len() == check_parts(check);
    whole.then_some(GateSpec { kind, path, texts })
}

fn check_parts(check: &AwaitCheck) -> usize {
    match check {
        AwaitCheck::Helm(_) => 3,
        AwaitCheck::GithubRelease(release) => 2 + usize::from(release.asset.is_some()),
        _ => 1,
    }
}

/// The file's `registries:`, checked; a URL or variable with a problem (said) is left out.
pub(crate) fn compile_registries(file: &Registries, out: &mut Vec<Diagnostic>) -> RegistrySpecs {
    let one = |registry: &Option<Registry>, key: &str, out: &mut Vec<Diagnostic>| {
        registry
            .as_ref()
            .map(|r| registry_spec(r, &join("registries", key), out))
            .unwrap_or_default()
    };
    RegistrySpecs {
        npm: one(&file.npm, "npm", out),
        pypi: one(&file.pypi, "pypi", out),
        crate_: one(&file.crate_, "crate", out),
        oci: one(&file.oci, "oci", out),
        helm: one(&file.helm, "helm", out),
        github_release: one(&file.github_release, "github_release", out),
        url: one(&file.url, "url", out),
    }
}

fn registry_spec(registry: &Registry, path: &str, out: &mut Vec<Diagnostic>) -> RegistrySpec {
    let url = registry.url.as_deref().and_then(|text| {
        let at = join(path, "url");
        if let Some(why) = url_problem(text) {
            out.push(
                Diagnostic::error(Code::InvalidUrl, at, why)
                    .with_help("write the registry's base URL, e.g. `https://registry.npmjs.org`"),
            );
            return None;
        }
        url::Url::parse(text.trim_end_matches('/')).ok()
    });
    let token_env = registry
        .token_env
        .as_deref()
        .and_then(|name| check_token_env(name, &join(path, "token_env"), out));
    RegistrySpec { url, token_env }
}

impl GateSpec {
    /// The check as written, for `validate`: `npm @vfarcic/dot-ai@{{version}}` (each text
    /// through [`crate::diagnostic::shown`], so a control character in the file is escaped).
    pub fn written(&self, templates: &Templates) -> String {
        let texts: Vec<String> = self
            .texts
            .iter()
            .map(|text| match text {
                Text::Literal(s) => crate::diagnostic::shown(s),
                Text::Template { .. } => templates
                    .source_of(text)
                    .map(|(source, _)| crate::diagnostic::shown(source))
                    .unwrap_or_default(),
            })
            .collect();
        format!("{} {}", self.kind.as_str(), texts.join(" "))
    }
}

/// Every source's and target's checks as written (key path, checks), for `validate`.
pub fn written(config: &super::Config) -> Vec<(String, Vec<String>)> {
    let sources = config
        .sources
        .iter()
        .map(|(name, s)| (join("sources", name), &s.gates));
    let targets = config
        .targets
        .iter()
        .map(|(name, t)| (join("targets", name), &t.gates));
    sources
        .chain(targets)
        .filter(|(_, gates)| !gates.is_empty())
        .map(|(path, gates)| {
            let each = gates.iter().map(|g| g.written(&config.templates)).collect();
            (path, each)
        })
        .collect()
}
