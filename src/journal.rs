//! `--journal FILE`: a JSON-lines record of a run, written as it happens, so that a run that
//! is killed leaves behind what it did; `--resume FILE` sends only what it did not deliver.
//!
//! Each record is one `write` of one whole line, flushed at once, so a `kill -9` can cut the
//! file only between records (a torn last line is ignored when reading). A `sending` record
//! without a later outcome for the same dispatch is a request that was in flight when the
//! run stopped: it may or may not have been delivered, and `--resume` sends it again.
//!
//! One run at a time uses a journal ([`held`]): a second one is refused before it sends.

mod held;

pub(crate) use held::{Held, Journals};

use crate::dispatch::{Observer, Outcome, Status};
use crate::files::{self, FileError};
use crate::plan::Job;
mod recorded;

pub(crate) use recorded::Format;
use recorded::{ReadLine, Recorded};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read as _, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The version of the journal's records and of JSON reports: every record and report carries
/// `"format": 1`, and a reader refuses any other (or none).
pub(crate) const FORMAT: u32 = 1;

/// One line of the journal, as written.
#[derive(Serialize)]
struct Line<'a> {
    format: u32,
    #[serde(flatten)]
    record: &'a Record,
}

/// What one line of the journal records.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(crate) enum Record {
    /// The start of a run.
    Run {
        source: String,
        version: String,
        /// The tag as given (`v1.2.3`); journals written before it was recorded lack it.
        tag: String,
    },
    /// A request is about to be sent.
    Sending {
        dispatch_id: String,
        target: String,
        /// The rendered request's [`Job::fingerprint`].
        fingerprint: String,
        attempt: u32,
    },
    /// A target's final outcome in this run.
    Outcome {
        dispatch_id: String,
        target: String,
        fingerprint: String,
        #[serde(flatten)]
        status: Status,
        attempts: u32,
        duration_ms: u64,
    },
}

/// How a target ended, as journals and reports spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Ended {
    Delivered,
    Failed,
    Skipped,
    NotSent,
    /// A target it needs did not succeed: sent by `--resume` and `--retry-failed`.
    Blocked,
}

impl Ended {
    /// The outcome a journal or report spells `word`.
    pub(crate) fn from_word(word: &str) -> Option<Ended> {
        match word {
            "delivered" => Some(Ended::Delivered),
            "failed" => Some(Ended::Failed),
            "skipped" => Some(Ended::Skipped),
            "not_sent" => Some(Ended::NotSent),
            "blocked" => Some(Ended::Blocked),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum JournalError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot write the journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} records a run of {found}, not of {expected}; {fix}")]
    OtherRelease {
        path: PathBuf,
        found: String,
        expected: String,
        /// Which file to give instead: the journal (`--resume`) or the report (`--retry-failed`).
        fix: &'static str,
    },
    #[error("{path} is not a journal or JSON report of orchestrator: {detail}")]
    Malformed { path: PathBuf, detail: String },
    #[error("{path}, line {line}: {detail}; nothing was sent")]
    Line {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("{path} cannot be used with --retry-failed: {detail}; nothing was sent")]
    Report { path: PathBuf, detail: String },
    #[error("the journal {path} (given by {named_by}) is in use: another orchestrator run holds its lock; nothing was sent")]
    Held {
        path: PathBuf,
        named_by: &'static str,
    },
    #[error("cannot lock the journal {path} (given by {named_by}): {source}; nothing was sent")]
    Lock {
        path: PathBuf,
        named_by: &'static str,
        source: std::io::Error,
    },
}

impl JournalError {
    /// What to do about it, when there is more to say than the message.
    pub(crate) fn help(&self) -> Option<&'static str> {
        match self {
            JournalError::Held { .. } => Some(
                "one run at a time may use a journal, or both would send what it does not record as delivered: let the other run finish, then `--resume` from the journal it leaves",
            ),
            JournalError::Lock { .. } => Some(
                "keep journals on a file system with file locks (a local disk), so that only one run at a time can use each",
            ),
            _ => None,
        }
    }
}

