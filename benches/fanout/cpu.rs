//! CPU per request: the orchestrator binary (or two builds of it side by
//! side) against a minimal keep-alive client, in the same run, on the same stand-in server.
//!
//! The minimal client is this bench binary itself (`--minimal-client URL`), spawned as a child
//! so its CPU time is read the same way (`wait4`'s `ru_utime + ru_stime`): one thread, C
//! keep-alive connections, each writing a repository_dispatch POST of the same size as the
//! orchestrator's and reading the 204, nothing else (no TLS, no JSON, no report). A second
//! minimal client (`--minimal-kind reqwest`) sends the same through reqwest on one thread: the
//! floor of the HTTP stack the orchestrator is built on.

use crate::server::{Behaviour, Server};
use crate::workload::{self, Invocation, Measured, Send};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One build to measure, under the name the table gives it.
pub struct Build<'a> {
    pub name: &'a str,
    pub binary: &'a Path,
}

/// The medians (CPU and wall) of one row.
pub struct Row {
    pub name: String,
    pub what: String,
    pub wall: Duration,
    pub cpu: Duration,
    /// CPU per request: the whole process's, and the sending share (minus a dry run's CPU).
    pub per_request: Duration,
    pub sending_per_request: Option<Duration>,
    /// Wall time over ceil(N/C)·L when L > 0.
    pub ratio: Option<f64>,
}

pub struct Scenario {
    pub targets: usize,
    pub concurrency: usize,
    pub reps: usize,
    /// The latency-bound scenario (wall time against ceil(N/C)·L).
    pub bound_targets: usize,
    pub latency: Duration,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn send_once(
    binary: &Path,
    config: &Path,
    scratch: &Path,
    concurrency: usize,
    latency: Duration,
) -> Result<Measured, String> {
    let server = Server::start(Behaviour {
        latency,
        limit: None,
        second: None,
    })
    .map_err(|e| e.to_string())?;
    let api_url = server.base_url();
    let report = scratch.join("cpu-report.json");
    let measured = Invocation {
        binary,
        config,
        send: Some(Send {
            api_url: &api_url,
            concurrency,
            rate_limit: "unlimited",
            tokens: &[],
        }),
        stdout: Some(&report),
    }
    .run(scratch)
    .map_err(|e| e.to_string())?;
    if measured.exit_code != Some(0) {
        return Err(format!(
            "exit {:?}: {}",
            measured.exit_code, measured.stderr_tail
        ));
    }
    Ok(measured)
}

fn minimal_once(
    scratch: &Path,
    targets: usize,
    concurrency: usize,
    kind: &str,
) -> Result<Measured, String> {
    let server = Server::start(Behaviour {
        latency: Duration::ZERO,
        limit: None,
        second: None,
    })
    .map_err(|e| e.to_string())?;
    let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    command
        .args(["--minimal-client", &server.base_url()])
        .args(["--minimal-kind", kind])
        .args(["--targets", &targets.to_string()])
        .args(["--concurrency", &concurrency.to_string()]);
    let measured = workload::measure(command, None, scratch).map_err(|e| e.to_string())?;
    if measured.exit_code != Some(0) {
        return Err(format!("minimal client: {}", measured.stderr_tail));
    }
    Ok(measured)
}

/// Every build's rows (send at L = 0, send at the latency bound), and the minimal client's.
pub fn measure(builds: &[Build<'_>], scratch: &Path, s: &Scenario) -> Result<Vec<Row>, String> {
    let config = workload::config_file(scratch, s.targets).map_err(|e| e.to_string())?;
    let bound_config =
        workload::config_file(scratch, s.bound_targets).map_err(|e| e.to_string())?;
    let n = u32::try_from(s.targets).unwrap_or(u32::MAX);
    let mut rows = Vec::new();
    let mut minimal = (Vec::new(), Vec::new());
    let mut library = (Vec::new(), Vec::new());
    let mut per_build: Vec<[Vec<Measured>; 3]> =
        builds.iter().map(|_| Default::default()).collect();
    // Interleaved, so a busy moment of the shared machine lands on every build alike.
    for rep in 0..s.reps {
        eprintln!("  cpu: repetition {}/{}", rep + 1, s.reps);
        for (build, runs) in builds.iter().zip(&mut per_build) {
            let dry = Invocation {
                binary: build.binary,
                config: &config,
                send: None,
                stdout: None,
            }
            .run(scratch)
            .map_err(|e| e.to_string())?;
            runs[0].push(dry);
            runs[1].push(send_once(
                build.binary,
                &config,
                scratch,
                s.concurrency,
                Duration::ZERO,
            )?);
            runs[2].push(send_once(
                build.binary,
                &bound_config,
                scratch,
                s.concurrency,
                s.latency,
            )?);
        }
        let m = minimal_once(scratch, s.targets, s.concurrency, "raw")?;
        minimal.0.push(m.wall);
        minimal.1.push(m.cpu);
        let m = minimal_once(scratch, s.targets, s.concurrency, "reqwest")?;
        library.0.push(m.wall);
        library.1.push(m.cpu);
    }
    for (build, runs) in builds.iter().zip(per_build) {
        let dry_cpu = median(runs[0].iter().map(|m| m.cpu).collect());
        let cpu = median(runs[1].iter().map(|m| m.cpu).collect());
        rows.push(Row {
            name: build.name.to_owned(),
            what: format!("send N = {}, C = {}, L = 0", s.targets, s.concurrency),
            wall: median(runs[1].iter().map(|m| m.wall).collect()),
            cpu,
            per_request: cpu / n,
            sending_per_request: Some(cpu.saturating_sub(dry_cpu) / n),
            ratio: None,
        });
        let bound =
            s.latency * u32::try_from(s.bound_targets.div_ceil(s.concurrency)).unwrap_or(u32::MAX);
        let wall = median(runs[2].iter().map(|m| m.wall).collect());
        let cpu = median(runs[2].iter().map(|m| m.cpu).collect());
        rows.push(Row {
            name: build.name.to_owned(),
            what: format!(
                "send N = {}, C = {}, L = {} ms",
                s.bound_targets,
                s.concurrency,
                s.latency.as_millis()
            ),
            wall,
            cpu,
            per_request: cpu / u32::try_from(s.bound_targets).unwrap_or(u32::MAX),
            sending_per_request: None,
            ratio: Some(wall.as_secs_f64() / bound.as_secs_f64()),
        });
    }
    for (name, (walls, cpus)) in [
        ("minimal reqwest client (one thread)", library),
        ("minimal keep-alive client", minimal),
    ] {
        let cpu = median(cpus);
        rows.push(Row {
            name: name.to_owned(),
            what: format!("N = {}, C = {}, L = 0", s.targets, s.concurrency),
            wall: median(walls),
            cpu,
            per_request: cpu / n,
            sending_per_request: Some(cpu / n),
            ratio: None,
        });
    }
    Ok(rows)
}

pub fn print(rows: &[Row], reps: usize) {
    let floor = |name: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(name))
            .and_then(|r| r.sending_per_request)
    };
    let (library, raw) = (floor("minimal reqwest"), floor("minimal keep-alive"));
    let against = |own: Option<Duration>, floor: Option<Duration>| match (own, floor) {
        (Some(own), Some(floor)) if !floor.is_zero() => {
            format!("{:.2}×", own.as_secs_f64() / floor.as_secs_f64())
        }
        _ => "–".to_owned(),
    };
    println!("\n### CPU per request ({reps} repetitions, medians; CPU = user + system of the client process)\n");
    println!("| build | scenario | wall | wall / bound | CPU | CPU / request | sending CPU / request | against minimal reqwest | against minimal keep-alive |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.1} ms | {} | {:.1} ms | {:.1} µs | {} | {} | {} |",
            row.name,
            row.what,
            row.wall.as_secs_f64() * 1e3,
            row.ratio.map_or("–".to_owned(), |r| format!("{r:.3}")),
            row.cpu.as_secs_f64() * 1e3,
            row.per_request.as_secs_f64() * 1e6,
            row.sending_per_request.map_or("–".to_owned(), |d| format!(
                "{:.1} µs",
                d.as_secs_f64() * 1e6
            )),
            against(row.sending_per_request, library),
            against(row.sending_per_request, raw),
        );
    }
}

