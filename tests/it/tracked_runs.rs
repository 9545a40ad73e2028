//! Tracked repository_dispatch runs and waiting at scale (issue 12, items 3 and 4): a target
//! with `track: true` sends a `dispatch_id` new in every run, finds the run whose title
//! carries it (never "the newest run"), reports its URL, and with `--wait` its conclusion;
//! runs are read once per repository per poll, whatever the number of runs there.
//!
//! The fake learns each dispatch id only when the real binary sends it, so these tests spawn
//! the binary, read the id from the recorded request, and then script the runs list.

use crate::support::cli::{config_dir, orchestrator, orchestrator_std, WEBSITE_TOKEN};
use crate::support::{openapi, FakeGitHub, Recorded, Reply};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const LIST_OP: &str = "actions/list-workflow-runs-for-repo";
const SITE_RUNS: &str = "/repos/o/site/actions/runs";
const SITE_DISPATCHES: &str = "/repos/o/site/dispatches";
/// The receiver's `run-name: "Rebuild for ${{ github.event.client_payload.dispatch_id }}"`.
const TITLE: &str = "Rebuild for";

fn tracked(targets: &[(&str, &str)]) -> String {
    let names: Vec<&str> = targets.iter().map(|(name, _)| *name).collect();
    let mut yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [{}]}}\ntargets:\n",
        names.join(", ")
    );
    for (name, repo) in targets {
        yaml.push_str(&format!(
            "  {name}:\n    repository: {repo}\n    event_type: upstream-release\n    token_env: APP_TOKEN\n    track: true\n    client_payload:\n      version: \"{{{{version}}}}\"\n"
        ));
    }
    yaml
}

fn spawn(dir: &Path, github: &FakeGitHub, version: &str, extra: &[&str]) -> Child {
    orchestrator_std(dir)
        .args(["run", "--source", "app", "--version", version])
        .args(["--output", "json", "--api-url", &github.base_url()])
        .args(["--poll-interval-ms", "20"])
        .args(extra)
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (i32, Value, String) {
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {stderr}"));
    (output.status.code().unwrap_or(-1), report, stderr)
}

/// The `dispatch_id`s of the first `n` dispatches to `path`, once they have arrived.
fn dispatch_ids(github: &FakeGitHub, path: &str, n: usize) -> Vec<String> {
    github
        .wait_for_requests_to(path, n)
        .iter()
        .map(|r| {
            r.body_json()["client_payload"]["dispatch_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn run_json(id: u64, repo: &str, title: &str, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": id,
        "name": "rebuild",
        "display_title": title,
        "event": "repository_dispatch",
        "status": status,
        "conclusion": conclusion,
        "html_url": format!("https://github.com/{repo}/actions/runs/{id}"),
        "created_at": "2026-01-01T00:00:00Z",
    })
}

fn runs_page(runs: Vec<Value>) -> Reply {
    Reply::status(200).json(json!({"total_count": runs.len(), "workflow_runs": runs}))
}

fn empty_list() -> Reply {
    runs_page(Vec::new())
}

fn target<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

/// Only the query's names, each one the operation declares as a query parameter.
fn assert_query_declared(request: &Recorded) {
    let operation = openapi::operation(LIST_OP);
    let document = openapi::document();
    let declared: Vec<String> = operation.definition["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| match p.get("$ref").and_then(Value::as_str) {
            Some(reference) => document
                .pointer(reference.trim_start_matches('#'))
                .unwrap()
                .clone(),
            None => p.clone(),
        })
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let query = request.path.split_once('?').map_or("", |(_, q)| q);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        assert!(
            declared.iter().any(|d| d == name),
            "{name} is not a parameter of {LIST_OP}: {}",
            request.path
        );
    }
}

