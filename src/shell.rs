//! The command line's own documentation, generated from its clap definition so it cannot drift:
//! shell completions (`orchestrator completions SHELL`) and manual pages (`orchestrator man`:
//! one page on stdout, or `--dir DIR`: one page per subcommand).

use crate::cli::{Cli, ManArgs};
use crate::exit::{CliError, Exit};
use clap::CommandFactory;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const BIN_NAME: &str = "orchestrator";

/// The completion script for `shell`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = Cli::command();
    // clap_complete writes straight to `out` and cannot report a failed write, so it goes
    // through a buffer whose write is checked.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN_NAME, &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// `orchestrator man`: the one page on stdout, or with `--dir` a page per subcommand, each
/// file named on stdout as it is written.
pub(crate) fn man(args: &ManArgs, stdout: &mut dyn Write) -> Result<Exit, CliError> {
    let Some(dir) = &args.dir else {
        return write_man(stdout)
            .map(|()| Exit::Success)
            .map_err(|err| CliError::failure(format!("cannot write to stdout: {err}")));
    };
    let written = write_man_pages(dir).map_err(|err| {
        CliError::usage(format!(
            "cannot write the manual pages into {}: {err}",
            dir.display()
        ))
    })?;
    for page in written {
        let _ = writeln!(stdout, "wrote {}", page.display());
    }
    Ok(Exit::Success)
}

/// Writes `orchestrator.1` and `orchestrator-SUBCOMMAND.1` for each subcommand into `dir`
/// (created if missing), whose "SEE ALSO" links then lead somewhere; returns their paths, the
/// top-level page first.
pub fn write_man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut written = vec![clap_mangen::Man::new(command.clone()).generate_to(dir)?];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(written)
}

/// One manual page for the whole tool: the top-level page, then each subcommand's synopsis,
/// description and options as subsections (`man ./orchestrator.1`).
pub fn write_man(out: &mut dyn Write) -> io::Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    // The subcommands list points at one page per subcommand; here they are sections below.
    let mut page = String::from_utf8_lossy(&page).into_owned();
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        page = page.replace(
            &format!("{BIN_NAME}\\-{name}(1)"),
            &format!("{BIN_NAME} {name}"),
        );
    }
    let mut page = page.into_bytes();
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{BIN_NAME} {}", sub.get_name());
        writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
        let man = clap_mangen::Man::new(sub.clone());
        let mut sections = Vec::new();
        man.render_synopsis_section(&mut sections)?;
        man.render_description_section(&mut sections)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut sections)?;
        }
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut sections)?;
        }
        // Each section becomes a subsection of the command's own section.
        let text = String::from_utf8_lossy(&sections).replace("\n.SH ", "\n.SS ");
        let text = text
            .strip_prefix(".SH ")
            .map_or(text.clone(), |rest| format!(".SS {rest}"));
        page.extend_from_slice(text.as_bytes());
    }
    out.write_all(&page)?;
    out.flush()
}

/// A Markdown table of `subcommand`'s flags (`| flag | what it does |`), generated from the
/// clap definition for the README, so its flag lists cannot drift from `--help`.
pub fn flag_table(subcommand: &str) -> Option<String> {
    let mut command = Cli::command();
    command.build();
    let sub = command.find_subcommand(subcommand)?;
    let mut table = String::from("| flag | what it does |\n|---|---|\n");
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(long) = arg.get_long() else {
            continue;
        };
        if long == "help" {
            continue;
        }
        let mut flag = match arg.get_short() {
            Some(short) => format!("`-{short}`, `--{long}"),
            None => format!("`--{long}"),
        };
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        if takes_value {
            let value = match arg.get_value_names() {
                Some(names) => names
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                None => arg.get_id().as_str().to_uppercase(),
            };
            let choices: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_owned())
                .collect();
            if choices.is_empty() {
                flag.push_str(&format!(" {value}`"));
            } else {
                flag.push_str(&format!(" {}`", choices.join("|")));
            }
        } else {
            flag.push('`');
        }
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default()
            .replace('\n', " ")
            .replace('|', "\\|");
        let default: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let help = if default.is_empty() || !takes_value || help.contains("Default") {
            help
        } else {
            format!(
                "{}. Default: `{}`.",
                help.trim().trim_end_matches('.'),
                default.join(" ")
            )
        };
        // A `|` inside a table cell, code span or not, must be escaped for GFM.
        table.push_str(&format!(
            "| {} | {} |\n",
            flag.replace('|', "\\|"),
            help.trim()
        ));
    }
    Some(table)
}
