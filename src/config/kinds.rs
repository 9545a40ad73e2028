//! What each target kind needs, and its templates compiled: the part of a target that says
//! which request to make.

use super::model::{HeaderValue, Method, Signature, Target, TargetKind, TokenEnv};
use super::values::{is_loopback, Repo};
use crate::diagnostic::{join, shown, Code, Diagnostic};
use crate::render::{PayloadTemplate, TemplateProblem, Templates, Text};
use serde_json::Value;
use std::sync::Arc;

/// GitHub's limit on `client_payload`'s top-level properties.
pub const MAX_PAYLOAD_PROPERTIES: usize = 10;
/// GitHub's limit on `event_type`, in characters; it applies to the template as written too,
/// so the schema can say so.
pub const MAX_EVENT_TYPE_CHARS: usize = 100;

/// GitHub's limit on a workflow_dispatch's inputs.
pub const MAX_WORKFLOW_INPUTS: usize = 25;
/// The `client_payload` key that carries a tracked target's per-send id.
pub const TRACKING_KEY: &str = "dispatch_id";
/// The header a webhook signature goes in unless the target names another.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The request a target makes, compiled.
#[derive(Debug, Clone)]
pub enum Action {
    RepositoryDispatch {
        event_type: Text,
        /// Shared by the targets with the same payload.
        client_payload: Arc<PayloadTemplate>,
        /// `track: true`: `dispatch_id` goes into the payload and the run is followed.
        track: bool,
    },
    WorkflowDispatch {
        workflow: String,
        /// `None`: the repository's default branch, looked up when sending.
        git_ref: Option<Text>,
        /// Shared by the targets with the same inputs.
        inputs: Arc<PayloadTemplate>,
        wait: bool,
        /// `wait: { job: NAME }`: the one job of the run waited for.
        wait_job: Option<String>,
    },
    Webhook {
        url: WebhookUrl,
        method: Method,
        headers: Vec<(String, HeaderSpec)>,
        /// Boxed like the signature: a webhook's parts would otherwise make every target's
        /// action, whatever its kind, as large as a webhook's.
        body: Option<Arc<PayloadTemplate>>,
        signature: Option<Box<SignatureSpec>>,
    },
}

/// A webhook header's value, compiled.
#[derive(Debug, Clone)]
pub enum HeaderSpec {
    Template(Text),
    /// The name of the environment variable holding a secret value (`PRIVATE-TOKEN`'s).
    Secret(String),
}

/// Where a webhook's URL comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookUrl {
    Fixed(String),
    /// The name of the environment variable holding it (a URL that embeds a secret).
    Env(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignatureSpec {
    pub secret_env: String,
    pub header: String,
}

/// The kind-specific part of a target: its repository, token variable(s) and action.
pub struct Compiled {
    pub repository: Option<Repo>,
    /// One name, or several to shard over (assigned per target by `compile`).
    pub token_env: Option<TokenEnv>,
    /// `token_env` was refused (and said): compiled on without it, so that `validate` still
    /// renders the target's templates, and not reported missing.
    pub token_refused: bool,
    pub action: Action,
}

/// The keys a kind cannot do without (a webhook needs `url` or `url_env`, checked apart).
pub fn required_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "repository_dispatch" => &["repository", "event_type"],
        "workflow_dispatch" => &["repository", "workflow"],
        _ => &[],
    }
}

/// Keys that belong to one kind only, for telling a user which key their kind ignores (and for
/// the schema, which forbids them on the other kinds).
pub const KIND_KEYS: &[(&str, TargetKind)] = &[
    ("event_type", TargetKind::RepositoryDispatch),
    ("client_payload", TargetKind::RepositoryDispatch),
    ("track", TargetKind::RepositoryDispatch),
    ("workflow", TargetKind::WorkflowDispatch),
    ("ref", TargetKind::WorkflowDispatch),
    ("inputs", TargetKind::WorkflowDispatch),
    ("wait", TargetKind::WorkflowDispatch),
    ("url", TargetKind::Webhook),
    ("url_env", TargetKind::Webhook),
    ("method", TargetKind::Webhook),
    ("headers", TargetKind::Webhook),
    ("body", TargetKind::Webhook),
    ("signature", TargetKind::Webhook),
];

