//! The edge: reads the file and the environment, runs the pure core, sends, and prints.
//! Each subcommand returns an [`Exit`]; nothing below `main` calls `std::process::exit`.

use crate::auth::{AppCredentials, AppTarget, AppTokens, AuthError, PrivateKey};
use crate::changes::ChangeSet;
use crate::cli::{Cli, Command, Output, RunArgs, SettingsArgs, ValidateArgs};
use crate::config::KeySource;
use crate::config::{self, Checked};
use crate::diagnostic::Diagnostic;
use crate::dispatch::wait::{wait_for_runs, WaitOptions};
use crate::dispatch::{dispatch_all, sender::GitHub, Delivery, Observer, Outcome, Status};
pub use crate::exit::Exit;
use crate::journal::{self, EarlierDelivery, Journal};
use crate::logging::{All, Log};
use crate::plan::{plan, Job, Plan, PlanError, Tokens};
use crate::release::{CiContext, Release, Version};
use crate::report::{self, Report};
use crate::secret::Redacting;
use crate::style::Palette;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub fn main(cli: Cli) -> Exit {
    crate::logging::init(cli.verbosity());
    // Not locked for the whole run: log lines from runtime threads write to stderr too, and a
    // lock held here would block them forever.
    // Everything printed passes the redaction gate, whatever wrote it.
    let stdout = &mut Redacting::new(std::io::stdout());
    let stderr = &mut Redacting::new(std::io::stderr());
    match cli.command {
        Command::Run(args) => run(&args, stdout, stderr),
        Command::Validate(args) => validate(&args, stdout, stderr),
        Command::Schema => {
            let _ = stdout.write_all(config::schema::schema_json().as_bytes());
            Exit::Success
        }
        Command::Init(args) => crate::init::run(&args, stdout, stderr),
        Command::Completions(args) => printed(crate::shell::write_completions(args.shell, stdout)),
        Command::Man => printed(crate::shell::write_man(stdout)),
    }
}

/// The live progress line: on a terminal, outside CI, unless `--no-progress` or `-q`.
fn show_progress(args: &RunArgs) -> bool {
    let quiet = !tracing::enabled!(tracing::Level::INFO);
    crate::progress::wanted(
        args.no_progress,
        quiet,
        crate::progress::stderr_is_terminal(),
        env_var,
    )
}

