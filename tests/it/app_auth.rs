//! GitHub App authentication (`orchestrator::auth`) against the loopback stand-in for GitHub:
//! the JWT, the installation lookup, token minting, caching and refresh, errors and masking.

pub mod fixture;
mod keys;

use crate::support::{openapi, FakeGitHub, Reply, Script};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fixture::*;
use orchestrator::auth::{AppTokens, AuthError, Claims, KeyOrigin, PrivateKey};
use orchestrator::github::classify::Retry;
use orchestrator::secret::Secret;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::test]
async fn the_jwt_verifies_with_the_apps_public_key_and_has_githubs_claims() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        minted(TOKEN, in_an_hour()),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    tokens.token_for(&repo("acme/web")).await.expect("a token");
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let requests = github.requests();
    assert_eq!(requests.len(), 1);
    let jwt = bearer(&requests[0]);
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).expect("base64url, no padding");

    let signature = Signature::try_from(decode(parts[2]).as_slice()).expect("a signature");
    VerifyingKey::<Sha256>::new(test_key().public.clone())
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the signature verifies with the App's public key");

    let header: Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    let claims: Claims = serde_json::from_slice(&decode(parts[1])).unwrap();
    assert_eq!(claims.iss, APP_ID);
    assert!(
        (before - 60..=after - 60).contains(&claims.iat),
        "iat {} is not now - 60 ({before}..{after})",
        claims.iat
    );
    assert!(
        claims.exp <= before + 600,
        "exp is at most 10 minutes ahead"
    );
    assert!(
        claims.exp >= after + 480,
        "exp leaves room for slow requests"
    );
}

#[test]
fn jwt_claims_follow_an_injected_clock() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let jwt = credentials().jwt(now).unwrap();
    let payload = jwt.expose().split('.').nth(1).unwrap();
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        claims,
        Claims {
            iat: 1_699_999_940,
            exp: 1_700_000_540,
            iss: APP_ID.to_owned()
        }
    );
}

