//! Proves the test support does what the other integration tests rely on.

use crate::support::openapi;
use crate::support::{FakeGitHub, Reply, Script};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const DISPATCH: &str = "/repos/acme/widget/dispatches";
const TOKEN: &str = "ghp_test0123456789";

/// A client that talks to the fake exactly, whatever proxy the environment sets.
fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("reqwest client")
}

/// A dispatch as GitHub wants it: every required header and a valid body.
fn dispatch(client: &reqwest::Client, fake: &FakeGitHub, token: &str) -> reqwest::RequestBuilder {
    client
        .post(format!("{}{DISPATCH}", fake.base_url()))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "orchestrator-selftest")
        .bearer_auth(token)
        .json(&json!({"event_type": "release", "client_payload": {"version": "1.2.3"}}))
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    let value = response.headers().get(name);
    value.and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn scripted_replies_are_served_in_order_then_the_last_repeats() {
    let fake = FakeGitHub::start();
    let script =
        Script::new([Reply::server_error(503), Reply::server_error(503)]).then(Reply::no_content());
    fake.on("post", DISPATCH, script);
    let client = client(Duration::from_secs(5));

    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = dispatch(&client, &fake, TOKEN).send().await.expect("send");
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses, [503, 503, 204, 204]);
    assert_eq!(fake.requests_to(DISPATCH).len(), 4);
}

#[tokio::test]
async fn max_in_flight_sees_five_concurrent_held_requests() {
    let fake = FakeGitHub::start();
    fake.hold_answers_until_in_flight(5);
    let client = client(Duration::from_secs(5));

    let sends = (0..5).map(|_| dispatch(&client, &fake, TOKEN).send());
    let responses = futures::future::join_all(sends).await;

    assert!(responses
        .iter()
        .all(|r| r.as_ref().is_ok_and(|r| r.status() == 204)));
    assert_eq!(fake.max_in_flight(), 5, "all five held at once");
}

#[tokio::test]
async fn answers_held_after_the_first_two_go_only_when_released() {
    let fake = FakeGitHub::start();
    fake.hold_answers_after(2);
    let client = client(Duration::from_secs(30));
    for _ in 0..2 {
        let response = dispatch(&client, &fake, TOKEN).send().await.expect("send");
        assert_eq!(response.status(), 204);
    }
    let held = tokio::spawn(dispatch(&client, &fake, TOKEN).send());
    let fake = tokio::task::spawn_blocking(move || {
        fake.wait_for_requests(3);
        fake
    })
    .await
    .unwrap();
    assert!(!held.is_finished(), "the third answer is held");
    fake.release_answers();
    assert_eq!(held.await.unwrap().expect("answered").status(), 204);
    assert_eq!(fake.max_in_flight(), 1);
}

