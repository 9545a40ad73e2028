//! Snapshot tests (insta), as uv's `uv_snapshot!` and nextest's tests do: the expected text
//! lives in a reviewed `.snap` file under `tests/it/snapshots/`, and a behaviour change shows
//! up as a diff of that file. What changes from run to run is replaced before the comparison
//! ([`filters`]): timings, loopback ports (and the fingerprints that cover them), temporary
//! paths and the crate's version.
//!
//! `snapshot!("name", text)` compares `text` with `tests/it/snapshots/name.snap`. Snapshot names
//! are global (no module prefix), so renaming a test file keeps its snapshots. CONTRIBUTING.md
//! says how to review and accept a changed snapshot.

/// `(regex, replacement)` pairs, applied in order to every snapshot.
pub fn filters() -> Vec<(String, String)> {
    let version = regex_escape(env!("CARGO_PKG_VERSION"));
    [
        // tempfile's names (`.tmpAbC123`), whatever directory holds them.
        (r#"[^\s'"`(]*[/\\]\.tmp[0-9A-Za-z]{6}"#, "[TEMP]"),
        (r"127\.0\.0\.([12]):[0-9]+", "127.0.0.$1:[PORT]"),
        // `(204, 3 ms)`, `in 0.1 s`, `"duration_ms": 12`: how long something took.
        (r"\b[0-9]+ ms\b", "[N] ms"),
        (r"\b[0-9]+\.[0-9]+ s\b", "[N] s"),
        (r#""duration_ms": [0-9]+"#, r#""duration_ms": [N]"#),
        // A request's fingerprint covers its URL, so the port.
        (
            r#""fingerprint": "[0-9a-f]{64}""#,
            r#""fingerprint": "[FINGERPRINT]""#,
        ),
    ]
    .into_iter()
    .map(|(regex, replacement)| (regex.to_owned(), replacement.to_owned()))
    .chain([(
        format!(r"(orchestrator[ /]v?){version}\b"),
        "$1[VERSION]".to_owned(),
    )])
    .collect()
}

/// `text` with regex metacharacters escaped (a version's dots).
fn regex_escape(text: &str) -> String {
    text.replace('.', r"\.")
}

/// The settings every snapshot is taken with: [`filters`], no module prefix in the file name,
/// no expression in its header.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (regex, replacement) in filters() {
        settings.add_filter(&regex, replacement);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// Compares `$text` with the snapshot `tests/it/snapshots/$name.snap`, after [`filters`].
macro_rules! snapshot {
    ($name:expr, $text:expr $(,)?) => {
        $crate::support::snapshot::settings().bind(|| insta::assert_snapshot!($name, $text))
    };
}

pub(crate) use snapshot;
