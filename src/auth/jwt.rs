//! The App's JWT: RS256 over `{"alg":"RS256","typ":"JWT"}` and the claims GitHub asks for
//! (`iat`, `exp`, `iss`), written by hand on ring, which the TLS stack already brings.

use super::AuthError;
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `iat` is set this far in the past, as GitHub recommends, to absorb clock drift.
pub const JWT_BACKDATE: Duration = Duration::from_secs(60);
/// `exp` is this far after now; GitHub rejects a JWT that lives more than 10 minutes, and one
/// minute of margin keeps a slightly fast clock inside that.
pub const JWT_LIFETIME: Duration = Duration::from_secs(9 * 60);

const HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

/// The JWT's claims, in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
}

impl Claims {
    pub fn at(app_id: &str, now: SystemTime) -> Claims {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        Claims {
            iat: now.saturating_sub(JWT_BACKDATE).as_secs(),
            exp: (now + JWT_LIFETIME).as_secs(),
            iss: app_id.to_owned(),
        }
    }
}

pub(super) fn sign(claims: &Claims, key: &RsaKeyPair) -> Result<Secret, AuthError> {
    let claims = serde_json::to_vec(claims).map_err(|_| AuthError::Signing)?;
    let mut jwt = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        jwt.as_bytes(),
        &mut signature,
    )
    .map_err(|_| AuthError::Signing)?;
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(Secret::new(jwt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn claims_start_a_minute_back_and_end_nine_minutes_ahead() {
        let claims = Claims::at("12345", at(1_700_000_000));
        assert_eq!(
            claims,
            Claims {
                iat: 1_699_999_940,
                exp: 1_700_000_540,
                iss: "12345".to_owned(),
            }
        );
        assert!(
            claims.exp - claims.iat <= 600,
            "GitHub's limit is 10 minutes"
        );
    }

    #[test]
    fn claims_take_a_client_id_as_issuer() {
        assert_eq!(Claims::at("Iv1.0123abcd", at(1000)).iss, "Iv1.0123abcd");
    }

    #[test]
    fn claims_are_serialized_in_a_fixed_order() {
        let json = serde_json::to_string(&Claims::at("7", at(1000))).unwrap_or_default();
        assert_eq!(json, r#"{"iat":940,"exp":1540,"iss":"7"}"#);
    }

    #[test]
    fn a_clock_before_1970_does_not_panic() {
        let claims = Claims::at("7", UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!((claims.iat, claims.exp), (0, 540));
    }

    #[test]
    fn header_is_rs256_jwt() {
        let header: serde_json::Value = serde_json::from_str(HEADER).unwrap_or_default();
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
    }
}
