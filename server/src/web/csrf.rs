//! CSRF protection of the login, consent and logout forms by double submit: the page sets a
//! random token in an `HttpOnly`, `SameSite=Strict` cookie and repeats it in a hidden field;
//! a POST counts only if both arrive and are equal. Another site can make a browser post a
//! form here, but can neither read nor set the cookie, so it cannot match the field.

use http::HeaderMap;
use http::header::HeaderValue;
use tessera_core::form::Form;
use tessera_core::secret;

use super::cookies;
use crate::app::{App, TenantCx};
use crate::util::random;

/// The token a page puts in its form, and the cookie to set when the browser has none yet.
pub struct Token {
    /// The hidden field's value.
    pub value: String,
    /// `Set-Cookie`, when a new token was made.
    pub set_cookie: Option<HeaderValue>,
}

/// Whether `value` has the shape of a token this server makes (43 base64url characters): a
/// cookie of any other shape is replaced, never echoed into a page.
fn well_formed(value: &str) -> bool {
    value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token for a page: the browser's current one, so several open tabs keep working, or a
/// new one. `None` when no randomness or cookie could be made.
pub fn for_page(app: &App, cx: &TenantCx, headers: &HeaderMap) -> Option<Token> {
    if let Some(value) = cookies::get(headers, cookies::CSRF).filter(|v| well_formed(v)) {
        return Some(Token { value, set_cookie: None });
    }
    let value = secret::encode_secret(&random::<32>().ok()?);
    let set_cookie = cookies::csrf(app, cx, value.clone())?;
    Some(Token { value, set_cookie: Some(set_cookie) })
}

/// Whether a form POST carries the same token in its `csrf` field as in its cookie, compared
/// in constant time (through their digests).
pub fn check(headers: &HeaderMap, form: &Form<'_>) -> bool {
    match (cookies::get(headers, cookies::CSRF), form.get("csrf")) {
        (Some(cookie), Some(field)) if well_formed(&cookie) => {
            secret::matches(field, &secret::digest(&cookie))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookie).expect("header"));
        h
    }

    #[test]
    fn field_must_equal_cookie() {
        let token = secret::encode_secret(&[3; 32]);
        let h = headers(&format!("tessera_csrf={token}"));
        let ok = format!("csrf={token}");
        assert!(check(&h, &Form::parse(ok.as_bytes()).expect("form")));
        let other = format!("csrf={}", secret::encode_secret(&[4; 32]));
        assert!(!check(&h, &Form::parse(other.as_bytes()).expect("form")));
        assert!(!check(&h, &Form::parse(b"x=1").expect("form")));
        assert!(!check(&HeaderMap::new(), &Form::parse(ok.as_bytes()).expect("form")));
        let short = headers("tessera_csrf=abc");
        assert!(!check(&short, &Form::parse(b"csrf=abc").expect("form")), "only tokens we make count");
    }
}
