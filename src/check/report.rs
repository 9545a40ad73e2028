//! A [`CheckReport`] as text, JSON or Markdown. What a server sent is a
//! [`crate::untrusted::Text`] (in a [`crate::untrusted::Message`]), written here only through
//! the channel's own escaping: `terminal()` for text, `markdown()` for a cell, serde for JSON.

use super::{CheckReport, Verdict};
// Markdown's cell escaping, from `untrusted` (as `markdown` re-exports it): `check` sits below
// the output layer.
use crate::untrusted::escape::{
    markdown_code as code, markdown_prose as prose, markdown_text as text,
};
use crate::untrusted::Message;
use std::io::{self, Write};

pub(crate) fn write_text(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for t in &report.targets {
        writeln!(
            out,
            "{:<13} {} ({}, {}): {}",
            t.verdict.as_str(),
            t.target,
            t.destination,
            t.kind.as_str(),
            one_entry(&t.reason)
        )?;
        for problem in t.problems.iter().filter(|p| **p != t.reason) {
            writeln!(out, "    problem: {}", one_entry(problem))?;
        }
        for fact in &t.evidence {
            writeln!(out, "    {}", one_entry(fact))?;
        }
    }
    // A token shared by many targets expires once: said once, not under each of them.
    for (_, message) in report.token_messages() {
        writeln!(out, "token: {message}")?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "{} ready, {} not ready, {} cannot tell, {} not checkable; tokens: {} expiring, {} expired",
        s.ready, s.not_ready, s.cannot_tell, s.not_checkable, s.tokens_expiring, s.tokens_expired
    )
}

pub(crate) fn write_json(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

pub(crate) fn write_markdown(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
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
        // The same escaping as `run`'s Markdown: our words as prose, a server's as text.
        let verdict = t.reason.markdown();
        writeln!(
            out,
            "| {mark} | {} | {} | {} | {verdict} |",
            code(&t.target),
            text(&t.destination),
            t.kind.as_str()
        )?;
    }
    let tokens = report.token_messages();
    if !tokens.is_empty() {
        writeln!(out)?;
    }
    for (_, message) in tokens {
        writeln!(out, "⚠️ {}", prose(&message))?;
    }
    Ok(())
}

/// A message as one entry of the text report: a line break in it (a server's words in a
/// transport failure keep theirs) continues indented, so no line can pass for a verdict.
fn one_entry(message: &Message) -> String {
    crate::style::indent(&message.terminal(), "      ")
}
