//! Problems found in a configuration or a plan, each tied to a place in the file.
//!
//! Everything that can be wrong with user input is collected as a [`Diagnostic`] rather than
//! returned as the first error, so one run of `validate` (or a failed plan) shows all of them.

use serde::Serialize;
use std::fmt;

/// How bad a problem is: errors stop a run, warnings only stop `validate --strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// Declares [`Code`] with its stable names and [`Code::ALL`] from one list, so a new code is
/// in `ALL` (and in every test derived from it, such as the fixture table's) by being declared.
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $code:ident => $name:literal,)*) => {
        /// What kind of problem it is; stable names for `--output json` and for tests.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $($(#[doc = $doc])* $code,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$code),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => $name,)*
                }
            }
        }
    };
}

codes! {
    /// The file is not valid YAML (or not UTF-8, or empty).
    Syntax => "syntax",
    /// A key the format does not know (usually a typo).
    UnknownKey => "unknown_key",
    /// A required key is absent.
    MissingKey => "missing_key",
    /// The same key appears twice in one mapping.
    DuplicateKey => "duplicate_key",
    /// A source lists the same target twice.
    DuplicateTarget => "duplicate_target",
    /// Two sources have the same repository, so `--source owner/name` cannot choose.
    DuplicateSource => "duplicate_source",
    /// A source or target name that cannot be used on the command line or in key paths.
    InvalidName => "invalid_name",
    /// A value of the wrong type or outside its allowed values.
    InvalidValue => "invalid_value",
    /// `version:` is not a format version this build understands.
    UnsupportedVersion => "unsupported_version",
    /// A source lists a target that is not defined.
    UnknownTarget => "unknown_target",
    /// A target that no source feeds.
    UnusedTarget => "unused_target",
    /// A source that feeds no target.
    EmptySource => "empty_source",
    /// A repository that is not a valid GitHub `owner/name`.
    InvalidRepository => "invalid_repository",
    /// `token_env` is not a usable environment variable name.
    InvalidTokenEnv => "invalid_token_env",
    /// `api_url` is not a usable https URL.
    InvalidUrl => "invalid_url",
    /// A `when.version` that is not a semver requirement, or a condition the version can't meet.
    InvalidCondition => "invalid_condition",
    /// A Handlebars template that does not compile.
    Template => "template",
    /// A template that compiles but fails to render (e.g. an unknown variable).
    Render => "render",
    /// A rendered request that GitHub would reject for its size or shape.
    PayloadLimit => "payload_limit",
    /// The environment variable holding a target's token is unset or empty.
    MissingToken => "missing_token",
    /// A target's `needs` names a target that is not defined.
    UnknownNeed => "unknown_need",
    /// A target needs a target that a source feeding it does not feed.
    NeedNotFed => "need_not_fed",
    /// Targets that need each other, directly or not.
    NeedsCycle => "needs_cycle",
    /// `cancel_on_stop: true` on a target that never has a run orchestrator knows (a webhook,
    /// a repository_dispatch without `track: true`).
    NoRunToCancel => "no_run_to_cancel",
    /// The file goes past a limit that keeps checking it cheap (nesting depth, alias
    /// expansion); no real configuration comes near one.
    Limit => "limit",
}

/// A 1-based line and column in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Messages may quote the file; past this they are cut, so every problem stays one line.
const MAX_MESSAGE_CHARS: usize = 300;
/// Key paths are shown (not stored) cut to this; a key can be as long as the file.
const MAX_SHOWN_PATH_CHARS: usize = 200;

/// One problem, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// Key path in the file, e.g. `targets.website.client_payload.version`; empty for the
    /// whole file.
    pub path: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The flag or environment variable the value came from (`--concurrency`,
    /// `ORCHESTRATOR_CONCURRENCY`) when not from the file: then the problem has no place in
    /// the file and is never shown at one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'static str>,
}

impl Diagnostic {
    pub fn error(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            path: path.into(),
            location: None,
            message: clip(&message.into(), MAX_MESSAGE_CHARS),
            help: None,
            origin: None,
        }
    }

    pub fn warning(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, path, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Places the problem in the file, unless its value came from a flag or variable.
    pub fn at(mut self, location: Option<Location>) -> Self {
        if self.origin.is_none() {
            self.location = self.location.or(location);
        }
        self
    }

    /// The value came from this flag or environment variable, not from the file.
    pub fn from_origin(mut self, origin: &'static str) -> Self {
        self.origin = Some(origin);
        self.location = None;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The key path as printed: cut, on one line.
    pub fn shown_path(&self) -> String {
        clip(&self.path, MAX_SHOWN_PATH_CHARS)
    }

    /// `file:line:col: error[code] path: message` followed by an indented help line; the form
    /// editors and CI logs recognise.
    pub fn display_in<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayIn { d: self, file }
    }
}

