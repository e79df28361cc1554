//! The closed loop: one task and one keep-alive connection per virtual user, each starting its
//! next iteration when the previous one is done, and per-task histograms merged at the end. An
//! iteration is one request (a [`RequestTemplate`]) or, for the end-user flows, several requests
//! in a row on the same connection (see [`Iteration`]); its latency is that of the whole.
//!
//! Timeline of a run: `warmup` (requests sent, nothing recorded), then the measured window of
//! `duration`. A request counts when it was *sent* inside the window; requests in flight at the
//! end of the window are awaited and counted, and the elapsed time runs until the last of them
//! is done. With a request budget (`--requests`) the window ends earlier, when the budget is
//! spent. Every request has a timeout, so a run always ends by itself.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tokio::task::JoinSet;

use crate::client::{Body, Conn};
use crate::error::{Context, Error, Result};
use crate::request::RequestTemplate;

/// Highest latency the histograms hold, in microseconds (longer ones are clamped).
const MAX_LATENCY_US: u64 = 120_000_000;
/// Pause after a failed connect, so a dead server is not hammered in a tight loop.
const CONNECT_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// What one run does.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Connections (virtual users).
    pub concurrency: usize,
    /// Unrecorded load before the measured window.
    pub warmup: Duration,
    /// Length of the measured window.
    pub duration: Duration,
    /// Stop the measured window after this many requests, if set.
    pub requests: Option<u64>,
    /// Longest wait for a connect or a whole response.
    pub timeout: Duration,
    /// Where the virtual users connect instead of their URL's address, round-robin (several
    /// nodes behind one public URL, as a load balancer spreads them); empty: the URL's.
    pub spread: Arc<[SocketAddr]>,
}

/// A latency histogram in microseconds, 3 significant digits.
pub fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).context(|| "creating a histogram".to_owned())
}

/// Counters and latencies of the measured window.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency of every response (any status), microseconds.
    pub hist: Histogram<u64>,
    /// 2xx responses.
    pub ok: u64,
    /// Responses with another status.
    pub non2xx_status: u64,
    /// Transport errors: failed connects, broken connections, timeouts.
    pub errors: u64,
    /// Body bytes read.
    pub bytes: u64,
    /// Connections found closed between requests and opened again.
    pub reconnects: u64,
    /// Responses per status code.
    pub by_status: BTreeMap<u16, u64>,
    /// The last transport error seen, for the log.
    pub last_error: Option<String>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Result<Self> {
        Ok(Self {
            hist: new_histogram()?,
            ok: 0,
            non2xx_status: 0,
            errors: 0,
            bytes: 0,
            reconnects: 0,
            by_status: BTreeMap::new(),
            last_error: None,
        })
    }

    /// Records one response.
    pub fn response(&mut self, status: StatusCode, bytes: u64, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
        self.hist.saturating_record(us);
        if status.is_success() {
            self.ok += 1;
        } else {
            self.non2xx_status += 1;
        }
        self.bytes += bytes;
        *self.by_status.entry(status.as_u16()).or_insert(0) += 1;
    }

    /// Records one transport error.
    pub fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        self.last_error = Some(e.to_string());
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Tally) -> Result<()> {
        self.hist.add(&other.hist).context(|| "merging histograms".to_owned())?;
        self.ok += other.ok;
        self.non2xx_status += other.non2xx_status;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.reconnects += other.reconnects;
        for (status, n) in other.by_status {
            *self.by_status.entry(status).or_insert(0) += n;
        }
        if other.last_error.is_some() {
            self.last_error = other.last_error;
        }
        Ok(())
    }
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// Merged counters of all connections.
    pub tally: Tally,
    /// From the start of the measured window until the last counted response.
    pub elapsed: Duration,
    /// True when a request budget was set and spent (false: the duration ran out first).
    pub budget_spent: bool,
}

struct Plan {
    measure_start: Instant,
    end: Instant,
    budget: Option<AtomicU64>,
    timeout: Duration,
}

impl Plan {
    /// Takes one request from the budget; false when it is spent.
    fn claim(&self) -> bool {
        match &self.budget {
            None => true,
            Some(b) => b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok(),
        }
    }
}

/// Why an iteration did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IterationError {
    /// What went wrong, for the log.
    pub message: String,
    /// False when the connection may be broken and must be opened again.
    pub conn_ok: bool,
}

impl IterationError {
    /// The connection failed (closed, reset, timed out): it is dropped.
    pub fn transport(e: impl std::fmt::Display) -> Self {
        Self { message: e.to_string(), conn_ok: false }
    }

    /// The server answered, but not as the flow expects; the connection is still usable.
    pub fn protocol(e: impl std::fmt::Display) -> Self {
        Self { message: e.to_string(), conn_ok: true }
    }
}

/// What one completed iteration answered: the status that decides it (the last response's, or
/// the first unexpected one) and the body bytes read.
pub type Outcome = std::result::Result<(StatusCode, u64), IterationError>;

/// The work of one virtual user: one iteration per loop turn, on the user's connection.
pub trait Iteration: Send + 'static {
    /// Where to connect.
    fn addr(&self) -> SocketAddr;
    /// Runs one iteration on `conn` (bounded by the caller's timeout).
    fn iterate(&mut self, conn: &mut Conn) -> impl Future<Output = Outcome> + Send;
}

/// The plain scenarios: the same request over and over.
#[derive(Debug, Clone)]
pub struct Repeat(pub Arc<RequestTemplate>);

impl Iteration for Repeat {
    fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    async fn iterate(&mut self, conn: &mut Conn) -> Outcome {
        exchange(conn, self.0.build()).await.map_err(IterationError::transport)
    }
}

