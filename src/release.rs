//! The release being fanned out: which source, which version, and what the CI run says.

pub use crate::version::{Version, VersionError};
use indexmap::IndexMap;
use serde::Serialize;

/// Each `ci.*` variable and the GitHub Actions variables it is read from.
pub const CI_SOURCES: &[(&str, &str)] = &[
    ("sha", "GITHUB_SHA"),
    ("run_id", "GITHUB_RUN_ID"),
    ("run_attempt", "GITHUB_RUN_ATTEMPT"),
    (
        "run_url",
        "GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID",
    ),
    ("server_url", "GITHUB_SERVER_URL"),
    ("repository", "GITHUB_REPOSITORY"),
    ("ref", "GITHUB_REF"),
    ("actor", "GITHUB_ACTOR"),
    ("workflow", "GITHUB_WORKFLOW"),
];

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

    /// Each field with its name under `ci.`, in [`CI_SOURCES`]' order.
    fn fields_mut(&mut self) -> [(&'static str, &mut Option<String>); 9] {
        [
            ("sha", &mut self.sha),
            ("run_id", &mut self.run_id),
            ("run_attempt", &mut self.run_attempt),
            ("run_url", &mut self.run_url),
            ("server_url", &mut self.server_url),
            ("repository", &mut self.repository),
            ("ref", &mut self.git_ref),
            ("actor", &mut self.actor),
            ("workflow", &mut self.workflow),
        ]
    }

    /// For a dry run: every unset field holds a placeholder that says so (see
    /// [`placeholder`]), so a template that reads it can be previewed; also the placeholders
    /// put in, so the plan can say where one was used. A real run never sends one.
    pub fn with_placeholders(&self) -> (CiContext, Vec<String>) {
        let mut ci = self.clone();
        let mut used = Vec::new();
        for (field, value) in ci.fields_mut() {
            if value.is_none() {
                let text = placeholder(field);
                used.push(text.clone());
                *value = Some(text);
            }
        }
        (ci, used)
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

/// What a dry run shows for the unset `ci.<field>`: `<ci.sha: GITHUB_SHA unset>`.
pub fn placeholder(field: &str) -> String {
    let vars = CI_SOURCES
        .iter()
        .find(|(f, _)| *f == field)
        .map_or("its variable", |(_, vars)| vars);
    format!("<ci.{field}: {vars} unset>")
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

impl Release {
    /// A release of `source` for checking templates without a real one (`validate`,
    /// `receiver`, `init`): the sample CI context, no changed files.
    pub fn sample(
        source: impl Into<String>,
        version: &Version,
        vars: IndexMap<String, String>,
    ) -> Release {
        Release {
            source: source.into(),
            version: version.clone(),
            vars,
            ci: CiContext::sample(),
            changes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn placeholders_fill_only_what_is_unset_and_name_its_variable() {
        let ci = CiContext::from_vars(|n| (n == "GITHUB_ACTOR").then(|| "octocat".into()));
        let (preview, used) = ci.with_placeholders();
        assert_eq!(preview.sha.as_deref(), Some("<ci.sha: GITHUB_SHA unset>"));
        assert_eq!(preview.actor.as_deref(), Some("octocat"));
        assert_eq!(used.len(), 8);
    }
}
