//! `orchestrator init`: a commented starter `dispatch.yaml` that validates as written, and its
//! JSON Schema beside it so an editor completes and documents every key at once.
//!
//! Placeholders are valid values (`your-org/your-app`), so `validate` passes before the user
//! has changed anything; the file is checked with the same compiler before it is written.

use crate::cli::InitArgs;
use crate::config::{self, model::Settings};
use crate::exit::{CliError, Exit};
use crate::plan::{plan, PlanError, PlanMode};
use crate::release::{Release, Version};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Written beside the config; the first line of the config points at it.
pub(crate) const SCHEMA_FILE: &str = "dispatch.schema.json";

const PLACEHOLDER_SOURCE: &str = "your-org/your-app";
const PLACEHOLDER_TARGET: &str = "your-org/your-website";
const DEFAULT_EVENT_TYPE: &str = "upstream-release";

/// What goes into the starter file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Starter {
    pub source_repo: String,
    /// One target per repository, in the order given (at least one).
    pub target_repos: Vec<String>,
    pub event_type: String,
    /// Whether any value is still a placeholder, so the file says to replace it.
    pub placeholders: bool,
}

impl Starter {
    /// The file for `args`; `origin` (the checkout's repository, when its `origin` remote
    /// names one) stands in for an absent `--source-repo`.
    pub(crate) fn from_args(args: &InitArgs, origin: Option<String>) -> Starter {
        let source_repo = args.source_repo.clone().or(origin);
        let target_repos = if args.target_repo.is_empty() {
            vec![PLACEHOLDER_TARGET.to_owned()]
        } else {
            args.target_repo.clone()
        };
        Starter {
            placeholders: source_repo.is_none() || args.target_repo.is_empty(),
            source_repo: source_repo.unwrap_or_else(|| PLACEHOLDER_SOURCE.into()),
            target_repos,
            event_type: args
                .event_type
                .clone()
                .unwrap_or_else(|| DEFAULT_EVENT_TYPE.into()),
        }
    }

    pub(crate) fn source_name(&self) -> String {
        name_of(&self.source_repo, "app")
    }

    /// Each target's name, in order: its repository's name, made unique with `-2`, `-3`, ...
    /// when two repositories share one (`acme/docs`, `other/docs`).
    pub(crate) fn target_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::with_capacity(self.target_repos.len());
        for repo in &self.target_repos {
            let base = name_of(repo, "downstream");
            let mut name = base.clone();
            let mut n = 2;
            while names.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            names.push(name);
        }
        names
    }

    /// The file's text.
    pub(crate) fn render(&self) -> String {
        let names = self.target_names();
        let tokens: Vec<String> = names.iter().map(|n| token_env(n)).collect();
        // The defaults the comments quote come from the settings' declaration, so they stay true.
        let defaults = Settings::default().or_defaults();
        let replace = if self.placeholders {
            "#   0. Replace the your-org/... placeholders with your repositories.\n"
        } else {
            ""
        };
        let mut text = fill(
            HEAD,
            &[
                ("{schema}", SCHEMA_FILE),
                ("{replace}\n", replace),
                ("{source}", &self.source_name()),
                ("{source_repo}", &scalar(&self.source_repo)),
                ("{targets}", &names.join(", ")),
                ("{secrets}", &secrets(&tokens)),
                ("{concurrency}", &shown(defaults.concurrency)),
                ("{max_attempts}", &shown(defaults.max_attempts)),
                ("{rate_limit}", &shown(defaults.rate_limit)),
            ],
        );
        let targets = names.iter().zip(&self.target_repos).zip(&tokens);
        for (i, ((target, repo), token)) in targets.enumerate() {
            // The first target explains each key; the others repeat the shape without it.
            let template = if i == 0 { FIRST_TARGET } else { OTHER_TARGET };
            text.push_str(&fill(
                template,
                &[
                    ("{target}", target),
                    ("{target_repo}", &scalar(repo)),
                    ("{event_type}", &scalar(&self.event_type)),
                    ("{token_env}", token),
                ],
            ));
        }
        text.push_str(MORE_KINDS);
        text
    }
}

