//! A setting is declared once (`config::settings::for_each_setting`), and the model, the
//! table, the flags, the ranges and the schema are made from that declaration: these tests
//! hold what the generated parts must still agree on, and that a value from a flag or variable
//! is reported there, never at a line of dispatch.yaml.

use clap::CommandFactory;
use orchestrator::config::settings::{env_name, range, SETTINGS};
use serde_json::Value;

fn schema() -> Value {
    serde_json::from_str(&orchestrator::config::schema::schema_json()).unwrap()
}

#[test]
fn the_table_lists_every_setting_of_the_model_and_nothing_else() {
    // The schema is generated from the model's types, so its properties are the model's fields.
    let schema = schema();
    let mut fields: Vec<&str> = schema["$defs"]["Settings"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        // An App is set in the file only: it is a block, not a value for a flag.
        .filter(|k| *k != "github_app")
        .collect();
    fields.sort_unstable();
    let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    keys.sort_unstable();
    assert_eq!(keys, fields);
}

#[test]
fn every_variable_is_the_prefix_and_the_key_in_capitals() {
    for setting in SETTINGS {
        assert_eq!(setting.env, env_name(setting.key));
    }
}

#[test]
fn every_setting_has_its_flag_on_run_and_validate() {
    let cli = orchestrator::cli::Cli::command();
    for sub in ["run", "validate"] {
        let command = cli.find_subcommand(sub).unwrap();
        for setting in SETTINGS {
            let long = setting.flag.trim_start_matches("--");
            assert!(
                command.get_arguments().any(|a| a.get_long() == Some(long)),
                "`{sub}` has no {} for `{}`",
                setting.flag,
                setting.key
            );
        }
    }
}

#[test]
fn the_schema_states_the_same_ranges_the_checks_enforce() {
    let schema = schema();
    for setting in SETTINGS {
        let number = schema["$defs"]["Settings"]["properties"][setting.key]["type"]
            .to_string()
            .contains("integer");
        assert_eq!(
            setting.range.is_some(),
            number,
            "every number has a range, no text has"
        );
        let Some(allowed) = setting.range.clone() else {
            continue;
        };
        let mut places = vec!["Settings"];
        if setting.per_target {
            places.push("Target");
        }
        for place in places {
            let p = &schema["$defs"][place]["properties"][setting.key];
            assert_eq!(
                p["minimum"].as_u64(),
                Some(*allowed.start()),
                "{place} {}",
                setting.key
            );
            assert_eq!(
                p["maximum"].as_u64(),
                Some(*allowed.end()),
                "{place} {}",
                setting.key
            );
        }
    }
    assert_eq!(range::concurrency, 1..=100);
}

#[test]
fn a_target_has_exactly_the_settings_declared_per_target() {
    let schema = schema();
    let target = schema["$defs"]["Target"]["properties"].as_object().unwrap();
    for setting in SETTINGS {
        assert_eq!(
            target.contains_key(setting.key),
            setting.per_target,
            "{}",
            setting.key
        );
    }
}

/// One out-of-range value for each numeric setting, in the table's form.
fn bad_values() -> Vec<(&'static str, &'static str, &'static str)> {
    SETTINGS
        .iter()
        .filter(|s| s.range.is_some())
        .map(|s| (s.key, s.flag, "0"))
        .collect()
}

#[test]
fn a_bad_value_from_a_flag_or_variable_is_reported_there_not_at_a_line_of_the_file() {
    for (key, flag, value) in bad_values() {
        let dir = crate::support::cli::example_dir();
        let by_flag = crate::support::cli::orchestrator(dir.path())
            .args(["validate", flag, value])
            .env("GITHUB_ACTIONS", "true")
            .output()
            .unwrap();
        let variable = env_name(key);
        let by_env = crate::support::cli::orchestrator(dir.path())
            .arg("validate")
            .env(&variable, value)
            .env("GITHUB_ACTIONS", "true")
            .output()
            .unwrap();
        for (output, origin) in [(by_flag, flag.to_string()), (by_env, variable)] {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{origin}: {stdout}{stderr}");
            assert!(
                stdout.contains(&format!("{origin}: error[invalid_value]")),
                "{origin} is named: {stdout}"
            );
            assert!(
                !stdout.contains("dispatch.yaml:"),
                "{origin} is not reported at a line of the file: {stdout}"
            );
            let annotation = stderr
                .lines()
                .find(|l| l.starts_with("::error"))
                .unwrap_or_else(|| panic!("{origin}: no annotation in {stderr}"));
            assert!(
                !annotation.contains("file=") && !annotation.contains("line="),
                "{origin}: an annotation on a correct line of a pull request: {annotation}"
            );
        }
    }
}

#[test]
fn the_schema_requires_per_kind_exactly_what_validate_requires() {
    let schema = schema();
    let rules = schema["$defs"]["Target"]["allOf"].as_array().unwrap();
    let mut seen = 0;
    for rule in rules {
        let kind = rule["if"]["properties"]["kind"]["const"].as_str().unwrap();
        let Some(required) = rule["then"]["required"].as_array() else {
            continue; // a webhook: `url` or `url_env`, one of two
        };
        let required: Vec<&str> = required.iter().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(
            required,
            orchestrator::config::kinds::required_keys(kind),
            "{kind}"
        );
        seen += 1;
    }
    assert_eq!(seen, 2, "repository_dispatch and workflow_dispatch");
}