#[test]
fn two_concurrent_releases_to_the_same_repository_each_find_their_own_run() {
    let github = FakeGitHub::start();
    github.on("POST", SITE_DISPATCHES, Reply::no_content());
    github.on("GET", SITE_RUNS, empty_list());
    let dir = config_dir(&tracked(&[("site", "o/site")]));
    // The same release twice at once: only the nonce tells the two sends apart.
    let first = spawn(dir.path(), &github, "1.0.0", &["--wait"]);
    let second = spawn(dir.path(), &github, "1.0.0", &["--wait"]);
    let ids = dispatch_ids(&github, SITE_DISPATCHES, 2);
    assert_ne!(
        ids[0], ids[1],
        "two sends of one release carry different ids"
    );
    // The newest run belongs to neither; each release's run carries its own id.
    github.on(
        "GET",
        SITE_RUNS,
        runs_page(vec![
            run_json(
                303,
                "o/site",
                "Rebuild for someone else",
                "completed",
                Some("failure"),
            ),
            run_json(
                302,
                "o/site",
                &format!("{TITLE} {}", ids[1]),
                "completed",
                Some("success"),
            ),
            run_json(
                301,
                "o/site",
                &format!("{TITLE} {}", ids[0]),
                "completed",
                Some("success"),
            ),
        ]),
    );
    let reports = [finish(first), finish(second)];
    let mut found: Vec<(String, u64)> = Vec::new();
    for (code, report, stderr) in &reports {
        assert_eq!(*code, 0, "{report} {stderr}");
        let site = target(report, "site");
        found.push((
            site["tracking_id"].as_str().unwrap().to_owned(),
            site["run"]["id"].as_u64().unwrap(),
        ));
        assert_eq!(site["run"]["conclusion"], "success");
    }
    found.sort();
    let mut expected = vec![(ids[0].clone(), 301), (ids[1].clone(), 302)];
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn a_tracked_dispatch_reports_its_own_run_url_and_conclusion_and_the_exit_code_follows_it() {
    for (conclusion, code) in [("success", 0), ("failure", 1), ("cancelled", 1)] {
        let github = FakeGitHub::start();
        github.on("POST", SITE_DISPATCHES, Reply::no_content());
        github.on("GET", SITE_RUNS, empty_list());
        let dir = config_dir(&tracked(&[("site", "o/site")]));
        let child = spawn(dir.path(), &github, "2.0.0", &["--wait"]);
        let id = dispatch_ids(&github, SITE_DISPATCHES, 1).remove(0);
        let title = format!("{TITLE} {id}");
        github.on(
            "GET",
            SITE_RUNS,
            [
                runs_page(vec![run_json(77, "o/site", &title, "queued", None)]),
                runs_page(vec![run_json(77, "o/site", &title, "in_progress", None)]),
                runs_page(vec![run_json(
                    77,
                    "o/site",
                    &title,
                    "completed",
                    Some(conclusion),
                )]),
            ],
        );
        let (exit, report, stderr) = finish(child);
        assert_eq!(exit, code, "{conclusion}: {report} {stderr}");
        let run = &target(&report, "site")["run"];
        assert_eq!(run["conclusion"], conclusion);
        assert_eq!(run["html_url"], "https://github.com/o/site/actions/runs/77");
        assert_eq!(
            run["url"].as_str().unwrap(),
            format!("{}/repos/o/site/actions/runs/77", github.base_url())
        );
        assert_eq!(report["summary"]["runs_failed"], u64::from(code != 0));
        assert!(
            report["summary"]["read_requests"].as_u64().unwrap() >= 3,
            "{report}"
        );
        for list in github.requests_to(SITE_RUNS) {
            openapi::assert_request_matches(LIST_OP, &list);
            assert_query_declared(&list);
            assert!(
                list.path.contains("event=repository_dispatch"),
                "{}",
                list.path
            );
            assert!(list.path.contains("created=%3E%3D"), "{}", list.path);
        }
        let sent = &github.requests_to(SITE_DISPATCHES)[0];
        openapi::assert_request_matches("repos/create-dispatch-event", sent);
    }
}

#[test]
fn without_wait_a_tracked_dispatch_reports_the_run_it_found_and_succeeds() {
    let github = FakeGitHub::start();
    github.on("POST", SITE_DISPATCHES, Reply::no_content());
    github.on("GET", SITE_RUNS, empty_list());
    let dir = config_dir(&tracked(&[("site", "o/site")]));
    let child = spawn(dir.path(), &github, "2.0.0", &[]);
    let id = dispatch_ids(&github, SITE_DISPATCHES, 1).remove(0);
    github.on(
        "GET",
        SITE_RUNS,
        runs_page(vec![run_json(
            5,
            "o/site",
            &format!("{TITLE} {id}"),
            "in_progress",
            None,
        )]),
    );
    let (exit, report, stderr) = finish(child);
    assert_eq!(exit, 0, "{report} {stderr}");
    let run = &target(&report, "site")["run"];
    assert_eq!(run["html_url"], "https://github.com/o/site/actions/runs/5");
    assert_eq!(run.get("conclusion"), None, "not waited for: {run}");
}

#[test]
fn no_run_within_the_bound_is_reported_as_no_run_started() {
    // Without --wait the release still succeeds (it was delivered); with --wait the
    // conclusion asked for never came, so the run counts as failed (exit 1). Both wait out the
    // same second side by side.
    let check = |wait: bool, code: i32| {
        let github = FakeGitHub::start();
        github.on("POST", SITE_DISPATCHES, Reply::no_content());
        // Runs exist, but none carries this send's id: an earlier run's does not count.
        github.on(
            "GET",
            SITE_RUNS,
            runs_page(vec![run_json(
                9,
                "o/site",
                "Rebuild for 0123456789abcdef-00000000",
                "completed",
                Some("success"),
            )]),
        );
        let dir = config_dir(&tracked(&[("site", "o/site")]));
        let mut extra = vec!["--wait-timeout", "600ms"];
        if wait {
            extra.push("--wait");
        }
        let started = Instant::now();
        let (exit, report, stderr) = finish(spawn(dir.path(), &github, "2.0.0", &extra));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the search is bounded"
        );
        assert_eq!(exit, code, "wait {wait}: {report} {stderr}");
        let run = &target(&report, "site")["run"];
        assert_eq!(
            run["note"],
            "no run started: is a workflow listening? (see `orchestrator check`)"
        );
        assert_eq!(run.get("id"), None, "{run}");
    };
    std::thread::scope(|scope| {
        let without_wait = scope.spawn(|| check(false, 0));
        check(true, 1);
        without_wait.join().unwrap();
    });
}

