//! `FakeGitHub`: a scripted stand-in for api.github.com on 127.0.0.1, usable from plain
//! synchronous tests that run the real binary.
//!
//! It speaks raw HTTP/1.1 over tokio's `TcpListener` rather than hyper/axum so a test can
//! script faults exactly: a TCP reset, a silent hang, a lying header.

use super::http;
use super::reply::Script;
use super::server::{self, lock, path_matches, Hold, Route, State};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path plus query, exactly as sent.
    pub path: String,
    /// Names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request (head and body) had been read.
    pub received_at: Instant,
    /// Requests sharing an id came over one kept-alive connection.
    pub connection_id: u64,
}

impl Recorded {
    /// Case-insensitive; the first value when a header repeats.
    pub fn header(&self, name: &str) -> Option<&str> {
        http::header(&self.headers, name)
    }

    /// The body as JSON; panics with the body text when it is not JSON.
    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {} body is not JSON ({e}): {:?}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// The fake server. Dropping it stops the server and aborts any connection still open.
pub struct FakeGitHub {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Binds 127.0.0.1 on a free port and serves from a background thread with its own
    /// runtime, so the caller needs none. Panics if the loopback socket cannot be set up.
    pub fn start() -> Self {
        Self::start_on(Ipv4Addr::LOCALHOST)
    }

    /// The same on another loopback address: `FakeGitHub::other_host()` is "another host"
    /// (127.0.0.2) for tests of what may and may not cross to a host the configuration does
    /// not name.
    pub fn other_host() -> Self {
        Self::start_on(Ipv4Addr::new(127, 0, 0, 2))
    }

    /// Binds `ip` (a loopback address) on a free port.
    pub fn start_on(ip: Ipv4Addr) -> Self {
        assert!(
            ip.is_loopback(),
            "FakeGitHub serves loopback only, not {ip}"
        );
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap_or_else(|e| {
            // macOS answers only 127.0.0.1 until another address is added to lo0 (ci.yml does).
            let hint = if cfg!(target_os = "macos") && ip != Ipv4Addr::LOCALHOST {
                format!(" (on macOS: sudo ifconfig lo0 alias {ip} up)")
            } else {
                String::new()
            };
            panic!("FakeGitHub: cannot bind {ip}:0: {e}{hint}")
        });
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("FakeGitHub: no local address: {e}"));
        let state = Arc::new(State::new());
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("fake-github-{}", addr.port()))
            .spawn({
                let state = Arc::clone(&state);
                move || server::serve(listener, state, stopped, ready_tx)
            })
            .unwrap_or_else(|e| panic!("FakeGitHub: cannot spawn its thread: {e}"));
        // Wait until the listener is registered so the first request cannot race the start.
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("FakeGitHub: cannot start: {e}"),
            Err(_) => panic!("FakeGitHub: server thread died while starting"),
        }
        Self {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<ip>:<port>`, without a trailing slash, for the client's API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Scripts `method path`; `*` in `path` matches one segment (`/repos/acme/*/dispatches`).
    /// Scripting the same method and path again replaces the script and restarts it.
    pub fn on(&self, method: &str, path: &str, script: impl Into<Script>) {
        let route = Route {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            script: script.into(),
            served: 0,
        };
        let mut routes = lock(&self.state.routes);
        routes.retain(|r| !(r.method == route.method && r.path == route.path));
        routes.push(route);
    }

    /// Starts every route's script again from its first reply (for running the same scenario
    /// several times against one server).
    pub fn restart_scripts(&self) {
        lock(&self.state.routes)
            .iter_mut()
            .for_each(|r| r.served = 0);
    }

    /// A barrier instead of a delay: every answer is held until `n` requests are held at once
    /// (then all go, and later ones are not held), or until [`FakeGitHub::release_answers`].
    /// A client that keeps `n` requests in flight meets it however slow the machine is.
    pub fn hold_answers_until_in_flight(&self, n: usize) {
        self.state.gate.set(Hold::UntilHeld { n, held: 0 });
    }

    /// The first `n` requests are answered; every later one is held, unanswered, until
    /// [`FakeGitHub::release_answers`] (or until the fake is dropped): a run caught mid-way at
    /// a known point.
    pub fn hold_answers_after(&self, n: usize) {
        self.state.gate.set(Hold::After { n, seen: 0 });
    }

    /// Answers every held request (and `Reply::held` answers), and every later one, at once.
    pub fn release_answers(&self) {
        self.state.gate.open();
    }

    /// Blocks until at least `n` requests have arrived (a run that never sends them fails the
    /// test after a minute instead of hanging it).
    pub fn wait_for_requests(&self, n: usize) {
        self.wait_until(&format!("{n} request(s)"), |requests| requests.len() >= n);
    }

    /// Blocks until at least `n` requests to `path` have arrived (or fails after a minute);
    /// returns them.
    pub fn wait_for_requests_to(&self, path: &str, n: usize) -> Vec<Recorded> {
        self.wait_until(&format!("{n} request(s) to {path}"), |requests| {
            requests
                .iter()
                .filter(|r| path_matches(path, &r.path))
                .count()
                >= n
        });
        self.requests_to(path)
    }

    /// The one "until the server has seen" loop: a minute, then the test fails.
    fn wait_until(&self, expected: &str, seen: impl Fn(&[Recorded]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let requests = lock(&self.state.requests);
            if seen(&requests) {
                return;
            }
            let arrived = requests.len();
            drop(requests);
            assert!(
                Instant::now() < deadline,
                "FakeGitHub: {arrived} request(s) arrived, {expected} expected"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// From now on a request without `Authorization: Bearer <token>` gets 401 Bad credentials.
    pub fn require_token(&self, token: &str) {
        lock(&self.state.settings).token = Some(token.to_owned());
    }

    /// Emulates GitHub's secondary limit: a POST that would make more than `max_posts`
    /// accepted POSTs within any `window` gets `Reply::secondary_rate_limit()` with
    /// `retry-after`. Rejected POSTs do not count toward the window, so a client that backs
    /// off as told gets through; a rejected POST does not consume a step of its route's script.
    pub fn limit_per_window(&self, max_posts: usize, window: Duration) {
        lock(&self.state.settings).window = Some((max_posts, window));
    }

    /// GitHub's per-identity limit: a POST that would make more than `max_posts`
    /// accepted POSTs with the same token within any `window` gets 429 with `retry-after` and
    /// `x-ratelimit-remaining: 0`; each token counts alone.
    pub fn limit_per_token(&self, max_posts: usize, window: Duration) {
        lock(&self.state.settings).per_token = Some((max_posts, window));
    }

    /// Every token's budget whole again, as after its window has passed.
    pub fn forget_token_budgets(&self) {
        self.state.forget_token_budgets();
    }

    /// How many POSTs `limit_per_token` turned away.
    pub fn over_token_limit_replies(&self) -> usize {
        self.state.over_token_limit.load(Ordering::SeqCst)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    /// Requests whose path (query ignored) matches `path`; `*` matches one segment.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        lock(&self.state.requests)
            .iter()
            .filter(|r| path_matches(path, &r.path))
            .cloned()
            .collect()
    }

    /// The most requests ever held at once (read, not yet answered).
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// How many POSTs `limit_per_window` turned away.
    pub fn rate_limited_replies(&self) -> usize {
        self.state.rate_limited.load(Ordering::SeqCst)
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
