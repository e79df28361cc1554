//! The way back from an external identity provider: `/federation/{idp}/callback`.

use std::net::IpAddr;

use http::StatusCode;
use http::header::{LOCATION, SET_COOKIE};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::model::{Actor, EventType, Outcome};
use tessera_core::secret;

use super::super::cookies::{self, Kind};
use super::super::flow::{Flow, validate};
use super::super::interaction::{EndUser, proceed};
use super::super::session::{self, StartError};
use super::super::{Input, encode_request, error_page, pages, tenant_name};
use super::start::callback_uri;
use crate::app::{App, TenantCx};
use crate::audit::{Bound, Draft};
use crate::federation::accounts::{self, AccountError};
use crate::federation::pending::{Pending, state_digest};
use crate::federation::upstream::{self, UpstreamError};
use crate::http::respond::{PageError, Resp, store_error};
use crate::util::now;

/// An error code from the provider as it may be repeated to the client: its letters and
/// underscores, at most 64.
fn upstream_code(error: &str) -> String {
    error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect()
}

/// `GET /federation/{idp}/callback`.
pub async fn callback(app: &App, cx: &TenantCx, idp_id: &str, input: &Input) -> Resp {
    let now = now();
    let page = |why: &str| error_page(Some(cx), PageError::BadRequest(why.to_owned()));
    let Ok(form) = Form::parse(&input.raw) else {
        return page("The identity provider's answer is malformed.");
    };
    let cookie = cookies::get(&input.headers, &cookies::name(app, cx, Kind::Federation));
    let pending = cookie.and_then(|value| app.federation.read_pending(&cx.tenant.id, &value, now));
    let state = form.get("state").unwrap_or_default();
    let Some(pending) =
        pending.filter(|p| p.idp == idp_id && secret::matches(state, &secret::digest(&p.state)))
    else {
        tracing::info!(tenant = %cx.tenant.id, idp = idp_id, "federation callback with an unknown state");
        return page("This sign-in is unknown or has expired. Start again from the application.");
    };
    match app.store.use_assertion(&cx.tenant.id, &state_digest(&pending.state), pending.exp).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(tenant = %cx.tenant.id, idp = idp_id, "federation callback replayed");
            return page("This sign-in was already completed. Start again from the application.");
        }
        Err(err) => return error_page(Some(cx), err.into()),
    }
    let (client, req) = match validate(app, cx, pending.request.as_bytes()).await {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let request_field = encode_request(pending.request.as_bytes());
    let flow =
        Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field: &request_field };
    let mut resp = continue_page(cx, finish(&flow, idp_id, &form, &pending, input.peer.ip()).await);
    if let Some(ended) = cookies::federation(app, cx, None, 0) {
        resp.headers_mut().append(SET_COOKIE, ended);
    }
    resp
}

/// `resp` as the callback sends it: a redirect becomes a page that navigates there itself
/// (keeping the cookies the redirect set). The browser arrived here through the provider's
/// redirect after a form of the provider's (its login or consent), and browsers check each
/// redirect of a form submission against that page's `form-action`, which names this
/// callback, not the client.
fn continue_page(cx: &TenantCx, resp: Resp) -> Resp {
    let location = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(url), true) = (location, resp.status() == StatusCode::SEE_OTHER) else { return resp };
    let Some(nonce) = pages::nonce() else {
        return error_page(Some(cx), PageError::Internal("no randomness for a nonce".into()));
    };
    let page = pages::Continue {
        chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
        url: &url,
    };
    let mut out = pages::send(StatusCode::OK, &page, &nonce, None);
    for cookie in resp.headers().get_all(SET_COOKIE) {
        out.headers_mut().append(SET_COOKIE, cookie.clone());
    }
    out
}