/// Appends records to the journal file; it is also an [`Observer`] of delivery.
pub(crate) struct Journal {
    held: Held,
    /// The first write error; later records are not attempted, and the run reports it. Held
    /// while a record is written, so records go one whole line at a time.
    error: Mutex<Option<std::io::Error>>,
}

impl Journal {
    /// Records the start of a run in the journal `held` (open for appending). A last line cut
    /// short by a kill is ended first, so this run's records start on a line of their own.
    pub(crate) fn start(held: &Held, plan: &crate::plan::Plan) -> Result<Journal, JournalError> {
        let torn = ends_torn(held.file()).map_err(|source| JournalError::Write {
            path: held.path().to_owned(),
            source,
        })?;
        let journal = Journal {
            held: held.clone(),
            error: Mutex::new(None),
        };
        let run = Record::Run {
            source: plan.source.clone(),
            version: plan.version.clone(),
            tag: plan.tag.clone(),
        };
        journal.write(if torn { b"\n" } else { b"" }, &run);
        journal.check()?;
        Ok(journal)
    }

    fn record(&self, record: &Record) {
        self.write(b"", record);
    }

    /// Writes `prefix` and the record as one line, in one write.
    fn write(&self, prefix: &[u8], record: &Record) {
        let mut errors = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if errors.is_some() {
            return;
        }
        let Ok(json) = serde_json::to_string(&Line {
            format: FORMAT,
            record,
        }) else {
            return;
        };
        // The journal is an output like any other: no secret reaches it.
        let mut line = prefix.to_vec();
        line.extend_from_slice(crate::secret::redact(&json).as_bytes());
        line.push(b'\n');
        let mut file = self.held.file();
        if let Err(err) = file.write_all(&line).and_then(|()| file.flush()) {
            *errors = Some(err);
        }
    }

    /// The first write error, if any happened.
    pub(crate) fn check(&self) -> Result<(), JournalError> {
        let mut errors = self.error.lock().unwrap_or_else(|e| e.into_inner());
        match errors.take() {
            Some(source) => Err(JournalError::Write {
                path: self.held.path().to_owned(),
                source,
            }),
            None => Ok(()),
        }
    }
}

impl Journal {
    /// Targets settled before anything is sent (blocked by a need that was skipped or that
    /// could not be decided), recorded as any outcome: the journal has every target of the
    /// run, as the report does. A later `--resume` plans them again and decides their needs
    /// anew, as it does for a target blocked while sending.
    pub(crate) fn settled_before_sending(&self, settled: &[(Job, Status)]) {
        for (job, status) in settled {
            let outcome = Outcome {
                target: job.target.clone(),
                dispatch_id: job.dispatch_id.to_string(),
                status: status.clone(),
                attempts: 0,
                duration: std::time::Duration::ZERO,
                queued: std::time::Duration::ZERO,
            };
            self.finished(job, &outcome);
        }
    }
}

/// Whether the file is not empty and does not end with a newline (a kill cut its last line).
fn ends_torn(mut file: &File) -> std::io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

impl Observer for Journal {
    fn sending(&self, job: &Job, attempt: u32) {
        self.record(&Record::Sending {
            dispatch_id: job.dispatch_id.to_string(),
            target: job.target.clone(),
            fingerprint: job.fingerprint.map(|f| f.to_string()).unwrap_or_default(),
            attempt,
        });
    }

    fn finished(&self, job: &Job, outcome: &Outcome) {
        self.record(&Record::Outcome {
            dispatch_id: job.dispatch_id.to_string(),
            target: job.target.clone(),
            fingerprint: job.fingerprint.map(|f| f.to_string()).unwrap_or_default(),
            status: outcome.status.clone(),
            attempts: outcome.attempts,
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        });
    }
}

/// What an earlier run left behind, by dispatch id.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Earlier {
    /// Dispatches known to be delivered, with the fingerprint of the last request delivered.
    pub delivered: HashMap<String, String>,
    /// Dispatches that ended failed or not sent (and were never delivered).
    pub failed: HashSet<String>,
    /// Targets whose request was sent but whose outcome was never recorded.
    pub in_flight: Vec<String>,
}

/// What an earlier run did with the request a job would send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EarlierDelivery {
    /// This very request was delivered.
    Same,
    /// The target was delivered, but its request (URL, method or body) was different.
    Changed,
    /// Not delivered.
    No,
}

