//! Reading an HTTP answer once into what classification needs, shared by every request to
//! GitHub (dispatches, run polls, App token minting).

use super::classify::{transport_failure, Answer, Failure};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A response, read: its status, the headers that decide retries and hints, and its body
/// (bounded).
pub struct Answered {
    pub status: u16,
    accepted_permissions: Option<String>,
    ratelimit_remaining: Option<String>,
    ratelimit_reset: Option<String>,
    retry_after: Option<String>,
    pub body: String,
}

impl Answered {
    /// Reads at most `max_body` bytes of the body.
    pub async fn read(response: reqwest::Response, max_body: usize) -> Answered {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut answered = Answered {
            status: response.status().as_u16(),
            accepted_permissions: header("x-accepted-github-permissions"),
            ratelimit_remaining: header("x-ratelimit-remaining"),
            ratelimit_reset: header("x-ratelimit-reset"),
            retry_after: header("retry-after"),
            body: String::new(),
        };
        // Read past the limit by the longest secret, so that whatever is shown of the body is
        // redacted with every secret whole before it is cut to the limit.
        answered.body =
            read_limited(response, max_body.saturating_add(crate::secret::longest())).await;
        answered
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The facts for [`super::classify::classify`], as of `now`.
    pub fn answer(&self, now: SystemTime) -> Answer<'_> {
        Answer {
            status: self.status,
            accepted_permissions: self.accepted_permissions.as_deref(),
            ratelimit_remaining: self.ratelimit_remaining.as_deref(),
            ratelimit_reset: self.ratelimit_reset.as_deref(),
            retry_after: self.retry_after.as_deref(),
            body: &self.body,
            now_epoch: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        }
    }
}

/// A request that got no HTTP answer at all. The chain of sources says what really happened
/// (refused, reset, DNS); reqwest's own top-level text names the URL, which may be a secret
/// (a webhook's), so only the kind of error is taken from it.
pub fn transport(err: &reqwest::Error, timeout: Duration) -> Failure {
    let mut detail = if err.is_timeout() {
        "operation timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "error sending request"
    }
    .to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    // Lower layers quote what the peer sent (a malformed header, say): show it as server text.
    let detail = crate::untrusted::shown(&detail, 500);
    transport_failure(err.is_timeout(), &detail, timeout.as_secs())
}

async fn read_limited(mut response: reqwest::Response, max: usize) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = max.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}
