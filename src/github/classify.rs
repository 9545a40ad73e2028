//! What an HTTP answer from GitHub means for a target, as pure functions (tested in a table,
//! no server needed). The hints say what a user should do, in the terms GitHub's docs use.

use super::headers;
use crate::config::model::TargetKind;
use crate::untrusted;
use serde::Deserialize;

use std::time::Duration;

/// Why a request did not deliver, and whether trying again can help.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub http_status: Option<u16>,
    pub reason: String,
    pub hint: Option<String>,
    pub retry: Retry,
}

/// What a failed request says about trying again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// Permanent: the same request will fail the same way (401, 404, 422, a 403 that is not a
    /// rate limit).
    Never,
    /// Transient (5xx, network faults, timeouts): retry with backoff, and not sooner than
    /// `after` when the server said so (`Retry-After`).
    Later { after: Option<Duration> },
    /// GitHub's rate limit: every request on the same host and token must pause, for `wait`
    /// when GitHub said how long (`Retry-After`, or until `x-ratelimit-reset`). `None` is a
    /// secondary limit without a wait, where GitHub asks for at least a minute.
    RateLimited { wait: Option<Duration> },
}

impl Failure {
    pub fn is_transient(&self) -> bool {
        self.retry != Retry::Never
    }
}

/// The parts of a response that decide its meaning.
#[derive(Debug, Clone, Default)]
pub struct Answer<'a> {
    pub status: u16,
    /// `X-Accepted-GitHub-Permissions`: the permission GitHub wanted, when it says.
    pub accepted_permissions: Option<&'a str>,
    /// `X-RateLimit-Remaining`.
    pub ratelimit_remaining: Option<&'a str>,
    /// `X-RateLimit-Reset`: when the primary limit resets, in UTC epoch seconds.
    pub ratelimit_reset: Option<&'a str>,
    /// `Retry-After`: delta-seconds or an HTTP-date ([`headers::retry_after`]).
    pub retry_after: Option<&'a str>,
    pub body: &'a str,
    /// The current time in UTC epoch seconds, to turn `x-ratelimit-reset` and a `Retry-After`
    /// date into a wait.
    pub now_epoch: u64,
}

/// Facts about the target, for hints.
pub struct Subject<'a> {
    pub kind: crate::config::model::TargetKind,
    pub repository: &'a str,
    pub token_env: &'a str,
}

