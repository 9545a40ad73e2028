//! Template errors in the user's terms: what is wrong, where, and the fix for that kind of
//! error (Handlebars speaks of its parser's rules and says little about our variables).

use super::helpers::HELPERS;
use crate::diagnostic::closest;
use crate::release::CI_SOURCES;
use handlebars::{RenderError, RenderErrorReason, TemplateError};
use serde_json::Value;

/// What went wrong and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Explained {
    pub(super) message: String,
    pub(super) help: String,
}

fn explained(message: String, help: impl Into<String>) -> Explained {
    Explained {
        message,
        help: help.into(),
    }
}

const SYNTAX_HELP: &str = "templates use Handlebars syntax, e.g. `{{version}}` or `{{#if is_prerelease}}…{{/if}}`; write `\\{{` for literal braces";

/// Why `source` does not compile: the tag or block at fault, read from the source itself, or
/// else where Handlebars stopped.
pub(super) fn syntax(source: &str, err: &TemplateError) -> Explained {
    let reason = tags(source).unwrap_or_else(|| match err.reason() {
        handlebars::TemplateErrorReason::InvalidSyntax(_) => match err.pos() {
            Some((line, col)) => {
                format!("something at line {line}, col {col} is not a Handlebars expression")
            }
            None => "something is not a Handlebars expression".into(),
        },
        other => other.to_string(),
    });
    explained(format!("template does not compile: {reason}"), SYNTAX_HELP)
}

/// The first tag that is not closed, or block that is not closed or closed out of turn.
fn tags(source: &str) -> Option<String> {
    let mut open: Vec<(String, (usize, usize))> = Vec::new();
    let mut at = 0;
    while let Some(found) = source[at..].find("{{") {
        let start = at + found;
        if source[..start].ends_with('\\') {
            at = start + 2;
            continue;
        }
        let pos = line_col(source, start);
        let closing = if source[start..].starts_with("{{!--") {
            "--}}"
        } else if source[start..].starts_with("{{{") {
            "}}}"
        } else {
            "}}"
        };
        let Some(len) = source[start + 2..].find(closing) else {
            let written = source[start..].lines().next().unwrap_or_default();
            let written: String = written
                .trim_end()
                .trim_end_matches('}')
                .chars()
                .take(30)
                .collect();
            return Some(format!(
                "expected a `{closing}` to close `{written}` (line {}, col {})",
                pos.0, pos.1
            ));
        };
        let inner = source[start + 2..start + 2 + len].trim_start_matches(['{', '~']);
        at = start + 2 + len + closing.len();
        if let Some(name) = inner
            .strip_prefix('#')
            .filter(|n| !n.starts_with(['>', '*']))
        {
            open.push((word(name), pos));
        } else if let Some(name) = inner.strip_prefix('/') {
            let name = word(name);
            match open.pop() {
                None => {
                    return Some(format!(
                        "`{{{{/{name}}}}}` at line {}, col {} closes a block that was never opened",
                        pos.0, pos.1
                    ))
                }
                Some((opened, (l, c))) if opened != name => {
                    return Some(format!("`{{{{/{name}}}}}` at line {}, col {} closes `{{{{#{opened}}}}}`, opened at line {l}, col {c}; close it with `{{{{/{opened}}}}}` first", pos.0, pos.1));
                }
                Some(_) => {}
            }
        }
    }
    open.pop().map(|(name, (l, c))| {
        format!("unclosed `{{{{#{name}}}}}` block opened at line {l}, col {c}; end it with `{{{{/{name}}}}}`")
    })
}

