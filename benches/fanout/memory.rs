//! Memory under answers as large as the read caps allow: the peak RSS
//! of `orchestrator run --wait` following `repos` tracked repositories, and of
//! `orchestrator check` on `repos` targets, against a loopback server whose every answer is as
//! large as the client will read.
//!
//! - `run --wait`: every `GET .../actions/runs` page holds 100 runs whose `display_title`s fill
//!   the page to `page_bytes`, none carrying a dispatch id, and says `total_count: 100000`, so
//!   every poll of every repository reads as many pages as the client allows.
//! - `check`: the repository, the workflow list and the `.github/workflows` listing (1,000
//!   entries with long names) are each about `answer_bytes`, and each repository has three
//!   workflow files of about `answer_bytes` (base64) whose YAML listens for the event with one
//!   long `run:` line.
//!
//! The answers are built once and shared; the server counts reads and bytes sent.

use crate::workload::{measure, Measured};
use base64::Engine;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const TOKEN: &str = "FANOUT_MEMORY_TOKEN";
const FILES: usize = 3;

#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub repos: usize,
    /// Bytes of one runs page.
    pub page_bytes: usize,
    /// Bytes of each answer `check` reads.
    pub answer_bytes: usize,
    /// `--wait-timeout` (the find timeout is the lesser of this and 120 s).
    pub wait_secs: u64,
    pub poll_ms: u64,
    /// `check --concurrency`; `None` for its default.
    pub check_concurrency: Option<usize>,
}

/// The answers, built once.
struct Answers {
    runs_page: Vec<u8>,
    repository: Vec<u8>,
    workflows: Vec<u8>,
    listing: Vec<u8>,
    file: Vec<u8>,
}

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    bytes: AtomicU64,
}

pub struct Figures {
    pub measured: Measured,
    pub reads: u64,
    pub bytes: u64,
}

