//! Tokens never appear in stdout, stderr or reports, whatever the mode or the server says.

use crate::support::cli::{config_dir, example_dir, orchestrator, CLI_TOKEN, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};

fn assert_no_token(output: &std::process::Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for token in [WEBSITE_TOKEN, CLI_TOKEN] {
        assert!(!all.contains(token), "token leaked:\n{all}");
    }
}

#[test]
fn no_mode_prints_a_token_even_when_github_echoes_it() {
    let github = FakeGitHub::start();
    // A misbehaving proxy or server that echoes the request, Authorization header included.
    let echo = format!("Bad credentials for Authorization: Bearer {WEBSITE_TOKEN}");
    github.on(
        "POST",
        "/repos/vfarcic/dot-ai-website/dispatches",
        Reply::status(401).json(serde_json::json!({ "message": echo })),
    );
    github.on(
        "POST",
        "/repos/vfarcic/dot-ai-cli/dispatches",
        Reply::status(502).body(format!("<html>upstream said {CLI_TOKEN}</html>")),
    );
    let dir = example_dir();
    for output_format in ["text", "json"] {
        for dry_run in [false, true] {
            let mut cmd = orchestrator(dir.path());
            cmd.args([
                "run",
                "--source",
                "dot-ai",
                "--version",
                "1.2.3",
                "--output",
                output_format,
            ])
            .args(["--api-url", &github.base_url(), "--max-attempts", "1"])
            .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
            .env("CLI_DISPATCH_TOKEN", CLI_TOKEN);
            if dry_run {
                cmd.arg("--dry-run");
            }
            let output = cmd.output().unwrap();
            assert_no_token(&output);
            if !dry_run {
                assert_eq!(output.status.code(), Some(1));
                let stdout = String::from_utf8_lossy(&output.stdout);
                assert!(
                    stdout.contains("Bearer ***"),
                    "the echo is shown, redacted: {stdout}"
                );
            }
        }
    }
    let validate = orchestrator(dir.path())
        .arg("validate")
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    assert_no_token(&validate);
}

#[test]
fn a_token_pasted_into_token_env_is_refused_without_echoing_it() {
    let yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [web]}}\ntargets:\n  web:\n    repository: o/web\n    event_type: release\n    token_env: {WEBSITE_TOKEN}\n"
    );
    let dir = config_dir(&yaml);
    for args in [
        vec!["run", "--source", "app", "--version", "1.0.0", "--dry-run"],
        vec!["validate"],
        vec!["validate", "--output", "json"],
    ] {
        let output = orchestrator(dir.path()).args(&args).output().unwrap();
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert_no_token(&output);
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(text.contains("invalid_token_env"), "{args:?}: {text}");
    }
}

#[test]
fn the_most_verbose_logs_carry_no_token() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/vfarcic/dot-ai-cli/dispatches",
        [Reply::server_error(502), Reply::no_content()],
    );
    let dir = example_dir();
    let output = orchestrator(dir.path())
        .args([
            "-vvv",
            "run",
            "--source",
            "dot-ai",
            "--version",
            "1.2.3",
            "--backoff-ms",
            "10",
        ])
        .args(["--api-url", &github.base_url()])
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .env("CLI_DISPATCH_TOKEN", CLI_TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("retrying in"),
        "the retry is logged: {stderr}"
    );
    assert!(stderr.contains("target_name=dot-ai-cli"), "{stderr}");
    assert_no_token(&output);
}
