//! Text a server sent, made fit to show: every registered secret redacted from the whole text
//! first, then anything a terminal or the GitHub Actions runner would act on neutralized, then
//! cut to size. Every message built from an answer (error text, run details) goes through
//! [`shown`], so no server can write a workflow command, move a terminal's cursor or leave part
//! of a secret behind a cut.
//!
//! The gate for outputs: server text that is kept to be shown (a file name, a branch name, an
//! event type read from a workflow file) is a [`Text`], and a sentence that holds some is a
//! [`Message`]. Neither can be printed raw; each is written through the one escaping of its
//! channel ([`escape`]): a terminal, a Markdown cell, a workflow command, JSON.

pub(crate) mod escape;
mod text;

pub use text::{Message, Text};

/// Server text for messages: redacted, neutralized, at most `max_chars` characters (an
/// ellipsis marks a cut).
pub(crate) fn shown(raw: &str, max_chars: usize) -> String {
    let redacted = crate::secret::redact(raw);
    let clean = neutralize(&redacted);
    truncate(&clean, max_chars)
}

/// A one-line excerpt of server text (an HTML error page, say): whitespace runs collapsed.
pub(crate) fn excerpt(raw: &str, max_chars: usize) -> String {
    let redacted = crate::secret::redact(raw);
    let one_line = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&neutralize(&one_line), max_chars)
}

/// A value GitHub documents as one of a few words (a run's `status` or `conclusion`): kept
/// when it is such a word (lowercase letters and `_`, at most 32), else `unrecognized`.
pub(crate) fn word(raw: &str) -> String {
    let plain =
        (1..=32).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain {
        raw.to_owned()
    } else {
        "unrecognized".to_owned()
    }
}

/// A URL from an answer, kept only for display: an http(s) URL that parses, in its normalized
/// form (which cannot hold spaces or control characters), with no secret in it and at most
/// 2,000 characters; anything else is dropped. Never used to decide where a request goes.
pub(crate) fn link(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let text = url.as_str();
    let fits = matches!(url.scheme(), "http" | "https") && text.len() <= 2000;
    (fits && crate::secret::redact(text) == text).then(|| text.to_owned())
}

/// Keeps line breaks, escapes every other control or invisible formatting character as
/// `\u{..}` (ESC, NUL, CR, bidirectional overrides…), and breaks the two shapes the Actions
/// runner reads as commands: a line that starts with `::` (after spaces) and `##[` anywhere.
pub(crate) fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        // The runner trims every Unicode space (.NET's `TrimStart`) before it looks for `::`,
        // and so does `style::indent`: a no-break or ideographic space must not hide one.
        let body = line.trim_start_matches(char::is_whitespace);
        let indent = &line[..line.len() - body.len()];
        escape_chars(indent, &mut out);
        if body.starts_with("::") {
            out.push('\\');
        }
        let mut rest = body;
        while let Some(at) = rest.find("##[") {
            escape_chars(&rest[..at], &mut out);
            out.push_str("#\\#[");
            rest = &rest[at + 3..];
        }
        escape_chars(rest, &mut out);
    }
    out
}

fn escape_chars(text: &str, out: &mut String) {
    for c in text.chars() {
        if c == '\t' {
            out.push(' ');
        } else if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
}

/// Control characters (C0, DEL, C1) and the invisible formatting characters that can make
/// text display differently from what it is (zero-width, bidirectional controls, line and
/// paragraph separators, BOM).
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{AD}'                        // soft hyphen
            | '\u{34F}'                     // combining grapheme joiner
            | '\u{61C}'                     // Arabic letter mark (a bidi control)
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'       // Mongolian selectors and vowel separator
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}') // tag characters
}

/// Server text that must stay on one line (a file name, a path from git): redacted,
/// neutralized, line breaks written as `\n`, at most `max_chars` characters.
pub fn one_line(raw: &str, max_chars: usize) -> String {
    shown(&raw.replace('\n', "\\n"), max_chars)
}

