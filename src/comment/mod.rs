//! `orchestrator comment`: a Markdown report (a plan, a diff) posted as one pull-request
//! comment, updated in place on every push rather than added again.
//!
//! Our comment is found by its hidden first line ([`body::marker`]) in the pull request's
//! comments, read through [`crate::github::list`] (`GET …/issues/{n}/comments`), and only
//! among comments written by an author we trust (`github-actions[bot]`, the workflow token's
//! identity, or one named with `--author`, e.g. a personal token's user): anyone can paste the
//! marker into a comment of their own, and that comment is never edited. Found, it is
//! `PATCH`ed; otherwise one is `POST`ed. A list that was not read whole posts nothing (a
//! second comment would be the very thing this avoids). Every request goes through
//! [`crate::github::outbound`]; every answer is read through [`crate::github::response`] and
//! shown through [`crate::untrusted`].

pub(crate) mod body;

use crate::exit::CliError;
use crate::github::list::{End, Limits, ListReader, Shape, Unfetched};
use crate::github::outbound;
use crate::github::response::Answered;
use crate::secret::Secret;
use reqwest::{Method, Url};
use serde::Deserialize;
use std::time::Duration;

/// The author of comments made with a workflow's `GITHUB_TOKEN`.
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";
/// Comments asked for per page: a comment is up to 65,536 characters, so a page of 20 fits
/// [`PAGE_BYTES`] even when every character is escaped in the JSON.
const PER_PAGE: &str = "20";
/// A page's body at most.
const PAGE_BYTES: usize = 10 * 1024 * 1024;
/// Pages read at most: 1,000 comments.
const MAX_PAGES: u32 = 50;
/// One request at most, and the whole list at most.
const REQUEST_TIME: Duration = Duration::from_secs(30);
const LIST_TIME: Duration = Duration::from_secs(120);

/// Where the comment goes, and as whom.
pub(crate) struct Thread {
    /// GitHub's API, e.g. `https://api.github.com`.
    pub api_base: Url,
    pub owner: String,
    pub repo: String,
    pub pr: u64,
    pub token: Secret,
    pub api_version: String,
    /// Logins whose comments may be ours (compared without case).
    pub authors: Vec<String>,
}

/// What was done.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Posted {
    Updated { id: u64, link: Option<String> },
    Created { id: u64, link: Option<String> },
}

#[derive(Deserialize)]
struct Listed {
    id: u64,
    user: Option<Login>,
    body: Option<String>,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct Written {
    id: u64,
    html_url: Option<String>,
}

/// Posts `text` (the whole comment, marker first) as our comment on `thread`: the one found
/// by `marker` is updated, or a new one is created.
pub(crate) async fn post(
    client: &reqwest::Client,
    thread: &Thread,
    marker: &str,
    text: &str,
) -> Result<Posted, CliError> {
    let found = find(client, thread, marker).await?;
    let payload = serde_json::json!({ "body": text });
    let (method, url) = match found {
        Some(id) => (
            Method::PATCH,
            url(thread, &["issues", "comments", &id.to_string()], None)?,
        ),
        None => (Method::POST, comments_url(thread, None)?),
    };
    let answer = send(client, thread, method.clone(), url, Some(&payload)).await?;
    if !answer.is_success() {
        return Err(refused(thread, &answer, "write the comment"));
    }
    let written: Option<Written> = serde_json::from_str(&answer.body).ok();
    let link = written
        .as_ref()
        .and_then(|w| w.html_url.as_deref())
        .and_then(crate::untrusted::link);
    let id = written.map_or(found.unwrap_or_default(), |w| w.id);
    Ok(match found {
        Some(_) => Posted::Updated { id, link },
        None => Posted::Created { id, link },
    })
}

/// The id of our comment on the pull request, if it has one; an error when the list could not
/// be read whole.
async fn find(
    client: &reqwest::Client,
    thread: &Thread,
    marker: &str,
) -> Result<Option<u64>, CliError> {
    let limits = Limits {
        max_pages: MAX_PAGES,
        max_page_bytes: PAGE_BYTES,
        max_entries: 100,
        time: Some(LIST_TIME),
    };
    let first = comments_url(thread, Some(("per_page", PER_PAGE)))?;
    let mut pages = ListReader::<Listed>::new(first, Shape::Array, limits);
    let mut ours = None;
    while let Some(page) = pages.next_page() {
        let answer = send(client, thread, Method::GET, page, None)
            .await
            .map_err(|err| Unfetched::NoAnswer(err.message));
        let refusal = pages.take(answer);
        let mut entries = pages.drain();
        if ours.is_none() {
            ours = entries.find(|c| is_ours(c, thread, marker)).map(|c| c.id);
        }
        drop(entries);
        if let Some(answer) = refusal {
            return Err(refused(thread, &answer, "read its comments"));
        }
        pages.enough_if(|_| ours.is_some());
    }
    let listing = pages.finish();
    match listing.end {
        End::Complete | End::Enough => Ok(ours),
        _ => Err(CliError::failure(format!(
            "cannot tell whether pull request #{} already has our comment: its comments were not read whole ({}); nothing was posted",
            thread.pr,
            crate::untrusted::shown(&listing.incomplete().unwrap_or_default(), 300)
        ))),
    }
}

/// Ours: written by an author we trust, and starting with our marker.
fn is_ours(comment: &Listed, thread: &Thread, marker: &str) -> bool {
    let by_us = comment.user.as_ref().is_some_and(|user| {
        thread
            .authors
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&user.login))
    });
    by_us
        && comment
            .body
            .as_deref()
            .is_some_and(|b| b.trim_start().starts_with(marker))
}

