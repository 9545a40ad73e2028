//! Layered delivery settings: the file's `defaults`, then `ORCHESTRATOR_*` environment
//! variables, then command-line flags; a target's own keys win over all of these for that
//! target.
//!
//! Figment handles only settings, never sources or targets, and the environment layer is
//! filtered to the known keys so an unrelated `ORCHESTRATOR_FOO` cannot trip
//! `deny_unknown_fields`.

use super::model::Settings;
use figment::providers::{Env, Serialized};
use figment::{Figment, Provider};
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_API_VERSION: &str = "2022-11-28";
pub use crate::policy::DEFAULT_CONCURRENCY;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// GitHub asks integrators to keep at most 100 requests in flight.
pub const MAX_CONCURRENCY: usize = 100;
pub const ENV_PREFIX: &str = "ORCHESTRATOR_";
const KEYS: &[&str] = &[
    "api_url",
    "api_version",
    "concurrency",
    "timeout_secs",
    "max_attempts",
    "deadline_secs",
    "backoff_ms",
    "rate_limit",
    "secondary_wait_secs",
];

/// The environment layer, as read from the process.
pub fn env() -> Env {
    Env::prefixed(ENV_PREFIX).only(KEYS)
}

/// Merges the layers; the error names the variable or flag whose value is wrong.
pub fn layer(file: &Settings, env: impl Provider, flags: &Settings) -> Result<Settings, String> {
    Figment::from(Serialized::defaults(file))
        .merge(env)
        .merge(Serialized::defaults(flags))
        .extract::<Settings>()
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
            let merged = layer(&file(), env(), &flags).map_err(|e| e.to_string())?;
            assert_eq!(merged.concurrency, Some(30));
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
