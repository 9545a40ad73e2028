//! `orchestrator diff`: what a change to `dispatch.yaml` changes in what releases send, read
//! from real temporary git repositories (the base committed on `main`, the change in the
//! working tree).

use crate::support::cli::{orchestrator, WEBSITE_TOKEN};
use crate::support::git::git;
use crate::support::snapshot::snapshot;
use serde_json::Value;
use std::path::Path;

const BASE: &str = r#"version: 1
sources:
  app: {repository: o/app, targets: [web, old, cli]}
targets:
  web:
    repository: o/website
    event_type: upstream-release
    token_env: WEBSITE_TOKEN
    client_payload: {version: "{{version}}", channel: stable}
  old: {repository: o/old, event_type: release, token_env: OLD_TOKEN}
  cli: {repository: o/cli, event_type: cli-release, token_env: CLI_TOKEN}
"#;

/// A repository whose `main` has `base` as dispatch.yaml (or no such file), and `head` in the
/// working tree.
fn repo(base: Option<&str>, head: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["symbolic-ref", "HEAD", "refs/heads/main"]);
    std::fs::write(dir.path().join("README.md"), "a project\n").unwrap();
    if let Some(base) = base {
        std::fs::write(dir.path().join("dispatch.yaml"), base).unwrap();
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    std::fs::write(dir.path().join("dispatch.yaml"), head).unwrap();
    dir
}

fn diff(dir: &Path, extra: &[&str]) -> (i32, String) {
    let output = orchestrator(dir)
        .arg("diff")
        .args(extra)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env(WEBSITE_TOKEN_VAR, WEBSITE_TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

/// Set in every run: its value must never show.
const WEBSITE_TOKEN_VAR: &str = "WEBSITE_TOKEN";

fn json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let (code, text) = diff(dir, &[&["--output", "json"], extra].concat());
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON:\n{text}"));
    (code, value)
}

/// The one target of `app` in the JSON diff named `name`.
fn target<'a>(diff: &'a Value, name: &str) -> &'a Value {
    diff["sources"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == name)
        .unwrap_or_else(|| panic!("no target {name} in {diff:#}"))
}

