//! A newcomer's first hour (issue 14): every message they meet says the right thing, once,
//! where they look.

use crate::support::cli::{config_dir, repo_file, Cli};
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A fresh clone of orchestrator: its own dispatch.yaml, an `origin` remote, and release tags
/// of its own (which say nothing about dot-ai's docs).
fn orchestrator_clone() -> tempfile::TempDir {
    let dir = config_dir(&std::fs::read_to_string(repo_file("dispatch.yaml")).unwrap());
    git(dir.path(), &["init", "-q"]);
    git(
        dir.path(),
        &["remote", "add", "origin", "https://github.com/<owner>/orchestrator.git"],
    );
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "first"]);
    git(dir.path(), &["tag", "v0.1.0"]);
    std::fs::write(dir.path().join("src.rs"), "fn main() {}\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "second"]);
    dir
}

/// The README's "Set up" section: its first command and the output shown under it.
fn readme_first_command() -> (Vec<String>, String) {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let command = readme
        .lines()
        .find_map(|l| l.strip_prefix("cargo run -- "))
        .unwrap();
    let command = command.split('#').next().unwrap();
    let args = command.split_whitespace().map(str::to_owned).collect();
    let after = readme.split("The first command prints").nth(1).unwrap();
    let block = after.split("```text\n").nth(1).unwrap();
    let shown = block.split("```").next().unwrap().to_owned();
    (args, shown)
}

#[test]
fn the_readme_first_command_prints_what_the_readme_shows_whatever_tags_the_clone_has() {
    let clone = orchestrator_clone();
    let (args, shown) = readme_first_command();
    let ran = Cli::in_dir(clone.path()).args(&args).output();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, shown);
    assert_eq!(
        ran.stderr,
        "warning: cannot tell which files changed: the checkout at `.` is <owner>/orchestrator, not the source's repository vfarcic/dot-ai\n"
    );
}

#[test]
fn a_real_run_in_a_checkout_of_another_repository_refuses_and_points_at_repo_dir() {
    let clone = orchestrator_clone();
    let ran = Cli::in_dir(clone.path())
        .release("dot-ai", "1.2.3")
        .dot_ai_tokens()
        .output();
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr,
        "error: cannot tell which files changed: the checkout at `.` is <owner>/orchestrator, not the source's repository vfarcic/dot-ai; nothing was sent\n  help: run in a checkout of the source repository, or point --repo-dir at one\n"
    );
}
