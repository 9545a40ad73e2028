//! `completions` and `man`: generated from the clap definition, so they cannot drift from it.

use crate::support::cli::Cli;

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
