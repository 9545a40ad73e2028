//! Rendering one target's request for one release: method, URL, headers and body, per kind.

use super::Shared;
use super::{Tokens, MAX_BODY_BYTES, MAX_EVENT_TYPE_CHARS};
use crate::config::kinds::{url_problem, Action, WebhookUrl, TRACKING_KEY};
use crate::config::{Config, TargetSpec};
use crate::diagnostic::{join, Code, Diagnostic};
use crate::render::{Memo, TemplateProblem};
use crate::secret::Secret;
use bytes::Bytes;
use serde_json::{json, Map, Value};

/// The URL of a request: public, or a secret (a build-hook URL from `url_env`) that is only
/// ever shown by its host.
#[derive(Debug, Clone)]
pub enum JobUrl {
    Public(String),
    Secret { url: Secret, shown: String },
}

impl JobUrl {
    pub fn expose(&self) -> &str {
        match self {
            JobUrl::Public(url) => url,
            JobUrl::Secret { url, .. } => url.expose(),
        }
    }

    pub fn shown(&self) -> &str {
        match self {
            JobUrl::Public(url) => url,
            JobUrl::Secret { shown, .. } => shown,
        }
    }
}

/// What a workflow_dispatch needs at send time.
#[derive(Debug, Clone)]
pub struct WorkflowCall {
    /// The body has no `ref`: the sender looks up the default branch and adds it.
    pub needs_default_ref: bool,
    /// Whether the body asks for run details (`return_run_details`, API 2022-11-28); a server
    /// that rejects the key gets the body without it.
    pub asks_run_details: bool,
    /// Wait for the run to complete.
    pub wait: bool,
}

/// A rendered request.
pub struct Rendered {
    /// `track: true`: the id in `client_payload.dispatch_id`.
    pub tracking_id: Option<String>,
    pub method: &'static str,
    pub url: JobUrl,
    /// A short description for reports: the event type, `workflow@ref`, or the method.
    pub label: Shared,
    pub headers: Vec<(String, String)>,
    /// The JSON body (empty for a webhook without one).
    pub encoded: Bytes,
    pub workflow: Option<WorkflowCall>,
}

