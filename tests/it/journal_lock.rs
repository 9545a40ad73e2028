//! A journal is held by one run (issue 21, item 11): a second run on the same journal, whether
//! a concurrent `--resume` or another run given the same `--journal`, is refused with exit 2,
//! naming the file, before it sends anything. The lock goes with the process that held it.

use crate::support::cli::{config_dir, many_targets, Cli, Ran, Watched};
use crate::support::{FakeGitHub, Reply};
use std::path::Path;

/// `orchestrator run` for source `app` in `dir`, JSON report.
fn app_run(dir: &Path, github: &FakeGitHub, extra: &[&str]) -> Cli {
    Cli::in_dir(dir)
        .release("app", "1.0.0")
        .json()
        .against(github)
        .args(["--backoff-ms", "20", "--max-attempts", "1"])
        .args(extra)
        .app_token()
}

fn assert_refused_as_held(ran: &Ran, journal: &Path, what: &str) {
    assert_eq!(ran.code, 2, "{what}: {}", ran.all());
    let shown = journal.display().to_string();
    assert!(
        ran.stderr.contains(&format!("the journal {shown}"))
            && ran
                .stderr
                .contains("is in use: another orchestrator run holds its lock; nothing was sent"),
        "{what}: {}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("one run at a time may use a journal"),
        "{what}: {}",
        ran.stderr
    );
}

#[test]
fn every_way_of_naming_a_journal_another_run_holds_is_refused_and_sends_nothing() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t01/dispatches", Reply::not_found());
    let dir = config_dir(&many_targets(3));
    let journal = dir.path().join("journal.jsonl");
    let other = dir.path().join("other.jsonl");
    let report = dir.path().join("report.json");
    let (j, o, r) = (
        journal.to_str().unwrap(),
        other.to_str().unwrap(),
        report.to_str().unwrap(),
    );
    let first = app_run(dir.path(), &github, &["--journal", j, "--report", r]).output();
    assert_eq!(first.code, 1, "{}", first.all());
    let sent_before = github.requests().len();

    // Another orchestrator run, as the operating system sees it: a process holding the lock.
    let holder = std::fs::File::open(&journal).unwrap();
    holder.try_lock().unwrap();
    for (what, args) in [
        ("--journal", vec!["--journal", j]),
        ("--resume", vec!["--resume", j]),
        (
            "--resume and --journal",
            vec!["--resume", j, "--journal", o],
        ),
        (
            "--journal with --retry-failed",
            vec!["--retry-failed", r, "--journal", j],
        ),
    ] {
        let ran = app_run(dir.path(), &github, &args).output();
        assert_refused_as_held(&ran, &journal, what);
        assert_eq!(github.requests().len(), sent_before, "{what}: nothing sent");
    }
    assert!(!other.exists(), "a refused run creates no journal");
    // Read through the handle that holds the lock: on Windows a lock keeps every other out.
    let journal_text = std::io::read_to_string(&holder).unwrap();
    assert_eq!(
        journal_text.matches(r#""record":"run""#).count(),
        1,
        "a refused run writes nothing to the journal"
    );

    // A dry run sends nothing and holds nothing: it may look at a journal in use. Not on
    // Windows, where a lock keeps every other handle from reading the file.
    if cfg!(unix) {
        let dry = app_run(dir.path(), &github, &["--resume", j, "--dry-run"]).output();
        assert_eq!(dry.code, 0, "{}", dry.all());
    }

    drop(holder);
    let resumed = app_run(dir.path(), &github, &["--resume", j]).output();
    assert_eq!(resumed.code, 1, "{}", resumed.all());
    assert_eq!(resumed.json()["summary"]["skipped"], 2);
    assert_eq!(github.requests().len(), sent_before + 1, "only t01 again");
}

#[test]
fn a_second_resume_while_the_first_is_sending_is_refused_and_the_first_delivers_everything() {
    let github = FakeGitHub::start();
    let dir = config_dir(&many_targets(6));
    let journal = dir.path().join("journal.jsonl");
    let j = journal.to_str().unwrap();
    // An earlier run delivered t00 and t01 and was cut short.
    github.on("POST", "/repos/o/*/dispatches", Reply::not_found());
    github.on("POST", "/repos/o/t00/dispatches", Reply::no_content());
    github.on("POST", "/repos/o/t01/dispatches", Reply::no_content());
    let earlier = app_run(dir.path(), &github, &["--journal", j]).output();
    assert_eq!(earlier.code, 1, "{}", earlier.all());
    github.restart_scripts();
    github.on("POST", "/repos/o/*/dispatches", Reply::no_content().held());
    let sent_before = github.requests().len();

    // The first resume has its four requests in flight, held by the server.
    let first =
        Watched::new(app_run(dir.path(), &github, &["--resume", j, "--concurrency", "4"]).spawn());
    github.wait_for_requests(sent_before + 4);
    let second = app_run(dir.path(), &github, &["--resume", j, "--concurrency", "4"]).output();
    assert_refused_as_held(&second, &journal, "a concurrent --resume");
    assert_eq!(
        github.requests().len(),
        sent_before + 4,
        "the second run sent nothing"
    );

    github.release_answers();
    let first = first.finish();
    assert_eq!(first.code, 0, "{}", first.all());
    assert_eq!(first.json()["summary"]["delivered"], 4);
    for n in 2..6 {
        let path = format!("/repos/o/t{n:02}/dispatches");
        assert_eq!(github.requests_to(&path).len(), 2, "{path}: once per run");
    }

    // Its lock went with it: the next resume finds everything delivered.
    let after = app_run(dir.path(), &github, &["--resume", j]).output();
    assert_eq!(after.code, 0, "{}", after.all());
    assert_eq!(after.json()["summary"]["skipped"], 6);
}

#[test]
fn resuming_and_journaling_to_one_file_by_two_spellings_is_one_journal_not_two_runs() {
    let github = FakeGitHub::start();
    github.on("POST", "/repos/o/t01/dispatches", Reply::not_found());
    let dir = config_dir(&many_targets(2));
    let journal = dir.path().join("journal.jsonl");
    let j = journal.to_str().unwrap();
    let first = app_run(dir.path(), &github, &["--journal", j]).output();
    assert_eq!(first.code, 1, "{}", first.all());

    let again = dir.path().join(".").join("journal.jsonl");
    let ran = app_run(
        dir.path(),
        &github,
        &["--resume", j, "--journal", again.to_str().unwrap()],
    )
    .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(ran.json()["summary"]["skipped"], 1);
    let runs = std::fs::read_to_string(&journal)
        .unwrap()
        .matches(r#""record":"run""#)
        .count();
    assert_eq!(runs, 2, "the resumed run journals on to the same file");
}
