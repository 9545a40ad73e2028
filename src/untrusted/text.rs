//! [`Text`]: what a server sent, held so that it can reach an output only through that output's
//! escaping; and [`Message`]: a sentence of ours with such text in it.
//!
//! Neither has `Display`, `Deref<Target = str>` nor `as_str`: `format!("{}", text)` does not
//! compile, so server text cannot be pasted raw into a report, a table cell or a workflow
//! command. Each channel has its own method, and each calls the one escaping of that channel
//! in [`super::escape`] (or [`super::neutralize`] for a terminal): `run`, `check` and `diff`
//! escape the same way.
//!
//! ```
//! // Through a channel: escaped for that channel.
//! let branch = orchestrator::untrusted::Text::new("<img src=x onerror=alert(1)>", 200);
//! assert_eq!(branch.markdown(), "\\<img src=x onerror=alert(1)\\>");
//! ```
//!
//! ```compile_fail
//! let branch = orchestrator::untrusted::Text::new("<img src=x onerror=alert(1)>", 200);
//! let raw = format!("{}", branch); // no Display: server text has no raw form
//! ```
//!
//! ```compile_fail
//! let branch = orchestrator::untrusted::Text::new("main", 200);
//! let raw: &str = &branch; // no Deref to str either
//! ```
//!
//! ```compile_fail
//! use orchestrator::untrusted::{Message, Text};
//! let reason = Message::from("listens on ").value(&Text::new("main", 200));
//! let raw = format!("{}", reason); // a sentence holding server text: no raw form either
//! ```

use super::escape;
use serde::{Serialize, Serializer};

/// Text a server sent (a file name, a branch name, an event type read from a workflow file, a
/// title, a message). Built only from what was read: every registered secret redacted from
/// the whole of it, then neutralized for a terminal and the Actions runner (control and
/// bidirectional characters escaped as `\u{..}`, workflow-command shapes broken), kept to one
/// line (a line break shown as `\u{a}`, so a name cannot forge a line of a report), then cut.
/// Written only through a channel: [`Text::terminal`], [`Text::markdown`],
/// [`Text::markdown_code`], [`Text::annotation`], or JSON (`Serialize`, the neutralized form).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(String);

impl Text {
    /// What a server sent, as at most `max_chars` characters (an ellipsis marks a cut).
    pub fn new(raw: &str, max_chars: usize) -> Text {
        let redacted = crate::secret::redact(raw);
        let one_line = super::neutralize(&redacted).replace('\n', "\\u{a}");
        Text(super::truncate(&one_line, max_chars))
    }

    /// For a terminal or a log: the neutralized form, which no terminal or runner acts on.
    pub fn terminal(&self) -> &str {
        &self.0
    }

    /// For a Markdown table cell, as plain text: no HTML, link, image, mention or table break.
    pub fn markdown(&self) -> String {
        escape::markdown_text(&self.0)
    }

    /// For a Markdown table cell, as a code span: shown verbatim, inert whatever it holds.
    pub fn markdown_code(&self) -> String {
        escape::markdown_code(&self.0)
    }

    /// For the message of a workflow command (`::error::…`).
    pub fn annotation(&self) -> String {
        escape::annotation_data(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A sentence of ours with server text in it: our words (which may backtick-quote our own
/// values, a target or a token variable), server values (quoted: `` `main` `` in a terminal,
/// a code span in Markdown) and server words (a file name, GitHub's message: plain text).
/// Each channel writes our words its way and escapes only what came from a server the way
/// that channel needs. A `String` becomes a `Message` of our words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Ours(String),
    /// A value: quoted in backticks in a terminal, a code span in Markdown.
    Value(Text),
    /// Words: plain text everywhere.
    Words(Text),
}

impl Message {
    pub fn new() -> Message {
        Message::default()
    }

    /// Our words appended.
    pub fn ours(mut self, words: impl Into<String>) -> Message {
        self.push_ours(words);
        self
    }

    /// A server's value appended, quoted.
    pub fn value(mut self, value: &Text) -> Message {
        self.parts.push(Part::Value(value.clone()));
        self
    }

    /// A server's words appended, unquoted.
    pub fn words(mut self, words: &Text) -> Message {
        self.parts.push(Part::Words(words.clone()));
        self
    }

    /// Server words, each after the first preceded by `separator`.
    pub fn list<'t>(
        mut self,
        items: impl IntoIterator<Item = &'t Text>,
        separator: &str,
    ) -> Message {
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 {
                self.push_ours(separator);
            }
            self.parts.push(Part::Words(item.clone()));
        }
        self
    }

    /// Another message appended.
    pub fn then(mut self, more: Message) -> Message {
        self.parts.extend(more.parts);
        self
    }

    pub fn push_ours(&mut self, words: impl Into<String>) {
        let words = words.into();
        if !words.is_empty() {
            self.parts.push(Part::Ours(words));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|part| match part {
            Part::Ours(words) => words.is_empty(),
            Part::Value(text) | Part::Words(text) => text.is_empty(),
        })
    }

    /// For a terminal or a log.
    pub fn terminal(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Ours(words) => out.push_str(words),
                Part::Value(value) => {
                    out.push('`');
                    out.push_str(value.terminal());
                    out.push('`');
                }
                Part::Words(words) => out.push_str(words.terminal()),
            }
        }
        out
    }

    /// For a Markdown table cell: our words as prose (their backtick quotes as code spans),
    /// server values as code spans, server words as plain text.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Ours(words) => out.push_str(&escape::markdown_prose(words)),
                Part::Value(value) => out.push_str(&value.markdown_code()),
                Part::Words(words) => out.push_str(&words.markdown()),
            }
        }
        out
    }

    /// For the message of a workflow command.
    pub fn annotation(&self) -> String {
        escape::annotation_data(&self.terminal())
    }
}

