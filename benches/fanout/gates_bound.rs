//! The gates scenario's bound and where a run loses time against it.
//!
//! The model: the fake holds every answer for `L`; a target is delivered when the fake
//! answers its dispatch. A target's gate can be looked at once everything it needs is
//! delivered (`s`, 0 without needs), so it is `ready = max(publication, s)`, and the earliest
//! it can be delivered is `ready + 2L`: a look that finds the package (`L`), then its
//! dispatch (`L`). Without a grid, the look is assumed to happen the instant the package is
//! published (a poller infinitely fast). With the grid `I` (the `--await-interval`, the least
//! time between two looks), looks happen at `s + k·I`, so a package published after `s` is
//! seen at `s + ceil((publication − s) / I)·I + L`. The bound is the latest delivery; start-up
//! (the process before its first request) is left out of it, so it counts against the run.

use crate::gates::{Figures, Scenario, Workload};
use std::time::Duration;

/// Each target's earliest delivery after the start, `grid` or not.
pub fn deliveries(workload: &Workload, latency: Duration, grid: Option<Duration>) -> Vec<Duration> {
    let mut delivered: Vec<Duration> = Vec::with_capacity(workload.openings.len());
    for (i, &published) in workload.openings.iter().enumerate() {
        // Needs are always of an earlier wave, so of a lower index.
        let s = workload.needs[i]
            .iter()
            .map(|&j| delivered[j])
            .max()
            .unwrap_or_default();
        let seen = match grid.filter(|g| !g.is_zero()) {
            Some(grid) if published > s => {
                let looks = (published - s).as_nanos().div_ceil(grid.as_nanos());
                s + grid * u32::try_from(looks).unwrap_or(u32::MAX) + latency
            }
            _ => published.max(s) + latency,
        };
        delivered.push(seen + latency);
    }
    delivered
}

pub fn bound(workload: &Workload, latency: Duration, grid: Option<Duration>) -> Duration {
    deliveries(workload, latency, grid)
        .into_iter()
        .max()
        .unwrap_or_default()
}

/// How late each delivered target was against what its own gate and its needs' actual
/// deliveries allowed (`max(publication, s) + 2L`), split by which came last.
#[derive(Debug, Default)]
pub struct Lateness {
    /// Targets whose package was published after their needs were delivered: a gate seen late.
    pub gate_last: Vec<Duration>,
    /// Targets whose needs were delivered after their package was out: a need heard late.
    pub need_last: Vec<Duration>,
}

pub fn lateness(workload: &Workload, latency: Duration, figures: &Figures) -> Lateness {
    let mut out = Lateness::default();
    for (i, &published) in workload.openings.iter().enumerate() {
        let Some(at) = figures.delivered[i] else {
            continue;
        };
        let needs: Option<Vec<Duration>> = workload.needs[i]
            .iter()
            .map(|&j| figures.delivered[j])
            .collect();
        let Some(s) = needs.map(|n| n.into_iter().max().unwrap_or_default()) else {
            continue;
        };
        let late = at.saturating_sub(published.max(s) + 2 * latency);
        match s >= published && !workload.needs[i].is_empty() {
            true => out.need_last.push(late),
            false => out.gate_last.push(late),
        }
    }
    out.gate_last.sort();
    out.need_last.sort();
    out
}

pub fn median<T: Copy + Ord>(values: &[T]) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// `median (min–max)` of `values`, in `unit`.
fn spread(values: &[f64], digits: usize) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match (sorted.first(), sorted.get(sorted.len() / 2), sorted.last()) {
        (Some(lo), Some(mid), Some(hi)) => format!("{mid:.digits$} ({lo:.digits$}–{hi:.digits$})"),
        _ => "–".to_owned(),
    }
}

pub struct Row {
    pub scenario: Scenario,
    pub workload: Workload,
    pub runs: Vec<Figures>,
}

impl Row {
    fn bound(&self, grid: bool) -> Duration {
        let grid = grid.then(|| self.scenario.interval());
        bound(&self.workload, self.scenario.latency(), grid)
    }
    fn cpu(&self) -> Vec<f64> {
        self.runs.iter().map(|f| f.cpu.as_secs_f64()).collect()
    }
    fn looks(&self) -> Vec<f64> {
        self.runs.iter().map(|f| f.looks as f64).collect()
    }
    fn label(&self) -> String {
        let s = &self.scenario;
        format!(
            "| {} | {} | {} ms | {} ms | {} ms |",
            s.targets, s.waves, s.window_ms, s.interval_ms, s.latency_ms
        )
    }
}

