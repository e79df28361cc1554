//! Local users of a tenant: create, list a page at a time, read, change, disable, replace the
//! profile, delete (API.md). Passwords arrive in the body, are hashed with argon2id (OWASP
//! parameters) through the password gate (at capacity: 503 with `Retry-After`), and only the PHC
//! hash is stored; no response ever carries the password or its hash. Usernames and e-mail
//! addresses are unique per tenant regardless of case: the store decides that atomically, and
//! its `Conflict` becomes a 409. A new password, a disable or a deletion ends the user's
//! sessions and refresh families (`user_grants`); a disabled user's remaining grants are
//! refused where they are used (`User::standing_of`).

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::form::Form;
use tessera_core::listing::{self, UserQuery};
use tessera_core::model::{Address, EnableAt, User, has_invisible};
use tessera_core::password_policy::PasswordPolicy;
use tessera_core::store::Subject;
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::roles::RoleRef;
use super::tenant_or_404;
use super::user_grants::end_grants_of_user;
use crate::app::App;
use crate::http::respond::{ApiError, ErrorBody, Resp, json_no_store};
use crate::password::PasswordWork;
use crate::util::{now, wait_for_second};

/// Stands in for the hash while the other fields are validated, so a bad request is refused
/// before any argon2 time is spent; always replaced before the user is stored.
const PENDING_HASH: &str = "$pending";

/// Checks the password against the tenant's policy (length, common-password list), then
/// hashes it through the password gate: a refused password costs no argon2 time and takes no
/// slot of the gate.
async fn hash_checked(
    passwords: &PasswordWork,
    policy: &PasswordPolicy,
    password: String,
) -> Result<String, ApiError> {
    policy.check(&password)?;
    Ok(passwords.hash(password).await?)
}

/// A user as sent to create or change one. In a POST `username` and `password` are required;
/// in a PATCH every field is optional and `null` clears an optional claim. Deliberately not
/// `Debug`: it holds a password. The claims are the standard ones (OpenID Connect Core 5.1).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// The login name, unique in the tenant regardless of case.
    #[serde(default)]
    username: Option<String>,
    /// A new password, checked against the tenant's password policy; never shown.
    #[serde(default)]
    password: Option<String>,
    /// The e-mail address, unique in the tenant regardless of case; `null` clears it.
    #[serde(default, deserialize_with = "super::nullable")]
    email: Option<Option<String>>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "super::nullable")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    middle_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    preferred_username: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    profile: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    picture: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    website: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    birthdate: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    zoneinfo: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    phone_number: Option<Option<String>>,
    #[serde(default)]
    phone_number_verified: Option<bool>,
    #[serde(default, deserialize_with = "super::nullable")]
    address: Option<Option<Address>>,
    #[serde(default)]
    disabled: Option<bool>,
}

/// The standard claims of `PUT .../profile`, all of them: the body replaces the profile, so
/// an absent (or `null`) claim is cleared. The login name, e-mail address and password are
/// not profile claims and are changed through PATCH; `updated_at` is the server's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    middle_name: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    picture: Option<String>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    gender: Option<String>,
    #[serde(default)]
    birthdate: Option<String>,
    #[serde(default)]
    zoneinfo: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    phone_number_verified: Option<bool>,
    #[serde(default)]
    address: Option<Address>,
}

/// A user as the API shows it: the login name and profile with the roles held, never the
/// password or its hash. Absent claims are left out.
#[derive(Serialize, ToSchema)]
pub struct UserView<'a> {
    /// The user id (the `sub` of their tokens).
    id: &'a str,
    /// The login name.
    username: &'a str,
    /// The e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    /// Whether the e-mail address is verified.
    email_verified: bool,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// Given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    /// Family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    /// Middle name.
    #[serde(skip_serializing_if = "Option::is_none")]
    middle_name: Option<&'a str>,
    /// Casual name.
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<&'a str>,
    /// The name the user prefers to be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    /// Profile page URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a str>,
    /// Picture URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<&'a str>,
    /// Web page or blog URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    website: Option<&'a str>,
    /// Gender.
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'a str>,
    /// Birthday, `YYYY-MM-DD` (or `YYYY`, `0000-MM-DD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    birthdate: Option<&'a str>,
    /// Time zone, e.g. `Europe/Paris`.
    #[serde(skip_serializing_if = "Option::is_none")]
    zoneinfo: Option<&'a str>,
    /// Locale, a BCP 47 tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    /// Phone number, E.164 preferred.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    /// Whether the phone number is verified.
    phone_number_verified: bool,
    /// Postal address.
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a Address>,
    /// A disabled user cannot sign in, and none of their grants works.
    disabled: bool,
    /// When the user was created, in seconds since the epoch.
    created_at: i64,
    /// When the user last changed.
    updated_at: i64,
    /// The roles the user holds, in name order.
    roles: Vec<RoleRef>,
}

