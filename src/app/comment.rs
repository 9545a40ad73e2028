//! `orchestrator comment`: read the report → name the thread and the token → post or update
//! our comment → say which.

use super::{env_var, CliError};
use crate::cli::{CommentArgs, ReportOf};
use crate::comment::{self, body, Posted, Thread};
use crate::exit::Exit;
use crate::files::FileKind;
use crate::secret::Secret;
use std::io::Write;

/// The report to post: Markdown of ours, a few MiB at most even for thousands of targets.
const REPORT_FILE: FileKind = FileKind {
    named_by: "--file",
    cap: 64 * 1024 * 1024,
    why_cap: "a Markdown report of orchestrator is never that big",
};

pub(super) fn comment(args: &CommentArgs, stdout: &mut dyn Write) -> Result<Exit, CliError> {
    let report = read_report(args)?;
    let thread = thread(args)?;
    let config = args.config.config.to_string_lossy();
    let marker = body::marker(&config, report_of(args.report_of));
    // Our Markdown, escaped as it was written; redacted again, as everything that leaves is.
    let text = crate::secret::redact(&body::comment(&marker, &report));
    let client = crate::github::outbound::client()
        .map_err(|err| CliError::failure(format!("cannot create the HTTP client: {err}")))?;
    let posted =
        super::deliver::runtime()?.block_on(comment::post(&client, &thread, &marker, &text))?;
    let (done, id, link) = match &posted {
        Posted::Updated { id, link } => ("updated", id, link),
        Posted::Created { id, link } => ("posted", id, link),
    };
    let at = link
        .as_deref()
        .map_or_else(String::new, |l| format!(": {l}"));
    let _ = writeln!(
        stdout,
        "{done} comment {id} on pull request #{} of {}/{}{at}",
        thread.pr, thread.owner, thread.repo
    );
    Ok(Exit::Success)
}

fn report_of(of: ReportOf) -> &'static str {
    match of {
        ReportOf::Run => "run",
        ReportOf::Diff => "diff",
        ReportOf::Check => "check",
        ReportOf::Validate => "validate",
    }
}

fn read_report(args: &CommentArgs) -> Result<String, CliError> {
    let bytes = crate::files::read(&args.file, &REPORT_FILE)
        .map_err(|err| CliError::usage(err.to_string()))?;
    String::from_utf8(bytes).map_err(|_| {
        CliError::usage(format!(
            "{} is not UTF-8 text; give the Markdown a command wrote with `--output markdown`",
            args.file.display()
        ))
    })
}

/// The pull request, the API and the token, from the flags and the environment.
fn thread(args: &CommentArgs) -> Result<Thread, CliError> {
    let repository = args
        .repo
        .clone()
        .or_else(|| env_var("GITHUB_REPOSITORY"))
        .ok_or_else(|| {
            CliError::usage("which repository is the pull request in? Give --repo OWNER/NAME (GITHUB_REPOSITORY is not set)")
        })?;
    let (owner, repo) = repository
        .split_once('/')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
        .ok_or_else(|| CliError::usage(format!("`{repository}` is not OWNER/NAME")))?;
    let api = args
        .api_url
        .clone()
        .or_else(|| env_var("GITHUB_API_URL"))
        .unwrap_or_else(|| "https://api.github.com".to_owned());
    let api_base = reqwest::Url::parse(&api)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| CliError::usage(format!("`{api}` is not an http(s) URL (--api-url)")))?;
    let token = env_var("GITHUB_TOKEN").filter(|t| !t.is_empty()).ok_or_else(|| {
        CliError::usage("GITHUB_TOKEN is not set: the comment is posted with it").with_help(
            "in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}`, with `permissions: { pull-requests: write }`",
        )
    })?;
    let mut authors = vec![comment::ACTIONS_BOT.to_owned()];
    authors.extend(args.author.iter().cloned());
    Ok(Thread {
        api_base,
        owner: owner.to_owned(),
        repo: repo.to_owned(),
        pr: args.pr,
        token: Secret::new(token),
        api_version: crate::config::model::DEFAULT_API_VERSION.to_owned(),
        authors,
    })
}
