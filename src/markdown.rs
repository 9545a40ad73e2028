//! The report as GitHub-flavoured Markdown: `--output markdown` for a pull-request bot, and the
//! job summary under GitHub Actions. Built only from a [`Report`], which never holds a secret.
//!
//! Everything that reaches a cell can come from a server (a failure's reason) or a template, so
//! it is escaped: it can neither break the table nor turn into a link, an image or HTML.

use crate::diagnostic::Diagnostic;
use crate::dispatch::{RunInfo, Status};
use crate::report::{Entry, Report, Summary, TargetReport};
use std::io::{self, Write};

/// Request bodies are shown (in a collapsed section) up to this many bytes in all: a pull
/// request comment holds at most 65,536 characters, and the table must fit as well.
pub(crate) const BODIES_BUDGET: usize = 32 * 1024;

/// The plan of a dry run, or what a run did, as a heading, a line of counts and a table.
pub(crate) fn write_report(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.dry_run {
        write_plan(report, out)
    } else {
        write_outcomes(report, out)
    }
}

fn write_plan(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    write_heading(out, "orchestrator dry run", report)?;
    writeln!(
        out,
        "Would send **{}**, {} skipped; nothing was sent.\n",
        crate::style::count(s.planned, "dispatch", "dispatches"),
        s.skipped
    )?;
    write_columns(
        out,
        &["target", "kind", "destination", "sends", "token", "note"],
    )?;
    for t in &report.targets {
        let (sends, token, note) = match &t.status {
            Entry::Planned(p) => {
                let token = match &p.token_env {
                    _ if p.github_app.is_some() => {
                        format!("GitHub App {}", text(p.github_app.as_deref().unwrap_or("")))
                    }
                    Some(env) if p.token_set => format!("{} set", code(&format!("${env}"))),
                    Some(env) => format!("{} **not set**", code(&format!("${env}"))),
                    None => "none".to_owned(),
                };
                let waits = (!p.awaits.is_empty()).then(|| {
                    let each: Vec<String> = p.awaits.iter().map(|a| code(a)).collect();
                    format!("waits for {}", each.join(", "))
                });
                let note = match (t.note.as_deref().map(prose), waits) {
                    (Some(note), Some(waits)) => Some(format!("{note}; {waits}")),
                    (note, waits) => note.or(waits),
                };
                (sends(t, p.method), token, note)
            }
            Entry::Done(Status::Skipped { reason }) => (
                String::new(),
                String::new(),
                Some(format!("skipped: {}", prose(reason))),
            ),
            Entry::Done(other) => (String::new(), String::new(), Some(outcome_word(other))),
        };
        let note = note.unwrap_or_default();
        writeln!(out, "{} {sends} | {token} | {note} |", target_cells(t))?;
    }
    write_graph(report, out)?;
    write_bodies(report, out)
}

/// What a target is sent, by kind: the event type, the workflow and ref, or the HTTP method.
fn sends(t: &TargetReport, method: &str) -> String {
    let label = t.label.as_deref().unwrap_or("");
    match t.kind {
        "repository_dispatch" => format!("event {}", code(label)),
        "workflow_dispatch" => format!("workflow {}", code(label)),
        _ => code(method),
    }
}

