//! A journal is held by one run: an exclusive OS file lock (`flock` on Unix, `LockFileEx` on
//! Windows), tried without waiting before the earlier run's records are read and kept until
//! the run ends. A second run on the same journal (a concurrent `--resume`, or two runs given
//! one `--journal`) is refused before it sends anything, instead of sending every target the
//! journal does not record as delivered a second time. The operating system drops the lock with
//! the process, so a run killed with `kill -9` leaves nothing to clean up.
//!
//! The journal is read and written through the handle that holds the lock: on Windows a lock
//! keeps every other handle out, this process's included.

use super::{parse_journal, Earlier, JournalError};
use crate::files::{self, Access, FileKind};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A journal file, open and locked for this run.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    path: PathBuf,
    named_by: &'static str,
    file: Arc<File>,
}

impl Held {
    /// Opens the journal at `path` (named by the flag `named_by`) for `access` and takes its
    /// lock, or says that another run holds it.
    pub(crate) fn take(
        path: &Path,
        named_by: &'static str,
        access: Access,
    ) -> Result<Held, JournalError> {
        let file = files::open(path, &kind(named_by), access)?;
        match file.try_lock() {
            Ok(()) => Ok(Held {
                path: path.to_owned(),
                named_by,
                file: Arc::new(file),
            }),
            Err(TryLockError::WouldBlock) => Err(JournalError::Held {
                path: path.to_owned(),
                named_by,
            }),
            Err(TryLockError::Error(source)) => Err(JournalError::Lock {
                path: path.to_owned(),
                named_by,
                source,
            }),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// What the earlier runs recorded in this journal, for the release `source`/`version`.
    pub(crate) fn read(&self, source: &str, version: &str) -> Result<Earlier, JournalError> {
        let bytes = files::read_open(&self.file, &self.path, &kind(self.named_by))?;
        parse_journal(&self.path, &bytes, source, version)
    }
}

fn kind(named_by: &'static str) -> FileKind {
    FileKind {
        named_by,
        ..files::JOURNAL
    }
}

/// The journals a real run names, each held from before anything is read or sent until the
/// run ends: the one `--resume` reads, and the one the run writes (`--journal`, else the
/// `--resume` file itself).
#[derive(Debug, Default)]
pub(crate) struct Journals {
    resumed: Option<Held>,
    written: Option<Held>,
}

impl Journals {
    /// Holds `--resume`'s file (read only, unless the run journals on to it) and `--journal`'s
    /// (created if need be), once when both name the same file.
    pub(crate) fn hold(
        resume: Option<&Path>,
        journal: Option<&Path>,
    ) -> Result<Journals, JournalError> {
        let resumed = match resume {
            Some(path) => {
                let journals_on = journal.is_none_or(|written| same_file(path, written));
                let access = if journals_on {
                    Access::Append
                } else {
                    Access::Read
                };
                Some((Held::take(path, "--resume", access)?, journals_on))
            }
            None => None,
        };
        let written = match (&resumed, journal) {
            (Some((held, true)), _) => Some(held.clone()),
            (_, Some(path)) => Some(Held::take(path, "--journal", Access::AppendOrCreate)?),
            (_, None) => None,
        };
        Ok(Journals {
            resumed: resumed.map(|(held, _)| held),
            written,
        })
    }

    /// The journal `--resume` reads.
    pub(crate) fn resumed(&self) -> Option<&Held> {
        self.resumed.as_ref()
    }

    /// The journal this run writes.
    pub(crate) fn written(&self) -> Option<&Held> {
        self.written.as_ref()
    }
}

/// Whether two paths name one file (however spelled: `./j`, a symlink, a hard link on Unix).
/// A second lock on one file from this process would be refused as if another run held it.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_on_one_journal_is_refused_naming_it_and_free_once_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let first = Held::take(&path, "--journal", Access::AppendOrCreate).unwrap();
        let err = Held::take(&path, "--resume", Access::Append).unwrap_err();
        assert!(matches!(err, JournalError::Held { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "the journal {} (given by --resume) is in use: another orchestrator run holds its lock; nothing was sent",
                path.display()
            )
        );
        assert!(err.help().unwrap().contains("let the other run finish"));
        drop(first);
        assert!(Held::take(&path, "--resume", Access::Append).is_ok());
    }

    #[test]
    fn one_file_named_by_both_flags_is_held_once_and_two_files_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "").unwrap();
        let spelled = dir.path().join(".").join("journal.jsonl");
        let journals = Journals::hold(Some(&path), Some(&spelled)).unwrap();
        assert_eq!(journals.resumed().unwrap().path(), path);
        assert_eq!(journals.written().unwrap().path(), path);
        drop(journals);

        let other = dir.path().join("other.jsonl");
        let journals = Journals::hold(Some(&path), Some(&other)).unwrap();
        assert_eq!(journals.written().unwrap().path(), other);
        assert!(matches!(
            Held::take(&path, "--resume", Access::Read),
            Err(JournalError::Held { .. })
        ));
        assert!(matches!(
            Held::take(&other, "--journal", Access::Append),
            Err(JournalError::Held { .. })
        ));
    }

    #[test]
    fn a_journal_to_resume_must_exist_and_none_is_created_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.jsonl");
        let err = Journals::hold(Some(&missing), None).unwrap_err();
        assert!(err.to_string().contains("(given by --resume)"), "{err}");
        assert!(!missing.exists());
    }
}
