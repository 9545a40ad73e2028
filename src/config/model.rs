//! The shape of `dispatch.yaml`, exactly as a user writes it.
//!
//! These types are the public interface of the file: their doc comments become the
//! descriptions in `schemas/dispatch.schema.json`, so they are written for users. They only
//! describe structure; everything that needs cross-checking (references, repository names,
//! templates, limits) happens when the file is compiled into a [`super::Config`].

use super::seconds::Seconds;
use super::values::{
    API_URL_PATTERN, API_VERSION_PATTERN, ENV_NAME_PATTERN, NAME_PATTERN, RATE_LIMIT_PATTERN,
    REPOSITORY_PATTERN, TOKEN_PATTERN,
};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An orchestrator configuration: which upstream releases cause which downstream dispatches.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "orchestrator dispatch.yaml")]
pub struct DispatchFile {
    /// Version of this file's format. Only `1` exists.
    #[schemars(title = "Format version", schema_with = "format_version")]
    pub version: u32,
    /// Settings that apply to every target unless the target sets its own.
    #[serde(default)]
    #[schemars(title = "Defaults for every target")]
    pub defaults: Settings,
    /// Upstream repositories that make releases, by a short name used with `--source`. Names
    /// are 1 to 100 letters, digits, `-` or `_`.
    #[schemars(title = "Sources", extend("propertyNames" = { "pattern": NAME_PATTERN }))]
    pub sources: IndexMap<String, Box<Source>>,
    /// Downstream receivers, by name. A target is defined once and can be fed by any number of
    /// sources. Names are 1 to 100 letters, digits, `-` or `_`.
    #[schemars(title = "Targets", extend("propertyNames" = { "pattern": NAME_PATTERN }))]
    pub targets: IndexMap<String, Box<Target>>,
    /// Environment variables that templates may read, as `{{env.NAME}}`: only those listed
    /// here, e.g. `env: [RELEASE_NAME, PR_NUMBER]`, so a template cannot read a token by
    /// accident. Values are read when the release is planned; a real run refuses a template
    /// that reads an unset one (a dry run shows a placeholder). A name that looks like a
    /// secret's (a word `TOKEN`, `SECRET`, `PASSWORD` or `CREDENTIALS`, or ending in `_KEY`
    /// or `_PAT`) is refused, and so is a value that looks like a token: tokens go in
    /// `token_env`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "template_env_schema")]
    pub env: Vec<String>,
}

fn template_env_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "title": "Environment variables for templates",
        "type": "array",
        "items": { "type": "string", "pattern": ENV_NAME_PATTERN },
        "maxItems": 100,
        "uniqueItems": true
    })
}

fn format_version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "const": 1 })
}

pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_API_VERSION: &str = "2022-11-28";
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The one declaration of every delivery setting that a flag and a variable can also set.
///
/// Each entry holds all there is to say about one setting, every part always written (a part
/// that does not apply is empty), so that each macro it is handed to matches only the parts it
/// uses:
/// - `key`: its name in `defaults` (and in a target, when it may be overridden there);
/// - `env` and `flag`: its `ORCHESTRATOR_*` variable and its long flag (without `--`);
/// - `type`: the value as the file holds it ([`Seconds`] for a duration, which a flag may
///   also give as `200ms`), and `parse`: the flag's parser, when not the type's own;
/// - `range`: the allowed numbers, which the schema states and compilation checks, with the
///   message and help of the error when a value is outside them (`{key}`, `{value}`, `{min}`
///   and `{max}` filled in); `[]` for any value;
/// - `default`: the value when nobody sets it;
/// - `file`: its doc comment (the schema's description) and schema attributes;
/// - `per_target`: whether a target may set its own, and `target`: the doc comment and
///   schema attributes of the target's key (`{}` when it may not);
/// - `cli`: its `--help` text and clap attributes.
///
/// Everything else is generated from this list by the macros it is handed to: [`Settings`] and
/// the overrides of [`Target`] (here), the flags of `cli::SettingsArgs` (`cli.rs`), and
/// `SETTINGS`, `range`, `Settings::or_defaults` and `Settings::values` (`settings.rs`), from
/// which compilation checks ranges and pasted tokens, and the README's settings table is
/// written. Adding a setting is adding an entry here, then giving its compiled value a meaning
/// in `compile.rs`.
macro_rules! for_each_setting {
    ($consumer:ident ! $({ $($before:tt)* })?) => {
        $consumer! { $({ $($before)* })?
            {
                key: api_url, env: "ORCHESTRATOR_API_URL", flag: "api-url",
                type: String, parse: [],
                range: [],
                default: ($crate::config::model::DEFAULT_API_URL.to_owned()),
                per_target: true,
                file: {
                    /// Base URL of the GitHub REST API. Default `https://api.github.com`; for GitHub Enterprise
                    /// Server use `https://HOST/api/v3`. Plain `http://` is accepted only for loopback addresses
                    /// (a local stand-in for testing).
                    #[schemars(title = "GitHub API URL", pattern(API_URL_PATTERN))]
                },
                target: {
                    /// Base URL of the GitHub REST API for this target, overriding `defaults.api_url`: https,
                    /// or plain http for loopback addresses only.
                    #[schemars(title = "GitHub API URL", pattern(API_URL_PATTERN))]
                },
                cli: {
                    /// Base URL of the GitHub API (e.g. https://HOST/api/v3 for GitHub Enterprise Server).
                    #[arg(value_name = "URL")]
                },
            }
            {
                key: api_version, env: "ORCHESTRATOR_API_VERSION", flag: "api-version",
                type: String, parse: [],
                range: [],
                default: ($crate::config::model::DEFAULT_API_VERSION.to_owned()),
                per_target: true,
                file: {
                    /// Value of the `X-GitHub-Api-Version` header, a date. Default `2022-11-28`.
                    #[schemars(title = "GitHub API version", pattern(API_VERSION_PATTERN))]
                },
                target: {
                    /// The `X-GitHub-Api-Version` header for this target, a date such as `2022-11-28`,
                    /// overriding `defaults.api_version`. With `2026-03-10`, workflow_dispatch always answers
                    /// with the run's id.
                    #[schemars(title = "GitHub API version", pattern(API_VERSION_PATTERN))]
                },
                cli: {
                    /// Value of the X-GitHub-Api-Version header.
                    #[arg(value_name = "DATE")]
                },
            }
            {
                key: concurrency, env: "ORCHESTRATOR_CONCURRENCY", flag: "concurrency",
                type: usize, parse: [],
                range: [1 ..= 100,
                    "concurrency {value} is outside {min} to {max}",
                    "GitHub asks for at most 100 requests in flight; 10 is a good default"],
                default: ($crate::policy::DEFAULT_CONCURRENCY),
                per_target: false,
                file: {
                    /// How many requests may be in flight at once, 1 to 100 (GitHub asks clients to stay at or
                    /// under 100). Default 10. Applies to the whole run, so it is only read from `defaults`.
                    #[schemars(title = "Requests in flight")]
                },
                target: {},
                cli: {
                    /// Requests in flight at once (1-100).
                    #[arg(value_name = "N")]
                },
            }
            {
                key: timeout_secs, env: "ORCHESTRATOR_TIMEOUT_SECS", flag: "timeout",
                type: Seconds, parse: [Seconds::parse_flag],
                range: [1 ..= 600,
                    "timeout of {value} s is outside {min} to {max}",
                    "30 is a good default"],
                default: (Seconds($crate::config::model::DEFAULT_TIMEOUT)),
                per_target: true,
                file: {
                    /// Seconds to wait for GitHub to answer one request before giving up on it, 1 to 600.
                    /// Default 30.
                    #[schemars(title = "Request timeout (seconds)")]
                },
                target: {
                    /// Seconds to wait for this target's request to be answered, 1 to 600, overriding
                    /// `defaults.timeout_secs`.
                    #[schemars(title = "Request timeout (seconds)")]
                },
                cli: {
                    /// Seconds to wait for one request (or a duration: `500ms`, `2m`).
                    #[arg(value_name = "SECS")]
                },
            }
            {
                key: max_attempts, env: "ORCHESTRATOR_MAX_ATTEMPTS", flag: "max-attempts",
                type: u32, parse: [],
                range: [1 ..= 100,
                    "`{key}` is {value}, outside {min} to {max}",
                    "leave it out to use the default"],
                default: ($crate::policy::DEFAULT_MAX_ATTEMPTS),
                per_target: true,
                file: {
                    /// Attempts per target, the first included, 1 to 100; 1 turns retries off. Default 5.
                    /// Only transient failures (5xx, rate limits, network faults, timeouts) are retried.
                    #[schemars(title = "Attempts per target")]
                },
                target: {
                    /// Attempts for this target, 1 to 100, overriding `defaults.max_attempts`.
                    #[schemars(title = "Attempts")]
                },
                cli: {
                    /// Attempts per target, the first included (1 turns retries off). Default 5.
                    #[arg(value_name = "N")]
                },
            }
            {
                key: deadline_secs, env: "ORCHESTRATOR_DEADLINE_SECS", flag: "deadline",
                type: Seconds, parse: [Seconds::parse_flag],
                range: [1 ..= 86400,
                    "`{key}` is {value}, outside {min} to {max}",
                    "leave it out to use the default"],
                default: (Seconds($crate::policy::DEFAULT_DEADLINE)),
                per_target: true,
                file: {
                    /// Seconds from a target's first attempt after which no retry starts, 1 to 86400. A wait
                    /// GitHub asks for that would pass it fails the target at once, with that reason. Default
                    /// 300.
                    #[schemars(title = "Retry deadline (seconds)")]
                },
                target: {
                    /// Retry deadline for this target in seconds, 1 to 86400, overriding
                    /// `defaults.deadline_secs`.
                    #[schemars(title = "Retry deadline (seconds)")]
                },
                cli: {
                    /// Seconds from a target's first attempt after which no retry starts (or a duration:
                    /// `500ms`, `2m`). Default 300.
                    #[arg(value_name = "SECS")]
                },
            }
            {
                key: backoff_ms, env: "ORCHESTRATOR_BACKOFF_MS", flag: "backoff-ms",
                type: u64, parse: [],
                range: [1 ..= 60000,
                    "`{key}` is {value}, outside {min} to {max}",
                    "leave it out to use the default"],
                default: (1000),
                per_target: false,
                file: {
                    /// The first retry's longest backoff in milliseconds, 1 to 60000; it doubles for each later
                    /// retry (up to 30 s) and is fully jittered. Default 1000.
                    #[schemars(title = "Backoff (milliseconds)")]
                },
                target: {},
                cli: {
                    /// The first retry's longest backoff in milliseconds; doubles per retry (up to 30 s), fully
                    /// jittered. Default 1000.
                    #[arg(value_name = "MS")]
                },
            }
            {
                key: rate_limit, env: "ORCHESTRATOR_RATE_LIMIT", flag: "rate-limit",
                type: String, parse: [],
                range: [],
                default: ("80/min,500/h".to_owned()),
                per_target: false,
                file: {
                    /// Request starts allowed per API host and identity (token, or App installation), shared
                    /// by all targets on them. One window (`80/min`, `5/s`, `80/60s`, `500/h`, `10/500ms`),
                    /// several enforced together (`80/min,500/h`, the default: GitHub's documented ceilings
                    /// for content-creating requests), or `unlimited`. Applies to the whole run, so it is only
                    /// read from `defaults`.
                    #[schemars(title = "Rate limit", pattern(RATE_LIMIT_PATTERN))]
                },
                target: {},
                cli: {
                    /// Request starts per API host and identity: `80/min,500/h` (the default; windows
                    /// enforced together), one window such as `80/min`, `5/s`, `500/h`, or `unlimited`.
                    #[arg(value_name = "RATE")]
                },
            }
            {
                key: secondary_wait_secs, env: "ORCHESTRATOR_SECONDARY_WAIT_SECS", flag: "secondary-wait",
                type: Seconds, parse: [Seconds::parse_flag],
                range: [1 ..= 3600,
                    "`{key}` is {value}, outside {min} to {max}",
                    "leave it out to use the default"],
                default: (Seconds($crate::policy::DEFAULT_SECONDARY_WAIT)),
                per_target: false,
                file: {
                    /// Seconds every request on a host and token pauses after a secondary rate limit that does
                    /// not say how long to wait, 1 to 3600. GitHub asks for at least 60, the default.
                    #[schemars(title = "Secondary rate-limit wait (seconds)")]
                },
                target: {},
                cli: {
                    /// Seconds to pause after a secondary rate limit that names no wait (or a duration:
                    /// `500ms`, `2m`; GitHub asks for at least 60, the default).
                    #[arg(value_name = "SECS")]
                },
            }
            {
                key: cancel_on_stop, env: "ORCHESTRATOR_CANCEL_ON_STOP", flag: "cancel-on-stop",
                type: bool, parse: [],
                range: [],
                default: (false),
                per_target: true,
                file: {
                    /// Cancel the workflow runs this run started and knows (a workflow_dispatch run by its
                    /// id, a tracked run once found) when the run is interrupted (Ctrl-C, SIGTERM), reaches
                    /// `--max-duration`, or gives up waiting for a run (`--wait-timeout`, `--queue-timeout`).
                    /// A run already completed is left alone. Default false.
                    #[schemars(title = "Cancel our runs when stopping")]
                },
                target: {
                    /// Cancel this target's workflow run when the run stops before it completed, overriding
                    /// `defaults.cancel_on_stop`.
                    #[schemars(title = "Cancel its run when stopping")]
                },
                cli: {
                    /// Cancel the workflow runs this run started when it is interrupted, reaches
                    /// --max-duration or gives up waiting (`--cancel-on-stop` or `--cancel-on-stop=false`).
                    #[arg(value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
                },
            }
        }
    };
}
pub(crate) use for_each_setting;

