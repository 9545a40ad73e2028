//! `orchestrator run`: load → release → plan → resume → deliver → publish.

use super::deliver::{self, Sent};
use super::{env_var, keep_until_exit, load_valid, plan_refused, CliError};
use crate::changes::{ChangeSet, Checkout};
use crate::cli::{RunArgs, RunOutput};
use crate::config::{Checked, Config};
use crate::exit::Exit;
use crate::journal::{self, EarlierDelivery, JournalError, Journals};
use crate::plan::{plan_with, Plan, PlanMode};
use crate::release::{CiContext, Release};
use crate::render::Work;
use crate::report::{self, Report};
use crate::secret::Redacting;
use crate::style::Palette;
use crate::untrusted;
use std::io::Write;

pub(super) fn run(
    args: &RunArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let (file, config, checked) = load_valid(
        &args.config.config,
        &args.settings,
        stderr,
        "; nothing was sent",
    )?;
    let named = release_named(args, stderr)?;
    let planning = Planning::of(args);
    let (release, unknown_changes) = release(&planning, &named, &config, stderr)?;
    let planned = plan_stage(
        &planning, &checked, &config, &release, &file, stdout, stderr,
    );
    // Both problems at once: a git problem does not hide the missing tokens behind it.
    let undecided = changes_stage(unknown_changes, planned.is_err(), stderr)?;
    let mut plan = planned?;
    let sharded = super::plan::shard_stage(args, &mut plan)?;
    warn_optional_unset(&plan, stderr);
    let journals = hold_journals(args)?;
    resume(args, &mut plan, &journals, stderr)?;
    let set_aside = sharded.as_ref().map(|_| super::plan::set_aside(&plan));
    // Each run of orchestrator sends tracked targets a new id, so it finds only its own runs.
    plan.stamp(fastrand::u32(..));
    let blocked = blocked_by_needs(&mut plan, &std::collections::HashSet::new());
    let mut report = match undecided {
        Some(unknown) => deliver_decided(args, &config, plan, &unknown, &journals, stderr)?,
        None if args.dry_run => dry_run(args, plan, checked, config),
        None => deliver(args, &config, (&plan, &blocked), &journals, stderr)?,
    };
    report.add_unsent(blocked);
    if let (Some(sharded), Some(set_aside)) = (sharded, set_aside) {
        sharded.mark(&mut report, &set_aside);
    }
    let exit = publish(&Publish::of(args), &report, stdout, stderr);
    keep_until_exit(report);
    // Let go of the journals only now that the run has published what it did.
    drop(journals);
    exit
}

/// The `changes` stage: files changed that cannot be known refuse the run (when the checkout
/// is another repository, or the plan has problems too), or come back to be decided target
/// by target, with a warning.
fn changes_stage(
    unknown: Option<UnknownChanges>,
    plan_failed: bool,
    stderr: &mut dyn Write,
) -> Result<Option<UnknownChanges>, CliError> {
    let Some(unknown) = unknown else {
        return Ok(None);
    };
    if unknown.refuse || plan_failed {
        let also = if plan_failed {
            ", and the plan has problems (above)"
        } else {
            ""
        };
        // A refused checkout's reason is a whole sentence of its own.
        let headline = if unknown.refuse {
            unknown.reason
        } else {
            format!("cannot tell which files changed: {}", unknown.reason)
        };
        let error = CliError::usage(format!("{headline}{also}; nothing was sent"));
        return Err(match unknown.help {
            Some(help) => error.with_help(help),
            None => error,
        });
    }
    let _ = writeln!(
        stderr,
        "warning: cannot tell which files changed: {}; the targets with `when.changed` are not sent and are reported failed, the others are sent",
        unknown.reason
    );
    Ok(Some(unknown))
}

