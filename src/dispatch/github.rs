//! The GitHub REST client: one shared connection pool, requests exactly as GitHub documents
//! them (`Accept`, `X-GitHub-Api-Version`, `User-Agent`, `Authorization: Bearer`).

use super::classify::{classify, transport_failure, Answer, Failure, Subject};
use super::{Attempt, Sender};
use crate::plan::Job;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;

/// `orchestrator/<version>`: GitHub rejects requests without a User-Agent and asks that it
/// name the application.
pub const USER_AGENT: &str = concat!("orchestrator/", env!("CARGO_PKG_VERSION"));
pub const ACCEPT_GITHUB_JSON: &str = "application/vnd.github+json";
/// Error bodies are kept for messages, up to this much.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub struct GitHub {
    client: reqwest::Client,
}

impl GitHub {
    pub fn new() -> Result<GitHub, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            // GitHub answers a renamed repository with a redirect; follow a few, never loop.
            .redirect(reqwest::redirect::Policy::limited(3))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(GitHub { client })
    }

    async fn try_send(&self, job: &Job) -> Result<u16, Failure> {
        let mut request = self
            .client
            .post(&job.url)
            .header(ACCEPT, ACCEPT_GITHUB_JSON)
            .header("X-GitHub-Api-Version", &job.api_version)
            .header(CONTENT_TYPE, "application/json")
            .timeout(job.timeout)
            .body(job.encoded.clone());
        if let Some(token) = &job.token {
            // The plan only admits tokens of visible ASCII, which always make a valid header.
            if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        let subject = Subject {
            repository: &job.repository.to_string(),
            token_env: &job.token_env,
        };
        let response = request.send().await.map_err(|err| transport(job, &err))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(status);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let accepted = header("x-accepted-github-permissions");
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset");
        let retry_after = header("retry-after");
        let body = read_limited(response).await;
        let answer = Answer {
            status,
            accepted_permissions: accepted.as_deref(),
            ratelimit_remaining: remaining.as_deref(),
            ratelimit_reset: reset.as_deref(),
            retry_after: retry_after.as_deref(),
            body: &body,
            now_epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        classify(&answer, &subject)
    }
}

impl Sender for GitHub {
    async fn send(&self, job: &Job) -> Attempt {
        match self.try_send(job).await {
            Ok(http_status) => Attempt::Delivered { http_status },
            Err(mut failure) => {
                // A server may echo the request, headers included; the token must not survive.
                if let Some(token) = &job.token {
                    failure.reason = token.redact(&failure.reason);
                    failure.hint = failure.hint.map(|h| token.redact(&h));
                }
                Attempt::Failed(failure)
            }
        }
    }
}

fn transport(job: &Job, err: &reqwest::Error) -> Failure {
    // The chain of sources says what really happened (refused, reset, DNS); reqwest's own
    // top-level text is only "error sending request".
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    transport_failure(err.is_timeout(), &detail, job.timeout.as_secs())
}

async fn read_limited(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}