pub(super) fn render(
    config: &Config,
    target: &TargetSpec,
    memo: &mut Memo<'_>,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    tokens: Tokens,
    problems: &mut Vec<Diagnostic>,
) -> Option<Rendered> {
    let templates = &config.templates;
    let mut failed: Vec<TemplateProblem> = Vec::new();
    let rendered = match &target.action {
        Action::RepositoryDispatch {
            event_type,
            client_payload,
            track,
        } => {
            // The target's stable id (`{{dispatch_id}}`) with the nonce of an unstamped plan.
            let tracking_id = track.then(|| super::tracking_id(memo.dispatch_id(), None));
            let event_type = templates
                .render_shared(event_type, memo)
                .map_err(|p| failed.push(p))
                .unwrap_or_default();
            let kept = match tracking_id {
                None => memo.body_of(client_payload, &event_type),
                Some(_) => None,
            };
            let encoded = match kept {
                Some(encoded) => encoded,
                None => {
                    let mut payload = templates.render_payload(client_payload, memo, &mut failed);
                    if let (Some(id), Some(map)) = (&tracking_id, payload.as_object_mut()) {
                        // Sized as the stamped id will be, so the body's size is checked as sent.
                        map.insert(TRACKING_KEY.into(), json!(id));
                    }
                    let encoded = encode(&DispatchBody {
                        event_type: &event_type,
                        client_payload: &payload,
                    });
                    if tracking_id.is_none()
                        && failed.is_empty()
                        && !templates.reads_target(client_payload)
                    {
                        memo.keep_body(client_payload, &event_type, &encoded);
                    }
                    encoded
                }
            };
            if failed.is_empty() {
                check_event_type(path, &event_type, problems);
            }
            let repository = target.repository.as_ref()?;
            Rendered {
                tracking_id,
                method: "POST",
                url: JobUrl::Public(target.api_url.dispatches(repository)),
                label: Shared::from(event_type),
                headers: Vec::new(),
                encoded,
                workflow: None,
            }
        }
        Action::WorkflowDispatch {
            workflow,
            git_ref,
            inputs,
            wait,
        } => {
            let repository = target.repository.as_ref()?;
            let mut body = Map::new();
            let git_ref = match git_ref {
                Some(r) => templates
                    .render_text(r, memo)
                    .map_err(|p| failed.push(p))
                    .ok(),
                None => None,
            };
            if let Some(r) = &git_ref {
                body.insert("ref".into(), json!(r));
            }
            body.insert(
                "inputs".into(),
                as_strings(templates.render_payload(inputs, memo, &mut failed)),
            );
            // API 2026-03-10 always answers with the run; 2022-11-28 does when asked.
            let asks_run_details = &*target.api_version < "2026-03-10";
            if asks_run_details {
                body.insert("return_run_details".into(), json!(true));
            }
            let body = Value::Object(body);
            Rendered {
                tracking_id: None,
                method: "POST",
                url: JobUrl::Public(format!(
                    "{}/repos/{}/{}/actions/workflows/{workflow}/dispatches",
                    target.api_url, repository.owner, repository.name
                )),
                label: Shared::from(format!(
                    "{workflow}@{}",
                    git_ref.as_deref().unwrap_or("default branch")
                )),
                headers: Vec::new(),
                encoded: encode(&body),
                workflow: Some(WorkflowCall {
                    needs_default_ref: git_ref.is_none(),
                    asks_run_details,
                    wait: *wait,
                }),
            }
        }
        Action::Webhook {
            url,
            method,
            headers,
            body,
            signature,
        } => {
            let url = webhook_url(url, path, lookup, tokens, problems)?;
            let mut rendered_headers = Vec::new();
            for (name, value) in headers {
                if let Ok(v) = templates
                    .render_text(value, memo)
                    .map_err(|p| failed.push(p))
                {
                    rendered_headers.push((name.clone(), v));
                }
            }
            let body = match body {
                Some(b) => templates.render_payload(b, memo, &mut failed),
                None if signature.is_some() => json!({}),
                None => Value::Null,
            };
            let encoded = if body.is_null() {
                Bytes::new()
            } else {
                encode(&body)
            };
            if let Some(sig) = signature {
                match hmac_secret(
                    &sig.secret_env,
                    path,
                    "signature.secret_env",
                    lookup,
                    tokens,
                    problems,
                )? {
                    Some(secret) => {
                        rendered_headers.push((sig.header.clone(), sign(&secret, &encoded)))
                    }
                    None => rendered_headers.push((
                        sig.header.clone(),
                        format!("sha256=<HMAC with ${}>", sig.secret_env),
                    )),
                }
            }
            if failed.is_empty() {
                let headers_path = join(path, "headers");
                for (name, value) in &rendered_headers {
                    if let Some(problem) = header_problem(&headers_path, name, value, memo) {
                        problems.push(problem);
                    }
                }
            }
            Rendered {
                tracking_id: None,
                method: method.as_str(),
                url,
                label: Shared::from(method.as_str()),
                headers: rendered_headers,
                encoded,
                workflow: None,
            }
        }
    };
    if !failed.is_empty() {
        problems.extend(failed.into_iter().map(|p| super::render_problem(path, p)));
        return None;
    }
    if rendered.encoded.len() >= MAX_BODY_BYTES {
        let key = match &target.action {
            Action::RepositoryDispatch { .. } => "client_payload",
            Action::WorkflowDispatch { .. } => "inputs",
            Action::Webhook { .. } => "body",
        };
        problems.push(
            Diagnostic::error(
                Code::PayloadLimit,
                join(path, key),
                format!(
                    "the request body is {} bytes; GitHub accepts less than {MAX_BODY_BYTES}",
                    rendered.encoded.len()
                ),
            )
            .with_help("send a reference (a URL, a version) rather than the content itself"),
        );
        return None;
    }
    // A `url_env` URL was checked when it was read (and is a placeholder when unset); a GitHub
    // kind's URL is built from the checked `api_url` and checked names. What is left is a
    // webhook's `url` as written (once per target: it can differ by target).
    let checked = target.kind.is_github()
        || matches!(
            target.action,
            Action::Webhook {
                url: WebhookUrl::Env(_),
                ..
            }
        );
    if let (JobUrl::Public(url), false) = (&rendered.url, checked) {
        if let Some(why) = url_problem(url) {
            let key = match target.action {
                Action::Webhook { .. } => "url",
                _ => "api_url",
            };
            problems.push(
                Diagnostic::error(
                    Code::InvalidUrl,
                    join(path, key),
                    format!(
                        "the request would go to `{}`, which cannot be used: {why}",
                        crate::diagnostic::shown(url)
                    ),
                )
                .with_help("use an https URL (http only for loopback addresses)"),
            );
            return None;
        }
    }
    Some(rendered)
}

