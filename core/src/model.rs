//! The domain model: tenants, their settings, clients, signing keys and the token records that
//! outlive a response. These are the values the store keeps; `rkyv` derives (feature `rkyv`)
//! let the storage crate encode them without a second copy of each type.

// rkyv's derives generate archived twins of each record without docs; the records themselves
// are documented and checked by the build without the feature.
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

use serde::{Deserialize, Serialize};

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

rkyv_record! {
    /// A JWS algorithm Tessera signs with.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum SigningAlg {
        /// ECDSA P-256 with SHA-256.
        ES256,
        /// ECDSA P-384 with SHA-384.
        ES384,
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RS256,
        /// Ed25519 (RFC 8037).
        EdDSA,
    }

    /// How a client's access tokens are issued.
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

    /// A grant type a client may be registered for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum GrantType {
        /// RFC 6749 4.4.
        ClientCredentials,
        /// RFC 6749 4.1.
        AuthorizationCode,
        /// RFC 6749 6.
        RefreshToken,
    }

    /// Per-tenant policy: token lifetimes and algorithms.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct TenantSettings {
        /// Algorithm of JWT access tokens.
        pub access_token_alg: SigningAlg,
        /// Lifetime of access tokens.
        pub access_token_ttl_secs: u32,
        /// Lifetime of ID tokens.
        pub id_token_ttl_secs: u32,
        /// Lifetime of refresh tokens.
        pub refresh_token_ttl_secs: u32,
        /// Lifetime of authorization codes.
        pub code_ttl_secs: u32,
        /// Lifetime of an SSO session (and of its cookie); `None` takes the server's
        /// `--session-ttl-secs`.
        pub session_ttl_secs: Option<u32>,
        /// How long after a refresh token is rotated a retry with it still succeeds instead of
        /// counting as reuse; `None` takes the server's `--refresh-reuse-grace-secs`.
        pub refresh_reuse_grace_secs: Option<u32>,
    }

    /// A tenant: one issuer with its own clients, keys and tokens.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Tenant {
        /// The tenant id, the path segment in `/t/{tenant}`.
        pub id: String,
        /// A human-readable name.
        pub display_name: String,
        /// Lifetimes and algorithms.
        pub settings: TenantSettings,
        /// When the tenant was created.
        pub created_at: UnixSecs,
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
    }

    /// Where a signing key's private half lives.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum KeyMaterial {
        /// A software key: the PKCS#8 DER private key.
        Software {
            /// PKCS#8 v1/v2 DER.
            pkcs8: Vec<u8>,
        },
        /// A key generated inside a PKCS#11 token, found by its `CKA_ID`.
        Pkcs11 {
            /// The `CKA_ID` of the private and public key objects.
            id: Vec<u8>,
        },
    }

    /// A tenant's signing key.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct KeyRecord {
        /// The tenant the key belongs to.
        pub tenant: String,
        /// The JWS `kid`, unique across tenants.
        pub kid: String,
        /// The algorithm the key signs with.
        pub alg: SigningAlg,
        /// The public key as a JWK JSON object (with `kid`, `alg` and `use`).
        pub public_jwk: String,
        /// The private half.
        pub material: KeyMaterial,
        /// When the key was made.
        pub created_at: UnixSecs,
        /// When a newer key replaced it as the current key of its algorithm.
        pub retired_at: Option<UnixSecs>,
        /// After this instant no unexpired token can carry its signature: it leaves the JWKS.
        pub expires_at: Option<UnixSecs>,
    }

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
    }

    /// A postal address (OpenID Connect Core 5.1.1). Every part is optional.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Address {
        /// The full mailing address, possibly multi-line.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub formatted: Option<String>,
        /// Street, house number, apartment, possibly multi-line.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub street_address: Option<String>,
        /// City or locality.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub locality: Option<String>,
        /// State, province, prefecture or region.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub region: Option<String>,
        /// Zip or postal code.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub postal_code: Option<String>,
        /// Country name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub country: Option<String>,
    }

    /// A local user of a tenant: login name, password hash and the OpenID Connect standard
    /// claims (Core 5.1) it can release.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct User {
        /// The tenant the user belongs to.
        pub tenant: String,
        /// The user id (the `sub`): 22 base64url characters of 16 random bytes.
        pub id: String,
        /// The login name, unique per tenant regardless of case.
        pub username: String,
        /// The argon2id hash as a PHC string; never leaves the server.
        pub password_hash: String,
        /// E-mail address, unique per tenant regardless of case.
        pub email: Option<String>,
        /// Whether the e-mail address was verified.
        pub email_verified: bool,
        /// Full name.
        pub name: Option<String>,
        /// Given name(s).
        pub given_name: Option<String>,
        /// Surname(s).
        pub family_name: Option<String>,
        /// Middle name(s).
        pub middle_name: Option<String>,
        /// Casual name.
        pub nickname: Option<String>,
        /// The name the user wants to be shown as.
        pub preferred_username: Option<String>,
        /// Profile page URL.
        pub profile: Option<String>,
        /// Profile picture URL.
        pub picture: Option<String>,
        /// Web page or blog URL.
        pub website: Option<String>,
        /// Gender.
        pub gender: Option<String>,
        /// Birthday, `YYYY-MM-DD` or `YYYY`.
        pub birthdate: Option<String>,
        /// Time zone, e.g. `Europe/Paris`.
        pub zoneinfo: Option<String>,
        /// Locale, a BCP 47 tag such as `en-US`.
        pub locale: Option<String>,
        /// Telephone number, E.164 recommended.
        pub phone_number: Option<String>,
        /// Whether the phone number was verified.
        pub phone_number_verified: bool,
        /// Postal address.
        pub address: Option<Address>,
        /// When the user was created.
        pub created_at: UnixSecs,
        /// When the user was last changed.
        pub updated_at: UnixSecs,
    }

    /// An SSO session: a browser's login, stored under the SHA-256 digest of its cookie value
    /// (the cookie is the secret; `sid` is the public id that ID tokens carry).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Session {
        /// The tenant the end-user logged in to.
        pub tenant: String,
        /// The session id (OpenID Connect Front-/Back-Channel Logout `sid`), distinct from the
        /// cookie value.
        pub sid: String,
        /// The user's id.
        pub user_id: String,
        /// When the end-user last authenticated (OpenID Connect Core `auth_time`).
        pub auth_time: UnixSecs,
        /// The authentication context class reached, if any.
        pub acr: Option<String>,
        /// The authentication methods used (RFC 8176), e.g. `pwd`.
        pub amr: Vec<String>,
        /// When the session began.
        pub created_at: UnixSecs,
        /// When it ends, whatever happens.
        pub expires_at: UnixSecs,
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
        /// The end-user.
        pub sub: String,
        /// The scope of the grant, space-delimited: identical along the family (RFC 6749 6).
        pub scope: String,
        /// The SSO session of the original login.
        pub sid: String,
        /// When the end-user authenticated.
        pub auth_time: UnixSecs,
        /// The authentication context class reached, if any.
        pub acr: Option<String>,
        /// The authentication methods used.
        pub amr: Vec<String>,
        /// Issued at.
        pub issued_at: UnixSecs,
        /// Expiry.
        pub expires_at: UnixSecs,
        /// When it was exchanged for its successor; `None` while it is the current token.
        pub rotated_at: Option<UnixSecs>,
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
}