/// A command that only prints: success, unless stdout could not be written.
fn printed(written: std::io::Result<()>) -> Exit {
    match written {
        Ok(()) => Exit::Success,
        Err(err) => {
            eprintln!("error: cannot write to stdout: {err}");
            Exit::Failure
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
    // Only a `when.changed` condition needs git, and then only once for all targets.
    let changes = if crate::plan::needs_changes(config, &args.source) {
        let loaded = ChangeSet::load(&args.repo_dir, &version, args.previous_version.as_deref());
        match loaded {
            Ok(changes) => Some(changes),
            // A dry run (often a pull-request check in a shallow checkout) still shows the
            // plan: the targets are listed as undecided rather than failing the check.
            Err(err) if args.dry_run => {
                let _ = writeln!(stderr, "warning: cannot tell which files changed: {err}");
                if let Some(help) = err.help() {
                    let _ = writeln!(stderr, "  help: {help}");
                }
                None
            }
            Err(err) => {
                let _ = writeln!(stderr, "error: cannot tell which files changed: {err}");
                if let Some(help) = err.help() {
                    let _ = writeln!(stderr, "  help: {help}");
                }
                let _ = writeln!(stderr, "error: nothing was sent");
                return Exit::Usage;
            }
        }
    } else {
        None
    };
    let release = Release {
        source: args.source.clone(),
        version,
        vars: args.vars.iter().cloned().collect(),
        ci: CiContext::from_vars(env_var),
        changes,
    };
    let tokens = if args.dry_run {
        Tokens::Optional
    } else {
        Tokens::Required
    };
    let mut plan = match plan(config, &release, &env_var, tokens) {
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

    if let Err(exit) = apply_earlier_run(args, &mut plan, stderr) {
        return exit;
    }

    let report = if args.dry_run {
        Report::planned(&plan)
    } else {
        let delivery = Delivery {
            concurrency: config.concurrency,
            rate_limit: config.rate_limit,
        };
        let journal = match (&args.journal, &args.resume) {
            (Some(path), _) => Some((path, "--journal")),
            (None, Some(path)) => Some((path, "--resume")),
            (None, None) => None,
        };
        let journal = match journal {
            Some((path, flag)) => match Journal::open(path, flag, &plan.source, &plan.version) {
                Ok(journal) => Some(journal),
                Err(err) => {
                    let _ = writeln!(stderr, "error: {err}");
                    return Exit::Usage;
                }
            },
            None => None,
        };
        let started = Instant::now();
        let mut waits = WaitOptions {
            all: args.wait,
            ..WaitOptions::default()
        };
        if let Some(secs) = args.wait_timeout {
            waits.timeout = std::time::Duration::from_secs(secs);
        }
        if let Some(ms) = args.poll_interval_ms {
            waits.first_poll = std::time::Duration::from_millis(ms);
        }
        let github = match GitHub::new() {
            Ok(github) => github,
            Err(err) => {
                let _ = writeln!(stderr, "error: cannot create the HTTP client: {err}");
                return Exit::Failure;
            }
        };
        // Every App key is loaded before anything is sent, so a bad key sends nothing.
        let github = match app_tokens(&plan, github.client()) {
            Ok(Some(tokens)) => github.with_app_tokens(tokens),
            Ok(None) => github,
            Err(message) => {
                let _ = writeln!(stderr, "error: {message}");
                let _ = writeln!(stderr, "error: nothing was sent");
                return Exit::Usage;
            }
        };
        let progress = crate::progress::Progress::new(plan.jobs.len(), show_progress(args));
        let sent = send(&github, &plan, delivery, journal.as_ref(), waits, &progress);
        progress.finish();
        let (outcomes, interrupted) = match sent {
            Ok(sent) => sent,
            Err(message) => {
                let _ = writeln!(stderr, "error: {message}");
                return Exit::Failure;
            }
        };
        if let Some(Err(err)) = journal.as_ref().map(Journal::check) {
            let _ = writeln!(stderr, "error: {err}");
        }
        let report = Report::finished(
            &plan,
            &outcomes,
            started.elapsed().as_millis() as u64,
            interrupted,
        );
        if interrupted {
            let not_waited = outcomes
                .iter()
                .filter(|o| matches!(&o.status, Status::Delivered { run: Some(run), .. } if run.interrupted))
                .count();
            let _ = writeln!(
                stderr,
                "interrupted: {} target(s) were not sent, {not_waited} workflow run(s) not waited for",
                report.summary.not_sent
            );
        }
        report
    };
    if let Some(path) = &args.report {
        let written = std::fs::File::create(path).and_then(|f| {
            let mut out = Redacting::new(f);
            report.write_json(&mut out)?;
            out.flush()
        });
        if let Err(err) = written {
            let _ = writeln!(
                stderr,
                "error: cannot write the report {}: {err}",
                path.display()
            );
        }
    }
    if let Some(actions) = crate::actions::Actions::detect(env_var) {
        actions.publish(&report, args.report.as_deref(), stderr);
    }
    // One buffer for the whole report: a 10,000-target report is otherwise tens of thousands of
    // small writes to stdout.
    let mut buffered = std::io::BufWriter::new(stdout);
    let written = match args.output {
        Output::Text => report.write_text_in(&mut buffered, Palette::for_stdout(args.color)),
        Output::Json => report.write_json(&mut buffered),
        Output::Markdown => crate::markdown::write_report(&report, &mut buffered),
    }
    .and_then(|()| buffered.flush());
    if let Err(err) = written {
        let _ = writeln!(stderr, "error: cannot write the report: {err}");
        return Exit::Failure;
    }
    // Interrupted is 130 even when every request in flight then finished, or the signal came
    // during `--wait`: the run did not do all it was asked.
    if report.summary.interrupted || report.summary.not_sent > 0 {
        Exit::Interrupted
    } else if report.any_failed() || (report.summary.runs_failed > 0 && !args.ignore_run_failures) {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// `--resume` and `--retry-failed`: set aside what an earlier run already took care of. A
/// target counts as delivered only when the request delivered is the one planned now (same
/// fingerprint); a target whose request changed since is sent again, with a note.
fn apply_earlier_run(args: &RunArgs, plan: &mut Plan, stderr: &mut dyn Write) -> Result<(), Exit> {
    let (path, earlier, from_journal) = match (&args.resume, &args.retry_failed) {
        (Some(path), _) => (
            path,
            journal::read_journal(path, &plan.source, &plan.version),
            true,
        ),
        (None, Some(path)) => (path, report::read(path, &plan.source, &plan.version), false),
        (None, None) => return Ok(()),
    };
    let earlier = earlier.map_err(|err| {
        let _ = writeln!(stderr, "error: {err}");
        Exit::Usage
    })?;
    let shown = path.display().to_string();
    let what = if from_journal { "journal" } else { "report" };
    if !earlier.in_flight.is_empty() {
        let _ = writeln!(
            stderr,
            "note: {} target(s) were in flight when the journaled run stopped and may already have been delivered; sending them again (at-least-once): {}",
            earlier.in_flight.len(),
            earlier.in_flight.join(", ")
        );
    }
    let why_changed = format!(
        "sent again: the {what} {shown} records a different request (URL, method or body) as delivered"
    );
    let mut changed = Vec::new();
    for job in &mut plan.jobs {
        if earlier.delivery_of(job) == EarlierDelivery::Changed {
            changed.push(job.target.clone());
            job.note = Some(match job.note.take() {
                Some(note) => format!("{note}; {why_changed}"),
                None => why_changed.clone(),
            });
        }
    }
    if !changed.is_empty() {
        let _ = writeln!(
            stderr,
            "note: {} target(s) changed since the {what} {shown} recorded them delivered (their URL, method or body differs); sending them again: {}",
            changed.len(),
            changed.join(", ")
        );
    }
    if from_journal {
        plan.set_aside(|job| {
            (earlier.delivery_of(job) == EarlierDelivery::Same)
                .then(|| format!("already delivered (journal {shown})"))
        });
    } else {
        plan.set_aside(|job| {
            let send = earlier.failed.contains(&job.dispatch_id)
                || earlier.delivery_of(job) == EarlierDelivery::Changed;
            (!send).then(|| format!("not failed in the earlier run (report {shown})"))
        });
    }
    Ok(())
}

/// Sends the plan; the flag is true when a signal interrupted the run.
/// Loads each GitHub App's key once and registers every App target, or says what is wrong.
fn app_tokens(plan: &Plan, client: &reqwest::Client) -> Result<Option<Arc<AppTokens>>, String> {
    let mut keys: HashMap<KeySource, PrivateKey> = HashMap::new();
    let mut targets = Vec::new();
    for job in &plan.jobs {
        let (Some(app), Some(repository)) = (&job.app, &job.repository) else {
            continue;
        };
        let key = match keys.get(&app.key) {
            Some(key) => key.clone(),
            None => {
                let loaded = match &app.key {
                    KeySource::Env(env) => PrivateKey::from_env_with(env, &env_var),
                    KeySource::File(path) => PrivateKey::from_file(path),
                };
                let key = loaded.map_err(|e| describe_auth(&job.target, &e))?;
                keys.insert(app.key.clone(), key.clone());
                key
            }
        };
        let credentials = AppCredentials::new(app.app_id.clone(), key)
            .map_err(|e| describe_auth(&job.target, &e))?;
        targets.push(AppTarget {
            repository: repository.clone(),
            api_url: job.api_base.clone(),
            api_version: job.api_version.clone().unwrap_or_default(),
            timeout: job.timeout,
            app: credentials,
            installation_id: app.installation_id,
        });
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let mut tokens = AppTokens::new(client.clone(), targets).map_err(|e| describe_auth("", &e))?;
    if env_var("GITHUB_ACTIONS").as_deref() == Some("true") {
        tokens = tokens.with_mask(crate::actions::mask_to(std::io::stderr));
    }
    Ok(Some(Arc::new(tokens)))
}

fn describe_auth(target: &str, err: &AuthError) -> String {
    let mut text = if target.is_empty() {
        err.to_string()
    } else {
        format!("target `{target}`: {err}")
    };
    if let Some(hint) = err.hint() {
        text.push_str(&format!("\n  help: {hint}"));
    }
    text
}

fn send(
    github: &GitHub,
    plan: &Plan,
    delivery: Delivery,
    journal: Option<&Journal>,
    waits: WaitOptions,
    progress: &crate::progress::Progress,
) -> Result<(Vec<Outcome>, bool), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let mut observers: Vec<&dyn Observer> = vec![&Log];
    if let Some(journal) = journal {
        observers.push(journal);
    }
    observers.push(progress);
    let observer = All(observers);
    let cancel = CancellationToken::new();
    // Under GitHub Actions the delivery log folds into one group; the report and the
    // annotations after it stay visible.
    let group = env_var("GITHUB_ACTIONS").as_deref() == Some("true");
    if group {
        let title = format!("orchestrator: sending {} request(s)", plan.jobs.len());
        let _ = crate::actions::start_group(&mut std::io::stderr(), &title);
    }
    let sent = runtime.block_on(async {
        let watcher = tokio::spawn(interrupt_on_signal(cancel.clone()));
        let mut outcomes = dispatch_all(github, &plan.jobs, delivery, &observer, &cancel).await;
        if !cancel.is_cancelled() {
            tokio::select! {
                _ = wait_for_runs(github, &plan.jobs, &mut outcomes, waits) => {}
                _ = cancel.cancelled() => {}
            }
        }
        watcher.abort();
        let interrupted = cancel.is_cancelled();
        if interrupted {
            interrupt_waits(&plan.jobs, &mut outcomes, waits);
        }
        Ok((outcomes, interrupted))
    });
    if group {
        let _ = crate::actions::end_group(&mut std::io::stderr());
    }
    sent
}

/// After a signal, every run `--wait` should have followed that had not completed is marked
/// as not waited for: an interrupted wait is neither success nor failure.
fn interrupt_waits(jobs: &[Job], outcomes: &mut [Outcome], waits: WaitOptions) {
    for (job, outcome) in jobs.iter().zip(outcomes.iter_mut()) {
        let Status::Delivered { run: Some(run), .. } = &mut outcome.status else {
            continue;
        };
        let Some(workflow) = &job.workflow else {
            continue;
        };
        let wanted = waits.all || workflow.wait;
        if wanted && run.id.is_some() && run.status.as_deref() != Some("completed") {
            run.interrupt_wait();
        }
    }
}

/// Ctrl-C (SIGINT) or SIGTERM: stop starting requests, let those in flight finish and be
/// recorded. A second signal ends the process at once; the journal is complete up to then.
async fn interrupt_on_signal(cancel: CancellationToken) {
    wait_for_signal().await;
    tracing::warn!(
        "interrupted: finishing requests in flight, starting no new ones (again to stop now)"
    );
    cancel.cancel();
    wait_for_signal().await;
    std::process::exit(Exit::Interrupted as i32);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn validate(args: &ValidateArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Exit {
    let file = args.config.config.display().to_string();
    let checked = match load(&args.config.config, &args.settings, stderr) {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    let version = match Version::parse(&args.sample_version) {
        Ok(version) => version,
        Err(err) => {
            let _ = writeln!(stderr, "error: --version: {err}");
            return Exit::Usage;
        }
    };
    let mut diagnostics = checked.diagnostics.clone();
    if let Some(config) = &checked.config {
        // Render every template as a release of each source would, but each target only for
        // the few sources that can make it fail differently (see `validation_sample`), within
        // one work budget for the whole file. A target fed by several sources fails the same
        // way for each; it is reported once.
        let mut seen = std::collections::HashSet::new();
        let mut work = crate::render::Work::default();
        for (source, targets) in crate::plan::validation_sample(config) {
            let release = Release {
                source: source.to_owned(),
                version: version.clone(),
                vars: args.vars.iter().cloned().collect(),
                ci: CiContext::sample(),
                changes: None,
            };
            let planned = crate::plan::plan_with(
                config,
                &release,
                &|_| None,
                Tokens::Validate,
                Some(&targets),
                &mut work,
            );
            if let Err(PlanError::Problems(problems)) = planned {
                for d in checked.locate(problems) {
                    if seen.insert((d.code, d.path.clone(), d.message.clone())) {
                        diagnostics.push(d);
                    }
                }
            }
            if work.exhausted() {
                break;
            }
        }
    }
    // In file order, as an editor would list them.
    diagnostics.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
    let failed = diagnostics.iter().any(|d| d.is_error() || args.strict);
    if env_var("GITHUB_ACTIONS").as_deref() == Some("true") {
        // stderr, so `--output json` stays parseable; the runner reads both streams.
        let _ =
            crate::actions::write_diagnostic_annotations(stderr, &file, &diagnostics, args.strict);
    }
    let _ = match args.output {
        Output::Json => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            serde_json::to_writer_pretty(
                &mut *stdout,
                &ValidateReport {
                    file: &file,
                    valid: !failed,
                    errors,
                    warnings: diagnostics.len() - errors,
                    problems: &diagnostics,
                },
            )
            .map_err(std::io::Error::from)
            .and_then(|_| writeln!(stdout))
        }
        Output::Markdown => {
            crate::markdown::write_diagnostics(stdout, &file, &diagnostics, !failed)
        }
        Output::Text => {
            let written = report::write_diagnostics(stdout, &file, &diagnostics);
            if !failed {
                let _ = writeln!(stdout, "{file} is valid");
            } else if args.strict && !diagnostics.iter().any(Diagnostic::is_error) {
                let _ = writeln!(stdout, "{file} has warnings, which --strict makes errors");
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

/// `validate --output json`: every problem in `problems`, in file order.
#[derive(serde::Serialize)]
struct ValidateReport<'a> {
    file: &'a str,
    /// False when there is an error, or a warning under `--strict`.
    valid: bool,
    errors: usize,
    warnings: usize,
    problems: &'a [Diagnostic],
}
