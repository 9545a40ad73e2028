//! The edge: runs `git` in the source's checkout, each command with a time limit.

use super::ChangeError;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to run git, and where. Each command is stopped (killed) after [`Git::timeout`].
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    program: OsString,
    timeout: Duration,
    /// Changes to the inherited environment for each command: set (`Some`) or removed.
    env: Vec<(OsString, Option<OsString>)>,
}

impl Git {
    /// Long enough for a diff across years of history in a large repository.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// `git` from `PATH`, run in `dir` (any directory inside the repository).
    pub fn new(dir: impl Into<PathBuf>) -> Git {
        Git {
            dir: dir.into(),
            program: OsString::from("git"),
            timeout: Git::DEFAULT_TIMEOUT,
            env: Vec::new(),
        }
    }

    /// Sets `name` for every git command this runs (e.g. `GIT_CONFIG_GLOBAL`, so a caller can
    /// isolate git from the user's configuration without changing its own environment).
    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Git {
        self.env.push((name.into(), Some(value.into())));
        self
    }

    /// Removes `name` from the environment of every git command this runs.
    pub fn env_remove(mut self, name: impl Into<OsString>) -> Git {
        self.env.push((name.into(), None));
        self
    }

    /// Another git executable (a path, or a name looked up on `PATH`).
    pub fn program(mut self, program: impl Into<OsString>) -> Git {
        self.program = program.into();
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Git {
        self.timeout = timeout;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the repository is a shallow clone (fails if `dir` is not in a repository).
    pub(crate) fn is_shallow(&self) -> Result<bool, ChangeError> {
        let out = self.run(&["rev-parse", "--is-shallow-repository"])?;
        Ok(String::from_utf8_lossy(&out).trim() == "true")
    }

    /// The URL of the `origin` remote, if there is one.
    pub(crate) fn origin_url(&self) -> Option<String> {
        let out = self.run(&["remote", "get-url", "origin"]).ok()?;
        let url = String::from_utf8_lossy(&out).trim().to_owned();
        (!url.is_empty()).then_some(url)
    }

    /// Every tag's short name. `for-each-ref` rather than `git tag --list`: plumbing, which no
    /// `column.*`, `color.*` or `tag.sort` setting reformats.
    pub(crate) fn tags(&self) -> Result<Vec<String>, ChangeError> {
        let out = self.run(&["for-each-ref", "--format=%(refname:strip=2)", "refs/tags/"])?;
        // Ref names cannot contain newlines (git check-ref-format), so lines are names.
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// The commit `rev` names (an annotated tag is peeled), or `None` if there is none.
    pub(crate) fn commit(&self, rev: &str) -> Result<Option<String>, ChangeError> {
        // A revision a user typed must never be read as an option (`--end-of-options` would
        // need git 2.31 in rev-parse); no tag or revision starts with `-` anyway.
        if rev.starts_with('-') {
            return Ok(None);
        }
        let peeled = format!("{rev}^{{commit}}");
        let args = ["rev-parse", "--verify", "--quiet", &peeled];
        match self.run(&args) {
            Ok(out) => Ok(Some(String::from_utf8_lossy(&out).trim().to_owned())),
            Err(ChangeError::Git { stderr, .. }) if stderr.is_empty() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The object `path` names in `commit` (a path starting `./` is relative to [`Git::dir`])
    /// and its size in bytes, or `None` when the commit has no such path.
    pub(crate) fn object_at(
        &self,
        commit: &str,
        path: &str,
    ) -> Result<Option<(String, u64)>, ChangeError> {
        if commit.starts_with('-') {
            return Ok(None);
        }
        let spec = format!("{commit}:{path}");
        let object = match self.run(&["rev-parse", "--verify", "--quiet", &spec]) {
            Ok(out) => String::from_utf8_lossy(&out).trim().to_owned(),
            Err(ChangeError::Git { stderr, .. }) if stderr.is_empty() => return Ok(None),
            Err(error) => return Err(error),
        };
        let size = self.run(&["cat-file", "-s", &object])?;
        let size = String::from_utf8_lossy(&size)
            .trim()
            .parse()
            .unwrap_or(u64::MAX);
        Ok(Some((object, size)))
    }

    /// The bytes of a file's object (from [`Git::object_at`]).
    pub(crate) fn blob(&self, object: &str) -> Result<Vec<u8>, ChangeError> {
        self.run(&["cat-file", "blob", object])
    }

    /// Paths of the files that differ between two commits, relative to the repository root.
    /// A rename counts as its old path deleted and its new path added, so moving a file out of
    /// `docs/` is a change to `docs/`.
    pub(crate) fn changed_files(&self, from: &str, to: &str) -> Result<Vec<String>, ChangeError> {
        let args = [
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-relative",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            from,
            to,
            "--",
        ];
        let out = self.run(&args)?;
        Ok(out
            .split(|&b| b == 0)
            .filter(|path| !path.is_empty())
            .map(|path| String::from_utf8_lossy(path).into_owned())
            .collect())
    }

    /// Runs `git -c core.quotepath=off ARGS` in the directory and returns its stdout, or the
    /// failure with git's own message.
    fn run(&self, args: &[&str]) -> Result<Vec<u8>, ChangeError> {
        let command = args.join(" ");
        if !self.dir.is_dir() {
            return Err(ChangeError::NotARepository {
                dir: self.dir.clone(),
                detail: "no such directory".to_owned(),
            });
        }
        let child = self.spawn(args)?;
        let finished = Finished::wait(child, Instant::now() + self.timeout);
        let Some(finished) = finished.map_err(ChangeError::Io)? else {
            return Err(ChangeError::Timeout {
                command,
                timeout: self.timeout,
            });
        };
        if finished.status.success() {
            return Ok(finished.stdout);
        }
        let stderr = String::from_utf8_lossy(&finished.stderr).trim().to_owned();
        Err(classify_failure(&self.dir, command, stderr))
    }

    /// Starts git with ARGS in the directory, its stdout and stderr piped.
    fn spawn(&self, args: &[&str]) -> Result<Child, ChangeError> {
        let mut git = Command::new(&self.program);
        for (name, value) in &self.env {
            match value {
                Some(value) => git.env(name, value),
                None => git.env_remove(name),
            };
        }
        git.current_dir(&self.dir)
            .args(["-c", "core.quotepath=off"])
            .args(args)
            // English messages (we recognise a few), no prompts, no index.lock taken.
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ChangeError::GitMissing {
                program: self.program.to_string_lossy().into_owned(),
                source,
            })
    }
}

/// A git command that has exited: its status and what it wrote.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Finished {
    /// Waits for `child` to exit and its pipes to close, up to `deadline`; `None` past it (git
    /// is killed if it still runs).
    fn wait(mut child: Child, deadline: Instant) -> std::io::Result<Option<Finished>> {
        // Both pipes are drained while git runs, so a large diff cannot fill one and stall it.
        // Each reader says when its pipe closes, which is when git exits: that is waited for
        // (up to the deadline) rather than polled, so a 5 ms git command costs 5 ms.
        let (closed, pipes) = mpsc::channel();
        let stdout = drain(child.stdout.take(), closed.clone());
        let stderr = drain(child.stderr.take(), closed);
        let mut open = 2;
        wait_for_pipes(&pipes, &mut open, deadline);
        let Some(status) = exit_by(&mut child, deadline)? else {
            return Ok(None);
        };
        // git has exited, but what it started may still hold the pipes (a wrapper that leaves a
        // process behind): joining the readers then would wait for that process, past the limit.
        wait_for_pipes(&pipes, &mut open, deadline);
        if open > 0 {
            return Ok(None);
        }
        Ok(Some(Finished {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }))
    }
}

/// Waits until the `open` pipes have closed, or `deadline`.
fn wait_for_pipes(pipes: &mpsc::Receiver<()>, open: &mut usize, deadline: Instant) {
    while *open > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match pipes.recv_timeout(left) {
            Ok(()) => *open -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            // Every reader has ended (one without a word): nothing is left to wait for.
            Err(mpsc::RecvTimeoutError::Disconnected) => *open = 0,
        }
    }
}

/// `child`'s exit status once it exits by `deadline`; `None` (and the child killed) past it.
fn exit_by(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            // The reader threads end once the pipes close; nothing waits for them.
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn drain(
    pipe: Option<impl Read + Send + 'static>,
    closed: mpsc::Sender<()>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        let _ = closed.send(());
        buf
    })
}

/// Turns the failures a user can fix into errors that say how; anything else keeps git's text.
pub(crate) fn classify_failure(dir: &Path, command: String, stderr: String) -> ChangeError {
    if stderr.contains("not a git repository") {
        ChangeError::NotARepository {
            dir: dir.to_owned(),
            detail: stderr,
        }
    } else if stderr.contains("detected dubious ownership") {
        ChangeError::UnsafeRepository {
            dir: dir.to_owned(),
        }
    } else {
        ChangeError::Git { command, stderr }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_failures_a_user_can_fix() {
        let dir = Path::new("/src");
        let not_repo = "fatal: not a git repository (or any of the parent directories): .git";
        assert!(matches!(
            classify_failure(dir, "diff".into(), not_repo.into()),
            ChangeError::NotARepository { .. }
        ));
        let unsafe_dir = "fatal: detected dubious ownership in repository at '/src'";
        assert!(matches!(
            classify_failure(dir, "diff".into(), unsafe_dir.into()),
            ChangeError::UnsafeRepository { .. }
        ));
        assert!(matches!(
            classify_failure(dir, "diff".into(), "fatal: bad object".into()),
            ChangeError::Git { .. }
        ));
    }
}
