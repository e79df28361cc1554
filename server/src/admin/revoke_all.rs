//! `POST .../users/{id}/revoke-all` and `POST .../clients/{id}/revoke-all` (API.md, issue 9
//! item 5): everything a user, or a client, holds stops working in one call.
//!
//! Neither enumerates tokens. A cut-off on the record (`User::cut_off_grants`,
//! `Client::cut_off_grants`: the next second) refuses at every use whatever was issued before
//! it: JWT and opaque access tokens at introspection and userinfo (their `iat`), refresh tokens
//! at the token endpoint and introspection, codes at redemption, a user's sessions at
//! `/authorize` (their login's `auth_time`). Those checks already read the user, or the client
//! the request holds anyway (cached), so the token endpoint gains no store read. A deny-list
//! entry per live JWT would need every `jti` issued, which is not stored; opaque tokens stay in
//! the store and the shards' memory until they expire, refused on every lookup, since nothing
//! indexes them by user or client and the cut-off is checked after the lookup, hit or miss.
//! What no check can reach is a resource server that verifies JWTs itself: it accepts them until
//! their `exp` (the access-token lifetime), as it would after any revocation.
//!
//! A user's revoke-all also ends their SSO sessions and revokes their refresh families in the
//! store (`user_grants`), as a password change does, so the browser is asked to log in again
//! and the store holds no live grant. A client's keeps its users' SSO sessions: they are the
//! users' logins, not the client's, and other clients share them; its refresh families (not
//! indexed by client) are refused by the cut-off.
//!
//! Whole seconds: a token issued in the very second of the call may predate it, so the cut-off
//! is the next second, and the call answers only once that second has begun (at most a
//! second's wait, as enabling a user right after a disable waits): whatever is issued after the
//! answer works. The admin lock is held meanwhile, so other admin changes wait too; revoke-all
//! is rare.

use http::StatusCode;
use serde::Serialize;
use tessera_core::model::UnixSecs;
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, NotFound};
use super::tenant_or_404;
use super::user_grants::end_grants_of_user;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::util::{now, wait_for_second};

/// How many times a cut-off is written again because its write outlasted the second it
/// named; past this the store is too slow for whole seconds to matter, and the last one holds.
const MAX_CUT_OFF_WRITES: u32 = 3;

/// Whether the cut-off `at`, now durable, covers everything issued before the record was
/// written: yes if its second has not begun, once it has (waited for here). If it began while
/// the write was in flight, a token request that read the old record may have stamped a token
/// with it, and the caller cuts off again.
/// A cut-off far ahead (a clock stepped back) is in force at once, without a wait.
async fn in_force(at: UnixSecs) -> bool {
    if now() >= at {
        return false;
    }
    wait_for_second(at).await;
    true
}

/// The answer of both routes.
#[derive(Serialize, ToSchema)]
pub struct CutOff {
    /// Grants begun before this second (seconds since the epoch) no longer work.
    grants_valid_from: i64,
}

fn answer(grants_valid_from: UnixSecs) -> Resp {
    json_no_store(StatusCode::OK, &CutOff { grants_valid_from })
}

/// Ends every grant of user `id`: cut-off first (everything stops at once), then sessions and
/// refresh families. 200 `{"grants_valid_from": ...}`: grants begun before it no longer work.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{user}/revoke-all", tag = "tokens",
    operation_id = "revoke_all_of_user",
    responses((status = 200, description = "The cut-off", body = CutOff), NotFound, Conflict, Denied))]
pub async fn user(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let tenant = tenant_or_404(app, tenant).await?;
    let mut user = app.store.user(&tenant.id, id).await?.ok_or(ApiError::NotFound("user"))?;
    let mut cut_off = 0;
    for _ in 0..MAX_CUT_OFF_WRITES {
        let now = now();
        cut_off = user.cut_off_grants(now);
        // A clock stepped back must not break `updated_at >= created_at`.
        user.updated_at = now.max(user.created_at);
        app.store.put_user(&user).await?;
        if in_force(cut_off).await {
            break;
        }
    }
    end_grants_of_user(app, &tenant, id).await?;
    Ok(answer(cut_off))
}

/// Ends everything issued to client `id`: its tokens (client credentials ones included), codes
/// and refresh families. 200 `{"grants_valid_from": ...}`. The client keeps working: what it
/// obtains after the answer is valid.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients/{client}/revoke-all", tag = "tokens",
    operation_id = "revoke_all_of_client",
    responses((status = 200, description = "The cut-off", body = CutOff), NotFound, Conflict, Denied))]
pub async fn client(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let tenant = tenant_or_404(app, tenant).await?;
    let client = app.store.client(&tenant.id, id).await?.ok_or(ApiError::NotFound("client"))?;
    let mut client = (*client).clone();
    let mut cut_off = 0;
    for _ in 0..MAX_CUT_OFF_WRITES {
        cut_off = client.cut_off_grants(now());
        app.store.put_client(&client).await?;
        if in_force(cut_off).await {
            break;
        }
    }
    Ok(answer(cut_off))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused tokio time: a sleep advances the runtime's clock by exactly its length at once,
    // so what was waited is measured without depending on how fast the machine is.
    #[tokio::test(start_paused = true)]
    async fn a_cut_off_is_in_force_once_its_second_has_begun() {
        assert!(!in_force(0).await, "long past: cut off again");
        // Far ahead (a clock stepped back): in force at once, no wait.
        let started = tokio::time::Instant::now();
        assert!(in_force(now() + 3600).await);
        assert_eq!(started.elapsed(), std::time::Duration::ZERO, "no wait for a far cut-off");
        // Two seconds ahead: in force after a wait of at most two seconds.
        assert!(in_force(now() + 2).await);
        let waited = started.elapsed();
        assert!(
            waited > std::time::Duration::ZERO && waited <= std::time::Duration::from_secs(2),
            "{waited:?}"
        );
    }
}