impl Subject<'_> {
    /// The permission a fine-grained token needs for this kind of request.
    fn permission(&self) -> &'static str {
        match self.kind {
            TargetKind::WorkflowDispatch => "Actions: write",
            _ => "Contents: write",
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// `Ok(status)` for success (any 2xx; GitHub answers 204), otherwise the failure.
pub fn classify(answer: &Answer<'_>, subject: &Subject<'_>) -> Result<u16, Failure> {
    let status = answer.status;
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let message = github_message(answer.body);
    let reason = match &message {
        Some(m) => format!("{status} {}: {m}", reason_phrase(status)),
        None => format!("{status} {}", reason_phrase(status)),
    };
    let retry_after = answer
        .retry_after
        .and_then(|v| headers::retry_after(v, answer.now_epoch));
    let rate_limited = matches!(status, 403 | 429) && is_rate_limit(answer, message.as_deref());
    let (hint, retry) = if rate_limited {
        let wait = retry_after.or_else(|| until_reset(answer));
        let hint = "GitHub is rate-limiting this token; every request to this host with it pauses";
        (Some(hint.to_owned()), Retry::RateLimited { wait })
    } else {
        match status {
            401 => (
                Some(format!(
                    "bad credentials: the token in `{}` is wrong, expired or revoked",
                    subject.token_env
                )),
                Retry::Never,
            ),
            403 => (Some(permission_hint(answer.accepted_permissions, subject)), Retry::Never),
            404 if subject.kind == TargetKind::Webhook => (
                Some("the webhook URL is wrong or the hook was deleted".to_owned()),
                Retry::Never,
            ),
            404 if subject.kind == TargetKind::WorkflowDispatch => (
                Some(format!(
                    "repository or workflow not found, or the token cannot see it: check `workflow`, and that the token in `{}` has `repo` scope (classic) or fine-grained Actions: write on {}",
                    subject.token_env, subject.repository
                )),
                Retry::Never,
            ),
            404 => (
                Some(format!(
                    "repository not found or the token cannot see it: the token in `{}` needs `repo` scope (classic) or fine-grained Contents: write on {}",
                    subject.token_env, subject.repository
                )),
                Retry::Never,
            ),
            422 => (
                Some("GitHub rejected the request body; see its message above".to_owned()),
                Retry::Never,
            ),
            // Followable redirects never get here (see `outbound`): this one had no usable
            // `Location`, or is not a redirect to follow at all (300, 304).
            300..=399 => (Some(unfollowed_redirect_hint(subject)), Retry::Never),
            429 => (
                Some("too many requests; wait and run again".to_owned()),
                Retry::Later { after: retry_after },
            ),
            500..=599 => (
                Some("GitHub had a server error; running again later usually works".to_owned()),
                Retry::Later { after: retry_after },
            ),
            _ => (None, Retry::Never),
        }
    };
    Err(Failure {
        http_status: Some(status),
        reason,
        hint,
        retry,
    })
}

/// With the primary limit spent, the wait is until its reset (plus a second, since the
/// header has one-second resolution). Saturating: the reset is the server's number, far past
/// or near `u64::MAX` alike.
fn until_reset(answer: &Answer<'_>) -> Option<Duration> {
    if !spent(answer) {
        return None;
    }
    let reset = headers::count(answer.ratelimit_reset?)?;
    Some(Duration::from_secs(
        reset.saturating_sub(answer.now_epoch).saturating_add(1),
    ))
}

/// A request that got no HTTP answer at all.
/// The hint of a request that got no answer (refused, reset, DNS): a sender of something else
/// than GitHub's API names its own setting instead.
pub(crate) const CHECK_NETWORK: &str = "check the network and `api_url`";

/// The hint of a request that got no answer within its timeout; a webhook's sender names the
/// webhook instead of GitHub.
pub(crate) const NO_ANSWER_IN_TIME: &str =
    "GitHub may be slow or unreachable; the event may or may not have been delivered";

pub fn transport_failure(timed_out: bool, detail: &str, timeout: Duration) -> Failure {
    if timed_out {
        Failure {
            http_status: None,
            reason: format!("no answer within {} s", crate::policy::shown_secs(timeout)),
            hint: Some(NO_ANSWER_IN_TIME.to_owned()),
            retry: Retry::Later { after: None },
        }
    } else {
        Failure {
            http_status: None,
            reason: format!("request failed: {detail}"),
            hint: Some(CHECK_NETWORK.to_owned()),
            retry: Retry::Later { after: None },
        }
    }
}

fn unfollowed_redirect_hint(subject: &Subject<'_>) -> String {
    let check = if subject.kind == TargetKind::Webhook {
        "the webhook's URL"
    } else {
        "`api_url`"
    };
    format!("an answer that redirects without a usable `Location` is not followed: check {check}")
}

fn permission_hint(accepted: Option<&str>, subject: &Subject<'_>) -> String {
    match accepted {
        // The header is server text: the runner would act on a `##[` in it.
        Some(perms) if !perms.is_empty() => format!(
            "the token in `{}` lacks a permission GitHub needs here: {}",
            subject.token_env,
            crate::untrusted::one_line(perms, 200)
        ),
        _ => format!(
            "the token in `{}` is not allowed to do this on {}: it needs `repo` scope (classic) or fine-grained {}",
            subject.token_env,
            subject.repository,
            subject.permission()
        ),
    }
}

/// `x-ratelimit-remaining` says nothing is left (`0`, however written).
fn spent(answer: &Answer<'_>) -> bool {
    answer.ratelimit_remaining.and_then(headers::count) == Some(0)
}

fn is_rate_limit(answer: &Answer<'_>, message: Option<&str>) -> bool {
    if spent(answer) {
        return true;
    }
    message.is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("rate limit") || m.contains("temporarily blocked from content creation")
    })
}

