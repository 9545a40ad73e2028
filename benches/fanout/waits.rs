//! Waiting at scale: `runs` tracked repository_dispatch targets spread over
//! `repos` repositories, sent and then waited for with `--wait` until every run completes
//! `run_secs` after its dispatch. The loopback server records each dispatch's
//! `client_payload.dispatch_id`, lists those as runs (`display_title` carrying the id) on
//! `GET /repos/o/{repo}/actions/runs`, and timestamps every read per repository, so the figures
//! say how many reads the wait cost and how close together two reads of one repository came.
//!
//! With `--wait-read-budget` (repeatable) the same wait runs once per `read_budget` value, the
//! server sending no `x-ratelimit-*` headers when asked (`--wait-no-rate-headers`, so only the
//! budget paces the reads), and the table shows the most reads the server saw in any window of
//! the budget's length (sliding, starting at each read) against the budget.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub repos: usize,
    pub runs: usize,
    /// Each run completes this long after its dispatch arrived.
    pub run_secs: u64,
    /// `--poll-interval-ms`; `None` for the binary's default (5 s, growing to 30 s).
    pub poll_ms: Option<u64>,
    /// `--read-budget`; `None` for the binary's default (4000/h).
    pub read_budget: Option<String>,
    /// Whether the runs list answers with GitHub's `x-ratelimit-*` headers (which then pace
    /// the wait instead of the budget).
    pub rate_headers: bool,
    /// The window the busiest count is taken over (the budget's).
    pub window: Option<Duration>,
}

#[derive(Debug)]
pub struct Figures {
    pub wall: Duration,
    pub exit_code: Option<i32>,
    pub reads: usize,
    /// `summary.read_requests` from the JSON report.
    pub reported_reads: u64,
    pub reads_per_repo: (usize, usize),
    /// The closest two reads of one repository came.
    pub min_gap: Duration,
    /// Polls of the busiest repository: what one read per run per poll would have cost
    /// is this times `runs`.
    pub polls: usize,
    pub runs_completed: usize,
    /// The most reads (all repositories) the server saw in any [`Scenario::window`].
    pub busiest_window: usize,
}

#[derive(Default)]
struct State {
    /// Per repository: (dispatch id, when it arrived).
    dispatched: HashMap<String, Vec<(String, Instant)>>,
    reads: HashMap<String, Vec<Instant>>,
}

pub fn config(scenario: &Scenario) -> String {
    let names: Vec<String> = (0..scenario.runs).map(|i| format!("t{i:04}")).collect();
    let mut yaml = format!(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    for (i, name) in names.iter().enumerate() {
        yaml.push_str(&format!(
            "  {name}:\n    repository: o/r{:03}\n    event_type: upstream-release\n    token_env: FANOUT_TOKEN\n    track: true\n",
            i % scenario.repos.max(1)
        ));
    }
    yaml
}

pub fn measure(binary: &Path, scratch: &Path, scenario: &Scenario) -> Result<Figures, String> {
    let state = Arc::new(Mutex::new(State::default()));
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let run_for = Duration::from_secs(scenario.run_secs);
    let server_state = Arc::clone(&state);
    let rate_headers = scenario.rate_headers;
    crate::server::serve_detached(listener, move |stream| {
        connection(stream, Arc::clone(&server_state), run_for, rate_headers)
    });
    let path = scratch.join("waits.yaml");
    std::fs::write(&path, config(scenario)).map_err(|e| e.to_string())?;
    let report_path = scratch.join("waits-report.json");
    let mut command = Command::new(binary);
    command
        .args(["run", "--config"])
        .arg(&path)
        .args([
            "--source",
            "app",
            "--version",
            "1.2.3",
            "--output",
            "json",
            "--wait",
        ])
        .args(["--api-url", &format!("http://{addr}")])
        .args(["--concurrency", "64", "--rate-limit", "unlimited", "-q"])
        .env("FANOUT_TOKEN", "ghp_fanoutbenchtoken0123456789")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::from(
            std::fs::File::create(&report_path).map_err(|e| e.to_string())?,
        ));
    if let Some(ms) = scenario.poll_ms {
        command.args(["--poll-interval-ms", &ms.to_string()]);
    }
    if let Some(budget) = &scenario.read_budget {
        command.args(["--read-budget", budget]);
    }
    let started = Instant::now();
    let status = command.status().map_err(|e| e.to_string())?;
    let wall = started.elapsed();
    let report: Value = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let runs_completed = report["targets"].as_array().map_or(0, |t| {
        t.iter()
            .filter(|t| t["run"]["conclusion"] == "success")
            .count()
    });
    let state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let per_repo: Vec<usize> = state.reads.values().map(Vec::len).collect();
    let min_gap = state
        .reads
        .values()
        .flat_map(|reads| reads.windows(2).map(|w| w[1] - w[0]))
        .min()
        .unwrap_or(Duration::MAX);
    Ok(Figures {
        wall,
        exit_code: status.code(),
        reads: per_repo.iter().sum(),
        reported_reads: report["summary"]["read_requests"].as_u64().unwrap_or(0),
        reads_per_repo: (
            per_repo.iter().copied().min().unwrap_or(0),
            per_repo.iter().copied().max().unwrap_or(0),
        ),
        min_gap,
        polls: per_repo.iter().copied().max().unwrap_or(0),
        runs_completed,
        busiest_window: scenario
            .window
            .map_or(0, |window| busiest(state.reads.values().flatten(), window)),
    })
}

