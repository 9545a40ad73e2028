//! `{{env.NAME}}`: the environment variables a file lists under `env:`, and nothing else.
//!
//! Templates never see the process environment: the planner reads each listed variable through
//! the lookup the edge hands in (as it reads tokens) and puts it in the context. A name that
//! looks like a secret's, or a value that looks like a token, is refused, so a template cannot
//! send a token by accident; tokens go in `token_env`.

use crate::diagnostic::{Code, Diagnostic};
use serde_json::{Map, Value};

/// Words that mark a variable as a secret wherever they stand in its name.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "CREDENTIALS",
];
/// Words that mark a variable as a secret at the end of its name (`DEPLOY_KEY`, `GH_PAT`).
const SECRET_ENDINGS: &[&str] = &["KEY", "PAT"];

/// At most this many variables may be listed.
pub const MAX_ENV: usize = 100;

/// Why `name` may not be listed under `env:`, as a problem at `env[index]`.
pub(super) fn name_problem(index: usize, name: &str) -> Option<Diagnostic> {
    let path = format!("env[{index}]");
    let valid = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || crate::secret::looks_like_token(name) {
        // Not quoted: what does not read as a name may be a pasted secret.
        return Some(
            Diagnostic::error(
                Code::InvalidValue,
                path,
                "this is not an environment variable name (its value is not shown, in case it is a secret)",
            )
            .with_help("list names of variables, e.g. `env: [RELEASE_NAME, PR_NUMBER]`"),
        );
    }
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').filter(|w| !w.is_empty()).collect();
    let secret = words.iter().any(|w| SECRET_WORDS.contains(w))
        || words.last().is_some_and(|w| SECRET_ENDINGS.contains(w));
    secret.then(|| {
        Diagnostic::error(
            Code::InvalidValue,
            path,
            format!("`{name}` looks like the name of a secret, which templates may not read"),
        )
        .with_help("a token goes in a target's `token_env` (sent as a header, never in a payload); remove it from `env:`")
    })
}

/// How an unset listed variable shows in the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unset {
    /// Left out: a template that reads it fails (a real run).
    Missing,
    /// A marked placeholder, `<env.NAME: unset>` (a dry run).
    Placeholder,
    /// A sample value, `sample-NAME` (`validate`, which reads no environment).
    Sample,
}

/// The `env` part of a release's context: each listed variable read through `lookup`. A
/// value that looks like a token is refused (at `env[index]`, never shown).
pub fn context(
    names: &[String],
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: Unset,
    problems: &mut Vec<Diagnostic>,
) -> Map<String, Value> {
    let mut env = Map::new();
    for (index, name) in names.iter().enumerate() {
        let value = match lookup(name).filter(|v| !v.is_empty()) {
            Some(value) if crate::secret::holds_token(&value) => {
                problems.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("env[{index}]"),
                        format!("the value of `{name}` looks like a token (it is not shown), which templates may not read"),
                    )
                    .with_help("a token goes in a target's `token_env`; remove the variable from `env:` or give it a value that is not a secret"),
                );
                continue;
            }
            Some(value) => value,
            None => match unset {
                Unset::Missing => continue,
                Unset::Placeholder => placeholder(name),
                Unset::Sample => format!("sample-{name}"),
            },
        };
        env.insert(name.clone(), Value::String(value));
    }
    env
}

/// What a dry run shows for an unset listed variable.
pub fn placeholder(name: &str) -> String {
    format!("<env.{name}: unset>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_secrets_are_refused_and_ordinary_names_pass() {
        for name in [
            "GITHUB_TOKEN",
            "NPM_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "DEPLOY_KEY",
            "GH_PAT",
            "DB_PASSWORD",
            "token",
        ] {
            assert!(name_problem(0, name).is_some(), "{name}");
        }
        for name in ["RELEASE_NAME", "PR_NUMBER", "KEYBOARD", "CHANNEL"] {
            assert!(name_problem(0, name).is_none(), "{name}");
        }
        let pasted = name_problem(2, "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB").unwrap();
        assert!(!pasted.message.contains("ghp_"), "{}", pasted.message);
    }

    #[test]
    fn a_value_that_looks_like_a_token_is_refused_without_being_shown() {
        let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let names = ["RELEASE_NAME".to_owned(), "NOTES".to_owned()];
        let lookup = |n: &str| Some(if n == "NOTES" { token } else { "Big one" }.to_owned());
        let mut problems = Vec::new();
        let env = context(&names, &lookup, Unset::Missing, &mut problems);
        assert_eq!(env.get("RELEASE_NAME"), Some(&Value::from("Big one")));
        assert!(!env.contains_key("NOTES"));
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].message.contains(token));
    }
}
