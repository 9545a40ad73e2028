//! The redaction gate and server text (issue 10 items 2b, 3, 4, 12, 18): whatever a server
//! answers, no part of a secret reaches any output channel (stdout in every format, stderr and
//! its log, the journal, the report file, the Actions summary, outputs and annotations), and no
//! server text can write a workflow command, a terminal escape, a mention or a link.

use crate::support::cli::{config_dir, orchestrator, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use serde_json::json;
use std::path::Path;

const HOOK_ID: &str = "5c23354f454e1350f8543e78";

/// Everything one run wrote, in every channel, joined.
struct Channels {
    code: i32,
    stdout: String,
    all: String,
}

/// Runs `run --source app --version 2.0.0` under GitHub Actions with a journal, a report file,
/// a job summary and step outputs, once per output format, and gathers every channel.
fn run_everywhere(github: &FakeGitHub, yaml: &str, extra: &[&str]) -> Vec<Channels> {
    ["text", "json", "markdown"]
        .iter()
        .map(|format| {
            github.restart_scripts();
            let dir = config_dir(yaml);
            let path = |name: &str| dir.path().join(name);
            let output = orchestrator(dir.path())
                .args(["run", "--source", "app", "--version", "2.0.0", "-v"])
                .args(["--output", format, "--api-url", &github.base_url()])
                .args(["--backoff-ms", "10", "--max-attempts", "2"])
                .arg("--journal")
                .arg(path("journal.jsonl"))
                .arg("--report")
                .arg(path("report.json"))
                .args(extra)
                .env("APP_TOKEN", WEBSITE_TOKEN)
                .env(
                    "HOOK_URL",
                    format!("{}/build_hooks/{HOOK_ID}", github.base_url()),
                )
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", path("summary.md"))
                .env("GITHUB_OUTPUT", path("output.txt"))
                .env("RUNNER_TEMP", dir.path())
                .output()
                .unwrap();
            let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let mut all = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
            for file in ["journal.jsonl", "report.json", "summary.md", "output.txt"] {
                all.push_str(&format!("\n--- {file}\n{}", read(&path(file))));
            }
            Channels {
                code: output.status.code().unwrap_or(-1),
                stdout,
                all,
            }
        })
        .collect()
}

/// Fails when any `len`-character piece of `secret` appears in `text`.
fn assert_no_fragment(text: &str, secret: &str, len: usize) {
    for window in secret.as_bytes().windows(len) {
        let fragment = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(fragment),
            "a fragment of a secret ({fragment}) leaked:\n{text}"
        );
    }
}

const HOOK_CONFIG: &str = "version: 1\nsources:\n  app: {repository: o/app, targets: [hook]}\ntargets:\n  hook:\n    kind: webhook\n    url_env: HOOK_URL\n";

#[test]
fn a_hook_that_echoes_its_secret_path_shows_no_part_of_it_anywhere() {
    for body in [
        Reply::status(404).body(format!("Cannot POST /build_hooks/{HOOK_ID}")),
        Reply::status(404).json(json!({"message": format!("no hook {HOOK_ID} here")})),
        Reply::status(500).body(format!("upstream {HOOK_ID}")),
    ] {
        let github = FakeGitHub::start();
        github.on("POST", &format!("/build_hooks/{HOOK_ID}"), body);
        for channels in run_everywhere(&github, HOOK_CONFIG, &[]) {
            assert_eq!(channels.code, 1, "{}", channels.all);
            assert_no_fragment(&channels.all, HOOK_ID, 10);
            assert!(channels.all.contains("***"), "the echo is shown, redacted");
        }
    }
}

