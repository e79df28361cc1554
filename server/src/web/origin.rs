//! Refuses a POST of one of our own forms (login, consent, the logout confirmation) that the
//! browser says came from elsewhere: `Sec-Fetch-Site` other than `same-origin` or `none`
//! (Fetch Metadata), or an `Origin` other than the server's public origin (RFC 6454 7, Fetch's
//! "append a request `Origin` header"). `same-site` is refused too: a sibling subdomain is
//! same-site, and it is one of the attackers this stops.
//!
//! A request with neither header (an old browser, curl) falls back to the CSRF token alone. So
//! does `Origin: null`: our pages send `Referrer-Policy: no-referrer`, under which browsers
//! serialize the origin of a form POST as `null`, so our own forms arrive with it (and with
//! `Sec-Fetch-Site: same-origin`, which decides). An attacker's page that sends `null` sends
//! `Sec-Fetch-Site: cross-site` too in every browser that sends Fetch Metadata.
//!
//! Not applied to what other sites post here by design: the protocol endpoints (`/token`,
//! `/revoke`, `/introspect`: RFC 6749 back channel, browser apps under CORS), a client's POST
//! to `/authorize` (OpenID Connect Core 3.1.2.1) and RP-Initiated Logout's own POST to
//! `/logout`; only the confirmation the end-user submits on our logout page is checked.

use http::HeaderMap;
use http::header::ORIGIN;

/// Why a form POST was refused as coming from another site. The detail is for the log only:
/// the page says nothing of what the request carried.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    /// `Sec-Fetch-Site` said `cross-site`, `same-site`, or something unknown.
    #[error("Sec-Fetch-Site is not same-origin")]
    FetchSite,
    /// `Origin` named another origin than the public URL's.
    #[error("Origin is not the public origin")]
    Origin,
}

/// The origin of the public URL (`scheme://host[:port]`, lowercase, without the scheme's
/// default port) as browsers serialize it in `Origin`.
pub fn public_origin(public_url: &str) -> String {
    let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        _ => ":80",
    };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    format!("{scheme}://{authority}")
}

/// Whether a POST of our own form may proceed, by its `Sec-Fetch-Site` and `Origin`.
pub fn check(public_origin: &str, headers: &HeaderMap) -> Result<(), CrossSite> {
    for site in headers.get_all("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err(CrossSite::FetchSite);
        }
    }
    for origin in headers.get_all(ORIGIN) {
        let origin = origin.as_bytes();
        if origin != b"null" && !origin.eq_ignore_ascii_case(public_origin.as_bytes()) {
            return Err(CrossSite::Origin);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for &(name, value) in pairs {
            h.append(name, HeaderValue::from_static(value));
        }
        h
    }

    const ME: &str = "https://id.example";

    #[test]
    fn the_public_origin_is_serialized_as_browsers_do() {
        assert_eq!(public_origin("https://ID.Example/base"), "https://id.example");
        assert_eq!(public_origin("https://id.example:443"), "https://id.example");
        assert_eq!(public_origin("https://id.example:8443/x"), "https://id.example:8443");
        assert_eq!(public_origin("http://127.0.0.1:80"), "http://127.0.0.1");
        assert_eq!(public_origin("http://127.0.0.1:4000"), "http://127.0.0.1:4000");
    }

    #[test]
    fn our_own_forms_and_plain_clients_pass() {
        assert_eq!(check(ME, &headers(&[])), Ok(()), "no header: the CSRF token decides");
        assert_eq!(check(ME, &headers(&[("sec-fetch-site", "same-origin"), ("origin", "null")])), Ok(()));
        assert_eq!(check(ME, &headers(&[("origin", "https://ID.example")])), Ok(()));
        assert_eq!(check(ME, &headers(&[("sec-fetch-site", "none")])), Ok(()), "typed by the user");
    }

    #[test]
    fn other_sites_are_refused() {
        for site in ["cross-site", "same-site", "bogus"] {
            let h = HeaderMap::from_iter([(
                http::HeaderName::from_static("sec-fetch-site"),
                HeaderValue::from_str(site).expect("value"),
            )]);
            assert_eq!(check(ME, &h), Err(CrossSite::FetchSite), "{site}");
        }
        for origin in
            ["https://evil.example", "https://sub.id.example", "http://id.example", "https://id.example:8443"]
        {
            let h = HeaderMap::from_iter([(ORIGIN, HeaderValue::from_str(origin).expect("value"))]);
            assert_eq!(check(ME, &h), Err(CrossSite::Origin), "{origin}");
        }
        let h = headers(&[("sec-fetch-site", "same-origin"), ("origin", "https://evil.example")]);
        assert_eq!(check(ME, &h), Err(CrossSite::Origin), "either header refuses");
        let h = headers(&[("origin", "https://id.example"), ("origin", "https://evil.example")]);
        assert_eq!(check(ME, &h), Err(CrossSite::Origin), "every Origin counts");
    }
}