/// `Settings`, one field per declared setting and the App, which is set in the file only.
macro_rules! settings_struct {
    ($({
        key: $key:ident, env: $_e:tt, flag: $_f:tt, type: $ty:ty, parse: $_p:tt,
        range: [$($min:literal ..= $max:literal, $_problem:literal, $_help:literal)?],
        default: $_d:tt, per_target: $_t:tt, file: { $(#[$file:meta])* }, target: $_g:tt, cli: $_c:tt,
    })*) => {
        /// Delivery settings. In `defaults` they apply to every target; `ORCHESTRATOR_*` environment
        /// variables and command-line flags override the file.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        #[schemars(title = "Delivery settings")]
        pub struct Settings {
            $(
                $(#[$file])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $(#[schemars(range(min = $min, max = $max))])?
                pub $key: Option<$ty>,
            )*
            /// A GitHub App for every GitHub target that sets no `token_env` of its own.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(title = "GitHub App")]
            pub github_app: Option<Box<GithubApp>>,
        }
    };
}
for_each_setting!(settings_struct!);

/// An upstream repository whose releases trigger its targets.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Source")]
pub struct Source {
    /// The GitHub repository that makes the releases, as `owner/name`. `--source` accepts this
    /// as well as the source's short name.
    #[schemars(title = "Source repository", pattern(REPOSITORY_PATTERN))]
    pub repository: String,
    /// Names of the targets (keys of `targets`) that each release of this source feeds, each
    /// listed once.
    #[schemars(
        title = "Targets fed by this source",
        inner(pattern(NAME_PATTERN)),
        extend("uniqueItems" = true)
    )]
    pub targets: Vec<String>,
}

/// The kind of request a target receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(title = "Target kind")]
pub enum TargetKind {
    /// `POST /repos/{owner}/{repo}/dispatches`: starts workflows that listen for
    /// `on: repository_dispatch`. Needs `repository`, `event_type` and `token_env`; the token
    /// needs `repo` scope (classic) or Contents: write (fine-grained) on the repository.
    #[default]
    RepositoryDispatch,
    /// `POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches`: runs one
    /// workflow that has `on: workflow_dispatch`, and learns the run's id. Needs `repository`,
    /// `workflow` and `token_env`; the token needs Actions: write (fine-grained) or `repo`
    /// scope (classic).
    WorkflowDispatch,
    /// Any HTTP endpoint that is not GitHub's API, such as a Netlify, Vercel or Cloudflare
    /// Pages build hook. Needs `url` or `url_env`; success is any 2xx answer.
    Webhook,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::RepositoryDispatch => "repository_dispatch",
            TargetKind::WorkflowDispatch => "workflow_dispatch",
            TargetKind::Webhook => "webhook",
        }
    }

    /// Whether requests go to GitHub's REST API (and carry its headers and a GitHub token).
    pub fn is_github(self) -> bool {
        self != TargetKind::Webhook
    }
}

