//! What can go wrong authenticating as a GitHub App, each with a hint in the terms of the App's
//! settings page. GitHub's answers are read by the dispatcher's [`classify`] (rate limits,
//! `Retry-After`, 5xx), with App-specific hints in place of its token hints.

use super::KeyOrigin;
use crate::config::model::TargetKind;
use crate::config::Repo;
use crate::github::classify::{classify, Answer, Failure, Retry, Subject};
use std::fmt;
use std::path::PathBuf;

/// The request to GitHub that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GET /repos/{owner}/{repo}/installation`.
    InstallationLookup,
    /// `POST /app/installations/{id}/access_tokens`.
    TokenRequest,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::InstallationLookup => "find its installation on",
            Step::TokenRequest => "get an installation token for",
        })
    }
}

/// No variant holds a key, a JWT or a token, so `Debug` and `Display` are safe to print.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthError {
    #[error("the GitHub App private key variable `{name}` is not set")]
    KeyEnvUnset { name: String },
    #[error("cannot read the GitHub App private key file `{}`: {reason}", path.display())]
    KeyFileUnreadable { path: PathBuf, reason: String },
    #[error("the GitHub App private key in {origin} is unusable: {problem}")]
    KeyInvalid { origin: KeyOrigin, problem: String },
    #[error("the GitHub App id {problem}")]
    AppIdInvalid { problem: String },
    #[error("could not sign the GitHub App's JWT")]
    Signing,
    #[error("{repository} was not registered for GitHub App authentication")]
    NotRegistered { repository: String },
    #[error(
        "{repository} is registered twice for GitHub App authentication, with different settings"
    )]
    Conflict { repository: String },
    /// GitHub answered with an error, or did not answer.
    #[error("GitHub App `{app_id}` could not {step} {repository}: {}", failure.reason)]
    Api {
        app_id: String,
        step: Step,
        repository: String,
        /// Boxed: a `Failure` would make every `Result<_, AuthError>` large.
        failure: Box<Failure>,
    },
}

impl AuthError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            AuthError::KeyEnvUnset { name } => format!(
                "set `{name}` to the whole private key (.pem) file of the App, e.g. `{name}: ${{{{ secrets.{name} }}}}` in the step's env"
            ),
            AuthError::KeyFileUnreadable { .. } => {
                "check `private_key_file`; it must name the App's private key (.pem) file".to_owned()
            }
            AuthError::KeyInvalid { .. } => "use the .pem file from the App's settings (General → Private keys → Generate a private key), whole and unencrypted".to_owned(),
            AuthError::AppIdInvalid { .. } => {
                "use the App ID or Client ID shown on the App's settings page".to_owned()
            }
            AuthError::Api { failure, .. } => return failure.hint.clone(),
            AuthError::Signing | AuthError::NotRegistered { .. } | AuthError::Conflict { .. } => {
                return None
            }
        })
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            AuthError::Api { failure, .. } => failure.http_status,
            _ => None,
        }
    }

    /// Whether trying again later can help; only GitHub's answers can be transient.
    pub fn retry(&self) -> Retry {
        match self {
            AuthError::Api { failure, .. } => failure.retry,
            _ => Retry::Never,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.retry() != Retry::Never
    }

    /// The error as a target's failed attempt, for the dispatcher's retry loop and report.
    pub fn to_failure(&self) -> Failure {
        Failure {
            http_status: self.http_status(),
            reason: self.to_string(),
            hint: self.hint(),
            retry: self.retry(),
        }
    }
}

/// The facts about a request that its hints name.
pub(super) struct Request<'a> {
    pub step: Step,
    pub app_id: &'a str,
    pub repository: &'a Repo,
    pub installation: Option<u64>,
    /// The repository names the token was to be narrowed to.
    pub repositories: &'a [String],
}

