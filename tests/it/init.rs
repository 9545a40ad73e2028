//! `orchestrator init`: a starter dispatch.yaml that validates as written, never overwriting.

use crate::support::cli::{Cli, Ran};
use crate::support::git::git;
use std::path::Path;

fn init(dir: &Path, args: &[&str]) -> Ran {
    Cli::in_dir(dir).arg("init").args(args).output()
}

/// Without `--strict`, which refuses the placeholders (`validate.rs` tests that).
fn validate(dir: &Path, config: &str) -> Ran {
    Cli::in_dir(dir)
        .args(["validate", "--config", config])
        .output()
}

#[test]
fn init_without_arguments_writes_a_placeholder_file_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let output = init(dir.path(), &[]);
    assert_eq!(output.code, 0, "{output:?}");
    let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("# yaml-language-server: $schema=./dispatch.schema.json")
    );
    assert!(text.contains("repository: your-org/your-app"), "{text}");
    assert!(
        text.contains("Replace the your-org/... placeholders"),
        "{text}"
    );
    let schema = std::fs::read_to_string(dir.path().join("dispatch.schema.json")).unwrap();
    assert_eq!(schema, orchestrator::config::schema::schema_json());
    let checked = validate(dir.path(), "dispatch.yaml");
    assert_eq!(checked.code, 0, "{checked:?}");
    let plan = Cli::in_dir(dir.path())
        .release("your-app", "1.2.3")
        .arg("--dry-run")
        .output();
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn init_fills_in_the_given_repositories_and_event_type() {
    let dir = tempfile::tempdir().unwrap();
    let output = init(
        dir.path(),
        &[
            "--source-repo",
            "acme/api",
            "--target-repo",
            "acme/web.site",
            "--event-type",
            "api-release",
        ],
    );
    assert_eq!(output.code, 0, "{output:?}");
    let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
    for expected in [
        "  api:\n    repository: acme/api\n    targets: [web-site]",
        "  web-site:",
        "repository: acme/web.site",
        "event_type: api-release",
        "token_env: WEB_SITE_DISPATCH_TOKEN",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(!text.contains("your-org/your-app"), "{text}");
    assert!(!text.contains("placeholders"), "{text}");
    let checked = validate(dir.path(), "dispatch.yaml");
    assert_eq!(checked.code, 0, "{checked:?}");
    let plan = Cli::in_dir(dir.path())
        .release("acme/api", "2.0.0")
        .arg("--dry-run")
        .json()
        .output()
        .json();
    assert_eq!(plan["targets"][0]["body"]["event_type"], "api-release");
}

#[test]
fn init_refuses_to_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dispatch.yaml");
    std::fs::write(&path, "mine").unwrap();
    let output = init(dir.path(), &[]);
    assert_eq!(output.code, 2);
    let stderr = &output.stderr;
    assert!(
        stderr.contains("dispatch.yaml already exists; nothing was written"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    assert!(!dir.path().join("dispatch.schema.json").exists());
}

#[test]
fn init_writes_where_config_says_and_keeps_an_existing_schema() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".github")).unwrap();
    let schema = dir.path().join(".github/dispatch.schema.json");
    std::fs::write(&schema, "{}").unwrap();
    let output = init(dir.path(), &["--config", ".github/dispatch.yaml"]);
    assert_eq!(output.code, 0, "{output:?}");
    let stdout = &output.stdout;
    // Beside the configuration, joined with the system's separator (`\` on Windows).
    let kept = Path::new(".github").join("dispatch.schema.json");
    assert!(
        stdout.contains(&format!("kept {}", kept.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("orchestrator validate --config .github/dispatch.yaml"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&schema).unwrap(), "{}");
    let checked = validate(dir.path(), ".github/dispatch.yaml");
    assert_eq!(checked.code, 0, "{checked:?}");
}

#[test]
fn init_rejects_a_repository_that_is_not_owner_slash_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = init(dir.path(), &["--target-repo", "not-a-repo"]);
    assert_eq!(output.code, 2);
    let stderr = &output.stderr;
    assert!(
        stderr.contains("--target-repo: `not-a-repo` is not `owner/name`"),
        "{stderr}"
    );
    assert!(!dir.path().join("dispatch.yaml").exists());
}

#[test]
fn init_rejects_an_event_type_github_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(101);
    let output = init(dir.path(), &["--event-type", &long]);
    assert_eq!(output.code, 2);
    let stderr = &output.stderr;
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!dir.path().join("dispatch.yaml").exists());
}

#[test]
fn the_defaults_inits_comments_quote_are_the_real_ones() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(init(dir.path(), &[]).code, 0);
    let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
    let defaults: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "defaults:")
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(
        defaults,
        [
            "  concurrency: 10            # requests in flight at once",
            "  # max_attempts: 5          # transient failures (5xx, rate limits) are retried",
            "  # rate_limit: 80/min,500/h  # request starts per API host and token",
        ]
    );
}

