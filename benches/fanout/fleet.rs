//! Fleet scale: several windows at once (`40/1s,100/5s`, GitHub's `80/min,500/h`
//! scaled down), the server enforcing the same windows per `Authorization`, on one identity
//! and on three (`token_env: [A, B, C]`). Measured: wall time against the multi-window bound
//! (the last start of a greedy sliding-window schedule with the pacer's slack), and 403s.

use crate::server::{Behaviour, Server};
use crate::workload::{self, Invocation, Send, TOKEN_ENV};
use orchestrator::policy::RateLimits;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

const RATE: &str = "40/1s,100/5s";
const SHARDS: [(&str, &str); 3] = [
    ("FLEET_TOKEN_A", "ghp_fleetbenchtokenA0123456789"),
    ("FLEET_TOKEN_B", "ghp_fleetbenchtokenB0123456789"),
    ("FLEET_TOKEN_C", "ghp_fleetbenchtokenC0123456789"),
];

pub fn run(binary: &Path, scratch: &Path, targets: usize) -> Result<(), String> {
    let limits = RateLimits::parse(RATE)?;
    let c = 64;
    println!("\n## Fleet: several windows, sharded identities\n");
    println!("Server and client both `{RATE}` per identity (the server per `Authorization`), N = {targets}, C = {c}, L = 0. `bound` = when the last request may start under every window (greedy sliding windows, with the pacer's slack: 250 ms on these short windows).\n");
    println!("| identities | N | bound | wall | wall / bound | 403/429 | delivered |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut one_identity = None;
    for shards in [1usize, 3] {
        let yaml = workload::dispatch_yaml(targets);
        let yaml = if shards == 1 {
            yaml
        } else {
            let names: Vec<&str> = SHARDS.iter().map(|(n, _)| *n).collect();
            yaml.replace(
                &format!("token_env: {TOKEN_ENV}"),
                &format!("token_env: [{}]", names.join(", ")),
            )
        };
        let config = scratch.join(format!("fleet-{targets}-{shards}.yaml"));
        std::fs::write(&config, yaml).map_err(|e| e.to_string())?;
        let report = scratch.join("fleet-report.json");
        let windows = limits.windows();
        let server = Server::start(Behaviour {
            latency: Duration::ZERO,
            limit: windows.first().map(|w| (w.requests as usize, w.window)),
            second: windows.get(1).map(|w| (w.requests as usize, w.window)),
        })
        .map_err(|e| e.to_string())?;
        let api_url = server.base_url();
        eprintln!("fleet send N={targets} identities={shards} ...");
        let measured = Invocation {
            binary,
            config: &config,
            send: Some(Send {
                api_url: &api_url,
                concurrency: c,
                rate_limit: RATE,
                tokens: &SHARDS,
            }),
            stdout: Some(&report),
        }
        .run(scratch)
        .map_err(|e| e.to_string())?;
        let counters = server.counters();
        let limited = counters.limited.load(Ordering::Relaxed);
        let delivered = std::fs::read(&report)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.pointer("/summary/delivered").and_then(|d| d.as_u64()))
            .unwrap_or(0);
        drop(server);
        let bound = limits.expected_duration(targets.div_ceil(shards));
        let wall = measured.wall;
        println!(
            "| {shards} | {targets} | {:.2} s | {:.2} s | {:.3} | {limited} | {delivered}/{targets} |",
            bound.as_secs_f64(),
            wall.as_secs_f64(),
            wall.as_secs_f64() / bound.as_secs_f64().max(1e-9),
        );
        match one_identity {
            None => one_identity = Some(wall),
            Some(one) => println!(
                "\nThree identities against a third of one identity's wall time: {:.2} s / {:.2} s = {:.3}.",
                wall.as_secs_f64(),
                one.as_secs_f64() / 3.0,
                wall.as_secs_f64() * 3.0 / one.as_secs_f64()
            ),
        }
    }
    Ok(())
}