/// `GET .../users`: a page of users.
#[derive(Serialize, ToSchema)]
pub struct UserPage<'a> {
    /// The users of this page, in id order.
    users: Vec<UserView<'a>>,
    /// The cursor of the next page, `null` on the last.
    next: Option<String>,
}

/// The user as the API shows it, with the roles given.
fn view(u: &User, roles: Vec<RoleRef>) -> UserView<'_> {
    // Taken apart whole: a claim added to `string_claims` does not compile until it is shown.
    let [
        (_, name),
        (_, given_name),
        (_, family_name),
        (_, middle_name),
        (_, nickname),
        (_, preferred_username),
        (_, profile),
        (_, picture),
        (_, website),
        (_, gender),
        (_, birthdate),
        (_, zoneinfo),
        (_, locale),
        (_, phone_number),
    ] = u.string_claims();
    UserView {
        id: &u.id,
        username: &u.username,
        email: u.email.as_deref(),
        email_verified: u.email_verified,
        name,
        given_name,
        family_name,
        middle_name,
        nickname,
        preferred_username,
        profile,
        picture,
        website,
        gender,
        birthdate,
        zoneinfo,
        locale,
        phone_number,
        phone_number_verified: u.phone_number_verified,
        address: u.address.as_ref(),
        disabled: u.disabled,
        created_at: u.created_at,
        updated_at: u.updated_at,
        roles,
    }
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
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "users", operation_id = "create_user",
    request_body(content = UserBody, description = "`username` and `password` are required"),
    responses((status = 201, description = "The user", body = UserView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, mut b: UserBody) -> Result<Resp, ApiError> {
    // The tenant as the store has it now: a settings change is seen by the next request.
    let policy = tenant_or_404(app, tenant).await?.settings.password_policy();
    if b.username.is_none() {
        return Err(ApiError::BadRequest("username is required".into()));
    }
    let password = b.password.take().ok_or_else(|| ApiError::BadRequest("password is required".into()))?;
    let id = super::new_id()?;
    let created_at = now();
    let mut user = User::new(tenant, id, String::new(), PENDING_HASH, created_at);
    // A user created disabled holds no grant yet; the flag alone keeps them from signing in.
    let disabled = b.disabled.take().unwrap_or(false);
    apply(&mut user, b)?;
    if disabled {
        user.disable(created_at);
    }
    user.password_hash = hash_checked(&app.passwords, &policy, password).await?;
    app.store.put_user(&user).await?;
    Ok(json_no_store(StatusCode::CREATED, &view_with_roles(app, &user).await?))
}

async fn user_or_404(app: &App, tenant: &str, id: &str) -> Result<User, ApiError> {
    tenant_or_404(app, tenant).await?;
    app.store.user(tenant, id).await?.ok_or(ApiError::NotFound("user"))
}

/// The query parameters `GET .../users` takes.
const LIST_PARAMS: [&str; 6] = ["limit", "cursor", "username", "email", "role", "disabled"];

/// Reads the listing's query string. Unknown parameters are refused rather than ignored, so a
/// misspelt filter (`disable=true`) cannot silently list everyone.
fn list_query(query: Option<&str>) -> Result<UserQuery, ApiError> {
    let form = Form::parse(query.unwrap_or_default().as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {}", e.description)))?;
    if let Some((name, _)) = form.pairs().find(|(name, _)| !LIST_PARAMS.contains(name)) {
        return Err(ApiError::BadRequest(format!("unknown query parameter `{name}`")));
    }
    let disabled = match form.get("disabled") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::BadRequest("disabled must be true or false".into())),
    };
    Ok(UserQuery {
        after: form.get("cursor").map(|c| listing::decode_cursor(listing::USERS, c)).transpose()?,
        limit: listing::parse_limit(form.get("limit"))?,
        username: form.get("username").map(str::to_owned),
        email: form.get("email").map(str::to_owned),
        disabled,
        // The role's id or name as given: `list` resolves it against the tenant's roles.
        role: form.get("role").map(str::to_owned),
    })
}

