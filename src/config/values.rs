//! Small value types that check themselves when parsed: a GitHub repository name, an API URL,
//! a name, an environment variable name.
//!
//! Each rule is written twice: as Rust, which the loader runs, and as a JSON Schema `pattern`
//! (ECMA-262 regex without look-around, so every editor can run it), which the schema carries.
//! `tests/schema.rs` checks that both accept the same values.

use crate::diagnostic::shown;
use std::fmt;
use std::sync::Arc;

/// Source and target names: they are typed on the command line and appear in key paths.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_-]{1,100}$";

/// [`Repo::parse`] as a pattern. The name alternatives spell out "not `.` or `..`".
pub const REPOSITORY_PATTERN: &str = concat!(
    "^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,37}[A-Za-z0-9_])?/",
    "(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}|\\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,98}|\\.\\.[A-Za-z0-9._-]{1,98})$"
);

/// [`env_name_problem`] as a pattern.
pub const ENV_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,254}$";

/// [`crate::secret::looks_like_token`] as a pattern; the schema says `token_env` must *not*
/// match it.
pub const TOKEN_PATTERN: &str = "^(?:gh[pousr]_.{16}|github_pat_.{9}|[0-9A-Fa-f]{40}$)";

/// [`ApiUrl::parse`] as a pattern, for the usual spellings: https with any host, or http with
/// `localhost`, `127.x.x.x` or `[::1]`; no credentials, query or fragment.
pub const API_URL_PATTERN: &str = concat!(
    "^(?:[Hh][Tt][Tt][Pp][Ss]://[^/?#@\\s]+",
    "|[Hh][Tt][Tt][Pp]://(?:[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127(?:\\.[0-9]{1,3}){3}|\\[::1\\])(?::[0-9]{1,5})?)",
    "(?:/[^?#\\s]*)?$"
);

/// [`crate::policy::RateLimits::parse`] as a pattern: `unlimited`, or windows separated by
/// commas.
pub const RATE_LIMIT_PATTERN: &str = concat!(
    "^(?:unlimited|[1-9][0-9]*/(?:min|m|s|sec|h|hour|[1-9][0-9]*(?:ms|s|min|m|h))",
    "(?: *, *[1-9][0-9]*/(?:min|m|s|sec|h|hour|[1-9][0-9]*(?:ms|s|min|m|h)))*)$"
);

/// [`crate::policy::RateLimit::parse`] as a pattern: `unlimited`, or one window.
pub const READ_BUDGET_PATTERN: &str =
    "^(?:unlimited|[1-9][0-9]*/(?:min|m|s|sec|h|hour|[1-9][0-9]*(?:ms|s|min|m|h)))$";

/// A GitHub REST API version is a date.
pub const API_VERSION_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// Whether `name` may name a source or a target ([`NAME_PATTERN`]).
pub fn is_valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why `name` cannot be an environment variable name ([`ENV_NAME_PATTERN`]), without quoting
/// it: a secret pasted here must not be echoed.
pub fn env_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("token_env is empty".into());
    }
    if name.len() > 255 {
        return Some("token_env is longer than 255 characters".into());
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Some("token_env starts with a digit, which a variable name cannot".into());
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))?;
    Some(format!(
        "token_env contains `{}`, which a variable name cannot (its value is not shown, in case it is a secret)",
        shown(&bad.to_string())
    ))
}

