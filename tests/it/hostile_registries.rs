//! What a registry cannot do to a run that waits for it (`await:`): the answers of npm, OCI
//! registries and their token servers, and Helm repositories are hostile like GitHub's. A token
//! server cannot choose a word that every output then hides, and many artifacts looked up at
//! once hold a bounded number of answers, whatever each one weighs.

use crate::support::cli::{many_targets, Cli};
use crate::support::{FakeGitHub, Reply};
use serde_json::json;

/// One target waiting for `image` (on `registry`), failing after 300 ms.
fn waiting_for_image(registry: &FakeGitHub) -> String {
    many_targets(1).replacen(
        "    token_env: APP_TOKEN\n",
        &format!(
            "    token_env: APP_TOKEN\n    await:\n      - oci: \"{}/vfarcic/dot-ai:{{{{version}}}}\"\n",
            registry.addr()
        ),
        1,
    )
}

#[test]
fn a_token_server_cannot_choose_a_word_that_the_report_then_hides() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    let realm = FakeGitHub::other_host();
    registry.on(
        "HEAD",
        "/v2/vfarcic/dot-ai/manifests/1.2.3",
        [
            Reply::status(401).header(
                "www-authenticate",
                format!(r#"Bearer realm="{}/token",scope="pull""#, realm.base_url()),
            ),
            Reply::not_found(),
        ],
    );
    // An "anonymous token" that is the image's own name.
    realm.on(
        "GET",
        "/token",
        Reply::status(200).json(json!({"token": "vfarcic/dot-ai"})),
    );

    let ran = Cli::with_config(&waiting_for_image(&registry))
        .release("app", "1.2.3")
        .args(["--await-timeout", "300ms", "--await-interval", "20ms"])
        .against(&github)
        .json()
        .app_token()
        .output();

    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(
        ran.target("t00")["reason"],
        format!(
            "not published within 300 ms: oci {}/vfarcic/dot-ai:1.2.3 (last: 404 Not Found)",
            registry.addr()
        )
    );
    assert_eq!(realm.requests().len(), 1);
}

#[test]
fn many_charts_looked_up_at_once_hold_at_most_four_indexes_at_a_time() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    // Each index a repository answers may weigh 16 MiB: eight targets waiting for eight charts
    // of one repository must not hold eight of them.
    let mut index = String::from("apiVersion: v1\nentries:\n");
    for i in 0..8 {
        index.push_str(&format!("  t{i:02}:\n    - version: \"1.2.3\"\n"));
    }
    registry.on(
        "GET",
        "/charts/index.yaml",
        Reply::status(200)
            .body(index)
            .delay(std::time::Duration::from_millis(100)),
    );
    let yaml = many_targets(8).replace(
        "    token_env: APP_TOKEN\n",
        &format!(
            "    token_env: APP_TOKEN\n    await:\n      - helm: {{repo: \"{}/charts\", chart: \"{{{{target.name}}}}\", version: \"{{{{version}}}}\"}}\n",
            registry.base_url()
        ),
    );

    let ran = Cli::with_config(&yaml)
        .release("app", "1.2.3")
        .args(["--await-interval", "20ms"])
        .against(&github)
        .json()
        .app_token()
        .output();

    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.json()["summary"]["delivered"], 8, "{}", ran.all());
    assert_eq!(registry.requests_to("/charts/index.yaml").len(), 8);
    assert!(
        registry.max_in_flight() <= 4,
        "{} indexes read at once",
        registry.max_in_flight()
    );
}

// ---------------------------------------------------------------------------------------------
// On the paused clock

use crate::support::recorder::{jobs, Quiet, Recorder};
use orchestrator::config::gates::GateKind;
use orchestrator::dispatch::gate::GateAnswer;
use orchestrator::dispatch::{dispatch_all, Attempt, Delivery, Sender, Status};
use orchestrator::plan::{Artifact, Gate, Gates, Job};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A registry whose every look takes two hours to answer (a look held up behind others, or
/// a server that trickles).
struct Stalling(Recorder);

impl Sender for Stalling {
    fn send(&self, job: &Job) -> impl Future<Output = Attempt> + Send {
        self.0.send(job)
    }

    async fn probe_gate(&self, _gate: &Gate) -> GateAnswer {
        tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
        GateAnswer::NotYet("404 Not Found".to_owned())
    }
}

#[tokio::test(start_paused = true)]
async fn a_look_that_never_ends_cannot_hold_its_target_past_the_await_timeout() {
    let registry = Stalling(Recorder::new());
    let mut jobs = jobs(1);
    jobs[0].gates = Some(Box::new(Gates {
        checks: vec![Gate {
            kind: GateKind::Npm,
            artifact: Artifact::Package {
                name: "@vfarcic/dot-ai".to_owned(),
                version: "1.2.3".to_owned(),
            },
            base: url::Url::parse("https://registry.npmjs.org").unwrap(),
            token: None,
        }],
        timeout: Duration::from_secs(1800),
        interval: Duration::from_secs(10),
    }));

    let outcomes = dispatch_all(
        &registry,
        &jobs,
        Delivery::new(1, None),
        &Quiet,
        &CancellationToken::new(),
    )
    .await;

    assert!(
        matches!(&outcomes[0].status, Status::Failed { reason, .. }
            if reason == "not published within 30 min: npm @vfarcic/dot-ai@1.2.3 (last: the registry did not answer in time)"),
        "{:?}",
        outcomes[0].status
    );
    assert_eq!(
        registry.0.elapsed(),
        Duration::from_secs(1800),
        "it gave up at the timeout, not when the look ended"
    );
}

#[test]
fn check_gives_a_registry_that_never_answers_no_more_than_the_targets_time() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    registry.on(
        "GET",
        "/pkg/1.2.3",
        Reply::hang(std::time::Duration::from_secs(20)),
    );
    let yaml = many_targets(1).replacen(
        "    token_env: APP_TOKEN\n",
        &format!(
            "    token_env: APP_TOKEN\n    deadline_secs: 2\n    await:\n      - url: \"{}/pkg/{{{{version}}}}\"\n",
            registry.base_url()
        ),
        1,
    );
    let dir = crate::support::cli::config_dir(&yaml);
    let started = std::time::Instant::now();

    let output = crate::support::cli::orchestrator(dir.path())
        .args(["check", "--output", "json", "--api-url", &github.base_url()])
        .env("APP_TOKEN", crate::support::cli::WEBSITE_TOKEN)
        .output()
        .unwrap();

    let took = started.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let target = &report["targets"][0];
    assert!(
        target.to_string().contains(&format!(
            "url {}/pkg/1.2.3 cannot be looked up: `no answer within 2 s`",
            registry.base_url()
        )),
        "{target}"
    );
    assert_eq!(target["verdict"], "not_ready");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}
