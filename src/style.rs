//! Colour for the words people scan for in the text report (delivered, failed, skipped), and
//! only when it helps: `--color auto` colours a terminal and never a pipe or a file, and
//! honours `NO_COLOR` (<https://no-color.org>); `always` and `never` decide outright.

use clap::ValueEnum;
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// `1 target`, `2 targets`: a count with its noun in the right number.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `text` with every further line (a server's message may have several, and blank ones)
/// indented by `under`, blank lines dropped.
pub(crate) fn indent(text: &str, under: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut shown = lines.next().unwrap_or("").to_owned();
    for line in lines {
        shown.push('\n');
        shown.push_str(under);
        shown.push_str(line.trim_start());
    }
    shown
}

/// The feeling a word carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Quiet,
}

/// Paints words, or leaves them plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    pub const PLAIN: Palette = Palette { enabled: false };

    /// For stdout, as the process finds it.
    pub fn for_stdout(choice: ColorChoice) -> Palette {
        Palette::decide(choice, std::io::stdout().is_terminal(), |name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// The decision, without the process: `tty` is whether the stream is a terminal.
    pub fn decide(choice: ColorChoice, tty: bool, env: impl Fn(&str) -> Option<String>) -> Palette {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
                let dumb = env("TERM").as_deref() == Some("dumb");
                tty && !no_color && !dumb
            }
        };
        Palette { enabled }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `word` in the tone's colour (bold green, bold red, yellow, dim).
    pub fn paint(&self, word: &str, tone: Tone) -> String {
        if !self.enabled {
            return word.to_owned();
        }
        let code = match tone {
            Tone::Good => "1;32",
            Tone::Bad => "1;31",
            Tone::Warn => "33",
            Tone::Quiet => "2",
        };
        format!("\x1b[{code}m{word}\x1b[0m")
    }
}

/// A stand-in for the process environment, for tests of what reads one (colour, progress).
#[cfg(test)]
pub(crate) fn env(
    vars: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        let auto = ColorChoice::Auto;
        assert!(Palette::decide(auto, true, env(&[])).is_enabled());
        assert!(!Palette::decide(auto, false, env(&[])).is_enabled());
        assert!(!Palette::decide(auto, true, env(&[("NO_COLOR", "1")])).is_enabled());
        assert!(Palette::decide(auto, true, env(&[("NO_COLOR", "")])).is_enabled());
        assert!(!Palette::decide(auto, true, env(&[("TERM", "dumb")])).is_enabled());
    }

    #[test]
    fn always_and_never_decide_outright() {
        let no_color = env(&[("NO_COLOR", "1")]);
        assert!(Palette::decide(ColorChoice::Always, false, &no_color).is_enabled());
        assert!(!Palette::decide(ColorChoice::Never, true, env(&[])).is_enabled());
    }

    #[test]
    fn plain_words_stay_plain() {
        assert_eq!(Palette::PLAIN.paint("failed", Tone::Bad), "failed");
        let on = Palette { enabled: true };
        assert_eq!(on.paint("failed", Tone::Bad), "\x1b[1;31mfailed\x1b[0m");
    }
}
