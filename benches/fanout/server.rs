//! A lean stand-in for api.github.com on 127.0.0.1: keep-alive HTTP/1.1, every request held
//! for the configured latency and answered 204, optionally a sliding-window limit that answers
//! 403 "secondary rate limit" with `Retry-After` as GitHub does.
//!
//! Unlike `tests/it/support`'s `FakeGitHub` it records nothing per request (no bodies, no header
//! copies, no per-request lock unless a limit is set), so at 10,000 requests the server's own
//! cost stays out of the client's numbers.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\nServer: fanout-bench\r\n\r\n";
const SECONDARY_LIMIT_BODY: &str = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}"#;

/// How the server answers.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Each request is held this long (after it is fully read) before the answer.
    pub latency: Duration,
    /// At most this many admitted requests in any sliding window; the rest get 403.
    pub limit: Option<(usize, Duration)>,
    /// A second window enforced with the first (as GitHub's 80/min and 500/h).
    pub second: Option<(usize, Duration)>,
}

/// What the server saw; read after the client has exited.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
    /// 403/429 answers (rate limited).
    pub limited: AtomicU64,
    pub connections: AtomicU64,
    /// Total time requests were held (arrival to answer written), for the mean hold: the
    /// timer rounds `latency` up to its 1 ms tick, and that is not the client's doing.
    pub held_nanos: AtomicU64,
}

impl Counters {
    pub fn mean_hold(&self) -> Option<Duration> {
        let requests = self.requests.load(Ordering::Relaxed);
        (requests > 0)
            .then(|| Duration::from_nanos(self.held_nanos.load(Ordering::Relaxed) / requests))
    }
}

pub struct Server {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(behaviour: Behaviour) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fanout-bench-server".into())
            .spawn({
                let counters = Arc::clone(&counters);
                move || serve(listener, behaviour, counters, stopped, ready_tx)
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("server thread died while starting"))??;
        Ok(Server {
            addr,
            counters,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Shared {
    behaviour: Behaviour,
    counters: Arc<Counters>,
    /// Per `Authorization` header (an identity), the admitted requests' arrivals.
    admitted: Mutex<std::collections::HashMap<Vec<u8>, VecDeque<Instant>>>,
    alarm: Alarm,
}

/// Wakes a task at an instant to within a fraction of a millisecond. tokio's timer rounds every
/// sleep up to its next 1 ms tick, which over 16 rounds of 50 ms adds 2 to 3 % to the wall
/// time: the server's doing, not the client's.
struct Alarm {
    requests: mpsc::Sender<(Instant, oneshot::Sender<()>)>,
}

impl Alarm {
    fn start() -> std::io::Result<Alarm> {
        let (requests, incoming) = mpsc::channel();
        std::thread::Builder::new()
            .name("fanout-bench-alarm".into())
            .spawn(move || ring(&incoming))?;
        Ok(Alarm { requests })
    }

    async fn sleep_until(&self, at: Instant) {
        let (wake, woken) = oneshot::channel();
        if self.requests.send((at, wake)).is_ok() {
            let _ = woken.await;
        } else {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        }
    }
}

/// Every request asks for the same delay and they arrive in order, so a queue is a schedule.
/// Ends when the server (the only sender) is dropped.
fn ring(incoming: &mpsc::Receiver<(Instant, oneshot::Sender<()>)>) {
    let mut queue: VecDeque<(Instant, oneshot::Sender<()>)> = VecDeque::new();
    loop {
        let now = Instant::now();
        while queue.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, wake)) = queue.pop_front() {
                let _ = wake.send(());
            }
        }
        let received = match queue.front() {
            None => incoming.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some((at, _)) => incoming.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(entry) => queue.push_back(entry),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    behaviour: Behaviour,
    counters: Arc<Counters>,
    mut stopped: oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    // One thread: the machine has two cores and the client under test needs them more.
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
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let alarm = match Alarm::start() {
            Ok(alarm) => alarm,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let shared = Arc::new(Shared {
            behaviour,
            counters,
            admitted: Mutex::new(std::collections::HashMap::new()),
            alarm,
        });
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        shared.counters.connections.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(connection(stream, Arc::clone(&shared)));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
            }
        }
    });
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        let Some((head_end, body_len)) = next_request(&mut stream, &mut buf).await else {
            return;
        };
        let identity = authorization(&buf[..head_end]);
        buf.drain(..head_end + body_len);