impl SigningAlg {
    /// Every algorithm, in the order discovery lists them.
    pub const ALL: [SigningAlg; 4] = [Self::ES256, Self::ES384, Self::RS256, Self::EdDSA];

    /// The JWS `alg` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses a JWS `alg` name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl GrantType {
    /// The `grant_type` wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// Parses a `grant_type` wire value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ClientCredentials, Self::AuthorizationCode, Self::RefreshToken]
            .into_iter()
            .find(|g| g.as_str() == s)
    }
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            access_token_alg: SigningAlg::ES384,
            access_token_ttl_secs: 3600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 14 * 24 * 3600,
            code_ttl_secs: 60,
            session_ttl_secs: None,
            refresh_reuse_grace_secs: None,
        }
    }
}

/// Longest token lifetime a setting may hold (one year): bounds how long retired keys stay.
pub const MAX_TTL_SECS: u32 = 365 * 24 * 3600;

/// Shortest SSO session a tenant may set: shorter would expire between the login page and
/// the consent page.
pub const MIN_SESSION_TTL_SECS: u32 = 60;

/// Longest refresh-token reuse grace a tenant may set: the grace is for a client retrying a
/// lost answer, not for sharing a token.
pub const MAX_REFRESH_REUSE_GRACE_SECS: u32 = 300;

