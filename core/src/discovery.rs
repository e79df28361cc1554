//! The discovery document (OpenID Connect Discovery 1.0 section 3, RFC 8414). It advertises
//! exactly what this build implements: a value appears here only when the endpoint behind it
//! accepts it.

use serde::Serialize;

use crate::grants::refresh_token::OFFLINE_ACCESS;
use crate::model::{GrantType, SigningAlg};
use crate::userinfo::{CLAIM_SCOPES, CLAIMS_SUPPORTED};

/// Client authentication methods the introspection endpoint accepts (confidential clients only).
pub const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

/// Client authentication methods the token and revocation endpoints accept: public clients
/// (`none`) redeem codes with PKCE and revoke their own tokens.
pub const TOKEN_AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// Every `response_type` `/authorize` implements. Implicit and hybrid types need the client to
/// have registered them.
pub const RESPONSE_TYPES: [&str; 6] =
    ["code", "id_token", "id_token token", "code id_token", "code token", "code id_token token"];

/// Provider metadata.
#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    /// The tenant's issuer.
    pub issuer: String,
    /// `/authorize`.
    pub authorization_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// `/userinfo`.
    pub userinfo_endpoint: String,
    /// The JWK Set.
    pub jwks_uri: String,
    /// RP-Initiated Logout 1.0.
    pub end_session_endpoint: String,
    /// RFC 7662.
    pub introspection_endpoint: String,
    /// RFC 7009.
    pub revocation_endpoint: String,
    /// Scopes with a meaning here.
    pub scopes_supported: Vec<&'static str>,
    /// Response types `/authorize` implements.
    pub response_types_supported: [&'static str; 6],
    /// How authorization responses can travel.
    pub response_modes_supported: [&'static str; 3],
    /// Grants the token endpoint (and `/authorize`, for `implicit`) implements.
    pub grant_types_supported: Vec<&'static str>,
    /// Subject identifiers are the same for every client.
    pub subject_types_supported: [&'static str; 1],
    /// Algorithms ID tokens can be signed with (per client; RS256 by default).
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// Client authentication at the token endpoint.
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    /// Client authentication at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: [&'static str; 2],
    /// Client authentication at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: [&'static str; 3],
    /// PKCE methods (RFC 7636): `plain` only for clients that opted in (`allow_plain_pkce`).
    pub code_challenge_methods_supported: [&'static str; 2],
    /// `prompt` values understood.
    pub prompt_values_supported: [&'static str; 4],
    /// Claims `/userinfo` and ID tokens can carry.
    pub claims_supported: [&'static str; 20],
    /// Only normal (unsigned JSON) claims.
    pub claim_types_supported: [&'static str; 1],
    /// The `claims` request parameter is not implemented.
    pub claims_parameter_supported: bool,
    /// Request objects are not implemented.
    pub request_parameter_supported: bool,
    /// Request objects by reference are not implemented (the default would be `true`).
    pub request_uri_parameter_supported: bool,
    /// RFC 9207: authorization responses carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// Algorithms a tenant may sign access tokens with.
    pub access_token_signing_alg_values_supported: Vec<&'static str>,
}

impl ProviderMetadata {
    /// The metadata of the tenant whose issuer is `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        let algs: Vec<&'static str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
        let mut scopes = vec!["openid"];
        scopes.extend(CLAIM_SCOPES);
        scopes.push(OFFLINE_ACCESS);
        Self {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{issuer}/authorize"),
            token_endpoint: format!("{issuer}/token"),
            userinfo_endpoint: format!("{issuer}/userinfo"),
            jwks_uri: format!("{issuer}/jwks"),
            end_session_endpoint: format!("{issuer}/logout"),
            introspection_endpoint: format!("{issuer}/introspect"),
            revocation_endpoint: format!("{issuer}/revoke"),
            scopes_supported: scopes,
            response_types_supported: RESPONSE_TYPES,
            response_modes_supported: ["query", "fragment", "form_post"],
            grant_types_supported: grant_types_supported(),
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: algs.clone(),
            token_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
            code_challenge_methods_supported: ["S256", "plain"],
            prompt_values_supported: ["none", "login", "consent", "select_account"],
            claims_supported: CLAIMS_SUPPORTED,
            claim_types_supported: ["normal"],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
            access_token_signing_alg_values_supported: algs,
        }
    }
}

/// Every grant type, `implicit` included: not a token-endpoint grant, but the name Discovery
/// 1.0 gives the flows `/authorize` answers with tokens.
fn grant_types_supported() -> Vec<&'static str> {
    GrantType::ALL.iter().map(|g| g.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hang_off_the_issuer() {
        let m = ProviderMetadata::for_issuer("http://127.0.0.1:8080/t/acme");
        assert_eq!(m.token_endpoint, "http://127.0.0.1:8080/t/acme/token");
        let v = serde_json::to_value(&m).expect("json");
        assert_eq!(v["authorization_endpoint"], "http://127.0.0.1:8080/t/acme/authorize");
        assert_eq!(v["userinfo_endpoint"], "http://127.0.0.1:8080/t/acme/userinfo");
        assert_eq!(v["end_session_endpoint"], "http://127.0.0.1:8080/t/acme/logout");
        // OpenID Connect Discovery 3: RS256 must be listed; `request_uri_parameter_supported`
        // defaults to true, so its absence would claim a feature that does not exist.
        assert!(
            v["id_token_signing_alg_values_supported"].as_array().expect("array").contains(&"RS256".into())
        );
        assert_eq!(v["request_uri_parameter_supported"], false);
        assert_eq!(v["subject_types_supported"], serde_json::json!(["public"]));
        assert_eq!(v["code_challenge_methods_supported"], serde_json::json!(["S256", "plain"]));
        assert!(v["scopes_supported"].as_array().expect("array").contains(&"offline_access".into()));
    }
}
