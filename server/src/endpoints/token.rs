//! `POST /t/{tenant}/token` (RFC 6749 3.2): authenticates the client, runs the one grant the
//! request names, and issues a JWT (RFC 9068) or an opaque token, durably stored before the
//! response leaves.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::grants::client_credentials;
use tessera_core::jwt::{self, AccessTokenClaims};
use tessera_core::model::{AccessTokenFormat, OpaqueToken};
use tessera_core::secret;
use tessera_core::token::{self, TokenRequest, TokenResponse};

use super::{authenticate_client, random_error, sign_error, store_error};
use crate::actors::TokenWrite;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, json_no_store, oauth_error};
use crate::util::{now, random};

/// Handles a token request.
pub async fn handle(app: &App, cx: TenantCx, headers: &HeaderMap, body: Bytes) -> Resp {
    match issue(app, &cx, headers, &body).await {
        Ok(resp) => json_no_store(StatusCode::OK, &resp),
        Err(err) => oauth_error(&err),
    }
}

async fn issue(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let form = Form::parse(body)?;
    let client = authenticate_client(app, cx, headers, &form)?;
    match token::parse(&form)? {
        TokenRequest::ClientCredentials { scope } => {
            let validated = client_credentials::validate(scope, &client)?;
            let now = now();
            let ttl = cx.tenant.settings.access_token_ttl_secs;
            let jti = secret::encode_id(&random().map_err(random_error)?);
            let claims = client_credentials::claims(validated, &client, &cx.issuer, jti, now, ttl);
            let scope = claims.scope.clone();
            let access_token = match client.access_token_format {
                AccessTokenFormat::Jwt => sign_access_token(app, cx, &claims).await?,
                AccessTokenFormat::Opaque => store_opaque_token(app, cx, claims).await?,
            };
            Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: ttl, scope })
        }
    }
}

async fn sign_access_token(
    app: &App,
    cx: &TenantCx,
    claims: &AccessTokenClaims,
) -> Result<String, OAuthError> {
    let alg = cx.tenant.settings.access_token_alg;
    let kid = app.keys.current_or_create(&cx.tenant.id, alg, claims.iat).await.map_err(|e| {
        tracing::error!(err = %e, "no signing key");
        tessera_core::error::OAuthError::new(tessera_core::error::Reason::SigningFailed, "no signing key")
    })?;
    let input = jwt::signing_input(alg, jwt::ACCESS_TOKEN_TYP, &kid, claims)
        .map_err(|e| OAuthError::new(tessera_core::error::Reason::Internal, e.to_string()))?;
    let signature = app.signer.sign(&cx.tenant.id, &kid, input.as_bytes()).await.map_err(sign_error)?;
    Ok(jwt::assemble(input, &signature))
}

async fn store_opaque_token(
    app: &App,
    cx: &TenantCx,
    claims: AccessTokenClaims,
) -> Result<String, OAuthError> {
    let value = secret::encode_secret(&random().map_err(random_error)?);
    let digest = secret::digest(&value);
    let record = OpaqueToken {
        tenant: cx.tenant.id.clone(),
        client_id: claims.client_id,
        sub: claims.sub,
        scope: claims.scope,
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
    };
    app.shards
        .write(&cx.tenant.id, &digest, TokenWrite::IssueOpaque { digest, record })
        .await
        .map_err(store_error)?;
    Ok(value)
}
