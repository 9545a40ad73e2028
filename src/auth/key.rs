//! The App's identity: its id and RSA private key, read once and parsed once. Nothing here
//! prints the key: `Debug` names where it came from, and errors describe what is wrong with it
//! without quoting it.

use super::jwt::{self, Claims};
use super::AuthError;
use crate::files::FileKind;
use crate::secret::Secret;
use ring::signature::RsaKeyPair;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::PrivateKeyDer;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// `private_key_file`: a PEM of an RSA key of 8192 bits, the largest GitHub accepts, is under
/// 7 KiB.
pub(super) const KEY_FILE: FileKind = FileKind {
    named_by: "private_key_file",
    cap: 64 * 1024,
    why_cap: "a GitHub App private key (.pem) is a few KiB",
};

/// Where a private key came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// An environment variable, by name.
    Env(String),
    File(PathBuf),
    /// PEM text handed in directly.
    Text,
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::Env(name) => write!(f, "environment variable `{name}`"),
            KeyOrigin::File(path) => write!(f, "file `{}`", path.display()),
            KeyOrigin::Text => f.write_str("the given PEM text"),
        }
    }
}

/// A GitHub App's RSA private key, parsed (PKCS#1 `RSA PRIVATE KEY`, which GitHub hands out,
/// or PKCS#8 `PRIVATE KEY`). Cheap to clone.
#[derive(Clone)]
pub struct PrivateKey {
    origin: KeyOrigin,
    pair: Arc<RsaKeyPair>,
}

impl PrivateKey {
    /// Reads the PEM from the environment variable `name`.
    pub fn from_env(name: &str) -> Result<PrivateKey, AuthError> {
        PrivateKey::from_env_with(name, &|name| std::env::var(name).ok())
    }

    /// Like [`PrivateKey::from_env`], reading variables through `lookup` (as the planner does).
    pub fn from_env_with(
        name: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PrivateKey, AuthError> {
        let pem = lookup(name)
            .map(Secret::new)
            .ok_or_else(|| AuthError::KeyEnvUnset {
                name: name.to_owned(),
            })?;
        PrivateKey::from_pem(&pem, KeyOrigin::Env(name.to_owned()))
    }

    /// Reads the PEM from a file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<PrivateKey, AuthError> {
        let path = path.as_ref();
        let unreadable = |reason: String| AuthError::KeyFileUnreadable {
            path: path.to_owned(),
            reason,
        };
        let bytes = crate::files::read(path, &KEY_FILE).map_err(|e| unreadable(e.reason()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| unreadable("it is not text (a PEM file is plain ASCII)".to_owned()))?;
        PrivateKey::from_pem(&Secret::new(text), KeyOrigin::File(path.to_owned()))
    }

    /// Parses PEM text. A value whose line breaks were written as `\n` (as in a `.env` file)
    /// is accepted too.
    pub fn from_pem(pem: &Secret, origin: KeyOrigin) -> Result<PrivateKey, AuthError> {
        let invalid = |problem: &str| AuthError::KeyInvalid {
            origin: origin.clone(),
            problem: problem.to_owned(),
        };
        let text = pem.expose().trim();
        let unescaped;
        let text = if !text.contains('\n') && text.contains("\\n") {
            unescaped = Secret::new(text.replace("\\n", "\n"));
            unescaped.expose()
        } else {
            text
        };
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        if !text.contains("-----BEGIN ") {
            return Err(invalid(
                "it is not PEM (it should run from `-----BEGIN RSA PRIVATE KEY-----` to `-----END RSA PRIVATE KEY-----`)",
            ));
        }
        let parsed = match PrivateKeyDer::from_pem_slice(text.as_bytes()) {
            Ok(PrivateKeyDer::Pkcs1(der)) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            Ok(PrivateKeyDer::Pkcs8(der)) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Sec1(_)) => {
                return Err(invalid("it is an EC key; GitHub App keys are RSA"))
            }
            Ok(_) => return Err(invalid("it is not an RSA private key")),
            Err(pem::Error::NoItemsFound) => {
                return Err(invalid(
                    "it holds no unencrypted private key (a public key, a certificate or an encrypted key?)",
                ))
            }
            Err(_) => return Err(invalid("its PEM is malformed (cut short or edited?)")),
        };
        let pair = parsed.map_err(|rejected| {
            invalid(match rejected.to_string().as_str() {
                "TooSmall" => "the RSA key is shorter than 2048 bits",
                "TooLarge" => "the RSA key is longer than 8192 bits",
                "WrongAlgorithm" => "it is not an RSA key; GitHub App keys are RSA",
                _ => "it is not a valid RSA private key",
            })
        })?;
        Ok(PrivateKey {
            origin,
            pair: Arc::new(pair),
        })
    }

    pub fn origin(&self) -> &KeyOrigin {
        &self.origin
    }

    pub(super) fn pair(&self) -> &RsaKeyPair {
        &self.pair
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(from {})", self.origin)
    }
}

/// What a GitHub App signs in with: its id (the number, or the client id `Iv1.…`; either is the
/// JWT's `iss`) and its private key.
#[derive(Clone, Debug)]
pub struct AppCredentials {
    app_id: String,
    key: PrivateKey,
}

impl AppCredentials {
    pub fn new(app_id: impl Into<String>, key: PrivateKey) -> Result<AppCredentials, AuthError> {
        let app_id = app_id.into();
        let problem = if app_id.is_empty() {
            Some("is empty")
        } else if app_id.len() > 100 {
            Some("is longer than 100 characters")
        } else if !app_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            Some("must be the App's numeric id or its client id (letters, digits, `.`, `_`, `-`)")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(AuthError::AppIdInvalid {
                problem: problem.to_owned(),
            }),
            None => Ok(AppCredentials { app_id, key }),
        }
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// A JWT for API calls as the App, valid from a minute before `now` for nine minutes after.
    pub fn jwt(&self, now: SystemTime) -> Result<Secret, AuthError> {
        jwt::sign(&Claims::at(&self.app_id, now), self.key.pair())
    }
}
