//! `report merge`: the JSON reports of a sharded run (`run --shard I/N --report
//! FILE`) read back and joined into the [`Report`] one run over every target would have
//! written, so its text, JSON, Markdown, job summary, step outputs and exit code are one run's.
//!
//! The files come from other jobs (artifacts anyone with write access can replace): each is
//! read through [`crate::files`] (a regular file, up to a cap), a parse error names the file,
//! and every text in it is taken as server text (redacted, neutralized, cut) before any output
//! sees it.

use super::{Entry, Report, Summary, TargetReport};
use crate::dispatch::{Cancel, RunInfo, RunJob, Status};
use crate::plan::{DispatchId, Fingerprint, ShardRecord, Shared};
use crate::untrusted;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The shards' reports together are one run's report, held to one report's cap: however many
/// files a glob of artifacts matches, a merge reads at most this much.
const ALL_REPORTS: u64 = crate::files::MAX_RECORD_BYTES;

/// Longest name (target, destination, label, token variable) kept from a report.
const NAME_CHARS: usize = 300;
/// Longest reason, hint or note kept from a report.
const TEXT_CHARS: usize = 4000;

/// A JSON report as `report merge` reads it: only what a run's report holds.
#[derive(Deserialize)]
struct ShardReport {
    format: u32,
    source: String,
    version: String,
    #[serde(default)]
    tag: String,
    dry_run: bool,
    summary: Summary,
    targets: Vec<ShardTarget>,
    shard: Option<ShardRecord>,
}

#[derive(Deserialize)]
struct ShardTarget {
    target: String,
    dispatch_id: Option<String>,
    fingerprint: Option<String>,
    tracking_id: Option<String>,
    kind: String,
    destination: String,
    label: Option<String>,
    token_env: Option<String>,
    #[serde(flatten)]
    status: Status,
    note: Option<String>,
    attempts: Option<u32>,
    duration_ms: Option<u64>,
    queued_ms: Option<u64>,
    #[serde(default)]
    needs: Vec<String>,
    wave: Option<usize>,
    #[serde(default)]
    optional: bool,
    order: Option<usize>,
}

/// One report read, with the path it is known by in messages.
struct Read {
    path: String,
    report: ShardReport,
    shard: ShardRecord,
}

/// The reports at `paths` merged into one run's report; or why they cannot be, naming the file
/// (or the shard no file is given for).
pub(crate) fn merge(paths: &[PathBuf]) -> Result<Report, String> {
    if paths.len() > crate::plan::MOST_SHARDS {
        return Err(format!(
            "{} reports given; no split has more than {} shards",
            paths.len(),
            crate::plan::MOST_SHARDS
        ));
    }
    let mut reads: Vec<Read> = Vec::with_capacity(paths.len());
    let mut left = ALL_REPORTS;
    for path in paths {
        let read = read(path, &mut left)?;
        if let Some(first) = reads.first() {
            same_run(first, &read)?;
        }
        reads.push(read);
    }
    if reads.is_empty() {
        return Err("no report to merge".to_owned());
    }
    complete(&reads)?;
    Ok(joined(reads))
}