impl Earlier {
    pub(crate) fn note(&mut self, dispatch_id: String, fingerprint: String, ended: Ended) {
        match ended {
            Ended::Delivered => {
                self.failed.remove(&dispatch_id);
                self.delivered.insert(dispatch_id, fingerprint);
            }
            Ended::Failed | Ended::NotSent | Ended::Blocked => {
                if !self.delivered.contains_key(&dispatch_id) {
                    self.failed.insert(dispatch_id);
                }
            }
            Ended::Skipped => {}
        }
    }

    /// Whether `job`'s request was delivered by the earlier run.
    pub(crate) fn delivery_of(&self, job: &Job) -> EarlierDelivery {
        match self.delivered.get(job.dispatch_id.as_str()) {
            Some(fingerprint)
                if job
                    .fingerprint
                    .is_some_and(|f| f.hex().as_str() == fingerprint) =>
            {
                EarlierDelivery::Same
            }
            Some(_) => EarlierDelivery::Changed,
            None => EarlierDelivery::No,
        }
    }
}

/// A line that is not JSON (or not UTF-8): what a kill leaves when it cuts a write short.
struct Torn(String);

fn parse_line(bytes: &[u8]) -> Result<ReadLine, Torn> {
    let text = std::str::from_utf8(bytes).map_err(|_| Torn("it is not UTF-8 text".to_owned()))?;
    ReadLine::parse(text).map_err(|e| Torn(format!("it is not JSON ({e})")))
}

/// Checks a record's `format` and reads it.
fn read_record(line: ReadLine) -> Result<Recorded, String> {
    let Some(format) = &line.format else {
        return Err(
            "the record has no `format`: it is not a journal of this orchestrator (journals of earlier versions are not bound to the requests they sent); start a fresh one"
                .to_owned(),
        );
    };
    format.ours().map_err(|other| {
        format!(
            "the record has format {other}; this orchestrator reads journals of format {FORMAT}"
        )
    })?;
    line.record()
}

/// Reads a journal (possibly of several runs appended) of the release `source`/`version`.
///
/// A line that is not JSON is tolerated only where a kill leaves one: as the last line, or as
/// the last line of a run that a resumed run continued after. Anywhere else the journal was
/// changed by something other than orchestrator, and it is refused.
pub(crate) fn read_journal(
    path: &Path,
    source: &str,
    version: &str,
) -> Result<Earlier, JournalError> {
    let bytes = files::read(path, &files::JOURNAL)?;
    parse_journal(path, &bytes, source, version)
}

/// [`read_journal`] of the bytes read from `path`.
fn parse_journal(
    path: &Path,
    bytes: &[u8],
    source: &str,
    version: &str,
) -> Result<Earlier, JournalError> {
    let line_error = |line: usize, detail: String| JournalError::Line {
        path: path.to_owned(),
        line,
        detail,
    };
    // Parsed one line at a time, looking one ahead: a torn line is tolerated before a run.
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.trim_ascii().is_empty())
        .map(|(index, line)| (index + 1, parse_line(line)))
        .peekable();
    let mut earlier = Earlier::default();
    let mut sent: HashMap<String, String> = HashMap::new();
    let mut runs = 0;
    while let Some((number, parsed)) = lines.next() {
        let line = match parsed {
            Ok(line) => line,
            Err(Torn(detail)) => {
                let ends_a_run = match lines.peek() {
                    None => true,
                    Some((_, Ok(next))) => next.starts_a_run(),
                    Some((_, Err(_))) => false,
                };
                if ends_a_run {
                    continue;
                }
                return Err(line_error(
                    number,
                    format!("{}; only the last line of a run can be cut short (by a kill), so something else changed this journal", crate::untrusted::one_line(&detail, 300)),
                ));
            }
        };
        match read_record(line).map_err(|detail| line_error(number, detail))? {
            Recorded::Run {
                source: s,
                version: v,
                ..
            } => {
                runs += 1;
                check_release(path, &s, &v, source, version, RESUME_WITH_JOURNAL)?;
            }
            Recorded::Sending {
                dispatch_id,
                target,
                ..
            } => {
                sent.insert(dispatch_id, target);
            }
            Recorded::Outcome {
                dispatch_id,
                fingerprint,
                outcome,
            } => {
                sent.remove(&dispatch_id);
                earlier.note(dispatch_id, fingerprint, outcome);
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
        .filter(|(id, _)| !earlier.delivered.contains_key(id))
        .map(|(_, target)| target)
        .collect();
    earlier.in_flight.sort();
    Ok(earlier)
}

/// The release a journal or report records: `--resume` and `--retry-failed` take `--source`
/// and `--version` from it when they are not given.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordedRelease {
    pub source: String,
    pub version: String,
    /// The tag as given; `None` in files written before it was recorded.
    pub tag: Option<String>,
}

/// The release the journal at `path` records: its first run's (every later run must be of the
/// same release, which [`read_journal`] checks).
pub(crate) fn recorded_release(path: &Path) -> Result<RecordedRelease, JournalError> {
    let bytes = files::read(path, &files::JOURNAL)?;
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|line| parse_line(line).ok())
        .find_map(|line| match read_record(line) {
            Ok(Recorded::Run {
                source,
                version,
                tag,
            }) => Some(RecordedRelease {
                source,
                version,
                tag,
            }),
            _ => None,
        })
        .ok_or_else(|| JournalError::Malformed {
            path: path.to_owned(),
            detail: "it records no run".to_owned(),
        })
}

