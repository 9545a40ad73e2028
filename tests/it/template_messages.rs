//! Template errors a first-week user meets, in their words: the fix for each kind, and a dry run
//! that previews what only GitHub Actions can fill in.

use crate::support::cli::{Cli, WEBSITE_TOKEN};
use crate::support::FakeGitHub;

const CI_SHA: &str = "version: 1
sources:
  app:
    repository: acme/app
    targets: [website]
targets:
  website:
    repository: acme/website
    event_type: upstream-release
    token_env: WEBSITE_DISPATCH_TOKEN
    client_payload:
      commit: \"{{ci.sha}}\"
";

/// `run --dry-run` of release 1.2.3 of `app` in a directory holding `yaml`.
fn dry_run(yaml: &str) -> Cli {
    Cli::with_config(yaml)
        .release("app", "1.2.3")
        .arg("--dry-run")
}

/// A real run of release 1.2.3 of `app` against `github`, with the target's token set.
fn real_run(yaml: &str, github: &FakeGitHub) -> Cli {
    Cli::with_config(yaml)
        .release("app", "1.2.3")
        .against(github)
        .secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
}

#[test]
fn a_dry_run_outside_actions_shows_a_placeholder_for_an_unset_ci_value() {
    let ran = dry_run(CI_SHA).output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stdout
            .contains("\"commit\": \"<ci.sha: GITHUB_SHA unset>\""),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("why: placeholder for an unset variable: <ci.sha: GITHUB_SHA unset>; a real run refuses to send until it is set"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_real_run_without_the_ci_value_sends_nothing_and_names_its_variable() {
    let github = FakeGitHub::start();
    let ran = real_run(CI_SHA, &github).output();
    assert_ne!(ran.code, 0, "{}", ran.all());
    assert!(github.requests().is_empty());
    let all = ran.all();
    assert!(
        all.contains(
            "template uses `ci.sha`, which is read from GITHUB_SHA, and that is not set here"
        ),
        "{all}"
    );
    assert!(!all.contains("did you mean"), "{all}");
}

#[test]
fn a_real_run_in_actions_sends_the_real_value() {
    let github = FakeGitHub::start();
    let ran = real_run(CI_SHA, &github)
        .env("GITHUB_SHA", "0123abcd")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let sent = github.requests();
    assert_eq!(sent.len(), 1);
    assert!(!ran.all().contains("unset>"), "{}", ran.all());
}

#[test]
fn a_date_version_with_major_says_major_is_for_semver_versions_only() {
    let yaml = CI_SHA.replace("{{ci.sha}}", "{{major}}");
    let ran = Cli::with_config(&yaml)
        .release("app", "2024.05")
        .arg("--dry-run")
        .output();
    assert_eq!(ran.code, 2, "{}", ran.all());
    let all = ran.all();
    assert!(
        all.contains("template uses `major`, which exists only for semver versions (`1.2.3`), and `2024.05` is not one"),
        "{all}"
    );
    assert!(all.contains("use `{{version}}`"), "{all}");
}

#[test]
fn an_unset_var_says_to_pass_it_or_give_it_a_default() {
    let yaml = CI_SHA.replace("{{ci.sha}}", "{{vars.channel}}");
    let ran = dry_run(&yaml).output();
    let all = ran.all();
    assert!(
        all.contains("pass `--set channel=VALUE`, or give it a default: `{{default vars.channel \"stable\"}}`"),
        "{all}"
    );
    let yaml = CI_SHA.replace("{{ci.sha}}", "{{default vars.channel \\\"stable\\\"}}");
    let ran = dry_run(&yaml).output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stdout.contains("\"commit\": \"stable\""),
        "{}",
        ran.stdout
    );
}

#[test]
fn validate_names_a_misspelt_helper_and_a_broken_block_in_template_terms() {
    let yaml = CI_SHA.replace(
        "commit: \"{{ci.sha}}\"",
        "commit: \"{{uper version}}\"\n      notes: \"{{#if is_prerelease}}beta{{/if}\"",
    );
    let ran = Cli::with_config(&yaml).arg("validate").output();
    assert_ne!(ran.code, 0, "{}", ran.all());
    let all = ran.all();
    assert!(
        all.contains("expected a `}}` to close `{{/if` (line 1, col 26)"),
        "{all}"
    );
    assert!(!all.contains("trailing_tilde"), "{all}");
    // The helper is found when templates render, once the file compiles.
    let yaml = CI_SHA.replace("{{ci.sha}}", "{{uper version}}");
    let all = Cli::with_config(&yaml).arg("validate").output().all();
    assert!(
        all.contains("template calls `uper`, which is not a helper; did you mean `upper`?"),
        "{all}"
    );
    assert!(!all.contains("keep rendered values small"), "{all}");
}

const ENV: &str = "version: 1
env: [RELEASE_NAME]
sources:
  app:
    repository: acme/app
    targets: [website]
targets:
  website:
    repository: acme/website
    event_type: upstream-release
    token_env: WEBSITE_DISPATCH_TOKEN
    client_payload:
      title: \"{{env.RELEASE_NAME}}\"
";

#[test]
fn a_listed_variable_reaches_the_payload_with_its_spaces() {
    let github = FakeGitHub::start();
    let ran = real_run(ENV, &github)
        .env("RELEASE_NAME", "My big release")
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let sent = github.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body_json()["client_payload"]["title"],
        "My big release"
    );
}

#[test]
fn an_unset_listed_variable_is_a_placeholder_in_a_dry_run_and_refused_by_a_real_run() {
    let ran = dry_run(ENV).output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    assert!(
        ran.stdout
            .contains("\"title\": \"<env.RELEASE_NAME: unset>\""),
        "{}",
        ran.stdout
    );
    let github = FakeGitHub::start();
    let ran = real_run(ENV, &github).output();
    assert_ne!(ran.code, 0);
    assert!(github.requests().is_empty());
    assert!(
        ran.all()
            .contains("template uses `env.RELEASE_NAME`, and RELEASE_NAME is not set"),
        "{}",
        ran.all()
    );
}

#[test]
fn validate_refuses_an_unlisted_variable_and_a_listed_secret_name() {
    let unlisted = ENV
        .replace("env: [RELEASE_NAME]\n", "")
        .replace("env.RELEASE_NAME", "env.GITHUB_TOKEN");
    let all = Cli::with_config(&unlisted).arg("validate").output().all();
    assert!(
        all.contains("template uses `env.GITHUB_TOKEN`, which is not in the file's `env:` list"),
        "{all}"
    );
    assert!(all.contains("never a token"), "{all}");
    let listed = ENV
        .replace("[RELEASE_NAME]", "[GITHUB_TOKEN]")
        .replace("env.RELEASE_NAME", "env.GITHUB_TOKEN");
    let ran = Cli::with_config(&listed).arg("validate").output();
    assert_ne!(ran.code, 0);
    assert!(
        ran.all().contains(
            "`GITHUB_TOKEN` looks like the name of a secret, which templates may not read"
        ),
        "{}",
        ran.all()
    );
}

#[test]
fn a_listed_variable_holding_a_token_is_refused_and_never_shown() {
    let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let ran = dry_run(ENV).env("RELEASE_NAME", token).output();
    assert_ne!(ran.code, 0, "{}", ran.all());
    assert!(!ran.all().contains(token));
    assert!(
        ran.all()
            .contains("the value of `RELEASE_NAME` looks like a token"),
        "{}",
        ran.all()
    );
}
