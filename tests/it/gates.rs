//! Gates on published artifacts (issue 24, item 1): a target with `await:` is sent once every
//! artifact it names is published, without holding back the targets that wait for nothing;
//! one that is never published fails at its `await_timeout_secs` (exit 1), and
//! `--retry-failed` sends it once it is. The timing is asserted on tokio's paused clock; the
//! registries' HTTP (npm, PyPI, crates, OCI with its token dance, Helm, GitHub releases, any
//! URL) against loopback stand-ins that publish from their third answer.

use crate::support::cli::{config_dir, many_targets, Cli, WEBSITE_TOKEN};
use crate::support::recorder::{is_delivered, jobs, reason, Quiet, Recorder};
use crate::support::{FakeGitHub, Recorded, Reply};
use orchestrator::config::gates::GateKind;
use orchestrator::dispatch::gate::GateAnswer;
use orchestrator::dispatch::{dispatch_all, Attempt, Delivery, Observer, Outcome, Sender, Status};
use orchestrator::plan::{Artifact, Gate, Gates, Job};
use serde_json::json;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const S: fn(u64) -> Duration = Duration::from_secs;
const MIN: fn(u64) -> Duration = |m| Duration::from_secs(m * 60);

// ---------------------------------------------------------------------------------------------
// On the paused clock

/// The recorder, with registries that publish each artifact from its `n`th look (never for
/// `None`), recording when each look was made.
struct Registries {
    sender: Recorder,
    published_from: HashMap<String, Option<usize>>,
    looks: Mutex<Vec<(String, Duration)>>,
}

impl Registries {
    fn new(published_from: &[(&str, Option<usize>)]) -> Registries {
        Registries {
            sender: Recorder::new(),
            published_from: published_from
                .iter()
                .map(|(label, n)| ((*label).to_owned(), *n))
                .collect(),
            looks: Mutex::new(Vec::new()),
        }
    }

    fn looks_at(&self, label: &str) -> Vec<Duration> {
        let looks = self.looks.lock().unwrap();
        looks
            .iter()
            .filter(|(l, _)| l == label)
            .map(|(_, at)| *at)
            .collect()
    }
}

impl Sender for Registries {
    fn send(&self, job: &Job) -> impl Future<Output = Attempt> + Send {
        self.sender.send(job)
    }

    fn probe_gate(&self, gate: &Gate) -> impl Future<Output = GateAnswer> + Send {
        let label = gate.label();
        let mut looks = self.looks.lock().unwrap();
        looks.push((label.clone(), self.sender.elapsed()));
        let nth = looks.iter().filter(|(l, _)| *l == label).count();
        let answer = match self.published_from.get(&label).copied().flatten() {
            Some(from) if nth >= from => GateAnswer::Published,
            _ => GateAnswer::NotYet("404 Not Found".to_owned()),
        };
        std::future::ready(answer)
    }
}

fn npm(name: &str, version: &str) -> Gate {
    Gate {
        kind: GateKind::Npm,
        artifact: Artifact::Package {
            name: name.to_owned(),
            version: version.to_owned(),
        },
        base: url::Url::parse("https://registry.npmjs.org").unwrap(),
        token: None,
    }
}

/// `jobs` with `gates` on the first, waiting up to `timeout` with 10 s between the first looks.
fn gated(mut jobs: Vec<Job>, gates: Vec<Gate>, timeout: Duration) -> Vec<Job> {
    jobs[0].gates = Some(Box::new(Gates {
        checks: gates,
        timeout,
        interval: S(10),
    }));
    jobs
}

