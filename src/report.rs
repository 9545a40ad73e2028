//! What the user reads: the plan of a dry run, the outcome of a run, the problems in a file.
//! Text for people, JSON (`--output json`) for machines; both built from one [`Report`].

use crate::diagnostic::Diagnostic;
use crate::dispatch::{Outcome, Status};
use crate::journal::{check_release, Earlier, Ended, JournalError, FORMAT};
use crate::plan::{DispatchId, Fingerprint, Job, Plan, Shared};
use crate::style::{count, indent, Palette, Tone};
use serde::{Deserialize, Serialize};

use std::io::{self, Write};
use std::path::Path;

// Sharding: `report merge`.
mod merge;
pub(crate) use merge::merge;
mod graph;

/// A run or a dry run, per target, in plan order (sent targets first, then skipped ones). Its
/// derived `Serialize` is the JSON report ([`Report::write_json`]).
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always [`crate::journal::FORMAT`]: `--retry-failed` reads only reports of this format.
    pub format: u32,
    pub source: String,
    pub version: String,
    /// The tag as given (`v1.2.3`), which `{{tag}}` renders.
    pub tag: String,
    pub dry_run: bool,
    /// A dry run: how long the rate limits alone make the fan-out take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pacing: Option<crate::plan::PacingEstimate>,
    pub summary: Summary,
    pub targets: Vec<TargetReport>,
    /// `run --shard I/N`: the shard this report is of, for `report merge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::plan::ShardRecord>,
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub total: usize,
    pub planned: usize,
    pub delivered: usize,
    pub failed: usize,
    pub skipped: usize,
    pub not_sent: usize,
    /// Targets not sent because a target they need did not succeed (required ones only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blocked: usize,
    /// Optional targets (`required: false`) that failed, were blocked, were skipped for an
    /// unset token, or whose waited run did not succeed: counted here only, and they do not
    /// fail the run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub optional_failed: usize,
    /// Waited-for workflow runs that did not succeed (or had not finished at the timeout).
    pub runs_failed: usize,
    /// Workflow runs a wait was asked for that could not be followed (no run id): warnings.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub runs_not_waited: usize,
    /// Workflow runs this run started that `cancel_on_stop` cancelled (GitHub accepted the
    /// cancel) when it stopped before they completed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cancelled_runs: usize,
    /// Ctrl-C or SIGTERM stopped the run (exit 130): targets without a final answer are
    /// `not_sent`, and runs not yet completed were not waited for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// `--max-duration` stopped the run (exit 130, as for an interruption): targets not
    /// started by then are `not_sent`, and runs not completed by then were not waited for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub max_duration_reached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// GET requests made to find and follow workflow runs (after a real run; 0 when no run
    /// was followed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_requests: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct TargetReport {
    pub target: String,
    /// Stable for this source, version and target; `--retry-failed` matches on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch_id: Option<DispatchId>,
    /// The rendered request's fingerprint ([`Job::fingerprint`]): `--retry-failed` sends a
    /// delivered target again when its request has changed since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// `track: true`: the id sent in `client_payload.dispatch_id` (new in every run), which
    /// the run's title carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    pub kind: &'static str,
    /// `owner/name`, or a webhook's host.
    pub destination: String,
    /// The event type, `workflow@ref`, or a webhook's method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Shared>,
    /// After a run: the token variable the target's request used (never its value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<Shared>,
    #[serde(flatten)]
    pub status: Entry,
    /// Why a conditional target was sent (e.g. which files changed, or a first release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Time queued for the rate limit before the first request, when it is [`QUEUED_SHOWN`] or
    /// more (`duration_ms` is the requests' own time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_ms: Option<u64>,
    /// In a shard's report: where the target stands in the report of one run over every
    /// shard, so `report merge` lists the targets as that run would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<usize>,
    /// `needs:`: the targets this one is sent after.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Its wave (1 goes first), when the targets make more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
    /// `required: false`: its failure does not fail the run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// The queueing worth telling apart from a request's own time.
pub(crate) const QUEUED_SHOWN: std::time::Duration = std::time::Duration::from_secs(1);

/// A target's line in the report: planned (dry run) or what happened.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Entry {
    Planned(Planned),
    Done(Status),
}

