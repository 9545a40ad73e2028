//! The two halves of one measurement: a generated `dispatch.yaml`, and one run of the real
//! binary timed from spawn to exit, with its peak RSS from `wait4`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The variable every generated target names in `token_env`.
pub const TOKEN_ENV: &str = "FANOUT_BENCH_TOKEN";

/// One source, `app`, feeding `targets` targets, each with a two-key templated payload.
/// Flow style keeps a line per target, so the file is as small as YAML allows.
pub fn dispatch_yaml(targets: usize) -> String {
    let name = |i: usize| format!("t{i:05}");
    let mut yaml = String::with_capacity(64 + targets * 140);
    yaml.push_str("version: 1\nsources:\n  app:\n    repository: acme/app\n    targets: [");
    for i in 0..targets {
        if i > 0 {
            yaml.push_str(", ");
        }
        yaml.push_str(&name(i));
    }
    yaml.push_str("]\ntargets:\n");
    for i in 0..targets {
        let _ = writeln!(
            yaml,
            "  {n}: {{repository: acme/{n}, event_type: upstream-release, token_env: {TOKEN_ENV}, \
             client_payload: {{version: \"{{{{version}}}}\", source: \"{{{{source.name}}}}\"}}}}",
            n = name(i)
        );
    }
    yaml
}

/// Writes the configuration for `targets` into `dir` once and returns its path.
pub fn config_file(dir: &Path, targets: usize) -> std::io::Result<PathBuf> {
    let path = dir.join(format!("dispatch-{targets}.yaml"));
    if !path.exists() {
        std::fs::write(&path, dispatch_yaml(targets))?;
    }
    Ok(path)
}

/// What to run: `orchestrator run` against `config`.
pub struct Invocation<'a> {
    pub binary: &'a Path,
    pub config: &'a Path,
    /// `None` is a dry run.
    pub send: Option<Send<'a>>,
    /// Where stdout goes; `None` is /dev/null.
    pub stdout: Option<&'a Path>,
}

pub struct Send<'a> {
    pub api_url: &'a str,
    pub concurrency: usize,
    pub rate_limit: &'a str,
    /// More token variables to set (for sharded `token_env` lists).
    pub tokens: &'a [(&'a str, &'a str)],
}

/// One finished process.
#[derive(Debug, Clone)]
pub struct Measured {
    pub wall: Duration,
    /// `ru_maxrss` of this child alone, in KiB.
    pub max_rss_kib: u64,
    /// CPU time of this child alone: user + system (`ru_utime` + `ru_stime`).
    pub cpu: Duration,
    pub exit_code: Option<i32>,
    /// The last line of stderr, to say why a run was refused.
    pub stderr_tail: String,
}

impl Invocation<'_> {
    pub fn run(&self, scratch: &Path) -> std::io::Result<Measured> {
        let mut command = Command::new(self.binary);
        command.arg("run").arg("--config").arg(self.config).args([
            "--source",
            "app",
            "--version",
            "1.2.3",
            "--output",
            "json",
        ]);
        match &self.send {
            None => {
                command.arg("--dry-run");
            }
            Some(send) => {
                command
                    .args(["--api-url", send.api_url])
                    .args(["--concurrency", &send.concurrency.to_string()])
                    .args(["--rate-limit", send.rate_limit])
                    .env(TOKEN_ENV, "ghp_fanoutbenchtoken0123456789")
                    .envs(send.tokens.iter().copied());
            }
        }
        // Settings must come from the flags alone.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ORCHESTRATOR_") {
                command.env_remove(key);
            }
        }
        measure(command, self.stdout, scratch)
    }
}

/// `orchestrator validate --config FILE --output json`, timed like a run.
pub fn validate(binary: &Path, config: &Path, scratch: &Path) -> std::io::Result<Measured> {
    let mut command = Command::new(binary);
    command
        .arg("validate")
        .arg("--config")
        .arg(config)
        .args(["--output", "json"]);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ORCHESTRATOR_") {
            command.env_remove(key);
        }
    }
    measure(command, None, scratch)
}

/// Runs `command` to its end: wall time from spawn to reaping, and its own peak RSS.
pub fn measure(
    command: Command,
    stdout: Option<&Path>,
    scratch: &Path,
) -> std::io::Result<Measured> {
    measure_watched(command, stdout, scratch, |_| {})
}

/// [`measure`], handing the child's pid to `watch` once it is spawned (to sample it while it
/// runs; the child is reaped only after it exits, so the pid stays its own until then).
pub fn measure_watched(
    mut command: Command,
    stdout: Option<&Path>,
    scratch: &Path,
    watch: impl FnOnce(u32),
) -> std::io::Result<Measured> {
    {
        let stderr_path = scratch.join("stderr.txt");
        command.stdin(Stdio::null());
        command.stdout(match stdout {
            Some(path) => Stdio::from(std::fs::File::create(path)?),
            None => Stdio::null(),
        });
        command.stderr(Stdio::from(std::fs::File::create(&stderr_path)?));

        let started = Instant::now();
        let child = command.spawn()?;
        watch(child.id());
        let (status, rusage) = wait4(child.id())?;
        let wall = started.elapsed();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        Ok(Measured {
            wall,
            max_rss_kib: u64::try_from(rusage.ru_maxrss).unwrap_or(0),
            cpu: timeval(rusage.ru_utime) + timeval(rusage.ru_stime),
            exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
            stderr_tail: stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_owned(),
        })
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// Reaps `pid` and returns its status and its own resource usage (not that of every child
/// ever waited for, as `RUSAGE_CHILDREN` would).
fn wait4(pid: u32) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, so all-zero is a valid value; `wait4` writes only
    // through the two pointers, which are valid for the duration of the call.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: see above.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut rusage) };
        if reaped == pid {
            return Ok((status, rusage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