/// GitHub's `message`, with the field errors of a 422 appended; falls back to a short,
/// single-line excerpt of a non-JSON body. The whole body is redacted before anything is
/// taken from it or cut, and what is shown is neutralized ([`crate::untrusted`]).
fn github_message(body: &str) -> Option<String> {
    if let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) {
        let mut message = parsed.message?;
        let details: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| match e {
                serde_json::Value::String(s) => s.clone(),
                other => other
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| other.to_string()),
            })
            .collect();
        if !details.is_empty() {
            message.push_str(&format!(" ({})", details.join("; ")));
        }
        return Some(untrusted::shown(&message, MAX_MESSAGE_CHARS));
    }
    let excerpt = untrusted::excerpt(body, MAX_EXCERPT_CHARS);
    (!excerpt.is_empty()).then_some(excerpt)
}

/// GitHub's own messages are a sentence or two; more is not a message.
const MAX_MESSAGE_CHARS: usize = 1000;
/// A non-JSON body (an HTML error page) is shown as a short excerpt.
const MAX_EXCERPT_CHARS: usize = 200;

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBJECT: Subject<'static> = Subject {
        kind: TargetKind::RepositoryDispatch,
        repository: "o/web",
        token_env: "WEB_TOKEN",
    };

    fn answer(status: u16, body: &'static str) -> Answer<'static> {
        Answer {
            status,
            body,
            now_epoch: 1000,
            ..Answer::default()
        }
    }

    #[test]
    fn every_2xx_is_delivered() {
        assert_eq!(classify(&answer(204, ""), &SUBJECT), Ok(204));
        assert_eq!(classify(&answer(200, "{}"), &SUBJECT), Ok(200));
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "one table of cases, read whole")]
    fn table_of_failures() {
        let later = Retry::Later { after: None };
        let cases: &[(Answer<'static>, &str, &str, Retry)] = &[
            (
                answer(401, r#"{"message":"Bad credentials"}"#),
                "401 Unauthorized: Bad credentials",
                "bad credentials",
                Retry::Never,
            ),
            (
                answer(404, r#"{"message":"Not Found"}"#),
                "404 Not Found: Not Found",
                "needs `repo` scope (classic) or fine-grained Contents: write on o/web",
                Retry::Never,
            ),
            (
                answer(
                    422,
                    r#"{"message":"Invalid request.","errors":["No subschema in \"anyOf\" matched."]}"#,
                ),
                "422 Unprocessable Entity: Invalid request. (No subschema",
                "rejected the request body",
                Retry::Never,
            ),
            (
                Answer {
                    accepted_permissions: Some("contents=write"),
                    ..answer(
                        403,
                        r#"{"message":"Resource not accessible by personal access token"}"#,
                    )
                },
                "Resource not accessible",
                "lacks a permission GitHub needs here: contents=write",
                Retry::Never,
            ),
            (
                answer(
                    403,
                    r#"{"message":"You have exceeded a secondary rate limit."}"#,
                ),
                "secondary rate limit",
                "rate-limiting",
                Retry::RateLimited { wait: None },
            ),
            (
                answer(
                    403,
                    r#"{"message":"You have been temporarily blocked from content creation."}"#,
                ),
                "temporarily blocked",
                "rate-limiting",
                Retry::RateLimited { wait: None },
            ),
            (
                Answer {
                    retry_after: Some("7"),
                    ..answer(
                        403,
                        r#"{"message":"You have exceeded a secondary rate limit."}"#,
                    )
                },
                "secondary",
                "rate-limiting",
                Retry::RateLimited {
                    wait: Some(Duration::from_secs(7)),
                },
            ),
            (
                Answer {
                    ratelimit_remaining: Some("0"),
                    ratelimit_reset: Some("1030"),
                    ..answer(403, r#"{"message":"API rate limit exceeded"}"#)
                },
                "API rate limit",
                "rate-limiting",
                Retry::RateLimited {
                    wait: Some(Duration::from_secs(31)),
                },
            ),
            (
                Answer {
                    ratelimit_remaining: Some("0"),
                    ..answer(429, "")
                },
                "429 Too Many Requests",
                "rate-limiting",
                Retry::RateLimited { wait: None },
            ),
            (
                Answer {
                    retry_after: Some("1"),
                    ..answer(429, "")
                },
                "429 Too Many Requests",
                "too many requests",
                Retry::Later {
                    after: Some(Duration::from_secs(1)),
                },
            ),
            (
                answer(502, "<html>Bad gateway</html>"),
                "502 Bad Gateway: <html>Bad gateway</html>",
                "server error",
                later,
            ),
            (
                answer(503, ""),
                "503 Service Unavailable",
                "server error",
                later,
            ),
            (
                answer(302, ""),
                "302 Found",
                "redirects without a usable `Location` is not followed: check `api_url`",
                Retry::Never,
            ),
        ];
        for (answer, reason, hint, retry) in cases {
            let failure = classify(answer, &SUBJECT).unwrap_err();
            assert!(
                failure.reason.contains(reason),
                "{} vs {reason}",
                failure.reason
            );
            let got_hint = failure.hint.clone().unwrap_or_default();
            assert!(got_hint.contains(hint), "{got_hint} vs {hint}");
            assert_eq!(failure.retry, *retry, "{}", failure.reason);
            assert_eq!(failure.http_status, Some(answer.status));
        }
    }

    #[test]
    fn server_waits_of_any_size_are_read_without_overflow() {
        let limited = |retry_after, reset, now_epoch| Answer {
            retry_after,
            ratelimit_remaining: Some("0"),
            ratelimit_reset: reset,
            now_epoch,
            ..answer(403, r#"{"message":"API rate limit exceeded"}"#)
        };
        let wait = |a: &Answer<'_>| match classify(a, &SUBJECT).unwrap_err().retry {
            Retry::RateLimited { wait } => wait,
            other => panic!("{other:?}"),
        };
        let max = Some(Duration::from_secs(u64::MAX));
        assert_eq!(
            wait(&limited(Some("18446744073709551615"), None, 1000)),
            max
        );
        assert_eq!(wait(&limited(None, Some("18446744073709551615"), 0)), max);
        // a reset in the past: the header's one second of resolution
        assert_eq!(
            wait(&limited(None, Some("5"), 1000)),
            Some(Duration::from_secs(1))
        );
        // a number too large for u64 is the longest wait there is, for the deadline to judge
        assert_eq!(
            wait(&limited(Some("99999999999999999999999"), Some("x"), 1000)),
            max
        );
        assert_eq!(
            wait(&limited(None, Some("99999999999999999999999"), 0)),
            max
        );
        // a negative or garbled reset is no wait GitHub gave
        assert_eq!(wait(&limited(None, Some("-5"), 1000)), None);
        assert_eq!(wait(&limited(None, Some("1e9"), 1000)), None);
    }

    #[test]
    fn a_retry_after_date_is_the_time_until_it() {
        let unavailable = |retry_after| Answer {
            retry_after: Some(retry_after),
            now_epoch: 784_111_770, // 1994-11-06 08:49:30 UTC
            ..answer(503, "")
        };
        let after = |a: &Answer<'_>| match classify(a, &SUBJECT).unwrap_err().retry {
            Retry::Later { after } => after,
            other => panic!("{other:?}"),
        };
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                after(&unavailable(date)),
                Some(Duration::from_secs(7)),
                "{date}"
            );
        }
        let past = unavailable("Sat, 05 Nov 1994 08:49:37 GMT");
        assert_eq!(after(&past), Some(Duration::ZERO));
        let limited = Answer {
            retry_after: Some("Sun, 06 Nov 1994 08:50:30 GMT"),
            ..unavailable("")
        };
        let limited = Answer {
            status: 429,
            ratelimit_remaining: Some("00"),
            ..limited
        };
        assert_eq!(
            classify(&limited, &SUBJECT).unwrap_err().retry,
            Retry::RateLimited {
                wait: Some(Duration::from_secs(60))
            }
        );
    }

    #[test]
    fn network_faults_are_transient() {
        assert!(transport_failure(true, "", Duration::from_secs(30)).is_transient());
        assert!(
            transport_failure(false, "connection reset", Duration::from_secs(30)).is_transient()
        );
    }
}
