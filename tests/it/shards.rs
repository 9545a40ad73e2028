//! Past one machine: `plan --shards N` splits a fan-out by identity, `run --shard
//! I/N` sends one shard, and `report merge` turns the shards' reports into one run's. The
//! shards run as separate processes at once against one fake GitHub that keeps a budget per
//! token, as GitHub does.

use crate::support::cli::{config_dir, many_targets, Cli, Ran, Watched};
use crate::support::snapshot::snapshot;
use crate::support::FakeGitHub;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

const TOKENS: [&str; 8] = ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"];
/// What each process paces every identity to.
const RATE: &str = "2/s";

/// 32 targets taking the 8 token variables in turn: 4 requests per identity.
fn eight_identities() -> String {
    many_targets(32).replace(
        "token_env: APP_TOKEN",
        &format!("token_env: [{}]", TOKENS.join(", ")),
    )
}

/// A fake that refuses a token's third POST within 800 ms: a client that keeps 2/s per token
/// never meets it, one that shares a token between two processes would.
fn budgeted_github() -> FakeGitHub {
    let github = FakeGitHub::start();
    github.limit_per_token(2, Duration::from_millis(800));
    github
}

/// `orchestrator COMMAND` in `dir` against `github`, with every token set (each its own value,
/// so the fake counts each).
fn cli(dir: &Path, github: &FakeGitHub, command: &[&str]) -> Cli {
    let mut cli = Cli::in_dir(dir);
    for (i, name) in TOKENS.iter().enumerate() {
        cli = cli.env(name, format!("ghp_shardtoken{i}0000000000000000000000000"));
    }
    cli.args(command)
        .args(["--source", "app", "--version", "1.0.0"])
        .args(["--api-url", &github.base_url()])
}

fn plan_matrix(dir: &Path, github: &FakeGitHub) -> Ran {
    cli(dir, github, &["plan"])
        .args(["--shards", "4", "--output", "matrix"])
        .output()
}

fn run(dir: &Path, github: &FakeGitHub) -> Cli {
    cli(dir, github, &["run"]).args(["--output", "json", "--rate-limit", RATE])
}

/// The JSON report without what depends on timing.
fn untimed(mut report: Value) -> Value {
    if let Some(summary) = report["summary"].as_object_mut() {
        summary.remove("duration_ms");
    }
    for target in report["targets"].as_array_mut().into_iter().flatten() {
        let target = target.as_object_mut().unwrap();
        target.remove("duration_ms");
        target.remove("queued_ms");
    }
    report
}

fn merge(dir: &Path, files: &[&str]) -> Ran {
    Cli::in_dir(dir)
        .args(["report", "merge", "--output", "json"])
        .args(files)
        .output()
}

/// Runs the four shards as four processes at once, each writing `shard-I.json`.
fn run_shards(dir: &Path, github: &FakeGitHub, matrix: &Value) -> Vec<Ran> {
    let children: Vec<Watched> = (matrix["include"].as_array().unwrap().iter())
        .map(|entry| {
            let shard = entry["shard"].as_str().unwrap();
            let fingerprint = entry["fingerprint"].as_str().unwrap();
            let index = shard.split('/').next().unwrap();
            let report = format!("shard-{index}.json");
            let child = run(dir, github)
                .args(["--shard", shard, "--shard-fingerprint", fingerprint])
                .args(["--report", &report])
                .spawn();
            Watched::new(child)
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.finish_within(Duration::from_secs(60)))
        .collect()
}

/// The four shards' reports, `shard-1.json` to `shard-4.json`, in the directory returned.
fn shards_sent() -> (tempfile::TempDir, FakeGitHub) {
    let dir = config_dir(&eight_identities());
    let github = budgeted_github();
    let matrix: Value = serde_json::from_str(&plan_matrix(dir.path(), &github).stdout).unwrap();
    run_shards(dir.path(), &github, &matrix);
    (dir, github)
}

#[test]
fn four_shards_over_eight_tokens_deliver_every_target_once_within_each_tokens_budget_and_merge_into_one_runs_report(
) {
    let dir = config_dir(&eight_identities());
    let github = budgeted_github();

    let planned = plan_matrix(dir.path(), &github);
    assert_eq!(planned.code, 0, "{}", planned.all());
    snapshot!("shards_matrix", planned.stdout.as_str());
    let matrix: Value = serde_json::from_str(&planned.stdout).unwrap();
    for ran in run_shards(dir.path(), &github, &matrix) {
        assert_eq!(ran.code, 0, "{}", ran.all());
    }

    let sent: Vec<String> = (github.requests_to("/repos/*/*/dispatches").into_iter())
        .map(|r| r.path)
        .collect();
    assert_eq!(sent.len(), 32, "every target sent once, none retried");
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), 32);
    assert_eq!(
        github.over_token_limit_replies(),
        0,
        "no token over its budget"
    );

    // One run over every target, against the same server (the URLs, so the fingerprints, are
    // the same), with the budgets the shards spent given back.
    github.forget_token_budgets();
    let whole = run(dir.path(), &github).output();
    assert_eq!(whole.code, 0, "{}", whole.all());
    let merged = merge(
        dir.path(),
        &[
            "shard-3.json",
            "shard-1.json",
            "shard-4.json",
            "shard-2.json",
        ],
    );
    assert_eq!(merged.code, 0, "{}", merged.all());
    assert_eq!(untimed(merged.json()), untimed(whole.json()));
}

