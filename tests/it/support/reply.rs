//! What `FakeGitHub` answers: a `Reply` per request, and per route a `Script` of replies.
//!
//! The canned constructors copy GitHub's real status codes, bodies and headers, so the client
//! under test meets the same shapes it will meet in production.

use serde_json::{json, Value};
use std::time::Duration;

/// Where GitHub points error bodies for the dispatch endpoint.
pub const DISPATCH_DOCS_URL: &str =
    "https://docs.github.com/rest/repos/repos#create-a-repository-dispatch-event";
const REST_DOCS_URL: &str = "https://docs.github.com/rest";
const SECONDARY_DOCS_URL: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";
const PRIMARY_DOCS_URL: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit";
pub const SECONDARY_RATE_LIMIT_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID C0DE:7E57:1A2B3C:4D5E6F:65F0A1B2.";

/// How the connection is treated once the request has been read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Respond,
    /// Abortive close: SO_LINGER 0, so the kernel sends RST instead of FIN.
    Reset,
    /// Say nothing for this long, then close normally.
    Hang(Duration),
}

/// One answer to one request. Build with `Reply::status(..)` or a canned GitHub constructor.
#[derive(Clone, Debug)]
pub struct Reply {
    pub(super) action: Action,
    pub(super) status: u16,
    /// Set by the test; each one replaces the server's default header of the same name.
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    /// How long the answer waits before it goes (none when `None`).
    pub(super) delay: Option<Duration>,
    /// Whether the answer waits for `FakeGitHub::release_answers`.
    pub(super) held: bool,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            action: Action::Respond,
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: None,
            held: false,
        }
    }

    /// Adds a header; it overrides the server's default of the same name (case-insensitive),
    /// which is how a test sends its own `x-ratelimit-*`, `content-length` or `connection`.
    pub fn header(mut self, name: &str, value: impl ToString) -> Self {
        self.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = body.to_string().into_bytes();
        self
    }

    /// A raw body, sent as is (still labelled JSON unless a `content-type` header is set).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into().into_bytes();
        self
    }

    /// Holds the request this long before acting on it.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Holds this answer until the test calls `FakeGitHub::release_answers` (at once if it
    /// already has): "answer when the client has shown it took the earlier answer", not
    /// "answer after a while".
    pub fn held(mut self) -> Self {
        self.held = true;
        self
    }

    /// Reads the request, then resets the connection (the client sees ECONNRESET).
    pub fn reset() -> Self {
        Self {
            action: Action::Reset,
            ..Self::status(0)
        }
    }

    /// Reads the request, sends nothing for `duration`, then closes the connection.
    pub fn hang(duration: Duration) -> Self {
        Self {
            action: Action::Hang(duration),
            ..Self::status(0)
        }
    }

    /// 204, GitHub's answer to an accepted dispatch.
    pub fn no_content() -> Self {
        Self::status(204)
    }

    pub fn not_found() -> Self {
        Self::github_error(404, "Not Found", DISPATCH_DOCS_URL)
    }

    pub fn bad_credentials() -> Self {
        Self::github_error(401, "Bad credentials", REST_DOCS_URL)
    }

    pub fn validation_failed(message: &str) -> Self {
        Self::github_error(422, message, DISPATCH_DOCS_URL)
    }

    /// A fine-grained token without `contents: write` on the target repository.
    pub fn forbidden_not_accessible() -> Self {
        Self::github_error(
            403,
            "Resource not accessible by personal access token",
            DISPATCH_DOCS_URL,
        )
        .header("x-accepted-github-permissions", "contents=write")
    }

    /// GitHub's secondary ("abuse") limit; the primary rate-limit headers stay normal.
    pub fn secondary_rate_limit() -> Self {
        Self::github_error(403, SECONDARY_RATE_LIMIT_MESSAGE, SECONDARY_DOCS_URL)
    }

    /// The primary limit is used up until `reset_epoch_secs` (Unix seconds).
    pub fn primary_rate_limited(reset_epoch_secs: u64) -> Self {
        Self::github_error(
            403,
            "API rate limit exceeded for user ID 1.",
            PRIMARY_DOCS_URL,
        )
        .header("x-ratelimit-limit", 5000)
        .header("x-ratelimit-remaining", 0)
        .header("x-ratelimit-used", 5000)
        .header("x-ratelimit-reset", reset_epoch_secs)
        .header("x-ratelimit-resource", "core")
    }

    /// 429 with `retry-after`, the other status GitHub uses for secondary limits.
    pub fn too_many(retry_after_secs: u64) -> Self {
        Self::github_error(429, SECONDARY_RATE_LIMIT_MESSAGE, SECONDARY_DOCS_URL)
            .header("retry-after", retry_after_secs)
    }

    /// A 5xx with the JSON body GitHub's API front end sends.
    pub fn server_error(status: u16) -> Self {
        Self::github_error(status, super::http::reason(status), REST_DOCS_URL)
    }

    fn github_error(status: u16, message: &str, documentation_url: &str) -> Self {
        Self::status(status).json(json!({
            "message": message,
            "documentation_url": documentation_url,
            "status": status.to_string(),
        }))
    }
}

/// Replies for successive requests to one route; the last one repeats forever.
#[derive(Clone, Debug)]
pub struct Script {
    steps: Vec<Reply>,
}

impl Script {
    /// Panics on an empty script: a route must answer something.
    pub fn new(steps: impl IntoIterator<Item = Reply>) -> Self {
        let steps: Vec<Reply> = steps.into_iter().collect();
        assert!(!steps.is_empty(), "a Script needs at least one Reply");
        Self { steps }
    }

    pub fn then(mut self, reply: Reply) -> Self {
        self.steps.push(reply);
        self
    }

    /// The reply for the `index`-th request (0-based) to the route.
    pub(super) fn step(&self, index: usize) -> &Reply {
        &self.steps[index.min(self.steps.len() - 1)]
    }
}

impl From<Reply> for Script {
    fn from(reply: Reply) -> Self {
        Self::new([reply])
    }
}

impl From<Vec<Reply>> for Script {
    fn from(steps: Vec<Reply>) -> Self {
        Self::new(steps)
    }
}

impl<const N: usize> From<[Reply; N]> for Script {
    fn from(steps: [Reply; N]) -> Self {
        Self::new(steps)
    }
}
