//! The diff for a terminal or a log: a line per source, a line per target (`+` added, `-`
//! removed, `~` changed or renamed), then what changed in it as `before → after`, coloured like
//! `git diff` when the palette is on.

use super::{BodyChanges, Change, Diff, FieldChange, Header, TargetDiff, ValueChange};
use crate::style::{Palette, Tone};
use std::io::{self, Write};

/// Longest value shown on a line; `--output json` has them whole.
const MAX_VALUE_CHARS: usize = 200;

/// What shows when there is nothing to review.
pub(crate) const NO_CHANGE: &str = "no change to what releases send";

pub(crate) fn write(
    out: &mut dyn Write,
    header: &Header,
    diff: &Diff,
    palette: Palette,
) -> io::Result<()> {
    writeln!(
        out,
        "orchestrator diff: {} at {} → working tree (sample releases {}; no token read)",
        shown(header.file),
        shown(header.base),
        diff.versions.join(", ")
    )?;
    if diff.is_empty() {
        return writeln!(out, "\n{NO_CHANGE}");
    }
    if !diff.every_target.is_empty() {
        writeln!(out, "\nevery changed target:")?;
        for field in &diff.every_target {
            write_field(out, palette, "", field)?;
        }
    }
    for source in &diff.sources {
        writeln!(out)?;
        let feeds = match (source.feeds_before, source.feeds_after) {
            (Some(before), Some(after)) if before != after => {
                format!(": feeds {after} target(s) (was {before})")
            }
            (None, Some(after)) => format!(": new source, feeds {after} target(s)"),
            (Some(before), None) => format!(": source removed, fed {before} target(s)"),
            _ => String::new(),
        };
        let renamed = match &source.renamed_from {
            Some(old) => format!(" (renamed from {})", shown(old)),
            None => String::new(),
        };
        let line = format!(
            "source {}{renamed} ({}){feeds}",
            shown(&source.source),
            shown(&source.repository)
        );
        let tone = match source.change {
            Change::Added => Some(Tone::Good),
            Change::Removed => Some(Tone::Bad),
            Change::Renamed => Some(Tone::Warn),
            Change::Changed => None,
        };
        match tone {
            Some(tone) => writeln!(out, "{}", palette.paint(&line, tone))?,
            None => writeln!(out, "{line}")?,
        }
        for field in &source.fields {
            write_field(out, palette, "", field)?;
        }
        for target in &source.targets {
            write_target(out, palette, target)?;
        }
    }
    let s = &diff.summary;
    writeln!(
        out,
        "\n{} source(s) change what releases send: {} target(s) added, {} removed, {} renamed, {} changed",
        s.sources, s.added, s.removed, s.renamed, s.changed
    )
}

fn write_target(out: &mut dyn Write, palette: Palette, target: &TargetDiff) -> io::Result<()> {
    let (mark, tone) = match target.change {
        Change::Added => ("+", Tone::Good),
        Change::Removed => ("-", Tone::Bad),
        Change::Renamed | Change::Changed => ("~", Tone::Warn),
    };
    let renamed = target
        .renamed_from
        .as_deref()
        .map(|from| format!(" (renamed from {})", shown(from)))
        .unwrap_or_default();
    let line = format!(
        "  {mark} {}{renamed}: {}",
        shown(&target.target),
        shown(&target.summary)
    );
    writeln!(out, "{}", palette.paint(&line, tone))?;
    match target.change {
        Change::Removed => {}
        Change::Added => {
            for field in target.fields.iter().filter(|f| f.field == "token") {
                write_field(out, palette, "", field)?;
            }
            let skipped = target.sends.iter().filter(|f| {
                [&f.before, &f.after]
                    .into_iter()
                    .flatten()
                    .any(|fate| fate.starts_with("skipped"))
            });
            for fate in skipped {
                write_field(out, palette, "release ", fate)?;
            }
            write_bodies(out, palette, &target.body)?;
        }
        Change::Renamed | Change::Changed => {
            for field in &target.fields {
                write_field(out, palette, "", field)?;
            }
            for fate in &target.sends {
                write_field(out, palette, "release ", fate)?;
            }
            write_bodies(out, palette, &target.body)?;
        }
    }
    Ok(())
}

fn write_bodies(out: &mut dyn Write, palette: Palette, bodies: &[BodyChanges]) -> io::Result<()> {
    for body in bodies {
        let at = body
            .version
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default();
        for change in &body.changes {
            write_value(out, palette, &at, change)?;
        }
    }
    Ok(())
}

fn write_field(
    out: &mut dyn Write,
    palette: Palette,
    prefix: &str,
    field: &FieldChange,
) -> io::Result<()> {
    let show = |value: &Option<String>| value.as_deref().map(shown);
    let change = match items(palette, field) {
        Some(items) => items,
        None => arrow(palette, show(&field.before), show(&field.after)),
    };
    writeln!(out, "        {prefix}{}: {change}", shown(&field.field))
}

/// A list's change as its items, `+cli, -docs`; `None` when no item came or went (the order
/// changed: both lists are shown).
fn items(palette: Palette, field: &FieldChange) -> Option<String> {
    let added = field
        .added
        .iter()
        .map(|item| palette.paint(&format!("+{}", shown(item)), Tone::Good));
    let removed = field
        .removed
        .iter()
        .map(|item| palette.paint(&format!("-{}", shown(item)), Tone::Bad));
    let all: Vec<String> = added.chain(removed).collect();
    (!all.is_empty()).then(|| all.join(", "))
}

fn write_value(
    out: &mut dyn Write,
    palette: Palette,
    at: &str,
    change: &ValueChange,
) -> io::Result<()> {
    let show = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map(|v| shown(&serde_json::to_string(v).unwrap_or_default()))
    };
    let path = match change.path.as_str() {
        "" => String::new(),
        path => format!(" {}", shown(path)),
    };
    // A key only one side has says so: the bare value would read as unchanged.
    let marker = match (&change.before, &change.after) {
        (None, Some(_)) if !path.is_empty() => " (added)",
        (Some(_), None) if !path.is_empty() => " (removed)",
        _ => "",
    };
    writeln!(
        out,
        "        body{path}{at}: {}{marker}",
        arrow(palette, show(&change.before), show(&change.after))
    )
}

/// `before → after`; one side alone when the other has none.
fn arrow(palette: Palette, before: Option<String>, after: Option<String>) -> String {
    match (before, after) {
        (Some(before), Some(after)) => format!(
            "{} → {}",
            palette.paint(&before, Tone::Bad),
            palette.paint(&after, Tone::Good)
        ),
        (Some(before), None) => format!("{} → (none)", palette.paint(&before, Tone::Bad)),
        (None, Some(after)) => palette.paint(&after, Tone::Good),
        (None, None) => String::new(),
    }
}

/// Config text (the base side is a file from git, as untrusted as a server's answer) made fit
/// for a terminal or a runner's log: redacted, neutralized, one line, cut.
fn shown(text: &str) -> String {
    crate::untrusted::Text::new(text, MAX_VALUE_CHARS)
        .terminal()
        .to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_value_from_the_base_file_stays_on_its_line() {
        assert_eq!(
            super::shown("x\n+ target forged: added\u{202e}"),
            "x\\u{a}+ target forged: added\\u{202e}"
        );
    }
}