/// `token_env` is the target's, taken out of it: checked, it is moved on rather than copied.
pub fn compile_action(
    target: &Target,
    token_env: Option<TokenEnv>,
    path: &str,
    templates: &mut Templates,
    out: &mut Vec<Diagnostic>,
) -> Option<Compiled> {
    foreign_keys(target, path, out);
    let mut kind = Compiling {
        target,
        path,
        templates,
        problems: Vec::new(),
        out,
    };
    let compiled = match target.kind {
        TargetKind::RepositoryDispatch => kind.repository_dispatch(token_env),
        TargetKind::WorkflowDispatch => kind.workflow_dispatch(token_env),
        TargetKind::Webhook => kind.webhook(token_env),
    };
    // Template paths are within the target (see [`Text`]).
    let problems = kind.problems.into_iter();
    kind.out.extend(problems.map(|p| template_problem(path, p)));
    compiled
}

/// The keys set that belong to another kind than the target's.
fn foreign_keys(target: &Target, path: &str, out: &mut Vec<Diagnostic>) {
    let kind = target.kind;
    for (key, owner) in KIND_KEYS {
        if *owner != kind && has_key(target, key) {
            out.push(
                Diagnostic::error(
                    Code::UnknownKey,
                    join(path, key),
                    format!(
                        "`{key}` belongs to kind `{}`, not `{}`",
                        owner.as_str(),
                        kind.as_str()
                    ),
                )
                .with_help(format!("remove it, or set `kind: {}`", owner.as_str())),
            );
        }
    }
}

fn has_key(t: &Target, key: &str) -> bool {
    match key {
        "event_type" => t.event_type.is_some(),
        "client_payload" => !t.client_payload.is_empty(),
        "track" => t.track.is_some(),
        "workflow" => t.workflow.is_some(),
        "ref" => t.git_ref.is_some(),
        "inputs" => !t.inputs.is_empty(),
        "wait" => t.wait.is_some(),
        "url" => t.url.is_some(),
        "url_env" => t.url_env.is_some(),
        "method" => t.method.is_some(),
        "headers" => !t.headers.is_empty(),
        "body" => t.body.is_some(),
        "signature" => t.signature.is_some(),
        _ => false,
    }
}

/// One target's action being compiled: its problems go to `out`, its templates' problems to
/// `problems` (their paths are within the target).
struct Compiling<'a> {
    target: &'a Target,
    path: &'a str,
    templates: &'a mut Templates,
    problems: Vec<TemplateProblem>,
    out: &'a mut Vec<Diagnostic>,
}

