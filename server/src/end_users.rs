//! The end-user behind a grant, looked up where the grant is used: a session, a code, a refresh
//! token, an access token at introspection or userinfo. A grant works only while its user
//! exists and `User::standing_of` (core) finds it usable: not disabled, and begun after the
//! user was last disabled. Checked at every use, not only when the operator acts, so a grant
//! that was in flight when the user was disabled, and any self-contained JWT, is refused too.

use tessera_core::model::{Standing, UnixSecs, User};
use tessera_core::store::StoreError;

use crate::app::App;

/// The user `sub` of `tenant` if a grant of theirs that began at `began_at` (a login's
/// `auth_time`, an access token's `iat`) still works; `None` if the user is gone, disabled, or
/// the grant predates the last disable.
pub async fn holder(
    app: &App,
    tenant: &str,
    sub: &str,
    began_at: UnixSecs,
) -> Result<Option<User>, StoreError> {
    let Some(user) = app.store.user(tenant, sub).await? else { return Ok(None) };
    match user.standing_of(began_at) {
        Standing::Usable => Ok(Some(user)),
        standing @ (Standing::Disabled | Standing::CutOff) => {
            tracing::debug!(%tenant, user = %sub, ?standing, "grant of an inactive user refused");
            Ok(None)
        }
    }
}

/// The user a login name names: a username, or (when it has an `@` and no username matches)
/// an e-mail address. The login page and the password grant's local directory share it.
pub async fn find_by_login_name(
    app: &App,
    tenant: &str,
    name: &str,
) -> Result<Option<tessera_core::model::User>, tessera_core::store::StoreError> {
    if let Some(user) = app.store.user_by_username(tenant, name).await? {
        return Ok(Some(user));
    }
    if name.contains('@') {
        return app.store.user_by_email(tenant, name).await;
    }
    Ok(None)
}
