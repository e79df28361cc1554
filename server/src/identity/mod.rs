//! Identity validators for the password grant: the HTTP calls to a tenant's validators (one
//! pooled client, TLS by rustls with the system's roots, redirects never followed, a timeout
//! per validator), each behind its circuit breaker (`breaker`), and the local user directory
//! (argon2id through the password gate). What they are sent and how their answers read is
//! `tessera_core::grants::password`'s.

pub mod breaker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::grants::password::{Answer, MAX_ANSWER_BYTES, read_answer};
use tessera_core::model::IdentityValidator;

use self::breaker::{Breakers, Permit};
use crate::policy::Policy;

/// How long a connection to a validator may take to open, whatever the validator's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP side of identity validators.
pub struct Validators {
    http: reqwest::Client,
    breakers: Breakers,
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("the identity validators' HTTP client: {0}")]
pub struct ClientError(String);

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
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            // A validator that redirects is misconfigured; following it would send the
            // password somewhere the operator never named.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
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
    ) -> Result<(u16, Vec<u8>), String> {
        let mut request = self.http.post(&v.url).json(body);
        for h in &v.headers {
            request = request.header(h.name.as_str(), h.value.as_str());
        }
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err("the answer is too large".into());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }

    /// Whether validator `id`'s circuit is open now.
    pub fn is_open(&self, id: &str) -> bool {
        self.breakers.is_open(id, Instant::now())
    }
}

/// A transport error without the URL (which may carry a credential in its query).
fn describe(err: &reqwest::Error) -> String {
    let what = if err.is_connect() {
        "could not connect"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut detail = String::from(what);
    if let Some(source) = std::error::Error::source(err) {
        detail.push_str(": ");
        detail.push_str(&source.to_string());
    }
    detail
}