#[derive(Debug, Serialize)]
pub struct Planned {
    /// Always `"planned"`, so every entry has an `outcome`.
    pub outcome: &'static str,
    pub method: &'static str,
    /// The URL; a secret one (from `url_env`) only by its host.
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<Shared>,
    /// Whether the token variable is set; its value is never part of a report.
    pub token_set: bool,
    /// The GitHub App the token is minted for, and where its key is read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github_app: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// A real run waits for the workflow run this dispatch starts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
    /// `wait: { job: NAME }`: the job of that run waited for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_job: Option<String>,
    /// `await:`: the published artifacts a real run waits for before sending
    /// (`npm @vfarcic/dot-ai@1.2.3`), and for how long at most.
    #[serde(rename = "await", skip_serializing_if = "Vec::is_empty")]
    pub awaits: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub await_timeout_secs: Option<u64>,
    /// `cancel_on_stop` is on but the target never has a run to cancel: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_run_to_cancel: Option<&'static str>,
}

/// A request body as it is sent: its JSON bytes, written into a report as JSON (exactly as the
/// value they encode would be) without being parsed into a tree first.
#[derive(Debug, Clone, Default)]
pub struct Body(bytes::Bytes);

impl Body {
    /// No body (a webhook without one).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return serializer.serialize_unit();
        }
        let mut json = serde_json::Deserializer::from_slice(&self.0);
        serde_transcode::transcode(&mut json, serializer)
    }
}

impl Summary {
    /// The counts of `targets`, each counted once by its outcome (an optional target that did
    /// not succeed in `optional_failed` only).
    pub(crate) fn counted(targets: &[TargetReport]) -> Summary {
        let mut summary = Summary {
            total: targets.len(),
            ..Summary::default()
        };
        for t in targets {
            // Counted for optional targets too: a cancelled run is one we started.
            if let Entry::Done(Status::Delivered { run: Some(run), .. }) = &t.status {
                if run.cancel == Some(crate::dispatch::Cancel::Requested) {
                    summary.cancelled_runs += 1;
                }
            }
            if summary.count_optional(t) {
                continue;
            }
            match &t.status {
                Entry::Planned(_) => summary.planned += 1,
                Entry::Done(Status::Delivered { run, .. }) => {
                    summary.delivered += 1;
                    if run.as_ref().is_some_and(|r| r.failed()) && !t.optional {
                        summary.runs_failed += 1;
                    }
                    if run.as_ref().is_some_and(|r| r.not_waited) {
                        summary.runs_not_waited += 1;
                    }
                }
                Entry::Done(Status::Failed { .. }) => summary.failed += 1,
                Entry::Done(Status::Skipped { .. }) => summary.skipped += 1,
                Entry::Done(Status::NotSent { .. }) => summary.not_sent += 1,
                Entry::Done(Status::Blocked { .. }) => summary.blocked += 1,
            }
        }
        summary
    }
}

impl Report {
    /// The plan of a dry run.
    /// Takes the plan: a dry run's report moves each request's headers and body out of it
    /// rather than copying them, so a 10,000-target plan is never in memory twice.
    pub fn planned(mut plan: Plan) -> Report {
        let jobs = std::mem::take(&mut plan.jobs);
        let mut targets: Vec<TargetReport> = jobs.into_iter().map(planned_report).collect();
        targets.extend(skipped(&plan));
        graph::number_waves(&mut targets);
        Report::new(&plan, true, targets, None)
    }

    /// The outcome of a run; `outcomes` are in the order of `plan.jobs`; `interrupted` when a
    /// signal stopped it.
    pub fn finished(
        plan: &Plan,
        outcomes: &[Outcome],
        duration_ms: u64,
        interrupted: bool,
    ) -> Report {
        let mut targets: Vec<TargetReport> = plan
            .jobs
            .iter()
            .zip(outcomes)
            .map(|(job, outcome)| TargetReport {
                status: Entry::Done(outcome.status.clone()),
                token_env: job.token_env.clone(),
                attempts: Some(outcome.attempts),
                duration_ms: Some(outcome.duration.as_millis() as u64),
                queued_ms: (outcome.queued >= QUEUED_SHOWN)
                    .then(|| u64::try_from(outcome.queued.as_millis()).unwrap_or(u64::MAX)),
                ..job_report(job)
            })
            .collect();
        targets.extend(skipped(plan));
        graph::number_waves(&mut targets);
        let mut report = Report::new(plan, false, targets, Some(duration_ms));
        report.summary.interrupted = interrupted;
        report
    }

    fn new(
        plan: &Plan,
        dry_run: bool,
        targets: Vec<TargetReport>,
        duration_ms: Option<u64>,
    ) -> Report {
        let summary = Summary {
            duration_ms,
            ..Summary::counted(&targets)
        };
        Report {
            format: crate::journal::FORMAT,
            source: plan.source.clone(),
            version: plan.version.clone(),
            tag: plan.tag.clone(),
            dry_run,
            pacing: None,
            summary,
            targets,
            shard: None,
        }
    }

