//! Requests per endpoint and status, with their latency: one histogram series per (endpoint,
//! status). The endpoint label is the route's fixed name, never the path (paths carry tenant
//! ids, client ids and whatever a client typed); the status is the numeric code.
//!
//! The hot path builds no label and takes no map lock: the series of the codes Tessera
//! answers with are kept in a table indexed by route and code, each made on first use; only a
//! code outside that table goes through the family's map. The one lock left is the
//! histogram's own (prometheus-client keeps its buckets behind a parking_lot `RwLock`): held
//! for a bucket increment, contended only when two arbiters observe the same series at once.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::Histogram;

use crate::router::{Endpoint, FormEndpoint, Route, WebEndpoint};

/// Upper bounds of the request-latency buckets, in seconds: 100 µs to 10 s.
const LATENCY_BOUNDS: [f64; 15] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The label of a request's endpoint: the route's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteName {
    /// `/t/{t}/.well-known/...`
    Discovery,
    /// `/t/{t}/jwks`
    Jwks,
    /// `/t/{t}/token`
    Token,
    /// `/t/{t}/introspect`
    Introspect,
    /// `/t/{t}/revoke`
    Revoke,
    /// `/t/{t}/userinfo`
    Userinfo,
    /// `/t/{t}/authorize`
    Authorize,
    /// `/t/{t}/login`
    Login,
    /// `/t/{t}/consent`
    Consent,
    /// `/t/{t}/logout`
    Logout,
    /// `/t/{t}/federation/{idp}/callback`
    FederationCallback,
    /// `/api/v1/...`
    Admin,
    /// `/healthz`
    Healthz,
    /// `/readyz`
    Readyz,
    /// `/metrics`
    Metrics,
    /// `/direct-authz/rest/v2`
    DirectAuthz,
    /// No route.
    NotFound,
}

/// How many [`RouteName`]s there are: `NotFound` is the last, so a name added before it is
/// counted (two changes that each added one cannot leave the table a row short).
const ROUTES: usize = RouteName::NotFound as usize + 1;

impl RouteName {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Jwks => "jwks",
            Self::Token => "token",
            Self::Introspect => "introspect",
            Self::Revoke => "revoke",
            Self::Userinfo => "userinfo",
            Self::Authorize => "authorize",
            Self::Login => "login",
            Self::Consent => "consent",
            Self::Logout => "logout",
            Self::FederationCallback => "federation_callback",
            Self::Admin => "admin",
            Self::Healthz => "healthz",
            Self::Readyz => "readyz",
            Self::Metrics => "metrics",
            Self::DirectAuthz => "direct_authz",
            Self::NotFound => "not_found",
        }
    }

    /// The name of a routed request (`None`: no route).
    pub fn of(route: Option<&Route>) -> Self {
        match route {
            None => Self::NotFound,
            Some(Route::Admin(_) | Route::OpenApi) => Self::Admin,
            Some(Route::Live) => Self::Healthz,
            Some(Route::Ready) => Self::Readyz,
            Some(Route::Metrics) => Self::Metrics,
            Some(Route::DirectAuthz) => Self::DirectAuthz,
            Some(Route::Tenant(_, endpoint)) => match endpoint {
                Endpoint::Discovery => Self::Discovery,
                Endpoint::Jwks => Self::Jwks,
                Endpoint::Userinfo => Self::Userinfo,
                Endpoint::Form(FormEndpoint::Token) => Self::Token,
                Endpoint::Form(FormEndpoint::Introspect) => Self::Introspect,
                Endpoint::Form(FormEndpoint::Revoke) => Self::Revoke,
                Endpoint::Web(WebEndpoint::Authorize) => Self::Authorize,
                Endpoint::Web(WebEndpoint::Login) => Self::Login,
                Endpoint::Web(WebEndpoint::Consent) => Self::Consent,
                Endpoint::Web(WebEndpoint::Logout) => Self::Logout,
                Endpoint::Web(WebEndpoint::FederationCallback) => Self::FederationCallback,
            },
        }
    }
}

/// The status codes Tessera answers with, each a column of the table of series.
const CODES: [u16; 17] =
    [200, 201, 204, 302, 303, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 502, 503];

/// The column of a status code, if it has one.
fn column(status: u16) -> Option<usize> {
    CODES.iter().position(|&code| code == status)
}

/// The labels of a request series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    endpoint: &'static str,
    status: u16,
}

/// Makes each series' histogram with [`LATENCY_BOUNDS`].
#[derive(Clone, Copy, Debug, Default)]
pub struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(LATENCY_BOUNDS)
    }
}

/// The request family and its table of series.
#[derive(Debug)]
pub struct HttpMetrics {
    family: Family<RequestLabels, Histogram, LatencyBuckets>,
    table: Box<[[OnceLock<Histogram>; CODES.len()]; ROUTES]>,
}

impl HttpMetrics {
    pub(super) fn new() -> Self {
        Self {
            family: Family::new_with_constructor(LatencyBuckets),
            table: Box::new(std::array::from_fn(|_| std::array::from_fn(|_| OnceLock::new()))),
        }
    }

    /// The family, to register.
    pub(super) fn family(&self) -> Family<RequestLabels, Histogram, LatencyBuckets> {
        self.family.clone()
    }

    /// Counts a request to `route` answered with `status` after `took`.
    pub fn observe(&self, route: RouteName, status: u16, took: Duration) {
        let labels = || RequestLabels { endpoint: route.as_str(), status };
        let secs = took.as_secs_f64();
        match column(status) {
            Some(col) => self.table[route as usize][col]
                .get_or_init(|| self.family.get_or_create_owned(&labels()))
                .observe(secs),
            None => self.family.get_or_create(&labels()).observe(secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_name_has_a_row() {
        let names = [
            RouteName::Discovery,
            RouteName::Jwks,
            RouteName::Token,
            RouteName::Introspect,
            RouteName::Revoke,
            RouteName::Userinfo,
            RouteName::Authorize,
            RouteName::Login,
            RouteName::Consent,
            RouteName::Logout,
            RouteName::FederationCallback,
            RouteName::Admin,
            RouteName::Healthz,
            RouteName::Readyz,
            RouteName::Metrics,
            RouteName::DirectAuthz,
            RouteName::NotFound,
        ];
        assert_eq!(names.len(), ROUTES);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(*name as usize, i, "{}", name.as_str());
        }
    }

    #[test]
    fn a_code_outside_the_table_is_still_counted() {
        let http = HttpMetrics::new();
        http.observe(RouteName::Token, 200, Duration::from_millis(1));
        http.observe(RouteName::Token, 418, Duration::from_millis(1));
        for status in [200, 418] {
            assert!(http.family.get(&RequestLabels { endpoint: "token", status }).is_some(), "{status}");
        }
    }
}
