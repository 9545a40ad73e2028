//! Native behaviour inside GitHub Actions (`GITHUB_ACTIONS=true`): after a run, a Markdown job
//! summary, step outputs (`delivered`, `failed`, `skipped`, `not_sent`, `runs_failed`,
//! `interrupted`, `planned`, `blocked`, `optional_failed`, `cancelled_runs`, `report`) and an
//! annotation per failed target (a notice per skipped one). Outside Actions nothing here runs.
//!
//! Everything written comes from the [`Report`], which never holds a token or a secret URL.

use crate::auth::Mask;
use crate::diagnostic::{Diagnostic, Severity};
use crate::dispatch::{RunInfo, Status};
use crate::report::{Entry, Report};
use crate::secret::Redacting;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The step outputs `run` writes (the action's `outputs:` map them).
pub const OUTPUTS: &[&str] = &[
    "delivered",
    "failed",
    "skipped",
    "not_sent",
    "runs_failed",
    "interrupted",
    "max_duration_reached",
    "planned",
    "blocked",
    "optional_failed",
    "cancelled_runs",
    "report",
];

/// The files the runner gave this step.
#[derive(Debug, Clone, PartialEq)]
pub struct Actions {
    /// `$GITHUB_STEP_SUMMARY`: Markdown shown on the run's page.
    pub step_summary: Option<PathBuf>,
    /// `$GITHUB_OUTPUT`: `name=value` lines that become `steps.ID.outputs.NAME`.
    pub output: Option<PathBuf>,
    /// `$RUNNER_TEMP`: where the JSON report goes when `--report` names no file.
    pub runner_temp: Option<PathBuf>,
}

impl Actions {
    /// `Some` only when running as a GitHub Actions step.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Option<Actions> {
        if env("GITHUB_ACTIONS").as_deref() != Some("true") {
            return None;
        }
        let path = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Some(Actions {
            step_summary: path("GITHUB_STEP_SUMMARY"),
            output: path("GITHUB_OUTPUT"),
            runner_temp: path("RUNNER_TEMP"),
        })
    }

    /// Writes the summary, the outputs and the annotations. `given` is `--report FILE`, which
    /// the caller has written already; without it a report is written to `$RUNNER_TEMP`.
    /// A file that cannot be written is a warning: the run's outcome stands regardless.
    pub fn publish(&self, report: &Report, given: Option<&Path>, stderr: &mut dyn Write) {
        let _ = write_annotations(stderr, report);
        if let Some(path) = &self.step_summary {
            if let Err(err) = append(path, |out| {
                crate::markdown::write_report(report, out)?;
                writeln!(out)
            }) {
                warn(stderr, "the job summary", path, &err);
            }
        }
        let report_path = match given {
            Some(path) => Some(path.to_owned()),
            None => {
                let dir = self.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
                let path = dir.join(format!("orchestrator-report-{}.json", std::process::id()));
                let written = std::fs::File::create(&path).and_then(|f| {
                    let mut out = Redacting::new(f);
                    report.write_json(&mut out)?;
                    out.flush()
                });
                match written {
                    Ok(()) => Some(path),
                    Err(err) => {
                        warn(stderr, "the report", &path, &err);
                        None
                    }
                }
            }
        };
        if let Some(path) = &self.output {
            let report_path = report_path.map(|p| std::path::absolute(&p).unwrap_or(p));
            if let Err(err) = append(path, |out| {
                write_outputs(out, report, report_path.as_deref())
            }) {
                warn(stderr, "the step outputs", path, &err);
            }
        }
    }
}

impl Actions {
    /// Appends Markdown (what `write` writes) to the job summary, when the runner gave one.
    /// A summary that cannot be written is a warning: the command's outcome stands regardless.
    pub fn append_summary(
        &self,
        stderr: &mut dyn Write,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) {
        if let Some(path) = &self.step_summary {
            if let Err(err) = append(path, |out| {
                write(out)?;
                writeln!(out)
            }) {
                warn(stderr, "the job summary", path, &err);
            }
        }
    }
}