    /// Targets of the plan that were not sent, with the outcome to report for each (after
    /// the ones that were, before the skipped ones); the summary counts them.
    pub fn add_unsent(&mut self, unsent: impl IntoIterator<Item = (Job, Status)>) {
        let at = self
            .targets
            .iter()
            .position(|t| matches!(t.status, Entry::Done(Status::Skipped { .. })))
            .unwrap_or(self.targets.len());
        let added: Vec<TargetReport> = unsent
            .into_iter()
            .map(|(job, status)| {
                // A dry run times nothing.
                let ran = !self.dry_run;
                let added = TargetReport {
                    status: Entry::Done(status),
                    attempts: ran.then_some(0),
                    duration_ms: ran.then_some(0),
                    ..job_report(&job)
                };
                self.summary.total += 1;
                if !self.summary.count_optional(&added) {
                    match &added.status {
                        Entry::Done(Status::Failed { .. }) => self.summary.failed += 1,
                        Entry::Done(Status::NotSent { .. }) => self.summary.not_sent += 1,
                        Entry::Done(Status::Skipped { .. }) => self.summary.skipped += 1,
                        Entry::Done(Status::Delivered { .. }) => self.summary.delivered += 1,
                        Entry::Done(Status::Blocked { .. }) => self.summary.blocked += 1,
                        Entry::Planned(_) => self.summary.planned += 1,
                    }
                }
                added
            })
            .collect();
        self.targets.splice(at..at, added);
        graph::number_waves(&mut self.targets);
    }

    /// `--wait` in a dry run: every planned workflow_dispatch will be waited for.
    pub fn wait_for_every_workflow(&mut self) {
        for t in &mut self.targets {
            if let Entry::Planned(p) = &mut t.status {
                p.wait |= t.kind == "workflow_dispatch";
            }
        }
    }

    pub fn any_failed(&self) -> bool {
        // A dry run's blocked target is only what a run would do.
        let blocked = self.summary.blocked > 0 && !self.dry_run;
        self.summary.failed > 0 || self.summary.not_sent > 0 || blocked
    }

