//! `when.changed`: a target is sent only when matching files changed since the previous
//! release tag, compared with git in a checkout of the source repository.

use crate::support::cli::{config_dir, Cli};
use crate::support::git::git;
use serde_json::Value;
use std::path::Path;

const CONFIG: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [website, cli]}
targets:
  website:
    repository: o/website
    event_type: upstream-release
    token_env: APP_TOKEN
    when:
      changed: ["docs/**"]
  cli:
    repository: o/cli
    event_type: server-release
    token_env: APP_TOKEN
"#;

fn commit(dir: &Path, file: &str, tag: Option<&str>) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        format!("{file}\n{:?}\n", std::time::SystemTime::now()),
    )
    .unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", file]);
    if let Some(tag) = tag {
        git(dir, &["tag", tag]);
    }
}

/// A fresh repository whose `origin` names the source, o/app.
fn source_repository() -> tempfile::TempDir {
    let dir = config_dir(CONFIG);
    git(dir.path(), &["init", "-q"]);
    git(
        dir.path(),
        &["remote", "add", "origin", "https://github.com/o/app.git"],
    );
    dir
}

/// A checkout with v1.0.0, then a change to `file` tagged v1.1.0.
fn checkout(file: &str) -> tempfile::TempDir {
    let dir = source_repository();
    commit(dir.path(), "README.md", Some("v1.0.0"));
    commit(dir.path(), file, Some("v1.1.0"));
    dir
}

fn plan(dir: &Path, version: &str, extra: &[&str]) -> (i32, Value) {
    let ran = Cli::in_dir(dir)
        .release("app", version)
        .arg("--dry-run")
        .json()
        .args(extra)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output();
    let report = if ran.code == 0 {
        ran.json()
    } else {
        serde_json::from_str(&ran.stdout).unwrap_or(Value::Null)
    };
    (ran.code, report)
}

fn outcome<'a>(report: &'a Value, target: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == target)
        .unwrap()
}

#[test]
fn a_docs_change_since_the_previous_tag_sends_the_website() {
    let dir = checkout("docs/guide.md");
    let (code, report) = plan(dir.path(), "1.1.0", &[]);
    assert_eq!(code, 0);
    let website = outcome(&report, "website");
    assert_eq!(website["outcome"], "planned");
    let note = website["note"].as_str().unwrap();
    assert!(
        note.contains("docs/guide.md") && note.contains("v1.0.0"),
        "{note}"
    );
}

#[test]
fn no_docs_change_skips_the_website_and_says_why_while_others_are_sent() {
    let dir = checkout("src/main.rs");
    let (code, report) = plan(dir.path(), "1.1.0", &[]);
    assert_eq!(code, 0);
    let website = outcome(&report, "website");
    assert_eq!(website["outcome"], "skipped");
    let reason = website["reason"].as_str().unwrap();
    assert!(
        reason.contains("docs/**") && reason.contains("v1.0.0"),
        "{reason}"
    );
    assert_eq!(outcome(&report, "cli")["outcome"], "planned");
}

#[test]
fn a_first_release_is_sent_and_said_so() {
    let dir = source_repository();
    commit(dir.path(), "src/lib.rs", Some("v0.1.0"));
    let (code, report) = plan(dir.path(), "0.1.0", &[]);
    assert_eq!(code, 0);
    let website = outcome(&report, "website");
    assert_eq!(website["outcome"], "planned");
    assert!(website["note"].as_str().unwrap().contains("first release"));
}

#[test]
fn previous_version_overrides_the_tag_search() {
    let dir = checkout("src/main.rs");
    commit(dir.path(), "docs/late.md", Some("v1.2.0"));
    // 1.2.0 against the tag before it (v1.1.0): docs changed. 1.1.0 against v1.0.0: only src.
    let (_, report) = plan(dir.path(), "1.2.0", &[]);
    assert_eq!(outcome(&report, "website")["outcome"], "planned");
    let (_, report) = plan(dir.path(), "1.1.0", &["--previous-version", "v1.0.0"]);
    assert_eq!(outcome(&report, "website")["outcome"], "skipped");
}

/// A clone of a local mirror: its `origin` is a path, which names no GitHub repository.
fn clone_of_a_local_mirror() -> tempfile::TempDir {
    let dir = checkout("src/main.rs");
    git(
        dir.path(),
        &["remote", "set-url", "origin", "/srv/git/app.git"],
    );
    dir
}

