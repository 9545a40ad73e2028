//! `orchestrator comment` against a fake GitHub: one pull-request comment per file and command,
//! updated in place on every push, never someone else's, with requests as GitHub's OpenAPI
//! describes them.

use crate::support::cli::orchestrator;
use crate::support::{openapi, FakeGitHub, Reply, Script};
use serde_json::{json, Value};

const TOKEN: &str = "ghs_workflowTOKENvalue000000000000000003";
const COMMENTS: &str = "/repos/acme/app/issues/7/comments";
const MARKER: &str = "<!-- orchestrator:dispatch.yaml:diff -->";

fn listed(id: u64, login: &str, body: &str) -> Value {
    json!({"id": id, "user": {"login": login, "type": "Bot"}, "body": body})
}

fn written(id: u64) -> Reply {
    Reply::status(200).json(json!({
        "id": id,
        "html_url": format!("https://github.com/acme/app/pull/7#issuecomment-{id}"),
        "body": "…",
    }))
}

/// Runs `comment --pr 7 --for diff` with `report` as the file; (exit code, stdout, stderr).
fn post(github: &FakeGitHub, report: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("diff.md"), report).unwrap();
    let out = orchestrator(dir.path())
        .args(["comment", "--pr", "7", "--for", "diff", "--file", "diff.md"])
        .args(["--repo", "acme/app", "--api-url", &github.base_url()])
        .args(extra)
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn a_pull_request_without_our_comment_gets_one_that_starts_with_the_marker() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        COMMENTS,
        Reply::status(200).json(json!([listed(1, "octocat", "Looks good to me"),])),
    );
    github.on("POST", COMMENTS, written(9));
    let (code, stdout, stderr) = post(&github, "### dispatch.yaml\n\nNo change.\n", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "posted comment 9 on pull request #7 of acme/app: https://github.com/acme/app/pull/7#issuecomment-9\n"
    );
    let list = &github.requests_to(COMMENTS)[0];
    openapi::assert_request_matches("issues/list-comments", list);
    assert_eq!(list.path, format!("{COMMENTS}?per_page=20"));
    let created = github
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    openapi::assert_request_matches("issues/create-comment", &created);
    assert_eq!(
        created.body_json()["body"],
        format!("{MARKER}\n### dispatch.yaml\n\nNo change.\n")
    );
}

#[test]
fn our_comment_on_a_later_page_is_updated_in_place_and_nothing_is_added() {
    let github = FakeGitHub::start();
    let next = format!(
        "<{}{COMMENTS}?per_page=20&page=2>; rel=\"next\"",
        github.base_url()
    );
    github.on(
        "GET",
        COMMENTS,
        Script::new([
            Reply::status(200)
                .header("link", next)
                .json(json!([listed(1, "octocat", "hi")])),
            Reply::status(200).json(json!([listed(
                42,
                "github-actions[bot]",
                &format!("{MARKER}\nold plan")
            )])),
        ]),
    );
    github.on("PATCH", "/repos/acme/app/issues/comments/42", written(42));
    let (code, stdout, stderr) = post(&github, "new plan\n", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("updated comment 42 on pull request #7 of acme/app"),
        "{stdout}"
    );
    let sent: Vec<_> = github.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(sent, ["GET", "GET", "PATCH"]);
    let patched = github
        .requests_to("/repos/acme/app/issues/comments/42")
        .remove(0);
    openapi::assert_request_matches("issues/update-comment", &patched);
    assert_eq!(patched.body_json()["body"], format!("{MARKER}\nnew plan\n"));
}

#[test]
fn a_comment_by_someone_else_that_holds_the_marker_is_never_edited() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        COMMENTS,
        Reply::status(200).json(json!([listed(
            5,
            "mallory",
            &format!("{MARKER}\nclick here")
        ),])),
    );
    github.on("POST", COMMENTS, written(6));
    let (code, stdout, _) = post(&github, "plan\n", &[]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("posted comment 6"), "{stdout}");
    assert!(github.requests().iter().all(|r| r.method != "PATCH"));
}

#[test]
fn an_author_named_with_author_is_trusted_too() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        COMMENTS,
        Reply::status(200).json(json!(
            [listed(5, "release-bot", &format!("{MARKER}\nold")),]
        )),
    );
    github.on("PATCH", "/repos/acme/app/issues/comments/5", written(5));
    let (code, stdout, _) = post(&github, "plan\n", &["--author", "release-bot"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("updated comment 5"), "{stdout}");
}

#[test]
fn a_token_without_the_permission_is_told_which_one_it_needs() {
    let github = FakeGitHub::start();
    github.on("GET", COMMENTS, Reply::status(200).json(json!([])));
    github.on(
        "POST",
        COMMENTS,
        Reply::status(403)
            .header("x-accepted-github-permissions", "pull_requests=write")
            .json(json!({"message": "Resource not accessible by integration"})),
    );
    let (code, _, stderr) = post(&github, "plan\n", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: GitHub answered 403 when asked to write the comment on pull request #7 of acme/app: Resource not accessible by integration\n  \
help: the token needs `pull-requests: write` on the repository (GitHub names `pull_requests=write`): in a workflow, give the job `permissions: { pull-requests: write }` and pass `GITHUB_TOKEN: ${{ github.token }}`\n"
    );
}

#[test]
fn comments_that_cannot_be_read_whole_post_nothing() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        COMMENTS,
        Reply::status(200).body("<html>proxy</html>"),
    );
    let (code, _, stderr) = post(&github, "plan\n", &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: cannot tell whether pull request #7 already has our comment: its comments were not read whole (page 1:"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was posted"), "{stderr}");
    assert!(github.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn a_report_longer_than_a_comment_holds_is_cut_with_a_note() {
    let github = FakeGitHub::start();
    github.on("GET", COMMENTS, Reply::status(200).json(json!([])));
    github.on("POST", COMMENTS, written(9));
    let report = "| website | delivered |\n".repeat(4_000);
    let (code, _, stderr) = post(&github, &report, &[]);
    assert_eq!(code, 0, "{stderr}");
    let created = github
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    let body = created.body_json()["body"].as_str().unwrap().to_owned();
    assert!(body.chars().count() <= 65_536);
    assert!(body.starts_with(MARKER));
    assert!(body.contains(
        "**Cut short:** this report is 96,000 characters, more than the 65,536 a GitHub comment holds"
    ), "{}", &body[body.len() - 400..]);
}

#[test]
fn without_a_token_it_says_how_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.md"), "plan").unwrap();
    let out = orchestrator(dir.path())
        .args([
            "comment", "--pr", "7", "--file", "plan.md", "--repo", "acme/app",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: GITHUB_TOKEN is not set: the comment is posted with it\n  \
help: in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}`, with `permissions: { pull-requests: write }`\n"
    );
}

#[test]
fn a_server_error_is_reported_as_it_is_without_a_permission_hint() {
    let github = FakeGitHub::start();
    github.on("GET", COMMENTS, Reply::server_error(502));
    let (code, _, stderr) = post(&github, "plan\n", &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: GitHub answered 502 when asked to read its comments on pull request #7 of acme/app"),
        "{stderr}"
    );
    assert!(!stderr.contains("help:"), "{stderr}");
    assert!(github.requests().iter().all(|r| r.method == "GET"));
}
