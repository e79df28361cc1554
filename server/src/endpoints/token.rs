//! `POST /t/{tenant}/token` (RFC 6749 3.2): parses the request, authenticates the client,
//! checks once that the client may use the grant the request names, and dispatches to that
//! grant's handler (`crate::grants`). The plan it returns is carried out by the one issuing
//! step every grant shares ([`issue::carry_out`]): an access token (a JWT per RFC 9068, or an
//! opaque token durably stored before the response leaves), and for end-user grants an ID
//! token and a refresh token.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::grants;
use tessera_core::model::{Client, GrantType};
use tessera_core::token::{self, TokenResponse};

use super::authenticate_client;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, json_no_store, oauth_error};
use crate::issue;
use crate::metrics::issued::Issued;
use crate::util::now;

/// Handles a token request.
pub async fn handle(app: &App, cx: TenantCx, headers: &HeaderMap, body: Bytes) -> Resp {
    match token(app, &cx, headers, &body).await {
        Ok(resp) => json_no_store(StatusCode::OK, &resp),
        Err(err) => oauth_error(&err),
    }
}

async fn token(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let form = Form::parse(body)?;
    let client = authenticate_client(app, cx, headers, &form).await?;
    let request = token::parse(&form)?;
    // Before any handler runs: a client that may not redeem codes must not be able to use one
    // up.
    grants::check_allowed(&client, request.grant_type())?;
    let now = now();
    let grant = request.grant_type();
    let plan = crate::grants::plan(app, cx, &client, request, now).await?;
    let response = issue::carry_out(app, cx, &client, plan, now).await?;
    count_issued(app, grant, &client, &response);
    Ok(response)
}

/// Counts what a token response carries, for the metrics.
fn count_issued(app: &App, grant: GrantType, client: &Client, response: &TokenResponse) {
    let issue = &app.metrics.issue;
    issue.issued(grant, Issued::Access(client.access_token_format));
    if response.id_token.is_some() {
        issue.issued(grant, Issued::Id);
    }
    if response.refresh_token.is_some() {
        issue.issued(grant, Issued::Refresh);
    }
}
