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

    /// A secret URL (a build hook's). What is secret in it is registered on its own, so a
    /// server that echoes only a piece (`Cannot POST /build_hooks/5c23…`, a token) shows
    /// nothing of it: the whole URL, its user and password, its query, every query value and
    /// its fragment, the path segments that are credentials ([`is_credential_segment`]) and,
    /// when there is one, the whole path. The scheme, the host and the ordinary words of the
    /// path (`job`, `MyProject`, `build`, `services`) are not: reports name them, and a target,
    /// repository or event type named after the project must not print as `***`.
    pub fn url(value: impl Into<String>) -> Secret {
        let secret = Secret::new(value);
        url_secret_parts(&secret.0)
            .iter()
            .for_each(|part| register(part));
        secret
    }

    /// A token anyone may ask for (an OCI registry's anonymous pull token), held like a secret
    /// (`Debug` prints `***`) but not registered: the server that chose it would otherwise
    /// choose a word every output hides (an image's name, say), and grow what every output is
    /// searched for with each token it hands out.
    pub(crate) fn anonymous(value: impl Into<String>) -> Secret {
        Secret(value.into().into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The pieces of the secret URL `value` that are secret on their own, each as written and
/// percent-decoded (a server may echo either). Empty for what does not parse as a URL (the
/// whole value is registered anyway).
fn url_secret_parts(value: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(value) else {
        return Vec::new();
    };
    // As parsed too: what is sent is the normalized URL (`a b` sent as `a%20b`, host lowercased).
    let mut parts = vec![url.as_str().to_owned(), url.username().to_owned()];
    parts.extend(url.password().map(str::to_owned));
    if let Some(query) = url.query() {
        parts.push(query.to_owned());
        // A value, or an item without `=` (`?s3cr3t`): never the names (`token`).
        let values = query
            .split('&')
            .map(|item| item.split_once('=').map_or(item, |kv| kv.1));
        parts.extend(values.map(str::to_owned));
    }
    parts.extend(url.fragment().map(str::to_owned));
    let host = url.host_str().unwrap_or_default();
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let credentials: Vec<String> = (0..segments.len())
        .filter(|&at| is_credential_segment(host, &segments, at))
        .map(|at| segments[at].to_owned())
        .collect();
    if !credentials.is_empty() {
        parts.push(url.path().to_owned());
    }
    parts.extend(credentials);
    let decoded: Vec<String> = parts
        .iter()
        .flat_map(|part| {
            [
                percent_decoded(part),
                percent_decoded(&part.replace('+', " ")),
            ]
        })
        .collect();
    parts.extend(decoded);
    parts.sort();
    parts.dedup();
    parts.retain(|part| !part.is_empty());
    parts
}

/// Hook services whose credential is the path segments right after a marker segment,
/// whatever they look like (a Vercel key need not hold a digit, a Zapier key is six or seven
/// lowercase characters, Slack's team and bot ids are short): host (or a subdomain of it),
/// marker, how many segments. Counted, so a suffix the service accepts after its key
/// (Discord's `/…/github`) stays an ordinary word.
const HOOK_SHAPES: &[(&str, &str, usize)] = &[
    ("api.netlify.com", "build_hooks", 1),
    ("api.vercel.com", "deploy", 2),
    ("hooks.slack.com", "services", 3),
    ("discord.com", "webhooks", 2),
    ("discordapp.com", "webhooks", 2),
    ("hooks.zapier.com", "catch", 2),
    ("maker.ifttt.com", "key", 1),
];

/// Segments that, on any host, announce that the next one is a key (IFTTT's `/with/key/…`).
/// Only words that name one credential: `auth` or `keys` are often followed by ordinary words.
const KEY_MARKERS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "apikey",
    "api_key",
    "api-key",
    "sig",
    "signature",
];

/// Whether path segment `at` of a secret URL on `host` is a credential: it follows the
/// marker of a known hook service on its host, or a key marker, or it looks like one where
/// it stands ([`looks_like_credential`]).
fn is_credential_segment(host: &str, segments: &[&str], at: usize) -> bool {
    let host = host.to_ascii_lowercase();
    let on = |known: &str| host == known || host.ends_with(&format!(".{known}"));
    let before = &segments[..at];
    let after_marker = HOOK_SHAPES.iter().any(|(known, marker, count)| {
        on(known) && (1..=*count).any(|back| at >= back && segments[at - back] == *marker)
    });
    let after_key = before
        .last()
        .is_some_and(|s| KEY_MARKERS.contains(&s.to_ascii_lowercase().as_str()));
    after_marker || after_key || looks_like_credential(&percent_decoded(segments[at]))
}

/// A path segment that looks like a credential wherever it stands: a numeric id of six digits
/// or more (a Discord webhook id, a Zapier account), sixteen characters or more mixing letters
/// and digits (hex ids, UUIDs, base62 tokens), twenty-four letters and digits unbroken (a
/// token that happens to hold no digit), or a short key whose letters and digits alternate
/// ([`alternates`]: `abc1de2`). Ordinary words — `MyProject`, `build_hooks`, `release2024`,
/// `v1`, `my-service-2`, `k8s-deploy-v2` — are none of these.
fn looks_like_credential(segment: &str) -> bool {
    let len = segment.chars().count();
    let digits = segment.bytes().filter(u8::is_ascii_digit).count();
    let letters = segment.bytes().filter(u8::is_ascii_alphabetic).count();
    (len >= 6 && digits == len)
        || (len >= 16 && digits > 0 && letters > 0)
        || (len >= 24 && letters + digits == len)
        || alternates(segment)
}

/// Whether a run of six or more letters and digits in `segment` switches between letters and
/// digits three times or more, as random keys do (`abc1de2`) and names seldom do (`k8s`,
/// `release2024`, `utf8` switch at most twice in one run).
fn alternates(segment: &str) -> bool {
    segment
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| run.len() >= 6)
        .any(|run| {
            let bytes = run.as_bytes();
            let switches = bytes
                .windows(2)
                .filter(|pair| pair[0].is_ascii_digit() != pair[1].is_ascii_digit())
                .count();
            switches >= 3
        })
}

