//! Record builders shared by the cases: one valid record of each kind, varied only where a case
//! needs it, so a model change is fixed here once. Also the small waits the cases share.

use tessera_core::authorize::CodeChallenge;
use tessera_core::grants::authorization_code::Code;
use tessera_core::model::{
    AccessTokenFormat, Api, ApiKey, Authentication, Client, Consent, DirectGrant, FederatedLink, GrantType,
    IdentityValidator, JweKeyManagement, KeyMaterial, KeyRecord, Lockout, LockoutLimit, OpaqueToken,
    RateLimit, RateLimitOverride, RefreshToken, Revocation, Role, Session, SharedAesKey, SigningAlg, Tenant,
    TenantSettings, TokenEndpointAuthMethod, UnixSecs, User, ValidatorHeader,
};
use tessera_core::pkce::CodeChallengeMethod;
use tessera_core::store::{Commit, StoreError};

/// Awaits a commit the case expects to succeed; a failure fails the case with `what`.
pub(crate) async fn ok(commit: Commit, what: &str) {
    if let Err(e) = commit.await {
        panic!("{what}: {e:?}");
    }
}

/// A digest that differs per `n` (the SHA-256 of some secret, as the store sees it).
pub(crate) fn digest(n: u32) -> [u8; 32] {
    let mut d = [0xab; 32];
    d[..4].copy_from_slice(&n.to_be_bytes());
    d
}

/// A tenant with an API, an identity validator, a trusted issuer and direct-authz
/// credentials, so that every field round-trips.
pub(crate) fn tenant(id: &str) -> Tenant {
    let mut t = Tenant::new(id.to_owned(), format!("Tenant {id}"), TenantSettings::default(), 1_700_000_000);
    t.apis = vec![Api {
        id: "api-1".to_owned(),
        identifier: "https://orders.example/api".to_owned(),
        name: "Orders".to_owned(),
        scopes: vec!["orders:read".to_owned()],
        access_token_format: Some(AccessTokenFormat::Opaque),
        access_token_ttl_secs: Some(120),
        created_at: 1_700_000_000,
    }];
    t.identity_validators = vec![IdentityValidator {
        id: "validator-1".to_owned(),
        name: "LDAP bridge".to_owned(),
        url: "https://ldap-bridge.example/check".to_owned(),
        timeout_ms: 2_000,
        headers: vec![ValidatorHeader { name: "Authorization".to_owned(), value: "Bearer k".to_owned() }],
        apis: vec!["api-1".to_owned()],
        created_at: 1_700_000_000,
    }];
    t.trusted_issuers = vec![tessera_core::model::TrustedIssuer {
        id: "issuer-1".to_owned(),
        name: "Partner".to_owned(),
        issuer: "https://partner.example".to_owned(),
        jwks_uri: Some("https://partner.example/jwks".to_owned()),
        jwks: None,
        allowed_subjects: Some("*@partner.example".to_owned()),
        audience: None,
        subject_prefix: Some("partner".to_owned()),
        created_at: 1_700_000_000,
    }];
    t.settings.local_directory_position = Some(1);
    t.settings.token_rate_limit = Some(RateLimit { per_second: 1000, burst: 2000 });
    t.direct_authz_token_digest = Some([5; 32]);
    t.direct_authz_encryption = Some(SharedAesKey {
        alg: JweKeyManagement::A256GcmKw,
        key: vec![6; SharedAesKey::SEALED_LEN],
        sealed: true,
    });
    t
}

