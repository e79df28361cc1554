//! External OpenID providers of a tenant ("identity providers", idps): the upstream a tenant's
//! users may sign in with, as the operator registered it and as its discovery document
//! described it. Kept inside the tenant record, like trusted issuers: few (bounded here), read
//! at every federated login, changed rarely.
//!
//! The client secret the tenant holds at the upstream is stored sealed (`sealed_secret`): the
//! server seals and opens it, the model only bounds its size.

use super::UnixSecs;
use super::api::{MAX_NAME_BYTES, MAX_URI_BYTES, is_valid_display_name, is_valid_validator_url};

/// Most identity providers a tenant may define.
pub const MAX_IDPS_PER_TENANT: usize = 16;
/// Most claim mappings of one identity provider.
pub const MAX_CLAIM_MAPPINGS: usize = 32;
/// Most e-mail domains one identity provider may claim for `login_hint`.
pub const MAX_IDP_DOMAINS: usize = 16;
/// Longest client id at the upstream, and longest scope string.
pub const MAX_IDP_FIELD_BYTES: usize = 1024;
/// Largest sealed client secret, in bytes.
pub const MAX_SEALED_SECRET_BYTES: usize = 1024;
/// Most algorithms remembered from the discovery document.
pub const MAX_DISCOVERED_ALGS: usize = 16;

/// The local claims an upstream claim may be mapped to: the standard claims a local user
/// keeps (OpenID Connect Core 5.1, less `sub`, `address` and `updated_at`).
pub const LOCAL_CLAIMS: [&str; 17] = [
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
];

rkyv_record! {
    /// One upstream claim copied into one local claim.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ClaimMapping {
        /// The claim's name in the upstream ID token.
        pub upstream: String,
        /// The local claim it fills, one of [`LOCAL_CLAIMS`].
        pub local: String,
    }

    /// What the upstream's discovery document said, as validated when it was read.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct IdpEndpoints {
        /// Where the browser is sent to sign in.
        pub authorization_endpoint: String,
        /// Where the code is exchanged.
        pub token_endpoint: String,
        /// The upstream's JWK Set.
        pub jwks_uri: String,
        /// Where the end-user's claims are read with the access token (Core 5.3), if it has
        /// one: the ID token of a code flow usually carries few of them.
        pub userinfo_endpoint: Option<String>,
        /// The ID token signing algorithms it offers (`id_token_signing_alg_values_supported`).
        pub id_token_algs: Vec<String>,
        /// Whether its token endpoint takes the secret in the body only
        /// (`client_secret_post` offered and `client_secret_basic` not).
        pub secret_in_body: bool,
        /// When the document was read.
        pub discovered_at: UnixSecs,
    }

    /// An external OpenID provider a tenant's users may sign in with.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Idp {
        /// Its id (22 base64url characters), in the callback URL.
        pub id: String,
        /// The login button's label.
        pub label: String,
        /// The upstream's issuer, compared exactly with its discovery document and ID tokens;
        /// unique in the tenant.
        pub issuer: String,
        /// The tenant's client id at the upstream.
        pub client_id: String,
        /// The tenant's client secret at the upstream, sealed by the server.
        pub sealed_secret: Vec<u8>,
        /// The scopes asked of the upstream, space-separated; always with `openid`.
        pub scope: String,
        /// Upstream claims copied into the local user, besides the defaults.
        pub claim_mappings: Vec<ClaimMapping>,
        /// Whether a first login links to the local user with the upstream's verified e-mail.
        pub link_by_email: bool,
        /// Whether a first login without a local user creates one.
        pub jit_provisioning: bool,
        /// E-mail domains whose `login_hint` goes straight to this provider.
        pub domains: Vec<String>,
        /// Its endpoints, from its discovery document.
        pub endpoints: IdpEndpoints,
        /// When it was created.
        pub created_at: UnixSecs,
    }
}

/// The default mapping: each standard claim from the upstream claim of the same name.
pub fn default_mappings() -> impl Iterator<Item = (&'static str, &'static str)> {
    LOCAL_CLAIMS.iter().map(|c| (*c, *c))
}

