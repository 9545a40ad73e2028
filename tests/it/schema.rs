//! The JSON Schema of dispatch.yaml: committed as generated, documented on every property, and
//! in agreement with the loader (what one accepts the other accepts).

use crate::support::cli::repo_file;
use orchestrator::config::schema::{schema_json, REGENERATE, SCHEMA_PATH};
use orchestrator::config::values::{env_name_problem, is_valid_name, ApiUrl, Repo};
use serde_json::{json, Value};
use std::path::PathBuf;

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(repo_file(SCHEMA_PATH)).expect("committed schema");
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).expect("a valid draft 2020-12 schema")
}

/// A YAML file as the JSON document an editor's schema check sees; `None` if it is not YAML.
fn yaml_as_json(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    serde_norway::from_str(text).ok()
}

#[test]
fn the_committed_schema_is_what_the_types_generate() {
    let committed = std::fs::read_to_string(repo_file(SCHEMA_PATH)).unwrap_or_default();
    assert!(
        committed == schema_json(),
        "{SCHEMA_PATH} differs from what the config types generate; regenerate it with\n\n    {REGENERATE}\n"
    );
}

#[test]
fn the_schema_is_draft_2020_12_and_valid() {
    let schema = committed_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    validator(&schema);
}

#[test]
fn every_property_has_a_title_and_a_description() {
    fn walk(at: &str, schema: &Value, missing: &mut Vec<String>) {
        let Some(object) = schema.as_object() else {
            return;
        };
        if let Some(properties) = object.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                for word in ["title", "description"] {
                    let text = property.get(word).and_then(Value::as_str).unwrap_or("");
                    if text.trim().is_empty() {
                        missing.push(format!("{at}/properties/{name} has no {word}"));
                    }
                }
            }
        }
        for (key, child) in object {
            walk(&format!("{at}/{key}"), child, missing);
        }
    }
    let mut missing = Vec::new();
    walk("#", &committed_schema(), &mut missing);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_object_but_client_payload_denies_unknown_keys() {
    let schema = committed_schema();
    assert_eq!(schema["additionalProperties"], false);
    for (name, definition) in schema["$defs"].as_object().expect("$defs") {
        if definition["type"] == "object" {
            assert_eq!(definition["additionalProperties"], false, "$defs/{name}");
        }
    }
    let payload = &schema["$defs"]["Target"]["properties"]["client_payload"];
    assert_eq!(payload["maxProperties"], 10);
}

