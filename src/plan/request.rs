//! Rendering one target's request for one release: method, URL, headers and body, per kind.

use super::Shared;
use super::{PlanMode, MAX_BODY_BYTES, MAX_EVENT_TYPE_CHARS};
use crate::config::kinds::{
    url_problem, Action, HeaderSpec, SignatureSpec, WebhookUrl, TRACKING_KEY,
};
use crate::config::model::Method;
use crate::config::TargetSpec;
use crate::diagnostic::{join, Code, Diagnostic};
use crate::render::{Memo, PayloadTemplate, TemplateProblem, Templates, Text};
use crate::secret::Secret;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::Arc;

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
    /// `wait: { job: NAME }`: wait for this job of the run, whose conclusion is the target's.
    pub wait_job: Option<String>,
}

/// A rendered request.
pub(super) struct Rendered {
    /// `track: true`: the id in `client_payload.dispatch_id`.
    pub tracking_id: Option<String>,
    pub method: &'static str,
    pub url: JobUrl,
    /// A short description for reports: the event type, `workflow@ref`, or the method.
    pub label: Shared,
    pub headers: Vec<(String, String)>,
    /// The values sent for the secret headers among `headers`.
    pub secret_headers: Vec<(String, Secret)>,
    /// The JSON body (empty for a webhook without one).
    pub encoded: Bytes,
    pub workflow: Option<WorkflowCall>,
}

/// Headers by name, with their values as reports show them.
type Shown = Vec<(String, String)>;

/// One target's request being rendered: what it reads, and where its problems go.
pub(super) struct Rendering<'r, 'w> {
    pub templates: &'r Templates,
    pub memo: &'r mut Memo<'w>,
    /// The target's key path, in front of each of its problems' own.
    pub path: &'r str,
    pub lookup: &'r dyn Fn(&str) -> Option<String>,
    pub mode: PlanMode,
    pub problems: &'r mut Vec<Diagnostic>,
    /// The templates that failed, reported together once the whole request is rendered.
    pub failed: Vec<TemplateProblem>,
}

impl Rendering<'_, '_> {
    /// The target's request, or `None` once what stops it is reported.
    pub(super) fn render(mut self, target: &TargetSpec) -> Option<Rendered> {
        let rendered = match &target.action {
            Action::RepositoryDispatch {
                event_type,
                client_payload,
                track,
            } => self.repository_dispatch(target, event_type, client_payload, *track)?,
            Action::WorkflowDispatch {
                workflow,
                git_ref,
                inputs,
                wait,
                wait_job,
            } => {
                let mut rendered =
                    self.workflow_dispatch(target, workflow, git_ref.as_ref(), inputs, *wait)?;
                if let Some(call) = &mut rendered.workflow {
                    call.wait_job.clone_from(wait_job);
                }
                rendered
            }
            Action::Webhook {
                url,
                method,
                headers,
                body,
                signature,
            } => self.webhook(url, *method, headers, body.as_deref(), signature.as_deref())?,
        };
        if !self.failed.is_empty() {
            let path = self.path;
            let failed = self.failed.into_iter();
            self.problems
                .extend(failed.map(|p| super::render_problem(path, p)));
            return None;
        }
        match too_large(self.path, target, &rendered)
            .or_else(|| unusable_url(self.path, target, &rendered))
        {
            Some(problem) => {
                self.problems.push(problem);
                None
            }
            None => Some(rendered),
        }
    }

    fn repository_dispatch(
        &mut self,
        target: &TargetSpec,
        event_type: &Text,
        client_payload: &Arc<PayloadTemplate>,
        track: bool,
    ) -> Option<Rendered> {
        // The target's stable id (`{{dispatch_id}}`) with the nonce of an unstamped plan.
        let tracking_id = track.then(|| super::tracking_id(self.memo.dispatch_id(), None));
        let event_type = self
            .templates
            .render_shared(event_type, self.memo)
            .map_err(|p| self.failed.push(p))
            .unwrap_or_default();
        let kept = match tracking_id {
            None => self.memo.body_of(client_payload, &event_type),
            Some(_) => None,
        };
        let encoded = match kept {
            Some(encoded) => encoded,
            None => self.dispatch_body(client_payload, &event_type, tracking_id.as_deref()),
        };
        if self.failed.is_empty() {
            check_event_type(self.path, &event_type, self.problems);
        }
        let repository = target.repository.as_ref()?;
        Some(Rendered {
            tracking_id,
            method: "POST",
            url: JobUrl::Public(target.api_url.dispatches(repository)),
            label: Shared::from(event_type),
            headers: Vec::new(),
            secret_headers: Vec::new(),
            encoded,
            workflow: None,
        })
    }

