//! `GET|POST /logout`: OpenID Connect RP-Initiated Logout 1.0. A client sends the browser here
//! with the ID token it received (`id_token_hint`); when that token is this tenant's and names
//! the browser's session, the session ends at once. Without such proof (no hint, or a hint for
//! another session) the end-user is asked first, so a link on another site cannot sign them
//! out. The browser goes back only to a `post_logout_redirect_uri` the client registered;
//! anything else gets a page, never a redirect.

use http::StatusCode;
use http::header::SET_COOKIE;
use tessera_core::form::Form;
use tessera_core::id_token::{ID_TOKEN_TYP, IdTokenClaims};

use super::csrf::Purpose;
use super::{Input, cookies, csrf, error_page, pages, see_other, session, tenant_name};
use crate::app::{App, TenantCx};
use crate::http::respond::{PageError, Resp};
use crate::util::now;

/// The request parameters passed on by the confirmation form, as received.
const PASSED_ON: [&str; 5] =
    ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"];

/// The claims of `token` if it is an ID token this tenant signed with one of its published
/// keys. Its expiry does not matter: a client usually logs out with an old ID token (RP-Initiated
/// Logout 1.0, section 2).
fn verify_hint(app: &App, cx: &TenantCx, token: &str) -> Option<IdTokenClaims> {
    let (_, claims) = crate::endpoints::verified_jws::<IdTokenClaims>(app, cx, token, ID_TOKEN_TYP)?;
    (claims.iss == cx.issuer).then_some(claims)
}

/// `uri` with `state` added to its query.
fn with_state(uri: &str, state: Option<&str>) -> String {
    let Some(state) = state else { return uri.to_owned() };
    let mut encoded = String::with_capacity(state.len());
    for b in state.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let separator = match uri.contains('?') {
        false => "?",
        true if uri.ends_with('?') || uri.ends_with('&') => "",
        true => "&",
    };
    format!("{uri}{separator}state={encoded}")
}

fn bad(cx: &TenantCx, message: &str) -> Resp {
    error_page(Some(cx), PageError::BadRequest(message.to_owned()))
}

/// `GET|POST /logout`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let form = match Form::parse(&input.raw) {
        Ok(f) => f,
        Err(e) => return bad(cx, &format!("This sign-out request is invalid: {}.", e.description)),
    };
    let hint = match form.get("id_token_hint") {
        None => None,
        Some(token) => match verify_hint(app, cx, token) {
            Some(claims) => Some(claims),
            None => return bad(cx, "This sign-out request carries an ID token this service did not issue."),
        },
    };
    let client_id = match (hint.as_ref().map(|h| h.aud.as_str()), form.get("client_id")) {
        (Some(aud), Some(id)) if aud != id => {
            return bad(cx, "This sign-out request names another client than its ID token.");
        }
        (Some(aud), _) => Some(aud),
        (None, id) => id,
    };
    let client = match client_id {
        None => None,
        Some(id) => match app.store.client(&cx.tenant.id, id).await {
            Ok(None) => return bad(cx, "This sign-out request names an unknown client."),
            Ok(client) => client,
            Err(err) => return error_page(Some(cx), err.into()),
        },
    };
    let redirect = match (form.get("post_logout_redirect_uri"), &client) {
        (None, _) => None,
        (Some(uri), Some(c)) if c.post_logout_redirect_uris.iter().any(|u| u == uri) => Some(uri),
        (Some(_), Some(_)) => {
            return bad(cx, "The address to return to after signing out is not registered.");
        }
        (Some(_), None) => {
            return bad(cx, "A return address after signing out needs a client_id or an id_token_hint.");
        }
    };
    let current = match session::current(app, cx, &input.headers, now()).await {
        Ok(c) => c,
        Err(err) => return error_page(Some(cx), err.into()),
    };
    let confirmed = form.get("confirm") == Some("yes");
    if confirmed {
        // The end-user's answer on our confirmation page: our own form, so it must come from
        // our page and carry its token.
        if let Err(resp) = super::same_origin_form(app, cx, &input.headers) {
            return *resp;
        }
        if !csrf::check(app, cx, &input.headers, &form, Purpose::Logout) {
            return error_page(Some(cx), PageError::FormExpired);
        }
    }
    let proven = hint.as_ref().is_some_and(|h| match &current {
        None => true,
        Some(c) => h.sid.as_deref() == Some(c.session.auth.sid.as_str()),
    });
    let form_action = redirect.and_then(pages::csp_source);
    if !(confirmed || proven) {
        let client_name =
            client.as_ref().map(|c| if c.client_name.is_empty() { &c.client_id } else { &c.client_name });
        return confirm_page(app, cx, input, &form, client_name.map(String::as_str), form_action.as_deref());
    }

    let mut expire = None;
    if let Some(digest) = session::cookie_digest(app, cx, &input.headers) {
        if let Err(err) = app.store.delete_session(&cx.tenant.id, &digest).await {
            return error_page(Some(cx), err.into());
        }
        expire = cookies::expired_session(app, cx);
    }
    let mut resp = match redirect {
        Some(uri) => see_other(&with_state(uri, form.get("state"))),
        None => {
            let Some(nonce) = pages::nonce() else {
                return error_page(Some(cx), PageError::Internal("no randomness for a nonce".into()));
            };
            let page = pages::SignedOut {
                chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
            };
            pages::send(StatusCode::OK, &page, &nonce, None)
        }
    };
    if let Some(cookie) = expire {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

/// "Sign out?" with a CSRF-protected form repeating the request's parameters.
fn confirm_page(
    app: &App,
    cx: &TenantCx,
    input: &Input,
    form: &Form<'_>,
    client_name: Option<&str>,
    form_action: Option<&str>,
) -> Resp {
    let (Some(nonce), Some(token)) =
        (pages::nonce(), csrf::for_page(app, cx, &input.headers, Purpose::Logout))
    else {
        return error_page(Some(cx), PageError::Internal("no randomness for the logout page".into()));
    };
    let fields: Vec<(&'static str, String)> =
        PASSED_ON.iter().filter_map(|&name| form.get(name).map(|v| (name, v.to_owned()))).collect();
    let page = pages::LogoutConfirm {
        chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
        client_name,
        csrf: &token.value,
        fields,
    };
    let mut resp = pages::send(StatusCode::OK, &page, &nonce, form_action);
    if let Some(cookie) = token.set_cookie {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_appended_encoded() {
        assert_eq!(
            with_state("https://a.example/bye", Some("a b&c")),
            "https://a.example/bye?state=a%20b%26c"
        );
        assert_eq!(with_state("https://a.example/bye?x=1", Some("s")), "https://a.example/bye?x=1&state=s");
        assert_eq!(with_state("https://a.example/bye", None), "https://a.example/bye");
    }
}
