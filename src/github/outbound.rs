//! The one outbound policy every request follows: dispatches, webhooks, run polls, App token
//! minting, installation and default-branch lookups all go out through [`client`] and [`send`].
//!
//! - Callers build every URL from the configured base and ids; none is taken from an answer.
//! - A redirect is followed only to the origin (scheme, host, port) the chain started at, at
//!   most [`MAX_HOPS`] times. 307/308 repeat the request, body and `Authorization` included
//!   (GitHub answers 307 for a renamed repository and documents that the request is repeated);
//!   301/302/303 are followed for GET and HEAD only, since they would turn anything else into
//!   a body-less GET.
//! - No `Referer`, ever: it would carry a secret webhook URL to wherever it points.
//!
//! So `Authorization`, custom headers and bodies never reach an origin the configuration does
//! not name. A redirect that is not followed fails the target for good, naming its status and
//! only the origin it pointed to (never a path or query, which may be secret or hostile).

use super::classify::{Failure, Retry};
use super::response;
use reqwest::{Method, StatusCode, Url};
use std::time::Duration;

/// `orchestrator/<version>`: GitHub rejects requests without a User-Agent and asks that it
/// name the application.
pub const USER_AGENT: &str = concat!("orchestrator/", env!("CARGO_PKG_VERSION"));
/// Redirects followed in one chain; GitHub needs one for a renamed repository.
pub(crate) const MAX_HOPS: usize = 3;
/// The hint of a refused redirect to GitHub's API.
pub(crate) const CHECK_API_URL: &str =
    "check `api_url` and the repository's name: a redirect is followed only within the configured API's origin, and only one that repeats the request as it is (307/308, or any for a GET)";
/// The hint of a refused redirect from a webhook.
pub(crate) const CHECK_WEBHOOK_URL: &str =
    "check the webhook's URL (`url`/`url_env`): use the final address, since redirects to another origin are not followed";

tokio::task_local! {
    /// The method of the request [`send`] is sending, for the redirect policy (reqwest does
    /// not tell a policy the method). Outside [`send`] the policy assumes the worst.
    static METHOD: Method;
}

/// The one HTTP client of a run, with the redirect policy and without `Referer`.
pub(crate) fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let method = METHOD.try_with(Method::clone).ok();
            match judge(
                attempt.status(),
                method.as_ref(),
                attempt.previous(),
                attempt.url(),
            ) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        }))
        .referer(false)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

/// Sends `request` (built on [`client`]); a refused redirect or a transport fault is the
/// failure, with `hint` for a refused redirect.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    hint: &str,
) -> Result<reqwest::Response, Failure> {
    let (client, request) = request.build_split();
    let request = request.map_err(|err| failure(&err, timeout, hint))?;
    let method = request.method().clone();
    METHOD
        .scope(method, client.execute(request))
        .await
        .map_err(|err| failure(&err, timeout, hint))
}

/// A request to GitHub's API with the headers every one carries: `Accept`,
/// `X-GitHub-Api-Version`, the token as a sensitive `Authorization: Bearer` (the `User-Agent`
/// is the [`client`]'s), and a timeout. `url` is built by the caller from its configured base.
pub(crate) fn github_request(
    client: &reqwest::Client,
    method: Method,
    url: Url,
    api_version: &str,
    token: &crate::secret::Secret,
    timeout: Duration,
) -> reqwest::RequestBuilder {
    let request = client
        .request(method, url)
        .header(reqwest::header::ACCEPT, super::ACCEPT_GITHUB_JSON)
        .header("X-GitHub-Api-Version", api_version)
        .timeout(timeout);
    match reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            request.header(reqwest::header::AUTHORIZATION, value)
        }
        // A token that cannot be a header value is sent without: GitHub answers 401.
        Err(_) => request,
    }
}

/// A redirect that is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} redirect to {to} ({why}): not followed")]
pub(crate) struct Refused {
    pub status: u16,
    /// Where it pointed: `scheme://host[:port]` only.
    to: String,
    why: Why,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    OtherOrigin,
    /// 301/302/303 for a request that is not GET or HEAD.
    WouldBecomeGet,
    TooMany,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::OtherOrigin => f.write_str("another origin"),
            Why::WouldBecomeGet => {
                f.write_str("it would re-send the request as a GET without its body")
            }
            Why::TooMany => write!(f, "more than {MAX_HOPS} redirects"),
        }
    }
}

