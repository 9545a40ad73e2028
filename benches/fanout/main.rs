//! Fan-out benchmark: runs the real release binary against a loopback stand-in for
//! GitHub and prints Markdown tables for BENCHMARKS.md.
//!
//!     cargo bench --bench fanout                 # the full run (about a minute)
//!     cargo bench --bench fanout -- --quick      # one repetition, no 50 s scenario
//!     cargo bench --bench fanout -- --help
//!
//! Measured: wall time of `run` against the bound ceil(N/C)·L; the cost of load + validate +
//! plan (a dry run, minus a one-target dry run); peak RSS (`wait4`'s `ru_maxrss`); and, with the
//! server limiting R requests per window, time against N/R windows and the 403s received.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// a test may panic: that is its failure
// A bench binary has no surface to keep small: its modules share helpers with `pub`.
#![allow(unreachable_pub)]
// Long tables of cases read best whole; the 80-line limit is for product code.
#![allow(clippy::too_many_lines)]

mod cpu;
mod fleet;
mod gates;
mod gates_bound;
mod machine;
mod memory;
mod parse;
mod server;
mod waits;
mod workload;

use clap::Parser;
use server::{Behaviour, Server};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;
use workload::{Invocation, Measured, Send};

#[derive(Debug, Parser)]
#[command(about = "Fan-out benchmark: the real orchestrator binary against a loopback GitHub")]
struct Options {
    /// One repetition per scenario and no N=10000, C=10, L=50ms scenario (50 s on its own).
    #[arg(long)]
    quick: bool,
    /// The binary to measure (default: the one `cargo bench` just built).
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// Target counts for the send and dry-run tables.
    #[arg(long, value_delimiter = ',', default_values_t = [10, 100, 1000, 10000])]
    targets: Vec<usize>,
    /// Concurrency values (`--concurrency`).
    #[arg(long, value_delimiter = ',', default_values_t = [10, 64])]
    concurrency: Vec<usize>,
    /// Per-request server latencies in milliseconds.
    #[arg(long, value_delimiter = ',', default_values_t = [0, 50])]
    latency_ms: Vec<u64>,
    /// Repetitions of each send scenario (median reported); default 3, 1 with --quick.
    #[arg(long)]
    reps: Option<usize>,
    /// Repetitions of each dry run (median reported); default 15, 5 with --quick.
    #[arg(long)]
    dry_reps: Option<usize>,
    /// Targets in the rate-limit scenario.
    #[arg(long, default_value_t = 400)]
    rate_targets: usize,
    /// Requests the server admits per window in the rate-limit scenario (also the client's).
    #[arg(long, default_value_t = 80)]
    rate_requests: usize,
    /// The rate-limit window in milliseconds (GitHub's is a minute; scaled down).
    #[arg(long, default_value_t = 1000)]
    rate_window_ms: u64,
    /// Skip the rate-limit scenario.
    #[arg(long)]
    no_rate: bool,
    /// Targets in the fleet scenario (several windows, one and three identities).
    #[arg(long, default_value_t = 300)]
    fleet_targets: usize,
    /// Skip the fleet scenario.
    #[arg(long)]
    no_fleet: bool,
    /// Only the fleet scenario.
    #[arg(long)]
    fleet_only: bool,
    /// Before each scenario, wait up to SECS for the machine to be idle (85 % of CPU time idle
    /// over half a second), so other people's builds do not land in the numbers. 0: don't wait.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait_idle: u64,
    /// Only print the generated dispatch.yaml for N targets (for profiling by hand).
    #[arg(long, value_name = "N")]
    write_config: Option<usize>,
    /// Only start the server (first --latency-ms; the rate limit with --rate-requests and
    /// --rate-window-ms unless --no-rate), print its URL and serve until killed: for profiling
    /// the binary by hand.
    #[arg(long)]
    serve: bool,
    /// Only the one-parse table: dry run and validate against a bare event parse of the same
    /// file, for each --targets.
    #[arg(long)]
    parse_only: bool,
    /// Only the wait-at-scale scenario: --wait-runs tracked runs in --wait-repos
    /// repositories, each completing --wait-run-secs after its dispatch.
    #[arg(long)]
    waits: bool,
    #[arg(long, default_value_t = 500)]
    wait_runs: usize,
    #[arg(long, default_value_t = 50)]
    wait_repos: usize,
    #[arg(long, default_value_t = 600)]
    wait_run_secs: u64,
    /// `--poll-interval-ms` for the wait scenario (default: the binary's own, 5 s).
    #[arg(long)]
    wait_poll_ms: Option<u64>,
    /// Run the wait scenario once per value with `--read-budget VALUE` (e.g. `200/10s`,
    /// `unlimited`) and count the busiest window of the first budget's length at the server.
    #[arg(long, value_name = "BUDGET")]
    wait_read_budget: Vec<String>,
    /// The wait scenario's server sends no `x-ratelimit-*` headers (only the budget paces).
    #[arg(long)]
    wait_no_rate_headers: bool,
    /// Only the memory scenario: peak RSS of `run --wait` with --memory-repos
    /// tracked repositories and of `check` on as many targets, every answer as large as the
    /// caps allow.
    #[arg(long)]
    memory: bool,
    #[arg(long, default_value_t = 100)]
    memory_repos: usize,
    /// Bytes of one runs page (default: 4 MiB less 1 KiB, under the client's 4 MiB cap).
    #[arg(long, default_value_t = 4 * 1024 * 1024 - 1024)]
    memory_page_bytes: usize,
    /// Bytes of each answer `check` reads (default: 2 MiB less 1 KiB, under its 2 MiB cap).
    #[arg(long, default_value_t = 2 * 1024 * 1024 - 1024)]
    memory_answer_bytes: usize,
    /// `run --wait --wait-timeout`.
    #[arg(long, default_value_t = 20)]
    memory_wait_secs: u64,
    /// `run --wait --poll-interval-ms`.
    #[arg(long, default_value_t = 2000)]
    memory_poll_ms: u64,
    /// `check --concurrency` (default: its own).
    #[arg(long)]
    memory_check_concurrency: Option<usize>,
    /// Only `run --wait`, or only `check`.
    #[arg(long, value_parser = ["wait", "check"])]
    memory_only: Option<String>,
    /// Only the CPU-per-request table: each build (`--cpu-build NAME=PATH`, repeatable; default
    /// the measured binary) sending --cpu-targets at C = 64, L = 0 and --cpu-bound-targets at
    /// L = 50 ms, against a minimal keep-alive client in the same run (--reps, default 5).
    #[arg(long)]
    cpu: bool,
    #[arg(long, value_name = "NAME=PATH")]
    cpu_build: Vec<String>,
    #[arg(long, default_value_t = 10_000)]
    cpu_targets: usize,
    #[arg(long, default_value_t = 1000)]
    cpu_bound_targets: usize,
    /// Only be the minimal keep-alive client (for --cpu): --targets' first value POSTs over
    /// --concurrency's first value connections to URL.
    #[arg(long, value_name = "URL", hide = true)]
    minimal_client: Option<String>,
    /// `raw` (bytes on a socket) or `reqwest` (the same stack as the orchestrator).
    #[arg(long, hide = true, default_value = "raw")]
    minimal_kind: String,
    /// Only the gates scenario: --gates-targets targets, each waiting for its own package on a
    /// loopback registry that publishes it inside --gates-window-ms (seeded), once per
    /// --gates-interval-ms.
    #[arg(long)]
    gates: bool,
    #[arg(long, default_value_t = 1000)]
    gates_targets: usize,
    /// Waves chained with `needs:` (1: a flat fan-out; more needs targets that need targets).
    #[arg(long, default_value_t = 1)]
    gates_waves: usize,
    #[arg(long, default_value_t = 2000)]
    gates_window_ms: u64,
    #[arg(long, default_value_t = 24)]
    gates_seed: u64,
    /// `--await-interval` of each row, in milliseconds.
    #[arg(long, value_delimiter = ',', default_values_t = [20, 50, 100, 1000])]
    gates_interval_ms: Vec<u64>,
    /// How long the fake registry holds each answer (a look or a dispatch).
    #[arg(long, default_value_t = 10)]
    gates_latency_ms: u64,
    /// Runs of each row (interleaved; medians and spread reported).
    #[arg(long, default_value_t = 5)]
    gates_reps: usize,
    /// No baseline row (every package published at once, at the first interval).
    #[arg(long)]
    gates_no_baseline: bool,
    /// `cargo bench` passes this to every bench; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let options = Options::parse();
    if let Err(err) = run(&options) {
        eprintln!("fanout bench: {err}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> Result<(), String> {
    let binary = options
        .binary
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_orchestrator")));
    if let Some(n) = options.write_config {
        print!("{}", workload::dispatch_yaml(n));
        return Ok(());
    }
    if options.serve {
        return serve(options);
    }
    if let Some(url) = &options.minimal_client {
        return match options.minimal_kind.as_str() {
            "reqwest" => cpu::reqwest_client(url, options.targets[0], options.concurrency[0]),
            _ => cpu::minimal_client(url, options.targets[0], options.concurrency[0]),
        };
    }
    if options.cpu {
        return cpu_table(options, &binary);
    }
    if !binary.exists() {
        return Err(format!("no binary at {}", binary.display()));
    }
    if options.memory {
        let scenario = memory::Scenario {
            repos: options.memory_repos,
            page_bytes: options.memory_page_bytes,
            answer_bytes: options.memory_answer_bytes,
            wait_secs: options.memory_wait_secs,
            poll_ms: options.memory_poll_ms,
            check_concurrency: options.memory_check_concurrency,
        };
        let scratch = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
        let only = options.memory_only.as_deref();
        let wait = match only {
            Some("check") => None,
            _ => Some(memory::wait(&binary, scratch.path(), &scenario)?),
        };
        let check = match only {
            Some("wait") => None,
            _ => Some(memory::check(&binary, scratch.path(), &scenario)?),
        };
        memory::print(&scenario, wait.as_ref(), check.as_ref());
        return Ok(());
    }
    if options.gates {
        return gates_table(options, &binary);
    }
    if options.waits {
        return waits_scenario(&binary, options);
    }
    if options.concurrency.contains(&0) || options.rate_requests == 0 {
        return Err("--concurrency and --rate-requests must be at least 1".into());
    }
    let reps = options
        .reps
        .unwrap_or(if options.quick { 1 } else { 3 })
        .max(1);
    let dry_reps = options
        .dry_reps
        .unwrap_or(if options.quick { 5 } else { 15 })
        .max(1);
    let load_before = machine::load_average();
    let scratch = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
    let bench = Bench {
        binary: &binary,
        scratch: scratch.path(),
        wait_idle: Duration::from_secs(options.wait_idle),
    };

    println!("## Machine\n");
    machine::describe(&binary, options.binary.is_some());
    if options.fleet_only {
        return fleet::run(&binary, scratch.path(), options.fleet_targets);
    }
    if options.parse_only {
        return parse::print_table(
            &binary,
            scratch.path(),
            &options.targets,
            dry_reps,
            bench.wait_idle,
        );
    }

    // Dry runs first: the send table uses them to separate sending from starting and planning.
    eprintln!("dry runs ...");
    let tiny = bench.dry_run(1, dry_reps)?;
    let mut dry = Vec::new();
    for &n in &options.targets {
        dry.push((n, bench.dry_run(n, dry_reps)?));
    }
    print_dry_runs(&tiny, &dry, dry_reps);
    parse::print_table(
        &binary,
        scratch.path(),
        &options.targets,
        dry_reps,
        bench.wait_idle,
    )?;

    println!("\n## Fan-out: wall time against ceil(N/C)·L\n");
    println!("Median of {reps} run(s). `ratio` = wall / bound; `overhead` = wall − bound. `hold` = the server's mean time from reading a request to answering it (a little over L), and `ratio/hold` = wall / (ceil(N/C) · hold), the client's share alone. `send/req` (L = 0 only) = (fastest send run − fastest dry run at the same N) / N: the cost of sending one request, with the machine's noise left out as far as minima can. `max in flight` is what the server saw; at L = 0 its single thread answers each request before reading the next, so it stays near 1.\n");
    println!("| N | C | L | bound | wall | ratio | overhead | hold | ratio/hold | send/req | max in flight | connections | 403/429 | delivered | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &options.targets {
        let fastest_dry_run = dry
            .iter()
            .find(|(m, _)| *m == n)
            .and_then(|(_, d)| d.as_ref().ok().map(|d| d.min));
        for &latency_ms in &options.latency_ms {
            for &c in &options.concurrency {
                let bound_ms = n.div_ceil(c) as u64 * latency_ms;
                if options.quick && bound_ms > 20_000 {
                    println!("| {n} | {c} | {latency_ms} ms | {bound_ms} ms | skipped (--quick) |||||||||||");
                    continue;
                }
                eprintln!("send N={n} C={c} L={latency_ms}ms ...");
                let latency = Duration::from_millis(latency_ms);
                let result = bench.send(n, c, latency, None, "unlimited", reps)?;
                print_send_row(n, c, latency_ms, bound_ms, fastest_dry_run, &result);
            }
        }
    }

    if !options.no_rate {
        let (n, r) = (options.rate_targets, options.rate_requests);
        let window = Duration::from_millis(options.rate_window_ms);
        let flag = if options.rate_window_ms.is_multiple_of(1000) {
            format!("{r}/{}s", options.rate_window_ms / 1000)
        } else {
            format!("{r}/{}ms", options.rate_window_ms)
        };
        let c = 64;
        println!("\n## Rate limit: server admits {r} per {window:?} (sliding), client `--rate-limit {flag}`, C = {c}, L = 0\n");
        println!("`N/R` = N/R windows (the brief's bound); `floor` = (ceil(N/R) − 1) windows, the earliest the last request can start.\n");
        println!("| N | R | N/R | floor | wall | wall / (N/R) | wall / floor | 403/429 | delivered | max in flight |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        eprintln!("rate-limited send N={n} R={r}/{window:?} ...");
        let result = bench.send(n, c, Duration::ZERO, Some((r, window)), &flag, 1)?;
        let per_window = window.as_secs_f64() * 1000.0;
        let nr_ms = n as f64 / r as f64 * per_window;
        let floor_ms = n.div_ceil(r).saturating_sub(1) as f64 * per_window;
        match result {
            Ok(s) => println!(
                "| {n} | {r} | {nr_ms:.0} ms | {floor_ms:.0} ms | {} | {:.3} | {} | {} | {}/{n} | {} |",
                ms(s.median),
                s.median.as_secs_f64() * 1000.0 / nr_ms,
                if floor_ms > 0.0 {
                    format!("{:.3}", s.median.as_secs_f64() * 1000.0 / floor_ms)
                } else {
                    "–".to_owned()
                },
                s.limited,
                s.delivered,
                s.max_in_flight
            ),
            Err(refused) => println!("| {n} | {r} | {nr_ms:.0} ms | {floor_ms:.0} ms | {refused} ||||||"),
        }
    }
    if !options.no_fleet {
        fleet::run(&binary, scratch.path(), options.fleet_targets)?;
    }
    println!(
        "\nLoad average (1, 5, 15 min) before: {load_before}; after: {}. Other work on the machine shows up as noise.",
        machine::load_average()
    );
    Ok(())
}

fn cpu_table(options: &Options, binary: &Path) -> Result<(), String> {
    let named: Vec<(String, PathBuf)> = if options.cpu_build.is_empty() {
        vec![("this build".to_owned(), binary.to_path_buf())]
    } else {
        options
            .cpu_build
            .iter()
            .map(|b| {
                b.split_once('=')
                    .map(|(n, p)| (n.to_owned(), PathBuf::from(p)))
                    .ok_or_else(|| format!("--cpu-build {b}: NAME=PATH"))
            })
            .collect::<Result<_, _>>()?
    };
    let builds: Vec<cpu::Build<'_>> = named
        .iter()
        .map(|(name, path)| cpu::Build { name, binary: path })
        .collect();
    let scenario = cpu::Scenario {
        targets: options.cpu_targets,
        concurrency: 64,
        reps: options.reps.unwrap_or(5),
        bound_targets: options.cpu_bound_targets,
        latency: Duration::from_millis(50),
    };
    let scratch = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
    machine::wait_for_idle(Duration::from_secs(options.wait_idle));
    let rows = cpu::measure(&builds, scratch.path(), &scenario)?;
    println!("- load average after: {}", machine::load_average());
    cpu::print(&rows, scenario.reps);
    Ok(())
}

/// The gates rows (a baseline with every package out at once first), each run
/// `--gates-reps` times, interleaved so the machine's load falls on every row alike.
fn gates_table(options: &Options, binary: &Path) -> Result<(), String> {
    gates_bound::check_model()?;
    let scratch = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
    let scenario = |window_ms, interval_ms| gates::Scenario {
        targets: options.gates_targets,
        waves: options.gates_waves,
        window_ms,
        seed: options.gates_seed,
        interval_ms,
        latency_ms: options.gates_latency_ms,
    };
    let mut scenarios = Vec::new();
    if !options.gates_no_baseline && options.gates_window_ms > 1 {
        let first = options.gates_interval_ms.first().copied().unwrap_or(20);
        scenarios.push(scenario(1, first));
    }
    for &interval_ms in &options.gates_interval_ms {
        scenarios.push(scenario(options.gates_window_ms, interval_ms));
    }
    let mut rows: Vec<gates_bound::Row> = scenarios
        .into_iter()
        .map(|scenario| gates_bound::Row {
            workload: gates::workload(&scenario),
            scenario,
            runs: Vec::new(),
        })
        .collect();
    for rep in 0..options.gates_reps.max(1) {
        for row in &mut rows {
            let s = &row.scenario;
            eprintln!(
                "gates N={} waves={} window={}ms interval={}ms run {} ...",
                s.targets,
                s.waves,
                s.window_ms,
                s.interval_ms,
                rep + 1
            );
            let figures = gates::measure(binary, scratch.path(), s, &row.workload)?;
            row.runs.push(figures);
        }
    }
    gates_bound::print(&rows);
    Ok(())
}

/// `--waits`: one wait, or one per `--wait-read-budget`, the busiest window counted over the
/// first budget's window.
fn waits_scenario(binary: &Path, options: &Options) -> Result<(), String> {
    let window = match options.wait_read_budget.first() {
        Some(text) => orchestrator::policy::RateLimit::parse(text)?.map(|limit| limit.window),
        None => None,
    };
    let scenario = |read_budget: Option<&String>| waits::Scenario {
        repos: options.wait_repos,
        runs: options.wait_runs,
        run_secs: options.wait_run_secs,
        poll_ms: options.wait_poll_ms,
        read_budget: read_budget.cloned(),
        rate_headers: !options.wait_no_rate_headers,
        window,
    };
    let scratch = tempfile::tempdir().map_err(|e| format!("no scratch directory: {e}"))?;
    if options.wait_read_budget.is_empty() {
        let scenario = scenario(None);
        let figures = waits::measure(binary, scratch.path(), &scenario)?;
        waits::print(&scenario, &figures);
        return Ok(());
    }
    let mut rows = Vec::new();
    for budget in &options.wait_read_budget {
        eprintln!("waits read_budget={budget} ...");
        machine::wait_for_idle(Duration::from_secs(options.wait_idle));
        let scenario = scenario(Some(budget));
        let figures = waits::measure(binary, scratch.path(), &scenario)?;
        rows.push((scenario, figures));
    }
    waits::print_budgets(&rows);
    println!("\n- load average after: {}", machine::load_average());
    Ok(())
}

fn serve(options: &Options) -> Result<(), String> {
    let latency = Duration::from_millis(options.latency_ms.first().copied().unwrap_or(0));
    let limit = (!options.no_rate).then(|| {
        (
            options.rate_requests,
            Duration::from_millis(options.rate_window_ms),
        )
    });
    let server = Server::start(Behaviour {
        latency,
        limit,
        second: None,
    })
    .map_err(|e| e.to_string())?;
    println!("{}", server.base_url());
    eprintln!("serving with latency {latency:?} and limit {limit:?}; stop with Ctrl-C");
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let c = server.counters();
        eprintln!(
            "requests {}, max in flight {}, 403s {}, connections {}",
            c.requests.load(Ordering::Relaxed),
            c.max_in_flight.load(Ordering::Relaxed),
            c.limited.load(Ordering::Relaxed),
            c.connections.load(Ordering::Relaxed)
        );
    }
}

struct Bench<'a> {
    binary: &'a Path,
    scratch: &'a Path,
    wait_idle: Duration,
}

/// What the repetitions of one scenario measured.
#[derive(Debug, Clone, Copy)]
struct Summary {
    median: Duration,
    min: Duration,
    max_rss_kib: u64,
    limited: u64,
    max_in_flight: u64,
    connections: u64,
    delivered: u64,
    /// Mean time the server held a request (0 in dry runs).
    mean_hold: Duration,
}

/// `Err` holds why the binary refused the configuration (it is reported, not fatal).
type Outcome = Result<Summary, String>;

impl Bench<'_> {
    fn dry_run(&self, targets: usize, reps: usize) -> Result<Outcome, String> {
        let config = workload::config_file(self.scratch, targets).map_err(|e| e.to_string())?;
        machine::wait_for_idle(self.wait_idle);
        let invocation = Invocation {
            binary: self.binary,
            config: &config,
            send: None,
            stdout: None,
        };
        let mut runs = Vec::new();
        for _ in 0..reps {
            let measured = invocation.run(self.scratch).map_err(|e| e.to_string())?;
            if measured.exit_code != Some(0) {
                return Ok(Err(refusal(&measured)));
            }
            runs.push((measured, Counts::default()));
        }
        Ok(Ok(summarize(&runs)))
    }

