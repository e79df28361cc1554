//! The records of end-user grants: SSO sessions, remembered consents, authorization codes and
//! refresh tokens, and the [`Authentication`] (who signed in, how) that each of them carries.

use super::UnixSecs;
use crate::pkce::CodeChallenge;

rkyv_record! {
    /// Who authenticated, and how: one login, as an SSO session holds it and as every code and
    /// refresh token issued from that session carries it (a refreshed ID token repeats it,
    /// OpenID Connect Core 12.2).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Authentication {
        /// The end-user's subject: the user's id.
        pub sub: String,
        /// The SSO session id (OpenID Connect Front-/Back-Channel Logout `sid`), distinct from
        /// the session's cookie value.
        pub sid: String,
        /// When the end-user authenticated (OpenID Connect Core `auth_time`).
        pub auth_time: UnixSecs,
        /// The authentication context class reached, if any.
        pub acr: Option<String>,
        /// The authentication methods used (RFC 8176), e.g. `pwd`.
        pub amr: Vec<String>,
    }

    /// An SSO session: a browser's login, stored under the SHA-256 digest of its cookie value
    /// (the cookie is the secret; `auth.sid` is the public id that ID tokens carry).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Session {
        /// The tenant the end-user logged in to.
        pub tenant: String,
        /// The login: who (`auth.sub` is the user's id), the session id, when and how.
        pub auth: Authentication,
        /// When the session began.
        pub created_at: UnixSecs,
        /// When it ends, whatever happens.
        pub expires_at: UnixSecs,
        /// What the broker that made it through the direct authorisation API keeps with it
        /// (`sub_session.data`), as JSON text of an object; `None` for a login's session.
        pub data: Option<String>,
    }

    /// The scopes an end-user agreed to give a client, remembered so consent is asked once.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Consent {
        /// The tenant.
        pub tenant: String,
        /// The user's id.
        pub user_id: String,
        /// The client.
        pub client_id: String,
        /// Every scope granted so far, sorted and without repeats.
        pub scope: Vec<String>,
        /// When consent was last given.
        pub granted_at: UnixSecs,
    }

    /// A refresh token, stored under the SHA-256 digest of its value. Every refresh token
    /// belongs to a family: the chain of rotations that began with one authorization. Rotation
    /// marks the presented token used; presenting a used token again (after a short grace
    /// period) revokes the whole family (OAuth 2.0 Security BCP 4.14.2).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RefreshToken {
        /// The tenant that issued it.
        pub tenant: String,
        /// Its family's id.
        pub family: String,
        /// The client it was issued to.
        pub client_id: String,
        /// The scope of the grant, space-delimited: identical along the family (RFC 6749 6).
        pub scope: String,
        /// The original login (end-user, SSO session, when and how), which a refreshed ID token
        /// keeps (OpenID Connect Core 12.2).
        pub auth: Authentication,
        /// Issued at.
        pub issued_at: UnixSecs,
        /// Expiry.
        pub expires_at: UnixSecs,
        /// When it was exchanged for its successor; `None` while it is the current token.
        pub rotated_at: Option<UnixSecs>,
        /// Who vouched for a subject that is no local user (the direct authorisation API's
        /// broker): the grant then stands without a local user, and its access tokens carry it
        /// as `validator`. `None`: the subject is a local user, held to its standing.
        pub validator: Option<String>,
        /// How a long-lived direct authorisation's access tokens are made, so a refresh issues
        /// the same kind; `None` for every other grant (the client's format, no extras).
        pub direct: Option<DirectGrant>,
    }

    /// What a long-lived direct authorisation's access tokens carry beyond an ordinary grant's,
    /// kept with its refresh tokens.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct DirectGrant {
        /// The resource servers the tokens are for (`aud`; of an identifier token, the only
        /// clients told it is active). Empty: the issuer.
        pub audience: Vec<String>,
        /// The impersonator, when the subject is impersonated (`act.sub` of the access and ID
        /// tokens).
        pub act: Option<String>,
        /// The broker's data (`dat`), as JSON text of an object.
        pub dat: Option<String>,
        /// The names of the claims released at the userinfo endpoint (`cls`).
        pub cls: Vec<String>,
        /// The claims preset for the userinfo endpoint (`uip`), as JSON text of an object.
        pub uip: Option<String>,
        /// Whether the tokens are identifiers (stored) rather than self-contained.
        pub identifier: bool,
        /// Whether self-contained tokens are encrypted with the tenant's shared key.
        pub encrypt: bool,
        /// The tokens' lifetime, as the authorisation asked (held to the tenant's maximum when
        /// issued).
        pub access_token_ttl_secs: u32,
    }

    /// An issued authorization code: everything the token endpoint needs to redeem it, kept under
    /// the digest of the code value.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Code {
        /// The tenant that issued it.
        pub tenant: String,
        /// The client it was issued to.
        pub client_id: String,
        /// The redirect URI of the authorization request.
        pub redirect_uri: String,
        /// Whether `redirect_uri` was sent in the authorization request: the token request must
        /// then repeat it (RFC 6749 4.1.3).
        pub redirect_uri_sent: bool,
        /// The granted scope, space-delimited.
        pub scope: String,
        /// The `nonce` of the authorization request, for the ID token.
        pub nonce: Option<String>,
        /// The PKCE challenge, if the request had one.
        pub code_challenge: Option<CodeChallenge>,
        /// The login the code was issued from: end-user, SSO session, when and how.
        pub auth: Authentication,
        /// When the code was issued.
        pub issued_at: UnixSecs,
        /// When the code stops being redeemable.
        pub expires_at: UnixSecs,
        /// The RFC 8707 `resource` of the authorization request, if any: the API the code's
        /// access token is for unless the token request names the same one again.
        pub resource: Option<String>,
    }
}