#[test]
fn a_real_run_in_a_checkout_that_names_no_repository_refuses_and_sends_nothing() {
    let dir = clone_of_a_local_mirror();
    let github = crate::support::FakeGitHub::start();
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.1.0")
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(github.requests().is_empty());
    assert_eq!(
        ran.stderr,
        "error: cannot tell which repository this checkout (`.`) is: its `origin` remote `/srv/git/app.git` names no GitHub repository, and GITHUB_REPOSITORY is unset; nothing was sent\n  help: point --repo-dir at a checkout of o/app, or set GITHUB_REPOSITORY=o/app\n"
    );
}

#[test]
fn a_real_run_in_a_checkout_without_origin_refuses_too_unless_github_repository_names_it() {
    let dir = checkout("docs/guide.md");
    git(dir.path(), &["remote", "remove", "origin"]);
    let github = crate::support::FakeGitHub::start();
    let refused = Cli::in_dir(dir.path())
        .release("app", "1.1.0")
        .against(&github)
        .app_token()
        .output();
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains("it has no `origin` remote, and GITHUB_REPOSITORY is unset"),
        "{}",
        refused.stderr
    );
    assert!(github.requests().is_empty());
    let (code, report) = plan(dir.path(), "1.1.0", &[]);
    assert_eq!(code, 0);
    assert_eq!(outcome(&report, "website")["outcome"], "planned");
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.1.0")
        .arg("--dry-run")
        .json()
        .env("GITHUB_REPOSITORY", "o/app")
        .output();
    let website = outcome(&ran.json(), "website").clone();
    assert!(
        website["note"].as_str().unwrap().contains("docs/guide.md"),
        "{website}"
    );
}

#[test]
fn a_dry_run_in_a_checkout_that_names_no_repository_lists_the_target_as_undecided() {
    let dir = clone_of_a_local_mirror();
    let (code, report) = plan(dir.path(), "1.1.0", &[]);
    assert_eq!(code, 0);
    let website = outcome(&report, "website");
    assert_eq!(website["outcome"], "planned");
    assert_eq!(
        website["note"],
        "when.changed (`docs/**`) not decided: cannot tell which repository this checkout (`.`) is: its `origin` remote `/srv/git/app.git` names no GitHub repository, and GITHUB_REPOSITORY is unset; a real run refuses"
    );
}

#[test]
fn outside_a_git_checkout_only_the_targets_that_need_git_fail_and_say_how_to_fix_it() {
    let dir = config_dir(CONFIG);
    let github = crate::support::FakeGitHub::start();
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .json()
        .against(&github)
        .app_token()
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(github.requests_to("/repos/o/cli/dispatches").len(), 1);
    assert!(github.requests_to("/repos/o/website/dispatches").is_empty());
    assert!(
        ran.stderr
            .contains("warning: cannot tell which files changed"),
        "{}",
        ran.stderr
    );
    let website = ran.target("website");
    assert_eq!(website["outcome"], "failed");
    assert_eq!(website["attempts"], 0);
    assert_eq!(
        website["hint"],
        "run orchestrator in a checkout of the source repository (actions/checkout)"
    );
}

#[test]
fn a_dry_run_without_git_history_still_shows_the_plan_and_says_what_is_undecided() {
    let dir = config_dir(CONFIG);
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .arg("--dry-run")
        .json()
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let stderr = &ran.stderr;
    assert!(
        stderr.contains("warning: cannot tell which files changed"),
        "{stderr}"
    );
    let report = ran.json();
    let website = outcome(&report, "website");
    assert_eq!(website["outcome"], "planned");
    assert!(
        website["note"].as_str().unwrap().contains("not decided"),
        "{website}"
    );
}

#[test]
fn validate_checks_the_globs_without_git() {
    let dir = config_dir(&CONFIG.replace("[\"docs/**\"]", "[\"docs/[abc\", \"/site/**\"]"));
    let ran = Cli::in_dir(dir.path()).arg("validate").json().output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    let report = ran.json();
    let paths: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "targets.website.when.changed[0]",
            "targets.website.when.changed[1]"
        ]
    );
}
