//! The browser-facing half of the OpenID Provider, under `/t/{tenant}`: `/authorize` (GET and
//! POST), the login and consent forms it shows (`/login`, `/consent`), and RP-Initiated Logout
//! (`/logout`). Everything here answers in HTML or with a redirect, never JSON.
//!
//! Where an error goes follows `core::authorize`: until the client and its redirect URI are
//! trusted, the end-user gets a page ([`error_page`], the one place such pages are made; their
//! statuses are `http::respond`'s, like every other error's); afterwards the client gets a
//! redirect carrying the error.
//!
//! State between the pages travels in the forms themselves: the authorization request rides
//! along in a hidden field and is validated again on every POST (the client may have changed
//! meanwhile, and the field is as untrusted as the original query), next to a CSRF token
//! (`csrf.rs`). A POST of one of those forms must come from our own page (`origin.rs`); the
//! cookies are `__Host-` cookies behind https (`cookies.rs`).

mod authorize;
mod consent;
mod cookies;
mod csrf;
mod federated;
mod flow;
mod interaction;
mod login;
mod logout;
mod origin;
mod pages;
mod prompts;
mod session;

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{HeaderValue, LOCATION};
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;
use tessera_core::authorize::{AuthorizeError, Response as AuthorizationResponse};
use tessera_core::form::MAX_BODY_BYTES;

use crate::app::{App, TenantCx};
use crate::http::body;
use crate::http::respond::{PageError, Resp, empty, page_error};
use crate::router::WebEndpoint;

pub use csrf::PageKey;
pub use federated::start::callback_uri;
pub use origin::public_origin;

/// Largest authorization request accepted, in bytes of its query string or body. It rides in
/// a hidden field of the login and consent forms (base64url: 4/3 of its size), and those forms
/// must fit the body limit together with a username and password.
pub const MAX_AUTHORIZATION_REQUEST_BYTES: usize = 8 * 1024;

/// What a browser sent: its headers, the query string (GET) or form body (POST), and the peer.
pub struct Input {
    /// Request headers (cookies live here).
    pub headers: HeaderMap,
    /// The `application/x-www-form-urlencoded` parameters.
    pub raw: Bytes,
    /// The TCP peer, for the per-address login limit.
    pub peer: SocketAddr,
}

/// Refuses a POST of one of our own forms that the browser says another site sent
/// (`origin.rs`); the refusal is the answer.
fn same_origin_form(app: &App, cx: &TenantCx, headers: &HeaderMap) -> Result<(), Box<Resp>> {
    origin::check(&app.public_origin, headers).map_err(|why| {
        tracing::info!(tenant = %cx.tenant.id, %why, "form post from another site refused");
        Box::new(error_page(Some(cx), PageError::CrossSite))
    })
}

/// The tenant's name as pages show it.
fn tenant_name(cx: Option<&TenantCx>) -> &str {
    match cx {
        Some(cx) if !cx.tenant.display_name.is_empty() => &cx.tenant.display_name,
        Some(cx) => &cx.tenant.id,
        None => "Tessera",
    }
}

/// The error page: every page-level failure goes through here; its status and headers are
/// `http::respond`'s, the page is made here.
pub fn error_page(cx: Option<&TenantCx>, err: PageError) -> Resp {
    page_error(&err, |status| {
        let nonce = pages::nonce()?;
        let heading =
            if status.is_server_error() { "Service problem" } else { "This request cannot be completed" };
        let message = err.to_string();
        let page = pages::Error {
            chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(cx) },
            heading,
            message: &message,
        };
        Some(pages::send(status, &page, &nonce, None))
    })
}

/// A `303 See Other` to `url`, with the headers of a page (no caching, no referrer: the URL
/// the browser leaves may carry the request's parameters).
pub fn see_other(url: &str) -> Resp {
    let Ok(location) = HeaderValue::from_str(url) else {
        return error_page(None, PageError::Internal(format!("redirect URL is not a header value: {url:?}")));
    };
    let mut resp = empty(StatusCode::SEE_OTHER);
    resp.headers_mut().insert(LOCATION, location);
    pages::no_store_page_headers(resp.headers_mut());
    resp
}