/// The HTTP method of a webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schemars(title = "HTTP method")]
pub enum Method {
    #[default]
    Post,
    Put,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

/// A GitHub App that the target authenticates as, instead of a personal token: orchestrator
/// signs a JWT with the App's private key and mints a short-lived installation token, narrowed
/// to the target repositories and shared by every target of the same installation. The App
/// needs Contents: write for repository_dispatch and Actions: write for workflow_dispatch.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "GitHub App")]
pub struct GithubApp {
    /// The App's id (a number) or client id (`Iv1...`).
    #[schemars(title = "App id")]
    pub app_id: AppId,
    /// Name of the environment variable that holds the App's private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Private key variable", pattern(ENV_NAME_PATTERN))]
    pub private_key_env: Option<String>,
    /// Path of a file that holds the App's private key (PEM), if not in a variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Private key file")]
    pub private_key_file: Option<String>,
    /// The installation to use; looked up from each repository when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Installation id")]
    pub installation_id: Option<u64>,
}

/// One token variable, or several to shard over.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TokenEnv {
    One(String),
    Several(Vec<String>),
}

/// Read by what was written (a name or a list), not by trying each variant in turn as
/// `#[serde(untagged)]` would, so a wrong type is said in the user's terms ("expected a
/// variable name or a list of variable names"), not as "data did not match any variant of
/// untagged enum".
impl<'de> Deserialize<'de> for TokenEnv {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = TokenEnv;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a variable name or a list of variable names")
            }
            fn visit_str<E>(self, name: &str) -> Result<TokenEnv, E> {
                Ok(TokenEnv::One(name.to_owned()))
            }
            fn visit_string<E>(self, name: String) -> Result<TokenEnv, E> {
                Ok(TokenEnv::One(name))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<TokenEnv, A::Error> {
                let names =
                    Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(TokenEnv::Several(names))
            }
        }
        deserializer.deserialize_any(Names)
    }
}