#[test]
fn a_hook_that_echoes_a_secret_header_shows_no_part_of_it_anywhere() {
    // `APP_TOKEN` is read only as the header's value here: it is hidden because the header
    // registered it, not because a token did.
    let yaml = format!("{HOOK_CONFIG}    headers:\n      PRIVATE-TOKEN: {{ env: APP_TOKEN }}\n");
    let github = FakeGitHub::start();
    let echo = format!("token {WEBSITE_TOKEN} is not allowed here");
    github.on(
        "POST",
        &format!("/build_hooks/{HOOK_ID}"),
        Reply::status(403).body(echo),
    );
    for channels in run_everywhere(&github, &yaml, &[]) {
        assert_eq!(channels.code, 1, "{}", channels.all);
        assert_no_fragment(&channels.all, WEBSITE_TOKEN, 12);
        assert!(channels.all.contains("***"), "the echo is shown, redacted");
    }
    let sent = github.requests_to(&format!("/build_hooks/{HOOK_ID}"));
    assert_eq!(sent[0].header("private-token"), Some(WEBSITE_TOKEN));
}

const REPO_CONFIG: &str = "version: 1\nsources:\n  app: {repository: o/app, targets: [web]}\ntargets:\n  web:\n    repository: o/web\n    event_type: release\n    token_env: APP_TOKEN\n";

#[test]
fn a_token_straddling_the_cut_of_an_error_body_is_hidden_whole() {
    // The excerpt of a non-JSON body is cut at 200 characters; put the token across every
    // position of that cut, and into a long JSON message too.
    for pad in [160, 175, 185, 195, 199, 200] {
        let github = FakeGitHub::start();
        let filler = "x".repeat(pad);
        github.on(
            "POST",
            "/repos/o/web/dispatches",
            [
                Reply::status(502).body(format!("<html>{filler}{WEBSITE_TOKEN} tail</html>")),
                Reply::status(422)
                    .json(json!({"message": format!("{}{WEBSITE_TOKEN}", "y".repeat(pad * 5))})),
            ],
        );
        for channels in run_everywhere(&github, REPO_CONFIG, &[]) {
            assert_eq!(channels.code, 1, "{}", channels.all);
            assert_no_fragment(&channels.all, WEBSITE_TOKEN, 10);
        }
    }
}

const WORKFLOW_CONFIG: &str = "version: 1\nsources:\n  app: {repository: o/app, targets: [cli]}\ntargets:\n  cli:\n    kind: workflow_dispatch\n    repository: o/cli\n    workflow: release.yml\n    ref: main\n    token_env: APP_TOKEN\n    wait: true\n";

/// o/cli's workflow dispatch starts run `id`, and every answer about it echoes `secret`: in
/// its links, and in a `conclusion` of `conclusion`.
fn serve_echoing_run(github: &FakeGitHub, id: u64, secret: &str, conclusion: &str) {
    github.on(
        "POST",
        "/repos/o/cli/actions/workflows/release.yml/dispatches",
        Reply::status(200).json(json!({
            "workflow_run_id": id,
            "run_url": format!("{}/repos/o/cli/actions/runs/{id}", github.base_url()),
            "html_url": format!("https://github.com/o/cli/actions/runs/{id}?t={secret}"),
        })),
    );
    github.on(
        "GET",
        &format!("/repos/o/cli/actions/runs/{id}"),
        Reply::status(200).json(json!({
            "status": "completed",
            "conclusion": conclusion,
            "html_url": format!("https://github.com/{secret}/runs/{id}"),
        })),
    );
}

#[test]
fn a_success_answer_that_echoes_the_token_shows_no_part_of_it() {
    let github = FakeGitHub::start();
    serve_echoing_run(
        &github,
        7,
        WEBSITE_TOKEN,
        &format!("success {WEBSITE_TOKEN}"),
    );
    for channels in run_everywhere(&github, WORKFLOW_CONFIG, &["--poll-interval-ms", "10"]) {
        assert_no_fragment(&channels.all, WEBSITE_TOKEN, 10);
    }
}

const INJECTION: &str = "bad request\n::error title=pwned::owned\n  ::add-mask::everything\n##[warning]v1 \u{1b}[2J\u{1b}]0;title\u{7}\0nul\r::notice::cr";

