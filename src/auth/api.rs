//! The two GitHub App endpoints, called with the App's JWT: the installation lookup and the
//! installation token request.

use super::error::{rejected, Request};
use crate::github::classify::{Failure, Retry};
use crate::github::outbound::{self, CHECK_API_URL, USER_AGENT};
use crate::github::response::Answered;
use crate::github::ACCEPT_GITHUB_JSON;
use crate::secret::Secret;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT as UA};
use serde::Deserialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Error bodies are kept for messages, up to this much.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// A token answer lists the repositories it covers, each in full; 500 of them stay well under.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Where and how to call.
pub(super) struct Endpoint<'a> {
    /// The run's one client, with [`outbound`]'s redirect policy.
    pub client: &'a reqwest::Client,
    /// Without a trailing slash.
    pub api_url: &'a str,
    pub api_version: &'a str,
    pub timeout: Duration,
    /// To turn `x-ratelimit-reset` into a wait.
    pub now: SystemTime,
}

/// A freshly minted installation token.
pub(super) struct Minted {
    pub token: Secret,
    /// `None` when GitHub's `expires_at` could not be read.
    pub expires_at: Option<SystemTime>,
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    expires_at: String,
}

/// `GET {api}/repos/{owner}/{repo}/installation`: the id of the App's installation that
/// covers the repository.
pub(super) async fn installation_id(
    endpoint: &Endpoint<'_>,
    jwt: &Secret,
    request: &Request<'_>,
) -> Result<u64, Failure> {
    let repo = request.repository;
    let url = format!(
        "{}/repos/{}/{}/installation",
        endpoint.api_url, repo.owner, repo.name
    );
    let (status, body) = send(endpoint, endpoint.client.get(url), jwt, request).await?;
    serde_json::from_slice::<Installation>(&body)
        .map(|installation| installation.id)
        .map_err(|_| malformed(status, "GitHub's answer has no installation `id`"))
}

/// `POST {api}/app/installations/{id}/access_tokens` with `{"repositories": [names]}`.
pub(super) async fn create_token(
    endpoint: &Endpoint<'_>,
    jwt: &Secret,
    installation: u64,
    request: &Request<'_>,
) -> Result<Minted, Failure> {
    let url = format!(
        "{}/app/installations/{installation}/access_tokens",
        endpoint.api_url
    );
    let body = serde_json::json!({ "repositories": request.repositories });
    let post = endpoint
        .client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string());
    let (status, body) = send(endpoint, post, jwt, request).await?;
    // serde's messages can quote values; none of them is shown, so the token cannot be either.
    let answer = serde_json::from_slice::<InstallationToken>(&body).map_err(|_| {
        malformed(
            status,
            "GitHub's answer lacks the `token` or `expires_at` of an installation token",
        )
    })?;
    // Checked before it is registered as a secret: the server chooses this value, and a
    // registered word (`delivered`, `true`, a target's name) would be masked in every output.
    if !is_token_shaped(&answer.token) {
        return Err(malformed(
            status,
            "GitHub's answer holds something that is not an installation token (20 to 255 letters, digits, `_`, `-` or `.`)",
        ));
    }
    let token = Secret::new(answer.token);
    Ok(Minted {
        token,
        expires_at: parse_timestamp(&answer.expires_at),
    })
}

/// What GitHub mints (`ghs_` and 36 characters; `v1.` and 40 hex digits before 2021), with
/// room for other servers: never short enough to be an ordinary word.
fn is_token_shaped(token: &str) -> bool {
    (20..=255).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Sends with GitHub's headers and the JWT; `Ok` holds a 2xx status and its body.
async fn send(
    endpoint: &Endpoint<'_>,
    builder: reqwest::RequestBuilder,
    jwt: &Secret,
    request: &Request<'_>,
) -> Result<(u16, Vec<u8>), Failure> {
    let mut builder = builder
        .header(ACCEPT, ACCEPT_GITHUB_JSON)
        .header("X-GitHub-Api-Version", endpoint.api_version)
        .header(UA, USER_AGENT)
        .timeout(endpoint.timeout);
    // A JWT is base64url and dots, which always make a valid header.
    if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", jwt.expose())) {
        value.set_sensitive(true);
        builder = builder.header(AUTHORIZATION, value);
    }
    let redact = |mut failure: Failure| {
        failure.reason = crate::secret::redact(&failure.reason);
        failure.hint = failure.hint.map(|hint| crate::secret::redact(&hint));
        failure
    };
    let response = outbound::send(builder, endpoint.timeout, CHECK_API_URL)
        .await
        .map_err(redact)?;
    // A token answer is small; an error body is kept for its message.
    let max = if response.status().is_success() {
        MAX_BODY
    } else {
        MAX_ERROR_BODY
    };
    let answered = Answered::read(response, max).await;
    if answered.is_success() {
        return Ok((answered.status, answered.body.into_bytes()));
    }
    Err(redact(rejected(request, &answered.answer(endpoint.now))))
}

fn malformed(status: u16, reason: &str) -> Failure {
    Failure {
        http_status: Some(status),
        reason: reason.to_owned(),
        hint: Some("check that `api_url` points at a GitHub API".to_owned()),
        retry: Retry::Never,
    }
}

/// An RFC 3339 time as GitHub writes it (`2016-07-11T22:14:10Z`; fractions and offsets are
/// accepted too), to the second; `None` for anything else or a time before 1970.
pub(super) fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let at: jiff::Timestamp = text.trim().parse().ok()?;
    let seconds = u64::try_from(at.as_second()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(text: &str) -> Option<u64> {
        parse_timestamp(text).and_then(|t| t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs()))
    }

    #[test]
    fn reads_githubs_expires_at() {
        assert_eq!(epoch("2016-07-11T22:14:10Z"), Some(1_468_275_250));
        assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch("2000-02-29T12:00:00Z"), Some(951_825_600));
        assert_eq!(epoch("2024-12-31T23:59:59Z"), Some(1_735_689_599));
    }

    #[test]
    fn reads_fractions_and_offsets() {
        assert_eq!(epoch("2016-07-11T22:14:10.123Z"), Some(1_468_275_250));
        assert_eq!(epoch("2016-07-12T00:14:10+02:00"), Some(1_468_275_250));
        assert_eq!(epoch("2016-07-11T21:14:10-01:00"), Some(1_468_275_250));
        assert_eq!(epoch("2016-07-12T00:14:10+0200"), Some(1_468_275_250));
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2016-07-11",
            "2016-07-11T22:14:10",
            "2016-13-11T22:14:10Z",
            "2016-07-11T25:14:10Z",
            "2016-07-11T22:14:10Zjunk",
            "20x6-07-11T22:14:10Z",
            "+016-07-11T22:14:10Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
