//! The edge: reads the file and the environment, runs the pure core, sends, and prints.
//! Each subcommand returns an [`Exit`]; nothing below `main` calls `std::process::exit`.

use crate::cli::{Cli, Command, Output, RunArgs, SettingsArgs, ValidateArgs};
use crate::config::{self, Checked};
use crate::diagnostic::Diagnostic;
use crate::dispatch::{dispatch_all, github::GitHub};
use crate::plan::{plan, PlanError, Tokens};
use crate::release::{CiContext, Release, Version};
use crate::report::{self, Report};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// The process exit status, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything delivered (or planned, or valid).
    Success = 0,
    /// A target failed, or validate found errors.
    Failure = 1,
    /// The configuration or the command line is wrong; nothing was sent.
    Usage = 2,
}

pub fn main(cli: Cli) -> Exit {
    let stdout = &mut std::io::stdout().lock();
    let stderr = &mut std::io::stderr().lock();
    match cli.command {
        Command::Run(args) => run(&args, stdout, stderr),
        Command::Validate(args) => validate(&args, stdout, stderr),
        Command::Schema => {
            let _ = stdout.write_all(config::schema::schema_json().as_bytes());
            Exit::Success
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads and checks the file; `Err` carries the exit status after printing why.
fn load(path: &Path, settings: &SettingsArgs, stderr: &mut dyn Write) -> Result<Checked, Exit> {
    let bytes = config::load::read(path).map_err(|err| {
        let _ = writeln!(stderr, "error: {err}");
        Exit::Usage
    })?;
    Ok(config::check(
        &bytes,
        config::settings::env(),
        &settings.to_settings(),
    ))
}

fn run(args: &RunArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Exit {
    let file = args.config.config.display().to_string();
    let checked = match load(&args.config.config, &args.settings, stderr) {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    let _ = report::write_diagnostics(stderr, &file, &checked.diagnostics);
    let Some(config) = &checked.config else {
        let _ = writeln!(stderr, "error: {file} is not valid; nothing was sent");
        return Exit::Usage;
    };
    let version = match Version::parse(&args.release_version) {
        Ok(version) => version,
        Err(err) => {
            let _ = writeln!(stderr, "error: --version: {err}");
            return Exit::Usage;
        }
    };
    let release = Release {
        source: args.source.clone(),
        version,
        vars: args.vars.iter().cloned().collect(),
        ci: CiContext::from_vars(env_var),
    };
    let tokens = if args.dry_run {
        Tokens::Optional
    } else {
        Tokens::Required
    };
    let plan = match plan(config, &release, &env_var, tokens) {
        Ok(plan) => plan,
        Err(PlanError::Problems(problems)) => {
            let problems = checked.locate(problems);
            let _ = report::write_diagnostics(stderr, &file, &problems);
            let _ = writeln!(stderr, "error: the plan has problems; nothing was sent");
            return Exit::Usage;
        }
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return Exit::Usage;
        }
    };

    let report = if args.dry_run {
        Report::planned(&plan)
    } else {
        let started = Instant::now();
        let outcomes = match send(&plan, config.concurrency) {
            Ok(outcomes) => outcomes,
            Err(message) => {
                let _ = writeln!(stderr, "error: {message}");
                return Exit::Failure;
            }
        };
        Report::finished(&plan, &outcomes, started.elapsed().as_millis() as u64)
    };
    let written = match args.output {
        Output::Text => report.write_text(stdout),
        Output::Json => report.write_json(stdout),
    };
    if let Err(err) = written {
        let _ = writeln!(stderr, "error: cannot write the report: {err}");
        return Exit::Failure;
    }
    if report.any_failed() {
        Exit::Failure
    } else {
        Exit::Success
    }
}

fn send(
    plan: &crate::plan::Plan,
    concurrency: usize,
) -> Result<Vec<crate::dispatch::Outcome>, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let github = GitHub::new().map_err(|e| format!("cannot create the HTTP client: {e}"))?;
    Ok(runtime.block_on(dispatch_all(&github, &plan.jobs, concurrency)))
}

fn validate(args: &ValidateArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Exit {
    let file = args.config.config.display().to_string();
    let checked = match load(&args.config.config, &args.settings, stderr) {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    let mut diagnostics = checked.diagnostics.clone();
    if let Some(config) = &checked.config {
        let version = match Version::parse(&args.sample_version) {
            Ok(version) => version,
            Err(err) => {
                let _ = writeln!(stderr, "error: --version: {err}");
                return Exit::Usage;
            }
        };
        // Render every template for every source that feeds it, as a release would.
        for source in config.sources.keys() {
            let release = Release {
                source: source.clone(),
                version: version.clone(),
                vars: Default::default(),
                ci: CiContext::sample(),
            };
            if let Err(PlanError::Problems(problems)) =
                plan(config, &release, &|_| None, Tokens::Optional)
            {
                for d in checked.locate(problems) {
                    if !diagnostics.contains(&d) {
                        diagnostics.push(d);
                    }
                }
            }
        }
    }
    let failed = diagnostics
        .iter()
        .any(|d| d.is_error() || (args.strict && !d.is_error()));
    if env_var("GITHUB_ACTIONS").as_deref() == Some("true") {
        let _ = report::write_annotations(stdout, &file, &diagnostics);
    }
    let _ = match args.output {
        Output::Json => serde_json::to_writer_pretty(
            &mut *stdout,
            &ValidateReport {
                file: &file,
                valid: !failed,
                problems: &diagnostics,
            },
        )
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(stdout)),
        Output::Text => {
            let written = report::write_diagnostics(stdout, &file, &diagnostics);
            if !failed {
                let _ = writeln!(stdout, "{file} is valid");
            }
            written
        }
    };
    if failed {
        Exit::Failure
    } else {
        Exit::Success
    }
}

#[derive(serde::Serialize)]
struct ValidateReport<'a> {
    file: &'a str,
    valid: bool,
    problems: &'a [Diagnostic],
}
