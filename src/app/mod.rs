//! The edge: reads the files and the environment, runs the pure core, sends, and prints.
//!
//! Each subcommand is a few named stages, each returning `Result<_, CliError>`. A `CliError`
//! carries what went wrong, how to fix it and the exit code, and [`main`] prints it, once; no
//! stage writes `error:` itself or picks an exit code by hand. Nothing below `main` calls
//! `std::process::exit` (except a second Ctrl-C, which means "stop now").

mod check;
mod comment;
mod deliver;
mod diff;
// Sharding: `plan --shards N` and `report merge`.
mod merge;
mod plan;
mod receiver;
mod run;
mod validate;

use crate::cli::{Cli, Command, SettingsArgs};
use crate::config::{self, Checked};
pub use crate::exit::{CliError, Exit};
use crate::secret::Redacting;
use std::io::Write;
use std::path::Path;

pub fn main(cli: Cli) -> Exit {
    crate::logging::init(cli.verbosity());
    // Even a bug's panic message goes out through the redaction gate.
    std::panic::set_hook(Box::new(|info| {
        let text = crate::secret::redact(&info.to_string());
        let _ = writeln!(
            std::io::stderr(),
            "{text}\nthis is a bug in orchestrator; please report it"
        );
    }));
    // Everything printed passes the redaction gate, whatever wrote it. Not locked for the
    // whole run: log lines from runtime threads write to stderr too, and a lock held here
    // would block them forever.
    let stdout = &mut Counted::new(Redacting::new(std::io::stdout()));
    let stderr = &mut Redacting::new(std::io::stderr());
    let json = json_output(&cli.command);
    let result = match cli.command {
        Command::Run(args) => run::run(&args, stdout, stderr),
        Command::Diff(args) => diff::diff(&args, stdout, stderr),
        Command::Validate(args) => validate::validate(&args, stdout, stderr),
        Command::Check(args) => check::check(&args, stdout, stderr),
        Command::Receiver(args) => receiver::receiver(&args, stdout, stderr),
        Command::Schema => printed(stdout.write_all(config::schema::schema_json().as_bytes())),
        Command::Init(args) => crate::init::run(&args, stdout, stderr),
        Command::Completions(args) => printed(crate::shell::write_completions(args.shell, stdout)),
        Command::Man(args) => crate::shell::man(&args, stdout),
        Command::Comment(args) => comment::comment(&args, stdout),
        Command::Plan(args) => plan::plan(&args, stdout, stderr),
        Command::Report(args) => merge::report(&args, stdout, stderr),
    };
    match result {
        Ok(exit) => exit,
        Err(err) => {
            err.print(stderr);
            let _ = stderr.flush();
            // A script reading `--output json` gets JSON even when nothing else was printed.
            if json && stdout.written == 0 {
                let _ = err.write_json(stdout);
                let _ = stdout.flush();
            }
            err.exit
        }
    }
}

/// Whether the subcommand was asked for `--output json`.
fn json_output(command: &Command) -> bool {
    use crate::cli::Output;
    let output = match command {
        Command::Run(args) => return args.output == crate::cli::RunOutput::Json,
        Command::Report(args) => {
            let crate::cli::ReportCommand::Merge(merge) = &args.command;
            return merge.output == crate::cli::RunOutput::Json;
        }
        Command::Validate(args) => args.output,
        Command::Check(args) => args.output,
        Command::Diff(args) => args.output,
        _ => return false,
    };
    output == Output::Json
}

/// A writer that remembers how many bytes went through it.
struct Counted<W> {
    inner: W,
    written: usize,
}

impl<W> Counted<W> {
    fn new(inner: W) -> Self {
        Counted { inner, written: 0 }
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A command that only prints: success, unless stdout could not be written.
fn printed(written: std::io::Result<()>) -> Result<Exit, CliError> {
    written
        .map(|()| Exit::Success)
        .map_err(|err| CliError::failure(format!("cannot write to stdout: {err}")))
}

/// `--version`'s value as a version, or a usage error naming the flag.
fn version_flag(text: &str) -> Result<crate::release::Version, CliError> {
    crate::release::Version::parse(text).map_err(|err| CliError::usage(format!("--version: {err}")))
}

/// Seconds since the Unix epoch now (0 for a clock before it).
fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A plan that cannot be made: its problems shown on stderr at their places in `file`, then
/// `refusal` as the error (or the plan's own error when it is not about the file).
fn plan_refused(
    err: crate::plan::PlanError,
    checked: &Checked,
    file: &str,
    stderr: &mut dyn Write,
    refusal: &str,
) -> CliError {
    match err {
        crate::plan::PlanError::Problems(problems) => {
            let _ = crate::report::write_diagnostics(stderr, file, &checked.locate(problems));
            CliError::usage(refusal)
        }
        err => CliError::usage(err.to_string()),
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn under_actions() -> bool {
    env_var("GITHUB_ACTIONS").as_deref() == Some("true")
}

/// The configuration file cannot be read. A missing one says where it was looked for and how
/// to get one; anything else as the file layer words it.
fn unreadable_config(path: &Path, err: crate::files::FileError) -> CliError {
    let missing = matches!(&err, crate::files::FileError::Io { source, .. }
        if source.kind() == std::io::ErrorKind::NotFound);
    if !missing {
        return CliError::usage(err.to_string());
    }
    let shown = path.display();
    let message = match std::env::current_dir() {
        Ok(dir) if path.is_relative() => {
            format!("no {shown} in {} (the working directory)", dir.display())
        }
        _ => format!("no {shown}: the file does not exist"),
    };
    CliError::usage(message)
        .with_help("write one with `orchestrator init`, or name another file with --config FILE")
}

/// The `load` stage: reads the file (bounded) and checks it with the environment and flags
/// layered over its `defaults`.
/// [`load`], with its diagnostics shown on stderr and the configuration taken out of it; a
/// file with an error is refused: "`{file}` is not valid{refused}". Gives the file's name as
/// shown, the configuration, and what is left of the check (to place later problems).
/// Leaves `value` for the operating system to take back when the process ends, as
/// `std::process::exit` would, instead of freeing it one allocation at a time: [`main`] runs
/// one command per process, and a 10,000-target configuration or report is a few hundred
/// thousand allocations whose freeing the user would wait for (about 3 ms each). Only for what
/// a command holds at its very end, never inside a loop.
fn keep_until_exit<T>(value: T) {
    std::mem::forget(value);
}

fn load_valid(
    path: &Path,
    settings: &SettingsArgs,
    stderr: &mut dyn Write,
    refused: &str,
) -> Result<(String, config::Config, Checked), CliError> {
    let file = path.display().to_string();
    let mut checked = load(path, settings)?;
    let _ = crate::report::write_diagnostics(stderr, &file, &checked.diagnostics);
    match checked.config.take() {
        Some(config) => Ok((file, config, checked)),
        None => Err(CliError::usage(format!("{file} is not valid{refused}"))),
    }
}

fn load(path: &Path, settings: &SettingsArgs) -> Result<Checked, CliError> {
    let bytes = config::load::read(path).map_err(|err| unreadable_config(path, err))?;
    let parsed = config::load::parse(&bytes);
    // 2 MiB for a 10,000-target file, freed before compiling needs the memory.
    drop(bytes);
    Ok(config::check_parsed(
        parsed,
        config::settings::env(),
        &settings.to_settings(),
    ))
}