/// What to give `--resume` instead of a journal of another release.
const RESUME_WITH_JOURNAL: &str = "resume with the journal of this release";
/// What to give `--retry-failed` instead of a report of another release.
pub(crate) const RETRY_WITH_REPORT: &str = "retry with the report of this release's run";

pub(crate) fn check_release(
    path: &Path,
    found_source: &str,
    found_version: &str,
    source: &str,
    version: &str,
    fix: &'static str,
) -> Result<(), JournalError> {
    if found_source == source && found_version == version {
        return Ok(());
    }
    Err(JournalError::OtherRelease {
        path: path.to_owned(),
        // What the file says is not ours: it may be anyone's text.
        found: crate::untrusted::one_line(&format!("{found_source} {found_version}"), 200),
        expected: format!("{source} {version}"),
        fix,
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

    const RUN: &str = r#"{"format":1,"record":"run","source":"app","version":"1.0.0"}"#;

    #[test]
    fn reads_delivered_failed_and_in_flight_and_skips_a_torn_last_line() {
        let file = write(&[
            RUN,
            r#"{"format":1,"record":"sending","dispatch_id":"a","target":"ta","fingerprint":"fa","attempt":1}"#,
            r#"{"format":1,"record":"sending","dispatch_id":"b","target":"tb","fingerprint":"fb","attempt":1}"#,
            r#"{"format":1,"record":"sending","dispatch_id":"c","target":"tc","fingerprint":"fc","attempt":1}"#,
            r#"{"format":1,"record":"outcome","dispatch_id":"a","target":"ta","fingerprint":"fa","outcome":"delivered","http_status":204,"attempts":1,"duration_ms":5}"#,
            r#"{"format":1,"record":"outcome","dispatch_id":"b","target":"tb","fingerprint":"fb","outcome":"failed","reason":"x","attempts":1,"duration_ms":5}"#,
            r#"{"format":1,"record":"outcome","dispatch_id":"c","tar"#,
        ]);
        let earlier = read_journal(file.path(), "app", "1.0.0").unwrap();
        assert_eq!(
            earlier.delivered,
            HashMap::from([("a".to_owned(), "fa".to_owned())])
        );
        assert_eq!(earlier.failed, HashSet::from(["b".to_owned()]));
        assert_eq!(earlier.in_flight, vec!["tc".to_owned()]);
    }

    #[test]
    fn tolerates_a_torn_line_only_at_the_end_of_a_run() {
        let torn = r#"{"format":1,"record":"outcome","dispatch_id":"c","tar"#;
        let resumed = write(&[RUN, torn, RUN]);
        assert!(read_journal(resumed.path(), "app", "1.0.0").is_ok());
        let sending = r#"{"format":1,"record":"sending","dispatch_id":"a","target":"ta","fingerprint":"fa","attempt":1}"#;
        let middle = write(&[RUN, torn, sending]);
        let err = read_journal(middle.path(), "app", "1.0.0").unwrap_err();
        assert!(
            err.to_string().contains(", line 2: it is not JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_non_utf8_line_is_named_unless_it_is_the_last() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut bytes = format!("{RUN}\n").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        bytes.extend_from_slice(format!("{RUN}\n").replace("run", "sending").as_bytes());
        std::fs::write(file.path(), &bytes).unwrap();
        let err = read_journal(file.path(), "app", "1.0.0").unwrap_err();
        assert!(
            err.to_string().contains(", line 2: it is not UTF-8 text"),
            "{err}"
        );

        let mut bytes = format!("{RUN}\n").into_bytes();
        bytes.extend_from_slice(b"{\"format\":1,\"reco\xe2\x82");
        std::fs::write(file.path(), &bytes).unwrap();
        assert!(read_journal(file.path(), "app", "1.0.0").is_ok());
    }

    #[test]
    fn refuses_records_without_format_or_of_another_format() {
        let old = write(&[r#"{"record":"run","source":"app","version":"1.0.0"}"#]);
        let err = read_journal(old.path(), "app", "1.0.0").unwrap_err();
        assert!(
            err.to_string()
                .contains("line 1: the record has no `format`"),
            "{err}"
        );
        let newer = write(&[&RUN.replace("\"format\":1", "\"format\":2")]);
        let err = read_journal(newer.path(), "app", "1.0.0").unwrap_err();
        assert!(
            err.to_string().contains("line 1: the record has format 2"),
            "{err}"
        );
    }

    #[test]
    fn refuses_the_journal_of_another_release() {
        let file = write(&[RUN]);
        let err = read_journal(file.path(), "app", "2.0.0").unwrap_err();
        assert!(err
            .to_string()
            .contains("records a run of app 1.0.0, not of app 2.0.0"));
    }

    #[test]
    fn appending_after_a_torn_line_starts_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, format!("{RUN}\n{{\"format\":1,\"rec")).unwrap();
        let held = Held::take(&path, "--resume", files::Access::Append).unwrap();
        let plan = crate::plan::Plan {
            source: "app".into(),
            version: "1.0.0".into(),
            tag: "v1.0.0".into(),
            jobs: Vec::new(),
            skipped: Vec::new(),
        };
        drop(Journal::start(&held, &plan).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap();
        let record: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(record["record"], "run");
        assert_eq!(record["format"], 1);
        assert_eq!(record["tag"], "v1.0.0");
        assert!(read_journal(&path, "app", "1.0.0").is_ok());
    }

    #[test]
    fn the_recorded_release_is_the_first_runs_with_its_tag_when_recorded() {
        let old = write(&["", RUN]);
        let recorded = recorded_release(old.path()).unwrap();
        assert_eq!(
            (recorded.source.as_str(), recorded.version.as_str()),
            ("app", "1.0.0")
        );
        assert_eq!(recorded.tag, None);
        let tagged = RUN.replace("}", ",\"tag\":\"v1.0.0\"}");
        let new = write(&[&tagged]);
        assert_eq!(
            recorded_release(new.path()).unwrap().tag.as_deref(),
            Some("v1.0.0")
        );
        let none = write(&["{\"format\":1,\"rec"]);
        assert!(recorded_release(none.path())
            .unwrap_err()
            .to_string()
            .contains("it records no run"));
    }

    #[test]
    fn the_fingerprint_changes_with_method_url_and_body_and_never_shows_the_url() {
        use crate::plan::fingerprint;
        let url = "https://hooks.example/build_hooks/secret-id";
        let base = fingerprint("POST", url, b"{}").hex();
        assert_eq!(base.len(), 64);
        assert_eq!(base, fingerprint("POST", url, b"{}").hex());
        assert_ne!(base, fingerprint("PUT", url, b"{}").hex());
        assert_ne!(
            base,
            fingerprint("POST", "https://hooks.example/other", b"{}").hex()
        );
        assert_ne!(base, fingerprint("POST", url, b"{\"a\":1}").hex());
        assert!(!base.contains("secret"));
    }
}
