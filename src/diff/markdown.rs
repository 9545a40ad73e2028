//! The diff as GitHub-flavoured Markdown, for a pull-request comment or the job summary: a
//! verdict line, then a collapsible section per source with a table of what changed
//! (`before` → `after`). Every cell is escaped ([`crate::markdown::text`] and `code`), so
//! nothing in `dispatch.yaml` can break the table, mention someone or make a link.

use super::{BodyChanges, Change, Diff, FieldChange, Header, SourceDiff, TargetDiff};
use crate::diagnostic::Diagnostic;
use crate::markdown::{code, prose};
use std::io::{self, Write};

/// A pull-request comment holds at most 65,536 characters; the document stays under this.
pub(crate) const BUDGET: usize = 60 * 1024;
/// Longest value in a cell; `--output json` has them whole.
const MAX_VALUE_CHARS: usize = 120;
/// Sections start open when there are this few.
const OPEN_UP_TO: usize = 3;

pub(crate) fn write(out: &mut dyn Write, header: &Header, diff: &Diff) -> io::Result<()> {
    let mut doc = format!(
        "### orchestrator diff: {} against {}\n\n",
        code(header.file),
        code(header.base)
    );
    let versions: Vec<String> = diff.versions.iter().map(|v| code(v)).collect();
    let samples = format!(
        "Sample release(s) {}; no token or secret was read.",
        versions.join(", ")
    );
    if diff.is_empty() {
        doc.push_str(&format!(
            "✅ **No change to what releases send.** {samples}\n"
        ));
        return out.write_all(doc.as_bytes());
    }
    let s = &diff.summary;
    doc.push_str(&format!(
        "**{} source(s) change what releases send**: {} target(s) added, {} removed, {} renamed, {} changed. {samples}\n\n",
        s.sources, s.added, s.removed, s.renamed, s.changed
    ));
    if !diff.every_target.is_empty() {
        doc.push_str("Every changed target:\n\n| Setting | Before | After |\n|---|---|---|\n");
        for field in &diff.every_target {
            let cell = |value: &Option<String>| {
                value.as_deref().map(|v| code(&cut(v))).unwrap_or_default()
            };
            doc.push_str(&format!(
                "| {} | {} | {} |\n",
                code(&field.field),
                cell(&field.before),
                cell(&field.after)
            ));
        }
        doc.push('\n');
    }
    let open = diff.sources.len() <= OPEN_UP_TO;
    let mut left_out = 0;
    for source in &diff.sources {
        let section = section(source, open);
        if doc.len() + section.len() > BUDGET {
            left_out += 1;
            continue;
        }
        doc.push_str(&section);
    }
    if left_out > 0 {
        doc.push_str(&format!(
            "{left_out} more source(s) not shown (too long for a comment; `orchestrator diff --output json` has them all).\n"
        ));
    }
    out.write_all(doc.as_bytes())
}

/// When either side is not valid: why nothing was compared, then each invalid side's problems
/// as `validate --output markdown` shows them.
pub(crate) fn write_not_compared(
    out: &mut dyn Write,
    header: &Header,
    base: Option<(&str, &[Diagnostic])>,
    head: &[Diagnostic],
) -> io::Result<()> {
    writeln!(
        out,
        "### orchestrator diff: {} against {}\n",
        code(header.file),
        code(header.base)
    )?;
    let head_valid = !head.iter().any(Diagnostic::is_error);
    let why = match (base.is_some(), head_valid) {
        (true, true) => "the base is not valid",
        (true, false) => "neither the base nor this change is valid",
        (false, _) => "this change is not valid",
    };
    writeln!(out, "❌ **Nothing was compared**: {why}.\n")?;
    if let Some((file, errors)) = base {
        crate::markdown::write_diagnostics(out, file, errors, false)?;
        writeln!(out)?;
    }
    crate::markdown::write_diagnostics(out, header.file, head, head_valid)
}

