//! orchestrator: turn one release into every downstream dispatch it should cause.
//!
//! The data walks one way: `dispatch.yaml` is loaded and compiled into a [`config::Config`]
//! (which cannot be invalid), [`plan::plan`] renders every request for one release without any
//! I/O, [`dispatch`] sends them concurrently, and the report says what happened. See
//! ARCHITECTURE.md.
//!
//! The public modules are what the binary and the integration tests use (the CLI, the
//! configuration, the plan, delivery and its seams, the GitHub transport, secrets); the rest
//! are private to the crate.

pub mod actions;
pub mod app;
pub mod auth;
pub mod changes;
pub mod check;
pub mod cli;
mod comment;
pub mod config;
pub mod diagnostic;
mod diff;
pub mod dispatch;
mod exit;
mod files;
pub mod github;
mod init;
mod journal;
mod logging;
mod markdown;
pub mod plan;
pub mod policy;
mod progress;
pub mod release;
pub mod render;
mod report;
pub mod secret;
pub mod shell;
mod style;
pub mod untrusted;
mod version;
mod yaml;
