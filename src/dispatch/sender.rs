//! The HTTP sender: one shared connection pool; GitHub requests exactly as GitHub documents
//! them (`Accept`, `X-GitHub-Api-Version`, `User-Agent`, `Authorization: Bearer`), webhooks as
//! their targets configure them. Every request follows [`crate::github::outbound`]'s policy.

use super::{Attempt, RunInfo, Sender};
use crate::auth::AppTokens;
use crate::config::Repo;
use crate::github::classify::{classify, Failure, Retry, Subject};
use crate::github::classify::{CHECK_NETWORK, NO_ANSWER_IN_TIME};
use crate::github::outbound::{self, CHECK_API_URL, CHECK_WEBHOOK_URL};
use crate::github::response::{Answered, TokenExpiry};
use crate::github::ACCEPT_GITHUB_JSON;
use crate::plan::Job;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use tokio::sync::Mutex;

/// Bodies are kept for messages and run details, up to this much.
const MAX_BODY: usize = 64 * 1024;
/// Reads (`check`'s workflow files, base64 in JSON) are kept up to this much.
const MAX_READ: usize = 2 * 1024 * 1024;

pub(crate) struct GitHub {
    client: reqwest::Client,
    /// Installation tokens for targets that authenticate as a GitHub App.
    app_tokens: Option<std::sync::Arc<AppTokens>>,
    /// Default branches looked up for workflow_dispatch targets without `ref`, once per
    /// repository per run.
    default_branches: Mutex<HashMap<Repo, String>>,
    /// The earliest `github-authentication-token-expiration` seen per token variable.
    expirations: std::sync::Mutex<HashMap<String, TokenExpiry>>,
    /// `await:` looks, shared by the run's targets.
    gate_looks: super::gate::Looks,
}

/// The answer of a workflow_dispatch that returns run details.
#[derive(Deserialize)]
struct RunDetails {
    workflow_run_id: u64,
    #[serde(default)]
    run_url: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

impl GitHub {
    pub(crate) fn new() -> Result<GitHub, reqwest::Error> {
        Ok(GitHub {
            client: outbound::client()?,
            app_tokens: None,
            default_branches: Mutex::new(HashMap::new()),
            expirations: std::sync::Mutex::new(HashMap::new()),
            gate_looks: super::gate::Looks::default(),
        })
    }

    /// Lets App targets get their tokens from `tokens`.
    pub(crate) fn with_app_tokens(mut self, tokens: std::sync::Arc<AppTokens>) -> GitHub {
        self.app_tokens = Some(tokens);
        self
    }

