//! `run --target NAME`: one downstream re-triggered by hand, everything else as a full run;
//! `--version refs/tags/v1.2.3` as `github.ref` gives it; and `--resume`/`--retry-failed`
//! taking the release from the file that records it.

use crate::support::cli::{config_dir, many_targets, Cli};
use crate::support::{FakeGitHub, Reply};
use serde_json::json;

fn targets_of(report: &serde_json::Value) -> Vec<&str> {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect()
}

fn paths(github: &FakeGitHub) -> Vec<String> {
    github.requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn run_target_sends_to_the_chosen_targets_only_and_reports_only_them() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(4));
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .args(["--target", "t02", "--target", "t00"])
        .json()
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let mut sent = paths(&github);
    sent.sort();
    assert_eq!(sent, ["/repos/o/t00/dispatches", "/repos/o/t02/dispatches"]);
    let report = ran.json();
    assert_eq!(targets_of(&report), ["t00", "t02"]);
    assert_eq!(report["summary"]["total"], 2);
    assert_eq!(report["summary"]["delivered"], 2);
}

#[test]
fn a_dry_run_with_target_plans_only_that_target_and_needs_only_its_token() {
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .args(["--target", "dot-ai-cli", "--dry-run"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stdout.contains("1 planned, 0 skipped (dry run)"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("dot-ai-website"), "{}", ran.stdout);
}

#[test]
fn an_unknown_target_is_a_usage_error_that_suggests_the_name_and_sends_nothing() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(3));
    let ran = Cli::in_dir(dir.path())
        .release("app", "1.0.0")
        .args(["--target", "t1"])
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(
        ran.stderr.contains(
            "--target: no target is named `t1`; did you mean `t01`? (known targets: t00, t01, t02)"
        ),
        "{}",
        ran.stderr
    );
    assert!(github.requests().is_empty());
}

#[test]
fn a_target_the_source_does_not_feed_is_refused_with_what_it_feeds() {
    let ran = Cli::example()
        .release("dot-ai-controller", "1.2.3")
        .args(["--target", "dot-ai-cli", "--dry-run"])
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(
        ran.stderr.contains(
            "--target: source `dot-ai-controller` does not feed target `dot-ai-cli` (its targets: dot-ai-website)"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_tag_ref_as_version_is_read_as_the_tag_and_kept_whole_as_ref() {
    let yaml = many_targets(1).replace(
        "version: \"{{version}}\"",
        "version: \"{{version}}\"\n      tag: \"{{tag}}\"\n      ref: \"{{ref}}\"",
    );
    let ran = Cli::with_config(&yaml)
        .release("app", "refs/tags/v1.2.3")
        .args(["--dry-run"])
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stderr.contains(
            "note: --version refs/tags/v1.2.3 is read as the tag v1.2.3 (templates get the whole value as {{ref}})"
        ),
        "{}",
        ran.stderr
    );
    let report = ran.json();
    assert_eq!(report["version"], "1.2.3");
    assert_eq!(
        report["targets"][0]["body"]["client_payload"],
        json!({"version": "1.2.3", "tag": "v1.2.3", "ref": "refs/tags/v1.2.3"})
    );
}

/// A run limited to one target, journaled; `--resume` alone (no --source, no --version) then
/// sends the rest of the release the journal records.
#[test]
fn resume_without_source_or_version_finishes_the_journaled_release() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(3));
    let journal = dir.path().join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let first = Cli::in_dir(dir.path())
        .release("app", "v1.0.0")
        .args(["--target", "t01", "--journal", journal])
        .against(&github)
        .app_token()
        .output();
    assert_eq!(first.code, 0, "{}", first.all());
    assert_eq!(paths(&github), ["/repos/o/t01/dispatches"]);

    let resumed = Cli::in_dir(dir.path())
        .args(["run", "--resume", journal])
        .json()
        .against(&github)
        .app_token()
        .output();
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert!(
        resumed.stderr.contains(&format!(
            "note: resuming app v1.0.0, the release {journal} records"
        )),
        "{}",
        resumed.stderr
    );
    assert_eq!(github.requests().len(), 3, "t01 is not sent again");
    let report = resumed.json();
    assert_eq!(report["summary"]["delivered"], 2);
    assert_eq!(report["summary"]["skipped"], 1);
}

/// `--retry-failed` alone renders `{{tag}}` as the first run did: the report records the tag.
#[test]
fn retry_failed_without_source_or_version_sends_what_the_first_run_would_have() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t01/dispatches",
        [Reply::not_found(), Reply::no_content()],
    );
    let yaml = many_targets(2).replace("version: \"{{version}}\"", "tag: \"{{tag}}\"");
    let dir = config_dir(&yaml);
    let report = dir.path().join("report.json");
    let report = report.to_str().unwrap();
    let first = Cli::in_dir(dir.path())
        .release("app", "v2.0.0")
        .args(["--report", report])
        .against(&github)
        .app_token()
        .output();
    assert_eq!(first.code, 1, "{}", first.all());

    let retried = Cli::in_dir(dir.path())
        .args(["run", "--retry-failed", report])
        .against(&github)
        .app_token()
        .output();
    assert_eq!(retried.code, 0, "{}", retried.all());
    assert!(
        retried.stderr.contains("note: retrying app v2.0.0"),
        "{}",
        retried.stderr
    );
    let requests = github.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[2].body_json()["client_payload"],
        json!({"tag": "v2.0.0"})
    );
}

#[test]
fn resume_with_a_version_other_than_the_journals_is_refused() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(2));
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(
        &journal,
        "{\"format\":1,\"record\":\"run\",\"source\":\"app\",\"version\":\"1.0.0\",\"tag\":\"v1.0.0\"}\n",
    )
    .unwrap();
    let ran = Cli::in_dir(dir.path())
        .args(["run", "--resume", journal.to_str().unwrap()])
        .args(["--version", "2.0.0"])
        .against(&github)
        .app_token()
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(
        ran.stderr
            .contains("records a run of app 1.0.0, not of app 2.0.0"),
        "{}",
        ran.stderr
    );
    assert!(github.requests().is_empty());
}

#[test]
fn run_without_a_version_or_a_file_that_records_one_is_a_usage_error() {
    let ran = Cli::with_config(&many_targets(1))
        .args(["run", "--source", "app"])
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(ran.stderr.contains("--version <VERSION>"), "{}", ran.stderr);
}