/// `WEBSITE_DISPATCH_TOKEN` for target `website`.
pub(crate) fn token_env(target: &str) -> String {
    let upper: String = target
        .chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let prefix = if upper.starts_with(|c: char| c.is_ascii_digit()) {
        "_"
    } else {
        ""
    };
    format!("{prefix}{upper}_DISPATCH_TOKEN")
}

/// "the A secret", "the A and B secrets", "the A, B and C secrets".
fn secrets(tokens: &[String]) -> String {
    match tokens {
        [] => String::new(),
        [one] => format!("the {one} secret"),
        [rest @ .., last] => format!("the {} and {last} secrets", rest.join(", ")),
    }
}

/// A declared default as the file would write it.
fn shown(value: Option<impl std::fmt::Display>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Replaces each `{key}` in one pass, so a value that happens to contain `{target}` stays as
/// given.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(key, _)| rest.starts_with(key)) {
            Some((key, value)) => {
                out.push_str(value);
                rest = &rest[key.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

const HEAD: &str = r#"# yaml-language-server: $schema=./{schema}
#
# What each release of an upstream repository causes downstream, for orchestrator.
# Next steps:
{replace}
#   1. orchestrator validate                                   # checks this file; no token needed
#   2. orchestrator run --source {source} --version 1.2.3 --dry-run   # what a release would send
#   3. In the release job: orchestrator run --source {source} --version "$VERSION"
#      with {secrets} in the environment.
# `orchestrator schema` prints every key with its documentation; {schema} beside this
# file gives an editor the same as completion and hover help.
version: 1

# Delivery settings for every target (all optional; these are the defaults).
defaults:
  concurrency: {concurrency}            # requests in flight at once
  # max_attempts: {max_attempts}          # transient failures (5xx, rate limits) are retried
  # rate_limit: {rate_limit}  # request starts per API host and token
  # api_url: https://HOST/api/v3   # for GitHub Enterprise Server

# Upstream repositories that make releases. `run --source` takes the name or the repository.
sources:
  {source}:
    repository: {source_repo}
    targets: [{targets}]

# Downstream receivers, each defined once and fed by any number of sources.
targets:
"#;

const FIRST_TARGET: &str = r#"  {target}:
    # kind: repository_dispatch (the default) starts the workflows in `repository` that have
    # `on: repository_dispatch: types: [<event_type>]`.
    repository: {target_repo}
    event_type: {event_type}
    # The NAME of the variable holding a token with Contents: write on the repository (or a
    # classic token with `repo` scope); never the token itself.
    token_env: {token_env}
    # At most 10 top-level keys; string values are templates ({{version}}, {{tag}},
    # {{source.name}}, {{major}}, {{ci.sha}}, ...).
    client_payload:
      source: "{{source.name}}"
      version: "{{version}}"
    # Send only for some releases:
    # when:
    #   version: ">=1.0.0"
    #   prerelease: false
    #   changed: ["docs/**"]
"#;

const OTHER_TARGET: &str = r#"
  {target}:
    repository: {target_repo}
    event_type: {event_type}
    token_env: {token_env}
    client_payload:
      source: "{{source.name}}"
      version: "{{version}}"
"#;

const MORE_KINDS: &str = r#"
  # More kinds; to use one, uncomment it and add its name to a source's `targets`.
  #
  # Run one workflow that has `on: workflow_dispatch`, and learn its run:
  # deploy-docs:
  #   kind: workflow_dispatch
  #   repository: your-org/your-docs
  #   workflow: deploy.yml
  #   ref: main
  #   token_env: DOCS_DISPATCH_TOKEN
  #   inputs:
  #     version: "{{version}}"
  #
  # Call a build hook (Netlify, Vercel, Cloudflare Pages) whose URL is itself a secret:
  # site-build:
  #   kind: webhook
  #   url_env: NETLIFY_BUILD_HOOK_URL
"#;

/// The short name for a repository: its name part, with what a name cannot hold replaced.
fn name_of(repo: &str, fallback: &str) -> String {
    let part = repo.rsplit('/').next().unwrap_or("");
    let name: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    if name.trim_matches('-').is_empty() {
        fallback.to_owned()
    } else {
        name
    }
}

/// A YAML scalar: bare when that cannot be read as anything but this string, else quoted
/// (a JSON string is a valid YAML double-quoted scalar).
fn scalar(value: &str) -> String {
    let plain = value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        value.to_owned()
    } else {
        serde_json::Value::String(value.to_owned()).to_string()
    }
}

/// Every problem `validate` would report for `text` (errors only), in its words.
pub(crate) fn problems(text: &str) -> Vec<String> {
    let none = figment::providers::Serialized::defaults(Settings::default());
    let checked = config::check(text.as_bytes(), none, &Settings::default());
    let mut found: Vec<_> = checked.diagnostics.clone();
    if let (Some(config), Ok(version)) = (&checked.config, Version::parse("1.2.3")) {
        for source in config.sources.keys() {
            let release = Release::sample(source.clone(), &version, Default::default());
            if let Err(PlanError::Problems(more)) =
                plan(config, &release, &|_| None, PlanMode::Validate)
            {
                found.extend(checked.locate(more));
            }
        }
    }
    found
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.display_in("the starter file").to_string())
        .collect()
}

pub(crate) fn run(
    args: &InitArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let path = &args.config.config;
    check_repositories(args)?;
    let origin = if args.source_repo.is_none() {
        origin_repository(Path::new("."))
    } else {
        None
    };
    let from_origin = origin.clone();
    let starter = Starter::from_args(args, origin);
    let text = starter.render();
    let found = problems(&text);
    if !found.is_empty() {
        for problem in &found {
            let _ = writeln!(stderr, "{problem}");
        }
        return Err(CliError::usage(
            "the values given do not make a valid file; nothing was written",
        ));
    }
    // `--config .github/dispatch.yaml` (an example of `--help`) in a repository without
    // `.github/` yet.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| {
            CliError::usage(format!(
                "cannot create the directory {}: {err}; nothing was written",
                parent.display()
            ))
        })?;
    }
    if let Err(err) = create_new(path, text.as_bytes()) {
        return Err(match err.kind() {
            io::ErrorKind::AlreadyExists => CliError::usage(format!(
                "{} already exists; nothing was written (remove it, or choose another file with --config)",
                path.display()
            )),
            _ => CliError::usage(format!("cannot write {}: {err}", path.display())),
        });
    }
    let _ = writeln!(stdout, "wrote {}", path.display());
    if let Some(repo) = from_origin {
        let _ = writeln!(
            stdout,
            "  its source is {repo}, the repository `origin` names"
        );
    }
    write_schema(&schema_path(path), stdout, stderr);
    let config = if path == Path::new("dispatch.yaml") {
        String::new()
    } else {
        format!(" --config {}", path.display())
    };
    let _ = writeln!(
        stdout,
        "next: orchestrator validate{config}\n      orchestrator run{config} --source {} --version 1.2.3 --dry-run",
        starter.source_name()
    );
    Ok(Exit::Success)
}