/// The journals a run names, held from before the earlier run's records are read until this
/// run ends, so no other run can send from the same journal meanwhile; taken once the plan
/// holds, so a run refused for its plan leaves no journal behind. A dry run sends nothing and
/// holds nothing.
fn hold_journals(args: &RunArgs) -> Result<Journals, CliError> {
    if args.dry_run {
        return Ok(Journals::default());
    }
    Journals::hold(args.resume.as_deref(), args.journal.as_deref()).map_err(refused)
}

/// A dry run's report: the plan, with the duration its limits make expected.
fn dry_run(args: &RunArgs, plan: Plan, checked: Checked, config: Config) -> Report {
    // The expected duration needs the configuration's limits; then nothing needs the
    // configuration any more. The report takes the plan's jobs apart without copying them,
    // so keeping the configuration to the end costs no memory beyond the plan's peak, and
    // freeing it now would only cost time.
    let pacing = crate::plan::PacingEstimate::of(&plan.jobs, &config.rate_limit);
    keep_until_exit((checked, config));
    let mut report = Report::planned(plan);
    report.pacing = Some(pacing);
    if args.wait {
        report.wait_for_every_workflow();
    }
    report
}

/// An optional target whose token is unset is skipped rather than refusing the run: said.
fn warn_optional_unset(plan: &Plan, stderr: &mut dyn Write) {
    let unset = plan.skipped.iter();
    for skip in unset.filter(|s| s.why == crate::plan::SkipWhy::TokenUnset) {
        let _ = writeln!(
            stderr,
            "warning: target `{}` is skipped: {}",
            skip.target, skip.reason
        );
    }
}

/// The `needs` stage: the targets a need settled before sending blocks (skipped, or in
/// `failed`), taken out of the plan with their status (see [`crate::plan::needs`]).
fn blocked_by_needs(
    plan: &mut Plan,
    failed: &std::collections::HashSet<&str>,
) -> Vec<(crate::plan::Job, crate::dispatch::Status)> {
    crate::plan::needs::settle(plan, failed)
        .into_iter()
        .map(|(job, reason)| (job, crate::dispatch::Status::Blocked { reason }))
        .collect()
}

/// Why a real run cannot know the files changed (and so sends nothing), and how to fix it.
pub(super) struct UnknownChanges {
    reason: String,
    help: Option<String>,
    /// Refuse the whole run (the checkout is another repository), rather than send the targets
    /// that need no changes and report the others failed (git cannot tell: a shallow clone, no
    /// repository).
    refuse: bool,
}

/// A real run whose changed files cannot be known: the targets that need them are not sent and
/// are reported failed, with the fix; every other target is sent.
fn deliver_decided(
    args: &RunArgs,
    config: &Config,
    mut plan: Plan,
    unknown: &UnknownChanges,
    journals: &Journals,
    stderr: &mut dyn Write,
) -> Result<Report, CliError> {
    let (needs_changes, decided): (Vec<_>, Vec<_>) =
        std::mem::take(&mut plan.jobs).into_iter().partition(|job| {
            config
                .targets
                .get(&job.target)
                .is_some_and(|t| t.condition.changed.is_some())
        });
    plan.jobs = decided;
    let undecided: std::collections::HashSet<&str> =
        needs_changes.iter().map(|j| j.target.as_str()).collect();
    let blocked = blocked_by_needs(&mut plan, &undecided);
    let mut report = deliver(args, config, (&plan, &blocked), journals, stderr)?;
    report.add_unsent(blocked);
    let failed = needs_changes.into_iter().map(|job| {
        let filter = config
            .targets
            .get(&job.target)
            .and_then(|t| t.condition.changed.as_ref())
            .map(|f| f.to_string())
            .unwrap_or_default();
        let status = crate::dispatch::Status::Failed {
            http_status: None,
            reason: format!(
                "not sent: when.changed ({filter}) not decided: {}",
                unknown.reason
            ),
            hint: unknown.help.clone(),
        };
        (job, status)
    });
    report.add_unsent(failed);
    Ok(report)
}

