//! Layered delivery settings: the file's `defaults`, then `ORCHESTRATOR_*` environment
//! variables, then command-line flags; a target's own keys win over all of these for that
//! target.
//!
//! Figment handles only settings, never sources or targets, and the environment layer is
//! filtered to the known keys so an unrelated `ORCHESTRATOR_FOO` cannot trip
//! `deny_unknown_fields`.

use super::model::Settings;
use super::seconds::Seconds;
use figment::providers::{Env, Serialized};
use figment::{Figment, Provider};
use std::ops::RangeInclusive;
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_API_VERSION: &str = "2022-11-28";
pub use crate::policy::DEFAULT_CONCURRENCY;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// GitHub asks integrators to keep at most 100 requests in flight.
pub const MAX_CONCURRENCY: usize = *range::concurrency.end() as usize;
pub const ENV_PREFIX: &str = "ORCHESTRATOR_";

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
/// Everything else is generated from this list by the macros it is handed to:
/// [`super::model::Settings`] and the overrides of [`super::model::Target`] (`model.rs`), the
/// flags of [`crate::cli::SettingsArgs`] (`cli.rs`), and [`SETTINGS`], [`range`],
/// [`Settings::or_defaults`] and [`Settings::values`] (here), from which compilation checks
/// ranges and pasted tokens, and the README's settings table is written. Adding a setting is
/// adding an entry here, then giving its compiled value a meaning in `compile.rs`.
macro_rules! for_each_setting {
    ($consumer:ident ! $({ $($before:tt)* })?) => {
        $consumer! { $({ $($before)* })?
            {
                key: api_url, env: "ORCHESTRATOR_API_URL", flag: "api-url",
                type: String, parse: [],
                range: [],
                default: ($crate::config::settings::DEFAULT_API_URL.to_owned()),
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
                default: ($crate::config::settings::DEFAULT_API_VERSION.to_owned()),
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
                default: (Seconds($crate::config::settings::DEFAULT_TIMEOUT)),
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
        }
    };
}
pub(crate) use for_each_setting;

/// One setting as the table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Its key in `defaults` (and in [`Settings`]).
    pub key: &'static str,
    /// Its flag, `--` included.
    pub flag: &'static str,
    /// Its variable: `ORCHESTRATOR_` and the key in capitals (a test checks).
    pub env: &'static str,
    /// What values are allowed, when only some numbers are.
    pub range: Option<RangeInclusive<u64>>,
    /// The message and help when a value is outside `range`: `{key}`, `{value}`, `{min}` and
    /// `{max}` are filled in.
    pub problem: &'static str,
    pub help: &'static str,
    /// Whether a target may set its own.
    pub per_target: bool,
}

impl Setting {
    /// What is wrong with `value` at `at`, when it lies outside the range.
    pub fn range_problem(&self, value: &dyn SettingValue) -> Option<(String, &'static str)> {
        let range = self.range.as_ref()?;
        if value.within(range) {
            return None;
        }
        let message = self
            .problem
            .replace("{key}", self.key)
            .replace("{value}", &value.shown())
            .replace("{min}", &range.start().to_string())
            .replace("{max}", &range.end().to_string());
        Some((message, self.help))
    }
}

/// What compilation asks of any setting's value, whatever its type.
pub trait SettingValue {
    /// The value when it is text, which a pasted token could be.
    fn text(&self) -> Option<&str> {
        None
    }
    /// Whether the value lies in a range.
    fn within(&self, _: &RangeInclusive<u64>) -> bool {
        true
    }
    /// The value as a message shows it.
    fn shown(&self) -> String {
        String::new()
    }
}

impl SettingValue for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