fn token_env_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let name = schemars::json_schema!({
        "type": "string",
        "pattern": ENV_NAME_PATTERN,
        "not": { "pattern": TOKEN_PATTERN }
    });
    schemars::json_schema!({
        "title": "Token variable",
        "oneOf": [
            name,
            {
                "type": "array",
                "items": name,
                "minItems": 1,
                "maxItems": 100,
                "uniqueItems": true
            }
        ]
    })
}

impl TokenEnv {
    /// The variable names, in the order written.
    pub fn names(&self) -> Vec<&str> {
        match self {
            TokenEnv::One(name) => vec![name.as_str()],
            TokenEnv::Several(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

/// A webhook header's value: a template, or a secret read from an environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "Header value")]
pub enum HeaderValue {
    /// A template, rendered for each release.
    Template(String),
    /// A secret: the value of an environment variable, never shown.
    Secret(SecretHeader),
}

/// `{ env: NAME }`: a header whose value is a secret.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Secret header")]
pub struct SecretHeader {
    /// Name of the environment variable holding the header's value (a token).
    #[schemars(
        title = "Secret variable",
        pattern(ENV_NAME_PATTERN),
        extend("not" = { "pattern": TOKEN_PATTERN })
    )]
    pub env: String,
}

/// Read by what was written, as [`TokenEnv`] is: a wrong type is "expected a template or
/// `{ env: NAME }`", not serde's "did not match any variant of untagged enum".
impl<'de> Deserialize<'de> for HeaderValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> serde::de::Visitor<'de> for Value {
            type Value = HeaderValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a template or `{ env: NAME }`")
            }
            fn visit_str<E>(self, text: &str) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Template(text.to_owned()))
            }
            fn visit_string<E>(self, text: String) -> Result<HeaderValue, E> {
                Ok(HeaderValue::Template(text))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<HeaderValue, A::Error> {
                let secret =
                    Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(HeaderValue::Secret(secret))
            }
        }
        deserializer.deserialize_any(Value)
    }
}

/// An App id: GitHub shows a number; client ids are strings.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "App id")]
pub enum AppId {
    Number(u64),
    Text(String),
}

