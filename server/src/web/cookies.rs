//! The cookies of the browser pages: the SSO session and the CSRF pre-session (`web/csrf.rs`).
//! How they are named and scoped depends on the public URL:
//!
//! - https: `__Host-tessera-session-{tenant}` and `__Host-tessera-csrf-{tenant}`, `Secure`,
//!   `Path=/`, no `Domain`. Browsers accept a `__Host-` cookie only from this very host over
//!   https (RFC 6265bis 4.1.3.2), so neither a sibling subdomain nor a plain-http page can
//!   plant or overwrite one. The prefix demands `Path=/`, so the tenant moves into the name:
//!   each tenant still has its own cookies, though the browser sends all of them everywhere.
//! - http (development, tests): `tessera_session` and `tessera_csrf`, scoped to the tenant's
//!   path, so one tenant's pages never receive another's.
//!
//! Both are `HttpOnly`. A tenant id is 1 to 64 of `A-Z a-z 0-9 . _ -` (`core::model::
//! is_valid_id`), every one a `token` character of RFC 9110 5.6.2, so a name made from it is a
//! valid cookie name (RFC 6265 4.1.1).

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

use crate::app::{App, TenantCx};

/// Which of the pages' cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The SSO session.
    Session,
    /// The CSRF pre-session.
    Csrf,
    /// A sign-in in progress at an external identity provider (`crate::federation`).
    Federation,
}

/// How the cookies are named and scoped, by the public URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// https: `__Host-` names holding the tenant, `Secure`, `Path=/`.
    HostPrefixed,
    /// http: plain names, the tenant's path.
    TenantPath,
}

fn scope(app: &App) -> Scope {
    // `public_url` is validated at start; only its scheme matters here.
    if app.public_url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
        Scope::HostPrefixed
    } else {
        Scope::TenantPath
    }
}

fn name_in(scope: Scope, tenant: &str, kind: Kind) -> String {
    match (scope, kind) {
        (Scope::HostPrefixed, Kind::Session) => format!("__Host-tessera-session-{tenant}"),
        (Scope::HostPrefixed, Kind::Csrf) => format!("__Host-tessera-csrf-{tenant}"),
        (Scope::TenantPath, Kind::Session) => "tessera_session".to_owned(),
        (Scope::TenantPath, Kind::Csrf) => "tessera_csrf".to_owned(),
        (Scope::HostPrefixed, Kind::Federation) => format!("__Host-tessera-fed-{tenant}"),
        (Scope::TenantPath, Kind::Federation) => "tessera_fed".to_owned(),
    }
}

/// The name of the tenant's cookie of `kind`.
pub fn name(app: &App, cx: &TenantCx, kind: Kind) -> String {
    name_in(scope(app), &cx.tenant.id, kind)
}

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

fn build(app: &App, cx: &TenantCx, kind: Kind, value: String, same_site: SameSite) -> Cookie<'static> {
    let scope = scope(app);
    let (path, secure) = match scope {
        // `__Host-` requires exactly these, and no `Domain` (none is ever set here).
        Scope::HostPrefixed => ("/".to_owned(), true),
        Scope::TenantPath => (tenant_path(cx), false),
    };
    Cookie::build((name_in(scope, &cx.tenant.id, kind), value))
        .http_only(true)
        .same_site(same_site)
        .path(path)
        .secure(secure)
        .build()
}

fn header(cookie: &Cookie<'static>) -> Option<HeaderValue> {
    // Values are base64url, names and paths come from validated ids and a validated issuer, so
    // this cannot fail in practice; a failure leaves the cookie unset, which the caller treats
    // as an error.
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// `Set-Cookie` for a new session: `SameSite=Lax`, so it comes along when a client's page
/// sends the browser to `/authorize` (a top-level GET), and lives as long as the session.
pub fn session(app: &App, cx: &TenantCx, value: String) -> Option<HeaderValue> {
    let max_age = Duration::seconds(i64::from(app.policy.session_ttl_secs_for(&cx.tenant)));
    let mut cookie = build(app, cx, Kind::Session, value, SameSite::Lax);
    cookie.set_max_age(max_age);
    header(&cookie)
}

/// `Set-Cookie` that removes the session cookie (`Max-Age=0`).
pub fn expired_session(app: &App, cx: &TenantCx) -> Option<HeaderValue> {
    let mut cookie = build(app, cx, Kind::Session, String::new(), SameSite::Lax);
    cookie.set_max_age(Duration::ZERO);
    header(&cookie)
}

/// `Set-Cookie` for a sign-in at an external identity provider: `SameSite=Lax`, so it comes
/// along when the provider sends the browser back (a top-level GET from another site), for
/// `max_age_secs`; or, with no value, the removal of that cookie.
pub fn federation(app: &App, cx: &TenantCx, value: Option<String>, max_age_secs: i64) -> Option<HeaderValue> {
    let ended = value.is_none();
    let mut cookie = build(app, cx, Kind::Federation, value.unwrap_or_default(), SameSite::Lax);
    cookie.set_max_age(if ended { Duration::ZERO } else { Duration::seconds(max_age_secs) });
    header(&cookie)
}

/// `Set-Cookie` for a CSRF pre-session: `SameSite=Strict`, since only this server's own forms
/// post it; it lasts as long as the browser session.
pub fn csrf(app: &App, cx: &TenantCx, value: String) -> Option<HeaderValue> {
    header(&build(app, cx, Kind::Csrf, value, SameSite::Strict))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_cookie_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; tessera_csrf=xyz"));
        h.append(COOKIE, HeaderValue::from_static("tessera_session=s1"));
        assert_eq!(get(&h, "tessera_csrf").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "tessera_session").as_deref(), Some("s1"));
        assert_eq!(get(&h, "nope"), None);
    }

    /// RFC 9110 5.6.2 `tchar`, the characters of a cookie name (RFC 6265 4.1.1).
    fn is_tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }

    #[test]
    fn every_tenant_id_character_is_valid_in_a_cookie_name() {
        let allowed: Vec<u8> =
            (0..=u8::MAX).filter(|&b| tessera_core::model::is_valid_id(&char::from(b).to_string())).collect();
        assert_eq!(allowed.len(), 26 + 26 + 10 + 3, "the id rule this test was written for");
        let tenant = String::from_utf8(allowed).expect("ASCII");
        for kind in [Kind::Session, Kind::Csrf, Kind::Federation] {
            let name = name_in(Scope::HostPrefixed, &tenant, kind);
            assert!(name.bytes().all(is_tchar), "{name}");
            assert!(name.starts_with("__Host-") && name.ends_with(&tenant), "{name}");
            // The cookie crate reads back exactly the name it writes.
            let text = Cookie::new(name.clone(), "v").to_string();
            assert_eq!(Cookie::parse(text).expect("parses").name(), name);
        }
    }

    #[test]
    fn names_of_different_tenants_and_kinds_never_meet() {
        // `{kind}-{tenant}` with fixed kinds: no tenant's session name is another's CSRF name.
        let names: Vec<String> = ["a", "a-b", "b", "session-a", "csrf-a", "fed-a"]
            .iter()
            .flat_map(|t| {
                [Kind::Session, Kind::Csrf, Kind::Federation].map(|k| name_in(Scope::HostPrefixed, t, k))
            })
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(name_in(Scope::TenantPath, "acme", Kind::Session), "tessera_session");
    }
}
