//! `POST /login` (the form is `web/prompts.rs`'s): CSRF check, the authorization request
//! validated again, the password guard (`password/guard.rs`: rate limits and lockouts; a
//! refusal is the form again with 429 and `Retry-After`, an account guessed from many
//! addresses waits first), the password verified through the guard's permit (the password
//! gate at capacity: the form again with 503 and `Retry-After`), then a
//! new session and the authorization's next step (consent or the response). A verified
//! attempt, right or wrong, is an audit event (`login.success`, `login.failure`): the user's
//! id when the name matched a user, and nothing of what was typed otherwise (a password typed
//! into the username field must not be stored).

use http::StatusCode;
use http::header::SET_COOKIE;
use tessera_core::model::{Actor, EventType, Outcome};

use super::csrf::Purpose;
use super::flow::{Flow, FormPost, form_post};
use super::interaction::{EndUser, proceed};
use super::prompts;
use super::session::{self, StartError};
use super::{Input, error_page};
use crate::app::{App, TenantCx};
use crate::audit::{Bound, Draft};
use crate::http::respond::{PageError, Resp, retry_after_secs, set_retry_after, store_error};
use crate::password::{DUMMY_HASH, Limited, PasswordError, Refused};
use crate::util::now;

/// Said for a wrong username and a wrong password alike, so the form never tells which
/// usernames exist.
pub const INCORRECT: &str = "The username or password is incorrect.";
/// Said when a limit of [`crate::password::PasswordGuard`] is reached.
pub const TOO_MANY: &str = "Too many sign-in attempts. Wait a minute and try again.";
/// Said when the password gate is at capacity: nothing was checked, trying again will work.
pub const BUSY: &str = "The service is busy. Try again in a moment.";
/// Said when a provider's button names no provider of the tenant (removed meanwhile).
const UNKNOWN_IDP: &str = "That sign-in option is no longer available.";
/// Said when a field was left empty.
const EMPTY: &str = "Enter your username and password.";

/// Records a verified sign-in attempt: by `user` if the name matched one, else by nobody.
/// Failures are bounded per tenant (`crate::audit`): anyone can make them.
fn record(app: &App, cx: &TenantCx, input: &Input, user: Option<&str>, failed: Option<&'static str>) {
    let (kind, outcome, bound) = match failed {
        None => (EventType::LoginSuccess, Outcome::Success, Bound::Never),
        Some(_) => (EventType::LoginFailure, Outcome::Failure, Bound::PerTenant),
    };
    let draft = Draft {
        tenant: &cx.tenant.id,
        kind,
        actor: user.map_or(Actor::Anonymous, |sub| Actor::EndUser { sub: sub.to_owned() }),
        action: "login",
        target: user.map(|sub| format!("users/{sub}")).unwrap_or_default(),
        source: input.peer.ip(),
        outcome,
        reason: failed,
    };
    app.audit.record(&*app.store, bound, draft);
}

/// `POST /login`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let post = match form_post(app, cx, &input.raw, &input.headers, Purpose::Login).await {
        Ok(post) => post,
        Err(resp) => return *resp,
    };
    let FormPost { form, client, req } = post;
    let request_field = form.get("request").unwrap_or_default();
    let flow = Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field };

    // A provider's button on the form: off to sign in there instead.
    if let Some(idp_id) = form.get("idp") {
        return match cx.tenant.idp(idp_id) {
            Some(idp) => super::federated::start::start(&flow, idp).await,
            None => prompts::login(&flow, "", Some((UNKNOWN_IDP, StatusCode::OK))),
        };
    }
    // Browsers and phone keyboards add stray spaces; a username never has any.
    let username = form.get("username").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return prompts::login(&flow, username, Some((EMPTY, StatusCode::OK)));
    }
    // Before any hashing: a limited attempt costs no argon2 time.
    let permit = match app.password_guard.check(&cx.tenant.id, username, input.peer.ip()).await {
        Ok(permit) => permit,
        Err(Refused { by, retry_after }) => {
            let by = match by {
                Limited::Address => "address",
                Limited::UsernameAtAddress => "username at address",
            };
            tracing::info!(tenant = %cx.tenant.id, by, "login attempt rate-limited");
            let mut resp = prompts::login(&flow, username, Some((TOO_MANY, StatusCode::TOO_MANY_REQUESTS)));
            set_retry_after(&mut resp, retry_after_secs(retry_after));
            return resp;
        }
    };
    let user = match crate::end_users::find_by_login_name(app, &cx.tenant.id, username).await {
        Ok(u) => u,
        Err(err) => return flow.fail(store_error(err)),
    };
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let verified = match permit.verify(password.to_owned(), hash).await {
        Ok(v) => v,
        Err(PasswordError::Busy { retry_after_secs }) => {
            tracing::info!(tenant = %cx.tenant.id, "login attempt refused: password checks at capacity");
            let mut resp = prompts::login(&flow, username, Some((BUSY, StatusCode::SERVICE_UNAVAILABLE)));
            set_retry_after(&mut resp, retry_after_secs);
            return resp;
        }
        Err(PasswordError::Failed(detail)) => return error_page(Some(cx), PageError::Internal(detail)),
    };
    let user = match user {
        // A disabled user gets the answer a wrong password gets, after the same password work
        // and counted as a failure the same way: the form never tells a stranger whether an
        // account exists, is disabled, or that the password tried is the right one (which an
        // attacker would keep for the day the account is enabled again). The operator who
        // disabled the account tells its owner; the log says why the sign-in failed.
        Some(user) if verified && user.disabled => {
            tracing::info!(tenant = %cx.tenant.id, user = %user.id, "sign-in refused: the user is disabled");
            record(app, cx, input, Some(&user.id), Some("user_disabled"));
            app.password_guard.record_failure(&cx.tenant.id, username);
            return prompts::login(&flow, username, Some((INCORRECT, StatusCode::OK)));
        }
        Some(user) if verified => {
            app.password_guard.record_success(&cx.tenant.id, username);
            user
        }
        // 200, not 401: a 401 must carry a `WWW-Authenticate` challenge (RFC 9110 15.5.2),
        // and a form login has none; the page itself says what went wrong.
        found => {
            let why = if found.is_some() { "wrong_password" } else { "unknown_user" };
            record(app, cx, input, found.as_ref().map(|u| u.id.as_str()), Some(why));
            app.password_guard.record_failure(&cx.tenant.id, username);
            return prompts::login(&flow, username, Some((INCORRECT, StatusCode::OK)));
        }
    };
    let user_id = user.id.clone();
    let now = now();
    let (current, set_cookie) = match session::start(app, cx, &input.headers, user, "pwd", now).await {
        Ok(started) => {
            record(app, cx, input, Some(&user_id), None);
            started
        }
        Err(StartError::Store(err)) => return flow.fail(store_error(err)),
        Err(StartError::Internal(detail)) => return error_page(Some(cx), PageError::Internal(detail)),
    };
    let mut resp = proceed(&flow, &EndUser::JustSignedIn(current), now).await;
    resp.headers_mut().append(SET_COOKIE, set_cookie);
    resp
}
