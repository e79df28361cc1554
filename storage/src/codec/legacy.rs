//! Frozen layouts of records written in older format versions, read-only, and their
//! conversion to the current model. Never edit one: its fields, their order and their types are
//! the archived layout of records already on disk (the golden bytes in the tests pin them).
//!
//! Each layout converts only to the next version's (`TenantV1` to `TenantV2`, ... the newest
//! frozen one, in `legacy_resources`, to the model), saying just what that version added; a
//! record of any older version reaches the model along the chain ([`upgrade`]). So a new
//! version adds one conversion, and touches none of the older ones.

use tessera_core::model::{
    AccessTokenFormat, Address, Authentication, DEFAULT_AUDIT_RETENTION_DAYS, GrantType, RefreshToken,
    Session, SigningAlg, TenantSettings, TokenEndpointAuthMethod, UnixSecs, User,
};
use tessera_core::pkce::CodeChallenge;

use super::legacy_resources::{ClientV3, CodeV2, OpaqueTokenV2, StoredCodeV2, TenantSettingsV5, TenantV5};

/// Brings a record of an older layout to the model through each later version's layout:
/// `upgrade!(v2, TenantV3, TenantV4, TenantV5, Tenant)` turns a `TenantV2` into a `Tenant`.
macro_rules! upgrade {
    ($value:expr, $($next:ty),+) => {{
        let value = $value;
        $(let value: $next = value.into();)+
        value
    }};
}
pub(super) use upgrade;

/// [`Tenant`] as format version 1 laid it out, before the per-tenant session lifetime and
/// refresh reuse grace: read-only, to decode version-1 tenant records. Frozen, like
/// [`ClientV1`]: its fields, their order and their types are the archived layout of those
/// records.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV1 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV1,
    pub(super) created_at: UnixSecs,
}

/// [`TenantSettings`] as format version 1 of [`Tenant`] laid it out; frozen like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantSettingsV1 {
    pub(super) access_token_alg: SigningAlg,
    pub(super) access_token_ttl_secs: u32,
    pub(super) id_token_ttl_secs: u32,
    pub(super) refresh_token_ttl_secs: u32,
    pub(super) code_ttl_secs: u32,
}

impl From<TenantV1> for TenantV2 {
    /// A tenant stored before the two end-user lifetimes were settings uses the server's flags.
    fn from(v1: TenantV1) -> Self {
        let s = v1.settings;
        TenantV2 {
            id: v1.id,
            display_name: v1.display_name,
            settings: TenantSettingsV2 {
                access_token_alg: s.access_token_alg,
                access_token_ttl_secs: s.access_token_ttl_secs,
                id_token_ttl_secs: s.id_token_ttl_secs,
                refresh_token_ttl_secs: s.refresh_token_ttl_secs,
                code_ttl_secs: s.code_ttl_secs,
                session_ttl_secs: None,
                refresh_reuse_grace_secs: None,
            },
            created_at: v1.created_at,
        }
    }
}

/// [`Tenant`] as format version 2 laid it out, before the password policy and the
/// self-service registration switch: read-only, to decode version-2 tenant records. Frozen
/// like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV2 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV2,
    pub(super) created_at: UnixSecs,
}

/// [`TenantSettings`] as format version 2 of [`Tenant`] laid it out; frozen like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantSettingsV2 {
    pub(super) access_token_alg: SigningAlg,
    pub(super) access_token_ttl_secs: u32,
    pub(super) id_token_ttl_secs: u32,
    pub(super) refresh_token_ttl_secs: u32,
    pub(super) code_ttl_secs: u32,
    pub(super) session_ttl_secs: Option<u32>,
    pub(super) refresh_reuse_grace_secs: Option<u32>,
}

