//! Which changed files a target cares about: path globs as GitHub Actions' `on.push.paths`
//! reads them, compiled once.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::fmt;

/// More patterns than any real target needs; keeps compiling a hostile file cheap.
pub(crate) const MAX_PATTERNS: usize = 100;
/// Longest pattern, in bytes.
pub(crate) const MAX_PATTERN_LEN: usize = 1024;

/// A compiled list of path globs, e.g. `["docs/**", "README.md", "!docs/drafts/**"]`.
///
/// Paths are relative to the repository root and `/`-separated, as `git diff --name-only`
/// prints them. A pattern matches the whole path from the root: `*` and `?` never cross a `/`,
/// so `*.md` matches `README.md` but not `docs/index.md` (write `**/*.md` for that); `**` as a
/// whole segment matches any number of directories (`docs/**`, `**/*.md`, `a/**/b`);
/// `[abc]`, `[a-z]`, `[!a]` and `{a,b}` work as in most globs; `\` escapes. Matching is
/// case-sensitive. A pattern starting with `!` excludes; the last pattern that matches a path
/// decides, so `["docs/**", "!docs/drafts/**"]` ignores drafts. These are GitHub Actions'
/// `paths` semantics, which a user of this tool already knows.
#[derive(Debug, Clone)]
pub struct ChangeFilter {
    patterns: Vec<String>,
    excludes: Vec<bool>,
    set: GlobSet,
}

/// A pattern (or the list) that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct GlobError {
    /// Position of the pattern in the list; `None` when the list as a whole is wrong.
    pub index: Option<usize>,
    /// The pattern as written.
    pub pattern: Option<String>,
    /// Why it is wrong, e.g. "unclosed character class; missing ']'".
    pub reason: String,
    /// How to fix it, when there is something specific to say.
    pub help: Option<String>,
}

impl GlobError {
    fn pattern(index: usize, pattern: &str, reason: impl Into<String>) -> GlobError {
        GlobError {
            index: Some(index),
            pattern: Some(pattern.to_owned()),
            reason: reason.into(),
            help: None,
        }
    }

