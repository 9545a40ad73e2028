//! "Only when these files changed": which files changed between the previous release and this
//! one, and whether a target's globs match any of them.
//!
//! Loaded once per run at the edge ([`ChangeSet::load`] runs git in the source's checkout),
//! then asked once per target, purely ([`ChangeSet::verdict`] with a [`ChangeFilter`] compiled
//! at load time). The rules live in pure functions tested without git: which tag came before
//! ([`tags::previous_tag`]) and which paths a filter selects ([`ChangeFilter::matches`]).

pub(crate) mod filter;
pub(crate) mod git;
pub(crate) mod tags;

pub use filter::{ChangeFilter, GlobError};
pub use git::Git;

use crate::version::Version;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many matching paths a verdict keeps to show.
pub const MAX_SHOWN: usize = 5;

/// The files changed between the previous release and this one: computed once per run, shared
/// by every target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// The previous release's tag (or what `--previous-version` named); `None` on a first
    /// release, when there is nothing to compare with.
    previous: Option<String>,
    /// What this release was compared as: its tag, or `HEAD` when the tag does not exist yet.
    /// On a first release, the version as given.
    current: String,
    /// Paths relative to the repository root, `/`-separated.
    files: Vec<String>,
    /// Why the changes cannot be known (the checkout is another repository): every filter is
    /// then undecided. Only a dry run plans with such a set; a real run refuses first.
    undecided: Option<String>,
}