/// `text` with its `%XX` escapes decoded; a `%` not followed by two hex digits stays as is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = match bytes.get(at..at + 3) {
            Some([b'%', hi, lo]) if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                std::str::from_utf8(&[*hi, *lo])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            }
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        // Leftmost-longest: a whole URL wins over its path, a path over its segments. Case is
        // matched as registered: ignoring ASCII case made the 10,000-target dry run 45 % slower
        // (its JSON report passes through here), for a server that echoes a secret re-cased.
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

/// Whether any word of `text` (a run of ASCII letters, digits and `_`) [`looks_like_token`]:
/// a message that quotes a value is checked with it before the value is shown.
pub fn holds_token(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(looks_like_token)
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

    /// A real hook shape: what of it every output must hide, and which ordinary words of it
    /// must still print (as a target, repository or event type named so would).
    struct HookShape {
        url: &'static str,
        hidden: &'static [&'static str],
        shown: &'static [&'static str],
    }

    const HOOK_SHAPES_SEEN: &[HookShape] = &[
        HookShape {
            url: "https://api.netlify.com/build_hooks/5f1b2c3d4e5f6a7b8c9d0e1f",
            hidden: &["5f1b2c3d4e5f6a7b8c9d0e1f", "/build_hooks/5f1b2c3d4e5f6a7b8c9d0e1f"],
            shown: &["build_hooks", "api.netlify.com"],
        },
        HookShape {
            // The key holds no digit: known by where it stands, not by its looks.
            url: "https://api.vercel.com/v1/integrations/deploy/prj_AbC123dEf456GhI789jKl0/xYzAbCdEfG",
            hidden: &["prj_AbC123dEf456GhI789jKl0", "xYzAbCdEfG"],
            shown: &["v1", "integrations", "deploy", "api.vercel.com"],
        },
        HookShape {
            url: "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            hidden: &["T00000000", "B00000000", "XXXXXXXXXXXXXXXXXXXXXXXX"],
            shown: &["services", "hooks.slack.com"],
        },
        HookShape {
            // Discord's `/github` suffix follows the token and is no part of it.
            url: "https://discord.com/api/webhooks/123456789012345678/Zx-9_qLmN0pRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLm/github",
            hidden: &[
                "123456789012345678",
                "Zx-9_qLmN0pRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLm",
            ],
            shown: &["api", "webhooks", "github", "discord.com"],
        },
        HookShape {
            url: "https://ci.example.com/job/MyProject/build?token=abc123secret",
            hidden: &["abc123secret", "token=abc123secret"],
            shown: &["MyProject", "job", "build", "token", "/job/MyProject/build"],
        },
        HookShape {
            // The account id is short and the key a plain-looking word; together they are the
            // hook's whole credential, so both are hidden, by where they stand.
            url: "https://hooks.zapier.com/hooks/catch/123456/abcdef/",
            hidden: &["123456", "abcdef"],
            shown: &["hooks", "catch", "hooks.zapier.com"],
        },
        HookShape {
            url: "https://maker.ifttt.com/trigger/deploy/with/key/dK3mN8pQ2rS5tU7vW9xY1z",
            hidden: &["dK3mN8pQ2rS5tU7vW9xY1z"],
            shown: &["trigger", "deploy", "with", "key"],
        },
        HookShape {
            url: "https://user:p4ssw0rd@host.example/path",
            hidden: &["user", "p4ssw0rd"],
            shown: &["host.example", "path"],
        },
        HookShape {
            url: "https://gitlab.example.com/api/v4/projects/42/ref/main/trigger/pipeline?token=glptt-0123456789abcdef&variables[X]=yes%2Fplease",
            hidden: &["glptt-0123456789abcdef", "yes%2Fplease", "yes/please"],
            shown: &["projects", "42", "main", "pipeline", "variables"],
        },
        HookShape {
            url: "https://hooks.example.org/v2/3f2504e0-4f89-11d3-9a0c-0305e82c3301/release2024",
            hidden: &["3f2504e0-4f89-11d3-9a0c-0305e82c3301"],
            shown: &["v2", "release2024", "hooks.example.org"],
        },
        HookShape {
            // An unknown service with a short key: known by its looks alone.
            url: "https://hooks.example.net/k8s-deploy-v2/x86_64/abc1de2",
            hidden: &["abc1de2", "/k8s-deploy-v2/x86_64/abc1de2"],
            shown: &["k8s-deploy-v2", "x86_64", "hooks.example.net"],
        },
        HookShape {
            url: "https://ci.example.com/job/My%20Project/buildWithParameters?token=t%2Bk%20n-0042",
            hidden: &["t%2Bk%20n-0042", "t+k n-0042"],
            shown: &["My Project", "My%20Project", "buildWithParameters"],
        },
    ];

    #[test]
    fn a_secret_url_hides_its_credentials_and_not_its_ordinary_words() {
        for shape in HOOK_SHAPES_SEEN {
            let _ = Secret::url(shape.url);
            assert_eq!(redact(shape.url), MASK);
            for secret in shape.hidden {
                let echoed = redact(&format!("the server said: {secret}."));
                assert_eq!(echoed, "the server said: ***.", "{}", shape.url);
            }
            for word in shape.shown {
                let named = format!("target {word}: ready");
                assert_eq!(redact(&named), named, "{}", shape.url);
            }
        }
    }

    #[test]
    fn what_a_jenkins_hook_registers_is_its_token_and_never_its_project() {
        let url = "https://ci.example.com/job/MyProject/build?token=abc123secret";
        assert_eq!(
            url_secret_parts(url),
            ["abc123secret", url, "token=abc123secret"]
        );
    }

    #[test]
    fn percent_escapes_are_decoded_and_broken_ones_kept() {
        assert_eq!(percent_decoded("a%2Fb%41%c3%a9"), "a/bAé");
        assert_eq!(percent_decoded("%zz%4%"), "%zz%4%");
        assert_eq!(percent_decoded("%+1x"), "%+1x");
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

    #[test]
    fn a_token_anywhere_among_the_words_of_a_message_is_spotted() {
        assert!(holds_token(
            "invalid value 'x=ghp_0123456789abcdefghijklmnop' for '--var'"
        ));
        assert!(holds_token("ghp_0123456789abcdefghij"));
        assert!(!holds_token(
            "invalid value 'ghp-0123456789abcdefghij' for '--var'"
        ));
        assert!(!holds_token("unknown key `WEBSITE_DISPATCH_TOKEN`"));
    }
}