struct DisplayIn<'a> {
    d: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DisplayIn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.d;
        match &d.origin {
            Some(origin) => write!(f, "{origin}")?,
            None => {
                write!(f, "{}", self.file)?;
                if let Some(loc) = d.location {
                    write!(f, ":{}:{}", loc.line, loc.column)?;
                }
            }
        }
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {severity}[{}]", d.code.as_str())?;
        if !d.path.is_empty() && d.origin.is_none() {
            write!(f, " {}", d.shown_path())?;
        }
        write!(f, ": {}", d.message)?;
        if let Some(help) = &d.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Where `diagnostics` are, for the count that ends a list of them: the file, and each flag or
/// variable a problem came from (`dispatch.yaml`, `--concurrency`, `dispatch.yaml and
/// ORCHESTRATOR_CONCURRENCY`), so a problem that is not in the file is not counted "in" it.
pub fn places(file: &str, diagnostics: &[Diagnostic]) -> String {
    let mut places: Vec<&str> = Vec::new();
    for d in diagnostics {
        let place = d.origin.unwrap_or(file);
        if !places.contains(&place) {
            places.push(place);
        }
    }
    if places.is_empty() {
        places.push(file);
    }
    match places.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => places.join(""),
    }
}

/// A value from the file, fit to be quoted in a one-line message: control characters escaped
/// and anything past 60 characters cut, so a hostile value cannot flood or break the output.
pub fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 60;
    // A token pasted where a name or a setting belongs must not reach a CI log.
    if crate::secret::holds_token(value) {
        return "<a value that looks like a token, not shown>".into();
    }
    let mut out = String::new();
    for c in value.chars().take(MAX_CHARS) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if value.chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// At most `max` characters of `text`, with line breaks and other control characters as
/// spaces.
fn clip(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The candidate most like `name`, if any is close enough to be a likely typo: the one "did
/// you mean" of every message (unknown keys, targets, sources, template variables, event
/// types and workflow inputs).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Names are at most 100 characters; anything longer is no typo of one (and the distances
    // cost the product of the lengths, so a hostile candidate is not measured either).
    const MAX_CHARS: usize = 100;
    if name.len() > MAX_CHARS {
        return None;
    }
    candidates
        .into_iter()
        .filter(|c| c.len() <= MAX_CHARS)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        // Jaro-Winkler ranks, but misses swapped letters in short names (`bda` for `bad`).
        .filter(|(score, c)| *score > 0.8 || strsim::damerau_levenshtein(name, c) == 1)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Joins a key onto a key path: `join("targets", "web")` is `targets.web`.
pub fn join(path: &str, key: &str) -> String {
    // One allocation of the right size (`format!` grows its buffer as it goes).
    let mut joined = String::with_capacity(path.len() + 1 + key.len());
    join_into(&mut joined, path, key);
    joined
}

/// [`join`] written into `out` (cleared first): a loop over 10,000 targets reuses one buffer
/// for their key paths, which only a problem turns into a `String`.
pub fn join_into(out: &mut String, path: &str, key: &str) {
    out.clear();
    if !path.is_empty() {
        out.push_str(path);
        out.push('.');
    }
    out.push_str(key);
}

#[cfg(test)]
mod code_tests {
    use super::{closest, Code};

    #[test]
    fn a_likely_typo_gets_the_closest_name_and_a_stranger_none() {
        let keys = ["event_type", "client_payload", "repository"];
        assert_eq!(closest("evnt_type", keys), Some("event_type"));
        assert_eq!(closest("bda", ["bad", "good"]), Some("bad"));
        assert_eq!(closest("zzz", keys), None);
        assert_eq!(closest(&"a".repeat(101), ["a"]), None);
        assert_eq!(closest("aa", [&*"a".repeat(101)]), None);
    }

    #[test]
    fn every_code_is_listed_once_under_its_json_name() {
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }
}