#[test]
fn reset_makes_the_client_see_a_connection_reset() {
    let fake = FakeGitHub::start();
    fake.on("GET", "/rate_limit", Reply::reset());

    let mut stream = connect(fake.addr());
    stream
        .write_all(b"GET /rate_limit HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("write");
    let error = stream
        .read(&mut [0u8; 64])
        .expect_err("a reset, not data or EOF");

    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    assert_eq!(fake.requests_to("/rate_limit").len(), 1);
}

#[tokio::test]
async fn reset_is_a_request_error_for_an_http_client() {
    let fake = FakeGitHub::start();
    fake.on("POST", DISPATCH, Reply::reset());
    let client = client(Duration::from_secs(5));

    let error = dispatch(&client, &fake, TOKEN)
        .send()
        .await
        .expect_err("reset");

    assert!(error.is_request() && !error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn hang_longer_than_the_client_timeout_times_the_client_out() {
    let fake = FakeGitHub::start();
    // Ten minutes: only the client's timeout can end the wait.
    fake.on("POST", DISPATCH, Reply::hang(Duration::from_secs(600)));
    let client = client(Duration::from_millis(200));

    let error = dispatch(&client, &fake, TOKEN)
        .send()
        .await
        .expect_err("timeout");

    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn default_dispatch_answers_204_with_github_rate_limit_headers() {
    let fake = FakeGitHub::start();
    let client = client(Duration::from_secs(5));

    let first = dispatch(&client, &fake, TOKEN).send().await.expect("send");
    let second = dispatch(&client, &fake, TOKEN).send().await.expect("send");

    assert_eq!(first.status(), 204);
    assert_eq!(header(&first, "server"), "GitHub.com");
    assert!(!header(&first, "x-github-request-id").is_empty());
    assert!(header(&first, "date").ends_with(" GMT"));
    assert_eq!(header(&first, "x-ratelimit-limit"), "5000");
    assert_eq!(header(&first, "x-ratelimit-remaining"), "4999");
    assert_eq!(header(&second, "x-ratelimit-remaining"), "4998");
    assert_eq!(header(&second, "x-ratelimit-used"), "2");
    assert_eq!(header(&first, "x-ratelimit-resource"), "core");
    assert!(header(&first, "x-ratelimit-reset").parse::<u64>().is_ok());
    let recorded = fake.requests();
    assert_eq!(
        recorded[0].connection_id, recorded[1].connection_id,
        "kept alive"
    );
    openapi::assert_request_matches("repos/create-dispatch-event", &recorded[0]);
    assert_eq!(
        recorded[0].body_json()["client_payload"]["version"],
        "1.2.3"
    );
}

#[tokio::test]
async fn a_reply_header_replaces_the_default_of_the_same_name() {
    let fake = FakeGitHub::start();
    fake.on("POST", DISPATCH, Reply::primary_rate_limited(1_700_000_000));
    let client = client(Duration::from_secs(5));

    let response = dispatch(&client, &fake, TOKEN).send().await.expect("send");

    assert_eq!(response.status(), 403);
    assert_eq!(
        response
            .headers()
            .get_all("x-ratelimit-remaining")
            .iter()
            .count(),
        1
    );
    assert_eq!(header(&response, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&response, "x-ratelimit-reset"), "1700000000");
}

#[tokio::test]
async fn an_unknown_route_answers_github_not_found_json() {
    let fake = FakeGitHub::start();
    let client = client(Duration::from_secs(5));

    let url = format!("{}/repos/acme/widget/nope?page=2", fake.base_url());
    let response = client.get(url).send().await.expect("send");

    assert_eq!(response.status(), 404);
    assert_eq!(
        header(&response, "content-type"),
        "application/json; charset=utf-8"
    );
    let body: Value = response.json().await.expect("json body");
    assert_eq!(
        body,
        json!({
            "message": "Not Found",
            "documentation_url": crate::support::DISPATCH_DOCS_URL,
            "status": "404",
        })
    );
    assert_eq!(fake.requests()[0].path, "/repos/acme/widget/nope?page=2");
}

#[tokio::test]
async fn require_token_answers_bad_credentials_to_any_other_token() {
    let fake = FakeGitHub::start();
    fake.require_token(TOKEN);
    let client = client(Duration::from_secs(5));

    let wrong = dispatch(&client, &fake, "ghp_wrong")
        .send()
        .await
        .expect("send");
    let right = dispatch(&client, &fake, TOKEN).send().await.expect("send");

    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.expect("json")["message"],
        "Bad credentials"
    );
    assert_eq!(right.status(), 204);
}

#[tokio::test]
async fn limit_per_window_turns_the_excess_away_with_retry_after() {
    let fake = FakeGitHub::start();
    // A window far longer than three requests can take, however loaded the machine.
    fake.limit_per_window(2, Duration::from_secs(600));
    let client = client(Duration::from_secs(5));

    let mut replies = Vec::new();
    for _ in 0..3 {
        let response = dispatch(&client, &fake, TOKEN).send().await.expect("send");
        replies.push((
            response.status().as_u16(),
            header(&response, "retry-after").to_owned(),
        ));
    }

    assert_eq!(replies[..2], [(204, String::new()), (204, String::new())]);
    assert_eq!(replies[2].0, 403);
    let retry_after: u64 = replies[2].1.parse().expect("retry-after in seconds");
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_eq!(fake.rate_limited_replies(), 1);
}

#[test]
fn a_connection_serves_requests_until_told_to_close_and_bad_clients_are_dropped() {
    let fake = FakeGitHub::start();

    // A client that leaves mid-body, and one that sends garbage: both just lose the connection.
    let mut quitter = connect(fake.addr());
    let partial = "POST /repos/a/b/dispatches HTTP/1.1\r\ncontent-length: 50\r\n\r\n{\"ev";
    quitter.write_all(partial.as_bytes()).expect("write");
    drop(quitter);
    let mut garbage = connect(fake.addr());
    garbage
        .write_all(b"\x00\x01 not http\r\n\r\n")
        .expect("write");
    assert_eq!(garbage.read(&mut [0u8; 64]).expect("clean close"), 0);

    let stream = connect(fake.addr());
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let body = r#"{"event_type":"x"}"#;
    let post = format!(
        "POST {DISPATCH} HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    writer.write_all(post.as_bytes()).expect("write");
    assert_eq!(read_response(&mut reader).0, "HTTP/1.1 204 No Content");
    writer
        .write_all(b"GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    let (status, headers, body) = read_response(&mut reader);

    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(
        headers.contains(&"connection: close".to_owned()),
        "{headers:?}"
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json")["status"],
        "404"
    );
    assert_eq!(reader.read(&mut [0u8; 8]).expect("EOF after close"), 0);
    let recorded = fake.requests();
    assert_eq!(
        recorded.len(),
        2,
        "the two incomplete requests are not recorded"
    );
    assert_eq!(recorded[0].connection_id, recorded[1].connection_id);
    assert_eq!(recorded[0].body_json(), json!({"event_type": "x"}));
}

#[test]
fn the_documents_own_dispatch_example_is_a_valid_body() {
    for operation in [
        "repos/create-dispatch-event",
        "actions/create-workflow-dispatch",
    ] {
        openapi::assert_request_body_valid(operation, &openapi::example_request_body(operation));
    }
}

#[test]
fn bodies_github_would_reject_fail_the_dispatch_schema() {
    let eleven: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    let invalid = [
        json!({"event_type": "e".repeat(101)}),
        json!({"event_type": "release", "client_payload": eleven}),
        json!({"client_payload": {}}),
        json!({"event_type": ""}),
    ];
    for body in invalid {
        let errors = openapi::request_body_errors("repos/create-dispatch-event", &body);
        assert!(!errors.is_empty(), "accepted {body}");
    }
    let errors = openapi::request_body_errors("actions/create-workflow-dispatch", &json!({}));
    assert!(!errors.is_empty(), "workflow dispatch without ref accepted");
}

#[test]
fn refs_into_the_documents_components_are_followed() {
    let op = "apps/create-installation-access-token";
    openapi::assert_request_body_valid(op, &openapi::example_request_body(op));
    let bogus = json!({"permissions": {"contents": "admin"}});

    let errors = openapi::request_body_errors(op, &bogus);

    assert!(errors.iter().any(|e| e.contains("admin")), "{errors:?}");
}

#[test]
fn path_matches_follows_the_documents_path_template() {
    let op = "repos/create-dispatch-event";
    assert!(openapi::path_matches(
        op,
        "POST",
        "/repos/acme/widget/dispatches"
    ));
    assert!(!openapi::path_matches(
        op,
        "GET",
        "/repos/acme/widget/dispatches"
    ));
    assert!(!openapi::path_matches(op, "POST", "/repos/acme/dispatches"));
    assert!(!openapi::path_matches(
        op,
        "POST",
        "/repos/acme//dispatches"
    ));
    let workflow = "/repos/a/b/actions/workflows/ci.yml/dispatches";
    assert!(openapi::path_matches(
        "actions/create-workflow-dispatch",
        "post",
        workflow
    ));
}

#[test]
fn github_header_problems_names_each_missing_header() {
    let fake = FakeGitHub::start();
    let mut stream = connect(fake.addr());
    let request = "POST /x HTTP/1.1\r\naccept: */*\r\ncontent-length: 2\r\n\r\n{}";
    stream.write_all(request.as_bytes()).expect("write");
    let mut reader = BufReader::new(stream);
    read_response(&mut reader);

    let problems = openapi::github_header_problems(&fake.requests()[0]);

    for name in [
        "accept",
        "x-github-api-version",
        "user-agent",
        "authorization",
        "content-type",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(name)),
            "{name}: {problems:?}"
        );
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the fake");
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("read timeout");
    stream
}

/// Status line, lowercased header lines, and a `content-length` body.
fn read_response(reader: &mut BufReader<TcpStream>) -> (String, Vec<String>, Vec<u8>) {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("response head");
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let status = lines.remove(0);
    let headers: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    let length = headers
        .iter()
        .find_map(|h| h.strip_prefix("content-length: "))
        .map_or(0, |n| n.parse().expect("content-length"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("response body");
    (status, headers, body)
}
