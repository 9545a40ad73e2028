//! The shape of `await:` (the published artifacts a target waits for before it is sent) and of
//! `registries:` (where each kind of artifact is looked up, and with which token), exactly as
//! a user writes them. Their doc comments are the schema's descriptions.

use super::values::{API_URL_PATTERN, ENV_NAME_PATTERN};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One artifact that must be published before the target is sent. Its text is a template
/// (`{{version}}`, `{{source.name}}`, ...), rendered for each release.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(title = "Published artifact")]
pub enum AwaitCheck {
    /// An npm package version, `NAME@VERSION`: e.g. `"@vfarcic/dot-ai@{{version}}"`.
    #[schemars(title = "npm package")]
    Npm(String),
    /// A PyPI release, `NAME==VERSION`: e.g. `"dot-ai=={{version}}"`.
    #[schemars(title = "PyPI release")]
    Pypi(String),
    /// A crates.io version, `NAME@VERSION`: e.g. `"dot-ai@{{version}}"`.
    #[schemars(title = "Crate version")]
    Crate(String),
    /// A container image in an OCI registry, `HOST/NAME:TAG` (or `HOST/NAME@sha256:...`):
    /// e.g. `"ghcr.io/vfarcic/dot-ai:{{version}}"`. Looked up with the registry's anonymous
    /// token flow (ghcr.io, Docker Hub).
    #[schemars(title = "Container image")]
    Oci(String),
    /// A chart version in a Helm repository's `index.yaml`.
    #[schemars(title = "Helm chart")]
    Helm(HelmCheck),
    /// A GitHub release by tag, and optionally one of its assets.
    #[schemars(title = "GitHub release")]
    GithubRelease(ReleaseCheck),
    /// Any URL that must answer a GET with 2xx (https; http for loopback only).
    #[schemars(title = "URL")]
    Url(String),
}

/// `helm:` in `await:`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Helm chart")]
pub struct HelmCheck {
    /// The chart repository's URL (its `index.yaml` is read from there), e.g.
    /// `https://vfarcic.github.io/dot-ai`.
    #[schemars(title = "Chart repository")]
    pub repo: String,
    /// The chart's name, e.g. `dot-ai`.
    #[schemars(title = "Chart", length(min = 1))]
    pub chart: String,
    /// The chart version that must be listed, e.g. `"{{version}}"`.
    #[schemars(title = "Chart version", length(min = 1))]
    pub version: String,
}

/// `github_release:` in `await:`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "GitHub release")]
pub struct ReleaseCheck {
    /// The repository, `owner/name`, e.g. `"{{source.repository}}"`.
    #[schemars(title = "Repository", length(min = 1))]
    pub repository: String,
    /// The release's tag, e.g. `"{{tag}}"`.
    #[schemars(title = "Tag", length(min = 1))]
    pub tag: String,
    /// An asset that must be attached to the release, e.g. `"dot-ai-linux-amd64.tar.gz"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Asset", length(min = 1))]
    pub asset: Option<String>,
}

/// Where each kind of `await:` check is looked up, and the token it carries. Every key is
/// optional: the public registries are the defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Registries")]
pub struct Registries {
    /// npm's registry. Default `https://registry.npmjs.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "npm registry")]
    pub npm: Option<Registry>,
    /// PyPI's JSON API. Default `https://pypi.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "PyPI")]
    pub pypi: Option<Registry>,
    /// The crates registry's API. Default `https://crates.io`.
    #[serde(rename = "crate", default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Crates registry")]
    pub crate_: Option<Registry>,
    /// An OCI registry that needs a token (or plain http on loopback): its `url` names the
    /// registry (`https://ghcr.io`); an image on that host is looked up there with the token as
    /// `Authorization: Bearer`. Images on other hosts are looked up anonymously, and the
    /// token server a registry names (`WWW-Authenticate: Bearer realm=...`) only ever gets
    /// anonymous token requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "OCI registry")]
    pub oci: Option<Registry>,
    /// A token for the Helm repositories named in `await:` (`url` is not used: each check
    /// names its repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Helm repositories")]
    pub helm: Option<Registry>,
    /// GitHub's API for `github_release` checks. Default: the target's `api_url`, with the
    /// target's token when it is a GitHub target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "GitHub releases")]
    pub github_release: Option<Registry>,
    /// A token for the URLs named in `await:` (`url` is not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "URLs")]
    pub url: Option<Registry>,
}

/// One registry: its base URL and the variable that holds its token.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Registry")]
pub struct Registry {
    /// The registry's base URL: https, or plain http for loopback addresses only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Base URL", pattern(API_URL_PATTERN))]
    pub url: Option<String>,
    /// Name of the environment variable that holds the registry's token, sent only to this
    /// registry. Only the name is ever written in files or printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Token variable", pattern(ENV_NAME_PATTERN))]
    pub token_env: Option<String>,
}
