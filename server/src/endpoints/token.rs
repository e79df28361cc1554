//! `POST /t/{tenant}/token` (RFC 6749 3.2): authenticates the client, runs the one grant the
//! request names, and answers with what it earns: an access token (a JWT per RFC 9068, or an
//! opaque token durably stored before the response leaves), and for end-user grants an ID token
//! and a refresh token.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::grants::authorization_code::{self, Authentication, Code};
use tessera_core::grants::{client_credentials, refresh_token};
use tessera_core::model::{Client, GrantType, RefreshToken, Revocation, UnixSecs};
use tessera_core::secret;
use tessera_core::store::{CodeTaken, RefreshUse};
use tessera_core::token::{self, TokenRequest, TokenResponse};

use super::{authenticate_client, random_error, store_error};
use crate::actors::TokenWrite;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, json_no_store, oauth_error};
use crate::issue::{self, AccessGrant};
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
            let grant =
                AccessGrant { client: &client, sub: &client.client_id, scope: &validated.scope, jti, now };
            let access_token = issue::access_token(app, cx, grant).await?;
            Ok(TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in: ttl,
                scope: validated.scope,
                refresh_token: None,
                id_token: None,
            })
        }
        TokenRequest::AuthorizationCode(req) => {
            // Checked before the code is taken: a client that may not redeem codes must not
            // be able to use one up.
            if !client.allows_grant(GrantType::AuthorizationCode) {
                return Err(OAuthError::new(
                    Reason::GrantTypeNotAllowed,
                    "the client is not registered for authorization_code",
                ));
            }
            // A verifier outside the RFC 7636 4.1 grammar makes the request malformed (RFC
            // 6749 5.2 invalid_request): refused before the code is taken, like every other
            // syntax error, so a malformed request leaves the code redeemable. A well-formed
            // verifier that does not match still uses the code up (RFC 7636 4.6).
            if let Some(verifier) = req.code_verifier {
                tessera_core::pkce::parse_verifier(verifier)?;
            }
            let now = now();
            let digest = secret::digest(req.code);
            match app.store.take_code(&cx.tenant.id, &digest).await.map_err(store_error)? {
                CodeTaken::Fresh(code) => {
                    let validated = authorization_code::validate(req, &client, code, now)?;
                    redeem_code(app, cx, &client, validated.code, &digest, now).await
                }
                CodeTaken::Replayed(code) => {
                    revoke_code_grant(app, cx, &code, &digest, now).await?;
                    Err(OAuthError::new(
                        Reason::AuthorizationCodeReplayed,
                        "the authorization code was already used; the tokens issued for it are revoked",
                    ))
                }
                CodeTaken::Unknown => Err(OAuthError::new(
                    Reason::AuthorizationCodeUnknown,
                    "the authorization code is invalid or expired",
                )),
            }
        }
        TokenRequest::RefreshToken(req) => refresh(app, cx, &client, req).await,
    }
}

/// Issues the tokens of a validated code: an access token whose `jti` and a refresh-token
/// family whose id are derived from the code, so a replay of the code can revoke both.
async fn redeem_code(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    code: Code,
    digest: &[u8; 32],
    now: UnixSecs,
) -> Result<TokenResponse, OAuthError> {
    let (jti, family) = issue::code_ids(digest);
    let settings = &cx.tenant.settings;
    // If the code is replayed meanwhile, the replay's revocation makes the family's write fail
    // (no live refresh token is left behind) and denies the access token's `jti`; so the
    // access token is signed (or stored) while the family's write waits for its fsync.
    let family_write = async {
        if !refresh_token::earns_refresh_token(client, &code.scope) {
            return Ok(None);
        }
        let record = RefreshToken {
            tenant: cx.tenant.id.clone(),
            family,
            client_id: client.client_id.clone(),
            sub: code.sub.clone(),
            scope: code.scope.clone(),
            sid: code.sid.clone(),
            auth_time: code.auth_time,
            acr: code.acr.clone(),
            amr: code.amr.clone(),
            issued_at: now,
            expires_at: now + i64::from(settings.refresh_token_ttl_secs),
            rotated_at: None,
        };
        issue::start_refresh_family(app, &record).await.map(Some)
    };
    let grant = AccessGrant { client, sub: &code.sub, scope: &code.scope, jti, now };
    let (refresh_token, access_token) = tokio::join!(family_write, issue::access_token(app, cx, grant));
    let (refresh_token, access_token) = (refresh_token?, access_token?);
    let auth = Authentication {
        sub: code.sub,
        sid: code.sid,
        auth_time: code.auth_time,
        acr: code.acr,
        amr: code.amr,
    };
    let id_token =
        id_token_beside(app, cx, client, &code.scope, &auth, code.nonce, &access_token, now).await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_ttl_secs,
        scope: code.scope,
        refresh_token,
        id_token,
    })
}