/// What a target's filter says about this release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeVerdict {
    /// Files the filter cares about changed: send.
    Changed {
        previous: String,
        patterns: Vec<String>,
        /// The first [`MAX_SHOWN`] matching paths.
        matched: Vec<String>,
        matched_total: usize,
    },
    /// None did: skip, saying why.
    Unchanged {
        previous: String,
        patterns: Vec<String>,
        /// How many files changed in all (none of them matching).
        files_changed: usize,
    },
    /// No earlier release to compare with: send, and say so.
    FirstRelease { current: String },
    /// The changes cannot be known here (see [`ChangeSet::undecided`]): planned, not decided.
    Undecided { patterns: Vec<String>, why: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("could not run `{program}`: {source}")]
    GitMissing {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a git repository ({detail})", dir.display())]
    NotARepository { dir: PathBuf, detail: String },
    #[error("git refuses to read `{}`: it belongs to another user", dir.display())]
    UnsafeRepository { dir: PathBuf },
    #[error("`{}` is a shallow clone, so its tags and history are incomplete and the files changed since the previous release cannot be known", dir.display())]
    ShallowClone { dir: PathBuf },
    #[error("the previous version `{given}` is neither a tag nor a commit in `{}`", dir.display())]
    UnknownPrevious { given: String, dir: PathBuf },
    #[error("the version `{version}` is not semver (such as 1.2.3), so the previous release cannot be found among the tags")]
    NotSemver { version: String },
    #[error("the repository has no commit at HEAD and no tag `{version}`")]
    NoCurrentCommit { version: String },
    #[error("`git {command}` did not finish within {} s and was stopped", timeout.as_secs_f32())]
    Timeout { command: String, timeout: Duration },
    #[error("`git {command}` failed: {stderr}")]
    Git { command: String, stderr: String },
    #[error("could not wait for git: {0}")]
    Io(#[source] std::io::Error),
}

impl ChangeError {
    /// How to fix it, for the `help:` line of a diagnostic.
    pub fn help(&self) -> Option<String> {
        let help = match self {
            ChangeError::GitMissing { .. } => {
                "install git (GitHub's hosted runners have it), or put it on PATH".to_owned()
            }
            ChangeError::NotARepository { .. } => {
                "run orchestrator in a checkout of the source repository (actions/checkout)"
                    .to_owned()
            }
            ChangeError::UnsafeRepository { dir } => format!(
                "trust it: `git config --global --add safe.directory {}`",
                dir.display()
            ),
            ChangeError::ShallowClone { .. } => {
                "fetch tags and history: actions/checkout with fetch-depth: 0".to_owned()
            }
            ChangeError::UnknownPrevious { .. } => {
                "name a tag that exists locally (`git tag --list`); in GitHub Actions fetch tags and history: actions/checkout with fetch-depth: 0".to_owned()
            }
            ChangeError::NotSemver { .. } => {
                "name the previous release with --previous-version".to_owned()
            }
            ChangeError::NoCurrentCommit { .. } => "commit or tag the release first".to_owned(),
            ChangeError::Timeout { .. }
            | ChangeError::Git { .. }
            | ChangeError::Io(_) => return None,
        };
        Some(help)
    }
}

impl ChangeSet {
    /// Reads the changes of the release `current` from the git checkout at (or above)
    /// `repo_dir`, comparing with `previous` (`--previous-version`: a tag with or without its
    /// `v`, or any commit) or else with the previous release tag ([`tags::previous_tag`]).
    /// This release is its tag when it exists locally, else `HEAD`.
    pub fn load(
        repo_dir: impl AsRef<Path>,
        current: &Version,
        previous: Option<&str>,
    ) -> Result<ChangeSet, ChangeError> {
        ChangeSet::load_with(&Git::new(repo_dir.as_ref()), current, previous)
    }

    /// [`ChangeSet::load`] with a configured [`Git`] (another executable, another time limit).
    pub fn load_with(
        git: &Git,
        current: &Version,
        previous: Option<&str>,
    ) -> Result<ChangeSet, ChangeError> {
        // Also the "is this a repository at all" check, so its answer comes first. Without
        // `--previous-version` the tags are needed next: both are read side by side.
        let (shallow, tags) = std::thread::scope(|scope| {
            let tags = previous.is_none().then(|| scope.spawn(|| git.tags()));
            let shallow = git.is_shallow();
            let tags = tags.map(|t| t.join().unwrap_or_else(|_| Ok(Vec::new())));
            (shallow, tags)
        });
        let shallow = shallow?;
        let shallow_error = || ChangeError::ShallowClone {
            dir: git.dir().to_owned(),
        };
        let (previous, from) = match previous {
            Some(given) => match resolve(git, given)? {
                Some(commit) => (given.to_owned(), commit),
                None if shallow => return Err(shallow_error()),
                None => {
                    return Err(ChangeError::UnknownPrevious {
                        given: given.to_owned(),
                        dir: git.dir().to_owned(),
                    })
                }
            },
            None => {
                // A shallow clone has few or no tags: "first release" would be a guess.
                if shallow {
                    return Err(shallow_error());
                }
                let Some(version) = &current.semver else {
                    return Err(ChangeError::NotSemver {
                        version: current.text.clone(),
                    });
                };
                let names = match tags {
                    Some(tags) => tags?,
                    None => git.tags()?,
                };
                let Some(tag) = tags::previous_tag(names.iter().map(String::as_str), version)
                else {
                    tracing::debug!("no release tag before {}: first release", current.tag);
                    return Ok(ChangeSet::first_release(&current.tag));
                };
                let commit = git.commit(&format!("refs/tags/{tag}"))?.ok_or_else(|| {
                    ChangeError::UnknownPrevious {
                        given: tag.to_owned(),
                        dir: git.dir().to_owned(),
                    }
                })?;
                (tag.to_owned(), commit)
            }
        };
        let (current_name, to) = match find_tag(git, &current.tag)? {
            Some(found) => found,
            None => match git.commit("HEAD")? {
                Some(commit) => ("HEAD".to_owned(), commit),
                None => {
                    return Err(ChangeError::NoCurrentCommit {
                        version: current.tag.clone(),
                    })
                }
            },
        };
        let files = git.changed_files(&from, &to)?;
        tracing::debug!(
            "{} files changed between {previous} ({from}) and {current_name} ({to})",
            files.len()
        );
        Ok(ChangeSet::between(previous, current_name, files))
    }

    /// The changes between two releases as given: for tests and for a plan computed elsewhere.
    pub fn between(
        previous: impl Into<String>,
        current: impl Into<String>,
        files: Vec<String>,
    ) -> ChangeSet {
        ChangeSet {
            previous: Some(previous.into()),
            current: current.into(),
            files,
            undecided: None,
        }
    }

    /// A release with no earlier release to compare with.
    pub fn first_release(current: impl Into<String>) -> ChangeSet {
        ChangeSet {
            previous: None,
            current: current.into(),
            files: Vec::new(),
            undecided: None,
        }
    }

    /// Changes that cannot be known, and `why` (for a dry run's plan).
    pub fn undecided(why: impl Into<String>) -> ChangeSet {
        ChangeSet {
            previous: None,
            current: String::new(),
            files: Vec::new(),
            undecided: Some(why.into()),
        }
    }

    pub fn previous(&self) -> Option<&str> {
        self.previous.as_deref()
    }

    pub fn current(&self) -> &str {
        &self.current
    }

    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Whether `filter`'s files changed in this release. Pure; cheap enough to call per target.
    pub fn verdict(&self, filter: &ChangeFilter) -> ChangeVerdict {
        if let Some(why) = &self.undecided {
            return ChangeVerdict::Undecided {
                patterns: filter.patterns().to_vec(),
                why: why.clone(),
            };
        }
        let Some(previous) = &self.previous else {
            return ChangeVerdict::FirstRelease {
                current: self.current.clone(),
            };
        };
        let mut matched = Vec::new();
        let mut matched_total = 0;
        for path in filter.select(&self.files) {
            matched_total += 1;
            if matched.len() < MAX_SHOWN {
                matched.push(path.to_owned());
            }
        }
        let patterns = filter.patterns().to_vec();
        if matched_total == 0 {
            ChangeVerdict::Unchanged {
                previous: previous.clone(),
                patterns,
                files_changed: self.files.len(),
            }
        } else {
            ChangeVerdict::Changed {
                previous: previous.clone(),
                patterns,
                matched,
                matched_total,
            }
        }
    }
}

impl ChangeVerdict {
    /// Whether the target is sent: files changed, or there is nothing to compare with.
    pub fn sends(&self) -> bool {
        !matches!(self, ChangeVerdict::Unchanged { .. })
    }

    /// One line for the report: why the target is skipped, or what made it go. Paths and tags
    /// come from the repository's history, which anyone who can push wrote: the line is
    /// neutralized as server text (a path may hold a line break, an escape or `::`).
    pub fn reason(&self) -> String {
        crate::untrusted::one_line(&self.describe(), 4000)
    }

    fn describe(&self) -> String {
        match self {
            ChangeVerdict::Changed {
                previous,
                patterns,
                matched,
                matched_total,
            } => {
                let mut shown = matched.join(", ");
                let more = matched_total.saturating_sub(matched.len());
                if more > 0 {
                    shown.push_str(&format!(" and {more} more"));
                }
                format!(
                    "{} matching {} changed since {previous}: {shown}",
                    files(*matched_total),
                    quoted(patterns)
                )
            }
            ChangeVerdict::Unchanged {
                previous,
                patterns,
                files_changed,
            } => {
                let others = match files_changed {
                    0 => "no file changed at all".to_owned(),
                    n => format!("{} changed, none matching", files(*n)),
                };
                format!(
                    "no file matching {} changed since {previous} ({others})",
                    quoted(patterns)
                )
            }
            ChangeVerdict::FirstRelease { current } => {
                format!("first release: no release tag before {current}, so it is sent")
            }
            ChangeVerdict::Undecided { patterns, why } => {
                format!("when.changed ({}) not decided: {why}", quoted(patterns))
            }
        }
    }
}

fn files(n: usize) -> String {
    if n == 1 {
        "1 file".to_owned()
    } else {
        format!("{n} files")
    }
}

fn quoted(patterns: &[String]) -> String {
    let quoted: Vec<String> = patterns.iter().map(|p| format!("`{p}`")).collect();
    quoted.join(", ")
}

/// Which GitHub repository (`owner/name`) the checkout at `git`'s directory is: its `origin`
/// remote, else `GITHUB_REPOSITORY` (`github_repository`).
///
/// The remote comes first: `--repo-dir` may point at a checkout of another repository than
/// the one running the workflow, and actions/checkout sets `origin` to what it checked out.
pub fn checkout_repository(git: &Git, github_repository: Option<&str>) -> Checkout {
    let origin = git.origin_url();
    origin
        .as_deref()
        .and_then(repository_of_remote)
        .or_else(|| {
            github_repository
                .filter(|r| r.contains('/'))
                .map(str::to_owned)
        })
        .map_or(Checkout::Unnamed { origin }, Checkout::Named)
}

/// What a checkout says of the repository it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// `owner/name`, from `origin` or `GITHUB_REPOSITORY`.
    Named(String),
    /// Nothing names it: `origin` is a local path or a mirror (`origin` holds its URL), or
    /// there is no `origin` (`None`), and `GITHUB_REPOSITORY` is unset.
    Unnamed { origin: Option<String> },
}

