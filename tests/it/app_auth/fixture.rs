//! Shared by the App auth tests: a key generated once, targets on the fake, a clock moved by
//! hand, and GitHub's token answer.

use crate::support::{FakeGitHub, Recorded, Reply};
use orchestrator::auth::{
    AppCredentials, AppTarget, AppTokens, Clock, KeyOrigin, Mask, PrivateKey,
};
use orchestrator::config::Repo;
use orchestrator::secret::Secret;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const APP_ID: &str = "12345";
pub const TOKEN_OP: &str = "apps/create-installation-access-token";
pub const TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";

/// One 2048-bit key per test binary: generating it is the slow part.
pub struct TestKey {
    pub pkcs1_pem: String,
    pub pkcs8_pem: String,
    pub public: RsaPublicKey,
}

pub fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA keygen");
        TestKey {
            pkcs1_pem: private
                .to_pkcs1_pem(LineEnding::LF)
                .expect("PKCS#1")
                .to_string(),
            pkcs8_pem: private
                .to_pkcs8_pem(LineEnding::LF)
                .expect("PKCS#8")
                .to_string(),
            public: RsaPublicKey::from(&private),
        }
    })
}

pub fn credentials() -> AppCredentials {
    let pem = Secret::new(test_key().pkcs1_pem.clone());
    let key = PrivateKey::from_pem(&pem, KeyOrigin::Text).expect("the test key parses");
    AppCredentials::new(APP_ID, key).expect("a numeric app id")
}

pub fn repo(text: &str) -> Repo {
    Repo::parse(text).expect("a valid repository")
}

pub fn target(github: &FakeGitHub, repository: &str, installation_id: Option<u64>) -> AppTarget {
    AppTarget {
        repository: repo(repository),
        api_url: github.base_url(),
        api_version: "2022-11-28".to_owned(),
        timeout: Duration::from_secs(10),
        app: credentials(),
        installation_id,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client")
}

/// Every token the mask heard, in order.
#[derive(Clone, Default)]
pub struct Masked(Arc<Mutex<Vec<String>>>);

impl Masked {
    pub fn mask(&self) -> Mask {
        let heard = self.clone();
        Mask::new(move |token| heard.0.lock().unwrap().push(token.to_owned()))
    }

    pub fn tokens(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

pub fn app_tokens(targets: Vec<AppTarget>, masked: &Masked) -> AppTokens {
    AppTokens::new(client(), targets)
        .expect("consistent targets")
        .with_mask(masked.mask())
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(epoch_secs: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(epoch_secs)))
    }
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Clock::new(move || me.now())
    }
}

/// `2016-07-11T22:14:10Z` for a time.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// GitHub's 201 answer to a token request.
pub fn minted(token: &str, expires_at: SystemTime) -> Reply {
    Reply::status(201).json(json!({
        "token": token,
        "expires_at": rfc3339(expires_at),
        "permissions": {"contents": "write", "metadata": "read"},
        "repository_selection": "selected",
    }))
}

pub fn bearer(request: &Recorded) -> String {
    request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .expect("Authorization: Bearer")
        .to_owned()
}

pub fn in_an_hour() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

#[test]
pub fn rfc3339_helper_writes_githubs_format() {
    assert_eq!(
        rfc3339(UNIX_EPOCH + Duration::from_secs(1_468_275_250)),
        "2016-07-11T22:14:10Z"
    );
}
pub struct SharedWriter(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