#[tokio::test]
async fn the_token_request_matches_githubs_schema_and_names_only_the_installations_repositories() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        minted(TOKEN, in_an_hour()),
    );
    github.on(
        "POST",
        "/app/installations/8/access_tokens",
        minted("ghs_other0000000000000000000000000000", in_an_hour()),
    );
    let tokens = app_tokens(
        vec![
            target(&github, "acme/web", Some(7)),
            target(&github, "acme/docs", Some(7)),
            target(&github, "acme/web", Some(7)),
            target(&github, "acme/elsewhere", Some(8)),
        ],
        &Masked::default(),
    );

    let web = tokens.token_for(&repo("acme/web")).await.unwrap();
    let docs = tokens.token_for(&repo("acme/docs")).await.unwrap();
    let elsewhere = tokens.token_for(&repo("acme/elsewhere")).await.unwrap();

    assert_eq!(web.expose(), TOKEN);
    assert_eq!(
        docs, web,
        "one token serves the installation's repositories"
    );
    assert_ne!(elsewhere, web);
    let first = github.requests_to("/app/installations/7/access_tokens");
    assert_eq!(first.len(), 1);
    openapi::assert_request_matches(TOKEN_OP, &first[0]);
    assert_eq!(
        first[0].body_json(),
        json!({"repositories": ["docs", "web"]})
    );
    let second = github.requests_to("/app/installations/8/access_tokens");
    assert_eq!(second.len(), 1);
    openapi::assert_request_matches(TOKEN_OP, &second[0]);
    assert_eq!(
        second[0].body_json(),
        json!({"repositories": ["elsewhere"]})
    );
    assert_eq!(github.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_callers_share_one_token_request() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        minted(TOKEN, in_an_hour()).delay(Duration::from_millis(300)),
    );
    let names = ["acme/a", "acme/b", "acme/c", "acme/d"];
    let masked = Masked::default();
    let tokens = Arc::new(app_tokens(
        names.iter().map(|n| target(&github, n, Some(7))).collect(),
        &masked,
    ));
    let callers: Vec<_> = (0..20)
        .map(|i| {
            let tokens = Arc::clone(&tokens);
            let masked = masked.clone();
            let repo = repo(names[i % names.len()]);
            tokio::spawn(async move {
                let token = tokens.token_for(&repo).await;
                // Masked before any caller could use it.
                let token = token.expect("a token");
                assert_eq!(masked.tokens(), vec![token.expose().to_owned()]);
                token
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().expose(), TOKEN);
    }
    assert_eq!(github.requests().len(), 1, "one token request for all 20");
    assert_eq!(
        github.requests()[0].body_json(),
        json!({"repositories": ["a", "b", "c", "d"]})
    );
}

#[tokio::test]
async fn the_installation_is_looked_up_once_per_repository_when_not_configured() {
    let github = FakeGitHub::start();
    github.on(
        "GET",
        "/repos/acme/web/installation",
        Reply::status(200).json(json!({"id": 99, "app_id": 12345, "account": {"login": "acme"}})),
    );
    github.on(
        "GET",
        "/repos/acme/docs/installation",
        Reply::status(200).json(json!({"id": 99})),
    );
    github.on(
        "GET",
        "/repos/acme/private/installation",
        Reply::not_found(),
    );
    github.on(
        "POST",
        "/app/installations/99/access_tokens",
        minted(TOKEN, in_an_hour()),
    );
    let tokens = app_tokens(
        vec![
            target(&github, "acme/web", None),
            target(&github, "acme/docs", None),
            target(&github, "acme/private", None),
        ],
        &Masked::default(),
    );

    let (web, docs) = (repo("acme/web"), repo("acme/docs"));
    let (web, docs) = futures::join!(tokens.token_for(&web), tokens.token_for(&docs));
    assert_eq!(web.unwrap().expose(), TOKEN);
    assert_eq!(docs.unwrap().expose(), TOKEN);
    let private = tokens.token_for(&repo("acme/private")).await.unwrap_err();

    for path in [
        "/repos/acme/web/installation",
        "/repos/acme/docs/installation",
    ] {
        let lookups = github.requests_to(path);
        assert_eq!(lookups.len(), 1, "{path}");
        assert_eq!(lookups[0].method, "GET");
        openapi::assert_github_headers(&lookups[0]);
        let jwt = bearer(&lookups[0]);
        assert_eq!(jwt.split('.').count(), 3, "the lookup is made with the JWT");
    }
    let minted = github.requests_to("/app/installations/99/access_tokens");
    assert_eq!(minted.len(), 1);
    openapi::assert_request_matches(TOKEN_OP, &minted[0]);
    assert_eq!(
        minted[0].body_json(),
        json!({"repositories": ["docs", "web"]}),
        "a repository the App is not installed on is left out"
    );
    assert_eq!(private.http_status(), Some(404));
    let hint = private.hint().unwrap_or_default();
    assert!(
        hint.contains("the App is not installed on acme/private"),
        "{hint}"
    );
    assert_eq!(
        github.requests_to("/repos/acme/private/installation").len(),
        1,
        "a 404 is remembered, not asked again"
    );
}

#[tokio::test]
async fn a_token_with_a_minute_left_is_minted_again_on_the_next_call() {
    let github = FakeGitHub::start();
    let clock = ManualClock::at(1_900_000_000);
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Script::new([
            minted(
                "ghs_first00000000000000000000000000000",
                clock.now() + Duration::from_secs(60),
            ),
            minted(
                "ghs_second0000000000000000000000000000",
                clock.now() + Duration::from_secs(3600),
            ),
        ]),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    )
    .with_clock(clock.clock());
    let web = repo("acme/web");

    let first = tokens.token_for(&web).await.unwrap();
    let second = tokens.token_for(&web).await.unwrap();
    let third = tokens.token_for(&web).await.unwrap();

    assert_eq!(first.expose(), "ghs_first00000000000000000000000000000");
    assert_eq!(second.expose(), "ghs_second0000000000000000000000000000");
    assert_eq!(third, second, "an hour-long token is reused");
    assert_eq!(github.requests().len(), 2);

    clock.advance(Duration::from_secs(54 * 60));
    tokens.token_for(&web).await.unwrap();
    assert_eq!(github.requests().len(), 2, "six minutes left: still reused");
    clock.advance(Duration::from_secs(2 * 60));
    tokens.token_for(&web).await.unwrap();
    assert_eq!(github.requests().len(), 3, "four minutes left: refreshed");
}

