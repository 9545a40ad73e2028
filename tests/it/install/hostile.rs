//! install.sh against what a broken network, a hostile release or an odd machine can hand it
//! (issue 21 item 12): downloads cut off or stalled after their 200, archives whose
//! `orchestrator` is not one regular file, a directory where the binary goes, and path
//! characters that once changed what the checksum tool printed.

use super::fake_release::{
    archive_made_by, asset, asset_name, release, sums_for, Answer, Releases,
};
use super::{
    assert_nothing_installed, bin_with_old_orchestrator, contents, install, install_with, stderr,
};
use std::path::Path;
use std::time::Duration;

fn cut_off() -> Answer {
    Answer::CutOff {
        body: asset().to_vec(),
        sent: asset().len() / 2,
    }
}

fn whole() -> Answer {
    Answer::Full(200, asset().to_vec())
}

fn installed_is_the_release(bin: &Path) {
    let installed = std::fs::read(bin.join("orchestrator")).unwrap();
    assert!(
        installed == release().0,
        "the installed binary is not the released one"
    );
}

#[test]
fn a_download_cut_off_mid_body_is_retried_and_then_the_install_succeeds() {
    let releases = Releases::published();
    releases.reply(&asset_name(), [cut_off(), whole()]);
    let bin = tempfile::tempdir().unwrap();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("closed before the whole file arrived"),
        "{said}"
    );
    assert!(said.contains("retrying"), "{said}");
    assert_eq!(releases.requests_for(&asset_name()), 2);
    installed_is_the_release(bin.path());
}

#[test]
fn a_download_cut_off_on_every_attempt_is_a_failed_download_not_a_checksum_mismatch() {
    for file in [asset_name(), "SHA256SUMS".to_owned()] {
        let releases = Releases::published();
        let body = if file == "SHA256SUMS" {
            super::fake_release::sums()
        } else {
            asset().to_vec()
        };
        let sent = body.len() / 2;
        releases.reply(&file, [Answer::CutOff { body, sent }]);
        let bin = bin_with_old_orchestrator();
        let Some(output) = install(&releases, bin.path(), &[]) else {
            return;
        };
        assert_nothing_installed(bin.path(), &output, 4);
        let said = stderr(&output);
        assert!(!said.contains("does not match"), "{file}: {said}");
        assert!(!said.contains("well-formed"), "{file}: {said}");
        assert!(said.contains("after 3 attempts"), "{file}: {said}");
        assert_eq!(releases.requests_for(&file), 3, "{file}");
    }
}

#[test]
fn a_download_that_stalls_after_its_200_is_retried_after_the_timeout() {
    let releases = Releases::published();
    let stalled = Answer::Stalled {
        body: asset().to_vec(),
        sent: asset().len() / 2,
        stall: Duration::from_secs(5),
    };
    releases.reply(&asset_name(), [stalled, whole()]);
    let bin = tempfile::tempdir().unwrap();
    // A fraction of a second: the test waits for the timeout in real time.
    let timeout = [("ORCHESTRATOR_DOWNLOAD_TIMEOUT", "0.3")];
    let Some(output) = install_with(&releases, bin.path(), &[], &timeout) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no complete answer within 0.3s"),
        "{}",
        stderr(&output)
    );
    assert_eq!(releases.requests_for(&asset_name()), 2);
    installed_is_the_release(bin.path());
}

/// A directory of links to every program on PATH but curl, so install.sh falls back to wget;
/// None (the test is skipped) without wget.
fn path_without_curl() -> Option<tempfile::TempDir> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path).collect();
    if !dirs.iter().any(|d| d.join("wget").exists()) {
        eprintln!("skipped: wget is not installed");
        return None;
    }
    let links = tempfile::tempdir().unwrap();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let link = links.path().join(entry.file_name());
            if entry.file_name() != "curl" && !link.exists() {
                let _ = std::os::unix::fs::symlink(entry.path(), link);
            }
        }
    }
    Some(links)
}