/// A temporary directory that is a git repository whose `origin` is `url`.
fn checkout_with_origin(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["remote", "add", "origin", url]);
    dir
}

#[test]
fn init_in_a_checkout_names_the_source_after_its_origin_remote() {
    for url in [
        "https://github.com/acme/widget.git",
        "git@github.com:acme/widget.git",
    ] {
        let dir = checkout_with_origin(url);
        let output = init(dir.path(), &[]);
        assert_eq!(output.code, 0, "{output:?}");
        assert!(
            output
                .stdout
                .contains("  its source is acme/widget, the repository `origin` names\n"),
            "{url}: {}",
            output.stdout
        );
        let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
        assert!(
            text.contains("sources:\n  widget:\n    repository: acme/widget\n"),
            "{url}: {text}"
        );
        // The target is still a placeholder, so the file still says to replace it.
        assert!(text.contains("repository: your-org/your-website"), "{text}");
        assert!(text.contains("Replace the your-org/..."), "{text}");
        assert!(
            output.stdout.contains("--source widget --version 1.2.3"),
            "{}",
            output.stdout
        );
        assert_eq!(validate(dir.path(), "dispatch.yaml").code, 0);
    }
}

#[test]
fn init_keeps_the_placeholder_when_origin_names_no_github_repository() {
    for url in ["/srv/git/widget", "file:///srv/git/widget.git"] {
        let dir = checkout_with_origin(url);
        let output = init(dir.path(), &[]);
        assert_eq!(output.code, 0, "{output:?}");
        assert!(!output.stdout.contains("origin"), "{}", output.stdout);
        let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
        assert!(
            text.contains("repository: your-org/your-app"),
            "{url}: {text}"
        );
    }
}

#[test]
fn init_never_repeats_credentials_held_in_the_origin_url() {
    let dir = checkout_with_origin("https://ci:ghp_secretINorigin000@github.com/acme/widget");
    let output = init(dir.path(), &[]);
    assert_eq!(output.code, 0, "{output:?}");
    assert!(
        output.stdout.contains("its source is acme/widget"),
        "{}",
        output.stdout
    );
    let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
    for written in [&output.stdout, &output.stderr, &text] {
        assert!(!written.contains("ghp_secret"), "{written}");
        assert!(!written.contains("ci:"), "{written}");
    }
}

#[test]
fn an_explicit_source_repo_wins_over_the_origin_remote() {
    let dir = checkout_with_origin("https://github.com/acme/widget");
    let output = init(dir.path(), &["--source-repo", "acme/api"]);
    assert_eq!(output.code, 0, "{output:?}");
    let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
    assert!(text.contains("repository: acme/api\n"), "{text}");
    assert!(!text.contains("acme/widget"), "{text}");
}

#[test]
fn init_writes_one_target_per_repeated_target_repo() {
    let dir = tempfile::tempdir().unwrap();
    let output = init(
        dir.path(),
        &[
            "--source-repo",
            "acme/api",
            "--target-repo",
            "acme/website",
            "--target-repo",
            "acme/docs",
            "--target-repo",
            "partner/docs",
        ],
    );
    assert_eq!(output.code, 0, "{output:?}");
    let text = std::fs::read_to_string(dir.path().join("dispatch.yaml")).unwrap();
    for expected in [
        "    targets: [website, docs, docs-2]\n",
        "#      with the WEBSITE_DISPATCH_TOKEN, DOCS_DISPATCH_TOKEN and DOCS_2_DISPATCH_TOKEN secrets in the environment.\n",
        "  docs:\n    repository: acme/docs\n    event_type: upstream-release\n    token_env: DOCS_DISPATCH_TOKEN\n",
        "  docs-2:\n    repository: partner/docs\n    event_type: upstream-release\n    token_env: DOCS_2_DISPATCH_TOKEN\n",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    assert!(!text.contains("placeholders"), "{text}");
    assert_eq!(validate(dir.path(), "dispatch.yaml").code, 0);
    let plan = Cli::in_dir(dir.path())
        .release("api", "2.0.0")
        .arg("--dry-run")
        .json()
        .output()
        .json();
    let repositories: Vec<&str> = plan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["destination"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        repositories,
        ["acme/website", "acme/docs", "partner/docs"],
        "{plan}"
    );
}

#[test]
fn init_refuses_a_target_repo_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let output = init(
        dir.path(),
        &["--target-repo", "acme/docs", "--target-repo", "acme/docs"],
    );
    assert_eq!(output.code, 2, "{output:?}");
    assert!(
        output.stderr.contains(
            "--target-repo: `acme/docs` is given twice (one target per repository); nothing was written"
        ),
        "{}",
        output.stderr
    );
    assert!(!dir.path().join("dispatch.yaml").exists());
}
