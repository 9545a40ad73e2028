//! The one reader for untrusted YAML (issue 21, items 1 and 14): a workflow file a server
//! sends cannot make `check` large, and a configuration past a cap is refused where it crosses
//! it. `check` runs under a memory limit (as in `hostile_config.rs`), so a blow-up shows as a kill;
//! BENCHMARKS.md has the measured peaks.

#[cfg(target_os = "linux")] // only the memory-limited test uses it
use crate::check::serve_repo;
#[cfg(target_os = "linux")] // only the memory-limited test uses it
use crate::support::cli::WEBSITE_TOKEN;
use crate::support::cli::{config_dir, orchestrator_std};
#[cfg(target_os = "linux")] // only the memory-limited test uses it
use crate::support::FakeGitHub;
use serde_json::Value;

/// Address space for `check` on hostile files: far above what reading them within the limits
/// takes, far below the 1.2 GB the old reader took on the first of them.
#[cfg(target_os = "linux")]
const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;

#[cfg(target_os = "linux")] // only the memory-limited test uses it
const ONE_TARGET: &str = "version: 1
sources:
  app: {repository: acme/app, targets: [site]}
targets:
  site:
    repository: acme/site
    event_type: upstream-release
    token_env: WEBSITE_DISPATCH_TOKEN
";

/// A workflow that listens for `upstream-release`, with `size` bytes of text anchored once and
/// aliased `aliases` times: issue 21's 324 KB file is `alias_bomb(300_000, 4_000)`.
#[cfg(target_os = "linux")]
fn alias_bomb(size: usize, aliases: usize) -> String {
    format!(
        "name: w\non:\n  repository_dispatch:\n    types: [upstream-release]\nenv:\n  BIG: &big {}\nrepeat: [{}]\njobs: {{}}\n",
        "x".repeat(size),
        vec!["*big"; aliases].join(", ")
    )
}

// Bounded by `ulimit -v`, which macOS refuses (EINVAL) and Windows has no sh for.
#[cfg(target_os = "linux")]
#[test]
fn hostile_workflow_files_are_named_unreadable_and_check_stays_small() {
    let github = FakeGitHub::start();
    let deep = format!("on: repository_dispatch\njobs:\n{}", "- ".repeat(10_000));
    let many_types: Vec<String> = (0..1_500).map(|i| format!("t{i}")).collect();
    let many_types = format!(
        "on:\n  repository_dispatch:\n    types: [{}]\njobs: {{}}\n",
        many_types.join(", ")
    );
    let files = [
        ("bomb.yml", alias_bomb(300_000, 4_000)),
        ("larger-bomb.yml", alias_bomb(1_000_000, 3_000)),
        ("deep.yml", deep),
        ("many-types.yml", many_types),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    serve_repo(&github, "acme/site", &files);
    let dir = config_dir(ONE_TARGET);
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(assert_cmd::cargo::cargo_bin("orchestrator"))
        .args(["check", "--output", "json", "--api-url", &github.base_url()])
        .current_dir(dir.path())
        .env_clear()
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    let code = output.status.code();
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    let target = &report["targets"][0];
    // Each file listens, or would: none was read, so none may make the target ready, and
    // "nothing listens" cannot be said either.
    assert_eq!(target["verdict"], "cannot_tell", "{target:#}");
    assert_ne!(code, Some(0), "{target:#}");
    let said = target.to_string();
    for (file, why) in [
        (
            "bomb.yml",
            "the document holds more than 4 MiB of text once its aliases are expanded",
        ),
        (
            "larger-bomb.yml",
            "the document holds more than 4 MiB of text once its aliases are expanded",
        ),
        ("deep.yml", "the document nests more than 64 levels deep"),
        (
            "many-types.yml",
            "it lists 1500 event types; orchestrator reads at most 1000",
        ),
    ] {
        assert!(
            said.contains(&format!(".github/workflows/{file}: {why}")),
            "{file}: {target:#}"
        );
    }
}

#[test]
fn a_configuration_past_the_target_cap_is_refused_at_the_first_target_too_many() {
    // 10,001 targets, then a line that is not YAML: the walk stops at the 10,001st target, so
    // the syntax error after it is never reached.
    let mut yaml = String::from(
        "version: 1\nsources:\n  app: {repository: acme/app, targets: [t0]}\ntargets:\n",
    );
    for i in 0..=10_000 {
        yaml.push_str(&format!(
            "  t{i}: {{repository: acme/t{i}, event_type: e, token_env: T}}\n"
        ));
    }
    yaml.push_str("broken: [\n");
    let dir = config_dir(&yaml);
    let output = orchestrator_std(dir.path())
        .args(["validate", "--output", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    let problems = report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(problems.len(), 1, "{report:#}");
    assert_eq!(problems[0]["path"], "targets");
    assert_eq!(
        problems[0]["message"],
        "`targets` has more than 10000 entries; orchestrator accepts at most 10000"
    );
    assert_eq!(problems[0]["code"], "limit");
    assert_eq!(
        (&problems[0]["line"], &problems[0]["column"]),
        (&4.into(), &1.into())
    );
}
