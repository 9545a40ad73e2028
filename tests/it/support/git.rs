//! Git as the tests run it, and as they have the library run it: no system or user
//! configuration, no repository above the temporary directory, none named by a hook's
//! environment, no signing. Set per command: changing this process's environment would race
//! every other test thread.

use std::path::Path;
use std::process::Command;

/// The environment every git a test starts gets (`None`: removed).
pub const GIT_ENV: [(&str, Option<&str>); 5] = [
    ("GIT_CONFIG_NOSYSTEM", Some("1")),
    ("GIT_CONFIG_GLOBAL", Some("/dev/null")),
    ("GIT_DIR", None),
    ("GIT_WORK_TREE", None),
    ("GIT_INDEX_FILE", None),
];

/// Runs `git ARGS` in `dir`, isolated as [`GIT_ENV`] says, and returns its trimmed stdout;
/// fails the test with git's stderr if git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let mut command = Command::new("git");
    for (name, value) in GIT_ENV {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let out = command
        .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir())
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