#[test]
fn merge_names_the_missing_shard_and_refuses_a_shard_given_twice() {
    let (dir, _github) = shards_sent();

    let missing = merge(
        dir.path(),
        &["shard-1.json", "shard-2.json", "shard-4.json"],
    );
    assert_eq!(missing.code, 2);
    let error: Value = serde_json::from_str(&missing.stdout).unwrap();
    assert_eq!(
        error["error"]["message"],
        "cannot merge the reports: shard 3/4 is missing: no report for it"
    );
    snapshot!("shards_merge_missing", missing.stderr.as_str());

    let twice = merge(
        dir.path(),
        &["shard-1.json", "shard-2.json", "shard-2.json"],
    );
    assert_eq!(twice.code, 2);
    snapshot!("shards_merge_twice", twice.stderr.as_str());
}

#[test]
fn merge_refuses_a_report_of_another_release_a_split_no_matrix_has_and_one_that_is_not_json() {
    let (dir, _github) = shards_sent();
    let other = std::fs::read_to_string(dir.path().join("shard-2.json"))
        .unwrap()
        .replace("\"version\": \"1.0.0\"", "\"version\": \"1.0.1\"");
    std::fs::write(dir.path().join("other.json"), other).unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"format\": ").unwrap();

    let release = merge(dir.path(), &["shard-1.json", "other.json"]);
    assert_eq!(release.code, 2);
    snapshot!("shards_merge_other_release", release.stderr.as_str());
    let huge = std::fs::read_to_string(dir.path().join("shard-3.json"))
        .unwrap()
        .replace("\"count\": 4,", "\"count\": 4000000000,");
    std::fs::write(dir.path().join("huge.json"), huge).unwrap();
    let counted = merge(dir.path(), &["huge.json"]);
    assert_eq!(counted.code, 2);
    assert!(
        counted
            .stderr
            .contains("huge.json records shard 3/4000000000, which no split has"),
        "{}",
        counted.stderr
    );
    let broken = merge(dir.path(), &["shard-1.json", "broken.json"]);
    assert_eq!(broken.code, 2);
    snapshot!("shards_merge_not_json", broken.stderr.as_str());
}

#[test]
fn a_shard_whose_configuration_changed_since_the_plan_job_refuses_before_sending_anything() {
    let dir = config_dir(&eight_identities());
    let github = budgeted_github();
    let matrix: Value = serde_json::from_str(&plan_matrix(dir.path(), &github).stdout).unwrap();
    let planned = matrix["include"][1]["fingerprint"].as_str().unwrap();
    // A commit between the plan job and this one changes what one target sends.
    let config = dir.path().join("dispatch.yaml");
    let edited = std::fs::read_to_string(&config).unwrap().replacen(
        "version: \"{{version}}\"",
        "release: \"{{version}}\"",
        1,
    );
    std::fs::write(&config, edited).unwrap();

    let refused = run(dir.path(), &github)
        .args(["--shard", "2/4", "--shard-fingerprint", planned])
        .output();

    assert_eq!(refused.code, 2, "{}", refused.all());
    snapshot!("shards_run_other_split", refused.stderr.as_str());
    assert!(github.requests().is_empty(), "nothing sent");
    let garbled = run(dir.path(), &github)
        .args(["--shard", "2/4", "--shard-fingerprint", "not-hex"])
        .output();
    assert_eq!(garbled.code, 2);
    assert!(
        garbled.stderr.contains("not a fingerprint"),
        "{}",
        garbled.stderr
    );
}

