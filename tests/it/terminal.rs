//! Colour and the progress line are for terminals: piped output (tests, CI, `| tee`) carries
//! no escape codes and no progress, unless `--color always` asks for colour.

use crate::support::cli::{many_targets, Cli};
use crate::support::FakeGitHub;

const ESC: char = '\x1b';

/// `run` of twelve targets, which must succeed: stdout and stderr.
fn run(github: &FakeGitHub, extra: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let ran = Cli::with_config(&many_targets(12))
        .release("app", "1.0.0")
        .against(github)
        .args(["--rate-limit", "unlimited"])
        .args(extra)
        .app_token()
        .envs(env.iter().copied())
        .output();
    assert_eq!(ran.code, 0, "{ran:?}");
    (ran.stdout, ran.stderr)
}

#[test]
fn piped_output_has_no_escape_codes_and_no_progress_line() {
    let github = FakeGitHub::start();
    for verbosity in [&[][..], &["-v"][..]] {
        let (stdout, stderr) = run(&github, verbosity, &[]);
        assert!(stdout.contains("delivered"), "{stdout}");
        assert!(!stdout.contains(ESC), "escape codes on a pipe: {stdout:?}");
        assert!(!stderr.contains(ESC), "escape codes on a pipe: {stderr:?}");
        assert!(!stderr.contains("/12 done"), "a progress line: {stderr}");
        assert!(!stderr.contains('\r'), "a redrawn line: {stderr:?}");
    }
}

#[test]
fn color_always_paints_the_outcome_words() {
    let github = FakeGitHub::start();
    let (stdout, stderr) = run(&github, &["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(
        stdout.contains("\x1b[1;32mdelivered\x1b[0m  t00"),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("12 targets: 12 delivered"),
        "the summary stays plain: {stdout:?}"
    );
    assert!(!stderr.contains(ESC), "{stderr:?}");
}

#[test]
fn color_never_and_no_color_keep_words_plain() {
    let github = FakeGitHub::start();
    for (flags, env) in [
        (&["--color", "never"][..], &[][..]),
        (&[][..], &[("NO_COLOR", "1")][..]),
    ] {
        let (stdout, _) = run(&github, flags, env);
        assert!(!stdout.contains(ESC), "{stdout:?}");
    }
}

#[test]
fn json_is_never_painted() {
    let github = FakeGitHub::start();
    let (stdout, _) = run(&github, &["--color", "always", "--output", "json"], &[]);
    assert!(!stdout.contains(ESC), "{stdout:?}");
    serde_json::from_str::<serde_json::Value>(&stdout).expect("JSON");
}
