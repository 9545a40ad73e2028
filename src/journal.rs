//! `--journal FILE`: a JSON-lines record of a run, written as it happens, so that a run that
//! is killed leaves behind what it did; `--resume FILE` sends only what it did not deliver.
//!
//! Each record is one `write` of one whole line, flushed at once, so a `kill -9` can cut the
//! file only between records (a torn last line is ignored when reading). A `sending` record
//! without a later outcome for the same dispatch is a request that was in flight when the
//! run stopped: it may or may not have been delivered, and `--resume` sends it again.

use crate::dispatch::{Observer, Outcome, Status};
use crate::plan::Job;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// The start of a run.
    Run { source: String, version: String },
    /// A request is about to be sent.
    Sending {
        dispatch_id: String,
        target: String,
        attempt: u32,
    },
    /// A target's final outcome in this run.
    Outcome {
        dispatch_id: String,
        target: String,
        #[serde(flatten)]
        status: Status,
        attempts: u32,
        duration_ms: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} records a run of {found}, not of {expected}; resume with the journal of this release")]
    OtherRelease {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path} is not a journal or JSON report of orchestrator: {detail}")]
    Malformed { path: PathBuf, detail: String },
}

/// Appends records to the journal file; it is also an [`Observer`] of delivery.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// The first write error; later records are not attempted, and the run reports it.
    error: Mutex<Option<std::io::Error>>,
}

impl Journal {
    /// Opens (creating or appending to) `path` and records the start of a run.
    pub fn open(path: &Path, source: &str, version: &str) -> Result<Journal, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| JournalError::Write {
                path: path.to_owned(),
                source,
            })?;
        let journal = Journal {
            path: path.to_owned(),
            file: Mutex::new(file),
            error: Mutex::new(None),
        };
        journal.record(&Record::Run {
            source: source.to_owned(),
            version: version.to_owned(),
        });
        journal.check()?;
        Ok(journal)
    }

    fn record(&self, record: &Record) {
        let mut errors = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if errors.is_some() {
            return;
        }
        let Ok(json) = serde_json::to_string(record) else {
            return;
        };
        // The journal is an output like any other: no secret reaches it.
        let mut line = crate::secret::redact(&json).into_bytes();
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(err) = file.write_all(&line).and_then(|()| file.flush()) {
            *errors = Some(err);
        }
    }

    /// The first write error, if any happened.
    pub fn check(&self) -> Result<(), JournalError> {
        let mut errors = self.error.lock().unwrap_or_else(|e| e.into_inner());
        match errors.take() {
            Some(source) => Err(JournalError::Write {
                path: self.path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }
}

impl Observer for Journal {
    fn sending(&self, job: &Job, attempt: u32) {
        self.record(&Record::Sending {
            dispatch_id: job.dispatch_id.clone(),
            target: job.target.clone(),
            attempt,
        });
    }

    fn finished(&self, job: &Job, outcome: &Outcome) {
        self.record(&Record::Outcome {
            dispatch_id: job.dispatch_id.clone(),
            target: job.target.clone(),
            status: outcome.status.clone(),
            attempts: outcome.attempts,
            duration_ms: outcome.duration.as_millis() as u64,
        });
    }
}

/// What an earlier run left behind, by dispatch id.
#[derive(Debug, Default, PartialEq)]
pub struct Earlier {
    /// Dispatches known to be delivered.
    pub delivered: HashSet<String>,
    /// Dispatches that ended failed or not sent.
    pub failed: HashSet<String>,
    /// Targets whose request was sent but whose outcome was never recorded.
    pub in_flight: Vec<String>,
}

/// Reads a journal (possibly of several runs appended) of the release `source`/`version`.
pub fn read_journal(path: &Path, source: &str, version: &str) -> Result<Earlier, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut earlier = Earlier::default();
    let mut sent: HashMap<String, String> = HashMap::new();
    let mut runs = 0;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|source| JournalError::Read {
            path: path.to_owned(),
            source,
        })?;
        // A line cut short by a kill is not a record; everything before it still counts.
        let Ok(record) = serde_json::from_str::<Record>(&line) else {
            continue;
        };
        match record {
            Record::Run {
                source: s,
                version: v,
            } => {
                runs += 1;
                check_release(path, &s, &v, source, version)?;
            }
            Record::Sending {
                dispatch_id,
                target,
                ..
            } => {
                sent.insert(dispatch_id, target);
            }
            Record::Outcome {
                dispatch_id,
                status,
                ..
            } => {
                sent.remove(&dispatch_id);
                earlier.note(dispatch_id, &status);
            }
        }
    }
    if runs == 0 {
        return Err(JournalError::Malformed {
            path: path.to_owned(),
            detail: "it records no run".to_owned(),
        });
    }
    earlier.in_flight = sent
        .into_iter()
        .filter(|(id, _)| !earlier.delivered.contains(id))
        .map(|(_, target)| target)
        .collect();
    earlier.in_flight.sort();
    Ok(earlier)
}

