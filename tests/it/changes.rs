//! "Only when files changed", against real git repositories made in temporary directories.
//! No network: clones are `file://`.

use orchestrator::changes::{ChangeError, ChangeFilter, ChangeSet, ChangeVerdict, Git};
use orchestrator::release::Version;
use std::path::Path;
#[cfg(unix)] // only the tests of stand-in gits and of a tab in a name use it
use std::path::PathBuf;
#[cfg(unix)] // only the tests of stand-in gits use them
use std::time::{Duration, Instant};
use tempfile::TempDir;

use crate::support::git::{git, GIT_ENV};

/// The library's `Git` in `dir`, isolated as [`GIT_ENV`] says.
fn isolated_git(dir: &Path) -> Git {
    let mut git = Git::new(dir).env("GIT_CEILING_DIRECTORIES", std::env::temp_dir());
    for (name, value) in GIT_ENV {
        git = match value {
            Some(value) => git.env(name, value),
            None => git.env_remove(name),
        };
    }
    git
}

fn load(dir: &Path, version: &Version, previous: Option<&str>) -> Result<ChangeSet, ChangeError> {
    ChangeSet::load_with(&isolated_git(dir), version, previous)
}

/// A repository in a temporary directory, built commit by commit.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes each file (creating directories) and commits them all.
    fn commit(&self, files: &[&str]) -> &Repo {
        for file in files {
            let path = self.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let before = std::fs::read_to_string(&path).unwrap_or_default();
            std::fs::write(&path, format!("{before}change\n")).unwrap();
        }
        self.commit_all()
    }

    fn commit_all(&self) -> &Repo {
        git(self.path(), &["add", "-A"]);
        git(self.path(), &["commit", "-q", "-m", "change"]);
        self
    }

    fn tag(&self, name: &str) -> &Repo {
        git(self.path(), &["tag", name]);
        self
    }

    fn annotated_tag(&self, name: &str) -> &Repo {
        git(self.path(), &["tag", "-a", "-m", name, name]);
        self
    }

    fn load(&self, version: &str, previous: Option<&str>) -> Result<ChangeSet, ChangeError> {
        load(self.path(), &Version::parse(version).unwrap(), previous)
    }
}

fn docs() -> ChangeFilter {
    ChangeFilter::new(&["docs/**".to_owned()]).unwrap()
}

/// v1.0.0: docs and src; then `later` changed and tagged v1.1.0.
fn released_twice(later: &[&str]) -> Repo {
    let repo = Repo::new();
    repo.commit(&["docs/index.md", "src/main.rs", "README.md"])
        .tag("v1.0.0")
        .commit(later)
        .tag("v1.1.0");
    repo
}

#[test]
fn docs_changed_since_the_previous_tag_sends_the_target() {
    let repo = released_twice(&["docs/guide.md", "src/main.rs"]);
    let changes = repo.load("1.1.0", None).unwrap();
    assert_eq!(changes.previous(), Some("v1.0.0"));
    assert_eq!(changes.current(), "v1.1.0");
    assert_eq!(changes.files(), ["docs/guide.md", "src/main.rs"]);
    let verdict = changes.verdict(&docs());
    assert!(verdict.sends());
    assert_eq!(
        verdict,
        ChangeVerdict::Changed {
            previous: "v1.0.0".into(),
            patterns: vec!["docs/**".into()],
            matched: vec!["docs/guide.md".into()],
            matched_total: 1,
        }
    );
}

#[test]
fn only_src_changed_skips_the_target_with_a_reason() {
    let repo = released_twice(&["src/main.rs", "src/lib.rs", "README.md"]);
    let verdict = repo.load("v1.1.0", None).unwrap().verdict(&docs());
    assert!(!verdict.sends());
    assert_eq!(
        verdict.reason(),
        "no file matching `docs/**` changed since v1.0.0 (3 files changed, none matching)"
    );
}