fn section(source: &SourceDiff, open: bool) -> String {
    let mut counts = Vec::new();
    for change in [
        Change::Added,
        Change::Removed,
        Change::Renamed,
        Change::Changed,
    ] {
        let n = source.targets.iter().filter(|t| t.change == change).count();
        if n > 0 {
            counts.push(format!("{n} {}", change.as_str()));
        }
    }
    match (source.change, source.feeds_before, source.feeds_after) {
        (Change::Added, _, _) => counts.insert(0, "new source".to_owned()),
        (Change::Removed, _, _) => counts.insert(0, "source removed".to_owned()),
        (Change::Renamed, _, _) => counts.insert(
            0,
            format!(
                "renamed from {}",
                code(source.renamed_from.as_deref().unwrap_or_default())
            ),
        ),
        (_, Some(before), Some(after)) if before != after => {
            counts.push(format!("feeds {after} target(s), was {before}"))
        }
        _ => {}
    }
    let mut out = format!(
        "<details{}>\n<summary><b>{}</b> ({}): {}</summary>\n\n",
        if open { " open" } else { "" },
        html(&source.source),
        html(&source.repository),
        html(&counts.join(", "))
    );
    out.push_str("| | target | what | before | after |\n|---|---|---|---|---|\n");
    for field in &source.fields {
        out.push_str(&field_row(&code(&field.field), field));
    }
    let mut rows = String::new();
    let mut dropped = 0;
    for target in &source.targets {
        let block = target_rows(target);
        if rows.len() + block.len() > BUDGET / 2 {
            dropped += 1;
            continue;
        }
        rows.push_str(&block);
    }
    out.push_str(&rows);
    if dropped > 0 {
        out.push_str(&format!(
            "\n{dropped} more target(s) of this source not shown (`--output json` has them all).\n"
        ));
    }
    out.push_str("\n</details>\n\n");
    out
}

fn target_rows(target: &TargetDiff) -> String {
    let word = match target.change {
        Change::Added => "➕ added",
        Change::Removed => "➖ removed",
        Change::Renamed => "✏️ renamed",
        Change::Changed => "✏️ changed",
    };
    let mut name = code(&target.target);
    if let Some(from) = &target.renamed_from {
        name.push_str(&format!(" (was {})", code(from)));
    }
    let mut out = format!("| {word} | {name} | {} | | |\n", prose(&target.summary));
    match target.change {
        Change::Removed => {}
        Change::Added => {
            for field in target.fields.iter().filter(|f| f.field == "token") {
                out.push_str(&field_row(&code(&field.field), field));
            }
            for fate in target.sends.iter().filter(|f| is_skip(f)) {
                out.push_str(&fate_row(fate));
            }
            out.push_str(&body_rows(&target.body));
        }
        Change::Renamed | Change::Changed => {
            for field in &target.fields {
                out.push_str(&field_row(&code(&field.field), field));
            }
            for fate in &target.sends {
                out.push_str(&fate_row(fate));
            }
            out.push_str(&body_rows(&target.body));
        }
    }
    out
}

fn is_skip(fate: &FieldChange) -> bool {
    [&fate.before, &fate.after]
        .into_iter()
        .flatten()
        .any(|f| f.starts_with("skipped"))
}

fn field_row(what: &str, field: &FieldChange) -> String {
    let cell = |value: &Option<String>| value.as_deref().map(|v| code(&cut(v))).unwrap_or_default();
    format!(
        "| | | {what} | {} | {}{} |\n",
        cell(&field.before),
        cell(&field.after),
        items(field)
    )
}

/// A list's items added and removed, after the list: ` (`+cli`, `-docs`)`.
fn items(field: &FieldChange) -> String {
    let added = field
        .added
        .iter()
        .map(|item| code(&cut(&format!("+{item}"))));
    let removed = field
        .removed
        .iter()
        .map(|item| code(&cut(&format!("-{item}"))));
    let all: Vec<String> = added.chain(removed).collect();
    if all.is_empty() {
        return String::new();
    }
    format!(" ({})", all.join(", "))
}

fn fate_row(fate: &FieldChange) -> String {
    let cell =
        |value: &Option<String>| value.as_deref().map(|v| prose(&cut(v))).unwrap_or_default();
    format!(
        "| | | release {} | {} | {} |\n",
        code(&fate.field),
        cell(&fate.before),
        cell(&fate.after)
    )
}

fn body_rows(bodies: &[BodyChanges]) -> String {
    let mut out = String::new();
    for body in bodies {
        let at = body
            .version
            .as_deref()
            .map(|v| format!(" for {}", code(v)))
            .unwrap_or_default();
        for change in &body.changes {
            let what = match change.path.as_str() {
                "" => format!("body{at}"),
                path => format!("body {}{at}", code(path)),
            };
            let cell = |value: &Option<serde_json::Value>| {
                value
                    .as_ref()
                    .map(|v| code(&cut(&serde_json::to_string(v).unwrap_or_default())))
                    .unwrap_or_default()
            };
            out.push_str(&format!(
                "| | | {what} | {} | {} |\n",
                cell(&change.before),
                cell(&change.after)
            ));
        }
    }
    out
}

fn cut(value: &str) -> String {
    crate::untrusted::truncate(value, MAX_VALUE_CHARS)
}

/// Text inside an HTML element (`<summary>`): the channel's one escaping.
use crate::untrusted::escape::html_text as html;
