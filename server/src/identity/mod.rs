//! Identity validators for the password grant: the HTTP calls to a tenant's validators (one
//! pooled hyper client, TLS by rustls on aws-lc-rs with the system's roots, redirects never
//! followed (hyper's client follows none), a timeout per validator covering the whole
//! exchange), each behind its circuit breaker (`breaker`). What they are sent and how their
//! answers read is `tessera_core::grants::password`'s.

pub mod breaker;
pub mod jwks;
pub mod jws;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tessera_core::grants::password::{Answer, MAX_ANSWER_BYTES, read_answer};
use tessera_core::model::IdentityValidator;

use self::breaker::{Breakers, Permit};
use crate::policy::Policy;

/// How long a connection to a validator may take to open, whatever the validator's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The HTTP side of identity validators.
pub struct Validators {
    http: Client<Connector, Full<Bytes>>,
    breakers: Breakers,
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the identity validators' HTTP client: {0}")]
pub struct ClientError(pub(crate) String);

impl Validators {
    /// The client and breakers, as `policy` sets them.
    pub fn new(policy: &Policy) -> Result<Self, ClientError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        // A validator behind a private CA is trusted by adding the CA to the system's store;
        // certificates that do not parse are skipped, as every TLS client does.
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.set_nodelay(true);
        // `http` URLs are allowed (a validator beside the server on a private network).
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        // A validator that redirects is misconfigured: hyper's client never follows a
        // redirect, so the password is never sent anywhere the operator did not name.
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_timer(TokioTimer::new())
            .build(connector);
        let open_for = Duration::from_secs(u64::from(policy.validator_circuit_open_secs));
        Ok(Self { http, breakers: Breakers::new(policy.validator_circuit_failures, open_for) })
    }

    /// Asks validator `v` about the credentials in `body` (the grant's parameters), for
    /// `username`: its answer, or `Failed` when its circuit is open, it timed out, or it could
    /// not be reached.
    pub async fn ask(
        &self,
        v: &IdentityValidator,
        body: &serde_json::Map<String, serde_json::Value>,
        username: &str,
    ) -> Answer {
        if self.breakers.permit(&v.id, Instant::now()) == Permit::Skip {
            return Answer::Failed("its circuit is open".into());
        }
        let timeout = Duration::from_millis(u64::from(v.timeout_ms));
        let answer = match tokio::time::timeout(timeout, self.call(v, body)).await {
            Ok(Ok((status, bytes))) => read_answer(status, &bytes, username),
            Ok(Err(why)) => Answer::Failed(why),
            Err(_) => Answer::Failed(format!("no answer within {} ms", v.timeout_ms)),
        };
        // A rejection is an answer: the validator is up.
        self.breakers.record(&v.id, !matches!(answer, Answer::Failed(_)), Instant::now());
        answer
    }

    async fn call(
        &self,
        v: &IdentityValidator,
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(u16, Bytes), String> {
        let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut request = Request::post(v.url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("tessera/", env!("CARGO_PKG_VERSION")));
        for h in &v.headers {
            request = request.header(h.name.as_str(), h.value.as_str());
        }
        let request = request.body(Full::new(Bytes::from(json))).map_err(|e| format!("the request: {e}"))?;
        let response = self.http.request(request).await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| format!("the answer: {e}"))?;
        Ok((status, body.to_bytes()))
    }

    /// GETs `url` on the same client (no redirects followed) and returns its 200 body, at
    /// most `limit` bytes, within `timeout` for the whole exchange: a trusted issuer's JWK Set
    /// (`jwks`).
    pub async fn get(&self, url: &str, limit: usize, timeout: Duration) -> Result<Bytes, String> {
        self.get_with(url, None, limit, timeout).await
    }

    /// [`get`](Self::get) with `authorization` as the `Authorization` header: an external
    /// identity provider's UserInfo endpoint, with its access token (`crate::federation`).
    pub async fn get_with(
        &self,
        url: &str,
        authorization: Option<&str>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Bytes, String> {
        let request = Request::get(url);
        let (_, body) = self.exchange(request, Bytes::new(), authorization, Only::Ok, limit, timeout).await?;
        Ok(body)
    }

    /// POSTs the form `body` to `url` on the same client (no redirects followed), with
    /// `authorization` as the `Authorization` header when given, and returns the status and at
    /// most `limit` bytes of the answer, within `timeout` for the whole exchange: an external
    /// identity provider's token endpoint (`crate::federation`).
    pub async fn post_form(
        &self,
        url: &str,
        body: String,
        authorization: Option<&str>,
        limit: usize,
        timeout: Duration,
    ) -> Result<(u16, Bytes), String> {
        let request = Request::post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.exchange(request, Bytes::from(body), authorization, Only::Any, limit, timeout).await
    }

    /// Sends `request` with `body` (JSON accepted, this server's user agent, `authorization`
    /// when given) and reads at most `limit` bytes of the answer, all within `timeout`. With
    /// [`Only::Ok`] any status but 200 is an error, told before the body is read.
    async fn exchange(
        &self,
        request: http::request::Builder,
        body: Bytes,
        authorization: Option<&str>,
        only: Only,
        limit: usize,
        timeout: Duration,
    ) -> Result<(u16, Bytes), String> {
        let exchange = async {
            let mut request = request
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, concat!("tessera/", env!("CARGO_PKG_VERSION")));
            if let Some(value) = authorization {
                request = request.header(http::header::AUTHORIZATION, value);
            }
            let request = request.body(Full::new(body)).map_err(|e| format!("the request: {e}"))?;
            let response = self.http.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            if only == Only::Ok && status != 200 {
                return Err(format!("answered {status}"));
            }
            let body = Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| format!("the answer: {e}"))?;
            Ok((status, body.to_bytes()))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())))
    }

    /// Whether validator `id`'s circuit is open now.
    pub fn is_open(&self, id: &str) -> bool {
        self.breakers.is_open(id, Instant::now())
    }
}

/// Which answers of [`Validators::exchange`] are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    /// Only a 200: a document fetched.
    Ok,
    /// Any status: the caller reads errors in the body too.
    Any,
}

/// A transport error, with its causes, without the URL (which may carry a credential).
fn describe(err: &hyper_util::client::legacy::Error) -> String {
    let mut detail = String::from(if err.is_connect() { "could not connect" } else { "the request failed" });
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}
