//! Issue 10, items 10, 11, 15 and 16: what orchestrator reads back from disk is trusted only as
//! far as it can be. Journals and reports are versioned and bound to the request they record;
//! files named by flags or keys are read bounded, and never block; a BOM is accepted.

use crate::support::cli::{
    config_dir, many_targets, orchestrator_std, Ran, Watched, WEBSITE_TOKEN,
};
use crate::support::{FakeGitHub, Reply};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
#[cfg(unix)] // only the /dev/zero test times itself
use std::time::Instant;

/// Long enough for a loaded machine to start the binary; a hang is killed at it.
const HANG: Duration = Duration::from_secs(15);

/// Runs the binary to its end, or kills it at `HANG` and fails the test.
fn finish(mut cmd: Command) -> Ran {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Watched::new(child).finish_within(HANG)
}

/// `orchestrator run` of source `app` 1.0.0 in `dir`, against `github`.
fn run(dir: &Path, github: &FakeGitHub, extra: &[&str]) -> Ran {
    let mut cmd = orchestrator_std(dir);
    cmd.args(["run", "--source", "app", "--version", "1.0.0"])
        .args(["--output", "json", "--backoff-ms", "50"])
        .args(["--api-url", &github.base_url()])
        .args(extra)
        .env("APP_TOKEN", WEBSITE_TOKEN);
    finish(cmd)
}

fn sent_to(github: &FakeGitHub, target: &str) -> usize {
    github
        .requests_to(&format!("/repos/o/{target}/dispatches"))
        .len()
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

// FIFOs (mkfifo) are Unix; Windows named pipes live outside the file system.
#[cfg(unix)]
fn fifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
    let made = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo {}", path.display());
}

// Item 11: a journal is bound to the requests it records.

#[test]
fn a_target_whose_request_changed_since_the_journal_is_sent_again_with_a_note() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(2));
    let journal = dir.path().join("journal.jsonl");
    let first = run(dir.path(), &github, &["--journal", arg(&journal)]);
    assert_eq!(first.code, 0, "{}", first.stderr);

    // Same source, version and target names; t01 now sends another event.
    let yaml = many_targets(2).replacen(
        "repository: o/t01\n    event_type: release",
        "repository: o/t01\n    event_type: rebuild",
        1,
    );
    std::fs::write(dir.path().join("dispatch.yaml"), yaml).unwrap();
    let resumed = run(dir.path(), &github, &["--resume", arg(&journal)]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(
        sent_to(&github, "t00"),
        1,
        "t00 is unchanged: not sent again"
    );
    assert_eq!(sent_to(&github, "t01"), 2, "t01 changed: sent again");
    let last = github.requests_to("/repos/o/t01/dispatches")[1].body_json();
    assert_eq!(last["event_type"], "rebuild");
    assert!(
        resumed
            .stderr
            .contains("1 target(s) changed since the journal"),
        "{}",
        resumed.stderr
    );
    let report = resumed.json();
    let t01 = &report["targets"][0];
    assert_eq!(t01["target"], "t01");
    assert_eq!(t01["outcome"], "delivered");
    assert!(
        t01["note"].as_str().unwrap().contains("different request"),
        "{t01}"
    );
}

#[test]
fn a_garbage_line_in_the_middle_of_a_journal_is_refused_naming_the_line() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(2));
    let journal = dir.path().join("journal.jsonl");
    let first = run(dir.path(), &github, &["--journal", arg(&journal)]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "this is not a record");
    std::fs::write(&journal, lines.join("\n") + "\n").unwrap();

    let resumed = run(dir.path(), &github, &["--resume", arg(&journal)]);
    assert_eq!(resumed.code, 2, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("journal.jsonl, line 3: it is not JSON"),
        "{}",
        resumed.stderr
    );
    assert_eq!(github.requests().len(), 2, "the resumed run sent nothing");
}

#[test]
fn a_non_utf8_line_in_the_middle_of_a_journal_is_refused_naming_the_line() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(1));
    let journal = dir.path().join("journal.jsonl");
    let first = run(dir.path(), &github, &["--journal", arg(&journal)]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let text = std::fs::read(&journal).unwrap();
    let newline = text.iter().position(|b| *b == b'\n').unwrap();
    let mut bytes = text[..=newline].to_vec();
    bytes.extend_from_slice(b"\xff\xfe not UTF-8\n");
    bytes.extend_from_slice(&text[newline + 1..]);
    std::fs::write(&journal, bytes).unwrap();

    let resumed = run(dir.path(), &github, &["--resume", arg(&journal)]);
    assert_eq!(resumed.code, 2, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("journal.jsonl, line 2: it is not UTF-8 text"),
        "{}",
        resumed.stderr
    );
    assert_eq!(github.requests().len(), 1, "the resumed run sent nothing");
}