impl TenantSettings {
    /// Checks that every token lifetime is positive and at most [`MAX_TTL_SECS`], a session
    /// lifetime (when set) [`MIN_SESSION_TTL_SECS`] to [`MAX_TTL_SECS`], and a refresh reuse
    /// grace (when set) at most [`MAX_REFRESH_REUSE_GRACE_SECS`].
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("id_token_ttl_secs", self.id_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("code_ttl_secs", self.code_ttl_secs),
        ] {
            if v == 0 || v > MAX_TTL_SECS {
                return Err(format!("{name} must be between 1 and {MAX_TTL_SECS}"));
            }
        }
        if let Some(ttl) = self.session_ttl_secs
            && !(MIN_SESSION_TTL_SECS..=MAX_TTL_SECS).contains(&ttl)
        {
            return Err(format!(
                "session_ttl_secs must be between {MIN_SESSION_TTL_SECS} and {MAX_TTL_SECS}"
            ));
        }
        if let Some(grace) = self.refresh_reuse_grace_secs
            && grace > MAX_REFRESH_REUSE_GRACE_SECS
        {
            return Err(format!(
                "refresh_reuse_grace_secs must be between 0 and {MAX_REFRESH_REUSE_GRACE_SECS}"
            ));
        }
        Ok(())
    }

    /// The longest lifetime of any token signed with a tenant key.
    pub fn max_signed_token_ttl_secs(&self) -> u32 {
        self.access_token_ttl_secs.max(self.id_token_ttl_secs)
    }
}

/// Checks a tenant or client id: 1 to 64 characters of `[A-Za-z0-9._-]`, so that it is safe in
/// a URL path segment and a store key.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Client {
    /// Whether the client is registered for `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest e-mail address, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest value of any other user claim, in bytes.
pub const MAX_CLAIM_BYTES: usize = 1024;
/// Longest password hash (a PHC string), in bytes.
pub const MAX_PASSWORD_HASH_BYTES: usize = 512;