impl Compiling<'_> {
    fn repository_dispatch(&mut self, token_env: Option<TokenEnv>) -> Option<Compiled> {
        let target = self.target;
        let (repository, token_env) = self.github(token_env);
        let event_type = self.event_type();
        let track = target.track.unwrap_or(false);
        payload_keys(target, track, self.path, self.out);
        let client_payload = self.templates.payload_map(
            "client_payload",
            &target.client_payload.0,
            &mut self.problems,
        );
        Some(Compiled {
            repository: Some(repository?),
            token_refused: token_env.is_none(),
            token_env: token_env.flatten(),
            action: Action::RepositoryDispatch {
                event_type: event_type?,
                client_payload,
                track,
            },
        })
    }

    fn workflow_dispatch(&mut self, token_env: Option<TokenEnv>) -> Option<Compiled> {
        let target = self.target;
        let (repository, token_env) = self.github(token_env);
        let workflow = self.workflow();
        let git_ref = match &target.git_ref {
            Some(r) => Some(self.text("ref", r)?),
            None => None,
        };
        workflow_inputs(target, self.path, self.out);
        let inputs = self
            .templates
            .payload_map("inputs", &target.inputs.0, &mut self.problems);
        Some(Compiled {
            repository: Some(repository?),
            token_refused: token_env.is_none(),
            token_env: token_env.flatten(),
            action: Action::WorkflowDispatch {
                workflow: workflow?,
                git_ref,
                inputs,
                wait: target.wait.as_ref().is_some_and(super::model::Wait::waits),
                wait_job: self.wait_job(),
            },
        })
    }

    fn webhook(&mut self, token_env: Option<TokenEnv>) -> Option<Compiled> {
        let target = self.target;
        let repository = match &target.repository {
            Some(_) => Some(github_repository(target, self.path, self.out)?),
            None => None,
        };
        let (token_env, token_refused) = match token_env {
            Some(names) => match check_token_envs(names, self.path, self.out) {
                Some(names) => (Some(names), false),
                None => (None, true),
            },
            None => (None, false),
        };
        let url = self.webhook_url();
        let headers = self.headers();
        let body = target
            .body
            .as_ref()
            .map(|b| Arc::new(self.templates.payload("body", b, &mut self.problems)));
        let signature = match &target.signature {
            Some(sig) => Some(self.signature(sig)?),
            None => None,
        };
        Some(Compiled {
            repository,
            token_env,
            token_refused,
            action: Action::Webhook {
                url: url?,
                method: target.method.unwrap_or_default(),
                headers,
                body,
                signature,
            },
        })
    }

    /// A GitHub kind's repository and token variable(s), each checked.
    fn github(&mut self, token_env: Option<TokenEnv>) -> (Option<Repo>, Option<Option<TokenEnv>>) {
        let repository = github_repository(self.target, self.path, self.out);
        (repository, required_token(token_env, self.path, self.out))
    }

    fn event_type(&mut self) -> Option<Text> {
        let event_type = self.required(self.target.event_type.as_deref(), "event_type")?;
        let chars = event_type.chars().count();
        if chars == 0 || chars > MAX_EVENT_TYPE_CHARS {
            self.out.push(
                Diagnostic::error(
                    Code::PayloadLimit,
                    join(self.path, "event_type"),
                    format!("event_type is {chars} characters long; GitHub accepts 1 to {MAX_EVENT_TYPE_CHARS}"),
                )
                .with_help("use a short name such as `upstream-release`; put details in client_payload"),
            );
        }
        self.text("event_type", event_type)
    }

    fn workflow(&mut self) -> Option<String> {
        let workflow = self.required(self.target.workflow.as_deref(), "workflow")?;
        if valid_workflow(workflow) {
            return Some(workflow.to_owned());
        }
        self.refuse(
            Diagnostic::error(
                Code::InvalidValue,
                join(self.path, "workflow"),
                format!("`{}` is not a workflow file name or id", shown(workflow)),
            )
            .with_help("write the file name under .github/workflows, e.g. `release.yml`, or the workflow's numeric id"),
        )
    }

    /// `wait: { job: NAME }`: a name of 1 to 255 characters on one line, as GitHub shows
    /// job names (a refused one is said; the target then waits for the whole run).
    fn wait_job(&mut self) -> Option<String> {
        let name = self.target.wait.as_ref()?.job()?;
        let chars = name.chars().count();
        if (1..=255).contains(&chars) && !name.chars().any(char::is_control) {
            return Some(name.to_owned());
        }
        self.refuse(
            Diagnostic::error(
                Code::InvalidValue,
                join(&join(self.path, "wait"), "job"),
                format!("`{}` is not a job name", shown(name)),
            )
            .with_help("write the job's name as the run shows it (1 to 255 characters, one line), e.g. `deploy`"),
        )
    }

    /// Where a webhook goes: its `url`, or the variable `url_env` names.
    fn webhook_url(&mut self) -> Option<WebhookUrl> {
        let target = self.target;
        match (&target.url, &target.url_env) {
            (Some(url), None) => self.fixed_url(url),
            (None, Some(env)) => {
                let env = check_token_env(env, &join(self.path, "url_env"), self.out)?;
                Some(WebhookUrl::Env(env))
            }
            (Some(_), Some(_)) => self.refuse(Diagnostic::error(
                Code::InvalidValue,
                join(self.path, "url_env"),
                "a webhook has either `url` or `url_env`, not both",
            )),
            (None, None) => self.refuse(
                Diagnostic::error(
                    Code::MissingKey,
                    join(self.path, "url"),
                    "a webhook needs `url` or `url_env`",
                )
                .with_help(
                    "name the variable holding a build-hook URL with `url_env: NETLIFY_BUILD_HOOK`",
                ),
            ),
        }
    }

    /// A webhook's `url` as written: sent as it is, so it is no template.
    fn fixed_url(&mut self, url: &str) -> Option<WebhookUrl> {
        if url.contains("{{") {
            return self.refuse(
                Diagnostic::error(
                    Code::InvalidUrl,
                    join(self.path, "url"),
                    "`url` is sent as written: it is not a template",
                )
                .with_help("write the whole URL; for a URL that changes or embeds a secret, put it in an environment variable and name it with `url_env`"),
            );
        }
        match webhook_url_problem(url) {
            None => Some(WebhookUrl::Fixed(url.to_owned())),
            Some(message) => self.refuse(
                Diagnostic::error(Code::InvalidUrl, join(self.path, "url"), message)
                    .with_help("use an https URL; put a URL that embeds a secret in an environment variable and name it with `url_env`"),
            ),
        }
    }

    /// A webhook's own headers: the names it may set, each value compiled.
    fn headers(&mut self) -> Vec<(String, HeaderSpec)> {
        let headers_path = join(self.path, "headers");
        let mut headers = Vec::new();
        for (name, value) in &self.target.headers {
            let valid = http::HeaderName::from_bytes(name.as_bytes()).is_ok();
            let reserved = ["host", "content-length", "transfer-encoding", "connection"]
                .contains(&name.to_ascii_lowercase().as_str());
            if !valid || reserved {
                self.out.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        join(&headers_path, name),
                        format!("`{}` cannot be set as a header here", shown(name)),
                    )
                    .with_help(
                        "a header name is letters, digits and `-` (no spaces or `:`); Host, Content-Length, Transfer-Encoding and Connection are set by orchestrator itself",
                    ),
                );
                continue;
            }
            let spec = match value {
                HeaderValue::Template(value) => self
                    .text(&join("headers", name), value)
                    .map(HeaderSpec::Template),
                HeaderValue::Secret(secret) => {
                    let at = join(&join(&headers_path, name), "env");
                    check_token_env(&secret.env, &at, self.out).map(HeaderSpec::Secret)
                }
            };
            headers.extend(spec.map(|spec| (name.clone(), spec)));
        }
        headers
    }

    fn signature(&mut self, sig: &Signature) -> Option<Box<SignatureSpec>> {
        let secret_env = join(self.path, "signature.secret_env");
        let secret_env = check_token_env(&sig.secret_env, &secret_env, self.out)?;
        let header = sig
            .header
            .clone()
            .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.to_owned());
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return self.refuse(Diagnostic::error(
                Code::InvalidValue,
                join(self.path, "signature.header"),
                format!("`{}` is not a header name", shown(&header)),
            ));
        }
        Some(Box::new(SignatureSpec { secret_env, header }))
    }

    /// A template compiled, its problem kept for later.
    fn text(&mut self, name: &str, source: &str) -> Option<Text> {
        self.templates
            .text(name, source)
            .map_err(|p| self.problems.push(p))
            .ok()
    }

    /// `value`, or a problem saying the target's kind needs `key`.
    fn required<'v>(&mut self, value: Option<&'v str>, key: &str) -> Option<&'v str> {
        if value.is_none() {
            self.out.push(missing(self.path, key, self.target.kind));
        }
        value
    }

    /// Reports a problem that stops the part it is about.
    fn refuse<T>(&mut self, problem: Diagnostic) -> Option<T> {
        self.out.push(problem);
        None
    }
}

