//! What a connection may hold, and for how long. Owns the caps on open connections (all of
//! them, and those of one source address) and the watchdog of each connection ([`Activity`]):
//! with no request in flight a connection must begin one within the header read timeout (an
//! unfinished head, a silent connection and an idle keep-alive end there), and with one in
//! flight some byte must move within the idle timeout (a client that stops reading its answer
//! or sending its body ends there).
//!
//! Why a watchdog and not hyper's header read timeout: hyper arms a timer per request head,
//! measured at about 2,000 instructions a request; the watchdog only counts (a load and a store
//! per I/O call and per request) and looks at the counts every quarter of its limits. It also
//! covers a connection that never sends a byte (still in the automatic protocol detection,
//! which has no timer) and HTTP/2 connections, whose dead peers the keep-alive pings find.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::util::address_key;

/// Descriptors kept back from the connection cap for the store, the signer and the logs.
pub const RESERVED_DESCRIPTORS: u64 = 128;

/// The connection settings, from the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnSettings {
    /// Open connections at most; `None`: the file-descriptor limit less
    /// [`RESERVED_DESCRIPTORS`].
    pub max_connections: Option<usize>,
    /// Open connections from one source address (one IPv6 /64) at most.
    pub max_connections_per_address: usize,
    /// How long a connection with no request in flight may take to begin one (its head
    /// complete), the first byte included.
    pub header_read_timeout: Duration,
    /// How long a request in flight may go with no byte read or written.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive.
    pub body_read_timeout: Duration,
}

impl Default for ConnSettings {
    fn default() -> Self {
        Self {
            max_connections: None,
            max_connections_per_address: 512,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Raises the soft limit on open files to the hard limit, and returns the limit now in force.
pub fn raise_descriptor_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The connection cap when none is configured: what the descriptor limit leaves.
pub fn default_max_connections(descriptor_limit: u64) -> usize {
    usize::try_from(descriptor_limit.saturating_sub(RESERVED_DESCRIPTORS).max(1)).unwrap_or(usize::MAX)
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The server holds as many connections as it may.
    Full,
    /// This source address holds as many as one address may.
    AddressFull,
}

/// The counts of open connections, shared by every accept loop.
#[derive(Debug)]
pub struct Gate {
    max: usize,
    max_per_address: usize,
    open: Mutex<Open>,
    /// Connections refused: `[Full, AddressFull]` (metrics).
    refused: [AtomicU64; 2],
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// An admitted connection's place; dropping it (when the connection ends) frees the place.
#[derive(Debug)]
pub struct Admitted {
    gate: Arc<Gate>,
    source: IpAddr,
}

impl Gate {
    /// A gate admitting at most `max` connections, `max_per_address` of them from one source.
    pub fn new(max: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            max_per_address: max_per_address.max(1),
            open: Mutex::default(),
            refused: [AtomicU64::new(0), AtomicU64::new(0)],
        })
    }

    /// Admits a connection from `peer`, or says why not.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refused> {
        let source = address_key(peer);
        let mut open = self.open.lock();
        if open.total >= self.max {
            self.refused[0].fetch_add(1, Ordering::Relaxed);
            return Err(Refused::Full);
        }
        let from_source = open.by_source.entry(source).or_insert(0);
        if *from_source >= self.max_per_address {
            self.refused[1].fetch_add(1, Ordering::Relaxed);
            return Err(Refused::AddressFull);
        }
        *from_source += 1;
        open.total += 1;
        Ok(Admitted { gate: Arc::clone(self), source })
    }

    /// Open connections now, and those refused so far (`[Full, AddressFull]`), for the metrics.
    pub fn reading(&self) -> (usize, [u64; 2]) {
        let open = self.open.lock().total;
        (open, [self.refused[0].load(Ordering::Relaxed), self.refused[1].load(Ordering::Relaxed)])
    }

    /// Open connections, all and from `peer`'s source.
    #[cfg(test)]
    fn open(&self, peer: IpAddr) -> (usize, usize) {
        let open = self.open.lock();
        (open.total, open.by_source.get(&address_key(peer)).copied().unwrap_or(0))
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_source.get_mut(&self.source) {
            *count -= 1;
            if *count == 0 {
                // Only sources with open connections are kept: the map is bounded by the cap.
                open.by_source.remove(&self.source);
            }
        }
    }
}

/// The answer to a connection that is not admitted, written if the socket takes it at once.
pub fn refusal_response(why: Refused) -> &'static [u8] {
    match why {
        Refused::Full => {
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
connection: close\r\ncontent-length: 79\r\n\r\n\
{\"error\":\"temporarily_unavailable\",\"error_description\":\"too many connections\"}\n"
        }
        Refused::AddressFull => {
            b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
connection: close\r\ncontent-length: 97\r\n\r\n\
{\"error\":\"temporarily_unavailable\",\"error_description\":\"too many connections from this address\"}\n"
        }
    }
}

/// What a connection is doing, as its watchdog sees it: how many reads and writes moved bytes,
/// how many requests began, how many are being answered. Counting costs a load and a store per
/// I/O call and per request; a per-request timer (hyper's header read timeout) cost about 2,000
/// instructions a request, so the watchdog does that job by looking at these counts every
/// quarter of its limits.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    progress: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicU64,
}

/// Why the watchdog closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    /// Nothing was being answered and no request began within the header read timeout: a
    /// request head that never finishes, a connection that sends nothing, an idle keep-alive.
    NoRequest,
    /// A request was being answered but no byte moved within the idle timeout: a client that
    /// stopped reading, or sending its body.
    Stalled,
}