/// Sends a request and reads the whole body; returns the status and the body length.
pub async fn exchange(conn: &mut Conn, req: Request<Body>) -> hyper::Result<(StatusCode, u64)> {
    let resp = conn.send(req).await?;
    let status = resp.status();
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes))
}

async fn virtual_user<W: Iteration>(
    mut work: W,
    plan: Arc<Plan>,
    mut tally: Tally,
    node: Option<SocketAddr>,
) -> Tally {
    let mut conn: Option<Conn> = None;
    loop {
        let now = Instant::now();
        if now >= plan.end {
            break;
        }
        let measured = now >= plan.measure_start;
        if measured && !plan.claim() {
            break;
        }
        let open = match conn.take() {
            Some(mut c) => {
                if c.ready().await {
                    Some(c)
                } else {
                    tally.reconnects += 1;
                    None
                }
            }
            None => None,
        };
        let mut c = match open {
            Some(c) => c,
            None => {
                match tokio::time::timeout(plan.timeout, Conn::connect(node.unwrap_or_else(|| work.addr())))
                    .await
                {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        if measured {
                            tally.error(e);
                        }
                        tokio::time::sleep(CONNECT_RETRY_PAUSE).await;
                        continue;
                    }
                    Err(_) => {
                        if measured {
                            tally.error(format!("connect timed out after {:?}", plan.timeout));
                        }
                        continue;
                    }
                }
            }
        };
        let sent = Instant::now();
        match tokio::time::timeout(plan.timeout, work.iterate(&mut c)).await {
            Ok(Ok((status, bytes))) => {
                if measured {
                    tally.response(status, bytes, sent.elapsed());
                }
                conn = Some(c);
            }
            Ok(Err(e)) => {
                if measured {
                    tally.error(&e.message);
                }
                if e.conn_ok {
                    conn = Some(c);
                }
            }
            Err(_) => {
                if measured {
                    tally.error(format!("no response within {:?}", plan.timeout));
                }
            }
        }
    }
    tally
}

/// Runs `cfg.concurrency` closed-loop connections repeating `template`.
pub async fn run(template: &RequestTemplate, cfg: &RunConfig) -> Result<RunStats> {
    let template = Arc::new(template.clone());
    run_users((0..cfg.concurrency).map(|_| Repeat(Arc::clone(&template))).collect(), cfg).await
}

/// Runs one closed-loop connection per element of `users` (there must be `cfg.concurrency`).
pub async fn run_users<W: Iteration>(users: Vec<W>, cfg: &RunConfig) -> Result<RunStats> {
    if cfg.concurrency == 0 {
        return Err(Error::msg("concurrency must be at least 1"));
    }
    if users.len() != cfg.concurrency {
        return Err(Error::msg(format!("{} virtual users for concurrency {}", users.len(), cfg.concurrency)));
    }
    let mut tallies = Vec::with_capacity(cfg.concurrency);
    for _ in 0..cfg.concurrency {
        tallies.push(Tally::new()?);
    }
    let start = Instant::now();
    let plan = Arc::new(Plan {
        measure_start: start + cfg.warmup,
        end: start + cfg.warmup + cfg.duration,
        budget: cfg.requests.map(AtomicU64::new),
        timeout: cfg.timeout,
    });
    let mut set = JoinSet::new();
    for (i, (work, tally)) in users.into_iter().zip(tallies).enumerate() {
        let node = (!cfg.spread.is_empty()).then(|| cfg.spread[i % cfg.spread.len()]);
        set.spawn(virtual_user(work, Arc::clone(&plan), tally, node));
    }
    let mut total = Tally::new()?;
    while let Some(done) = set.join_next().await {
        total.merge(done.context(|| "a connection task failed".to_owned())?)?;
    }
    let elapsed = Instant::now().saturating_duration_since(plan.measure_start);
    let budget_spent = plan.budget.as_ref().is_some_and(|b| b.load(Ordering::Relaxed) == 0);
    Ok(RunStats { tally: total, elapsed, budget_spent })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_merge() {
        let mut a = Tally::new().expect("histogram");
        a.response(StatusCode::OK, 100, Duration::from_millis(1));
        a.response(StatusCode::UNAUTHORIZED, 50, Duration::from_millis(3));
        let mut b = Tally::new().expect("histogram");
        b.response(StatusCode::OK, 100, Duration::from_millis(2));
        b.error("reset");
        a.merge(b).expect("same bounds");
        assert_eq!((a.ok, a.non2xx_status, a.errors, a.bytes), (2, 1, 1, 250));
        assert_eq!(a.hist.len(), 3);
        assert_eq!(a.by_status.get(&200), Some(&2));
        assert_eq!(a.by_status.get(&401), Some(&1));
        assert_eq!(a.last_error.as_deref(), Some("reset"));
        assert!((a.hist.value_at_quantile(0.5) as i64 - 2000).abs() <= 2);
    }

    #[test]
    fn latencies_are_clamped_not_lost() {
        let mut t = Tally::new().expect("histogram");
        t.response(StatusCode::OK, 0, Duration::ZERO);
        t.response(StatusCode::OK, 0, Duration::from_secs(3600));
        assert_eq!(t.hist.len(), 2);
        assert_eq!(t.hist.min(), 1);
    }

    #[test]
    fn budget_claims_stop_at_zero() {
        let now = Instant::now();
        let plan = Plan {
            measure_start: now,
            end: now,
            budget: Some(AtomicU64::new(2)),
            timeout: Duration::from_secs(1),
        };
        assert!(plan.claim() && plan.claim());
        assert!(!plan.claim());
        let unlimited = Plan { budget: None, ..plan };
        assert!(unlimited.claim());
    }
}