/// Refuses a `--source-repo` or `--target-repo` that is not `owner/name`, and a target
/// repository given twice (it would be one target under two names).
fn check_repositories(args: &InitArgs) -> Result<(), CliError> {
    let given = args.source_repo.iter().map(|r| ("--source-repo", r));
    let given = given.chain(args.target_repo.iter().map(|r| ("--target-repo", r)));
    for (flag, value) in given {
        if let Err(message) = crate::config::Repo::parse(value) {
            return Err(CliError::usage(format!(
                "{flag}: {message}; nothing was written"
            )));
        }
    }
    for (i, repo) in args.target_repo.iter().enumerate() {
        let twice = args.target_repo[..i]
            .iter()
            .any(|r| r.eq_ignore_ascii_case(repo));
        if twice {
            return Err(CliError::usage(format!(
                "--target-repo: `{repo}` is given twice (one target per repository); nothing was written"
            )));
        }
    }
    Ok(())
}

/// `owner/name` of the repository whose checkout `dir` is, when its `origin` remote names
/// one that `--source-repo` would accept; `None` for a local path, a mirror or no remote.
/// The URL itself is never shown: it may hold credentials.
fn origin_repository(dir: &Path) -> Option<String> {
    let url = crate::changes::Git::new(dir).origin_url()?;
    let repo = crate::changes::repository_of_remote(&url)?;
    crate::config::Repo::parse(&repo).ok().map(|_| repo)
}

