//! Tokens never appear in stdout, stderr or reports, whatever the mode or the server says.

use crate::support::cli::{config_dir, example_dir, Cli, CLI_TOKEN, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};

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
            let dry_run_flag: &[&str] = if dry_run { &["--dry-run"] } else { &[] };
            let ran = Cli::in_dir(dir.path())
                .release("dot-ai", "1.2.3")
                .args(["--output", output_format])
                .against(&github)
                .args(["--max-attempts", "1"])
                .args(dry_run_flag)
                .dot_ai_tokens()
                .env("GITHUB_REPOSITORY", "vfarcic/dot-ai")
                .output();
            if !dry_run {
                assert_eq!(ran.code, 1);
                let stdout = &ran.stdout;
                assert!(
                    stdout.contains("Bearer ***"),
                    "the echo is shown, redacted: {stdout}"
                );
            }
        }
    }
    Cli::in_dir(dir.path())
        .arg("validate")
        .secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output();
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
        let ran = Cli::in_dir(dir.path())
            .args(&args)
            .forbid(WEBSITE_TOKEN)
            .output();
        assert_ne!(ran.code, 0, "{args:?}");
        assert!(
            ran.all().contains("invalid_token_env"),
            "{args:?}: {}",
            ran.all()
        );
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
    let ran = Cli::example()
        .arg("-vvv")
        .release("dot-ai", "1.2.3")
        .args(["--backoff-ms", "10"])
        .against(&github)
        .dot_ai_tokens()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let stderr = &ran.stderr;
    assert!(
        stderr.contains("retrying in"),
        "the retry is logged: {stderr}"
    );
    assert!(stderr.contains("target_name=dot-ai-cli"), "{stderr}");
}

/// A Jenkins hook names its project in the path and carries its credential in the query: the
/// token is hidden everywhere, while a target, repository and event type named after the
/// project print as they are (issue 21 item 13).
#[test]
fn a_jenkins_hook_hides_its_token_but_not_the_project_it_names() {
    const JENKINS_TOKEN: &str = "j3nk1ns-build-tok3n";
    let yaml = "version: 1\nsources:\n  app: {repository: o/app, targets: [MyProject, jenkins]}\ntargets:\n  MyProject:\n    repository: o/MyProject\n    event_type: MyProject-release\n    token_env: APP_TOKEN\n  jenkins:\n    kind: webhook\n    url_env: JENKINS_URL\n";
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/job/MyProject/build",
        Reply::status(403).body(format!(
            "No valid crumb: token {JENKINS_TOKEN} refused for job MyProject"
        )),
    );
    let hook = format!(
        "{}/job/MyProject/build?token={JENKINS_TOKEN}",
        github.base_url()
    );
    for dry_run in [true, false] {
        let mode: &[&str] = if dry_run {
            &["--dry-run"]
        } else {
            &["--max-attempts", "1"]
        };
        // A real run's report names the target and repository; the plan, the event too.
        let shown: &[&str] = if dry_run {
            &["MyProject", "o/MyProject", "MyProject-release"]
        } else {
            &["MyProject", "o/MyProject"]
        };
        for format in ["text", "json", "markdown"] {
            let ran = Cli::with_config(yaml)
                .release("app", "1.0.0")
                .against(&github)
                .args(["--output", format])
                .args(mode)
                .secret("APP_TOKEN", WEBSITE_TOKEN)
                .secret("JENKINS_URL", &hook)
                .forbid(JENKINS_TOKEN)
                .output();
            let all = ran.all();
            for name in shown {
                assert!(
                    all.contains(name),
                    "{mode:?} {format}: {name} is hidden:\n{all}"
                );
            }
            if !dry_run {
                assert_eq!(ran.code, 1, "{all}");
                assert!(all.contains("refused for job MyProject"), "{all}");
            }
        }
    }
}
