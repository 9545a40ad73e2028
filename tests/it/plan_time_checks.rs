//! Trust at the boundary, at plan time (issue 10, items 13, 14 and 17): whatever is rendered or
//! resolved is checked before anything is sent, no value that may be a secret is echoed, and
//! validating a file within the documented limits takes seconds, not minutes.

use crate::support::cli::{config_dir, orchestrator, WEBSITE_TOKEN};
use crate::support::FakeGitHub;
use std::process::Output;
use std::time::{Duration, Instant};

/// A legacy classic token: 40 hex digits, no prefix.
const LEGACY_TOKEN: &str = "4f9c2b7e1d0a8c3f6e5b4a3928171605f4e3d2c1";

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Fails if any 10 consecutive characters of `secret` appear in the output.
fn assert_no_fragment(output: &Output, secret: &str) {
    let all = text(output);
    for start in 0..=secret.len() - 10 {
        let fragment = &secret[start..start + 10];
        assert!(
            !all.contains(fragment),
            "`{fragment}` of the secret was printed:\n{all}"
        );
    }
}

/// A GitHub target listed first (so a late failure would come after it was sent) and a webhook
/// with `extra` under it, both on `github`.
fn two_targets(github: &FakeGitHub, webhook: &str) -> String {
    format!(
        "version: 1
defaults:
  api_url: {base}
  rate_limit: unlimited
sources:
  app: {{repository: acme/app, targets: [website, hook]}}
targets:
  website:
    repository: acme/website
    event_type: release
    token_env: WEBSITE_TOKEN
  hook:
    kind: webhook
{webhook}",
        base = github.base_url()
    )
}

fn run(dir: &std::path::Path, extra: &[&str]) -> Output {
    orchestrator(dir)
        .args(["run", "--source", "app", "--version", "1.2.3"])
        .args(["--max-attempts", "1"])
        .args(extra)
        .env("WEBSITE_TOKEN", WEBSITE_TOKEN)
        .output()
        .expect("runs")
}

#[test]
fn a_header_value_with_a_line_break_from_set_fails_validate_and_run_sends_nothing() {
    let github = FakeGitHub::start();
    let hook = format!(
        "    url: {}/hook\n    headers:\n      X-Note: \"{{{{vars.note}}}}\"\n",
        github.base_url()
    );
    let dir = config_dir(&two_targets(&github, &hook));
    let set = ["--set", "note=a\nb"];

    let validate = orchestrator(dir.path())
        .arg("validate")
        .args(set)
        .output()
        .expect("runs");
    assert_eq!(validate.status.code(), Some(1), "{}", text(&validate));
    let shown = text(&validate);
    assert!(
        shown.contains("dispatch.yaml:16:7: error[render] targets.hook.headers.X-Note"),
        "{shown}"
    );
    assert!(shown.contains("line break"), "{shown}");
    assert!(shown.contains("`--set note`"), "{shown}");

    let dry_run = run(dir.path(), &[&set[..], &["--dry-run"]].concat());
    assert_eq!(dry_run.status.code(), Some(2), "{}", text(&dry_run));
    assert!(
        text(&dry_run).contains("`--set note`"),
        "{}",
        text(&dry_run)
    );

    let sent = run(dir.path(), &set);
    assert_eq!(sent.status.code(), Some(2), "{}", text(&sent));
    assert!(text(&sent).contains("nothing was sent"), "{}", text(&sent));
    assert!(text(&sent).contains("targets.hook.headers.X-Note"));
    assert_eq!(github.requests().len(), 0, "{:?}", github.requests());
}

#[test]
fn a_header_value_that_is_not_ascii_or_too_long_is_refused_before_sending() {
    let github = FakeGitHub::start();
    let hook = format!(
        "    url: {}/hook\n    headers:\n      X-Note: \"{{{{vars.note}}}}\"\n",
        github.base_url()
    );
    let dir = config_dir(&two_targets(&github, &hook));
    for value in ["café".to_owned(), "x".repeat(5000), "a\tb".to_owned()] {
        let sent = run(dir.path(), &["--set", &format!("note={value}")]);
        assert_eq!(sent.status.code(), Some(2), "{}", text(&sent));
        assert!(text(&sent).contains("targets.hook.headers.X-Note"));
    }
    assert_eq!(github.requests().len(), 0);
}

