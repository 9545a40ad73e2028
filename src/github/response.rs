//! Reading an HTTP answer once into what classification needs, shared by every request to
//! GitHub (dispatches, run polls, App token minting).

use super::classify::{transport_failure, Answer, Failure};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A response, read: its status, the headers that decide retries and hints, and its body
/// (bounded).
pub(crate) struct Answered {
    pub status: u16,
    accepted_permissions: Option<String>,
    ratelimit_limit: Option<String>,
    ratelimit_remaining: Option<String>,
    ratelimit_reset: Option<String>,
    ratelimit_used: Option<String>,
    retry_after: Option<String>,
    /// `github-authentication-token-expiration`: when the token that made the request expires
    /// (sent for tokens that expire: fine-grained and expiring classic PATs).
    pub token_expiration: Option<String>,
    /// `Link` (RFC 8288), every value joined with `, `: where a list's next page is.
    link: Option<String>,
    /// `WWW-Authenticate`: an OCI registry's token challenge.
    pub www_authenticate: Option<String>,
    pub body: String,
    /// The body was read to its end: neither cut at the cap nor broken off by the connection.
    /// What is built on a part of an answer is "cannot tell", not a verdict.
    pub whole: bool,
}

impl Answered {
    /// Reads at most `max_body` bytes of the body.
    pub(crate) async fn read(response: reqwest::Response, max_body: usize) -> Answered {
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
            ratelimit_limit: header("x-ratelimit-limit"),
            ratelimit_remaining: header("x-ratelimit-remaining"),
            ratelimit_reset: header("x-ratelimit-reset"),
            ratelimit_used: header("x-ratelimit-used"),
            retry_after: header("retry-after"),
            token_expiration: header("github-authentication-token-expiration"),
            link: joined(response.headers(), "link"),
            www_authenticate: header("www-authenticate"),
            body: String::new(),
            whole: false,
        };
        // Read past the limit by the longest secret, so that whatever is shown of the body is
        // redacted with every secret whole before it is cut to the limit.
        let (body, whole) =
            read_limited(response, max_body.saturating_add(crate::secret::longest())).await;
        answered.body = body;
        answered.whole = whole;
        answered
    }

    /// `x-accepted-github-permissions` (on 403/404): the fine-grained permissions the endpoint
    /// needs, e.g. `contents=read`.
    pub(crate) fn accepted_permissions(&self) -> Option<&str> {
        self.accepted_permissions
            .as_deref()
            .filter(|p| !p.is_empty())
    }

    /// The `Link` header (a list's pages), every value joined with `, `.
    pub(crate) fn link(&self) -> Option<&str> {
        self.link.as_deref()
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// GitHub's `x-ratelimit-*` headers, as sent.
    pub(crate) fn rate_limit(&self) -> RateLimitHeaders<'_> {
        RateLimitHeaders {
            limit: self.ratelimit_limit.as_deref(),
            remaining: self.ratelimit_remaining.as_deref(),
            reset: self.ratelimit_reset.as_deref(),
            used: self.ratelimit_used.as_deref(),
        }
    }

    /// How long `Retry-After` asks to wait from now (delta-seconds of any length, or an
    /// HTTP-date), when the server sent one that reads as either.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        let now = epoch_seconds(SystemTime::now());
        super::headers::retry_after(self.retry_after.as_deref()?, now)
    }

    /// The facts for [`super::classify::classify`], as of `now`.
    pub(crate) fn answer(&self, now: SystemTime) -> Answer<'_> {
        Answer {
            status: self.status,
            accepted_permissions: self.accepted_permissions.as_deref(),
            ratelimit_remaining: self.ratelimit_remaining.as_deref(),
            ratelimit_reset: self.ratelimit_reset.as_deref(),
            retry_after: self.retry_after.as_deref(),
            body: &self.body,
            now_epoch: epoch_seconds(now),
        }
    }
}

/// GitHub's `x-ratelimit-*` headers as sent, for [`super::headers::count`] to read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateLimitHeaders<'a> {
    /// `x-ratelimit-limit`: requests per window.
    pub limit: Option<&'a str>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<&'a str>,
    /// `x-ratelimit-reset`: when the window resets, in UTC epoch seconds.
    pub reset: Option<&'a str>,
    /// `x-ratelimit-used`.
    pub used: Option<&'a str>,
}

