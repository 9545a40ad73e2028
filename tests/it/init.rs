//! `orchestrator init`: a starter dispatch.yaml that validates as written, never overwriting.

use crate::support::cli::orchestrator;

fn validate(dir: &std::path::Path, config: &str) -> std::process::Output {
    orchestrator(dir)
        .args(["validate", "--strict", "--config", config])
        .output()
        .unwrap()
}

#[test]
fn init_without_arguments_writes_a_placeholder_file_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let output = orchestrator(dir.path()).arg("init").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
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
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "your-app",
            "--version",
            "1.2.3",
            "--dry-run",
        ])
        .assert()
        .success();
}

#[test]
fn init_fills_in_the_given_repositories_and_event_type() {
    let dir = tempfile::tempdir().unwrap();
    orchestrator(dir.path())
        .args([
            "init",
            "--source-repo",
            "acme/api",
            "--target-repo",
            "acme/web.site",
        ])
        .args(["--event-type", "api-release"])
        .assert()
        .success();
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
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
    let plan = orchestrator(dir.path())
        .args([
            "run",
            "--source",
            "acme/api",
            "--version",
            "2.0.0",
            "--dry-run",
        ])
        .args(["--output", "json"])
        .output()
        .unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["targets"][0]["body"]["event_type"], "api-release");
}

#[test]
fn init_refuses_to_overwrite_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dispatch.yaml");
    std::fs::write(&path, "mine").unwrap();
    let output = orchestrator(dir.path()).arg("init").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
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
    let output = orchestrator(dir.path())
        .args(["init", "--config", ".github/dispatch.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("kept .github/dispatch.schema.json"),
        "{stdout}"
    );
    assert!(
        stdout.contains("orchestrator validate --config .github/dispatch.yaml"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&schema).unwrap(), "{}");
    let checked = validate(dir.path(), ".github/dispatch.yaml");
    assert_eq!(checked.status.code(), Some(0), "{checked:?}");
}

#[test]
fn init_rejects_a_repository_that_is_not_owner_slash_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = orchestrator(dir.path())
        .args(["init", "--target-repo", "not-a-repo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
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
    let output = orchestrator(dir.path())
        .args(["init", "--event-type", &long])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!dir.path().join("dispatch.yaml").exists());
}
