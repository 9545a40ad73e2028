//! The release being fanned out: which source, which version, and what the CI run says.

use indexmap::IndexMap;
use serde::Serialize;

/// A released version as given on the command line, with its semver reading when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Exactly what the user passed, e.g. `v1.2.3`.
    pub tag: String,
    /// The version without a leading `v`, e.g. `1.2.3`: what `{{version}}` renders.
    pub text: String,
    /// `None` for versions that are not semver (e.g. `2024-05`): they can still be sent, but
    /// `major`/`minor`/... are not available to templates and `when.version` cannot apply.
    pub semver: Option<semver::Version>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VersionError {
    #[error("the version is empty")]
    Empty,
    #[error("the version `{0}` contains whitespace or control characters")]
    BadCharacters(String),
    #[error("the version is longer than 100 characters")]
    TooLong,
}

impl Version {
    pub fn parse(tag: &str) -> Result<Version, VersionError> {
        if tag.is_empty() {
            return Err(VersionError::Empty);
        }
        if tag.len() > 100 {
            return Err(VersionError::TooLong);
        }
        if tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(VersionError::BadCharacters(tag.escape_debug().to_string()));
        }
        // Tags are usually `v1.2.3`; the version inside is what downstream repos want.
        let text = match tag.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => tag,
        };
        Ok(Version {
            tag: tag.to_owned(),
            text: text.to_owned(),
            semver: semver::Version::parse(text).ok(),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        self.semver.as_ref().is_some_and(|v| !v.pre.is_empty())
    }
}

/// What GitHub Actions says about the run that is making the release, when it is one.
/// Read from the environment at the edge and handed in, so templates never see the
/// environment itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CiContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
}

impl CiContext {
    /// Reads the GitHub Actions variables through `var` (the process environment in `main`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> CiContext {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let server_url = get("GITHUB_SERVER_URL");
        let repository = get("GITHUB_REPOSITORY");
        let run_id = get("GITHUB_RUN_ID");
        let run_url = match (&server_url, &repository, &run_id) {
            (Some(server), Some(repo), Some(id)) => {
                Some(format!("{server}/{repo}/actions/runs/{id}"))
            }
            _ => None,
        };
        CiContext {
            sha: get("GITHUB_SHA"),
            run_id,
            run_attempt: get("GITHUB_RUN_ATTEMPT"),
            run_url,
            server_url,
            repository,
            git_ref: get("GITHUB_REF"),
            actor: get("GITHUB_ACTOR"),
            workflow: get("GITHUB_WORKFLOW"),
        }
    }

    /// Plausible values for every field, so `validate` can render templates that use them.
    pub fn sample() -> CiContext {
        CiContext::from_vars(|name| {
            let value = match name {
                "GITHUB_SHA" => "0123456789abcdef0123456789abcdef01234567",
                "GITHUB_RUN_ID" => "1234567890",
                "GITHUB_RUN_ATTEMPT" => "1",
                "GITHUB_SERVER_URL" => "https://github.com",
                "GITHUB_REPOSITORY" => "owner/repo",
                "GITHUB_REF" => "refs/tags/v1.2.3",
                "GITHUB_ACTOR" => "octocat",
                "GITHUB_WORKFLOW" => "release",
                _ => return None,
            };
            Some(value.to_owned())
        })
    }
}

/// Everything about one release that the plan needs besides the configuration.
#[derive(Debug, Clone)]
pub struct Release {
    /// The source's name or repository, as given with `--source`.
    pub source: String,
    pub version: Version,
    /// Values from `--set key=value`, offered to templates as `{{vars.key}}`.
    pub vars: IndexMap<String, String>,
    pub ci: CiContext,
    /// The files changed since the previous release, when a target's `when.changed` needs them
    /// (loaded from git at the edge).
    pub changes: Option<crate::changes::ChangeSet>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_a_leading_v_and_reads_semver_parts() {
        let v = Version::parse("v1.2.3-rc.1").unwrap();
        assert_eq!(v.tag, "v1.2.3-rc.1");
        assert_eq!(v.text, "1.2.3-rc.1");
        assert!(v.is_prerelease());
        assert_eq!(v.semver.unwrap().minor, 2);
    }

    #[test]
    fn keeps_non_semver_versions_without_parts() {
        let v = Version::parse("2024-05").unwrap();
        assert_eq!(v.text, "2024-05");
        assert!(v.semver.is_none());
        assert!(!v.is_prerelease());
    }

    #[test]
    fn rejects_empty_and_whitespace_versions() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        assert!(matches!(
            Version::parse("1.2.3\n"),
            Err(VersionError::BadCharacters(_))
        ));
    }

    #[test]
    fn ci_run_url_is_built_only_from_complete_parts() {
        let ci = CiContext::from_vars(|n| match n {
            "GITHUB_SERVER_URL" => Some("https://github.com".into()),
            "GITHUB_REPOSITORY" => Some("o/r".into()),
            "GITHUB_RUN_ID" => Some("42".into()),
            _ => None,
        });
        assert_eq!(
            ci.run_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        assert_eq!(CiContext::from_vars(|_| None).run_url, None);
    }
}
