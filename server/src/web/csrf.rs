//! CSRF protection of the login, consent and logout forms by a token bound to the browser's
//! pre-session (OWASP's "signed double-submit cookie"): the browser holds a random pre-session
//! id in an `HttpOnly`, `SameSite=Strict` cookie, and each form carries
//! `HMAC-SHA256(page key, tenant, pre-session id, purpose)` in its hidden `csrf` field. A POST
//! counts only if the field is that HMAC for the cookie it arrives with.
//!
//! Why not a bare double submit (the field equal to the cookie): a sibling subdomain, or anyone
//! who can write a cookie for this host on plain http, can plant a cookie of its choice and
//! post the same value in the field. Under the HMAC a planted cookie needs a field only the
//! server can compute. The tenant and the purpose are inside the MAC, so a token of one tenant
//! or one form does not pass at another. (A whole pair the attacker fetched for itself can
//! still be planted where cookies can be planted; `__Host-` cookies on https and the
//! `Origin` / `Sec-Fetch-Site` check of `web/origin.rs` close that: docs/security.md.)

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::HeaderValue;
use tessera_core::form::Form;
use tessera_core::secret;

use super::cookies::{self, Kind};
use crate::app::{App, TenantCx};
use crate::util::random;

/// Tells the MAC of this scheme from any other use of the key, should one ever be added.
const DOMAIN: &[u8] = b"tessera page csrf v1";

/// The server's key for CSRF tokens (`bootstrap::page_key`).
pub struct PageKey(hmac::Key);

impl PageKey {
    /// The key from its 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A key for another use of the server's page secrets, separated by `label`:
    /// HMAC-SHA256(page key, label). Every node with the same page key derives the same one.
    pub fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(hmac::sign(&self.0, label).as_ref());
        out
    }
}

/// The form a token is for: a token of one form does not pass at another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The login form, posted to `/login`.
    Login,
    /// The consent form, posted to `/consent`.
    Consent,
    /// The logout confirmation, posted to `/logout`.
    Logout,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Login => b"login",
            Self::Consent => b"consent",
            Self::Logout => b"logout",
        }
    }
}

/// The token a page puts in its form, and the cookie to set when the browser has no
/// pre-session yet.
pub struct Token {
    /// The hidden field's value.
    pub value: String,
    /// `Set-Cookie`, when a new pre-session was made.
    pub set_cookie: Option<HeaderValue>,
}

/// Whether `value` has the shape of a pre-session id this server makes (43 base64url
/// characters): a cookie of any other shape is replaced, and no token is ever made for it.
fn well_formed(value: &str) -> bool {
    value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the MAC covers. Each variable part is preceded by its length, so no two different
/// (tenant, pre-session, purpose) triples give the same bytes.
fn message(tenant: &str, pre_session: &str, purpose: Purpose) -> Vec<u8> {
    let label = purpose.label();
    let mut m = Vec::with_capacity(DOMAIN.len() + tenant.len() + pre_session.len() + label.len() + 6);
    m.extend_from_slice(DOMAIN);
    for part in [tenant.as_bytes(), pre_session.as_bytes(), label] {
        // Every part is short (a tenant id is at most 64 bytes): two bytes of length suffice.
        m.extend_from_slice(&u16::try_from(part.len()).unwrap_or(u16::MAX).to_be_bytes());
        m.extend_from_slice(part);
    }
    m
}

/// The token for `pre_session` at `tenant` for `purpose`: the HMAC in base64url.
fn token(key: &PageKey, tenant: &str, pre_session: &str, purpose: Purpose) -> String {
    URL_SAFE_NO_PAD.encode(hmac::sign(&key.0, &message(tenant, pre_session, purpose)).as_ref())
}

/// Whether `field` is the token for `pre_session` at `tenant` for `purpose`, compared in
/// constant time (`hmac::verify`).
fn verify(key: &PageKey, tenant: &str, pre_session: &str, purpose: Purpose, field: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(field) else { return false };
    well_formed(pre_session) && hmac::verify(&key.0, &message(tenant, pre_session, purpose), &tag).is_ok()
}

/// The token for a page: bound to the browser's current pre-session, so several open tabs keep
/// working, or to a new one. `None` when no randomness or cookie could be made.
pub fn for_page(app: &App, cx: &TenantCx, headers: &HeaderMap, purpose: Purpose) -> Option<Token> {
    let name = cookies::name(app, cx, Kind::Csrf);
    if let Some(pre_session) = cookies::get(headers, &name).filter(|v| well_formed(v)) {
        let value = token(&app.page_key, &cx.tenant.id, &pre_session, purpose);
        return Some(Token { value, set_cookie: None });
    }
    let pre_session = secret::encode_secret(&random::<32>().ok()?);
    let value = token(&app.page_key, &cx.tenant.id, &pre_session, purpose);
    let set_cookie = cookies::csrf(app, cx, pre_session)?;
    Some(Token { value, set_cookie: Some(set_cookie) })
}

/// Whether a form POST's `csrf` field is the token for the pre-session cookie it carries, at
/// this tenant, for `purpose`.
pub fn check(app: &App, cx: &TenantCx, headers: &HeaderMap, form: &Form<'_>, purpose: Purpose) -> bool {
    match (cookies::get(headers, &cookies::name(app, cx, Kind::Csrf)), form.get("csrf")) {
        (Some(pre_session), Some(field)) => {
            verify(&app.page_key, &cx.tenant.id, &pre_session, purpose, field)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PageKey {
        PageKey::new(&[byte; 32])
    }

    fn pre(byte: u8) -> String {
        secret::encode_secret(&[byte; 32])
    }

    #[test]
    fn the_token_of_the_pre_session_passes() {
        let t = token(&key(1), "acme", &pre(3), Purpose::Login);
        assert_eq!(t.len(), 43, "256 bits in base64url");
        assert!(verify(&key(1), "acme", &pre(3), Purpose::Login, &t));
    }

    #[test]
    fn a_planted_double_submit_pair_fails() {
        // What a sibling subdomain can do: choose a cookie and post the same value.
        let planted = pre(9);
        assert!(!verify(&key(1), "acme", &planted, Purpose::Login, &planted));
        // Or any value it likes: without the key it cannot compute the MAC.
        assert!(!verify(&key(1), "acme", &planted, Purpose::Login, &"A".repeat(43)));
    }

    #[test]
    fn a_token_of_another_pre_session_tenant_purpose_or_key_fails() {
        let t = token(&key(1), "acme", &pre(3), Purpose::Login);
        assert!(!verify(&key(1), "acme", &pre(4), Purpose::Login, &t), "another pre-session");
        assert!(!verify(&key(1), "acme2", &pre(3), Purpose::Login, &t), "another tenant");
        assert!(!verify(&key(1), "acme", &pre(3), Purpose::Consent, &t), "another form");
        assert!(!verify(&key(2), "acme", &pre(3), Purpose::Login, &t), "another server key");
    }

    #[test]
    fn malformed_input_fails_without_panicking() {
        let t = token(&key(1), "acme", "short", Purpose::Login);
        assert!(!verify(&key(1), "acme", "short", Purpose::Login, &t), "only pre-sessions we make count");
        for field in ["", "!!!", "AAAA", &"A".repeat(4000)] {
            assert!(!verify(&key(1), "acme", &pre(3), Purpose::Login, field), "{field:?}");
        }
    }

    #[test]
    fn parts_cannot_run_into_each_other() {
        // Without the lengths these two would MAC the same bytes.
        assert_ne!(message("ab", "c", Purpose::Login), message("a", "bc", Purpose::Login));
    }
}
