//! Authenticating as a GitHub App: the App's key signs a short-lived JWT, the JWT finds the
//! App's installation on a repository and buys an installation token, and the token (narrowed
//! to the target repositories of that installation) is what a dispatch request sends.
//!
//! ```text
//! AppCredentials (app id + RSA key, parsed once)
//!     ──jwt(now)──▶ JWT (RS256, 10 min at most)
//!     ──GET /repos/{owner}/{repo}/installation──▶ installation id (unless configured)
//!     ──POST /app/installations/{id}/access_tokens──▶ installation token (`ghs_…`, 1 h)
//! ```
//!
//! [`AppTokens`] does this on demand, at send time: one token request per installation however
//! many targets ask at once, the token reused until five minutes before it expires. Every
//! credential lives in a [`crate::secret::Secret`] or behind a `Debug` that says only where it
//! came from; no error text carries a key, a JWT or a token.

mod api;
mod error;
mod jwt;
mod key;
mod slot;
mod tokens;

pub use error::{AuthError, Step};
pub use jwt::{Claims, JWT_BACKDATE, JWT_LIFETIME};
pub use key::{AppCredentials, KeyOrigin, PrivateKey};
pub use tokens::{AppTarget, AppTokens, Clock, Mask, REFRESH_MARGIN};
