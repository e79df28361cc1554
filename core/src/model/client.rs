//! Clients: their registration (RFC 7591 metadata plus Tessera's own), the grants they may
//! use and how they authenticate, and whether something issued to a client still works
//! ([`Client::standing_of`]: the one rule every place that honours a client's token asks).

use serde::{Deserialize, Serialize};

use super::{RateLimitOverride, SigningAlg, UnixSecs, cut_off_after};

rkyv_record! {
    /// How a client's access tokens are issued.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
    #[serde(rename_all = "lowercase")]
    pub enum AccessTokenFormat {
        /// A signed JWT per RFC 9068.
        #[default]
        Jwt,
        /// A 256-bit random identifier, stored as its SHA-256 digest.
        Opaque,
    }

    /// RFC 7591 `token_endpoint_auth_method` values Tessera implements.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
    #[serde(rename_all = "snake_case")]
    pub enum TokenEndpointAuthMethod {
        /// HTTP Basic with the url-encoded id and secret (RFC 6749 2.3.1).
        #[default]
        ClientSecretBasic,
        /// `client_id` and `client_secret` in the form body.
        ClientSecretPost,
        /// A public client: no secret.
        None,
    }

    /// A grant type a client may be registered for (RFC 7591 2).
    ///
    /// Stored in client records by position: a new variant goes at the end, so that the tag of
    /// every variant already on disk keeps its meaning and older records decode unchanged.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum GrantType {
        /// RFC 6749 4.4.
        ClientCredentials,
        /// RFC 6749 4.1.
        AuthorizationCode,
        /// RFC 6749 6.
        RefreshToken,
        /// RFC 6749 4.2: tokens straight from `/authorize`. Not a token-endpoint grant; RFC 7591
        /// 2.1 names it for clients whose response types return an ID token or access token
        /// (the implicit and hybrid flows).
        Implicit,
        /// RFC 6749 4.3: the resource owner password credentials grant, for confidential
        /// clients only, checked by the tenant's identity validators.
        Password,
        /// RFC 7523 2.1: a partner's signed JWT exchanged for tokens, for confidential clients
        /// only, checked against the tenant's trusted issuers.
        JwtBearer,
    }

    /// A registered OAuth client (RFC 7591 metadata).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Client {
        /// The tenant the client belongs to.
        pub tenant: String,
        /// The client identifier.
        pub client_id: String,
        /// A human-readable name.
        pub client_name: String,
        /// SHA-256 of the client secret; `None` for public clients.
        pub secret_digest: Option<[u8; 32]>,
        /// Grants the client may use.
        pub grant_types: Vec<GrantType>,
        /// Registered redirect URIs.
        pub redirect_uris: Vec<String>,
        /// Registered response types.
        pub response_types: Vec<String>,
        /// The scope values the client may request.
        pub scope: Vec<String>,
        /// How the client authenticates at the token endpoint.
        pub token_endpoint_auth_method: TokenEndpointAuthMethod,
        /// JWT or opaque access tokens.
        pub access_token_format: AccessTokenFormat,
        /// Algorithm of the client's ID tokens.
        pub id_token_signed_response_alg: SigningAlg,
        /// Registered post-logout redirect URIs.
        pub post_logout_redirect_uris: Vec<String>,
        /// First-party clients skip consent.
        pub first_party: bool,
        /// When the client was registered.
        pub created_at: UnixSecs,
        /// Whether `/authorize` accepts `code_challenge_method=plain` (and a missing method,
        /// which RFC 7636 4.3 defines as `plain`) from this client. RFC 7636 4.2 allows `plain`
        /// only for clients that cannot do S256: it protects nothing once the authorization
        /// request leaks, so it is off unless the client opts in. A client that opts in may
        /// still use S256. Clients stored before the field existed read back with `false`.
        pub pkce_plain_allowed: bool,
        /// What was issued to the client before this second (an access token's `iat`, a
        /// refresh token's or a code's `issued_at`) no longer works; 0 when nothing was cut
        /// off. Set by [`Client::cut_off_grants`] (the operator's revoke-all), so every token
        /// of the client stops working without enumerating them. Clients stored before the
        /// field existed read back with 0.
        pub grants_valid_from: UnixSecs,
        /// The ids of the APIs the client may ask tokens for (RFC 8707 `resource`); `None`:
        /// every API of its tenant.
        pub apis: Option<Vec<String>>,
        /// The client's own token-endpoint quota, overriding its tenant's
        /// (`crate::model::rate_limit`); `None` takes the tenant's. Clients stored before the
        /// field existed read back with `None`.
        pub token_rate_limit: Option<RateLimitOverride>,
    }
}

