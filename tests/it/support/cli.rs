//! Running the real `orchestrator` binary in a clean environment.

use super::FakeGitHub;
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Tokens used by tests: recognisable, so a grep over output finds any leak.
pub const WEBSITE_TOKEN: &str = "ghp_websiteTOKENvalue0000000000000000001";
pub const CLI_TOKEN: &str = "ghp_cliTOKENvalue00000000000000000000002";

/// The binary with an environment that cannot reach anything but loopback and carries no
/// settings or tokens from the developer's shell.
pub fn orchestrator(dir: &Path) -> Command {
    Command::from_std(orchestrator_std(dir))
}

/// The same, as a plain `std::process::Command` (for spawning and signalling).
pub fn orchestrator_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("orchestrator"));
    cmd.current_dir(dir);
    for (name, _) in std::env::vars() {
        let drop = name.starts_with("ORCHESTRATOR_")
            || name.starts_with("GITHUB_")
            || name.ends_with("_TOKEN")
            || name.to_ascii_lowercase().ends_with("_proxy");
        if drop || name == "RUNNER_TEMP" || name == "TMPDIR" {
            cmd.env_remove(name);
        }
    }
    // Whatever the binary writes to "the temporary directory" (a report under Actions without
    // RUNNER_TEMP) lands in the test's own directory, removed with it, never in /tmp.
    if dir.starts_with(std::env::temp_dir()) {
        cmd.env("TMPDIR", dir);
    }
    cmd
}

/// A temporary directory holding `dispatch.yaml` with `yaml`.
pub fn config_dir(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dispatch.yaml"), yaml).expect("write config");
    dir
}

/// The repository's own dispatch.yaml, copied into a temporary directory that is a fresh git
/// repository with no tags: its `when.changed` target sees a first release, which is sent.
pub fn example_dir() -> tempfile::TempDir {
    let text = std::fs::read_to_string(repo_file("dispatch.yaml")).expect("example config");
    let dir = config_dir(&text);
    super::git::git(dir.path(), &["init", "-q"]);
    dir
}

pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A config with `n` targets named t00, t01, ... all fed by source `app`.
pub fn many_targets(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("t{i:02}")).collect();
    let mut yaml = format!(
        "version: 1\nsources:\n  app:\n    repository: o/app\n    targets: [{}]\ntargets:\n",
        names.join(", ")
    );
    for name in &names {
        yaml.push_str(&format!(
            "  {name}:\n    repository: o/{name}\n    event_type: release\n    token_env: APP_TOKEN\n    client_payload:\n      version: \"{{{{version}}}}\"\n"
        ));
    }
    yaml
}

/// "Run the binary with this config against this fake": arguments, environment and the
/// secrets that must never be printed, then [`Cli::output`] for the exit code, both streams
/// and the JSON report. Every test that runs the binary and reads what it said uses this.
pub struct Cli {
    cmd: std::process::Command,
    secrets: Vec<String>,
    dir: Option<tempfile::TempDir>,
}

impl Cli {
    /// The binary in a temporary directory holding `dispatch.yaml` with `yaml`.
    pub fn with_config(yaml: &str) -> Cli {
        let dir = config_dir(yaml);
        let mut cli = Cli::in_dir(dir.path());
        cli.dir = Some(dir);
        cli
    }

    /// The binary in a copy of the repository's own dispatch.yaml ([`example_dir`]).
    pub fn example() -> Cli {
        let dir = example_dir();
        let mut cli = Cli::in_dir(dir.path());
        cli.dir = Some(dir);
        cli
    }

    /// The binary in `dir` (which the caller keeps, e.g. for a journal across two runs).
    pub fn in_dir(dir: &Path) -> Cli {
        Cli {
            cmd: orchestrator_std(dir),
            secrets: Vec::new(),
            dir: None,
        }
    }

    /// `run --source SOURCE --version VERSION`. In the example's checkout, which has no
    /// `origin`, `GITHUB_REPOSITORY` says it is the source's (as in the source's release job).
    pub fn release(self, source: &str, version: &str) -> Cli {
        let example = self.dir.is_some();
        let cli = self.args(["run", "--source", source, "--version", version]);
        if !example {
            return cli;
        }
        let repository = match source.contains('/') {
            true => source.to_owned(),
            false => format!("vfarcic/{source}"),
        };
        cli.env("GITHUB_REPOSITORY", repository)
    }

    /// `--api-url` of the fake.
    pub fn against(self, github: &FakeGitHub) -> Cli {
        self.args(["--api-url", &github.base_url()])
    }

