//! The frozen layouts the direct authorisation API's second round replaced: [`Tenant`]
//! version 9 (its shared AES key as 32 bare bytes, before the key was sealed and had a key
//! management algorithm), [`OpaqueToken`] version 4 (before its userinfo release, `cls` and
//! `uip`), [`Session`] version 2 (before a broker's `data`) and [`RefreshToken`] version 2
//! (before the `validator` of a brokered subject). Read-only, like every layout in
//! `legacy`: never written again, and pinned by golden bytes.

use tessera_core::model::{
    Api, Authentication, IdentityValidator, Idp, JweKeyManagement, OpaqueToken, RefreshToken, Session,
    SharedAesKey, Tenant, TrustedIssuer, UnixSecs,
};

use super::legacy_issuers::{TenantSettingsV6, TenantV6};

/// [`Tenant`] as format version 9 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV9 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV6,
    pub(super) created_at: UnixSecs,
    pub(super) apis: Vec<Api>,
    pub(super) identity_validators: Vec<IdentityValidator>,
    pub(super) trusted_issuers: Vec<TrustedIssuer>,
    pub(super) idps: Vec<Idp>,
    pub(super) direct_authz_token_digest: Option<[u8; 32]>,
    pub(super) direct_authz_encryption_key: Option<Vec<u8>>,
}

impl From<TenantV9> for Tenant {
    /// A key stored before keys were sealed stays as it was (unsealed, `dir`) until the
    /// operator sets one again; the server uses it as it is.
    fn from(v9: TenantV9) -> Self {
        let v6 = TenantV6 {
            id: v9.id,
            display_name: v9.display_name,
            settings: v9.settings,
            created_at: v9.created_at,
            apis: v9.apis,
            identity_validators: v9.identity_validators,
        };
        let mut tenant = Tenant::from(v6);
        tenant.trusted_issuers = v9.trusted_issuers;
        tenant.idps = v9.idps;
        tenant.direct_authz_token_digest = v9.direct_authz_token_digest;
        tenant.direct_authz_encryption = v9.direct_authz_encryption_key.map(|key| SharedAesKey {
            alg: JweKeyManagement::Dir,
            key,
            sealed: false,
        });
        tenant
    }
}

/// [`OpaqueToken`] as format version 4 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct OpaqueTokenV4 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) sub: String,
    pub(super) scope: String,
    pub(super) jti: String,
    pub(super) iat: UnixSecs,
    pub(super) exp: UnixSecs,
    pub(super) roles: Vec<String>,
    pub(super) permissions: Vec<String>,
    pub(super) aud: Option<String>,
    pub(super) extra_info: Option<String>,
    pub(super) validator: Option<String>,
    pub(super) audience: Vec<String>,
    pub(super) act: Option<String>,
    pub(super) dat: Option<String>,
}

impl From<OpaqueTokenV4> for OpaqueToken {
    /// A token issued before the userinfo release releases what its scope does, nothing more.
    fn from(v4: OpaqueTokenV4) -> Self {
        OpaqueToken {
            tenant: v4.tenant,
            client_id: v4.client_id,
            sub: v4.sub,
            scope: v4.scope,
            jti: v4.jti,
            iat: v4.iat,
            exp: v4.exp,
            roles: v4.roles,
            permissions: v4.permissions,
            aud: v4.aud,
            extra_info: v4.extra_info,
            validator: v4.validator,
            audience: v4.audience,
            act: v4.act,
            dat: v4.dat,
            cls: Vec::new(),
            uip: None,
        }
    }
}

/// [`Session`] as format version 2 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct SessionV2 {
    pub(super) tenant: String,
    pub(super) auth: Authentication,
    pub(super) created_at: UnixSecs,
    pub(super) expires_at: UnixSecs,
}

impl From<SessionV2> for Session {
    /// A session stored before broker data carries none.
    fn from(v2: SessionV2) -> Self {
        Session {
            tenant: v2.tenant,
            auth: v2.auth,
            created_at: v2.created_at,
            expires_at: v2.expires_at,
            data: None,
        }
    }
}

/// [`RefreshToken`] as format version 2 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct RefreshTokenV2 {
    pub(super) tenant: String,
    pub(super) family: String,
    pub(super) client_id: String,
    pub(super) scope: String,
    pub(super) auth: Authentication,
    pub(super) issued_at: UnixSecs,
    pub(super) expires_at: UnixSecs,
    pub(super) rotated_at: Option<UnixSecs>,
}

impl From<RefreshTokenV2> for RefreshToken {
    /// A token stored before brokered subjects names a local user, as every such token did.
    fn from(v2: RefreshTokenV2) -> Self {
        RefreshToken {
            tenant: v2.tenant,
            family: v2.family,
            client_id: v2.client_id,
            scope: v2.scope,
            auth: v2.auth,
            issued_at: v2.issued_at,
            expires_at: v2.expires_at,
            rotated_at: v2.rotated_at,
            validator: None,
            direct: None,
        }
    }
}
