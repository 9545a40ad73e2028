//! scripts/install.sh, run by `dash` (Debian's `sh`, stricter than bash) against a loopback
//! server holding a fake release made from this checkout's binary: it installs only what its
//! SHA256SUMS vouches for, retries what is transient, and on every failure installs nothing.
//! `hostile` holds what a broken network or a hostile release can hand it.

pub mod fake_release;
mod hostile;

use crate::support::cli::repo_file;
use fake_release::{
    asset, asset_name, asset_sha256, host_target, release, sha256_hex, sums, Releases, VERSION,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `dash scripts/install.sh --version 9.8.7 --to DIR ARGS` with a clean environment aimed at
/// `releases`, three download attempts and no pause between them; None (the test is skipped,
/// saying why) without dash or without a release asset for this machine.
fn install(releases: &Releases, to: &Path, args: &[&str]) -> Option<Output> {
    if host_target().is_none() {
        eprintln!("skipped: no release asset for this machine's OS/arch");
        return None;
    }
    install_with(releases, to, args, &[])
}

fn install_with(
    releases: &Releases,
    to: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Option<Output> {
    let Some(dash) = dash() else {
        eprintln!("skipped: dash is not installed (apt-get install -y dash)");
        return None;
    };
    let mut cmd = Command::new(dash);
    cmd.arg(repo_file("scripts/install.sh"))
        .args(["--version", VERSION, "--to"])
        .arg(to)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", to)
        .env("TMPDIR", std::env::temp_dir())
        .env("ORCHESTRATOR_RELEASE_URL", &releases.base)
        .env("ORCHESTRATOR_RETRY_DELAY", "0")
        .env("ORCHESTRATOR_DOWNLOAD_ATTEMPTS", "3");
    for (name, value) in env {
        cmd.env(name, value);
    }
    Some(cmd.output().unwrap())
}

pub fn dash() -> Option<PathBuf> {
    ["/usr/bin/dash", "/bin/dash"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a user would find in the install directory: names of everything there.
fn contents(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A directory that already holds an older orchestrator: a failed install must leave it as is.
fn bin_with_old_orchestrator() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orchestrator"), "old").unwrap();
    dir
}

fn assert_nothing_installed(dir: &Path, output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    assert_eq!(contents(dir), ["orchestrator"], "{}", stderr(output));
    assert_eq!(
        std::fs::read_to_string(dir.join("orchestrator")).unwrap(),
        "old",
        "the previous orchestrator was replaced"
    );
}

#[test]
fn installs_the_verified_release_binary_and_it_runs() {
    let releases = Releases::published();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    let Some(output) = install(&releases, &bin, &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("verified"), "{}", stderr(&output));
    assert_eq!(contents(&bin), ["orchestrator"]);
    let version = Command::new(bin.join("orchestrator"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    let printed = String::from_utf8_lossy(&version.stdout);
    assert!(
        printed.starts_with(&format!("orchestrator {}", env!("CARGO_PKG_VERSION"))),
        "{printed}"
    );
}

#[test]
fn an_install_replaces_an_older_orchestrator() {
    let releases = Releases::published();
    let bin = bin_with_old_orchestrator();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(contents(bin.path()), ["orchestrator"]);
    let installed = std::fs::read(bin.path().join("orchestrator")).unwrap();
    assert!(
        installed == release().0,
        "the installed binary is not the released one"
    );
}

#[test]
fn a_tampered_asset_is_refused_with_exit_5() {
    let releases = Releases::published();
    let mut tampered = asset().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    releases.serve(&asset_name(), [(200, tampered)]);
    let bin = bin_with_old_orchestrator();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_nothing_installed(bin.path(), &output, 5);
    assert!(
        stderr(&output).contains("does not match SHA256SUMS"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_sha256sums_without_a_right_line_for_the_asset_is_refused_with_exit_5() {
    let wrong_hash = format!("{}  {}\n", sha256_hex(b"something else"), asset_name());
    let other_asset_only = format!(
        "{}  orchestrator-riscv64-unknown-linux-musl.tar.gz\n",
        asset_sha256()
    );
    let twice = format!(
        "{0}  {1}\n{2}  {1}\n",
        asset_sha256(),
        asset_name(),
        sha256_hex(b"x")
    );
    let truncated = format!("{}  {}\n", &asset_sha256()[..63], asset_name());
    for sums in [wrong_hash, other_asset_only, twice, truncated] {
        let releases = Releases::published();
        releases.serve("SHA256SUMS", [(200, sums.clone().into_bytes())]);
        let bin = bin_with_old_orchestrator();
        let Some(output) = install(&releases, bin.path(), &[]) else {
            return;
        };
        assert_nothing_installed(bin.path(), &output, 5);
        assert!(stderr(&output).contains("SHA256SUMS"), "{sums}");
    }
}

#[test]
fn a_missing_asset_is_exit_4_without_retries() {
    let releases = Releases::empty();
    releases.serve("SHA256SUMS", [(200, sums())]);
    let bin = bin_with_old_orchestrator();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_nothing_installed(bin.path(), &output, 4);
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    assert_eq!(releases.requests_for(&asset_name()), 1, "a 404 is final");
}

#[test]
fn a_server_error_is_retried_and_then_the_install_succeeds() {
    let releases = Releases::published();
    releases.serve(
        &asset_name(),
        [(500, b"oops".to_vec()), (200, asset().to_vec())],
    );
    let bin = tempfile::tempdir().unwrap();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("retrying"), "{}", stderr(&output));
    assert_eq!(releases.requests_for(&asset_name()), 2);
    assert_eq!(contents(bin.path()), ["orchestrator"]);
}

#[test]
fn a_server_that_keeps_failing_is_exit_4_after_a_bounded_number_of_attempts() {
    let releases = Releases::published();
    releases.serve(&asset_name(), [(503, b"down".to_vec())]);
    let bin = bin_with_old_orchestrator();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_nothing_installed(bin.path(), &output, 4);
    assert_eq!(
        releases.requests_for(&asset_name()),
        3,
        "ORCHESTRATOR_DOWNLOAD_ATTEMPTS=3"
    );
}

#[test]
fn a_checksum_pinned_in_the_repository_must_match_too() {
    let releases = Releases::published();
    let pins = tempfile::tempdir().unwrap();
    let pinned = pins.path().join("v9.8.7.sha256");
    std::fs::write(
        &pinned,
        format!("{}  {}\n", sha256_hex(b"what was released"), asset_name()),
    )
    .unwrap();
    let bin = bin_with_old_orchestrator();
    let Some(output) = install(
        &releases,
        bin.path(),
        &["--checksums", pinned.to_str().unwrap()],
    ) else {
        return;
    };
    assert_nothing_installed(bin.path(), &output, 5);
    assert!(
        stderr(&output).contains("pinned checksums"),
        "{}",
        stderr(&output)
    );

    std::fs::write(&pinned, sums()).unwrap();
    let output = install(
        &releases,
        bin.path(),
        &["--checksums", pinned.to_str().unwrap()],
    )
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_unsupported_os_or_cpu_is_exit_3_and_downloads_nothing() {
    let releases = Releases::published();
    let cases = [
        [
            ("ORCHESTRATOR_OS", "Plan9"),
            ("ORCHESTRATOR_ARCH", "x86_64"),
        ],
        [
            ("ORCHESTRATOR_OS", "Linux"),
            ("ORCHESTRATOR_ARCH", "riscv64"),
        ],
        [
            ("ORCHESTRATOR_OS", "MINGW64_NT-10.0"),
            ("ORCHESTRATOR_ARCH", "aarch64"),
        ],
    ];
    for env in cases {
        let bin = bin_with_old_orchestrator();
        let Some(output) = install_with(&releases, bin.path(), &[], &env) else {
            return;
        };
        assert_nothing_installed(bin.path(), &output, 3);
        assert!(
            stderr(&output).contains("no prebuilt orchestrator for"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(releases.requests(), 0);
}

#[test]
fn the_os_and_cpu_overrides_pick_the_named_asset() {
    let releases = Releases::empty();
    releases.serve("SHA256SUMS", [(200, sums())]);
    let bin = tempfile::tempdir().unwrap();
    let env = [
        ("ORCHESTRATOR_OS", "Darwin"),
        ("ORCHESTRATOR_ARCH", "arm64"),
    ];
    let Some(output) = install_with(&releases, bin.path(), &[], &env) else {
        return;
    };
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("orchestrator-aarch64-apple-darwin.tar.gz"),
        "{}",
        stderr(&output)
    );
    assert!(contents(bin.path()).is_empty());
}

#[test]
fn no_version_or_an_unknown_option_is_exit_2() {
    let Some(dash) = dash() else {
        return;
    };
    let script = repo_file("scripts/install.sh");
    let no_version = Command::new(&dash).arg(&script).output().unwrap();
    assert_eq!(no_version.status.code(), Some(2));
    assert!(stderr(&no_version).contains("--version"));
    let unknown = Command::new(&dash)
        .arg(&script)
        .args(["--version", "1.0.0", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("--frobnicate"));
}

/// The repository's home is written down twice: Cargo.toml's `repository` (for cargo-binstall
/// and crates.io) and install.sh's default download URL. They must name the same place.
#[test]
fn the_default_download_url_is_the_crates_repository() {
    let manifest = std::fs::read_to_string(repo_file("Cargo.toml")).unwrap();
    let repository = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("Cargo.toml names its repository");
    let script = std::fs::read_to_string(repo_file("scripts/install.sh")).unwrap();
    assert!(
        script.contains(&format!(
            "RELEASE_URL=${{ORCHESTRATOR_RELEASE_URL:-{repository}/releases/download}}"
        )),
        "install.sh downloads from somewhere other than {repository}"
    );
}

#[test]
fn an_install_into_a_directory_not_on_path_says_the_line_that_adds_it() {
    let releases = Releases::published();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    let Some(output) = install(&releases, &bin, &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let bin = bin.display();
    assert!(
        stderr(&output).ends_with(&format!(
            "as {bin}/orchestrator\norchestrator install: note: {bin} is not on your PATH; add it (e.g. in ~/.profile): export PATH=\"{bin}:$PATH\"\n"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_install_into_a_directory_on_path_says_nothing_more() {
    let releases = Releases::published();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    let path = format!(
        "/usr/local/bin:{}/:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    if host_target().is_none() {
        return;
    }
    let Some(output) = install_with(&releases, &bin, &[], &[("PATH", &path)]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("PATH"), "{}", stderr(&output));
    assert!(
        stderr(&output).ends_with(&format!("as {}/orchestrator\n", bin.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_install_in_github_actions_says_how_to_add_the_directory_for_later_steps() {
    let releases = Releases::published();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    if host_target().is_none() {
        return;
    }
    let Some(output) = install_with(&releases, &bin, &[], &[("GITHUB_ACTIONS", "true")]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).ends_with(&format!(
            "note: {} is not on PATH; for the job's later steps: echo \"{}\" >> \"$GITHUB_PATH\"\n",
            bin.display(),
            bin.display()
        )),
        "{}",
        stderr(&output)
    );
}
