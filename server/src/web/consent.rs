//! The consent page and `POST /consent`: the end-user allows or denies the client the scopes
//! it asked for. Allowing remembers the scopes (added to what was granted before), so the next
//! authorization with the same or fewer scopes asks nothing.

use http::StatusCode;
use http::header::SET_COOKIE;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::model::Consent;

use super::authorize::{self, Flow};
use super::session::{self, Current};
use super::{Input, PageError, csrf, error_page, login, pages, tenant_name};
use crate::app::{App, TenantCx};
use crate::endpoints::store_error;
use crate::http::respond::Resp;
use crate::util::now;

/// The consent page for the signed-in `current` user.
pub fn page(flow: &Flow<'_>, current: &Current) -> Resp {
    let cx = flow.cx;
    let (Some(nonce), Some(token)) = (pages::nonce(), csrf::for_page(flow.app, cx, flow.headers)) else {
        return error_page(Some(cx), PageError::Internal("no randomness for the consent page".into()));
    };
    let client_name =
        if flow.client.client_name.is_empty() { &flow.client.client_id } else { &flow.client.client_name };
    let mut scopes: Vec<String> =
        flow.req.scope.split(' ').filter(|s| !s.is_empty()).map(pages::describe_scope).collect();
    if scopes.is_empty() {
        scopes.push("Know that you use it, with no access to your data".to_owned());
    }
    let page = pages::Consent {
        chrome: pages::Chrome { nonce: &nonce, tenant_name: tenant_name(Some(cx)) },
        client_name,
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

/// The union of what was granted before and what is granted now, sorted, without repeats.
fn union(before: Option<Consent>, scope: &str) -> Vec<String> {
    let mut all: Vec<String> = before.map(|c| c.scope).unwrap_or_default();
    all.extend(scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
    all.sort();
    all.dedup();
    all
}

/// `POST /consent`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let post = match authorize::form_post(app, cx, &input.raw, &input.headers, "consent") {
        Ok(post) => post,
        Err(resp) => return *resp,
    };
    let authorize::FormPost { form, client, req } = post;
    let request_field = form.get("request").unwrap_or_default();
    let flow = Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field };
    let now = now();
    let current = match session::current(app, cx, &input.headers, now) {
        Ok(Some(current)) => current,
        // Signed out (or expired) while the page was open: sign in again, then decide.
        Ok(None) => return login::page(&flow, req.login_hint.as_deref().unwrap_or_default(), None),
        Err(err) => return flow.fail(store_error(err)),
    };
    match form.get("decision") {
        Some("deny") => {
            flow.fail(OAuthError::new(Reason::AccessDeniedByUser, "the end-user denied the request"))
        }
        Some("allow") => {
            let (tenant, user_id) = (&cx.tenant.id, &current.user.id);
            let before = match app.store.consent(tenant, user_id, &client.client_id) {
                Ok(c) => c,
                Err(err) => return flow.fail(store_error(err)),
            };
            let consent = Consent {
                tenant: tenant.clone(),
                user_id: user_id.clone(),
                client_id: client.client_id.clone(),
                scope: union(before, &req.scope),
                granted_at: now,
            };
            // Durable before the code leaves: a restart must not ask again for what was given.
            if let Err(err) = app.store.put_consent(&consent).await {
                return flow.fail(store_error(err));
            }
            authorize::issue(&flow, &current).await
        }
        _ => error_page(Some(cx), PageError::BadRequest("Choose Allow or Deny.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_is_sorted_and_deduplicated() {
        let before = Consent {
            tenant: "t".into(),
            user_id: "u".into(),
            client_id: "c".into(),
            scope: vec!["openid".into(), "profile".into()],
            granted_at: 0,
        };
        assert_eq!(union(Some(before), "email openid"), ["email", "openid", "profile"]);
        assert_eq!(union(None, ""), Vec::<String>::new());
    }
}