/// Read by what was written, as [`TokenEnv`] is: a wrong type is "expected an App id (a
/// number) or a client id (text)", not serde's "did not match any variant of untagged enum".
impl<'de> Deserialize<'de> for AppId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Id;
        impl serde::de::Visitor<'_> for Id {
            type Value = AppId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an App id (a number) or a client id (text)")
            }
            fn visit_u64<E>(self, id: u64) -> Result<AppId, E> {
                Ok(AppId::Number(id))
            }
            fn visit_str<E>(self, id: &str) -> Result<AppId, E> {
                Ok(AppId::Text(id.to_owned()))
            }
            fn visit_string<E>(self, id: String) -> Result<AppId, E> {
                Ok(AppId::Text(id))
            }
        }
        deserializer.deserialize_any(Id)
    }
}

impl std::fmt::Display for AppId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppId::Number(n) => write!(f, "{n}"),
            AppId::Text(t) => f.write_str(t),
        }
    }
}

/// An HMAC-SHA256 signature of a webhook's body, for receivers that verify it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Body signature")]
pub struct Signature {
    /// Name of the environment variable that holds the shared secret.
    #[schemars(title = "Secret variable", pattern(ENV_NAME_PATTERN))]
    pub secret_env: String,
    /// The header that carries `sha256=<hex HMAC-SHA256 of the body>`. Default
    /// `X-Hub-Signature-256` (GitHub's own webhook convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Signature header")]
    pub header: Option<String>,
}

