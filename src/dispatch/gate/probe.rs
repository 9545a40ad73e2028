//! One look at a registry for one artifact, through the run's client and outbound policy:
//! URLs built from the configured base and the rendered artifact only, answers read bounded,
//! a token sent only to the base the configuration names. An OCI registry's token server
//! (`WWW-Authenticate: Bearer realm=...`) is a URL the server chose: it only ever gets an
//! anonymous token request.

use super::GateAnswer;
use crate::config::gates::GateKind;
use crate::github::outbound;
use crate::github::response::Answered;
use crate::plan::{Artifact, Gate};
use crate::secret::Secret;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::Method;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One look's time limit.
const TIMEOUT: Duration = Duration::from_secs(30);
/// An answer is kept up to this much (a release's JSON with its assets, a token).
const MAX_ANSWER: usize = 1024 * 1024;
/// A Helm repository's `index.yaml` is read up to [`crate::yaml::HELM_INDEX`]'s size.
const MAX_INDEX: usize = 16 * 1024 * 1024;
/// Answers with a body held at once by every look of a run (or of `check`): an index may
/// weigh [`MAX_INDEX`] and its parsed values more, so a thousand targets waiting for a
/// thousand charts hold four, not a thousand. A look that reads only a status holds no turn.
pub(crate) const BODIES_AT_ONCE: usize = 4;
/// What a look that goes by its status keeps of the body: nothing.
const STATUS_ONLY: usize = 0;
/// What a manifest HEAD accepts: the OCI and Docker manifests and indexes.
const OCI_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
/// Where a refused or failed look points.
const CHECK_REGISTRY: &str = "check the registry's URL (`registries:`) and the network";

/// Looks in flight at once in one run, across its registries. A thousand targets that start
/// waiting together would otherwise open a thousand connections at once (measured in
/// BENCHMARKS.md, "Gates and waves": 1,064 connections, 60 % more CPU and a 50 ms longer exit
/// than with this bound); at a registry's usual answer time this still allows hundreds of
/// looks a second.
pub(crate) const LOOKS_IN_FLIGHT: usize = 64;

/// The looks of one run, shared by its targets: an artifact found published is not asked for
/// again, and targets that ask for one artifact while a look at it is in flight take that
/// look's answer (a source's `await:` inherited by a thousand targets is one look a round, not
/// a thousand). At most [`LOOKS_IN_FLIGHT`] looks are in flight at once; the others queue.
pub(crate) struct Looks {
    slots: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Looked>>>>>,
    in_flight: tokio::sync::Semaphore,
    /// [`BODIES_AT_ONCE`] turns to hold an answer's body.
    turns: tokio::sync::Semaphore,
}

impl Default for Looks {
    fn default() -> Looks {
        Looks {
            slots: std::sync::Mutex::default(),
            in_flight: tokio::sync::Semaphore::new(LOOKS_IN_FLIGHT),
            turns: tokio::sync::Semaphore::new(BODIES_AT_ONCE),
        }
    }
}

/// The last answer about one artifact, and when it came.
type Looked = (std::time::Instant, GateAnswer);

impl Looks {
    /// `gate`'s answer: a look of its own, or one it may share (see [`Looks`]).
    pub(crate) async fn look(&self, client: &reqwest::Client, gate: &Gate) -> GateAnswer {
        let asked = std::time::Instant::now();
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = format!("{} {}", gate.base, gate.label());
            Arc::clone(slots.entry(key).or_default())
        };
        // Held across the look, so a second asker waits for this answer.
        let mut last = slot.lock().await;
        if let Some((at, answer)) = &*last {
            if *answer == GateAnswer::Published || *at >= asked {
                return answer.clone();
            }
        }
        let answer = {
            // Never closed; a closed semaphore would only lift the bound.
            let _permit = self.in_flight.acquire().await.ok();
            probe(client, &self.turns, gate).await
        };
        *last = Some((std::time::Instant::now(), answer.clone()));
        answer
    }
}