#[test]
fn server_text_cannot_write_workflow_commands_or_terminal_escapes() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/web/dispatches",
        [
            // Retried (and logged), then a permanent failure (reported).
            Reply::status(500).json(json!({ "message": INJECTION })),
            Reply::status(422).json(json!({ "message": INJECTION })),
        ],
    );
    for channels in run_everywhere(&github, REPO_CONFIG, &[]) {
        assert_eq!(channels.code, 1, "{}", channels.all);
        for line in channels.all.lines() {
            let line = line.trim_start();
            assert!(
                !line.starts_with("::add-mask")
                    && !line.starts_with("::notice")
                    && !line.starts_with("::error title=pwned"),
                "a server line became a workflow command: {line:?}\n{}",
                channels.all
            );
            assert!(!line.contains("##[warning]"), "{line:?}");
        }
        for byte in ['\u{1b}', '\0', '\r', '\u{7}'] {
            assert!(
                !channels.all.contains(byte),
                "raw control character {byte:?} in output:\n{}",
                channels.all
            );
        }
        assert!(channels.all.contains("bad request"), "{}", channels.all);
    }
}

#[test]
fn markdown_never_mentions_or_links_what_a_server_wrote() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/repos/o/web/dispatches",
        Reply::status(422).json(json!({
            "message": "ask @octocat or see https://evil.example/x and www.evil.example"
        })),
    );
    let markdown = &run_everywhere(&github, REPO_CONFIG, &[])[2];
    assert_eq!(markdown.code, 1);
    let table = &markdown.stdout;
    assert!(table.contains("octocat"), "{table}");
    for active in ["@octocat", "https://evil", "www.evil"] {
        assert!(!table.contains(active), "`{active}` is live in:\n{table}");
    }
}

const MINTED: &str = "ghs_mintedECHOEDtoken0000000000000000042";

/// The App key every test shares (an RSA key takes a random, sometimes long, time to make).
fn app_key_pem() -> String {
    crate::app_auth::fixture::test_key().pkcs1_pem.clone()
}

const APP_CONFIG: &str = r#"version: 1
defaults:
  github_app: {app_id: 12345, private_key_env: APP_KEY, installation_id: 7}
sources:
  app: {repository: o/app, targets: [web, cli]}
targets:
  web: {repository: o/web, event_type: release}
  cli:
    kind: workflow_dispatch
    repository: o/cli
    workflow: release.yml
    ref: main
    wait: true
"#;

/// Every channel but the `::add-mask::` lines, which hand a minted token to the runner so it
/// masks it: the one place a secret is written on purpose, consumed and never displayed.
fn without_mask_lines(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_minted_token_echoed_in_answers_shows_no_part_of_it_anywhere() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Reply::status(201).json(json!({"token": MINTED, "expires_at": "2999-01-01T00:00:00Z"})),
    );
    github.on(
        "POST",
        "/repos/o/web/dispatches",
        Reply::status(422)
            .json(json!({"message": format!("bad token {MINTED} (Bearer {MINTED})")})),
    );
    serve_echoing_run(&github, 9, MINTED, &format!("success{MINTED}"));
    let pem = app_key_pem();
    let dir = config_dir(APP_CONFIG);
    let path = |name: &str| dir.path().join(name);
    let output = orchestrator(dir.path())
        .args(["run", "--source", "app", "--version", "2.0.0", "-v"])
        .args(["--api-url", &github.base_url(), "--poll-interval-ms", "10"])
        .arg("--journal")
        .arg(path("journal.jsonl"))
        .arg("--report")
        .arg(path("report.json"))
        .env("APP_KEY", &pem)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", path("summary.md"))
        .env("GITHUB_OUTPUT", path("output.txt"))
        .env("RUNNER_TEMP", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut all = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), stderr);
    for file in ["journal.jsonl", "report.json", "summary.md", "output.txt"] {
        all.push_str(&std::fs::read_to_string(path(file)).unwrap_or_default());
    }
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert_eq!(
        stderr.matches(&format!("::add-mask::{MINTED}")).count(),
        1,
        "the runner is told to mask the minted token, once"
    );
    assert_no_fragment(&without_mask_lines(&all), MINTED, 10);
}
