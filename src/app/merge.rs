//! `orchestrator report merge FILE…`: the reports of a sharded run published as one
//! run's (report, job summary, step outputs, exit code).

use super::run::{publish, Publish};
use super::CliError;
use crate::cli::{ReportArgs, ReportCommand};
use crate::exit::Exit;
use std::io::Write;

pub(super) fn report(
    args: &ReportArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Exit, CliError> {
    let ReportCommand::Merge(args) = &args.command;
    let report = crate::report::merge(&args.files).map_err(|why| {
        CliError::usage(format!("cannot merge the reports: {why}")).with_help(
            "give `report merge` one report per shard, each written by `run --shard I/N --report FILE` for the same release and configuration",
        )
    })?;
    let publishing = Publish {
        report: args.report.as_deref(),
        output: args.output,
        bodies: false,
        color: args.color,
        ignore_run_failures: args.ignore_run_failures,
    };
    publish(&publishing, &report, stdout, stderr)
}