impl Actions {
    /// One step output (`plan`'s `matrix`), when the runner gave the outputs file.
    /// A file that cannot be written is a warning, as for `run`'s outputs.
    pub fn append_output(&self, name: &str, value: &str, stderr: &mut dyn Write) {
        if let Some(path) = &self.output {
            if let Err(err) = append(path, |out| write_output(out, name, value)) {
                warn(stderr, "the step outputs", path, &err);
            }
        }
    }
}

fn append(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    // Redacted line by line on its way to the file, like every output.
    let mut out = Redacting::new(io::BufWriter::new(file));
    write(&mut out)?;
    out.flush()
}

fn warn(stderr: &mut dyn Write, what: &str, path: &Path, err: &io::Error) {
    let _ = writeln!(
        stderr,
        "warning: cannot write {what} to {}: {err}",
        path.display()
    );
}

/// Step outputs, in the runner's `name=value` format (a multi-line value as a heredoc).
pub fn write_outputs(out: &mut dyn Write, report: &Report, path: Option<&Path>) -> io::Result<()> {
    let s = &report.summary;
    write_output(out, "delivered", &s.delivered.to_string())?;
    write_output(out, "failed", &s.failed.to_string())?;
    write_output(out, "skipped", &s.skipped.to_string())?;
    write_output(out, "not_sent", &s.not_sent.to_string())?;
    write_output(out, "runs_failed", &s.runs_failed.to_string())?;
    write_output(out, "interrupted", &s.interrupted.to_string())?;
    write_output(
        out,
        "max_duration_reached",
        &s.max_duration_reached.to_string(),
    )?;
    write_output(out, "planned", &s.planned.to_string())?;
    write_output(out, "blocked", &s.blocked.to_string())?;
    write_output(out, "optional_failed", &s.optional_failed.to_string())?;
    write_output(out, "cancelled_runs", &s.cancelled_runs.to_string())?;
    if let Some(path) = path {
        write_output(out, "report", &path.display().to_string())?;
    }
    Ok(())
}

/// The step outputs `check` writes: its summary's counts.
pub const CHECK_OUTPUTS: &[&str] = &[
    "ready",
    "not_ready",
    "cannot_tell",
    "not_checkable",
    "tokens_expiring",
    "tokens_expired",
];

/// `check`'s step outputs: how many targets got each verdict, and the tokens' expiry counts.
pub fn write_check_outputs(
    out: &mut dyn Write,
    report: &crate::check::CheckReport,
) -> io::Result<()> {
    let s = &report.summary;
    let counts = [
        s.ready,
        s.not_ready,
        s.cannot_tell,
        s.not_checkable,
        s.tokens_expiring,
        s.tokens_expired,
    ];
    for (name, count) in CHECK_OUTPUTS.iter().zip(counts) {
        write_output(out, name, &count.to_string())?;
    }
    Ok(())
}

fn write_output(out: &mut dyn Write, name: &str, value: &str) -> io::Result<()> {
    if !value.contains(['\n', '\r']) {
        return writeln!(out, "{name}={value}");
    }
    // As actions/toolkit does: a delimiter that the value cannot contain.
    let delimiter = loop {
        let candidate = format!("ghadelimiter_{:016x}", fastrand::u64(..));
        if !value.contains(&candidate) {
            break candidate;
        }
    };
    writeln!(out, "{name}<<{delimiter}\n{value}\n{delimiter}")
}

/// `::error` for each target that failed, was not sent or whose waited-for run did not
/// succeed; `::warning` for a run not waited for; `::notice` for each skipped one (a `when`
/// condition or an earlier run decided it: nothing to fix). In a dry run, one `::warning` per
/// unset token variable, naming the targets that need it. Titles say what the line is about:
/// `dispatch: TARGET`.
pub fn write_annotations(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut annotations: Vec<(&str, String, String)> = report
        .targets
        .iter()
        .filter_map(|t| {
            let (level, message) = target_annotation(t)?;
            Some((level, format!("dispatch: {}", t.target), message))
        })
        .collect();
    annotations.extend(unset_tokens(report));
    for (level, title, message) in annotations.into_iter().take(crate::report::MAX_ANNOTATIONS) {
        writeln!(
            out,
            "::{level} title={}::{}",
            escape_property(&title),
            escape_data(&message)
        )?;
    }
    Ok(())
}