/// Checks a username: 1 to [`MAX_USERNAME_CHARS`] printable characters, none of them whitespace
/// (so what a user types at a login form is what is stored, with no invisible difference).
pub fn is_valid_username(username: &str) -> bool {
    let count = username.chars().count();
    (1..=MAX_USERNAME_CHARS).contains(&count)
        && username.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

/// A shape check of an e-mail address, not RFC 5322 parsing: one `@` with a non-empty local
/// part and a dotted domain, no whitespace or control characters, at most [`MAX_EMAIL_BYTES`].
/// Whether the address works is what `email_verified` is for.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= MAX_EMAIL_BYTES
        && !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The form a username or e-mail address takes in the uniqueness indexes: lowercase, so that
/// `Alice` and `alice` are one user.
pub fn fold_case(s: &str) -> String {
    s.to_lowercase()
}

fn check_claim(field: &str, value: Option<&str>, multiline: bool) -> Result<(), String> {
    let Some(v) = value else { return Ok(()) };
    if v.len() > MAX_CLAIM_BYTES {
        return Err(format!("{field} must be at most {MAX_CLAIM_BYTES} bytes"));
    }
    // Address parts may be multi-line (Core 5.1.1); nothing else may hold control characters.
    if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r'))) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

impl User {
    /// A user with no profile claims yet, created (and last updated) at `now`. The one place
    /// that lists every field, so adding a claim changes one constructor.
    pub fn new(
        tenant: impl Into<String>,
        id: impl Into<String>,
        username: impl Into<String>,
        password_hash: impl Into<String>,
        now: UnixSecs,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            id: id.into(),
            username: username.into(),
            password_hash: password_hash.into(),
            email: None,
            email_verified: false,
            name: None,
            given_name: None,
            family_name: None,
            middle_name: None,
            nickname: None,
            preferred_username: None,
            profile: None,
            picture: None,
            website: None,
            gender: None,
            birthdate: None,
            zoneinfo: None,
            locale: None,
            phone_number: None,
            phone_number_verified: false,
            address: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The optional string claims with their names, in OpenID Connect order.
    pub fn string_claims(&self) -> [(&'static str, Option<&str>); 14] {
        [
            ("name", self.name.as_deref()),
            ("given_name", self.given_name.as_deref()),
            ("family_name", self.family_name.as_deref()),
            ("middle_name", self.middle_name.as_deref()),
            ("nickname", self.nickname.as_deref()),
            ("preferred_username", self.preferred_username.as_deref()),
            ("profile", self.profile.as_deref()),
            ("picture", self.picture.as_deref()),
            ("website", self.website.as_deref()),
            ("gender", self.gender.as_deref()),
            ("birthdate", self.birthdate.as_deref()),
            ("zoneinfo", self.zoneinfo.as_deref()),
            ("locale", self.locale.as_deref()),
            ("phone_number", self.phone_number.as_deref()),
        ]
    }

    /// Checks every field: ids, username and e-mail shape, bounded lengths, no control
    /// characters, a PHC-shaped password hash, and `updated_at >= created_at`.
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_id(&self.tenant) {
            return Err("tenant is not a valid id".into());
        }
        if !is_valid_id(&self.id) {
            return Err("id is not a valid id".into());
        }
        if !is_valid_username(&self.username) {
            return Err(format!(
                "username must be 1 to {MAX_USERNAME_CHARS} printable characters without spaces"
            ));
        }
        if let Some(email) = &self.email
            && !is_valid_email(email)
        {
            return Err("email is not an e-mail address".into());
        }
        let hash = &self.password_hash;
        if !hash.starts_with('$')
            || hash.len() > MAX_PASSWORD_HASH_BYTES
            || hash.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err("password_hash is not a PHC string".into());
        }
        for (field, value) in self.string_claims() {
            check_claim(field, value, false)?;
        }
        if let Some(a) = &self.address {
            for (field, value) in [
                ("address.formatted", &a.formatted),
                ("address.street_address", &a.street_address),
                ("address.locality", &a.locality),
                ("address.region", &a.region),
                ("address.postal_code", &a.postal_code),
                ("address.country", &a.country),
            ] {
                check_claim(field, value.as_deref(), true)?;
            }
        }
        if self.updated_at < self.created_at {
            return Err("updated_at is before created_at".into());
        }
        Ok(())
    }
}

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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip() {
        for a in SigningAlg::ALL {
            assert_eq!(SigningAlg::parse(a.as_str()), Some(a));
        }
        assert_eq!(SigningAlg::parse("none"), None);
        assert_eq!(SigningAlg::parse("HS256"), None);
    }

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

    pub(crate) fn sample_user() -> User {
        User {
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
            address: Some(Address { formatted: Some("1 Main St\nTown".into()), ..Address::default() }),
            ..User::new(
                "t",
                "AAAAAAAAAAAAAAAAAAAAAA",
                "alice",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                1,
            )
        }
    }

    #[test]
    fn usernames_are_printable_without_spaces() {
        assert!(is_valid_username("alice"));
        assert!(is_valid_username("Zoë.O'Neil+1@x"));
        assert!(is_valid_username(&"ä".repeat(64)));
        assert!(!is_valid_username(""));
        assert!(!is_valid_username("a b"));
        assert!(!is_valid_username("a\u{7}"));
        assert!(!is_valid_username("a\u{a0}b"));
        assert!(!is_valid_username(&"a".repeat(65)));
    }

    #[test]
    fn emails_have_a_plausible_shape() {
        assert!(is_valid_email("a@example.com"));
        assert!(is_valid_email("first.last+tag@sub.example.org"));
        for bad in ["", "a", "@example.com", "a@", "a@b", "a@.com", "a@b.", "a@b..c", "a b@c.d", "a@@b.c"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(!is_valid_email(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn user_validation() {
        let u = sample_user();
        assert_eq!(u.validate(), Ok(()));
        let mut bad = u.clone();
        bad.name = Some("a\nb".into());
        assert!(bad.validate().is_err(), "newline outside an address");
        let mut bad = u.clone();
        bad.locale = Some("x".repeat(MAX_CLAIM_BYTES + 1));
        assert!(bad.validate().is_err());
        let mut bad = u.clone();
        bad.password_hash = "plaintext".into();
        assert!(bad.validate().is_err());
        let mut bad = u.clone();
        bad.email = Some("nope".into());
        assert!(bad.validate().is_err());
        let mut bad = u;
        bad.updated_at = 0;
        assert!(bad.validate().is_err());
        assert_eq!(fold_case("Alice@Example.COM"), "alice@example.com");
    }

    #[test]
    fn settings_reject_zero_and_huge_lifetimes() {
        let mut s = TenantSettings::default();
        assert!(s.validate().is_ok());
        s.code_ttl_secs = 0;
        assert!(s.validate().is_err());
        s.code_ttl_secs = MAX_TTL_SECS + 1;
        assert!(s.validate().is_err());
    }

    #[test]
    fn settings_bound_the_session_ttl_and_the_refresh_grace() {
        let ok = |session_ttl_secs, refresh_reuse_grace_secs| {
            TenantSettings { session_ttl_secs, refresh_reuse_grace_secs, ..TenantSettings::default() }
                .validate()
                .is_ok()
        };
        assert!(ok(None, None), "unset: the server's flags apply");
        for ttl in [60, 3600, 31_536_000] {
            assert!(ok(Some(ttl), None), "{ttl}");
        }
        for ttl in [0, 1, 59, 31_536_001, u32::MAX] {
            assert!(!ok(Some(ttl), None), "{ttl}");
        }
        for grace in [0, 10, 300] {
            assert!(ok(None, Some(grace)), "{grace}");
        }
        for grace in [301, u32::MAX] {
            assert!(!ok(None, Some(grace)), "{grace}");
        }
    }

    #[test]
    fn settings_json_without_the_new_fields_still_parses_and_null_clears() {
        let old: TenantSettings = serde_json::from_str(r#"{"code_ttl_secs": 30}"#).expect("old body");
        assert_eq!(old.session_ttl_secs, None);
        assert_eq!(old.refresh_reuse_grace_secs, None);
        let set: TenantSettings =
            serde_json::from_str(r#"{"session_ttl_secs": 120, "refresh_reuse_grace_secs": 0}"#).expect("set");
        assert_eq!((set.session_ttl_secs, set.refresh_reuse_grace_secs), (Some(120), Some(0)));
        let cleared: TenantSettings =
            serde_json::from_str(r#"{"session_ttl_secs": null, "refresh_reuse_grace_secs": null}"#)
                .expect("null");
        assert_eq!(cleared, TenantSettings::default());
        let shown = serde_json::to_value(TenantSettings::default()).expect("json");
        assert!(shown["session_ttl_secs"].is_null() && shown["refresh_reuse_grace_secs"].is_null());
    }
}
