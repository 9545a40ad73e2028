//! Nothing is lost when a run stops early: `kill -9` leaves a journal that `--resume`
//! finishes from, Ctrl-C exits 130 with every target recorded, and `--retry-failed` re-sends
//! only the failures of a report.

#[cfg(unix)] // only the signal tests use it
use crate::support::cli::Watched;
use crate::support::cli::{config_dir, many_targets, Cli};
use crate::support::{FakeGitHub, Reply};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// `orchestrator run` for source `app` in `dir`, four at a time, JSON report.
fn app_run(dir: &std::path::Path, github: &FakeGitHub, extra: &[&str]) -> Cli {
    Cli::in_dir(dir)
        .release("app", "1.0.0")
        .json()
        .against(github)
        .args(["--concurrency", "4"])
        .args(extra)
        .app_token()
}

fn journal_records(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn requests_per_path(github: &FakeGitHub) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in github.requests() {
        *counts.entry(r.path).or_default() += 1;
    }
    counts
}

#[test]
fn after_kill_9_resume_delivers_the_rest_and_repeats_only_what_was_in_flight() {
    let github = FakeGitHub::start();
    // Ten answers, then four requests (the bound) caught in flight when the kill comes.
    github.hold_answers_after(10);
    let dir = config_dir(&many_targets(30));
    let journal = dir.path().join("journal.jsonl");
    let journal_arg = journal.to_str().unwrap();

    let mut child = app_run(dir.path(), &github, &["--journal", journal_arg]).spawn();
    github.wait_for_requests(14);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // What the journal says was in flight: sent, with no outcome.
    let records = journal_records(&journal);
    let mut in_flight: HashSet<String> = HashSet::new();
    for r in &records {
        let target = r["target"].as_str().unwrap_or_default().to_owned();
        match r["record"].as_str() {
            Some("sending") => {
                in_flight.insert(target);
            }
            Some("outcome") => {
                in_flight.remove(&target);
            }
            _ => {}
        }
    }
    assert!(
        in_flight.len() <= 4,
        "more in flight than the bound: {in_flight:?}"
    );
    let delivered_before = records
        .iter()
        .filter(|r| r["outcome"] == "delivered")
        .count();
    assert!(
        (1..=10).contains(&delivered_before),
        "{delivered_before} delivered before the kill"
    );

    github.release_answers();
    let resumed = app_run(dir.path(), &github, &["--resume", journal_arg]).output();
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let report = resumed.json();
    assert_eq!(report["summary"]["skipped"], delivered_before);
    assert_eq!(
        report["summary"]["delivered"].as_u64().unwrap() as usize,
        30 - delivered_before
    );

    let counts = requests_per_path(&github);
    assert_eq!(counts.len(), 30, "every target reached the server");
    for (path, count) in counts {
        let name = path
            .trim_start_matches("/repos/o/")
            .trim_end_matches("/dispatches");
        if count > 1 {
            assert_eq!(count, 2, "{path}");
            assert!(
                in_flight.contains(name),
                "{name} was sent twice but the journal had its outcome"
            );
        }
    }
    let stderr = &resumed.stderr;
    if !in_flight.is_empty() {
        assert!(
            stderr.contains("in flight when the journaled run stopped"),
            "{stderr}"
        );
    }
}