/// A request being answered; dropping it (the response sent, or the request abandoned) ends it.
#[derive(Debug)]
pub struct InFlight(Arc<Counts>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One writer per count (the connection's task), so a load and a store, not a locked add.
fn bump(count: &AtomicU64) {
    count.store(count.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

impl Activity {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn touch(&self) {
        bump(&self.counts.progress);
    }

    /// A request begins; it is in flight until the returned guard is dropped.
    pub fn request(&self) -> InFlight {
        bump(&self.counts.requests);
        // Requests of one HTTP/2 connection run concurrently: this one is a locked add.
        self.counts.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.counts))
    }

    /// Resolves when the connection should be closed: no request began for `header` while
    /// none was in flight, or no byte moved for `idle` while one was. Each is noticed within a
    /// quarter of its limit after it is reached.
    pub async fn watch(&self, header: Duration, idle: Duration) -> Closed {
        const QUARTERS: u32 = 4;
        let tick = (header.min(idle) / QUARTERS).max(Duration::from_millis(1));
        let (header_ticks, idle_ticks) = (ticks(header, tick), ticks(idle, tick));
        let counts = &self.counts;
        let (mut requests, mut progress) =
            (counts.requests.load(Ordering::Relaxed), counts.progress.load(Ordering::Relaxed));
        let (mut without_request, mut without_progress) = (0u64, 0u64);
        loop {
            tokio::time::sleep(tick).await;
            let now = counts.requests.load(Ordering::Relaxed);
            without_request = if now == requests { without_request + 1 } else { 0 };
            requests = now;
            let now = counts.progress.load(Ordering::Relaxed);
            without_progress = if now == progress { without_progress + 1 } else { 0 };
            progress = now;
            if counts.in_flight.load(Ordering::Relaxed) == 0 {
                if without_request >= header_ticks {
                    return Closed::NoRequest;
                }
            } else if without_progress >= idle_ticks {
                return Closed::Stalled;
            }
        }
    }
}

/// How many whole ticks make `limit` (at least one).
fn ticks(limit: Duration, tick: Duration) -> u64 {
    u64::try_from(limit.as_millis() / tick.as_millis().max(1)).unwrap_or(u64::MAX).max(1)
}

/// A stream that records its progress in an [`Activity`].
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    activity: Activity,
}

impl<S> Watched<S> {
    /// Watches `inner`.
    pub fn new(inner: S, activity: Activity) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    #[test]
    fn one_address_cannot_take_every_place() {
        let gate = Gate::new(10, 3);
        let held: Vec<_> = (0..3).map(|_| gate.admit(v4(2)).expect("admitted")).collect();
        assert_eq!(gate.admit(v4(2)).expect_err("refused"), Refused::AddressFull);
        let other = gate.admit(v4(3)).expect("another address still gets in");
        assert_eq!(gate.open(v4(2)), (4, 3));
        drop(held);
        assert_eq!(gate.open(v4(2)), (1, 0), "closed connections free their places");
        drop(other);
        assert!(gate.open.lock().by_source.is_empty(), "no empty entries are kept");
    }

    #[test]
    fn the_global_cap_holds_across_addresses() {
        let gate = Gate::new(4, 3);
        let _held: Vec<_> = (1..=4).map(|n| gate.admit(v4(n)).expect("admitted")).collect();
        assert_eq!(gate.admit(v4(9)).expect_err("refused"), Refused::Full);
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64_and_a_mapped_address_as_ipv4() {
        let gate = Gate::new(100, 2);
        let a = ip("2001:db8:1:2::1");
        let b = ip("2001:db8:1:2:ffff::9");
        let _one = gate.admit(a).expect("admitted");
        let _two = gate.admit(b).expect("admitted");
        assert_eq!(gate.admit(ip("2001:db8:1:2::77")).expect_err("refused"), Refused::AddressFull);
        assert!(gate.admit(ip("2001:db8:1:3::1")).is_ok(), "the next /64 is another source");
        let _m = gate.admit(ip("::ffff:127.0.0.5")).expect("admitted");
        let _n = gate.admit(v4(5)).expect("admitted");
        assert_eq!(
            gate.admit(v4(5)).expect_err("refused"),
            Refused::AddressFull,
            "mapped and plain are one source"
        );
    }

    #[test]
    fn refusals_are_complete_http_responses() {
        for why in [Refused::Full, Refused::AddressFull] {
            let text = std::str::from_utf8(refusal_response(why)).expect("ASCII");
            let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.parse().ok())
                .expect("a content length");
            assert_eq!(body.len(), length, "{why:?}");
            let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
            assert_eq!(json["error"], "temporarily_unavailable");
            assert!(head.contains("retry-after: 1"));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_must_begin_a_request_within_the_header_timeout() {
        let activity = Activity::new();
        let (header, idle) = (Duration::from_secs(10), Duration::from_secs(30));
        let watch = activity.watch(header, idle);
        tokio::pin!(watch);
        assert!(tokio::time::timeout(Duration::from_secs(9), watch.as_mut()).await.is_err(), "not yet");
        let closed = tokio::time::timeout(Duration::from_secs(4), watch.as_mut()).await;
        assert_eq!(closed.ok(), Some(Closed::NoRequest), "closed within 1.25 header timeouts");
        // Requests beginning within every quarter keep a connection open, however long.
        let watch = activity.watch(header, idle);
        tokio::pin!(watch);
        for _ in 0..20 {
            assert!(tokio::time::timeout(Duration::from_secs(2), watch.as_mut()).await.is_err());
            drop(activity.request());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_closed_only_when_no_byte_moves_for_the_idle_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let activity = Activity::new();
        let (mut client, server) = tokio::io::duplex(64);
        let mut watched = Watched::new(server, activity.clone());
        let mut byte = [0u8; 1];
        let (header, idle) = (Duration::from_secs(10), Duration::from_secs(30));
        let in_flight = activity.request();
        let watch = activity.watch(header, idle);
        tokio::pin!(watch);
        // A slow answer whose bytes keep moving outlives the header timeout.
        for _ in 0..10 {
            assert!(tokio::time::timeout(Duration::from_secs(2), watch.as_mut()).await.is_err());
            client.write_all(b"y").await.expect("written");
            watched.read_exact(&mut byte).await.expect("read");
        }
        // Once they stop, it is closed after the idle timeout, not the header timeout.
        assert!(tokio::time::timeout(Duration::from_secs(29), watch.as_mut()).await.is_err());
        let closed = tokio::time::timeout(Duration::from_secs(10), watch.as_mut()).await;
        assert_eq!(closed.ok(), Some(Closed::Stalled));
        drop(in_flight);
    }
}
