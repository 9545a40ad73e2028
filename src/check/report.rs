//! A [`CheckReport`] as text, JSON or Markdown. Every text in it that came from a server has
//! been through `untrusted` already.

use super::{CheckReport, Verdict};
use std::io::{self, Write};

pub fn write_text(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for t in &report.targets {
        writeln!(
            out,
            "{:<13} {} ({}, {}): {}",
            t.verdict.as_str(),
            t.target,
            t.destination,
            t.kind.as_str(),
            t.reason
        )?;
        for problem in t.problems.iter().filter(|p| **p != t.reason) {
            writeln!(out, "    problem: {problem}")?;
        }
        for fact in &t.evidence {
            writeln!(out, "    {fact}")?;
        }
        if let Some(message) = t.token.as_ref().and_then(|t| t.message()) {
            writeln!(out, "    token: {message}")?;
        }
    }
    let s = &report.summary;
    writeln!(
        out,
        "{} ready, {} not ready, {} cannot tell, {} not checkable; tokens: {} expiring, {} expired",
        s.ready, s.not_ready, s.cannot_tell, s.not_checkable, s.tokens_expiring, s.tokens_expired
    )
}

pub fn write_json(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

pub fn write_markdown(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "### orchestrator check\n")?;
    writeln!(
        out,
        "{} ready, {} not ready, {} cannot tell, {} not checkable; tokens: {} expiring, {} expired\n",
        s.ready, s.not_ready, s.cannot_tell, s.not_checkable, s.tokens_expiring, s.tokens_expired
    )?;
    writeln!(out, "| | Target | Repository | Kind | Verdict |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for t in &report.targets {
        let mark = match t.verdict {
            Verdict::Ready => "✅",
            Verdict::NotReady => "❌",
            Verdict::CannotTell => "❔",
            Verdict::NotCheckable => "➖",
        };
        let mut text = cell(&t.reason);
        if let Some(message) = t.token.as_ref().and_then(|t| t.message()) {
            text.push_str(&format!("<br>⚠️ {}", cell(&message)));
        }
        writeln!(
            out,
            "| {mark} | `{}` | {} | {} | {text} |",
            cell(&t.target),
            cell(&t.destination),
            t.kind.as_str()
        )?;
    }
    Ok(())
}

/// Text fit for one table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