impl From<TenantV2> for TenantV3 {
    /// A tenant stored before passwords had a per-tenant policy gets the default one, which is
    /// the rule every tenant had then (8 characters) plus the common-password list; and no
    /// self-service registration, which did not exist.
    fn from(v2: TenantV2) -> Self {
        let s = v2.settings;
        let defaults = TenantSettings::default();
        TenantV3 {
            id: v2.id,
            display_name: v2.display_name,
            settings: TenantSettingsV3 {
                access_token_alg: s.access_token_alg,
                access_token_ttl_secs: s.access_token_ttl_secs,
                id_token_ttl_secs: s.id_token_ttl_secs,
                refresh_token_ttl_secs: s.refresh_token_ttl_secs,
                code_ttl_secs: s.code_ttl_secs,
                session_ttl_secs: s.session_ttl_secs,
                refresh_reuse_grace_secs: s.refresh_reuse_grace_secs,
                password_min_length: defaults.password_min_length,
                password_reject_common: defaults.password_reject_common,
                self_service_registration: defaults.self_service_registration,
            },
            created_at: v2.created_at,
        }
    }
}

/// [`Tenant`] as format version 3 laid it out, before the audit retention: read-only, to
/// decode version-3 tenant records. Frozen like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV3 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV3,
    pub(super) created_at: UnixSecs,
}

/// [`TenantSettings`] as format version 3 of [`Tenant`] laid it out; frozen like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantSettingsV3 {
    pub(super) access_token_alg: SigningAlg,
    pub(super) access_token_ttl_secs: u32,
    pub(super) id_token_ttl_secs: u32,
    pub(super) refresh_token_ttl_secs: u32,
    pub(super) code_ttl_secs: u32,
    pub(super) session_ttl_secs: Option<u32>,
    pub(super) refresh_reuse_grace_secs: Option<u32>,
    pub(super) password_min_length: u32,
    pub(super) password_reject_common: bool,
    pub(super) self_service_registration: bool,
}

impl From<TenantV3> for TenantV4 {
    /// A tenant stored before audit events had a retention keeps them for the default.
    fn from(v3: TenantV3) -> Self {
        let s = v3.settings;
        TenantV4 {
            id: v3.id,
            display_name: v3.display_name,
            settings: TenantSettingsV4 {
                access_token_alg: s.access_token_alg,
                access_token_ttl_secs: s.access_token_ttl_secs,
                id_token_ttl_secs: s.id_token_ttl_secs,
                refresh_token_ttl_secs: s.refresh_token_ttl_secs,
                code_ttl_secs: s.code_ttl_secs,
                audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
                session_ttl_secs: s.session_ttl_secs,
                refresh_reuse_grace_secs: s.refresh_reuse_grace_secs,
                password_min_length: s.password_min_length,
                password_reject_common: s.password_reject_common,
                self_service_registration: s.self_service_registration,
            },
            created_at: v3.created_at,
        }
    }
}

/// [`Tenant`] as format version 4 laid it out, before scopes could require a permission:
/// read-only, to decode version-4 tenant records. Frozen like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV4 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV4,
    pub(super) created_at: UnixSecs,
}

/// [`TenantSettings`] as format version 4 of [`Tenant`] laid it out; frozen like [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantSettingsV4 {
    pub(super) access_token_alg: SigningAlg,
    pub(super) access_token_ttl_secs: u32,
    pub(super) id_token_ttl_secs: u32,
    pub(super) refresh_token_ttl_secs: u32,
    pub(super) code_ttl_secs: u32,
    pub(super) audit_retention_days: u32,
    pub(super) session_ttl_secs: Option<u32>,
    pub(super) refresh_reuse_grace_secs: Option<u32>,
    pub(super) password_min_length: u32,
    pub(super) password_reject_common: bool,
    pub(super) self_service_registration: bool,
}