/// `Target`: its own keys, then the settings a target may override, from their declaration.
macro_rules! target_struct {
    ({
        $(#[$attr:meta])*
        pub struct Target { $($fields:tt)* }
    } $({
        key: $key:ident, env: $_e:tt, flag: $_f:tt, type: $ty:ty, parse: $_p:tt,
        range: [$($min:literal ..= $max:literal, $_problem:literal, $_help:literal)?],
        default: $_d:tt, per_target: $per_target:literal, file: $_file:tt,
        target: { $(#[$target:meta])* }, cli: $_c:tt,
    })*) => {
        $(#[$attr])*
        pub struct Target {
            $($fields)*
            $(
                #[cfg($per_target)]
                $(#[$target])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $(#[schemars(range(min = $min, max = $max))])?
                pub $key: Option<$ty>,
            )*
        }

        impl Target {
            /// The settings this target sets for itself, taken out of it.
            pub fn take_settings(&mut self) -> Settings {
                Settings {
                    $($key: {
                        #[cfg($per_target)]
                        let value = self.$key.take();
                        #[cfg(not($per_target))]
                        let value = None;
                        value
                    },)*
                    github_app: None,
                }
            }
        }
    };
}
for_each_setting!(target_struct! {
/// A downstream receiver of dispatches. Which keys it needs depends on `kind`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Target", extend("allOf" = [
    {
        "if": { "properties": { "kind": { "const": "repository_dispatch" } } },
        "then": { "required": ["repository", "event_type"] }
    },
    {
        "if": { "properties": { "kind": { "const": "workflow_dispatch" } }, "required": ["kind"] },
        "then": { "required": ["repository", "workflow"] }
    },
    {
        "if": { "properties": { "kind": { "const": "webhook" } }, "required": ["kind"] },
        "then": { "oneOf": [{ "required": ["url"] }, { "required": ["url_env"] }] }
    }
]))]
pub struct Target {
    /// What kind of request this target receives. Default `repository_dispatch`.
    #[serde(default)]
    #[schemars(title = "Kind")]
    pub kind: TargetKind,
    /// The GitHub repository that receives the event, as `owner/name` (required for
    /// `repository_dispatch` and `workflow_dispatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Target repository", pattern(REPOSITORY_PATTERN))]
    pub repository: Option<String>,
    /// `repository_dispatch`: the event's `event_type`; workflows in the target select on it
    /// with `on: repository_dispatch: types: [...]`. May be a Handlebars template. 1 to 100
    /// characters, both as written and once rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Event type", length(min = 1, max = 100))]
    pub event_type: Option<String>,
    /// Name of the environment variable that holds the token used for this target, e.g.
    /// `WEBSITE_DISPATCH_TOKEN` (letters, digits and `_`, not starting with a digit). Required
    /// for GitHub kinds; for a webhook it is optional and sent as `Authorization: Bearer`.
    /// Only the name is ever written in files or printed; the value is read at run time.
    /// Never put the token itself here.
    ///
    /// A list of names (`[TOKEN_A, TOKEN_B, TOKEN_C]`) shards a large fan-out over several
    /// identities, each with its own rate-limit budget: the targets that name the same list
    /// take its variables in turn, in the order they appear in this file, so the assignment
    /// is the same on every run of the same file (and on `--resume`). Reports name the
    /// variable each target used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "token_env_schema")]
    pub token_env: Option<TokenEnv>,
    /// Authenticate as this GitHub App instead of with `token_env` (for GitHub kinds);
    /// overrides `defaults.github_app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "GitHub App")]
    pub github_app: Option<Box<GithubApp>>,
    /// `repository_dispatch`: the event's `client_payload`, a mapping (at most 10 top-level
    /// keys) whose string values are Handlebars templates, e.g. `version: "{{version}}"`. Each
    /// rendered value is a JSON string; numbers, booleans and nested mappings/lists are kept
    /// as written. The whole request body must stay under 64 KB once rendered. Templates may
    /// call the helpers `if`, `unless`, `each`, `with`, `lookup`, `eq`, `ne`, `gt`, `gte`,
    /// `lt`, `lte`, `and`, `or`, `not`, `len`, `lower`, `upper`, `trim`, `replace`, `default`,
    /// `json`, `raw` and `log`, e.g. `{{default vars.channel "stable"}}` (see the README's
    /// Templates).
    #[serde(default, skip_serializing_if = "Payload::is_empty")]
    #[schemars(
        title = "Client payload",
        with = "Map<String, Value>",
        extend("maxProperties" = 10)
    )]
    pub client_payload: Payload,
    /// `repository_dispatch`: follow the run the event starts. Adds `dispatch_id` to
    /// `client_payload` (so it counts toward the 10 keys), a value unique to this send; after
    /// sending, orchestrator finds the run whose title carries it (the receiving workflow needs
    /// `run-name: ... ${{ github.event.client_payload.dispatch_id }}`), reports its URL, and
    /// with `run --wait` waits for its conclusion. The token also needs Actions: read on the
    /// repository. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Track the run")]
    pub track: Option<bool>,
    /// `workflow_dispatch`: the workflow's file name (e.g. `release.yml`) or numeric id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Workflow", length(min = 1, max = 255))]
    pub workflow: Option<String>,
    /// `workflow_dispatch`: the branch or tag to run the workflow on; a template. Default: the
    /// repository's default branch, looked up once per run.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Git ref")]
    pub git_ref: Option<String>,
    /// `workflow_dispatch`: the workflow's inputs, at most 25; string values are templates.
    /// Every value is sent as a string (`true` as `"true"`), as GitHub's web UI sends it; the
    /// workflow casts it by the input's `type`.
    #[serde(default, skip_serializing_if = "Payload::is_empty")]
    #[schemars(
        title = "Workflow inputs",
        with = "Map<String, Value>",
        extend("maxProperties" = 25)
    )]
    pub inputs: Payload,
    /// `workflow_dispatch`: wait for the triggered run to complete and report its conclusion
    /// (also `run --wait`). A run that does not succeed fails the target. `wait: { job: NAME }`
    /// waits for that one job of the run instead, and the job's conclusion is the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Wait for the run")]
    pub wait: Option<Wait>,
    /// `webhook`: the URL to call (https; http only for loopback addresses). Use `url_env`
    /// instead when the URL itself is a secret, as build-hook URLs are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Webhook URL")]
    pub url: Option<String>,
    /// `webhook`: name of the environment variable that holds the URL. Only the URL's host is
    /// ever printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Webhook URL variable", pattern(ENV_NAME_PATTERN))]
    pub url_env: Option<String>,
    /// `webhook`: the HTTP method. Default `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "HTTP method")]
    pub method: Option<Method>,
    /// `webhook`: extra request headers. A value is a template, or `{ env: NAME }` for a
    /// secret read from that environment variable (`PRIVATE-TOKEN: { env: GITLAB_TOKEN }`):
    /// sent marked sensitive, masked like every token, and shown only by its variable's name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(title = "Headers")]
    pub headers: IndexMap<String, HeaderValue>,
    /// `webhook`: the JSON body; string leaves are templates. Default: no body (`{}` is sent
    /// when a signature is asked for, so there is something to sign).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Body")]
    pub body: Option<Box<Value>>,
    /// `webhook`: sign the body with HMAC-SHA256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Signature")]
    pub signature: Option<Box<Signature>>,
    /// Send to this target only for releases that satisfy this condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Condition")]
    pub when: Option<Box<Condition>>,
    /// Targets (by name) this target is sent after: each must have been delivered and, when
    /// its run is waited for (`wait: true`, or `track: true` under `run --wait`), that run
    /// must have succeeded. A need that fails, is skipped or is blocked leaves this target
    /// `blocked`, not sent. Each need must be a target the same sources feed; no cycles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(title = "Needs", extend("uniqueItems" = true))]
    pub needs: Vec<String>,
    /// `false`: this target's failure (or a need that blocks it, or its token variable
    /// unset) is reported but does not fail the run; it is counted as `optional_failed`.
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Required")]
    pub required: Option<bool>,
}
});