    /// `--output json`.
    pub fn json(self) -> Cli {
        self.args(["--output", "json"])
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Cli {
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Cli {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Cli {
        self.cmd.env(name, value);
        self
    }

    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Cli {
        self.cmd.envs(vars);
        self
    }

    /// Sets `name` to `value`, a secret: `output` fails the test if either stream shows it.
    pub fn secret(self, name: &str, value: &str) -> Cli {
        self.forbid(value).env(name, value)
    }

    /// `output` fails the test if either stream shows `text` (a secret from elsewhere).
    pub fn forbid(mut self, text: &str) -> Cli {
        self.secrets.push(text.to_owned());
        self
    }

    /// `APP_TOKEN`, the token of every target of [`many_targets`].
    pub fn app_token(self) -> Cli {
        self.secret("APP_TOKEN", WEBSITE_TOKEN)
    }

    /// The two tokens of the repository's own dispatch.yaml ([`Cli::example`]).
    pub fn dot_ai_tokens(self) -> Cli {
        self.secret("WEBSITE_DISPATCH_TOKEN", WEBSITE_TOKEN)
            .secret("CLI_DISPATCH_TOKEN", CLI_TOKEN)
    }

    /// Runs to the end.
    pub fn output(mut self) -> Ran {
        let output = self.cmd.output().expect("the binary runs");
        let ran = Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        for secret in &self.secrets {
            assert!(
                !ran.stdout.contains(secret.as_str()) && !ran.stderr.contains(secret.as_str()),
                "a secret was printed:\n{}{}",
                ran.stdout,
                ran.stderr
            );
        }
        drop(self.dir.take());
        ran
    }

    /// Starts it with piped output, for signalling (secrets are not checked). The caller owns
    /// the directory: use [`Cli::in_dir`].
    pub fn spawn(mut self) -> std::process::Child {
        assert!(
            self.dir.is_none(),
            "spawn a Cli::in_dir, whose directory outlives it"
        );
        self.cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }
}

/// What a finished run said.
#[derive(Debug)]
pub struct Ran {
    /// The exit code (-1 when a signal ended it).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// stdout as JSON (the report of `--output json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// One target's entry in the JSON report.
    pub fn target(&self, name: &str) -> Value {
        let report = self.json();
        report["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["target"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {report}"))
    }

    /// Both streams, for failure messages and searches.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A running binary whose stderr the test can wait on, line by line: "act when the binary has
/// said X" instead of "act after N milliseconds", so a slow machine only makes it later.
pub struct Watched {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::sync::Arc<Said>,
    reader: std::thread::JoinHandle<()>,
}

/// stderr so far, and whether it has closed.
#[derive(Default)]
struct Said {
    text: std::sync::Mutex<(String, bool)>,
    grew: std::sync::Condvar,
}

impl Watched {
    /// Watches a child spawned with piped stdout and stderr ([`Cli::spawn`]).
    pub fn new(mut child: std::process::Child) -> Watched {
        use std::io::{BufRead, Read};
        let mut out = child.stdout.take().expect("stdout is piped");
        let err = child.stderr.take().expect("stderr is piped");
        let stdout = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            bytes
        });
        let stderr = std::sync::Arc::new(Said::default());
        let reader = std::thread::spawn({
            let said = std::sync::Arc::clone(&stderr);
            move || {
                let mut lines = std::io::BufReader::new(err);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let read = lines.read_until(b'\n', &mut line).unwrap_or(0);
                    let mut text = said.text.lock().unwrap();
                    text.0.push_str(&String::from_utf8_lossy(&line));
                    text.1 = read == 0;
                    said.grew.notify_all();
                    if read == 0 {
                        return;
                    }
                }
            }
        });
        Watched {
            child,
            stdout,
            stderr,
            reader,
        }
    }

    #[cfg(unix)] // for `signal`
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `kill -<name>` (`INT`, `TERM`) to the binary. Unix only: Windows has no signal
    /// for one process (Ctrl-C goes to a whole console, the test binary's included).
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// Blocks until stderr contains `text`; fails the test if stderr closes without it (or,
    /// as a guard against a hang, if a minute passes without it).
    pub fn wait_for_stderr(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut said = self.stderr.text.lock().unwrap();
        while !said.0.contains(text) {
            let now = Instant::now();
            assert!(
                !said.1 && now < deadline,
                "the binary never said {text:?}; it said:\n{}",
                said.0
            );
            said = self
                .stderr
                .grew
                .wait_timeout(said, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Interrupts the binary while `github` holds `in_flight` of its requests: sends `signal`
    /// once they have arrived, waits until the binary says it is finishing them, then lets
    /// them be answered and waits for it to end.
    #[cfg(unix)]
    pub fn interrupt_in_flight(self, github: &FakeGitHub, in_flight: usize, signal: &str) -> Ran {
        github.wait_for_requests(in_flight);
        self.signal(signal);
        self.wait_for_stderr("interrupted: finishing requests in flight");
        github.release_answers();
        self.finish()
    }

    /// Waits for the binary to end, as [`Watched::finish`]; one still running after `limit`
    /// is killed and fails the test. A hang guard, not a timing window: make `limit` generous.
    pub fn finish_within(mut self, limit: Duration) -> Ran {
        if self.ended_within(limit) {
            return self.finish();
        }
        let ran = self.finish();
        panic!(
            "the binary was still running after {limit:?}; it said:\n{}",
            ran.all()
        );
    }

    /// Waits up to `limit` for the binary to end; kills it if it has not (then `false`), so a
    /// [`Watched::finish`] that follows cannot hang. The one "wait with a deadline" loop.
    pub fn ended_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(1);
        while self
            .child
            .try_wait()
            .expect("waits for the binary")
            .is_none()
        {
            let now = Instant::now();
            if now >= deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(5));
        }
        true
    }

    /// Waits for the binary to end: its exit code (-1 for a signal), stdout and stderr.
    pub fn finish(mut self) -> Ran {
        let status = self.child.wait().expect("waits for the binary");
        let stdout = self.stdout.join().expect("stdout reader");
        self.reader.join().expect("stderr reader");
        let stderr = std::mem::take(&mut self.stderr.text.lock().unwrap().0);
        Ran {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr,
        }
    }
}