/// Reads a JSON report written by `--output json` or `--report FILE`.
pub fn read_report(path: &Path, source: &str, version: &str) -> Result<Earlier, JournalError> {
    #[derive(Deserialize)]
    struct Report {
        source: String,
        version: String,
        targets: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        dispatch_id: Option<String>,
        #[serde(flatten)]
        status: Option<Status>,
    }
    let text = std::fs::read_to_string(path).map_err(|source| JournalError::Read {
        path: path.to_owned(),
        source,
    })?;
    let report: Report = serde_json::from_str(&text).map_err(|e| JournalError::Malformed {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    check_release(path, &report.source, &report.version, source, version)?;
    let mut earlier = Earlier::default();
    for entry in report.targets {
        if let (Some(id), Some(status)) = (entry.dispatch_id, entry.status) {
            earlier.note(id, &status);
        }
    }
    Ok(earlier)
}

impl Earlier {
    fn note(&mut self, dispatch_id: String, status: &Status) {
        match status {
            Status::Delivered { .. } => {
                self.failed.remove(&dispatch_id);
                self.delivered.insert(dispatch_id);
            }
            Status::Failed { .. } | Status::NotSent { .. } => {
                if !self.delivered.contains(&dispatch_id) {
                    self.failed.insert(dispatch_id);
                }
            }
            Status::Skipped { .. } => {}
        }
    }
}

fn check_release(
    path: &Path,
    found_source: &str,
    found_version: &str,
    source: &str,
    version: &str,
) -> Result<(), JournalError> {
    if found_source == source && found_version == version {
        return Ok(());
    }
    Err(JournalError::OtherRelease {
        path: path.to_owned(),
        found: format!("{found_source} {found_version}"),
        expected: format!("{source} {version}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(lines: &[&str]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for line in lines {
            writeln!(file, "{line}").unwrap();
        }
        file
    }

    #[test]
    fn reads_delivered_failed_and_in_flight_and_skips_a_torn_last_line() {
        let file = write(&[
            r#"{"record":"run","source":"app","version":"1.0.0"}"#,
            r#"{"record":"sending","dispatch_id":"a","target":"ta","attempt":1}"#,
            r#"{"record":"sending","dispatch_id":"b","target":"tb","attempt":1}"#,
            r#"{"record":"sending","dispatch_id":"c","target":"tc","attempt":1}"#,
            r#"{"record":"outcome","dispatch_id":"a","target":"ta","outcome":"delivered","http_status":204,"attempts":1,"duration_ms":5}"#,
            r#"{"record":"outcome","dispatch_id":"b","target":"tb","outcome":"failed","reason":"x","attempts":1,"duration_ms":5}"#,
            r#"{"record":"outcome","dispatch_id":"c","tar"#,
        ]);
        let earlier = read_journal(file.path(), "app", "1.0.0").unwrap();
        assert_eq!(earlier.delivered, HashSet::from(["a".to_owned()]));
        assert_eq!(earlier.failed, HashSet::from(["b".to_owned()]));
        assert_eq!(earlier.in_flight, vec!["tc".to_owned()]);
    }

    #[test]
    fn refuses_the_journal_of_another_release() {
        let file = write(&[r#"{"record":"run","source":"app","version":"1.0.0"}"#]);
        let err = read_journal(file.path(), "app", "2.0.0").unwrap_err();
        assert!(err
            .to_string()
            .contains("records a run of app 1.0.0, not of app 2.0.0"));
    }
}