/// A target's `wait`: `true` (the whole run) or `{ job: NAME }` (one job of it).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "Wait for the run")]
pub enum Wait {
    /// `true`: wait for the run to complete; `false`: do not wait (unless `run --wait`).
    Run(bool),
    /// Wait for one job of the run, by its name as the run shows it.
    Job(WaitForJob),
}

/// `wait: { job: NAME }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Wait for one job")]
pub struct WaitForJob {
    /// The job's name as the run lists it (its `name:`, or its id in `jobs:` when it has no
    /// name; a matrix job's name includes its values, e.g. `deploy (prod)`).
    #[schemars(title = "Job name", length(min = 1, max = 255))]
    pub job: String,
}

impl Wait {
    /// Whether the run (or its job) is waited for.
    pub fn waits(&self) -> bool {
        !matches!(self, Wait::Run(false))
    }

    /// The job waited for, if one.
    pub fn job(&self) -> Option<&str> {
        match self {
            Wait::Job(wait) => Some(&wait.job),
            Wait::Run(_) => None,
        }
    }
}

/// Read by what was written, as [`TokenEnv`] is: a wrong type is "expected `true`, `false`
/// or `{ job: NAME }`", not serde's "did not match any variant of untagged enum".
impl<'de> Deserialize<'de> for Wait {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Waiting;
        impl<'de> serde::de::Visitor<'de> for Waiting {
            type Value = Wait;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`true`, `false` or `{ job: NAME }`")
            }
            fn visit_bool<E>(self, wait: bool) -> Result<Wait, E> {
                Ok(Wait::Run(wait))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Wait, A::Error> {
                let job =
                    Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Wait::Job(job))
            }
        }
        deserializer.deserialize_any(Waiting)
    }
}

/// The top level of a mapping of JSON values (`client_payload`, `inputs`), its keys in the
/// order written. A plain list, not a hash table: such a mapping has a few keys, it is only
/// ever read in order, and a 10,000-target file holds 10,000 of them. Each key is there once:
/// the parsed tree refuses a repeated key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload(pub Vec<(String, Value)>);

impl Payload {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Read as serde_json's `Map` is (the same type errors, "expected a map"), into a list sized
/// by the mapping.
impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Payload;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E>(self) -> Result<Payload, E> {
                Ok(Payload::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Payload, A::Error> {
                // Bounded: a hint is only a hint.
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Payload(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// A condition on the released version. A target whose condition does not hold is skipped, and
/// the report says why.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Condition")]
pub struct Condition {
    /// A semver requirement such as `>=1.0.0` or `^2`, checked against the version without its
    /// pre-release part (so `1.2.0-rc.1` satisfies `>=1.0.0`; use `prerelease` to exclude it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Version requirement")]
    pub version: Option<String>,
    /// Whether pre-releases (versions such as `1.2.0-rc.1`) trigger this target. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Include pre-releases")]
    pub prerelease: Option<bool>,
    /// Send only when files matching these globs changed between the previous release and
    /// this one (`git diff`, in a checkout of the source repository). Paths are relative to the
    /// repository root; `*` does not cross `/` (`docs/**` is everything under docs, `**/*.md`
    /// every Markdown file); a leading `!` excludes, and the last matching pattern decides. The
    /// previous release is `--previous-version`, or the highest earlier semver tag. A first
    /// release (no earlier tag) is always sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(title = "Changed paths", length(min = 1, max = 100))]
    pub changed: Option<Vec<String>>,
}