/// Delivers an authorization response (success or error) to the client: a redirect, or an
/// auto-submitting form for `response_mode=form_post`.
pub fn deliver(cx: &TenantCx, response: AuthorizationResponse) -> Resp {
    match response {
        AuthorizationResponse::Redirect(url) => see_other(&url),
        AuthorizationResponse::FormPost { action, fields } => {
            let Some(nonce) = pages::nonce() else {
                return error_page(Some(cx), PageError::Internal("no randomness for a nonce".into()));
            };
            let page = pages::FormPost {
                chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
                action: &action,
                fields: &fields,
            };
            pages::send(StatusCode::OK, &page, &nonce, pages::csp_source(&action).as_deref())
        }
    }
}

/// Answers a failed authorization request: to the client when it may be told, else a page.
pub fn deliver_error(cx: &TenantCx, err: AuthorizeError) -> Resp {
    let e = err.error();
    tracing::debug!(reason = ?e.reason, detail = %e.description, "authorization request refused");
    match err.redirect(&cx.issuer) {
        Some(response) => deliver(cx, response),
        None => error_page(Some(cx), PageError::invalid_request(err.error())),
    }
}

/// The authorization request as the hidden `request` field carries it: base64url of the raw
/// parameters, so its size is exactly 4/3 of the original whatever characters it holds
/// (percent-encoding it again could triple it).
pub fn encode_request(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// The raw parameters back from a `request` field.
pub fn decode_request(field: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(field).ok().filter(|raw| raw.len() <= MAX_AUTHORIZATION_REQUEST_BYTES)
}

/// Serves one browser request under `/t/{tenant}`.
pub async fn handle(
    app: &App,
    tenant: &str,
    page: WebEndpoint,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Resp {
    let cx = match app.tenant(tenant).await {
        Ok(Some(cx)) => cx,
        Ok(None) => return error_page(None, PageError::NotFound),
        Err(err) => return error_page(None, err.into()),
    };
    let (gettable, allow) = match page {
        WebEndpoint::Authorize | WebEndpoint::Logout => (true, "GET, HEAD, POST"),
        WebEndpoint::Login | WebEndpoint::Consent => (false, "POST"),
        WebEndpoint::FederationCallback => (true, "GET, HEAD, POST"),
    };
    let method = req.method().clone();
    let is_get = method == Method::GET || method == Method::HEAD;
    if !(method == Method::POST || (gettable && is_get)) {
        return error_page(Some(&cx), PageError::MethodNotAllowed(allow));
    }
    let (parts, body) = req.into_parts();
    let raw = if is_get {
        Bytes::copy_from_slice(parts.uri.query().unwrap_or_default().as_bytes())
    } else {
        if !body::has_media_type(&parts.headers, "application/x-www-form-urlencoded") {
            return error_page(
                Some(&cx),
                PageError::BadRequest("The form must be sent as application/x-www-form-urlencoded.".into()),
            );
        }
        match body::read(body, MAX_BODY_BYTES, app.body_read_timeout).await {
            Ok(b) => b,
            Err(body::BodyError::TooLarge) => return error_page(Some(&cx), PageError::TooLarge),
            Err(body::BodyError::Io(e)) => return error_page(Some(&cx), PageError::BadRequest(e)),
        }
    };
    let input = Input { headers: parts.headers, raw, peer };
    match page {
        WebEndpoint::Authorize => authorize::handle(app, &cx, &input).await,
        WebEndpoint::Login => login::handle(app, &cx, &input).await,
        WebEndpoint::Consent => consent::handle(app, &cx, &input).await,
        WebEndpoint::Logout => logout::handle(app, &cx, &input).await,
        WebEndpoint::FederationCallback => {
            // `/t/{tenant}/federation/{idp}/callback`: the router matched the shape.
            let idp = parts.uri.path().rsplit('/').nth(1).unwrap_or_default();
            federated::callback::callback(app, &cx, idp, &input).await
        }
    }
}