#[test]
fn more_shards_than_identities_plan_one_shard_per_identity_and_say_so() {
    let dir = config_dir(&eight_identities());
    let github = FakeGitHub::start();
    let planned = cli(dir.path(), &github, &["plan"])
        .args(["--shards", "10"])
        .output();

    assert_eq!(planned.code, 0, "{}", planned.all());
    snapshot!("shards_plan_text_more_than_identities", planned.all());
    let refused = run(dir.path(), &github).args(["--shard", "9/10"]).output();
    assert_eq!(refused.code, 2);
    assert!(github.requests().is_empty(), "nothing sent");
}

/// Targets on five tokens, 5, 4, 3, 2 and 2 of them.
fn unequal_identities() -> String {
    let tokens = [("A", 5), ("B", 4), ("C", 3), ("D", 2), ("E", 2)];
    let names: Vec<String> = (0..16).map(|i| format!("t{i:02}")).collect();
    let mut yaml = format!(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    let mut names = names.iter();
    for (token, count) in tokens {
        for name in names.by_ref().take(count) {
            yaml.push_str(&format!(
                "  {name}:\n    repository: o/{name}\n    event_type: release\n    token_env: TOKEN_{token}\n"
            ));
        }
    }
    yaml
}

#[test]
fn identities_of_unequal_weight_are_balanced_by_requests_and_split_the_same_every_time() {
    let dir = config_dir(&unequal_identities());
    let github = FakeGitHub::start();
    let plan = || {
        cli(dir.path(), &github, &["plan"])
            .args(["--shards", "2"])
            .output()
    };

    let first = plan();
    assert_eq!(first.code, 0, "{}", first.all());
    snapshot!("shards_plan_text_unequal", first.stdout.as_str());
    assert_eq!(plan().stdout, first.stdout, "the same split every time");
}

#[test]
fn what_a_shards_report_says_reaches_the_merged_report_only_escaped() {
    let (dir, _github) = shards_sent();
    let forged = std::fs::read_to_string(dir.path().join("shard-1.json"))
        .unwrap()
        .replacen(
            "\"destination\": \"o/t00\"",
            "\"destination\": \"o/t00\\u001b]8;;https://evil\\u0007\\n::error::forged\"",
            1,
        );
    std::fs::write(dir.path().join("shard-1.json"), forged).unwrap();

    let merged = Cli::in_dir(dir.path())
        .args(["report", "merge", "shard-1.json", "shard-2.json"])
        .args(["shard-3.json", "shard-4.json"])
        .output();

    assert_eq!(merged.code, 0, "{}", merged.all());
    assert!(!merged.stdout.contains('\u{1b}'), "{}", merged.stdout);
    assert!(
        !merged
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("::")),
        "{}",
        merged.stdout
    );
    assert!(merged.stdout.contains("o/t00\\u{1b}]8;;https://evil\\u{7}"));
}