macro_rules! counted {
    ($($ty:ty),*) => {$(
        impl SettingValue for $ty {
            fn within(&self, range: &RangeInclusive<u64>) -> bool {
                u64::try_from(*self).is_ok_and(|n| range.contains(&n))
            }
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
counted!(u32, u64, usize);

impl SettingValue for Seconds {
    fn within(&self, range: &RangeInclusive<u64>) -> bool {
        Seconds::within(*self, range)
    }
    fn shown(&self) -> String {
        Seconds::shown(*self)
    }
}

/// The first form when an optional part of the declaration is there, the second when not.
macro_rules! given {
    (; $otherwise:expr) => {
        $otherwise
    };
    ($value:expr; $otherwise:expr) => {
        $value
    };
}

/// From the declaration: the table, the named ranges, and each value with its row.
macro_rules! settings_table {
    ($({
        key: $key:ident, env: $env:literal, flag: $flag:literal, type: $_t:ty, parse: $_p:tt,
        range: [$($min:literal ..= $max:literal, $problem:literal, $help:literal)?],
        default: $default:tt, per_target: $per_target:literal, file: $_f:tt, target: $_g:tt, cli: $_c:tt,
    })*) => {
        /// Every setting that can also come from the environment and a flag, in the order
        /// declared (see [`for_each_setting`]).
        pub const SETTINGS: &[Setting] = &[$(Setting {
            key: stringify!($key),
            flag: concat!("--", $flag),
            env: $env,
            range: given!($(Some($min..=$max))?; None),
            problem: given!($($problem)?; ""),
            help: given!($($help)?; ""),
            per_target: $per_target,
        }),*];

        /// Named ranges of the numeric settings, by key.
        #[allow(non_upper_case_globals)]
        pub mod range {
            use std::ops::RangeInclusive;
            $($(pub const $key: RangeInclusive<u64> = $min..=$max;)?)*
        }

        impl Settings {
            /// Every setting unset here set to its declared default.
            pub fn or_defaults(&self) -> Settings {
                Settings {
                    $($key: self.$key.clone().or_else(|| Some($default)),)*
                    github_app: self.github_app.clone(),
                }
            }

            /// Each setting's row in [`SETTINGS`] and its value, when set, in the table's order.
            pub fn values(&self) -> impl Iterator<Item = (&'static Setting, &dyn SettingValue)> {
                let values: [Option<&dyn SettingValue>; SETTINGS.len()] =
                    [$(self.$key.as_ref().map(|v| v as &dyn SettingValue)),*];
                SETTINGS.iter().zip(values).filter_map(|(row, value)| Some((row, value?)))
            }
        }
    };
}
for_each_setting!(settings_table!);

/// The README's table of settings: each key with its variable and its flag.
pub fn markdown_table() -> String {
    let mut table = String::from("| `defaults` key | environment | flag |\n|---|---|---|\n");
    for setting in SETTINGS {
        let row = format!(
            "| `{}` | `{}` | `{}` |\n",
            setting.key, setting.env, setting.flag
        );
        table.push_str(&row);
    }
    table
}

/// The environment variable of a setting's key.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The environment layer, as read from the process.
pub fn env() -> Env {
    let keys: Vec<&str> = SETTINGS.iter().map(|setting| setting.key).collect();
    Env::prefixed(ENV_PREFIX).only(&keys)
}

/// Where each setting that did not come from the file came from: `--concurrency` or
/// `ORCHESTRATOR_CONCURRENCY`, by key. A problem with such a value is reported there, never at
/// a line of the file it did not come from.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Origins(Vec<(&'static str, &'static str)>);

impl Origins {
    /// The flag or variable that set `key`, if one did.
    pub fn of(&self, key: &str) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, origin)| *origin)
    }

    /// The origin of a diagnostic's key path (`defaults.concurrency`, ...), if a flag or a
    /// variable set that key.
    pub fn of_path(&self, path: &str) -> Option<&'static str> {
        let rest = path.strip_prefix("defaults.")?;
        let key = rest.split(['.', '[']).next()?;
        self.of(key)
    }
}

/// Merges the layers; the error names the variable or flag whose value is wrong.
pub fn layer(
    file: &Settings,
    env: impl Provider,
    flags: &Settings,
) -> Result<(Settings, Origins), String> {
    let env = Figment::from(env);
    let flags = Figment::from(Serialized::defaults(flags));
    let mut origins = Origins::default();
    for setting in SETTINGS {
        if flags.find_value(setting.key).is_ok() {
            origins.0.push((setting.key, setting.flag));
        } else if env.find_value(setting.key).is_ok() {
            origins.0.push((setting.key, setting.env));
        }
    }
    Figment::from(Serialized::defaults(file))
        .merge(env)
        .merge(flags)
        .extract::<Settings>()
        .map(|settings| (settings, origins))
        .map_err(|err| err.into_iter().map(describe).collect::<Vec<_>>().join("; "))
}