/// At most `max_chars` characters; a cut ends with `…`.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((at, _)) => {
            let keep = text[..at]
                .char_indices()
                .nth(max_chars.saturating_sub(1))
                .map_or(at, |(i, _)| i);
            format!("{}…", &text[..keep])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_cannot_start_a_line() {
        assert_eq!(
            neutralize("bad\n::error title=X::pwned\n  ::add-mask::x"),
            "bad\n\\::error title=X::pwned\n  \\::add-mask::x"
        );
        assert_eq!(neutralize("a ##[error]b"), "a #\\#[error]b");
        assert_eq!(neutralize("a::b"), "a::b");
    }

    #[test]
    fn unicode_spaces_cannot_hide_a_workflow_command() {
        for space in [
            '\u{a0}', '\u{3000}', '\u{2003}', '\u{202f}', '\u{205f}', '\u{1680}',
        ] {
            let shown = neutralize(&format!("ok\n{space}::add-mask::x\n {space} ::warning::y"));
            for line in shown.lines() {
                assert!(!line.trim_start().starts_with("::"), "{line:?}");
            }
            // style::indent trims what neutralize kept: still no command.
            let indented = crate::style::indent(&shown, "    ");
            assert!(!indented.lines().any(|l| l.trim_start().starts_with("::")));
        }
    }

    #[test]
    fn invisible_format_characters_are_escaped() {
        assert_eq!(
            neutralize("a\u{61c}b\u{ad}c\u{180e}d\u{e0041}e"),
            "a\\u{61c}b\\u{ad}c\\u{180e}d\\u{e0041}e"
        );
        assert_eq!(one_line("a\n::b", 20), "a\\n::b");
    }

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(
            neutralize("a\u{1b}[2Jb\0c\rd\u{202e}e"),
            "a\\u{1b}[2Jb\\u{0}c\\u{d}d\\u{202e}e"
        );
        assert_eq!(neutralize("tab\there"), "tab here");
    }

    #[test]
    fn only_plain_words_and_clean_links_are_kept_from_run_details() {
        assert_eq!(word("in_progress"), "in_progress");
        assert_eq!(word("success\n::error::x"), "unrecognized");
        assert_eq!(
            link("https://github.com/o/r/actions/runs/1").as_deref(),
            Some("https://github.com/o/r/actions/runs/1")
        );
        assert_eq!(link("javascript:alert(1)"), None);
        let _ = crate::secret::Secret::new("ghp_linkTOKEN000000000000");
        assert_eq!(
            link("https://github.com/o?t=ghp_linkTOKEN000000000000"),
            None
        );
    }

    #[test]
    fn cuts_on_characters_and_marks_the_cut() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 0), "…");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(64))]
        /// For any secret, any text around it and any cut, no 8 characters of the secret
        /// survive: redaction sees the whole text before anything is cut.
        #[test]
        fn no_fragment_of_a_secret_survives_any_cut(
            secret in "[A-Za-z0-9_]{8,64}",
            before in "[ .,:~-]{0,300}",
            after in "[ .,:~-]{0,300}",
            cut in 0usize..700,
            excerpted in proptest::bool::ANY,
        ) {
            let _ = crate::secret::Secret::new(secret.clone());
            let text = format!("{before}{secret}{after}");
            let shown = if excerpted { excerpt(&text, cut) } else { shown(&text, cut) };
            for window in secret.as_bytes().windows(8) {
                let fragment = std::str::from_utf8(window).unwrap_or_default();
                proptest::prop_assert!(!shown.contains(fragment), "{} in {}", fragment, shown);
            }
        }
    }

    #[test]
    fn redacts_before_it_cuts() {
        let token = "ghp_cutTOKENvalue000000000000000000000042";
        let _ = crate::secret::Secret::new(token);
        for cut in 0..60 {
            let text = format!("{}{token} tail", "x".repeat(cut));
            let shown = shown(&text, 50);
            for window in token.as_bytes().windows(8) {
                let fragment = std::str::from_utf8(window).unwrap();
                assert!(!shown.contains(fragment), "{cut}: {shown}");
            }
        }
    }
}
