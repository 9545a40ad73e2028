//! `orchestrator check`: load → plan every target (as a release of its sources would render
//! it) → read, concurrently → publish the verdicts.

use super::{env_var, load_valid, plan_refused, CliError};
use crate::check::probe::{self, Probe, ToCheck};
use crate::check::{report as check_report, CheckReport};
use crate::cli::{CheckArgs, Output};
use crate::config::Config;
use crate::dispatch::pacing::Pacer;
use crate::exit::Exit;
use crate::plan::{Job, Plan, PlanMode};
use crate::release::{CiContext, Release};
use std::io::Write;

pub(super) fn check(
    args: &CheckArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let (file, config, checked) = load_valid(
        &args.config.config,
        &args.settings,
        stderr,
        "; nothing was checked",
    )?;
    let planned = plan_stage(args, &checked, &config, &file, stderr)?;
    let report = read(args, &config, &planned)?;
    publish(args, &report, stdout, stderr)
}

/// A job to check: its source, and what it can send as its event type.
type Planned = (String, Job, Option<crate::check::event_types::Sent>);

/// The `plan` stage: each target once per distinct check (a target fed by several sources
/// that render its event type or inputs alike is checked once), with the tokens that are set.
fn plan_stage(
    args: &CheckArgs,
    checked: &crate::config::Checked,
    config: &Config,
    file: &str,
    stderr: &mut dyn Write,
) -> Result<Vec<Planned>, CliError> {
    let version = super::version_flag(&args.sample_version)?;
    let sources: Vec<String> = match &args.source {
        Some(source) => vec![source.clone()],
        None => config.sources.keys().cloned().collect(),
    };
    let only = crate::plan::chosen_targets(config, args.source.as_deref(), &args.targets)
        .map_err(|err| CliError::usage(err.to_string()))?;
    let mut jobs: Vec<Planned> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for source in sources {
        let release = Release {
            source,
            version: version.clone(),
            vars: args.vars.iter().cloned().collect(),
            ci: CiContext::from_vars(env_var),
            changes: None,
        };
        // `Validate`: every target whatever its `when`, tokens taken when set.
        let plan = crate::plan::plan_with(
            config,
            &release,
            &env_var,
            PlanMode::Validate,
            only.as_ref(),
            &mut crate::render::Work::default(),
        )
        .map_err(|err| {
            plan_refused(
                err,
                checked,
                file,
                stderr,
                "the plan has problems; nothing was checked",
            )
        })?;
        let release = Release {
            source: plan.source.clone(),
            ..release
        };
        for job in plan.jobs {
            // Every event type a release can send, not only the sample's.
            let sent = crate::check::event_types::sent(config, &release, &job.target);
            // What a check depends on: the event types (or workflow and ref) and the inputs.
            let key = (
                job.target.clone(),
                format!("{}{sent:?}", job.label),
                job.body()["inputs"].to_string(),
            );
            if seen.insert(key) {
                jobs.push((plan.source.clone(), job, sent));
            }
        }
    }
    Ok(jobs)
}

/// The `read` stage: the GETs, concurrently (bounded by `concurrency`) and paced like a run.
fn read(args: &CheckArgs, config: &Config, planned: &[Planned]) -> Result<CheckReport, CliError> {
    let as_plan = Plan {
        source: String::new(),
        version: String::new(),
        tag: String::new(),
        jobs: planned.iter().map(|(_, job, _)| job.clone()).collect(),
        skipped: Vec::new(),
    };
    let github = super::deliver::client(&as_plan)?;
    let pacer = Pacer::new(config.rate_limit.clone());
    let reads = crate::dispatch::budget::ReadBudgets::new(config.read_budget);
    let answers = tokio::sync::Semaphore::new(crate::check::probe::ANSWERS_AT_ONCE);
    let probe = Probe {
        github: &github,
        pacer: &pacer,
        reads: &reads,
        answers: &answers,
        now_epoch: super::now_epoch(),
        warn_days: args.expiry_warning_days,
    };
    let to_check: Vec<ToCheck<'_>> = planned
        .iter()
        .filter_map(|(source, job, sent)| {
            let spec = config.targets.get(&job.target)?;
            Some(ToCheck {
                job,
                spec,
                source,
                event_types: sent.as_ref(),
            })
        })
        .collect();
    let checks = super::deliver::runtime()?.block_on(probe::check_all(
        &probe,
        &to_check,
        config.concurrency,
    ));
    Ok(CheckReport::new(checks))
}

/// The `publish` stage: token warnings on stderr, the summary and annotations under Actions,
/// the verdicts on stdout, and exit 1 unless every checkable target is ready.
fn publish(
    args: &CheckArgs,
    report: &CheckReport,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    for (level, message) in report.token_messages() {
        let _ = writeln!(stderr, "{level}: {message}");
    }
    if let Some(actions) = crate::actions::Actions::detect(env_var) {
        actions.publish_check(report, stderr);
    }
    let mut buffered = std::io::BufWriter::new(stdout);
    match args.output {
        Output::Text => check_report::write_text(report, &mut buffered),
        Output::Json => check_report::write_json(report, &mut buffered),
        Output::Markdown => check_report::write_markdown(report, &mut buffered),
    }
    .and_then(|()| buffered.flush())
    .map_err(|err| CliError::failure(format!("cannot write the report: {err}")))?;
    Ok(if report.all_ready() {
        Exit::Success
    } else {
        Exit::Failure
    })
}