/// Whether something issued to a client at a given second still works, as
/// [`Client::standing_of`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientStanding {
    /// Issued to this registration, after any cut-off.
    Usable,
    /// Issued before this client was registered: to an earlier client of the same id, since
    /// deleted. A client registered again does not inherit its tokens (RFC 7592 2.3).
    Reregistered,
    /// Issued before the operator last revoked everything of the client.
    CutOff,
}

/// The `grant_type` of the JWT bearer grant (RFC 7523 2.1).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

impl GrantType {
    /// The `grant_type` wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::Implicit => "implicit",
            Self::Password => "password",
            Self::JwtBearer => JWT_BEARER,
        }
    }

    /// Every grant type: client registration and discovery follow this list, and the token
    /// endpoint runs those [`GrantType::at_token_endpoint`] says it does.
    pub const ALL: [Self; 6] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::Implicit,
        Self::Password,
        Self::JwtBearer,
    ];

    /// Parses a grant type's wire value (RFC 7591 `grant_types`, RFC 6749 `grant_type`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Whether a token request may name this grant: every grant but `implicit`, whose tokens
    /// come from `/authorize` alone.
    pub const fn at_token_endpoint(self) -> bool {
        match self {
            Self::ClientCredentials
            | Self::AuthorizationCode
            | Self::RefreshToken
            | Self::Password
            | Self::JwtBearer => true,
            Self::Implicit => false,
        }
    }
}

impl Client {
    /// Whether the client may ask tokens for the API `api_id` (RFC 8707 `resource`).
    pub fn may_use_api(&self, api_id: &str) -> bool {
        self.apis.as_ref().is_none_or(|ids| ids.iter().any(|id| id == api_id))
    }

    /// Whether the client is registered for `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether a token or code issued to this client at `issued_at` still works. Asked with
    /// the client the caller already holds (the token endpoint's authenticated client, the
    /// cached record at introspection), so the check costs no store read.
    pub fn standing_of(&self, issued_at: UnixSecs) -> ClientStanding {
        if issued_at < self.created_at {
            ClientStanding::Reregistered
        } else if issued_at < self.grants_valid_from {
            ClientStanding::CutOff
        } else {
            ClientStanding::Usable
        }
    }

    /// Cuts off everything issued to the client up to `now` (its refresh tokens, codes and
    /// access tokens, client credentials ones included) and returns the new cut-off: the
    /// next second, since a token issued in this very second may predate the call (times are
    /// whole seconds). The cut-off only moves forward.
    pub fn cut_off_grants(&mut self, now: UnixSecs) -> UnixSecs {
        self.grants_valid_from = cut_off_after(self.grants_valid_from, now);
        self.grants_valid_from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_round_trip_and_all_lists_every_variant() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
            // Exhaustive on purpose: a new variant stops this compiling until ALL has it.
            let listed = match g {
                GrantType::ClientCredentials
                | GrantType::AuthorizationCode
                | GrantType::RefreshToken
                | GrantType::Implicit
                | GrantType::Password
                | GrantType::JwtBearer => 6,
            };
            assert_eq!(GrantType::ALL.len(), listed);
        }
        assert_eq!(GrantType::parse("password"), Some(GrantType::Password));
        assert_eq!(GrantType::parse("implicit"), Some(GrantType::Implicit));
        assert!(!GrantType::Implicit.at_token_endpoint());
        assert!(GrantType::ALL.iter().filter(|g| **g != GrantType::Implicit).all(|g| g.at_token_endpoint()));
    }

    #[test]
    fn a_cut_off_ends_what_was_issued_up_to_its_call_and_only_moves_forward() {
        let mut c = Client { created_at: 50, ..crate::model::sample_client() };
        assert_eq!(c.standing_of(49), ClientStanding::Reregistered);
        for issued_at in [50, 100, i64::MAX] {
            assert_eq!(c.standing_of(issued_at), ClientStanding::Usable, "{issued_at}");
        }
        assert_eq!(c.cut_off_grants(100), 101);
        assert_eq!(c.standing_of(49), ClientStanding::Reregistered, "older than the client first");
        assert_eq!(c.standing_of(50), ClientStanding::CutOff);
        // Issued in the call's own second: maybe before it, so cut off too.
        assert_eq!(c.standing_of(100), ClientStanding::CutOff);
        assert_eq!(c.standing_of(101), ClientStanding::Usable);
        // A clock stepped back never revives what was cut off.
        assert_eq!(c.cut_off_grants(20), 101);
        assert_eq!(c.cut_off_grants(200), 201);
        assert_eq!(c.standing_of(200), ClientStanding::CutOff);
        assert_eq!(c.cut_off_grants(i64::MAX), i64::MAX);
    }
}