/// One shard's report, or why it is not one; `left` is what the reports may still weigh.
fn read(path: &Path, left: &mut u64) -> Result<Read, String> {
    let shown = path.display().to_string();
    let kind = crate::files::FileKind {
        named_by: "report merge",
        cap: *left,
        why_cap: "the shards' reports together are one run's report, and a JSON report of orchestrator is never that big",
    };
    let bytes = crate::files::read(path, &kind).map_err(|err| err.to_string())?;
    *left = left.saturating_sub(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
    let report: ShardReport = serde_json::from_slice(&bytes).map_err(|err| {
        let why = untrusted::one_line(&err.to_string(), 300);
        format!("{shown} is not a JSON report of orchestrator: {why}")
    })?;
    drop(bytes);
    if report.format != crate::journal::FORMAT {
        return Err(format!(
            "{shown} is a report of format {}; this orchestrator reads format {}",
            report.format,
            crate::journal::FORMAT
        ));
    }
    if report.dry_run {
        return Err(format!(
            "{shown} is the report of a dry run; merge the reports of runs (`run --shard I/N --report FILE`)"
        ));
    }
    let Some(shard) = report.shard.clone() else {
        return Err(format!(
            "{shown} is not a shard's report (it records no `shard`); write one with `run --shard I/N --report FILE`"
        ));
    };
    // A count from the file bounds the missing shards listed: no more than a matrix runs.
    if shard.index == 0 || shard.index > shard.count || shard.count > crate::plan::MOST_SHARDS {
        return Err(format!(
            "{shown} records shard {}/{}, which no split has (1 ≤ I ≤ N ≤ {})",
            shard.index,
            shard.count,
            crate::plan::MOST_SHARDS
        ));
    }
    Ok(Read {
        path: shown,
        report,
        shard,
    })
}

/// `other` is of `first`'s release, configuration and split.
fn same_run(first: &Read, other: &Read) -> Result<(), String> {
    let (a, b) = (&first.report, &other.report);
    if (&a.source, &a.version) != (&b.source, &b.version) {
        return Err(format!(
            "{} is of another release: {} {}, not {} {} as {}",
            other.path,
            untrusted::one_line(&b.source, NAME_CHARS),
            untrusted::one_line(&b.version, NAME_CHARS),
            untrusted::one_line(&a.source, NAME_CHARS),
            untrusted::one_line(&a.version, NAME_CHARS),
            first.path
        ));
    }
    let (x, y) = (&first.shard, &other.shard);
    if x.count != y.count || x.fingerprint != y.fingerprint {
        return Err(format!(
            "{} is of another configuration or split: shard {}/{} with fingerprint {}, not of {} shards with fingerprint {} as {}",
            other.path,
            y.index,
            y.count,
            untrusted::one_line(&y.fingerprint, 64),
            x.count,
            untrusted::one_line(&x.fingerprint, 64),
            first.path
        ));
    }
    Ok(())
}

/// Every shard once, and every target in one shard only.
fn complete(reads: &[Read]) -> Result<(), String> {
    let count = reads[0].shard.count;
    let mut by_index: HashMap<usize, &str> = HashMap::new();
    let mut by_target: HashMap<&str, &str> = HashMap::new();
    for read in reads {
        let index = read.shard.index;
        if let Some(earlier) = by_index.insert(index, &read.path) {
            return Err(format!(
                "{} is shard {index}/{count} again: {earlier} is that shard's report",
                read.path
            ));
        }
        for target in &read.report.targets {
            if let Some(earlier) = by_target.insert(&target.target, &read.path) {
                return Err(format!(
                    "{} and {earlier} both report the target `{}`: shards overlap",
                    read.path,
                    untrusted::one_line(&target.target, NAME_CHARS)
                ));
            }
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("shard {i}/{count} is missing: no report for it"))
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(missing.join("; ")),
    }
}

/// One run's report: every target where that run would list it, counted from the targets (a
/// file's own counts may say anything, and added up could wrap), whether any shard was
/// stopped, the longest shard's time as the run's.
fn joined(reads: Vec<Read>) -> Report {
    let mut stopped = Summary::default();
    let mut targets = Vec::new();
    let (mut source, mut version, mut tag) = Default::default();
    for read in reads {
        let report = read.report;
        add(&mut stopped, &report.summary);
        targets.extend(report.targets.into_iter().map(target_report));
        // The files agree on them (see `same_run`), and any of them may be forged.
        let name = |text: &str| untrusted::shown(text, NAME_CHARS);
        (source, version, tag) = (
            name(&report.source),
            name(&report.version),
            name(&report.tag),
        );
    }
    targets.sort_by_key(|t: &TargetReport| t.order.unwrap_or(usize::MAX));
    for target in &mut targets {
        target.order = None;
    }
    let summary = Summary {
        interrupted: stopped.interrupted,
        max_duration_reached: stopped.max_duration_reached,
        duration_ms: stopped.duration_ms,
        read_requests: stopped.read_requests,
        ..Summary::counted(&targets)
    };
    Report {
        format: crate::journal::FORMAT,
        source,
        version,
        tag,
        dry_run: false,
        pacing: None,
        summary,
        targets,
        shard: None,
    }
}

/// What a shard's summary adds that its targets do not say: whether it was stopped, how long
/// it took, what it read.
fn add(to: &mut Summary, shard: &Summary) {
    to.interrupted |= shard.interrupted;
    to.max_duration_reached |= shard.max_duration_reached;
    to.duration_ms = to.duration_ms.max(shard.duration_ms);
    to.read_requests = match (to.read_requests, shard.read_requests) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    };
}