/// Whole seconds since the Unix epoch (0 for a clock set before it).
fn epoch_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Every value of a header that may repeat, joined with `, ` (RFC 9110 §5.3). A value that is
/// not visible ASCII is kept with its odd bytes replaced, not left out: a `Link` header left
/// out would make the first page look like the whole list.
fn joined(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    let values: Vec<std::borrow::Cow<'_, str>> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// A request that got no HTTP answer at all. The chain of sources says what really happened
/// (refused, reset, DNS); reqwest's own top-level text names the URL, which may be a secret
/// (a webhook's), so only the kind of error is taken from it.
pub(crate) fn transport(err: &reqwest::Error, timeout: Duration) -> Failure {
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
    transport_failure(err.is_timeout(), &detail, timeout)
}

/// When a token expires, as GitHub's `github-authentication-token-expiration` header says
/// (`2026-12-01 00:00:00 UTC`, or with a numeric offset such as `-0800`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenExpiry {
    /// Seconds since the Unix epoch.
    pub epoch: u64,
}

/// A token's expiry judged at a moment, with the days of warning asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryState {
    /// Expires later than the warning window (or never said).
    Valid,
    /// Expires within the window: in this many whole days (0: within a day).
    Expiring {
        days: u64,
    },
    Expired,
}

impl TokenExpiry {
    /// `None` for a value that is not a date and time GitHub would send, or is before 1970.
    pub fn parse(text: &str) -> Option<TokenExpiry> {
        let mut parts = text.split_whitespace();
        let (date, time, zone) = (parts.next()?, parts.next()?, parts.next());
        if parts.next().is_some() {
            return None;
        }
        let offset = match zone {
            None | Some("UTC" | "GMT" | "Z") => "Z",
            Some(offset) if offset.starts_with(['+', '-']) => offset,
            Some(_) => return None,
        };
        let at: jiff::Timestamp = format!("{date}T{time}{offset}").parse().ok()?;
        u64::try_from(at.as_second())
            .ok()
            .map(|epoch| TokenExpiry { epoch })
    }

    /// Expired, expiring within `warn_days` of `now_epoch`, or valid.
    pub fn state(self, now_epoch: u64, warn_days: u64) -> ExpiryState {
        if self.epoch <= now_epoch {
            return ExpiryState::Expired;
        }
        let left = self.epoch - now_epoch;
        if left <= warn_days.saturating_mul(86_400) {
            ExpiryState::Expiring {
                days: left / 86_400,
            }
        } else {
            ExpiryState::Valid
        }
    }

    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub fn shown(self) -> String {
        super::headers::utc(self.epoch)
            .strftime("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    }
}

/// The body up to `max` bytes, and whether that was all of it.
async fn read_limited(mut response: reqwest::Response, max: usize) -> (String, bool) {
    // Sized once from an honest Content-Length (never past the cap), and taken as the String
    // without a copy when it is UTF-8: an answer costs its size once, not three times.
    let expected = response.content_length().unwrap_or(0);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(max).min(max));
    let whole = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break false;
                }
            }
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    let body = String::from_utf8(body)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (body, whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_expiry_header_as_github_sends_it() {
        let utc = TokenExpiry::parse("2026-12-01 00:00:00 UTC").unwrap();
        assert_eq!(utc.epoch, 1_796_083_200);
        assert_eq!(utc.shown(), "2026-12-01 00:00:00 UTC");
        let offset = TokenExpiry::parse("2026-11-30 16:00:00 -0800").unwrap();
        assert_eq!(offset, utc);
        for bad in [
            "",
            "tomorrow",
            "2026-13-01 00:00:00 UTC",
            "2026-12-01",
            "2026-12-01 00:00:00 PST",
        ] {
            assert_eq!(TokenExpiry::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_expiry_is_judged_against_the_warning_window() {
        let expiry = TokenExpiry::parse("2026-12-01 00:00:00 UTC").unwrap();
        let day = 86_400;
        assert_eq!(
            expiry.state(expiry.epoch - 30 * day, 14),
            ExpiryState::Valid
        );
        assert_eq!(
            expiry.state(expiry.epoch - 14 * day, 14),
            ExpiryState::Expiring { days: 14 }
        );
        assert_eq!(
            expiry.state(expiry.epoch - 10, 14),
            ExpiryState::Expiring { days: 0 }
        );
        assert_eq!(expiry.state(expiry.epoch, 14), ExpiryState::Expired);
    }
}
