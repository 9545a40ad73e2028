//! What a pull-request comment of ours says: the hidden marker it is found by, then the report,
//! cut to what GitHub keeps of a comment with a note that says so. Pure.

/// GitHub refuses a comment body longer than this many characters.
pub(crate) const MAX_COMMENT_CHARS: usize = 65_536;

/// Room kept for what closes a cut report (a code fence, `</details>`s) and the note.
const CLOSING_ROOM: usize = 1_024;

/// `<!-- orchestrator:dispatch.yaml:run -->`: the first line of our comment for this file and
/// command. Only the characters of a path are kept, so nothing can close the HTML comment.
pub(crate) fn marker(config: &str, command: &str) -> String {
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    // `--` may not appear inside an HTML comment.
    let config = safe(config).replace("--", "__");
    format!("<!-- orchestrator:{config}:{} -->", safe(command))
}

/// The comment: `marker`, a line break, the report; at most [`MAX_COMMENT_CHARS`] characters.
pub(crate) fn comment(marker: &str, report: &str) -> String {
    let total = marker.chars().count() + 1 + report.chars().count();
    if total <= MAX_COMMENT_CHARS {
        return format!("{marker}\n{report}");
    }
    let room = MAX_COMMENT_CHARS.saturating_sub(marker.chars().count() + 1 + CLOSING_ROOM);
    let kept = cut_at_line(report, room);
    let shown = kept.chars().count();
    let note = format!(
        "\n\n---\n**Cut short:** this report is {} characters, more than the {} a GitHub comment \
holds; the first {} are shown. The whole report is in the workflow run's job summary.\n",
        thousands(report.chars().count()),
        thousands(MAX_COMMENT_CHARS),
        thousands(shown),
    );
    format!("{marker}\n{kept}{}{note}", closing(kept))
}

/// At most `max_chars` characters of `text`, ending at a line break when there is one.
fn cut_at_line(text: &str, max_chars: usize) -> &str {
    let end = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(at, _)| at);
    let head = &text[..end];
    match head.rfind('\n') {
        Some(line_end) => &head[..=line_end],
        None => head,
    }
}

/// What a cut report needs so the note is not swallowed: a code fence left open is closed,
/// and so is every `<details>` left open.
fn closing(kept: &str) -> String {
    let mut close = String::new();
    let fences = kept
        .lines()
        .filter(|line| line.trim_start().starts_with("```"))
        .count();
    if !fences.is_multiple_of(2) {
        close.push_str("\n```\n");
    }
    let open = kept.matches("<details>").count();
    let closed = kept.matches("</details>").count();
    for _ in closed..open {
        close.push_str("\n</details>\n");
    }
    close
}

/// `65,536`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_file_and_the_command_and_cannot_close_early() {
        assert_eq!(
            marker("dispatch.yaml", "run"),
            "<!-- orchestrator:dispatch.yaml:run -->"
        );
        assert_eq!(
            marker(".github/a b-->c.yaml", "diff"),
            "<!-- orchestrator:.github/a_b___c.yaml:diff -->"
        );
    }

    #[test]
    fn a_short_report_is_posted_whole_under_its_marker() {
        assert_eq!(comment("<!-- m -->", "| a |\n"), "<!-- m -->\n| a |\n");
    }

    #[test]
    fn a_long_report_is_cut_at_a_line_with_a_note_and_fits() {
        let line = "| target | delivered |\n";
        let report = format!("<details>\n\n```json\n{}", line.repeat(5_000));
        let posted = comment("<!-- m -->", &report);
        assert!(posted.chars().count() <= MAX_COMMENT_CHARS);
        assert!(posted.contains(
            "**Cut short:** this report is 115,019 characters, more than the 65,536 a GitHub comment holds"
        ));
        let before_note = posted.split("\n\n---\n").next().unwrap();
        assert!(
            before_note.ends_with("```\n\n</details>\n"),
            "{before_note:?}"
        );
        assert!(!before_note.contains("| target | deliv\n"));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let report = "é".repeat(MAX_COMMENT_CHARS - 11);
        assert_eq!(
            comment("<!-- m -->", &report).chars().count(),
            MAX_COMMENT_CHARS
        );
    }
}