/// The `release` stage: the version, `--set` variables, the CI context and, only when a
/// `when.changed` condition needs them, the files changed since the previous release. In a real
/// run, changes that cannot be known come back beside the release, so the plan's own problems
/// are still found and shown with them.
pub(super) fn release(
    args: &Planning,
    named: &Named,
    config: &Config,
    stderr: &mut dyn Write,
) -> Result<(Release, Option<UnknownChanges>), CliError> {
    let mut unknown = None;
    let version = version_given(&named.version, stderr)?;
    let changes = if crate::plan::needs_changes(config, &named.source) {
        // Which repository the checkout is, and what changed in it, are read side by side
        // (each is a few git commands, read-only); the changes are used only when the
        // checkout is the source's.
        let (other, loaded) = std::thread::scope(|scope| {
            let other = scope.spawn(|| other_checkout(args, &named.source, config));
            let loaded = ChangeSet::load(
                &args.changes.repo_dir,
                &version,
                args.changes.previous_version.as_deref(),
            );
            (other.join().unwrap_or_default(), loaded)
        });
        // A directory that is no repository names none either: git's own answer says more.
        let other = other.filter(|o| o.named || loaded.is_ok());
        if let Some(other) = other {
            if args.dry_run {
                let _ = writeln!(stderr, "warning: {}", other.message);
                Some(ChangeSet::undecided(format!(
                    "{}; a real run refuses",
                    other.why
                )))
            } else {
                unknown = Some(UnknownChanges {
                    refuse: true,
                    reason: other.message,
                    help: Some(other.help),
                });
                None
            }
        } else {
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
                    unknown = Some(UnknownChanges {
                        refuse: false,
                        reason: err.to_string(),
                        help: err.help(),
                    });
                    None
                }
            }
        }
    } else {
        None
    };
    let release = Release {
        source: named.source.clone(),
        version,
        vars: args.chosen.vars.iter().cloned().collect(),
        ci: CiContext::from_vars(env_var),
        changes,
    };
    Ok((release, unknown))
}

/// `--version` read, with a note when it was a ref (`refs/tags/v1.2.3`, what `github.ref`
/// gives) read as its tag.
fn version_given(text: &str, stderr: &mut dyn Write) -> Result<crate::release::Version, CliError> {
    let version = super::version_flag(text)?;
    if version.given != version.tag {
        let _ = writeln!(
            stderr,
            "note: --version {} is read as the tag {} (templates get the whole value as {{{{ref}}}})",
            version.given, version.tag
        );
    }
    Ok(version)
}

/// Why the checkout at `--repo-dir` cannot tell this source's changes: it is a clone of another
/// repository (by its `origin` remote, else `GITHUB_REPOSITORY`), or nothing says which
/// repository it is. `None` when it is the source's repository.
fn other_checkout(args: &Planning, given: &str, config: &Config) -> Option<OtherCheckout> {
    let source = config.sources.iter().find_map(|(name, source)| {
        let repository = source.repository.to_string();
        (name == given || repository.eq_ignore_ascii_case(given)).then_some(repository)
    })?;
    let git = crate::changes::Git::new(&args.changes.repo_dir);
    let github_repository = env_var("GITHUB_REPOSITORY");
    let dir = args.changes.repo_dir.display();
    match crate::changes::checkout_repository(&git, github_repository.as_deref()) {
        Checkout::Named(checkout) => (!checkout.eq_ignore_ascii_case(&source)).then(|| {
            let why = format!(
                "the checkout at `{dir}` is {checkout}, not the source's repository {source}"
            );
            OtherCheckout {
                named: true,
                message: format!("cannot tell which files changed: {why}"),
                why,
                help: "run in a checkout of the source repository, or point --repo-dir at one"
                    .to_owned(),
            }
        }),
        unnamed @ Checkout::Unnamed { .. } => {
            let because = unnamed.unnamed_because().unwrap_or_default();
            let why = format!("cannot tell which repository this checkout (`{dir}`) is: {because}");
            Some(OtherCheckout {
                named: false,
                message: why.clone(),
                why,
                help: format!(
                    "point --repo-dir at a checkout of {source}, or set GITHUB_REPOSITORY={source}"
                ),
            })
        }
    }
}