/// The longest header value sent; servers commonly refuse a request whose headers pass 8 KB.
pub const MAX_HEADER_VALUE_BYTES: usize = 4 * 1024;

/// Why a rendered header cannot be sent as it is: its name must be an HTTP token and its value
/// visible ASCII or spaces (a line break would end the header, or be refused when sending after
/// other targets were sent). Names the `--set` values or CI variables that brought the bad
/// character in.
fn header_problem(path: &str, name: &str, value: &str, memo: &Memo<'_>) -> Option<Diagnostic> {
    let path = join(path, name);
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some(Diagnostic::error(
            Code::InvalidValue,
            path,
            format!("`{}` is not a header name", crate::diagnostic::shown(name)),
        ));
    }
    if value.len() > MAX_HEADER_VALUE_BYTES {
        return Some(
            Diagnostic::error(
                Code::PayloadLimit,
                path,
                format!(
                    "header `{name}` renders to {} bytes; at most {MAX_HEADER_VALUE_BYTES} are sent",
                    value.len()
                ),
            )
            .with_help("send a reference (a version, a URL) in a header, and the rest in the body"),
        );
    }
    let allowed = |c: char| c == ' ' || c.is_ascii_graphic();
    let bad = value.chars().find(|c| !allowed(*c))?;
    let what = match bad {
        '\n' | '\r' => "a line break",
        '\0' => "a NUL character",
        c if c.is_control() => "a control character",
        _ => "a character that is not ASCII",
    };
    let fed = fed_by(memo.release_data(), &|s: &str| !s.chars().all(allowed));
    let from = match fed.as_slice() {
        [] => String::new(),
        names => format!(" (from {})", names.join(", ")),
    };
    Some(
        Diagnostic::error(
            Code::Render,
            path,
            format!("header `{name}` renders to a value with {what}{from}, which a header cannot hold"),
        )
        .with_help("header values are one line of visible ASCII; put other text in the body, or fix the value"),
    )
}

/// The `--set` keys and CI values whose text matches `bad`, as a user would name them.
fn fed_by(data: &Value, bad: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(Value::Object(vars)) = data.get("vars") {
        for (key, value) in vars {
            if value.as_str().is_some_and(bad) {
                names.push(format!("`--set {}`", crate::diagnostic::shown(key)));
            }
        }
    }
    if let Some(Value::Object(ci)) = data.get("ci") {
        for (key, value) in ci {
            if value.as_str().is_some_and(bad) {
                names.push(format!("`ci.{key}` (from the environment)"));
            }
        }
    }
    names
}

/// A repository_dispatch body, encoded as it is without first building a tree of JSON values.
#[derive(serde::Serialize)]
struct DispatchBody<'a> {
    event_type: &'a str,
    client_payload: &'a Value,
}

pub(super) fn encode(body: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(body).unwrap_or_default())
}

fn check_event_type(path: &str, event_type: &str, problems: &mut Vec<Diagnostic>) {
    let chars = event_type.chars().count();
    if chars == 0 || chars > MAX_EVENT_TYPE_CHARS {
        problems.push(
            Diagnostic::error(
                Code::PayloadLimit,
                join(path, "event_type"),
                format!("event_type renders to {chars} characters; GitHub accepts 1 to {MAX_EVENT_TYPE_CHARS}"),
            )
            .with_help("shorten the event type; put details in client_payload instead"),
        );
    }
}

/// `sha256=<hex HMAC-SHA256 of body>`, the form GitHub's own webhooks use.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
    format!("sha256={}", hex::encode(ring::hmac::sign(&key, body)))
}