impl Checkout {
    /// Why an unnamed checkout cannot be named, as a user would check it: `None` when named.
    pub fn unnamed_because(&self) -> Option<String> {
        let Checkout::Unnamed { origin } = self else {
            return None;
        };
        let origin = match origin {
            None => "it has no `origin` remote".to_owned(),
            // A URL with user information may hold a password: it is not repeated.
            Some(url) if url.contains('@') => {
                "its `origin` remote names no GitHub repository".to_owned()
            }
            Some(url) => format!(
                "its `origin` remote `{}` names no GitHub repository",
                crate::untrusted::one_line(url, 200)
            ),
        };
        Some(format!("{origin}, and GITHUB_REPOSITORY is unset"))
    }
}

/// `owner/name` of a remote URL: `https://github.com/o/r(.git)`, `git@github.com:o/r.git`,
/// `ssh://git@host/o/r`. `None` for a local path or anything else without both parts.
pub fn repository_of_remote(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let path = match url.split_once("://") {
        Some(("https" | "http" | "ssh" | "git", rest)) => rest.split_once('/')?.1,
        // A local path (`file://`, `/srv/git/x`) names no GitHub repository.
        Some(_) => return None,
        None => {
            let (host, path) = url.split_once(':')?;
            if host.contains('/') {
                return None;
            }
            path
        }
    };
    let mut parts = path.rsplit('/');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let owner = parts.next().filter(|o| !o.is_empty())?;
    Some(format!("{owner}/{name}"))
}

