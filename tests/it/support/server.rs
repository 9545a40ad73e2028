//! The serving side of `FakeGitHub`: one tokio task per connection on a private runtime,
//! choosing each request's reply the way GitHub does (authentication, rate limits, endpoint).

use super::fake_github::Recorded;
use super::http::{self, Connection, Request};
use super::reply::{Action, Reply, Script};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

const RATE_LIMIT: u64 = 5000;

pub(super) struct Route {
    pub method: String,
    pub path: String,
    pub script: Script,
    /// Requests answered so far: the index of the next script step.
    pub served: usize,
}

#[derive(Clone, Default)]
pub(super) struct Settings {
    pub token: Option<String>,
    pub window: Option<(usize, Duration)>,
    /// At most this many POSTs per token (its `Authorization` header) in any window.
    pub per_token: Option<(usize, Duration)>,
}

/// Shared by the test thread (`FakeGitHub`) and the server's connection tasks.
pub(super) struct State {
    pub routes: Mutex<Vec<Route>>,
    pub requests: Mutex<Vec<Recorded>>,
    pub settings: Mutex<Settings>,
    accepted_posts: Mutex<VecDeque<Instant>>,
    accepted_by_token: Mutex<std::collections::HashMap<String, VecDeque<Instant>>>,
    pub over_token_limit: AtomicUsize,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub rate_limited: AtomicUsize,
    replies_sent: AtomicU64,
    connections: AtomicU64,
    rate_limit_reset: u64,
    pub gate: Gate,
}

/// Holds answers instead of timing them: a test that needs requests in flight at once, or
/// a run caught mid-way, says which requests to hold and when to let them go, so nothing
/// depends on how fast the machine is.
pub(super) struct Gate {
    hold: Mutex<Hold>,
    open: watch::Sender<bool>,
    /// Whether the test has released answers (`Reply::held` waits for it).
    released: watch::Sender<bool>,
}

#[derive(Clone, Copy)]
pub(super) enum Hold {
    /// Every answer goes out at once (after its delay, if any).
    Nothing,
    /// Every answer waits until this many requests are held at once, or the test opens the gate.
    UntilHeld { n: usize, held: usize },
    /// This many requests are answered; every later one waits until the test opens the gate.
    After { n: usize, seen: usize },
}

impl Gate {
    fn new() -> Self {
        Self {
            hold: Mutex::new(Hold::Nothing),
            open: watch::Sender::new(true),
            released: watch::Sender::new(false),
        }
    }

    pub fn set(&self, hold: Hold) {
        let mut current = lock(&self.hold);
        *current = hold;
        self.open.send_replace(matches!(hold, Hold::Nothing));
    }

    /// Lets every held answer go, and every later one.
    pub fn open(&self) {
        self.set(Hold::Nothing);
        self.released.send_replace(true);
    }

    /// Returns once the test has released answers.
    async fn released(&self) {
        let mut released = self.released.subscribe();
        let _ = released.wait_for(|released| *released).await;
    }

    /// Returns when this request's answer may go.
    async fn pass(&self) {
        let wait = {
            let mut hold = lock(&self.hold);
            match &mut *hold {
                Hold::Nothing => false,
                Hold::UntilHeld { n, held } => {
                    *held += 1;
                    if *held >= *n {
                        *hold = Hold::Nothing;
                        self.open.send_replace(true);
                        false
                    } else {
                        true
                    }
                }
                Hold::After { n, seen } => {
                    *seen += 1;
                    *seen > *n
                }
            }
        };
        if wait {
            // `wait_for` looks at the current value first: an opening between the lock
            // above and here is not missed.
            let mut open = self.open.subscribe();
            let _ = open.wait_for(|open| *open).await;
        }
    }
}

/// A test that panicked while holding a lock must not hide the other tests' results.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn serve(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut stopped: oneshot::Receiver<()>,
    ready: mpsc::Sender<std::io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
        {
            Ok(listener) => listener,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let id = state.connections.fetch_add(1, Ordering::SeqCst);
                        tokio::spawn(serve_connection(stream, id, Arc::clone(&state)));
                    }
                    // E.g. out of file descriptors: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
    });
    // Dropping the runtime here cancels every connection task, including delayed and hanging
    // ones, so a test never waits for a script's sleeps to finish.
}