/// Looks `gate` up once; a look that reads a body (an image's token, a chart index, a
/// release's assets) takes one of `turns` for as long as it holds it.
pub(crate) async fn probe(
    client: &reqwest::Client,
    turns: &tokio::sync::Semaphore,
    gate: &Gate,
) -> GateAnswer {
    let _turn = match gate.artifact {
        Artifact::Image { .. } | Artifact::Chart { .. } | Artifact::Release { .. } => {
            match turns.acquire().await {
                Ok(turn) => Some(turn),
                Err(_) => return GateAnswer::Unusable("the run is ending".to_owned()),
            }
        }
        Artifact::Package { .. } | Artifact::Url => None,
    };
    match &gate.artifact {
        Artifact::Image {
            repository,
            reference,
            ..
        } => image(client, gate, repository, reference).await,
        Artifact::Chart { chart, version } => chart_listed(client, gate, chart, version).await,
        Artifact::Release { .. } => release(client, gate).await,
        Artifact::Package { name, version } => {
            let url = match gate.kind {
                GateKind::Npm => at(&gate.base, &[name, version]),
                GateKind::Pypi => at(&gate.base, &["pypi", name, version, "json"]),
                _ => at(&gate.base, &["api", "v1", "crates", name, version]),
            };
            let request = client.get(url).header(ACCEPT, "application/json");
            let token = gate.token.as_ref();
            // crates.io takes its API token as the whole header.
            let scheme = if gate.kind == GateKind::Crate {
                ""
            } else {
                "Bearer "
            };
            plain(look_within(authorized(request, token, scheme), STATUS_ONLY).await)
        }
        Artifact::Url => plain(
            look_within(
                authorized(
                    client.get(gate.base.clone()),
                    gate.token.as_ref(),
                    "Bearer ",
                ),
                STATUS_ONLY,
            )
            .await,
        ),
    }
}

/// `base` with `segments` appended, each escaped (`@scope/name` is one segment).
fn at(base: &url::Url, segments: &[&str]) -> url::Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

fn authorized(
    request: reqwest::RequestBuilder,
    token: Option<&Secret>,
    scheme: &str,
) -> reqwest::RequestBuilder {
    let Some(token) = token else {
        return request;
    };
    match HeaderValue::from_str(&format!("{scheme}{}", token.expose())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            request.header(AUTHORIZATION, value)
        }
        Err(_) => request,
    }
}

/// Sends one look; the answer read bounded, or why there is none.
async fn look(request: reqwest::RequestBuilder) -> Result<Answered, String> {
    look_within(request, MAX_ANSWER).await
}

async fn look_within(request: reqwest::RequestBuilder, cap: usize) -> Result<Answered, String> {
    let response = outbound::send(request.timeout(TIMEOUT), TIMEOUT, CHECK_REGISTRY)
        .await
        .map_err(|failure| crate::secret::redact(&failure.reason))?;
    Ok(Answered::read(response, cap).await)
}

/// `404 Not Found`.
fn status_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}").trim_end().to_owned()
}

/// 2xx is published, 404 and 410 are not yet, anything else is no answer.
fn plain(answered: Result<Answered, String>) -> GateAnswer {
    match answered {
        Err(why) => GateAnswer::Unusable(why),
        Ok(a) if a.is_success() => GateAnswer::Published,
        Ok(a) => by_status(a.status),
    }
}

fn by_status(status: u16) -> GateAnswer {
    match status {
        404 | 410 => GateAnswer::NotYet(status_text(status)),
        _ => GateAnswer::Unusable(status_text(status)),
    }
}

