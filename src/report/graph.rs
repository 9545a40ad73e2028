//! `needs:` and `required:` in a report: each target's wave, the optional failures counted
//! apart, and the graph as a Mermaid block for Markdown (GitHub renders it).

use super::{Entry, Report, Summary, TargetReport};
use crate::dispatch::Status;
use std::fmt::Write as _;

/// Gives each target its wave when the targets make more than one; none otherwise.
pub(super) fn number_waves(targets: &mut [TargetReport]) {
    if targets.iter().all(|t| t.needs.is_empty()) {
        return;
    }
    let waves = crate::plan::needs::waves_of(
        targets
            .iter()
            .map(|t| (t.target.as_str(), t.needs.as_slice())),
    );
    let several = waves.iter().any(|&w| w > 1);
    for (t, wave) in targets.iter_mut().zip(waves) {
        t.wave = several.then_some(wave);
    }
}

/// A target's wave, and what it is sent after: `wave 2, after cli, image`.
pub(super) fn wave_line(t: &TargetReport) -> Option<String> {
    let wave = t.wave?;
    if t.needs.is_empty() {
        return Some(format!("wave {wave}"));
    }
    Some(format!("wave {wave}, after {}", t.needs.join(", ")))
}

impl Summary {
    /// Counts an optional target that did not succeed in `optional_failed`; true when that
    /// is its only count (a delivered one whose run failed is still delivered).
    pub(super) fn count_optional(&mut self, t: &TargetReport) -> bool {
        if !t.optional {
            return false;
        }
        match &t.status {
            Entry::Done(
                Status::Failed { .. } | Status::Blocked { .. } | Status::Skipped { .. },
            ) => {
                self.optional_failed += 1;
                true
            }
            Entry::Done(Status::Delivered { run: Some(run), .. }) if run.failed() => {
                self.optional_failed += 1;
                false
            }
            _ => false,
        }
    }
}

/// The counts the text's last line shows apart, when there are any: blocked targets and
/// optional failures (which do not fail the run).
pub(super) fn totals_apart(s: &Summary) -> String {
    let mut apart = String::new();
    if s.blocked > 0 {
        let _ = write!(apart, ", {} blocked", s.blocked);
    }
    if s.optional_failed > 0 {
        let _ = write!(
            apart,
            ", {} optional failed (not failing the run)",
            s.optional_failed
        );
    }
    apart
}

impl Report {
    /// The graph of `needs` as a Mermaid `graph LR`, when the targets make more than one
    /// wave; each node classed by its outcome. Node ids are `t0`, `t1`, … and labels are
    /// written with Mermaid's entity codes for anything but plain name characters, so no
    /// name can break out of the block.
    pub(crate) fn mermaid(&self) -> Option<String> {
        if self.targets.iter().all(|t| t.wave.is_none_or(|w| w <= 1)) {
            return None;
        }
        let id = |name: &str| self.targets.iter().position(|t| t.target == name);
        let mut out = String::from("```mermaid\ngraph LR\n");
        for (i, t) in self.targets.iter().enumerate() {
            let _ = writeln!(out, "  t{i}[\"{}\"]:::{}", label(&t.target), class(t));
        }
        for (i, t) in self.targets.iter().enumerate() {
            for need in t.needs.iter().filter_map(|n| id(n)) {
                let _ = writeln!(out, "  t{need} --> t{i}");
            }
        }
        out.push_str(CLASSES);
        out.push_str("```\n");
        Some(out)
    }
}

const CLASSES: &str = "  classDef planned fill:#eef,stroke:#88a
  classDef delivered fill:#dfd,stroke:#3a3
  classDef failed fill:#fdd,stroke:#c33
  classDef blocked fill:#eee,stroke:#999,stroke-dasharray:4
  classDef skipped fill:#fff,stroke:#999
";

/// A node's class: its outcome.
fn class(t: &TargetReport) -> &'static str {
    match &t.status {
        Entry::Planned(_) => "planned",
        Entry::Done(Status::Delivered { run: Some(run), .. }) if run.failed() => "failed",
        Entry::Done(Status::Delivered { .. }) => "delivered",
        Entry::Done(Status::Failed { .. } | Status::NotSent { .. }) => "failed",
        Entry::Done(Status::Blocked { .. }) => "blocked",
        Entry::Done(Status::Skipped { .. }) => "skipped",
    }
}

/// A target's name as a Mermaid label: letters, digits and `-_./@ ` as they are, anything
/// else as an entity code (`#35;`).
fn label(name: &str) -> String {
    let mut label = String::with_capacity(name.len());
    for c in name.chars().take(100) {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@' | ' ') {
            label.push(c);
        } else {
            let _ = write!(label, "#{};", u32::from(c));
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn a_label_cannot_close_its_quotes_or_the_block() {
        assert_eq!(label("web\"]\n```"), "web#34;#93;#10;#96;#96;#96;");
    }
}
