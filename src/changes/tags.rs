//! Which tag was the release before this one. Pure: works on a list of tag names.

use std::cmp::Ordering;

/// Reads a tag as a release: `1.2.3` or `v1.2.3` (with optional pre-release and build parts).
/// Any other tag (`latest`, `docs-2024`, `component/v1.0.0`) is not a release and is ignored.
pub(crate) fn parse_tag(tag: &str) -> Option<semver::Version> {
    let text = match tag.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => tag,
    };
    semver::Version::parse(text).ok()
}

/// The tag of the release before `current`: the highest release tag strictly lower than it.
///
/// A stable release is compared with the previous stable release, so 1.3.0 is compared with
/// 1.2.4 even if 1.3.0-rc.1 and 1.3.0-rc.2 were tagged in between: the changes since the last
/// release users got. A pre-release is compared with the previous pre-release of the same
/// version, else with the previous stable release: 1.3.0-rc.2 with 1.3.0-rc.1, 1.3.0-rc.1 with
/// 1.2.4 (not with a 1.2.5-rc.1 of another line). Build metadata is ignored (semver
/// precedence); when two tags name the same version (`1.2.2` and `v1.2.2`) the `v` one wins.
pub(crate) fn previous_tag<'a>(
    tags: impl IntoIterator<Item = &'a str>,
    current: &semver::Version,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|tag| parse_tag(tag).map(|version| (tag, version)))
        .filter(|(_, version)| version.cmp_precedence(current) == Ordering::Less)
        .filter(|(_, version)| {
            version.pre.is_empty() || (!current.pre.is_empty() && same_release(version, current))
        })
        .max_by(|(a_tag, a), (b_tag, b)| a.cmp_precedence(b).then_with(|| a_tag.cmp(b_tag)))
        .map(|(tag, _)| tag)
}

fn same_release(a: &semver::Version, b: &semver::Version) -> bool {
    (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
}

/// The names a release's tag may have, most likely first: as given, then with the leading `v`
/// dropped or added (`v1.2.3` and `1.2.3`).
pub(crate) fn tag_spellings(given: &str) -> Vec<String> {
    let mut names = vec![given.to_owned()];
    match given.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => names.push(rest.to_owned()),
        Some(_) => {}
        None if given.starts_with(|c: char| c.is_ascii_digit()) => names.push(format!("v{given}")),
        None => {}
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous<'a>(tags: &[&'a str], current: &str) -> Option<&'a str> {
        let current = parse_tag(current).unwrap();
        previous_tag(tags.iter().copied(), &current)
    }

    #[test]
    fn reads_release_tags_with_or_without_v() {
        assert_eq!(parse_tag("v1.2.3"), Some(semver::Version::new(1, 2, 3)));
        assert_eq!(parse_tag("1.2.3"), Some(semver::Version::new(1, 2, 3)));
        assert!(parse_tag("v1.2").is_none());
        assert!(parse_tag("latest").is_none());
        assert!(parse_tag("vnext").is_none());
        assert!(parse_tag("component/v1.0.0").is_none());
    }

    #[test]
    fn picks_the_highest_tag_strictly_below_the_current_version() {
        let tags = ["v1.0.0", "v1.2.2", "v1.10.0", "v1.2.3", "latest", "v1.2.10"];
        assert_eq!(previous(&tags, "1.2.3"), Some("v1.2.2"));
        assert_eq!(previous(&tags, "1.3.0"), Some("v1.2.10"));
        assert_eq!(previous(&tags, "2.0.0"), Some("v1.10.0"));
        assert_eq!(previous(&tags, "1.0.0"), None);
        assert_eq!(previous(&[], "1.0.0"), None);
    }

    #[test]
    fn a_stable_release_skips_pre_releases() {
        let tags = ["v1.2.4", "v1.3.0-rc.1", "v1.3.0-rc.2"];
        assert_eq!(previous(&tags, "1.3.0"), Some("v1.2.4"));
    }

    #[test]
    fn a_pre_release_follows_its_own_earlier_pre_release_or_the_last_stable() {
        let tags = ["v1.2.4", "v1.2.5-rc.1", "v1.3.0-alpha", "v1.3.0-rc.1"];
        assert_eq!(previous(&tags, "1.3.0-rc.2"), Some("v1.3.0-rc.1"));
        assert_eq!(previous(&tags, "1.3.0-beta"), Some("v1.3.0-alpha"));
        assert_eq!(previous(&tags, "1.3.0-alpha"), Some("v1.2.4"));
    }

    #[test]
    fn build_metadata_is_ignored_and_ties_are_deterministic() {
        assert_eq!(previous(&["v1.2.3+build.7"], "1.2.3"), None);
        assert_eq!(previous(&["1.2.2", "v1.2.2"], "1.2.3"), Some("v1.2.2"));
        assert_eq!(previous(&["v1.2.2", "1.2.2"], "1.2.3"), Some("v1.2.2"));
    }

    #[test]
    fn a_tag_may_be_spelled_with_or_without_v() {
        assert_eq!(tag_spellings("v1.2.3"), ["v1.2.3", "1.2.3"]);
        assert_eq!(tag_spellings("1.2.3"), ["1.2.3", "v1.2.3"]);
        assert_eq!(tag_spellings("2024-05"), ["2024-05", "v2024-05"]);
        assert_eq!(tag_spellings("vnext"), ["vnext"]);
        assert_eq!(tag_spellings("release-1"), ["release-1"]);
    }
}