/// A GitHub release by tag, and its asset when one is named.
async fn release(client: &reqwest::Client, gate: &Gate) -> GateAnswer {
    let Artifact::Release {
        repository,
        tag,
        asset,
    } = &gate.artifact
    else {
        return GateAnswer::Unusable("not a release".to_owned());
    };
    let url = at(
        &gate.base,
        &[
            "repos",
            &repository.owner,
            &repository.name,
            "releases",
            "tags",
            tag,
        ],
    );
    let request = client
        .get(url)
        .header(ACCEPT, crate::github::ACCEPT_GITHUB_JSON)
        .header(
            "X-GitHub-Api-Version",
            crate::config::model::DEFAULT_API_VERSION,
        );
    let answered = match look(authorized(request, gate.token.as_ref(), "Bearer ")).await {
        Ok(a) if a.is_success() => a,
        other => return plain(other),
    };
    let Some(asset) = asset else {
        return GateAnswer::Published;
    };
    #[derive(serde::Deserialize)]
    struct Release {
        #[serde(default)]
        assets: Vec<Asset>,
    }
    #[derive(serde::Deserialize)]
    struct Asset {
        #[serde(default)]
        name: String,
    }
    match serde_json::from_str::<Release>(&answered.body) {
        Err(_) => GateAnswer::Unusable("the release's JSON does not read".to_owned()),
        Ok(release) if release.assets.iter().any(|a| a.name == *asset) => GateAnswer::Published,
        Ok(_) => GateAnswer::NotYet(format!("release {tag} has no asset {asset} yet")),
    }
}

/// A chart version listed in the repository's `index.yaml`, read with the YAML reader's
/// limits (the file is the repository's, and hostile as any answer).
async fn chart_listed(
    client: &reqwest::Client,
    gate: &Gate,
    chart: &str,
    version: &str,
) -> GateAnswer {
    let url = at(&gate.base, &["index.yaml"]);
    let request = authorized(client.get(url), gate.token.as_ref(), "Bearer ");
    let answered = match look_within(request, MAX_INDEX).await {
        Ok(a) if a.is_success() => a,
        other => return plain(other),
    };
    // A part of an index lists a part of its versions: not listing one proves nothing.
    if !answered.whole {
        return GateAnswer::Unusable("index.yaml was cut off before its end".to_owned());
    }
    let index = match crate::yaml::read(&answered.body, crate::yaml::HELM_INDEX) {
        Ok(index) => index,
        Err(_) => return GateAnswer::Unusable("index.yaml does not read".to_owned()),
    };
    let listed = match index.get("entries").and_then(|e| e.get(chart)) {
        Some(crate::yaml::Value::Seq(versions)) => versions.iter().any(|entry| {
            entry.get("version").and_then(crate::yaml::Value::scalar) == Some(version)
        }),
        _ => false,
    };
    if listed {
        GateAnswer::Published
    } else {
        GateAnswer::NotYet(format!("index.yaml does not list {chart} {version}"))
    }
}

/// A manifest HEAD; on `401` with a Bearer challenge, an anonymous token from the realm it
/// names, and the HEAD again with it.
async fn image(
    client: &reqwest::Client,
    gate: &Gate,
    repository: &str,
    reference: &str,
) -> GateAnswer {
    let mut segments = vec!["v2"];
    segments.extend(repository.split('/'));
    segments.extend(["manifests", reference]);
    let url = at(&gate.base, &segments);
    let head = |token: Option<&Secret>| {
        authorized(
            client
                .request(Method::HEAD, url.clone())
                .header(ACCEPT, OCI_ACCEPT),
            token,
            "Bearer ",
        )
    };
    let first = match look(head(gate.token.as_ref())).await {
        Ok(a) => a,
        Err(why) => return GateAnswer::Unusable(why),
    };
    if first.status != 401 {
        return plain(Ok(first));
    }
    let challenge =
        (first.www_authenticate.as_deref()).and_then(|h| Challenge::read(h, &gate.base));
    let Some(challenge) = challenge else {
        return by_status(401);
    };
    let token = match challenge.anonymous_token(client).await {
        Ok(token) => token,
        Err(why) => return GateAnswer::Unusable(why),
    };
    plain(look(head(Some(&token))).await)
}