/// The exact bodies, collapsed, as long as they fit in [`BODIES_BUDGET`].
fn write_bodies(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let bodies: Vec<(&str, String)> = report
        .targets
        .iter()
        .filter_map(|t| match &t.status {
            Entry::Planned(p) if !p.body.is_empty() => Some((
                t.target.as_str(),
                serde_json::to_string_pretty(&p.body).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    if bodies.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n<details><summary>Request bodies</summary>\n")?;
    let mut used = 0;
    for (shown, (target, body)) in bodies.iter().enumerate() {
        used += body.len();
        if used > BODIES_BUDGET {
            writeln!(
                out,
                "{} more not shown (too long for a comment; `--output json` has them all).\n",
                bodies.len() - shown
            )?;
            break;
        }
        let fence = fence_for(body);
        writeln!(out, "{}\n\n{fence}json\n{body}\n{fence}\n", code(target))?;
    }
    writeln!(out, "</details>")
}

/// The heading of a report: what it is, then the release.
fn write_heading(out: &mut dyn Write, what: &str, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "### {what}: {} {}\n",
        text(&report.source),
        text(&report.version)
    )
}

/// A table's header row and the line under it.
fn write_columns(out: &mut dyn Write, columns: &[&str]) -> io::Result<()> {
    writeln!(out, "| {} |", columns.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(columns.len()))
}

/// What a run did: the heading, the counts, and a row for each target.
fn write_outcomes(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_heading(out, "orchestrator", report)?;
    writeln!(out, "{}\n", counts(&report.summary))?;
    // A run column only when some target can have a run: a repository_dispatch never does.
    let runs = report.targets.iter().any(|t| t.kind == "workflow_dispatch");
    let run_column: &[&str] = if runs { &["run"] } else { &[] };
    let columns = [
        &["target", "kind", "destination", "outcome", "attempts"][..],
        run_column,
        &["reason / hint"],
    ]
    .concat();
    write_columns(out, &columns)?;
    for t in &report.targets {
        if let Entry::Done(status) = &t.status {
            write_outcome(out, t, status, runs)?;
        }
    }
    write_graph(report, out)
}

/// The graph of `needs`, when the targets make more than one wave.
fn write_graph(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    match report.mermaid() {
        Some(graph) => write!(out, "\n{graph}"),
        None => Ok(()),
    }
}

/// The line of counts under a run's heading, and how long the run took.
fn counts(s: &Summary) -> String {
    let mut counts = format!(
        "**{} delivered**, **{} failed**, {} skipped",
        s.delivered, s.failed, s.skipped
    );
    let why = if s.max_duration_reached && !s.interrupted {
        "stopped at --max-duration"
    } else {
        "interrupted"
    };
    if s.not_sent > 0 {
        counts.push_str(&format!(", **{} not sent** ({why})", s.not_sent));
    } else if s.interrupted || s.max_duration_reached {
        counts.push_str(&format!(", **{why}**"));
    }
    if s.blocked > 0 {
        counts.push_str(&format!(", **{} blocked**", s.blocked));
    }
    if s.optional_failed > 0 {
        counts.push_str(&format!(
            ", {} optional failed (not failing the run)",
            s.optional_failed
        ));
    }
    if s.runs_failed > 0 {
        counts.push_str(&format!(
            ", **{}** did not succeed",
            crate::style::count(s.runs_failed, "workflow run", "workflow runs")
        ));
    }
    if s.cancelled_runs > 0 {
        counts.push_str(&format!(
            ", {} cancelled (`cancel_on_stop`)",
            crate::style::count(s.cancelled_runs, "workflow run", "workflow runs")
        ));
    }
    if s.runs_not_waited > 0 {
        counts.push_str(&format!(
            ", {} not waited for",
            crate::style::count(s.runs_not_waited, "workflow run", "workflow runs")
        ));
    }
    let secs = s.duration_ms.unwrap_or(0) as f64 / 1000.0;
    format!("{counts} in {secs:.2} s")
}

/// A target's row in a run's table; `runs` when the table has a run column.
fn write_outcome(
    out: &mut dyn Write,
    t: &TargetReport,
    status: &Status,
    runs: bool,
) -> io::Result<()> {
    let (run, why) = match status {
        Status::Delivered { run, .. } => (
            run.as_ref().map(run_cell).unwrap_or_default(),
            t.note.as_deref().map(prose).unwrap_or_default(),
        ),
        Status::Failed { reason, hint, .. } => {
            let mut why = prose(reason);
            if let Some(hint) = hint {
                why.push_str(&format!("<br>hint: {}", prose(hint)));
            }
            (String::new(), why)
        }
        Status::Skipped { reason } | Status::NotSent { reason } | Status::Blocked { reason } => {
            (String::new(), prose(reason))
        }
    };
    let attempts = t.attempts.map(|n| n.to_string()).unwrap_or_default();
    let run = if runs {
        format!(" {run} |")
    } else {
        String::new()
    };
    let outcome = outcome_word(status);
    writeln!(
        out,
        "{} {outcome} | {attempts} |{run} {why} |",
        target_cells(t)
    )
}

/// A target's first three cells, which every table of targets starts with: its name, kind
/// and destination.
fn target_cells(t: &TargetReport) -> String {
    format!(
        "| {} | {} | {} |",
        code(&t.target),
        t.kind,
        text(&t.destination)
    )
}

fn outcome_word(status: &Status) -> String {
    match status {
        Status::Delivered { run, .. } if run.as_ref().is_some_and(RunInfo::failed) => {
            "⚠️ delivered (run did not succeed)".to_owned()
        }
        Status::Delivered { .. } => "✅ delivered".to_owned(),
        Status::Failed { http_status, .. } => match http_status {
            Some(code) => format!("❌ failed ({code})"),
            None => "❌ failed".to_owned(),
        },
        Status::Skipped { .. } => "⏭️ skipped".to_owned(),
        Status::NotSent { .. } => "⛔ not sent".to_owned(),
        Status::Blocked { .. } => "🚫 blocked".to_owned(),
    }
}

/// A workflow run: a link to its page when known, and its conclusion after `--wait`.
fn run_cell(run: &RunInfo) -> String {
    let mut parts = Vec::new();
    match (&run.html_url, run.id) {
        (Some(url), id) if is_web_url(url) => {
            let name = id.map_or("run".to_owned(), |id| format!("run {id}"));
            parts.push(format!("[{name}]({url})"));
        }
        (_, Some(id)) => parts.push(format!("run {id}")),
        _ => {}
    }
    match (&run.status, &run.conclusion) {
        (_, Some(conclusion)) => parts.push(text(conclusion)),
        (Some(status), None) => parts.push(text(status)),
        _ => {}
    }
    if let Some(job) = &run.job {
        let state = job.conclusion.as_ref().or(job.status.as_ref());
        parts.push(format!(
            "job {} {}",
            code(&job.name),
            state.map_or("not found".to_owned(), |s| text(s))
        ));
    }
    if let Some(note) = &run.note {
        parts.push(prose(note));
    }
    parts.extend(run.cancel_said().map(|said| prose(&said)));
    parts.join(", ")
}

/// Only a plain http(s) URL is made a link: the server chose it, so anything that could close
/// the link's parentheses or carry a script is shown as text instead.
fn is_web_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'<' | b'>' | b'|' | b'\\'))
}

