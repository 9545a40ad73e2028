//! Running the real `orchestrator` binary in a clean environment.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// Tokens used by tests: recognisable, so a grep over output finds any leak.
pub const WEBSITE_TOKEN: &str = "ghp_websiteTOKENvalue0000000000000000001";
pub const CLI_TOKEN: &str = "ghp_cliTOKENvalue00000000000000000000002";

/// The binary with an environment that cannot reach anything but loopback and carries no
/// settings or tokens from the developer's shell.
pub fn orchestrator(dir: &Path) -> Command {
    Command::from_std(orchestrator_std(dir))
}

/// The same, as a plain `std::process::Command` (for spawning and signalling).
pub fn orchestrator_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("orchestrator"));
    cmd.current_dir(dir);
    for (name, _) in std::env::vars() {
        let drop = name.starts_with("ORCHESTRATOR_")
            || name.starts_with("GITHUB_")
            || name.ends_with("_TOKEN")
            || name.to_ascii_lowercase().ends_with("_proxy");
        if drop {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A temporary directory holding `dispatch.yaml` with `yaml`.
pub fn config_dir(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dispatch.yaml"), yaml).expect("write config");
    dir
}

/// The repository's own dispatch.yaml, copied into a temporary directory that is a fresh git
/// repository with no tags: its `when.changed` target sees a first release, which is sent.
pub fn example_dir() -> tempfile::TempDir {
    let text = std::fs::read_to_string(repo_file("dispatch.yaml")).expect("example config");
    let dir = config_dir(&text);
    let status = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .expect("git runs");
    assert!(status.success(), "git init");
    dir
}

pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A config with `n` targets named t00, t01, ... all fed by source `app`.
pub fn many_targets(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("t{i:02}")).collect();
    let mut yaml = format!(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    for name in &names {
        yaml.push_str(&format!(
            "  {name}:\n    repository: o/{name}\n    event_type: release\n    token_env: APP_TOKEN\n    client_payload:\n      version: \"{{{{version}}}}\"\n"
        ));
    }
    yaml
}
