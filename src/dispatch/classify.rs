//! What an HTTP answer from GitHub means for a target, as pure functions (tested in a table,
//! no server needed). The hints say what a user should do, in the terms GitHub's docs use.

use serde::Deserialize;

/// Why a target was not delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub http_status: Option<u16>,
    pub reason: String,
    pub hint: Option<String>,
    /// Whether trying again later could succeed (server errors, rate limits, network faults).
    pub transient: bool,
}

/// The parts of a response that decide its meaning.
#[derive(Debug, Clone, Default)]
pub struct Answer<'a> {
    pub status: u16,
    /// `X-Accepted-GitHub-Permissions`: the permission GitHub wanted, when it says.
    pub accepted_permissions: Option<&'a str>,
    /// `X-RateLimit-Remaining`.
    pub ratelimit_remaining: Option<&'a str>,
    pub body: &'a str,
}

/// Facts about the target, for hints.
pub struct Subject<'a> {
    pub repository: &'a str,
    pub token_env: &'a str,
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
    let rate_limited = is_rate_limit(answer, message.as_deref());
    let reason = match &message {
        Some(m) => format!("{status} {}: {m}", reason_phrase(status)),
        None => format!("{status} {}", reason_phrase(status)),
    };
    let (hint, transient) = match status {
        401 => (
            Some(format!(
                "bad credentials: the token in `{}` is wrong, expired or revoked",
                subject.token_env
            )),
            false,
        ),
        403 | 429 if rate_limited => (
            Some("GitHub is rate-limiting this token; wait and run again".to_owned()),
            true,
        ),
        403 => (Some(permission_hint(answer.accepted_permissions, subject)), false),
        404 => (
            Some(format!(
                "repository not found or the token cannot see it: the token in `{}` needs `repo` scope (classic) or fine-grained Contents: write on {}",
                subject.token_env, subject.repository
            )),
            false,
        ),
        422 => (
            Some("GitHub rejected the request body; see its message above".to_owned()),
            false,
        ),
        429 => (Some("too many requests; wait and run again".to_owned()), true),
        500..=599 => (
            Some("GitHub had a server error; running again later usually works".to_owned()),
            true,
        ),
        _ => (None, false),
    };
    Err(Failure {
        http_status: Some(status),
        reason,
        hint,
        transient,
    })
}

/// A request that got no HTTP answer at all.
pub fn transport_failure(timed_out: bool, detail: &str, timeout_secs: u64) -> Failure {
    if timed_out {
        Failure {
            http_status: None,
            reason: format!("no answer within {timeout_secs} s"),
            hint: Some(
                "GitHub may be slow or unreachable; the event may or may not have been delivered"
                    .to_owned(),
            ),
            transient: true,
        }
    } else {
        Failure {
            http_status: None,
            reason: format!("request failed: {detail}"),
            hint: Some("check the network and `api_url`".to_owned()),
            transient: true,
        }
    }
}

fn permission_hint(accepted: Option<&str>, subject: &Subject<'_>) -> String {
    match accepted {
        Some(perms) if !perms.is_empty() => format!(
            "the token in `{}` lacks a permission GitHub needs here: {perms}",
            subject.token_env
        ),
        _ => format!(
            "the token in `{}` is not allowed to do this on {}: it needs `repo` scope (classic) or fine-grained Contents: write",
            subject.token_env, subject.repository
        ),
    }
}

fn is_rate_limit(answer: &Answer<'_>, message: Option<&str>) -> bool {
    if answer.ratelimit_remaining.map(str::trim) == Some("0") {
        return true;
    }
    message.is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("rate limit") || m.contains("temporarily blocked from content creation")
    })
}

/// GitHub's `message`, with the field errors of a 422 appended; falls back to a short,
/// single-line excerpt of a non-JSON body.
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
        return Some(message);
    }
    let excerpt: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    (!excerpt.is_empty()).then(|| excerpt.chars().take(200).collect())
}

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
        repository: "o/web",
        token_env: "WEB_TOKEN",
    };

    fn answer(status: u16, body: &'static str) -> Answer<'static> {
        Answer {
            status,
            body,
            ..Answer::default()
        }
    }

    #[test]
    fn every_2xx_is_delivered() {
        assert_eq!(classify(&answer(204, ""), &SUBJECT), Ok(204));
        assert_eq!(classify(&answer(200, "{}"), &SUBJECT), Ok(200));
    }

    #[test]
    fn table_of_failures() {
        let cases: &[(Answer<'static>, &str, &str, bool)] = &[
            (
                answer(401, r#"{"message":"Bad credentials"}"#),
                "401 Unauthorized: Bad credentials",
                "bad credentials",
                false,
            ),
            (
                answer(404, r#"{"message":"Not Found"}"#),
                "404 Not Found: Not Found",
                "needs `repo` scope (classic) or fine-grained Contents: write on o/web",
                false,
            ),
            (
                answer(
                    422,
                    r#"{"message":"Invalid request.","errors":["No subschema in \"anyOf\" matched."]}"#,
                ),
                "422 Unprocessable Entity: Invalid request. (No subschema",
                "rejected the request body",
                false,
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
                false,
            ),
            (
                answer(
                    403,
                    r#"{"message":"You have exceeded a secondary rate limit."}"#,
                ),
                "secondary rate limit",
                "rate-limiting",
                true,
            ),
            (
                Answer {
                    ratelimit_remaining: Some("0"),
                    ..answer(403, r#"{"message":"API rate limit exceeded"}"#)
                },
                "API rate limit",
                "rate-limiting",
                true,
            ),
            (answer(429, ""), "429 Too Many Requests", "rate", true),
            (
                answer(502, "<html>Bad gateway</html>"),
                "502 Bad Gateway: <html>Bad gateway</html>",
                "server error",
                true,
            ),
        ];
        for (answer, reason, hint, transient) in cases {
            let failure = classify(answer, &SUBJECT).unwrap_err();
            assert!(
                failure.reason.contains(reason),
                "{} vs {reason}",
                failure.reason
            );
            let got_hint = failure.hint.clone().unwrap_or_default();
            assert!(got_hint.contains(hint), "{got_hint} vs {hint}");
            assert_eq!(failure.transient, *transient, "{}", failure.reason);
            assert_eq!(failure.http_status, Some(answer.status));
        }
    }
}