#[tokio::test(start_paused = true)]
async fn a_target_whose_artifact_is_published_is_sent_then_and_the_others_at_once() {
    fastrand::seed(24);
    let registries = Registries::new(&[
        ("npm @vfarcic/dot-ai@1.2.3", Some(3)),
        ("npm @vfarcic/dot-ai-cli@1.2.3", Some(1)),
    ]);
    let mut jobs = gated(jobs(3), vec![npm("@vfarcic/dot-ai", "1.2.3")], MIN(30));
    // t01 waits too, for a package that is out already.
    jobs[1].gates = Some(Box::new(Gates {
        checks: vec![npm("@vfarcic/dot-ai-cli", "1.2.3")],
        timeout: MIN(30),
        interval: S(10),
    }));

    let outcomes = dispatch_all(
        &registries,
        &jobs,
        Delivery::new(1, None),
        &Quiet,
        &CancellationToken::new(),
    )
    .await;

    assert!(outcomes.iter().all(is_delivered), "{outcomes:?}");
    // One slot (concurrency 1), and the waiting target does not hold it.
    assert_eq!(registries.sender.sends_to("t01"), [Duration::ZERO]);
    assert_eq!(registries.sender.sends_to("t02"), [Duration::ZERO]);
    let looks = registries.looks_at("npm @vfarcic/dot-ai@1.2.3");
    assert_eq!(looks.len(), 3);
    assert_eq!(registries.sender.sends_to("t00"), [looks[2]]);
    // 5 to 10 s apart at first (10 s, jittered down to half).
    for pair in looks.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= S(5) && gap <= S(10), "{looks:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_artifact_never_published_fails_its_target_at_the_await_timeout_naming_it() {
    let registries = Registries::new(&[
        ("npm @vfarcic/dot-ai@1.2.3", None),
        ("crate dot-ai@1.2.3", Some(1)),
    ]);
    let mut crate_gate = npm("dot-ai", "1.2.3");
    crate_gate.kind = GateKind::Crate;
    let jobs = gated(
        jobs(1),
        vec![npm("@vfarcic/dot-ai", "1.2.3"), crate_gate],
        MIN(30),
    );

    let outcomes = dispatch_all(
        &registries,
        &jobs,
        Delivery::new(1, None),
        &Quiet,
        &CancellationToken::new(),
    )
    .await;

    assert_eq!(
        outcomes[0].status,
        Status::Failed {
            http_status: None,
            reason: "not published within 30 min: npm @vfarcic/dot-ai@1.2.3 (last: 404 Not Found)".to_owned(),
            hint: Some("run again once it is published (`--retry-failed` sends only what failed), or raise `await_timeout_secs`".to_owned()),
        }
    );
    assert_eq!(outcomes[0].attempts, 0, "nothing was sent");
    assert_eq!(
        registries.sender.elapsed(),
        MIN(30),
        "it gave up at the timeout, not later"
    );
    let looks = registries.looks_at("npm @vfarcic/dot-ai@1.2.3");
    assert_eq!(
        *looks.last().unwrap(),
        MIN(30),
        "a last look at the timeout"
    );
    // A tenth of the wait so far, at most a minute: a registry is not hammered.
    assert!(looks.len() < 80, "{} looks in 30 min", looks.len());
    assert_eq!(
        registries.looks_at("crate dot-ai@1.2.3").len(),
        1,
        "a published artifact is not asked again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_stopped_while_a_target_waits_leaves_it_not_sent_for_resume() {
    let registries = Registries::new(&[("npm @vfarcic/dot-ai@1.2.3", None)]);
    let jobs = gated(jobs(1), vec![npm("@vfarcic/dot-ai", "1.2.3")], MIN(30));
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(MIN(3)).await;
        stopper.cancel();
    });

    let outcomes = dispatch_all(&registries, &jobs, Delivery::new(1, None), &Quiet, &cancel).await;

    assert_eq!(
        reason(&outcomes[0]),
        "the run was interrupted while this target waited for npm @vfarcic/dot-ai@1.2.3 to be published"
    );
    assert!(matches!(outcomes[0].status, Status::NotSent { .. }));

    let mut delivery = Delivery::new(1, None);
    delivery.max_duration = Some(MIN(5));
    let outcomes = dispatch_all(
        &registries,
        &jobs,
        delivery,
        &Quiet,
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        reason(&outcomes[0]),
        "the run reached --max-duration while this target waited for npm @vfarcic/dot-ai@1.2.3 to be published"
    );
}

/// Hears what a waiting target says.
#[derive(Default)]
struct Heard(Mutex<Vec<(String, String, Duration)>>);

impl Observer for Heard {
    fn waiting(&self, job: &Job, artifact: &str, waited: Duration) {
        self.0
            .lock()
            .unwrap()
            .push((job.target.clone(), artifact.to_owned(), waited));
    }
    fn finished(&self, _job: &Job, _outcome: &Outcome) {}
}

