//! `completions` and `man`: generated from the clap definition, so they cannot drift from it.

use crate::support::cli::Cli;
use std::path::Path;

fn stdout_of(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Cli::in_dir(dir.path()).args(args).output();
    assert_eq!(output.code, 0, "{output:?}");
    output.stdout
}

#[test]
fn completions_for_each_common_shell_know_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.len() > 500, "{shell}: {script}");
        for word in ["run", "validate", "init", "dry-run", "source"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn completions_exist_for_powershell_and_elvish_too() {
    for shell in ["powershell", "elvish"] {
        assert!(stdout_of(&["completions", shell]).contains("validate"));
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_that_lists_the_shells() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Cli::in_dir(dir.path())
        .args(["completions", "tcsh"])
        .output();
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(ran.stdout.is_empty(), "no script: {ran:?}");
    assert!(
        ran.stderr
            .contains("invalid value 'tcsh' for '<SHELL>'\n  [possible values: bash, elvish, fish, powershell, zsh]"),
        "{}",
        ran.stderr
    );
}

#[test]
fn the_man_page_is_roff_and_documents_every_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH orchestrator 1"), "{page}");
    for section in [
        ".SH \"ORCHESTRATOR RUN\"",
        ".SH \"ORCHESTRATOR VALIDATE\"",
        ".SH \"ORCHESTRATOR INIT\"",
    ] {
        assert!(page.contains(section), "no {section}");
    }
    assert!(page.contains("\\-\\-dry\\-run"), "run's options are listed");
    assert!(
        !page.contains("orchestrator\\-run(1)"),
        "no links to pages that do not exist"
    );
}

#[test]
fn man_with_dir_writes_one_page_per_subcommand_and_each_link_leads_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = Cli::in_dir(dir.path())
        .args(["man", "--dir", "man/man1"])
        .output();
    assert_eq!(output.code, 0, "{output:?}");
    let pages = dir.path().join("man/man1");
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "orchestrator-check.1",
            "orchestrator-comment.1",
            "orchestrator-completions.1",
            "orchestrator-diff.1",
            "orchestrator-init.1",
            "orchestrator-man.1",
            "orchestrator-plan.1",
            "orchestrator-receiver.1",
            "orchestrator-report.1",
            "orchestrator-run.1",
            "orchestrator-schema.1",
            "orchestrator-validate.1",
            "orchestrator.1",
        ]
    );
    let shown = |name: &str| Path::new("man/man1").join(name).display().to_string();
    assert!(
        output.stdout.starts_with(&format!(
            "wrote {}\nwrote {}\n",
            shown("orchestrator.1"),
            shown("orchestrator-run.1")
        )),
        "{}",
        output.stdout
    );
    let top = std::fs::read_to_string(pages.join("orchestrator.1")).unwrap();
    assert!(top.contains(".TH orchestrator 1"), "{top}");
    for name in &names {
        if let Some(sub) = name.strip_suffix(".1").filter(|n| *n != "orchestrator") {
            let link = format!("{}(1)", sub.replace('-', "\\-"));
            assert!(top.contains(&link), "orchestrator.1 does not link {link}");
        }
    }
    let run = std::fs::read_to_string(pages.join("orchestrator-run.1")).unwrap();
    assert!(run.contains(".TH orchestrator-run 1"), "{run}");
    assert!(run.contains("\\-\\-dry\\-run"), "run's options are listed");
}

#[test]
fn man_with_dir_that_cannot_be_made_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("taken"), "a file").unwrap();
    let output = Cli::in_dir(dir.path())
        .args(["man", "--dir", "taken"])
        .output();
    assert_eq!(output.code, 2, "{output:?}");
    assert!(
        output
            .stderr
            .contains("cannot write the manual pages into taken:"),
        "{}",
        output.stderr
    );
}
