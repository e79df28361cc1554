//! Local users of a tenant: create, list, read, change, delete (API.md). Passwords arrive in
//! the body, are hashed with argon2id (OWASP parameters) through the password gate (at
//! capacity: 503 with `Retry-After`), and only the PHC hash is stored; no response ever carries
//! the password or its hash. Usernames and e-mail
//! addresses are unique per tenant regardless of case: the store decides that atomically, and
//! its `Conflict` becomes a 409.

use http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use tessera_core::model::{Address, User, has_invisible};
use tessera_core::secret;

use super::tenant_or_404;
use super::user_grants::end_grants_of_user;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordWork};
use crate::util::{now, random};

/// Stands in for the hash while the other fields are validated, so a bad request is refused
/// before any argon2 time is spent; always replaced before the user is stored.
const PENDING_HASH: &str = "$pending";

/// Checks the length, then hashes through the password gate.
async fn hash_checked(passwords: &PasswordWork, password: String) -> Result<String, ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::BadRequest(format!(
            "password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(passwords.hash(password).await?)
}

/// Reads a field that may be absent (leave it), `null` (clear it) or a value (set it).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A user as sent to create or change one. In a POST `username` and `password` are required;
/// in a PATCH every field is optional and `null` clears an optional claim. Deliberately not
/// `Debug`: it holds a password.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    middle_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    preferred_username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    profile: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    picture: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    website: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    birthdate: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    zoneinfo: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    phone_number: Option<Option<String>>,
    #[serde(default)]
    phone_number_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    address: Option<Option<Address>>,
}

/// The user as the API shows it: the profile, never the password hash.
fn view(u: &User) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), u.id.clone().into());
    m.insert("username".into(), u.username.clone().into());
    if let Some(email) = &u.email {
        m.insert("email".into(), email.clone().into());
    }
    m.insert("email_verified".into(), u.email_verified.into());
    for (claim, value) in u.string_claims() {
        if let Some(value) = value {
            m.insert(claim.into(), value.into());
        }
    }
    m.insert("phone_number_verified".into(), u.phone_number_verified.into());
    if let Some(address) = &u.address {
        m.insert("address".into(), serde_json::to_value(address).unwrap_or(Value::Null));
    }
    m.insert("created_at".into(), u.created_at.into());
    m.insert("updated_at".into(), u.updated_at.into());
    Value::Object(m)
}

/// Applies the body's profile fields to `user` and checks the result; returns the new
/// password, if the body has one, for the caller to hash.
fn apply(user: &mut User, b: UserBody) -> Result<Option<String>, ApiError> {
    // Names stored before this rule are still read; a new or changed one may not hide a
    // character that renders as nothing (see `model::names`).
    if let Some(username) = b.username {
        if has_invisible(&username) {
            return Err(ApiError::BadRequest("username must not contain invisible characters".into()));
        }
        user.username = username;
    }
    if let Some(email) = b.email {
        if email.as_deref().is_some_and(has_invisible) {
            return Err(ApiError::BadRequest("email must not contain invisible characters".into()));
        }
        user.email = email;
    }
    if let Some(v) = b.email_verified {
        user.email_verified = v;
    }
    if let Some(v) = b.phone_number_verified {
        user.phone_number_verified = v;
    }
    if let Some(address) = b.address {
        user.address = address;
    }
    for (field, value) in [
        (&mut user.name, b.name),
        (&mut user.given_name, b.given_name),
        (&mut user.family_name, b.family_name),
        (&mut user.middle_name, b.middle_name),
        (&mut user.nickname, b.nickname),
        (&mut user.preferred_username, b.preferred_username),
        (&mut user.profile, b.profile),
        (&mut user.picture, b.picture),
        (&mut user.website, b.website),
        (&mut user.gender, b.gender),
        (&mut user.birthdate, b.birthdate),
        (&mut user.zoneinfo, b.zoneinfo),
        (&mut user.locale, b.locale),
        (&mut user.phone_number, b.phone_number),
    ] {
        if let Some(value) = value {
            *field = value;
        }
    }
    user.validate().map_err(ApiError::BadRequest)?;
    Ok(b.password)
}

