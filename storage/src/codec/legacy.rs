//! Frozen layouts of records written in older format versions, read-only, and their
//! conversion to the current model. Never edit one: its fields, their order and their types are
//! the archived layout of records already on disk (the golden bytes in the tests pin them).

use tessera_core::model::{
    AccessTokenFormat, Client, GrantType, SigningAlg, Tenant, TenantSettings, TokenEndpointAuthMethod,
    UnixSecs,
};

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

impl From<TenantV1> for Tenant {
    /// A tenant stored before the two end-user lifetimes were settings uses the server's flags.
    fn from(v1: TenantV1) -> Self {
        let s = v1.settings;
        Tenant {
            id: v1.id,
            display_name: v1.display_name,
            settings: TenantSettings {
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

/// [`Client`] as format version 1 laid it out, before `pkce_plain_allowed`: read-only, to
/// decode version-1 client records. Frozen: its fields, their order and their types are the
/// archived layout of those records, so nothing here may change (the enums it uses are shared
/// with the current model; changing one of them would need a new version of every record that
/// holds it).
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

impl From<ClientV1> for Client {
    /// A client registered before the `plain` PKCE opt-in existed did not opt in.
    fn from(v1: ClientV1) -> Self {
        Client {
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