/// The most of `reads` in any `window`, windows starting at a read.
fn busiest<'a>(reads: impl Iterator<Item = &'a Instant>, window: Duration) -> usize {
    let mut reads: Vec<Instant> = reads.copied().collect();
    reads.sort_unstable();
    let mut end = 0;
    let mut most = 0;
    for (start, at) in reads.iter().enumerate() {
        while end < reads.len() && reads[end].duration_since(*at) < window {
            end += 1;
        }
        most = most.max(end - start);
    }
    most
}

async fn connection(
    mut stream: TcpStream,
    state: Arc<Mutex<State>>,
    run_for: Duration,
    rate_headers: bool,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let Some((head_end, body_len)) = crate::server::next_request(&mut stream, &mut buf).await
        else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let body = buf[head_end..head_end + body_len].to_vec();
        buf.drain(..head_end + body_len);
        let reply = answer(&head, &body, &state, run_for, rate_headers);
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn answer(
    head: &str,
    body: &[u8],
    state: &Mutex<State>,
    run_for: Duration,
    rate_headers: bool,
) -> String {
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').collect();
    // ["", "repos", "o", repo, ...]
    let repo = segments.get(3).copied().unwrap_or("").to_owned();
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    match (method, segments.get(4).copied(), segments.get(5).copied()) {
        ("POST", Some("dispatches"), None) => {
            let id = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| {
                    v["client_payload"]["dispatch_id"]
                        .as_str()
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            state.dispatched.entry(repo).or_default().push((id, now));
            "HTTP/1.1 204 No Content\r\n\r\n".to_owned()
        }
        ("GET", Some("actions"), Some("runs")) => {
            state.reads.entry(repo.clone()).or_default().push(now);
            let runs: Vec<Value> = state
                .dispatched
                .get(&repo)
                .map(|runs| {
                    runs.iter()
                        .enumerate()
                        .map(|(i, (id, at))| {
                            let done = now.duration_since(*at) >= run_for;
                            json!({
                                "id": i + 1,
                                "display_title": format!("Rebuild for {id}"),
                                "event": "repository_dispatch",
                                "status": if done { "completed" } else { "in_progress" },
                                "conclusion": if done { Some("success") } else { None },
                                "html_url": format!("https://github.com/o/{repo}/actions/runs/{}", i + 1),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                + 3600;
            let body = json!({"total_count": runs.len(), "workflow_runs": runs}).to_string();
            let limits = if rate_headers {
                format!("x-ratelimit-limit: 5000\r\nx-ratelimit-remaining: 4000\r\nx-ratelimit-reset: {reset}\r\n")
            } else {
                String::new()
            };
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{limits}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        }
        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
    }
}

pub fn print(scenario: &Scenario, figures: &Figures) {
    println!("## Waiting at scale\n");
    println!(
        "{} tracked runs in {} repositories, each completing {} s after its dispatch; poll interval {}.\n",
        scenario.runs,
        scenario.repos,
        scenario.run_secs,
        scenario
            .poll_ms
            .map_or("default (5 s, growing by half to 30 s)".to_owned(), |ms| format!("{ms} ms first, growing by half to 30 s"))
    );
    println!("| wall | exit | runs completed | reads (server) | summary.read_requests | reads per repository (min–max) | closest two reads of one repository | one read per run per poll would be |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {:.1} s | {} | {} | {} | {} | {}–{} | {:.0} ms | {} |",
        figures.wall.as_secs_f64(),
        figures
            .exit_code
            .map_or("signal".to_owned(), |c| c.to_string()),
        figures.runs_completed,
        figures.reads,
        figures.reported_reads,
        figures.reads_per_repo.0,
        figures.reads_per_repo.1,
        figures.min_gap.as_secs_f64() * 1000.0,
        figures.polls * scenario.runs,
    );
}

/// One row per `--wait-read-budget`: the busiest window the server saw against the budget.
pub fn print_budgets(rows: &[(Scenario, Figures)]) {
    let Some((first, _)) = rows.first() else {
        return;
    };
    let window = first.window.unwrap_or_default().as_secs_f64();
    println!("## Tracked waiting within the read budget\n");
    println!(
        "{} tracked runs in {} repositories on one token, each completing {} s after its dispatch; poll interval {}; the server sends {}.\n",
        first.runs,
        first.repos,
        first.run_secs,
        first.poll_ms.map_or("default".to_owned(), |ms| format!("{ms} ms first, growing by half to 30 s")),
        if first.rate_headers { "GitHub's `x-ratelimit-*` headers" } else { "no `x-ratelimit-*` headers" },
    );
    println!("| read_budget | wall | exit | runs completed | reads (server) | busiest {window:.0} s window | reads per repository (min–max) |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (scenario, figures) in rows {
        println!(
            "| {} | {:.1} s | {} | {} | {} | {} | {}–{} |",
            scenario
                .read_budget
                .as_deref()
                .unwrap_or("4000/h (default)"),
            figures.wall.as_secs_f64(),
            figures
                .exit_code
                .map_or("signal".to_owned(), |c| c.to_string()),
            figures.runs_completed,
            figures.reads,
            figures.busiest_window,
            figures.reads_per_repo.0,
            figures.reads_per_repo.1,
        );
    }
}