impl From<TenantV4> for TenantV5 {
    /// A tenant stored before scope rules has none: every scope is for anyone the client's
    /// registration allows.
    fn from(v4: TenantV4) -> Self {
        let s = v4.settings;
        TenantV5 {
            id: v4.id,
            display_name: v4.display_name,
            settings: TenantSettingsV5 {
                access_token_alg: s.access_token_alg,
                scope_permissions: Vec::new(),
                access_token_ttl_secs: s.access_token_ttl_secs,
                id_token_ttl_secs: s.id_token_ttl_secs,
                refresh_token_ttl_secs: s.refresh_token_ttl_secs,
                code_ttl_secs: s.code_ttl_secs,
                audit_retention_days: s.audit_retention_days,
                session_ttl_secs: s.session_ttl_secs,
                refresh_reuse_grace_secs: s.refresh_reuse_grace_secs,
                password_min_length: s.password_min_length,
                password_reject_common: s.password_reject_common,
                self_service_registration: s.self_service_registration,
            },
            created_at: v4.created_at,
        }
    }
}

/// [`Client`] as format version 1 laid it out, before `pkce_plain_allowed`: read-only, to
/// decode version-1 client records. Frozen: its fields, their order and their types are the
/// archived layout of those records, so nothing here may change (the enums it uses are shared
/// with the current model; changing one of them would need a new version of every record that
/// holds it, except adding a unit variant at the end, which leaves every stored tag its
/// meaning: `GrantType::Implicit`, pinned in the codec tests).
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct ClientV1 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) client_name: String,
    pub(super) secret_digest: Option<[u8; 32]>,
    pub(super) grant_types: Vec<GrantType>,
    pub(super) redirect_uris: Vec<String>,
    pub(super) response_types: Vec<String>,
    pub(super) scope: Vec<String>,
    pub(super) token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub(super) access_token_format: AccessTokenFormat,
    pub(super) id_token_signed_response_alg: SigningAlg,
    pub(super) post_logout_redirect_uris: Vec<String>,
    pub(super) first_party: bool,
    pub(super) created_at: UnixSecs,
}

impl From<ClientV1> for ClientV2 {
    /// A client registered before the `plain` PKCE opt-in existed did not opt in.
    fn from(v1: ClientV1) -> Self {
        ClientV2 {
            tenant: v1.tenant,
            client_id: v1.client_id,
            client_name: v1.client_name,
            secret_digest: v1.secret_digest,
            grant_types: v1.grant_types,
            redirect_uris: v1.redirect_uris,
            response_types: v1.response_types,
            scope: v1.scope,
            token_endpoint_auth_method: v1.token_endpoint_auth_method,
            access_token_format: v1.access_token_format,
            id_token_signed_response_alg: v1.id_token_signed_response_alg,
            post_logout_redirect_uris: v1.post_logout_redirect_uris,
            first_party: v1.first_party,
            created_at: v1.created_at,
            pkce_plain_allowed: false,
        }
    }
}

/// [`Client`] as format version 2 laid it out, before `grants_valid_from`: read-only, to
/// decode version-2 client records. Frozen like [`ClientV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct ClientV2 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) client_name: String,
    pub(super) secret_digest: Option<[u8; 32]>,
    pub(super) grant_types: Vec<GrantType>,
    pub(super) redirect_uris: Vec<String>,
    pub(super) response_types: Vec<String>,
    pub(super) scope: Vec<String>,
    pub(super) token_endpoint_auth_method: TokenEndpointAuthMethod,
    pub(super) access_token_format: AccessTokenFormat,
    pub(super) id_token_signed_response_alg: SigningAlg,
    pub(super) post_logout_redirect_uris: Vec<String>,
    pub(super) first_party: bool,
    pub(super) created_at: UnixSecs,
    pub(super) pkce_plain_allowed: bool,
}