    /// The job with the token its requests carry: an App target's installation token is
    /// minted (or taken from the cache) now; any other job is returned as it is.
    pub(crate) async fn authorized<'a>(&self, job: &'a Job) -> Result<Cow<'a, Job>, Failure> {
        let (Some(_), Some(repo)) = (&job.app, &job.repository) else {
            return Ok(Cow::Borrowed(job));
        };
        let Some(tokens) = &self.app_tokens else {
            return Err(permanent("no GitHub App credentials were loaded".into()));
        };
        let token = tokens.token_for(repo).await.map_err(|e| e.to_failure())?;
        Ok(Cow::Owned(Job {
            token: Some(token),
            ..job.clone()
        }))
    }

    /// Every token variable whose token GitHub said expires, with the earliest expiry seen,
    /// sorted by variable.
    pub(crate) fn token_expirations(&self) -> Vec<(String, TokenExpiry)> {
        let seen = match self.expirations.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut all: Vec<_> = seen.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort();
        all
    }

    fn note_expiry(&self, job: &Job, answered: &Answered) {
        let (Some(env), Some(expiry)) = (
            &job.token_env,
            answered
                .token_expiration
                .as_deref()
                .and_then(TokenExpiry::parse),
        ) else {
            return;
        };
        let mut seen = match self.expirations.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        let earliest = seen.entry(env.to_string()).or_insert(expiry);
        *earliest = (*earliest).min(expiry);
    }

    /// A read (GET) of `url` with the job's token and GitHub's headers; any HTTP answer is
    /// returned as read (its expiry header noted), and only a request that got no answer is
    /// the failure. `url` must be built from the job's `api_base`.
    pub(crate) async fn read(&self, job: &Job, url: &str) -> Result<Answered, Failure> {
        let request = self.github_request(reqwest::Method::GET, url, job);
        let response = send(job, request).await?;
        let answered = Answered::read(response, MAX_READ).await;
        self.note_expiry(job, &answered);
        Ok(answered)
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A request with the headers every request to GitHub's API carries. `url` must be built
    /// from the job's configured `api_base`; send it with [`send`].
    pub(crate) fn github_request(
        &self,
        method: reqwest::Method,
        url: &str,
        job: &Job,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, url)
            .header(ACCEPT, ACCEPT_GITHUB_JSON)
            .timeout(job.timeout);
        if let Some(version) = &job.api_version {
            request = request.header("X-GitHub-Api-Version", version.as_str());
        }
        with_token(request, job)
    }

    async fn try_send(&self, job: &Job) -> Result<Attempt, Failure> {
        let Some(call) = &job.workflow else {
            let (status, _) = self.exchange(job, job.encoded.clone()).await?;
            return Ok(Attempt::Delivered {
                http_status: status,
                run: None,
            });
        };
        let mut body = job.body();
        if call.needs_default_ref {
            let branch = self.default_branch(job).await?;
            body["ref"] = serde_json::json!(branch);
        }
        let encoded = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let (status, text) = match self.exchange(job, encoded).await {
            // GitHub Enterprise Server before 3.21 does not know `return_run_details`.
            Err(failure) if call.asks_run_details && rejects_run_details(&failure) => {
                if let Some(map) = body.as_object_mut() {
                    map.remove("return_run_details");
                }
                let plain = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
                let (status, _) = self.exchange(job, plain).await?;
                return Ok(Attempt::Delivered {
                    http_status: status,
                    run: Some(RunInfo::unknown(
                        "this GitHub does not return run details (before GHES 3.21)",
                    )),
                });
            }
            other => other?,
        };
        let run = match serde_json::from_str::<RunDetails>(&text) {
            Ok(details) => RunInfo {
                id: Some(details.workflow_run_id),
                url: details.run_url.as_deref().and_then(crate::untrusted::link),
                html_url: details.html_url.as_deref().and_then(crate::untrusted::link),
                ..RunInfo::default()
            },
            Err(_) => RunInfo::unknown("GitHub did not return the run's id"),
        };
        Ok(Attempt::Delivered {
            http_status: status,
            run: Some(run),
        })
    }

    /// Sends `body` as the job's request; `Ok` with the status and body text on 2xx.
    async fn exchange(&self, job: &Job, body: bytes::Bytes) -> Result<(u16, String), Failure> {
        let method =
            reqwest::Method::from_bytes(job.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = if job.kind.is_github() {
            self.github_request(method, job.url.expose(), job)
        } else {
            with_token(
                self.client
                    .request(method, job.url.expose())
                    .timeout(job.timeout),
                job,
            )
        };
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        for (name, value) in &job.headers {
            request = match job.secret_headers.iter().find(|(secret, _)| secret == name) {
                Some((_, secret)) => request.header(name.as_str(), sensitive(secret)),
                None => request.header(name.as_str(), value.as_str()),
            };
        }
        let response = send(job, request).await?;
        self.answer(job, response).await
    }

    async fn default_branch(&self, job: &Job) -> Result<String, Failure> {
        #[derive(Deserialize)]
        struct RepoInfo {
            default_branch: String,
        }
        let Some(repo) = &job.repository else {
            return Err(permanent(
                "no repository to look up the default branch of".into(),
            ));
        };
        // Held across the lookup so concurrent targets of one repository ask only once.
        let mut cache = self.default_branches.lock().await;
        if let Some(branch) = cache.get(repo) {
            return Ok(branch.clone());
        }
        let url = format!("{}/repos/{}/{}", job.api_base, repo.owner, repo.name);
        let response = send(job, self.github_request(reqwest::Method::GET, &url, job)).await?;
        let (_, text) = self.answer(job, response).await?;
        let info: RepoInfo = serde_json::from_str(&text)
            .map_err(|e| permanent(format!("cannot read the default branch of {repo}: {e}")))?;
        cache.insert(Repo::clone(repo), info.default_branch.clone());
        Ok(info.default_branch)
    }
}

