//! Secrets, and the one redaction gate everything that leaves the process passes through.
//!
//! Every [`Secret`] registers its value when it is made (a token read from the environment, an
//! App installation token minted at run time, a JWT, a secret webhook URL and its parts, a
//! private key's lines). Every output channel (stdout, stderr, logs, the journal, report files,
//! GitHub Actions summaries, outputs and annotations) writes through [`Redacting`] or calls
//! [`redact`], which replaces every registered value with `***`. A secret is therefore hidden
//! wherever it turns up, whoever wrote the text: a server echoing a request, a library's error,
//! or our own code by mistake.
//!
//! Redaction works on whole lines and on whole texts, never on pieces: a text is redacted
//! before it is cut to size, so a secret straddling the cut cannot survive in part.

use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, PoisonError, RwLock};

/// What replaces a secret.
pub const MASK: &str = "***";

/// Values shorter than this are not registered: masking every `v1` or `api` in every message
/// would hide more than it protects, and no credential is that short.
const MIN_SECRET_CHARS: usize = 4;
/// Values shorter than this (test placeholders, ordinary words; real tokens are 40 or more
/// characters) are masked only where they stand as a whole word, so a token `tok` does not
/// turn "token" into "***en".
const WHOLE_WORD_BELOW: usize = 8;

/// A credential. `Debug` and `Display` print `***`; only [`Secret::expose`] gives the value,
/// for the one place that needs it (the `Authorization` header, a request URL, a signature).
/// A clone shares the value (every target that reads the same token variable holds one).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Holds `value` and registers it (and each of its lines) for redaction.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        if value.contains('\n') {
            value.lines().map(str::trim).for_each(register);
        }
        Secret(value.into())
    }

    /// A secret URL (a build hook's): the whole URL, and its path, query and every path
    /// segment and query value that is not a plain word (`build_hooks`, `services`), so a
    /// server that echoes only the path (`Cannot POST /build_hooks/5c23…`) or an id shows
    /// nothing of it. The scheme and host are not secret: reports name them.
    pub fn url(value: impl Into<String>) -> Secret {
        let secret = Secret::new(value);
        if let Ok(url) = url::Url::parse(&secret.0) {
            register(url.path());
            if let Some(query) = url.query() {
                register(query);
            }
            let segments = url.path_segments().into_iter().flatten();
            let values = url.query_pairs().map(|(_, v)| v.into_owned());
            for part in segments.map(str::to_owned).chain(values) {
                if !is_plain_word(&part) {
                    register(&part);
                }
            }
        }
        secret
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A path segment that names a kind of thing rather than identifying one: lowercase letters,
/// `_` and `-`, at most 16 characters.
fn is_plain_word(part: &str) -> bool {
    part.len() <= 16
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// The registered secrets and a matcher built from them (rebuilt, when one was added, by the
/// next redaction: registering many is cheap).
struct Registry {
    values: BTreeSet<String>,
    matcher: Option<Arc<AhoCorasick>>,
    stale: bool,
    longest: usize,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    values: BTreeSet::new(),
    matcher: None,
    stale: false,
    longest: 0,
});

/// Adds `value` to what every output hides. Idempotent; values too short to be credentials
/// are ignored.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    if REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .values
        .contains(value)
    {
        return;
    }
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if registry.values.insert(value.to_owned()) {
        registry.longest = registry.longest.max(value.len());
        registry.stale = true;
    }
}

/// The length in bytes of the longest registered secret: how far past a cut a reader must look
/// so that redacting before cutting sees every secret whole.
pub fn longest() -> usize {
    REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .longest
}

fn matcher() -> Option<Arc<AhoCorasick>> {
    {
        let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
        if !registry.stale {
            return registry.matcher.clone();
        }
    }
    let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if registry.stale {
        // Leftmost-longest: a whole URL wins over its path, a path over its segments.
        registry.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&registry.values)
            .ok()
            .map(Arc::new);
        registry.stale = false;
    }
    registry.matcher.clone()
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    match matcher() {
        Some(matcher) if matcher.is_match(text) => {
            String::from_utf8(redact_with(&matcher, text.as_bytes()))
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
        _ => text.to_owned(),
    }
}

