//! A released version as given on the command line (`v1.2.3`, `1.2.3-rc.1`, `2024-05`): plain
//! data at the bottom of the crate, used by the plan, `when.changed` and reports.

/// A released version as given on the command line, with its semver reading when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Exactly what the user passed, e.g. `v1.2.3` or `refs/tags/v1.2.3` (what `github.ref`
    /// gives): what `{{ref}}` renders.
    pub given: String,
    /// The tag: what the user passed without a leading `refs/tags/`, e.g. `v1.2.3`.
    pub tag: String,
    /// The version without a leading `v`, e.g. `1.2.3`: what `{{version}}` renders.
    pub text: String,
    /// `None` for versions that are not semver (e.g. `2024-05`): they can still be sent, but
    /// `major`/`minor`/... are not available to templates and `when.version` cannot apply.
    pub semver: Option<semver::Version>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VersionError {
    #[error("the version is empty")]
    Empty,
    #[error("the version `{0}` contains whitespace or control characters")]
    BadCharacters(String),
    #[error("the version is longer than 100 characters")]
    TooLong,
}

impl Version {
    pub fn parse(given: &str) -> Result<Version, VersionError> {
        // `github.ref` in a tag-push workflow is `refs/tags/v1.2.3`: the tag is what was released.
        let tag = given.strip_prefix("refs/tags/").unwrap_or(given);
        if tag.is_empty() {
            return Err(VersionError::Empty);
        }
        if tag.len() > 100 {
            return Err(VersionError::TooLong);
        }
        if tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(VersionError::BadCharacters(tag.escape_debug().to_string()));
        }
        // Tags are usually `v1.2.3`; the version inside is what downstream repos want.
        let text = match tag.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => tag,
        };
        Ok(Version {
            given: given.to_owned(),
            tag: tag.to_owned(),
            text: text.to_owned(),
            semver: semver::Version::parse(text).ok(),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        self.semver.as_ref().is_some_and(|v| !v.pre.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_a_leading_v_and_reads_semver_parts() {
        let v = Version::parse("v1.2.3-rc.1").unwrap();
        assert_eq!(v.tag, "v1.2.3-rc.1");
        assert_eq!(v.text, "1.2.3-rc.1");
        assert!(v.is_prerelease());
        assert_eq!(v.semver.unwrap().minor, 2);
    }

    #[test]
    fn a_tag_ref_is_read_as_its_tag_and_kept_whole_as_given() {
        let v = Version::parse("refs/tags/v1.2.3").unwrap();
        assert_eq!(
            (v.given.as_str(), v.tag.as_str()),
            ("refs/tags/v1.2.3", "v1.2.3")
        );
        assert_eq!(v.text, "1.2.3");
        assert_eq!(v.semver.unwrap().major, 1);
        assert_eq!(Version::parse("refs/tags/"), Err(VersionError::Empty));
        assert_eq!(
            Version::parse("refs/heads/main").unwrap().tag,
            "refs/heads/main"
        );
    }

    #[test]
    fn keeps_non_semver_versions_without_parts() {
        let v = Version::parse("2024-05").unwrap();
        assert_eq!(v.text, "2024-05");
        assert!(v.semver.is_none());
        assert!(!v.is_prerelease());
    }

    #[test]
    fn rejects_empty_and_whitespace_versions() {
        assert_eq!(Version::parse(""), Err(VersionError::Empty));
        assert!(matches!(
            Version::parse("1.2.3\n"),
            Err(VersionError::BadCharacters(_))
        ));
    }
}