/// A `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge.
#[derive(Debug, PartialEq)]
struct Challenge {
    realm: url::Url,
    service: Option<String>,
    scope: Option<String>,
}

impl Challenge {
    /// The challenge, when it is a Bearer one whose realm is a URL a request may go to: https
    /// (http on loopback), and on this machine or its network only for a registry that is on
    /// this machine itself (a registry elsewhere must not make us call a local service).
    fn read(header: &str, registry: &url::Url) -> Option<Challenge> {
        let rest = header.trim_start();
        let params = rest
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
            .map(|_| &rest[7..])?;
        let (mut realm, mut service, mut scope) = (None, None, None);
        for (key, value) in parameters(params) {
            match key.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value),
                "service" => service = Some(value),
                "scope" => scope = Some(value),
                _ => {}
            }
        }
        let realm = realm?;
        if crate::config::kinds::url_problem(&realm).is_some() {
            return None;
        }
        let realm = url::Url::parse(&realm).ok()?;
        if is_inside(&realm) && !crate::config::values::is_loopback(registry) {
            return None;
        }
        Some(Challenge {
            realm,
            service,
            scope,
        })
    }

    /// A token from the realm, asked for without any credential: so it is no credential of
    /// ours, and is not registered for redaction ([`Secret::anonymous`]).
    async fn anonymous_token(&self, client: &reqwest::Client) -> Result<Secret, String> {
        let mut url = self.realm.clone();
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = &self.service {
                query.append_pair("service", service);
            }
            if let Some(scope) = &self.scope {
                query.append_pair("scope", scope);
            }
        }
        let answered = look(client.get(url)).await?;
        if !answered.is_success() {
            return Err(format!(
                "the registry's token server answered {}",
                status_text(answered.status)
            ));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let read: Token = serde_json::from_str(&answered.body)
            .map_err(|_| "the registry's token does not read".to_owned())?;
        read.token
            .or(read.access_token)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .map(Secret::anonymous)
            .ok_or_else(|| "the registry's token server sent no usable token".to_owned())
    }
}

/// Whether `url` names this machine or an address of a private network (loopback, private,
/// link-local such as the cloud metadata address, unspecified) by its address or as
/// `localhost`. A name that resolves there is not seen here.
fn is_inside(url: &url::Url) -> bool {
    use std::net::Ipv4Addr;
    let v4 = |ip: Ipv4Addr| {
        ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            // 100.64.0.0/10, carrier-grade NAT.
            || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64)
    };
    match url.host() {
        Some(url::Host::Ipv4(ip)) => v4(ip),
        Some(url::Host::Ipv6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(v4)
        }
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => true,
    }
}

