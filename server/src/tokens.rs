//! Any token of a tenant, whoever asks about it: what introspection says of it (RFC 7662) and
//! how it is revoked (RFC 7009). The protocol endpoints ask on behalf of an authenticated
//! client (`/introspect`, `/revoke`); the admin API's operator tools ask as the tenant's
//! operator, who sees and may end every token of the tenant whichever client holds it
//! (`core::introspection::Asker` says what each may do). One code path for both, so the
//! operator is told exactly what a resource server would be told.
//!
//! A token is told apart by its shape and then by where it is found: a compact JWS is a JWT
//! access token (its signature checked with the tenant's keys); anything else is looked up as
//! an opaque access token (in the tenant shards' memory, then the store), then as a refresh
//! token. A token of another tenant is never found: JWTs verify only with this tenant's keys
//! and issuer, and every store key starts with the tenant.

use std::sync::Arc;

use tessera_core::error::OAuthError;
use tessera_core::introspection::{self, Asker, IntrospectionResponse};
use tessera_core::model::{ClientStanding, Revocation, UnixSecs, parse_key};
use tessera_core::rbac::Entitlements;
use tessera_core::revocation;
use tessera_core::secret;
use tessera_core::store::{FamilyStatus, FoundRefresh, JwtStatus, StoreError};

use crate::actors::TokenWrite;
use crate::api_keys;
use crate::app::{App, TenantCx};
use crate::end_users;
use crate::endpoints::{self_contained, verified_access_token};
use crate::util::now;