#[test]
fn runs_are_read_once_per_repository_per_poll_whatever_their_number() {
    let github = FakeGitHub::start();
    let targets = [
        ("a1", "o/alpha"),
        ("a2", "o/alpha"),
        ("a3", "o/alpha"),
        ("b1", "o/beta"),
        ("b2", "o/beta"),
    ];
    github.on("POST", "/repos/o/*/dispatches", Reply::no_content());
    github.on("GET", "/repos/o/alpha/actions/runs", empty_list());
    github.on("GET", "/repos/o/beta/actions/runs", empty_list());
    let dir = config_dir(&tracked(&targets));
    let child = spawn(dir.path(), &github, "3.0.0", &["--wait"]);
    let sent = dispatch_ids(&github, "/repos/o/*/dispatches", targets.len());
    let posts = github.requests_to("/repos/o/*/dispatches");
    let mut alpha = Vec::new();
    let mut beta = Vec::new();
    for (i, (request, id)) in posts.iter().zip(&sent).enumerate() {
        let run = |status: &str, conclusion| {
            let repo = if request.path.contains("alpha") {
                "o/alpha"
            } else {
                "o/beta"
            };
            run_json(
                100 + i as u64,
                repo,
                &format!("{TITLE} {id}"),
                status,
                conclusion,
            )
        };
        let list = if request.path.contains("alpha") {
            &mut alpha
        } else {
            &mut beta
        };
        list.push((run("in_progress", None), run("completed", Some("success"))));
    }
    let scripted_at = Instant::now();
    for (path, runs) in [
        ("/repos/o/alpha/actions/runs", alpha),
        ("/repos/o/beta/actions/runs", beta),
    ] {
        let (going, done): (Vec<Value>, Vec<Value>) = runs.into_iter().unzip();
        github.on(
            "GET",
            path,
            [runs_page(going.clone()), runs_page(going), runs_page(done)],
        );
    }
    let (exit, report, stderr) = finish(child);
    assert_eq!(exit, 0, "{report} {stderr}");
    let alpha_reads = github.requests_to("/repos/o/alpha/actions/runs");
    let beta_reads = github.requests_to("/repos/o/beta/actions/runs");
    // Once the runs exist, three polls (in progress, in progress, completed) each read each
    // repository once: three reads, not one per run (one more if a poll raced the script).
    for reads in [&alpha_reads, &beta_reads] {
        let after = reads
            .iter()
            .filter(|r| r.received_at >= scripted_at)
            .count();
        assert!(
            (3..=4).contains(&after),
            "{after} reads of {}",
            reads[0].path
        );
    }
    assert_eq!(
        report["summary"]["read_requests"].as_u64().unwrap(),
        (alpha_reads.len() + beta_reads.len()) as u64
    );
    assert!(
        github.requests_to("/repos/o/*/actions/runs/*").is_empty(),
        "no per-run reads"
    );
    for name in ["a1", "a2", "a3", "b1", "b2"] {
        assert_eq!(
            target(&report, name)["run"]["conclusion"],
            "success",
            "{report}"
        );
    }
    // Every poll read both repositories once: their counts differ by at most the poll that
    // found one repository's runs all completed first.
    let (a, b) = (alpha_reads.len(), beta_reads.len());
    assert!(a.abs_diff(b) <= 1, "alpha {a}, beta {b}");
}