fn comments_url(thread: &Thread, query: Option<(&str, &str)>) -> Result<Url, CliError> {
    url(
        thread,
        &["issues", &thread.pr.to_string(), "comments"],
        query,
    )
}

/// `{api_base}/repos/{owner}/{repo}/{segments…}?{query}`.
fn url(thread: &Thread, segments: &[&str], query: Option<(&str, &str)>) -> Result<Url, CliError> {
    let mut url = thread.api_base.clone();
    url.path_segments_mut()
        .map_err(|()| CliError::usage("the API URL cannot have a path"))?
        .pop_if_empty()
        .extend(["repos", &thread.owner, &thread.repo])
        .extend(segments);
    if let Some((name, value)) = query {
        url.query_pairs_mut().append_pair(name, value);
    }
    Ok(url)
}

async fn send(
    client: &reqwest::Client,
    thread: &Thread,
    method: Method,
    url: Url,
    payload: Option<&serde_json::Value>,
) -> Result<Answered, CliError> {
    let mut request = outbound::github_request(
        client,
        method,
        url,
        &thread.api_version,
        &thread.token,
        REQUEST_TIME,
    );
    if let Some(payload) = payload {
        request = request.json(payload);
    }
    let response = outbound::send(request, REQUEST_TIME, outbound::CHECK_API_URL)
        .await
        .map_err(|failure| {
            let mut err = CliError::failure(format!(
                "no answer from GitHub about pull request #{}: {}",
                thread.pr, failure.reason
            ));
            err.help = failure.hint;
            err
        })?;
    Ok(Answered::read(response, PAGE_BYTES.saturating_add(1)).await)
}

/// GitHub said no: its status and words, and the permission the token needs.
fn refused(thread: &Thread, answer: &Answered, doing: &str) -> CliError {
    let said = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .map(|m| format!(": {}", crate::untrusted::shown(&m, 300)))
        .unwrap_or_default();
    let wants = answer.accepted_permissions().map_or_else(String::new, |p| {
        format!(" (GitHub names `{}`)", crate::untrusted::shown(p, 200))
    });
    let err = CliError::failure(format!(
        "GitHub answered {} when asked to {doing} on pull request #{} of {}/{}{said}",
        answer.status, thread.pr, thread.owner, thread.repo
    ));
    // Only a refusal is about the token; a 5xx or a 422 says what it says.
    if !matches!(answer.status, 401 | 403 | 404) {
        return err;
    }
    err.with_help(format!(
        "the token needs `pull-requests: write` on the repository{wants}: in a workflow, give the job `permissions: {{ pull-requests: write }}` and pass `GITHUB_TOKEN: ${{{{ github.token }}}}`"
    ))
}
