//! Files the tests run as programs, written so that running them never fails with "Text file
//! busy" (ETXTBSY).
//!
//! A file this process holds open for writing cannot be executed. The test binary runs many
//! tests on threads, and another thread that forks (to spawn a child) while the file is open
//! carries a copy of that descriptor until its child execs, however briefly. Writing the file
//! here and running it there then races. So the executable file is never opened for writing in
//! this process: `cp` (a child of its own) writes it, and forks elsewhere in this process cannot
//! inherit `cp`'s descriptor.

use std::path::Path;
use std::process::Command;

/// Copies `from` to `to` as an executable (mode 0755), in a child process.
pub fn place(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("--")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "cp {} {}", from.display(), to.display());
    let status = Command::new("chmod")
        .arg("0755")
        .arg(to)
        .status()
        .expect("chmod runs");
    assert!(status.success(), "chmod {}", to.display());
}

/// Writes a script with `body` at `to`, executable: the text goes to a file beside it that is
/// never run, and `place` copies it.
pub fn script(to: &Path, body: &str) {
    let mut text = to.as_os_str().to_owned();
    text.push(".text");
    let text = std::path::PathBuf::from(text);
    std::fs::write(&text, body).expect("the script's text is written");
    place(&text, to);
}
