//! `needs:` checked across the file: each need names a target, one that every source feeding
//! the target feeds as well (else a release of that source could never send it), and the needs
//! make no cycle. Every problem is found in one pass, at `targets.NAME.needs[i]`.

use super::model::{Source, Target};
use super::sections::Unread;
use crate::diagnostic::{closest, join, shown, Code, Diagnostic};
use indexmap::IndexMap;
use std::collections::HashSet;

/// The problems of every target's `needs`, in file order, then the cycles.
pub(crate) fn check(
    targets: &IndexMap<String, Box<Target>>,
    sources: &IndexMap<String, Box<Source>>,
    unread: &Unread,
    out: &mut Vec<Diagnostic>,
) {
    if targets.values().all(|t| t.needs.is_empty()) {
        return;
    }
    let feeders = feeders(targets, sources);
    for (index, (name, target)) in targets.iter().enumerate() {
        for (i, need) in target.needs.iter().enumerate() {
            let path = format!("{}[{i}]", join(&join("targets", name), "needs"));
            match targets.get_index_of(need) {
                None if unread.covers(&join("targets", need)) => {}
                None => out.push(unknown(name, need, &path, targets)),
                Some(needed) => {
                    if let Some(source) = feeders[index]
                        .iter()
                        .find(|s| !feeders[needed].contains(*s))
                    {
                        out.push(not_fed(name, need, source, &path));
                    }
                }
            }
        }
    }
    for cycle in cycles(targets) {
        out.push(cycle_problem(&cycle, targets));
    }
}

/// For each target (by position), the sources that feed it.
fn feeders<'f>(
    targets: &IndexMap<String, Box<Target>>,
    sources: &'f IndexMap<String, Box<Source>>,
) -> Vec<HashSet<&'f str>> {
    let mut feeders = vec![HashSet::new(); targets.len()];
    for (source, spec) in sources {
        for target in &spec.targets {
            if let Some(index) = targets.get_index_of(target) {
                feeders[index].insert(source.as_str());
            }
        }
    }
    feeders
}

fn unknown(
    name: &str,
    need: &str,
    path: &str,
    targets: &IndexMap<String, Box<Target>>,
) -> Diagnostic {
    let help = match closest(need, targets.keys().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!(
            "define `{}` under `targets:`, or remove it from `needs`",
            shown(need)
        ),
    };
    Diagnostic::error(
        Code::UnknownNeed,
        path.to_owned(),
        format!(
            "target `{name}` needs `{}`, which is not defined",
            shown(need)
        ),
    )
    .with_help(help)
}

fn not_fed(name: &str, need: &str, source: &str, path: &str) -> Diagnostic {
    Diagnostic::error(
        Code::NeedNotFed,
        path.to_owned(),
        format!("target `{name}` needs `{need}`, which source `{source}` does not feed"),
    )
    .with_help(format!(
        "add `{need}` to `sources.{source}.targets`, or remove it from `needs` (a release of `{source}` would otherwise never send `{name}`)"
    ))
}

/// A cycle, at the need that closes it from its first target (in file order).
fn cycle_problem(cycle: &[usize], targets: &IndexMap<String, Box<Target>>) -> Diagnostic {
    let name = |i: usize| targets.get_index(i).map_or("", |(n, _)| n.as_str());
    let first = cycle.first().copied().unwrap_or_default();
    let second = cycle.get(1).copied().unwrap_or(first);
    let at = targets
        .get_index(first)
        .and_then(|(_, t)| t.needs.iter().position(|n| n == name(second)))
        .unwrap_or_default();
    let spelled: Vec<&str> = cycle
        .iter()
        .map(|&i| name(i))
        .chain([name(first)])
        .collect();
    Diagnostic::error(
        Code::NeedsCycle,
        format!("{}[{at}]", join(&join("targets", name(first)), "needs")),
        format!("cycle: {}", spelled.join(" → ")),
    )
    .with_help("a target cannot be sent after itself: remove one of these needs")
}

/// Every cycle of the needs, each once, as the targets (by position) in the order they need
/// each other, starting from the first of them in the file.
fn cycles(targets: &IndexMap<String, Box<Target>>) -> Vec<Vec<usize>> {
    let edges: Vec<Vec<usize>> = targets
        .values()
        .map(|t| {
            t.needs
                .iter()
                .filter_map(|n| targets.get_index_of(n))
                .collect()
        })
        .collect();
    // Iterative depth-first search: 0 unseen, 1 on the path, 2 finished.
    let mut state = vec![0u8; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if state[start] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&to) = edges[node].get(*next) else {
                state[node] = 2;
                path.pop();
                continue;
            };
            *next += 1;
            match state[to] {
                0 => {
                    state[to] = 1;
                    path.push((to, 0));
                }
                1 => {
                    let from = path.iter().position(|(n, _)| *n == to).unwrap_or_default();
                    found.push(rotated(path[from..].iter().map(|(n, _)| *n).collect()));
                }
                _ => {}
            }
        }
    }
    found
}

/// The cycle starting from its first target in the file.
fn rotated(mut cycle: Vec<usize>) -> Vec<usize> {
    if let Some(first) = cycle
        .iter()
        .enumerate()
        .min_by_key(|(_, n)| **n)
        .map(|(i, _)| i)
    {
        cycle.rotate_left(first);
    }
    cycle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(needs: &[(&str, &[&str])]) -> IndexMap<String, Box<Target>> {
        needs
            .iter()
            .map(|(name, needs)| {
                let target: Target = serde_json::from_value(serde_json::json!({
                    "repository": "o/r", "event_type": "e", "token_env": "T", "needs": needs,
                }))
                .unwrap();
                ((*name).to_owned(), Box::new(target))
            })
            .collect()
    }

    #[test]
    fn a_cycle_is_found_once_and_spelled_from_its_first_target() {
        let targets = targets(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &["a"])]);
        assert_eq!(cycles(&targets), vec![vec![0, 2, 1]]);
        let problem = cycle_problem(&[0, 2, 1], &targets);
        assert_eq!(problem.message, "cycle: a → c → b → a");
        assert_eq!(problem.path, "targets.a.needs[0]");
    }

    #[test]
    fn a_target_that_needs_itself_is_a_cycle() {
        let targets = targets(&[("a", &["a"])]);
        assert_eq!(cycles(&targets), vec![vec![0]]);
    }

    #[test]
    fn a_graph_without_cycles_has_none() {
        let targets = targets(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]);
        assert!(cycles(&targets).is_empty());
    }
}
