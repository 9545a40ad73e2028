//! Reading the files a user names (`--config`, `private_key_file`, `--resume`,
//! `--retry-failed`) and opening the journal: regular files only, opened without blocking and
//! read only up to a cap, so a FIFO cannot hang the run and `/dev/zero` cannot fill memory.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a file is for: the flag or key that named it, its size cap, and why the cap is enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileKind {
    /// `--config`, `private_key_file`, ...: where the path came from, for messages.
    pub named_by: &'static str,
    /// Larger files are refused.
    pub cap: u64,
    /// Said after "is larger than N bytes; ".
    pub why_cap: &'static str,
}

/// A journal or a JSON report: 10,000 targets take a few MiB; many appended runs fit too.
pub(crate) const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

pub(crate) const JOURNAL: FileKind = FileKind {
    named_by: "--resume",
    cap: MAX_RECORD_BYTES,
    why_cap: "a journal of orchestrator is never that big (start a fresh one with --journal)",
};

pub(crate) const REPORT: FileKind = FileKind {
    named_by: "--retry-failed",
    cap: MAX_RECORD_BYTES,
    why_cap: "a JSON report of orchestrator is never that big",
};

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    #[error("cannot read {}: {source} (given by {named_by})", path.display())]
    Io {
        path: PathBuf,
        named_by: &'static str,
        source: std::io::Error,
    },
    #[error("cannot read {}: it is {what}, not a regular file (given by {named_by})", path.display())]
    NotRegular {
        path: PathBuf,
        named_by: &'static str,
        what: &'static str,
    },
    #[error("{} is larger than {cap} bytes; {why}", path.display())]
    TooLarge {
        path: PathBuf,
        cap: u64,
        why: &'static str,
    },
}

impl FileError {
    /// What is wrong, without the path (for messages that name the file themselves).
    pub(crate) fn reason(&self) -> String {
        match self {
            FileError::Io { source, .. } => source.to_string(),
            FileError::NotRegular { what, .. } => format!("it is {what}, not a regular file"),
            FileError::TooLarge { cap, why, .. } => format!("it is larger than {cap} bytes; {why}"),
        }
    }
}

/// Reads the whole file at `path`, refusing anything but a regular file of at most `kind.cap`
/// bytes.
pub(crate) fn read(path: &Path, kind: &FileKind) -> Result<Vec<u8>, FileError> {
    let file = open(path, kind, Access::Read)?;
    read_open(&file, path, kind)
}

/// Reads the whole of `file`, open at `path`, from its start, as [`read`] does (the same type
/// check and cap): a journal is read through the handle that holds its lock.
pub(crate) fn read_open(
    mut file: &File,
    path: &Path,
    kind: &FileKind,
) -> Result<Vec<u8>, FileError> {
    use std::io::{Seek, SeekFrom};
    let io = |source| FileError::Io {
        path: path.to_owned(),
        named_by: kind.named_by,
        source,
    };
    let len = regular(file, path, kind)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let too_large = || FileError::TooLarge {
        path: path.to_owned(),
        cap: kind.cap,
        why: kind.why_cap,
    };
    if len > kind.cap {
        return Err(too_large());
    }
    // The file may grow while it is read: the cap holds whatever its size said.
    let mut bytes = Vec::new();
    file.take(kind.cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > kind.cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// What a file named by a flag is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Reading, and appending to a file that must exist.
    Append,
    /// Reading, and appending to the file, created if need be.
    AppendOrCreate,
}

/// Opens the regular file at `path` for `access`. A FIFO fails at once instead of waiting for a
/// reader or a writer.
pub(crate) fn open(path: &Path, kind: &FileKind, access: Access) -> Result<File, FileError> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .append(access != Access::Read)
        .create(access == Access::AppendOrCreate);
    nonblocking(&mut options);
    let file = options.open(path).map_err(|source| FileError::Io {
        path: path.to_owned(),
        named_by: kind.named_by,
        source,
    })?;
    regular(&file, path, kind)?;
    Ok(file)
}

/// O_NONBLOCK: opening a FIFO returns at once (reading finds it empty, writing without a
/// reader fails) and the type check below refuses it. It changes nothing for regular files.
#[cfg(unix)]
fn nonblocking(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NONBLOCK);
}

#[cfg(not(unix))]
fn nonblocking(_: &mut OpenOptions) {}

/// The file's size, if it is a regular file.
fn regular(file: &File, path: &Path, kind: &FileKind) -> Result<u64, FileError> {
    let metadata = file.metadata().map_err(|source| FileError::Io {
        path: path.to_owned(),
        named_by: kind.named_by,
        source,
    })?;
    if metadata.is_file() {
        return Ok(metadata.len());
    }
    Err(FileError::NotRegular {
        path: path.to_owned(),
        named_by: kind.named_by,
        what: describe(&metadata.file_type()),
    })
}

fn describe(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: FileKind = FileKind {
        named_by: "--test",
        cap: 4,
        why_cap: "tests are small",
    };

    #[test]
    fn reads_a_file_up_to_its_cap_and_refuses_one_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abcd").unwrap();
        assert_eq!(read(&path, &SMALL).unwrap(), b"abcd");
        std::fs::write(&path, "abcde").unwrap();
        let err = read(&path, &SMALL).unwrap_err().to_string();
        assert!(
            err.ends_with("is larger than 4 bytes; tests are small"),
            "{err}"
        );
    }

    // Windows refuses to open a directory as a file ("Access is denied") before the type check
    // can name it: there the error is the operating system's.
    #[cfg(unix)]
    #[test]
    fn refuses_a_directory_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), &SMALL).unwrap_err().to_string();
        assert!(
            err.ends_with("it is a directory, not a regular file (given by --test)"),
            "{err}"
        );
    }

    // /dev/zero: a character device every Unix has; Windows has none.
    #[cfg(unix)]
    #[test]
    fn refuses_a_device_at_once() {
        let err = read(Path::new("/dev/zero"), &SMALL).unwrap_err();
        assert_eq!(err.reason(), "it is a character device, not a regular file");
    }
}
