//! `orchestrator plan --shards N`: a release's fan-out split by identity into shards
//! for a GitHub Actions matrix, and the shard stage of `run --shard I/N`, which splits the
//! plan again the same way and keeps its own shard.

use super::run::{self, Named, Planning};
use super::{env_var, load_valid, CliError};
use crate::cli::{PlanArgs, PlanOutput, RunArgs};
use crate::exit::Exit;
use crate::plan::{Plan, ShardRecord, Split};
use crate::report::{Entry, Report};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

pub(super) fn plan(
    args: &PlanArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let (file, config, checked) = load_valid(
        &args.config.config,
        &args.settings,
        stderr,
        "; nothing was planned",
    )?;
    let named = Named {
        source: args.release.source.clone().unwrap_or_default(),
        version: args.release.release_version.clone().unwrap_or_default(),
    };
    let planning = Planning {
        chosen: &args.chosen,
        changes: &args.changes,
        dry_run: true,
        json: false,
    };
    let (release, _) = run::release(&planning, &named, &config, stderr)?;
    let plan = run::plan_stage(
        &planning, &checked, &config, &release, &file, stdout, stderr,
    )?;
    let split = split(
        &args.config.config,
        &args.chosen.vars,
        &plan,
        args.shards.into(),
    )?;
    if split.asked > split.shards.len() {
        let _ = writeln!(stderr, "warning: {}", fewer_identities(&split));
    }
    let matrix = matrix(&split).to_string();
    if let Some(actions) = crate::actions::Actions::detect(env_var) {
        actions.append_output("matrix", &matrix, stderr);
    }
    match args.output {
        PlanOutput::Matrix => writeln!(stdout, "{matrix}"),
        PlanOutput::Text => write_table(stdout, &split),
    }
    .map_err(|err| CliError::failure(format!("cannot write the plan: {err}")))?;
    Ok(Exit::Success)
}

/// The plan's identities in `count` shards, the configuration read again for its digest.
fn split(
    path: &Path,
    vars: &[(String, String)],
    plan: &Plan,
    count: usize,
) -> Result<Split, CliError> {
    let bytes =
        crate::config::load::read(path).map_err(|err| super::unreadable_config(path, err))?;
    let digest = crate::plan::config_digest(&bytes, vars);
    Ok(Split::of(&plan.jobs, count, &digest))
}

/// `--shards N` past the identities (or the groups `needs:` joins them in): fewer shards, and
/// why no identity is split.
fn fewer_identities(split: &Split) -> String {
    let (asked, n, identities) = (split.asked, split.shards.len(), split.identities());
    let twice = "an identity in two jobs would spend its rate limit twice";
    if n >= identities {
        return format!(
            "--shards {asked} is more than the {identities} identities (token variables, App installations) this release uses: planned {n} shard(s), one identity each; {twice}"
        );
    }
    format!(
        "--shards {asked} is more than the {n} group(s) `needs:` makes of this release's {identities} identities (a target and a target it needs are sent by one job): planned {n} shard(s); {twice}"
    )
}

/// `{"include":[{"shard":"1/4","identities":[...],"targets":K,"requests":R,"fingerprint":F}]}`:
/// a workflow's `matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}`, one job per shard.
fn matrix(split: &Split) -> serde_json::Value {
    let include: Vec<_> = (split.shards.iter())
        .map(|shard| {
            json!({
                "shard": shard.of.to_string(),
                "identities": shard.identities.iter().map(|i| &i.name).collect::<Vec<_>>(),
                "targets": shard.targets,
                "requests": shard.requests,
                "fingerprint": split.fingerprint,
            })
        })
        .collect();
    json!({ "include": include })
}

/// One line per shard: its identities (with their requests), targets and requests.
fn write_table(out: &mut dyn Write, split: &Split) -> std::io::Result<()> {
    let requests: usize = split.shards.iter().map(|s| s.requests).sum();
    writeln!(
        out,
        "{} over {}, {} (fingerprint {}):\n",
        crate::style::count(split.shards.len(), "shard", "shards"),
        crate::style::count(split.identities(), "identity", "identities"),
        crate::style::count(requests, "request", "requests"),
        split.fingerprint
    )?;
    let rows: Vec<[String; 4]> = (split.shards.iter())
        .map(|shard| {
            let identities = (shard.identities.iter())
                .map(|i| format!("{} ({})", i.name, i.requests))
                .collect::<Vec<_>>()
                .join(", ");
            let of = shard.of.to_string();
            [
                of,
                shard.targets.to_string(),
                shard.requests.to_string(),
                identities,
            ]
        })
        .collect();
    let header = ["shard", "targets", "requests", "identities (requests)"].map(str::to_owned);
    let width = |i: usize| {
        rows.iter()
            .chain([&header])
            .map(|r| r[i].len())
            .max()
            .unwrap_or(0)
    };
    let (a, b, c) = (width(0), width(1), width(2));
    for [of, targets, requests, identities] in std::iter::once(&header).chain(&rows) {
        writeln!(out, "{of:<a$}  {targets:>b$}  {requests:>c$}  {identities}")?;
    }
    Ok(())
}

