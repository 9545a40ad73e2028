//! Issue 21, found by attacking the change: journals and reports handed over from another job,
//! paths from the git history and headers from a server are untrusted. What they say reaches
//! the terminal and the Actions log neutralized, they cannot grow memory without bound, and a
//! report that does not account for a target cannot make `--retry-failed` pass it over.

use crate::support::cli::{config_dir, many_targets, orchestrator_std, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use std::path::Path;
use std::process::{Output, Stdio};

const RUN_RECORD: &str = r#"{"format":1,"record":"run","source":"app","version":"1.0.0"}"#;

fn run(dir: &Path, github: &FakeGitHub, extra: &[&str]) -> Output {
    let mut cmd = orchestrator_std(dir);
    cmd.args([
        "run",
        "--source",
        "app",
        "--version",
        "1.0.0",
        "--no-progress",
    ])
    .args(["--backoff-ms", "50", "--api-url", &github.base_url()])
    .args(extra)
    .env("APP_TOKEN", WEBSITE_TOKEN)
    .env("GITHUB_ACTIONS", "true")
    .stdin(Stdio::null());
    cmd.output().unwrap()
}

fn all_output(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// No line the runner would read as the attacker's workflow command, and no terminal escape.
fn assert_inert(text: &str) {
    for line in text.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("::") {
            let (command, value) = rest.split_once("::").unwrap_or((rest, ""));
            let hostile =
                command.contains("PWNED") || (command == "add-mask" && value == "delivered");
            assert!(!hostile, "a workflow command got through: {line:?}");
        }
        assert!(
            !line.contains("##[warning]"),
            "a ##[ command got through: {line:?}"
        );
    }
    assert!(
        !text.contains('\u{1b}'),
        "a terminal escape got through: {text:?}"
    );
}

#[test]
fn what_a_hostile_journal_says_is_shown_neutralized() {
    let hostile = "x\\n::warning title=PWNED::from-journal\\n\\u001b]0;t\\u0007";
    let journals = [
        format!(
            "{RUN_RECORD}\n{{\"format\":1,\"record\":\"sending\",\"dispatch_id\":\"1\",\"target\":\"{hostile}\"}}\n"
        ),
        format!("{{\"format\":1,\"record\":\"run\",\"source\":\"{hostile}\",\"version\":\"1\"}}\n"),
        format!("{RUN_RECORD}\n{{\"format\":1,\"record\":\"{hostile}\"}}\n"),
        format!(
            "{RUN_RECORD}\n{{\"format\":1,\"record\":\"outcome\",\"dispatch_id\":\"1\",\"fingerprint\":\"f\",\"outcome\":\"{hostile}\"}}\n"
        ),
        format!("{{\"format\":\"{hostile}\",\"record\":\"run\"}}\n"),
    ];
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t00/dispatches", Reply::status(204));
    for journal in journals {
        let dir = config_dir(&many_targets(1));
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, &journal).unwrap();
        let done = run(dir.path(), &github, &["--resume", path.to_str().unwrap()]);
        let text = all_output(&done);
        assert!(text.contains("from-journal"), "{journal}\n{text}");
        assert_inert(&text);
    }
}

#[test]
fn what_a_hostile_report_says_is_shown_neutralized() {
    let dir = config_dir(&many_targets(1));
    let path = dir.path().join("report.json");
    std::fs::write(
        &path,
        r#"{"format":1,"source":"app","version":"1.0.0","dry_run":false,"targets":[{"target":"t\n::warning title=PWNED::from-report","outcome":"x\n::warning title=PWNED::again"}]}"#,
    )
    .unwrap();
    let github = FakeGitHub::start();
    let done = run(
        dir.path(),
        &github,
        &["--retry-failed", path.to_str().unwrap()],
    );
    assert_eq!(done.status.code(), Some(2), "{}", all_output(&done));
    assert!(all_output(&done).contains("from-report"));
    assert_inert(&all_output(&done));
    assert!(github.requests().is_empty(), "nothing was sent");
}