    fn list(reason: impl Into<String>, help: impl Into<String>) -> GlobError {
        GlobError {
            index: None,
            pattern: None,
            reason: reason.into(),
            help: Some(help.into()),
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> GlobError {
        self.help = Some(help.into());
        self
    }

    fn describe(&self) -> String {
        match &self.pattern {
            Some(pattern) => format!("the pattern `{pattern}` {}", self.reason),
            None => self.reason.clone(),
        }
    }
}

impl ChangeFilter {
    /// Compiles `patterns`, or returns every problem found (not only the first), each with the
    /// pattern's position so `validate` can point at it.
    pub fn new(patterns: &[String]) -> Result<ChangeFilter, Vec<GlobError>> {
        if patterns.is_empty() {
            return Err(vec![GlobError::list(
                "the list of patterns is empty, so no change could ever match",
                "list the paths that matter, e.g. `docs/**`",
            )]);
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(vec![GlobError::list(
                format!(
                    "{} patterns are more than the {MAX_PATTERNS} allowed",
                    patterns.len()
                ),
                "use `**` and `{a,b}` to say the same with fewer patterns",
            )]);
        }
        let mut errors = Vec::new();
        let mut builder = GlobSetBuilder::new();
        let mut excludes = Vec::with_capacity(patterns.len());
        for (index, pattern) in patterns.iter().enumerate() {
            let (exclude, glob) = match pattern.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, pattern.as_str()),
            };
            excludes.push(exclude);
            if let Err(error) = check_shape(glob) {
                errors.push(error.at(index, pattern));
                continue;
            }
            match GlobBuilder::new(glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
            {
                Ok(compiled) => {
                    builder.add(compiled);
                }
                Err(error) => errors.push(GlobError::pattern(
                    index,
                    pattern,
                    format!("is not a valid glob: {}", error.kind()),
                )),
            }
        }
        if errors.is_empty() && excludes.iter().all(|&exclude| exclude) {
            errors.push(GlobError::list(
                "every pattern starts with `!`, so each only excludes and nothing can match",
                "list what to include first, e.g. `docs/**`, then the exclusions",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let set = builder.build().map_err(|error| {
            vec![GlobError::list(
                format!("the patterns are too complex to compile: {}", error.kind()),
                "use fewer or simpler patterns",
            )]
        })?;
        Ok(ChangeFilter {
            patterns: patterns.to_vec(),
            excludes,
            set,
        })
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `path` (relative to the repository root, `/`-separated) is one of the files
    /// this filter cares about: the last pattern that matches it decides.
    pub fn matches(&self, path: &str) -> bool {
        self.set
            .matches(path)
            .into_iter()
            .max()
            .is_some_and(|last| !self.excludes[last])
    }

    /// The paths among `paths` that match, in their order.
    pub fn select<'a>(&'a self, paths: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
        paths
            .iter()
            .map(String::as_str)
            .filter(|path| self.matches(path))
    }
}

/// `` `docs/**`, `!docs/drafts/**` ``: for messages.
impl fmt::Display for ChangeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pattern) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{pattern}`")?;
        }
        Ok(())
    }
}

/// A problem with one pattern found before globset sees it: things globset accepts but that
/// can never match a path git prints, or would quietly mean something else than written.
struct Shape {
    reason: String,
    help: Option<String>,
}

impl Shape {
    fn at(self, index: usize, pattern: &str) -> GlobError {
        let error = GlobError::pattern(index, pattern, self.reason);
        match self.help {
            Some(help) => error.with_help(help),
            None => error,
        }
    }
}

fn check_shape(glob: &str) -> Result<(), Shape> {
    let shape = |reason: &str, help: Option<String>| {
        Err(Shape {
            reason: reason.to_owned(),
            help,
        })
    };
    if glob.is_empty() {
        return shape(
            "is empty",
            Some("remove it, or write a path such as `docs/**`".into()),
        );
    }
    if glob.len() > MAX_PATTERN_LEN {
        return shape(
            &format!("is longer than {MAX_PATTERN_LEN} bytes"),
            Some("use `*` and `**` to shorten it".into()),
        );
    }
    if let Some(rest) = glob.strip_prefix('/') {
        return shape(
            "starts with `/`, but paths are relative to the repository root and never do",
            Some(format!("write `{}`", rest.trim_start_matches('/'))),
        );
    }
    if glob
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return shape(
            "has a `.` or `..` segment, but paths git reports never do",
            Some("write the path from the repository root, e.g. `docs/**`".into()),
        );
    }
    if glob.ends_with('/') {
        return shape(
            "ends with `/`, but git reports files, not directories",
            Some(format!("write `{glob}**` for everything under it")),
        );
    }
    if has_partial_recursive(glob) {
        // globset reads `**.md` as `*.md` (root only), while GitHub Actions reads it as "any
        // .md anywhere": refuse rather than silently disagree with what the user expects.
        let help = match glob.strip_prefix("**") {
            Some(rest) if !rest.starts_with('/') => format!("write `**/*{rest}`"),
            _ => "write `**/` for any directories, e.g. `docs/**/*.md`".to_owned(),
        };
        return shape(
            "uses `**` inside a path segment; it only means \"any directories\" as a whole segment",
            Some(help),
        );
    }
    Ok(())
}

/// Whether an unescaped `**` touches anything but `/` or the ends of the pattern.
fn has_partial_recursive(glob: &str) -> bool {
    let bytes = glob.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'*' => {
                let start = i;
                while i < bytes.len() && bytes[i] == b'*' {
                    i += 1;
                }
                if i - start >= 2 {
                    let before_ok = start == 0 || bytes[start - 1] == b'/';
                    let after_ok = i == bytes.len() || bytes[i] == b'/';
                    if !before_ok || !after_ok {
                        return true;
                    }
                }
            }
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> ChangeFilter {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        ChangeFilter::new(&patterns).unwrap()
    }

    fn errors(patterns: &[&str]) -> Vec<GlobError> {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        ChangeFilter::new(&patterns).unwrap_err()
    }

    #[test]
    fn double_star_matches_everything_under_a_directory() {
        let docs = filter(&["docs/**"]);
        assert!(docs.matches("docs/index.md"));
        assert!(docs.matches("docs/a/b/c.png"));
        assert!(!docs.matches("docs"));
        assert!(!docs.matches("src/docs/index.md"));
        assert!(!docs.matches("docsite/index.md"));
    }

    #[test]
    fn a_single_star_stays_in_its_directory_like_github_paths() {
        let md = filter(&["*.md"]);
        assert!(md.matches("README.md"));
        assert!(!md.matches("docs/index.md"));
        let anywhere = filter(&["**/*.md"]);
        assert!(anywhere.matches("README.md"));
        assert!(anywhere.matches("docs/a/index.md"));
        let direct = filter(&["docs/*"]);
        assert!(direct.matches("docs/a.md"));
        assert!(!direct.matches("docs/a/b.md"));
    }

    #[test]
    fn the_last_matching_pattern_decides() {
        let f = filter(&["docs/**", "!docs/drafts/**", "docs/drafts/keep.md"]);
        assert!(f.matches("docs/index.md"));
        assert!(!f.matches("docs/drafts/wip.md"));
        assert!(f.matches("docs/drafts/keep.md"));
        assert!(!f.matches("src/main.rs"));
    }

    #[test]
    fn classes_alternates_and_escapes_work() {
        let f = filter(&["{docs,site}/**", "CHANGELOG.[mt][dx]*", "weird\\*name"]);
        assert!(f.matches("site/a.html"));
        assert!(f.matches("CHANGELOG.md"));
        assert!(f.matches("weird*name"));
        assert!(!f.matches("weirdXname"));
    }

    #[test]
    fn select_keeps_matching_paths_in_order() {
        let f = filter(&["docs/**"]);
        let paths = ["src/a.rs", "docs/b.md", "docs/a.md"].map(String::from);
        assert_eq!(
            f.select(&paths).collect::<Vec<_>>(),
            ["docs/b.md", "docs/a.md"]
        );
    }

    #[test]
    fn reports_every_bad_pattern_with_its_position() {
        let found = errors(&["docs/**", "docs/[abc", "/site/**", "src/", "**.md"]);
        let at: Vec<_> = found.iter().map(|e| e.index).collect();
        assert_eq!(at, [Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(
            found[0].to_string(),
            "the pattern `docs/[abc` is not a valid glob: unclosed character class; missing ']'"
        );
        assert_eq!(found[1].help.as_deref(), Some("write `site/**`"));
        assert_eq!(
            found[2].help.as_deref(),
            Some("write `src/**` for everything under it")
        );
        assert_eq!(found[3].help.as_deref(), Some("write `**/*.md`"));
    }

    #[test]
    fn refuses_lists_that_can_never_match() {
        assert_eq!(errors(&[])[0].index, None);
        let only_excludes = errors(&["!docs/**"]);
        assert!(only_excludes[0].reason.contains("only excludes"));
        let bare_bang = errors(&["docs/**", "!"]);
        assert_eq!(bare_bang[0].to_string(), "the pattern `!` is empty");
        assert!(errors(&["./docs/**"])[0].reason.contains("`..`"));
    }

    #[test]
    fn double_star_as_a_whole_segment_is_fine_escaped_stars_are_not_recursive() {
        assert!(!has_partial_recursive("**"));
        assert!(!has_partial_recursive("a/**/b"));
        assert!(!has_partial_recursive("\\**"));
        assert!(has_partial_recursive("a**"));
        assert!(has_partial_recursive("docs/**.md"));
    }

    #[test]
    fn displays_the_patterns_for_messages() {
        assert_eq!(
            filter(&["docs/**", "!docs/x/**"]).to_string(),
            "`docs/**`, `!docs/x/**`"
        );
    }
}