#[test]
fn the_dispatch_id_sent_is_new_in_every_run_and_the_fingerprint_is_not() {
    let github = FakeGitHub::start();
    github.on("POST", SITE_DISPATCHES, Reply::no_content());
    let dir = config_dir(&tracked(&[("site", "o/site")]));
    let mut reports = Vec::new();
    for _ in 0..2 {
        let output = orchestrator(dir.path())
            .args([
                "run",
                "--source",
                "app",
                "--version",
                "1.0.0",
                "--dry-run",
                "--output",
                "json",
            ])
            .env("APP_TOKEN", WEBSITE_TOKEN)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        reports.push(target(&report, "site").clone());
    }
    let (first, second) = (&reports[0], &reports[1]);
    assert_eq!(
        first["dispatch_id"], second["dispatch_id"],
        "the journal's key is stable"
    );
    assert_eq!(
        first["fingerprint"], second["fingerprint"],
        "resume recognises the target"
    );
    assert_ne!(first["tracking_id"], second["tracking_id"]);
    let sent = first["body"]["client_payload"]["dispatch_id"]
        .as_str()
        .unwrap();
    assert_eq!(sent, first["tracking_id"]);
    assert!(
        sent.starts_with(first["dispatch_id"].as_str().unwrap()),
        "{sent}"
    );
    openapi::assert_request_body_valid("repos/create-dispatch-event", &first["body"]);
}

