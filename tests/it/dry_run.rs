//! `run --dry-run`: the whole plan, printed; no token and no network needed.

use crate::support::cli::{Cli, WEBSITE_TOKEN};
use crate::support::FakeGitHub;
use serde_json::json;

#[test]
fn the_readme_dry_run_prints_the_dot_ai_plan_without_a_token() {
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let stdout = &ran.stdout;
    assert!(stdout.contains("nothing is sent"), "{stdout}");
    assert!(
        stdout.contains("POST https://api.github.com/repos/vfarcic/dot-ai-website/dispatches"),
        "{stdout}"
    );
    assert!(stdout.contains("POST https://api.github.com/repos/vfarcic/dot-ai-cli/dispatches"));
    assert!(
        stdout.contains("token: $WEBSITE_DISPATCH_TOKEN (not set"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"event_type\": \"upstream-release\""),
        "{stdout}"
    );
    assert!(stdout.contains("\"source\": \"dot-ai\""), "{stdout}");
    assert!(
        stdout.contains("2 planned, 0 skipped (dry run)"),
        "{stdout}"
    );
}

#[test]
fn a_dry_run_sends_nothing_even_with_tokens_and_a_reachable_api() {
    let github = FakeGitHub::start();
    let ran = Cli::example()
        .release("dot-ai", "1.2.3")
        .arg("--dry-run")
        .json()
        .against(&github)
        .secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(github.requests().is_empty());
    let report = ran.json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["summary"]["planned"], 2);
    let website = &report["targets"][0];
    assert_eq!(website["outcome"], "planned");
    assert_eq!(website["token_env"], "WEBSITE_DISPATCH_TOKEN");
    assert_eq!(website["token_set"], true);
    assert_eq!(report["targets"][1]["token_set"], false);
    assert_eq!(
        website["body"],
        json!({"event_type": "upstream-release", "client_payload": {"source": "dot-ai", "version": "1.2.3"}})
    );
    assert_eq!(
        website["url"],
        format!(
            "{}/repos/vfarcic/dot-ai-website/dispatches",
            github.base_url()
        )
    );
}
