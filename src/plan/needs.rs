//! `needs:` in a plan: which needs this run waits for, which are already settled before
//! anything is sent, and the waves the rest make.
//!
//! Before sending, each need of a planned target is one of:
//! - planned too: the target waits for it while the run goes (see `dispatch::needs`);
//! - set aside as delivered by an earlier run (`--resume`, `--retry-failed`): done. Its run,
//!   if it is waited on, is not followed again (neither file says how it concluded), and a
//!   note says so;
//! - skipped (its `when` does not hold, or an optional target's token is unset), or blocked
//!   itself: the target is `blocked`, not sent;
//! - not in the plan at all (`--target` left it out): treated as done, with a note, since
//!   naming some targets is how a release engineer sends the rest of a graph by hand.

use super::{Job, Plan, PlanMode, Skip, SkipWhy};
use crate::config::TargetSpec;
use std::collections::{HashMap, HashSet};

/// An optional target (`required: false`) whose token variable is unset or empty in a run
/// that sends: skipped, rather than refusing the whole run.
pub(super) fn token_unset(
    name: &str,
    target: &TargetSpec,
    mode: PlanMode,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Option<Skip> {
    if target.required || mode != PlanMode::Send {
        return None;
    }
    let env = target.token_env.as_deref()?;
    if lookup(env).is_some_and(|v| !v.trim().is_empty()) {
        return None;
    }
    Some(Skip {
        target: name.to_owned(),
        kind: target.kind,
        destination: super::destination(target),
        reason: format!(
            "environment variable `{env}` is not set (an optional target: `required: false`)"
        ),
        why: SkipWhy::TokenUnset,
    })
}

/// Settles what can be settled before sending: needs done earlier or left out are dropped
/// from each job (with a note), and the jobs a skipped need (or one in `failed`, which the
/// caller reports failed) blocks are taken out of the plan and returned with the reason, in
/// plan order. What stays in each job's `needs` is planned.
pub fn settle(plan: &mut Plan, failed: &HashSet<&str>) -> Vec<(Job, String)> {
    let skipped: HashMap<&str, SkipWhy> = plan
        .skipped
        .iter()
        .map(|s| (s.target.as_str(), s.why))
        .collect();
    let mut blocked: HashMap<String, String> = HashMap::new();
    let planned: HashSet<String> = plan.jobs.iter().map(|j| j.target.clone()).collect();
    // In wave order, one pass: each job's needs are decided before it is.
    let waves = waves(&plan.jobs);
    let mut order: Vec<usize> = (0..plan.jobs.len()).collect();
    order.sort_by_key(|&i| waves[i]);
    for job in order.into_iter().map(|i| &plan.jobs[i]) {
        let why = job.needs.iter().find_map(|need| {
            let which = if failed.contains(need.as_str()) {
                "failed"
            } else if blocked.contains_key(need) {
                "was blocked"
            } else {
                match skipped.get(need.as_str()) {
                    Some(SkipWhy::When | SkipWhy::TokenUnset) => "was skipped",
                    _ => return None,
                }
            };
            Some(format!("needs `{need}`, which {which}"))
        });
        if let Some(why) = why {
            blocked.insert(job.target.clone(), why);
        }
    }
    let (out, kept): (Vec<Job>, Vec<Job>) = std::mem::take(&mut plan.jobs)
        .into_iter()
        .partition(|job| blocked.contains_key(&job.target));
    plan.jobs = kept;
    for job in &mut plan.jobs {
        drop_settled(job, &planned, &skipped);
    }
    out.into_iter()
        .map(|job| {
            let why = blocked.remove(&job.target).unwrap_or_default();
            (job, why)
        })
        .collect()
}

/// Drops the needs of `job` that are done before sending, saying which in its note.
fn drop_settled(job: &mut Job, planned: &HashSet<String>, skipped: &HashMap<&str, SkipWhy>) {
    let mut notes = Vec::new();
    job.needs.retain(|need| {
        if planned.contains(need) {
            return true;
        }
        notes.push(match skipped.get(need.as_str()) {
            Some(SkipWhy::Delivered) => {
                format!(
                    "needs `{need}`: delivered by the earlier run (its run is not followed again)"
                )
            }
            _ => format!("needs `{need}`, which this run does not send (--target): not waited for"),
        });
        false
    });
    if !notes.is_empty() {
        let notes = notes.join("; ");
        job.note = Some(match job.note.take() {
            Some(note) => format!("{note}; {notes}"),
            None => notes,
        });
    }
}

/// Each job's wave (1 for a job that needs none of the others, else one past its latest
/// need's), in plan order.
pub fn waves(jobs: &[Job]) -> Vec<usize> {
    waves_of(jobs.iter().map(|j| (j.target.as_str(), j.needs.as_slice())))
}

/// The wave of each named entry, in order, from the names each needs. A need that is not
/// among the entries is not waited for; the configuration has no cycles.
pub fn waves_of<'a>(entries: impl Iterator<Item = (&'a str, &'a [String])>) -> Vec<usize> {
    let entries: Vec<(&str, &[String])> = entries.collect();
    let index: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, i))
        .collect();
    let needs: Vec<Vec<usize>> = entries
        .iter()
        .map(|(_, needs)| {
            needs
                .iter()
                .filter_map(|n| index.get(n.as_str()).copied())
                .collect()
        })
        .collect();
    let mut wave = vec![0usize; entries.len()];
    for start in 0..entries.len() {
        wave_of(start, &needs, &mut wave);
    }
    wave
}

/// `start`'s wave, working out its needs' first, without recursion (a chain may be long).
fn wave_of(start: usize, needs: &[Vec<usize>], wave: &mut [usize]) {
    let mut stack = vec![start];
    let mut on_stack = vec![false; needs.len()];
    on_stack[start] = true;
    while let Some(&at) = stack.last() {
        if wave[at] != 0 {
            on_stack[at] = false;
            stack.pop();
            continue;
        }
        // A need already on the stack would be a cycle, which compiling refuses: it counts
        // as settled rather than loop.
        let pending: Vec<usize> = needs[at]
            .iter()
            .copied()
            .filter(|&n| wave[n] == 0 && !on_stack[n])
            .collect();
        if pending.is_empty() {
            wave[at] = 1 + needs[at].iter().map(|&n| wave[n]).max().unwrap_or(0);
            on_stack[at] = false;
            stack.pop();
        } else {
            for &n in &pending {
                on_stack[n] = true;
            }
            stack.extend(pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::waves_of;

    #[test]
    fn a_target_goes_one_wave_after_its_latest_need() {
        let needs: Vec<(&str, Vec<String>)> = vec![
            ("test", vec!["web".into(), "cli".into()]),
            ("web", vec!["cli".into()]),
            ("cli", vec![]),
            ("docs", vec!["gone".into()]),
        ];
        let waves = waves_of(needs.iter().map(|(n, d)| (*n, d.as_slice())));
        assert_eq!(waves, vec![3, 2, 1, 1]);
    }
}
