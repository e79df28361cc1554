//! Access-token records: opaque tokens stored by digest, the deny list of revoked JWTs, and
//! the JWT bearer assertions already exchanged.

use super::UnixSecs;

rkyv_record! {
    /// An opaque access token, stored under the SHA-256 digest of its value.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct OpaqueToken {
        /// The tenant that issued it.
        pub tenant: String,
        /// The client it was issued to.
        pub client_id: String,
        /// The subject.
        pub sub: String,
        /// The granted scope, space-delimited.
        pub scope: String,
        /// The token id.
        pub jti: String,
        /// Issued at.
        pub iat: UnixSecs,
        /// Expiry.
        pub exp: UnixSecs,
        /// The names of the subject's roles when it was issued.
        pub roles: Vec<String>,
        /// The subject's permissions when it was issued.
        pub permissions: Vec<String>,
        /// Its audience, when an API's (RFC 8707 `resource`); `None`: the issuer.
        pub aud: Option<String>,
        /// What the identity validator that checked the password added (`extraInfo`), as
        /// JSON text of an object.
        pub extra_info: Option<String>,
        /// The identity validator or trusted issuer that vouched for the subject, when not the
        /// local directory.
        pub validator: Option<String>,
        /// The client ids of the resource servers it is for (a direct authorisation's
        /// `audience`): only they are told it is active at introspection. Empty: any client.
        pub audience: Vec<String>,
        /// The impersonator, when the subject is impersonated (RFC 8693 `act.sub`).
        pub act: Option<String>,
        /// The data a direct authorisation stored with it (`dat`), as JSON text of an object.
        pub dat: Option<String>,
        /// The names of the claims a direct authorisation releases at the userinfo endpoint
        /// (`cls`).
        pub cls: Vec<String>,
        /// The claims a direct authorisation preset for the userinfo endpoint (`uip`), as JSON
        /// text of an object.
        pub uip: Option<String>,
    }

    /// A revoked JWT access token, kept until it would have expired anyway.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Revocation {
        /// The tenant that issued the token.
        pub tenant: String,
        /// The token's `jti`.
        pub jti: String,
        /// The token's `exp`: after it the entry is dropped.
        pub exp: UnixSecs,
    }

    /// A JWT bearer assertion already exchanged (RFC 7523 3: its `jti` is single use),
    /// stored under the digest of its issuer and `jti` until the assertion could no longer be
    /// accepted anyway (`crate::store::AssertionStore`).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct UsedAssertion {
        /// The tenant it was exchanged at.
        pub tenant: String,
        /// When it stops mattering: the assertion's `exp` plus the clock skew allowed.
        pub expires_at: UnixSecs,
    }
}

impl UsedAssertion {
    /// Checks the record: its tenant id is one a tenant can have.
    pub fn validate(&self) -> Result<(), String> {
        if super::is_valid_id(&self.tenant) {
            Ok(())
        } else {
            Err(format!("used assertion of tenant {:?}: not a valid tenant id", self.tenant))
        }
    }
}