    /// A repository_dispatch body, encoded; kept for the next target when it reads nothing of
    /// this one.
    fn dispatch_body(
        &mut self,
        client_payload: &Arc<PayloadTemplate>,
        event_type: &str,
        tracking_id: Option<&str>,
    ) -> Bytes {
        let mut payload =
            self.templates
                .render_payload(client_payload, self.memo, &mut self.failed);
        if let (Some(id), Some(map)) = (tracking_id, payload.as_object_mut()) {
            // Sized as the stamped id will be, so the body's size is checked as sent.
            map.insert(TRACKING_KEY.into(), json!(id));
        }
        let encoded = encode(&DispatchBody {
            event_type,
            client_payload: &payload,
        });
        if tracking_id.is_none()
            && self.failed.is_empty()
            && !self.templates.reads_target(client_payload)
        {
            self.memo.keep_body(client_payload, event_type, &encoded);
        }
        encoded
    }

    fn workflow_dispatch(
        &mut self,
        target: &TargetSpec,
        workflow: &str,
        git_ref: Option<&Text>,
        inputs: &PayloadTemplate,
        wait: bool,
    ) -> Option<Rendered> {
        let repository = target.repository.as_ref()?;
        let mut body = Map::new();
        let git_ref = git_ref.and_then(|r| {
            self.templates
                .render_text(r, self.memo)
                .map_err(|p| self.failed.push(p))
                .ok()
        });
        if let Some(r) = &git_ref {
            body.insert("ref".into(), json!(r));
        }
        let inputs = self
            .templates
            .render_payload(inputs, self.memo, &mut self.failed);
        body.insert("inputs".into(), as_strings(inputs));
        // API 2026-03-10 always answers with the run; 2022-11-28 does when asked.
        let asks_run_details = &*target.api_version < "2026-03-10";
        if asks_run_details {
            body.insert("return_run_details".into(), json!(true));
        }
        Some(Rendered {
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
            secret_headers: Vec::new(),
            encoded: encode(&Value::Object(body)),
            workflow: Some(WorkflowCall {
                needs_default_ref: git_ref.is_none(),
                asks_run_details,
                wait,
                wait_job: None,
            }),
        })
    }

    fn webhook(
        &mut self,
        url: &WebhookUrl,
        method: Method,
        headers: &[(String, HeaderSpec)],
        body: Option<&PayloadTemplate>,
        signature: Option<&SignatureSpec>,
    ) -> Option<Rendered> {
        let url = webhook_url(url, self)?;
        let (mut rendered_headers, secret_headers) = self.headers(headers)?;
        let body = match body {
            Some(b) => self
                .templates
                .render_payload(b, self.memo, &mut self.failed),
            None if signature.is_some() => json!({}),
            None => Value::Null,
        };
        let encoded = if body.is_null() {
            Bytes::new()
        } else {
            encode(&body)
        };
        if let Some(sig) = signature {
            let value = self.signature(sig, &encoded)?;
            rendered_headers.push((sig.header.clone(), value));
        }
        if self.failed.is_empty() {
            self.check_headers(&rendered_headers);
        }
        Some(Rendered {
            tracking_id: None,
            method: method.as_str(),
            url,
            label: Shared::from(method.as_str()),
            headers: rendered_headers,
            secret_headers,
            encoded,
            workflow: None,
        })
    }

    /// A webhook's own headers, each rendered as reports show it, and the values of its
    /// secret ones; `None` once a secret's problem is reported.
    fn headers(
        &mut self,
        headers: &[(String, HeaderSpec)],
    ) -> Option<(Shown, Vec<(String, Secret)>)> {
        let mut rendered = Vec::new();
        let mut secrets = Vec::new();
        let mut refused = false;
        for (name, spec) in headers {
            match spec {
                HeaderSpec::Template(value) => {
                    if let Ok(v) = self
                        .templates
                        .render_text(value, self.memo)
                        .map_err(|p| self.failed.push(p))
                    {
                        rendered.push((name.clone(), v));
                    }
                }
                HeaderSpec::Secret(env) => {
                    // Never the value: reports, dry runs and diffs name the variable.
                    let mut shown = format!("<from ${env}>");
                    match self.secret(env, &join(&join("headers", name), "env")) {
                        Some(Some(value)) => secrets.push((name.clone(), value)),
                        Some(None) => shown.push_str(" (not set; a real run needs it)"),
                        None => refused = true,
                    }
                    rendered.push((name.clone(), shown));
                }
            }
        }
        (!refused).then_some((rendered, secrets))
    }

    /// The signature header's value: the HMAC of `encoded`, or in a dry run without the secret,
    /// what it would be made with. `None` after reporting a problem with the secret.
    fn signature(&mut self, sig: &SignatureSpec, encoded: &[u8]) -> Option<String> {
        Some(
            match self.hmac_secret(&sig.secret_env, "signature.secret_env")? {
                Some(secret) => sign(&secret, encoded),
                None => format!("sha256=<HMAC with ${}>", sig.secret_env),
            },
        )
    }

    fn check_headers(&mut self, headers: &[(String, String)]) {
        let headers_path = join(self.path, "headers");
        for (name, value) in headers {
            if let Some(problem) = header_problem(&headers_path, name, value, self.memo) {
                self.problems.push(problem);
            }
        }
    }
}