/// GitHub's limits on a workflow_dispatch's inputs: how many, and flat values only.
fn workflow_inputs(target: &Target, path: &str, out: &mut Vec<Diagnostic>) {
    let inputs_path = join(path, "inputs");
    if target.inputs.len() > MAX_WORKFLOW_INPUTS {
        out.push(Diagnostic::error(
            Code::PayloadLimit,
            &inputs_path,
            format!(
                "{} inputs; GitHub accepts at most {MAX_WORKFLOW_INPUTS}",
                target.inputs.len()
            ),
        ));
    }
    for (key, value) in target.inputs.iter() {
        if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            out.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    join(&inputs_path, key),
                    format!("input `{}` is not a string, number or boolean", shown(key)),
                )
                .with_help("workflow inputs are flat values; encode structure as a JSON string if the workflow parses it"),
            );
        }
    }
}

/// GitHub's limit on `client_payload`'s top-level keys, counting the `dispatch_id` that
/// `track: true` adds, which must not be written by hand as well.
fn payload_keys(target: &Target, track: bool, path: &str, out: &mut Vec<Diagnostic>) {
    let payload_path = || join(path, "client_payload");
    let count = target.client_payload.len() + usize::from(track);
    if count > MAX_PAYLOAD_PROPERTIES {
        let added = if track {
            " (with the `dispatch_id` that `track: true` adds)"
        } else {
            ""
        };
        out.push(
            Diagnostic::error(
                Code::PayloadLimit,
                payload_path(),
                format!("client_payload has {count} top-level keys{added}; GitHub accepts at most {MAX_PAYLOAD_PROPERTIES}"),
            )
            .with_help("group related values under one key, e.g. `release: {version: ..., tag: ...}`"),
        );
    }
    if track && target.client_payload.contains_key(TRACKING_KEY) {
        out.push(
            Diagnostic::error(
                Code::InvalidValue,
                join(&payload_path(), TRACKING_KEY),
                format!("`{TRACKING_KEY}` is added by `track: true`, so it cannot be set here too"),
            )
            .with_help("remove this key (the receiver reads `github.event.client_payload.dispatch_id` all the same), or turn `track` off"),
        );
    }
}

