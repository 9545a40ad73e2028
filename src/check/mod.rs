//! `orchestrator check`: before release day, whether each target would start what it should.
//! Read-only: for every planned GitHub target it reads the repository (access, default
//! branch), the workflows on the branch a dispatch would run (does one listen for the event
//! type, does the workflow_dispatch workflow take the inputs we send) and the token's expiry
//! from every answer. Webhooks are not checkable without side effects.
//!
//! [`workflow`] and [`verdict`] are pure; [`probe`] does the reads through the one transport
//! ([`crate::dispatch::sender::GitHub`]); [`receiver`] writes the downstream workflow.

pub(crate) mod event_types;
pub(crate) mod expression;
pub(crate) mod gates;
pub(crate) mod probe;
mod reads;
pub(crate) mod receiver;
pub(crate) mod report;
pub(crate) mod template_reads;
pub(crate) mod verdict;
pub mod workflow;

use crate::config::model::TargetKind;
use crate::github::response::{ExpiryState, TokenExpiry};
use crate::untrusted::{Message, Text};
use serde::Serialize;

/// What `check` concluded about one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A release would start what it should.
    Ready,
    /// A release would not: no access, nothing listening, inputs GitHub refuses, an expired
    /// or missing token.
    NotReady,
    /// What would tell could not be read whole: a 403/404 (see `needs`), no answer, an
    /// answer cut short or not what GitHub sends, or the target's time for reads ran out.
    CannotTell,
    /// A webhook: checking it would mean calling it.
    NotCheckable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not ready",
            Verdict::CannotTell => "cannot tell",
            Verdict::NotCheckable => "not checkable",
        }
    }
}

/// A token's expiry as GitHub reported it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenCheck {
    /// The token variable (or `GitHub App` for App targets).
    pub token: String,
    pub expires: String,
    /// `valid`, `expiring` or `expired`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<u64>,
}

impl TokenCheck {
    pub fn new(token: &str, expiry: TokenExpiry, now_epoch: u64, warn_days: u64) -> TokenCheck {
        let (state, days_left) = match expiry.state(now_epoch, warn_days) {
            ExpiryState::Valid => ("valid", None),
            ExpiryState::Expiring { days } => ("expiring", Some(days)),
            ExpiryState::Expired => ("expired", None),
        };
        TokenCheck {
            token: token.to_owned(),
            expires: expiry.shown(),
            state,
            days_left,
        }
    }

    /// The warning or error line about this token, when there is one to give.
    pub fn message(&self) -> Option<String> {
        match (self.state, self.days_left) {
            ("expired", _) => Some(format!(
                "the token in `{}` expired on {}: renew it",
                self.token, self.expires
            )),
            ("expiring", Some(days)) => Some(format!(
                "the token in `{}` expires on {} (in {days} day(s)): renew it before then",
                self.token, self.expires
            )),
            _ => None,
        }
    }
}

/// One target, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetCheck {
    pub target: String,
    /// The source it was planned for (its templates rendered as a release of it would).
    pub source: String,
    pub kind: TargetKind,
    pub destination: String,
    pub verdict: Verdict,
    /// The verdict in one sentence. Here and below, what a server sent (a branch, a file
    /// name, an event type, GitHub's words) is [`Text`]: written only through a channel's
    /// escaping.
    pub reason: Message,
    /// What was read and found, one fact a line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Message>,
    /// Everything that keeps it from being ready.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Message>,
    /// "did you mean": the closest event type a workflow listens for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Text>,
    /// For a 403/404 on a read: the permission the token needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<Text>,
    /// repository_dispatch: whether a listening workflow's `run-name` carries
    /// `client_payload.dispatch_id`, so a dispatch can find the run it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trackable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenCheck>,
}

impl TargetCheck {
    pub fn new(job: &crate::plan::Job, source: &str) -> TargetCheck {
        TargetCheck {
            target: job.target.clone(),
            source: source.to_owned(),
            kind: job.kind,
            destination: job.destination.clone(),
            verdict: Verdict::Ready,
            reason: Message::new(),
            evidence: Vec::new(),
            problems: Vec::new(),
            suggestion: None,
            needs: None,
            default_branch: None,
            trackable: None,
            token: None,
        }
    }
}

/// Every target checked, and the counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The JSON's format, as a run's report has it ([`crate::journal::FORMAT`]), so a script
    /// can tell which shape it reads.
    pub format: u32,
    pub targets: Vec<TargetCheck>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub ready: usize,
    pub not_ready: usize,
    pub cannot_tell: usize,
    pub not_checkable: usize,
    /// Tokens that expire within the warning window.
    pub tokens_expiring: usize,
    pub tokens_expired: usize,
}

impl CheckReport {
    pub fn new(targets: Vec<TargetCheck>) -> CheckReport {
        let mut summary = Summary::default();
        let mut tokens = std::collections::BTreeMap::new();
        for t in &targets {
            match t.verdict {
                Verdict::Ready => summary.ready += 1,
                Verdict::NotReady => summary.not_ready += 1,
                Verdict::CannotTell => summary.cannot_tell += 1,
                Verdict::NotCheckable => summary.not_checkable += 1,
            }
            if let Some(token) = &t.token {
                tokens.insert(token.token.clone(), token.state);
            }
        }
        summary.tokens_expiring = tokens.values().filter(|s| **s == "expiring").count();
        summary.tokens_expired = tokens.values().filter(|s| **s == "expired").count();
        CheckReport {
            format: crate::journal::FORMAT,
            targets,
            summary,
        }
    }

    /// Exit 0 only when every checkable target is ready (webhooks cannot be checked and do
    /// not fail the check) and no token has expired.
    pub fn all_ready(&self) -> bool {
        self.summary.not_ready == 0
            && self.summary.cannot_tell == 0
            && self.summary.tokens_expired == 0
    }

    /// Each token's warning or error, once per token variable.
    pub fn token_messages(&self) -> Vec<(&'static str, String)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut lines = Vec::new();
        for token in self.targets.iter().filter_map(|t| t.token.as_ref()) {
            if !seen.insert(token.token.clone()) {
                continue;
            }
            if let Some(message) = token.message() {
                let level = if token.state == "expired" {
                    "error"
                } else {
                    "warning"
                };
                lines.push((level, message));
            }
        }
        lines
    }
}