async fn serve_connection(stream: TcpStream, connection_id: u64, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let mut connection = Connection::new(stream);
    while let Some(request) = connection.read_request().await {
        let _in_flight = InFlight::enter(&state);
        let reply = state.choose_reply(&request, connection_id);
        state.gate.pass().await;
        if reply.held {
            state.gate.released().await;
        }
        let delay = reply.delay.unwrap_or_default();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match reply.action {
            Action::Reset => {
                // Zero linger turns the close into an RST; that is the whole point here.
                let _ = connection.stream.set_zero_linger();
                return;
            }
            Action::Hang(duration) => {
                tokio::time::sleep(duration).await;
                return;
            }
            Action::Respond => {}
        }
        let close = request.wants_close()
            || http::header(&reply.headers, "connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let bytes = state.encode(&request, &reply, close);
        if connection.stream.write_all(&bytes).await.is_err() {
            return;
        }
        if close {
            let _ = connection.stream.shutdown().await;
            return;
        }
    }
}

/// Counts a request as in flight from fully read until answered, however the handler exits.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl State {
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            routes: Mutex::default(),
            requests: Mutex::default(),
            settings: Mutex::default(),
            accepted_posts: Mutex::default(),
            accepted_by_token: Mutex::default(),
            over_token_limit: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            rate_limited: AtomicUsize::new(0),
            replies_sent: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            rate_limit_reset: now + 3600,
            gate: Gate::new(),
        }
    }

    fn record(&self, request: &Request, connection_id: u64) {
        lock(&self.requests).push(Recorded {
            method: request.method.clone(),
            path: request.target.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            received_at: Instant::now(),
            connection_id,
        });
    }

    /// Records the request and chooses its reply, in GitHub's order: authentication, then rate
    /// limiting, then the endpoint itself. Both happen under the routes lock, so a request
    /// recorded before a test rescripts a route gets the old script's reply, and one recorded
    /// after gets the new one's.
    fn choose_reply(&self, request: &Request, connection_id: u64) -> Reply {
        let mut routes = lock(&self.routes);
        self.record(request, connection_id);
        let settings = lock(&self.settings).clone();
        if let Some(token) = &settings.token {
            let authorized = request
                .header("authorization")
                .and_then(|v| v.split_once(' '))
                .is_some_and(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && t == token);
            if !authorized {
                return Reply::bad_credentials();
            }
        }
        if let (Some((max_posts, window)), "POST") = (settings.window, request.method.as_str()) {
            if let Some(retry_after) = self.admit_post(max_posts, window) {
                self.rate_limited.fetch_add(1, Ordering::SeqCst);
                let reply = Reply::secondary_rate_limit().header("retry-after", retry_after);
                return reply;
            }
        }
        if let (Some(limit), "POST") = (settings.per_token, request.method.as_str()) {
            if let Some(reply) = self.admit_token_post(request, limit) {
                return reply;
            }
        }
        let scripted = routes
            .iter_mut()
            .rev()
            .find(|r| r.method == request.method && path_matches(&r.path, &request.target));
        if let Some(route) = scripted {
            let reply = route.script.step(route.served).clone();
            route.served += 1;
            return reply;
        }
        default_reply(&request.method, &request.target)
    }

    /// A token's own limit, as GitHub keeps one per identity: `None` admits the POST, else
    /// the 429 GitHub answers, with its rate-limit headers and `retry-after`.
    fn admit_token_post(
        &self,
        request: &Request,
        (max_posts, window): (usize, Duration),
    ) -> Option<Reply> {
        let token = request
            .header("authorization")
            .unwrap_or_default()
            .to_owned();
        let mut by_token = lock(&self.accepted_by_token);
        let retry_after = admit(by_token.entry(token).or_default(), max_posts, window)?;
        self.over_token_limit.fetch_add(1, Ordering::SeqCst);
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + retry_after;
        Some(
            Reply::too_many(retry_after)
                .header("x-ratelimit-limit", max_posts)
                .header("x-ratelimit-remaining", 0)
                .header("x-ratelimit-used", max_posts)
                .header("x-ratelimit-reset", reset)
                .header("x-ratelimit-resource", "core"),
        )
    }

    pub fn forget_token_budgets(&self) {
        lock(&self.accepted_by_token).clear();
    }

    /// Sliding window: `None` admits the POST, `Some(secs)` is when to retry.
    fn admit_post(&self, max_posts: usize, window: Duration) -> Option<u64> {
        admit(&mut lock(&self.accepted_posts), max_posts, window)
    }
}