/// The annotation a finished target gets, if any: its level and message.
fn target_annotation(t: &crate::report::TargetReport) -> Option<(&'static str, String)> {
    let (destination, kind) = (&t.destination, t.kind);
    let Entry::Done(status) = &t.status else {
        return None;
    };
    let annotation = match status {
        Status::Failed { reason, hint, .. } => {
            let mut message = format!("{destination} ({kind}) failed: {reason}");
            if let Some(hint) = hint {
                message.push_str(&format!("\nhint: {hint}"));
            }
            ("error", message)
        }
        Status::NotSent { reason } => (
            "error",
            format!("{destination} ({kind}) was not sent: {reason}"),
        ),
        Status::Blocked { reason } => (
            "error",
            format!("{destination} ({kind}) was blocked: {reason}"),
        ),
        Status::Delivered { run: Some(run), .. } if run.failed() => (
            "error",
            format!(
                "{destination} ({kind}): the workflow run did not succeed: {}",
                describe(run)
            ),
        ),
        Status::Delivered { run: Some(run), .. } if run.not_waited => (
            "warning",
            format!(
                "{destination} ({kind}): the workflow run was {}",
                run.note.as_deref().unwrap_or("not waited for")
            ),
        ),
        Status::Skipped { reason } => (
            "notice",
            format!("{destination} ({kind}) skipped: {reason}"),
        ),
        Status::Delivered { .. } => return None,
    };
    // An optional target's failure does not fail the run: a warning, not an error.
    Some(match annotation {
        (_, message) if t.optional => ("warning", message),
        annotation => annotation,
    })
}

/// A dry run's unset token variables, one warning each with the targets that need it, in the
/// order the plan first names them (as a real run groups them when it refuses).
fn unset_tokens(report: &Report) -> Vec<(&'static str, String, String)> {
    let mut unset: Vec<(&str, Vec<&str>)> = Vec::new();
    for t in &report.targets {
        let Entry::Planned(p) = &t.status else {
            continue;
        };
        let Some(env) = p.token_env.as_deref().filter(|_| !p.token_set) else {
            continue;
        };
        match unset.iter_mut().find(|(name, _)| *name == env) {
            Some((_, targets)) => targets.push(&t.target),
            None => unset.push((env, vec![&t.target])),
        }
    }
    unset
        .into_iter()
        .map(|(env, targets)| {
            let message = format!(
                "token variable {env} is not set; a real run needs it for {}",
                targets.join(", ")
            );
            ("warning", format!("dry run: {env}"), message)
        })
        .collect()
}

/// GitHub Actions workflow commands, so problems show on the pull request's diff:
/// `::error file=dispatch.yaml,line=12,col=5,title=unknown_target::message`. Under `strict`,
/// warnings fail the check, so they are annotated as errors.
pub fn write_diagnostic_annotations(
    out: &mut dyn Write,
    file: &str,
    diagnostics: &[Diagnostic],
    strict: bool,
) -> io::Result<()> {
    for d in diagnostics.iter().take(crate::report::MAX_ANNOTATIONS) {
        let level = match d.severity {
            Severity::Warning if !strict => "warning",
            _ => "error",
        };
        // A value from a flag or variable has no place in the file: an annotation on a line
        // of the pull request would point at something that is not wrong.
        let mut props = match &d.origin {
            Some(_) => String::new(),
            None => format!("file={},", escape_property(file)),
        };
        if let Some(loc) = d.location {
            props.push_str(&format!("line={},col={},", loc.line, loc.column));
        }
        props.push_str(&format!(
            "title={}",
            escape_property(&format!("validate: {}", d.code.as_str()))
        ));
        let mut message = match (&d.origin, d.path.is_empty()) {
            (Some(origin), _) => format!("{origin}: {}", d.message),
            (None, true) => d.message.clone(),
            (None, false) => format!("{}: {}", d.shown_path(), d.message),
        };
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        writeln!(out, "::{level} {props}::{}", escape_data(&message))?;
    }
    Ok(())
}

