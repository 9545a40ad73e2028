//! Small value types that check themselves when parsed: a GitHub repository name, an API URL.

use std::fmt;

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
            return Err(format!("`{text}` is not `owner/name`"));
        };
        let owner_ok = (1..=39).contains(&owner.len())
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !owner.starts_with('-')
            && !owner.ends_with('-');
        if !owner_ok {
            return Err(format!(
                "`{owner}` is not a valid GitHub owner (1-39 letters, digits or `-`)"
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
                "`{name}` is not a valid repository name (1-100 letters, digits, `-`, `_` or `.`)"
            ));
        }
        Ok(Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The base URL of a GitHub REST API, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiUrl(String);

impl ApiUrl {
    /// https anywhere; plain http only on loopback, where it reaches a local stand-in rather
    /// than sending a token in clear over a network.
    pub fn parse(text: &str) -> Result<ApiUrl, String> {
        let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not contain credentials; use token_env".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{text}` must not have a query or fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "`{text}` uses plain http; tokens must only travel over https (http is allowed for loopback addresses such as 127.0.0.1, for testing)"
                ))
            }
            other => return Err(format!("`{text}` has scheme `{other}`; use https")),
        }
        Ok(ApiUrl(text.trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{base}/repos/{owner}/{name}/dispatches`: the repository_dispatch endpoint.
    pub fn dispatches(&self, repo: &Repo) -> String {
        format!("{}/repos/{}/{}/dispatches", self.0, repo.owner, repo.name)
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
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
