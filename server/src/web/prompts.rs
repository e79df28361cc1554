//! The two pages an authorization may show the end-user (node-oidc-provider's "prompts"): the
//! login form and the consent page. Each carries the authorization request in its hidden
//! `request` field and a CSRF token, and allows its form to post only here and to the
//! client's redirect URI (Content-Security-Policy `form-action`).

use http::StatusCode;
use http::header::SET_COOKIE;
use tessera_core::scope;

use super::csrf::Purpose;
use super::flow::Flow;
use super::session::Current;
use super::{csrf, error_page, pages, tenant_name};
use crate::http::respond::{PageError, Resp};

/// The client's name as the pages show it.
fn client_name<'a>(flow: &Flow<'a>) -> &'a str {
    if flow.client.client_name.is_empty() { &flow.client.client_id } else { &flow.client.client_name }
}

/// The login page for `flow`, with `username` filled in and an optional error message and
/// the status it is sent with.
pub fn login(flow: &Flow<'_>, username: &str, error: Option<(&str, StatusCode)>) -> Resp {
    let cx = flow.cx;
    let (Some(nonce), Some(token)) =
        (pages::nonce(), csrf::for_page(flow.app, cx, flow.headers, Purpose::Login))
    else {
        return error_page(Some(cx), PageError::Internal("no randomness for the login page".into()));
    };
    let page = pages::Login {
        chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
        client_name: client_name(flow),
        csrf: &token.value,
        request: flow.request_field,
        username,
        error: error.map(|(message, _)| message),
        idps: cx.tenant.idps.iter().map(|idp| (idp.id.as_str(), idp.label.as_str())).collect(),
    };
    let status = error.map_or(StatusCode::OK, |(_, status)| status);
    // The form may end at the client (an error) or at a provider's authorization endpoint
    // (its button): `form-action` applies to the redirects after a submission.
    let sources: Vec<String> = std::iter::once(flow.req.redirect_uri.as_str())
        .chain(cx.tenant.idps.iter().map(|idp| idp.endpoints.authorization_endpoint.as_str()))
        .filter_map(pages::csp_source)
        .collect();
    let form_action = (!sources.is_empty()).then(|| sources.join(" "));
    let mut resp = pages::send(status, &page, &nonce, form_action.as_deref());
    if let Some(cookie) = token.set_cookie {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

/// The login page as the flow first shows it: the request's `login_hint` filled in, no error.
pub fn first_login(flow: &Flow<'_>) -> Resp {
    login(flow, flow.req.login_hint.as_deref().unwrap_or_default(), None)
}

/// The consent page for the signed-in `current` user.
pub fn consent(flow: &Flow<'_>, current: &Current) -> Resp {
    let cx = flow.cx;
    let (Some(nonce), Some(token)) =
        (pages::nonce(), csrf::for_page(flow.app, cx, flow.headers, Purpose::Consent))
    else {
        return error_page(Some(cx), PageError::Internal("no randomness for the consent page".into()));
    };
    let mut scopes: Vec<String> = scope::values(&flow.req.scope).map(pages::describe_scope).collect();
    if scopes.is_empty() {
        scopes.push("Know that you use it, with no access to your data".to_owned());
    }
    let page = pages::Consent {
        chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
        client_name: client_name(flow),
        username: &current.user.username,
        scopes,
        csrf: &token.value,
        request: flow.request_field,
    };
    let form_action = pages::csp_source(&flow.req.redirect_uri);
    let mut resp = pages::send(StatusCode::OK, &page, &nonce, form_action.as_deref());
    if let Some(cookie) = token.set_cookie {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}