#[test]
fn no_earlier_tag_is_a_first_release_which_is_sent_and_says_so() {
    let repo = Repo::new();
    repo.commit(&["src/main.rs"])
        .tag("latest")
        .tag("docs-2024")
        .tag("v1.0.0");
    let changes = repo.load("v1.0.0", None).unwrap();
    assert_eq!(changes.previous(), None);
    let verdict = changes.verdict(&docs());
    assert_eq!(
        verdict,
        ChangeVerdict::FirstRelease {
            current: "v1.0.0".into()
        }
    );
    assert!(verdict.sends());
    assert_eq!(
        verdict.reason(),
        "first release: no release tag before v1.0.0, so it is sent"
    );
}

#[test]
fn a_repository_without_any_tag_or_commit_is_a_first_release() {
    let repo = Repo::new();
    let changes = repo.load("0.1.0", None).unwrap();
    assert_eq!(changes, ChangeSet::first_release("0.1.0"));
}

#[test]
fn the_release_is_its_tag_when_tagged_and_head_before_it_is() {
    let repo = released_twice(&["docs/guide.md"]);
    repo.commit(&["src/main.rs"]);
    let tagged = repo.load("1.1.0", None).unwrap();
    assert_eq!(tagged.current(), "v1.1.0");
    assert_eq!(tagged.files(), ["docs/guide.md"]);
    // The release job often runs before the tag is pushed: compare with HEAD.
    let untagged = repo.load("1.2.0", None).unwrap();
    assert_eq!(
        (untagged.previous(), untagged.current()),
        (Some("v1.1.0"), "HEAD")
    );
    assert_eq!(untagged.files(), ["src/main.rs"]);
}

#[test]
fn previous_version_overrides_the_tags() {
    let repo = released_twice(&["docs/guide.md"]);
    repo.commit(&["src/main.rs"]).tag("v1.2.0");
    assert!(!repo.load("1.2.0", None).unwrap().verdict(&docs()).sends());

    // As a version (the tag has a `v`), as a tag, and as a commit.
    let by_version = repo.load("1.2.0", Some("1.0.0")).unwrap();
    assert_eq!(by_version.previous(), Some("1.0.0"));
    assert!(by_version.verdict(&docs()).sends());
    assert!(repo
        .load("1.2.0", Some("v1.0.0"))
        .unwrap()
        .verdict(&docs())
        .sends());
    let first_commit = git(repo.path(), &["rev-list", "--max-parents=0", "HEAD"]);
    let by_commit = repo.load("1.2.0", Some(&first_commit)).unwrap();
    assert_eq!(by_commit.files(), ["docs/guide.md", "src/main.rs"]);
}

#[test]
fn an_unknown_previous_version_is_an_error_that_says_how_to_fix_it() {
    let repo = released_twice(&["docs/guide.md"]);
    for given in ["0.9.0", "--output=/tmp/x", "nope^{tree}"] {
        let err = repo.load("1.1.0", Some(given)).unwrap_err();
        assert!(
            matches!(&err, ChangeError::UnknownPrevious { given: g, .. } if g == given),
            "{given}: {err}"
        );
    }
    let err = repo.load("1.1.0", Some("0.9.0")).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("the previous version `0.9.0` is neither a tag nor a commit"));
    assert!(err.help().unwrap().contains("fetch-depth: 0"));
}

#[test]
fn a_stable_release_compares_with_the_previous_stable_one_a_pre_release_with_its_own_line() {
    let repo = Repo::new();
    repo.commit(&["docs/index.md", "src/main.rs"])
        .annotated_tag("v1.0.0")
        .commit(&["docs/new-feature.md"])
        .annotated_tag("v1.1.0-rc.1")
        .commit(&["src/main.rs"])
        .annotated_tag("v1.1.0-rc.2")
        .tag("v1.1.0");

    let stable = repo.load("1.1.0", None).unwrap();
    assert_eq!(stable.previous(), Some("v1.0.0"));
    assert!(stable.verdict(&docs()).sends(), "docs changed since 1.0.0");

    let rc2 = repo.load("1.1.0-rc.2", None).unwrap();
    assert_eq!(rc2.previous(), Some("v1.1.0-rc.1"));
    assert!(!rc2.verdict(&docs()).sends(), "only src changed since rc.1");

    let rc1 = repo.load("v1.1.0-rc.1", None).unwrap();
    assert_eq!(rc1.previous(), Some("v1.0.0"));
    assert_eq!(rc1.files(), ["docs/new-feature.md"]);
}