/// `check` under Actions: an annotation per target that is not ready or cannot be told, and
/// per token that expires soon or has expired.
pub fn write_check_annotations(
    out: &mut dyn Write,
    report: &crate::check::CheckReport,
) -> io::Result<()> {
    use crate::check::Verdict;
    let mut shown = 0;
    for t in &report.targets {
        let level = match t.verdict {
            Verdict::NotReady => "error",
            Verdict::CannotTell => "warning",
            Verdict::Ready | Verdict::NotCheckable => continue,
        };
        shown += 1;
        if shown > crate::report::MAX_ANNOTATIONS {
            return Ok(());
        }
        writeln!(
            out,
            "::{level} title={}::{}{}",
            escape_property(&format!("check: {}", t.target)),
            escape_data(&format!("{} ({}): ", t.destination, t.kind.as_str())),
            t.reason.annotation()
        )?;
    }
    for (level, message) in report.token_messages() {
        write_token_annotation(out, "check", level, &message)?;
    }
    Ok(())
}

/// A token that expires soon (`warning`) or has expired (`error`), seen by `command` (`check`,
/// `dispatch`).
pub fn write_token_annotation(
    out: &mut dyn Write,
    command: &str,
    level: &str,
    message: &str,
) -> io::Result<()> {
    let level = if level == "error" { "error" } else { "warning" };
    writeln!(
        out,
        "::{level} title={}::{}",
        escape_property(&format!("{command}: token expiry")),
        escape_data(message)
    )
}

impl Actions {
    /// Appends `check`'s step outputs and Markdown to the job summary; a file that cannot be
    /// written is a warning.
    pub fn publish_check(&self, report: &crate::check::CheckReport, stderr: &mut dyn Write) {
        let _ = write_check_annotations(stderr, report);
        if let Some(path) = &self.output {
            if let Err(err) = append(path, |out| write_check_outputs(out, report)) {
                warn(stderr, "the step outputs", path, &err);
            }
        }
        if let Some(path) = &self.step_summary {
            if let Err(err) = append(path, |out| {
                crate::check::report::write_markdown(report, out)?;
                writeln!(out)
            }) {
                warn(stderr, "the job summary", path, &err);
            }
        }
    }
}

// The escapes GitHub's runner expects in workflow commands: the one escaping of this channel.
use crate::untrusted::escape::{
    annotation_data as escape_data, annotation_property as escape_property,
};

/// Masks each minted token in the runner's log: `::add-mask::TOKEN` on the writer `open`
/// returns (stderr in a run, which keeps `--output json` parseable). The one place a secret is
/// written on purpose, for the runner to consume; it bypasses the redaction gate by design.
pub fn mask_to<W: Write>(open: impl Fn() -> W + Send + Sync + 'static) -> Mask {
    Mask::new(move |token| {
        let mut out = open();
        let _ = writeln!(out, "::add-mask::{token}");
        let _ = out.flush();
    })
}

/// Starts a collapsed group in the log (`::group::`); [`end_group`] ends it.
pub fn start_group(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out, "::group::{}", escape_data(title))
}

pub fn end_group(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "::endgroup::")
}

fn describe(run: &RunInfo) -> String {
    let conclusion = run
        .conclusion
        .as_deref()
        .or(run.status.as_deref())
        .unwrap_or("unknown");
    match &run.html_url {
        Some(url) => format!("{conclusion} ({url})"),
        None => conclusion.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_step_in_actions_is_detected() {
        assert_eq!(Actions::detect(|_| None), None);
        assert_eq!(
            Actions::detect(|name| (name == "GITHUB_ACTIONS").then(|| "1".to_owned())),
            None
        );
        let found = Actions::detect(|name| match name {
            "GITHUB_ACTIONS" => Some("true".to_owned()),
            "GITHUB_OUTPUT" => Some("/tmp/out".to_owned()),
            "RUNNER_TEMP" => Some(String::new()),
            _ => None,
        });
        assert_eq!(
            found,
            Some(Actions {
                step_summary: None,
                output: Some(PathBuf::from("/tmp/out")),
                runner_temp: None,
            })
        );
    }

    #[test]
    fn a_value_with_a_newline_is_written_as_a_heredoc() {
        let mut out = Vec::new();
        write_output(&mut out, "report", "/tmp/a.json").unwrap();
        write_output(&mut out, "report", "/tmp/a\nb.json").unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "report=/tmp/a.json");
        let delimiter = lines[1].strip_prefix("report<<").unwrap();
        assert_eq!(&lines[2..], ["/tmp/a", "b.json", delimiter]);
    }
}