/// A JSON value of `count` empty objects: 3 bytes each in the file, a tree node of 50 or more
/// once built.
#[cfg(target_os = "linux")]
fn empty_objects(count: usize) -> String {
    let mut list = String::with_capacity(count * 3 + 2);
    list.push('[');
    for i in 0..count {
        if i > 0 {
            list.push(',');
        }
        list.push_str("{}");
    }
    list.push(']');
    list
}

/// Runs `orchestrator` limited to 1 GiB of address space (what a tree of the file would need
/// several times over; the file itself is 21 MB).
#[cfg(target_os = "linux")]
fn run_limited(dir: &Path, args: &[&str]) -> Output {
    let binary = assert_cmd::cargo::cargo_bin("orchestrator");
    std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" \"$@\"")
        .arg(binary)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

// Bounded by `ulimit -v`, which macOS refuses (EINVAL) and Windows has no sh for.
#[cfg(target_os = "linux")]
#[test]
fn a_huge_field_in_a_journal_or_report_is_skipped_in_bounded_memory() {
    let filler = empty_objects(7_000_000);
    let dir = config_dir(&many_targets(1));
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(
        &journal,
        format!("{{\"format\":1,\"record\":\"run\",\"source\":\"app\",\"version\":\"1.0.0\",\"x\":{filler}}}\n"),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(
        &report,
        format!("{{\"format\":1,\"source\":\"app\",\"version\":\"1.0.0\",\"dry_run\":false,\"x\":{filler},\"targets\":[{{\"target\":\"t00\",\"outcome\":\"skipped\"}}]}}"),
    )
    .unwrap();
    drop(filler);
    let base = ["run", "--dry-run", "--source", "app", "--version", "1.0.0"];
    for flag in ["--resume", "--retry-failed"] {
        let file = if flag == "--resume" {
            &journal
        } else {
            &report
        };
        let mut args = base.to_vec();
        args.extend([flag, file.to_str().unwrap()]);
        let done = run_limited(dir.path(), &args);
        assert_eq!(
            done.status.code(),
            Some(0),
            "{flag}: {:?} {}",
            done.status,
            all_output(&done)
        );
    }
}

#[test]
fn retry_failed_sends_a_target_the_report_does_not_account_for() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t00/dispatches", Reply::status(204));
    github.on("POST", "/repos/o/t01/dispatches", Reply::status(204));
    let dir = config_dir(&many_targets(2));
    let path = dir.path().join("report.json");
    // Mentions only t01, as skipped: t00 was never attempted, t01 never delivered.
    std::fs::write(
        &path,
        r#"{"format":1,"source":"app","version":"1.0.0","dry_run":false,"targets":[{"target":"t01","outcome":"skipped"}]}"#,
    )
    .unwrap();
    let done = run(
        dir.path(),
        &github,
        &["--retry-failed", path.to_str().unwrap()],
    );
    assert_eq!(done.status.code(), Some(0), "{}", all_output(&done));
    assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 1);
    assert_eq!(github.requests_to("/repos/o/t01/dispatches").len(), 1);
}

#[test]
fn a_server_header_or_message_cannot_write_a_workflow_command() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t00/dispatches",
        Reply::status(403)
            .header(
                "x-accepted-github-permissions",
                "contents=write ##[warning]PWNED-header",
            )
            .json(serde_json::json!({"message": "Forbidden"})),
    );
    github.on(
        "POST",
        "/repos/o/t01/dispatches",
        Reply::status(422).json(serde_json::json!({
            "message": "Validation Failed\n\u{a0}::warning title=PWNED::nbsp\n\u{3000}::add-mask::delivered"
        })),
    );
    let dir = config_dir(&many_targets(2));
    let done = run(dir.path(), &github, &[]);
    let text = all_output(&done);
    assert!(
        text.contains("PWNED-header") && text.contains("nbsp"),
        "{text}"
    );
    assert_inert(&text);
}