        let arrived = Instant::now();
        let counters = &shared.counters;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let now = counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::Relaxed);
        // Admission is decided on arrival, as GitHub counts requests when they reach it.
        let retry_after = shared.admit(&identity);
        if !shared.behaviour.latency.is_zero() {
            shared
                .alarm
                .sleep_until(arrived + shared.behaviour.latency)
                .await;
        }
        let written = match retry_after {
            None => stream.write_all(NO_CONTENT).await,
            Some(secs) => {
                counters.limited.fetch_add(1, Ordering::Relaxed);
                let reply = format!(
                    "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json; charset=utf-8\r\n\
                     Retry-After: {secs}\r\nContent-Length: {}\r\n\r\n{SECONDARY_LIMIT_BODY}",
                    SECONDARY_LIMIT_BODY.len()
                );
                stream.write_all(reply.as_bytes()).await
            }
        };
        counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        let held = u64::try_from(arrived.elapsed().as_nanos()).unwrap_or(u64::MAX);
        counters.held_nanos.fetch_add(held, Ordering::Relaxed);
        if written.is_err() {
            return;
        }
    }
}

impl Shared {
    /// `None` admits the request; `Some(secs)` is the `Retry-After` of a refusal. Refused
    /// requests do not count toward the window (as in `FakeGitHub`).
    fn admit(&self, identity: &[u8]) -> Option<u64> {
        self.behaviour.limit?;
        let windows: Vec<(usize, Duration)> = [self.behaviour.limit, self.behaviour.second]
            .into_iter()
            .flatten()
            .collect();
        let longest = windows.iter().map(|(_, w)| *w).max()?;
        let now = Instant::now();
        let mut all = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        let admitted = all.entry(identity.to_vec()).or_default();
        while admitted
            .front()
            .is_some_and(|&t| now.duration_since(t) >= longest)
        {
            admitted.pop_front();
        }
        let mut wait = Duration::ZERO;
        for (max, window) in windows {
            let within: Vec<&Instant> = admitted
                .iter()
                .filter(|&&t| now.duration_since(t) < window)
                .collect();
            if within.len() >= max {
                let oldest = within[within.len() - max];
                wait = wait.max(window.saturating_sub(now.duration_since(*oldest)));
            }
        }
        if wait.is_zero() {
            admitted.push_back(now);
            return None;
        }
        Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    }
}

/// The `Authorization` header's value, lowercased name matched; empty when there is none.
fn authorization(head: &[u8]) -> Vec<u8> {
    head.split(|&b| b == b'\n')
        .find(|line| line.len() > 14 && line[..14].eq_ignore_ascii_case(b"authorization:"))
        .map(|line| line[14..].trim_ascii().to_vec())
        .unwrap_or_default()
}

/// Reads the next request of a kept-alive connection into `buf` (which keeps any bytes of the
/// request after it): the lengths of its head and of its body, or `None` once the client has
/// closed. The one request reader of the bench's servers (this one, `memory`'s, `waits`').
pub async fn next_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(usize, usize)> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    };
    let body_len = content_length(&buf[..head_end]);
    while buf.len() < head_end + body_len {
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    Some((head_end, body_len))
}

/// Serves `listener` on a thread of its own (one tokio thread, as [`Server`]), each connection
/// handed to `connection`, until the process ends: the stand-ins of `memory` and `waits`.
pub fn serve_detached<F, Fut>(listener: std::net::TcpListener, connection: F)
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream));
            }
        });
    });
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head);
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}