#[test]
fn a_changed_payload_key_shows_as_its_path_with_both_values() {
    let head = BASE.replace("channel: stable", "channel: beta");
    let dir = repo(Some(BASE), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("~ web: repository_dispatch → o/website, event `upstream-release`"),
        "{text}"
    );
    assert!(
        text.contains(r#"body client_payload.channel: "stable" → "beta""#),
        "{text}"
    );
    assert!(
        !text.contains("version"),
        "unchanged keys are not listed:\n{text}"
    );
    let (_, report) = json(dir.path(), &[]);
    assert_eq!(
        target(&report, "web")["body"][0]["changes"],
        serde_json::json!([{"path": "client_payload.channel", "before": "stable", "after": "beta"}])
    );
}

#[test]
fn an_added_payload_key_is_marked_added_and_shown_once_not_once_per_sample_release() {
    let head = BASE.replace(
        "channel: stable}",
        "channel: stable, tag: \"v{{version}}\"}",
    );
    let dir = repo(Some(BASE), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    let added: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("body client_payload.tag"))
        .collect();
    assert_eq!(added.len(), 1, "{text}");
    assert!(added[0].ends_with(" (added)"), "{text}");
}

#[test]
fn a_changed_default_is_said_once_not_under_every_target() {
    let head = BASE.replace(
        "version: 1\n",
        "version: 1\ndefaults:\n  timeout_secs: 20\n",
    );
    let dir = repo(Some(BASE), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(text.matches("timeout").count(), 1, "{text}");
    assert!(
        text.contains("every changed target:\n        timeout: 30 s → 20 s\n"),
        "{text}"
    );
    assert!(
        text.contains("0 removed, 0 renamed, 3 changed"),
        "the targets still count as changed: {text}"
    );
}

#[test]
fn an_added_and_a_removed_target_are_listed_with_what_the_new_one_sends() {
    let head = BASE
        .replace("targets: [web, old, cli]", "targets: [web, docs, cli]")
        .replace(
            "  old: {repository: o/old, event_type: release, token_env: OLD_TOKEN}",
            "  docs: {repository: o/docs, event_type: docs-release, token_env: DOCS_TOKEN, client_payload: {v: \"{{version}}\"}}",
        );
    let dir = repo(Some(BASE), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("+ docs: repository_dispatch → o/docs, event `docs-release`"),
        "{text}"
    );
    assert!(text.contains("token: $DOCS_TOKEN"), "{text}");
    assert!(
        text.contains(r#"body: {"client_payload":{"v":"1.2.3"}}"#),
        "{text}"
    );
    assert!(
        text.contains("- old: repository_dispatch → o/old, event `release`"),
        "{text}"
    );
    assert!(
        text.contains("1 target(s) added, 1 removed, 0 renamed, 0 changed"),
        "{text}"
    );
}

#[test]
fn a_target_under_a_new_name_with_the_same_destination_and_event_is_a_rename() {
    let head = BASE
        .replace("[web, old, cli]", "[website, old, cli]")
        .replace("  web:", "  website:");
    let dir = repo(Some(BASE), &head);
    let (_, report) = json(dir.path(), &[]);
    let renamed = target(&report, "website");
    assert_eq!(renamed["change"], "renamed");
    assert_eq!(renamed["renamed_from"], "web");
    assert_eq!(report["summary"]["added"], 0);
    assert_eq!(report["summary"]["removed"], 0);
    let (_, text) = diff(dir.path(), &[]);
    assert!(text.contains("~ website (renamed from web)"), "{text}");
}

#[test]
fn a_source_under_a_new_name_with_the_same_repository_is_a_rename_not_a_removal() {
    let head = BASE.replace(
        "  app: {repository: o/app,",
        "  application: {repository: O/App,",
    );
    let dir = repo(Some(BASE), &head);
    let (code, report) = json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let sources = report["sources"].as_array().unwrap();
    assert_eq!(
        sources.len(),
        1,
        "one renamed source, not one removed and one added: {report:#}"
    );
    assert_eq!(sources[0]["source"], "application");
    assert_eq!(sources[0]["change"], "renamed");
    assert_eq!(sources[0]["renamed_from"], "app");
    // The targets are compared, not all removed and added; what the rename changes in them
    // (the dispatch id, made from the source's name) is not a body change.
    assert_eq!(report["summary"]["added"], 0, "{report:#}");
    assert_eq!(report["summary"]["removed"], 0, "{report:#}");
    let (_, text) = diff(dir.path(), &[]);
    assert!(
        text.contains("source application (renamed from app) (O/App)"),
        "{text}"
    );
    let (_, markdown) = diff(dir.path(), &["--output", "markdown"]);
    assert!(markdown.contains("renamed from `app`"), "{markdown}");
}

#[test]
fn a_source_renamed_and_moved_to_another_repository_is_removed_and_added_not_renamed() {
    let head = BASE.replace(
        "  app: {repository: o/app,",
        "  application: {repository: o/other,",
    );
    let dir = repo(Some(BASE), &head);
    let (_, report) = json(dir.path(), &[]);
    let changes: Vec<(&str, &str)> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["source"].as_str().unwrap(), s["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [("application", "added"), ("app", "removed")],
        "{report:#}"
    );
}

#[test]
fn two_sources_renamed_at_once_each_pair_with_their_own_repository() {
    let base = BASE.replace(
        "  app: {repository: o/app, targets: [web, old, cli]}",
        "  app: {repository: o/app, targets: [web, old, cli]}\n  lib: {repository: o/lib, targets: [cli]}",
    );
    let head = base
        .replace(
            "  app: {repository: o/app,",
            "  application: {repository: o/app,",
        )
        .replace(
            "  lib: {repository: o/lib,",
            "  library: {repository: o/lib,",
        );
    let dir = repo(Some(&base), &head);
    let (code, report) = json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let renames: Vec<(&str, &str, &str)> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap(),
                s["change"].as_str().unwrap(),
                s["renamed_from"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        renames,
        [
            ("application", "renamed", "app"),
            ("library", "renamed", "lib")
        ],
        "{report:#}"
    );
    assert_eq!(report["summary"]["removed"], 0, "{report:#}");
}

#[test]
fn a_condition_change_shows_that_a_prerelease_is_now_skipped() {
    let head = BASE.replace(
        "token_env: CLI_TOKEN}",
        "token_env: CLI_TOKEN, when: {prerelease: false}}",
    );
    let dir = repo(Some(BASE), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("sample releases 1.2.3, 1.3.0-rc.1"), "{text}");
    assert!(text.contains("when.prerelease: true → false"), "{text}");
    assert!(
        text.contains("release 1.3.0-rc.1: sent → skipped: 1.3.0-rc.1 is a pre-release"),
        "{text}"
    );
    assert!(
        !text.contains("release 1.2.3"),
        "1.2.3 is still sent:\n{text}"
    );
}

#[test]
fn a_swapped_token_variable_shows_both_names_and_never_a_value() {
    let head = BASE.replace("token_env: WEBSITE_TOKEN", "token_env: SITE_TOKEN");
    let dir = repo(Some(BASE), &head);
    for output in ["text", "markdown", "json"] {
        let (code, text) = diff(dir.path(), &["--output", output]);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("$WEBSITE_TOKEN"), "{output}: {text}");
        assert!(text.contains("$SITE_TOKEN"), "{output}: {text}");
        assert!(
            !text.contains(WEBSITE_TOKEN),
            "{output} shows the token:\n{text}"
        );
    }
}

#[test]
fn a_base_that_does_not_parse_is_reported_and_the_change_is_still_validated() {
    let broken = "version: 1\nsources: {app: [\n";
    let head = BASE.replace("targets: [web, old, cli]", "targets: [web, old, cli, nope]");
    let dir = repo(Some(broken), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(
            "the base main:dispatch.yaml is not valid, so there is nothing to compare with"
        ),
        "{text}"
    );
    assert!(
        text.contains("main:dispatch.yaml:3:1: error[syntax]"),
        "{text}"
    );
    assert!(
        text.contains("dispatch.yaml:3:53: error[unknown_target]"),
        "the head is validated too:\n{text}"
    );
    let (code, report) = json(dir.path(), &[]);
    assert_eq!(code, 2);
    assert_eq!(report["compared"], false);
    assert_eq!(report["base_problems"][0]["code"], "syntax");
    assert_eq!(report["problems"][0]["code"], "unknown_target");
}

#[test]
fn a_base_without_the_file_shows_everything_added() {
    let dir = repo(None, BASE);
    let (code, report) = json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["sources"][0]["change"], "added");
    assert_eq!(report["summary"]["added"], 3);
    let (_, text) = diff(dir.path(), &[]);
    assert!(
        text.contains("source app (o/app): new source, feeds 3 target(s)"),
        "{text}"
    );
    assert!(
        text.contains("+ web: repository_dispatch → o/website"),
        "{text}"
    );
}

#[test]
fn no_change_says_so_whatever_the_formatting() {
    let head = format!(
        "# reformatted, same meaning\n{}",
        BASE.replace(
            "{repository: o/old, event_type: release, token_env: OLD_TOKEN}",
            "\n    repository: o/old\n    event_type: release\n    token_env: OLD_TOKEN"
        )
    );
    let dir = repo(Some(BASE), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.ends_with("\nno change to what releases send\n"),
        "{text}"
    );
    let (code, _) = diff(dir.path(), &["--exit-code"]);
    assert_eq!(code, 0, "no change, so --exit-code exits 0");
    let (_, markdown) = diff(dir.path(), &["--output", "markdown"]);
    assert!(
        markdown.contains("✅ **No change to what releases send.**"),
        "{markdown}"
    );
}

#[test]
fn exit_code_makes_a_change_exit_1_like_git_diff() {
    let head = BASE.replace("channel: stable", "channel: beta");
    let dir = repo(Some(BASE), &head);
    assert_eq!(diff(dir.path(), &[]).0, 0, "changes are information");
    assert_eq!(diff(dir.path(), &["--exit-code"]).0, 1);
}

#[test]
fn the_base_is_any_revision_and_an_unknown_one_is_a_usage_error() {
    let head = BASE.replace("channel: stable", "channel: beta");
    let dir = repo(Some(BASE), &head);
    git(dir.path(), &["tag", "v1"]);
    let (code, text) = diff(dir.path(), &["--base", "v1"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("dispatch.yaml at v1 → working tree"),
        "{text}"
    );
    let (code, text) = diff(dir.path(), &["--base", "no-such-branch"]);
    assert_eq!(code, 2);
    assert!(
        text.contains("error: --base `no-such-branch` names no commit"),
        "{text}"
    );
}

#[test]
fn markdown_has_a_collapsible_section_per_source_with_a_table() {
    let head = BASE
        .replace("[web, old, cli]", "[website, cli, docs]")
        .replace("  web:", "  website:")
        .replace("token_env: WEBSITE_TOKEN", "token_env: SITE_TOKEN")
        .replace("channel: stable", "channel: beta")
        .replace(
            "  old: {repository: o/old, event_type: release, token_env: OLD_TOKEN}",
            "  docs: {repository: o/docs, event_type: docs, token_env: DOCS_TOKEN}",
        )
        .replace(
            "token_env: CLI_TOKEN}",
            "token_env: CLI_TOKEN, when: {prerelease: false}}",
        );
    let dir = repo(Some(BASE), &head);
    let (code, markdown) = diff(dir.path(), &["--output", "markdown"]);
    assert_eq!(code, 0, "{markdown}");
    snapshot!("diff_markdown", markdown);
}

#[test]
fn under_github_actions_the_markdown_is_appended_to_the_job_summary() {
    let head = BASE.replace("channel: stable", "channel: beta");
    let dir = repo(Some(BASE), &head);
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let output = orchestrator(dir.path())
        .args(["diff", "--base", "main"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(
        written.starts_with("earlier step\n### orchestrator diff"),
        "{written}"
    );
    assert!(
        written.contains("| | | body `client_payload.channel` | `\"stable\"` | `\"beta\"` |"),
        "{written}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("→ working tree"),
        "stdout keeps the chosen format:\n{stdout}"
    );
}

#[test]
fn a_secret_webhook_url_shows_as_its_variable_and_is_never_read() {
    let base = "version: 1\nsources:\n  app: {repository: o/app, targets: [hook]}\ntargets:\n  hook: {kind: webhook, url_env: HOOK_URL}\n";
    let head = base.replace("HOOK_URL", "BUILD_HOOK_URL");
    let dir = repo(Some(base), &head);
    let output = orchestrator(dir.path())
        .args(["diff", "--output", "json"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env(
            "HOOK_URL",
            "https://hooks.example/build/secret-path-0123456789",
        )
        .env(
            "BUILD_HOOK_URL",
            "https://hooks.example/build/other-secret-9876543210",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    let url = target(&report, "hook")["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "url")
        .cloned()
        .unwrap();
    assert_eq!(url["before"], "$HOOK_URL");
    assert_eq!(url["after"], "$BUILD_HOOK_URL");
    assert!(
        !text.contains("secret-path") && !text.contains("other-secret"),
        "{text}"
    );
    assert!(
        !text.contains("hooks.example"),
        "not even the host is read:\n{text}"
    );
}

#[test]
fn finishing_what_we_started_shows_as_changed_settings() {
    let base = "version: 1\nsources:\n  app: {repository: o/app, targets: [cli]}\ntargets:\n  cli: {kind: workflow_dispatch, repository: o/cli, workflow: release.yml, ref: main, token_env: WEBSITE_TOKEN, wait: true}\n";
    let head = base.replace("wait: true", "wait: {job: deploy}").replace(
        "version: 1\n",
        "version: 1\ndefaults: {cancel_on_stop: true}\n",
    );
    let dir = repo(Some(base), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("wait: true → job `deploy`"), "{text}");
    assert!(text.contains("cancel_on_stop: false → true"), "{text}");
}

#[test]
fn release_day_order_shows_as_needs_and_awaits_gained_and_a_target_made_optional() {
    let base = "version: 1\nsources:\n  app: {repository: o/app, targets: [cli, web]}\ntargets:\n  cli: {repository: o/cli, event_type: release, token_env: WEBSITE_TOKEN}\n  web: {repository: o/web, event_type: release, token_env: WEBSITE_TOKEN}\n";
    let head = base
        .replace(
            "targets: [cli, web]}",
            "targets: [cli, web], await: [{npm: \"@x/y@{{version}}\"}]}",
        )
        .replace(
            "o/web, event_type: release, token_env: WEBSITE_TOKEN}",
            "o/web, event_type: release, token_env: WEBSITE_TOKEN, needs: [cli], required: false, await: [{url: \"https://example.com/{{version}}\"}]}",
        );
    let dir = repo(Some(base), &head);
    let (code, text) = diff(dir.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("        await: +npm @x/y@{{version}}\n"),
        "{text}"
    );
    assert!(text.contains("        needs: +cli\n"), "{text}");
    assert!(text.contains("        required: true → false\n"), "{text}");
    assert!(
        text.contains("        await: +url https://example.com/{{version}}\n"),
        "{text}"
    );
    let (_, markdown) = diff(dir.path(), &["--output", "markdown"]);
    assert!(
        markdown.contains("| | | `needs` |  | `cli` (`+cli`) |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| | | `required` | `true` | `false` |"),
        "{markdown}"
    );
    let (_, json) = json(dir.path(), &[]);
    let needs = &target(&json, "web")["fields"][0];
    assert_eq!(needs["field"], "needs", "{json:#}");
    assert_eq!(needs["added"], serde_json::json!(["cli"]), "{json:#}");
}

#[test]
fn a_need_dropped_and_another_added_shows_both_items() {
    let base = "version: 1\nsources:\n  app: {repository: o/app, targets: [a, b, c]}\ntargets:\n  a: {repository: o/a, event_type: e, token_env: WEBSITE_TOKEN}\n  b: {repository: o/b, event_type: e, token_env: WEBSITE_TOKEN}\n  c: {repository: o/c, event_type: e, token_env: WEBSITE_TOKEN, needs: [a]}\n";
    let head = base.replace("needs: [a]", "needs: [b]");
    let dir = repo(Some(base), &head);
    let (_, text) = diff(dir.path(), &[]);
    assert!(text.contains("        needs: +b, -a\n"), "{text}");
}