fn github_repository(target: &Target, path: &str, out: &mut Vec<Diagnostic>) -> Option<Repo> {
    let Some(text) = &target.repository else {
        out.push(missing(path, "repository", target.kind));
        return None;
    };
    Repo::parse(text)
        .map_err(|message| {
            out.push(
                Diagnostic::error(Code::InvalidRepository, join(path, "repository"), message)
                    .with_help("write it as `owner/name`, e.g. `vfarcic/dot-ai-website`"),
            )
        })
        .ok()
}

/// `Some(None)` when there is no `token_env`: a GitHub App (the target's or the defaults')
/// stands in, which `compile` checks.
fn required_token(
    token_env: Option<TokenEnv>,
    path: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Option<TokenEnv>> {
    match token_env {
        Some(names) => check_token_envs(names, path, out).map(Some),
        None => Some(None),
    }
}

/// Every name of the `token_env` of the target at `target_path` (one, or a list to shard
/// over: not empty, each once). Its key path is built only for a problem.
fn check_token_envs(
    names: TokenEnv,
    target_path: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<TokenEnv> {
    let path = || join(target_path, "token_env");
    let names = match names {
        TokenEnv::One(name) => {
            return token_env_ok(&name, &path, out).then_some(TokenEnv::One(name))
        }
        TokenEnv::Several(names) => names,
    };
    if names.is_empty() || names.len() > MAX_TOKEN_ENVS {
        out.push(
            Diagnostic::error(
                Code::InvalidTokenEnv,
                path(),
                format!("a list of token variables has 1 to {MAX_TOKEN_ENVS} names"),
            )
            .with_help("name one variable, or several to shard the fan-out over, e.g. `token_env: [TOKEN_A, TOKEN_B]`"),
        );
        return None;
    }
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        let at = || format!("{}[{i}]", path());
        if !token_env_ok(name, &at, out) {
            ok = false;
            continue;
        }
        // An earlier name alike is sound too (it was checked the same way).
        if names[..i].contains(name) {
            out.push(
                Diagnostic::error(
                    Code::InvalidTokenEnv,
                    at(),
                    format!("`{name}` is listed twice"),
                )
                .with_help("list each token variable once"),
            );
            return None;
        }
    }
    ok.then_some(TokenEnv::Several(names))
}

/// The most token variables one target may shard over.
pub const MAX_TOKEN_ENVS: usize = 100;

fn missing(path: &str, key: &str, kind: TargetKind) -> Diagnostic {
    Diagnostic::error(
        Code::MissingKey,
        join(path, key),
        format!(
            "required key `{key}` is missing (kind `{}` needs it)",
            kind.as_str()
        ),
    )
    .with_help(format!("add `{key}:` (see the README's config reference)"))
}

/// A workflow file name (`release.yml`) or a numeric id, safe to put in a URL path.
fn valid_workflow(w: &str) -> bool {
    let is_id = !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    let is_file = (w.ends_with(".yml") || w.ends_with(".yaml"))
        && w.len() <= 255
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    is_id || is_file
}

/// https anywhere, http only on loopback; no credentials in the URL. The message quotes the URL
/// (it is written in the file); see [`url_problem`] for one that never does.
pub fn webhook_url_problem(text: &str) -> Option<String> {
    let why = url_problem(text)?;
    match url::Url::parse(text) {
        Err(_) => Some(format!("`{}` is not a URL: {why}", shown(text))),
        Ok(_) => Some(why),
    }
}

/// What is wrong with a URL a request would go to, without quoting any of it: the URL may be a
/// secret (a build hook's URL from `url_env`). It must parse, be http(s) with a host, carry no
/// credentials, and use plain http only on loopback.
pub fn url_problem(text: &str) -> Option<String> {
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Some("it has no scheme; it must start with https://".into())
        }
        Err(e) => return Some(format!("it is not a URL ({e})")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some("the URL must not contain credentials".into());
    }
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" if is_loopback(&url) => true,
        "http" => {
            return Some("plain http is allowed only for loopback addresses; use https".into())
        }
        _ => false,
    };
    if !scheme_ok {
        return Some("its scheme is not http(s); it must start with https://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("it has no host".into());
    }
    None
}

