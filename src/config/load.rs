//! Reading `dispatch.yaml` into a [`DispatchFile`], reporting every structural problem at once.
//!
//! This is the only place that knows the file is YAML or that serde_yaml parses it; a
//! successor parser replaces this file and `locate.rs`, nothing else.

use super::locate::{self, Locator};
use super::model::{DispatchFile, Settings, Source, Target};
use super::sections::{describe, SectionParser, Shape};
use crate::diagnostic::{Code, Diagnostic, Location};
use crate::files::{FileError, FileKind};
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// Larger files are refused before parsing: a real dispatch.yaml is a few KiB and a
/// 10,000-target one about 2 MiB; the cap bounds the time and memory any input can cost (with
/// the walk's depth and alias limits in `locate.rs`).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Sources, and targets, a file may define: past any real fan-out (GitHub's secondary rate
/// limit allows about 80 dispatches a minute), and it bounds what `validate` renders.
pub const MAX_ENTRIES: usize = 10_000;

/// When yaml-rust2 finds a syntax error in a file with more `[`/`{` than this, serde_yaml is
/// not asked for its opinion: libyaml's time grows with the square of the nesting depth, and
/// only a clean walk proves the depth is small.
const MAX_BRACKETS_AFTER_SYNTAX_ERROR: usize = 2_000;

/// What `--config` names: a regular file of at most [`MAX_CONFIG_BYTES`].
pub const CONFIG_FILE: FileKind = FileKind {
    named_by: "--config",
    cap: MAX_CONFIG_BYTES,
    why_cap: "a dispatch configuration is never that big",
};

/// Reads at most [`MAX_CONFIG_BYTES`] (+1 to notice a larger file) of a regular file; a FIFO or
/// a device is refused without waiting on it.
pub fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    crate::files::read(path, &CONFIG_FILE)
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The result of parsing: the file if its structure is sound, and every problem found.
pub struct Parsed {
    pub file: Option<DispatchFile>,
    pub locator: Locator,
    pub diagnostics: Vec<Diagnostic>,
}

/// Problems about the file as a whole are shown at its start when nothing better is known.
const START: Location = Location { line: 1, column: 1 };

/// Parses the bytes of a dispatch file, reporting every problem it can find in one pass.
pub fn parse(bytes: &[u8]) -> Parsed {
    // Editors on Windows may save a byte order mark; it is not part of the first line's text,
    // so positions stay those the editor shows.
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            let d = Diagnostic::error(Code::Syntax, "", "the file is not valid UTF-8 text")
                .with_help("save the file as UTF-8")
                .at(Some(Location { line, column }));
            return failed(Locator::default(), vec![d]);
        }
    };
    let (locator, root, mut diagnostics) = match root_mapping(text) {
        Ok(found) => found,
        Err(parsed) => return *parsed,
    };

    let default_app =
        matches!(root.get("defaults"), Some(Value::Mapping(d)) if d.contains_key("github_app"));
    let mut parser = SectionParser {
        locator: &locator,
        diagnostics: &mut diagnostics,
        default_app,
    };
    parser.check_keys("", &root, &Shape::of::<DispatchFile>());
    let version = root
        .get("version")
        .and_then(|value| parser.value::<u32>("version", value.clone()));
    let defaults = match root.get("defaults") {
        Some(value) => {
            parser.section::<Settings>("defaults", value.clone(), &Shape::of::<Settings>())
        }
        None => Some(Settings::default()),
    };
    let sources = parser.named_entries::<Source>(&root, "sources");
    let targets = parser.named_entries::<Target>(&root, "targets");
    if let Some(v) = version.filter(|v| *v != 1) {
        parser.push(
            Diagnostic::error(
                Code::UnsupportedVersion,
                "version",
                format!("format version {v} is not supported by this orchestrator"),
            )
            .with_help("use `version: 1`"),
        );
    }

    let file = match (version, defaults, sources, targets) {
        (Some(version), Some(defaults), Some(sources), Some(targets))
            if !diagnostics.iter().any(Diagnostic::is_error) =>
        {
            Some(DispatchFile {
                version,
                defaults,
                sources,
                targets,
            })
        }
        _ => None,
    };
    Parsed {
        file,
        locator,
        diagnostics,
    }
}

