//! A fake GitHub release on 127.0.0.1: this checkout's binary packed as the release workflow
//! packs it, a SHA256SUMS for it, and a static file server whose replies a test scripts.

use crate::support::cli::repo_file;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const VERSION: &str = "9.8.7";

/// The asset name install.sh picks on this machine.
pub fn host_target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => Some("x86_64-apple-darwin"),
        ("macos", "aarch64") => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

pub fn asset_name() -> String {
    format!("orchestrator-{}.tar.gz", host_target().unwrap())
}

/// The release: (the binary packed, orchestrator-<target>.tar.gz packed as the release workflow
/// packs it), made once per test run. The debug binary is stripped first when `strip` is there
/// (143 MB to 26 MB), so each test moves a few MB, not a hundred.
pub fn release() -> &'static (Vec<u8>, Vec<u8>) {
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
        // Packed as the workflow packs it, compressed at gzip's fastest level: the same format,
        // a fifth of the CPU time of the default level for a 26 MB binary.
        let tar = stage.path().join("asset.tar");
        let status = Command::new("tar")
            .arg("-cf")
            .arg(&tar)
            .arg("-C")
            .arg(stage.path())
            .args(["orchestrator", "README.md", "LICENSE"])
            .status()
            .unwrap();
        assert!(status.success(), "tar");
        let status = Command::new("gzip").arg("-1").arg(&tar).status().unwrap();
        assert!(status.success(), "gzip");
        let archive = stage.path().join("asset.tar.gz");
        (
            std::fs::read(binary).unwrap(),
            std::fs::read(archive).unwrap(),
        )
    })
}

pub fn asset() -> &'static [u8] {
    &release().1
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// The asset's SHA-256, computed once per test run (hashing megabytes in an unoptimised test
/// build takes a noticeable fraction of a second each time).
pub fn asset_sha256() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| sha256_hex(asset()))
}

/// A SHA256SUMS that vouches for the release's asset (and lists another).
pub fn sums() -> Vec<u8> {
    sums_vouching(asset_sha256())
}

/// A SHA256SUMS that vouches for `archive` as this machine's asset: what a release whose
/// workflow (or whose attacker) published that archive would hold.
pub fn sums_for(archive: &[u8]) -> Vec<u8> {
    sums_vouching(&sha256_hex(archive))
}

fn sums_vouching(hash: &str) -> Vec<u8> {
    format!(
        "{}  orchestrator-x86_64-pc-windows-msvc.zip\n{hash}  {}\n",
        sha256_hex(b"another asset"),
        asset_name()
    )
    .into_bytes()
}

/// `orchestrator-<target>.tar.gz` made by `script`, run by `sh` in a directory holding the
/// release's binary as `bin`, a `README.md` and an `elsewhere/` directory; the script leaves
/// `asset.tar` there, which is gzipped.
pub fn archive_made_by(script: &str) -> Vec<u8> {
    let stage = tempfile::tempdir().unwrap();
    std::fs::write(stage.path().join("bin"), &release().0).unwrap();
    std::fs::write(stage.path().join("README.md"), "readme").unwrap();
    std::fs::create_dir(stage.path().join("elsewhere")).unwrap();
    let status = Command::new("sh")
        .args(["-ec", script])
        .current_dir(stage.path())
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
    let status = Command::new("gzip")
        .arg("-1")
        .arg(stage.path().join("asset.tar"))
        .status()
        .unwrap();
    assert!(status.success(), "gzip");
    std::fs::read(stage.path().join("asset.tar.gz")).unwrap()
}

/// One scripted answer of the fake release server.
#[derive(Clone)]
pub enum Answer {
    /// This status, and the whole body.
    Full(u16, Vec<u8>),
    /// A 200 announcing the whole body (its Content-Length) that sends only its first `sent`
    /// bytes, then closes the connection.
    CutOff { body: Vec<u8>, sent: usize },
    /// A 200 announcing the whole body that sends its first `sent` bytes, then nothing for
    /// `stall`, then closes.
    Stalled {
        body: Vec<u8>,
        sent: usize,
        stall: Duration,
    },
}

type Replies = HashMap<String, VecDeque<Answer>>;

/// A static file server on 127.0.0.1: each path answers its scripted replies in order, the last
/// one for good; anything else is a 404. It records every path asked for.
pub struct Releases {
    pub base: String,
    replies: Arc<Mutex<Replies>>,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Releases {
    /// A release v9.8.7 with this machine's asset and a SHA256SUMS that vouches for it.
    pub fn published() -> Self {
        let releases = Self::empty();
        releases.serve("SHA256SUMS", [(200, sums())]);
        releases.serve(&asset_name(), [(200, asset().to_vec())]);
        releases
    }

    pub fn empty() -> Self {
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
                    // A thread each, so an answer that stalls does not hold up the retry.
                    let (r, a) = (r.clone(), a.clone());
                    std::thread::spawn(move || answer(stream, &r, &a));
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

    pub fn serve<const N: usize>(&self, file: &str, replies: [(u16, Vec<u8>); N]) {
        self.reply(
            file,
            replies.map(|(status, body)| Answer::Full(status, body)),
        );
    }

    /// Each request for `file` gets the next of `answers`, the last one for good.
    pub fn reply(&self, file: &str, answers: impl IntoIterator<Item = Answer>) {
        self.replies.lock().unwrap().insert(
            format!("/releases/download/v{VERSION}/{file}"),
            answers.into_iter().collect(),
        );
    }

    pub fn requests_for(&self, file: &str) -> usize {
        let path = format!("/releases/download/v{VERSION}/{file}");
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|p| **p == path)
            .count()
    }

    pub fn requests(&self) -> usize {
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
    let answer = {
        let mut replies = replies.lock().unwrap();
        match replies.get_mut(&path) {
            Some(queue) if queue.len() > 1 => queue.pop_front().unwrap(),
            Some(queue) => queue.front().cloned().unwrap(),
            None => Answer::Full(404, b"Not Found".to_vec()),
        }
    };
    let (status, body, sent, stall) = match &answer {
        Answer::Full(status, body) => (*status, body, body.len(), None),
        Answer::CutOff { body, sent } => (200, body, *sent, None),
        Answer::Stalled { body, sent, stall } => (200, body, *sent, Some(*stall)),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body[..sent.min(body.len())]);
    let _ = stream.flush();
    if let Some(stall) = stall {
        std::thread::sleep(stall);
    }
}