/// A problem with a template of the target at `path`.
fn template_problem(path: &str, p: TemplateProblem) -> Diagnostic {
    let help = p.help.unwrap_or_else(|| {
        "templates use Handlebars syntax, e.g. `{{version}}` or `{{source.name}}`; write `\\{{` for literal braces".to_owned()
    });
    Diagnostic::error(Code::Template, join(path, &p.name), p.message).with_help(help)
}

/// A token pasted where its variable's *name* belongs must never be echoed back.
pub(super) fn check_token_env(name: &str, path: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
    token_env_ok(name, &|| path.to_owned(), out).then(|| name.to_owned())
}

/// Whether `name` can name a token variable; if not, a problem at the key path `at` builds
/// (only then: a large fan-out checks thousands of sound names).
fn token_env_ok(name: &str, at: &dyn Fn() -> String, out: &mut Vec<Diagnostic>) -> bool {
    if crate::secret::looks_like_token(name) {
        let path = at();
        let key = path.rsplit('.').next().unwrap_or("token_env").to_owned();
        out.push(
            Diagnostic::error(
                Code::InvalidTokenEnv,
                path,
                format!("{key} holds what looks like a token itself (its value is not shown)"),
            )
            .with_help("put the NAME of an environment variable here, e.g. `WEBSITE_DISPATCH_TOKEN`, and revoke the token: it is now in the file"),
        );
        return false;
    }
    if let Some(problem) = super::values::env_name_problem(name) {
        out.push(
            Diagnostic::error(Code::InvalidTokenEnv, at(), problem)
                .with_help("use letters, digits and `_`, e.g. `WEBSITE_DISPATCH_TOKEN`"),
        );
        return false;
    }
    true
}

/// Why `cancel_on_stop` can never cancel anything for a target of `kind` (`tracked`: a
/// repository_dispatch with `track: true`): it starts no workflow run orchestrator learns
/// the id of. `None` when it can.
pub fn no_run_to_cancel(kind: TargetKind, tracked: bool) -> Option<&'static str> {
    match kind {
        TargetKind::Webhook => Some("a webhook starts no workflow run orchestrator can know"),
        TargetKind::RepositoryDispatch if !tracked => Some(
            "a repository_dispatch without `track: true` is never matched to the run it starts",
        ),
        _ => None,
    }
}

impl Action {
    /// [`no_run_to_cancel`] for this action.
    pub fn no_run_to_cancel(&self) -> Option<&'static str> {
        match self {
            Action::RepositoryDispatch { track, .. } => {
                no_run_to_cancel(TargetKind::RepositoryDispatch, *track)
            }
            Action::WorkflowDispatch { .. } => None,
            Action::Webhook { .. } => no_run_to_cancel(TargetKind::Webhook, false),
        }
    }
}