#[test]
fn a_shallow_clone_is_refused_with_the_checkout_setting_that_fixes_it() {
    let origin = released_twice(&["docs/guide.md"]);
    let clone = tempfile::tempdir().unwrap();
    // `file:///C:/...` on Windows, where `file://` and the path would be `file://C:\...`.
    let url = url::Url::from_file_path(origin.path()).unwrap().to_string();
    git(
        clone.path(),
        &["clone", "-q", "--depth", "1", &url, "checkout"],
    );
    let checkout = clone.path().join("checkout");
    let version = Version::parse("1.2.0").unwrap();
    for previous in [None, Some("v1.0.0")] {
        let err = load(&checkout, &version, previous).unwrap_err();
        assert!(matches!(err, ChangeError::ShallowClone { .. }), "{err}");
        assert!(err.to_string().contains("is a shallow clone"));
        assert_eq!(
            err.help().as_deref(),
            Some("fetch tags and history: actions/checkout with fetch-depth: 0")
        );
    }
}

#[test]
fn a_directory_that_is_not_a_repository_is_a_clear_error() {
    let plain = tempfile::tempdir().unwrap();
    let version = Version::parse("1.0.0").unwrap();
    let err = load(plain.path(), &version, None).unwrap_err();
    assert!(matches!(err, ChangeError::NotARepository { .. }), "{err}");
    assert!(err.to_string().contains("is not a git repository"), "{err}");
    assert!(err.help().unwrap().contains("actions/checkout"));

    let missing = plain.path().join("nowhere");
    let err = load(&missing, &version, None).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("is not a git repository (no such directory)"),
        "{err}"
    );
}

#[test]
fn a_missing_git_is_a_clear_error() {
    let repo = Repo::new();
    let git = isolated_git(repo.path()).program("/nonexistent/bin/git");
    let version = Version::parse("1.0.0").unwrap();
    let err = ChangeSet::load_with(&git, &version, None).unwrap_err();
    assert!(matches!(err, ChangeError::GitMissing { .. }), "{err}");
    assert!(err
        .to_string()
        .starts_with("could not run `/nonexistent/bin/git`"));
}

// The stand-in git is a `#!/bin/sh` script: Windows runs no file by its `#!` line.
#[cfg(unix)]
/// Runs a change lookup with `body` as git under a 50 ms limit: it must end with a timeout,
/// long before the script's 60 s sleep would, however loaded the machine. (A machine too slow
/// to start the script in 50 ms still ends with the timeout, which is what is tested.)
fn stopped_at_the_time_limit(name: &str, body: &str) -> ChangeError {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path(), name, body);
    let git = isolated_git(dir.path())
        .program(&script)
        .timeout(Duration::from_millis(50));
    let started = Instant::now();
    let err = ChangeSet::load_with(&git, &Version::parse("1.0.0").unwrap(), None).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{name}: {:?}",
        started.elapsed()
    );
    assert!(matches!(err, ChangeError::Timeout { .. }), "{name}: {err}");
    err
}

// The stand-in git is a `#!/bin/sh` script: Windows runs no file by its `#!` line.
#[cfg(unix)]
#[test]
fn a_git_that_hangs_is_stopped_after_the_time_limit() {
    // Not `exec`: the sleeping grandchild keeps the pipes open after git itself is killed.
    let err = stopped_at_the_time_limit("slow-git", "#!/bin/sh\nsleep 60\n");
    assert!(
        err.to_string().contains("did not finish within 0.05 s"),
        "{err}"
    );
}

