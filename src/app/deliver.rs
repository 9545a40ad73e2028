//! The `deliver` stage's machinery: the HTTP client and App tokens (every key loaded before
//! anything is sent), the journal, the runtime, signals, and following runs.

use super::{env_var, under_actions, CliError};
use crate::auth::{AppCredentials, AppTarget, AppTokens, AuthError, PrivateKey};
use crate::cli::RunArgs;
use crate::config::{Config, KeySource, Repo};
use crate::dispatch::budget::ReadBudgets;
use crate::dispatch::needs::Following;
use crate::dispatch::wait::cancel::cancel_runs;
use crate::dispatch::wait::{interrupt_waits, wait_for_runs, WaitOptions};
use crate::dispatch::{
    dispatch_following, sender::GitHub, Delivery, Observer, Outcome, Status, WaitEnd,
};
use crate::exit::Exit;
use crate::journal::{Held, Journal, JournalError};
use crate::logging::{All, Log};
use crate::plan::Plan;
use crate::report::Report;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What delivery left: the report, how many runs were not waited for, and a journal that
/// could not be written to the end.
pub(super) struct Sent {
    pub report: Report,
    /// `--max-duration` was reached.
    pub out_of_time: bool,
    pub not_waited: usize,
    pub journal_error: Option<JournalError>,
    /// Per token variable, the expiry GitHub reported for its token.
    pub token_expirations: Vec<(String, crate::github::response::TokenExpiry)>,
}

/// `journal` is the run's journal, held since before the resume stage read it; `settled` the
/// targets blocked before sending, which it records too.
pub(super) fn deliver(
    args: &RunArgs,
    config: &Config,
    (plan, settled): (&Plan, &[(crate::plan::Job, Status)]),
    journal: Option<&Held>,
) -> Result<Sent, CliError> {
    let delivery = Delivery {
        concurrency: config.concurrency,
        rate_limit: config.rate_limit.clone(),
        max_duration: args.max_duration,
    };
    let pacing = crate::plan::PacingEstimate::of(&plan.jobs, &config.rate_limit);
    let journal = journal
        .map(|held| Journal::start(held, plan))
        .transpose()
        .map_err(|err| CliError::usage(err.to_string()))?;
    if let Some(journal) = &journal {
        journal.settled_before_sending(settled);
    }
    let mut waits = WaitOptions {
        all: args.wait,
        ..WaitOptions::default()
    };
    if let Some(timeout) = args.wait_timeout {
        waits.timeout = timeout;
    }
    if let Some(ms) = args.poll_interval_ms {
        waits.first_poll = Duration::from_millis(ms);
    }
    waits.queue_timeout = args.queue_timeout;
    let github = client(plan)?;
    let started = Instant::now();
    waits.since = Some(std::time::SystemTime::now());
    let budgets = ReadBudgets::new(config.read_budget);
    let progress = crate::progress::Progress::new(plan.jobs.len(), show_progress(args))
        .with_expected(pacing.expected_duration());
    // Said only when the limits will hold the fan-out back: then the wait is expected.
    if pacing.paces() {
        tracing::info!("sending {}", pacing.describe());
    }
    let sent = send(
        &github,
        plan,
        delivery,
        journal.as_ref(),
        waits,
        &budgets,
        &progress,
    );
    progress.finish();
    let (outcomes, interrupted) = sent?;
    // Without a signal, only `--max-duration` leaves a target not sent (or a wait cut short).
    let out_of_time =
        args.max_duration.is_some() && !interrupted && outcomes.iter().any(|o| {
            matches!(&o.status, Status::NotSent { .. })
                || matches!(&o.status, Status::Delivered { run: Some(run), .. } if run.interrupted)
        });
    let journal_error = journal.as_ref().and_then(|j| j.check().err());
    let not_waited = outcomes
        .iter()
        .filter(
            |o| matches!(&o.status, Status::Delivered { run: Some(run), .. } if run.interrupted),
        )
        .count();
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut report = Report::finished(plan, &outcomes, elapsed_ms, interrupted);
    report.summary.read_requests = Some(budgets.reads());
    Ok(Sent {
        report,
        out_of_time,
        not_waited,
        journal_error,
        token_expirations: github.token_expirations(),
    })
}

/// The HTTP client, with App tokens for the App keys `plan`'s jobs name: every key is loaded
/// before anything is sent, so a bad key sends nothing.
pub(super) fn client(plan: &Plan) -> Result<GitHub, CliError> {
    let github = GitHub::new()
        .map_err(|err| CliError::failure(format!("cannot create the HTTP client: {err}")))?;
    Ok(match app_tokens(plan, github.client())? {
        Some(tokens) => github.with_app_tokens(tokens),
        None => github,
    })
}