/// The YAML document's top-level mapping, with the walk's locator and the problems found so
/// far (duplicate keys); or, when there is no mapping to read, the failed parse.
fn root_mapping(text: &str) -> Result<(Locator, Mapping, Vec<Diagnostic>), Box<Parsed>> {
    // A parser bug must not become a crash: a panic here is reported like a syntax error.
    let Ok(walked) = std::panic::catch_unwind(|| locate::walk(text)) else {
        return Err(Box::new(failed(Locator::default(), vec![parser_failed()])));
    };
    let locator = walked.locator;
    let mut diagnostics = locator.duplicates().to_vec();
    if let Some(refused) = walked.refused {
        diagnostics.push(refused);
        return Err(Box::new(failed(locator, diagnostics)));
    }
    if let Some(syntax) = walked.syntax {
        let brackets = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
        if brackets > MAX_BRACKETS_AFTER_SYNTAX_ERROR {
            diagnostics.push(syntax);
            return Err(Box::new(failed(locator, diagnostics)));
        }
    }

    let root = match std::panic::catch_unwind(|| serde_yaml::from_str::<Value>(text)) {
        Ok(Ok(root)) => root,
        Ok(Err(err)) => {
            // serde_yaml rejects some duplicate keys itself; the walk already said so.
            if diagnostics.is_empty() || !err.to_string().contains("duplicate") {
                let at = err.location().map(|l| Location {
                    line: l.line(),
                    column: l.column(),
                });
                let message = yaml_message(&err.to_string());
                let help = syntax_help(&message, text, at.map(|l| l.line));
                diagnostics.push(
                    Diagnostic::error(Code::Syntax, "", message)
                        .with_help(help)
                        .at(at.or(Some(START))),
                );
            }
            return Err(Box::new(failed(locator, diagnostics)));
        }
        Err(_) => {
            diagnostics.push(parser_failed());
            return Err(Box::new(failed(locator, diagnostics)));
        }
    };
    match root {
        Value::Mapping(map) => Ok((locator, map, diagnostics)),
        Value::Null => {
            let d = Diagnostic::error(Code::Syntax, "", "the file is empty")
                .with_help("a dispatch file needs `version: 1`, `sources:` and `targets:`; see the README's config reference")
                .at(Some(START));
            diagnostics.push(d);
            Err(Box::new(failed(locator, diagnostics)))
        }
        other => {
            let d = Diagnostic::error(
                Code::InvalidValue,
                "",
                format!(
                    "the file must be a mapping with `version`, `sources` and `targets`, not {}",
                    describe(&other)
                ),
            )
            .with_help("start the file with `version: 1`, then `sources:` and `targets:`")
            .at(locator.find("").or(Some(START)));
            diagnostics.push(d);
            Err(Box::new(failed(locator, diagnostics)))
        }
    }
}

fn failed(locator: Locator, diagnostics: Vec<Diagnostic>) -> Parsed {
    Parsed {
        file: None,
        locator,
        diagnostics,
    }
}

fn parser_failed() -> Diagnostic {
    Diagnostic::error(Code::Syntax, "", "the YAML parser failed on this file")
        .with_help("check the file's syntax; please report this with the file attached")
        .at(Some(START))
}

/// serde_yaml puts the position after the problem, and the diagnostic already carries it; the
/// context after it ("while parsing a block mapping at line 3 column 5") stays.
fn yaml_message(message: &str) -> String {
    let message = match message.split_once(" at line ") {
        Some((problem, rest)) => match rest.split_once(", ") {
            Some((_, context)) => format!("{problem}, {context}"),
            None => problem.to_owned(),
        },
        None => message.to_owned(),
    };
    format!("invalid YAML: {message}")
}

/// Where to look, for a YAML syntax error at `line` (1-based) of `text`.
pub fn syntax_help(message: &str, text: &str, line: Option<usize>) -> &'static str {
    let indented_with_tab = line
        .and_then(|n| text.lines().nth(n.saturating_sub(1)))
        .is_some_and(|l| {
            l.chars()
                .take_while(|c| c.is_whitespace())
                .any(|c| c == '\t')
        });
    if indented_with_tab || message.contains("tab") {
        "indent with spaces: YAML does not allow tabs for indentation"
    } else {
        "check the indentation, quotes and brackets on this line and the lines just above it"
    }
}