/// `run --shard I/N` planned: keeps only shard I's jobs (and, in shard 1, the targets the
/// release skips, so a merged report lists them once), after checking the plan has N shards.
pub(super) fn shard_stage(args: &RunArgs, plan: &mut Plan) -> Result<Option<Sharded>, CliError> {
    let Some(of) = args.shard else {
        return Ok(None);
    };
    let split = split(&args.config.config, &args.chosen.vars, plan, of.count)?;
    if let Some(planned) = &args.shard_fingerprint {
        same_split(of, planned, &split)?;
    }
    if split.shards.len() < of.count {
        return Err(
            CliError::usage(format!("--shard {of}: {}", fewer_identities(&split))).with_help(
                format!(
                    "run the shards `orchestrator plan --shards {}` prints",
                    of.count
                ),
            ),
        );
    }
    let order = Order::of(plan);
    plan.jobs.retain(|job| split.shard_of(job) == of.index);
    if of.index != 1 {
        plan.skipped.clear();
    }
    Ok(Some(Sharded {
        record: split.record(of),
        order,
    }))
}

/// `--shard-fingerprint`: the plan job split the plan as this run does, else a refusal before
/// anything is sent (a shard of another split could send a target another job sends too, or
/// leave one unsent).
fn same_split(of: crate::plan::ShardOf, planned: &str, split: &Split) -> Result<(), CliError> {
    if planned == split.fingerprint {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "--shard {of}: this run splits the plan with fingerprint {}, not the plan job's {planned} (--shard-fingerprint); nothing was sent",
        split.fingerprint
    ))
    .with_help(
        "the configuration file or its `--set` values changed between the plan job and this one, or they run different orchestrator releases: give every job the same checkout, `--set` values and orchestrator version, and run the plan job again",
    ))
}

/// The targets an earlier run took care of (`--resume`, `--retry-failed`), which a report lists
/// after the ones the release skips.
pub(super) fn set_aside(plan: &Plan) -> HashSet<String> {
    plan.skipped.iter().map(|s| s.target.clone()).collect()
}

/// A shard's run: what its report records.
pub(super) struct Sharded {
    record: ShardRecord,
    order: Order,
}

impl Sharded {
    /// Records the shard, and each target's place in the report one run would write.
    pub(super) fn mark(self, report: &mut Report, set_aside: &HashSet<String>) {
        for target in &mut report.targets {
            let skipped = matches!(
                target.status,
                Entry::Done(crate::dispatch::Status::Skipped { .. })
            );
            let set_aside = skipped && set_aside.contains(&target.target);
            target.order = Some(self.order.rank(&target.target, set_aside));
        }
        report.shard = Some(self.record);
    }
}

/// Where each target of the whole plan stands in one run's report: the jobs in plan order,
/// then the targets the release skips, then the jobs an earlier run took care of.
struct Order {
    jobs: usize,
    skipped: usize,
    of_target: HashMap<String, usize>,
}

impl Order {
    fn of(plan: &Plan) -> Order {
        let jobs = plan.jobs.iter().map(|job| job.target.clone());
        let skipped = plan.skipped.iter().map(|skip| skip.target.clone());
        Order {
            jobs: plan.jobs.len(),
            skipped: plan.skipped.len(),
            of_target: jobs
                .chain(skipped)
                .enumerate()
                .map(|(i, t)| (t, i))
                .collect(),
        }
    }

    fn rank(&self, target: &str, set_aside: bool) -> usize {
        let at = self
            .of_target
            .get(target)
            .copied()
            .unwrap_or(usize::MAX / 2);
        if set_aside && at < self.jobs {
            self.jobs + self.skipped + at
        } else {
            at
        }
    }
}