/// A checkout that cannot tell the source's changes: the whole message, the reason a target's
/// `when.changed` is not decided, and the fix.
struct OtherCheckout {
    /// The checkout names a repository (another one), rather than none.
    named: bool,
    message: String,
    why: String,
    help: String,
}

/// The `plan` stage: every request rendered and every token resolved, or every problem shown
/// at its place (and, under `--output json`, listed on stdout as `validate` lists them) and
/// nothing sent.
pub(super) fn plan_stage(
    args: &Planning,
    checked: &Checked,
    config: &Config,
    release: &Release,
    file: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Plan, CliError> {
    let mode = if args.dry_run {
        PlanMode::DryRun
    } else {
        PlanMode::Send
    };
    let only = crate::plan::chosen_targets(config, Some(&release.source), &args.chosen.targets)
        .map_err(|err| CliError::usage(err.to_string()))?;
    plan_with(
        config,
        release,
        &env_var,
        mode,
        only.as_ref(),
        &mut Work::default(),
    )
    .map_err(|err| {
        if let (true, crate::plan::PlanError::Problems(problems)) = (args.json, &err) {
            let located = checked.locate(problems.clone());
            let _ = super::validate::write_json(stdout, file, &located, false);
        }
        plan_refused(
            err,
            checked,
            file,
            stderr,
            "the plan has problems; nothing was sent",
        )
    })
}

/// The `deliver` stage: send, follow runs, and say what an interruption left undone.
fn deliver(
    args: &RunArgs,
    config: &Config,
    planned: (&Plan, &[(crate::plan::Job, crate::dispatch::Status)]),
    journals: &Journals,
    stderr: &mut dyn Write,
) -> Result<Report, CliError> {
    let Sent {
        mut report,
        out_of_time,
        not_waited,
        journal_error,
        token_expirations,
    } = deliver::deliver(args, config, planned, journals.written())?;
    warn_expiring_tokens(args, &token_expirations, stderr);
    if let Some(err) = journal_error {
        let _ = writeln!(stderr, "warning: {err}");
    }
    let stopped = if report.summary.interrupted {
        Some("interrupted")
    } else if out_of_time {
        report.summary.max_duration_reached = true;
        Some("stopped at --max-duration")
    } else {
        None
    };
    if let Some(stopped) = stopped {
        let _ = writeln!(
            stderr,
            "{}",
            stop_message(stopped, args, &report, not_waited)
        );
    }
    Ok(report)
}

/// What a stop (`--max-duration`, SIGINT, SIGTERM) left undone, and how to send the rest.
fn stop_message(stopped: &str, args: &RunArgs, report: &Report, not_waited: usize) -> String {
    let not_sent = report.summary.not_sent;
    let mut message = format!("{stopped}: {not_sent} target(s) were not sent");
    if not_waited > 0 {
        message.push_str(&format!(", {not_waited} workflow run(s) not waited for"));
    }
    // When only a wait was cut short, every target was sent: a resume has nothing to send.
    match (&args.journal, &args.resume) {
        _ if not_sent == 0 => {}
        (Some(path), _) | (None, Some(path)) => {
            message.push_str(&format!(
                "; send the rest with `--resume {}`",
                path.display()
            ));
        }
        (None, None) => {
            message.push_str("; with `--journal FILE`, a later `--resume FILE` sends the rest");
        }
    }
    message
}

/// A token GitHub says expires within `--expiry-warning-days` (or has expired): a warning on
/// stderr and, under Actions, an annotation; once per token variable.
fn warn_expiring_tokens(
    args: &RunArgs,
    expirations: &[(String, crate::github::response::TokenExpiry)],
    stderr: &mut dyn Write,
) {
    let now = super::now_epoch();
    let actions = super::under_actions();
    for (env, expiry) in expirations {
        let token = crate::check::TokenCheck::new(env, *expiry, now, args.expiry_warning_days);
        let Some(message) = token.message() else {
            continue;
        };
        let _ = writeln!(stderr, "warning: {message}");
        if actions {
            let _ = crate::actions::write_token_annotation(stderr, "dispatch", "warning", &message);
        }
    }
}

/// What the `publish` stage reads of the command line: `run`'s, or `report merge`'s.
pub(super) struct Publish<'a> {
    pub(super) report: Option<&'a std::path::Path>,
    pub(super) output: RunOutput,
    pub(super) bodies: bool,
    pub(super) color: crate::style::ColorChoice,
    pub(super) ignore_run_failures: bool,
}