#[test]
fn under_actions_plan_writes_the_matrix_output_and_merge_one_runs_outputs_and_summary() {
    let (dir, github) = shards_sent();
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let actions = |cli: Cli| {
        cli.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_TEMP", dir.path())
    };

    let planned = actions(cli(dir.path(), &github, &["plan"]).args(["--shards", "4"])).output();
    assert_eq!(planned.code, 0, "{}", planned.all());
    let written = std::fs::read_to_string(&outputs).unwrap();
    let matrix = written
        .lines()
        .next()
        .unwrap()
        .strip_prefix("matrix=")
        .unwrap();
    let matrix: Value = serde_json::from_str(matrix).unwrap();
    assert_eq!(matrix["include"].as_array().unwrap().len(), 4);

    std::fs::remove_file(&outputs).unwrap();
    let merged = actions(Cli::in_dir(dir.path()).args(["report", "merge"]))
        .args([
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "shard-4.json",
        ])
        .output();
    assert_eq!(merged.code, 0, "{}", merged.all());
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert!(written.contains("delivered=32\n"), "{written}");
    assert!(written.contains("failed=0\n"), "{written}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(summary.matches("32 delivered").count(), 1, "{summary}");
}

/// `website` (on `WEB_TOKEN`) needs `cli` (on `CLI_TOKEN`); `docs` has a token of its own.
const NEEDS_ACROSS_IDENTITIES: &str = "version: 1
sources:
  app: {repository: o/app, targets: [cli, website, docs]}
targets:
  cli: {repository: o/cli, event_type: release, token_env: CLI_TOKEN}
  website: {repository: o/website, event_type: release, token_env: WEB_TOKEN, needs: [cli]}
  docs: {repository: o/docs, event_type: release, token_env: DOCS_TOKEN}
";

#[test]
fn identities_joined_by_needs_go_to_one_shard_so_a_need_is_awaited_where_it_is_sent() {
    let dir = config_dir(NEEDS_ACROSS_IDENTITIES);

    let planned = Cli::in_dir(dir.path())
        .args([
            "plan",
            "--source",
            "app",
            "--version",
            "1.0.0",
            "--shards",
            "3",
        ])
        .output();

    assert_eq!(planned.code, 0, "{}", planned.all());
    snapshot!("shards_plan_text_needs", planned.all());
}

/// `shard-I.json` in `dir`, edited by `forge`.
fn forge_shard(dir: &Path, index: usize, forge: impl FnOnce(&mut Value)) {
    let path = dir.join(format!("shard-{index}.json"));
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    forge(&mut report);
    std::fs::write(path, serde_json::to_string(&report).unwrap()).unwrap();
}

#[test]
fn a_forged_shard_summary_cannot_hide_a_failed_target_or_overflow_the_counts() {
    let (dir, _github) = shards_sent();
    // Shard 1 lists a failed target but counts none; shard 2 counts past any number, so that
    // added up the failures would wrap to zero.
    forge_shard(dir.path(), 1, |report| {
        report["targets"][0]["outcome"] = "failed".into();
        report["targets"][0]["reason"] = "422 Unprocessable Entity".into();
        report["summary"]["delivered"] =
            (report["summary"]["delivered"].as_u64().unwrap() - 1).into();
    });
    forge_shard(dir.path(), 2, |report| {
        report["summary"]["failed"] = u64::MAX.into();
        report["summary"]["total"] = u64::MAX.into();
    });
    forge_shard(dir.path(), 3, |report| {
        report["summary"]["failed"] = 1.into();
        report["summary"]["total"] = 1.into();
    });

    let merged = merge(
        dir.path(),
        &[
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "shard-4.json",
        ],
    );

    assert_eq!(merged.code, 1, "{}", merged.all());
    let report: Value = serde_json::from_str(&merged.stdout).unwrap();
    assert_eq!(report["summary"]["total"], 32);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["delivered"], 31);
}

#[test]
fn the_shards_reports_together_weigh_at_most_one_reports_cap() {
    let (dir, _github) = shards_sent();
    // Each under the 64 MiB a report may weigh, together past it.
    let padding = "x".repeat(40 * 1024 * 1024);
    for index in [1, 2] {
        forge_shard(dir.path(), index, |report| {
            report["targets"][0]["note"] = padding.clone().into();
        });
    }

    let merged = merge(
        dir.path(),
        &[
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "shard-4.json",
        ],
    );

    assert_eq!(merged.code, 2, "{}", merged.all());
    let error: Value = serde_json::from_str(&merged.stdout).unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot merge the reports: shard-2.json is larger than")
            && message.ends_with(
                "bytes; the shards' reports together are one run's report, and a JSON report of orchestrator is never that big"
            ),
        "{message}"
    );
}

#[test]
fn the_release_a_shards_report_names_reaches_the_merged_report_only_escaped() {
    let (dir, _github) = shards_sent();
    for index in 1..=4 {
        forge_shard(dir.path(), index, |report| {
            report["version"] = "1.0.0\u{202e}\u{1b}[2J".into();
            report["tag"] = "v1.0.0\u{202e}".into();
        });
    }

    let merged = merge(
        dir.path(),
        &[
            "shard-1.json",
            "shard-2.json",
            "shard-3.json",
            "shard-4.json",
        ],
    );

    assert_eq!(merged.code, 0, "{}", merged.all());
    assert!(!merged.stdout.contains('\u{202e}'), "{}", merged.stdout);
    let report: Value = serde_json::from_str(&merged.stdout).unwrap();
    assert_eq!(report["version"], "1.0.0\\u{202e}\\u{1b}[2J");
    assert_eq!(report["tag"], "v1.0.0\\u{202e}");
}