/// RFC 6749 4.1.2 and 10.5: a code used twice revokes what it issued. The access token's
/// `jti` goes on the deny list (for as long as such a token could live) and the refresh family
/// is revoked, or recorded as revoked if the first redemption has not stored it yet.
async fn revoke_code_grant(
    app: &App,
    cx: &TenantCx,
    code: &Code,
    digest: &[u8; 32],
    now: UnixSecs,
) -> Result<(), OAuthError> {
    let (jti, family) = issue::code_ids(digest);
    let settings = &cx.tenant.settings;
    tracing::warn!(tenant = %cx.tenant.id, client = %code.client_id, "authorization code replayed; revoking its tokens");
    let until = now + i64::from(settings.refresh_token_ttl_secs);
    let family_revoked = app.store.revoke_refresh_family(&cx.tenant.id, &family, until);
    let revocation = Revocation {
        tenant: cx.tenant.id.clone(),
        jti: jti.clone(),
        exp: now + i64::from(settings.access_token_ttl_secs),
    };
    let denied = app.shards.write(&cx.tenant.id, jti.as_bytes(), TokenWrite::RevokeJwt(revocation));
    let (family_revoked, denied) = tokio::join!(family_revoked, denied);
    family_revoked.map_err(store_error)?;
    denied.map_err(store_error)
}

/// The refresh token grant: checks the token against the client and request, then rotates it
/// in one atomic store step that also detects a replay.
async fn refresh(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    req: refresh_token::Request<'_>,
) -> Result<TokenResponse, OAuthError> {
    let now = now();
    let tenant = &cx.tenant.id;
    let unknown =
        || OAuthError::new(Reason::RefreshTokenUnknown, "the refresh token is invalid, expired or revoked");
    let digest = secret::digest(req.refresh_token);
    let Some((current, family_revoked)) =
        app.store.refresh_token(tenant, &digest, now).map_err(store_error)?
    else {
        return Err(unknown());
    };
    // A client deleted and registered again under the same id does not inherit tokens.
    if family_revoked || client.created_at > current.issued_at {
        return Err(unknown());
    }
    let validated = refresh_token::validate(req, client, &current)?;
    // The end-user must still exist: deleting a user ends what they granted.
    if app.store.user(tenant, &current.sub).map_err(store_error)?.is_none() {
        return Err(unknown());
    }
    let settings = &cx.tenant.settings;
    let next = refresh_token::successor(&current, now, settings.refresh_token_ttl_secs);
    let next_value = secret::encode_secret(&random().map_err(random_error)?);
    let next_digest = secret::digest(&next_value);
    let grace = app.policy.refresh_reuse_grace_secs_for(&cx.tenant);
    let used = app
        .store
        .use_refresh_token(tenant, &digest, &next_digest, &next, now, grace)
        .await
        .map_err(store_error)?;
    match used {
        RefreshUse::Rotated(_) | RefreshUse::Retried(_) => {}
        RefreshUse::Reused(_) => {
            tracing::warn!(tenant = %tenant, client = %client.client_id, family = %current.family, "refresh token reused; family revoked");
            return Err(OAuthError::new(
                Reason::RefreshTokenReused,
                "the refresh token was already used; every token of its grant is revoked",
            ));
        }
        RefreshUse::Unknown => return Err(unknown()),
    }
    let jti = secret::encode_id(&random().map_err(random_error)?);
    let grant = AccessGrant { client, sub: &current.sub, scope: &validated.access_scope, jti, now };
    let access_token = issue::access_token(app, cx, grant).await?;
    // OpenID Connect Core 12.2: a refreshed ID token keeps sub, aud, auth_time and the
    // session, and carries no nonce.
    let auth = Authentication {
        sub: current.sub.clone(),
        sid: current.sid.clone(),
        auth_time: current.auth_time,
        acr: current.acr.clone(),
        amr: current.amr.clone(),
    };
    let scope = &validated.access_scope;
    let id_token = id_token_beside(app, cx, client, scope, &auth, None, &access_token, now).await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: settings.access_token_ttl_secs,
        scope: validated.access_scope,
        refresh_token: Some(next_value),
        id_token,
    })
}

/// The ID token that travels beside `access_token` when `scope` has `openid` (OpenID Connect
/// Core 3.1.3.3), bound to it by `at_hash`.
#[allow(clippy::too_many_arguments)] // each is a distinct input of the token; a struct would only rename them
async fn id_token_beside(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    scope: &str,
    auth: &Authentication,
    nonce: Option<String>,
    access_token: &str,
    now: UnixSecs,
) -> Result<Option<String>, OAuthError> {
    if !scope.split(' ').any(|s| s == "openid") {
        return Ok(None);
    }
    let mut claims = issue::id_token_claims(cx, client, auth, nonce, now);
    claims.at_hash =
        Some(tessera_core::id_token::half_hash(client.id_token_signed_response_alg, access_token));
    Ok(Some(issue::sign_id_token(app, cx, client, &claims).await?))
}