    /// The JSON report: serde_json's pretty form of the derived `Serialize`, and a new line.
    /// `out` is the caller's redacting writer; the buffer in front of it saves serde_json a
    /// call through `dyn Write` for each of the report's pieces.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(64 * 1024, out);
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_text_in(out, Palette::PLAIN)
    }

    /// The text report with its outcome words painted by `palette` (`--color`): one table, its
    /// outcome, target and destination columns aligned; a line that goes on (a server's
    /// multi-line message) goes on under its target's details.
    pub fn write_text_in(&self, out: &mut dyn Write, palette: Palette) -> io::Result<()> {
        self.write_text_as(out, palette, Bodies::UpToFew)
    }

    /// The text report, a dry run's planned targets in full or one line each as `bodies` says;
    /// a run with many failures ends by repeating them grouped by reason.
    pub(crate) fn write_text_as(
        &self,
        out: &mut dyn Write,
        palette: Palette,
        bodies: Bodies,
    ) -> io::Result<()> {
        let compact = match bodies {
            Bodies::UpToFew => self.summary.planned > FULL_UP_TO,
            Bodies::Always => false,
            Bodies::Never => true,
        };
        let table = Table::of(self, palette, compact);
        self.write_heading(out)?;
        let lines = compact && self.summary.planned > 0;
        if lines {
            writeln!(out)?;
        }
        for t in &self.targets {
            match &t.status {
                Entry::Planned(p) if compact => table.write_line(out, t, p)?,
                Entry::Planned(p) => write_planned(out, &table, t, p)?,
                Entry::Done(status) => table.write_done(out, t, status)?,
            }
        }
        if lines {
            writeln!(
                out,
                "\nRequest bodies are not shown: see them with `--bodies` or `--output json`."
            )?;
        }
        self.write_failures(out)?;
        self.write_totals(out)
    }

    /// After a run with more than a few failed targets: the failed targets again, grouped by
    /// reason (most targets first), so a reason shared by many reads once. The reasons are the
    /// rows' own (already escaped) text, kept on one line.
    fn write_failures(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.dry_run || self.summary.failed < FAILURES_GROUPED_FROM {
            return Ok(());
        }
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for t in &self.targets {
            let Entry::Done(Status::Failed { reason, .. }) = &t.status else {
                continue;
            };
            let why =
                crate::untrusted::truncate(&reason.lines().collect::<Vec<_>>().join(" "), 300);
            let at = *index.entry(why.clone()).or_insert_with(|| {
                groups.push((why, Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push(t.target.as_str());
        }
        groups.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
        writeln!(out, "\nFailed, by reason:")?;
        for (why, names) in &groups {
            let shown = names
                .iter()
                .take(NAMES_SHOWN)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            let more = match names.len().saturating_sub(NAMES_SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            let targets = count(names.len(), "target", "targets");
            writeln!(out, "  {targets} ({shown}{more}): {why}")?;
        }
        writeln!(out)
    }

    /// A dry run's first lines: what would be sent, and how the rate limits pace it.
    fn write_heading(&self, out: &mut dyn Write) -> io::Result<()> {
        if !self.dry_run {
            return Ok(());
        }
        writeln!(
            out,
            "Dry run: release {} of {} would send {}; nothing is sent.",
            self.version,
            self.source,
            count(self.summary.planned, "dispatch", "dispatches")
        )?;
        if let Some(pacing) = self.pacing.as_ref().filter(|p| p.paces()) {
            writeln!(out, "Pacing: {}.", pacing.describe())?;
        }
        Ok(())
    }

    /// The last line: a dry run's counts, or a run's outcomes and how long it took.
    fn write_totals(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.summary;
        if self.dry_run {
            return writeln!(
                out,
                "\n{} planned, {} skipped{} (dry run)",
                s.planned,
                s.skipped,
                graph::totals_apart(s)
            );
        }
        let secs = s.duration_ms.unwrap_or(0) as f64 / 1000.0;
        let not_sent = if s.not_sent > 0 {
            format!(", {} not sent", s.not_sent)
        } else {
            String::new()
        };
        let interrupted = if s.interrupted {
            " (interrupted)"
        } else if s.max_duration_reached {
            " (stopped at --max-duration)"
        } else {
            ""
        };
        // A delivered dispatch whose workflow run failed is a failure the user must see in
        // the last line, not only in the exit code.
        let runs_failed = match s.runs_failed {
            0 => String::new(),
            n => format!("; {} failed", count(n, "workflow run", "workflow runs")),
        };
        let runs_not_waited = match s.runs_not_waited {
            0 => String::new(),
            n => format!(
                "; {} not waited for",
                count(n, "workflow run", "workflow runs")
            ),
        };
        let cancelled = match s.cancelled_runs {
            0 => String::new(),
            n => format!(
                "; {} cancelled (cancel_on_stop)",
                count(n, "workflow run", "workflow runs")
            ),
        };
        let apart = graph::totals_apart(s);
        writeln!(
            out,
            "{}: {} delivered, {} failed, {} skipped{apart}{not_sent}{runs_failed}{runs_not_waited}{cancelled} in {secs:.2} s{interrupted}",
            count(s.total, "target", "targets"),
            s.delivered,
            s.failed,
            s.skipped
        )
    }
}

/// How a dry run's text report shows its planned targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bodies {
    /// In full up to [`FULL_UP_TO`] planned targets, one line per target beyond.
    UpToFew,
    /// In full, however many (`--bodies`).
    Always,
    /// One line per target, however few (`--output table`).
    Never,
}

/// A dry run planning more targets than this prints one line per target: in full, each takes
/// about 12 lines (360 at 30 targets), which buries the plan's shape.
pub(crate) const FULL_UP_TO: usize = 5;

/// A run with at least this many failed targets repeats them grouped by reason at the end.
pub(crate) const FAILURES_GROUPED_FROM: usize = 4;

/// Target names listed for one reason; the rest are counted.
const NAMES_SHOWN: usize = 10;

/// The text report's columns: each as wide as its widest cell.
struct Table {
    palette: Palette,
    dry_run: bool,
    /// Planned targets one line each: no blank line between rows.
    compact: bool,
    /// The kind and label columns of a compact planned row.
    kind_width: usize,
    label_width: usize,
    word_width: usize,
    width: usize,
    dest_width: usize,
    /// Details (why, run, hint) sit under the destination column.
    under: String,
}

impl Table {
    fn of(report: &Report, palette: Palette, compact: bool) -> Table {
        let column =
            |f: fn(&TargetReport) -> usize| report.targets.iter().map(f).max().unwrap_or(0);
        let word_width = column(|t| outcome_word(t).len());
        let width = column(|t| t.target.len());
        let planned = |f: fn(&TargetReport) -> usize| {
            let planned = report
                .targets
                .iter()
                .filter(|t| matches!(t.status, Entry::Planned(_)));
            planned.map(f).max().unwrap_or(0)
        };
        Table {
            palette,
            dry_run: report.dry_run,
            compact,
            kind_width: planned(|t| t.kind.len()),
            label_width: planned(|t| shown_label(t).chars().count()),
            word_width,
            width,
            dest_width: column(|t| t.destination.len()),
            under: " ".repeat(word_width + 2 + width + 2),
        }
    }

    /// A target's row: its outcome word (painted in `tone`), name and destination, aligned.
    fn row(&self, t: &TargetReport, tone: Option<Tone>) -> String {
        let word = outcome_word(t);
        let painted = match tone {
            Some(tone) => self.palette.paint(word, tone),
            None => word.to_owned(),
        };
        format!(
            "{painted}{}  {:width$}  {:dest_width$}",
            " ".repeat(self.word_width - word.len()),
            t.target,
            t.destination,
            width = self.width,
            dest_width = self.dest_width
        )
    }

    /// A planned target on one line: its row, kind, label and body size, and an unset token.
    fn write_line(&self, out: &mut dyn Write, t: &TargetReport, p: &Planned) -> io::Result<()> {
        let body = match p.body.0.len() {
            0 => "no body".to_owned(),
            n => format!("{n}-byte body"),
        };
        let token = match (&p.token_env, p.token_set) {
            (Some(env), false) => format!("  ${env} not set"),
            _ => String::new(),
        };
        // A condition's verdict (first release, undecided) in short: the full form has it all.
        let why = match t.note.as_deref().and_then(|n| n.lines().next()) {
            Some(note) => {
                let head = note.split(": ").next().unwrap_or(note);
                format!("  why: {}", crate::untrusted::truncate(head, 60))
            }
            None => String::new(),
        };
        let wave = graph::wave_line(t)
            .map(|w| format!("  {w}"))
            .unwrap_or_default();
        let awaits = match p.awaits.as_slice() {
            [] => String::new(),
            [one] => format!("  await: {one}"),
            [first, more @ ..] => format!("  await: {first} +{}", more.len()),
        };
        writeln!(
            out,
            "{}  {:kind_width$}  {:label_width$}  {body}{token}{why}{awaits}{wave}",
            self.row(t, None),
            t.kind,
            shown_label(t),
            kind_width = self.kind_width,
            label_width = self.label_width
        )
    }

    /// A target that was sent, failed, skipped or not sent: its row and what goes under it.
    fn write_done(&self, out: &mut dyn Write, t: &TargetReport, status: &Status) -> io::Result<()> {
        let under = &self.under;
        match status {
            Status::Delivered { http_status, run } => {
                let attempts = match t.attempts {
                    Some(n) if n > 1 => format!(", {n} attempts"),
                    _ => String::new(),
                };
                let queued = match t.queued_ms {
                    Some(ms) => format!(", after {ms} ms queued for the rate limit"),
                    None => String::new(),
                };
                writeln!(
                    out,
                    "{}  {} ({http_status}, {} ms{attempts}{queued})",
                    self.row(t, Some(Tone::Good)),
                    t.label.as_deref().unwrap_or(""),
                    t.duration_ms.unwrap_or(0)
                )?;
                if let Some(run) = run {
                    writeln!(out, "{under}run: {}", describe_run(run))?;
                }
                if let Some(note) = &t.note {
                    writeln!(out, "{under}why: {}", indent(note, under))?;
                }
                Ok(())
            }
            Status::NotSent { reason } | Status::Blocked { reason } => {
                let tone = if t.optional { Tone::Warn } else { Tone::Bad };
                let row = self.row(t, Some(tone));
                writeln!(out, "{row}  {}", indent(reason, under))
            }
            Status::Failed { reason, hint, .. } => {
                let row = self.row(t, Some(Tone::Bad));
                writeln!(out, "{row}  {}", indent(reason, under))?;
                if let Some(hint) = hint {
                    writeln!(out, "{under}hint: {}", indent(hint, under))?;
                }
                Ok(())
            }
            Status::Skipped { reason } => {
                let gap = if self.dry_run && !self.compact {
                    "\n"
                } else {
                    ""
                };
                let row = self.row(t, Some(Tone::Warn));
                writeln!(out, "{gap}{row}  {}", indent(reason, under))
            }
        }
    }
}

/// A planned target: its row, request line, why, auth, headers and body, each on its line.
fn write_planned(
    out: &mut dyn Write,
    table: &Table,
    t: &TargetReport,
    p: &Planned,
) -> io::Result<()> {
    writeln!(out, "\n{}  ({})", table.row(t, None), t.kind)?;
    writeln!(out, "  {} {}", p.method, p.url)?;
    if let Some(note) = &t.note {
        writeln!(out, "  why: {}", indent(note, "       "))?;
    }
    if let Some(wave) = graph::wave_line(t) {
        writeln!(out, "  {wave}")?;
    }
    if let Some(app) = &p.github_app {
        writeln!(
            out,
            "  auth: GitHub App {app}; its token is minted when sending"
        )?;
    }
    if let Some(env) = &p.token_env {
        let set = if p.token_set {
            "set"
        } else {
            "not set; a real run needs it"
        };
        writeln!(out, "  token: ${env} ({set})")?;
    }
    for (name, value) in &p.headers {
        writeln!(out, "  {name}: {value}")?;
    }
    match (&p.wait_job, p.wait) {
        (Some(name), true) => writeln!(
            out,
            "  wait: for job `{name}` of the workflow run it starts"
        )?,
        (None, true) => writeln!(out, "  wait: for the workflow run it starts")?,
        (_, false) => {}
    }
    if !p.awaits.is_empty() {
        let within = p.await_timeout_secs.map(std::time::Duration::from_secs);
        let within = within
            .map(crate::dispatch::gate::minutes)
            .unwrap_or_default();
        writeln!(out, "  await: {} (up to {within})", p.awaits.join(", "))?;
    }
    if let Some(why) = p.no_run_to_cancel {
        writeln!(out, "  cancel_on_stop: nothing to cancel ({why})")?;
    }
    if !p.body.is_empty() {
        let body = serde_json::to_string_pretty(&p.body).unwrap_or_default();
        for line in body.lines() {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

/// A planned target's event type, workflow or method on one line, escaped: a dry run's full
/// form shows it only inside the JSON body, and a `--set` value may have rendered into it.
fn shown_label(t: &TargetReport) -> String {
    crate::untrusted::one_line(t.label.as_deref().unwrap_or(""), 80)
}

/// The word a target's row starts with.
fn outcome_word(t: &TargetReport) -> &'static str {
    match &t.status {
        Entry::Planned(_) => "planned",
        Entry::Done(Status::Delivered { .. }) => "delivered",
        Entry::Done(Status::Failed { .. }) => "failed",
        Entry::Done(Status::Skipped { .. }) => "skipped",
        Entry::Done(Status::NotSent { .. }) => "not sent",
        Entry::Done(Status::Blocked { .. }) => "blocked",
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn describe_run(run: &crate::dispatch::RunInfo) -> String {
    let mut parts = Vec::new();
    if let Some(url) = run.html_url.as_ref().or(run.url.as_ref()) {
        parts.push(url.clone());
    } else if let Some(id) = run.id {
        parts.push(format!("id {id}"));
    }
    match (&run.status, &run.conclusion) {
        (_, Some(conclusion)) => parts.push(format!("concluded {conclusion}")),
        (Some(status), None) => parts.push(status.clone()),
        _ => {}
    }
    if let Some(job) = &run.job {
        let state = job.conclusion.as_ref().or(job.status.as_ref());
        parts.push(format!(
            "job `{}` {}",
            job.name,
            state.map_or("not found", String::as_str)
        ));
    }
    if let Some(note) = &run.note {
        parts.push(note.clone());
    }
    parts.extend(run.cancel_said());
    parts.join(", ")
}

/// A dry run's line for `job`, which it takes apart: nothing of it is copied.
fn planned_report(job: Job) -> TargetReport {
    let github_app = job.app.as_ref().map(|app| {
        let key = match &app.key {
            crate::config::KeySource::Env(env) => format!("${env}"),
            crate::config::KeySource::File(path) => path.display().to_string(),
        };
        format!("{} (key in {key})", app.app_id)
    });
    let wait = job.workflow.as_ref().is_some_and(|w| w.wait);
    let wait_job = job.workflow.and_then(|w| w.wait_job);
    let awaits = job
        .gates
        .as_ref()
        .map(|g| g.checks.iter().map(crate::plan::Gate::label).collect())
        .unwrap_or_default();
    let await_timeout_secs = job.gates.as_ref().map(|g| g.timeout.as_secs());
    let no_run_to_cancel = job
        .cancel_on_stop
        .then(|| crate::config::kinds::no_run_to_cancel(job.kind, job.tracking_id.is_some()))
        .flatten();
    TargetReport {
        target: job.target,
        dispatch_id: Some(job.dispatch_id),
        fingerprint: job.fingerprint,
        tracking_id: job.tracking_id,
        kind: job.kind.as_str(),
        destination: job.destination,
        label: Some(job.label),
        note: job.note,
        token_env: None,
        status: Entry::Planned(Planned {
            outcome: "planned",
            method: job.method,
            url: match job.url {
                crate::plan::JobUrl::Public(url) => url,
                crate::plan::JobUrl::Secret { shown, .. } => shown,
            },
            token_set: job.token.is_some(),
            token_env: job.token_env,
            github_app,
            headers: job.headers,
            body: Body(job.encoded),
            wait,
            wait_job,
            awaits,
            await_timeout_secs,
            no_run_to_cancel,
        }),
        attempts: None,
        duration_ms: None,
        queued_ms: None,
        order: None,
        needs: job.needs,
        wave: None,
        optional: !job.required,
    }
}

fn job_report(job: &Job) -> TargetReport {
    TargetReport {
        target: job.target.clone(),
        dispatch_id: Some(job.dispatch_id),
        fingerprint: job.fingerprint,
        tracking_id: job.tracking_id.clone(),
        kind: job.kind.as_str(),
        destination: job.destination.clone(),
        label: Some(job.label.clone()),
        note: job.note.clone(),
        token_env: None,
        status: Entry::Done(Status::Skipped {
            reason: String::new(),
        }),
        attempts: None,
        duration_ms: None,
        queued_ms: None,
        order: None,
        needs: job.needs.clone(),
        wave: None,
        optional: !job.required,
    }
}

fn skipped(plan: &Plan) -> impl Iterator<Item = TargetReport> + '_ {
    plan.skipped.iter().map(|skip| TargetReport {
        target: skip.target.clone(),
        dispatch_id: None,
        fingerprint: None,
        tracking_id: None,
        kind: skip.kind.as_str(),
        destination: skip.destination.clone(),
        label: None,
        note: None,
        token_env: None,
        status: Entry::Done(Status::Skipped {
            reason: skip.reason.clone(),
        }),
        attempts: None,
        duration_ms: None,
        queued_ms: None,
        order: None,
        needs: Vec::new(),
        wave: None,
        optional: skip.why == crate::plan::SkipWhy::TokenUnset,
    })
}

/// Reads a JSON report written by `--output json` or `--report FILE` for `--retry-failed`:
/// only the finished run (not a dry run) of `source`/`version`, of [`FORMAT`], with every
/// target's outcome spelled as this orchestrator spells it. Anything else is refused with the
/// reason: retrying from a file that only looks like a report would send nothing, or the wrong
/// thing, and say all is well.
pub(crate) fn read(path: &Path, source: &str, version: &str) -> Result<Earlier, JournalError> {
    let unusable = |detail: String| JournalError::Report {
        path: path.to_owned(),
        detail,
    };
    let report = written(path)?;
    let (Some(found_source), Some(found_version)) = (&report.source, &report.version) else {
        return Err(unusable("it names no `source` and `version`".to_owned()));
    };
    check_release(
        path,
        found_source,
        found_version,
        source,
        version,
        crate::journal::RETRY_WITH_REPORT,
    )?;
    report.check_run().map_err(unusable)?;
    let mut earlier = Earlier::default();
    for (index, entry) in report.targets.into_iter().flatten().enumerate() {
        if let Some((id, fingerprint, ended)) = entry.ended(index).map_err(unusable)? {
            earlier.note(id, fingerprint, ended);
        }
    }
    Ok(earlier)
}

/// The release the JSON report at `path` records, for `--retry-failed` without `--source` or
/// `--version`.
pub(crate) fn recorded_release(
    path: &Path,
) -> Result<crate::journal::RecordedRelease, JournalError> {
    let report = written(path)?;
    let (Some(source), Some(version)) = (report.source, report.version) else {
        return Err(JournalError::Report {
            path: path.to_owned(),
            detail: "it names no `source` and `version`".to_owned(),
        });
    };
    Ok(crate::journal::RecordedRelease {
        source,
        version,
        tag: report.tag,
    })
}

/// The report at `path` read and of our format, else why not.
fn written(path: &Path) -> Result<WrittenReport, JournalError> {
    let unusable = |detail: String| JournalError::Report {
        path: path.to_owned(),
        detail,
    };
    let bytes = crate::files::read(path, &crate::files::REPORT)?;
    // Typed field by field: what is not read here is skipped as it is parsed, never built.
    let report: WrittenReport = serde_json::from_slice(&bytes).map_err(|e| {
        unusable(format!(
            "it is not a JSON report of orchestrator ({})",
            crate::untrusted::one_line(&e.to_string(), 300)
        ))
    })?;
    drop(bytes);
    report.check_format().map_err(unusable)?;
    Ok(report)
}

/// A JSON report as `--retry-failed` reads it back.
#[derive(Deserialize)]
struct WrittenReport {
    format: Option<crate::journal::Format>,
    source: Option<String>,
    version: Option<String>,
    tag: Option<String>,
    dry_run: Option<bool>,
    targets: Option<Vec<WrittenTarget>>,
}

#[derive(Deserialize)]
struct WrittenTarget {
    target: Option<String>,
    dispatch_id: Option<String>,
    fingerprint: Option<String>,
    outcome: Option<String>,
}

impl WrittenReport {
    /// Of our format, else why not.
    fn check_format(&self) -> Result<(), String> {
        let Some(format) = &self.format else {
            return Err("it has no `format`, so it is not a JSON report of this orchestrator (reports of earlier versions cannot be used); write one with `--report FILE`".to_owned());
        };
        format.ours().map_err(|other| {
            format!("it is a report of format {other}; this orchestrator reads format {FORMAT}")
        })
    }

    /// A finished run with targets, else why not.
    fn check_run(&self) -> Result<(), String> {
        match self.dry_run {
            Some(false) => {}
            Some(true) => {
                return Err(
                    "it is the plan of a dry run, which sent nothing; use the report of a real run"
                        .to_owned(),
                )
            }
            None => return Err("it does not say whether it is a dry run".to_owned()),
        }
        if self.targets.as_ref().is_none_or(Vec::is_empty) {
            return Err("it lists no targets".to_owned());
        }
        Ok(())
    }
}

impl WrittenTarget {
    /// The entry's dispatch id, fingerprint and outcome; `None` for a skipped target.
    fn ended(self, index: usize) -> Result<Option<(String, String, Ended)>, String> {
        let number = index.saturating_add(1);
        let Some(name) = self.target.as_deref() else {
            return Err(format!(
                "target #{number} is not a report entry (it has no `target`)"
            ));
        };
        let name = crate::untrusted::one_line(name, 200);
        let outcome = self.outcome.as_deref().unwrap_or_default();
        let Some(ended) = Ended::from_word(outcome) else {
            return Err(format!(
                "target `{name}` has the outcome \"{}\", which is not one of \"delivered\", \"failed\", \"skipped\", \"not_sent\"",
                crate::untrusted::one_line(outcome, 40)
            ));
        };
        if ended == Ended::Skipped {
            return Ok(None);
        }
        let (Some(id), Some(fingerprint)) = (self.dispatch_id, self.fingerprint) else {
            return Err(format!(
                "target `{name}` has no `dispatch_id` and `fingerprint`"
            ));
        };
        Ok(Some((id, fingerprint, ended)))
    }
}

/// At most this many problems are printed as text (JSON has them all): past it, a hostile file
/// would only bury the first, which matter most.
pub(crate) const MAX_SHOWN: usize = 100;
/// GitHub shows at most 10 error and 10 warning annotations per step; a few more cost nothing.
pub(crate) const MAX_ANNOTATIONS: usize = 50;

/// Problems in a file, one per line (with its help line), then a count.
pub(crate) fn write_diagnostics(
    out: &mut dyn Write,
    file: &str,
    diagnostics: &[Diagnostic],
) -> io::Result<()> {
    for d in diagnostics.iter().take(MAX_SHOWN) {
        writeln!(out, "{}", d.display_in(file))?;
    }
    if diagnostics.len() > MAX_SHOWN {
        writeln!(
            out,
            "... and {} more problem(s) not shown",
            diagnostics.len() - MAX_SHOWN
        )?;
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if !diagnostics.is_empty() {
        let places = crate::diagnostic::places(file, diagnostics);
        writeln!(out, "{errors} error(s), {warnings} warning(s) in {places}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Body;
    use serde_json::json;

    #[test]
    fn a_body_is_written_exactly_as_the_value_it_encodes() {
        let value = json!({
            "event_type": "upstream-release",
            "client_payload": {"version": "1.2.3", "n": 3, "neg": -7, "pi": 3.25, "big": 1e300,
                "ok": true, "none": null, "list": ["a", {"b": "ünï \"q\" \n"}], "z": {}, "a": []}
        });
        let body = Body(bytes::Bytes::from(serde_json::to_vec(&value).unwrap()));
        assert_eq!(
            serde_json::to_string_pretty(&body).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(serde_json::to_string(&Body::default()).unwrap(), "null");
    }
}
