//! The local user an upstream account becomes: the account's link (upstream `iss` + `sub`,
//! kept per identity provider by `FederationStore`), else the local user with the upstream's
//! verified e-mail address when the provider links by e-mail, else a new user when it
//! provisions just in time, else nobody. A link whose user was deleted is dropped and the
//! account resolved again. Of two first sign-ins of one account at once, on any node, the
//! store's create-if-absent keeps one link, and the loser's new user is deleted again.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tessera_core::federation::{Upstream, apply_claims};
use tessera_core::model::{FederatedLink, Idp, UnixSecs, User, is_valid_username};
use tessera_core::secret;
use tessera_core::store::StoreError;

use crate::app::App;
use crate::util::random;

/// Why no local user signs in.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The account has no local user, and the provider creates none.
    #[error("no local account is linked to this identity")]
    Missing,
    /// The account's local user is disabled.
    #[error("the local account is disabled")]
    Disabled,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No randomness for a new user.
    #[error("{0}")]
    Internal(String),
}

/// The local user of `upstream`, an account at `idp` of `tenant`, linked or made now.
pub async fn resolve(
    app: &App,
    tenant: &str,
    idp: &Idp,
    upstream: &Upstream,
    now: UnixSecs,
) -> Result<User, AccountError> {
    if let Some(link) = app.store.federated_link(tenant, &idp.id, &upstream.sub).await? {
        match app.store.user(tenant, &link.user_id).await? {
            Some(user) => return standing(user),
            None => app.store.delete_federated_link(tenant, &idp.id, &upstream.sub).await?,
        }
    }
    if idp.link_by_email
        && let Some(email) = upstream.verified_email(idp)
        && let Some(user) = app.store.user_by_email(tenant, email).await?
    {
        tracing::info!(tenant, idp = %idp.id, user = %user.id, "upstream account linked by verified e-mail");
        return link(app, tenant, idp, upstream, user, false, now).await;
    }
    if !idp.jit_provisioning {
        return Err(AccountError::Missing);
    }
    let user = provision(app, tenant, idp, upstream, now).await?;
    tracing::info!(tenant, idp = %idp.id, user = %user.id, "user provisioned from an upstream account");
    link(app, tenant, idp, upstream, user, true, now).await
}

fn standing(user: User) -> Result<User, AccountError> {
    if user.disabled { Err(AccountError::Disabled) } else { Ok(user) }
}

/// Links `user` to the account; when another link won a race, that one's user signs in (and
/// `made`, a user created for this sign-in, is deleted again).
async fn link(
    app: &App,
    tenant: &str,
    idp: &Idp,
    upstream: &Upstream,
    user: User,
    made: bool,
    now: UnixSecs,
) -> Result<User, AccountError> {
    let new = FederatedLink {
        tenant: tenant.to_owned(),
        idp: idp.id.clone(),
        subject: upstream.sub.clone(),
        user_id: user.id.clone(),
        created_at: now,
    };
    let Some(existing) = app.store.create_federated_link(&new).await? else { return standing(user) };
    if made {
        app.store.delete_user(tenant, &user.id).await?;
    }
    match app.store.user(tenant, &existing.user_id).await? {
        Some(user) => standing(user),
        None => Err(AccountError::Missing),
    }
}

/// A password hash no password matches: a PHC string of argon2id's shape around random
/// bytes, whose preimage nobody knows. A provisioned user signs in only through the provider
/// until an operator sets a password.
fn unusable_password_hash() -> Result<String, AccountError> {
    let salt = random::<16>().map_err(|e| AccountError::Internal(e.to_string()))?;
    let output = random::<32>().map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m=19456,t=2,p=1${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(output)
    ))
}

/// A new local user from the upstream's claims. Its username is the upstream's
/// `preferred_username`, else its e-mail address, else one made up; a name or address another
/// user holds is given up for a made-up name, then the address too.
async fn provision(
    app: &App,
    tenant: &str,
    idp: &Idp,
    upstream: &Upstream,
    now: UnixSecs,
) -> Result<User, AccountError> {
    let id =
        random::<16>().map(|r| secret::encode_id(&r)).map_err(|e| AccountError::Internal(e.to_string()))?;
    let mut user = User::new(tenant, id.clone(), String::new(), unusable_password_hash()?, now);
    apply_claims(&mut user, idp, upstream);
    let wanted =
        user.preferred_username.clone().or_else(|| user.email.clone()).filter(|n| is_valid_username(n));
    let made_up = format!("{}-{}", slug(&idp.label), &id[..8]);
    let attempts = [(wanted, true), (Some(made_up.clone()), true), (Some(made_up), false)];
    let mut last = None;
    for (username, keep_email) in attempts {
        let Some(username) = username else { continue };
        let mut candidate = user.clone();
        candidate.username = username;
        if !keep_email {
            candidate.email = None;
            candidate.email_verified = false;
        }
        match app.store.put_user(&candidate).await {
            Ok(()) => return Ok(candidate),
            Err(StoreError::Conflict(why)) => last = Some(why),
            Err(other) => return Err(other.into()),
        }
    }
    Err(AccountError::Store(StoreError::Conflict(last.unwrap_or_default())))
}

/// The provider's name as a username prefix: lowercase letters and digits, others as `-`.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .take(24)
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if s.trim_matches('-').is_empty() { "idp".to_owned() } else { s }
}