/// `validate --output markdown`: the verdict, then each problem in a table.
pub(crate) fn write_diagnostics(
    out: &mut dyn Write,
    file: &str,
    diagnostics: &[Diagnostic],
    valid: bool,
) -> io::Result<()> {
    let verdict = if valid { "✅ valid" } else { "❌ not valid" };
    writeln!(out, "### {}: {verdict}\n", code(file))?;
    if diagnostics.is_empty() {
        return Ok(());
    }
    writeln!(out, "| | line | key | problem | help |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for d in diagnostics.iter().take(crate::report::MAX_SHOWN) {
        let level = if d.is_error() { "error" } else { "warning" };
        let line = d.location.map(|l| l.line.to_string()).unwrap_or_default();
        let key = match &d.origin {
            Some(origin) => code(origin),
            None if d.path.is_empty() => String::new(),
            None => code(&d.shown_path()),
        };
        writeln!(
            out,
            "| {level} `{}` | {line} | {key} | {} | {} |",
            d.code.as_str(),
            prose(&d.message),
            d.help.as_deref().map(prose).unwrap_or_default()
        )?;
    }
    if diagnostics.len() > crate::report::MAX_SHOWN {
        writeln!(
            out,
            "\n{} more problem(s) not shown.",
            diagnostics.len() - crate::report::MAX_SHOWN
        )?;
    }
    Ok(())
}

// The escaping of this channel lives with the other channels' in `untrusted::escape`, so that
// `check`, `diff` and `run` write server text into Markdown one way.
use crate::untrusted::escape::markdown_fence as fence_for;
pub(crate) use crate::untrusted::escape::{
    markdown_code as code, markdown_prose as prose, markdown_text as text,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_web_urls_become_links() {
        assert!(is_web_url("https://github.com/o/r/actions/runs/1"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("https://e/x) [y](https://evil"));
    }
}