#[test]
fn a_webhook_url_written_as_a_template_is_refused_rather_than_sent_as_written() {
    let github = FakeGitHub::start();
    let hook = format!("    url: \"{}/{{{{vars.path}}}}\"\n", github.base_url());
    let dir = config_dir(&two_targets(&github, &hook));
    let validate = orchestrator(dir.path())
        .args(["validate", "--set", "path=hook"])
        .output()
        .expect("runs");
    assert_eq!(validate.status.code(), Some(1), "{}", text(&validate));
    assert!(text(&validate).contains("error[invalid_url] targets.hook.url"));

    let sent = run(dir.path(), &["--set", "path=hook"]);
    assert_eq!(sent.status.code(), Some(2), "{}", text(&sent));
    assert_eq!(github.requests().len(), 0);
}

#[test]
fn a_url_env_value_without_a_scheme_is_refused_without_printing_any_of_it() {
    let github = FakeGitHub::start();
    let dir = config_dir(&two_targets(&github, "    url_env: BUILD_HOOK\n"));
    let hook = "api.netlify.com/build_hooks/5f3e9a7c1b2d4e6f8a0b1c2d";
    for extra in [&["--dry-run"][..], &[]] {
        let output = orchestrator(dir.path())
            .args(["run", "--source", "app", "--version", "1.2.3"])
            .args(extra)
            .env("WEBSITE_TOKEN", WEBSITE_TOKEN)
            .env("BUILD_HOOK", hook)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let shown = text(&output);
        assert!(
            shown.contains("targets.hook.url_env: `BUILD_HOOK` does not hold a usable URL"),
            "{shown}"
        );
        assert!(shown.contains("no scheme"), "{shown}");
        assert_no_fragment(&output, hook);
    }
    assert_eq!(github.requests().len(), 0);
}

#[test]
fn a_url_env_value_that_is_not_http_is_refused_before_anything_is_sent() {
    let github = FakeGitHub::start();
    let dir = config_dir(&two_targets(&github, "    url_env: BUILD_HOOK\n"));
    for hook in [
        "ftp://127.0.0.1/build_hooks/5f3e9a7c1b2d4e6f",
        "http://hooks.example.com/build_hooks/5f3e9a7c1b2d4e6f",
        "https://user:5f3e9a7c1b2d4e6f@hooks.example.com/x",
    ] {
        let output = orchestrator(dir.path())
            .args(["run", "--source", "app", "--version", "1.2.3"])
            .env("WEBSITE_TOKEN", WEBSITE_TOKEN)
            .env("BUILD_HOOK", hook)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert!(text(&output).contains("targets.hook.url_env"));
        assert_no_fragment(&output, "5f3e9a7c1b2d4e6f");
    }
    assert_eq!(github.requests().len(), 0);
}

#[test]
fn a_legacy_40_hex_token_in_token_env_is_refused_without_echoing_it() {
    let yaml = format!(
        "version: 1\nsources:\n  app: {{repository: o/app, targets: [web, hook]}}\ntargets:\n  web:\n    repository: o/web\n    event_type: release\n    token_env: {LEGACY_TOKEN}\n  hook:\n    kind: webhook\n    url_env: {LEGACY_TOKEN}\n"
    );
    let dir = config_dir(&yaml);
    for args in [
        &["validate"][..],
        &["run", "--source", "app", "--version", "1.0.0", "--dry-run"],
        &["run", "--source", "app", "--version", "1.0.0"],
    ] {
        let output = orchestrator(dir.path()).args(args).output().expect("runs");
        assert!(matches!(output.status.code(), Some(1 | 2)), "{args:?}");
        let shown = text(&output);
        assert!(
            shown.contains("error[invalid_token_env] targets.web.token_env: token_env holds what looks like a token"),
            "{shown}"
        );
        assert!(
            shown.contains("targets.hook.url_env: url_env holds what looks like a token"),
            "{shown}"
        );
        assert_no_fragment(&output, LEGACY_TOKEN);
    }
}

#[test]
fn a_token_in_orchestrator_concurrency_or_a_setting_flag_is_refused_without_echoing_it() {
    let dir = config_dir(
        "version: 1\nsources:\n  app: {repository: o/app, targets: [web]}\ntargets:\n  web: {repository: o/web, event_type: e, token_env: T}\n",
    );
    let numeric = "1234567890123456789012345678901234567890";
    for token in [LEGACY_TOKEN, numeric, WEBSITE_TOKEN] {
        for args in [
            &["validate"][..],
            &["run", "--source", "app", "--version", "1.0.0", "--dry-run"],
        ] {
            let output = orchestrator(dir.path())
                .args(args)
                .env("ORCHESTRATOR_CONCURRENCY", token)
                .output()
                .expect("runs");
            assert!(matches!(output.status.code(), Some(1 | 2)), "{args:?}");
            assert!(text(&output).contains("ORCHESTRATOR_CONCURRENCY"));
            assert_no_fragment(&output, token);

            let output = orchestrator(dir.path())
                .args(args)
                .env(
                    "ORCHESTRATOR_API_URL",
                    format!("https://{token}@ghe.example.com"),
                )
                .args(["--rate-limit", token])
                .output()
                .expect("runs");
            assert!(matches!(output.status.code(), Some(1 | 2)), "{args:?}");
            let shown = text(&output);
            assert!(shown.contains("defaults.api_url"), "{shown}");
            assert!(shown.contains("defaults.rate_limit"), "{shown}");
            assert_no_fragment(&output, token);
        }
    }
}