#[test]
fn validate_counts_the_tracking_key_against_the_ten_key_limit() {
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}: v")).collect();
    let yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [site]}}\ntargets:\n  site:\n    repository: o/site\n    event_type: e\n    token_env: APP_TOKEN\n    track: true\n    client_payload: {{{}}}\n",
        keys.join(", ")
    );
    let dir = config_dir(&yaml);
    let output = orchestrator(dir.path()).arg("validate").output().unwrap();
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("client_payload has 11 top-level keys (with the `dispatch_id` that `track: true` adds); GitHub accepts at most 10"),
        "{stderr}"
    );

    let yaml = tracked(&[("site", "o/site")])
        .replace("      version:", "      dispatch_id: mine\n      version:");
    let output = orchestrator(config_dir(&yaml).path())
        .arg("validate")
        .output()
        .unwrap();
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stderr.contains("`dispatch_id` is added by `track: true`"),
        "{stderr}"
    );

    let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [cli]}\ntargets:\n  cli:\n    kind: workflow_dispatch\n    repository: o/cli\n    workflow: release.yml\n    token_env: APP_TOKEN\n    track: true\n";
    let output = orchestrator(config_dir(yaml).path())
        .arg("validate")
        .output()
        .unwrap();
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stderr.contains("`track` belongs to kind `repository_dispatch`"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Lists as a hostile server sends them (issue 21, items 5 to 7)

const CLI_RUNS: &str = "/repos/o/cli/actions/runs";

/// Two workflow_dispatch targets in one repository, whose dispatches started runs 1 and 2.
fn two_dispatched_runs() -> (FakeGitHub, tempfile::TempDir) {
    let github = FakeGitHub::start();
    for (workflow, id) in [("release.yml", 1), ("docs.yml", 2)] {
        github.on(
            "POST",
            &format!("/repos/o/cli/actions/workflows/{workflow}/dispatches"),
            Reply::status(200).json(json!({
                "workflow_run_id": id,
                "run_url": format!("{}/repos/o/cli/actions/runs/{id}", github.base_url()),
                "html_url": format!("https://github.com/o/cli/actions/runs/{id}"),
            })),
        );
    }
    let mut yaml =
        "version: 1\nsources:\n  app: {repository: o/app, targets: [release, docs]}\ntargets:\n"
            .to_owned();
    for (name, workflow) in [("release", "release.yml"), ("docs", "docs.yml")] {
        yaml.push_str(&format!(
            "  {name}:\n    kind: workflow_dispatch\n    repository: o/cli\n    workflow: {workflow}\n    ref: main\n    token_env: APP_TOKEN\n"
        ));
    }
    let dir = config_dir(&yaml);
    (github, dir)
}

#[test]
fn a_run_list_entry_without_an_id_is_not_taken_for_a_dispatched_run() {
    let (github, dir) = two_dispatched_runs();
    let going = |id: u64| json!({"id": id, "event": "workflow_dispatch", "status": "in_progress", "conclusion": null});
    // An entry that names no run says nothing about runs 1 and 2, however it concluded.
    let anonymous = json!({"event": "workflow_dispatch", "status": "completed", "conclusion": "success",
        "html_url": "https://github.com/o/cli/actions/runs/3"});
    github.on(
        "GET",
        CLI_RUNS,
        runs_page(vec![going(1), anonymous, going(2)]),
    );

    let child = spawn(
        dir.path(),
        &github,
        "2.0.0",
        &["--wait", "--wait-timeout", "600ms"],
    );
    let (exit, report, stderr) = finish(child);

    assert_eq!(exit, 1, "the runs never concluded: {report} {stderr}");
    for name in ["release", "docs"] {
        let run = &target(&report, name)["run"];
        assert_eq!(run.get("conclusion"), None, "{name}: {run}");
        assert_eq!(run["status"], "in_progress", "{name}: {run}");
        assert_eq!(
            run["note"], "still in_progress after waiting 0.6 s",
            "{name}"
        );
    }
    assert!(
        !github.requests_to(CLI_RUNS).is_empty(),
        "the runs were read from the list"
    );
}

#[test]
fn an_entry_with_an_id_outside_u64_is_skipped_and_the_tracked_run_on_that_page_is_found() {
    let github = FakeGitHub::start();
    github.on("POST", SITE_DISPATCHES, Reply::no_content());
    github.on("GET", SITE_RUNS, empty_list());
    let dir = config_dir(&tracked(&[("site", "o/site")]));
    let child = spawn(
        dir.path(),
        &github,
        "2.0.0",
        &["--wait", "--wait-timeout", "5"],
    );
    let id = dispatch_ids(&github, SITE_DISPATCHES, 1).remove(0);
    let ours = run_json(
        77,
        "o/site",
        &format!("{TITLE} {id}"),
        "completed",
        Some("success"),
    );
    // Written by hand: 2^64 is no JSON number serde_json would write.
    let page = format!(
        r#"{{"total_count": 4, "workflow_runs": [{{"id": 18446744073709551616, "display_title": "{TITLE} {id}", "status": "completed", "conclusion": "failure"}}, {{"id": -1, "status": "queued"}}, {{"id": 5, "status": ["not", "a", "word"]}}, {ours}]}}"#
    );
    github.on("GET", SITE_RUNS, Reply::status(200).body(page));

    let (exit, report, stderr) = finish(child);

    assert_eq!(exit, 0, "{report} {stderr}");
    let run = &target(&report, "site")["run"];
    assert_eq!(run["id"], 77, "{run}");
    assert_eq!(run["conclusion"], "success");
    assert_eq!(run["html_url"], "https://github.com/o/site/actions/runs/77");
}

#[test]
fn a_run_list_that_could_not_be_read_whole_is_cannot_tell_never_no_run_started() {
    let bodies = [
        // Cut off mid-body: unreadable.
        (
            Reply::status(200).body(r#"{"total_count": 1, "workflow_runs": [{"id": 1"#),
            "cannot tell whether a run started: the runs could not be read",
        ),
        // Answered, but not with a list.
        (
            Reply::server_error(503),
            "cannot tell whether a run started: the runs could not be read",
        ),
        // Read, but one entry could not be: it may be the run.
        (
            Reply::status(200).body(r#"{"workflow_runs": [{"id": -1, "display_title": "?"}]}"#),
            "cannot tell whether a run started: 1 of the listed runs could not be read",
        ),
    ];
    std::thread::scope(|scope| {
        for (reply, expected) in bodies {
            scope.spawn(move || {
                let github = FakeGitHub::start();
                github.on("POST", SITE_DISPATCHES, Reply::no_content());
                github.on("GET", SITE_RUNS, reply);
                let dir = config_dir(&tracked(&[("site", "o/site")]));
                let child = spawn(
                    dir.path(),
                    &github,
                    "2.0.0",
                    &["--wait", "--wait-timeout", "600ms"],
                );
                let (exit, report, stderr) = finish(child);
                assert_eq!(exit, 1, "{report} {stderr}");
                let run = &target(&report, "site")["run"];
                let note = run["note"].as_str().unwrap();
                assert!(note.starts_with(expected), "{note}");
                assert_eq!(run["status"], "unknown", "{run}");
            });
        }
    });
}

#[test]
fn at_most_four_run_lists_are_read_at_once_whatever_the_number_of_repositories() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/*/dispatches", Reply::no_content());
    // Slow lists: a client reading every repository at once would hold all 24.
    github.on(
        "GET",
        "/repos/o/*/actions/runs",
        empty_list().delay(Duration::from_millis(80)),
    );
    let repos: Vec<(String, String)> = (0..24)
        .map(|i| (format!("t{i:02}"), format!("o/r{i:02}")))
        .collect();
    let targets: Vec<(&str, &str)> = repos
        .iter()
        .map(|(t, r)| (t.as_str(), r.as_str()))
        .collect();
    let dir = config_dir(&tracked(&targets));

    let child = spawn(
        dir.path(),
        &github,
        "2.0.0",
        &["--wait", "--wait-timeout", "800ms", "--concurrency", "4"],
    );
    let (_, report, stderr) = finish(child);

    for (_, repo) in &repos {
        let reads = github.requests_to(&format!("/repos/{repo}/actions/runs"));
        assert!(
            !reads.is_empty(),
            "{repo} was never read: {report} {stderr}"
        );
    }
    // Four turns; the fake counts a request until its handler has finished writing, which
    // may be just after the client took the answer and started the next read in that turn.
    assert!(
        github.max_in_flight() <= 8,
        "{} requests in flight at once",
        github.max_in_flight()
    );
}

#[test]
fn a_runs_list_that_never_answers_holds_the_wait_no_longer_than_its_timeout() {
    let github = FakeGitHub::start();
    github.on("POST", SITE_DISPATCHES, Reply::no_content());
    github.on("GET", SITE_RUNS, Reply::hang(Duration::from_secs(60)));
    let dir = config_dir(&tracked(&[("site", "o/site")]));
    let started = Instant::now();

    let child = spawn(
        dir.path(),
        &github,
        "2.0.0",
        &["--wait", "--wait-timeout", "600ms", "--timeout", "30"],
    );
    let (exit, report, stderr) = finish(child);

    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(exit, 1, "{report} {stderr}");
    let run = &target(&report, "site")["run"];
    assert_eq!(
        run["note"],
        "cannot tell whether a run started: the runs were still being read when the 0.6 s wait ran out"
    );
    assert_eq!(run["status"], "unknown");
}

#[test]
fn the_runs_list_is_followed_by_its_link_to_the_next_page() {
    // Page 1 is short (two other runs) but names a next page, where the run is: the list is
    // read as GitHub links it, at the configured API, not judged whole by its length.
    let github = FakeGitHub::start();
    github.on("POST", SITE_DISPATCHES, Reply::no_content());
    let dir = config_dir(&tracked(&[("site", "o/site")]));
    let child = spawn(
        dir.path(),
        &github,
        "2.0.0",
        &["--wait", "--wait-timeout", "5"],
    );
    let id = dispatch_ids(&github, SITE_DISPATCHES, 1).remove(0);
    let others = vec![
        run_json(1, "o/site", "Nightly", "completed", Some("success")),
        run_json(2, "o/site", "Nightly", "completed", Some("success")),
    ];
    let ours = run_json(
        77,
        "o/site",
        &format!("{TITLE} {id}"),
        "completed",
        Some("success"),
    );
    let next = format!(
        "<{}/repositories/9/actions/runs?per_page=100&page=2>; rel=\"next\"",
        github.base_url()
    );
    github.on(
        "GET",
        SITE_RUNS,
        [
            Reply::status(200)
                .header("link", next)
                .json(json!({"workflow_runs": others})),
            Reply::status(200).json(json!({"workflow_runs": [ours]})),
        ],
    );

    let (exit, report, stderr) = finish(child);

    assert_eq!(exit, 0, "{report} {stderr}");
    assert_eq!(target(&report, "site")["run"]["id"], 77);
    let reads = github.requests_to(SITE_RUNS);
    let second = reads.iter().find(|r| r.path.ends_with("&page=2"));
    let second = second.unwrap_or_else(|| panic!("page 2 was never asked for: {reads:?}"));
    assert!(
        second.path.starts_with(SITE_RUNS),
        "asked at the configured API"
    );
}