/// The block name in a tag (`if` in `#if x`, after its mark).
fn word(tag: &str) -> String {
    tag.split(|c: char| c.is_whitespace() || c == '~' || c == '}')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn line_col(source: &str, at: usize) -> (usize, usize) {
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Why a render failed, for the release in `data` (the template's context).
pub(super) fn render(err: &RenderError, data: &Value, listed: &[String]) -> Explained {
    match err.reason() {
        RenderErrorReason::MissingVariable(Some(name)) => missing(name, data, listed),
        RenderErrorReason::MissingVariable(None) => explained(
            "template reads a value that does not exist".into(),
            variables_help(),
        ),
        RenderErrorReason::HelperNotFound(name) => unknown_helper(name),
        RenderErrorReason::ParamNotFoundForIndex(helper, _) => explained(
            format!("`{helper}` is missing a value to work on"),
            format!("give `{helper}` its values, e.g. `{{{{#if (eq vars.channel \"stable\")}}}}…{{{{/if}}}}`"),
        ),
        RenderErrorReason::Other(message) => explained(
            format!("template does not render: {message}"),
            helpers_help(),
        ),
        reason => explained(format!("template does not render: {reason}"), helpers_help()),
    }
}

fn helpers_help() -> String {
    format!(
        "the helpers are {} (see the README's Templates)",
        quoted(HELPERS)
    )
}

fn variables_help() -> String {
    format!(
        "templates can use {}; pass your own values with `--set key=value` and use `{{{{vars.key}}}}`",
        super::VARIABLES.join(", ")
    )
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_helper(name: &str) -> Explained {
    let message = match closest(name, HELPERS.iter().copied()) {
        Some(near) => {
            format!("template calls `{name}`, which is not a helper; did you mean `{near}`?")
        }
        None => format!("template calls `{name}`, which is not a helper"),
    };
    explained(message, helpers_help())
}

/// The semver parts, which exist only when the version is semver.
const SEMVER_PARTS: &[&str] = &["major", "minor", "patch", "prerelease", "build"];

fn missing(name: &str, data: &Value, listed: &[String]) -> Explained {
    if SEMVER_PARTS.contains(&name) {
        let version = data
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return explained(
            format!("template uses `{name}`, which exists only for semver versions (`1.2.3`), and `{version}` is not one"),
            "use `{{version}}` for the version as given, or send this target only semver releases with a `when.version` condition (e.g. `when: { version: \">=1.0.0\" }`)",
        );
    }
    if let Some(field) = name.strip_prefix("ci.") {
        return missing_ci(name, field);
    }
    if let Some(key) = name.strip_prefix("vars.") {
        return explained(
            format!("template uses `{name}`, and no `--set {key}=…` gave it a value"),
            format!("pass `--set {key}=VALUE`, or give it a default: `{{{{default vars.{key} \"stable\"}}}}`"),
        );
    }
    if let Some(var) = name.strip_prefix("env.") {
        if listed.iter().any(|l| l == var) {
            return explained(
                format!("template uses `{name}`, and {var} is not set"),
                format!("set {var} where orchestrator runs (in a workflow, under the step's `env:`), or preview with `run --dry-run`, which shows a placeholder"),
            );
        }
        return explained(
            format!("template uses `{name}`, which is not in the file's `env:` list"),
            format!("to let templates read it, list it at the top of the file: `env: [{var}]` (never a token: a name such as `*_TOKEN` is refused)"),
        );
    }
    if HELPERS.contains(&name) {
        return explained(
            format!("template uses the helper `{name}` without a value"),
            format!("give it one, e.g. `{{{{{name} version}}}}`"),
        );
    }
    let message = match closest(
        name,
        super::VARIABLES.iter().copied().filter(|v| *v != name),
    ) {
        Some(near) => {
            format!("template uses `{name}`, which is not a known variable; did you mean `{near}`?")
        }
        None => format!("template uses `{name}`, which is not a known variable"),
    };
    explained(message, variables_help())
}

fn missing_ci(name: &str, field: &str) -> Explained {
    match CI_SOURCES.iter().find(|(f, _)| *f == field) {
        Some((_, vars)) => explained(
            format!("template uses `{name}`, which is read from {vars}, and that is not set here"),
            format!("GitHub Actions sets {vars}; outside Actions set it yourself (`{}=…`), or preview with `run --dry-run`, which shows a placeholder", vars.split(',').next().unwrap_or(vars)),
        ),
        None => {
            let fields = CI_SOURCES.iter().map(|(f, _)| *f);
            let message = match closest(field, fields) {
                Some(near) => format!("template uses `{name}`, which is not a known variable; did you mean `ci.{near}`?"),
                None => format!("template uses `{name}`, which is not a known variable"),
            };
            explained(message, variables_help())
        }
    }
}