impl Idp {
    /// Whether `login_hint` names an address in one of this provider's domains.
    pub fn claims_hint(&self, login_hint: &str) -> bool {
        let Some((_, domain)) = login_hint.rsplit_once('@') else { return false };
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Which upstream claim fills each local claim: an operator's mapping replaces the default
    /// one for its local claim.
    pub fn mappings(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = default_mappings()
            .filter(|(_, local)| !self.claim_mappings.iter().any(|m| m.local == *local))
            .collect();
        out.extend(self.claim_mappings.iter().map(|m| (m.upstream.as_str(), m.local.as_str())));
        out
    }
}

/// Whether `issuer` may name an identity provider: an http or https URL without a query or
/// fragment (Discovery 4: the document is read from `{issuer}/.well-known/...`).
pub fn is_valid_idp_issuer(issuer: &str) -> bool {
    is_valid_validator_url(issuer) && !issuer.contains(['?', '#'])
}

fn is_valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn bounded(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_IDP_FIELD_BYTES || value.chars().any(char::is_control) {
        return Err(format!("{what} must be 1 to {MAX_IDP_FIELD_BYTES} bytes without control characters"));
    }
    Ok(())
}

/// Checks the endpoints as a discovery document gave them.
pub fn validate_endpoints(e: &IdpEndpoints) -> Result<(), String> {
    for (url, what) in [
        (&e.authorization_endpoint, "authorization_endpoint"),
        (&e.token_endpoint, "token_endpoint"),
        (&e.jwks_uri, "jwks_uri"),
    ] {
        if !is_valid_validator_url(url) || url.contains('#') {
            return Err(format!("{what} must be an absolute http or https URL"));
        }
    }
    if let Some(url) = &e.userinfo_endpoint
        && (!is_valid_validator_url(url) || url.contains('#'))
    {
        return Err("userinfo_endpoint must be an absolute http or https URL".into());
    }
    if e.id_token_algs.len() > MAX_DISCOVERED_ALGS
        || e.id_token_algs.iter().any(|a| a.is_empty() || a.len() > 16 || !a.is_ascii())
    {
        return Err(format!("at most {MAX_DISCOVERED_ALGS} ID token algorithms of up to 16 characters"));
    }
    Ok(())
}

/// Checks one identity provider: every field within its bounds and well formed.
pub fn validate_idp(idp: &Idp) -> Result<(), String> {
    if !super::is_valid_id(&idp.id) {
        return Err(format!("identity provider id {:?} is not a valid id", idp.id));
    }
    if !is_valid_display_name(&idp.label) {
        return Err(format!("label must be 1 to {MAX_NAME_BYTES} bytes without control characters"));
    }
    if !is_valid_idp_issuer(&idp.issuer) {
        return Err("issuer must be an http or https URL without a query or fragment".into());
    }
    bounded(&idp.client_id, "client_id")?;
    if idp.sealed_secret.is_empty() || idp.sealed_secret.len() > MAX_SEALED_SECRET_BYTES {
        return Err("the client secret is missing or too large".into());
    }
    bounded(&idp.scope, "scope")?;
    if !idp.scope.split(' ').any(|s| s == "openid") || idp.scope.split(' ').any(str::is_empty) {
        return Err("scope must be space-separated and include openid".into());
    }
    if idp.claim_mappings.len() > MAX_CLAIM_MAPPINGS {
        return Err(format!("at most {MAX_CLAIM_MAPPINGS} claim mappings"));
    }
    for (i, m) in idp.claim_mappings.iter().enumerate() {
        if m.upstream.is_empty() || m.upstream.len() > 255 || m.upstream.chars().any(char::is_control) {
            return Err("an upstream claim name must be 1 to 255 bytes".into());
        }
        if !LOCAL_CLAIMS.contains(&m.local.as_str()) {
            return Err(format!("{:?} is not a local claim; one of {}", m.local, LOCAL_CLAIMS.join(", ")));
        }
        if idp.claim_mappings[..i].iter().any(|o| o.local == m.local) {
            return Err(format!("the local claim {} is mapped twice", m.local));
        }
    }
    if idp.domains.len() > MAX_IDP_DOMAINS {
        return Err(format!("at most {MAX_IDP_DOMAINS} domains"));
    }
    if let Some(bad) = idp.domains.iter().find(|d| !is_valid_domain(d)) {
        return Err(format!("{bad:?} is not a domain name"));
    }
    validate_endpoints(&idp.endpoints)?;
    if idp.endpoints.authorization_endpoint.len() > MAX_URI_BYTES {
        return Err("authorization_endpoint is too long".into());
    }
    Ok(())
}

/// Checks a tenant's identity providers together: each one, their bound, unique ids and
/// issuers, and no e-mail domain claimed by two.
pub fn validate_idps(idps: &[Idp]) -> Result<(), String> {
    if idps.len() > MAX_IDPS_PER_TENANT {
        return Err(format!("at most {MAX_IDPS_PER_TENANT} identity providers"));
    }
    for (i, idp) in idps.iter().enumerate() {
        validate_idp(idp)?;
        for other in &idps[..i] {
            if other.id == idp.id || other.issuer == idp.issuer {
                return Err(format!("identity provider {} is defined twice", idp.issuer));
            }
            if let Some(d) =
                idp.domains.iter().find(|d| other.domains.iter().any(|o| o.eq_ignore_ascii_case(d)))
            {
                return Err(format!("the domain {d} belongs to two identity providers"));
            }
        }
    }
    Ok(())
}

/// An identity provider for tests.
#[cfg(test)]
pub(crate) fn sample_idp() -> Idp {
    Idp {
        id: "aaaaaaaaaaaaaaaaaaaaaa".into(),
        label: "Partner".into(),
        issuer: "https://idp.example/t/x".into(),
        client_id: "tessera".into(),
        sealed_secret: vec![1; 40],
        scope: "openid email profile".into(),
        claim_mappings: vec![ClaimMapping { upstream: "mail".into(), local: "email".into() }],
        link_by_email: false,
        jit_provisioning: true,
        domains: vec!["partner.example".into()],
        endpoints: IdpEndpoints {
            authorization_endpoint: "https://idp.example/t/x/authorize".into(),
            token_endpoint: "https://idp.example/t/x/token".into(),
            jwks_uri: "https://idp.example/t/x/jwks".into(),
            userinfo_endpoint: None,
            id_token_algs: vec!["RS256".into()],
            secret_in_body: false,
            discovered_at: 1,
        },
        created_at: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_valid_and_each_field_is_checked() {
        let good = sample_idp();
        assert_eq!(validate_idp(&good), Ok(()));
        let mut bad = good.clone();
        bad.scope = "email".into();
        assert!(validate_idp(&bad).is_err(), "no openid");
        let mut bad = good.clone();
        bad.claim_mappings.push(ClaimMapping { upstream: "x".into(), local: "sub".into() });
        assert!(validate_idp(&bad).is_err(), "sub is not mappable");
        let mut bad = good.clone();
        bad.domains = vec!["not a domain".into()];
        assert!(validate_idp(&bad).is_err());
        let mut bad = good.clone();
        bad.issuer = "ftp://x".into();
        assert!(validate_idp(&bad).is_err());
        let mut bad = good.clone();
        bad.sealed_secret.clear();
        assert!(validate_idp(&bad).is_err());
        let mut bad = good;
        bad.endpoints.jwks_uri = "/jwks".into();
        assert!(validate_idp(&bad).is_err());
    }

    #[test]
    fn two_providers_share_no_issuer_and_no_domain() {
        let a = sample_idp();
        let mut b = sample_idp();
        b.id = "bbbbbbbbbbbbbbbbbbbbbb".into();
        b.issuer = "https://other.example".into();
        b.domains = vec!["other.example".into()];
        assert_eq!(validate_idps(&[a.clone(), b.clone()]), Ok(()));
        b.domains = vec!["PARTNER.example".into()];
        assert!(validate_idps(&[a.clone(), b.clone()]).is_err());
        b.domains.clear();
        b.issuer = a.issuer.clone();
        assert!(validate_idps(&[a, b]).is_err());
    }

    #[test]
    fn hints_and_mappings() {
        let idp = sample_idp();
        assert!(idp.claims_hint("ann@Partner.Example"));
        assert!(!idp.claims_hint("ann@else.example") && !idp.claims_hint("ann"));
        let m = idp.mappings();
        assert!(m.contains(&("mail", "email")) && !m.contains(&("email", "email")));
        assert!(m.contains(&("name", "name")));
    }
}