#[test]
fn a_torn_last_line_is_tolerated_and_the_resumed_journal_reads_back_whole() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/t02/dispatches",
        [Reply::not_found(), Reply::no_content()],
    );
    let dir = config_dir(&many_targets(3));
    let journal = dir.path().join("journal.jsonl");
    let first = run(dir.path(), &github, &["--journal", arg(&journal)]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    // What a kill in the middle of a write leaves: a line without its end.
    let torn = "{\"format\":1,\"record\":\"outcome\",\"dispatch_id\":\"0123";
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut file, torn.as_bytes()).unwrap();
    drop(file);

    let resumed = run(dir.path(), &github, &["--resume", arg(&journal)]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(sent_to(&github, "t02"), 2, "only the failed target again");
    assert_eq!(github.requests().len(), 4);

    // The torn line stays alone on its line; every record after it is whole.
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == torn)
        .expect("torn line kept");
    let after: Vec<Value> = lines[at + 1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(after[0]["record"], "run");
    assert!(after.iter().all(|r| r["format"] == 1), "{after:?}");
    assert!(after
        .iter()
        .any(|r| r["record"] == "outcome" && r["target"] == "t02" && r["outcome"] == "delivered"));

    let again = run(dir.path(), &github, &["--resume", arg(&journal)]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(github.requests().len(), 4, "everything was delivered");
    assert_eq!(again.json()["summary"]["skipped"], 3);
}

// Item 10: --retry-failed takes only a finished report of format 1.

/// A first run in which t01 fails, written to `report.json`; returns the directory.
fn failed_report(github: &FakeGitHub) -> tempfile::TempDir {
    github.on("POST", "/repos/o/t01/dispatches", Reply::not_found());
    let dir = config_dir(&many_targets(3));
    let path = dir.path().join("report.json");
    let first = run(dir.path(), github, &["--report", arg(&path)]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    dir
}

/// `--retry-failed` with the report rewritten by `edit`: exit 2 with `reason`, nothing sent.
fn refused_report(edit: impl FnOnce(String) -> String, reason: &str) {
    let github = FakeGitHub::start();
    let dir = failed_report(&github);
    let path = dir.path().join("report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    let sent_before = github.requests().len();
    let retried = run(dir.path(), &github, &["--retry-failed", arg(&path)]);
    assert_eq!(retried.code, 2, "{}", retried.stderr);
    assert!(retried.stderr.contains(reason), "{}", retried.stderr);
    assert!(retried
        .stderr
        .contains("cannot be used with --retry-failed"));
    assert_eq!(github.requests().len(), sent_before, "nothing was sent");
}

#[test]
fn retry_failed_refuses_a_report_that_lists_no_targets() {
    refused_report(|_| r#"{"targets": []}"#.to_owned(), "it has no `format`");
    refused_report(
        |text| {
            let mut report: Value = serde_json::from_str(&text).unwrap();
            report["targets"] = Value::Array(Vec::new());
            report.to_string()
        },
        "it lists no targets",
    );
}

#[test]
fn retry_failed_refuses_a_report_whose_outcomes_were_renamed() {
    refused_report(
        |text| text.replace("\"outcome\": \"failed\"", "\"outcome\": \"error\""),
        "target `t01` has the outcome \"error\"",
    );
}

#[test]
fn retry_failed_refuses_a_report_without_format_or_of_another_format() {
    refused_report(
        |text| text.replace("\"format\": 1,", ""),
        "it has no `format`",
    );
    refused_report(
        |text| text.replace("\"format\": 1,", "\"format\": 2,"),
        "it is a report of format 2",
    );
}

#[test]
fn retry_failed_refuses_the_plan_of_a_dry_run() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(3));
    let path = dir.path().join("plan.json");
    let planned = run(dir.path(), &github, &["--dry-run", "--report", arg(&path)]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let retried = run(dir.path(), &github, &["--retry-failed", arg(&path)]);
    assert_eq!(retried.code, 2, "{}", retried.stderr);
    assert!(
        retried.stderr.contains("it is the plan of a dry run"),
        "{}",
        retried.stderr
    );
    assert!(github.requests().is_empty(), "nothing was sent");
}

#[test]
fn retry_failed_with_the_report_of_another_version_asks_for_this_release_s_report() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(1));
    let path = dir.path().join("report.json");
    let earlier = run(dir.path(), &github, &["--report", arg(&path)]);
    assert_eq!(earlier.code, 0, "{}", earlier.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"1.0.0\"", "\"0.9.0\"")).unwrap();
    let retried = run(dir.path(), &github, &["--retry-failed", arg(&path)]);
    assert_eq!(retried.code, 2, "{}", retried.stderr);
    assert!(
        retried.stderr.contains(
            "records a run of app 0.9.0, not of app 1.0.0; retry with the report of this release's run"
        ),
        "{}",
        retried.stderr
    );
}

