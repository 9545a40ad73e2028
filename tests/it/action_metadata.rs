//! action.yml, the composite GitHub Action: every input is used, every flag it passes exists,
//! every output it declares is one the binary writes, and its install and run steps work as a
//! runner would run them: the verified prebuilt binary from a (loopback) release, then the
//! command.

use crate::install::fake_release::{asset_name, host_target, sha256_hex, Releases, VERSION};
use crate::support::cli::{example_dir, repo_file};
use clap::CommandFactory;
use serde_norway::Value;
use std::path::Path;
use std::process::{Command, Output};

fn action() -> Value {
    let text = std::fs::read_to_string(repo_file("action.yml")).expect("action.yml");
    serde_norway::from_str(&text).expect("action.yml is YAML")
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

fn steps(action: &Value) -> &Vec<Value> {
    action["runs"]["steps"].as_sequence().expect("steps")
}

/// The script of the `run` step's arm for `command` (between `command)` and `;;`).
fn arm(script: &str, command: &str) -> String {
    let start = script
        .find(&format!("  {command})"))
        .unwrap_or_else(|| panic!("the run step has no `{command})` arm"));
    let rest = &script[start..];
    rest[..rest.find(";;").expect("the arm ends")].to_owned()
}

fn long_flags(script: &str) -> Vec<String> {
    script
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.starts_with("--"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_action_is_composite_with_the_documented_inputs() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = &action["inputs"];
    assert_eq!(inputs["command"]["default"], "run");
    assert_eq!(inputs["source"]["default"], "");
    assert_eq!(inputs["version"]["default"], "");
    assert_eq!(inputs["config"]["default"], "dispatch.yaml");
    assert_eq!(inputs["dry-run"]["default"], "false");
    assert_eq!(inputs["args"]["default"], "");
    assert_eq!(inputs["vars"]["default"], "");
    assert_eq!(inputs["targets"]["default"], "");
    assert_eq!(inputs["install"]["default"], "prebuilt");
    assert_eq!(inputs["orchestrator-version"]["default"], "");
    let uses: Vec<&str> = steps(&action)
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    assert!(
        uses.is_empty(),
        "the action needs no other action: {uses:?}"
    );
}

/// Every input reaches a step's environment, and that step's script reads the variable.
#[test]
fn every_input_is_used() {
    let action = action();
    for (name, _) in action["inputs"].as_mapping().expect("inputs") {
        let name = name.as_str().unwrap();
        let wanted = format!("${{{{ inputs.{name} }}}}");
        let used = steps(&action).iter().any(|step| {
            let script = step["run"].as_str().unwrap_or_default();
            step["env"]
                .as_mapping()
                .into_iter()
                .flatten()
                .any(|(var, value)| {
                    value.as_str() == Some(wanted.as_str())
                        && script.contains(&format!("\"${}\"", var.as_str().unwrap()))
                })
        });
        assert!(used, "input {name} is never read by a step");
    }
}

#[test]
fn every_flag_the_action_passes_is_accepted_by_its_command() {
    let cli = orchestrator::cli::Cli::command();
    let script = script(&action());
    for (command, expected) in [
        (
            "run",
            &["--config", "--source", "--version", "--report", "--dry-run"][..],
        ),
        ("validate", &["--config"][..]),
        ("check", &["--config", "--source"][..]),
        ("diff", &["--config", "--base"][..]),
    ] {
        let flags = long_flags(&arm(&script, command));
        for flag in expected {
            assert!(
                flags.iter().any(|f| f == flag),
                "the action does not pass {flag} to {command}"
            );
        }
        // `check` is being written (issue 12): its flags are checked once it exists.
        let Some(sub) = cli.find_subcommand(command) else {
            eprintln!("not checked: this build has no `orchestrator {command}`");
            continue;
        };
        for flag in flags {
            let long = flag.trim_start_matches("--");
            assert!(
                sub.get_arguments().any(|a| a.get_long() == Some(long)),
                "`orchestrator {command}` has no {flag}"
            );
        }
    }
    assert!(script.contains("\"$RUNNER_TEMP/orchestrator-report.json\""));
    for step in steps(&action()) {
        assert!(
            !step["run"].as_str().unwrap_or_default().contains("${{"),
            "inputs reach the scripts through env, never pasted in"
        );
    }
}

/// macOS runners have bash 3.2, where an empty "${a[@]}" under `set -u` is an unbound
/// variable: an array that may be empty is expanded as ${a[@]+"${a[@]}"}.
#[test]
fn no_script_expands_a_possibly_empty_array_bare() {
    for step in steps(&action()) {
        let script = step["run"].as_str().unwrap_or_default();
        let empty_arrays = script
            .split(|c: char| c.is_whitespace() || c == ';')
            .filter_map(|w| w.strip_suffix("=()"));
        for name in empty_arrays {
            let bare = format!("\"${{{name}[@]}}\"");
            let guarded = format!("${{{name}[@]+{bare}}}");
            assert_eq!(
                script.matches(&bare).count(),
                script.matches(&guarded).count(),
                "{name} may be empty and is expanded without the bash 3.2 guard"
            );
        }
    }
}

#[test]
fn every_declared_output_is_written_by_the_binary() {
    // And every output the binary writes is declared: an undeclared one never reaches a workflow.
    let declared = action();
    let declared = declared["outputs"].as_mapping().expect("outputs");
    for name in orchestrator::actions::OUTPUTS
        .iter()
        .chain(orchestrator::actions::CHECK_OUTPUTS)
    {
        assert!(
            declared.contains_key(*name),
            "action.yml does not declare the output {name}"
        );
    }
    let action = action();
    let outputs = action["outputs"].as_mapping().expect("outputs");
    for name in [
        "delivered",
        "failed",
        "skipped",
        "report",
        "ready",
        "cannot_tell",
    ] {
        assert!(
            outputs.contains_key(name),
            "the action does not declare {name}"
        );
    }
    for (name, output) in outputs {
        let name = name.as_str().unwrap();
        assert!(
            orchestrator::actions::OUTPUTS.contains(&name)
                || orchestrator::actions::CHECK_OUTPUTS.contains(&name),
            "the binary never writes {name}"
        );
        assert_eq!(
            output["value"].as_str(),
            Some(format!("${{{{ steps.run.outputs.{name} }}}}").as_str())
        );
    }
}

/// A step's script run by bash as the runner runs it: a clean environment, GitHub's variables
/// for `runner` (a temporary directory: RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), and
/// the step's inputs as its `env:` maps them.
fn run_step(id: &str, runner: &Path, cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(step(&action(), id)["run"].as_str().expect("a script"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", runner.join("home"))
        .env("TMPDIR", std::env::temp_dir())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", runner.join("outputs"))
        .env("GITHUB_STEP_SUMMARY", runner.join("summary.md"))
        .env("RUNNER_TEMP", runner);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Where the install step puts the binary, and where the run step runs it from.
fn installed(runner: &Path) -> std::path::PathBuf {
    runner.join("orchestrator/bin/orchestrator")
}

/// The run step's script, with the action's inputs, against the real binary in a simulated
/// runner: a dry run of this repository's own dispatch.yaml.
#[test]
fn the_run_step_works_as_the_runner_would_run_it() {
    let dir = example_dir();
    let runner = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(installed(runner.path()).parent().unwrap()).unwrap();
    crate::support::executable::place(
        &assert_cmd::cargo::cargo_bin("orchestrator"),
        &installed(runner.path()),
    );
    let output = run_step(
        "run",
        runner.path(),
        dir.path(),
        &[
            ("INPUT_COMMAND", "run"),
            ("INPUT_SOURCE", "dot-ai"),
            ("INPUT_VERSION", "v1.2.3"),
            ("INPUT_CONFIG", "dispatch.yaml"),
            ("INPUT_DRY_RUN", "true"),
            ("INPUT_VARS", ""),
            ("INPUT_TARGETS", ""),
            ("INPUT_ARGS", "--set channel=stable  --no-progress"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let written = std::fs::read_to_string(runner.path().join("outputs")).unwrap();
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
    let summary = std::fs::read_to_string(runner.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("### orchestrator dry run: dot-ai 1.2.3"),
        "{summary}"
    );
}

/// The action's own checkout, as the runner lays it at GITHUB_ACTION_PATH: install.sh, and a
/// Cargo.toml whose version is the fake release's.
fn action_checkout() -> tempfile::TempDir {
    let checkout = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(checkout.path().join("scripts")).unwrap();
    std::fs::copy(
        repo_file("scripts/install.sh"),
        checkout.path().join("scripts/install.sh"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(repo_file("Cargo.toml"))
        .unwrap()
        .replacen(
            &format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
            &format!("version = \"{VERSION}\""),
            1,
        );
    std::fs::write(checkout.path().join("Cargo.toml"), manifest).unwrap();
    checkout
}

fn install_step(
    releases: &Releases,
    checkout: &Path,
    runner: &Path,
    env: &[(&str, &str)],
) -> Output {
    let mut all = vec![
        ("GITHUB_ACTION_PATH", checkout.to_str().unwrap()),
        ("ORCHESTRATOR_RELEASE_URL", releases.base.as_str()),
        ("ORCHESTRATOR_RETRY_DELAY", "0"),
        ("INPUT_INSTALL", "prebuilt"),
        ("INPUT_ORCHESTRATOR_VERSION", ""),
        ("ACTION_REF", "v1"),
    ];
    all.retain(|(name, _)| !env.iter().any(|(n, _)| n == name));
    all.extend_from_slice(env);
    run_step("install", runner, checkout, &all)
}

/// `uses: owner/orchestrator@v1`: the install step takes the version from the action's
/// Cargo.toml, installs the verified release binary into RUNNER_TEMP, and the run step runs
/// `validate` with it.
#[test]
fn the_action_installs_the_verified_release_binary_and_runs_validate_with_it() {
    if host_target().is_none() {
        eprintln!("skipped: no release asset for this machine's OS/arch");
        return;
    }
    let releases = Releases::published();
    let checkout = action_checkout();
    let runner = tempfile::tempdir().unwrap();
    let output = install_step(&releases, checkout.path(), runner.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("orchestrator {}", env!("CARGO_PKG_VERSION"))),
        "the step prints the installed version: {}",
        text(&output)
    );
    // The action runs the binary by its full path: no PATH advice in every job's log.
    assert!(
        !text(&output).contains("is not on PATH") && !text(&output).contains("is not on your PATH"),
        "{}",
        text(&output)
    );
    assert_eq!(releases.requests_for(&asset_name()), 1);

    let dir = example_dir();
    let output = run_step(
        "run",
        runner.path(),
        dir.path(),
        &[
            ("INPUT_COMMAND", "validate"),
            ("INPUT_SOURCE", ""),
            ("INPUT_VERSION", ""),
            ("INPUT_CONFIG", "dispatch.yaml"),
            ("INPUT_DRY_RUN", "false"),
            ("INPUT_VARS", ""),
            ("INPUT_TARGETS", ""),
            ("INPUT_ARGS", ""),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

/// A version tag as the action's ref wins over Cargo.toml, and checksums committed at
/// checksums/v<version>.sha256 must match as well as the release's SHA256SUMS.
#[test]
fn checksums_committed_for_the_actions_version_must_match_the_download() {
    if host_target().is_none() {
        eprintln!("skipped: no release asset for this machine's OS/arch");
        return;
    }
    let releases = Releases::published();
    let checkout = action_checkout();
    std::fs::create_dir_all(checkout.path().join("checksums")).unwrap();
    std::fs::write(
        checkout.path().join(format!("checksums/v{VERSION}.sha256")),
        format!(
            "{}  {}\n",
            sha256_hex(b"not what was released"),
            asset_name()
        ),
    )
    .unwrap();
    let runner = tempfile::tempdir().unwrap();
    let tag = format!("v{VERSION}");
    let output = install_step(
        &releases,
        checkout.path(),
        runner.path(),
        &[("ACTION_REF", tag.as_str())],
    );
    assert_eq!(output.status.code(), Some(5), "{}", text(&output));
    assert!(
        text(&output).contains("pinned checksums"),
        "{}",
        text(&output)
    );
    assert!(!installed(runner.path()).exists());
}

#[test]
fn an_unknown_install_or_command_input_is_refused_with_exit_2() {
    let runner = tempfile::tempdir().unwrap();
    let checkout = action_checkout();
    let releases = Releases::empty();
    let output = install_step(
        &releases,
        checkout.path(),
        runner.path(),
        &[("INPUT_INSTALL", "brew")],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("::error title=orchestrator::the install input must be"));
    assert_eq!(releases.requests(), 0);

    let base = [
        ("INPUT_SOURCE", ""),
        ("INPUT_VERSION", ""),
        ("INPUT_CONFIG", "dispatch.yaml"),
        ("INPUT_DRY_RUN", "false"),
        ("INPUT_VARS", ""),
        ("INPUT_TARGETS", ""),
        ("INPUT_ARGS", ""),
    ];
    for (command, message) in [
        (
            "deploy",
            "the command input must be run, validate, check or diff",
        ),
        ("run", "command run needs the source and version inputs"),
    ] {
        let mut env = base.to_vec();
        env.push(("INPUT_COMMAND", command));
        let output = run_step("run", runner.path(), runner.path(), &env);
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert!(text(&output).contains(message), "{}", text(&output));
    }
}

/// The run step with a stand-in for the binary that writes each argument it was given on a
/// line of its own, `<` and `>` around it: the words the action passes, exactly.
fn argv_of_run_step(env: &[(&str, &str)]) -> (Output, Vec<String>, tempfile::TempDir) {
    let runner = tempfile::tempdir().unwrap();
    let stand_in = installed(runner.path());
    std::fs::create_dir_all(stand_in.parent().unwrap()).unwrap();
    std::fs::write(
        &stand_in,
        "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done > \"$RUNNER_TEMP/argv\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&stand_in).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&stand_in, perms).unwrap();
    let mut all = vec![
        ("INPUT_COMMAND", "run"),
        ("INPUT_SOURCE", "app"),
        ("INPUT_VERSION", "v1.2.3"),
        ("INPUT_CONFIG", "dispatch.yaml"),
        ("INPUT_DRY_RUN", "false"),
        ("INPUT_VARS", ""),
        ("INPUT_TARGETS", ""),
        ("INPUT_ARGS", ""),
    ];
    all.retain(|(name, _)| !env.iter().any(|(n, _)| n == name));
    all.extend_from_slice(env);
    let output = run_step("run", runner.path(), runner.path(), &all);
    let argv = std::fs::read_to_string(runner.path().join("argv"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (output, argv, runner)
}

/// What the step passes after the command's own flags.
fn extra_words(argv: &[String]) -> Vec<&str> {
    let report = argv
        .iter()
        .position(|a| a.ends_with("orchestrator-report.json>"))
        .expect("the run arm passes --report");
    argv[report + 1..].iter().map(String::as_str).collect()
}

/// Text that a shell would run if it ever read it: each would leave a file behind.
const HOSTILE: &str = "$(touch \"$RUNNER_TEMP/ran-1\") `touch \"$RUNNER_TEMP/ran-2\"` ${RUNNER_TEMP} $HOME; touch ran-3 | x & y > z";

fn nothing_ran(runner: &Path) {
    for name in ["ran-1", "ran-2", "ran-3"] {
        assert!(!runner.join(name).exists(), "{name} was run");
    }
}

#[test]
fn vars_pass_each_line_as_one_set_with_spaces_quotes_and_shell_text_as_written() {
    let vars =
        format!("title=My big release\n\n  \nbody=say \"hi\" and 'bye' = done\nnasty={HOSTILE}\n");
    let (output, argv, runner) = argv_of_run_step(&[("INPUT_VARS", vars.as_str())]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let nasty = format!("<nasty={HOSTILE}>");
    assert_eq!(
        extra_words(&argv),
        [
            "<--set>",
            "<title=My big release>",
            "<--set>",
            "<body=say \"hi\" and 'bye' = done>",
            "<--set>",
            nasty.as_str(),
        ]
    );
    nothing_ran(runner.path());
}

#[test]
fn targets_separated_by_newlines_commas_or_spaces_become_target_flags() {
    let (output, argv, _runner) =
        argv_of_run_step(&[("INPUT_TARGETS", "website,\n cli  docs\n\n*")]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        extra_words(&argv),
        [
            "<--target>",
            "<website>",
            "<--target>",
            "<cli>",
            "<--target>",
            "<docs>",
            "<--target>",
            "<*>"
        ]
    );
}

#[test]
fn args_are_split_as_a_shell_splits_words_and_nothing_in_them_is_run() {
    let args = format!(
        "--wait  --set \"title=My big release\" --set 'note=it said \"$(id)\"'\n--set x=a\\ b --set {}",
        "'evil=`touch \"$RUNNER_TEMP/ran-2\"` $(touch \"$RUNNER_TEMP/ran-1\")'"
    );
    let (output, argv, runner) = argv_of_run_step(&[("INPUT_ARGS", args.as_str())]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        extra_words(&argv),
        [
            "<--wait>",
            "<--set>",
            "<title=My big release>",
            "<--set>",
            "<note=it said \"$(id)\">",
            "<--set>",
            "<x=a b>",
            "<--set>",
            "<evil=`touch \"$RUNNER_TEMP/ran-2\"` $(touch \"$RUNNER_TEMP/ran-1\")>",
        ]
    );
    nothing_ran(runner.path());
}

#[test]
fn args_with_an_unmatched_quote_stop_the_step_before_the_binary_runs() {
    let (output, argv, _runner) =
        argv_of_run_step(&[("INPUT_ARGS", "--set \"title=My big release")]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("::error title=orchestrator::the args input has an unmatched quote"),
        "{}",
        text(&output)
    );
    assert!(argv.is_empty(), "the binary ran: {argv:?}");
}

#[test]
fn validate_takes_vars_but_not_targets() {
    let (output, argv, _runner) = argv_of_run_step(&[
        ("INPUT_COMMAND", "validate"),
        ("INPUT_VARS", "channel=beta"),
        ("INPUT_TARGETS", "website"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        argv,
        [
            "<validate>",
            "<--config>",
            "<dispatch.yaml>",
            "<--set>",
            "<channel=beta>"
        ]
    );
}

/// The words the action builds from `vars` and `targets` are flags `run` and `check` take.
#[test]
fn run_and_check_accept_set_and_target() {
    let cli = orchestrator::cli::Cli::command();
    for command in ["run", "check"] {
        let sub = cli.find_subcommand(command).unwrap();
        for long in ["set", "target"] {
            assert!(
                sub.get_arguments().any(|a| a.get_long() == Some(long)),
                "`orchestrator {command}` has no --{long}"
            );
        }
    }
}

/// A release name with spaces reaches the payload through the real binary.
#[test]
fn a_value_with_spaces_from_vars_reaches_the_payload() {
    let dir = crate::support::cli::config_dir(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [site, docs]\ntargets:\n  site:\n    repository: o/site\n    event_type: release\n    token_env: APP_TOKEN\n    client_payload:\n      title: \"{{vars.title}}\"\n  docs:\n    repository: o/docs\n    event_type: release\n    token_env: APP_TOKEN\n",
    );
    let runner = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(installed(runner.path()).parent().unwrap()).unwrap();
    crate::support::executable::place(
        &assert_cmd::cargo::cargo_bin("orchestrator"),
        &installed(runner.path()),
    );
    let output = run_step(
        "run",
        runner.path(),
        dir.path(),
        &[
            ("INPUT_COMMAND", "run"),
            ("INPUT_SOURCE", "app"),
            ("INPUT_VERSION", "refs/tags/v1.2.3"),
            ("INPUT_CONFIG", "dispatch.yaml"),
            ("INPUT_DRY_RUN", "true"),
            ("INPUT_VARS", "title=My big release"),
            ("INPUT_TARGETS", "site"),
            ("INPUT_ARGS", "--no-progress"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runner.path().join("orchestrator-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["version"], "1.2.3");
    assert_eq!(report["summary"]["planned"], 1);
    assert_eq!(
        report["targets"][0]["body"]["client_payload"]["title"],
        "My big release"
    );
}

/// `comment: true` on a dry run: the run step writes the plan's Markdown once (the job summary
/// and step outputs are not written twice), and the comment step posts it to the pull request
/// with the workflow's token, as `orchestrator comment`.
#[test]
fn comment_true_posts_the_dry_runs_plan_on_the_pull_request() {
    use crate::support::{FakeGitHub, Reply};
    let dir = example_dir();
    let runner = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(installed(runner.path()).parent().unwrap()).unwrap();
    crate::support::executable::place(
        &assert_cmd::cargo::cargo_bin("orchestrator"),
        &installed(runner.path()),
    );
    let inputs = [
        ("INPUT_COMMAND", "run"),
        ("INPUT_SOURCE", "dot-ai"),
        ("INPUT_VERSION", "v1.2.3"),
        ("INPUT_CONFIG", "dispatch.yaml"),
        ("INPUT_DRY_RUN", "true"),
        ("INPUT_VARS", ""),
        ("INPUT_TARGETS", ""),
        ("INPUT_ARGS", "--no-progress"),
        ("INPUT_COMMENT", "true"),
    ];
    let output = run_step("run", runner.path(), dir.path(), &inputs);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let written = std::fs::read_to_string(runner.path().join("outputs")).unwrap();
    assert_eq!(written.matches("delivered=").count(), 1, "{written}");
    assert!(written.contains("planned=2\n"), "{written}");
    let markdown = runner.path().join("orchestrator-comment.md");
    assert!(written.contains(&format!("comment_file={}", markdown.display())));
    let summary = std::fs::read_to_string(runner.path().join("summary.md")).unwrap();
    assert_eq!(
        summary.matches("### orchestrator dry run").count(),
        1,
        "{summary}"
    );

    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/acme/app/issues/7/comments",
        Reply::status(200).json(serde_json::json!([])),
    );
    github.on(
        "POST",
        "/repos/acme/app/issues/7/comments",
        Reply::status(201).json(serde_json::json!({"id": 3})),
    );
    let markdown = markdown.display().to_string();
    let base = github.base_url();
    let comment = run_step(
        "comment",
        runner.path(),
        dir.path(),
        &[
            ("GITHUB_TOKEN", "ghs_workflowTOKENvalue000000000000000003"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_API_URL", &base),
            ("PR_NUMBER", "7"),
            ("INPUT_COMMAND", "run"),
            ("INPUT_CONFIG", "dispatch.yaml"),
            ("COMMENT_FILE", &markdown),
        ],
    );
    assert_eq!(comment.status.code(), Some(0), "{}", text(&comment));
    let posted = github
        .requests_to("/repos/acme/app/issues/7/comments")
        .pop()
        .unwrap();
    let body = posted.body_json()["body"].as_str().unwrap().to_owned();
    assert!(
        body.starts_with("<!-- orchestrator:dispatch.yaml:run -->\n"),
        "{body}"
    );
    assert!(body.contains("dot-ai"), "{body}");
}

#[test]
fn comment_true_on_a_real_run_is_refused_before_anything_runs() {
    let runner = tempfile::tempdir().unwrap();
    let output = run_step(
        "run",
        runner.path(),
        runner.path(),
        &[
            ("INPUT_COMMAND", "run"),
            ("INPUT_SOURCE", "dot-ai"),
            ("INPUT_VERSION", "1.2.3"),
            ("INPUT_CONFIG", "dispatch.yaml"),
            ("INPUT_DRY_RUN", "false"),
            ("INPUT_VARS", ""),
            ("INPUT_TARGETS", ""),
            ("INPUT_ARGS", ""),
            ("INPUT_COMMENT", "true"),
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains(
        "::error title=orchestrator::comment: true posts a dry run's plan (dry-run: true), a diff or validate's findings"
    ));
    assert!(!runner.path().join("orchestrator-comment.md").exists());
}