/// Names the exact variable or flag: figment's own text says "`ORCHESTRATOR_` environment
/// variable(s)" and leaves the user to guess which. A value from the environment is never
/// quoted (a token pasted into the wrong variable must not reach a CI log); the user knows
/// what they set, and the message says what was expected instead.
fn describe(err: figment::Error) -> String {
    let from_env = err
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.contains("environment"));
    match err.path.last() {
        Some(key) if from_env => format!(
            "{ENV_PREFIX}{}: {}",
            key.to_ascii_uppercase(),
            unquoted(&err.kind)
        ),
        Some(key) => format!("{key}: {}", err.kind),
        None if from_env => unquoted(&err.kind),
        None => err.to_string(),
    }
}

/// What is wrong with a value, without the value.
fn unquoted(kind: &figment::error::Kind) -> String {
    use figment::error::{Actual, Kind};
    let what = |actual: &Actual| match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) | Actual::Bytes(_) => "text",
        _ => "a value of another type",
    };
    let hidden = "its value is not shown";
    match kind {
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {} ({hidden})", what(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!(
                "expected {expected}, found {} out of range or not allowed ({hidden})",
                what(actual)
            )
        }
        Kind::InvalidLength(len, expected) => format!("expected {expected}, found {len} items"),
        Kind::UnknownVariant(_, expected) => {
            format!("expected one of {} ({hidden})", expected.join(", "))
        }
        other => {
            let text = other.to_string();
            let token = text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(crate::secret::looks_like_token);
            if token {
                format!("not a valid value ({hidden})")
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
// figment's Jail API returns its large error type by value; that is its design, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    fn file() -> Settings {
        Settings {
            api_url: Some("https://ghe.example.com/api/v3".into()),
            concurrency: Some(5),
            ..Settings::default()
        }
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORCHESTRATOR_CONCURRENCY", "20");
            jail.set_env("ORCHESTRATOR_API_VERSION", "2026-03-10");
            jail.set_env("ORCHESTRATOR_UNRELATED", "ignored");
            let flags = Settings {
                concurrency: Some(30),
                ..Settings::default()
            };
            let (merged, origins) = layer(&file(), env(), &flags).map_err(|e| e.to_string())?;
            assert_eq!(merged.concurrency, Some(30));
            assert_eq!(origins.of("concurrency"), Some("--concurrency"));
            assert_eq!(origins.of("api_version"), Some("ORCHESTRATOR_API_VERSION"));
            assert_eq!(origins.of("api_url"), None, "from the file");
            assert_eq!(
                origins.of_path("defaults.concurrency"),
                Some("--concurrency")
            );
            assert_eq!(merged.api_version.as_deref(), Some("2026-03-10"));
            assert_eq!(
                merged.api_url.as_deref(),
                Some("https://ghe.example.com/api/v3")
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_env_value_names_the_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORCHESTRATOR_CONCURRENCY", "many");
            let err = layer(&file(), env(), &Settings::default()).unwrap_err();
            assert!(err.contains("ORCHESTRATOR_CONCURRENCY"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_token_in_a_setting_variable_is_not_echoed() {
        for token in [
            "0123456789abcdef0123456789abcdef01234567",
            "1234567890123456789012345678901234567890",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        ] {
            figment::Jail::expect_with(|jail| {
                jail.set_env("ORCHESTRATOR_CONCURRENCY", token);
                jail.set_env("ORCHESTRATOR_RATE_LIMIT", token);
                let err = layer(&file(), env(), &Settings::default()).unwrap_err();
                assert!(err.contains("ORCHESTRATOR_CONCURRENCY"), "{err}");
                for start in 0..token.len() - 10 {
                    let fragment = &token[start..start + 10];
                    assert!(!err.contains(fragment), "{fragment} in {err}");
                }
                Ok(())
            });
        }
    }
}
