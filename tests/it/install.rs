//! scripts/install.sh, run by `dash` (Debian's `sh`, stricter than bash) against a loopback
//! server holding a fake release made from this checkout's binary: it installs only what its
//! SHA256SUMS vouches for, retries what is transient, and on every failure installs nothing.

use crate::support::cli::repo_file;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const VERSION: &str = "9.8.7";

/// The asset name install.sh picks on this machine.
fn host_target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => Some("x86_64-apple-darwin"),
        ("macos", "aarch64") => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

fn asset_name() -> String {
    format!("orchestrator-{}.tar.gz", host_target().unwrap())
}

/// The release: (the binary packed, orchestrator-<target>.tar.gz packed as the release workflow
/// packs it), made once per test run. The debug binary is stripped first when `strip` is there
/// (143 MB to 26 MB), so each test moves a few MB, not a hundred.
fn release() -> &'static (Vec<u8>, Vec<u8>) {
    static RELEASE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let stage = tempfile::tempdir().unwrap();
        let built = assert_cmd::cargo::cargo_bin("orchestrator");
        let binary = stage.path().join("orchestrator");
        let stripped = Command::new("strip")
            .arg("-o")
            .arg(&binary)
            .arg(&built)
            .status()
            .is_ok_and(|s| s.success());
        if !stripped {
            std::fs::copy(&built, &binary).unwrap();
        }
        std::fs::copy(repo_file("README.md"), stage.path().join("README.md")).unwrap();
        std::fs::copy(repo_file("LICENSE"), stage.path().join("LICENSE")).unwrap();
        let archive = stage.path().join("asset.tar.gz");
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(stage.path())
            .args(["orchestrator", "README.md", "LICENSE"])
            .status()
            .unwrap();
        assert!(status.success(), "tar");
        (
            std::fs::read(binary).unwrap(),
            std::fs::read(archive).unwrap(),
        )
    })
}

fn asset() -> &'static [u8] {
    &release().1
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sums_for(asset: &[u8]) -> Vec<u8> {
    format!(
        "{}  orchestrator-x86_64-pc-windows-msvc.zip\n{}  {}\n",
        sha256_hex(b"another asset"),
        sha256_hex(asset),
        asset_name()
    )
    .into_bytes()
}

type Replies = HashMap<String, VecDeque<(u16, Vec<u8>)>>;

/// A static file server on 127.0.0.1: each path answers its scripted replies in order, the last
/// one for good; anything else is a 404. It records every path asked for.
struct Releases {
    base: String,
    replies: Arc<Mutex<Replies>>,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Releases {
    /// A release v9.8.7 with this machine's asset and a SHA256SUMS that vouches for it.
    fn published() -> Self {
        let releases = Self::empty();
        releases.serve("SHA256SUMS", [(200, sums_for(asset()))]);
        releases.serve(&asset_name(), [(200, asset().to_vec())]);
        releases
    }

    fn empty() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!(
            "http://{}/releases/download",
            listener.local_addr().unwrap()
        );
        let replies: Arc<Mutex<Replies>> = Arc::default();
        let asked: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, a, s) = (replies.clone(), asked.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    answer(stream, &r, &a);
                }
            }
        });
        Self {
            base,
            replies,
            asked,
            stop,
        }
    }

    fn serve<const N: usize>(&self, file: &str, replies: [(u16, Vec<u8>); N]) {
        self.replies.lock().unwrap().insert(
            format!("/releases/download/v{VERSION}/{file}"),
            replies.into_iter().collect(),
        );
    }

    fn requests_for(&self, file: &str) -> usize {
        let path = format!("/releases/download/v{VERSION}/{file}");
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|p| **p == path)
            .count()
    }

    fn requests(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

impl Drop for Releases {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let addr = self.base.trim_start_matches("http://");
        let _ = TcpStream::connect(addr.split('/').next().unwrap());
    }
}

fn answer(mut stream: TcpStream, replies: &Mutex<Replies>, asked: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    asked.lock().unwrap().push(path.clone());
    let (status, body) = {
        let mut replies = replies.lock().unwrap();
        match replies.get_mut(&path) {
            Some(queue) if queue.len() > 1 => queue.pop_front().unwrap(),
            Some(queue) => queue.front().cloned().unwrap(),
            None => (404, b"Not Found".to_vec()),
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// `dash scripts/install.sh ARGS` with a clean environment aimed at `releases`.
fn install(releases: &Releases, to: &Path, args: &[&str]) -> Option<Output> {
    let Some(dash) = dash() else {
        eprintln!("skipped: dash is not installed (apt-get install -y dash)");
        return None;
    };
    if host_target().is_none() {
        eprintln!("skipped: no release asset for this machine's OS/arch");
        return None;
    }
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
    Some(cmd.output().unwrap())
}

fn install_with(
    releases: &Releases,
    to: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Option<Output> {
    let dash = dash()?;
    let mut cmd = Command::new(dash);
    cmd.arg(repo_file("scripts/install.sh"))
        .args(["--version", VERSION, "--to"])
        .arg(to)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", std::env::temp_dir())
        .env("ORCHESTRATOR_RELEASE_URL", &releases.base)
        .env("ORCHESTRATOR_RETRY_DELAY", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Some(cmd.output().unwrap())
}

fn dash() -> Option<PathBuf> {
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
        sha256_hex(asset())
    );
    let twice = format!(
        "{0}  {1}\n{2}  {1}\n",
        sha256_hex(asset()),
        asset_name(),
        sha256_hex(b"x")
    );
    let truncated = format!("{}  {}\n", &sha256_hex(asset())[..63], asset_name());
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
    releases.serve("SHA256SUMS", [(200, sums_for(asset()))]);
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

    std::fs::write(&pinned, sums_for(asset())).unwrap();
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
            eprintln!("skipped: dash is not installed");
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
    releases.serve("SHA256SUMS", [(200, sums_for(asset()))]);
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
