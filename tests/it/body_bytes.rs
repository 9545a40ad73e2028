//! Bodies kept as the bytes sent: what a report shows and what a tracked target sends (its
//! body re-encoded with the run's id) are the value the file wrote, digit for digit.

use crate::support::cli::Cli;

/// A float that Rust reads exactly but a JSON parser made for speed reads one unit off in its
/// last place (serde_json without `float_roundtrip`).
const FLOAT: &str = "1.0715660391465826e-75";

#[test]
fn every_report_shows_a_float_as_written_for_a_tracked_target_and_a_webhook() {
    let yaml = format!(
        r#"version: 1
sources:
  app: {{repository: o/app, targets: [web, hook]}}
targets:
  web:
    repository: o/web
    token_env: T
    event_type: e
    track: true
    client_payload: {{f: {FLOAT}, big: 123456789012345678901234567890, nz: -0.0, huge: 1e300}}
  hook:
    kind: webhook
    url: https://example.com/hook
    body: {{f: {FLOAT}}}
"#
    );
    for output in ["json", "text", "markdown"] {
        let ran = Cli::with_config(&yaml)
            .release("app", "1.0.0")
            .args(["--dry-run", "--output", output])
            .output();
        assert_eq!(ran.code, 0, "{}", ran.all());
        assert_eq!(
            ran.stdout.matches(FLOAT).count(),
            2,
            "{output}: both bodies show {FLOAT}:\n{}",
            ran.stdout
        );
        for other in ["1.2345678901234568e+29", "-0.0", "1e+300"] {
            assert!(
                ran.stdout.contains(other),
                "{output}: {other}\n{}",
                ran.stdout
            );
        }
    }
}

/// Targets whose payloads hold the same keys and values in another order (or `-0.0` beside
/// `0.0`) are different requests: each sends its own payload as written, never the one of
/// the target before it.
#[test]
fn a_payload_alike_but_for_key_order_or_the_sign_of_zero_is_sent_as_its_own_target_wrote_it() {
    let yaml = r#"version: 1
sources:
  app: {repository: o/app, targets: [p, q, r, s, w, x]}
targets:
  p: {repository: o/p, event_type: e, token_env: T, client_payload: {x: "{{version}}", y: "1", n: {a: 1, b: 2}}}
  q: {repository: o/q, event_type: e, token_env: T, client_payload: {y: "1", x: "{{version}}", n: {a: 1, b: 2}}}
  r: {repository: o/r, event_type: e, token_env: T, client_payload: {y: "1", x: "{{version}}", n: {b: 2, a: 1}}}
  s: {repository: o/s, event_type: e, token_env: T, client_payload: {y: "1", x: "{{version}}", n: {b: 2, a: -0.0}}}
  w: {kind: workflow_dispatch, repository: o/w, workflow: w.yml, token_env: T, inputs: {x: "{{version}}", y: "1"}}
  x: {kind: workflow_dispatch, repository: o/x, workflow: w.yml, token_env: T, inputs: {y: "1", x: "{{version}}"}}
"#;
    let ran = Cli::with_config(yaml)
        .release("app", "1.0.0")
        .args(["--dry-run", "--output", "json"])
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let payload = |name: &str| {
        let body = &ran.target(name)["body"];
        let part = if name < "w" {
            "client_payload"
        } else {
            "inputs"
        };
        serde_json::to_string(&body[part]).unwrap()
    };
    assert_eq!(payload("p"), r#"{"x":"1.0.0","y":"1","n":{"a":1,"b":2}}"#);
    assert_eq!(payload("q"), r#"{"y":"1","x":"1.0.0","n":{"a":1,"b":2}}"#);
    assert_eq!(payload("r"), r#"{"y":"1","x":"1.0.0","n":{"b":2,"a":1}}"#);
    assert_eq!(
        payload("s"),
        r#"{"y":"1","x":"1.0.0","n":{"b":2,"a":-0.0}}"#
    );
    assert_eq!(payload("w"), r#"{"x":"1.0.0","y":"1"}"#);
    assert_eq!(payload("x"), r#"{"y":"1","x":"1.0.0"}"#);
}