/// Writes `bytes` to `out` with every registered secret replaced (for output that may not be
/// UTF-8); as they are, without a copy, when none is in them.
fn write_redacted(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    match matcher() {
        Some(matcher) if matcher.is_match(bytes) => out.write_all(&redact_with(&matcher, bytes)),
        _ => out.write_all(bytes),
    }
}

/// Every registered secret in `bytes` replaced, overlapping ones merged into one mask. The
/// search starts again one byte after every match, not after its end: a short value that is
/// not masked here (part of a longer word) must not hide a token that starts inside it, and
/// a token that starts inside a masked one must not leave its tail visible.
fn redact_with(matcher: &AhoCorasick, bytes: &[u8]) -> Vec<u8> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied = 0;
    let mut span: Option<(usize, usize)> = None;
    let mut from = 0;
    while let Some(found) = matcher.find(aho_corasick::Input::new(bytes).range(from..)) {
        let (start, end) = (found.start(), found.end());
        from = start.saturating_add(1);
        let short = end - start < WHOLE_WORD_BELOW;
        let whole_word = (start == 0 || !is_word(bytes[start - 1]))
            && bytes.get(end).is_none_or(|&b| !is_word(b));
        if short && !whole_word {
            continue;
        }
        span = match span {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            other => {
                if let Some((s, e)) = other {
                    out.extend_from_slice(&bytes[copied..s]);
                    out.extend_from_slice(MASK.as_bytes());
                    copied = e;
                }
                Some((start, end))
            }
        };
        if from >= bytes.len() {
            break;
        }
    }
    if let Some((s, e)) = span {
        out.extend_from_slice(&bytes[copied..s]);
        out.extend_from_slice(MASK.as_bytes());
        copied = e;
    }
    out.extend_from_slice(&bytes[copied..]);
    out
}

