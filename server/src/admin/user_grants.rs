//! What ends with a user's credentials: a password change, disabling the user, or the user's
//! deletion ends the user's SSO sessions and revokes every refresh-token family issued to them,
//! so a password or session cookie that leaked stops working once the operator acts. Access
//! tokens already issued run out on their own (minutes) after a password change; a deleted or
//! disabled user's are refused at once by userinfo and introspection, which look the user up
//! (`end_users`), and stay refused once a disabled user is enabled again (the disable's
//! cut-off, `User::grants_valid_from`).
//!
//! Called after the user's own write is durable, so a login that reads the user afterwards
//! already sees the new password (or no user); one that checked the old password just before
//! can still start a session after this ends them, a window of one login's length that an
//! operator closes by changing the password again.

use tessera_core::model::Tenant;

use crate::app::App;
use crate::http::respond::ApiError;
use crate::util::now;

/// Ends the SSO sessions of user `user_id` of `tenant` and revokes its refresh-token families,
/// both at once, durably.
pub async fn end_grants_of_user(app: &App, tenant: &Tenant, user_id: &str) -> Result<(), ApiError> {
    // A family's own record outlives its tokens; `until` only bounds the tombstone that stands
    // in for a family record that does not decode, which no token of it can outlive.
    let until = now() + i64::from(tenant.settings.refresh_token_ttl_secs);
    let sessions = app.store.end_sessions_of_user(&tenant.id, user_id);
    let families = app.store.revoke_families_of_user(&tenant.id, user_id, until);
    let (sessions, families) = tokio::join!(sessions, families);
    sessions?;
    families?;
    Ok(())
}
