//! `orchestrator validate`, run as a user would. The table of cases is the directory
//! `tests/fixtures/invalid/`: each file starts with the problems validate must report, e.g.
//!
//!     # expect: unknown_target sources.app.targets[1] line 9 col 24
//!     # expect: warning unused_target targets.docs line 17 col 3
//!
//! (`-` is the whole file), so adding a case is adding a file.

use crate::support::cli::{config_dir, example_dir, orchestrator, repo_file, Cli};
use crate::support::snapshot::snapshot;
use orchestrator::diagnostic::Code;
use serde_json::Value;
use std::path::{Path, PathBuf};

const FIXTURES: &str = "tests/fixtures/invalid";

/// Every code validate can report: all of them but `missing_token`, which needs a real run.
fn codes() -> impl Iterator<Item = &'static str> {
    Code::ALL
        .iter()
        .filter(|code| **code != Code::MissingToken)
        .map(|code| code.as_str())
}

/// One reported problem, as the table writes it: `[warning] code path line L col C`.
fn expectations(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("fixture");
    String::from_utf8_lossy(&bytes)
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# expect: ").map(str::to_owned))
        .collect()
}

fn problem_line(problem: &Value) -> String {
    let warning = if problem["severity"] == "warning" {
        "warning "
    } else {
        ""
    };
    let path = problem["path"].as_str().filter(|p| !p.is_empty());
    let number = |key: &str| problem[key].as_u64().map_or("-".into(), |n| n.to_string());
    format!(
        "{warning}{} {} line {} col {}",
        problem["code"].as_str().unwrap_or("?"),
        path.unwrap_or("-"),
        number("line"),
        number("column"),
    )
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_file(FIXTURES))
        .expect("fixtures directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// `validate --output json` on `file` (relative to the fixtures directory): exit code and report.
fn validate_json(file: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let ran = fixture(file).json().args(extra).output();
    (Some(ran.code), ran.json())
}

/// `validate --config FILE` in the fixtures directory.
fn fixture(file: &str) -> Cli {
    Cli::in_dir(&repo_file(FIXTURES)).args(["validate", "--config", file])
}

#[test]
fn the_table_has_at_least_25_cases_and_covers_every_code() {
    let files = fixtures();
    assert!(files.len() >= 25, "only {} fixtures", files.len());
    let all: Vec<String> = files.iter().flat_map(|f| expectations(f)).collect();
    for file in &files {
        assert!(
            !expectations(file).is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
    }
    for code in codes() {
        assert!(
            all.iter().any(|e| e
                .trim_start_matches("warning ")
                .starts_with(&format!("{code} "))),
            "no fixture expects `{code}`"
        );
    }
}

#[test]
fn validate_reports_each_fixture_problem_with_its_code_path_and_line() {
    let mut wrong = Vec::new();
    for path in fixtures() {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let (code, report) = validate_json(&name, &["--strict"]);
        let problems = report["problems"].as_array().cloned().unwrap_or_default();
        let actual: Vec<String> = problems.iter().map(problem_line).collect();
        let expected = expectations(&path);
        if actual != expected {
            wrong.push(format!(
                "{name}:\n  expected: {expected:#?}\n  reported: {actual:#?}"
            ));
        }
        if code != Some(1) || report["valid"] != false {
            wrong.push(format!("{name}: exit {code:?}, valid {}", report["valid"]));
        }
        let unhelpful = problems
            .iter()
            .filter(|p| p["help"].as_str().is_none_or(str::is_empty))
            .count();
        if unhelpful > 0 {
            wrong.push(format!("{name}: {unhelpful} problem(s) without help"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_pasted_token_is_never_echoed() {
    let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    for format in ["text", "json"] {
        let ran = fixture("token-pasted.yaml")
            .args(["--output", format])
            .env("GITHUB_ACTIONS", "true")
            .forbid(token)
            .output();
        assert!(ran.all().contains("invalid_token_env"), "{}", ran.all());
    }
}

#[test]
fn the_example_dispatch_yaml_is_valid_without_any_token() {
    let dir = example_dir();
    orchestrator(dir.path())
        .arg("validate")
        .assert()
        .code(0)
        .stdout("dispatch.yaml is valid\n");
}

#[test]
fn a_warning_passes_without_strict_and_fails_with_it() {
    let (code, report) = validate_json("unused-target.yaml", &[]);
    assert_eq!(code, Some(0));
    assert_eq!(report["format"], 1, "versioned like every JSON we write");
    assert_eq!(report["valid"], true);
    assert_eq!(report["warnings"], 1);
    let (code, report) = validate_json("unused-target.yaml", &["--strict"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["valid"], false);
}

#[test]
fn text_output_names_the_file_line_column_code_path_and_a_fix() {
    orchestrator(&repo_file(FIXTURES))
        .args(["validate", "--config", "unknown-target.yaml"])
        .assert()
        .code(1)
        .stdout(
            "unknown-target.yaml:9:24: error[unknown_target] sources.app.targets[1]: source `app` feeds target `webiste`, which is not defined\n  \
             help: did you mean `website`?\n\
             1 error(s), 0 warning(s) in unknown-target.yaml\n",
        );
}

#[test]
fn validate_under_actions_writes_its_problems_to_the_job_summary_in_the_same_run() {
    let runner = tempfile::tempdir().unwrap();
    let summary = runner.path().join("summary.md");
    let ran = fixture("unknown-target.yaml")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output();
    assert_eq!(ran.code, 1);
    let written = std::fs::read_to_string(&summary).unwrap();
    let markdown = fixture("unknown-target.yaml")
        .args(["--output", "markdown"])
        .output();
    assert_eq!(written, format!("{}\n", markdown.stdout));
    assert!(written.contains("webiste"), "{written}");
}

#[test]
fn annotations_appear_only_under_github_actions_with_file_line_and_column() {
    let run = |actions: Option<&str>| {
        let ran = fixture("unknown-target.yaml")
            .envs(actions.map(|value| ("GITHUB_ACTIONS", value)))
            .output();
        assert_eq!(ran.code, 1);
        ran.all()
    };
    let annotated = run(Some("true"));
    assert!(
        annotated.contains(
            "::error file=unknown-target.yaml,line=9,col=24,title=validate%3A unknown_target::sources.app.targets[1]: source `app` feeds target `webiste`, which is not defined%0Ahelp: did you mean `website`?\n"
        ),
        "{annotated}"
    );
    for plain in [run(None), run(Some("false"))] {
        assert!(!plain.contains("::error"), "{plain}");
        assert!(!plain.contains("::warning"), "{plain}");
    }
}

#[test]
fn under_strict_a_warning_is_annotated_as_an_error() {
    let stderr = fixture("unused-target.yaml")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .stderr;
    assert!(
        stderr.starts_with("::warning file=unused-target.yaml,line=17,col=3,"),
        "{stderr}"
    );
    let stderr = fixture("unused-target.yaml")
        .arg("--strict")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .stderr;
    assert!(
        stderr.starts_with("::error file=unused-target.yaml,line=17,col=3,"),
        "{stderr}"
    );
}

#[test]
fn json_output_stays_parseable_under_github_actions() {
    let ran = fixture("many-problems-one-run.yaml")
        .json()
        .env("GITHUB_ACTIONS", "true")
        .output();
    assert_eq!(ran.json()["errors"], 4, "stdout is only JSON");
    let annotations = &ran.stderr;
    assert_eq!(
        annotations.matches("::error file=").count(),
        4,
        "{annotations}"
    );
}

#[test]
fn validate_exits_2_when_the_file_cannot_be_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    orchestrator(dir.path())
        .args(["validate", "--config", "missing.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with("error: no missing.yaml in "));
    std::fs::create_dir(dir.path().join("dispatch.yaml")).expect("a directory");
    orchestrator(dir.path())
        .arg("validate")
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with(
            "error: cannot read dispatch.yaml:",
        ));
}

const USES_MAJOR_AND_VARS: &str = "version: 1
sources:
  app:
    repository: acme/app
    targets: [website]
targets:
  website:
    repository: acme/website
    event_type: release-{{major}}
    token_env: WEBSITE_TOKEN
    client_payload:
      channel: \"{{vars.channel}}\"
";

#[test]
fn templates_render_with_the_sample_version_and_set_values() {
    let dir = config_dir(USES_MAJOR_AND_VARS);
    let validate = |args: &[&str]| {
        let ran = Cli::in_dir(dir.path())
            .arg("validate")
            .json()
            .args(args)
            .output();
        let report = ran.json();
        let paths: Vec<String> = report["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(|p| p["path"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        (Some(ran.code), paths)
    };
    assert_eq!(
        validate(&[]),
        (
            Some(1),
            vec!["targets.website.client_payload.channel".to_owned()]
        )
    );
    assert_eq!(validate(&["--set", "channel=stable"]), (Some(0), vec![]));
    // A version that is not semver has no `major`.
    assert_eq!(
        validate(&["--set", "channel=stable", "--version", "2024-05"]),
        (Some(1), vec!["targets.website.event_type".to_owned()])
    );
}

#[test]
fn every_source_that_feeds_a_target_renders_it() {
    // `source.name` makes the event type fit for one source and too long for the other.
    let long = "a".repeat(90);
    let yaml = format!(
        "version: 1
sources:
  short:
    repository: acme/short
    targets: [website]
  {long}:
    repository: acme/long
    targets: [website]
targets:
  website:
    repository: acme/website
    event_type: \"release-of-{{{{source.name}}}}\"
    token_env: WEBSITE_TOKEN
"
    );
    let dir = config_dir(&yaml);
    let ran = Cli::in_dir(dir.path()).arg("validate").json().output();
    let report = ran.json();
    assert_eq!(ran.code, 1);
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{report:#}");
    assert_eq!(
        problem_line(&problems[0]),
        "payload_limit targets.website.event_type line 12 col 5"
    );
}

/// The file: a value of the wrong type, a token pasted into `token_env`, a template that
/// does not compile, a version range that is not semver and four unknown variables, all in one
/// target. Each used to hide the next round.
const EIGHT_PROBLEMS: &str = "version: 1
sources:
  app:
    repository: acme/app
    targets: [website]
targets:
  website:
    repository: acme/website
    event_type: release
    token_env: ghp_abcdefghijklmnopqrstuvwxyz0123456789
    when:
      version: \"~>1.0\"
      prerelease: \"no\"
    client_payload:
      note: \"{{#if is_prerelease}}beta{{/if}\"
      version: \"{{versoin}}\"
      source: \"{{sourc}}\"
      major: \"{{majr}}\"
      tag: \"{{tagg}}\"
";

#[test]
fn one_run_reports_eight_problems_of_five_kinds_in_file_order() {
    let ran = Cli::with_config(EIGHT_PROBLEMS).arg("validate").output();
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert!(ran
        .stdout
        .contains("8 error(s), 0 warning(s) in dispatch.yaml"));
    snapshot!("validate_every_problem_at_once", ran.stdout);
}

#[test]
fn a_repeated_key_or_a_typo_hides_no_template_problem() {
    let yaml = "version: 1
sources:
  app:
    repository: acme/app
    targets: [website]
targets:
  website:
    repository: acme/website
    repository: acme/other
    event_type: release
    token_envv: WEB_TOKEN
    client_payload:
      version: \"{{versoin}}\"
";
    let (code, json) = validate_json_of(yaml);
    assert_eq!(code, Some(1));
    let problems: Vec<String> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(problem_line)
        .collect();
    assert_eq!(
        problems,
        [
            "missing_key targets.website.token_env line 7 col 3",
            "duplicate_key targets.website.repository line 9 col 5",
            "unknown_key targets.website.token_envv line 11 col 5",
            "render targets.website.client_payload.version line 13 col 7",
        ]
    );
}

#[test]
fn a_wrong_type_is_helped_with_how_to_write_that_type() {
    let yaml = "version: 1
sources:
  app:
    repository: acme/app
    targets: website
targets:
  website:
    repository: acme/website
    event_type: release
    token_env: WEB_TOKEN
    api_version: 20221128
    timeout_secs: \"30\"
    when:
      prerelease: \"no\"
    client_payload:
      version: \"{{versoin}}\"
";
    let ran = Cli::with_config(yaml).arg("validate").output();
    let helps: Vec<&str> = ran
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  help: "))
        .filter(|help| !help.starts_with("templates can use"))
        .collect();
    // The source is still read for the target it names, whose templates are rendered.
    assert!(
        ran.stdout
            .contains("error[render] targets.website.client_payload.version"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        helps,
        [
            "write `[website]`: a list, even of one item",
            "put it in quotes: `\"20221128\"`",
            "write `30` without quotes",
            "write `true` or `false`, without quotes",
        ],
        "{}",
        ran.stdout
    );
}

#[test]
fn a_bad_variable_or_flag_is_said_where_it_is_with_what_it_must_be() {
    let ran = Cli::example()
        .env("ORCHESTRATOR_CONCURRENCY", "abc")
        .arg("validate")
        .output();
    assert_eq!(ran.code, 1);
    assert_eq!(
        ran.stdout,
        "ORCHESTRATOR_CONCURRENCY: error[invalid_value]: expected a whole number from 1 to 100, found text (its value is not shown)\n  \
         help: set ORCHESTRATOR_CONCURRENCY to a whole number from 1 to 100, or unset it to use the file's value\n\
         1 error(s), 0 warning(s) in ORCHESTRATOR_CONCURRENCY\n"
    );
    let ran = Cli::example()
        .args(["validate", "--concurrency", "500"])
        .output();
    assert!(
        ran.stdout
            .ends_with("1 error(s), 0 warning(s) in --concurrency\n"),
        "{}",
        ran.stdout
    );
}

#[test]
fn strict_refuses_the_placeholder_repositories_init_writes() {
    let dir = tempfile::tempdir().unwrap();
    let init = Cli::in_dir(dir.path()).arg("init").output();
    assert_eq!(init.code, 0, "{}", init.all());
    let plain = Cli::in_dir(dir.path()).arg("validate").output();
    assert_eq!(plain.code, 0, "{}", plain.all());
    let strict = Cli::in_dir(dir.path())
        .args(["validate", "--strict"])
        .output();
    assert_eq!(strict.code, 1);
    assert!(
        strict.stdout.contains(
            "error[invalid_repository] sources.your-app.repository: `your-org/your-app` is a placeholder written by `orchestrator init`\n  \
             help: replace it with the real repository, as `owner/name`\n"
        ),
        "{}",
        strict.stdout
    );
}

fn validate_json_of(yaml: &str) -> (Option<i32>, Value) {
    let ran = Cli::with_config(yaml).arg("validate").json().output();
    (Some(ran.code), ran.json())
}