#[test]
fn the_example_dispatch_yaml_names_the_schema_and_satisfies_it() {
    let bytes = std::fs::read(repo_file("dispatch.yaml")).expect("dispatch.yaml");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.starts_with("# yaml-language-server: $schema=./schemas/dispatch.schema.json\n"),
        "dispatch.yaml should start by naming its schema for editors"
    );
    let document = yaml_as_json(&bytes).expect("dispatch.yaml is YAML");
    let schema = committed_schema();
    let errors: Vec<String> = validator(&schema)
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Every invalid fixture says whether the schema alone can see its problem: `reject` (it can),
/// `accept` (it needs validate: references, templates, rendered sizes, semver), or `none` (the
/// file is not a YAML document at all).
#[test]
fn the_schema_rejects_exactly_the_fixtures_marked_as_schema_violations() {
    let schema = committed_schema();
    let validator = validator(&schema);
    let mut wrong = Vec::new();
    let mut counts = [0; 3];
    for path in fixtures() {
        let bytes = std::fs::read(&path).expect("fixture");
        let verdict = String::from_utf8_lossy(&bytes)
            .lines()
            .find_map(|l| l.strip_prefix("# schema: ").map(str::to_owned))
            .unwrap_or_else(|| panic!("{} has no `# schema:` line", path.display()));
        let document = yaml_as_json(&bytes);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // `accept (only validate: why)`: a documented exception, where only validate can know.
        let (verdict, why) = verdict.split_once(' ').unwrap_or((verdict.as_str(), ""));
        if verdict == "accept" && !why.is_empty() && !why.starts_with("(only validate: ") {
            wrong.push(format!(
                "{}: an exception says why as `(only validate: ...)`",
                path.display()
            ));
        }
        let outcome = match (verdict, &document) {
            ("none", None) => Ok(0),
            ("reject", Some(doc)) if !validator.is_valid(doc) => Ok(1),
            ("accept", Some(doc)) => match validator.iter_errors(doc).next() {
                None => Ok(2),
                Some(e) => Err(format!(
                    "the schema rejects it: {e} at {}",
                    e.instance_path()
                )),
            },
            (verdict, document) => Err(format!(
                "marked `{verdict}`, but it {}",
                match document {
                    None => "is not YAML".to_owned(),
                    Some(_) => "satisfies the schema".to_owned(),
                }
            )),
        };
        match outcome {
            Ok(i) => counts[i] += 1,
            Err(why) => wrong.push(format!("{name}: {why}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(counts[1] >= 20, "too few schema violations: {counts:?}");
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_file("tests/fixtures/invalid"))
        .expect("fixtures directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Checks `values` against one property of the committed schema, and against the loader's
/// Rust rule, and returns the values on which they disagree.
fn disagreements(pointer: &str, values: &[&str], rust: impl Fn(&str) -> bool) -> Vec<String> {
    let schema = committed_schema();
    let property = schema.pointer(pointer).expect("property in the schema");
    let validator = validator(property);
    values
        .iter()
        .filter(|v| validator.is_valid(&json!(v)) != rust(v))
        .map(|v| format!("{pointer}: schema and loader disagree on {v:?}"))
        .collect()
}

#[test]
fn read_budget_pattern_agrees_with_the_loader() {
    let values = [
        "4000/h",
        "1000/h",
        "60/min",
        "5/s",
        "10/500ms",
        "4000/2h",
        "unlimited",
        "4000",
        "0/h",
        "-1/h",
        "4000/day",
        "80/min,500/h",
        "/h",
        "",
    ];
    let wrong = disagreements("/$defs/Settings/properties/read_budget", &values, |v| {
        orchestrator::policy::RateLimit::parse(v).is_ok()
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn repository_pattern_agrees_with_the_loader() {
    let values = [
        "vfarcic/dot-ai",
        "my_org/some.repo_2",
        "a/b",
        "o/.hidden",
        "o/..x",
        "o/x..",
        "O-1/R",
        "vfarcic",
        "a/b/c",
        "../x",
        "o/..",
        "o/.",
        "o/a?b",
        "o/a%2f",
        "-o/x",
        "o-/x",
        "o/",
        "/x",
        "o/a b",
        "o/a#b",
        "o\\x",
        &"o".repeat(39),
        &format!("{}/x", "o".repeat(39)),
        &format!("{}/x", "o".repeat(40)),
        &format!("o/{}", "r".repeat(100)),
        &format!("o/{}", "r".repeat(101)),
        &format!("o/..{}", "r".repeat(98)),
    ];
    let mut wrong = disagreements("/$defs/Target/properties/repository", &values, |v| {
        Repo::parse(v).is_ok()
    });
    wrong.extend(disagreements(
        "/$defs/Source/properties/repository",
        &values,
        |v| Repo::parse(v).is_ok(),
    ));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn name_pattern_agrees_with_the_loader() {
    let long = "n".repeat(101);
    let values = [
        "dot-ai",
        "dot_ai",
        "A1",
        "-",
        "web.site",
        "web site",
        "",
        "ä",
        &long[..100],
        &long,
    ];
    let schema = committed_schema();
    let pattern = &schema["properties"]["targets"]["propertyNames"];
    let validator = validator(pattern);
    let wrong: Vec<&&str> = values
        .iter()
        .filter(|v| validator.is_valid(&json!(v)) != is_valid_name(v))
        .collect();
    assert!(wrong.is_empty(), "disagree on {wrong:?}");
}

#[test]
fn token_env_pattern_agrees_with_the_loader_and_refuses_tokens() {
    let values = [
        "WEBSITE_DISPATCH_TOKEN",
        "_T",
        "t2",
        "2T",
        "WEBSITE-TOKEN",
        "",
        "A B",
        "ghp_short",
        "ghp_0123456789abcdefghijABCDEFGHIJ012345",
        "github_pat_11ABCDEFG0123456789_abcdefghij",
        "gho_0123456789abcdef",
        "ghx_0123456789abcdef",
        "0123456789abcdef0123456789abcdef01234567",
        "ABCDEF0123456789abcdef0123456789abcdef01",
        &"T".repeat(255),
        &"T".repeat(256),
    ];
    let wrong = disagreements("/$defs/Target/properties/token_env", &values, |v| {
        env_name_problem(v).is_none() && !orchestrator::secret::looks_like_token(v)
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn api_url_pattern_agrees_with_the_loader() {
    let values = [
        "https://api.github.com",
        "https://ghe.example.com/api/v3/",
        "https://ghe.example.com:8443/api/v3",
        "HTTPS://API.GITHUB.COM",
        "http://127.0.0.1:8080",
        "http://127.0.0.1",
        "http://localhost:1/api",
        "http://[::1]:8080",
        "http://api.github.com",
        "http://127.0.0.1.nip.io",
        "http://localhost.evil.example",
        "https://user:pw@api.github.com",
        "https://token@api.github.com",
        "https://api.github.com/?x=1",
        "https://api.github.com/#top",
        "ftp://x",
        "api.github.com",
        "https://",
    ];
    let wrong = disagreements("/$defs/Target/properties/api_url", &values, |v| {
        ApiUrl::parse(v).is_ok()
    });
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
