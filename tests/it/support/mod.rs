//! Test support shared by every integration test module (`crate::support`).
//!
//! - `FakeGitHub`: a scripted GitHub REST API on 127.0.0.1 that records every request.
//! - `openapi`: checks recorded requests against GitHub's OpenAPI description.

pub mod cli;
// Writes programs with `cp` and `chmod 0755`; Windows runs no file by its mode or `#!` line.
#[cfg(unix)]
pub mod executable;
mod fake_github;
pub mod git;
mod http;
pub mod openapi;
pub mod recorder;
mod reply;
mod server;
pub mod snapshot;

pub use fake_github::{FakeGitHub, Recorded};
pub use http::http_date;
pub use reply::{Reply, Script, DISPATCH_DOCS_URL};
