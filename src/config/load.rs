//! Reading `dispatch.yaml` into a [`DispatchFile`], reporting every structural problem at once.
//!
//! The file is parsed once (`walk.rs`: yaml-rust2's events built into one tree that keeps
//! every node's position); the typed sections are deserialized from that tree (`sections.rs`)
//! and the record of where each key is, made by `locate.rs` while the tree is built, places
//! every problem. This file, `walk.rs` and `node.rs` are the only ones that know the file is
//! YAML (and `crate::yaml` the only one that reads it).

use super::locate::Locator;
use super::model::{DispatchFile, Settings, Source, Target};
use super::node::{describe, Mapping, Node, Value};
use super::sections::{salvage_source, SectionParser, Shape, Unread, MAX_ENTRIES};
use super::walk::{self, EntryCap};
use crate::diagnostic::{Code, Diagnostic, Location};
use crate::files::{FileError, FileKind};
use std::path::Path;

/// Larger files are refused before parsing: [`crate::yaml::DISPATCH_FILE`] says why this
/// cap, with the reader's other limits.
pub(crate) const MAX_CONFIG_BYTES: u64 = crate::yaml::DISPATCH_FILE.max_bytes;

/// The sections whose entries the walk counts as it reads them, so an oversized file is
/// refused at the first entry past the cap, not after it is all built.
const CAPPED: [EntryCap; 2] = [
    EntryCap {
        section: "sources",
        max: MAX_ENTRIES,
    },
    EntryCap {
        section: "targets",
        max: MAX_ENTRIES,
    },
];

/// What `--config` names: a regular file of at most [`MAX_CONFIG_BYTES`].
pub(crate) const CONFIG_FILE: FileKind = FileKind {
    named_by: "--config",
    cap: MAX_CONFIG_BYTES,
    why_cap: "a dispatch configuration is never that big",
};

/// Reads at most [`MAX_CONFIG_BYTES`] (+1 to notice a larger file) of a regular file; a FIFO or
/// a device is refused without waiting on it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    crate::files::read(path, &CONFIG_FILE)
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The result of parsing: the file as far as it could be read, and every problem found. With
/// a problem, `file` holds what was left once the unreadable values were set aside (`unread`
/// says which), for compiling to find the rest of the file's problems; it is never used for
/// more.
pub struct Parsed {
    pub file: Option<DispatchFile>,
    pub locator: Locator,
    pub diagnostics: Vec<Diagnostic>,
    pub(crate) unread: Unread,
}

/// Problems about the file as a whole are shown at its start when nothing better is known.
const START: Location = Location { line: 1, column: 1 };

/// Parses the bytes of a dispatch file, reporting every problem it can find in one pass.
pub(crate) fn parse(bytes: &[u8]) -> Parsed {
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
    let mut walked = walk::walk(text, &CAPPED);
    let locator = std::mem::take(&mut walked.locator);
    let mut diagnostics = walked.problems;
    // A repeated key or a bad tag leaves the tree whole (the first value kept, null for the
    // tagged one); a syntax error or a limit does not.
    if let Some(stop) = walked.refused.or(walked.syntax) {
        diagnostics.push(stop);
        return failed(locator, diagnostics);
    }
    let mut dropped = Vec::new();
    let file = match root_mapping(walked.root.as_mut(), &locator) {
        Ok(root) => Some(read_sections(
            root,
            &locator,
            &mut diagnostics,
            &mut dropped,
        )),
        Err(problem) => {
            diagnostics.push(problem);
            None
        }
    };
    let unread = Unread::new(&diagnostics, dropped);
    Parsed {
        file,
        locator,
        diagnostics,
        unread,
    }
}

/// Deserializes the sections of the top-level mapping, each on its own; what cannot be read is
/// left out (and said), and named in `dropped` when a whole section or entry is.
fn read_sections(
    root: &mut Mapping,
    locator: &Locator,
    diagnostics: &mut Vec<Diagnostic>,
    dropped: &mut Vec<String>,
) -> DispatchFile {
    let default_app = root
        .get("defaults")
        .and_then(Node::as_map)
        .is_some_and(|d| d.contains_key("github_app"));
    let mut parser = SectionParser {
        locator,
        diagnostics,
        default_app,
        dropped: Vec::new(),
    };
    parser.check_keys("", root, &Shape::of::<DispatchFile>());
    let version = root
        .get("version")
        .and_then(|value| parser.value::<u32>("version", value));
    let defaults = match root.get("defaults") {
        Some(value) => parser.section::<Settings>("defaults", value, &Shape::of::<Settings>()),
        None => Some(Settings::default()),
    };
    if defaults.is_none() {
        parser.dropped.push("defaults".to_owned());
    }
    let sources = parser.named_entries::<Source>(root, "sources", salvage_source);
    let targets = parser.named_entries::<Target>(root, "targets", |_| None);
    let env = match root.get("env") {
        Some(value) => parser.value::<Vec<String>>("env", value),
        None => Some(Vec::new()),
    };
    if env.is_none() {
        parser.dropped.push("env".to_owned());
    }
    let registries = match root.get("registries") {
        Some(value) => parser.section::<super::published::Registries>(
            "registries",
            value,
            &Shape::of::<super::published::Registries>(),
        ),
        None => Some(super::published::Registries::default()),
    };
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
    dropped.append(&mut parser.dropped);
    DispatchFile {
        version: version.unwrap_or(1),
        defaults: defaults.unwrap_or_default(),
        sources,
        targets,
        env: env.unwrap_or_default(),
        registries: registries.unwrap_or_default(),
    }
}

/// The file's top-level mapping, which [`read_sections`] takes apart, or why there is none.
fn root_mapping<'a>(
    root: Option<&'a mut Node>,
    locator: &Locator,
) -> Result<&'a mut Mapping, Diagnostic> {
    match root {
        Some(Node {
            value: Value::Map(map),
            ..
        }) => Ok(map),
        None
        | Some(Node {
            value: Value::Null, ..
        }) => Err(Diagnostic::error(Code::Syntax, "", "the file is empty")
            .with_help("a dispatch file needs `version: 1`, `sources:` and `targets:`; see the README's config reference")
            .at(Some(START))),
        Some(other) => Err(Diagnostic::error(
            Code::InvalidValue,
            "",
            format!(
                "the file must be a mapping with `version`, `sources` and `targets`, not {}",
                describe(other)
            ),
        )
        .with_help("start the file with `version: 1`, then `sources:` and `targets:`")
        .at(locator.find("").or(Some(START)))),
    }
}

fn failed(locator: Locator, diagnostics: Vec<Diagnostic>) -> Parsed {
    Parsed {
        file: None,
        locator,
        diagnostics,
        unread: Unread::default(),
    }
}
