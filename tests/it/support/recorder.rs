//! Delivery without a network: a recording fake [`Sender`] and the jobs of a real plan, for
//! tests that run `dispatch_all` on tokio's paused clock (hours of waiting take milliseconds,
//! and every instant is exact).

use super::cli::{many_targets, WEBSITE_TOKEN};
use orchestrator::config::model::TargetKind;
use orchestrator::config::{self, model::Settings};
use orchestrator::dispatch::{Attempt, Observer, Outcome, Sender, Status};
use orchestrator::github::classify::{classify, Answer, Subject};
use orchestrator::plan::{plan, Job, PlanMode};
use orchestrator::release::{CiContext, Release, Version};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// One scripted answer: what the "server" says, and how long (virtual time) it takes to say it.
#[derive(Clone)]
pub struct Answered {
    pub attempt: Attempt,
    pub after: Duration,
}

/// One request that went out: to which target, and when (on the paused clock, from the start).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub target: String,
    pub at: Duration,
}

/// Answers each target from its script (the last answer repeats; unscripted targets are
/// delivered at once) and records every send.
pub struct Recorder {
    start: Instant,
    script: HashMap<String, Vec<Answered>>,
    latency: Duration,
    sent: Mutex<Vec<Sent>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            script: HashMap::new(),
            latency: Duration::ZERO,
            sent: Mutex::new(Vec::new()),
        }
    }

    /// `target` answers these, in order, each at once.
    pub fn on(self, target: &str, answers: impl IntoIterator<Item = Attempt>) -> Recorder {
        let latency = self.latency;
        self.on_slow(
            target,
            answers.into_iter().map(|attempt| Answered {
                attempt,
                after: latency,
            }),
        )
    }

    /// `target` answers these, in order, each after its own delay.
    pub fn on_slow(
        mut self,
        target: &str,
        answers: impl IntoIterator<Item = Answered>,
    ) -> Recorder {
        self.script
            .insert(target.to_owned(), answers.into_iter().collect());
        self
    }

    /// Every unscripted answer (and later `on` answers) takes this long.
    pub fn latency(mut self, latency: Duration) -> Recorder {
        self.latency = latency;
        self
    }

    /// Time on the paused clock since the recorder was made.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// When each request to `target` went out.
    pub fn sends_to(&self, target: &str) -> Vec<Duration> {
        self.sent()
            .into_iter()
            .filter(|s| s.target == target)
            .map(|s| s.at)
            .collect()
    }
}

impl Sender for Recorder {
    fn send(&self, job: &Job) -> impl Future<Output = Attempt> + Send {
        let mut sent = self.sent.lock().unwrap();
        let before = sent.iter().filter(|s| s.target == job.target).count();
        sent.push(Sent {
            target: job.target.clone(),
            at: self.start.elapsed(),
        });
        let answer = match self.script.get(&job.target) {
            Some(answers) => answers[before.min(answers.len() - 1)].clone(),
            None => Answered {
                attempt: delivered(),
                after: self.latency,
            },
        };
        async move {
            tokio::time::sleep(answer.after).await;
            answer.attempt
        }
    }
}

/// The jobs of `many_targets(n)` for source `app` 1.0.0, all on one lane (host and token),
/// with the default settings (5 attempts, 300 s deadline, 1 s first backoff).
pub fn jobs(n: usize) -> Vec<Job> {
    let yaml = many_targets(n);
    let none = figment::providers::Serialized::defaults(Settings::default());
    let checked = config::check(yaml.as_bytes(), none, &Settings::default());
    let config = checked.config.expect("valid config");
    let release = Release {
        source: "app".to_owned(),
        version: Version::parse("1.0.0").unwrap(),
        vars: Default::default(),
        ci: CiContext::sample(),
        changes: None,
    };
    let token = |_: &str| Some(WEBSITE_TOKEN.to_owned());
    plan(&config, &release, &token, PlanMode::Send)
        .expect("a plan")
        .jobs
}

pub fn delivered() -> Attempt {
    Attempt::Delivered {
        http_status: 204,
        run: None,
    }
}

/// What the real classification makes of an HTTP answer to a repository_dispatch.
pub fn answer(answer: Answer<'_>) -> Attempt {
    let subject = Subject {
        kind: TargetKind::RepositoryDispatch,
        repository: "o/t00",
        token_env: "APP_TOKEN",
    };
    match classify(&answer, &subject) {
        Ok(http_status) => Attempt::Delivered {
            http_status,
            run: None,
        },
        Err(failure) => Attempt::Failed(failure),
    }
}

/// `503 Service Unavailable`, with `Retry-After` when given.
pub fn unavailable(retry_after: Option<&str>) -> Attempt {
    answer(Answer {
        status: 503,
        retry_after,
        ..Answer::default()
    })
}

/// GitHub's secondary rate limit, with `Retry-After` when given.
pub fn secondary_limit(retry_after: Option<&str>) -> Attempt {
    answer(Answer {
        status: 403,
        retry_after,
        body: r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        ..Answer::default()
    })
}

/// A failure that no retry can fix.
pub fn permanent(status: u16) -> Attempt {
    answer(Answer {
        status,
        body: r#"{"message":"Not Found"}"#,
        ..Answer::default()
    })
}

/// Hears nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// The report line's reason of a failed or unsent target.
pub fn reason(outcome: &Outcome) -> &str {
    match &outcome.status {
        Status::Failed { reason, .. } | Status::NotSent { reason } => reason,
        other => panic!("{} has no reason: {other:?}", outcome.target),
    }
}

pub fn is_delivered(outcome: &Outcome) -> bool {
    matches!(outcome.status, Status::Delivered { .. })
}
