//! `orchestrator diff`: load the head (the working tree) → read the base (`git show REF:PATH`)
//! → check both as `validate` does → plan both for the sample releases, without tokens →
//! compare → print (and, under GitHub Actions, append the Markdown to the job summary).

use super::{env_var, load, CliError};
use crate::changes::{ChangeError, Git};
use crate::cli::{DiffArgs, Output};
use crate::config::{self, Checked, Config};
use crate::diagnostic::Diagnostic;
use crate::diff::{self, Diff, Header, Samples, Side};
use crate::exit::Exit;
use crate::release::Version;
use crate::style::Palette;
use std::io::Write;
use std::path::Path;

/// Tried in order when `--base` is not given.
const DEFAULT_BASES: &[&str] = &["origin/HEAD", "main", "origin/main"];

pub(super) fn diff(
    args: &DiffArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let file = args.config.config.display().to_string();
    let version = super::version_flag(&args.sample_version)?;
    let head = load(&args.config.config, &args.settings)?;
    let base = read_base(&args.config.config, args.base.as_deref())?;
    let base_file = format!("{}:{file}", base.label);
    let base_checked = base
        .bytes
        .as_deref()
        .map(|bytes| config::check(bytes, config::settings::env(), &args.settings.to_settings()));
    let header = Header {
        file: &file,
        base: &base.label,
    };
    let compared = compare(args, version, &head, base_checked.as_ref());
    let report = Written {
        header,
        base_file: &base_file,
        base_commit: &base.commit,
        compared: &compared,
    };
    report.print(args, stdout)?;
    if let Some(actions) = crate::actions::Actions::detect(env_var) {
        actions.append_summary(stderr, |out| report.markdown(out));
    }
    Ok(match &compared {
        Compared::Invalid { .. } => Exit::Usage,
        Compared::Diff(diff) if args.exit_code && !diff.is_empty() => Exit::Failure,
        Compared::Diff(_) => Exit::Success,
    })
}

/// The config at the base, as committed.
struct Base {
    /// The revision as given (or the default chosen).
    label: String,
    commit: String,
    /// `None` when the base has no such file: everything is added.
    bytes: Option<Vec<u8>>,
}

/// The `base` stage: `--config`'s file as committed at the base revision, read with git in the
/// file's directory (so the same path, relative to it).
fn read_base(config: &Path, given: Option<&str>) -> Result<Base, CliError> {
    let dir = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = config
        .file_name()
        .ok_or_else(|| CliError::usage(format!("--config `{}` is not a file", config.display())))?;
    let git = Git::new(dir);
    let (label, commit) = match given {
        Some(rev) => match git.commit(rev).map_err(git_error)? {
            Some(commit) => (rev.to_owned(), commit),
            None => {
                return Err(CliError::usage(format!(
                    "--base `{}` names no commit in this repository",
                    crate::untrusted::shown(rev, 100)
                ))
                .with_help(
                    "name a branch, tag or commit that exists here; in GitHub Actions, check out with `fetch-depth: 0` so the base branch is there",
                ))
            }
        },
        None => {
            let mut found = None;
            for rev in DEFAULT_BASES {
                if let Some(commit) = git.commit(rev).map_err(git_error)? {
                    found = Some((rev.to_string(), commit));
                    break;
                }
            }
            found.ok_or_else(|| {
                CliError::usage(format!(
                    "no base to compare with: none of {} exists in this repository",
                    DEFAULT_BASES.join(", ")
                ))
                .with_help("name one with `--base REF` (a branch, tag or commit)")
            })?
        }
    };
    let path = format!("./{}", name.to_string_lossy());
    let bytes = match git.object_at(&commit, &path).map_err(git_error)? {
        None => None,
        Some((_, size)) if size > config::load::MAX_CONFIG_BYTES => {
            return Err(CliError::usage(format!(
                "{label}:{} is {size} bytes, more than the {} MiB a configuration may have",
                config.display(),
                config::load::MAX_CONFIG_BYTES / (1024 * 1024)
            )))
        }
        Some((object, _)) => Some(git.blob(&object).map_err(git_error)?),
    };
    Ok(Base {
        label,
        commit,
        bytes,
    })
}

fn git_error(err: ChangeError) -> CliError {
    let help = err.help();
    let error = CliError::usage(err.to_string());
    match help {
        Some(help) => error.with_help(help),
        None => error,
    }
}

enum Compared {
    Diff(Diff),
    /// Either side is not valid: nothing to compare. The base's errors (`None` when it was
    /// valid or absent) and the head's problems, as `validate` reports them.
    Invalid {
        base: Option<Vec<Diagnostic>>,
        head: Vec<Diagnostic>,
    },
}

