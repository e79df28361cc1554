//! A sign-in in progress at an external identity provider: what the callback must find again
//! (the provider, `state`, `nonce`, the PKCE verifier and the original authorization request),
//! sealed into a cookie of the browser that started it (`web::cookies::Kind::Federation`).
//! Sealed, not only signed: the verifier and nonce stay secret from the browser's other
//! pages and from anyone who reads the cookie jar.
//!
//! The cookie binds the callback to the browser (a `state` from another browser finds no
//! cookie here), and the store records each `state` as used (`AssertionStore::use_assertion`,
//! [`state_digest`]), so a callback replayed, on any node, is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_core::model::UnixSecs;
use tessera_core::secret;

use super::{Federation, SealError};
use crate::util::random;

/// How long a sign-in at the provider may take.
pub const PENDING_SECS: i64 = 600;
/// Largest cookie value made: browsers keep cookies of about 4 KiB, name included.
pub const MAX_COOKIE_BYTES: usize = 3800;

/// The sign-in in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The identity provider's id.
    pub idp: String,
    /// The `state` sent to it.
    pub state: String,
    /// The `nonce` sent to it.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent to it.
    pub verifier: String,
    /// The original authorization request's raw parameters.
    pub request: String,
    /// When the sign-in stops being accepted.
    pub exp: UnixSecs,
}

/// Why a pending sign-in could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    /// No randomness.
    #[error("no randomness: {0}")]
    Random(String),
    /// The request does not fit a cookie.
    #[error("the authorization request is too large to sign in at an identity provider")]
    TooLarge,
    /// Sealing failed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl Pending {
    /// A new sign-in at `idp` for the authorization request `request`, started at `now`.
    pub fn new(idp: &str, request: &[u8], now: UnixSecs) -> Result<Self, PendingError> {
        let request = std::str::from_utf8(request).map_err(|_| PendingError::TooLarge)?;
        let fresh = || {
            random::<32>().map(|r| secret::encode_secret(&r)).map_err(|e| PendingError::Random(e.to_string()))
        };
        Ok(Self {
            idp: idp.to_owned(),
            state: fresh()?,
            nonce: fresh()?,
            verifier: fresh()?,
            request: request.to_owned(),
            exp: now + PENDING_SECS,
        })
    }
}

/// The digest under which a used `state` is recorded in the store.
pub fn state_digest(state: &str) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"tessera federation state\0");
    ctx.update(state.as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl Federation {
    /// The cookie value of `pending` in `tenant`.
    pub fn pending_cookie(&self, tenant: &str, pending: &Pending) -> Result<String, PendingError> {
        let json = serde_json::to_vec(pending).map_err(|_| PendingError::TooLarge)?;
        let value = URL_SAFE_NO_PAD.encode(self.seal_pending(tenant, &json)?);
        if value.len() > MAX_COOKIE_BYTES {
            return Err(PendingError::TooLarge);
        }
        Ok(value)
    }

    /// The sign-in a cookie value of `tenant` holds, unless it is not one of ours, or has
    /// expired at `now`.
    pub fn read_pending(&self, tenant: &str, value: &str, now: UnixSecs) -> Option<Pending> {
        let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
        let plain = self.open_pending(tenant, &sealed).ok()?;
        let pending: Pending = serde_json::from_slice(&plain).ok()?;
        (pending.exp > now).then_some(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_reads_back_in_its_tenant_until_it_expires() {
        let f = Federation::new(&[3; 32], &[4; 32]).expect("keys");
        let p = Pending::new("idp1", b"client_id=c&state=s", 1_000).expect("pending");
        assert_ne!(p.state, p.nonce);
        let cookie = f.pending_cookie("acme", &p).expect("cookie");
        assert_eq!(f.read_pending("acme", &cookie, 1_000), Some(p.clone()));
        assert_eq!(f.read_pending("acme", &cookie, p.exp), None, "expired");
        assert_eq!(f.read_pending("other", &cookie, 1_000), None, "another tenant");
        assert_eq!(f.read_pending("acme", "not-base64!", 1_000), None);
        let big = Pending::new("idp1", &vec![b'a'; 4096], 1_000).expect("pending");
        assert!(matches!(f.pending_cookie("acme", &big), Err(PendingError::TooLarge)));
        assert_ne!(state_digest("a"), state_digest("b"));
    }
}
