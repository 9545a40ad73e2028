//! Large files: the whole-process cost of loading a big file (`run --dry-run` and
//! `validate`) against a bare yaml-rust2 event parse of the same file, in this process. The
//! ratio says how close loading comes to the least any YAML reader must do.

use crate::workload;
use std::path::Path;
use std::time::{Duration, Instant};

/// Pulls every event of `text` and drops it: what reading YAML costs before anything is built.
fn bare_event_parse(text: &str) -> Result<usize, String> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut events = 0;
    loop {
        let (event, _) = parser.next_token().map_err(|e| e.to_string())?;
        events += 1;
        if event == Event::StreamEnd {
            return Ok(events);
        }
    }
}

struct Timings {
    median: Duration,
    min: Duration,
    max_rss_kib: u64,
}

fn timings(mut runs: Vec<(Duration, u64)>) -> Timings {
    runs.sort();
    Timings {
        median: runs[runs.len() / 2].0,
        min: runs[0].0,
        max_rss_kib: runs.iter().map(|r| r.1).max().unwrap_or(0),
    }
}

/// Prints one row per target count: dry run, validate and the bare parse, with the ratios.
pub fn print_table(
    binary: &Path,
    scratch: &Path,
    targets: &[usize],
    reps: usize,
    wait_idle: Duration,
) -> Result<(), String> {
    println!("\n## One parse: loading against a bare event parse of the same file\n");
    println!("Median (min) of {reps} runs each, whole process for `run --dry-run --output json` and `validate --output json`; `bare parse` = yaml-rust2's events pulled and dropped in the bench's own process (file already in memory). `ratio` = median / bare-parse median.\n");
    println!("| targets | file size | dry run | peak RSS | validate | peak RSS | bare parse | dry run / bare | validate / bare |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in targets {
        let config = workload::config_file(scratch, n).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
        crate::machine::wait_for_idle(wait_idle);
        let mut bare = Vec::new();
        for _ in 0..reps {
            let started = Instant::now();
            let events = bare_event_parse(&text)?;
            bare.push((started.elapsed(), 0));
            std::hint::black_box(events);
        }
        let invocation = workload::Invocation {
            binary,
            config: &config,
            send: None,
            stdout: None,
        };
        let (mut dry, mut validate) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let m = invocation.run(scratch).map_err(|e| e.to_string())?;
            if m.exit_code != Some(0) {
                return Err(format!("dry run of {n} targets: {}", m.stderr_tail));
            }
            dry.push((m.wall, m.max_rss_kib));
            let m = workload::validate(binary, &config, scratch).map_err(|e| e.to_string())?;
            if m.exit_code != Some(0) {
                return Err(format!("validate of {n} targets: {}", m.stderr_tail));
            }
            validate.push((m.wall, m.max_rss_kib));
        }
        let (bare, dry, validate) = (timings(bare), timings(dry), timings(validate));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mib = |k: u64| k as f64 / 1024.0;
        println!(
            "| {n} | {:.2} MiB | {:.1} ms ({:.1}) | {:.1} MiB | {:.1} ms ({:.1}) | {:.1} MiB | {:.1} ms ({:.1}) | {:.2} | {:.2} |",
            text.len() as f64 / (1024.0 * 1024.0),
            ms(dry.median),
            ms(dry.min),
            mib(dry.max_rss_kib),
            ms(validate.median),
            ms(validate.min),
            mib(validate.max_rss_kib),
            ms(bare.median),
            ms(bare.min),
            ms(dry.median) / ms(bare.median),
            ms(validate.median) / ms(bare.median),
        );
    }
    Ok(())
}