/// The callback once the sign-in it answers is known: the provider's answer checked and the
/// authorization resumed, or an error for the client.
async fn finish(flow: &Flow<'_>, idp_id: &str, form: &Form<'_>, pending: &Pending, source: IpAddr) -> Resp {
    let (app, cx) = (flow.app, flow.cx);
    let tenant = cx.tenant.id.as_str();
    let fail = |reason: Reason, why: String| flow.fail(OAuthError::new(reason, why));
    let Some(idp) = cx.tenant.idp(idp_id) else {
        return fail(Reason::UpstreamRefused, "the identity provider was removed".into());
    };
    if let Some(error) = form.get("error") {
        let code = upstream_code(error);
        tracing::info!(tenant, idp = idp_id, error = %code, "the identity provider refused the sign-in");
        let reason = match code.as_str() {
            "temporarily_unavailable" | "server_error" => Reason::UpstreamUnavailable,
            _ => Reason::UpstreamRefused,
        };
        return fail(reason, format!("the identity provider refused the sign-in ({code})"));
    }
    // RFC 9207: a provider that names itself must name the one asked.
    if form.get("iss").is_some_and(|iss| iss != idp.issuer) {
        return fail(Reason::UpstreamAnswerInvalid, "the answer names another issuer".into());
    }
    let Some(code) = form.get("code").filter(|c| !c.is_empty()) else {
        return fail(Reason::UpstreamAnswerInvalid, "the identity provider sent no code".into());
    };
    let secret = match app.federation.open_secret(tenant, &idp.id, &idp.sealed_secret) {
        Ok(secret) => secret,
        Err(err) => {
            tracing::error!(tenant, idp = %idp.id, %err, "identity provider's client secret");
            return fail(Reason::Internal, "the identity provider is misconfigured here".into());
        }
    };
    let now = now();
    let redirect_uri = callback_uri(&cx.issuer, &idp.id);
    let verified = async {
        let tokens = upstream::exchange(app, idp, &secret, code, &redirect_uri, &pending.verifier).await?;
        upstream::verify_id_token(app, tenant, idp, &tokens, &pending.nonce, now).await
    };
    let upstream = match verified.await {
        Ok(upstream) => upstream,
        Err(err) => {
            tracing::info!(tenant, idp = %idp.id, %err, "federated sign-in failed");
            let reason = match err {
                UpstreamError::Unreachable(_) => Reason::UpstreamUnavailable,
                UpstreamError::Invalid(_) => Reason::UpstreamAnswerInvalid,
            };
            return fail(reason, err.to_string());
        }
    };
    let user = match accounts::resolve(app, tenant, idp, &upstream, now).await {
        Ok(user) => user,
        Err(AccountError::Missing) => {
            return fail(Reason::FederatedAccountMissing, AccountError::Missing.to_string());
        }
        Err(AccountError::Disabled) => {
            return fail(Reason::FederatedUserDisabled, AccountError::Disabled.to_string());
        }
        Err(AccountError::Store(err)) => return flow.fail(store_error(err)),
        Err(AccountError::Internal(detail)) => return error_page(Some(cx), PageError::Internal(detail)),
    };
    let user_id = user.id.clone();
    let (current, set_cookie) = match session::start(app, cx, flow.headers, user, "fed", now).await {
        Ok(started) => {
            let draft = Draft {
                tenant,
                kind: EventType::LoginSuccess,
                actor: Actor::EndUser { sub: user_id.clone() },
                action: "federated_login",
                target: format!("idps/{}", idp.id),
                source,
                outcome: Outcome::Success,
                reason: None,
            };
            app.audit.record(&*app.store, Bound::Never, draft);
            started
        }
        Err(StartError::Store(err)) => return flow.fail(store_error(err)),
        Err(StartError::Internal(detail)) => return error_page(Some(cx), PageError::Internal(detail)),
    };
    let mut resp = proceed(flow, &EndUser::JustSignedIn(current), now).await;
    resp.headers_mut().append(SET_COOKIE, set_cookie);
    resp
}