    fn send(
        &self,
        targets: usize,
        concurrency: usize,
        latency: Duration,
        limit: Option<(usize, Duration)>,
        rate_limit: &str,
        reps: usize,
    ) -> Result<Outcome, String> {
        let config = workload::config_file(self.scratch, targets).map_err(|e| e.to_string())?;
        let report = self.scratch.join("report.json");
        machine::wait_for_idle(self.wait_idle);
        let mut runs = Vec::new();
        for _ in 0..reps {
            // A fresh server per run: fresh counters, no warm connections or window.
            let server = Server::start(Behaviour {
                latency,
                limit,
                second: None,
            })
            .map_err(|e| e.to_string())?;
            let api_url = server.base_url();
            let invocation = Invocation {
                binary: self.binary,
                config: &config,
                send: Some(Send {
                    api_url: &api_url,
                    concurrency,
                    rate_limit,
                    tokens: &[],
                }),
                stdout: Some(&report),
            };
            let measured = invocation.run(self.scratch).map_err(|e| e.to_string())?;
            let c = server.counters();
            let counts = Counts {
                limited: c.limited.load(Ordering::Relaxed),
                max_in_flight: c.max_in_flight.load(Ordering::Relaxed),
                connections: c.connections.load(Ordering::Relaxed),
                delivered: delivered(&report),
                mean_hold: c.mean_hold().unwrap_or_default(),
            };
            drop(server);
            if measured.exit_code == Some(2) {
                return Ok(Err(refusal(&measured)));
            }
            if measured.exit_code != Some(0) {
                eprintln!(
                    "  warning: exit {:?}: {}",
                    measured.exit_code, measured.stderr_tail
                );
            }
            runs.push((measured, counts));
        }
        Ok(Ok(summarize(&runs)))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    limited: u64,
    max_in_flight: u64,
    connections: u64,
    delivered: u64,
    mean_hold: Duration,
}

fn summarize(runs: &[(Measured, Counts)]) -> Summary {
    let mut walls: Vec<Duration> = runs.iter().map(|(m, _)| m.wall).collect();
    walls.sort();
    // Counters are the worst over repetitions: one 403 in any run is a miss.
    let worst = |f: fn(&Counts) -> u64| runs.iter().map(|(_, c)| f(c)).max().unwrap_or(0);
    Summary {
        median: walls[walls.len() / 2],
        min: walls[0],
        max_rss_kib: runs.iter().map(|(m, _)| m.max_rss_kib).max().unwrap_or(0),
        limited: worst(|c| c.limited),
        max_in_flight: worst(|c| c.max_in_flight),
        connections: worst(|c| c.connections),
        delivered: runs.iter().map(|(_, c)| c.delivered).min().unwrap_or(0),
        mean_hold: runs
            .iter()
            .map(|(_, c)| c.mean_hold)
            .max()
            .unwrap_or_default(),
    }
}

fn refusal(measured: &Measured) -> String {
    format!(
        "refused (exit {}): {}",
        measured
            .exit_code
            .map_or("signal".to_owned(), |c| c.to_string()),
        measured.stderr_tail.replace('|', "\\|")
    )
}

/// `summary.delivered` of the JSON report, 0 when it cannot be read.
fn delivered(report: &Path) -> u64 {
    std::fs::read(report)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.pointer("/summary/delivered").and_then(|d| d.as_u64()))
        .unwrap_or(0)
}