/// Lists a page of a tenant's users in id order: `{"users": [...], "next": cursor or null}`.
/// `role` names a role by id or name; a role the tenant does not have has no users. Unknown
/// query parameters are refused.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "users", operation_id = "list_users",
    params(
        ("limit" = Option<u32>, Query, description = "Users per page: 1 to 200, 50 by default"),
        ("cursor" = Option<String>, Query, description = "The `next` of the previous page"),
        ("username" = Option<String>, Query, description = "Only this login name (regardless of case)"),
        ("email" = Option<String>, Query, description = "Only this e-mail address (regardless of case)"),
        ("role" = Option<String>, Query, description = "Only holders of this role, by id or name"),
        ("disabled" = Option<bool>, Query, description = "Only disabled (`true`) or enabled (`false`) users"),
    ),
    responses((status = 200, description = "A page of users", body = UserPage),
        (status = 400, description = "A query parameter is unknown, repeated or invalid", body = ErrorBody),
        NotFound, Denied))]
pub async fn list(app: &App, tenant: &str, query: Option<&str>) -> Result<Resp, ApiError> {
    let mut query = list_query(query)?;
    tenant_or_404(app, tenant).await?;
    if let Some(named) = query.role.take() {
        let found = app.store.roles(tenant).await?.find(&named).map(|r| r.id.clone());
        let Some(id) = found else {
            return Ok(json_no_store(StatusCode::OK, &UserPage { users: Vec::new(), next: None }));
        };
        query.role = Some(id);
    }
    let page = app.store.list_users(tenant, &query).await?;
    let mut users = Vec::with_capacity(page.users.len());
    for user in &page.users {
        users.push(view_with_roles(app, user).await?);
    }
    Ok(json_no_store(StatusCode::OK, &UserPage { users, next: page.next_cursor() }))
}

/// Reads a user.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users", operation_id = "get_user",
    responses((status = 200, description = "The user", body = UserView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let user = user_or_404(app, tenant, id).await?;
    Ok(json_no_store(StatusCode::OK, &view_with_roles(app, &user).await?))
}

/// [`view`] with the roles the user holds, `[{"id", "name"}]`.
async fn view_with_roles<'u>(app: &App, user: &'u User) -> Result<UserView<'u>, ApiError> {
    let roles = super::roles::held_view(app, &user.tenant, Subject::User(&user.id)).await?;
    Ok(view(user, roles))
}

