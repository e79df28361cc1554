//! The login form and `POST /login`: CSRF check, the authorization request validated again,
//! rate limits, the password verified off the async workers, then a new session and the rest
//! of the authorization (consent or the response).

use http::StatusCode;
use http::header::SET_COOKIE;
use tessera_core::model::User;

use super::authorize::{self, Flow};
use super::ratelimit::Limited;
use super::session::{self, StartError};
use super::{Input, PageError, csrf, error_page, pages, tenant_name};
use crate::admin::users::verify_password;
use crate::app::{App, TenantCx};
use crate::endpoints::store_error;
use crate::http::respond::Resp;
use crate::util::now;

/// Said for a wrong username and a wrong password alike, so the form never tells which
/// usernames exist.
pub const INCORRECT: &str = "The username or password is incorrect.";
/// Said when a limit of [`super::ratelimit`] is reached.
pub const TOO_MANY: &str = "Too many sign-in attempts. Wait a minute and try again.";
/// Said when a field was left empty.
const EMPTY: &str = "Enter your username and password.";

/// An argon2id hash (OWASP parameters, the ones of `admin::users`) of a password nobody
/// knows. An unknown username is verified against it, so a login for a name that does not
/// exist costs as much time as one for a name that does.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS1kdW1teS1zYWx0$nNqR0gtjEmwXV7rHbPRqH9yPoC2zE5hObyrNrEdcQpk";

/// The login page for `flow`, with `username` filled in and an optional error message.
pub fn page(flow: &Flow<'_>, username: &str, error: Option<(&str, StatusCode)>) -> Resp {
    let cx = flow.cx;
    let (Some(nonce), Some(token)) = (pages::nonce(), csrf::for_page(flow.app, cx, flow.headers)) else {
        return error_page(Some(cx), PageError::Internal("no randomness for the login page".into()));
    };
    let client_name =
        if flow.client.client_name.is_empty() { &flow.client.client_id } else { &flow.client.client_name };
    let page = pages::Login {
        chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
        client_name,
        csrf: &token.value,
        request: flow.request_field,
        username,
        error: error.map(|(message, _)| message),
    };
    let status = error.map_or(StatusCode::OK, |(_, status)| status);
    let form_action = pages::csp_source(&flow.req.redirect_uri);
    let mut resp = pages::send(status, &page, &nonce, form_action.as_deref());
    if let Some(cookie) = token.set_cookie {
        resp.headers_mut().append(SET_COOKIE, cookie);
    }
    resp
}

/// The user a login name designates: by username, else by e-mail address when it has an `@`.
fn find_user(app: &App, tenant: &str, name: &str) -> Result<Option<User>, tessera_core::store::StoreError> {
    if let Some(user) = app.store.user_by_username(tenant, name)? {
        return Ok(Some(user));
    }
    if name.contains('@') {
        return app.store.user_by_email(tenant, name);
    }
    Ok(None)
}

/// `POST /login`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let post = match authorize::form_post(app, cx, &input.raw, &input.headers, "sign-in") {
        Ok(post) => post,
        Err(resp) => return *resp,
    };
    let authorize::FormPost { form, client, req } = post;
    let request_field = form.get("request").unwrap_or_default();
    let flow = Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field };

    // Browsers and phone keyboards add stray spaces; a username never has any.
    let username = form.get("username").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return page(&flow, username, Some((EMPTY, StatusCode::OK)));
    }
    // Before any hashing: a limited attempt costs no argon2 time.
    if let Err(limit) = app.login_limits.check(&cx.tenant.id, username, input.peer.ip()) {
        let by = match limit {
            Limited::Address => "address",
            Limited::Username => "username",
        };
        tracing::info!(tenant = %cx.tenant.id, by, "login attempt rate-limited");
        return page(&flow, username, Some((TOO_MANY, StatusCode::TOO_MANY_REQUESTS)));
    }
    let user = match find_user(app, &cx.tenant.id, username) {
        Ok(u) => u,
        Err(err) => return flow.fail(store_error(err)),
    };
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let password = password.to_owned();
    // argon2id costs ~28 ms of CPU and 19 MiB: never on an async worker.
    let verified = match tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await {
        Ok(v) => v,
        Err(err) => {
            return error_page(Some(cx), PageError::Internal(format!("password verification task: {err}")));
        }
    };
    let user = match user {
        Some(user) if verified => user,
        // 200, not 401: a 401 must carry a `WWW-Authenticate` challenge (RFC 9110 15.5.2),
        // and a form login has none; the page itself says what went wrong.
        _ => return page(&flow, username, Some((INCORRECT, StatusCode::OK))),
    };
    let now = now();
    let (current, set_cookie) = match session::start(app, cx, &input.headers, user, now).await {
        Ok(started) => started,
        Err(StartError::Store(err)) => return flow.fail(store_error(err)),
        Err(StartError::Internal(detail)) => return error_page(Some(cx), PageError::Internal(detail)),
    };
    let mut resp = authorize::decide(&flow, Some(current), true, now).await;
    resp.headers_mut().append(SET_COOKIE, set_cookie);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_real_argon2id_hash_that_matches_nothing_typed() {
        let hash = argon2::password_hash::PasswordHash::new(DUMMY_HASH).expect("PHC string");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert!(!verify_password("password", DUMMY_HASH));
        assert!(!verify_password("", DUMMY_HASH));
    }
}
