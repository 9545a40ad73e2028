//! `orchestrator diff`: what a change to `dispatch.yaml` changes in what releases send, for a
//! reviewer who should not have to run the plan in their head.
//!
//! Pure: both sides are planned for the same sample releases without tokens ([`Side::plan`]
//! reads no variable), then compared per source and per target into a [`Diff`]: targets
//! added, removed or renamed (same kind, destination and event under a new name), settings
//! changed (destination, token variable or App, `when`, retries…), what each sample release
//! now does with a target (sent, or skipped and why), and the rendered body as a JSON diff of
//! the changed paths. [`text`] and [`markdown`] show it; `--output json` serializes it.

mod json;
pub(crate) mod markdown;
mod side;
pub(crate) mod text;

pub(crate) use json::ValueChange;
pub(crate) use side::{Samples, Side};

use serde::Serialize;
use side::TargetView;
use std::collections::HashMap;

/// What was compared, for headings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    /// The file, as `--config` names it.
    pub file: &'a str,
    /// The base, as `--base` names it (or the default chosen).
    pub base: &'a str,
}

/// Everything that differs between two sides, source by source (unchanged ones left out).
#[derive(Debug, Serialize)]
pub(crate) struct Diff {
    /// The sample releases both sides were planned for.
    pub versions: Vec<String>,
    pub summary: Counts,
    /// Settings that changed alike in every changed target (a default), said once here and
    /// not under each target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub every_target: Vec<FieldChange>,
    pub sources: Vec<SourceDiff>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Counts {
    /// Sources whose releases send something different (added and removed ones included).
    pub sources: usize,
    pub added: usize,
    pub removed: usize,
    pub renamed: usize,
    pub changed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Change {
    Added,
    Removed,
    Renamed,
    Changed,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Renamed => "renamed",
            Change::Changed => "changed",
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct SourceDiff {
    pub source: String,
    /// `added` or `removed` for a whole source; `renamed` for a source under a new name with
    /// the same repository; `changed` otherwise.
    pub change: Change,
    /// The base's name of a renamed source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// `owner/name` (the head's, unless the source was removed).
    pub repository: String,
    /// How many targets the source feeds, before and after (`null` on the side without it).
    pub feeds_before: Option<usize>,
    pub feeds_after: Option<usize>,
    /// The source's own settings that changed (its repository).
    pub fields: Vec<FieldChange>,
    pub targets: Vec<TargetDiff>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TargetDiff {
    pub target: String,
    pub change: Change,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Kind, destination and event, in a few words (the base's for a removed target).
    pub summary: String,
    /// Settings that differ; for an added or removed target, all of them on its side.
    pub fields: Vec<FieldChange>,
    /// Per sample version whose fate differs: `sent`, or `skipped: why`.
    pub sends: Vec<FieldChange>,
    /// The rendered body's changes: once (`version: null`) when every sample release changes
    /// alike, else per version.
    pub body: Vec<BodyChanges>,
}

/// A setting, or a sample release's fate, before and after (`None` on the side without it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// For a list (`needs`, `await`): the items the head adds…
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// …and those it drops.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// Settings said only when they are not their default, and that default: a change from it
/// reads `required: true → false`, not a bare `false`.
const DEFAULTS: &[(&str, &str)] = &[("required", "true"), ("cancel_on_stop", "false")];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BodyChanges {
    pub version: Option<String>,
    pub changes: Vec<ValueChange>,
}

impl Diff {
    pub(crate) fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.every_target.is_empty()
    }
}

/// Compares `base` with `head`, both planned for `samples`.
pub(crate) fn compare(base: &Side, head: &Side, samples: &Samples) -> Diff {
    let versions: Vec<String> = samples.versions.iter().map(|v| v.text.clone()).collect();
    let renamed = renamed_sources(base, head);
    let mut sources: Vec<SourceDiff> = head
        .sources
        .iter()
        .map(|(name, after)| {
            let before_name = renamed.get(name.as_str()).copied().unwrap_or(name.as_str());
            match base.sources.get(before_name) {
                None => whole_source(name, after, Change::Added, &versions),
                Some(before) => compare_source((before_name, before), (name, after), &versions),
            }
        })
        .filter(|diff| {
            !diff.fields.is_empty() || !diff.targets.is_empty() || diff.change != Change::Changed
        })
        .collect();
    let removed = base.sources.iter().filter(|(name, _)| {
        !head.sources.contains_key(*name) && !renamed.values().any(|old| old == name)
    });
    for (name, before) in removed {
        sources.push(whole_source(name, before, Change::Removed, &versions));
    }
    let summary = counts(&sources);
    let every_target = hoist_shared_fields(&mut sources);
    Diff {
        versions,
        summary,
        every_target,
        sources,
    }
}

/// A setting that changed alike in every changed target (a default, most often: 7×
/// `retry.max_attempts: 3 → 5`) is said once, at the file's level: it is taken out of each
/// target, and a target or source left with nothing to say is left out. The counts stay.
fn hoist_shared_fields(sources: &mut Vec<SourceDiff>) -> Vec<FieldChange> {
    let changed = || {
        sources
            .iter()
            .flat_map(|s| &s.targets)
            .filter(|t| matches!(t.change, Change::Changed | Change::Renamed))
    };
    let names: std::collections::HashSet<&str> = changed().map(|t| t.target.as_str()).collect();
    let Some(first) = changed().next() else {
        return Vec::new();
    };
    if names.len() < 2 {
        return Vec::new();
    }
    let shared: Vec<FieldChange> = first
        .fields
        .iter()
        .filter(|f| changed().all(|t| t.fields.contains(f)))
        .cloned()
        .collect();
    if shared.is_empty() {
        return shared;
    }
    for source in sources.iter_mut() {
        for target in &mut source.targets {
            if matches!(target.change, Change::Changed | Change::Renamed) {
                target.fields.retain(|f| !shared.contains(f));
            }
        }
        source.targets.retain(|t| {
            t.change != Change::Changed
                || !(t.fields.is_empty() && t.sends.is_empty() && t.body.is_empty())
        });
    }
    sources
        .retain(|s| s.change != Change::Changed || !s.fields.is_empty() || !s.targets.is_empty());
    shared
}

/// A source only the base has, and one only the head has, with the same repository: the
/// source was renamed (its targets are compared, not listed as all removed and all added).
/// By the head's name, the base's.
fn renamed_sources<'a>(base: &'a Side, head: &'a Side) -> HashMap<&'a str, &'a str> {
    let mut renamed: HashMap<&str, &str> = HashMap::new();
    for (name, after) in &head.sources {
        if base.sources.contains_key(name) {
            continue;
        }
        let old = base.sources.iter().find(|(old, before)| {
            !head.sources.contains_key(*old)
                && !renamed.values().any(|o| o == old)
                && before.repository.eq_ignore_ascii_case(&after.repository)
        });
        if let Some((old, _)) = old {
            renamed.insert(name.as_str(), old.as_str());
        }
    }
    renamed
}

/// A source only one side has: every target it feeds `change`d (added or removed).
fn whole_source(
    name: &str,
    view: &side::SourceView,
    change: Change,
    versions: &[String],
) -> SourceDiff {
    let feeds = Some(view.feeds.len());
    let (feeds_before, feeds_after) = match change {
        Change::Removed => (feeds, None),
        _ => (None, feeds),
    };
    SourceDiff {
        source: name.to_owned(),
        change,
        renamed_from: None,
        repository: view.repository.clone(),
        feeds_before,
        feeds_after,
        fields: Vec::new(),
        targets: view
            .targets
            .iter()
            .map(|(t, target)| whole(t, target, change, versions))
            .collect(),
    }
}

/// A source both sides have, perhaps under a new name: its repository and its targets.
fn compare_source(
    (before_name, before): (&str, &side::SourceView),
    (name, after): (&str, &side::SourceView),
    versions: &[String],
) -> SourceDiff {
    let with_repository = |view: &side::SourceView| side::Settings {
        fields: [("repository".to_owned(), view.repository.clone())]
            .into_iter()
            .chain(view.settings.fields.iter().cloned())
            .collect(),
        lists: view.settings.lists.clone(),
    };
    let fields = field_changes(&with_repository(before), &with_repository(after));
    let was = (before_name != name).then(|| before_name.to_owned());
    SourceDiff {
        source: name.to_owned(),
        change: if was.is_some() {
            Change::Renamed
        } else {
            Change::Changed
        },
        renamed_from: was,
        repository: after.repository.clone(),
        feeds_before: Some(before.feeds.len()),
        feeds_after: Some(after.feeds.len()),
        fields,
        targets: compare_targets(before, after, versions),
    }
}

/// How many sources differ, and how many targets were added, removed, renamed or changed.
fn counts(sources: &[SourceDiff]) -> Counts {
    let mut summary = Counts {
        sources: sources.len(),
        ..Counts::default()
    };
    for target in sources.iter().flat_map(|s| &s.targets) {
        match target.change {
            Change::Added => summary.added += 1,
            Change::Removed => summary.removed += 1,
            Change::Renamed => summary.renamed += 1,
            Change::Changed => summary.changed += 1,
        }
    }
    summary
}

/// The targets of a source both sides have: by name, then a removed and an added target with
/// the same identity paired as a rename.
fn compare_targets(
    before: &side::SourceView,
    after: &side::SourceView,
    versions: &[String],
) -> Vec<TargetDiff> {
    let mut removed: Vec<(&String, &TargetView)> = before
        .targets
        .iter()
        .filter(|(name, _)| !after.targets.contains_key(*name))
        .collect();
    let mut out = Vec::new();
    for (name, new) in &after.targets {
        let (old_name, old) = match before.targets.get_key_value(name) {
            Some(found) => found,
            None => match removed
                .iter()
                .position(|(_, old)| old.identity == new.identity)
            {
                Some(at) => removed.remove(at),
                None => {
                    out.push(whole(name, new, Change::Added, versions));
                    continue;
                }
            },
        };
        let renamed = old_name != name;
        let diff = TargetDiff {
            target: name.clone(),
            change: if renamed {
                Change::Renamed
            } else {
                Change::Changed
            },
            renamed_from: renamed.then(|| old_name.clone()),
            summary: new.summary.clone(),
            fields: field_changes(&old.settings, &new.settings),
            sends: sends_changes(&old.sends, &new.sends, versions),
            body: body_changes(&old.bodies, &new.bodies, versions),
        };
        let same = diff.fields.is_empty() && diff.sends.is_empty() && diff.body.is_empty();
        if renamed || !same {
            out.push(diff);
        }
    }
    out.extend(
        removed
            .into_iter()
            .map(|(name, old)| whole(name, old, Change::Removed, versions)),
    );
    out
}

/// An added or removed target: every setting, fate and the whole body on its side.
fn whole(name: &str, view: &TargetView, change: Change, versions: &[String]) -> TargetDiff {
    let side = |value: String| match change {
        Change::Removed => (Some(value), None),
        _ => (None, Some(value)),
    };
    let pair = |field: String, value: String| {
        let (before, after) = side(value);
        FieldChange {
            field,
            before,
            after,
            ..FieldChange::default()
        }
    };
    let body = view.bodies.first().cloned().unwrap_or_default();
    let (before, after) = match change {
        Change::Removed => (Some(body), None),
        _ => (None, Some(body)),
    };
    TargetDiff {
        target: name.to_owned(),
        change,
        renamed_from: None,
        summary: view.summary.clone(),
        fields: view
            .settings
            .fields
            .iter()
            .map(|(f, v)| pair(f.clone(), v.clone()))
            .collect(),
        sends: versions
            .iter()
            .zip(&view.sends)
            .map(|(version, fate)| pair(version.clone(), fate.clone()))
            .collect(),
        body: vec![BodyChanges {
            version: None,
            changes: vec![ValueChange {
                path: String::new(),
                before,
                after,
            }],
        }],
    }
}

/// The fields whose values differ, in the head's order and then those only the base has; a
/// setting one side leaves at its default compared with that default, a list by its items.
fn field_changes(before: &side::Settings, after: &side::Settings) -> Vec<FieldChange> {
    let find = |side: &side::Settings, name: &str| {
        let default = DEFAULTS.iter().find(|(field, _)| *field == name);
        side.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
            .or_else(|| default.map(|(_, value)| (*value).to_owned()))
    };
    let names = after.fields.iter().map(|(field, _)| field);
    let only_before = before
        .fields
        .iter()
        .map(|(field, _)| field)
        .filter(|field| !after.fields.iter().any(|(f, _)| f == *field));
    names
        .chain(only_before)
        .filter_map(|field| {
            let (old, new) = (find(before, field), find(after, field));
            (old != new).then(|| FieldChange {
                field: field.clone(),
                added: items_missing(after, before, field),
                removed: items_missing(before, after, field),
                before: old,
                after: new,
            })
        })
        .collect()
}

/// The items of list `field` that `from` has and `other` has not.
fn items_missing(from: &side::Settings, other: &side::Settings, field: &str) -> Vec<String> {
    let items = |side: &side::Settings| {
        side.lists
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, items)| items.clone())
            .unwrap_or_default()
    };
    let other = items(other);
    items(from)
        .into_iter()
        .filter(|item| !other.contains(item))
        .collect()
}

fn sends_changes(before: &[String], after: &[String], versions: &[String]) -> Vec<FieldChange> {
    versions
        .iter()
        .zip(before.iter().zip(after))
        .filter(|(_, (old, new))| old != new)
        .map(|(version, (old, new))| FieldChange {
            field: version.clone(),
            before: Some(old.clone()),
            after: Some(new.clone()),
            ..FieldChange::default()
        })
        .collect()
}

fn body_changes(
    before: &[serde_json::Value],
    after: &[serde_json::Value],
    versions: &[String],
) -> Vec<BodyChanges> {
    let per_version: Vec<Vec<ValueChange>> = before
        .iter()
        .zip(after)
        .map(|(old, new)| json::changes(old, new))
        .collect();
    let Some(first) = per_version.first() else {
        return Vec::new();
    };
    // What every sample release changes alike is said once; a key added in every release (with
    // a value that differs by version) once, under the first; the rest per version.
    let common: Vec<ValueChange> = first
        .iter()
        .filter(|c| per_version.iter().all(|changes| changes.contains(c)))
        .cloned()
        .collect();
    let added_in_all = |c: &ValueChange| {
        c.before.is_none()
            && per_version.iter().all(|changes| {
                changes
                    .iter()
                    .any(|o| o.path == c.path && o.before.is_none())
            })
    };
    let mut out = Vec::new();
    if !common.is_empty() {
        out.push(BodyChanges {
            version: None,
            changes: common.clone(),
        });
    }
    for (at, (version, changes)) in versions.iter().zip(&per_version).enumerate() {
        let rest: Vec<ValueChange> = changes
            .iter()
            .filter(|c| !common.contains(c) && (at == 0 || !added_in_all(c)))
            .cloned()
            .collect();
        if !rest.is_empty() {
            out.push(BodyChanges {
                version: Some(version.clone()),
                changes: rest,
            });
        }
    }
    out
}