#[tokio::test(start_paused = true)]
async fn a_waiting_target_says_what_it_waits_for_and_for_how_long() {
    let registries = Registries::new(&[("npm @vfarcic/dot-ai@1.2.3", Some(12))]);
    let jobs = gated(jobs(1), vec![npm("@vfarcic/dot-ai", "1.2.3")], MIN(30));
    let heard = Heard::default();

    dispatch_all(
        &registries,
        &jobs,
        Delivery::new(1, None),
        &heard,
        &CancellationToken::new(),
    )
    .await;

    let heard = heard.0.lock().unwrap();
    // After the first look, then once a minute: its 12 looks take over a minute.
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(heard
        .iter()
        .all(|(target, artifact, _)| target == "t00" && artifact == "npm @vfarcic/dot-ai@1.2.3"));
    assert_eq!(heard[0].2, Duration::ZERO);
    assert!(heard[1].2 >= S(60) && heard[1].2 < S(120), "{heard:?}");
}

// ---------------------------------------------------------------------------------------------
// The binary against loopback registries

const OCI_TOKEN: &str = "oci_registry_token_0123456789abcdef";

/// One target per kind of artifact, all on `registry` (the OCI token server on `realm`).
fn every_kind(registry: &FakeGitHub, realm_base: &str) -> String {
    let base = registry.base_url();
    let host = registry.addr().to_string();
    let kinds = [
        ("npm", r#"- npm: "@vfarcic/dot-ai@{{version}}""#.to_owned()),
        ("pypi", r#"- pypi: "dot-ai=={{version}}""#.to_owned()),
        ("crates", r#"- crate: "dot-ai@{{version}}""#.to_owned()),
        ("image", format!(r#"- oci: "{host}/vfarcic/dot-ai:{{{{version}}}}""#)),
        ("chart", format!("- helm: {{repo: \"{base}/charts\", chart: dot-ai, version: \"{{{{version}}}}\"}}")),
        ("release", r#"- github_release: {repository: "{{source.repository}}", tag: "v{{version}}", asset: dot-ai-linux.tar.gz}"#.to_owned()),
        ("page", format!(r#"- url: "{base}/docs/{{{{version}}}}""#)),
    ];
    let names: Vec<&str> = kinds.iter().map(|(n, _)| *n).collect();
    let mut yaml = format!(
        "version: 1\nregistries:\n  npm: {{url: \"{base}\"}}\n  pypi: {{url: \"{base}\"}}\n  crate: {{url: \"{base}\"}}\n  oci: {{url: \"{base}\", token_env: OCI_TOKEN}}\nsources:\n  app: {{repository: o/app, targets: [{}]}}\ntargets:\n",
        names.join(", ")
    );
    for (name, check) in kinds {
        yaml.push_str(&format!(
            "  {name}:\n    repository: o/{name}\n    event_type: release\n    token_env: APP_TOKEN\n    await:\n      {check}\n"
        ));
    }
    let _ = realm_base;
    yaml
}

fn published_from_the_third(registry: &FakeGitHub, method: &str, path: &str, published: Reply) {
    registry.on(
        method,
        path,
        [Reply::not_found(), Reply::not_found(), published],
    );
}

fn helm_index(version: &str) -> String {
    format!("apiVersion: v1\nentries:\n  dot-ai:\n    - name: dot-ai\n      version: \"{version}\"\n      urls: [dot-ai-{version}.tgz]\n")
}

#[test]
fn every_kind_of_artifact_is_looked_up_until_published_and_then_its_target_is_sent() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    let realm = FakeGitHub::other_host();
    published_from_the_third(
        &registry,
        "GET",
        "/@vfarcic%2Fdot-ai/1.2.3",
        Reply::status(200).json(json!({"version": "1.2.3"})),
    );
    published_from_the_third(
        &registry,
        "GET",
        "/pypi/dot-ai/1.2.3/json",
        Reply::status(200).json(json!({"info": {}})),
    );
    published_from_the_third(
        &registry,
        "GET",
        "/api/v1/crates/dot-ai/1.2.3",
        Reply::status(200).json(json!({"version": {}})),
    );
    registry.on(
        "GET",
        "/charts/index.yaml",
        [
            Reply::status(200).body(helm_index("1.2.2")),
            Reply::status(200).body(helm_index("1.2.2")),
            Reply::status(200).body(helm_index("1.2.3")),
        ],
    );
    published_from_the_third(
        &registry,
        "GET",
        "/docs/1.2.3",
        Reply::status(200).body("ok"),
    );
    github.on(
        "GET",
        "/repos/o/app/releases/tags/v1.2.3",
        [
            Reply::not_found(),
            Reply::status(200).json(json!({"tag_name": "v1.2.3", "assets": []})),
            Reply::status(200)
                .json(json!({"tag_name": "v1.2.3", "assets": [{"name": "dot-ai-linux.tar.gz"}]})),
        ],
    );
    // ghcr.io's dance: 401 naming a token server (on another host), an anonymous token, the
    // HEAD again with it.
    let challenge = Reply::status(401).header(
        "www-authenticate",
        format!(
            r#"Bearer realm="{}/token",service="registry",scope="repository:vfarcic/dot-ai:pull""#,
            realm.base_url()
        ),
    );
    registry.on(
        "HEAD",
        "/v2/vfarcic/dot-ai/manifests/1.2.3",
        [
            challenge.clone(),
            Reply::not_found(),
            challenge,
            Reply::status(200),
        ],
    );
    realm.on(
        "GET",
        "/token",
        Reply::status(200).json(json!({"token": "anonymous-pull-token"})),
    );

    let ran = Cli::with_config(&every_kind(&registry, &realm.base_url()))
        .release("app", "1.2.3")
        .against(&github)
        .json()
        .args(["--await-interval", "10ms"])
        .app_token()
        .secret("OCI_TOKEN", OCI_TOKEN)
        .output();

    assert_eq!(ran.code, 0, "{}", ran.all());
    for name in ["npm", "pypi", "crates", "image", "chart", "release", "page"] {
        assert_eq!(
            ran.target(name)["outcome"],
            "delivered",
            "{name}: {}",
            ran.all()
        );
        assert_eq!(
            github
                .requests_to(&format!("/repos/o/{name}/dispatches"))
                .len(),
            1,
            "{name}"
        );
    }
    assert_eq!(registry.requests_to("/@vfarcic%2Fdot-ai/1.2.3").len(), 3);
    assert_eq!(
        github
            .requests_to("/repos/o/app/releases/tags/v1.2.3")
            .len(),
        3
    );
    let release_look = &github.requests_to("/repos/o/app/releases/tags/v1.2.3")[0];
    assert_eq!(
        release_look.header("authorization"),
        Some(format!("Bearer {WEBSITE_TOKEN}").as_str()),
        "the target's own token, to its own API"
    );
    let token_asks = realm.requests();
    assert_eq!(token_asks.len(), 2);
    assert!(
        token_asks
            .iter()
            .all(|r| r.header("authorization").is_none()),
        "the token server only gets anonymous requests"
    );
    assert!(
        token_asks[0]
            .path
            .contains("scope=repository%3Avfarcic%2Fdot-ai%3Apull"),
        "{}",
        token_asks[0].path
    );
    let heads = registry.requests_to("/v2/vfarcic/dot-ai/manifests/1.2.3");
    assert_eq!(heads.len(), 4);
    assert_eq!(
        heads[0].header("authorization"),
        Some(format!("Bearer {OCI_TOKEN}").as_str()),
        "the configured registry gets its token"
    );
    assert_eq!(
        heads[3].header("authorization"),
        Some("Bearer anonymous-pull-token")
    );
    assert!(heads[0]
        .header("accept")
        .unwrap()
        .contains("application/vnd.oci.image.index.v1+json"));
    assert!(
        ran.stderr
            .contains("waiting for npm @vfarcic/dot-ai@1.2.3 (0 s)"),
        "{}",
        ran.stderr
    );
}

fn one_npm_gate(registry: &FakeGitHub) -> String {
    many_targets(2)
        .replacen(
            "version: 1\n",
            &format!(
                "version: 1\nregistries:\n  npm: {{url: \"{}\"}}\n",
                registry.base_url()
            ),
            1,
        )
        .replacen(
            "    token_env: APP_TOKEN\n",
            "    token_env: APP_TOKEN\n    await:\n      - npm: \"@vfarcic/dot-ai@{{version}}\"\n",
            1,
        )
}

#[test]
fn an_artifact_never_published_fails_with_exit_1_and_retry_failed_sends_it_once_published() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    let dir = config_dir(&one_npm_gate(&registry));
    let report = dir.path().join("report.json");
    let report = report.to_str().unwrap();

    let first = Cli::in_dir(dir.path())
        .release("app", "1.2.3")
        .args([
            "--report",
            report,
            "--await-timeout",
            "300ms",
            "--await-interval",
            "20ms",
        ])
        .against(&github)
        .json()
        .app_token()
        .output();

    assert_eq!(first.code, 1, "{}", first.all());
    assert_eq!(first.target("t00")["outcome"], "failed");
    assert_eq!(
        first.target("t00")["reason"],
        "not published within 300 ms: npm @vfarcic/dot-ai@1.2.3 (last: 404 Not Found)"
    );
    assert_eq!(
        first.target("t01")["outcome"],
        "delivered",
        "the other target did not wait"
    );
    assert!(github.requests_to("/repos/o/t00/dispatches").is_empty());

    registry.on(
        "GET",
        "/@vfarcic%2Fdot-ai/1.2.3",
        Reply::status(200).json(json!({})),
    );
    let retried = Cli::in_dir(dir.path())
        .args(["run", "--retry-failed", report, "--await-interval", "20ms"])
        .against(&github)
        .json()
        .app_token()
        .output();

    assert_eq!(retried.code, 0, "{}", retried.all());
    assert_eq!(github.requests_to("/repos/o/t00/dispatches").len(), 1);
    assert_eq!(
        github.requests_to("/repos/o/t01/dispatches").len(),
        1,
        "t01 is not sent again"
    );
}

#[test]
fn a_registry_token_goes_only_to_its_registry_and_never_shows() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    registry.on(
        "GET",
        "/@vfarcic%2Fdot-ai/1.2.3",
        Reply::status(200).json(json!({})),
    );
    let yaml = one_npm_gate(&registry).replacen(
        &format!("npm: {{url: \"{}\"}}", registry.base_url()),
        &format!(
            "npm: {{url: \"{}\", token_env: NPM_TOKEN}}",
            registry.base_url()
        ),
        1,
    );

    let ran = Cli::with_config(&yaml)
        .release("app", "1.2.3")
        .against(&github)
        .app_token()
        .secret("NPM_TOKEN", "npm_0123456789abcdefghijklmnopqrstuvwxyz")
        .output();

    assert_eq!(ran.code, 0, "{}", ran.all());
    let looks: Vec<Recorded> = registry.requests();
    assert_eq!(
        looks[0].header("authorization"),
        Some("Bearer npm_0123456789abcdefghijklmnopqrstuvwxyz")
    );
    assert!(github
        .requests()
        .iter()
        .all(|r| r.header("authorization") != looks[0].header("authorization")));
}

#[test]
fn check_says_whether_each_registry_answers_and_an_unpublished_artifact_is_only_a_note() {
    let github = FakeGitHub::start();
    let published = FakeGitHub::start();
    let refusing = FakeGitHub::start();
    refusing.on("GET", "/*/*", Reply::status(401));
    let yaml = many_targets(2).replacen(
        "    token_env: APP_TOKEN\n",
        &format!(
            "    token_env: APP_TOKEN\n    await:\n      - url: \"{}/pkg/{{{{version}}}}\"\n",
            published.base_url()
        ),
        1,
    );
    let yaml = yaml.rsplit_once("    token_env: APP_TOKEN\n").map(|(head, tail)| {
        format!("{head}    token_env: APP_TOKEN\n    await:\n      - url: \"{}/pkg/{{{{version}}}}\"\n{tail}", refusing.base_url())
    }).unwrap();
    let dir = config_dir(&yaml);

    let output = crate::support::cli::orchestrator(dir.path())
        .args(["check", "--output", "json", "--api-url", &github.base_url()])
        .env("APP_TOKEN", WEBSITE_TOKEN)
        .output()
        .unwrap();

    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let targets = report["targets"].as_array().unwrap();
    let said = |i: usize| targets[i].to_string();
    assert!(
        said(0).contains("is not published yet (`404 Not Found`); a release waits for it"),
        "{}",
        said(0)
    );
    assert!(!said(0).contains("cannot be looked up"), "{}", said(0));
    assert!(
        said(1).contains("cannot be looked up: `401 Unauthorized`"),
        "{}",
        said(1)
    );
    assert_eq!(targets[1]["verdict"], "not_ready");
}

/// A run whose one target waits at most 300 ms for chart `dot-ai` 1.2.3 in `registry`'s
/// `/charts` repository.
fn waiting_300ms_for_a_chart_on(
    registry: &FakeGitHub,
    github: &FakeGitHub,
) -> crate::support::cli::Ran {
    let yaml = many_targets(1).replacen(
        "    token_env: APP_TOKEN\n",
        &format!(
            "    token_env: APP_TOKEN\n    await:\n      - helm: {{repo: \"{}/charts\", chart: dot-ai, version: \"{{{{version}}}}\"}}\n",
            registry.base_url()
        ),
        1,
    );
    Cli::with_config(&yaml)
        .release("app", "1.2.3")
        .args(["--await-timeout", "300ms", "--await-interval", "20ms"])
        .against(github)
        .json()
        .app_token()
        .output()
}

#[test]
fn a_hostile_chart_index_is_read_within_the_yaml_limits_and_the_target_fails_in_time() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    let mut bomb = String::from("entries:\n  a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for (name, before) in [
        ("b", "a"),
        ("c", "b"),
        ("d", "c"),
        ("e", "d"),
        ("f", "e"),
        ("g", "f"),
        ("h", "g"),
        ("i", "h"),
    ] {
        bomb.push_str(&format!("  {name}: &{name} [*{before}, *{before}, *{before}, *{before}, *{before}, *{before}, *{before}, *{before}, *{before}]\n"));
    }
    registry.on("GET", "/charts/index.yaml", Reply::status(200).body(bomb));
    let ran = waiting_300ms_for_a_chart_on(&registry, &github);

    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(
        ran.target("t00")["reason"],
        "not published within 300 ms: helm dot-ai@1.2.3 (last: index.yaml does not read)"
    );
}

#[test]
fn a_sources_artifact_is_looked_at_once_a_round_for_all_its_targets() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    published_from_the_third(
        &registry,
        "GET",
        "/@vfarcic%2Fdot-ai/1.2.3",
        Reply::status(200).json(json!({})),
    );
    let yaml = many_targets(5)
        .replacen(
            "version: 1\n",
            &format!(
                "version: 1\nregistries:\n  npm: {{url: \"{}\"}}\n",
                registry.base_url()
            ),
            1,
        )
        .replacen(
            "    repository: o/app\n",
            "    repository: o/app\n    await:\n      - npm: \"@vfarcic/dot-ai@{{version}}\"\n",
            1,
        );

    let ran = Cli::with_config(&yaml)
        .release("app", "1.2.3")
        .args(["--await-interval", "20ms"])
        .against(&github)
        .json()
        .app_token()
        .output();

    assert_eq!(ran.code, 0, "{}", ran.all());
    assert_eq!(ran.json()["summary"]["delivered"], 5, "{}", ran.all());
    assert_eq!(
        registry.requests_to("/@vfarcic%2Fdot-ai/1.2.3").len(),
        3,
        "five targets waiting for one package share its looks, and nobody asks once it is published"
    );
}

#[test]
fn a_check_a_target_repeats_from_its_source_is_waited_for_once() {
    let config = r#"version: 1
sources:
  app:
    repository: o/app
    await: [{npm: "app@{{version}}"}, {oci: "ghcr.io/o/app:{{version}}"}]
    targets: [stack]
targets:
  stack:
    repository: o/stack
    event_type: release
    token_env: APP_TOKEN
    await: [{oci: "ghcr.io/o/app:{{version}}"}, {oci: "ghcr.io/o/app/charts/app:{{version}}"}]
"#;
    let ran = crate::support::cli::Cli::with_config(config)
        .release("app", "1.2.3")
        .args(["--dry-run"])
        .json()
        .output();
    assert_eq!(ran.code, 0, "{}", ran.all());
    let report = ran.json();
    let target = &report["targets"][0];
    assert_eq!(
        target["await"],
        serde_json::json!([
            "npm app@1.2.3",
            "oci ghcr.io/o/app:1.2.3",
            "oci ghcr.io/o/app/charts/app:1.2.3"
        ]),
        "{report:#}"
    );
}

#[test]
fn a_chart_index_cut_off_mid_answer_is_cannot_tell_not_a_version_missing() {
    let github = FakeGitHub::start();
    let registry = FakeGitHub::start();
    // The first versions of a long index, then the connection closes well before the
    // announced length: the rest, which may list 1.2.3, never arrives.
    let part = "apiVersion: v1\nentries:\n  dot-ai:\n  - version: 1.2.1\n  - version: 1.2.2\n";
    registry.on(
        "GET",
        "/charts/index.yaml",
        Reply::status(200)
            .header("content-length", part.len() + 4096)
            .header("connection", "close")
            .body(part),
    );
    let ran = waiting_300ms_for_a_chart_on(&registry, &github);

    assert_eq!(ran.code, 1, "{}", ran.all());
    assert_eq!(
        ran.target("t00")["reason"],
        "not published within 300 ms: helm dot-ai@1.2.3 (last: index.yaml was cut off before its end)"
    );
}
