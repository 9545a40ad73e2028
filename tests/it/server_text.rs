//! The gate for server text: a server's names reach every output as the literal text they are.
//! `check` against a server whose names are hostile (a default branch that is HTML, workflow
//! file names and event types that are Markdown links, mentions, backticks and a right-to-left
//! override): the Markdown report and the job summary render no image, link or mention; text,
//! JSON and annotations show U+202E escaped. And no module escapes a channel its own way.

use crate::support::cli::{config_dir, orchestrator, WEBSITE_TOKEN};
use crate::support::{FakeGitHub, Reply};
use base64::Engine;
use serde_json::{json, Value};

/// A default branch that closes a code span and opens an image.
const BRANCH: &str = "main`<img src=x onerror=alert(1)>`";
/// A listening workflow's file name: a link, a mention, a code span and an RLO.
const FILE: &str = "[x](evil.example) @octocat `rm` \u{202e}lmx.yml";
/// An event type a workflow of the other repository listens for; its second line would pass
/// for a verdict of its own.
const EVENT_TYPE: &str = "[y](https://evil.example) @octocat `t` <img src=y> \u{202e}x\nready         forged (acme/forged, repository_dispatch): fine";
/// A disabled workflow of the other repository, named with an RLO.
const DISABLED: &str = "ci\u{202e}lmx.yml";

const CONFIG: &str = "version: 1
sources:
  app: {repository: acme/app, targets: [site, lib]}
targets:
  site:
    repository: acme/site
    event_type: upstream-release
    token_env: WEBSITE_DISPATCH_TOKEN
  lib:
    repository: acme/lib
    event_type: upstream-release
    token_env: WEBSITE_DISPATCH_TOKEN
";

fn file_reply(name: &str, text: &str) -> Reply {
    let content = base64::engine::general_purpose::STANDARD.encode(text);
    Reply::status(200)
        .json(json!({"type": "file", "name": name, "encoding": "base64", "content": content}))
}

fn listing(names: &[&str]) -> Reply {
    let entries: Vec<Value> = names
        .iter()
        .map(|name| json!({"name": name, "path": format!(".github/workflows/{name}"), "type": "file"}))
        .collect();
    Reply::status(200).json(Value::Array(entries))
}

fn listens_for(event_type: &str) -> String {
    let types = serde_json::to_string(event_type).unwrap();
    format!("on:\n  repository_dispatch:\n    types: [{types}]\njobs: {{}}\n")
}

/// `acme/site` is ready through [`FILE`] on [`BRANCH`]; `acme/lib` is not: its listener of
/// `upstream-release` is disabled, and its active workflow listens for [`EVENT_TYPE`].
fn hostile_github() -> FakeGitHub {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/acme/site",
        Reply::status(200).json(json!({"full_name": "acme/site", "default_branch": BRANCH})),
    );
    github.on(
        "GET",
        "/repos/acme/site/contents/.github/workflows",
        listing(&[FILE]),
    );
    github.on(
        "GET",
        "/repos/acme/site/contents/.github/workflows/*",
        file_reply(FILE, &listens_for("upstream-release")),
    );
    github.on(
        "GET",
        "/repos/acme/lib",
        Reply::status(200).json(json!({"full_name": "acme/lib", "default_branch": "main"})),
    );
    github.on(
        "GET",
        "/repos/acme/lib/contents/.github/workflows",
        listing(&["other.yml", DISABLED]),
    );
    // The later route wins where both match.
    github.on(
        "GET",
        "/repos/acme/lib/contents/.github/workflows/*",
        file_reply(DISABLED, &listens_for("upstream-release")),
    );
    github.on(
        "GET",
        "/repos/acme/lib/contents/.github/workflows/other.yml",
        file_reply("other.yml", &listens_for(EVENT_TYPE)),
    );
    github.on(
        "GET",
        "/repos/acme/lib/actions/workflows",
        Reply::status(200).json(json!({"total_count": 2, "workflows": [
            {"path": ".github/workflows/other.yml", "state": "active"},
            {"path": format!(".github/workflows/{DISABLED}"), "state": "disabled_manually"},
        ]})),
    );
    github
}

