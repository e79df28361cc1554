//! The domain model: tenants, their settings, clients, signing keys, users, roles, API keys, the
//! grant and token records that outlive a response, federated identity links and audit events,
//! one file per record family. These are the values the
//! store keeps; `rkyv` derives (feature `rkyv`) let the storage crate encode them without a
//! second copy of each type.

// rkyv's derives generate archived twins of each record without docs; the records themselves
// are documented and checked by the build without the feature.
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

/// Unix time in whole seconds.
pub type UnixSecs = i64;

macro_rules! rkyv_record {
    ($($item:item)*) => {
        $(
            #[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
            $item
        )*
    };
}

mod api;
mod api_key;
mod client;
mod event;
mod family;
mod federated_link;
mod grant;
mod idp;
mod keys;
mod lockout;
mod names;
mod rate_limit;
mod role;
mod tenant;
mod tokens;
mod trusted_issuer;
mod user;

pub use api::{
    Api, DEFAULT_VALIDATOR_TIMEOUT_MS, IdentityValidator, MAX_API_SCOPES, MAX_APIS_PER_TENANT,
    MAX_NAME_BYTES, MAX_URI_BYTES, MAX_VALIDATOR_HEADERS, MAX_VALIDATORS_PER_TENANT, VALIDATOR_TIMEOUT_MS,
    ValidatorHeader, is_valid_display_name, is_valid_resource, is_valid_validator_url, validate_api,
    validate_headers, validate_validator,
};
pub use api_key::{
    ApiKey, KEY_PREFIX, MAX_API_KEY_NAME_BYTES, MAX_API_KEY_ROLES, MAX_ROTATION_GRACE_SECS, parse_key,
};
pub use client::{AccessTokenFormat, Client, ClientStanding, GrantType, JWT_BEARER, TokenEndpointAuthMethod};
pub use event::{
    Actor, AuditEvent, EVENT_ID_CHARS, EventType, MAX_ACTION_BYTES, MAX_ACTOR_ID_BYTES, MAX_REASON_BYTES,
    MAX_SOURCE_BYTES, MAX_TARGET_BYTES, Outcome, clip, event_id, event_id_floor, event_id_millis,
};
pub use family::StoredFamily;
pub use federated_link::{FederatedLink, MAX_FEDERATED_SUBJECT_BYTES, is_valid_federated_subject};
pub use grant::{Authentication, Code, Consent, DirectGrant, RefreshToken, Session};
pub use idp::{
    ClaimMapping, Idp, IdpEndpoints, LOCAL_CLAIMS, MAX_CLAIM_MAPPINGS, MAX_IDP_DOMAINS, MAX_IDP_FIELD_BYTES,
    MAX_IDPS_PER_TENANT, MAX_SEALED_SECRET_BYTES, default_mappings, is_valid_idp_issuer, validate_endpoints,
    validate_idp, validate_idps,
};
pub use keys::{KeyMaterial, KeyRecord, SigningAlg};
pub use lockout::{Lockout, LockoutLimit, MAX_LOCKOUT_ADDRESS_BYTES, MAX_LOCKOUT_USERNAME_BYTES};
pub use names::{fold_case, has_invisible};
pub use rate_limit::{
    MAX_RATE_BURST, MAX_RATE_PER_SECOND, RateLimit, RateLimitOverride, effective_token_rate_limit,
};
pub use role::{
    MAX_DESCRIPTION_BYTES, MAX_PERMISSION_BYTES, MAX_PERMISSIONS_PER_ROLE, MAX_ROLE_NAME_BYTES,
    MAX_ROLES_PER_SUBJECT, MAX_ROLES_PER_TENANT, MAX_SCOPE_PERMISSIONS, PERMISSION_RULE, ROLE_NAME_RULE,
    Role, ScopePermission, is_valid_permission, is_valid_role_name, validate_scope_permissions,
};
pub use tenant::{
    DEFAULT_AUDIT_RETENTION_DAYS, JweKeyManagement, MAX_AUDIT_RETENTION_DAYS, MAX_REFRESH_REUSE_GRACE_SECS,
    MAX_TTL_SECS, MIN_AUDIT_RETENTION_DAYS, MIN_SESSION_TTL_SECS, SharedAesKey, Tenant, TenantSettings,
};
pub use tokens::{OpaqueToken, Revocation, UsedAssertion};
#[cfg(test)]
pub(crate) use trusted_issuer::sample_trusted_issuer;
pub use trusted_issuer::{
    MAX_INLINE_JWKS_BYTES, MAX_SUBJECT_PATTERN_BYTES, MAX_SUBJECT_PREFIX_BYTES,
    MAX_TRUSTED_ISSUERS_PER_TENANT, TrustedIssuer, glob_matches, validate_trusted_issuer,
    validate_trusted_issuers,
};
pub use user::{
    Address, EnableAt, MAX_CLAIM_BYTES, MAX_EMAIL_BYTES, MAX_PASSWORD_HASH_BYTES, MAX_USERNAME_CHARS,
    Standing, User, is_valid_email, is_valid_username,
};

/// The cut-off after an operator acts at `now` on grants cut off from `current` on: the next
/// second, because times are whole seconds and a grant begun in this very second may have
/// begun before the operator acted; and never earlier than `current`, so a clock stepped back
/// revives nothing. Users ([`User::disable`], [`User::cut_off_grants`]) and clients
/// ([`Client::cut_off_grants`]) share it.
pub fn cut_off_after(current: UnixSecs, now: UnixSecs) -> UnixSecs {
    current.max(now.saturating_add(1))
}

/// Checks a tenant or client id as stored: 1 to 64 characters of `[A-Za-z0-9._-]`, so that it
/// is safe in a store key. Records already stored are read by this rule.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks an id for a new tenant or client: [`is_valid_id`], and not only dots. `.` and `..`
/// are path segments that URLs normalise away (an issuer `https://id.example/t/..` is
/// `https://id.example/`), and `...` looks like one; an id must name itself in a path.
/// Older records with such ids still load (by [`is_valid_id`]), so they can be deleted.
pub fn is_valid_new_id(id: &str) -> bool {
    is_valid_id(id) && !id.bytes().all(|b| b == b'.')
}

/// What [`is_valid_new_id`] asks, for error messages.
pub const NEW_ID_RULE: &str = "1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots";

/// A confidential client-credentials client of tenant `t`, for tests across core.
#[cfg(test)]
pub(crate) fn sample_client() -> Client {
    Client {
        tenant: "t".into(),
        client_id: "svc".into(),
        client_name: "service".into(),
        secret_digest: Some(crate::secret::digest("secret")),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        response_types: vec![],
        scope: vec!["read".into(), "write".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        access_token_format: AccessTokenFormat::Jwt,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: false,
        created_at: 0,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_path_safe() {
        assert!(is_valid_id("acme"));
        assert!(is_valid_id("a.b_c-1"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a/b"));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("ä"));
        assert!(!is_valid_id(&"a".repeat(65)));
    }

    #[test]
    fn new_ids_are_not_only_dots_but_stored_ones_still_read() {
        for id in [".", "..", "..."] {
            assert!(is_valid_id(id), "{id:?} still reads from the store");
            assert!(!is_valid_new_id(id), "{id:?} is not a new id");
        }
        for id in ["a", "a.b", ".well", "..a", "acme-1_x"] {
            assert!(is_valid_new_id(id), "{id:?}");
        }
        for id in ["", "a b", "a/b", &"a".repeat(65)] {
            assert!(!is_valid_new_id(id), "{id:?}");
        }
    }
}
