//! Gates at scale: `targets` targets, each waiting (`await: - npm:`) for its own package on a
//! loopback registry that publishes it at a random moment (seeded) inside `window_ms` of the
//! binary's start; the same server takes the dispatches, and holds every answer (look or
//! dispatch) for `latency_ms`. Measured: wall time against the bound the gates and needs
//! allow (see [`crate::gates_bound`]), the CPU time (user + system, from `wait4`) of the
//! process, the registry's looks, and when each target's dispatch was answered, so a late
//! delivery can be told apart: a gate seen late, or a need's delivery heard late.
//!
//! `waves` spreads the targets over that many waves: target `i` is in wave
//! `i / ceil(targets / waves)`, and every target of a wave after the first needs one or two
//! (seeded) targets of the wave before it. 1 is a flat fan-out and writes no `needs:`.

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
    /// How long the fake holds each answer (a look or a dispatch).
    pub latency_ms: u64,
}

impl Scenario {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}

/// What the scenario is made of: when each package is published, and whom each target needs.
#[derive(Debug, Clone)]
pub struct Workload {
    pub openings: Vec<Duration>,
    /// Indices of the targets each target needs (all of the wave before its own).
    pub needs: Vec<Vec<usize>>,
}

/// One run of a scenario.
#[derive(Debug)]
pub struct Figures {
    pub wall: Duration,
    pub cpu: Duration,
    pub looks: usize,
    pub dispatches: usize,
    /// Connections the fake accepted (registry and GitHub are one server here).
    pub connections: usize,
    pub exit_code: Option<i32>,
    /// When the fake answered each target's dispatch, after the spawn (`None`: never).
    pub delivered: Vec<Option<Duration>>,
    /// The first request the fake read: the process's start-up and planning.
    pub first_request: Option<Duration>,
    /// Time between the first request and the last delivery in which the fake saw no request
    /// arrive or leave within [`QUIET_MARGIN`], and the process's CPU time in it.
    pub quiet: Duration,
    pub quiet_cpu: Duration,
}

/// A window is quiet when no request arrived or was answered this close to it.
const QUIET_MARGIN: Duration = Duration::from_millis(3);
/// How often the process's CPU time is read (`/proc/PID/task/*/schedstat`, in ns).
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The packages' publications (seeded, uniform in the window; the same draw as before waves
/// existed, so a flat run is comparable), then the needs (seeded after them).
pub fn workload(scenario: &Scenario) -> Workload {
    let mut rng = fastrand::Rng::with_seed(scenario.seed);
    let openings = (0..scenario.targets)
        .map(|_| Duration::from_millis(rng.u64(0..scenario.window_ms.max(1))))
        .collect();
    let per_wave = per_wave(scenario);
    let needs = (0..scenario.targets)
        .map(|i| match (i / per_wave).checked_sub(1) {
            Some(before) if scenario.waves > 1 => {
                let first = before * per_wave;
                let pick = |rng: &mut fastrand::Rng| rng.usize(first..first + per_wave);
                let one = pick(&mut rng);
                match rng.bool() {
                    true => {
                        let mut two = pick(&mut rng);
                        while two == one {
                            two = pick(&mut rng);
                        }
                        vec![one, two]
                    }
                    false => vec![one],
                }
            }
            _ => Vec::new(),
        })
        .collect();
    Workload { openings, needs }
}

fn per_wave(scenario: &Scenario) -> usize {
    scenario.targets.div_ceil(scenario.waves.max(1)).max(1)
}

fn name(i: usize) -> String {
    format!("t{i:05}")
}

