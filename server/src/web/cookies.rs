//! The cookies of the browser pages: `tessera_session` (the SSO session) and `tessera_csrf`
//! (the double-submit token of the forms). Both are scoped to the tenant's path, so each
//! tenant has its own and one tenant's pages never see another's; both are `HttpOnly`, and
//! `Secure` when the public URL is https.

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

use crate::app::{App, TenantCx};

/// The SSO session cookie.
pub const SESSION: &str = "tessera_session";
/// The CSRF double-submit cookie.
pub const CSRF: &str = "tessera_csrf";

/// The value of cookie `name` in the request, if sent. HTTP/2 may split `Cookie` into several
/// header fields; all are read.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The path of the tenant's pages, with a trailing slash so `/t/acme/` never matches
/// `/t/acme2/...`: the path part of the issuer, which also covers a public URL with a path.
fn tenant_path(cx: &TenantCx) -> String {
    let without_scheme = cx.issuer.split_once("://").map_or(cx.issuer.as_str(), |(_, rest)| rest);
    let path = without_scheme.find('/').map_or("/", |i| &without_scheme[i..]);
    format!("{}/", path.trim_end_matches('/'))
}

fn build(
    app: &App,
    cx: &TenantCx,
    name: &'static str,
    value: String,
    same_site: SameSite,
) -> cookie::CookieBuilder<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(same_site)
        .path(tenant_path(cx))
        .secure(app.public_url.starts_with("https://"))
}

fn header(cookie: cookie::CookieBuilder<'static>) -> Option<HeaderValue> {
    // Values are base64url and paths come from a validated issuer, so this cannot fail in
    // practice; a failure leaves the cookie unset, which the caller treats as an error.
    HeaderValue::from_str(&cookie.build().to_string()).ok()
}

/// `Set-Cookie` for a new session: `SameSite=Lax`, so it comes along when a client's page
/// sends the browser to `/authorize` (a top-level GET), and lives as long as the session.
pub fn session(app: &App, cx: &TenantCx, value: String) -> Option<HeaderValue> {
    let max_age = Duration::seconds(i64::from(app.policy.session_ttl_secs_for(&cx.tenant)));
    header(build(app, cx, SESSION, value, SameSite::Lax).max_age(max_age))
}

/// `Set-Cookie` that removes the session cookie (`Max-Age=0`).
pub fn expired_session(app: &App, cx: &TenantCx) -> Option<HeaderValue> {
    header(build(app, cx, SESSION, String::new(), SameSite::Lax).max_age(Duration::ZERO))
}

/// `Set-Cookie` for a CSRF token: `SameSite=Strict`, since only this server's own forms post
/// it; it lasts as long as the browser session.
pub fn csrf(app: &App, cx: &TenantCx, value: String) -> Option<HeaderValue> {
    header(build(app, cx, CSRF, value, SameSite::Strict))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_cookie_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; tessera_csrf=xyz"));
        h.append(COOKIE, HeaderValue::from_static("tessera_session=s1"));
        assert_eq!(get(&h, CSRF).as_deref(), Some("xyz"));
        assert_eq!(get(&h, SESSION).as_deref(), Some("s1"));
        assert_eq!(get(&h, "nope"), None);
    }
}