/// Writes the schema beside the config, keeping one that is there already (a warning, not a
/// failure: the config is written and valid without it).
fn write_schema(schema: &Path, stdout: &mut dyn Write, stderr: &mut dyn Write) {
    match create_new(schema, config::schema::schema_json().as_bytes()) {
        Ok(()) => {
            let _ = writeln!(stdout, "wrote {} (editor completion)", schema.display());
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            let _ = writeln!(
                stdout,
                "kept {} (`orchestrator schema > {}` refreshes it)",
                schema.display(),
                schema.display()
            );
        }
        Err(err) => {
            let _ = writeln!(stderr, "warning: cannot write {}: {err}", schema.display());
        }
    }
}

fn schema_path(config: &Path) -> PathBuf {
    config.with_file_name(SCHEMA_FILE)
}

/// Writes `bytes` to a file that must not exist yet (checked atomically, not before).
fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starter(source: Option<&str>, target: Option<&str>, event: Option<&str>) -> Starter {
        Starter::from_args(
            &InitArgs {
                config: crate::cli::ConfigArg {
                    config: "dispatch.yaml".into(),
                },
                source_repo: source.map(Into::into),
                target_repo: target.into_iter().map(Into::into).collect(),
                event_type: event.map(Into::into),
            },
            None,
        )
    }

    #[test]
    fn the_placeholder_file_is_valid() {
        let text = starter(None, None, None).render();
        assert!(text.starts_with("# yaml-language-server: $schema=./dispatch.schema.json\n"));
        assert!(text.contains("Replace the your-org/... placeholders"));
        assert_eq!(problems(&text), Vec::<String>::new(), "{text}");
    }

    #[test]
    fn names_and_the_token_variable_follow_the_repositories() {
        let s = starter(
            Some("acme/api.server"),
            Some("acme/9docs"),
            Some("api-release"),
        );
        assert_eq!(s.source_name(), "api-server");
        assert_eq!(s.target_names(), ["9docs"]);
        assert_eq!(token_env("9docs"), "_9DOCS_DISPATCH_TOKEN");
        let text = s.render();
        assert!(!text.contains("placeholders"));
        assert_eq!(problems(&text), Vec::<String>::new(), "{text}");
    }

    #[test]
    fn the_commented_examples_are_valid_once_uncommented() {
        let text = starter(None, None, None).render();
        let (head, examples) = text.split_once("  # More kinds").unwrap();
        let mut enabled = head.replace(
            "targets: [your-website]",
            "targets: [your-website, deploy-docs, site-build]",
        );
        for line in examples.lines().skip(1) {
            // YAML lines (`key:` at any indentation), not the prose between them.
            let Some(rest) = line.strip_prefix("  # ") else {
                continue;
            };
            let key = rest.trim_start().split(':').next().unwrap_or("");
            let is_key = rest.contains(':')
                && !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if is_key {
                enabled.push_str(&format!("  {rest}\n"));
            }
        }
        assert!(enabled.contains("kind: webhook"), "{enabled}");
        assert_eq!(problems(&enabled), Vec::<String>::new(), "{enabled}");
    }

    #[test]
    fn values_that_are_not_plain_words_are_quoted() {
        assert_eq!(scalar("owner/name"), "owner/name");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("{{tag}}"), "\"{{tag}}\"");
        assert_eq!(scalar("x\ny"), "\"x\\ny\"");
    }
}
