//! The read budget (issue 25, item 5): following runs keeps each identity's reads to
//! `read_budget` even when GitHub sends no `x-ratelimit-*` headers, and says how often each
//! repository will then be read. The hour-long figures are on tokio's paused clock in
//! `src/dispatch/budget/at_scale.rs`; these run the real binary.

use crate::support::cli::{config_dir, orchestrator, orchestrator_std, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use serde_json::{json, Value};
use std::process::Stdio;

fn tracked(repositories: &[&str]) -> String {
    let mut yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [{}]}}\ntargets:\n",
        repositories.join(", ")
    );
    for name in repositories {
        yaml.push_str(&format!(
            "  {name}: {{repository: o/{name}, event_type: upstream-release, token_env: APP_TOKEN, track: true}}\n"
        ));
    }
    yaml
}

/// `reply` with the fake's `x-ratelimit-*` headers emptied: a server that says nothing about
/// its limits.
fn unmetered(reply: Reply) -> Reply {
    [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-reset",
    ]
    .into_iter()
    .fold(reply, |reply, name| reply.header(name, ""))
}

#[test]
fn a_budget_that_holds_reads_back_is_said_and_no_read_goes_past_it() {
    let github = FakeGitHub::start();
    for name in ["site", "docs", "blog"] {
        github.on(
            "POST",
            &format!("/repos/o/{name}/dispatches"),
            Reply::no_content(),
        );
        // No x-ratelimit-* headers: only the budget paces.
        github.on(
            "GET",
            &format!("/repos/o/{name}/actions/runs"),
            unmetered(Reply::status(200).json(json!({"total_count": 0, "workflow_runs": []}))),
        );
    }
    let dir = config_dir(&tracked(&["site", "docs", "blog"]));
    // Two reads an hour: the first at once, the next an hour later, long after this wait.
    let output = orchestrator_std(dir.path())
        .args([
            "run",
            "--source",
            "app",
            "--version",
            "1.0.0",
            "--output",
            "json",
        ])
        .args(["--api-url", &github.base_url(), "--wait-timeout", "1"])
        .args(["--read-budget", "2/h"])
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        stderr.contains("3 repositories share one identity's read budget: each is read about every 3 h, so a run may be seen finished that late"),
        "{stderr}"
    );
    assert_eq!(report["summary"]["read_requests"], 1, "{report}");
    let reads: usize = ["site", "docs", "blog"]
        .iter()
        .map(|name| {
            github
                .requests_to(&format!("/repos/o/{name}/actions/runs"))
                .len()
        })
        .sum();
    assert_eq!(reads, 1);
}

#[test]
fn a_read_budget_that_is_not_one_window_is_refused_with_its_origin() {
    let dir = config_dir(&tracked(&["site"]));
    let output = orchestrator(dir.path())
        .args(["validate", "--read-budget", "4000/h,100/min"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("--read-budget: error[invalid_value]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("write one window such as `4000/h`, `1000/h` or `60/min`, or `unlimited`"),
        "{stdout}"
    );
}

#[test]
fn check_keeps_its_reads_to_the_read_budget_when_github_sends_no_rate_headers() {
    let github = FakeGitHub::start();
    let answers = [
        (
            "/repos/o/site",
            json!({"full_name": "o/site", "default_branch": "main"}),
        ),
        (
            "/repos/o/site/actions/workflows",
            json!({"total_count": 0, "workflows": []}),
        ),
        ("/repos/o/site/contents/.github/workflows", json!([])),
    ];
    for (path, body) in answers {
        github.on("GET", path, unmetered(Reply::status(200).json(body)));
    }
    let dir = config_dir(
        "version: 1\nsources:\n  app: {repository: o/app, targets: [site]}\ntargets:\n  site: {repository: o/site, event_type: upstream-release, token_env: APP_TOKEN}\n",
    );
    // 120 a minute: two reads at once, then one every 60 s / 118 = 508 ms.
    let output = orchestrator(dir.path())
        .args(["check", "--api-url", &github.base_url(), "--output", "json"])
        .args(["--rate-limit", "unlimited", "--read-budget", "120/1min"])
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["targets"][0]["verdict"].is_string(), "{report}");
    let reads = github.requests();
    assert!(reads.len() >= 3, "{reads:?}");
    let gaps: Vec<_> = reads
        .windows(3)
        .map(|w| w[2].received_at.duration_since(w[0].received_at))
        .collect();
    // Unpaced, the reads come milliseconds apart; paced, no three of them within 508 ms of
    // our clock (the server sees the first one late by its connection's set-up, so it is
    // given slack).
    assert!(
        gaps.iter()
            .all(|g| *g >= std::time::Duration::from_millis(300)),
        "{gaps:?}"
    );
}
