//! A report that stays readable at many targets: a dry run beyond a few targets (or under
//! `--output table`) prints one line per target, `--bodies` prints them in full, and a run
//! with many failures ends by repeating them grouped by reason.

use crate::support::cli::{many_targets, Cli, WEBSITE_TOKEN};
use crate::support::snapshot::snapshot;
use crate::support::{FakeGitHub, Reply};

#[test]
fn a_dry_run_of_30_targets_prints_one_line_per_target() {
    let ran = Cli::with_config(&many_targets(30))
        .release("app", "1.2.3")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.stdout.lines().count(), 36, "{}", ran.stdout);
    snapshot!("dry_run_text_of_30_targets", ran.stdout);
}

#[test]
fn bodies_prints_every_planned_target_in_full_however_many() {
    let ran = Cli::with_config(&many_targets(30))
        .release("app", "1.2.3")
        .args(["--dry-run", "--bodies"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.stdout.matches("\"version\": \"1.2.3\"").count(), 30);
    assert!(!ran.stdout.contains("--bodies"), "{}", ran.stdout);
}

#[test]
fn output_table_prints_one_line_per_target_however_few() {
    let ran = Cli::with_config(&many_targets(2))
        .release("app", "1.2.3")
        .args(["--dry-run", "--output", "table"])
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    snapshot!("dry_run_table", ran.stdout);
}

#[test]
fn a_one_line_plan_shows_a_rendered_event_type_escaped() {
    let yaml = many_targets(1).replace("event_type: release", "event_type: \"r-{{vars.x}}\"");
    let ran = Cli::with_config(&yaml)
        .release("app", "1.2.3")
        .args(["--dry-run", "--output", "table", "--set", "x=a\u{1b}[31mb"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(!ran.stdout.contains('\u{1b}'), "{}", ran.stdout);
    assert!(ran.stdout.contains("r-a\\u{1b}[31mb"), "{}", ran.stdout);
}

#[test]
fn a_one_line_plan_still_says_why_a_conditional_target_is_sent() {
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .args(["--dry-run", "--output", "table"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let website = ran
        .stdout
        .lines()
        .find(|l| l.contains("dot-ai-website  "))
        .unwrap();
    assert!(
        website.ends_with("$WEBSITE_DISPATCH_TOKEN not set  why: first release"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_few_targets_are_still_printed_in_full() {
    let ran = Cli::with_config(&many_targets(5))
        .release("app", "1.2.3")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.stdout.matches("\"version\": \"1.2.3\"").count(), 5);
    assert!(!ran.stdout.contains("--bodies"), "{}", ran.stdout);
}

#[test]
fn a_run_with_many_failures_ends_with_them_grouped_by_reason() {
    let github = FakeGitHub::start();
    for i in 0..2 {
        github.on(
            "POST",
            &format!("/repos/o/t{i:02}/dispatches"),
            Reply::no_content(),
        );
    }
    for i in 2..5 {
        github.on(
            "POST",
            &format!("/repos/o/t{i:02}/dispatches"),
            Reply::validation_failed("event_type \u{1b}[31mis invalid"),
        );
    }
    for i in 5..8 {
        github.on(
            "POST",
            &format!("/repos/o/t{i:02}/dispatches"),
            Reply::not_found(),
        );
    }
    let ran = Cli::with_config(&many_targets(8))
        .release("app", "1.2.3")
        .against(&github)
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert!(!ran.stdout.contains('\u{1b}'), "{}", ran.stdout);
    snapshot!("run_text_with_failures_grouped", ran.stdout);
}

#[test]
fn a_run_with_few_failures_lists_them_once() {
    let github = FakeGitHub::start();
    for i in 0..3 {
        github.on(
            "POST",
            &format!("/repos/o/t{i:02}/dispatches"),
            Reply::not_found(),
        );
    }
    let ran = Cli::with_config(&many_targets(3))
        .release("app", "1.2.3")
        .against(&github)
        .secret("APP_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(
        ran.stdout.matches("404 Not Found").count(),
        3,
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("by reason"), "{}", ran.stdout);
}