impl Publish<'_> {
    fn of(args: &RunArgs) -> Publish<'_> {
        Publish {
            report: args.report.as_deref(),
            output: args.output,
            bodies: args.bodies,
            color: args.color,
            ignore_run_failures: args.ignore_run_failures,
        }
    }
}

/// The `publish` stage: the report file, GitHub Actions' summary, outputs and annotations, the
/// report on stdout, and the exit code the outcomes call for.
pub(super) fn publish(
    args: &Publish,
    report: &Report,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    // Written first and reported last: a report file that cannot be written must not keep the
    // report from stdout or the step summary.
    let mut unwritten = None;
    if let Some(path) = args.report {
        let written = std::fs::File::create(path).and_then(|f| {
            let mut out = Redacting::new(f);
            report.write_json(&mut out)?;
            out.flush()
        });
        if let Err(err) = written {
            unwritten = Some(CliError::failure(format!(
                "cannot write the report {}: {err}",
                path.display()
            )));
        }
    }
    if let Some(actions) = crate::actions::Actions::detect(env_var) {
        actions.publish(report, args.report, stderr);
    }
    // One buffer for the whole report: a 10,000-target report is otherwise tens of thousands of
    // small writes to stdout.
    let mut buffered = std::io::BufWriter::new(stdout);
    match args.output {
        RunOutput::Text | RunOutput::Table => {
            let bodies = match (args.output, args.bodies) {
                (RunOutput::Table, _) => report::Bodies::Never,
                (_, true) => report::Bodies::Always,
                (_, false) => report::Bodies::UpToFew,
            };
            report.write_text_as(&mut buffered, Palette::for_stdout(args.color), bodies)
        }
        RunOutput::Json => report.write_json(&mut buffered),
        RunOutput::Markdown => crate::markdown::write_report(report, &mut buffered),
    }
    .and_then(|()| buffered.flush())
    .map_err(|err| CliError::failure(format!("cannot write the report: {err}")))?;
    if let Some(err) = unwritten {
        return Err(err);
    }
    // Interrupted is 130 even when every request in flight then finished, or the signal (or
    // `--max-duration`) came during `--wait`: the run did not do all it was asked.
    let s = &report.summary;
    Ok(
        if s.interrupted || s.max_duration_reached || s.not_sent > 0 {
            Exit::Interrupted
        } else if report.any_failed()
            || (report.summary.runs_failed > 0 && !args.ignore_run_failures)
        {
            Exit::Failure
        } else {
            Exit::Success
        },
    )
}

/// A journal or report that stops the run before anything is sent: exit 2, with what to do.
fn refused(err: JournalError) -> CliError {
    let help = err.help();
    // The file may come from another job or from anyone: what it says is quoted as server text.
    let refused = CliError::usage(untrusted::shown(&err.to_string(), 2000));
    match help {
        Some(help) => refused.with_help(help),
        None => refused,
    }
}