fn install_with_wget(releases: &Releases, bin: &Path) -> Option<std::process::Output> {
    super::fake_release::host_target()?;
    let links = path_without_curl()?;
    let path = links.path().to_str().unwrap();
    install_with(releases, bin, &[], &[("PATH", path)])
}

#[test]
fn with_wget_a_cut_off_download_is_retried_by_the_script_and_a_404_is_final() {
    let releases = Releases::published();
    releases.reply(&asset_name(), [cut_off(), whole()]);
    let bin = tempfile::tempdir().unwrap();
    let Some(output) = install_with_wget(&releases, bin.path()) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("wget exit"), "{}", stderr(&output));
    assert_eq!(releases.requests_for(&asset_name()), 2);
    installed_is_the_release(bin.path());

    let releases = Releases::published();
    releases.reply(&asset_name(), [cut_off()]);
    let bin = bin_with_old_orchestrator();
    let output = install_with_wget(&releases, bin.path()).unwrap();
    assert_nothing_installed(bin.path(), &output, 4);
    assert_eq!(
        releases.requests_for(&asset_name()),
        3,
        "wget's own retries are off: the script's count holds"
    );

    let releases = Releases::empty();
    releases.serve("SHA256SUMS", [(200, super::fake_release::sums())]);
    let bin = bin_with_old_orchestrator();
    let output = install_with_wget(&releases, bin.path()).unwrap();
    assert_nothing_installed(bin.path(), &output, 4);
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    assert_eq!(releases.requests_for(&asset_name()), 1, "a 404 is final");
}

#[test]
fn a_backslash_or_a_space_in_tmpdir_does_not_break_the_checksum_comparison() {
    let releases = Releases::published();
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("back\\slash and space");
    std::fs::create_dir(&odd).unwrap();
    let bin = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", odd.to_str().unwrap())];
    let Some(output) = install_with(&releases, bin.path(), &[], &env) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    installed_is_the_release(bin.path());
    assert_eq!(
        contents(&odd),
        Vec::<String>::new(),
        "the work directory is removed"
    );
}

/// A release whose asset is the archive `script` makes, and whose SHA256SUMS vouches for it:
/// a release made by an attacker, or by a broken workflow, without pinned checksums.
fn release_of(script: &str) -> Releases {
    let archive = archive_made_by(script);
    let releases = Releases::empty();
    releases.serve("SHA256SUMS", [(200, sums_for(&archive))]);
    releases.serve(&asset_name(), [(200, archive)]);
    releases
}

/// A file of the user's the archive's links point at: it must never be installed.
fn private_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("private");
    std::fs::write(&file, "the user's private file").unwrap();
    let path = file.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn an_archive_whose_orchestrator_is_not_one_regular_file_installs_nothing() {
    let (_keep, private) = private_file();
    let cases = [
        (
            format!("ln -s '{private}' orchestrator; tar -cf asset.tar orchestrator README.md"),
            "is a symbolic link",
        ),
        (
            format!(
                "cp bin orchestrator; tar -cf asset.tar orchestrator README.md; \
                 ln -s '{private}' elsewhere/orchestrator; tar -rf asset.tar -C elsewhere orchestrator"
            ),
            "holds 2 members named orchestrator",
        ),
        (
            "cp bin orchestrator; tar -cf asset.tar orchestrator; \
             printf evil > elsewhere/orchestrator; tar -rf asset.tar -C elsewhere orchestrator"
                .to_owned(),
            "holds 2 members named orchestrator",
        ),
        (
            "ln README.md orchestrator; tar -cf asset.tar README.md orchestrator".to_owned(),
            "is a hard link",
        ),
        (
            "mkdir orchestrator; tar -cf asset.tar orchestrator".to_owned(),
            "is a directory",
        ),
        (
            "mkdir orchestrator; cp bin orchestrator/orchestrator; tar -cf asset.tar orchestrator"
                .to_owned(),
            "holds 2 members named orchestrator",
        ),
    ];
    for (script, why) in cases {
        let releases = release_of(&script);
        let bin = bin_with_old_orchestrator();
        let Some(output) = install(&releases, bin.path(), &[]) else {
            return;
        };
        assert_nothing_installed(bin.path(), &output, 6);
        let said = stderr(&output);
        assert!(said.contains(why), "{script}: {said}");
        assert!(said.contains("malformed"), "{script}: {said}");
    }
}

