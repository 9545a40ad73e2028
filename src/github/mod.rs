//! The one transport to GitHub (and to webhooks): the client and its outbound policy
//! ([`outbound`]: origins, redirects, no `Referer`, the headers every request carries), reading
//! an answer once and bounded ([`response`]), its headers as their RFCs define them
//! ([`headers`]), and what an answer means ([`classify`]: delivered, permanent, transient,
//! rate-limited, with hints). Everything that talks to GitHub, `auth` and
//! `dispatch` alike, goes through here, so the rules hold for every request.

pub mod classify;
pub(crate) mod headers;
pub(crate) mod list;
pub(crate) mod outbound;
pub(crate) mod response;

pub use outbound::USER_AGENT;

/// The media type GitHub's REST API documents for every request.
pub const ACCEPT_GITHUB_JSON: &str = "application/vnd.github+json";