/// A GitHub repository, `owner/name`, checked so it can be put in a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    /// Accepts exactly GitHub's rules: the owner is 1-39 letters, digits or `-` (and `_`, which
    /// Enterprise Managed Users have), not starting or ending with `-`; the name is 1-100
    /// letters, digits, `-`, `_` or `.`, and not `.` or `..`. That leaves no way to smuggle a
    /// path (`../`), a query (`?`) or an escape (`%`) into the request URL.
    pub fn parse(text: &str) -> Result<Repo, String> {
        let Some((owner, name)) = text.split_once('/') else {
            return Err(format!("`{}` is not `owner/name`", shown(text)));
        };
        let owner_ok = (1..=39).contains(&owner.len())
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !owner.starts_with('-')
            && !owner.ends_with('-');
        if !owner_ok {
            return Err(format!(
                "`{}` is not a valid GitHub owner (1-39 letters, digits or `-`, not at either end)",
                shown(owner)
            ));
        }
        let name_ok = (1..=100).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && name != "."
            && name != "..";
        if !name_ok {
            return Err(format!(
                "`{}` is not a valid repository name (1-100 letters, digits, `-`, `_` or `.`, and not `.` or `..`)",
                shown(name)
            ));
        }
        Ok(Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// `owner/name`, as `Display` writes it, built without the formatting machinery (once per
    /// target of a plan).
    pub fn full_name(&self) -> String {
        [self.owner.as_str(), "/", &self.name].concat()
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The base URL of a GitHub REST API, without a trailing slash. Shared: every target that
/// does not name its own holds the defaults'.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiUrl(Arc<str>);

impl ApiUrl {
    /// https anywhere; plain http only on loopback, where it reaches a local stand-in rather
    /// than sending a token in clear over a network.
    pub fn parse(text: &str) -> Result<ApiUrl, String> {
        let quoted = shown(text);
        let url = url::Url::parse(text).map_err(|e| format!("`{quoted}` is not a URL: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not contain credentials; use token_env".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{quoted}` must not have a query or fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "`{quoted}` uses plain http; tokens must only travel over https (http is allowed for loopback addresses such as 127.0.0.1, for testing)"
                ))
            }
            other => {
                return Err(format!(
                    "`{quoted}` has scheme `{}`; use https",
                    shown(other)
                ))
            }
        }
        Ok(ApiUrl(text.trim_end_matches('/').into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, shared rather than copied.
    pub fn shared(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }

    /// `{base}/repos/{owner}/{name}/dispatches`: the repository_dispatch endpoint.
    pub fn dispatches(&self, repo: &Repo) -> String {
        [
            &*self.0,
            "/repos/",
            &repo.owner,
            "/",
            &repo.name,
            "/dispatches",
        ]
        .concat()
    }
}

pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_repository_names() {
        let repo = Repo::parse("vfarcic/dot-ai-website").unwrap();
        assert_eq!(repo.owner, "vfarcic");
        assert_eq!(repo.to_string(), "vfarcic/dot-ai-website");
        assert!(Repo::parse("my_org/some.repo_2").is_ok());
    }

    #[test]
    fn rejects_path_tricks_in_repository_names() {
        for bad in [
            "vfarcic", "a/b/c", "../x", "o/..", "o/.", "o/a?b", "o/a%2f", "-o/x", "o/", "/x",
            "o/a b", "o/a#b",
        ] {
            assert!(Repo::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn api_url_allows_https_and_loopback_http_only() {
        assert_eq!(
            ApiUrl::parse("https://ghe.example.com/api/v3/")
                .unwrap()
                .as_str(),
            "https://ghe.example.com/api/v3"
        );
        assert!(ApiUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(ApiUrl::parse("http://[::1]:8080").is_ok());
        assert!(ApiUrl::parse("http://localhost:1").is_ok());
        assert!(ApiUrl::parse("http://api.github.com").is_err());
        assert!(ApiUrl::parse("https://user:pw@api.github.com").is_err());
        assert!(ApiUrl::parse("ftp://x").is_err());
        assert!(ApiUrl::parse("api.github.com").is_err());
    }

    #[test]
    fn builds_the_dispatches_endpoint() {
        let api = ApiUrl::parse("https://api.github.com").unwrap();
        let repo = Repo::parse("o/r").unwrap();
        assert_eq!(
            api.dispatches(&repo),
            "https://api.github.com/repos/o/r/dispatches"
        );
    }
}