/// The local tag of a version spelled with or without `v`, and its commit.
fn find_tag(git: &Git, given: &str) -> Result<Option<(String, String)>, ChangeError> {
    for name in tags::tag_spellings(given) {
        if let Some(commit) = git.commit(&format!("refs/tags/{name}"))? {
            return Ok(Some((name, commit)));
        }
    }
    Ok(None)
}

/// `--previous-version`: a tag first (with or without `v`), else any revision git knows.
fn resolve(git: &Git, given: &str) -> Result<Option<String>, ChangeError> {
    if let Some((_, commit)) = find_tag(git, given)? {
        return Ok(Some(commit));
    }
    git.commit(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> ChangeFilter {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        ChangeFilter::new(&patterns).unwrap()
    }

    fn changes(files: &[&str]) -> ChangeSet {
        ChangeSet::between(
            "v1.2.2",
            "v1.2.3",
            files.iter().map(|f| f.to_string()).collect(),
        )
    }

    #[test]
    fn a_remote_url_names_its_repository_in_every_spelling() {
        for url in [
            "https://github.com/vfarcic/dot-ai.git",
            "https://github.com/vfarcic/dot-ai/",
            "git@github.com:vfarcic/dot-ai.git",
            "ssh://git@github.example.com:22/vfarcic/dot-ai",
        ] {
            assert_eq!(
                repository_of_remote(url).as_deref(),
                Some("vfarcic/dot-ai"),
                "{url}"
            );
        }
        assert_eq!(repository_of_remote("/srv/git/dot-ai"), None);
        assert_eq!(repository_of_remote("file:///tmp/dot-ai"), None);
        assert_eq!(repository_of_remote("./a:b/c"), None);
    }

    #[test]
    fn a_path_from_the_history_cannot_break_the_line_or_write_a_command() {
        let hostile = "docs/a\n::warning title=X::y\u{1b}]0;t\u{7}";
        let verdict = changes(&[hostile]).verdict(&filter(&["docs/**"]));
        let reason = verdict.reason();
        assert!(
            !reason.contains('\n') && !reason.contains('\u{1b}'),
            "{reason:?}"
        );
        assert!(
            reason.ends_with("docs/a\\n::warning title=X::y\\u{1b}]0;t\\u{7}"),
            "{reason}"
        );
    }

    #[test]
    fn unchanged_says_what_was_looked_for_and_what_changed_instead() {
        let verdict = changes(&["src/a.rs", "src/b.rs"]).verdict(&filter(&["docs/**"]));
        assert!(!verdict.sends());
        assert_eq!(
            verdict.reason(),
            "no file matching `docs/**` changed since v1.2.2 (2 files changed, none matching)"
        );
        let nothing = changes(&[]).verdict(&filter(&["docs/**"]));
        assert_eq!(
            nothing.reason(),
            "no file matching `docs/**` changed since v1.2.2 (no file changed at all)"
        );
    }

    #[test]
    fn changed_names_the_first_few_matching_files() {
        let many: Vec<String> = (0..8).map(|i| format!("docs/{i}.md")).collect();
        let set = ChangeSet::between("v1.2.2", "HEAD", many);
        let verdict = set.verdict(&filter(&["docs/**", "!docs/7.md"]));
        assert!(verdict.sends());
        assert_eq!(
            verdict.reason(),
            "7 files matching `docs/**`, `!docs/7.md` changed since v1.2.2: \
             docs/0.md, docs/1.md, docs/2.md, docs/3.md, docs/4.md and 2 more"
        );
        let one = changes(&["docs/a.md", "src/x.rs"]).verdict(&filter(&["docs/**"]));
        assert_eq!(
            one.reason(),
            "1 file matching `docs/**` changed since v1.2.2: docs/a.md"
        );
    }

    #[test]
    fn a_first_release_is_sent_and_says_so() {
        let verdict = ChangeSet::first_release("v1.0.0").verdict(&filter(&["docs/**"]));
        assert!(verdict.sends());
        assert_eq!(
            verdict.reason(),
            "first release: no release tag before v1.0.0, so it is sent"
        );
    }

    #[test]
    fn every_error_a_user_can_fix_says_how() {
        let shallow = ChangeError::ShallowClone {
            dir: PathBuf::from("."),
        };
        assert_eq!(
            shallow.help().as_deref(),
            Some("fetch tags and history: actions/checkout with fetch-depth: 0")
        );
        let not_semver = ChangeError::NotSemver {
            version: "2024-05".into(),
        };
        assert!(not_semver.help().unwrap().contains("--previous-version"));
    }
}
