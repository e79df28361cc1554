//! Tokens issued, per grant and per kind and format of token, and how long the signer took for
//! each signature, per algorithm. Every series exists from the start (at 0), each a handle
//! kept in a table, so counting is one atomic add with no lookup.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::Histogram;
use tessera_core::model::{AccessTokenFormat, GrantType, SigningAlg};

/// Upper bounds of the signing-latency buckets, in seconds: 25 µs (ES256 in software) to 1 s
/// (an HSM under load).
const SIGN_BOUNDS: [f64; 13] =
    [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0];

/// A token issued, as the metrics tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Issued {
    /// An access token in the client's format.
    Access(AccessTokenFormat),
    /// An ID token (a JWT).
    Id,
    /// A refresh token (opaque).
    Refresh,
}

impl Issued {
    const ALL: [Self; 4] = [
        Self::Access(AccessTokenFormat::Jwt),
        Self::Access(AccessTokenFormat::Opaque),
        Self::Id,
        Self::Refresh,
    ];

    fn index(self) -> usize {
        match self {
            Self::Access(AccessTokenFormat::Jwt) => 0,
            Self::Access(AccessTokenFormat::Opaque) => 1,
            Self::Id => 2,
            Self::Refresh => 3,
        }
    }

    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Self::Access(AccessTokenFormat::Jwt) => ("access", "jwt"),
            Self::Access(AccessTokenFormat::Opaque) => ("access", "opaque"),
            Self::Id => ("id", "jwt"),
            Self::Refresh => ("refresh", "opaque"),
        }
    }
}

/// The labels of an issued-tokens series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IssuedLabels {
    grant: &'static str,
    token: &'static str,
    format: &'static str,
}

/// The labels of a signing-latency series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AlgLabels {
    alg: &'static str,
}

/// Makes each signing series' histogram with [`SIGN_BOUNDS`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SignBuckets;

impl MetricConstructor<Histogram> for SignBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(SIGN_BOUNDS)
    }
}

/// Issued tokens and signing latency.
#[derive(Debug)]
pub struct IssueMetrics {
    pub(super) issued: Family<IssuedLabels, Counter>,
    /// By the grant's place in `GrantType::ALL`, then by `Issued::index`.
    table: [[Counter; 4]; GrantType::ALL.len()],
    pub(super) signing: Family<AlgLabels, Histogram, SignBuckets>,
    sign_table: [Histogram; 4],
}

impl IssueMetrics {
    pub(super) fn new() -> Self {
        let issued = Family::<IssuedLabels, Counter>::default();
        let table = GrantType::ALL.map(|grant| {
            Issued::ALL.map(|kind| {
                let (token, format) = kind.labels();
                issued.get_or_create_owned(&IssuedLabels { grant: grant.as_str(), token, format })
            })
        });
        let signing = Family::new_with_constructor(SignBuckets);
        let sign_table =
            SigningAlg::ALL.map(|alg| signing.get_or_create_owned(&AlgLabels { alg: alg.as_str() }));
        Self { issued, table, signing, sign_table }
    }

    /// Counts a token issued by `grant`.
    pub fn issued(&self, grant: GrantType, kind: Issued) {
        if let Some(row) = GrantType::ALL.iter().position(|g| *g == grant).and_then(|i| self.table.get(i)) {
            row[kind.index()].inc();
        }
    }

    /// Counts one signature with `alg` that took `took`, queueing included. (`ALL` is a
    /// constant of four: the search is a few compares.)
    pub fn signed(&self, alg: SigningAlg, took: Duration) {
        if let Some(series) =
            SigningAlg::ALL.iter().position(|a| *a == alg).and_then(|i| self.sign_table.get(i))
        {
            series.observe(took.as_secs_f64());
        }
    }
}
