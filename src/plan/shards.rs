//! Shards of a plan (`plan --shards N`, `run --shard I/N`): its identities (a token variable
//! per API host, an App installation, a webhook's URL) split into N groups balanced by
//! requests, so each job paces its own identities and no two jobs share a budget.
//!
//! The split is a function of the plan and N alone (no clock, no hashing of anything but the
//! inputs): `plan` and every `run --shard` compute it again and agree, and its fingerprint
//! lets `report merge` check they did.

use super::Job;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// GitHub runs at most 256 jobs of one matrix.
pub const MOST_SHARDS: usize = 256;

/// `--shard I/N`: shard `index` (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardOf {
    pub index: usize,
    pub count: usize,
}

impl ShardOf {
    /// `3/4`; refuses 0, an index past the count, and counts past [`MOST_SHARDS`].
    pub fn parse(text: &str) -> Result<ShardOf, String> {
        let wrong = || format!("`{text}` is not a shard such as `1/4` (I/N, 1 ≤ I ≤ N ≤ 256)");
        let (index, count) = text.trim().split_once('/').ok_or_else(wrong)?;
        let index: usize = index.trim().parse().map_err(|_| wrong())?;
        let count: usize = count.trim().parse().map_err(|_| wrong())?;
        if index == 0 || index > count || count > MOST_SHARDS {
            return Err(wrong());
        }
        Ok(ShardOf { index, count })
    }
}

impl std::fmt::Display for ShardOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a sharded run's report records, so `report merge` can check its reports belong
/// together: the shard, and the fingerprint of the configuration and of the whole split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: usize,
    pub count: usize,
    pub fingerprint: String,
}

/// `--shard-fingerprint`: the 16 hex digits `plan --shards N` prints (in lower case).
pub fn parse_fingerprint(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("not a fingerprint (the 16 hex digits of the plan job's matrix: `${{ matrix.fingerprint }}`)".to_owned())
    }
}

/// One identity: what the matrix names it by, and the requests it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub name: String,
    pub requests: usize,
}

/// One shard: its identities (by name), and the targets and requests they send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub of: ShardOf,
    pub identities: Vec<Identity>,
    pub targets: usize,
    pub requests: usize,
}

/// A plan's identities in shards.
#[derive(Debug, Clone)]
pub struct Split {
    /// The shards asked for (`--shards`); more than [`Split::shards`] holds when the plan has
    /// fewer identities.
    pub asked: usize,
    pub shards: Vec<Shard>,
    /// 16 hex digits of SHA-256 over the configuration's digest, the shard count and every
    /// shard's identities and requests.
    pub fingerprint: String,
    /// Each identity's shard (from 1), by its key.
    of_identity: IndexMap<(String, Option<String>), usize>,
}

/// The budget a job counts against: its lane (API host, App installation or webhook URL) and
/// token variable, as `PacingEstimate` and the sender's pacer count them.
fn key(job: &Job) -> Key {
    (
        job.lane.as_str().to_owned(),
        job.token_env.as_deref().map(str::to_owned),
    )
}

/// The name a matrix shows: the token variable, else the lane.
fn name(key: &(String, Option<String>)) -> String {
    key.1.clone().unwrap_or_else(|| key.0.clone())
}

impl Split {
    /// `jobs`' identities in `asked` shards (as many as there are identities when there are
    /// fewer, and one when there are none): largest first, each to the shard with the fewest
    /// requests so far (the first such shard on a tie), names breaking ties between
    /// identities, so the same plan always splits the same way. `config_digest` stands for
    /// the configuration (the file and the `--set` values).
    pub fn of(jobs: &[Job], asked: usize, config_digest: &[u8]) -> Split {
        let groups = groups(jobs);
        let count = asked.clamp(1, groups.len().max(1));
        let mut totals = vec![0usize; count];
        let mut of_identity = IndexMap::new();
        for (identities, n) in groups {
            let (at, _) = (totals.iter().enumerate())
                .min_by_key(|(i, total)| (**total, *i))
                .unwrap_or((0, &0));
            totals[at] += n;
            for identity in identities {
                of_identity.insert(identity, at + 1);
            }
        }
        let shards = shards(jobs, count, &of_identity);
        let fingerprint = fingerprint(config_digest, &shards);
        Split {
            asked,
            shards,
            fingerprint,
            of_identity,
        }
    }

    /// The shard (from 1) a job's identity is in.
    pub fn shard_of(&self, job: &Job) -> usize {
        self.of_identity.get(&key(job)).copied().unwrap_or(1)
    }

    /// How many identities the plan has.
    pub fn identities(&self) -> usize {
        self.of_identity.len()
    }

