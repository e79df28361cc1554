//! Metrics: what Tessera counts and measures, and the Prometheus text (OpenMetrics 1.0) a
//! scrape of `GET /metrics` gets. Owns the registry of the series counted on the request path
//! (requests and latency per endpoint and status, tokens issued, signing latency, lookups of
//! the verified-JWT cache) and the rendering of a scrape, which adds what is read only then
//! ([`Live`]: open connections, refusals of every limit, cache lookups, the signer's queue,
//! the store's group commits).
//!
//! Labels are fixed names or numbers chosen by the server: never a token, a secret, a path or
//! anything a client sent. There is no tenant label: tenant ids are chosen by operators but
//! unbounded in number, and a tenant's traffic is better read from its audit events; every
//! series is the sum over tenants.
//!
//! Cost on the request path: two clock reads and one histogram update per request (a table
//! lookup, no label building, no map), one counter add per token issued, one histogram update
//! per signature. Everything else is counted with plain atomics by its owner and read at
//! scrape time.

pub mod http;
pub mod issued;
pub mod listener;
pub mod scrape;

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use tessera_storage::{BucketsSnapshot, CommitReading};

use self::http::HttpMetrics;
use self::issued::IssueMetrics;

/// The media type of a scrape's answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Hits and misses of a cache the server owns.
#[derive(Debug, Default)]
pub struct Lookups {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Lookups {
    /// Counts a lookup that found (`true`) or did not find its entry.
    pub fn count(&self, hit: bool) {
        let slot = if hit { &self.hits } else { &self.misses };
        slot.fetch_add(1, Ordering::Relaxed);
    }

    /// `(hits, misses)` so far.
    pub fn read(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

/// Everything counted on the request path.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests and latency per endpoint and status.
    pub http: HttpMetrics,
    /// Tokens issued and signing latency.
    pub issue: IssueMetrics,
    /// The verified-JWT cache (`App::verified_jwts`).
    pub verified_jwts: Lookups,
}

impl Metrics {
    /// The series, all registered.
    pub fn new() -> Self {
        let http = HttpMetrics::new();
        let issue = IssueMetrics::new();
        let mut registry = Registry::with_prefix("tessera");
        registry.register(
            "http_request_duration_seconds",
            "Requests by endpoint (the route's name) and status, and how long each took to answer",
            http.family(),
        );
        registry.register(
            "tokens_issued",
            "Tokens issued, by grant, kind of token (access, id, refresh) and format",
            issue.issued.clone(),
        );
        registry.register(
            "signer_sign_duration_seconds",
            "How long each signature took, waiting for the signer included, by algorithm",
            issue.signing.clone(),
        );
        Self { registry, http, issue, verified_jwts: Lookups::default() }
    }

