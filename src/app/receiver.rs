//! `orchestrator receiver TARGET`: load → plan the target for each source that feeds it →
//! print the workflow its repository needs.

use super::{load_valid, plan_refused, CliError};
use crate::check::event_types::{self, Sent};
use crate::cli::{ReceiverArgs, SettingsArgs};
use crate::config::kinds::Action;
use crate::config::{Checked, Config};
use crate::exit::Exit;
use crate::plan::{Job, PlanMode};
use crate::release::{Release, Version};
use std::io::Write;

pub(super) fn receiver(
    args: &ReceiverArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let (file, config, checked) =
        load_valid(&args.config.config, &SettingsArgs::default(), stderr, "")?;
    let workflow_file = workflow_file(&config, &args.target)?;
    let (jobs, sent) = plan_stage(&config, &checked, &file, &args.target, stderr)?;
    let refs: Vec<&Job> = jobs.iter().collect();
    let Some(text) = crate::check::receiver::workflow(&refs, &sent, workflow_file) else {
        return Err(CliError::usage(format!(
            "no source feeds `{}`, so nothing would be sent to it",
            args.target
        )));
    };
    say_patterns(&sent, stderr);
    super::printed(stdout.write_all(text.as_bytes()))
}

/// The workflow file `target` dispatches (`None` for a repository_dispatch); an error for a
/// target that does not exist or is a webhook.
fn workflow_file<'a>(config: &'a Config, target: &str) -> Result<Option<&'a str>, CliError> {
    let Some(spec) = config.targets.get(target) else {
        let known: Vec<&str> = config.targets.keys().map(String::as_str).collect();
        return Err(CliError::usage(format!(
            "no target is named `{}`",
            crate::diagnostic::shown(target)
        ))
        .with_help(format!("known targets: {}", known.join(", "))));
    };
    match &spec.action {
        Action::Webhook { .. } => Err(CliError::usage(format!(
            "`{target}` is a webhook: there is no GitHub workflow to receive it"
        ))),
        Action::WorkflowDispatch { workflow, .. } => Ok(Some(workflow.as_str())),
        Action::RepositoryDispatch { .. } => Ok(None),
    }
}

/// The `plan` stage: `target` rendered as each source that feeds it would, so every event
/// type and field is covered; its jobs and what they can send as their event type.
fn plan_stage(
    config: &Config,
    checked: &Checked,
    file: &str,
    target: &str,
    stderr: &mut dyn Write,
) -> Result<(Vec<Job>, Vec<Sent>), CliError> {
    let only: std::collections::HashSet<&str> = [target].into();
    let version = Version::parse("1.2.3").map_err(|e| CliError::failure(e.to_string()))?;
    let mut jobs: Vec<Job> = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    for source in config
        .sources
        .values()
        .filter(|s| s.targets.iter().any(|t| t == target))
    {
        let release = Release::sample(source.name.clone(), &version, Default::default());
        let planned = crate::plan::plan_with(
            config,
            &release,
            &|_| None,
            PlanMode::Validate,
            Some(&only),
            &mut crate::render::Work::default(),
        );
        sent.extend(event_types::sent(config, &release, target));
        let plan = planned.map_err(|err| {
            plan_refused(
                err,
                checked,
                file,
                stderr,
                "the target's templates have problems",
            )
        })?;
        jobs.extend(plan.jobs);
    }
    Ok((jobs, sent))
}

/// Says, for each event type that cannot be listed, that the workflow matches a pattern.
fn say_patterns(sent: &[Sent], stderr: &mut dyn Write) {
    let mut said: Vec<&str> = Vec::new();
    for one in sent {
        let Sent::Pattern(p) = one else { continue };
        if said.contains(&p.template.as_str()) {
            continue;
        }
        said.push(&p.template);
        let filter = match (p.prefix.is_empty(), p.suffix.is_empty()) {
            (true, true) => {
                " (nothing in the event type is fixed, so its job cannot filter on it)".to_owned()
            }
            (false, true) => format!(
                ", and its job runs for event types that start with `{}`",
                p.prefix
            ),
            (true, false) => format!(
                ", and its job runs for event types that end with `{}`",
                p.suffix
            ),
            (false, false) => format!(
                ", and its job runs for event types that start with `{}` and end with `{}`",
                p.prefix, p.suffix
            ),
        };
        let _ = writeln!(
            stderr,
            "note: the event type `{}` depends on {}, so it cannot be listed in `types:` (GitHub takes exact names only): the workflow listens to every repository_dispatch{filter}",
            crate::diagnostic::shown(&p.template),
            p.depends_on
        );
    }
}