/// `key=value` and `key="value"` pairs, comma-separated (quoted values may hold commas).
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        pairs.push((key, value.to_owned()));
        rest = tail.trim_start_matches([',', ' ']);
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback npm registry that holds every look until `open` turns true, then answers
    /// 404; it counts the looks it holds now and at most.
    async fn holding_registry(
        open: tokio::sync::watch::Receiver<bool>,
        held: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    ) -> url::Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (mut open, held, most) = (open.clone(), Arc::clone(&held), Arc::clone(&most));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut byte).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&byte[..n]),
                        }
                    }
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let _ = open.wait_for(|open| *open).await;
                    held.fetch_sub(1, Ordering::SeqCst);
                    let _ = stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                        .await;
                });
            }
        });
        base
    }

    #[tokio::test(start_paused = true)]
    async fn two_hundred_targets_waiting_at_once_keep_at_most_64_looks_in_flight() {
        let (open, opened) = tokio::sync::watch::channel(false);
        let (held, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let base = holding_registry(opened, Arc::clone(&held), Arc::clone(&most)).await;
        let gates: Vec<Gate> = (0..200)
            .map(|i| Gate {
                kind: GateKind::Npm,
                artifact: Artifact::Package {
                    name: format!("pkg-{i}"),
                    version: "1.2.3".into(),
                },
                base: base.clone(),
                token: None,
            })
            .collect();
        let (looks, client) = (Looks::default(), outbound::client().unwrap());
        let all = futures::future::join_all(gates.iter().map(|g| looks.look(&client, g)));
        tokio::pin!(all);
        // Each step ends once every task waits (the clock is paused), so every look that may
        // start has reached the registry; well inside a look's 30 s limit.
        for _ in 0..200 {
            tokio::select! {
                _ = &mut all => panic!("a look ended while the registry held it"),
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        assert_eq!(held.load(Ordering::SeqCst), LOOKS_IN_FLIGHT);
        open.send_replace(true);
        let answers = all.await;
        assert_eq!(answers.len(), 200);
        assert!(
            answers.iter().all(|a| matches!(a, GateAnswer::NotYet(_))),
            "{answers:?}"
        );
        assert_eq!(most.load(Ordering::SeqCst), LOOKS_IN_FLIGHT);
    }

    #[test]
    fn a_bearer_challenge_names_its_realm_service_and_scope() {
        let read = Challenge::read(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:vfarcic/dot-ai:pull""#,
            &url::Url::parse("https://ghcr.io").unwrap(),
        );
        assert_eq!(
            read,
            Some(Challenge {
                realm: url::Url::parse("https://ghcr.io/token").unwrap(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:vfarcic/dot-ai:pull".into()),
            })
        );
    }

    fn ghcr() -> url::Url {
        url::Url::parse("https://ghcr.io").unwrap()
    }

    #[test]
    fn a_challenge_whose_realm_is_not_an_https_url_is_not_followed() {
        assert_eq!(
            Challenge::read(r#"Bearer realm="http://evil.example/token""#, &ghcr()),
            None
        );
        assert_eq!(
            Challenge::read(r#"Bearer realm="file:///etc/passwd""#, &ghcr()),
            None
        );
        assert_eq!(
            Challenge::read(r#"Basic realm="https://a.example""#, &ghcr()),
            None
        );
        assert_eq!(Challenge::read("Bearer", &ghcr()), None);
        assert_eq!(Challenge::read("Bearer \u{e9}\u{e9}\u{e9}", &ghcr()), None);
    }

    #[test]
    fn a_registry_elsewhere_cannot_send_the_token_request_to_this_machine_or_its_network() {
        let ghcr = url::Url::parse("https://ghcr.io").unwrap();
        let realm = |header: &str| Challenge::read(header, &ghcr).map(|c| c.realm.to_string());
        for inside in [
            r#"Bearer realm="http://127.0.0.1:2375/containers/json""#,
            r#"Bearer realm="http://localhost:8080/admin""#,
            r#"Bearer realm="https://127.0.0.1/token""#,
            r#"Bearer realm="https://169.254.169.254/latest/meta-data""#,
            r#"Bearer realm="https://[::1]/token""#,
            r#"Bearer realm="https://10.0.0.5/token""#,
            r#"Bearer realm="https://192.168.1.1/token""#,
            r#"Bearer realm="https://0.0.0.0/token""#,
        ] {
            assert_eq!(realm(inside), None, "{inside}");
        }
        assert_eq!(
            realm(r#"Bearer realm="https://auth.docker.io/token""#).as_deref(),
            Some("https://auth.docker.io/token")
        );
        // A registry on this machine (a test's, a local mirror's) may name a token server here.
        let local = url::Url::parse("http://127.0.0.1:5000").unwrap();
        assert!(Challenge::read(r#"Bearer realm="http://127.0.0.2:5001/token""#, &local).is_some());
    }

    #[test]
    fn scoped_npm_names_are_one_escaped_segment() {
        let base = url::Url::parse("https://registry.npmjs.org").unwrap();
        assert_eq!(
            at(&base, &["@vfarcic/dot-ai", "1.2.3"]).as_str(),
            "https://registry.npmjs.org/@vfarcic%2Fdot-ai/1.2.3"
        );
    }
}
