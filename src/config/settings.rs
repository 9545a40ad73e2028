//! Layered delivery settings: the file's `defaults`, then `ORCHESTRATOR_*` environment
//! variables, then command-line flags; a target's own keys win over all of these for that
//! target.
//!
//! Figment handles only settings, never sources or targets, and the environment layer is
//! filtered to the known keys so an unrelated `ORCHESTRATOR_FOO` cannot trip
//! `deny_unknown_fields`.
//!
//! The settings themselves are declared in `model.rs` (`for_each_setting`); their table, ranges
//! and defaults are generated here from that declaration.

use super::model::{for_each_setting, Settings};
use super::seconds::Seconds;
use figment::providers::{Env, Serialized};
use figment::{Figment, Provider};
use std::ops::RangeInclusive;

pub const ENV_PREFIX: &str = "ORCHESTRATOR_";

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
    /// What its value is, in words ("a whole number"): with `range`, what a bad variable
    /// must be instead.
    pub what: &'static str,
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

/// What a setting's type is, in a user's words: a bad variable says what it must be.
pub trait Described {
    const WHAT: &'static str;
}

impl Described for String {
    const WHAT: &'static str = "text";
}

impl SettingValue for bool {}

impl Described for bool {
    const WHAT: &'static str = "`true` or `false`";
}

impl Described for Seconds {
    const WHAT: &'static str = "a whole number of seconds";
}

macro_rules! whole {
    ($($ty:ty),*) => {$(
        impl Described for $ty {
            const WHAT: &'static str = "a whole number";
        }
    )*};
}
whole!(u32, u64, usize);

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
        key: $key:ident, env: $env:literal, flag: $flag:literal, type: $ty:ty, parse: $_p:tt,
        range: [$($min:literal ..= $max:literal, $problem:literal, $help:literal)?],
        default: $default:tt, per_target: $per_target:literal, file: $_f:tt, target: $_g:tt, cli: $_c:tt,
    })*) => {
        /// Every setting that can also come from the environment and a flag, in the order
        /// declared (see [`super::model::for_each_setting`]).
        pub const SETTINGS: &[Setting] = &[$(Setting {
            key: stringify!($key),
            flag: concat!("--", $flag),
            env: $env,
            range: given!($(Some($min..=$max))?; None),
            problem: given!($($problem)?; ""),
            help: given!($($help)?; ""),
            per_target: $per_target,
            what: <$ty as Described>::WHAT,
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

            /// Unsets the setting `key`: a value with a problem, said, is not used further.
            pub fn clear(&mut self, key: &str) {
                $(if key == stringify!($key) {
                    self.$key = None;
                })*
            }

            /// Each setting read from `layers` on its own, so one bad variable does not hide
            /// the others: a value that does not read is a problem, and `file`'s stands.
            fn extract_each(
                layers: &Figment,
                file: &Settings,
                problems: &mut Vec<figment::Error>,
            ) -> Settings {
                Settings {
                    $($key: match layers.extract_inner::<Option<$ty>>(stringify!($key)) {
                        Ok(value) => value,
                        Err(err) if err.missing() => None,
                        Err(err) => {
                            problems.push(err);
                            file.$key.clone()
                        }
                    },)*
                    github_app: file.github_app.clone(),
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

/// The settings of the file, the environment and the flags, merged; and each variable whose
/// value does not read, as a problem placed at that variable (the file's value stands).
pub struct Layered {
    pub settings: Settings,
    pub origins: Origins,
    pub problems: Vec<crate::diagnostic::Diagnostic>,
}

/// Merges the layers, each setting on its own; a problem names the variable or flag whose
/// value is wrong (figment's own text says "`ORCHESTRATOR_` environment variable(s)" and
/// leaves the user to guess which), and says what it must be. A value from the environment is
/// never quoted: a token pasted into the wrong variable must not reach a CI log.
pub fn layer(file: &Settings, env: impl Provider, flags: &Settings) -> Layered {
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
    let layers = Figment::from(Serialized::defaults(file))
        .merge(env)
        .merge(flags);
    let mut errors = Vec::new();
    let settings = Settings::extract_each(&layers, file, &mut errors);
    let problems = errors
        .into_iter()
        .map(|err| problem(err, &origins))
        .collect();
    Layered {
        settings,
        origins,
        problems,
    }
}

/// A value of a variable (or flag) that does not read, said at the variable.
fn problem(err: figment::Error, origins: &Origins) -> crate::diagnostic::Diagnostic {
    use crate::diagnostic::{Code, Diagnostic};
    let key = err.path.last().cloned().unwrap_or_default();
    let row = SETTINGS.iter().find(|s| s.key == key);
    let origin = origins.of(&key).or(row.map(|s| s.env));
    let expected = row.map_or_else(|| "a value of its type".to_owned(), expected);
    let message = match &err.kind {
        figment::error::Kind::InvalidType(actual, _)
        | figment::error::Kind::InvalidValue(actual, _) => {
            format!(
                "expected {expected}, found {} (its value is not shown)",
                found(actual)
            )
        }
        other => unquoted(other),
    };
    let name = origin.unwrap_or("the setting");
    let d = Diagnostic::error(Code::InvalidValue, format!("defaults.{key}"), message).with_help(
        format!("set {name} to {expected}, or unset it to use the file's value"),
    );
    match origin {
        Some(origin) => d.from_origin(origin),
        None => d,
    }
}

/// What a setting must be: "a whole number from 1 to 100".
fn expected(setting: &Setting) -> String {
    match &setting.range {
        Some(range) => format!("{} from {} to {}", setting.what, range.start(), range.end()),
        None => setting.what.to_owned(),
    }
}

/// What kind of value was found, without the value.
fn found(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) | Actual::Bytes(_) => "text",
        _ => "a value of another type",
    }
}

/// What is wrong with a value, without the value.
fn unquoted(kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    let what = found;
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
            let Layered {
                settings: merged,
                origins,
                problems,
            } = layer(&file(), env(), &flags);
            assert!(problems.is_empty(), "{problems:?}");
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
            jail.set_env("ORCHESTRATOR_TIMEOUT_SECS", "soon");
            let layered = layer(&file(), env(), &Settings::default());
            let said: Vec<String> = layered
                .problems
                .iter()
                .map(|d| d.display_in("dispatch.yaml").to_string())
                .collect();
            assert_eq!(
                said,
                [
                    "ORCHESTRATOR_CONCURRENCY: error[invalid_value]: expected a whole number from 1 to 100, found text (its value is not shown)\n  help: set ORCHESTRATOR_CONCURRENCY to a whole number from 1 to 100, or unset it to use the file's value",
                    "ORCHESTRATOR_TIMEOUT_SECS: error[invalid_value]: expected a whole number of seconds from 1 to 600, found text (its value is not shown)\n  help: set ORCHESTRATOR_TIMEOUT_SECS to a whole number of seconds from 1 to 600, or unset it to use the file's value",
                ]
            );
            assert_eq!(
                layered.settings.concurrency,
                Some(5),
                "the file's value stands"
            );
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
                let problems = layer(&file(), env(), &Settings::default()).problems;
                let err = format!("{problems:?}");
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
