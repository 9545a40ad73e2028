//! The one reader for untrusted YAML (issue 21, items 1 and 14): a workflow file a server
//! sends cannot make `check` large, and a configuration past a cap is refused where it crosses
//! it. Peak memory is the child's own `ru_maxrss` (from `wait4`), never a timing.

use crate::check::serve_repo;
use crate::support::cli::{config_dir, orchestrator_std, WEBSITE_TOKEN};
use crate::support::FakeGitHub;
use serde_json::Value;
use std::process::Stdio;

/// What `check` costs past its baseline on any of these files: the old reader took 1.2 GB on
/// the first.
const MAX_CHECK_RSS_KIB: i64 = 96 * 1024;

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
/// aliased `aliases` times: issue 21's 323 KB file is `alias_bomb(300_000, 4_000)`.
fn alias_bomb(size: usize, aliases: usize) -> String {
    format!(
        "name: w\non:\n  repository_dispatch:\n    types: [upstream-release]\nenv:\n  BIG: &big {}\nrepeat: [{}]\njobs: {{}}\n",
        "x".repeat(size),
        vec!["*big"; aliases].join(", ")
    )
}

/// Runs the binary to its end: its stdout, stderr and exit code, and its own peak RSS in KiB.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also gives its peak RSS
fn measured(mut command: std::process::Command) -> (String, String, Option<i32>, i64) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data (all-zero is valid); `wait4` writes only through the
    // two pointers, valid for the call. The child is reaped here, never by `Child::wait`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "{}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(err).unwrap(),
        code,
        usage.ru_maxrss,
    )
}

#[test]
fn hostile_workflow_files_are_named_unreadable_and_check_stays_small() {
    let github = FakeGitHub::start();
    let deep = format!("on: repository_dispatch\njobs:\n{}", "- ".repeat(10_000));
    let files = [
        ("bomb.yml", alias_bomb(300_000, 4_000)),
        ("larger-bomb.yml", alias_bomb(1_000_000, 3_000)),
        ("deep.yml", deep),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    serve_repo(&github, "acme/site", &files);
    let dir = config_dir(ONE_TARGET);
    let mut command = orchestrator_std(dir.path());
    command
        .args(["check", "--output", "json", "--api-url", &github.base_url()])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN);
    let (stdout, stderr, code, peak_kib) = measured(command);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    let target = &report["targets"][0];
    // Each file listens, or would: none was read, so none may make the target ready.
    assert_ne!(target["verdict"], "ready", "{target:#}");
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
    ] {
        assert!(
            said.contains(&format!(".github/workflows/{file}: {why} (line ")),
            "{file}: {target:#}"
        );
    }
    assert!(
        peak_kib < MAX_CHECK_RSS_KIB,
        "check peaked at {peak_kib} KiB"
    );
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
    let mut command = orchestrator_std(dir.path());
    command.args(["validate", "--output", "json"]);
    let (stdout, stderr, code, _) = measured(command);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
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
