//! The discovery document (OpenID Connect Discovery 1.0 section 3, RFC 8414). It advertises
//! exactly what this build implements: a value appears here only when the endpoint behind it
//! accepts it.

use serde::Serialize;

use crate::model::SigningAlg;

/// Client authentication methods the token, introspection and revocation endpoints accept.
pub const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// Provider metadata.
#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    /// The tenant's issuer.
    pub issuer: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The JWK Set.
    pub jwks_uri: String,
    /// RFC 7662.
    pub introspection_endpoint: String,
    /// RFC 7009.
    pub revocation_endpoint: String,
    /// Grants the token endpoint implements.
    pub grant_types_supported: Vec<&'static str>,
    /// Response types `/authorize` implements: none yet (end-user login is a later feature);
    /// the member is required by RFC 8414 and OpenID Connect Discovery, so it is present and
    /// empty rather than claiming a flow that does not exist.
    pub response_types_supported: Vec<&'static str>,
    /// Client authentication at the token endpoint.
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
    /// Client authentication at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: [&'static str; 2],
    /// Client authentication at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: [&'static str; 2],
    /// Algorithms a tenant may sign access tokens with.
    pub access_token_signing_alg_values_supported: Vec<&'static str>,
}

impl ProviderMetadata {
    /// The metadata of the tenant whose issuer is `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            token_endpoint: format!("{issuer}/token"),
            jwks_uri: format!("{issuer}/jwks"),
            introspection_endpoint: format!("{issuer}/introspect"),
            revocation_endpoint: format!("{issuer}/revoke"),
            grant_types_supported: vec!["client_credentials"],
            response_types_supported: vec![],
            token_endpoint_auth_methods_supported: AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: AUTH_METHODS,
            access_token_signing_alg_values_supported: SigningAlg::ALL.iter().map(|a| a.as_str()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hang_off_the_issuer() {
        let m = ProviderMetadata::for_issuer("http://127.0.0.1:8080/t/acme");
        assert_eq!(m.token_endpoint, "http://127.0.0.1:8080/t/acme/token");
        let v = serde_json::to_value(&m).expect("json");
        assert_eq!(v["grant_types_supported"], serde_json::json!(["client_credentials"]));
        assert!(v.get("authorization_endpoint").is_none(), "no /authorize yet");
    }
}