/// Why a revocation was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The token exists but was issued to another client than the one asking (RFC 7009 2.1).
    #[error(transparent)]
    NotYours(OAuthError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What introspection says of `token` to `asker` (RFC 7662 2.2): active with its claims only
/// if this tenant issued it, it is neither expired nor revoked, its client still honours it
/// (`Client::standing_of`: registered then, not cut off since) and its end-user still stands
/// (`end_users::holder`). Everything else is the bare `{"active":false}`.
pub async fn introspect(
    app: &App,
    cx: &TenantCx,
    token: &str,
    asker: Asker<'_>,
) -> Result<IntrospectionResponse, StoreError> {
    let now = now();
    if let Some(jws) = self_contained(app, cx, token) {
        let Some(claims) = verified_access_token(app, cx, &jws) else {
            return Ok(IntrospectionResponse::inactive());
        };
        let revoked = app.store.jwt_status(&cx.tenant.id, &claims.jti).await? == JwtStatus::Revoked
            || !client_honours(app, cx, &claims.client_id, claims.iat).await?
            || !subject_stands(
                app,
                cx,
                (&claims.sub, claims.validator.as_deref()),
                &claims.client_id,
                claims.iat,
            )
            .await?;
        return Ok(IntrospectionResponse::for_jwt(claims, &cx.issuer, revoked, now));
    }
    if parse_key(token).is_some() {
        return introspect_api_key(app, cx, token).await;
    }
    let digest = secret::digest(token);
    match app.shards.opaque_token(&cx.tenant.id, &digest).await? {
        // An opaque token's `jti` is on the deny list when the code it came from was replayed.
        // A token bound to resource servers (a direct authorisation's `audience`) is active
        // only to them.
        Some(token)
            if token.tenant == cx.tenant.id
                && asker.sees_access_token_for(&token.audience)
                && app.store.jwt_status(&cx.tenant.id, &token.jti).await? == JwtStatus::NotRevoked
                && client_honours(app, cx, &token.client_id, token.iat).await?
                && subject_stands(
                    app,
                    cx,
                    (&token.sub, token.validator.as_deref()),
                    &token.client_id,
                    token.iat,
                )
                .await? =>
        {
            Ok(IntrospectionResponse::for_opaque(Arc::unwrap_or_clone(token), &cx.issuer, now))
        }
        Some(_) => Ok(IntrospectionResponse::inactive()),
        None => introspect_refresh_token(app, cx, asker, &digest, now).await,
    }
}

/// A live API key, described to whoever asks (a resource server is who it is presented to),
/// with what its roles grant now.
async fn introspect_api_key(
    app: &App,
    cx: &TenantCx,
    token: &str,
) -> Result<IntrospectionResponse, StoreError> {
    let Some(key) = api_keys::live(app, &cx.tenant.id, token).await? else {
        return Ok(IntrospectionResponse::inactive());
    };
    // Presented to a resource server or as an admin credential: a use.
    app.api_key_uses.note(&cx.tenant.id, &key.id, now());
    let held = if key.role_ids.is_empty() {
        Entitlements::default()
    } else {
        app.store.roles(&cx.tenant.id).await?.entitlements(&key.role_ids)
    };
    Ok(IntrospectionResponse::for_api_key(&key, held, &cx.issuer))
}

/// A live refresh token, described only to those `asker` says may hear of it.
async fn introspect_refresh_token(
    app: &App,
    cx: &TenantCx,
    asker: Asker<'_>,
    digest: &[u8; 32],
    now: UnixSecs,
) -> Result<IntrospectionResponse, StoreError> {
    match app.store.refresh_token(&cx.tenant.id, digest, now).await? {
        Some(FoundRefresh { token, family: FamilyStatus::Live })
            if asker.sees_refresh_token_of(&token.client_id)
                && token.rotated_at.is_none()
                && client_honours(app, cx, &token.client_id, token.issued_at).await?
                && subject_stands(
                    app,
                    cx,
                    (&token.auth.sub, token.validator.as_deref()),
                    &token.client_id,
                    token.auth.auth_time,
                )
                .await? =>
        {
            Ok(IntrospectionResponse::for_refresh_token(token, &cx.issuer))
        }
        _ => Ok(IntrospectionResponse::inactive()),
    }
}

/// Revokes `token` as `asker` may (`revocation::may_revoke`): a JWT access token goes on the
/// deny list until it expires, an opaque access token is deleted (and forgotten by the shard
/// that holds it in memory), a refresh token's whole family is revoked (RFC 7009 2.1: the grant
/// ends; access tokens already issued from it live out their short lifetime). A token that is
/// unknown, invalid, expired or of another tenant is no error (RFC 7009 2.2). Each write is
/// durable before this returns.
pub async fn revoke(app: &App, cx: &TenantCx, token: &str, asker: Asker<'_>) -> Result<(), RevokeError> {
    let tenant = &cx.tenant.id;
    if let Some(jws) = self_contained(app, cx, token) {
        let Some(claims) = verified_access_token(app, cx, &jws) else {
            return Ok(());
        };
        revocation::may_revoke(asker, &claims.client_id).map_err(RevokeError::NotYours)?;
        if claims.exp <= now() {
            return Ok(());
        }
        let revocation = Revocation { tenant: tenant.clone(), jti: claims.jti, exp: claims.exp };
        let key = revocation.jti.clone();
        app.shards.write(tenant, key.as_bytes(), TokenWrite::RevokeJwt(revocation)).await?;
        return Ok(());
    }
    if let Some((id, _)) = parse_key(token) {
        // An API key belongs to the tenant, not to a client: only the operator revokes it.
        if api_keys::live(app, tenant, token).await?.is_some() {
            if let Asker::Client(_) = asker {
                return Err(RevokeError::NotYours(revocation::not_your_token()));
            }
            app.store.delete_api_key(tenant, id).await?;
        }
        return Ok(());
    }
    let digest = secret::digest(token);
    match app.shards.opaque_token(tenant, &digest).await? {
        Some(found) => {
            revocation::may_revoke(asker, &found.client_id).map_err(RevokeError::NotYours)?;
            app.shards.write(tenant, &digest, TokenWrite::RevokeOpaque { digest }).await?;
            Ok(())
        }
        None => match app.store.refresh_token(tenant, &digest, now()).await? {
            Some(found) => {
                revocation::may_revoke(asker, &found.token.client_id).map_err(RevokeError::NotYours)?;
                match found {
                    FoundRefresh { token, family: FamilyStatus::Live } => {
                        app.store.revoke_refresh_family(tenant, &token.family, token.expires_at).await?;
                    }
                    FoundRefresh { family: FamilyStatus::Revoked, .. } => {}
                }
                Ok(())
            }
            None => Ok(()),
        },
    }
}

/// Whether the client a token was issued to at `issued_at` still honours it: it is still
/// registered, was already registered then (deleting a client invalidates its tokens, RFC 7592
/// 2.3, and one registered again under the same id does not inherit them), and the operator
/// has not cut off its tokens since (revoke-all). The client record is cached, so this costs
/// no store read on the hot path.
pub async fn client_honours(
    app: &App,
    cx: &TenantCx,
    client_id: &str,
    issued_at: UnixSecs,
) -> Result<bool, StoreError> {
    let client = app.store.client(&cx.tenant.id, client_id).await?;
    Ok(client.is_some_and(|c| c.standing_of(issued_at) == ClientStanding::Usable))
}

/// Whether the subject of a token still stands: an end-user must exist, not be disabled, and
/// not have been cut off since `began_at` (a disable or a revoke-all; deleting or disabling a
/// user ends what they granted, as userinfo and the refresh grant also hold); a client
/// credentials token's subject is its client, which [`client_honours`] checks. A subject an
/// identity validator or a trusted issuer's assertion vouched for (`validator`) lives in that
/// party's directory, not the local one: it answered for the subject when the token was issued,
/// and its token lives until it expires or is revoked.
async fn subject_stands(
    app: &App,
    cx: &TenantCx,
    (sub, validator): (&str, Option<&str>),
    client_id: &str,
    began_at: UnixSecs,
) -> Result<bool, StoreError> {
    if !introspection::names_end_user(sub, client_id) || validator.is_some() {
        return Ok(true);
    }
    Ok(end_users::holder(app, &cx.tenant.id, sub, began_at).await?.is_some())
}