impl From<ClientV2> for ClientV3 {
    /// A client stored before the operator could revoke everything of it has nothing cut off.
    fn from(v2: ClientV2) -> Self {
        ClientV3 {
            tenant: v2.tenant,
            client_id: v2.client_id,
            client_name: v2.client_name,
            secret_digest: v2.secret_digest,
            grant_types: v2.grant_types,
            redirect_uris: v2.redirect_uris,
            response_types: v2.response_types,
            scope: v2.scope,
            token_endpoint_auth_method: v2.token_endpoint_auth_method,
            access_token_format: v2.access_token_format,
            id_token_signed_response_alg: v2.id_token_signed_response_alg,
            post_logout_redirect_uris: v2.post_logout_redirect_uris,
            first_party: v2.first_party,
            created_at: v2.created_at,
            pkce_plain_allowed: v2.pkce_plain_allowed,
            grants_valid_from: 0,
        }
    }
}

/// [`Session`] as format version 1 laid it out, with the login's fields inline rather than
/// one embedded [`Authentication`]: read-only, to decode version-1 session records. Frozen
/// like [`ClientV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct SessionV1 {
    pub(super) tenant: String,
    pub(super) sid: String,
    pub(super) user_id: String,
    pub(super) auth_time: UnixSecs,
    pub(super) acr: Option<String>,
    pub(super) amr: Vec<String>,
    pub(super) created_at: UnixSecs,
    pub(super) expires_at: UnixSecs,
}

impl From<SessionV1> for Session {
    /// The same session: only the layout changed, the user's id being the login's subject.
    fn from(v1: SessionV1) -> Self {
        Session {
            tenant: v1.tenant,
            auth: Authentication {
                sub: v1.user_id,
                sid: v1.sid,
                auth_time: v1.auth_time,
                acr: v1.acr,
                amr: v1.amr,
            },
            created_at: v1.created_at,
            expires_at: v1.expires_at,
            data: None,
        }
    }
}

/// [`RefreshToken`] as format version 1 laid it out, with the login's fields inline: read-only,
/// to decode version-1 refresh tokens. Frozen like [`ClientV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct RefreshTokenV1 {
    pub(super) tenant: String,
    pub(super) family: String,
    pub(super) client_id: String,
    pub(super) sub: String,
    pub(super) scope: String,
    pub(super) sid: String,
    pub(super) auth_time: UnixSecs,
    pub(super) acr: Option<String>,
    pub(super) amr: Vec<String>,
    pub(super) issued_at: UnixSecs,
    pub(super) expires_at: UnixSecs,
    pub(super) rotated_at: Option<UnixSecs>,
}

impl From<RefreshTokenV1> for RefreshToken {
    /// The same token: only the layout changed.
    fn from(v1: RefreshTokenV1) -> Self {
        RefreshToken {
            tenant: v1.tenant,
            family: v1.family,
            client_id: v1.client_id,
            scope: v1.scope,
            auth: Authentication {
                sub: v1.sub,
                sid: v1.sid,
                auth_time: v1.auth_time,
                acr: v1.acr,
                amr: v1.amr,
            },
            issued_at: v1.issued_at,
            expires_at: v1.expires_at,
            rotated_at: v1.rotated_at,
            validator: None,
            direct: None,
        }
    }
}

/// [`StoredCode`] as format version 1 laid it out, around a [`CodeV1`]: read-only, to decode
/// version-1 code records. Frozen like [`ClientV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct StoredCodeV1 {
    pub(super) used: bool,
    pub(super) code: CodeV1,
}

/// [`Code`] as format version 1 of [`StoredCode`] laid it out, with the login's fields inline;
/// frozen like [`ClientV1`] ([`CodeChallenge`] is shared with the current model, as the enums of
/// [`ClientV1`] are).
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct CodeV1 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) redirect_uri_sent: bool,
    pub(super) scope: String,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<CodeChallenge>,
    pub(super) sub: String,
    pub(super) sid: String,
    pub(super) auth_time: UnixSecs,
    pub(super) acr: Option<String>,
    pub(super) amr: Vec<String>,
    pub(super) issued_at: UnixSecs,
    pub(super) expires_at: UnixSecs,
}