pub fn print(rows: &[Row]) {
    let reps = rows.first().map_or(0, |r| r.runs.len());
    println!("\n## Gates and waves: targets waiting for published artifacts and for each other\n");
    println!("Median (min–max) of {reps} runs, interleaved. `bound` = the latest delivery the gates and needs allow with looks at the instant of publication; `grid bound` = the same with looks every --await-interval from when a target may look (see benches/fanout/gates_bound.rs). CPU = user + system time of the process (`wait4`); looks = GETs the registry answered.\n");
    println!("| N | waves | window | --await-interval | fake latency | bound | grid bound | wall (s) | wall / bound | wall / grid bound | CPU (s) | looks | connections | dispatches | exit |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let (b, g) = (row.bound(false), row.bound(true));
        let walls: Vec<f64> = row.runs.iter().map(|f| f.wall.as_secs_f64()).collect();
        let ratio = |b: Duration| -> Vec<f64> {
            walls
                .iter()
                .map(|w| w / b.as_secs_f64().max(1e-9))
                .collect()
        };
        let dispatches: Vec<usize> = row.runs.iter().map(|f| f.dispatches).collect();
        let connections: Vec<f64> = row.runs.iter().map(|f| f.connections as f64).collect();
        let exits: Vec<String> = row
            .runs
            .iter()
            .map(|f| f.exit_code.map_or("-".to_owned(), |c| c.to_string()))
            .collect();
        println!(
            "{} {} s | {} s | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.label(),
            secs(b),
            secs(g),
            spread(&walls, 3),
            spread(&ratio(b), 3),
            spread(&ratio(g), 3),
            spread(&row.cpu(), 3),
            spread(&row.looks(), 0),
            spread(&connections, 0),
            median(&dispatches).unwrap_or_default(),
            exits.join(","),
        );
    }
    print_lateness(rows);
    print_cpu(rows);
    print_quiet(rows);
}

fn print_lateness(rows: &[Row]) {
    println!("\nWhere the time goes, run with the median wall time: `late` = a delivery's time − (max(publication, its needs' actual deliveries) + 2 × latency), for the targets whose gate opened last and for those whose need was delivered last (that one is the signal from a delivered need to its dependent's look and dispatch). `start-up` = the fake's first request; `tail` = wall − the last delivery (report, exit).\n");
    println!("| N | waves | window | --await-interval | fake latency | start-up | gate last: n, median / p95 / max late (ms) | need last: n, median / p95 / max late (ms) | last delivery − bound | tail |");
    println!("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|");
    for row in rows {
        let mut by_wall: Vec<&Figures> = row.runs.iter().collect();
        by_wall.sort_by_key(|f| f.wall);
        let Some(f) = by_wall.get(by_wall.len() / 2) else {
            continue;
        };
        let late = lateness(&row.workload, row.scenario.latency(), f);
        let stats = |v: &[Duration]| match v.is_empty() {
            true => "–".to_owned(),
            false => format!(
                "{}: {} / {} / {}",
                v.len(),
                ms(quantile(v, 0.5)),
                ms(quantile(v, 0.95)),
                ms(quantile(v, 1.0))
            ),
        };
        let last = f
            .delivered
            .iter()
            .flatten()
            .max()
            .copied()
            .unwrap_or_default();
        println!(
            "{} {} ms | {} | {} | {} ms | {} ms |",
            row.label(),
            ms(f.first_request.unwrap_or_default()),
            stats(&late.gate_last),
            stats(&late.need_last),
            ms(last.saturating_sub(row.bound(false))),
            ms(f.wall.saturating_sub(last)),
        );
    }
}

