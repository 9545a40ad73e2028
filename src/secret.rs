//! Tokens: held so they cannot be printed by accident, and scrubbed from anything echoed back.

use std::fmt;

/// A credential. `Debug` and `Display` print `***`; only [`Secret::expose`] gives the value,
/// and it is called in exactly one place: where the `Authorization` header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the secret in `text` (a server may echo a request back).
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_owned();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
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
    fn redacts_echoes() {
        let s = Secret::new("tok");
        assert_eq!(s.redact("Bearer tok and tok"), "Bearer *** and ***");
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