/// Sliding window over the accepted POSTs' times: `None` admits one now, `Some(secs)` is when
/// to retry.
fn admit(accepted: &mut VecDeque<Instant>, max_posts: usize, window: Duration) -> Option<u64> {
    {
        let now = Instant::now();
        while accepted
            .front()
            .is_some_and(|&t| now.duration_since(t) >= window)
        {
            accepted.pop_front();
        }
        if accepted.len() < max_posts {
            accepted.push_back(now);
            return None;
        }
        let wait = accepted.front().map_or(window, |&oldest| {
            window.saturating_sub(now.duration_since(oldest))
        });
        Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    }
}

impl State {
    fn encode(&self, request: &Request, reply: &Reply, close: bool) -> Vec<u8> {
        let used = self.replies_sent.fetch_add(1, Ordering::SeqCst) + 1;
        let api_version = request
            .header("x-github-api-version")
            .unwrap_or("2022-11-28");
        let mut headers: Vec<(String, String)> = [
            ("Date", http::http_date(SystemTime::now())),
            ("Server", "GitHub.com".to_owned()),
            ("x-github-request-id", request_id(used)),
            ("x-github-api-version-selected", api_version.to_owned()),
            ("x-ratelimit-limit", RATE_LIMIT.to_string()),
            (
                "x-ratelimit-remaining",
                RATE_LIMIT.saturating_sub(used).to_string(),
            ),
            ("x-ratelimit-used", used.min(RATE_LIMIT).to_string()),
            ("x-ratelimit-reset", self.rate_limit_reset.to_string()),
            ("x-ratelimit-resource", "core".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        if !reply.body.is_empty() {
            let json = "application/json; charset=utf-8";
            headers.push(("Content-Type".to_owned(), json.to_owned()));
        }
        // RFC 9110 §8.6: no Content-Length on 1xx, 204 or 304.
        if !matches!(reply.status, 100..=199 | 204 | 304) {
            headers.push(("Content-Length".to_owned(), reply.body.len().to_string()));
        }
        if close {
            headers.push(("Connection".to_owned(), "close".to_owned()));
        }
        headers.retain(|(name, _)| http::header(&reply.headers, name).is_none());
        headers.extend(reply.headers.iter().cloned());
        let send_body = request.method != "HEAD";
        http::encode_response(reply.status, &headers, &reply.body, send_body)
    }
}

/// What api.github.com answers when nothing is scripted: dispatches succeed, the rest is 404.
fn default_reply(method: &str, target: &str) -> Reply {
    let dispatch = path_matches("/repos/*/*/dispatches", target)
        || path_matches("/repos/*/*/actions/workflows/*/dispatches", target);
    if method == "POST" && dispatch {
        Reply::no_content()
    } else {
        Reply::not_found()
    }
}

/// Shaped like GitHub's `x-github-request-id` (five hex groups), unique per reply.
fn request_id(n: u64) -> String {
    format!(
        "C0DE:{:04X}:{:06X}:{:06X}:{:08X}",
        std::process::id() & 0xFFFF,
        n,
        n * 7,
        n * 13
    )
}

/// `pattern` segments match literally, `*` matches any one non-empty segment.
pub(super) fn path_matches(pattern: &str, target: &str) -> bool {
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    let (mut want, mut have) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some("*"), Some(seg)) if !seg.is_empty() => {}
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}
