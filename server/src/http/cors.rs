//! Cross-origin requests (the Fetch standard's CORS protocol) for the endpoints a browser
//! application calls itself: a single-page app redeems its code at `/token`, calls
//! `/userinfo`, revokes at `/revoke`, and reads discovery and the JWKS, all from its own
//! origin. Discovery and the JWKS are public documents (any origin). The others answer an
//! origin only if a client of the tenant registered a redirect URI there: the redirect URI is
//! where such an app lives. No cookies are involved, so credentials are never allowed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, HeaderValue, VARY,
};
use http::{HeaderMap, StatusCode, Uri};
use tessera_core::store::{Store, StoreError};

use crate::http::respond::{Resp, empty};
use crate::router::{Endpoint, FormEndpoint};

/// How long the origins of a tenant's clients are remembered. The store's change feed forgets
/// them at once when a client or the tenant changes ([`ForgetOrigins`], wired in `crate::feed`);
/// the TTL is a backstop, bounding what a feed that lost a change could leave stale.
const ORIGINS_TTL: Duration = Duration::from_secs(30);

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Who may call an endpoint from a browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audience {
    /// Any origin: the document is public.
    Anyone,
    /// Origins of the tenant's registered redirect URIs.
    Clients,
}

fn audience(endpoint: Endpoint) -> Option<(Audience, &'static str)> {
    match endpoint {
        Endpoint::Discovery | Endpoint::Jwks => Some((Audience::Anyone, "GET, HEAD")),
        Endpoint::Userinfo => Some((Audience::Clients, "GET, POST")),
        Endpoint::Form(FormEndpoint::Token | FormEndpoint::Revoke) => Some((Audience::Clients, "POST")),
        // Introspection is for resource servers, and pages are navigated to, not fetched.
        Endpoint::Form(FormEndpoint::Introspect) | Endpoint::Web(_) => None,
    }
}

/// The origins of every tenant's registered redirect URIs, cached per tenant, with the store
/// they are read from: all the state CORS needs, so its functions take this and not the whole
/// `App`.
pub struct Origins {
    store: Arc<dyn Store>,
    forget: ForgetOrigins,
}

/// Forgets tenants' origins when their clients change: the handle the store's change feed
/// holds. It holds the cache but not the store, so the store holding it makes no cycle.
#[derive(Clone)]
pub struct ForgetOrigins {
    cache: moka::sync::Cache<String, Arc<Vec<String>>>,
    /// Bumped before each forget, so that a fill that read the clients before a change and
    /// inserts after its forget drops what it inserted (see `Origins::fill`).
    forgets: Arc<AtomicU64>,
}

impl ForgetOrigins {
    /// Forgets one tenant's origins.
    pub fn tenant(&self, tenant: &str) {
        self.forgets.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(tenant);
    }

    /// Forgets every tenant's origins.
    pub fn all(&self) {
        self.forgets.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }
}

impl Origins {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let cache = moka::sync::Cache::builder().max_capacity(10_000).time_to_live(ORIGINS_TTL).build();
        Self { store, forget: ForgetOrigins { cache, forgets: Arc::new(AtomicU64::new(0)) } }
    }

    /// The handle that forgets origins, for the store's change feed.
    pub fn forgetter(&self) -> ForgetOrigins {
        self.forget.clone()
    }

    pub(crate) async fn allows(&self, tenant: &str, origin: &str) -> bool {
        let origins = match self.forget.cache.get(tenant) {
            Some(origins) => origins,
            None => match self.fill(tenant).await {
                Ok(origins) => origins,
                Err(err) => {
                    tracing::warn!(%err, "cannot read clients for CORS");
                    return false;
                }
            },
        };
        origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// Reads a tenant's origins from its clients and caches them.
    async fn fill(&self, tenant: &str) -> Result<Arc<Vec<String>>, StoreError> {
        let ForgetOrigins { cache, forgets } = &self.forget;
        let seen = forgets.load(Ordering::SeqCst);
        let clients = self.store.clients(tenant).await?;
        let mut origins: Vec<String> =
            clients.iter().flat_map(|c| c.redirect_uris.iter()).filter_map(|u| origin_of(u)).collect();
        origins.sort();
        origins.dedup();
        let origins = Arc::new(origins);
        cache.insert(tenant.to_owned(), origins.clone());
        // A forget after the read and before this insert missed it: drop what may be stale.
        // (A forget after the insert drops it by itself.)
        if forgets.load(Ordering::SeqCst) != seen {
            cache.invalidate(tenant);
        }
        Ok(origins)
    }
}

