//! action.yml, the composite GitHub Action: every flag it passes exists, every output it
//! declares is one the binary writes, and its run step works against the real binary.

use crate::support::cli::{example_dir, repo_file};
use clap::CommandFactory;
use serde_yaml::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(repo_file("action.yml")).expect("action.yml");
    serde_yaml::from_str(&text).expect("action.yml is YAML")
}

fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    action["runs"]["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no step with id {id}"))
}

fn script(action: &Value) -> String {
    step(action, "run")["run"]
        .as_str()
        .expect("run script")
        .to_owned()
}

#[test]
fn the_action_is_composite_with_the_documented_inputs() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = &action["inputs"];
    assert_eq!(inputs["source"]["required"], true);
    assert_eq!(inputs["version"]["required"], true);
    assert_eq!(inputs["config"]["default"], "dispatch.yaml");
    assert_eq!(inputs["dry-run"]["default"], "false");
    assert_eq!(inputs["args"]["default"], "");
    let cache = step(&action, "cache");
    assert_eq!(cache["with"]["path"], "~/.cargo/bin/orchestrator");
    assert!(cache["with"]["key"]
        .as_str()
        .unwrap()
        .contains("github.action_ref"));
}

#[test]
fn every_flag_the_action_passes_is_accepted_by_run() {
    let cli = orchestrator::cli::Cli::command();
    let run = cli.find_subcommand("run").expect("run subcommand");
    let script = script(&action());
    let flags: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.starts_with("--"))
        .collect();
    for expected in ["--config", "--source", "--version", "--report", "--dry-run"] {
        assert!(
            flags.contains(&expected),
            "the action does not pass {expected}"
        );
    }
    for flag in flags {
        let long = flag.trim_start_matches("--");
        assert!(
            run.get_arguments().any(|a| a.get_long() == Some(long)),
            "`orchestrator run` has no {flag}"
        );
    }
    assert!(script.contains("\"$RUNNER_TEMP/orchestrator-report.json\""));
    assert!(
        !script.contains("${{"),
        "inputs reach the script through env, never pasted in"
    );
}

#[test]
fn every_declared_output_is_written_by_the_binary() {
    let action = action();
    let outputs = action["outputs"].as_mapping().expect("outputs");
    for name in ["delivered", "failed", "skipped", "report"] {
        assert!(
            outputs.contains_key(name),
            "the action does not declare {name}"
        );
    }
    for (name, output) in outputs {
        let name = name.as_str().unwrap();
        assert!(
            orchestrator::actions::OUTPUTS.contains(&name),
            "the binary never writes {name}"
        );
        assert_eq!(
            output["value"].as_str(),
            Some(format!("${{{{ steps.run.outputs.{name} }}}}").as_str())
        );
    }
}

/// The run step's script, with the action's inputs, against the real binary in a simulated
/// runner: a dry run of this repository's own dispatch.yaml.
#[test]
fn the_run_step_works_as_the_runner_would_run_it() {
    let dir = example_dir();
    let runner = tempfile::tempdir().unwrap();
    let home = runner.path().join("home");
    std::fs::create_dir_all(home.join(".cargo/bin")).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin("orchestrator"),
        home.join(".cargo/bin/orchestrator"),
    )
    .unwrap();
    let outputs = runner.path().join("outputs");
    let summary = runner.path().join("summary.md");
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(script(&action()))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", runner.path())
        .env("INPUT_SOURCE", "dot-ai")
        .env("INPUT_VERSION", "v1.2.3")
        .env("INPUT_CONFIG", "dispatch.yaml")
        .env("INPUT_DRY_RUN", "true")
        .env("INPUT_ARGS", "--set channel=stable  --no-progress")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let written = std::fs::read_to_string(&outputs).unwrap();
    let report = runner.path().join("orchestrator-report.json");
    assert!(
        written.contains(&format!("report={}", report.display())),
        "{written}"
    );
    assert!(written.contains("delivered=0\n"), "{written}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["summary"]["planned"], 2);
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("### orchestrator dry run: dot-ai 1.2.3"),
        "{summary}"
    );
}