// Ctrl-C as SIGINT: Windows has no signal to send one process (see `Watched::signal`).
#[cfg(unix)]
#[test]
fn ctrl_c_stops_new_sends_exits_130_and_leaves_a_complete_journal() {
    let github = FakeGitHub::start();
    // The first four requests (the bound) are held until the binary has taken the signal.
    github.hold_answers_after(0);
    let dir = config_dir(&many_targets(30));
    let journal = dir.path().join("journal.jsonl");

    let child = Watched::new(
        app_run(
            dir.path(),
            &github,
            &["--journal", journal.to_str().unwrap()],
        )
        .spawn(),
    );
    let output = child.interrupt_in_flight(&github, 4, "INT");
    assert_eq!(output.code, 130, "{}", output.stderr);

    let report = output.json();
    assert_eq!(report["summary"]["not_sent"], 26, "{}", report["summary"]);
    assert_eq!(
        report["summary"]["failed"], 0,
        "in-flight requests finished"
    );
    // Nothing was waited for, so nothing is said of waits; the fix names the journal.
    assert!(
        output.stderr.contains(&format!(
            "interrupted: 26 target(s) were not sent; send the rest with `--resume {}`\n",
            journal.display()
        )),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("workflow run(s)"),
        "{}",
        output.stderr
    );
    let not_sent = 26;
    let sent = github.requests().len();
    assert_eq!(sent, 4, "no new sends after the signal");

    // Every target has exactly one outcome in the journal.
    let outcomes: Vec<Value> = journal_records(&journal)
        .into_iter()
        .filter(|r| r["record"] == "outcome")
        .collect();
    assert_eq!(outcomes.len(), 30);
    let delivered = outcomes
        .iter()
        .filter(|r| r["outcome"] == "delivered")
        .count();
    assert_eq!(delivered, sent);
    assert_eq!(
        outcomes
            .iter()
            .filter(|r| r["outcome"] == "not_sent")
            .count() as u64,
        not_sent
    );
}

#[cfg(unix)]
#[test]
fn sigterm_says_what_was_not_sent_and_how_to_resume_it() {
    let github = FakeGitHub::start();
    github.hold_answers_after(0);
    let dir = config_dir(&many_targets(10));
    let journal = dir.path().join("journal.jsonl");
    let child = Watched::new(
        app_run(
            dir.path(),
            &github,
            &["--journal", journal.to_str().unwrap()],
        )
        .spawn(),
    );
    let output = child.interrupt_in_flight(&github, 4, "TERM");
    assert!(
        output.stderr.contains(&format!(
            "interrupted: 6 target(s) were not sent; send the rest with `--resume {}`\n",
            journal.display()
        )),
        "{}",
        output.stderr
    );
}

#[test]
fn retry_failed_sends_only_what_the_report_lists_as_failed() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t01/dispatches",
        [Reply::not_found(), Reply::no_content()],
    );
    github.on(
        "POST",
        "/repos/o/t03/dispatches",
        [Reply::bad_credentials(), Reply::no_content()],
    );
    let dir = config_dir(&many_targets(5));
    let report_path = dir.path().join("report.json");
    let report_arg = report_path.to_str().unwrap();

    let first = app_run(dir.path(), &github, &["--report", report_arg]).output();
    assert_eq!(first.code, 1, "{}", first.all());
    assert_eq!(github.requests().len(), 5);

    let second = app_run(dir.path(), &github, &["--retry-failed", report_arg]).output();
    assert_eq!(second.code, 0, "{}", second.all());
    let counts = requests_per_path(&github);
    assert_eq!(counts["/repos/o/t01/dispatches"], 2);
    assert_eq!(counts["/repos/o/t03/dispatches"], 2);
    assert_eq!(counts["/repos/o/t00/dispatches"], 1);
    let report = second.json();
    assert_eq!(report["summary"]["delivered"], 2);
    assert_eq!(report["summary"]["skipped"], 3);
}

#[test]
fn a_journal_of_another_release_is_refused() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(2));
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(
        &journal,
        "{\"format\":1,\"record\":\"run\",\"source\":\"app\",\"version\":\"0.9.0\"}\n",
    )
    .unwrap();
    let ran = app_run(
        dir.path(),
        &github,
        &["--resume", journal.to_str().unwrap()],
    )
    .output();
    assert_eq!(ran.code, 2);
    assert!(github.requests().is_empty());
    assert!(ran
        .stderr
        .contains("records a run of app 0.9.0, not of app 1.0.0"));
}

#[test]
fn the_dispatch_id_is_stable_across_runs_and_offered_to_templates() {
    let yaml = many_targets(1).replace("version: \"{{version}}\"", "id: \"{{dispatch_id}}\"");
    let dir = config_dir(&yaml);
    let github = FakeGitHub::start();
    for _ in 0..2 {
        let report = app_run(dir.path(), &github, &[]).output().json();
        let id = report["targets"][0]["dispatch_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 16);
        let sent = github.requests().last().unwrap().body_json();
        assert_eq!(sent["client_payload"]["id"], id.as_str());
    }
    let ids: HashSet<String> = github
        .requests()
        .iter()
        .map(|r| {
            r.body_json()["client_payload"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
}