#[tokio::test]
async fn callers_waiting_on_a_mint_take_its_token_even_with_a_minute_left() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        minted(TOKEN, SystemTime::now() + Duration::from_secs(60))
            .delay(Duration::from_millis(200)),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    let web = repo("acme/web");
    let all = futures::future::join_all((0..10).map(|_| tokens.token_for(&web))).await;
    assert!(all
        .iter()
        .all(|t| t.as_ref().map(Secret::expose) == Ok(TOKEN)));
    assert_eq!(
        github.requests().len(),
        1,
        "no stampede on a short-lived token"
    );
    tokens.token_for(&web).await.unwrap();
    assert_eq!(github.requests().len(), 2, "a later caller refreshes it");
}

#[tokio::test]
async fn an_expired_token_is_minted_again() {
    let github = FakeGitHub::start();
    let past = SystemTime::now() - Duration::from_secs(60);
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Script::new([minted(TOKEN, past), minted(TOKEN, in_an_hour())]),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    tokens.token_for(&repo("acme/web")).await.unwrap();
    tokens.token_for(&repo("acme/web")).await.unwrap();
    tokens.token_for(&repo("acme/web")).await.unwrap();
    assert_eq!(github.requests().len(), 2);
}

#[tokio::test]
async fn bad_credentials_blame_the_key_or_app_id_and_are_not_retried() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Reply::status(401).json(json!({
            "message": "A JSON web token could not be decoded",
            "documentation_url": "https://docs.github.com/rest",
        })),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    let error = tokens.token_for(&repo("acme/web")).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GitHub App `12345` could not get an installation token for acme/web: 401 Unauthorized: A JSON web token could not be decoded"
    );
    let hint = error.hint().unwrap_or_default();
    assert!(
        hint.contains("the App's private key or app id (`12345`) is wrong"),
        "{hint}"
    );
    assert_eq!(error.retry(), Retry::Never);
    let failure = error.to_failure();
    assert_eq!(
        (failure.http_status, failure.retry),
        (Some(401), Retry::Never)
    );

    let again = tokens.token_for(&repo("acme/web")).await.unwrap_err();
    assert_eq!(again, error);
    assert_eq!(
        github.requests().len(),
        1,
        "a permanent failure is not asked again"
    );
}

#[tokio::test]
async fn a_server_error_is_transient_and_the_next_call_asks_again() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Script::new([Reply::server_error(502), minted(TOKEN, in_an_hour())]),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    let error = tokens.token_for(&repo("acme/web")).await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_eq!(
        tokens.token_for(&repo("acme/web")).await.unwrap().expose(),
        TOKEN
    );
}

#[tokio::test]
async fn an_installation_id_that_does_not_exist_says_so() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Reply::not_found(),
    );
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    let error = tokens.token_for(&repo("acme/web")).await.unwrap_err();
    let hint = error.hint().unwrap_or_default();
    assert!(hint.contains("installation 7 does not exist"), "{hint}");
    assert!(hint.contains("installation_id"), "{hint}");
}

#[tokio::test]
async fn a_minted_word_is_refused_and_never_masks_that_word_in_any_output() {
    // The token server chooses the value: `delivered` registered as a secret would turn the
    // step output `delivered=1` into `***=1` and every report's outcome into `***`.
    for word in ["delivered", "true", "ghs_short"] {
        let github = FakeGitHub::start();
        github.on(
            "POST",
            "/app/installations/7/access_tokens",
            minted(word, in_an_hour()),
        );
        let tokens = app_tokens(
            vec![target(&github, "acme/web", Some(7))],
            &Masked::default(),
        );
        let error = tokens.token_for(&repo("acme/web")).await.unwrap_err();
        assert!(
            error.to_string().contains("not an installation token"),
            "{error}"
        );
        let line = format!("outcome {word} for target web");
        assert_eq!(orchestrator::secret::redact(&line), line);
    }
}

