//! The process exit status, by meaning: the one number every subcommand ends with.

/// The process exit status, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything delivered (or planned, or valid).
    Success = 0,
    /// A target failed, or validate found errors.
    Failure = 1,
    /// The configuration or the command line is wrong; nothing was sent.
    Usage = 2,
    /// Ctrl-C or SIGTERM stopped the run before every target was sent.
    Interrupted = 130,
}
