//! The integration tests: one binary (one link step, one `support`), one module per area.
//! Each runs the real `orchestrator` binary or the library against loopback stand-ins for
//! GitHub (`support::FakeGitHub` on 127.0.0.1, and 127.0.0.2 as "another host").

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may panic: that is its failure

mod support;

mod action;
mod actions;
mod app_auth;
mod app_run;
mod architecture;
mod body_bytes;
mod boundary_outbound;
mod boundary_plantime;
mod boundary_records;
mod boundary_redaction;
mod boundary_waits;
mod changed_targets;
mod changes;
mod check;
mod check_reads;
mod delivery;
mod diff;
mod dry_run;
mod faults;
mod fleet;
mod headers;
mod hostile;
mod hostile_files;
mod init;
mod install;
mod interrupt;
mod journal_lock;
mod kinds;
mod markdown;
mod newcomer;
mod output;
mod plan_errors;
mod readme;
mod receiver;
mod render_memo;
mod run;
mod schema;
mod secrets;
mod server_text;
mod settings_table;
mod shell;
mod support_selftest;
mod terminal;
mod track;
mod validate;
mod yaml_reader;