/// Whether to follow a `status` redirect to `next`, for a request sent with `method` (`None`:
/// unknown, treated as one with a body) whose chain so far is `previous` (first URL first).
pub(crate) fn judge(
    status: StatusCode,
    method: Option<&Method>,
    previous: &[Url],
    next: &Url,
) -> Result<(), Refused> {
    let refuse = |why| {
        Err(Refused {
            status: status.as_u16(),
            to: origin_of(next),
            why,
        })
    };
    let same_origin = previous
        .first()
        .is_some_and(|first| first.origin() == next.origin() && next.origin().is_tuple());
    if !same_origin {
        return refuse(Why::OtherOrigin);
    }
    let safe = matches!(method, Some(m) if *m == Method::GET || *m == Method::HEAD);
    let changes_method = matches!(status.as_u16(), 301..=303);
    if changes_method && !safe {
        return refuse(Why::WouldBecomeGet);
    }
    if previous.len() > MAX_HOPS {
        return refuse(Why::TooMany);
    }
    Ok(())
}

/// `scheme://host[:port]`: what a message may say about a URL a server named.
pub(crate) fn origin_of(url: &Url) -> String {
    let origin = url.origin();
    if origin.is_tuple() {
        origin.ascii_serialization()
    } else {
        // A scheme is letters, digits, `+`, `-` and `.`: safe to show.
        format!("a `{}:` URL", url.scheme())
    }
}

/// The failure of a request that got no answer to use: a refused redirect fails for good.
fn failure(err: &reqwest::Error, timeout: Duration, hint: &str) -> Failure {
    match refusal(err) {
        Some(refused) => Failure {
            http_status: Some(refused.status),
            reason: refused.to_string(),
            hint: Some(hint.to_owned()),
            retry: Retry::Never,
        },
        None => response::transport(err, timeout),
    }
}

fn refusal(err: &reqwest::Error) -> Option<&Refused> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    const BASE: &str = "https://api.example.com/repos/o/r/dispatches";

    #[test]
    fn redirect_table() {
        let get = Some(&Method::GET);
        let head = Some(&Method::HEAD);
        let post = Some(&Method::POST);
        let same = "https://api.example.com/repositories/1/dispatches";
        let cases: &[(u16, Option<&Method>, &str, Option<&str>)] = &[
            (307, post, same, None),
            (308, post, same, None),
            (301, get, same, None),
            (302, head, same, None),
            (303, get, same, None),
            (301, post, same, Some("301 redirect to https://api.example.com (it would re-send the request as a GET without its body): not followed")),
            (302, Some(&Method::PUT), same, Some("would re-send")),
            (303, post, same, Some("would re-send")),
            (302, None, same, Some("would re-send")),
            (307, post, "https://evil.example/steal?x=1", Some("307 redirect to https://evil.example (another origin): not followed")),
            (307, get, "http://api.example.com/repos", Some("307 redirect to http://api.example.com (another origin)")),
            (308, get, "https://api.example.com:8443/repos", Some("https://api.example.com:8443 (another origin)")),
            (301, get, "https://api.example.com.evil.example/", Some("another origin")),
            (307, post, "file:///etc/passwd", Some("307 redirect to a `file:` URL (another origin)")),
        ];
        for &(status, method, next, refused) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            let got = judge(status, method, &[url(BASE)], &url(next)).map_err(|r| r.to_string());
            match refused {
                None => assert_eq!(got, Ok(()), "{status} {method:?} {next}"),
                Some(text) => {
                    let message = got.expect_err(next);
                    assert!(message.contains(text), "{message} vs {text}");
                    assert!(!message.contains("steal") && !message.contains("passwd"));
                }
            }
        }
    }

    #[test]
    fn the_origin_is_that_of_the_first_url_and_hops_are_counted() {
        let first = url(BASE);
        let hop = url("https://api.example.com/a");
        let status = StatusCode::TEMPORARY_REDIRECT;
        let post = Some(&Method::POST);
        let chain = |n: usize| vec![first.clone(); n];
        assert_eq!(judge(status, post, &chain(3), &hop), Ok(()));
        let message = judge(status, post, &chain(4), &hop)
            .unwrap_err()
            .to_string();
        assert!(message.contains("more than 3 redirects"), "{message}");
        // A chain that wandered off is judged against where it started.
        let wandered = [first, url("https://other.example/x")];
        assert!(judge(status, post, &wandered, &url("https://other.example/y")).is_err());
        assert!(judge(status, post, &[], &hop).is_err());
    }
}
