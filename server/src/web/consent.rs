//! `POST /consent` (the page is `web/prompts.rs`'s): the end-user allows or denies the client
//! the scopes it asked for. Allowing remembers the scopes (added to what was granted before),
//! so the next authorization with the same or fewer scopes asks nothing, and issues the
//! response at once: the consent just given is the step `core::interaction` asked for.

use tessera_core::error::{OAuthError, Reason};
use tessera_core::model::Consent;
use tessera_core::scope;

use super::csrf::Purpose;
use super::flow::{Flow, FormPost, form_post};
use super::interaction::issue;
use super::{Input, error_page, prompts, session};
use crate::app::{App, TenantCx};
use crate::http::respond::{PageError, Resp, store_error};
use crate::util::now;

/// The union of what was granted before and what is granted now, sorted, without repeats.
fn union(before: Option<Consent>, scope: &str) -> Vec<String> {
    let mut all: Vec<String> = before.map(|c| c.scope).unwrap_or_default();
    all.extend(scope::values(scope).map(str::to_owned));
    all.sort();
    all.dedup();
    all
}

/// `POST /consent`.
pub async fn handle(app: &App, cx: &TenantCx, input: &Input) -> Resp {
    let post = match form_post(app, cx, &input.raw, &input.headers, Purpose::Consent).await {
        Ok(post) => post,
        Err(resp) => return *resp,
    };
    let FormPost { form, client, req } = post;
    let request_field = form.get("request").unwrap_or_default();
    let flow = Flow { app, cx, headers: &input.headers, client: &client, req: &req, request_field };
    let now = now();
    let current = match session::current(app, cx, &input.headers, now).await {
        Ok(Some(current)) => current,
        // Signed out (or expired) while the page was open: sign in again, then decide.
        Ok(None) => return prompts::first_login(&flow),
        Err(err) => return flow.fail(store_error(err)),
    };
    match form.get("decision") {
        Some("deny") => {
            flow.fail(OAuthError::new(Reason::AccessDeniedByUser, "the end-user denied the request"))
        }
        Some("allow") => {
            let (tenant, user_id) = (&cx.tenant.id, &current.user.id);
            let before = match app.store.consent(tenant, user_id, &client.client_id).await {
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
            issue(&flow, &current).await
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