/// Creates a user; 201 with its `id` and profile.
pub async fn create(app: &App, tenant: &str, mut b: UserBody) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    if b.username.is_none() {
        return Err(ApiError::BadRequest("username is required".into()));
    }
    let password = b.password.take().ok_or_else(|| ApiError::BadRequest("password is required".into()))?;
    let id = random::<16>().map(|r| secret::encode_id(&r)).map_err(|e| ApiError::Internal(e.to_string()))?;
    let created_at = now();
    let mut user = User::new(tenant, id, String::new(), PENDING_HASH, created_at);
    apply(&mut user, b)?;
    user.password_hash = hash_checked(&app.passwords, password).await?;
    app.store.put_user(&user).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(&user)))
}

async fn user_or_404(app: &App, tenant: &str, id: &str) -> Result<User, ApiError> {
    tenant_or_404(app, tenant).await?;
    app.store.user(tenant, id).await?.ok_or(ApiError::NotFound("user"))
}

/// Lists a tenant's users, ordered by username.
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    let users: Vec<Value> = app.store.users(tenant).await?.iter().map(view).collect();
    Ok(json_no_store(StatusCode::OK, &serde_json::json!({ "users": users })))
}

/// Reads a user.
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let user = user_or_404(app, tenant, id).await?;
    Ok(json_no_store(StatusCode::OK, &view(&user)))
}

/// Changes any of a user's fields, the password included. A new password ends the user's
/// sessions and refresh-token families (`user_grants`).
pub async fn patch(app: &App, tenant: &str, id: &str, b: UserBody) -> Result<Resp, ApiError> {
    let mut user = user_or_404(app, tenant, id).await?;
    let password = apply(&mut user, b)?;
    let password_changed = password.is_some();
    if let Some(password) = password {
        user.password_hash = hash_checked(&app.passwords, password).await?;
    }
    // A clock stepped back must not break `updated_at >= created_at`.
    user.updated_at = now().max(user.created_at);
    app.store.put_user(&user).await?;
    if password_changed {
        let tenant = tenant_or_404(app, tenant).await?;
        end_grants_of_user(app, &tenant, id).await?;
    }
    Ok(json_no_store(StatusCode::OK, &view(&user)))
}

/// Deletes a user, ending its sessions and refresh-token families (`user_grants`).
pub async fn delete(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    user_or_404(app, tenant, id).await?;
    app.store.delete_user(tenant, id).await?;
    let tenant = tenant_or_404(app, tenant).await?;
    end_grants_of_user(app, &tenant, id).await?;
    Ok(crate::http::respond::empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> PasswordWork {
        PasswordWork::new(crate::password::GateLimits::for_slots(1, std::time::Duration::ZERO))
    }

    #[tokio::test]
    async fn the_pending_placeholder_matches_no_password() {
        let gate = gate();
        for password in ["correct horse battery", "", "$pending"] {
            assert!(!gate.verify(password.into(), PENDING_HASH.into()).await.expect("checked"), "{password}");
        }
    }

    #[tokio::test]
    async fn hashing_goes_through_the_gate_and_a_full_gate_is_a_503() {
        let gate = gate();
        let held = gate.take_free_slots();
        let err = hash_checked(&gate, "correct horse battery".into()).await.expect_err("gate full");
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[http::header::RETRY_AFTER], "1");
        // The length is checked before the gate is asked.
        let short = hash_checked(&gate, "short".into()).await.expect_err("too short");
        assert!(matches!(short, ApiError::BadRequest(_)), "{short:?}");
        drop(held);
        let phc = hash_checked(&gate, "correct horse battery".into()).await.expect("a free slot");
        assert!(phc.starts_with("$argon2id$"));
    }

    #[test]
    fn the_view_never_shows_the_hash() {
        let user = User {
            locale: Some("fr".into()),
            ..User::new("t", "AAAAAAAAAAAAAAAAAAAAAA", "alice", "$argon2id$secret", 1)
        };
        let shown = view(&user).to_string();
        assert!(!shown.contains("argon2") && !shown.contains("password"), "{shown}");
        assert!(shown.contains(r#""locale":"fr""#));
    }
}
