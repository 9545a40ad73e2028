//! Test support shared by the integration tests: `mod support;` in a `tests/*.rs` file.
//!
//! - `FakeGitHub`: a scripted GitHub REST API on 127.0.0.1 that records every request.
//! - `openapi`: checks recorded requests against GitHub's OpenAPI description.

// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod cli;
mod fake_github;
mod http;
pub mod openapi;
mod reply;
mod server;

// Not every test binary names every item; `dead_code` does not cover re-exports.
#[allow(unused_imports)]
pub use fake_github::{FakeGitHub, Recorded};
#[allow(unused_imports)]
pub use reply::{Reply, Script, DISPATCH_DOCS_URL, SECONDARY_RATE_LIMIT_MESSAGE};