/// The `resume` stage (`--resume` and `--retry-failed`): set aside what an earlier run already took care of. A
/// target counts as delivered only when the request delivered is the one planned now (same
/// fingerprint); a target whose request changed since is sent again, with a note.
fn resume(
    args: &RunArgs,
    plan: &mut Plan,
    journals: &Journals,
    stderr: &mut dyn Write,
) -> Result<(), CliError> {
    let (path, earlier, from_journal) = match (&args.resume, &args.retry_failed) {
        (Some(path), _) => (
            path,
            match journals.resumed() {
                Some(held) => held.read(&plan.source, &plan.version),
                None => journal::read_journal(path, &plan.source, &plan.version),
            },
            true,
        ),
        (None, Some(path)) => (path, report::read(path, &plan.source, &plan.version), false),
        (None, None) => return Ok(()),
    };
    let earlier = earlier.map_err(refused)?;
    let shown = path.display().to_string();
    let what = if from_journal { "journal" } else { "report" };
    if !earlier.in_flight.is_empty() {
        let _ = writeln!(
            stderr,
            "note: {} target(s) were in flight when the journaled run stopped and may already have been delivered; sending them again (at-least-once): {}",
            earlier.in_flight.len(),
            earlier
                .in_flight
                .iter()
                .map(|name| untrusted::one_line(name, 200))
                .collect::<Vec<_>>()
                .join(", ")
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
        // Only what the report shows delivered (this very request) is set aside: a target it
        // does not mention, or records as skipped, was not delivered, so it is sent rather
        // than passed over in silence with exit 0.
        plan.set_aside(|job| {
            (earlier.delivery_of(job) == EarlierDelivery::Same)
                .then(|| format!("delivered in the earlier run (report {shown})"))
        });
    }
    Ok(())
}

/// The release a run is of: `--source` and `--version`, each taken, when not given, from what
/// the `--resume` journal or `--retry-failed` report records (a note says so). One that is given
/// and differs from the file is refused by the `resume` stage, as before.
pub(super) struct Named {
    pub(super) source: String,
    pub(super) version: String,
}

/// What the `release` and `plan` stages read of the command line: `run`'s, or `plan`'s (a dry
/// run that prints no report).
pub(super) struct Planning<'a> {
    pub(super) chosen: &'a crate::cli::ChosenArgs,
    pub(super) changes: &'a crate::cli::ChangesArgs,
    pub(super) dry_run: bool,
    /// `--output json`: plan problems are listed on stdout too.
    pub(super) json: bool,
}

impl Planning<'_> {
    fn of(args: &RunArgs) -> Planning<'_> {
        Planning {
            chosen: &args.chosen,
            changes: &args.changes,
            dry_run: args.dry_run,
            json: args.output == RunOutput::Json,
        }
    }
}

fn release_named(args: &RunArgs, stderr: &mut dyn Write) -> Result<Named, CliError> {
    if let (Some(source), Some(version)) = (&args.release.source, &args.release.release_version) {
        return Ok(Named {
            source: source.clone(),
            version: version.clone(),
        });
    }
    let (path, recorded, what) = match (&args.resume, &args.retry_failed) {
        (Some(path), _) => (path, journal::recorded_release(path), "resuming"),
        (None, Some(path)) => (path, report::recorded_release(path), "retrying"),
        (None, None) => {
            return Err(CliError::usage(
                "--source and --version are required (or --resume JOURNAL, or --retry-failed REPORT, which record them)",
            ))
        }
    };
    let recorded = recorded.map_err(refused)?;
    // The tag as the earlier run was given it (`v1.2.3`), so `{{tag}}` renders the same; files
    // written before the tag was recorded give only the version.
    let named = Named {
        source: args.release.source.clone().unwrap_or(recorded.source),
        version: (args.release.release_version.clone())
            .unwrap_or_else(|| recorded.tag.unwrap_or(recorded.version)),
    };
    let _ = writeln!(
        stderr,
        "note: {what} {} {}, the release {} records",
        untrusted::one_line(&named.source, 200),
        untrusted::one_line(&named.version, 200),
        path.display()
    );
    Ok(named)
}