#[test]
fn members_beside_the_binary_are_never_extracted_and_never_taken_for_it() {
    let (_keep, private) = private_file();
    let outside = tempfile::tempdir().unwrap();
    let escaped = outside.path().join("escaped");
    // `./orchestrator` (a link) and `orchestrator` (the binary); an absolute and a `../`
    // member. GNU tar matches only the exact name; bsdtar also `./orchestrator`, and then
    // two members are named so and the archive is refused. Either way the link is not taken.
    let script = format!(
        "ln -s '{private}' elsewhere/orchestrator; tar -cf asset.tar -C elsewhere ./orchestrator; \
         cp bin orchestrator; tar -rf asset.tar orchestrator; \
         printf x > '{escaped}'; tar -rPf asset.tar '{escaped}'; rm '{escaped}'; \
         tar -rf asset.tar -C elsewhere ../README.md",
        escaped = escaped.display()
    );
    let releases = release_of(&script);
    let bin = tempfile::tempdir().unwrap();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    match output.status.code() {
        Some(0) => installed_is_the_release(bin.path()),
        Some(6) => assert!(contents(bin.path()).is_empty(), "{}", stderr(&output)),
        other => panic!("exit {other:?}: {}", stderr(&output)),
    }
    assert!(!escaped.exists(), "an absolute member was extracted");
}

#[test]
fn a_directory_where_the_binary_goes_is_refused_and_left_as_it_was() {
    let releases = Releases::published();
    let bin = tempfile::tempdir().unwrap();
    std::fs::create_dir(bin.path().join("orchestrator")).unwrap();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is a directory"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("installed orchestrator"));
    assert!(contents(&bin.path().join("orchestrator")).is_empty());
    assert_eq!(
        contents(bin.path()),
        ["orchestrator"],
        "no staging left behind"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), bin.path().join("orchestrator")).unwrap();
    let output = install(&releases, bin.path(), &[]).unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(
        contents(elsewhere.path()).is_empty(),
        "moved into the linked directory"
    );
}

#[test]
fn a_symlink_where_the_binary_goes_is_replaced_and_what_it_pointed_to_is_untouched() {
    let releases = Releases::published();
    let (_keep, private) = private_file();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&private, bin.path().join("orchestrator")).unwrap();
    let Some(output) = install(&releases, bin.path(), &[]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let installed = bin.path().join("orchestrator");
    assert!(!installed.symlink_metadata().unwrap().is_symlink());
    installed_is_the_release(bin.path());
    assert_eq!(
        std::fs::read_to_string(&private).unwrap(),
        "the user's private file"
    );
}

#[test]
fn a_download_timeout_of_zero_or_not_a_number_is_refused_before_any_download() {
    let releases = Releases::published();
    for bad in ["0", "0.0", "1.", "5s", "-1"] {
        let bin = tempfile::tempdir().unwrap();
        let timeout = [("ORCHESTRATOR_DOWNLOAD_TIMEOUT", bad)];
        let Some(output) = install_with(&releases, bin.path(), &[], &timeout) else {
            return;
        };
        assert_eq!(output.status.code(), Some(2), "{bad}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(
                "ORCHESTRATOR_DOWNLOAD_TIMEOUT must be a number of seconds above 0 (300, or 0.5)"
            ),
            "{bad}: {}",
            stderr(&output)
        );
    }
    assert_eq!(releases.requests_for(&asset_name()), 0);
}
