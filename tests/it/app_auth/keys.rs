//! Loading the App's key and id: PKCS#1 and PKCS#8, env and file, and errors that never quote
//! the key.

use super::fixture::{test_key, APP_ID};
use orchestrator::auth::{AppCredentials, KeyOrigin, PrivateKey};
use orchestrator::secret::Secret;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::RsaPrivateKey;
use std::time::SystemTime;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
fn a_key_loads_from_an_environment_variable_as_pkcs1_or_pkcs8() {
    let key = test_key();
    let lookup = env(&[("APP_KEY", &key.pkcs1_pem), ("APP_KEY8", &key.pkcs8_pem)]);
    let pkcs1 = PrivateKey::from_env_with("APP_KEY", &lookup).unwrap();
    let pkcs8 = PrivateKey::from_env_with("APP_KEY8", &lookup).unwrap();
    assert_eq!(
        format!("{pkcs1:?}"),
        "PrivateKey(from environment variable `APP_KEY`)"
    );
    let now = SystemTime::now();
    let one = AppCredentials::new(APP_ID, pkcs1)
        .unwrap()
        .jwt(now)
        .unwrap();
    let other = AppCredentials::new(APP_ID, pkcs8)
        .unwrap()
        .jwt(now)
        .unwrap();
    assert_eq!(one, other, "both encodings hold the same key");
}

#[test]
fn a_key_with_escaped_newlines_loads() {
    let escaped = test_key().pkcs1_pem.trim().replace('\n', "\\n");
    assert!(!escaped.contains('\n'));
    let lookup = env(&[("APP_KEY", &escaped)]);
    assert!(PrivateKey::from_env_with("APP_KEY", &lookup).is_ok());
}

#[test]
fn a_key_loads_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.pem");
    std::fs::write(&path, &test_key().pkcs1_pem).unwrap();
    let key = PrivateKey::from_file(&path).unwrap();
    assert_eq!(key.origin(), &KeyOrigin::File(path));
}

#[test]
fn key_errors_say_what_is_wrong_without_quoting_the_key() {
    let missing = PrivateKey::from_env_with("APP_KEY", &env(&[])).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "the GitHub App private key variable `APP_KEY` is not set"
    );
    assert!(missing
        .hint()
        .unwrap_or_default()
        .contains("${{ secrets.APP_KEY }}"));

    let no_file = PrivateKey::from_file("/nonexistent/app.pem").unwrap_err();
    assert!(
        no_file
            .to_string()
            .starts_with("cannot read the GitHub App private key file `/nonexistent/app.pem`: "),
        "{no_file}"
    );

    let pem = &test_key().pkcs1_pem;
    let body_line = pem.lines().nth(3).unwrap();
    let cut = pem.replace(body_line, &body_line[..20]);
    let garbled = pem.replace(body_line, &"!".repeat(body_line.len()));
    let public = test_key().public.to_public_key_pem(LineEnding::LF).unwrap();
    let not_pem = format!("ghs_{}", &body_line[..36]);
    let small = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024)
        .unwrap()
        .to_pkcs1_pem(LineEnding::LF)
        .unwrap()
        .to_string();
    let cases: [(&str, &str); 6] = [
        (&cut, "it is not a valid RSA private key"),
        (&garbled, "its PEM is malformed"),
        (&public, "it holds no unencrypted private key"),
        (&not_pem, "it is not PEM"),
        (&small, "shorter than 2048 bits"),
        ("   ", "it is empty"),
    ];
    for (text, problem) in cases {
        let error =
            PrivateKey::from_pem(&Secret::new(text), KeyOrigin::Env("APP_KEY".into())).unwrap_err();
        let shown = format!("{error} {error:?} {:?}", error.hint());
        assert!(
            shown.contains(
                "the GitHub App private key in environment variable `APP_KEY` is unusable"
            ),
            "{shown}"
        );
        assert!(shown.contains(problem), "{problem}: {shown}");
        assert!(!shown.contains(&body_line[..20]), "quoted the key: {shown}");
    }
}

#[test]
fn an_app_id_must_look_like_one() {
    let key = || {
        PrivateKey::from_pem(&Secret::new(test_key().pkcs1_pem.clone()), KeyOrigin::Text).unwrap()
    };
    assert!(AppCredentials::new("12345", key()).is_ok());
    assert!(AppCredentials::new("Iv1.0123456789abcdef", key()).is_ok());
    for bad in ["", "12 345", "-----BEGIN RSA PRIVATE KEY-----\nMII"] {
        let error = AppCredentials::new(bad, key()).unwrap_err();
        assert!(
            error.to_string().starts_with("the GitHub App id "),
            "{error}"
        );
        assert!(!error.to_string().contains("MII"));
    }
}