/// A page of 100 runs of exactly about `bytes`, none carrying a dispatch id.
fn runs_page(bytes: usize) -> Vec<u8> {
    let overhead = 260;
    let title = "x".repeat((bytes / 100).saturating_sub(overhead).max(1));
    let mut page = String::with_capacity(bytes + 1024);
    page.push_str(r#"{"total_count":100000,"workflow_runs":["#);
    for i in 0..100u64 {
        if i > 0 {
            page.push(',');
        }
        let id = 9_000_000_000 + i;
        let _ = write!(
            page,
            r#"{{"id":{id},"name":"rebuild","display_title":"Rebuild for {title}","event":"repository_dispatch","status":"in_progress","conclusion":null,"html_url":"https://github.com/o/r/actions/runs/{id}","created_at":"2026-01-01T00:00:00Z"}}"#
        );
    }
    page.push_str("]}");
    page.into_bytes()
}

/// `{"key": value, "pad": "xxx…"}` of about `bytes`.
fn padded(head: &str, bytes: usize) -> Vec<u8> {
    let pad = "x".repeat(bytes.saturating_sub(head.len() + 16));
    format!(r#"{{{head},"pad":"{pad}"}}"#).into_bytes()
}

fn answers(scenario: &Scenario) -> Answers {
    let n = scenario.answer_bytes;
    let workflows = (0..FILES)
        .map(|k| format!(r#"{{"path":".github/workflows/w{k}.yml","state":"active"}}"#))
        .collect::<Vec<_>>()
        .join(",");
    // The listing: the workflow files, then other files with long names, 1,000 entries in
    // all (the most GitHub lists of a directory).
    let mut listing = String::from("[");
    for k in 0..FILES {
        let _ = write!(listing, r#"{{"type":"file","name":"w{k}.yml"}},"#);
    }
    let long_name = "x".repeat((n / 1000).saturating_sub(48).max(1));
    for i in FILES..1000 {
        let _ = write!(
            listing,
            r#"{{"type":"file","name":"notes-{i:04}-{long_name}.md"}},"#
        );
    }
    listing.pop();
    listing.push(']');
    // base64 is 4/3 of the YAML: the YAML is 3/4 of the answer.
    let long = "x".repeat((n / 4 * 3).saturating_sub(200));
    let yaml = format!(
        "name: rebuild\non:\n  repository_dispatch:\n    types: [upstream-release]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo {long}\n"
    );
    let content = base64::engine::general_purpose::STANDARD.encode(yaml);
    Answers {
        runs_page: runs_page(scenario.page_bytes),
        repository: padded(r#""default_branch":"main""#, n),
        workflows: padded(
            &format!(r#""total_count":{FILES},"workflows":[{workflows}]"#),
            n,
        ),
        listing: listing.into_bytes(),
        file: format!(r#"{{"encoding":"base64","content":"{content}"}}"#).into_bytes(),
    }
}

fn config(repos: usize) -> String {
    let names: Vec<String> = (0..repos).map(|i| format!("t{i:03}")).collect();
    let mut yaml = format!(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    for name in &names {
        let _ = write!(
            yaml,
            "  {name}:\n    repository: o/r{name}\n    event_type: upstream-release\n    token_env: {TOKEN}\n    track: true\n"
        );
    }
    yaml
}

/// Starts the server; returns its URL and counters.
fn serve(scenario: &Scenario) -> Result<(String, Arc<Counters>), String> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let answers = Arc::new(answers(scenario));
    let counters = Arc::new(Counters::default());
    let shared = Arc::clone(&counters);
    crate::server::serve_detached(listener, move |stream| {
        connection(stream, Arc::clone(&answers), Arc::clone(&shared))
    });
    Ok((format!("http://{addr}"), counters))
}

async fn connection(mut stream: TcpStream, answers: Arc<Answers>, counters: Arc<Counters>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let Some((head_end, body_len)) = crate::server::next_request(&mut stream, &mut buf).await
        else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + body_len);
        let body: &[u8] = match route(&head, &answers) {
            Some(body) => body,
            None => {
                if stream
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        counters.reads.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            next_link(&head)
        );
        if stream.write_all(reply.as_bytes()).await.is_err()
            || stream.write_all(body).await.is_err()
        {
            return;
        }
    }
}

/// A runs list always has a next page, as GitHub links it (`Link: <…&page=N+1>; rel="next"`),
/// so every poll reads as many pages as the client allows; other answers have none.
fn next_link(head: &str) -> String {
    let target = head
        .lines()
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if !path.ends_with("/actions/runs") {
        return String::new();
    }
    let mut page = 1u64;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("page=") {
            Some(n) => page = n.parse().unwrap_or(1),
            None => kept.push(pair),
        }
    }
    kept.push("");
    format!(
        "Link: <{path}?{}page={}>; rel=\"next\"\r\n",
        kept.join("&"),
        page + 1
    )
}

/// The answer for a GET; `None` for a dispatch (204).
fn route<'a>(head: &str, answers: &'a Answers) -> Option<&'a [u8]> {
    let line = head.lines().next().unwrap_or("");
    let target = line.split(' ').nth(1).unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    if !line.starts_with("GET ") {
        return None;
    }
    // ["", "repos", "o", repo, rest...]
    let rest: Vec<&str> = path.split('/').skip(4).collect();
    Some(match rest.as_slice() {
        [] => &answers.repository,
        ["actions", "runs"] => &answers.runs_page,
        ["actions", "workflows"] => &answers.workflows,
        ["contents", ".github", "workflows"] => &answers.listing,
        _ => &answers.file,
    })
}

fn command(binary: &Path, subcommand: &str, config: &Path, url: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .arg(subcommand)
        .arg("--config")
        .arg(config)
        .args(["--api-url", url, "--output", "json"])
        .env(TOKEN, "ghp_fanoutbenchtoken0123456789");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ORCHESTRATOR_") {
            command.env_remove(key);
        }
    }
    command
}

/// `orchestrator run --wait` on `repos` tracked repositories.
pub fn wait(binary: &Path, scratch: &Path, scenario: &Scenario) -> Result<Figures, String> {
    let (url, counters) = serve(scenario)?;
    let path = scratch.join("memory.yaml");
    std::fs::write(&path, config(scenario.repos)).map_err(|e| e.to_string())?;
    let mut run = command(binary, "run", &path, &url);
    run.args(["--source", "app", "--version", "1.2.3", "--wait"])
        .args(["--wait-timeout", &scenario.wait_secs.to_string()])
        .args(["--poll-interval-ms", &scenario.poll_ms.to_string()])
        .args(["--concurrency", "64", "--rate-limit", "unlimited"]);
    let measured = measure(run, None, scratch).map_err(|e| e.to_string())?;
    Ok(Figures {
        measured,
        reads: counters.reads.load(Ordering::Relaxed),
        bytes: counters.bytes.load(Ordering::Relaxed),
    })
}

/// `orchestrator check` on `repos` targets.
pub fn check(binary: &Path, scratch: &Path, scenario: &Scenario) -> Result<Figures, String> {
    let (url, counters) = serve(scenario)?;
    let path = scratch.join("memory.yaml");
    std::fs::write(&path, config(scenario.repos)).map_err(|e| e.to_string())?;
    let mut check = command(binary, "check", &path, &url);
    check.args(["--rate-limit", "unlimited"]);
    if let Some(n) = scenario.check_concurrency {
        check.args(["--concurrency", &n.to_string()]);
    }
    let measured = measure(check, None, scratch).map_err(|e| e.to_string())?;
    Ok(Figures {
        measured,
        reads: counters.reads.load(Ordering::Relaxed),
        bytes: counters.bytes.load(Ordering::Relaxed),
    })
}

pub fn print(scenario: &Scenario, wait: Option<&Figures>, check: Option<&Figures>) {
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    println!("## Memory under answers as large as the caps allow\n");
    println!(
        "{} repositories; runs pages of {:.2} MiB; `check` answers of {:.2} MiB.\n",
        scenario.repos,
        mib(scenario.page_bytes as f64),
        mib(scenario.answer_bytes as f64)
    );
    println!("| command | peak RSS | wall | exit | GETs answered | bytes sent |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, f) in [("run --wait", wait), ("check", check)] {
        let Some(f) = f else { continue };
        println!(
            "| `{name}` | {:.1} MiB | {:.1} s | {} | {} | {:.0} MiB |",
            f.measured.max_rss_kib as f64 / 1024.0,
            f.measured.wall.as_secs_f64(),
            f.measured
                .exit_code
                .map_or("signal".to_owned(), |c| c.to_string()),
            f.reads,
            mib(f.bytes as f64),
        );
    }
}