/// The request body past GitHub's limit, reported at the key that fills it.
fn too_large(path: &str, target: &TargetSpec, rendered: &Rendered) -> Option<Diagnostic> {
    if rendered.encoded.len() < MAX_BODY_BYTES {
        return None;
    }
    let key = match &target.action {
        Action::RepositoryDispatch { .. } => "client_payload",
        Action::WorkflowDispatch { .. } => "inputs",
        Action::Webhook { .. } => "body",
    };
    Some(
        Diagnostic::error(
            Code::PayloadLimit,
            join(path, key),
            format!(
                "the request body is {} bytes; GitHub accepts less than {MAX_BODY_BYTES}",
                rendered.encoded.len()
            ),
        )
        .with_help("send a reference (a URL, a version) rather than the content itself"),
    )
}

/// A URL the request cannot go to, among those not checked before.
fn unusable_url(path: &str, target: &TargetSpec, rendered: &Rendered) -> Option<Diagnostic> {
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
    let (JobUrl::Public(url), false) = (&rendered.url, checked) else {
        return None;
    };
    let why = url_problem(url)?;
    let key = match target.action {
        Action::Webhook { .. } => "url",
        _ => "api_url",
    };
    Some(
        Diagnostic::error(
            Code::InvalidUrl,
            join(path, key),
            format!(
                "the request would go to `{}`, which cannot be used: {why}",
                crate::diagnostic::shown(url)
            ),
        )
        .with_help("use an https URL (http only for loopback addresses)"),
    )
}

/// The longest header value sent; servers commonly refuse a request whose headers pass 8 KB.
pub(super) const MAX_HEADER_VALUE_BYTES: usize = 4 * 1024;

/// Why a rendered header cannot be sent as it is: its name must be an HTTP token and its value
/// visible ASCII or spaces (a line break would end the header, or be refused when sending after
/// other targets were sent). Names the `--set` values or CI variables that brought the bad
/// character in.
fn header_problem(path: &str, name: &str, value: &str, memo: &Memo<'_>) -> Option<Diagnostic> {
    let path = join(path, name);
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
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

/// A webhook's URL: as written, or read from its `url_env` (a secret, shown by its host only).
fn webhook_url(url: &WebhookUrl, request: &mut Rendering<'_, '_>) -> Option<JobUrl> {
    let env = match url {
        WebhookUrl::Fixed(url) => return Some(JobUrl::Public(url.clone())),
        WebhookUrl::Env(env) => env,
    };
    let env_path = join(request.path, "url_env");
    let Some(value) = request.secret(env, "url_env")? else {
        return Some(JobUrl::Public(format!("${env} (not set)")));
    };
    if let Some(why) = url_problem(value.expose()) {
        // The URL is a secret: say only what is wrong with it, never any part of it.
        request.problems.push(
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
    let shown = url::Url::parse(value.expose())
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

impl Rendering<'_, '_> {
    /// Reads an HMAC signing secret: any non-empty string (GitHub's own example is `It's a
    /// Secret to Everybody`); only a token or URL, which travel in a header or a request line,
    /// must be printable ASCII without spaces.
    fn hmac_secret(&mut self, env: &str, key: &str) -> Option<Option<Secret>> {
        match (self.lookup)(env) {
            Some(value) if !value.is_empty() => Some(Some(Secret::new(value))),
            // Unset or empty: worded as for any secret variable.
            _ => self.secret(env, key),
        }
    }

    /// Reads a secret variable: `Some(None)` when it is unset and may be (a dry run); `None`
    /// after reporting a problem at `key` of the target.
    pub(super) fn secret(&mut self, env: &str, key: &str) -> Option<Option<Secret>> {
        let value = (self.lookup)(env);
        let empty = value.as_ref().is_some_and(|v| v.trim().is_empty());
        let problem = match value.filter(|v| !v.trim().is_empty()) {
            Some(value) if !value.bytes().all(|b| b.is_ascii_graphic()) => {
                Diagnostic::error(
                    Code::MissingToken,
                    join(self.path, key),
                    format!("`{env}` contains spaces, line breaks or other characters it cannot have (its value is not shown)"),
                )
                .with_help("check how the secret was pasted; a trailing newline is a common cause")
            }
            Some(value) => return Some(Some(Secret::new(value))),
            None if self.mode != PlanMode::Send => return Some(None),
            None if empty => Diagnostic::error(
                Code::MissingToken,
                join(self.path, key),
                format!("environment variable `{env}` is set but empty"),
            )
            .with_help(format!(
                "in GitHub Actions an empty `${{{{ secrets.{env} }}}}` means the secret does not exist in this repository (or its environment): add it, or check its name"
            )),
            None => Diagnostic::error(
                Code::MissingToken,
                join(self.path, key),
                format!("environment variable `{env}` is not set"),
            )
            .with_help(format!(
                "set it, e.g. in GitHub Actions: `env: {{ {env}: ${{{{ secrets.{env} }}}} }}`"
            )),
        };
        self.problems.push(problem);
        None
    }
}
