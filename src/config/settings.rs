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

/// Every setting that can also come from the environment and a flag: its key in
/// `defaults` (and in [`Settings`]), its flag and its variable (`ORCHESTRATOR_` + the key in
/// capitals, which a test checks). Tests check this table against the model and the command line, so the lists
/// cannot drift.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("api_url", "--api-url", "ORCHESTRATOR_API_URL"),
    ("api_version", "--api-version", "ORCHESTRATOR_API_VERSION"),
    ("concurrency", "--concurrency", "ORCHESTRATOR_CONCURRENCY"),
    ("timeout_secs", "--timeout", "ORCHESTRATOR_TIMEOUT_SECS"),
    (
        "max_attempts",
        "--max-attempts",
        "ORCHESTRATOR_MAX_ATTEMPTS",
    ),
    ("deadline_secs", "--deadline", "ORCHESTRATOR_DEADLINE_SECS"),
    ("backoff_ms", "--backoff-ms", "ORCHESTRATOR_BACKOFF_MS"),
    ("rate_limit", "--rate-limit", "ORCHESTRATOR_RATE_LIMIT"),
    (
        "secondary_wait_secs",
        "--secondary-wait",
        "ORCHESTRATOR_SECONDARY_WAIT_SECS",
    ),
];

/// Named ranges of the numeric settings, used by compilation and shown in messages.
pub mod range {
    use std::ops::RangeInclusive;
    pub const CONCURRENCY: RangeInclusive<u64> = 1..=super::MAX_CONCURRENCY as u64;
    pub const TIMEOUT_SECS: RangeInclusive<u64> = 1..=600;
    pub const MAX_ATTEMPTS: RangeInclusive<u64> = 1..=100;
    pub const DEADLINE_SECS: RangeInclusive<u64> = 1..=86_400;
    pub const BACKOFF_MS: RangeInclusive<u64> = 1..=60_000;
    pub const SECONDARY_WAIT_SECS: RangeInclusive<u64> = 1..=3600;
}

/// The environment variable of a setting's key.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The environment layer, as read from the process.
pub fn env() -> Env {
    let keys: Vec<&str> = SETTINGS.iter().map(|(key, _, _)| *key).collect();
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
    for (key, flag, variable) in SETTINGS {
        if flags.find_value(key).is_ok() {
            origins.0.push((key, flag));
        } else if env.find_value(key).is_ok() {
            origins.0.push((key, variable));
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
            if crate::secret::holds_token(&text) {
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
