//! The frozen layouts that APIs, identity validators, resource indicators and token-endpoint
//! quotas replaced: `Tenant` version 5 (before its APIs, identity validators, the local
//! directory's place among them and its clients' default quota), [`Client`] version 3
//! (before the APIs it may use and its own quota) and [`OpaqueToken`] version 2 (before its
//! audience, `extraInfo` and validator), and [`StoredCode`] version 2 (before the code's
//! `resource`). Read-only, like every layout in
//! `legacy`: never written again, and pinned by golden bytes.

use tessera_core::model::{
    AccessTokenFormat, Authentication, Client, Code, GrantType, OpaqueToken, ScopePermission, SigningAlg,
    TokenEndpointAuthMethod, UnixSecs,
};
use tessera_core::pkce::CodeChallenge;

use super::StoredCode;
use super::legacy_issuers::{TenantSettingsV6, TenantV6};

/// `Tenant` as format version 5 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantV5 {
    pub(super) id: String,
    pub(super) display_name: String,
    pub(super) settings: TenantSettingsV5,
    pub(super) created_at: UnixSecs,
}

/// `TenantSettings` as format version 5 of `Tenant` laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct TenantSettingsV5 {
    pub(super) access_token_alg: SigningAlg,
    pub(super) scope_permissions: Vec<ScopePermission>,
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

impl From<TenantV5> for TenantV6 {
    /// A tenant stored before APIs has none, no identity validators, its local directory
    /// answers the password grant alone, and its clients are not rate-limited.
    fn from(v5: TenantV5) -> Self {
        let s = v5.settings;
        let settings = TenantSettingsV6 {
            access_token_alg: s.access_token_alg,
            scope_permissions: s.scope_permissions,
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
            local_directory_position: None,
            token_rate_limit: None,
        };
        TenantV6 {
            id: v5.id,
            display_name: v5.display_name,
            settings,
            created_at: v5.created_at,
            apis: Vec::new(),
            identity_validators: Vec::new(),
        }
    }
}

/// [`Client`] as format version 3 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct ClientV3 {
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
    pub(super) grants_valid_from: UnixSecs,
}

impl From<ClientV3> for Client {
    /// A client stored before APIs may ask tokens for every API of its tenant, within its
    /// tenant's quota.
    fn from(v3: ClientV3) -> Self {
        Client {
            tenant: v3.tenant,
            client_id: v3.client_id,
            client_name: v3.client_name,
            secret_digest: v3.secret_digest,
            grant_types: v3.grant_types,
            redirect_uris: v3.redirect_uris,
            response_types: v3.response_types,
            scope: v3.scope,
            token_endpoint_auth_method: v3.token_endpoint_auth_method,
            access_token_format: v3.access_token_format,
            id_token_signed_response_alg: v3.id_token_signed_response_alg,
            post_logout_redirect_uris: v3.post_logout_redirect_uris,
            first_party: v3.first_party,
            created_at: v3.created_at,
            pkce_plain_allowed: v3.pkce_plain_allowed,
            grants_valid_from: v3.grants_valid_from,
            apis: None,
            token_rate_limit: None,
        }
    }
}

/// [`OpaqueToken`] as format version 2 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct OpaqueTokenV2 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) sub: String,
    pub(super) scope: String,
    pub(super) jti: String,
    pub(super) iat: UnixSecs,
    pub(super) exp: UnixSecs,
    pub(super) roles: Vec<String>,
    pub(super) permissions: Vec<String>,
}

impl From<OpaqueTokenV2> for OpaqueToken {
    /// A token issued before resource indicators was for the issuer, with nothing extra.
    fn from(v2: OpaqueTokenV2) -> Self {
        OpaqueToken {
            tenant: v2.tenant,
            client_id: v2.client_id,
            sub: v2.sub,
            scope: v2.scope,
            jti: v2.jti,
            iat: v2.iat,
            exp: v2.exp,
            roles: v2.roles,
            permissions: v2.permissions,
            aud: None,
            extra_info: None,
            validator: None,
            audience: Vec::new(),
            act: None,
            dat: None,
            cls: Vec::new(),
            uip: None,
        }
    }
}

/// [`StoredCode`] as format version 2 laid it out, around a [`CodeV2`].
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct StoredCodeV2 {
    pub(super) used: bool,
    pub(super) code: CodeV2,
}

/// [`Code`] as format version 2 of [`StoredCode`] laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct CodeV2 {
    pub(super) tenant: String,
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) redirect_uri_sent: bool,
    pub(super) scope: String,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<CodeChallenge>,
    pub(super) auth: Authentication,
    pub(super) issued_at: UnixSecs,
    pub(super) expires_at: UnixSecs,
}

impl From<StoredCodeV2> for StoredCode {
    /// A code issued before resource indicators named no API.
    fn from(v2: StoredCodeV2) -> Self {
        let c = v2.code;
        StoredCode {
            used: v2.used,
            code: Code {
                tenant: c.tenant,
                client_id: c.client_id,
                redirect_uri: c.redirect_uri,
                redirect_uri_sent: c.redirect_uri_sent,
                scope: c.scope,
                nonce: c.nonce,
                code_challenge: c.code_challenge,
                auth: c.auth,
                issued_at: c.issued_at,
                expires_at: c.expires_at,
                resource: None,
            },
        }
    }
}
