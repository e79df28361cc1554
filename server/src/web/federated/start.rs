//! The way out to an external identity provider: which provider a request names, and the
//! redirect there with the pending sign-in's cookie.

use http::header::SET_COOKIE;
use tessera_core::federation::{Binding, authorization_url, s256};
use tessera_core::model::Idp;

use super::super::cookies;
use super::super::flow::Flow;
use super::super::{decode_request, error_page, see_other};
use crate::federation::pending::{PENDING_SECS, Pending, PendingError};
use crate::federation::refresh;
use crate::http::respond::{PageError, Resp};
use crate::util::now;

/// The callback URL registered at the provider for `idp`.
pub fn callback_uri(issuer: &str, idp: &str) -> String {
    format!("{issuer}/federation/{idp}/callback")
}

/// The provider the request asks for: `idp_hint` naming one of the tenant's, else the one
/// whose domains hold the `login_hint`'s address.
pub fn hinted<'a>(flow: &Flow<'a>) -> Option<&'a Idp> {
    let tenant = &flow.cx.tenant;
    if let Some(idp) = flow.req.idp_hint.as_deref().and_then(|id| tenant.idp(id)) {
        return Some(idp);
    }
    let hint = flow.req.login_hint.as_deref()?;
    tenant.idps.iter().find(|idp| idp.claims_hint(hint))
}

/// Sends the browser to `idp` to sign in for `flow`, reading the provider's discovery
/// document again first when it is due (`federation::refresh`).
pub async fn start(flow: &Flow<'_>, idp: &Idp) -> Resp {
    let cx = flow.cx;
    let now = now();
    let refreshed;
    let idp = if refresh::due(flow.app, idp, now) {
        refreshed = refresh::refreshed(flow.app, &cx.tenant.id, idp, now).await;
        &refreshed
    } else {
        idp
    };
    let Some(raw) = decode_request(flow.request_field) else {
        return error_page(
            Some(cx),
            PageError::BadRequest("The sign-in request was lost; start again.".into()),
        );
    };
    let made = Pending::new(&idp.id, &raw, now)
        .and_then(|pending| Ok((flow.app.federation.pending_cookie(&cx.tenant.id, &pending)?, pending)));
    let (value, pending) = match made {
        Ok(made) => made,
        Err(PendingError::TooLarge) => {
            let why = "The sign-in request is too large to sign in with an identity provider.";
            return error_page(Some(cx), PageError::BadRequest(why.into()));
        }
        Err(err) => return error_page(Some(cx), PageError::Internal(err.to_string())),
    };
    let challenge = s256(&pending.verifier);
    let binding = Binding { state: &pending.state, nonce: &pending.nonce, code_challenge: &challenge };
    let redirect_uri = callback_uri(&cx.issuer, &idp.id);
    let url = authorization_url(idp, &redirect_uri, &binding, flow.req.login_hint.as_deref());
    let Some(cookie) = cookies::federation(flow.app, cx, Some(value), PENDING_SECS) else {
        return error_page(Some(cx), PageError::Internal("federation cookie header".into()));
    };
    tracing::debug!(tenant = %cx.tenant.id, idp = %idp.id, "sign-in sent to an identity provider");
    let mut resp = see_other(&url);
    resp.headers_mut().append(SET_COOKIE, cookie);
    resp
}
