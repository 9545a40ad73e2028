//! `check` for a target's `await:` artifacts: each looked up once, as a release would. A
//! registry that answers is fine whether the artifact is published already or not yet (a
//! release waits for it); one that cannot be reached or refuses the lookup (401, 403, 5xx)
//! would make the target wait until its `await_timeout_secs`, so the target is not ready.

use super::{TargetCheck, Verdict};
use crate::dispatch::gate::{probe, GateAnswer};
use crate::plan::Job;
use crate::untrusted::{Message, Text};

/// How much of a registry's answer a message quotes.
const SHOWN_CHARS: usize = 200;

/// Looks each of the job's artifacts up once and records what each registry said.
/// `turns` are `check`'s turns to hold an answer (a chart index, a release), shared with its
/// other reads.
pub(crate) async fn judge(
    client: &reqwest::Client,
    turns: &tokio::sync::Semaphore,
    job: &Job,
    out: &mut TargetCheck,
) {
    let Some(gates) = &job.gates else {
        return;
    };
    // A registry that never answers holds the target no longer than its reads may take.
    let budget = super::reads::TARGET_READ_BUDGET.min(job.retry.deadline);
    let look = |gate| async move {
        tokio::time::timeout(budget, probe(client, turns, gate))
            .await
            .unwrap_or_else(|_| {
                GateAnswer::Unusable(format!(
                    "no answer within {} s",
                    crate::policy::shown_secs(budget)
                ))
            })
    };
    let answers = futures::future::join_all(gates.checks.iter().map(look)).await;
    for (gate, answer) in gates.checks.iter().zip(answers) {
        let label = gate.label();
        match answer {
            GateAnswer::Published => out
                .evidence
                .push(Message::from(format!("{label} is published"))),
            GateAnswer::NotYet(last) => out.evidence.push(
                Message::from(format!("{label} is not published yet ("))
                    .value(&Text::new(&last, SHOWN_CHARS))
                    .ours("); a release waits for it"),
            ),
            GateAnswer::Unusable(last) => {
                let problem = Message::from(format!("{label} cannot be looked up: "))
                    .value(&Text::new(&last, SHOWN_CHARS))
                    .ours(" (check `registries:` and its token)");
                if out.verdict != Verdict::NotReady {
                    out.verdict = Verdict::NotReady;
                    out.reason = problem.clone();
                }
                out.problems.push(problem);
            }
        }
    }
}
