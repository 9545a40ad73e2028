//! `orchestrator validate`: load → render every template as releases would → report every
//! problem, in file order.

use super::{load, CliError};
use crate::cli::{Output, ValidateArgs};
use crate::config::Checked;
use crate::diagnostic::{Code, Diagnostic};
use crate::exit::Exit;
use crate::plan::PlanError;
use crate::release::{Release, Version};
use crate::report;
use std::io::Write;

pub(super) fn validate(
    args: &ValidateArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let file = args.config.config.display().to_string();
    let checked = load(&args.config.config, &args.settings)?;
    let version = super::version_flag(&args.sample_version)?;
    let mut diagnostics = every_problem(&checked, &version, &args.vars);
    if args.strict {
        diagnostics.extend(placeholders(&checked));
        diagnostics.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
    }
    let failed = diagnostics.iter().any(|d| d.is_error() || args.strict);
    if let Some(actions) = crate::actions::Actions::detect(super::env_var) {
        // stderr, so `--output json` stays parseable; the runner reads both streams.
        let _ =
            crate::actions::write_diagnostic_annotations(stderr, &file, &diagnostics, args.strict);
        // The job summary holds the Markdown report, whatever `--output` prints: one run of
        // `validate` gives both.
        actions.append_summary(stderr, |out| {
            crate::markdown::write_diagnostics(out, &file, &diagnostics, !failed)
        });
    }
    write_problems(args, &file, &diagnostics, failed, stdout)
        .map_err(|err| CliError::failure(format!("cannot write to stdout: {err}")))?;
    if args.output == Output::Text && !failed {
        write_gates(&checked, stdout)
            .map_err(|err| CliError::failure(format!("cannot write to stdout: {err}")))?;
    }
    super::keep_until_exit(checked);
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

/// The file's problems and the plan's, in file order, as an editor would list them.
fn every_problem(
    checked: &Checked,
    version: &Version,
    vars: &[(String, String)],
) -> Vec<Diagnostic> {
    let mut diagnostics = checked.diagnostics.clone();
    // A value the file check refused is not refused again once rendered (a file with an error
    // has what compiled rendered too).
    let said: std::collections::HashSet<(Code, &str)> = diagnostics
        .iter()
        .map(|d| (d.code, d.path.as_str()))
        .collect();
    let new: Vec<Diagnostic> = plan_problems(checked, version, vars)
        .into_iter()
        .filter(|d| !said.contains(&(d.code, d.path.as_str())))
        .collect();
    diagnostics.extend(new);
    diagnostics.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
    diagnostics
}

/// The owner of the placeholder repositories `orchestrator init` writes (`your-org/your-app`):
/// valid values, so a fresh file validates, but never what a user means to send to.
const PLACEHOLDER_OWNER: &str = "your-org";

/// Under `--strict`, each repository still at `init`'s placeholder: a file ready to merge has
/// none.
fn placeholders(checked: &Checked) -> Vec<Diagnostic> {
    let Some(config) = checked.config.as_ref().or(checked.salvaged.as_ref()) else {
        return Vec::new();
    };
    let sources = config
        .sources
        .iter()
        .map(|(name, s)| (crate::diagnostic::join("sources", name), &s.repository));
    let targets = config.targets.iter().filter_map(|(name, t)| {
        let repository = t.repository.as_deref()?;
        Some((crate::diagnostic::join("targets", name), repository))
    });
    let found = sources
        .chain(targets)
        .filter(|(_, repository)| repository.owner.eq_ignore_ascii_case(PLACEHOLDER_OWNER))
        .map(|(path, repository)| {
            Diagnostic::error(
                Code::InvalidRepository,
                crate::diagnostic::join(&path, "repository"),
                format!("`{repository}` is a placeholder written by `orchestrator init`"),
            )
            .with_help("replace it with the real repository, as `owner/name`")
        })
        .collect();
    checked.locate(found)
}

/// `await:`, as written: what each source's and target's sends wait for.
fn write_gates(checked: &Checked, stdout: &mut dyn Write) -> std::io::Result<()> {
    let Some(config) = &checked.config else {
        return Ok(());
    };
    for (path, checks) in crate::config::gates::written(config) {
        writeln!(stdout, "{path} waits for: {}", checks.join(", "))?;
    }
    Ok(())
}

/// The `report` stage: every problem on stdout in the form `--output` asks for.
fn write_problems(
    args: &ValidateArgs,
    file: &str,
    diagnostics: &[Diagnostic],
    failed: bool,
    stdout: &mut dyn Write,
) -> std::io::Result<()> {
    match args.output {
        Output::Json => write_json(stdout, file, diagnostics, !failed),
        Output::Markdown => crate::markdown::write_diagnostics(stdout, file, diagnostics, !failed),
        Output::Text => {
            let written = report::write_diagnostics(stdout, file, diagnostics);
            if !failed {
                let _ = writeln!(stdout, "{file} is valid");
            } else if args.strict && !diagnostics.iter().any(Diagnostic::is_error) {
                let _ = writeln!(stdout, "{file} has warnings, which --strict makes errors");
            }
            written
        }
    }
}

/// The problems a release of any source would meet while planning (every template rendered
/// as releases would), located in the file. A file with an error has the targets that
/// compiled rendered, so its template variables are checked in the same run.
pub(super) fn plan_problems(
    checked: &Checked,
    version: &Version,
    vars: &[(String, String)],
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let Some(config) = checked.config.as_ref().or(checked.salvaged.as_ref()) else {
        return found;
    };
    // Render every template as a release of each source would, but each target only for
    // the few sources that can make it fail differently (see `validation_sample`), within
    // one work budget for the whole file. A target fed by several sources fails the same
    // way for each; it is reported once.
    let mut seen = std::collections::HashSet::new();
    let mut work = crate::render::Work::default();
    for (source, targets) in crate::plan::validation_sample(config) {
        let release = Release::sample(source, version, vars.iter().cloned().collect());
        let planned = crate::plan::problems_with(config, &release, &targets, &mut work);
        if let Err(PlanError::Problems(problems)) = planned {
            for d in checked.locate(problems) {
                if seen.insert((d.code, d.path.clone(), d.message.clone())) {
                    found.push(d);
                }
            }
        }
        if work.exhausted() {
            break;
        }
    }
    found
}

/// `validate --output json` (and `run --output json` refused for its plan): every problem,
/// in the order given.
pub(super) fn write_json(
    stdout: &mut dyn Write,
    file: &str,
    diagnostics: &[Diagnostic],
    valid: bool,
) -> std::io::Result<()> {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    serde_json::to_writer_pretty(
        &mut *stdout,
        &ValidateReport {
            format: crate::journal::FORMAT,
            file,
            valid,
            errors,
            warnings: diagnostics.len() - errors,
            problems: diagnostics,
        },
    )
    .map_err(std::io::Error::from)
    .and_then(|()| writeln!(stdout))
}

/// `validate --output json`: every problem in `problems`, in file order.
#[derive(serde::Serialize)]
struct ValidateReport<'a> {
    /// The shape of this JSON, as in journals and run reports.
    format: u32,
    file: &'a str,
    /// False when there is an error, or a warning under `--strict`.
    valid: bool,
    errors: usize,
    warnings: usize,
    problems: &'a [Diagnostic],
}