impl From<StoredCodeV1> for StoredCodeV2 {
    /// The same code, used or not: only the layout changed.
    fn from(v1: StoredCodeV1) -> Self {
        let c = v1.code;
        StoredCodeV2 {
            used: v1.used,
            code: CodeV2 {
                tenant: c.tenant,
                client_id: c.client_id,
                redirect_uri: c.redirect_uri,
                redirect_uri_sent: c.redirect_uri_sent,
                scope: c.scope,
                nonce: c.nonce,
                code_challenge: c.code_challenge,
                auth: Authentication {
                    sub: c.sub,
                    sid: c.sid,
                    auth_time: c.auth_time,
                    acr: c.acr,
                    amr: c.amr,
                },
                issued_at: c.issued_at,
                expires_at: c.expires_at,
            },
        }
    }
}

/// [`User`] as format version 1 laid it out, before `disabled` and `grants_valid_from`:
/// read-only, to decode version-1 user records. Frozen like [`ClientV1`] ([`Address`] is
/// shared with the current model, as the enums of [`ClientV1`] are).
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct UserV1 {
    pub(super) tenant: String,
    pub(super) id: String,
    pub(super) username: String,
    pub(super) password_hash: String,
    pub(super) email: Option<String>,
    pub(super) email_verified: bool,
    pub(super) name: Option<String>,
    pub(super) given_name: Option<String>,
    pub(super) family_name: Option<String>,
    pub(super) middle_name: Option<String>,
    pub(super) nickname: Option<String>,
    pub(super) preferred_username: Option<String>,
    pub(super) profile: Option<String>,
    pub(super) picture: Option<String>,
    pub(super) website: Option<String>,
    pub(super) gender: Option<String>,
    pub(super) birthdate: Option<String>,
    pub(super) zoneinfo: Option<String>,
    pub(super) locale: Option<String>,
    pub(super) phone_number: Option<String>,
    pub(super) phone_number_verified: bool,
    pub(super) address: Option<Address>,
    pub(super) created_at: UnixSecs,
    pub(super) updated_at: UnixSecs,
}

impl From<UserV1> for User {
    /// A user stored before users could be disabled is enabled, with no grant cut off.
    fn from(v1: UserV1) -> Self {
        User {
            tenant: v1.tenant,
            id: v1.id,
            username: v1.username,
            password_hash: v1.password_hash,
            email: v1.email,
            email_verified: v1.email_verified,
            name: v1.name,
            given_name: v1.given_name,
            family_name: v1.family_name,
            middle_name: v1.middle_name,
            nickname: v1.nickname,
            preferred_username: v1.preferred_username,
            profile: v1.profile,
            picture: v1.picture,
            website: v1.website,
            gender: v1.gender,
            birthdate: v1.birthdate,
            zoneinfo: v1.zoneinfo,
            locale: v1.locale,
            phone_number: v1.phone_number,
            phone_number_verified: v1.phone_number_verified,
            address: v1.address,
            created_at: v1.created_at,
            updated_at: v1.updated_at,
            disabled: false,
            grants_valid_from: 0,
        }
    }
}

/// [`OpaqueToken`] as format version 1 laid it out, before tokens carried their subject's
/// roles and permissions: read-only, to decode version-1 opaque tokens. Frozen like
/// [`TenantV1`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct OpaqueTokenV1 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) sub: String,
    pub(super) scope: String,
    pub(super) jti: String,
    pub(super) iat: UnixSecs,
    pub(super) exp: UnixSecs,
}

impl From<OpaqueTokenV1> for OpaqueTokenV2 {
    /// A token issued before roles existed carries none.
    fn from(v1: OpaqueTokenV1) -> Self {
        OpaqueTokenV2 {
            tenant: v1.tenant,
            client_id: v1.client_id,
            sub: v1.sub,
            scope: v1.scope,
            jti: v1.jti,
            iat: v1.iat,
            exp: v1.exp,
            roles: Vec::new(),
            permissions: Vec::new(),
        }
    }
}