// The stand-in git is a `#!/bin/sh` script: Windows runs no file by its `#!` line.
#[cfg(unix)]
#[test]
fn a_git_that_exits_but_leaves_a_process_holding_its_output_is_stopped_at_the_time_limit() {
    // git answers and exits; what it started in the background still holds the pipes.
    stopped_at_the_time_limit("detaching-git", "#!/bin/sh\nsleep 60 &\necho false\n");
}

// The stand-in git is a `#!/bin/sh` script: Windows runs no file by its `#!` line.
#[cfg(unix)]
#[test]
fn a_git_that_closes_its_output_early_and_keeps_running_is_stopped_at_the_time_limit() {
    stopped_at_the_time_limit(
        "closing-git",
        "#!/bin/sh\necho false\nexec >&- 2>&-\nsleep 60\n",
    );
}

// The stand-in git is a `#!/bin/sh` script: Windows runs no file by its `#!` line.
#[cfg(unix)]
#[test]
fn a_git_that_writes_a_lot_is_read_to_its_last_byte() {
    let dir = tempfile::tempdir().unwrap();
    // Megabytes of tags on stdout and of noise on stderr: far past a pipe's buffer, both at once.
    let script = write_script(
        dir.path(),
        "chatty-git",
        "#!/bin/sh\ncase \"$*\" in\n*is-shallow*) echo false ;;\n*for-each-ref*) seq 1 400000 | sed s/^/tag-/; seq 1 400000 >&2; echo v0.9.0 ;;\n*) exit 1 ;;\nesac\n",
    );
    let git = isolated_git(dir.path()).program(&script);
    let version = Version::parse("1.0.0").unwrap();
    // The last line is the only release tag: it is found only if nothing was lost.
    let err = ChangeSet::load_with(&git, &version, None).unwrap_err();
    assert!(
        matches!(&err, ChangeError::UnknownPrevious { given, .. } if given == "v0.9.0"),
        "the last tag was read: {err}"
    );
}

#[test]
fn a_version_that_is_not_semver_needs_the_previous_version() {
    let repo = released_twice(&["docs/guide.md"]);
    let err = repo.load("2024-05", None).unwrap_err();
    assert!(matches!(err, ChangeError::NotSemver { .. }), "{err}");
    assert!(err.help().unwrap().contains("--previous-version"));
    let changes = repo.load("2024-05", Some("v1.0.0")).unwrap();
    assert_eq!(changes.current(), "HEAD");
    assert!(changes.verdict(&docs()).sends());
}

#[test]
fn moving_a_file_out_of_docs_is_a_change_to_docs() {
    let repo = released_twice(&["src/main.rs"]);
    git(repo.path(), &["mv", "docs/index.md", "src/index.md"]);
    repo.commit_all().tag("v1.2.0");
    let changes = repo.load("1.2.0", None).unwrap();
    assert_eq!(changes.files(), ["docs/index.md", "src/index.md"]);
    assert!(changes.verdict(&docs()).sends());
}

// A tab in a file name: Windows file names cannot hold one.
#[cfg(unix)]
#[test]
fn paths_are_from_the_root_and_unquoted_whatever_the_repository_config_says() {
    let repo = released_twice(&["docs/ünïcode name.md", "src/a\tb.rs"]);
    for (key, value) in [
        ("diff.relative", "true"),
        ("color.ui", "always"),
        ("core.quotepath", "true"),
        ("column.ui", "always"),
        ("diff.external", "false"),
    ] {
        git(repo.path(), &["config", key, value]);
    }
    let subdir: PathBuf = repo.path().join("src");
    let changes = load(&subdir, &Version::parse("1.1.0").unwrap(), None).unwrap();
    assert_eq!(changes.previous(), Some("v1.0.0"));
    assert_eq!(changes.files(), ["docs/ünïcode name.md", "src/a\tb.rs"]);
    assert!(changes.verdict(&docs()).sends());
}

// The stand-in git is a `#!/bin/sh` script: Windows runs no file by its `#!` line.
#[cfg(unix)]
fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    crate::support::executable::script(&path, body);
    path
}
