//! Gates at scale: `targets` targets, each waiting (`await: - npm:`) for its own
//! package on a loopback registry that publishes it at a random moment (seeded) inside
//! `window_ms` of the binary's start; the same server takes the dispatches. Measured: wall
//! time against the bound the gates allow (the last package's publication), and the CPU time
//! (user + system, from `wait4`) of the process, most of which is spent waiting; with the
//! registry's looks counted, so a look's cost can be told from the cost of waiting.
//!
//! `waves` spreads the targets over that many waves chained with `needs:` (each target needs
//! the one `targets / waves` before it), for when targets that need targets are merged; 1 is a
//! flat fan-out and writes no `needs:`.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub targets: usize,
    pub waves: usize,
    /// Every package is published at a moment inside this window.
    pub window_ms: u64,
    pub seed: u64,
    /// `--await-interval` in milliseconds.
    pub interval_ms: u64,
}

#[derive(Debug)]
pub struct Figures {
    pub wall: Duration,
    /// The last package's publication: no run can end before it.
    pub bound: Duration,
    pub cpu: Duration,
    pub looks: usize,
    pub dispatches: usize,
    pub exit_code: Option<i32>,
}

/// When each package is published, after the start: seeded, uniform in the window.
pub fn openings(scenario: &Scenario) -> Vec<Duration> {
    let mut rng = fastrand::Rng::with_seed(scenario.seed);
    (0..scenario.targets)
        .map(|_| Duration::from_millis(rng.u64(0..scenario.window_ms.max(1))))
        .collect()
}

/// The configuration: target `i` waits for `pkg-i@{{version}}` on `registry`.
pub fn config(scenario: &Scenario, registry: &str) -> String {
    let name = |i: usize| format!("t{i:05}");
    let names: Vec<String> = (0..scenario.targets).map(name).collect();
    let mut yaml = format!(
        "version: 1\nregistries:\n  npm: {{url: \"{registry}\"}}\nsources:\n  app:\n    repository: acme/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    let per_wave = scenario.targets.div_ceil(scenario.waves.max(1)).max(1);
    for (i, n) in names.iter().enumerate() {
        let needs = match i.checked_sub(per_wave) {
            Some(before) if scenario.waves > 1 => format!(", needs: [{}]", name(before)),
            _ => String::new(),
        };
        yaml.push_str(&format!(
            "  {n}: {{repository: acme/{n}, event_type: upstream-release, token_env: FANOUT_TOKEN, await: [{{npm: \"pkg-{i}@{{{{version}}}}\"}}]{needs}}}\n"
        ));
    }
    yaml
}

struct State {
    start: Mutex<Option<Instant>>,
    openings: Vec<Duration>,
    looks: AtomicUsize,
    dispatches: AtomicUsize,
}

pub fn measure(binary: &Path, scratch: &Path, scenario: &Scenario) -> Result<Figures, String> {
    let openings = openings(scenario);
    let bound = openings.iter().copied().max().unwrap_or_default();
    let state = Arc::new(State {
        start: Mutex::new(None),
        openings,
        looks: AtomicUsize::new(0),
        dispatches: AtomicUsize::new(0),
    });
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot bind: {e}"))?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let server_state = Arc::clone(&state);
    crate::server::serve_detached(listener, move |stream| {
        connection(stream, Arc::clone(&server_state))
    });
    let path = scratch.join("gates.yaml");
    std::fs::write(&path, config(scenario, &base)).map_err(|e| e.to_string())?;
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
            "-q",
        ])
        .args(["--api-url", &base])
        .args(["--concurrency", "64", "--rate-limit", "unlimited"])
        .args(["--await-interval", &format!("{}ms", scenario.interval_ms)])
        .env("FANOUT_TOKEN", "ghp_fanoutbenchtoken0123456789");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ORCHESTRATOR_") {
            command.env_remove(key);
        }
    }
    *state.start.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    let measured = crate::workload::measure(command, None, scratch).map_err(|e| e.to_string())?;
    Ok(Figures {
        wall: measured.wall,
        bound,
        cpu: measured.cpu,
        looks: state.looks.load(Ordering::Relaxed),
        dispatches: state.dispatches.load(Ordering::Relaxed),
        exit_code: measured.exit_code,
    })
}

async fn connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let Some((head_end, body_len)) = crate::server::next_request(&mut stream, &mut buf).await
        else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + body_len);
        let reply = answer(&head, &state);
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn answer(head: &str, state: &State) -> &'static str {
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "POST" {
        state.dispatches.fetch_add(1, Ordering::Relaxed);
        return "HTTP/1.1 204 No Content\r\n\r\n";
    }
    state.looks.fetch_add(1, Ordering::Relaxed);
    // `/pkg-{i}/1.2.3`
    let index = path
        .strip_prefix("/pkg-")
        .and_then(|rest| rest.split('/').next())
        .and_then(|i| i.parse::<usize>().ok());
    let start = *state.start.lock().unwrap_or_else(PoisonError::into_inner);
    let published = match (index.and_then(|i| state.openings.get(i)), start) {
        (Some(at), Some(start)) => start.elapsed() >= *at,
        _ => false,
    };
    if published {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    }
}

pub fn print(rows: &[(Scenario, Figures)]) {
    println!("\n## Gates: targets waiting for published artifacts\n");
    println!("Each target waits for its own npm package on a loopback registry that publishes it at a seeded random moment inside the window; `bound` = the last publication. CPU = user + system time of the whole process (`wait4`), looks = GETs the registry answered.\n");
    println!("| N | waves | window | --await-interval | bound | wall | wall / bound | CPU | looks | CPU per look | dispatches | exit |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (s, f) in rows {
        let per_look = f.cpu.as_secs_f64() * 1e6 / (f.looks.max(1) as f64);
        println!(
            "| {} | {} | {} ms | {} ms | {:.2} s | {:.2} s | {:.3} | {:.2} s | {} | {:.0} µs | {} | {} |",
            s.targets,
            s.waves,
            s.window_ms,
            s.interval_ms,
            f.bound.as_secs_f64(),
            f.wall.as_secs_f64(),
            f.wall.as_secs_f64() / f.bound.as_secs_f64().max(1e-9),
            f.cpu.as_secs_f64(),
            f.looks,
            per_look,
            f.dispatches,
            f.exit_code.map_or("-".to_owned(), |c| c.to_string()),
        );
    }
}