    /// The text of a scrape: the series counted on the request path, then `live`.
    pub fn render(&self, live: &Live) -> String {
        let mut out = String::with_capacity(32 * 1024);
        // Writing to a `String` cannot fail; an encoder error would be a bug in a metric.
        if let Err(err) = write(&mut out, &self.registry, &live.registry()) {
            tracing::error!(%err, "metrics did not encode");
        }
        out
    }
}

fn write(out: &mut String, counted: &Registry, live: &Registry) -> std::fmt::Result {
    encode_registry(out, counted)?;
    encode_registry(out, live)?;
    encode_eof(out)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What a scrape reads from the parts that count for themselves.
#[derive(Debug, Default)]
pub struct Live {
    /// Connections open now.
    pub open_connections: usize,
    /// Refusals by limit: `(limit, count)`.
    pub refusals: Vec<(&'static str, u64)>,
    /// Cache lookups: `(cache, (hits, misses))`.
    pub caches: Vec<(&'static str, (u64, u64))>,
    /// Signatures waiting for the signer (an HSM's queue).
    pub signer_queue: usize,
    /// Whether the store takes writes.
    pub store_writable: bool,
    /// The store's group commits, when the store counts them.
    pub commits: Option<CommitReading>,
    /// Audit events handed to the store.
    pub audit_recorded: u64,
    /// Audit events dropped, by why: `(reason, count)`.
    pub audit_dropped: Vec<(&'static str, u64)>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

impl Live {
    /// A registry of this reading, made per scrape (a scrape is rare; the request path never
    /// pays for these).
    fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix("tessera");
        let open = Gauge::<i64>::default();
        open.set(i64::try_from(self.open_connections).unwrap_or(i64::MAX));
        registry.register("connections_open", "Connections open now", open);
        let refusals = Family::<LimitLabels, Counter>::default();
        for &(limit, n) in &self.refusals {
            refusals.get_or_create(&LimitLabels { limit }).inc_by(n);
        }
        registry.register(
            "refusals",
            "Requests and connections refused by a limit (429 or 503), by limit",
            refusals,
        );
        let caches = Family::<CacheLabels, Counter>::default();
        for &(cache, (hits, misses)) in &self.caches {
            caches.get_or_create(&CacheLabels { cache, result: "hit" }).inc_by(hits);
            caches.get_or_create(&CacheLabels { cache, result: "miss" }).inc_by(misses);
        }
        registry.register("cache_lookups", "Lookups of in-memory caches, by cache and result", caches);
        let queue = Gauge::<i64>::default();
        queue.set(i64::try_from(self.signer_queue).unwrap_or(i64::MAX));
        registry.register(
            "signer_queue_depth",
            "Signatures waiting for the signer (PKCS#11: its queue)",
            queue,
        );
        let writable = Gauge::<i64>::default();
        writable.set(i64::from(self.store_writable));
        registry.register(
            "store_writable",
            "1 while the store takes writes, 0 once it refuses them",
            writable,
        );
        let recorded = Counter::<u64>::default();
        recorded.inc_by(self.audit_recorded);
        registry.register(
            "audit_events_recorded",
            "Audit events handed to the store's group commit",
            recorded,
        );
        let dropped = Family::<DropLabels, Counter>::default();
        for &(reason, n) in &self.audit_dropped {
            dropped.get_or_create(&DropLabels { reason }).inc_by(n);
        }
        registry.register(
            "audit_events_dropped",
            "Audit events not recorded, by reason (store_busy: the store's queue was full; \
             rate_limited: past a tenant's bound on failure events)",
            dropped,
        );
        if let Some(commits) = &self.commits {
            registry.register(
                "store_commit_duration_seconds",
                "Each group commit, from its first write applied to its fsync done",
                Snapshot::of(&commits.micros, 1e6),
            );
            registry.register(
                "store_commit_writes",
                "Writes made durable by each group commit (one fsync)",
                Snapshot::of(&commits.group_size, 1.0),
            );
        }
        registry
    }
}

/// A histogram read from the store's counts, in its unit (counts divided by `per_unit`: a
/// division, so that 1000 µs is exactly the 0.001 s a reader expects as a bound).
#[derive(Debug)]
struct Snapshot {
    sum: f64,
    count: u64,
    /// Per bucket (not cumulative: the encoder adds them up), the last `+Inf`.
    buckets: Vec<(f64, u64)>,
}

impl Snapshot {
    fn of(reading: &BucketsSnapshot, per_unit: f64) -> Self {
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = reading
            .cumulative
            .iter()
            .map(|&(bound, cumulative)| {
                let here = cumulative.saturating_sub(below);
                below = cumulative;
                (bound as f64 / per_unit, here)
            })
            .collect();
        buckets.push((f64::MAX, reading.count.saturating_sub(below)));
        Self { sum: reading.sum as f64 / per_unit, count: reading.count, buckets }
    }
}

impl TypedMetric for Snapshot {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Snapshot {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_reading_becomes_a_cumulative_histogram_in_seconds() {
        let reading = BucketsSnapshot { cumulative: vec![(100, 2), (1_000, 5)], count: 6, sum: 4_000 };
        let snapshot = Snapshot::of(&reading, 1e6);
        assert_eq!(snapshot.count, 6);
        assert!((snapshot.sum - 0.004).abs() < 1e-12);
        let per_bucket: Vec<u64> = snapshot.buckets.iter().map(|b| b.1).collect();
        assert_eq!(per_bucket, vec![2, 3, 1], "per bucket; the encoder adds them up");
        let metrics = Metrics::new();
        let live = Live {
            commits: Some(CommitReading { micros: reading.clone(), group_size: reading }),
            ..Live::default()
        };
        let text = metrics.render(&live);
        assert!(text.contains("tessera_store_commit_duration_seconds_bucket{le=\"0.001\"} 5\n"), "{text}");
        assert!(text.contains("tessera_store_commit_writes_bucket{le=\"+Inf\"} 6\n"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn audit_drops_are_counted_by_reason() {
        let live = Live {
            audit_recorded: 7,
            audit_dropped: vec![("store_busy", 2), ("rate_limited", 3)],
            ..Live::default()
        };
        let text = Metrics::new().render(&live);
        assert!(text.contains("tessera_audit_events_recorded_total 7\n"), "{text}");
        assert!(text.contains("tessera_audit_events_dropped_total{reason=\"store_busy\"} 2\n"), "{text}");
        assert!(text.contains("tessera_audit_events_dropped_total{reason=\"rate_limited\"} 3\n"), "{text}");
    }
}
