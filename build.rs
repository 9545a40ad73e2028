//! Names the commit a binary was built from in `orchestrator --version`, when it is known:
//! `ORCHESTRATOR_BUILD_COMMIT` (the release workflow sets it), else the `.cargo_vcs_info.json`
//! that `cargo package` writes into a published crate, else `git` in this checkout. A build from
//! anywhere else (a tarball, no git) prints the version alone.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ORCHESTRATOR_BUILD_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&dir);
    let commit = std::env::var("ORCHESTRATOR_BUILD_COMMIT")
        .ok()
        .or_else(|| packaged_commit(dir))
        .or_else(|| git_commit(dir))
        .map(|c| c.trim().chars().take(12).collect::<String>())
        .filter(|c| c.len() >= 7 && c.chars().all(|ch| ch.is_ascii_hexdigit()));
    let suffix = commit.map(|c| format!(" ({c})")).unwrap_or_default();
    println!("cargo:rustc-env=ORCHESTRATOR_VERSION_SUFFIX={suffix}");
}

fn packaged_commit(dir: &Path) -> Option<String> {
    let path = dir.join(".cargo_vcs_info.json");
    // Only if it exists: Cargo reruns a build script on every build for a missing path.
    rerun_if_exists(dir, ".cargo_vcs_info.json");
    let text = std::fs::read_to_string(path).ok()?;
    // {"git": {"sha1": "<40 hex>", ...}, ...}: small enough not to need a JSON parser here.
    let rest = &text[text.find("\"sha1\"")? + 6..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_owned())
}

/// Only a checkout of this crate itself: a packaged copy under `target/package/` would
/// otherwise report the commit of whatever repository encloses it.
fn git_commit(dir: &Path) -> Option<String> {
    if !dir.join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs.
    for name in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            rerun_if_exists(dir, &path);
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &branch]) {
            rerun_if_exists(dir, &path);
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}

fn rerun_if_exists(dir: &Path, path: &str) {
    let path = dir.join(path);
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