fn print_dry_runs(tiny: &Outcome, dry: &[(usize, Outcome)], reps: usize) {
    println!("\n## Load + validate + plan (`run --dry-run --output json > /dev/null`)\n");
    println!("Median (min) of {reps} runs. `plan cost` = median − median of the one-target file (process start, runtime, clap).\n");
    println!("| targets | file size | wall median (min) | plan cost | per target | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let base = tiny.as_ref().ok().map(|t| t.median);
    let mut rows = vec![(1, tiny)];
    rows.extend(dry.iter().map(|(n, d)| (*n, d)));
    for (n, outcome) in rows {
        let size = workload::dispatch_yaml(n).len();
        match outcome {
            Ok(s) => {
                let cost = base.map(|b| s.median.saturating_sub(b));
                println!(
                    "| {n} | {} | {} ({}) | {} | {} | {} |",
                    bytes(size),
                    ms(s.median),
                    ms(s.min),
                    cost.map_or("–".into(), ms),
                    cost.map_or("–".into(), |c| us(c / n as u32)),
                    mib(s.max_rss_kib)
                );
            }
            Err(refused) => println!("| {n} | {} | {refused} ||||", bytes(size)),
        }
    }
}

fn print_send_row(
    n: usize,
    c: usize,
    latency_ms: u64,
    bound_ms: u64,
    fastest_dry_run: Option<Duration>,
    outcome: &Outcome,
) {
    let s = match outcome {
        Ok(s) => s,
        Err(refused) => {
            println!("| {n} | {c} | {latency_ms} ms | {bound_ms} ms | {refused} |||||||||||");
            return;
        }
    };
    let wall_ms = s.median.as_secs_f64() * 1000.0;
    let ratio = if bound_ms > 0 {
        format!("{:.3}", wall_ms / bound_ms as f64)
    } else {
        "–".to_owned()
    };
    let held_bound_ms = n.div_ceil(c) as f64 * s.mean_hold.as_secs_f64() * 1000.0;
    let ratio_held = if latency_ms > 0 && held_bound_ms > 0.0 {
        format!("{:.3}", wall_ms / held_bound_ms)
    } else {
        "–".to_owned()
    };
    let per_request = match (latency_ms, fastest_dry_run) {
        (0, Some(dry)) => us(s.min.saturating_sub(dry) / n as u32),
        _ => "–".to_owned(),
    };
    println!(
        "| {n} | {c} | {latency_ms} ms | {bound_ms} ms | {} | {ratio} | {:.0} ms | {} | {ratio_held} | {per_request} | {} | {} | {} | {}/{n} | {} |",
        ms(s.median),
        wall_ms - bound_ms as f64,
        ms(s.mean_hold),
        s.max_in_flight,
        s.connections,
        s.limited,
        s.delivered,
        mib(s.max_rss_kib)
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.2} MiB", n as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}
