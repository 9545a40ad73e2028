//! `check` never says ready or not ready on what it could not read: every page of the
//! workflow list, lists cut short, workflow files GitHub refuses or never answers, and one
//! time budget for all of a target's reads.

use crate::check::{serve_repo, WEBSITE_WORKFLOW};
use crate::support::cli::{config_dir, orchestrator, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply, Script};
use serde_json::{json, Value};

const SITE: &str = "version: 1
sources:
  app: {repository: acme/site, targets: [site]}
targets:
  site:
    repository: acme/site
    event_type: upstream-release
    token_env: WEBSITE_DISPATCH_TOKEN
";

const WORKFLOWS: &str = "/repos/acme/site/actions/workflows";
const FILES: &str = "/repos/acme/site/contents/.github/workflows";

/// `check --output json` on the one target, with `extra` flags: the exit code and the target's
/// verdict as the report gives it.
fn check_site(github: &FakeGitHub, extra: &[&str]) -> (Option<i32>, Value) {
    check_config(SITE, github, extra)
}

fn check_config(config: &str, github: &FakeGitHub, extra: &[&str]) -> (Option<i32>, Value) {
    let dir = config_dir(config);
    let output = orchestrator(dir.path())
        .args(["check", "--api-url", &github.base_url(), "--output", "json"])
        .args(["--backoff-ms", "10"])
        .args(extra)
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), report["targets"][0].clone())
}

/// A page of the workflow list: `count` active workflows that are not `rebuild.yml`.
fn page_of_others(first: usize, count: usize) -> Vec<Value> {
    (first..first + count)
        .map(|n| json!({"id": n, "path": format!(".github/workflows/other-{n}.yml"), "state": "active"}))
        .collect()
}

fn next_link(github: &FakeGitHub, page: u32) -> String {
    // GitHub names the repository by id in its links.
    format!(
        "<{}/repositories/1/actions/workflows?per_page=100&page={page}>; rel=\"next\"",
        github.base_url()
    )
}

#[test]
fn a_disabled_listener_on_the_second_page_of_workflows_makes_it_not_ready() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    let disabled = json!({"path": ".github/workflows/rebuild.yml", "state": "disabled_manually"});
    github.on(
        "GET",
        WORKFLOWS,
        [
            Reply::status(200)
                .header("link", next_link(&github, 2))
                .json(json!({"total_count": 101, "workflows": page_of_others(1, 100)})),
            Reply::status(200).json(json!({"total_count": 101, "workflows": [disabled]})),
        ],
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "not_ready", "{site:#}");
    assert!(
        site["reason"].as_str().unwrap().contains(
            "disabled workflows would: .github/workflows/rebuild.yml (disabled_manually)"
        ),
        "{site:#}"
    );
    // The second page was asked for at the configured API, not at the link's path.
    let pages = github.requests_to(WORKFLOWS);
    assert_eq!(pages.len(), 2);
    assert_eq!(
        pages[1].path,
        "/repos/acme/site/actions/workflows?per_page=100&page=2"
    );
}

#[test]
fn a_workflow_list_cut_short_is_cannot_tell_never_ready() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    github.on(
        "GET",
        WORKFLOWS,
        Reply::status(200).body(
            r#"{"total_count": 1, "workflows": [{"path": ".github/workflows/rebuild.yml", "sta"#,
        ),
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    let reason = site["reason"].as_str().unwrap();
    assert!(
        reason.contains("the list of workflows (actions/workflows) was not read whole"),
        "{reason}"
    );
}

#[test]
fn a_workflow_list_that_never_ends_or_links_elsewhere_is_cannot_tell() {
    let github = FakeGitHub::start();
    let elsewhere = FakeGitHub::other_host();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    let endless: Vec<Reply> = (1..=12)
        .map(|page| {
            Reply::status(200)
                .header("link", next_link(&github, page + 1))
                .json(json!({"workflows": page_of_others(page as usize * 100, 100)}))
        })
        .collect();
    github.on("GET", WORKFLOWS, Script::new(endless));
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("stopped after 10 pages"),
        "{site:#}"
    );
    assert_eq!(github.requests_to(WORKFLOWS).len(), 10);

    let away = format!(
        "<{}/repos/acme/site/actions/workflows?page=2>; rel=\"next\"",
        elsewhere.base_url()
    );
    github.on(
        "GET",
        WORKFLOWS,
        Reply::status(200)
            .header("link", away)
            .json(json!({"workflows": page_of_others(1, 100)})),
    );
    let (_, site) = check_site(&github, &[]);
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"].as_str().unwrap().contains(&format!(
            "the next page's link points to {}",
            elsewhere.base_url()
        )),
        "{site:#}"
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the token went to another host"
    );
}

