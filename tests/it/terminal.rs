//! Colour and the progress line are for terminals: piped output (tests, CI, `| tee`) carries
//! no escape codes and no progress, unless `--color always` asks for colour.

use crate::support::cli::{config_dir, many_targets, orchestrator, WEBSITE_TOKEN};
use crate::support::FakeGitHub;

const ESC: char = '\x1b';

fn run(github: &FakeGitHub, extra: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let dir = config_dir(&many_targets(12));
    let output = orchestrator(dir.path())
        .args(["run", "--source", "app", "--version", "1.0.0"])
        .args(["--api-url", &github.base_url(), "--rate-limit", "unlimited"])
        .args(extra)
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
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
        stdout.contains("12 target(s): 12 delivered"),
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