const BODY: &str = r#"{"event_type":"upstream-release","client_payload":{"version":"1.2.3","source":"app","dispatch_id":"0123456789abcdef-00000000"}}"#;

/// The same POSTs through reqwest (the HTTP stack the orchestrator uses: hyper, its pool) on
/// one thread, `concurrency` at a time, and nothing else: the library's own floor.
pub fn reqwest_client(url: &str, targets: usize, concurrency: usize) -> Result<(), String> {
    use futures::stream::{self, StreamExt};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let base = url.trim_end_matches('/').to_owned();
    runtime.block_on(async {
        let sent = stream::iter(0..targets)
            .map(|i| {
                client
                    .post(format!("{base}/repos/acme/t{i:05}/dispatches"))
                    .header("accept", "application/vnd.github+json")
                    .header("authorization", "Bearer ghp_fanoutbenchtoken0123456789")
                    .header("x-github-api-version", "2022-11-28")
                    .header("content-type", "application/json")
                    .body(BODY)
                    .send()
            })
            .buffer_unordered(concurrency.max(1))
            .filter(|r| std::future::ready(r.as_ref().map_or(true, |r| r.status() != 204)))
            .count()
            .await;
        if sent == 0 {
            Ok(())
        } else {
            Err(format!("{sent} requests were not answered 204"))
        }
    })
}

/// The minimal client: `targets` POSTs over `concurrency` keep-alive connections to `url`.
pub fn minimal_client(url: &str, targets: usize, concurrency: usize) -> Result<(), String> {
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let next = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let connections = (0..concurrency.max(1)).map(|_| {
            let (next, addr) = (next.clone(), addr.clone());
            async move {
                let mut stream = tokio::net::TcpStream::connect(&addr).await?;
                stream.set_nodelay(true)?;
                let mut answer = vec![0u8; 4096];
                loop {
                    let i = next.get();
                    if i >= targets {
                        return Ok::<(), std::io::Error>(());
                    }
                    next.set(i + 1);
                    let body = BODY;
                    let request = format!(
                        "POST /repos/acme/t{i:05}/dispatches HTTP/1.1\r\nhost: {addr}\r\naccept: application/vnd.github+json\r\nauthorization: Bearer ghp_fanoutbenchtoken0123456789\r\nuser-agent: minimal\r\nx-github-api-version: 2022-11-28\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(request.as_bytes()).await?;
                    // The 204 has no body: read up to the end of its head.
                    let mut read = 0;
                    while !answer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = stream.read(&mut answer[read..]).await?;
                        if n == 0 {
                            return Err(std::io::Error::other("the server closed the connection"));
                        }
                        read += n;
                    }
                }
            }
        });
        futures::future::try_join_all(connections)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}
