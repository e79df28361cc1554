//! `POST /login` (the form is `web/prompts.rs`'s): CSRF check, the authorization request
//! validated again, rate limits, the password verified off the async workers, then a new
//! session and the authorization's next step (consent or the response).

use http::StatusCode;
use http::header::SET_COOKIE;
use tessera_core::model::User;

use super::flow::{Flow, FormPost, form_post};
use super::interaction::{EndUser, proceed};
use super::prompts;
use super::ratelimit::Limited;
use super::session::{self, StartError};
use super::{Input, error_page};
use crate::app::{App, TenantCx};
use crate::http::respond::{PageError, Resp, store_error};
use crate::password::{DUMMY_HASH, verify_password};
use crate::util::now;

/// Said for a wrong username and a wrong password alike, so the form never tells which
/// usernames exist.
pub const INCORRECT: &str = "The username or password is incorrect.";
/// Said when a limit of [`super::ratelimit`] is reached.
pub const TOO_MANY: &str = "Too many sign-in attempts. Wait a minute and try again.";
/// Said when a field was left empty.
const EMPTY: &str = "Enter your username and password.";

/// The user a login name designates: by username, else by e-mail address when it has an `@`.
async fn find_user(
    app: &App,
    tenant: &str,
    name: &str,
) -> Result<Option<User>, tessera_core::store::StoreError> {
    if let Some(user) = app.store.user_by_username(tenant, name).await? {
        return Ok(Some(user));
    }
    if name.contains('@') {
        return app.store.user_by_email(tenant, name).await;
    }
    Ok(None)
}

/// `POST /login`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let post = match form_post(app, cx, &input.raw, &input.headers, "sign-in").await {
        Ok(post) => post,
        Err(resp) => return *resp,
    };
    let FormPost { form, client, req } = post;
    let request_field = form.get("request").unwrap_or_default();
    let flow = Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field };

    // Browsers and phone keyboards add stray spaces; a username never has any.
    let username = form.get("username").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return prompts::login(&flow, username, Some((EMPTY, StatusCode::OK)));
    }
    // Before any hashing: a limited attempt costs no argon2 time.
    if let Err(limit) = app.login_limits.check(&cx.tenant.id, username, input.peer.ip()) {
        let by = match limit {
            Limited::Address => "address",
            Limited::Username => "username",
        };
        tracing::info!(tenant = %cx.tenant.id, by, "login attempt rate-limited");
        return prompts::login(&flow, username, Some((TOO_MANY, StatusCode::TOO_MANY_REQUESTS)));
    }
    let user = match find_user(app, &cx.tenant.id, username).await {
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
        _ => return prompts::login(&flow, username, Some((INCORRECT, StatusCode::OK))),
    };
    let now = now();
    let (current, set_cookie) = match session::start(app, cx, &input.headers, user, now).await {
        Ok(started) => started,
        Err(StartError::Store(err)) => return flow.fail(store_error(err)),
        Err(StartError::Internal(detail)) => return error_page(Some(cx), PageError::Internal(detail)),
    };
    let mut resp = proceed(&flow, &EndUser::JustSignedIn(current), now).await;
    resp.headers_mut().append(SET_COOKIE, set_cookie);
    resp
}