#[tokio::test]
async fn no_type_and_no_error_shows_the_token_the_jwt_or_the_key() {
    let github = FakeGitHub::start();
    let clock = ManualClock::at(1_900_000_000);
    // RS256 (PKCS#1 v1.5) is deterministic, so with a fixed clock the test knows the JWT the
    // client will send, and can have the server echo it.
    let jwt = credentials().jwt(clock.now()).unwrap();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        Script::new([
            minted(TOKEN, clock.now() + Duration::from_secs(60)),
            Reply::status(422).json(json!({
                "message": format!("Invalid request: Authorization: Bearer {}", jwt.expose()),
            })),
        ]),
    );
    let masked = Masked::default();
    let tokens =
        app_tokens(vec![target(&github, "acme/web", Some(7))], &masked).with_clock(clock.clock());
    let token = tokens.token_for(&repo("acme/web")).await.unwrap();
    let error = tokens.token_for(&repo("acme/web")).await.unwrap_err();
    assert_eq!(github.requests().len(), 2);
    assert_eq!(bearer(&github.requests()[1]), jwt.expose());

    let key =
        PrivateKey::from_pem(&Secret::new(test_key().pkcs1_pem.clone()), KeyOrigin::Text).unwrap();
    let shown = [
        format!("{token:?} {token}"),
        format!("{jwt:?} {jwt}"),
        format!("{tokens:?}"),
        format!("{:?}", credentials()),
        format!("{key:?}"),
        format!("{:?}", target(&github, "acme/web", Some(7))),
        format!("{error} {error:?} {:?}", error.hint()),
        format!("{:?}", error.to_failure()),
    ]
    .join("\n");
    let key_body = test_key().pkcs1_pem.lines().nth(1).unwrap();
    for secret in [TOKEN, jwt.expose(), key_body] {
        assert!(!shown.contains(secret), "leaked {secret:.12}… in:\n{shown}");
    }
    assert!(
        shown.contains("Bearer ***"),
        "the echo is redacted: {shown}"
    );
    assert_eq!(masked.tokens(), vec![TOKEN.to_owned()]);
}

#[tokio::test]
async fn under_github_actions_each_token_is_masked_before_it_is_returned() {
    let github = FakeGitHub::start();
    github.on(
        "POST",
        "/app/installations/7/access_tokens",
        minted(TOKEN, in_an_hour()),
    );
    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let out = Arc::clone(&log);
    let mask = orchestrator::actions::mask_to(move || SharedWriter(Arc::clone(&out)));
    let tokens = AppTokens::new(client(), vec![target(&github, "acme/web", Some(7))])
        .unwrap()
        .with_mask(mask);

    let before = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert_eq!(before, "", "nothing is masked before a token exists");
    let token = tokens.token_for(&repo("acme/web")).await.unwrap();
    let after = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert_eq!(after, format!("::add-mask::{}\n", token.expose()));
    tokens.token_for(&repo("acme/web")).await.unwrap();
    assert_eq!(
        String::from_utf8(log.lock().unwrap().clone()).unwrap(),
        after,
        "a cached token is not masked again"
    );
}
#[tokio::test]
async fn a_repository_that_was_not_registered_is_an_error() {
    let github = FakeGitHub::start();
    let tokens = app_tokens(
        vec![target(&github, "acme/web", Some(7))],
        &Masked::default(),
    );
    let error = tokens.token_for(&repo("acme/other")).await.unwrap_err();
    assert!(matches!(error, AuthError::NotRegistered { .. }), "{error}");
    assert!(github.requests().is_empty());
}

#[test]
fn one_repository_with_two_app_settings_is_refused() {
    let github = FakeGitHub::start();
    let error = AppTokens::new(
        client(),
        vec![
            target(&github, "acme/web", Some(7)),
            target(&github, "acme/web", Some(8)),
        ],
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "acme/web is registered twice for GitHub App authentication, with different settings"
    );
}
