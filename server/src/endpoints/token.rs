//! `POST /t/{tenant}/token` (RFC 6749 3.2): parses the request, authenticates the client,
//! checks once that the client may use the grant the request names, and dispatches to that
//! grant's handler (`crate::grants`). The plan it returns is carried out by the one issuing
//! step every grant shares ([`issue::carry_out`]): an access token (a JWT per RFC 9068, or an
//! opaque token durably stored before the response leaves), and for end-user grants an ID
//! token and a refresh token.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, StatusCode};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::grants;
use tessera_core::model::{
    AccessTokenFormat, Actor, Client, EventType, GrantType, Outcome, effective_token_rate_limit, is_valid_id,
};
use tessera_core::token::{self, TokenResponse};
use tessera_core::{client_auth, resource};

use super::authenticate_client;
use crate::app::{App, TenantCx};
use crate::audit::{Bound, Draft};
use crate::grants::Asked;
use crate::http::respond::{Resp, json_no_store, oauth_error, retry_after_secs};
use crate::issue;
use crate::metrics::issued::Issued;
use crate::util::now;

/// What a token request got as far as naming, for the event of its failure.
#[derive(Default)]
struct Seen {
    /// The client, once authenticated (a reference count on the success path, no copy).
    client: Option<Arc<Client>>,
    /// The grant, once parsed.
    grant: Option<GrantType>,
}

/// Handles a token request.
pub async fn handle(app: &App, cx: TenantCx, headers: &HeaderMap, body: Bytes, peer: IpAddr) -> Resp {
    let mut seen = Seen::default();
    match token(app, &cx, headers, &body, &mut seen, peer).await {
        Ok(resp) => json_no_store(StatusCode::OK, &resp),
        Err(err) => {
            // No `token.failure` event per rate-limited request: the limit recorded one
            // `rate_limited` event when it started refusing.
            if !err.is_rate_limited() {
                record_failure(app, &cx, headers, &body, seen, &err, peer);
            }
            oauth_error(&err)
        }
    }
}

/// Records a refused token request (`token.failure`, bounded per tenant: see `crate::audit`).
/// The actor is the client if it authenticated; otherwise nobody, with the client id the
/// request claimed as the target when it is one a client could have (so an operator sees
/// which client is being guessed at). The reason is the OAuth error code; the request's
/// secrets, codes and tokens are never read into the event.
fn record_failure(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: &[u8],
    seen: Seen,
    err: &OAuthError,
    peer: IpAddr,
) {
    let (actor, target) = match seen.client {
        Some(client) => (Actor::Client { client_id: client.client_id.clone() }, "token".to_owned()),
        None => {
            let claimed = Form::parse(body).ok().and_then(|form| {
                let presented = client_auth::extract(headers.get(AUTHORIZATION).map(|v| v.as_bytes()), &form);
                presented.ok().map(|p| p.client_id().to_owned()).filter(|id| is_valid_id(id))
            });
            (Actor::Anonymous, claimed.map_or_else(|| "token".to_owned(), |id| format!("clients/{id}")))
        }
    };
    let draft = Draft {
        tenant: &cx.tenant.id,
        kind: EventType::TokenFailure,
        actor,
        action: seen.grant.map_or("unknown", GrantType::as_str),
        target,
        source: peer,
        outcome: Outcome::Failure,
        reason: Some(err.code().as_str()),
    };
    app.audit.record(&*app.store, Bound::PerTenant, draft);
}

/// Records that `client` ran out of its token-endpoint quota (`rate_limited`, once a minute
/// per client at most: `token_limits.rs`).
fn record_rate_limited(app: &App, cx: &TenantCx, client: &Client, peer: IpAddr) {
    let draft = Draft {
        tenant: &cx.tenant.id,
        kind: EventType::RateLimited,
        actor: Actor::Client { client_id: client.client_id.clone() },
        action: "token",
        target: format!("clients/{}", client.client_id),
        source: peer,
        outcome: Outcome::Failure,
        reason: Some("token_rate_limit"),
    };
    app.audit.record(&*app.store, Bound::PerTenant, draft);
}

async fn token(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: &[u8],
    seen: &mut Seen,
    peer: IpAddr,
) -> Result<TokenResponse, OAuthError> {
    let form = Form::parse(body)?;
    seen.grant = form.get("grant_type").and_then(GrantType::parse);
    let client = authenticate_client(app, cx, headers, &form).await?;
    seen.client = Some(Arc::clone(&client));
    // After authentication (no one spends another client's quota by naming it) and before any
    // grant runs (a refused request signs and stores nothing).
    let quota = effective_token_rate_limit(cx.tenant.settings.token_rate_limit, client.token_rate_limit);
    if let Err(limited) = app.token_limits.check(&cx.tenant.id, &client.client_id, quota) {
        if limited.first {
            record_rate_limited(app, cx, &client, peer);
        }
        return Err(OAuthError::retry_after(
            Reason::ClientRateLimited,
            "the client's token request rate is over its limit; retry later",
            retry_after_secs(limited.retry_after),
        ));
    }
    let request = token::parse(&form)?;
    // Before any handler runs: a client that may not redeem codes must not be able to use one
    // up.
    grants::check_allowed(&client, request.grant_type())?;
    // RFC 8707: which API the token is for, before any grant's work (a code is not used up
    // by a request for a resource the client may not have).
    let api = resource::select(&cx.tenant, &client, resource::requested(&form)?)?;
    let now = now();
    let grant = request.grant_type();
    let plan = crate::grants::plan(app, cx, &client, Asked { request, form: &form, api, peer }, now).await?;
    let format = plan.access_token_format(client.access_token_format);
    let response = issue::carry_out(app, cx, &client, plan, now).await?;
    count_issued(app, grant, format, &response);
    Ok(response)
}

/// Counts what a token response carries, for the metrics.
fn count_issued(app: &App, grant: GrantType, format: AccessTokenFormat, response: &TokenResponse) {
    let issue = &app.metrics.issue;
    issue.issued(grant, Issued::Access(format));
    if response.id_token.is_some() {
        issue.issued(grant, Issued::Id);
    }
    if response.refresh_token.is_some() {
        issue.issued(grant, Issued::Refresh);
    }
}
