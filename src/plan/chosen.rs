//! `--target NAME`: the targets a run (or `check`) is limited to, each checked against the
//! configuration before anything is planned, so a typo is a usage error and not a quiet run
//! that sends nothing.

use super::{find_source, PlanError};
use crate::config::Config;
use std::collections::HashSet;

/// The targets `names` chooses, all when it is empty (`None`). Each must be a target of the
/// configuration (else the error says the closest name), and, when `source` is given, one that
/// the source feeds (else the error lists what it feeds).
pub fn chosen_targets<'n>(
    config: &Config,
    source: Option<&str>,
    names: &'n [String],
) -> Result<Option<HashSet<&'n str>>, PlanError> {
    if names.is_empty() {
        return Ok(None);
    }
    let source = source.map(|given| find_source(config, given)).transpose()?;
    for name in names {
        if !config.targets.contains_key(name) {
            return Err(PlanError::UnknownTarget {
                given: name.clone(),
                known: config.targets.keys().cloned().collect(),
            });
        }
        if let Some(source) = source.filter(|s| !s.targets.contains(name)) {
            return Err(PlanError::NotFed {
                source_name: source.name.clone(),
                target: name.clone(),
                feeds: source.targets.clone(),
            });
        }
    }
    Ok(Some(names.iter().map(String::as_str).collect()))
}
