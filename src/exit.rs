//! The process exit status, by meaning, and the one error type the edge prints: what every
//! subcommand ends with.

use std::io::Write;

/// The process exit status, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything delivered (or planned, or valid).
    Success = 0,
    /// A target failed, or validate found errors.
    Failure = 1,
    /// The configuration or the command line is wrong; nothing was sent.
    Usage = 2,
    /// Ctrl-C or SIGTERM, or `--max-duration`, stopped the run before every target was sent.
    Interrupted = 130,
}

/// A failure a user can cause or must hear about: printed once, by [`main`], as
/// `error: MESSAGE` and `  help: HELP`, and ending the process with its exit code.
#[derive(Debug, Clone, PartialEq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    pub help: Option<String>,
}

impl CliError {
    /// The configuration, the command line or the environment is wrong; nothing was sent.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
            help: None,
        }
    }

    /// Something failed on the way (an output could not be written, the runtime would not
    /// start).
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::Failure,
            ..CliError::usage(message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> CliError {
        self.help = Some(help.into());
        self
    }

    /// The error as a JSON object on stdout, for `--output json`:
    /// `{"error": {"message", "help", "exit_code"}}`.
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let json = serde_json::json!({
            "error": {
                "message": self.message,
                "help": self.help,
                "exit_code": self.exit as i32,
            }
        });
        serde_json::to_writer_pretty(&mut *out, &json)?;
        writeln!(out)
    }

    /// `error: MESSAGE` and `  help: HELP`: the one place an error is printed.
    pub fn print(&self, stderr: &mut dyn Write) {
        let _ = writeln!(stderr, "error: {}", self.message);
        if let Some(help) = &self.help {
            let _ = writeln!(stderr, "  help: {help}");
        }
    }
}