/// Changes any of a user's fields, the password and `disabled` included. A new password or a
/// disable ends the user's sessions and refresh-token families (`user_grants`).
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users", operation_id = "patch_user",
    request_body = UserBody,
    responses((status = 200, description = "The changed user", body = UserView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn patch(app: &App, tenant: &str, id: &str, mut b: UserBody) -> Result<Resp, ApiError> {
    let mut user = user_or_404(app, tenant, id).await?;
    let disabled = b.disabled.take();
    let password = apply(&mut user, b)?;
    let password_changed = password.is_some();
    if let Some(password) = password {
        let policy = tenant_or_404(app, tenant).await?.settings.password_policy();
        user.password_hash = hash_checked(&app.passwords, &policy, password).await?;
    }
    let newly_disabled = disabled == Some(true) && !user.disabled;
    match disabled {
        Some(true) => user.disable(now()),
        Some(false) => enable(&mut user).await?,
        None => {}
    }
    // A clock stepped back must not break `updated_at >= created_at`.
    user.updated_at = now().max(user.created_at);
    app.store.put_user(&user).await?;
    if password_changed || newly_disabled {
        let tenant = tenant_or_404(app, tenant).await?;
        end_grants_of_user(app, &tenant, id).await?;
    }
    Ok(json_no_store(StatusCode::OK, &view_with_roles(app, &user).await?))
}

/// Enables `user`, first waiting (see [`wait_for_second`]) for the second from which grants
/// begun now can be told from those the disable cut off (see [`User::enable`]). Only an
/// operator who disables and re-enables within a second ever waits; a cut-off further ahead
/// means the clock was stepped back: 409.
async fn enable(user: &mut User) -> Result<(), ApiError> {
    loop {
        match user.enable(now()) {
            Ok(()) => return Ok(()),
            Err(EnableAt(at)) => {
                if !wait_for_second(at).await {
                    return Err(ApiError::Conflict(format!(
                        "the user was disabled with a clock ahead of this one; it can be enabled from {at}"
                    )));
                }
            }
        }
    }
}

/// Replaces a user's standard claims with the body's (absent ones cleared); 200 with the user.
/// The login name, e-mail address, password and `disabled` stay as they are, so nothing a
/// profile change does ends the user's grants.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/users/{user}/profile", tag = "users",
    operation_id = "put_user_profile",
    request_body = ProfileBody,
    responses((status = 200, description = "The user with the new profile", body = UserView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn put_profile(app: &App, tenant: &str, id: &str, b: ProfileBody) -> Result<Resp, ApiError> {
    let mut user = user_or_404(app, tenant, id).await?;
    // Taken apart whole, so a claim added to the body cannot be left unapplied.
    let ProfileBody {
        name,
        given_name,
        family_name,
        middle_name,
        nickname,
        preferred_username,
        profile,
        picture,
        website,
        gender,
        birthdate,
        zoneinfo,
        locale,
        phone_number,
        phone_number_verified,
        address,
    } = b;
    user.name = name;
    user.given_name = given_name;
    user.family_name = family_name;
    user.middle_name = middle_name;
    user.nickname = nickname;
    user.preferred_username = preferred_username;
    user.profile = profile;
    user.picture = picture;
    user.website = website;
    user.gender = gender;
    user.birthdate = birthdate;
    user.zoneinfo = zoneinfo;
    user.locale = locale;
    user.phone_number = phone_number;
    user.phone_number_verified = phone_number_verified.unwrap_or(false);
    user.address = address;
    user.updated_at = now().max(user.created_at);
    user.validate().map_err(ApiError::BadRequest)?;
    app.store.put_user(&user).await?;
    Ok(json_no_store(StatusCode::OK, &view_with_roles(app, &user).await?))
}

/// Deletes a user, ending its sessions and refresh-token families (`user_grants`).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "users", operation_id = "delete_user",
    responses((status = 204, description = "Deleted"), NotFound, Conflict, Denied))]
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
        let policy = PasswordPolicy::default();
        let held = gate.take_free_slots();
        let err = hash_checked(&gate, &policy, "correct horse battery".into()).await.expect_err("gate full");
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[http::header::RETRY_AFTER], "1");
        // The policy is checked before the gate is asked.
        for refused in ["short", "password1", "Password1"] {
            let err = hash_checked(&gate, &policy, refused.into()).await.expect_err("refused");
            assert!(matches!(&err, ApiError::BadRequest(m) if !m.contains(refused)), "{err:?}");
        }
        drop(held);
        let phc = hash_checked(&gate, &policy, "correct horse battery".into()).await.expect("a free slot");
        assert!(phc.starts_with("$argon2id$"));
    }

    #[test]
    fn list_queries_are_parsed_strictly() {
        let q = list_query(None).expect("no query");
        assert_eq!(q, UserQuery { limit: listing::DEFAULT_LIMIT, ..UserQuery::default() });
        let cursor = listing::encode_cursor(listing::USERS, "AAAAAAAAAAAAAAAAAAAAAA");
        let q = list_query(Some(&format!(
            "limit=7&cursor={cursor}&username=Alice&email=a%40b.example&disabled=true"
        )))
        .expect("every parameter");
        assert_eq!(
            q,
            UserQuery {
                after: Some("AAAAAAAAAAAAAAAAAAAAAA".into()),
                limit: 7,
                username: Some("Alice".into()),
                email: Some("a@b.example".into()),
                disabled: Some(true),
                role: None,
            }
        );
        assert_eq!(list_query(Some("disabled=false")).expect("false").disabled, Some(false));
        for bad in [
            "limit=0",
            "limit=x",
            "cursor=zzz",
            "disabled=TRUE",
            "disabled=1",
            "roles=editor",
            "limit=1&limit=1",
            "username=%FF",
        ] {
            let err = list_query(Some(bad)).expect_err(bad);
            assert!(matches!(err, ApiError::BadRequest(_)), "{bad}: {err:?}");
        }
        assert_eq!(list_query(Some("role=editor")).expect("role").role.as_deref(), Some("editor"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_enable_past_a_cut_off_far_ahead_is_a_conflict() {
        let mut user = User::new("t", "AAAAAAAAAAAAAAAAAAAAAA", "alice", "$argon2id$x", 1);
        user.disable(now() + 3600);
        let err = enable(&mut user).await.expect_err("a cut-off an hour ahead");
        assert!(matches!(err, ApiError::Conflict(_)), "{err:?}");
        assert!(user.disabled);
    }

    #[test]
    fn the_view_never_shows_the_hash() {
        let user = User {
            locale: Some("fr".into()),
            ..User::new("t", "AAAAAAAAAAAAAAAAAAAAAA", "alice", "$argon2id$secret", 1)
        };
        let shown = serde_json::to_string(&view(&user, Vec::new())).expect("a view serializes");
        assert!(!shown.contains("argon2") && !shown.contains("password"), "{shown}");
        assert!(shown.contains(r#""locale":"fr""#));
    }
}
