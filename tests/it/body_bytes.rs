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
