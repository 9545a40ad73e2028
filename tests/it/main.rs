//! The integration tests: one binary (one link step, one `support`), one module per area.
//! Each runs the real `orchestrator` binary or the library against loopback stand-ins for
//! GitHub (`support::FakeGitHub` on 127.0.0.1, and 127.0.0.2 as "another host").

#![allow(clippy::unwrap_used, clippy::expect_used)]
// a test may panic: that is its failure
// A test binary has no surface to keep small: its modules share helpers with `pub`.
#![allow(unreachable_pub)]
// Long tables of cases read best whole; the 80-line limit is for product code.
#![allow(clippy::too_many_lines)]

mod support;

// Runs action.yml's steps under bash, installing the binary at a Unix path with Unix modes;
// its checks of action.yml's text need no second system.
#[cfg(unix)]
mod action_metadata;
mod actions_output;
mod app_auth;
mod app_run;
mod architecture;
mod body_bytes;
mod changed_targets;
mod changes;
mod check;
mod check_reads;
mod chosen_targets;
mod compact_report;
mod delivery;
mod diff;
mod dry_run;
mod faults;
mod files_read_back;
mod finishing_runs;
mod first_run_messages;
mod gates;
mod headers;
// Bounds memory with `ulimit -v`, which macOS refuses (EINVAL) and Windows has no sh for; the
// inputs are the same bytes on every system, so Linux alone covers them.
#[cfg(target_os = "linux")]
mod hostile_config;
mod hostile_files;
mod hostile_registries;
mod init;
// scripts/install.sh under dash, with Unix symlinks and modes; on Windows (Git Bash) it is run by
// release.yml's `installs` job against the published release.
#[cfg(unix)]
mod install;
mod interrupt;
mod journal_lock;
mod markdown;
mod needs;
mod outbound_policy;
mod output;
mod plan_errors;
mod plan_time_checks;
mod pr_comment;
mod rate_limit_pacing;
mod read_budget;
mod readme;
mod receiver;
mod redaction;
mod render_memo;
mod run;
mod schema;
mod secrets;
mod server_text;
mod server_waits;
mod settings_table;
mod shards;
mod shell;
mod support_selftest;
mod target_kinds;
mod template_messages;
mod terminal;
mod tracked_runs;
mod validate;
mod yaml_reader;
