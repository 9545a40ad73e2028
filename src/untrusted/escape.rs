//! The one escaping of each output channel, for every text that may hold a server's (or a
//! downstream file's) words. Terminal text is [`super::neutralize`]; JSON is serde's string
//! escaping. The two that need more are here, so that `run`, `check` and `diff` write server
//! text into Markdown and into workflow commands the same way:
//!
//! - Markdown (a table cell of a report or a job summary): [`markdown_text`], [`markdown_code`],
//!   and [`markdown_prose`] for a sentence of ours that backtick-quotes values.
//! - HTML text (a `<summary>` of a job summary): [`html_text`].
//! - GitHub Actions workflow commands (annotations, groups): [`annotation_data`] and
//!   [`annotation_property`].
//!
//! Each redacts first: an escaped secret (`ghp\_…`, `ghp%0A…`) would slip past the output gate.

/// Plain text for a table cell: Markdown punctuation and HTML are escaped, lines joined, and
/// what GitHub would turn into a link or a notification is broken with an invisible word
/// joiner (U+2060): `@name` mentions, and bare `http://`, `https://` and `www.` autolinks.
pub(crate) fn markdown_text(s: &str) -> String {
    const JOINER: char = '\u{2060}';
    let s = &crate::secret::redact(s);
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            '@' => {
                out.push('@');
                out.push(JOINER);
            }
            ':' if rest.starts_with("//") => {
                out.push(':');
                out.push(JOINER);
            }
            'w' | 'W' if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("ww.") => {
                out.push(c);
                out.push(JOINER);
            }
            c if c.is_control() => {}
            // `\\u{202e}`: the backslash escaped, so it shows.
            c if super::is_unsafe(c) => {
                out.push('\\');
                push_escaped(c, &mut out);
            }
            c => out.push(c),
        }
    }
    out
}

/// A sentence of ours for a table cell, which may quote values (a glob, a version requirement,
/// a server's words) in backticks: each backtick-quoted part is a code span (see
/// [`markdown_code`]: inert, whatever it holds), the rest is [`markdown_text`]. An unpaired
/// backtick stays a literal one. Safe for any input: nothing outside a code span is left
/// unescaped.
pub(crate) fn markdown_prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let mut out = String::with_capacity(s.len() + 8);
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if i % 2 == 1 && (paired || !last) && !part.is_empty() {
            out.push_str(&markdown_code(part));
        } else if i % 2 == 1 {
            // An unpaired (or empty) quote: the backtick itself, escaped.
            out.push_str("\\`");
            out.push_str(&markdown_text(part));
        } else {
            out.push_str(&markdown_text(part));
        }
    }
    out
}

/// A code span for a table cell; long enough a fence that no backtick inside can close it.
pub(crate) fn markdown_code(s: &str) -> String {
    let s: String = crate::secret::redact(s)
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .fold(String::new(), |mut out, c| {
            if super::is_unsafe(c) {
                push_escaped(c, &mut out);
            } else {
                out.push(c);
            }
            out
        })
        // GFM splits table rows on `|` before it reads code spans.
        .replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code fence that no line of `body` can close.
pub(crate) fn markdown_fence(body: &str) -> String {
    "`".repeat(longest_run(body, '`').max(2) + 1)
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// Text inside an HTML element (a `<summary>`), where Markdown escapes do not apply: `&`, `<`,
/// `>` and `"` as entities, and `@` too, so a name cannot mention anyone.
pub(crate) fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::secret::redact(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("&#64;"),
            c if c.is_control() => {}
            c if super::is_unsafe(c) => push_escaped(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// An invisible formatting character (a bidirectional override, a zero-width space) shown as
/// `\u{..}`, as [`super::neutralize`] shows it: a name cannot display as another.
fn push_escaped(c: char, out: &mut String) {
    out.push_str(&format!("\\u{{{:x}}}", c as u32));
}

/// The message of a workflow command (`::error …::MESSAGE`), escaped as the runner expects
/// (actions/toolkit `command.ts`): a line break cannot end the command early and start another.
pub(crate) fn annotation_data(s: &str) -> String {
    crate::secret::redact(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property of a workflow command (`title=…`, `file=…`): [`annotation_data`], and `:` and
/// `,`, which would end the property.
pub(crate) fn annotation_property(s: &str) -> String {
    annotation_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_a_table_or_make_a_link() {
        assert_eq!(
            markdown_text("a | b\n![x](http://e/)<img>"),
            "a \\| b \\!\\[x\\](http:\u{2060}//e/)\\<img\\>"
        );
        assert_eq!(markdown_text("plain words, 1.2.3"), "plain words, 1.2.3");
    }

    #[test]
    fn text_cannot_mention_or_autolink() {
        let shown = markdown_text("ping @octocat at https://evil.example or www.evil.example");
        assert!(!shown.contains("@o"), "{shown}");
        assert!(!shown.contains("https://"), "{shown}");
        assert!(!shown.contains("www."), "{shown}");
        assert_eq!(
            shown.replace('\u{2060}', ""),
            "ping @octocat at https://evil.example or www.evil.example"
        );
    }

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(markdown_code("dot-ai"), "`dot-ai`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x"), "`` `x ``");
        assert_eq!(markdown_code("a|b"), "`a\\|b`");
    }

    #[test]
    fn a_fence_is_longer_than_any_backticks_in_the_body() {
        assert_eq!(markdown_fence("{}"), "```");
        assert_eq!(markdown_fence("a ```` b"), "`````");
    }

    #[test]
    fn html_text_cannot_open_a_tag_or_mention() {
        assert_eq!(
            html_text("<b>@team</b> & \"x\""),
            "&lt;b&gt;&#64;team&lt;/b&gt; &amp; &quot;x&quot;"
        );
    }

    #[test]
    fn no_markdown_or_html_keeps_a_right_to_left_override() {
        assert_eq!(markdown_text("a\u{202e}b"), "a\\\\u{202e}b");
        assert_eq!(markdown_code("a\u{202e}b"), "`a\\u{202e}b`");
        assert_eq!(html_text("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn a_workflow_command_message_stays_one_command() {
        assert_eq!(
            annotation_data("a\n::error::x 100%"),
            "a%0A::error::x 100%25"
        );
        assert_eq!(annotation_property("t: a, b"), "t%3A a%2C b");
    }
}