/// A non-2xx answer to an App request, as a failure with an App-specific hint.
pub(super) fn rejected(request: &Request<'_>, answer: &Answer<'_>) -> Failure {
    let repository = request.repository.to_string();
    let subject = Subject {
        kind: TargetKind::default(),
        repository: &repository,
        token_env: "",
    };
    let mut failure = match classify(answer, &subject) {
        Err(failure) => failure,
        Ok(status) => Failure {
            http_status: Some(status),
            reason: format!("unexpected answer {status}"),
            hint: None,
            retry: Retry::Never,
        },
    };
    if matches!(failure.retry, Retry::RateLimited { .. }) {
        return failure;
    }
    let installation = request
        .installation
        .map_or_else(|| "?".to_owned(), |id| id.to_string());
    let hint = match (answer.status, request.step) {
        (401, _) => Some(format!(
            "GitHub did not accept the App's JWT: the App's private key or app id (`{}`) is wrong, or this machine's clock is off by more than a minute",
            request.app_id
        )),
        (403, _) => Some(
            "GitHub refused the App: its installation may be suspended, or the App lacks a permission this needs (see the App's settings, Permissions)"
                .to_owned(),
        ),
        (404, Step::InstallationLookup) => Some(format!(
            "the App is not installed on {repository}: install it on `{}` with access to {repository} (or add {repository} to the installation's selected repositories)",
            request.repository.owner
        )),
        (404, Step::TokenRequest) => Some(format!(
            "installation {installation} does not exist or belongs to another App: check `installation_id`, or leave it out to look it up from the repository"
        )),
        (422, Step::TokenRequest) => Some(format!(
            "GitHub would not narrow the token to {}: each must be a repository installation {installation} can access; add the missing ones to the installation or check `installation_id`",
            request.repositories.join(", ")
        )),
        _ => failure.hint.take(),
    };
    failure.hint = hint;
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(step: Step) -> (Repo, Vec<String>, Step) {
        let repo = Repo {
            owner: "acme".to_owned(),
            name: "web".to_owned(),
        };
        (repo, vec!["web".to_owned(), "docs".to_owned()], step)
    }

    fn hint_for(step: Step, status: u16, body: &str) -> Failure {
        let (repo, names, step) = request(step);
        let request = Request {
            step,
            app_id: "42",
            repository: &repo,
            installation: Some(7),
            repositories: &names,
        };
        let answer = Answer {
            status,
            body,
            ..Answer::default()
        };
        rejected(&request, &answer)
    }

    #[test]
    fn hints_name_the_app_setting_to_fix() {
        use Step::{InstallationLookup as Lookup, TokenRequest as Token};
        let cases: &[(Step, u16, &str, &str, Retry)] = &[
            (
                Lookup,
                401,
                r#"{"message":"A JSON web token could not be decoded"}"#,
                "the App's private key or app id (`42`) is wrong",
                Retry::Never,
            ),
            (
                Token,
                401,
                r#"{"message":"Bad credentials"}"#,
                "private key or app id",
                Retry::Never,
            ),
            (
                Lookup,
                404,
                r#"{"message":"Not Found"}"#,
                "the App is not installed on acme/web",
                Retry::Never,
            ),
            (
                Token,
                404,
                r#"{"message":"Not Found"}"#,
                "installation 7 does not exist",
                Retry::Never,
            ),
            (
                Token,
                422,
                r#"{"message":"There is at least one repository that does not exist or is not accessible to the parent installation."}"#,
                "narrow the token to web, docs",
                Retry::Never,
            ),
            (
                Token,
                403,
                r#"{"message":"This installation has been suspended"}"#,
                "suspended",
                Retry::Never,
            ),
            (
                Token,
                403,
                r#"{"message":"You have exceeded a secondary rate limit."}"#,
                "rate-limiting",
                Retry::RateLimited { wait: None },
            ),
            (Token, 502, "", "server error", Retry::Later { after: None }),
        ];
        for (step, status, body, hint, retry) in cases {
            let failure = hint_for(*step, *status, body);
            let got = failure.hint.clone().unwrap_or_default();
            assert!(got.contains(hint), "{status} {step}: {got}");
            assert_eq!(failure.retry, *retry, "{status} {step}");
            assert_eq!(failure.http_status, Some(*status));
        }
    }

    #[test]
    fn api_errors_read_as_one_sentence() {
        let error = AuthError::Api {
            app_id: "42".to_owned(),
            step: Step::InstallationLookup,
            repository: "acme/web".to_owned(),
            failure: Box::new(hint_for(
                Step::InstallationLookup,
                404,
                r#"{"message":"Not Found"}"#,
            )),
        };
        assert_eq!(
            error.to_string(),
            "GitHub App `42` could not find its installation on acme/web: 404 Not Found: Not Found"
        );
        let failure = error.to_failure();
        assert_eq!(failure.http_status, Some(404));
        assert_eq!(failure.retry, Retry::Never);
        assert!(failure.hint.unwrap_or_default().contains("not installed"));
    }

    #[test]
    fn key_errors_are_permanent_and_have_hints() {
        let error = AuthError::KeyEnvUnset {
            name: "APP_KEY".to_owned(),
        };
        assert!(!error.is_transient());
        assert!(error
            .hint()
            .unwrap_or_default()
            .contains("`APP_KEY: ${{ secrets.APP_KEY }}`"));
    }
}