#[test]
fn a_directory_listing_cut_short_is_cannot_tell_not_nothing_listens() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    github.on(
        "GET",
        FILES,
        Reply::status(200).body(r#"[{"name": "rebuild.yml", "type": "file"}, {"name": "dep"#),
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("the listing of .github/workflows on `main` was not read whole"),
        "{site:#}"
    );
}

#[test]
fn a_forbidden_workflow_file_is_cannot_tell_with_the_permission_unless_another_listens() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    github.on(
        "GET",
        &format!("{FILES}/rebuild.yml"),
        Reply::status(403)
            .header("x-accepted-github-permissions", "contents=read")
            .json(json!({"message": "Resource not accessible by personal access token"})),
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    let reason = site["reason"].as_str().unwrap();
    assert!(
        reason.contains("1 of 1 workflow files could not be read (.github/workflows/rebuild.yml cannot be read)"),
        "{reason}"
    );
    assert!(!reason.contains("listens for"), "{reason}");
    assert_eq!(site["needs"], "Contents: read (GitHub: contents=read)");

    // Another file that can be read and listens is enough to be ready.
    serve_repo(
        &github,
        "acme/site",
        &[
            ("rebuild.yml", WEBSITE_WORKFLOW),
            ("secret.yml", "on: push\n"),
        ],
    );
    github.on(
        "GET",
        &format!("{FILES}/secret.yml"),
        Reply::status(403).header("x-accepted-github-permissions", "contents=read"),
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(0), "{site:#}");
    assert_eq!(site["verdict"], "ready", "{site:#}");
    assert!(site["evidence"]
        .to_string()
        .contains("not read: .github/workflows/secret.yml"));
}

#[test]
fn a_workflow_file_that_keeps_failing_or_never_answers_is_cannot_tell() {
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    let file = format!("{FILES}/rebuild.yml");
    github.on("GET", &file, Reply::server_error(503));
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("GitHub answered 503"),
        "{site:#}"
    );
    assert_eq!(github.requests_to(&file).len(), 3);

    github.on(
        "GET",
        &file,
        Reply::hang(std::time::Duration::from_secs(600)),
    );
    let (code, site) = check_site(&github, &["--timeout", "200ms"]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("rebuild.yml: no answer within 0.2 s"),
        "{site:#}"
    );
}

#[test]
fn a_hundred_files_that_never_answer_stop_at_the_targets_time_for_reads() {
    let github = FakeGitHub::start();
    let names: Vec<String> = (0..100).map(|n| format!("w{n}.yml")).collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "on: push\n")).collect();
    serve_repo(&github, "acme/site", &files);
    github.on(
        "GET",
        &format!("{FILES}/*"),
        Reply::hang(std::time::Duration::from_secs(600)),
    );
    let (code, site) = check_site(&github, &["--timeout", "200ms", "--deadline", "600ms"]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("stopped after 0.6 s: 0 of 100 workflow files read"),
        "{site:#}"
    );
    // The budget stops the reads: a few attempts, not 100 files' worth.
    assert!(github.requests_to(&format!("{FILES}/*")).len() <= 5);
}

#[test]
fn a_workflow_answer_cut_short_is_cannot_tell_not_a_workflow_without_a_state() {
    let github = FakeGitHub::start();
    serve_repo(
        &github,
        "acme/ops",
        &[("deploy.yml", "on: workflow_dispatch\n")],
    );
    github.on(
        "GET",
        "/repos/acme/ops/actions/workflows/deploy.yml",
        Reply::status(200)
            .body(r#"{"id": 1, "path": ".github/workflows/deploy.yml", "state": "disab"#),
    );
    let config = "version: 1
sources:
  app: {repository: acme/app, targets: [deploy]}
targets:
  deploy:
    kind: workflow_dispatch
    repository: acme/ops
    workflow: deploy.yml
    token_env: WEBSITE_DISPATCH_TOKEN
";
    let (code, deploy) = check_config(config, &github, &[]);
    assert_eq!(code, Some(1), "{deploy:#}");
    assert_eq!(deploy["verdict"], "cannot_tell", "{deploy:#}");
    assert!(
        deploy["reason"]
            .as_str()
            .unwrap()
            .contains("GitHub's answer about the workflow `deploy.yml` is not the JSON it sends"),
        "{deploy:#}"
    );
}

#[test]
fn a_workflow_list_that_fails_or_never_answers_is_cannot_tell_but_one_hidden_from_the_token_is_not()
{
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    github.on("GET", WORKFLOWS, Reply::server_error(503));
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("the list of workflows (actions/workflows): GitHub answered 503"),
        "{site:#}"
    );

    github.on(
        "GET",
        WORKFLOWS,
        Reply::hang(std::time::Duration::from_secs(600)),
    );
    let (_, site) = check_site(&github, &["--timeout", "200ms"]);
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("page 1 got no answer"),
        "{site:#}"
    );

    // A token without Actions: read still gets a verdict, with the caveat in its evidence.
    github.on(
        "GET",
        WORKFLOWS,
        Reply::status(403)
            .header("x-accepted-github-permissions", "actions=read")
            .json(json!({"message": "Resource not accessible by personal access token"})),
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(0), "{site:#}");
    assert_eq!(site["verdict"], "ready", "{site:#}");
    assert!(
        site["evidence"]
            .to_string()
            .contains("workflow states are not visible (needs Actions: read)"),
        "{site:#}"
    );
}