/// A target as the report writers take it, every text in it made fit to show.
fn target_report(t: ShardTarget) -> TargetReport {
    let name = |text: &str| untrusted::shown(text, NAME_CHARS);
    TargetReport {
        target: name(&t.target),
        dispatch_id: t.dispatch_id.as_deref().and_then(DispatchId::parse),
        fingerprint: t.fingerprint.as_deref().and_then(Fingerprint::parse),
        tracking_id: t.tracking_id.as_deref().map(name),
        kind: kind(&t.kind),
        destination: name(&t.destination),
        label: t.label.as_deref().map(|l| Shared::from(name(l))),
        token_env: t.token_env.as_deref().map(|e| Shared::from(name(e))),
        status: Entry::Done(status(t.status)),
        note: t.note.as_deref().map(|n| untrusted::shown(n, TEXT_CHARS)),
        attempts: t.attempts,
        duration_ms: t.duration_ms,
        queued_ms: t.queued_ms,
        needs: t.needs.iter().map(|n| name(n)).collect(),
        wave: t.wave,
        optional: t.optional,
        order: t.order,
    }
}

/// A kind this orchestrator knows, else `unknown`.
fn kind(text: &str) -> &'static str {
    use crate::config::model::TargetKind;
    [
        TargetKind::RepositoryDispatch,
        TargetKind::WorkflowDispatch,
        TargetKind::Webhook,
    ]
    .into_iter()
    .map(TargetKind::as_str)
    .find(|known| *known == text)
    .unwrap_or("unknown")
}

/// An outcome with its reasons, hints and run details made fit to show.
fn status(status: Status) -> Status {
    let text = |t: &str| untrusted::shown(t, TEXT_CHARS);
    match status {
        Status::Delivered { http_status, run } => Status::Delivered {
            http_status,
            run: run.map(run_info),
        },
        Status::Failed {
            http_status,
            reason,
            hint,
        } => Status::Failed {
            http_status,
            reason: text(&reason),
            hint: hint.as_deref().map(text),
        },
        Status::Skipped { reason } => Status::Skipped {
            reason: text(&reason),
        },
        Status::NotSent { reason } => Status::NotSent {
            reason: text(&reason),
        },
        Status::Blocked { reason } => Status::Blocked {
            reason: text(&reason),
        },
    }
}

/// Run details: clean links and plain words only, as from a server.
fn run_info(run: RunInfo) -> RunInfo {
    RunInfo {
        id: run.id,
        url: run.url.as_deref().and_then(untrusted::link),
        html_url: run.html_url.as_deref().and_then(untrusted::link),
        status: run.status.as_deref().map(untrusted::word),
        conclusion: run.conclusion.as_deref().map(untrusted::word),
        note: run.note.as_deref().map(|n| untrusted::shown(n, TEXT_CHARS)),
        job: run.job.map(|job| Box::new(run_job(*job))),
        cancel: run.cancel.map(|cancel| match cancel {
            Cancel::Failed { reason } => Cancel::Failed {
                reason: untrusted::shown(&reason, TEXT_CHARS),
            },
            other => other,
        }),
        ..run
    }
}

/// A waited-for job's details, as from a server.
fn run_job(job: RunJob) -> RunJob {
    RunJob {
        name: untrusted::shown(&job.name, NAME_CHARS),
        status: job.status.as_deref().map(untrusted::word),
        conclusion: job.conclusion.as_deref().map(untrusted::word),
        html_url: job.html_url.as_deref().and_then(untrusted::link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shards_summary_gives_only_what_its_targets_cannot_say() {
        let forged = Summary {
            total: usize::MAX,
            failed: usize::MAX,
            cancelled_runs: usize::MAX,
            interrupted: true,
            duration_ms: Some(900),
            read_requests: Some(u64::MAX),
            ..Summary::default()
        };
        let mut run = Summary {
            duration_ms: Some(1200),
            read_requests: Some(7),
            ..Summary::default()
        };
        add(&mut run, &forged);
        // The counts are the targets' (`Summary::counted`); a file's are never added.
        assert_eq!((run.total, run.failed, run.cancelled_runs), (0, 0, 0));
        assert!(run.interrupted);
        assert_eq!(run.duration_ms, Some(1200));
        assert_eq!(run.read_requests, Some(u64::MAX));
    }
}