fn webhook_url(
    url: &WebhookUrl,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    tokens: Tokens,
    problems: &mut Vec<Diagnostic>,
) -> Option<JobUrl> {
    let env = match url {
        WebhookUrl::Fixed(url) => return Some(JobUrl::Public(url.clone())),
        WebhookUrl::Env(env) => env,
    };
    let env_path = join(path, "url_env");
    let Some(value) = secret(env, path, "url_env", lookup, tokens, problems)? else {
        return Some(JobUrl::Public(format!("${env} (not set)")));
    };
    if let Some(why) = url_problem(value.expose()) {
        // The URL is a secret: say only what is wrong with it, never any part of it.
        problems.push(
            Diagnostic::error(
                Code::InvalidUrl,
                env_path,
                format!("`{env}` does not hold a usable URL: {why} (its value is not shown)"),
            )
            .with_help(format!(
                "set `{env}` to the whole URL, starting with https://"
            )),
        );
        return None;
    }
    let shown = reqwest::Url::parse(value.expose())
        .map(|u| {
            format!(
                "{}://{}/… (from ${env})",
                u.scheme(),
                u.host_str().unwrap_or("?")
            )
        })
        .unwrap_or_else(|_| format!("${env}"));
    // Registered again as a URL, so its path and ids are hidden wherever they turn up too.
    let url = Secret::url(value.expose());
    Some(JobUrl::Secret { url, shown })
}

/// workflow_dispatch inputs as the web UI and `gh workflow run -f` send them: `true` and `7`
/// as the strings `"true"` and `"7"`. The workflow casts each by its input's `type`; typed
/// JSON values are refused with 422 by some GitHub versions.
fn as_strings(inputs: Value) -> Value {
    match inputs {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        Value::Bool(b) => Value::String(b.to_string()),
                        Value::Number(n) => Value::String(n.to_string()),
                        other => other,
                    };
                    (name, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Reads an HMAC signing secret: any non-empty string (GitHub's own example is `It's a Secret
/// to Everybody`); only a token or URL, which travel in a header or a request line, must be
/// printable ASCII without spaces.
fn hmac_secret(
    env: &str,
    path: &str,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    tokens: Tokens,
    problems: &mut Vec<Diagnostic>,
) -> Option<Option<Secret>> {
    match lookup(env) {
        Some(value) if !value.is_empty() => Some(Some(Secret::new(value))),
        // Unset or empty: worded as for any secret variable.
        _ => secret(env, path, key, &|_| lookup(env), tokens, problems),
    }
}

/// Reads a secret variable: `Ok(None)` when it is unset and may be (a dry run); `None` after
/// reporting a problem at `key` of the target at `path`.
pub(super) fn secret(
    env: &str,
    path: &str,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    tokens: Tokens,
    problems: &mut Vec<Diagnostic>,
) -> Option<Option<Secret>> {
    let value = lookup(env);
    let empty = value.as_ref().is_some_and(|v| v.trim().is_empty());
    match value.filter(|v| !v.trim().is_empty()) {
        Some(value) if !value.bytes().all(|b| b.is_ascii_graphic()) => {
            problems.push(
                Diagnostic::error(
                    Code::MissingToken,
                    join(path, key),
                    format!("`{env}` contains spaces, line breaks or other characters it cannot have (its value is not shown)"),
                )
                .with_help("check how the secret was pasted; a trailing newline is a common cause"),
            );
            None
        }
        Some(value) => Some(Some(Secret::new(value))),
        None if tokens != Tokens::Required => Some(None),
        None if empty => {
            problems.push(
                Diagnostic::error(
                    Code::MissingToken,
                    join(path, key),
                    format!("environment variable `{env}` is set but empty"),
                )
                .with_help(format!(
                    "in GitHub Actions an empty `${{{{ secrets.{env} }}}}` means the secret does not exist in this repository (or its environment): add it, or check its name"
                )),
            );
            None
        }
        None => {
            problems.push(
                Diagnostic::error(
                    Code::MissingToken,
                    join(path, key),
                    format!("environment variable `{env}` is not set"),
                )
                .with_help(format!(
                    "set it, e.g. in GitHub Actions: `env: {{ {env}: ${{{{ secrets.{env} }}}} }}`"
                )),
            );
            None
        }
    }
}