/// The configuration: target `i` waits for `pkg-i@{{version}}` on `registry` and needs
/// `workload.needs[i]`.
pub fn config(workload: &Workload, registry: &str) -> String {
    let names: Vec<String> = (0..workload.openings.len()).map(name).collect();
    let mut yaml = format!(
        "version: 1\nregistries:\n  npm: {{url: \"{registry}\"}}\nsources:\n  app:\n    repository: acme/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    for (i, n) in names.iter().enumerate() {
        let needs = match workload.needs[i].as_slice() {
            [] => String::new(),
            some => {
                let some: Vec<String> = some.iter().map(|&j| name(j)).collect();
                format!(", needs: [{}]", some.join(", "))
            }
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
    latency: Duration,
    looks: AtomicUsize,
    dispatches: AtomicUsize,
    connections: AtomicUsize,
    delivered: Mutex<Vec<Option<Duration>>>,
    first_request: Mutex<Option<Duration>>,
    /// When each request arrived and when it was answered.
    events: Mutex<Vec<Duration>>,
}

impl State {
    fn event(&self) {
        if let Some(at) = self.elapsed() {
            self.events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(at);
        }
    }

    fn elapsed(&self) -> Option<Duration> {
        let start = *self.start.lock().unwrap_or_else(PoisonError::into_inner);
        start.map(|s| s.elapsed())
    }
}

pub fn measure(
    binary: &Path,
    scratch: &Path,
    scenario: &Scenario,
    workload: &Workload,
) -> Result<Figures, String> {
    let state = Arc::new(State {
        start: Mutex::new(None),
        openings: workload.openings.clone(),
        latency: scenario.latency(),
        looks: AtomicUsize::new(0),
        dispatches: AtomicUsize::new(0),
        connections: AtomicUsize::new(0),
        delivered: Mutex::new(vec![None; scenario.targets]),
        first_request: Mutex::new(None),
        events: Mutex::new(Vec::with_capacity(4 * scenario.targets)),
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
    std::fs::write(&path, config(workload, &base)).map_err(|e| e.to_string())?;
    let command = command(binary, &path, &base, scenario);
    let start = Instant::now();
    *state.start.lock().unwrap_or_else(PoisonError::into_inner) = Some(start);
    let mut sampler = None;
    let measured = crate::workload::measure_watched(command, None, scratch, |pid| {
        sampler = Some(std::thread::spawn(move || sample_cpu(pid, start)));
    })
    .map_err(|e| e.to_string())?;
    let samples = sampler
        .map(|s| s.join().unwrap_or_default())
        .unwrap_or_default();
    let delivered = state
        .delivered
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let first_request = *state
        .first_request
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let events = state
        .events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let last = delivered
        .iter()
        .flatten()
        .max()
        .copied()
        .unwrap_or_default();
    let (quiet, quiet_cpu) = quiet_cpu(&samples, events, first_request.unwrap_or_default(), last);
    Ok(Figures {
        quiet,
        quiet_cpu,
        wall: measured.wall,
        cpu: measured.cpu,
        looks: state.looks.load(Ordering::Relaxed),
        dispatches: state.dispatches.load(Ordering::Relaxed),
        connections: state.connections.load(Ordering::Relaxed),
        exit_code: measured.exit_code,
        delivered,
        first_request,
    })
}

/// The process's CPU time (every thread's `schedstat` run time) every [`SAMPLE_EVERY`], after
/// `start`, until it has exited.
fn sample_cpu(pid: u32, start: Instant) -> Vec<(Duration, u64)> {
    let tasks = format!("/proc/{pid}/task");
    let mut samples = Vec::new();
    loop {
        let at = start.elapsed();
        let Ok(entries) = std::fs::read_dir(&tasks) else {
            return samples;
        };
        let mut total = 0u64;
        for entry in entries.flatten() {
            let stat = std::fs::read_to_string(entry.path().join("schedstat")).unwrap_or_default();
            total += stat
                .split(' ')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let exited = state
            .rsplit(") ")
            .next()
            .is_none_or(|rest| rest.starts_with('Z'));
        if exited || total == 0 {
            return samples;
        }
        samples.push((at, total));
        std::thread::sleep(SAMPLE_EVERY);
    }
}

/// The quiet windows between `from` and `to` (no request near them) and the CPU spent in
/// them.
fn quiet_cpu(
    samples: &[(Duration, u64)],
    mut events: Vec<Duration>,
    from: Duration,
    to: Duration,
) -> (Duration, Duration) {
    events.sort();
    let busy = |a: Duration, b: Duration| {
        let lo = events.partition_point(|&e| e + QUIET_MARGIN < a);
        events.get(lo).is_some_and(|&e| e <= b + QUIET_MARGIN)
    };
    let (mut quiet, mut cpu) = (Duration::ZERO, 0u64);
    for pair in samples.windows(2) {
        let ((a, before), (b, after)) = (pair[0], pair[1]);
        if a < from || b > to || busy(a, b) {
            continue;
        }
        quiet += b - a;
        cpu += after.saturating_sub(before);
    }
    (quiet, Duration::from_nanos(cpu))
}

/// `orchestrator run` sending `path` through `base`, settings from the flags alone.
fn command(binary: &Path, path: &Path, base: &str, scenario: &Scenario) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["run", "--config"])
        .arg(path)
        .args([
            "--source",
            "app",
            "--version",
            "1.2.3",
            "--output",
            "json",
            "-q",
        ])
        .args(["--api-url", base])
        .args(["--concurrency", "64", "--rate-limit", "unlimited"])
        .args(["--await-interval", &format!("{}ms", scenario.interval_ms)])
        .env("FANOUT_TOKEN", "ghp_fanoutbenchtoken0123456789");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ORCHESTRATOR_") {
            command.env_remove(key);
        }
    }
    command
}

async fn connection(mut stream: TcpStream, state: Arc<State>) {
    state.connections.fetch_add(1, Ordering::Relaxed);
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let Some((head_end, body_len)) = crate::server::next_request(&mut stream, &mut buf).await
        else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + body_len);
        state.event();
        {
            let mut first = state
                .first_request
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if first.is_none() {
                *first = state.elapsed();
            }
        }
        // Whether a look finds the package is decided when the look arrives, as a registry
        // would; the answer then takes the latency.
        let reply = answer(&head, &state);
        if !state.latency.is_zero() {
            tokio::time::sleep(state.latency).await;
        }
        if let Some(i) = dispatched(&head) {
            if let Some(slot) = state
                .delivered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(i)
            {
                *slot = state.elapsed();
            }
        }
        state.event();
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The target a dispatch is for: `POST /repos/acme/tNNNNN/dispatches`.
fn dispatched(head: &str) -> Option<usize> {
    let line = head.lines().next()?;
    let path = line.strip_prefix("POST ")?.split(' ').next()?;
    path.strip_prefix("/repos/acme/t")?
        .split('/')
        .next()?
        .parse()
        .ok()
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
    let published = match (index.and_then(|i| state.openings.get(i)), state.elapsed()) {
        (Some(at), Some(now)) => now >= *at,
        _ => false,
    };
    if published {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    }
}