pub(crate) fn client(tenant: &str, id: &str) -> Client {
    Client {
        tenant: tenant.to_owned(),
        client_id: id.to_owned(),
        client_name: format!("Client {id}"),
        secret_digest: Some([7; 32]),
        grant_types: vec![GrantType::ClientCredentials, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        response_types: vec!["code".to_owned()],
        scope: vec!["read".to_owned(), "write".to_owned()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        access_token_format: AccessTokenFormat::Opaque,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: true,
        created_at: 1_700_000_001,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: Some(vec!["api-1".to_owned()]),
        token_rate_limit: Some(RateLimitOverride::Limit(RateLimit { per_second: 50, burst: 100 })),
    }
}

pub(crate) fn key(tenant: &str, kid: &str, created_at: UnixSecs) -> KeyRecord {
    KeyRecord {
        tenant: tenant.to_owned(),
        kid: kid.to_owned(),
        alg: SigningAlg::ES384,
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        material: KeyMaterial::Pkcs11 { id: kid.as_bytes().to_vec() },
        created_at,
        retired_at: None,
        expires_at: Some(created_at + 7_200),
    }
}

/// An opaque access token `jti` that expires at `exp`.
pub(crate) fn token(tenant: &str, jti: &str, exp: UnixSecs) -> OpaqueToken {
    OpaqueToken {
        tenant: tenant.to_owned(),
        client_id: "web".to_owned(),
        sub: "alice".to_owned(),
        scope: "read write".to_owned(),
        jti: jti.to_owned(),
        iat: exp - 3_600,
        exp,
        roles: Vec::new(),
        permissions: Vec::new(),
        aud: Some("https://orders.example/api".to_owned()),
        extra_info: Some(r#"{"tier":"gold"}"#.to_owned()),
        validator: Some("validator-1".to_owned()),
        audience: vec!["rs-1".to_owned()],
        act: Some("admin".to_owned()),
        dat: Some(r#"{"k":1}"#.to_owned()),
        cls: vec!["email".to_owned()],
        uip: Some(r#"{"group":"staff"}"#.to_owned()),
    }
}

pub(crate) fn revocation(tenant: &str, jti: &str, exp: UnixSecs) -> Revocation {
    Revocation { tenant: tenant.to_owned(), jti: jti.to_owned(), exp }
}

/// An authorization code of `tenant` issued at 1_000 that expires at `expires_at`.
pub(crate) fn code(tenant: &str, expires_at: UnixSecs) -> Code {
    Code {
        tenant: tenant.to_owned(),
        client_id: "web".to_owned(),
        redirect_uri: "https://app.example.com/cb".to_owned(),
        redirect_uri_sent: true,
        scope: "openid profile".to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: Some(CodeChallenge {
            method: CodeChallengeMethod::S256,
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        }),
        auth: Authentication {
            sub: "AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            sid: "sid-1".to_owned(),
            auth_time: 990,
            acr: None,
            amr: vec!["pwd".to_owned()],
        },
        issued_at: 1_000,
        expires_at,
        resource: None,
    }
}

/// An SSO session `sid` of user `u1` that began at `created_at` and ends at `expires_at`.
pub(crate) fn session(tenant: &str, sid: &str, created_at: UnixSecs, expires_at: UnixSecs) -> Session {
    Session {
        tenant: tenant.to_owned(),
        auth: Authentication {
            sub: "u1".to_owned(),
            sid: sid.to_owned(),
            auth_time: created_at,
            acr: Some("urn:acr:pwd".to_owned()),
            amr: vec!["pwd".to_owned()],
        },
        created_at,
        expires_at,
        data: Some(r#"{"broker":"b1"}"#.to_owned()),
    }
}

/// What `user_id` granted `client_id` (`scope` sorted, as the model requires).
pub(crate) fn consent(tenant: &str, user_id: &str, client_id: &str, scope: &[&str]) -> Consent {
    Consent {
        tenant: tenant.to_owned(),
        user_id: user_id.to_owned(),
        client_id: client_id.to_owned(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        granted_at: 1_000,
    }
}

/// A current (unrotated) refresh token of `family`, issued to client `web` at `issued_at`.
pub(crate) fn refresh(tenant: &str, family: &str, issued_at: UnixSecs, expires_at: UnixSecs) -> RefreshToken {
    RefreshToken {
        tenant: tenant.to_owned(),
        family: family.to_owned(),
        client_id: "web".to_owned(),
        scope: "openid offline_access".to_owned(),
        auth: Authentication {
            sub: "u1".to_owned(),
            sid: "sid-1".to_owned(),
            auth_time: issued_at,
            acr: None,
            amr: vec!["pwd".to_owned()],
        },
        issued_at,
        expires_at,
        rotated_at: None,
        validator: Some("direct-authz".to_owned()),
        direct: Some(DirectGrant {
            audience: vec!["rs-1".to_owned(), "rs-2".to_owned()],
            act: Some("admin".to_owned()),
            dat: Some(r#"{"k":1}"#.to_owned()),
            cls: vec!["email".to_owned()],
            uip: Some(r#"{"group":"staff"}"#.to_owned()),
            identifier: true,
            encrypt: false,
            access_token_ttl_secs: 600,
        }),
    }
}

/// The next token of `t`'s family, issued at `at`.
pub(crate) fn successor(t: &RefreshToken, at: UnixSecs) -> RefreshToken {
    refresh(&t.tenant, &t.family, at, at + 3_000)
}

/// `t` as the store keeps it once rotated at `at`.
pub(crate) fn rotated(t: &RefreshToken, at: UnixSecs) -> RefreshToken {
    RefreshToken { rotated_at: Some(at), ..t.clone() }
}

/// A user with a username, an optional e-mail address and some profile claims, so a round trip
/// checks more than the required fields.
pub(crate) fn user(tenant: &str, id: &str, username: &str, email: Option<&str>) -> User {
    User {
        email: email.map(Into::into),
        name: Some(format!("{username} example")),
        phone_number: Some("+44 20 7946 0000".into()),
        phone_number_verified: true,
        ..User::new(tenant, id, username, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", 10)
    }
}

pub(crate) fn is_conflict(result: &Result<(), StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict(_)))
}

/// A key that can become current: unretired and without expiry, as the signer makes them.
pub(crate) fn new_key(tenant: &str, kid: &str, alg: SigningAlg, created_at: UnixSecs) -> KeyRecord {
    KeyRecord { alg, expires_at: None, ..key(tenant, kid, created_at) }
}

/// `k` as the store keeps it once retired at `at`, published until `until`.
pub(crate) fn retired(k: &KeyRecord, at: UnixSecs, until: UnixSecs) -> KeyRecord {
    KeyRecord { retired_at: Some(at), expires_at: Some(until), ..k.clone() }
}

/// A role named `name` granting `permissions`.
pub(crate) fn role(tenant: &str, id: &str, name: &str, permissions: &[&str]) -> Role {
    Role {
        tenant: tenant.to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        description: Some(format!("the {name} role")),
        permissions: Role::normalize_permissions(permissions.iter().map(|p| (*p).to_owned()).collect()),
        created_at: 1_700_000_002,
        updated_at: 1_700_000_002,
    }
}

/// An API key with id `id` (22 characters), a scope and one role.
/// A lockout of `username` from 192.0.2.1 in `tenant` until `until`.
pub(crate) fn lockout(tenant: &str, username: &str, until: UnixSecs) -> Lockout {
    Lockout {
        tenant: tenant.into(),
        limit: LockoutLimit::UsernameAtAddress,
        address: "192.0.2.1".into(),
        username: username.into(),
        until,
    }
}

pub(crate) fn api_key(tenant: &str, id: &str) -> ApiKey {
    ApiKey {
        tenant: tenant.to_owned(),
        id: id.to_owned(),
        name: format!("key {id}"),
        scope: "read write".to_owned(),
        digest: [5; 32],
        previous_digest: None,
        previous_valid_until: 0,
        expires_at: Some(9_000),
        role_ids: vec!["r1".to_owned()],
        created_at: 1_000,
        rotated_at: 1_000,
        last_used_at: None,
    }
}

/// A link of upstream account `subject` at identity provider `idp` of `tenant` to `user_id`.
pub(crate) fn link(tenant: &str, idp: &str, subject: &str, user_id: &str) -> FederatedLink {
    FederatedLink {
        tenant: tenant.to_owned(),
        idp: idp.to_owned(),
        subject: subject.to_owned(),
        user_id: user_id.to_owned(),
        created_at: 1_700_000_000,
    }
}
