//! Whatever the file holds, `validate` and `run --dry-run` finish quickly, within bounded memory,
//! with exit code 1 or 2 and an error they printed: never a panic, a hang or a signal.
//!
//! Each input is generated into a temporary directory (the 50 MB one is never committed), and
//! each command runs under `ulimit -v` with a deadline, so a regression shows up as a kill.

use crate::support::cli::Watched;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far above what any of these inputs needs (tens of MB); far below what a blow-up takes.
const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;
/// Far above what any of these inputs needs (well under a second); a hang is caught.
const DEADLINE: Duration = Duration::from_secs(20);

const VALID_START: &str = "version: 1
sources:
  app:
    repository: acme/app
    targets: [website]
targets:
  website:
    repository: acme/website
    event_type: upstream-release
    token_env: WEBSITE_TOKEN
    client_payload:
";

/// A valid file whose `client_payload` has `key: <yaml>`.
fn with_payload(key: &str, yaml: &str) -> Vec<u8> {
    format!("{VALID_START}      {key}: {yaml}\n").into_bytes()
}

struct Finished {
    code: Option<i32>,
    elapsed: Duration,
    output: String,
}

/// Runs the binary in `dir` with `args`, memory-limited, killed at the deadline.
fn run(dir: &Path, args: &[&str]) -> Finished {
    let binary = assert_cmd::cargo::cargo_bin("orchestrator");
    let started = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(&binary)
        .args(args)
        .current_dir(dir)
        .env_clear()
        // A release job's context, so `{{ci.*}}` has values in `run` as in `validate`.
        .envs([
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_RUN_ID", "1234567890"),
            ("GITHUB_RUN_ATTEMPT", "1"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_REF", "refs/tags/v1.2.3"),
            ("GITHUB_ACTOR", "octocat"),
            ("GITHUB_WORKFLOW", "release"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut child = Watched::new(child);
    let ended = child.ended_within(DEADLINE);
    let elapsed = started.elapsed();
    let ran = child.finish();
    Finished {
        code: (ended && ran.code != -1).then_some(ran.code),
        elapsed,
        output: ran.all(),
    }
}

/// Both commands on `bytes` as dispatch.yaml; returns every broken promise.
fn check(name: &str, bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut file = std::fs::File::create(dir.path().join("dispatch.yaml")).expect("file");
    file.write_all(bytes).expect("writes");
    drop(file);
    let commands: [&[&str]; 2] = [
        &["validate"],
        &["run", "--dry-run", "--source", "app", "--version", "1.2.3"],
    ];
    let mut broken = Vec::new();
    for args in commands {
        let done = run(dir.path(), args);
        let what = format!("{name}: `{}`", args.join(" "));
        match done.code {
            Some(1 | 2) => {}
            Some(code) => broken.push(format!("{what} exited {code}")),
            None => broken.push(format!(
                "{what} was killed by a signal after {:?} (deadline {DEADLINE:?}, memory {MEMORY_LIMIT_KIB} KiB)",
                done.elapsed
            )),
        }
        let lines: Vec<&str> = done.output.lines().collect();
        if !lines.iter().any(|l| l.contains("error")) {
            broken.push(format!("{what} printed no error:\n{}", done.output));
        }
        if done.output.contains("panicked") {
            broken.push(format!("{what} panicked:\n{}", done.output));
        }
        if lines.len() > 250 || lines.iter().any(|l| l.chars().count() > 1000) {
            broken.push(format!(
                "{what} flooded the output: {} lines, the longest {} characters",
                lines.len(),
                lines.iter().map(|l| l.chars().count()).max().unwrap_or(0)
            ));
        }
    }
    broken
}

/// Checks every case, as many at once as there are cores (each is a separate process, so the
/// memory limit and the deadline still apply to each alone).
fn assert_survives(cases: Vec<(&str, Vec<u8>)>) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let broken: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut broken = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some((name, bytes)) = cases.get(i) else {
                            return broken;
                        };
                        broken.extend(check(name, bytes));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a checker thread"))
            .collect()
    });
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

#[test]
fn files_that_are_not_a_configuration_at_all() {
    assert_survives(vec![
        ("an empty file", Vec::new()),
        ("only a comment", b"# nothing here\n".to_vec()),
        (
            "a list instead of a mapping",
            b"- version: 1\n- sources: {}\n".to_vec(),
        ),
        ("a plain string", b"hello\n".to_vec()),
        (
            "non-UTF-8 bytes",
            (0..=255u8).cycle().take(4096).collect::<Vec<u8>>(),
        ),
        ("a UTF-16 file", b"\xff\xfev\x00e\x00r\x00".to_vec()),
        ("two documents", b"version: 1\n---\nversion: 1\n".to_vec()),
    ]);
}

#[test]
fn a_50_mb_file_is_refused_before_it_is_read() {
    let mut big = Vec::with_capacity(50 * 1024 * 1024);
    while big.len() < 50 * 1024 * 1024 {
        big.extend_from_slice(b"# padding padding padding padding padding padding padding\n");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dispatch.yaml"), &big).expect("writes");
    drop(big);
    let done = run(dir.path(), &["validate"]);
    assert_eq!(done.code, Some(2), "{}", done.output);
    assert_eq!(
        done.output,
        "error: dispatch.yaml is larger than 8388608 bytes; a dispatch configuration is never that big\n"
    );
    assert!(done.elapsed < Duration::from_secs(5), "{:?}", done.elapsed);
}

#[test]
fn deep_nesting_of_every_kind() {
    assert_survives(vec![
        ("100k `[`", "[".repeat(100_000).into_bytes()),
        (
            "100k `[` closed",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        ("100k `{a: `", "{a: ".repeat(100_000).into_bytes()),
        (
            "200k block sequences `- - -`",
            "- ".repeat(200_000).into_bytes(),
        ),
        (
            "200k explicit keys `? ? ?`",
            "? ".repeat(200_000).into_bytes(),
        ),
        (
            "1000 indented mappings",
            (0..1000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "a payload 200 lists deep",
            with_payload("deep", &"[".repeat(200)),
        ),
    ]);
}

#[test]
fn alias_bombs() {
    let mut laughs = String::from("lol: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for (name, previous) in "bcdefghi".chars().zip("abcdefgh".chars()) {
        let aliases = vec![format!("*{previous}"); 9].join(", ");
        laughs.push_str(&format!("lol{name}: &{name} [{aliases}]\n"));
    }
    let wide = format!(
        "big: &big [{}]\nmany: [{}]\n",
        vec!["1"; 50_000].join(","),
        vec!["*big"; 50_000].join(",")
    );
    let long_text = format!(
        "text: &t \"{}\"\nmany: [{}]\n",
        "x".repeat(500_000),
        vec!["*t"; 1_000].join(",")
    );
    assert_survives(vec![
        ("a billion laughs", laughs.into_bytes()),
        ("a wide alias of a big list", wide.into_bytes()),
        (
            "a long string aliased a thousand times",
            long_text.into_bytes(),
        ),
        (
            // About 96 KB once expanded: past the 64 KiB GitHub accepts.
            "a payload made of aliases",
            format!(
                "{VALID_START}      a: &a [1, 2, 3]\n      b: [{}]\n",
                vec!["*a"; 12_000].join(",")
            )
            .into_bytes(),
        ),
    ]);
}

#[test]
fn tabs_duplicate_keys_and_floods_of_problems() {
    // Floods: past the 10,000 sources or targets a file may define and dozens of times the 250
    // lines the output may take; larger floods only take longer to check.
    const FLOOD: usize = 12_000;
    let duplicates: String = (0..FLOOD).map(|_| "a: 1\n").collect();
    let unknown_targets = format!(
        "version: 1\nsources:\n  app:\n    repository: acme/app\n    targets: [{}]\ntargets: {{}}\n",
        (0..FLOOD).map(|i| format!("t{i}")).collect::<Vec<_>>().join(", ")
    );
    let mut many_targets =
        String::from("version: 1\nsources:\n  app:\n    repository: acme/app\n    targets: [");
    many_targets.push_str(
        &(0..FLOOD)
            .map(|i| format!("x{i}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    many_targets.push_str("]\ntargets:\n");
    for i in 0..900 {
        many_targets.push_str(&format!(
            "  t{i}: {{repository: acme/t{i}, event_type: e, token_env: T}}\n"
        ));
    }
    assert_survives(vec![
        (
            "tab indentation",
            VALID_START
                .replace("    event_type", "\tevent_type")
                .into_bytes(),
        ),
        (
            "tabs everywhere",
            "\t\t\t: \t\n".repeat(10_000).into_bytes(),
        ),
        (
            "a duplicate key",
            format!("{VALID_START}targets: {{}}\n").into_bytes(),
        ),
        ("12k duplicate keys", duplicates.into_bytes()),
        ("12k unknown targets", unknown_targets.into_bytes()),
        ("12k unknown targets among 900", many_targets.into_bytes()),
        (
            "a key of 100 KB",
            format!("{}: 1\n", "k".repeat(100_000)).into_bytes(),
        ),
        (
            "an explicit key of 100 KB",
            format!("? {}\n: 1\n", "k".repeat(100_000)).into_bytes(),
        ),
        (
            "a value of 500 KB where a number belongs",
            format!("version: \"{}\"\n", "9".repeat(500_000)).into_bytes(),
        ),
        (
            "12000 sources",
            format!(
                "version: 1\ntargets: {{}}\nsources:\n{}",
                (0..FLOOD)
                    .map(|i| format!("  s{i}: {{repository: o/r, targets: []}}\n"))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
    ]);
}

#[test]
fn templates_that_do_not_compile_or_would_not_stop() {
    let each_in_each = "{{#each ci}}".repeat(10) + "x" + &"{{/each}}".repeat(10);
    let nested_ifs = "{{#if version}}".repeat(250) + "x" + &"{{/if}}".repeat(250);
    // Nine CI values, each 500 times: over 64 KB from a 4 KB template.
    let huge_output = "{{#each ci}}".to_owned() + &"{{this}}".repeat(500) + "{{/each}}";
    let quadratic = "{{version}}".repeat(20_000);
    assert_survives(vec![
        ("unbalanced braces", with_payload("v", "\"{{version\"")),
        ("a closing brace only", with_payload("v", "\"{{/if}}\"")),
        ("an unclosed block", with_payload("v", "\"{{#if version}}x\"")),
        ("100k opening braces", with_payload("v", &format!("\"{}\"", "{".repeat(100_000)))),
        ("each inside each, 10 deep", with_payload("v", &format!("\"{each_in_each}\""))),
        ("250 nested ifs", with_payload("v", &format!("\"{nested_ifs}\""))),
        ("a template that includes itself", with_payload("v", "\"{{> targets.website.client_payload.v}}\"")),
        (
            "two templates that include each other",
            format!(
                "{VALID_START}      a: \"{{{{> targets.website.client_payload.b}}}}\"\n      b: \"{{{{> targets.website.client_payload.a}}}}\"\n"
            )
            .into_bytes(),
        ),
        ("a template with a huge output", with_payload("v", &format!("\"{huge_output}\""))),
        (
            "a variable name of 4000 characters",
            with_payload("v", &format!("\"{{{{{}}}}}\"", "v".repeat(4000))),
        ),
        ("220 KB of expressions", with_payload("v", &format!("\"{quadratic}\""))),
        (
            "many templates",
            format!(
                "{VALID_START}{}",
                (0..100)
                    .map(|i| format!("      k{i}: \"{}\"\n", "{{version}}".repeat(300)))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
    ]);
}