fn check(
    github: &FakeGitHub,
    extra: &[&str],
    env: &[(&str, &std::path::Path)],
) -> (i32, String, String) {
    let dir = config_dir(CONFIG);
    let mut command = orchestrator(dir.path());
    command
        .args(["check", "--api-url", &github.base_url()])
        .args(extra)
        .env("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// HTML as GitHub renders Markdown (cmark-gfm: tables, autolinks), raw HTML kept as GitHub
/// keeps an `<img>`.
fn gfm(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.render.r#unsafe = true;
    comrak::markdown_to_html(markdown, &options)
}

/// No image, no link, no mention, nothing raw: only the literal names, as text.
fn assert_renders_as_literal_text(markdown: &str) {
    let html = gfm(markdown);
    assert!(!html.contains("<img"), "an image: {html}");
    assert!(!html.contains("<a "), "a link: {html}");
    assert!(!markdown.contains("@octocat"), "a mention: {markdown}");
    assert!(!markdown.contains('\u{202e}'), "a raw RLO: {markdown}");
    // What the user reads is still the server's names, character for character.
    let read = html.replace('\u{2060}', "");
    assert!(
        read.contains("<code>main`&lt;img src=x onerror=alert(1)&gt;`</code>"),
        "{html}"
    );
    assert!(
        read.contains("[x](evil.example) @octocat `rm` \\u{202e}lmx.yml listen(s)"),
        "{html}"
    );
    assert!(
        read.contains("[y](https://evil.example) @octocat `t` &lt;img src=y&gt; \\u{202e}x"),
        "{html}"
    );
    assert!(
        read.contains("ci\\u{202e}lmx.yml (disabled_manually)"),
        "{html}"
    );
}

#[test]
fn check_markdown_shows_hostile_branch_file_and_event_type_names_as_literal_text() {
    let github = hostile_github();
    let (code, stdout, stderr) = check(&github, &["--output", "markdown"], &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("| ✅ | `site` |"), "{stdout}");
    assert!(stdout.contains("| ❌ | `lib` |"), "{stdout}");
    assert_renders_as_literal_text(&stdout);
}

#[test]
fn check_job_summary_shows_hostile_names_as_literal_text_and_annotations_escape_the_rlo() {
    let github = hostile_github();
    let runner = tempfile::tempdir().unwrap();
    let summary = runner.path().join("summary.md");
    let (code, stdout, stderr) = check(
        &github,
        &[],
        &[
            ("GITHUB_ACTIONS", std::path::Path::new("true")),
            ("GITHUB_STEP_SUMMARY", &summary),
        ],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_renders_as_literal_text(&std::fs::read_to_string(&summary).unwrap());
    let annotation = stderr
        .lines()
        .find(|l| l.starts_with("::error title=check%3A lib::"))
        .unwrap_or_else(|| panic!("no annotation for lib: {stderr}"));
    assert!(!annotation.contains('\u{202e}'), "{annotation}");
    assert!(
        annotation.contains("ci\\u{202e}lmx.yml (disabled_manually)"),
        "{annotation}"
    );
}

#[test]
fn check_text_and_json_show_a_right_to_left_override_escaped_and_a_line_break_forges_no_verdict() {
    let github = hostile_github();
    let (code, text, stderr) = check(&github, &[], &[]);
    assert_eq!(code, 1, "{text}\n{stderr}");
    assert!(!text.contains('\u{202e}'), "{text}");
    assert!(
        text.contains("[x](evil.example) @octocat `rm` \\u{202e}lmx.yml listen(s) for `upstream-release` on `main`<img src=x onerror=alert(1)>``"),
        "{text}"
    );
    assert!(
        text.contains("ci\\u{202e}lmx.yml (disabled_manually)"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|line| line.starts_with("ready         forged")),
        "a server's line break forged a verdict: {text}"
    );
    assert!(text.contains("\\u{a}ready         forged"), "{text}");

    let (_, json, _) = check(&github, &["--output", "json"], &[]);
    assert!(!json.contains('\u{202e}'), "{json}");
    let report: Value = serde_json::from_str(&json).unwrap();
    let lib = &report["targets"][1];
    assert_eq!(lib["target"], "lib");
    let reason = lib["reason"].as_str().unwrap();
    assert!(
        reason.contains("ci\\u{202e}lmx.yml (disabled_manually)"),
        "{reason}"
    );
    assert!(reason.contains("<img src=y> \\u{202e}x"), "{reason}");
    assert_eq!(report["targets"][0]["default_branch"], BRANCH);
}

/// A permission header that is Markdown: a link, a mention and an image.
const PERMISSIONS: &str = "contents=read [z](https://evil.example) @octocat <img src=z>";

/// `check`'s "cannot tell" for a file it could not read names the file, the branch and GitHub's
/// permission header: each is the server's, so each reaches Markdown as literal text too.
#[test]
fn check_cannot_tell_shows_a_hostile_file_name_and_permission_header_as_literal_text() {
    let github = hostile_github();
    github.on(
        "GET",
        "/repos/acme/site/contents/.github/workflows/*",
        Reply::status(403).header("x-accepted-github-permissions", PERMISSIONS),
    );
    let (code, stdout, stderr) = check(&github, &["--output", "markdown"], &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let site = stdout
        .lines()
        .find(|l| l.contains("| `site` |"))
        .unwrap_or_else(|| panic!("no row for site: {stdout}"));
    assert!(site.starts_with("| ❔ |"), "{site}");
    let html = gfm(&format!(
        "| a | b | c | d | e |\n|---|---|---|---|---|\n{site}\n"
    ));
    assert!(!html.contains("<img"), "an image: {html}");
    assert!(!html.contains("<a "), "a link: {html}");
    assert!(!site.contains("@octocat"), "a mention: {site}");
    assert!(!site.contains('\u{202e}'), "a raw RLO: {site}");
    let read = html.replace('\u{2060}', "");
    assert!(
        read.contains("1 of 1 workflow files could not be read (.github/workflows/[x](evil.example) @octocat `rm` \\u{202e}lmx.yml cannot be read)"),
        "{html}"
    );
    assert!(
        read.contains(
            "(GitHub: contents=read [z](https://evil.example) @octocat &lt;img src=z&gt;)"
        ),
        "{html}"
    );

    let (_, json, _) = check(&github, &["--output", "json"], &[]);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["targets"][0]["verdict"], "cannot_tell");
    assert_eq!(
        report["targets"][0]["needs"],
        format!("Contents: read (GitHub: {PERMISSIONS})")
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// One escaping per channel: no module but `untrusted::escape` writes its own escapes for a
/// workflow command (`%0A`), HTML (`&lt;`) or a Markdown cell (`\|`), so a new output cannot
/// escape server text a weaker way (as `check`'s Markdown once did). `shell` is exempt: it
/// writes the man page's table of our own flags, no server's text.
#[test]
fn only_untrusted_escape_writes_the_escapes_of_an_output_channel() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let own = [src.join("untrusted/escape.rs"), src.join("shell.rs")];
    let shapes = ["\"%0A\"", "\"%0D\"", "\"&lt;\"", "\"\\\\|\""];
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !own.contains(f)) {
        let text = std::fs::read_to_string(file).unwrap();
        // Tests may spell out what an escape gives.
        let product = text.split("#[cfg(test)]").next().unwrap_or_default();
        for shape in shapes.iter().filter(|s| product.contains(*s)) {
            found.push(format!("{}: {shape}", file.display()));
        }
    }
    assert!(
        found.is_empty(),
        "escape through crate::untrusted::escape (or a Text/Message channel method) instead: {found:#?}"
    );
}