impl Sender for GitHub {
    fn probe_gate(
        &self,
        gate: &crate::plan::Gate,
    ) -> impl std::future::Future<Output = super::gate::GateAnswer> + Send {
        self.gate_looks.look(&self.client, gate)
    }

    async fn send(&self, job: &Job) -> Attempt {
        let job = match self.authorized(job).await {
            Ok(job) => job,
            Err(failure) => return Attempt::Failed(failure),
        };
        match self.try_send(&job).await {
            Ok(attempt) => attempt,
            Err(mut failure) => {
                // A server may echo the request, headers included: the job's token and secret
                // URL are registered secrets, so the gate hides them (and every other one).
                failure.reason = crate::secret::redact(&failure.reason);
                failure.hint = failure.hint.map(|h| crate::secret::redact(&h));
                Attempt::Failed(failure)
            }
        }
    }
}

fn with_token(request: reqwest::RequestBuilder, job: &Job) -> reqwest::RequestBuilder {
    let Some(token) = &job.token else {
        return request;
    };
    // The plan only admits tokens of visible ASCII, which always make a valid header.
    match HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            request.header(AUTHORIZATION, value)
        }
        Err(_) => request,
    }
}

impl GitHub {
    /// Reads the answer (noting the token's expiry): `Ok` on 2xx, otherwise the classified
    /// failure.
    async fn answer(
        &self,
        job: &Job,
        response: reqwest::Response,
    ) -> Result<(u16, String), Failure> {
        let answered = Answered::read(response, MAX_BODY).await;
        self.note_expiry(job, &answered);
        classified(job, answered)
    }
}

fn classified(job: &Job, answered: Answered) -> Result<(u16, String), Failure> {
    let subject = Subject {
        kind: job.kind,
        repository: &job.destination,
        token_env: job.token_env.as_deref().unwrap_or("its token variable"),
    };
    classify(&answered.answer(std::time::SystemTime::now()), &subject)
        .map(|status| (status, answered.body))
}

/// GHES before 3.21 answers `return_run_details` with 400 or 422 "... is not a permitted key".
fn rejects_run_details(failure: &Failure) -> bool {
    matches!(failure.http_status, Some(400 | 422)) && failure.reason.contains("not a permitted key")
}

fn permanent(reason: String) -> Failure {
    Failure {
        http_status: None,
        reason,
        hint: None,
        retry: Retry::Never,
    }
}

/// Sends one of the job's requests under the outbound policy.
pub(super) async fn send(
    job: &Job,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Failure> {
    if job.kind.is_github() {
        return outbound::send(request, job.timeout, CHECK_API_URL).await;
    }
    outbound::send(request, job.timeout, CHECK_WEBHOOK_URL)
        .await
        .map_err(|mut failure| {
            // A webhook is reached at its own URL, not at `api_url`, and is not GitHub.
            match failure.hint.as_deref() {
                Some(CHECK_NETWORK) => failure.hint = Some(CHECK_WEBHOOK_NETWORK.to_owned()),
                Some(NO_ANSWER_IN_TIME) => {
                    failure.hint = Some(WEBHOOK_NO_ANSWER_IN_TIME.to_owned())
                }
                _ => {}
            }
            failure
        })
}

/// The hint of a webhook that got no answer (refused, reset, DNS).
const CHECK_WEBHOOK_NETWORK: &str = "check the network and the webhook's URL (`url`/`url_env`)";

/// The hint of a webhook that did not answer within `timeout_secs`.
const WEBHOOK_NO_ANSWER_IN_TIME: &str =
    "the webhook may be slow or unreachable (its `url`/`url_env`); the request may or may not have been delivered";

/// A secret header's value, marked sensitive so the HTTP client never shows it (in its `Debug`
/// output, or compressed into an HPACK table). A value that cannot be a header (checked when
/// it was read: visible ASCII) is sent empty rather than leaked into an error.
fn sensitive(secret: &crate::secret::Secret) -> reqwest::header::HeaderValue {
    let mut value = reqwest::header::HeaderValue::from_str(secret.expose())
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}