impl From<Text> for Message {
    fn from(words: Text) -> Message {
        Message::new().words(&words)
    }
}

/// Our words only: a server's text goes in through [`Message::value`] or [`Message::words`].
impl From<String> for Message {
    fn from(words: String) -> Message {
        Message::new().ours(words)
    }
}

impl From<&str> for Message {
    fn from(words: &str) -> Message {
        Message::new().ours(words)
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.terminal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_neutralized_when_it_is_read() {
        let name = Text::new("evil\u{202e}lmy.yml\n::error::x", 200);
        assert_eq!(name.terminal(), "evil\\u{202e}lmy.yml\\u{a}\\::error::x");
        assert_eq!(
            name.annotation(),
            "evil\\u{202e}lmy.yml\\u{a}\\::error::x",
            "one command, nothing the runner reads"
        );
        assert_eq!(
            serde_json::to_string(&name).unwrap(),
            r#""evil\\u{202e}lmy.yml\\u{a}\\::error::x""#
        );
    }

    #[test]
    fn each_channel_escapes_only_what_a_server_sent() {
        let branch = Text::new("<img src=x onerror=alert(1)>", 200);
        let file = Text::new("[x](https://evil) @org/team `t`.yml", 200);
        let message = Message::from("`site` listens on ")
            .value(&branch)
            .ours(" in ")
            .words(&file);
        assert_eq!(
            message.terminal(),
            "`site` listens on `<img src=x onerror=alert(1)>` in [x](https://evil) @org/team `t`.yml"
        );
        assert_eq!(
            message.markdown(),
            "`site` listens on `<img src=x onerror=alert(1)>` in \\[x\\](https:\u{2060}//evil) @\u{2060}org/team \\`t\\`.yml"
        );
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            serde_json::Value::String(message.terminal())
        );
    }

    #[test]
    fn a_list_of_server_words_is_separated_by_ours() {
        let files = [Text::new("a.yml", 50), Text::new("b.yml", 50)];
        let message = Message::new().list(&files, ", ").ours(" listen");
        assert_eq!(message.terminal(), "a.yml, b.yml listen");
        assert!(Message::new().ours("").is_empty());
    }

    /// The tags GitHub-flavoured Markdown makes of a one-row table whose second cell is `cell`,
    /// and its number of cells.
    fn tags_of_a_row(cell: &str) -> (Vec<String>, usize) {
        let mut options = comrak::Options::default();
        options.extension.table = true;
        options.extension.autolink = true;
        options.extension.strikethrough = true;
        options.render.r#unsafe = true;
        let html =
            comrak::markdown_to_html(&format!("| a | b |\n|---|---|\n| x | {cell} |\n"), &options);
        let tags = html
            .split('<')
            .skip(1)
            .map(|t| {
                t.split([' ', '>', '/'])
                    .find(|n| !n.is_empty())
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        (tags, html.matches("<td").count())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]
        /// Whatever a server sends, its Markdown is one cell of text and code: no link, image,
        /// HTML, mention, strikethrough or extra cell.
        #[test]
        fn no_server_text_becomes_markup_in_a_cell(
            raw in "[<>\\[\\]()!@`|*_~#&:/wW. a-z0-9\\\\\n\u{202e}=\"'-]{0,48}",
        ) {
            let text = Text::new(&raw, 200);
            let message = Message::from("`ours` on ").value(&text).ours(" and ").words(&text);
            let markdown = message.markdown();
            let (tags, cells) = tags_of_a_row(&markdown);
            let allowed = ["table", "thead", "tbody", "tr", "th", "td", "code"];
            proptest::prop_assert!(
                tags.iter().all(|t| allowed.contains(&t.as_str())),
                "{:?} from {:?}: {}", tags, raw, markdown
            );
            proptest::prop_assert_eq!(cells, 2, "{}", markdown);
            // Outside a code span (where GitHub links no mention), `@` is never before a name.
            let words = text.markdown();
            let mention = words
                .char_indices()
                .any(|(i, c)| c == '@' && words[i + 1..].starts_with(|n: char| n.is_ascii_alphanumeric()));
            proptest::prop_assert!(!mention, "{}", words);
            proptest::prop_assert!(!markdown.contains('\u{202e}'), "{}", markdown);
        }
    }
}
