//! The refresh token grant (RFC 6749 6): reads the presented token, checks it against the
//! client, the request and its end-user, then has the store rotate it in one atomic step that
//! also tells a retry within the grace period from a replay.

use tessera_core::error::OAuthError;
use tessera_core::grants;
use tessera_core::grants::plan::{IssuePlan, ScopeSource};
use tessera_core::grants::refresh_token::{self, Request};
use tessera_core::model::{Client, Standing, UnixSecs};
use tessera_core::rbac;
use tessera_core::secret;
use tessera_core::store::RefreshUse;
use tessera_core::store::Subject;
use tessera_core::store::{FamilyStatus, FoundRefresh};

use crate::app::{App, TenantCx};
use crate::http::respond::{random_error, store_error};
use crate::util::random;
use crate::{end_users, entitlements};

/// The plan for a refresh request.
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    req: Request<'_>,
    now: UnixSecs,
) -> Result<IssuePlan, OAuthError> {
    let tenant = &cx.tenant.id;
    let digest = secret::digest(req.refresh_token);
    let Some(FoundRefresh { token: current, family: FamilyStatus::Live }) =
        app.store.refresh_token(tenant, &digest, now).await.map_err(store_error)?
    else {
        return Err(refresh_token::unknown());
    };
    let source = ScopeSource::of(req.scope);
    let validated = refresh_token::validate(req, client, &current)?;
    // The end-user must still exist and stand: deleting or disabling a user ends what they
    // granted, and a login from before their last disable stays ended once they are back. A
    // subject a broker vouched for (`validator`) is no local user and has no standing here.
    if current.validator.is_none() {
        let holder = end_users::holder(app, tenant, &current.auth.sub, current.auth.auth_time).await;
        if holder.map_err(store_error)?.is_none() {
            return Err(grants::end_user_inactive());
        }
    }
    // An impersonation lasts while its impersonator, when a local user, stands as well.
    if let Some(actor) = current.direct.as_ref().and_then(|d| d.act.as_deref())
        && let Some(user) = app.store.user(tenant, actor).await.map_err(store_error)?
        && user.standing_of(current.auth.auth_time) != Standing::Usable
    {
        return Err(grants::end_user_inactive());
    }
    // Held to the user's roles before the token is rotated: a refused refresh spends nothing.
    let held = entitlements::of(app, tenant, Subject::User(&current.auth.sub)).await.map_err(store_error)?;
    let rules = entitlements::scope_rules(&cx.tenant);
    rbac::admit_scope(&validated.access_scope, &held, rules, source == ScopeSource::Requested)?;
    let next = refresh_token::successor(&current, now, cx.tenant.settings.refresh_token_ttl_secs);
    let next_value = secret::encode_secret(&random().map_err(random_error)?);
    let grace = app.policy.refresh_reuse_grace_secs_for(&cx.tenant);
    let used = app
        .store
        .use_refresh_token(tenant, &digest, &secret::digest(&next_value), &next, now, grace)
        .await
        .map_err(store_error)?;
    if let RefreshUse::Reused(_) = used {
        tracing::warn!(tenant = %tenant, client = %client.client_id, family = %current.family, "refresh token reused; family revoked");
    }
    let plan = refresh_token::plan(&used, &current, validated, next_value, super::fresh_jti()?)?;
    plan.with_entitlements(held, rules, source)
}