#[test]
fn reports_and_journal_records_carry_format_1() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(1));
    let journal = dir.path().join("journal.jsonl");
    let output = run(dir.path(), &github, &["--journal", arg(&journal)]);
    assert_eq!(output.json()["format"], 1);
    let text = std::fs::read_to_string(&journal).unwrap();
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["format"], 1, "{line}");
    }
    let fingerprint = output.json()["targets"][0]["fingerprint"].clone();
    assert_eq!(
        fingerprint.as_str().map(str::len),
        Some(64),
        "{fingerprint}"
    );
}

// Item 15: every file is read bounded, regular files only, without blocking.

fn app_config(key_file: &Path) -> String {
    format!(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [site]\ntargets:\n  site:\n    repository: o/site\n    event_type: release\n    github_app:\n      app_id: 1\n      private_key_file: {}\n",
        key_file.display()
    )
}

// /dev/zero: a character device every Unix has; Windows has none.
#[cfg(unix)]
#[test]
fn a_private_key_file_of_dev_zero_is_refused_at_once() {
    let github = FakeGitHub::start();
    let dir = config_dir(&app_config(Path::new("/dev/zero")));
    let started = Instant::now();
    let output = run(dir.path(), &github, &[]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("private key file `/dev/zero`: it is a character device, not a regular file"),
        "{}",
        output.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(github.requests().is_empty());
}

#[test]
fn a_private_key_file_larger_than_64_kib_is_refused() {
    let github = FakeGitHub::start();
    let scratch = tempfile::tempdir().unwrap();
    let key = scratch.path().join("big.pem");
    std::fs::write(&key, vec![b'A'; 64 * 1024 + 1]).unwrap();
    let dir = config_dir(&app_config(&key));
    let output = run(dir.path(), &github, &[]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(
        output.stderr.contains("it is larger than 65536 bytes"),
        "{}",
        output.stderr
    );
    assert!(github.requests().is_empty());
}

// FIFOs (mkfifo) are Unix; Windows named pipes live outside the file system.
#[cfg(unix)]
#[test]
fn a_fifo_as_config_resume_journal_or_private_key_file_is_refused_without_hanging() {
    let github = FakeGitHub::start();
    let scratch = tempfile::tempdir().unwrap();
    let pipe = scratch.path().join("pipe");
    fifo(&pipe);
    let not_regular = "it is a FIFO (named pipe), not a regular file";

    let dir = config_dir(&many_targets(1));
    let mut cmd = orchestrator_std(dir.path());
    cmd.args(["validate", "--config", arg(&pipe)]);
    let output = finish(cmd);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains(&format!("{not_regular} (given by --config)")),
        "{}",
        output.stderr
    );

    for flag in ["--resume", "--journal"] {
        let output = run(dir.path(), &github, &[flag, arg(&pipe)]);
        assert_eq!(output.code, 2, "{flag}: {}", output.stderr);
        assert!(
            output
                .stderr
                .contains(&format!("{not_regular} (given by {flag})")),
            "{}",
            output.stderr
        );
    }

    let dir = config_dir(&app_config(&pipe));
    let output = run(dir.path(), &github, &[]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stderr.contains(not_regular), "{}", output.stderr);
    assert!(github.requests().is_empty());
}

// /dev/zero: a character device every Unix has; Windows has none.
#[cfg(unix)]
#[test]
fn resume_from_dev_zero_is_refused() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(1));
    let output = run(dir.path(), &github, &["--resume", "/dev/zero"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(
        output.stderr.contains(
            "cannot read /dev/zero: it is a character device, not a regular file (given by --resume)"
        ),
        "{}",
        output.stderr
    );
    assert!(github.requests().is_empty());
}

// Item 16: a byte order mark is not part of the file's text.

#[test]
fn a_dispatch_yaml_with_a_byte_order_mark_validates_and_keeps_its_positions() {
    let yaml = many_targets(1);
    let dir = config_dir(&format!("\u{feff}{yaml}"));
    let mut cmd = orchestrator_std(dir.path());
    cmd.arg("validate");
    let output = finish(cmd);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout.contains("dispatch.yaml is valid"));

    // A mistake on line 9 is shown at the same line and column with or without the mark.
    let wrong = yaml.replace("    event_type: release\n", "    event_typo: release\n");
    let shown = |text: String| {
        let dir = config_dir(&text);
        let mut cmd = orchestrator_std(dir.path());
        cmd.arg("validate");
        let output = finish(cmd);
        assert_eq!(output.code, 1, "{}", output.stderr);
        output.stdout
    };
    let with_bom = shown(format!("\u{feff}{wrong}"));
    assert!(
        with_bom.contains("dispatch.yaml:9:5: error[unknown_key]"),
        "{with_bom}"
    );
    assert_eq!(with_bom, shown(wrong));
}
