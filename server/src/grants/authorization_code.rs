//! The authorization code grant (RFC 6749 4.1.3): takes the code out of the store (single use
//! is the store's atomic decision) and redeems it, or, for a replay, revokes what the code's
//! first redemption issued (RFC 6749 4.1.2, 10.5).

use tessera_core::error::OAuthError;
use tessera_core::grants;
use tessera_core::grants::authorization_code::{self, ReplayRevocation, Request, Taken};
use tessera_core::grants::plan::IssuePlan;
use tessera_core::model::{Client, Revocation, UnixSecs};
use tessera_core::secret;

use crate::actors::TokenWrite;
use crate::app::{App, TenantCx};
use crate::end_users;
use crate::http::respond::store_error;

/// The plan for an authorization code request, with the RFC 8707 `resource` the code was
/// requested for, if any.
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    req: Request<'_>,
    now: UnixSecs,
) -> Result<(IssuePlan, Option<String>), OAuthError> {
    authorization_code::check_before_take(&req)?;
    let digest = secret::digest(req.code);
    let taken = app.store.take_code(&cx.tenant.id, &digest).await.map_err(store_error)?;
    let settings = &cx.tenant.settings;
    match authorization_code::after_take(taken, req, client, &digest, settings, now)? {
        Taken::Redeem(validated) => {
            // The code is used up either way: a code of a user disabled or deleted since the
            // login, or whose login predates their last disable, issues nothing.
            let auth = &validated.code.auth;
            let holder = end_users::holder(app, &cx.tenant.id, &auth.sub, auth.auth_time).await;
            if holder.map_err(store_error)?.is_none() {
                return Err(grants::end_user_inactive());
            }
            let resource = validated.code.resource.clone();
            Ok((authorization_code::plan(validated, client, &digest, settings, now), resource))
        }
        Taken::Replay(revocation) => {
            tracing::warn!(tenant = %cx.tenant.id, client = %client.client_id, "authorization code replayed; revoking its tokens");
            revoke(app, cx, revocation).await?;
            Err(authorization_code::replayed())
        }
    }
}

/// Denies the access token's `jti` and revokes the refresh family (or records it as revoked,
/// if the first redemption has not stored it yet), both at once.
async fn revoke(app: &App, cx: &TenantCx, revocation: ReplayRevocation) -> Result<(), OAuthError> {
    let tenant = &cx.tenant.id;
    let ids = revocation.ids;
    let family_revoked = app.store.revoke_refresh_family(tenant, &ids.family, revocation.revoke_family_until);
    let denial = Revocation { tenant: tenant.clone(), jti: ids.jti.clone(), exp: revocation.deny_jti_until };
    let denied = app.shards.write(tenant, ids.jti.as_bytes(), TokenWrite::RevokeJwt(denial));
    let (family_revoked, denied) = tokio::join!(family_revoked, denied);
    family_revoked.map_err(store_error)?;
    denied.map_err(store_error)
}