    /// What a run of shard `of` records.
    pub fn record(&self, of: ShardOf) -> ShardRecord {
        ShardRecord {
            index: of.index,
            count: of.count,
            fingerprint: self.fingerprint.clone(),
        }
    }
}

type Key = (String, Option<String>);

/// The plan's identities in groups that go to one shard together, each with its requests,
/// largest first (then by their first key): identities joined by `needs:` (a target and a
/// target it needs sent with different identities) are one group, since a need is awaited only
/// in the process that sends it.
fn groups(jobs: &[Job]) -> Vec<(Vec<Key>, usize)> {
    let mut requests: IndexMap<Key, usize> = IndexMap::new();
    for job in jobs {
        *requests.entry(key(job)).or_default() += 1;
    }
    // Union-find over the identities' indices.
    let mut parent: Vec<usize> = (0..requests.len()).collect();
    fn root(parent: &mut [usize], mut at: usize) -> usize {
        while parent[at] != at {
            parent[at] = parent[parent[at]];
            at = parent[at];
        }
        at
    }
    let index_of_target: std::collections::HashMap<&str, usize> = (jobs.iter())
        .filter_map(|job| Some((job.target.as_str(), requests.get_index_of(&key(job))?)))
        .collect();
    for job in jobs.iter().filter(|job| !job.needs.is_empty()) {
        let Some(&mine) = index_of_target.get(job.target.as_str()) else {
            continue;
        };
        for need in &job.needs {
            if let Some(&theirs) = index_of_target.get(need.as_str()) {
                let (a, b) = (root(&mut parent, mine), root(&mut parent, theirs));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: IndexMap<usize, (Vec<Key>, usize)> = IndexMap::new();
    for (at, (identity, n)) in requests.into_iter().enumerate() {
        let group = groups.entry(root(&mut parent, at)).or_default();
        group.0.push(identity);
        group.1 += n;
    }
    let mut groups: Vec<_> = groups.into_values().collect();
    for (identities, _) in &mut groups {
        identities.sort();
    }
    groups.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    groups
}

/// Each shard's identities (by name, then lane), targets and requests.
fn shards(
    jobs: &[Job],
    count: usize,
    of_identity: &IndexMap<(String, Option<String>), usize>,
) -> Vec<Shard> {
    let mut shards: Vec<Shard> = (1..=count)
        .map(|index| Shard {
            of: ShardOf { index, count },
            identities: Vec::new(),
            targets: 0,
            requests: 0,
        })
        .collect();
    let mut identities: Vec<_> = of_identity.iter().collect();
    identities.sort_by(|(a, _), (b, _)| (name(a), &a.0).cmp(&(name(b), &b.0)));
    let mut requests: IndexMap<&(String, Option<String>), usize> = IndexMap::new();
    let mut targets: Vec<std::collections::HashSet<&str>> = vec![Default::default(); count];
    for job in jobs {
        let identity = key(job);
        let at = of_identity.get(&identity).copied().unwrap_or(1) - 1;
        if let Some((known, _)) = of_identity.get_key_value(&identity) {
            *requests.entry(known).or_default() += 1;
        }
        targets[at].insert(job.target.as_str());
        shards[at].requests += 1;
    }
    for (identity, at) in identities {
        shards[at - 1].identities.push(Identity {
            name: name(identity),
            requests: requests.get(identity).copied().unwrap_or(0),
        });
    }
    for (shard, targets) in shards.iter_mut().zip(targets) {
        shard.targets = targets.len();
    }
    shards
}

/// 16 hex digits of SHA-256 over the configuration's digest and the split, each part ended
/// by a byte no name holds.
fn fingerprint(config_digest: &[u8], shards: &[Shard]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(config_digest);
    context.update(format!("\0{}\0", shards.len()).as_bytes());
    for shard in shards {
        for identity in &shard.identities {
            let part = format!(
                "{}\0{}\0{}\0",
                shard.of.index, identity.name, identity.requests
            );
            context.update(part.as_bytes());
        }
    }
    hex::encode(&context.finish().as_ref()[..8])
}

/// The digest that stands for a configuration in a split's fingerprint: SHA-256 of the file's
/// bytes and the `--set` values.
pub fn config_digest(file: &[u8], vars: &[(String, String)]) -> Vec<u8> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(file);
    for (key, value) in vars {
        context.update(format!("\0{key}={value}").as_bytes());
    }
    context.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_is_i_of_n_with_i_from_one_to_n() {
        assert_eq!(ShardOf::parse("3/4"), Ok(ShardOf { index: 3, count: 4 }));
        for wrong in ["0/4", "5/4", "4", "a/b", "1/257", ""] {
            assert!(ShardOf::parse(wrong).is_err(), "{wrong}");
        }
    }
}