/// CPU against looks: each row against the baseline (every package out at once) of its
/// waves, and a least-squares line through all of a waves' runs: its intercept is the CPU of
/// a run that waited but never looked more than the baseline did.
fn print_cpu(rows: &[Row]) {
    println!("\nCPU split between looking and waiting. `baseline` = the same waves with every package published at once (window 1 ms): start, plan, one look and one dispatch per target. `per extra look` = (CPU − baseline CPU) / (looks − baseline looks), medians. The fit is CPU = a + b × looks through every run that waited (window > 1 ms): `b` is what one more look costs; a run that waits longer but looks as often costs no more if waiting is free (see the next table).\n");
    println!("| waves | --await-interval | window | CPU (s) | looks | CPU − baseline (ms) | extra looks | per extra look (µs) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut waves: Vec<usize> = rows.iter().map(|r| r.scenario.waves).collect();
    waves.dedup();
    for w in waves {
        let of: Vec<&Row> = rows.iter().filter(|r| r.scenario.waves == w).collect();
        let Some(base) = of.iter().find(|r| r.scenario.window_ms <= 1) else {
            continue;
        };
        let (base_cpu, base_looks) = (median_f(&base.cpu()), median_f(&base.looks()));
        for row in &of {
            let (cpu, looks) = (median_f(&row.cpu()), median_f(&row.looks()));
            let per = match looks - base_looks {
                extra if extra > 0.0 => format!("{:.1}", (cpu - base_cpu) * 1e6 / extra),
                _ => "–".to_owned(),
            };
            println!(
                "| {w} | {} ms | {} ms | {cpu:.3} | {looks:.0} | {:.0} | {:.0} | {per} |",
                row.scenario.interval_ms,
                row.scenario.window_ms,
                (cpu - base_cpu) * 1e3,
                looks - base_looks,
            );
        }
        // The line through the runs that waited: its slope is what one more look costs, its
        // intercept what the same run would cost with no look at all.
        let points: Vec<(f64, f64)> = of
            .iter()
            .filter(|r| r.scenario.window_ms > 1)
            .flat_map(|r| r.runs.iter().map(|f| (f.looks as f64, f.cpu.as_secs_f64())))
            .collect();
        if let Some((a, b)) = fit(&points) {
            println!("\nWaves {w}, the runs that waited: fit CPU = {a:.3} s + {:.1} µs × looks over {} runs.\n", b * 1e6, points.len());
        }
    }
}

/// CPU in the stretches where the fake saw no request: waiting costs that much.
fn print_quiet(rows: &[Row]) {
    println!("\nCPU while nothing is looked at or sent: the process's CPU time (`/proc/PID/task/*/schedstat`, every 5 ms) in the sampling windows between the first request and the last delivery with no request arriving or answered within 3 ms, summed over the {} runs of each row.\n", rows.first().map_or(0, |r| r.runs.len()));
    println!("| waves | window | --await-interval | quiet time (s) | CPU in it (ms) | CPU per quiet second (ms) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let quiet: Duration = row.runs.iter().map(|f| f.quiet).sum();
        let cpu: Duration = row.runs.iter().map(|f| f.quiet_cpu).sum();
        let per = match quiet.is_zero() {
            true => "–".to_owned(),
            false => format!("{:.2}", cpu.as_secs_f64() * 1e3 / quiet.as_secs_f64()),
        };
        let per = match quiet < Duration::from_millis(250) {
            true => "– (too little quiet time to read)".to_owned(),
            false => per,
        };
        println!(
            "| {} | {} ms | {} ms | {:.3} | {:.2} | {per} |",
            row.scenario.waves,
            row.scenario.window_ms,
            row.scenario.interval_ms,
            quiet.as_secs_f64(),
            cpu.as_secs_f64() * 1e3,
        );
    }
}

fn median_f(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// Least squares `y = a + b x`.
fn fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    (sxx > 0.0).then(|| {
        let b = sxy / sxx;
        (my - b * mx, b)
    })
}

/// The model on a worked example, checked before each gates table (a bench with
/// `harness = false` runs no `#[test]`).
pub fn check_model() -> Result<(), String> {
    let ms = Duration::from_millis;
    let workload = Workload {
        openings: vec![ms(100), ms(50), ms(300)],
        needs: vec![vec![], vec![0], vec![0, 1]],
    };
    // 0: 100 + 2·10; 1: max(50, 120) + 20; 2: max(300, 140) + 20.
    let instant = deliveries(&workload, ms(10), None);
    // Looks every 40 ms: 0 is seen at 3·40 + 10; 1 (out before 0's 140) at 140 + 10; 2 at
    // 160 + ceil(140 / 40)·40 + 10, each delivered 10 later.
    let grid = deliveries(&workload, ms(10), Some(ms(40)));
    let want = (
        vec![ms(120), ms(140), ms(320)],
        vec![ms(140), ms(160), ms(340)],
    );
    match (instant, grid) == want {
        true => Ok(()),
        false => Err("the gates bound's model disagrees with its worked example".to_owned()),
    }
}
