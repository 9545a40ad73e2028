//! The machine the numbers come from, and how busy it is.

use std::path::Path;
use std::time::{Duration, Instant};

/// Returns once the CPUs were at least 85 % idle over half a second, or after `max`.
pub fn wait_for_idle(max: Duration) {
    if max.is_zero() {
        return;
    }
    let started = Instant::now();
    loop {
        let before = cpu_times();
        std::thread::sleep(Duration::from_millis(500));
        let after = cpu_times();
        if let (Some((idle0, total0)), Some((idle1, total1))) = (before, after) {
            let total = total1.saturating_sub(total0).max(1);
            if (idle1.saturating_sub(idle0)) as f64 / total as f64 >= 0.85 {
                return;
            }
        } else {
            return;
        }
        if started.elapsed() >= max {
            eprintln!("  warning: the machine is still busy after {max:?}; measuring anyway");
            return;
        }
    }
}

/// (idle + iowait, total) jiffies of all CPUs, from /proc/stat.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((idle, fields.iter().sum()))
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

pub fn describe(binary: &Path, explicit: bool) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("- CPU: {cpu}, {cores} cores available");
    let revision = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("- {rustc}");
    if explicit {
        println!("- binary: {} (given with --binary)", binary.display());
    } else {
        println!("- binary: {} (source: git {revision})", binary.display());
    }
}