#[test]
fn a_token_passed_to_a_numeric_flag_is_refused_without_echoing_it() {
    let dir = config_dir("version: 1\n");
    for flag in ["--concurrency", "--timeout", "--max-attempts"] {
        let output = orchestrator(dir.path())
            .args(["validate", flag, LEGACY_TOKEN])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert!(
            text(&output).contains("looks like a token"),
            "{}",
            text(&output)
        );
        assert_no_fragment(&output, LEGACY_TOKEN);
    }
}

/// 10,000 sources sharing one 16-target list through a YAML anchor, each target with its own
/// ~3.6 KiB template that walks the whole context with `{{#each this}}`: every documented limit
/// is kept (about 500 KB, templates under 64 KiB together).
fn amplification_file() -> String {
    let mut yaml = String::from("version: 1\ntargets:\n");
    for t in 0..16 {
        let body = format!("{{{{#if @first}}}}{t}{{{{/if}}}}").repeat(160);
        yaml.push_str(&format!(
            "  t{t}:\n    repository: o/t{t}\n    event_type: e\n    token_env: T\n    client_payload: {{k: \"{{{{#each this}}}}{body}{{{{/each}}}}\"}}\n"
        ));
    }
    let list: Vec<String> = (0..16).map(|t| format!("t{t}")).collect();
    yaml.push_str(&format!(
        "sources:\n  s0: {{repository: o/r0, targets: &all [{}]}}\n",
        list.join(", ")
    ));
    for s in 1..10_000 {
        yaml.push_str(&format!("  s{s}: {{repository: o/r{s}, targets: *all}}\n"));
    }
    yaml
}

#[test]
fn validating_10000_sources_that_alias_16_heavy_templates_takes_seconds() {
    const DEADLINE: Duration = Duration::from_secs(20);
    let yaml = amplification_file();
    assert!((400_000..600_000).contains(&yaml.len()), "{}", yaml.len());
    let dir = config_dir(&yaml);
    let commands: [&[&str]; 2] = [
        &["validate"],
        &[
            "run",
            "--dry-run",
            "--source",
            "s9999",
            "--version",
            "1.2.3",
        ],
    ];
    for args in commands {
        let started = Instant::now();
        let output = orchestrator(dir.path())
            .args(args)
            .timeout(DEADLINE)
            .output()
            .expect("runs");
        let took = started.elapsed();
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output));
        assert!(took < DEADLINE, "{args:?} took {took:?}");
        eprintln!("{args:?} took {took:?}");
    }
}

#[test]
fn a_template_that_differs_for_one_source_is_still_checked_for_that_source() {
    // `eq` makes the output depend on the source's name, so every source is rendered.
    let yaml = "version: 1
sources:
  a: {repository: o/a, targets: [web]}
  b: {repository: o/b, targets: [web]}
targets:
  web:
    repository: o/web
    event_type: e
    token_env: T
    client_payload:
      v: \"{{#if (eq source.name 'b')}}{{vars.missing}}{{/if}}\"
";
    let dir = config_dir(yaml);
    let output = orchestrator(dir.path())
        .arg("validate")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("vars.missing"), "{}", text(&output));
}

#[test]
fn the_longest_source_name_is_checked_against_the_event_type_limit() {
    // 100 characters is GitHub's limit: only the source with the long name goes past it.
    let long = "l".repeat(95);
    let yaml = format!(
        "version: 1
sources:
  a: {{repository: o/a, targets: [web]}}
  {long}: {{repository: o/b, targets: [web]}}
  c: {{repository: o/c, targets: [web]}}
targets:
  web:
    repository: o/web
    event_type: \"{{{{source.name}}}}-release\"
    token_env: T
"
    );
    let dir = config_dir(&yaml);
    let output = orchestrator(dir.path())
        .arg("validate")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("event_type renders to 103 characters"),
        "{}",
        text(&output)
    );
}