/// The `check`, `plan` and `compare` stages.
fn compare(args: &DiffArgs, version: Version, head: &Checked, base: Option<&Checked>) -> Compared {
    let mut head_problems = problems(head, &version, &args.vars);
    let mut base_errors = base.map(|base| {
        let mut found = problems(base, &version, &args.vars);
        found.retain(Diagnostic::is_error);
        found
    });
    let head_config = valid(head, &head_problems);
    let base_config = match (base, &base_errors) {
        (Some(checked), Some(errors)) => valid(checked, errors).map(Some),
        _ => Some(None),
    };
    if let (Some(head_config), Some(base_config)) = (head_config, base_config) {
        let configs: Vec<&Config> = [Some(head_config), base_config]
            .into_iter()
            .flatten()
            .collect();
        let samples = Samples::new(version, args.vars.iter().cloned().collect(), &configs);
        let head_side = Side::plan(head_config, &samples);
        let base_side = match base_config {
            Some(config) => Side::plan(config, &samples),
            None => Ok(Side::empty()),
        };
        match (base_side, head_side) {
            (Ok(base_side), Ok(head_side)) => {
                return Compared::Diff(diff::compare(&base_side, &head_side, &samples))
            }
            (base_side, head_side) => {
                if let (Err(found), Some(checked)) = (base_side, base) {
                    base_errors = Some(checked.locate(found));
                }
                if let Err(found) = head_side {
                    head_problems.extend(head.locate(found));
                }
            }
        }
    }
    head_problems.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
    Compared::Invalid {
        base: base_errors.filter(|errors| !errors.is_empty()),
        head: head_problems,
    }
}

/// The config of a side without errors.
fn valid<'a>(checked: &'a Checked, problems: &[Diagnostic]) -> Option<&'a Config> {
    checked
        .config
        .as_ref()
        .filter(|_| !problems.iter().any(Diagnostic::is_error))
}

/// Every problem `validate` would report: the file's, then those planning meets.
fn problems(checked: &Checked, version: &Version, vars: &[(String, String)]) -> Vec<Diagnostic> {
    let mut found = checked.diagnostics.clone();
    found.extend(super::validate::plan_problems(checked, version, vars));
    found.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
    found
}

/// The `print` stage's input: everything the output formats show.
struct Written<'a> {
    header: Header<'a>,
    base_file: &'a str,
    base_commit: &'a str,
    compared: &'a Compared,
}

impl Written<'_> {
    fn print(&self, args: &DiffArgs, stdout: &mut dyn Write) -> Result<(), CliError> {
        let written = match args.output {
            Output::Json => self.json(stdout),
            Output::Markdown => self.markdown(stdout),
            Output::Text => self.text(stdout, Palette::for_stdout(args.color)),
        };
        written.map_err(|err| CliError::failure(format!("cannot write to stdout: {err}")))
    }

    fn text(&self, out: &mut dyn Write, palette: Palette) -> std::io::Result<()> {
        match self.compared {
            Compared::Diff(diff) => diff::text::write(out, &self.header, diff, palette),
            Compared::Invalid { base, head } => {
                if let Some(errors) = base {
                    writeln!(
                        out,
                        "the base {} is not valid, so there is nothing to compare with:",
                        self.base_file
                    )?;
                    crate::report::write_diagnostics(out, self.base_file, errors)?;
                }
                crate::report::write_diagnostics(out, self.header.file, head)?;
                if !head.iter().any(Diagnostic::is_error) {
                    writeln!(out, "{} is valid", self.header.file)?;
                }
                Ok(())
            }
        }
    }

    fn markdown(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.compared {
            Compared::Diff(diff) => diff::markdown::write(out, &self.header, diff),
            Compared::Invalid { base, head } => diff::markdown::write_not_compared(
                out,
                &self.header,
                base.as_deref().map(|errors| (self.base_file, errors)),
                head,
            ),
        }
    }

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let (diff, base_problems, problems) = match self.compared {
            Compared::Diff(diff) => (Some(diff), &[][..], &[][..]),
            Compared::Invalid { base, head } => (None, base.as_deref().unwrap_or(&[]), &head[..]),
        };
        let report = DiffReport {
            format: crate::journal::FORMAT,
            file: self.header.file,
            base: self.header.base,
            base_commit: self.base_commit,
            compared: diff.is_some(),
            changed: diff.is_some_and(|d| !d.is_empty()),
            diff,
            base_problems,
            problems,
        };
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)
    }
}

/// `diff --output json`.
#[derive(serde::Serialize)]
struct DiffReport<'a> {
    /// The shape of this JSON, as in journals and run reports.
    format: u32,
    file: &'a str,
    base: &'a str,
    base_commit: &'a str,
    /// Whether both sides were valid, so they could be compared.
    compared: bool,
    /// Whether anything a release sends changed (false when not compared).
    changed: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    diff: Option<&'a Diff>,
    /// The base's errors, when it is not valid.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    base_problems: &'a [Diagnostic],
    /// The head's problems, as `validate` reports them, when either side is not valid.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [Diagnostic],
}
