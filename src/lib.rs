//! orchestrator: turn one release into every downstream dispatch it should cause.
//!
//! The data walks one way: `dispatch.yaml` is loaded and compiled into a [`config::Config`]
//! (which cannot be invalid), [`plan::plan`] renders every request for one release without any
//! I/O, [`dispatch`] sends them concurrently, and [`report`] prints what happened.

pub mod actions;
pub mod app;
pub mod auth;
pub mod changes;
pub mod check;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod diff;
pub mod dispatch;
pub mod exit;
pub mod files;
pub mod github;
pub mod init;
pub mod journal;
pub mod logging;
pub mod markdown;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod release;
pub mod render;
pub mod report;
pub mod secret;
pub mod shell;
pub mod style;
pub mod untrusted;
pub mod version;