/// A writer that redacts whole lines: bytes are held until a newline (or a flush) and written
/// redacted, so a secret split across several `write` calls is still seen whole. Secrets never
/// contain a newline (each line of a multi-line secret is registered on its own).
pub struct Redacting<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Redacting<W> {
    pub fn new(inner: W) -> Redacting<W> {
        Redacting {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(last) = buf.iter().rposition(|&b| b == b'\n') else {
            self.pending.extend_from_slice(buf);
            return Ok(buf.len());
        };
        let mut lines = &buf[..=last];
        if !self.pending.is_empty() {
            // The held line ends at the first new line: it is redacted whole, the lines after
            // it straight from `buf`, as if they had been written in two pieces.
            let first = lines.iter().position(|&b| b == b'\n').unwrap_or(last);
            self.pending.extend_from_slice(&lines[..=first]);
            let written = write_redacted(&mut self.inner, &self.pending);
            self.pending.clear();
            written?;
            lines = &lines[first + 1..];
        }
        if !lines.is_empty() {
            write_redacted(&mut self.inner, lines)?;
        }
        self.pending.extend_from_slice(&buf[last + 1..]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let written = write_redacted(&mut self.inner, &self.pending);
            self.pending.clear();
            written?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// GitHub's token formats (classic `ghp_`, fine-grained `github_pat_`, OAuth `gho_`, app
/// installation `ghs_`, user-to-server `ghu_`, refresh `ghr_`) and the legacy classic token
/// (exactly 40 hex digits, as issued before 2021 and still accepted), for spotting a token
/// written where a variable name or a setting belongs.
pub fn looks_like_token(text: &str) -> bool {
    const PREFIXES: &[&str] = &["ghp_", "github_pat_", "gho_", "ghs_", "ghu_", "ghr_"];
    let prefixed = PREFIXES.iter().any(|p| text.starts_with(p)) && text.len() >= 20;
    let legacy = text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit());
    prefixed || legacy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("ghp_verysecret");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }

    #[test]
    fn redacts_echoes_of_any_secret_ever_made() {
        let _ = Secret::new("tok_0123456789");
        assert_eq!(
            redact("Bearer tok_0123456789 and tok_0123456789"),
            "Bearer *** and ***"
        );
    }

    #[test]
    fn a_secret_url_hides_its_path_and_ids_but_not_its_host() {
        let _ = Secret::url(
            "https://api.netlify.com/build_hooks/5c23354f454e1350f8543e78?x=1&k=sEcReTvalue9",
        );
        assert_eq!(
            redact("Cannot POST /build_hooks/5c23354f454e1350f8543e78"),
            "Cannot POST ***"
        );
        assert_eq!(redact("id 5c23354f454e1350f8543e78."), "id ***.");
        assert_eq!(redact("k=sEcReTvalue9"), "k=***");
        assert_eq!(
            redact("POST to api.netlify.com failed (build_hooks)"),
            "POST to api.netlify.com failed (build_hooks)"
        );
    }

    #[test]
    fn a_short_value_that_is_not_masked_does_not_hide_a_token_it_overlaps() {
        let token = "ghp_overlapTOKEN0123456789abcdefghijklmnop";
        let _ = Secret::new(token);
        let _ = Secret::new("Zghp"); // a server-chosen value that overlaps the token's start
        let shown = redact(&format!("echo Z{token} end"));
        assert_eq!(shown, "echo Z*** end");
        // A secret that starts inside another is merged into one mask, no tail left.
        let _ = Secret::new("overlapTOKEN0123456789abcdefghijklmnopTAIL99");
        let shown = redact(&format!("{token}TAIL99 x"));
        assert_eq!(shown, "*** x");
    }

    #[test]
    fn a_multi_line_secret_is_hidden_line_by_line() {
        let _ = Secret::new("-----BEGIN KEY-----\nMIIEabcdefghijklmnop\n-----END KEY-----\n");
        assert_eq!(redact("key: MIIEabcdefghijklmnop"), "key: ***");
    }

    #[test]
    fn the_writer_sees_a_secret_split_across_writes() {
        let _ = Secret::new("split_secret_value_42");
        let mut out = Vec::new();
        {
            let mut w = Redacting::new(&mut out);
            w.write_all(b"a split_sec").unwrap();
            w.write_all(b"ret_value_42 b\nnext split_secret_").unwrap();
            w.write_all(b"value_42").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "a *** b\nnext ***");
    }

    #[test]
    fn the_writer_sees_secrets_in_a_held_line_and_in_the_lines_after_it() {
        let _ = Secret::new("held_secret_value_43");
        let mut out = Vec::new();
        {
            let mut w = Redacting::new(&mut out);
            w.write_all(b"x held_se").unwrap();
            w.write_all(b"cret_value_43\nheld_secret_value_43 y\nz held_")
                .unwrap();
            w.write_all(b"secret_value_43\n").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "x ***\n*** y\nz ***\n");
    }

    #[test]
    fn short_values_are_not_registered() {
        let _ = Secret::new("abc");
        assert_eq!(redact("abc abcd"), "abc abcd");
    }

    #[test]
    fn a_short_value_is_masked_only_as_a_whole_word() {
        let _ = Secret::new("tkn1");
        assert_eq!(
            redact("the tkn1 token; tkn12 and xtkn1 stay"),
            "the *** token; tkn12 and xtkn1 stay"
        );
    }

    #[test]
    fn spots_github_token_formats() {
        assert!(looks_like_token("ghp_0123456789abcdefghijklmnopqrstuvwxyz"));
        assert!(looks_like_token(
            "github_pat_11ABCDEFG0123456789_abcdefghij"
        ));
        assert!(!looks_like_token("WEBSITE_DISPATCH_TOKEN"));
    }

    #[test]
    fn spots_a_legacy_classic_token_of_40_hex_digits() {
        assert!(looks_like_token("0123456789abcdef0123456789ABCDEF01234567"));
        assert!(looks_like_token("deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"));
        assert!(!looks_like_token("deadbeefdeadbeefdeadbeefdeadbeefdeadbee"));
        assert!(!looks_like_token(
            "DEADBEEF_DEADBEEF_DEADBEEF_DEADBEEF_DEAD"
        ));
    }
}
