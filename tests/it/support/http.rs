//! Just enough HTTP/1.1 for `FakeGitHub`: read one request at a time off a kept-alive
//! connection, and encode responses byte for byte.
//!
//! Everything here is driven by the client, so nothing panics: a malformed, oversized or
//! truncated request yields `None` and the caller closes the connection.

use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub(super) struct Request {
    pub method: String,
    /// The request target as sent: path plus query.
    pub target: String,
    pub http_1_0: bool,
    /// Names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 closes unless told.
    pub fn wants_close(&self) -> bool {
        let connection = self.header("connection").unwrap_or("");
        let has = |token: &str| {
            connection
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if self.http_1_0 {
            !has("keep-alive")
        } else {
            has("close")
        }
    }
}

pub(super) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A client connection with its unread bytes; requests may arrive pipelined.
pub(super) struct Connection {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// The next request, or `None` when the client closed or sent something unusable.
    pub async fn read_request(&mut self) -> Option<Request> {
        let mut line = self.line().await?;
        // RFC 9112 §2.2: ignore empty lines before the request line (bounded by `line`).
        for _ in 0..4 {
            if !line.is_empty() {
                break;
            }
            line = self.line().await?;
        }
        let mut parts = line.split(' ');
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || method.is_empty() || !target.starts_with('/') {
            return None;
        }
        let http_1_0 = match version {
            "HTTP/1.1" => false,
            "HTTP/1.0" => true,
            _ => return None,
        };
        let (method, target) = (method.to_owned(), target.to_owned());

        let mut headers = Vec::new();
        let mut head_bytes = line.len();
        loop {
            let line = self.line().await?;
            head_bytes += line.len();
            if line.is_empty() {
                break;
            }
            if head_bytes > MAX_HEAD_BYTES || headers.len() >= MAX_HEADERS {
                return None;
            }
            let (name, value) = line.split_once(':')?;
            // A name with whitespace (or obs-fold continuation) is a smuggling vector: refuse.
            if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace()) {
                return None;
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }

        let mut request = Request {
            method,
            target,
            http_1_0,
            headers,
            body: Vec::new(),
        };
        let chunked = match request.header("transfer-encoding") {
            None => false,
            Some(te) if te.eq_ignore_ascii_case("chunked") => true,
            Some(_) => return None,
        };
        let length = if chunked {
            None
        } else {
            content_length(&request.headers)?
        };
        let expects_body = chunked || length.is_some_and(|n| n > 0);
        if expects_body
            && request
                .header("expect")
                .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .ok()?;
        }
        request.body = match length {
            Some(n) => self.bytes(n).await?,
            None if chunked => self.chunked_body().await?,
            None => Vec::new(),
        };
        Some(request)
    }

    async fn chunked_body(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await?;
            let size = line.split(';').next()?.trim();
            let size = usize::from_str_radix(size, 16).ok()?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_BODY_BYTES {
                return None;
            }
            body.extend(self.bytes(size).await?);
            if !self.line().await?.is_empty() {
                return None;
            }
        }
        // Trailers are allowed after the last chunk; skip them up to the blank line.
        while !self.line().await?.is_empty() {}
        Some(body)
    }

    /// One CRLF-terminated line without its terminator.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return String::from_utf8(line).ok();
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                return None;
            }
            self.fill().await?;
        }
    }

    async fn bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Some(self.buf.drain(..n).collect())
    }

    /// `None` on end of stream or a read error: the client went away mid-request.
    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }
}

/// `Some(None)` without the header; `None` when it is unusable (bad, conflicting, too big).
fn content_length(headers: &[(String, String)]) -> Option<Option<usize>> {
    let mut length = None;
    for (_, value) in headers.iter().filter(|(n, _)| n == "content-length") {
        let n: usize = value.parse().ok()?;
        if n > MAX_BODY_BYTES || length.is_some_and(|seen| seen != n) {
            return None;
        }
        length = Some(n);
    }
    Some(length)
}

pub(super) fn encode_response(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    send_body: bool,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if send_body {
        out.extend_from_slice(body);
    }
    out
}

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, without a date crate.
pub fn http_date(now: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}