/// The ASCII serialization of a URI's origin (`scheme://host[:port]`), for http(s) URIs only.
fn origin_of(uri: &str) -> Option<String> {
    let uri: Uri = uri.parse().ok()?;
    let scheme = uri.scheme_str()?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = uri.authority()?;
    // An origin never carries userinfo; default ports are left out, as browsers send them.
    let host = authority.host();
    let port = authority.port_u16().filter(|p| !matches!((scheme, p), ("https", 443) | ("http", 80)));
    Some(match port {
        Some(port) => format!("{scheme}://{host}:{port}").to_ascii_lowercase(),
        None => format!("{scheme}://{host}").to_ascii_lowercase(),
    })
}

/// The `Origin` a request came from, if it is a cross-origin browser request.
pub fn request_origin(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(http::header::ORIGIN).filter(|o| o.as_bytes() != b"null").cloned()
}

async fn allowed_origin(
    origins: &Origins,
    tenant: &str,
    endpoint: Endpoint,
    origin: &HeaderValue,
) -> Option<(HeaderValue, &'static str)> {
    let (audience, methods) = audience(endpoint)?;
    match audience {
        Audience::Anyone => Some((HeaderValue::from_static("*"), methods)),
        Audience::Clients => {
            let text = origin.to_str().ok()?;
            origins.allows(tenant, text).await.then(|| (origin.clone(), methods))
        }
    }
}

/// Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`): 204 with the grant
/// when the origin may call the endpoint, a bare 204 (which the browser treats as a refusal)
/// otherwise.
pub async fn preflight(origins: &Origins, tenant: &str, endpoint: Endpoint, headers: &HeaderMap) -> Resp {
    let mut resp = empty(StatusCode::NO_CONTENT);
    let h = resp.headers_mut();
    h.insert(VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = request_origin(headers) else {
        return resp;
    };
    if let Some((allow, methods)) = allowed_origin(origins, tenant, endpoint, &origin).await {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        h.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        h.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    }
    resp
}

/// Adds the CORS grant to an endpoint's answer to a request from `origin`.
pub async fn decorate(
    origins: &Origins,
    tenant: &str,
    endpoint: Endpoint,
    origin: Option<&HeaderValue>,
    resp: &mut Resp,
) {
    if audience(endpoint).is_none() {
        return;
    }
    resp.headers_mut().append(VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin else { return };
    if let Some((allow, _)) = allowed_origin(origins, tenant, endpoint, origin).await {
        let h = resp.headers_mut();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        // A bearer error's challenge must be readable by the app to react to it.
        h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("WWW-Authenticate"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_redirect_uris() {
        assert_eq!(origin_of("https://App.example.com/cb?x=1").as_deref(), Some("https://app.example.com"));
        assert_eq!(origin_of("https://app.example.com:443/cb").as_deref(), Some("https://app.example.com"));
        assert_eq!(origin_of("http://127.0.0.1:3000/cb").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(origin_of("com.example.app:/oauth2redirect"), None, "native apps have no origin");
        assert_eq!(origin_of("not a uri"), None);
    }

    #[test]
    fn introspection_and_pages_are_not_for_browsers() {
        assert_eq!(audience(Endpoint::Form(FormEndpoint::Introspect)), None);
        assert_eq!(audience(Endpoint::Jwks).map(|a| a.0), Some(Audience::Anyone));
        assert_eq!(audience(Endpoint::Form(FormEndpoint::Token)).map(|a| a.0), Some(Audience::Clients));
    }
}