/// The async runtime the requests run on: one thread. Sending is I/O-bound and every request
/// is small, so a second worker thread only adds hand-offs (futex wake-ups between threads):
/// on one thread a send costs less CPU at the same wall time (BENCHMARKS.md, "CPU per
/// request"). Rendering is done before sending and the report after it, so nothing long runs
/// between two requests' I/O. DNS and file reads still go to tokio's blocking pool.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))
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

/// Loads each GitHub App's key once and registers every App target, or says what is wrong.
fn app_tokens(plan: &Plan, client: &reqwest::Client) -> Result<Option<Arc<AppTokens>>, CliError> {
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
            repository: Repo::clone(repository),
            api_url: job.api_base.to_string(),
            api_version: job.api_version.as_deref().unwrap_or_default().to_owned(),
            timeout: job.timeout,
            app: credentials,
            installation_id: app.installation_id,
        });
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let mut tokens = AppTokens::new(client.clone(), targets).map_err(|e| describe_auth("", &e))?;
    if under_actions() {
        tokens = tokens.with_mask(crate::actions::mask_to(std::io::stderr));
    }
    Ok(Some(Arc::new(tokens)))
}

/// A credential problem, found before anything is sent.
fn describe_auth(target: &str, err: &AuthError) -> CliError {
    let message = if target.is_empty() {
        format!("{err}; nothing was sent")
    } else {
        format!("target `{target}`: {err}; nothing was sent")
    };
    let error = CliError::usage(message);
    match err.hint() {
        Some(hint) => error.with_help(hint),
        None => error,
    }
}

/// Sends the plan; the flag is true when a signal interrupted the run.
fn send(
    github: &GitHub,
    plan: &Plan,
    delivery: Delivery,
    journal: Option<&Journal>,
    waits: WaitOptions,
    budgets: &ReadBudgets,
    progress: &crate::progress::Progress,
) -> Result<(Vec<Outcome>, bool), CliError> {
    let runtime = runtime()?;
    let mut observers: Vec<&dyn Observer> = vec![&Log];
    if let Some(journal) = journal {
        observers.push(journal);
    }
    observers.push(progress);
    let observer = All(observers);
    let cancel = CancellationToken::new();
    // Under GitHub Actions the delivery log folds into one group; the report and the
    // annotations after it stay visible.
    let group = under_actions();
    if group {
        let title = format!(
            "orchestrator: sending {}",
            crate::style::count(plan.jobs.len(), "request", "requests")
        );
        crate::progress::group_log_lines(title);
    }
    let sent = runtime.block_on(async {
        let watcher = tokio::spawn(interrupt_on_signal(cancel.clone()));
        // `--max-duration` also ends `--wait`: a run not completed by then is not waited for.
        let stop_at = delivery
            .max_duration
            .and_then(|max| tokio::time::Instant::now().checked_add(max));
        let out_of_time = async {
            match stop_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // A run other targets need is followed as soon as it is delivered (`needs:`).
        let follow = Following {
            github,
            options: waits,
            budgets,
        };
        let mut outcomes =
            dispatch_following(github, &plan.jobs, delivery, &observer, &cancel, &follow).await;
        let mut stopped = false;
        if !cancel.is_cancelled() {
            tokio::select! {
                _ = wait_for_runs(github, &plan.jobs, &mut outcomes, waits, budgets) => {}
                _ = cancel.cancelled() => {}
                _ = out_of_time => stopped = true,
            }
        }
        let interrupted = cancel.is_cancelled();
        let stop = match (interrupted, stopped) {
            (true, _) => Some(WaitEnd::Signal),
            (false, true) => Some(WaitEnd::MaxDuration),
            (false, false) => None,
        };
        if let Some(why) = stop {
            interrupt_waits(&plan.jobs, &mut outcomes, waits, why);
        }
        // The watcher stays: a second signal still ends the process during the cancels.
        cancel_runs(github, &plan.jobs, &mut outcomes, stop).await;
        watcher.abort();
        Ok((outcomes, interrupted))
    });
    if group {
        crate::progress::end_log_group();
    }
    sent
}

/// Ctrl-C (SIGINT) or SIGTERM: stop starting requests, let those in flight finish and be
/// recorded. A second signal ends the process at once; the journal is complete up to then.
async fn interrupt_on_signal(cancel: CancellationToken) {
    wait_for_signal().await;
    // Cancelled before it is said, so whoever reads the line knows no new request starts.
    cancel.cancel();
    tracing::warn!(
        "interrupted: finishing requests in flight, starting no new ones (again to stop now)"
    );
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