#[test]
fn a_link_header_that_cannot_be_read_is_cannot_tell_not_a_one_page_list() {
    // The next page (where the listener is disabled) hides behind an element that is not a
    // link; no `total_count` gives it away.
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("rebuild.yml", WEBSITE_WORKFLOW)]);
    let listener = json!({"path": ".github/workflows/rebuild.yml", "state": "active"});
    github.on(
        "GET",
        WORKFLOWS,
        Reply::status(200)
            .header(
                "link",
                format!("</x>; rel=\"prev\", first, {}", next_link(&github, 2)),
            )
            .json(json!({"workflows": [listener]})),
    );
    let (code, site) = check_site(&github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("`Link` header cannot be read"),
        "{site:#}"
    );
}

#[test]
fn a_listener_whose_state_entry_could_not_be_read_is_cannot_tell_unless_another_hears_it() {
    // b.yml's entry is not a workflow GitHub would send (its state is an object): it may be
    // disabled. Alone it cannot make the target ready; beside an active a.yml it need not.
    let entries = |with_a: bool| {
        let mut list =
            vec![json!({"path": ".github/workflows/b.yml", "state": {"disabled_manually": 1}})];
        if with_a {
            list.push(json!({"path": ".github/workflows/a.yml", "state": "active"}));
        }
        json!({"total_count": list.len(), "workflows": list})
    };
    for (with_a, verdict) in [(false, "cannot_tell"), (true, "ready")] {
        let github = FakeGitHub::start();
        let mut files = vec![("b.yml", WEBSITE_WORKFLOW)];
        if with_a {
            files.push(("a.yml", WEBSITE_WORKFLOW));
        }
        serve_repo(&github, "acme/site", &files);
        github.on("GET", WORKFLOWS, Reply::status(200).json(entries(with_a)));
        let (_, site) = check_site(&github, &[]);
        assert_eq!(site["verdict"], verdict, "with a.yml: {with_a}: {site:#}");
    }
}

#[test]
fn a_major_series_heard_only_by_a_workflow_of_unknown_state_is_cannot_tell() {
    // x.yml (active) hears 1.x releases; y.yml hears 2.x, but its entry in the workflow list
    // cannot be read, so it may be disabled: 2.x releases may go unheard.
    let config = "version: 1\nsources:\n  lib: {repository: acme/lib, targets: [site]}\ntargets:\n  site:\n    repository: acme/site\n    event_type: \"lib-{{major}}.x-release\"\n    token_env: WEBSITE_DISPATCH_TOKEN\n    when: {version: \">=1, <3\"}\n";
    let listing = |t: &str| format!("on:\n  repository_dispatch:\n    types: [{t}]\njobs: {{}}\n");
    let (x, y) = (listing("lib-1.x-release"), listing("lib-2.x-release"));
    let github = FakeGitHub::start();
    serve_repo(&github, "acme/site", &[("x.yml", &x), ("y.yml", &y)]);
    github.on(
        "GET",
        WORKFLOWS,
        Reply::status(200).json(json!({"total_count": 2, "workflows": [
            {"path": ".github/workflows/x.yml", "state": "active"},
            {"path": ".github/workflows/y.yml", "state": {"disabled_manually": 1}},
        ]})),
    );
    let (code, site) = check_config(config, &github, &[]);
    assert_eq!(code, Some(1), "{site:#}");
    assert_eq!(site["verdict"], "cannot_tell", "{site:#}");
    assert!(
        site["reason"].as_str().unwrap().contains("y.yml"),
        "{site:#}"
    );
}

#[test]
fn at_most_four_answers_are_held_at_once_whatever_the_number_of_targets() {
    // Slow answers: a check holding one per target in flight would hold all twenty.
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/o/*",
        Reply::status(200)
            .json(json!({"default_branch": "main"}))
            .delay(std::time::Duration::from_millis(300)),
    );
    let dir = config_dir(&crate::support::cli::many_targets(20));
    let output = orchestrator(dir.path())
        .args(["check", "--api-url", &github.base_url(), "--output", "json"])
        .args(["--concurrency", "20"])
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["targets"].as_array().unwrap().len(), 20);
    // Four turns; the fake counts a request until its handler has finished writing, which
    // may be just after the client took the answer and started the next read in that turn.
    assert!(
        github.max_in_flight() <= 8,
        "{} requests in flight at once",
        github.max_in_flight()
    );
}
