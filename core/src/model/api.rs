//! APIs (resource servers) and identity validators of a tenant: the audiences its access
//! tokens may name (RFC 8707 resource indicators), and the external password checkers the
//! resource owner password grant consults. Both are kept inside the tenant record: they are
//! few (bounded here), read on every token request that names a resource, and change rarely.

use super::{AccessTokenFormat, UnixSecs};

/// Most APIs a tenant may define.
pub const MAX_APIS_PER_TENANT: usize = 100;
/// Most identity validators a tenant may define: each one a password check may wait on.
pub const MAX_VALIDATORS_PER_TENANT: usize = 16;
/// Most scopes one API may declare.
pub const MAX_API_SCOPES: usize = 100;
/// Longest API identifier (an absolute URI), name, validator URL or header value, in bytes.
pub const MAX_URI_BYTES: usize = 2048;
/// Longest API or validator name, in bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// Most headers a validator sends of its own.
pub const MAX_VALIDATOR_HEADERS: usize = 16;
/// Shortest and longest wait for a validator's answer, in milliseconds.
pub const VALIDATOR_TIMEOUT_MS: std::ops::RangeInclusive<u32> = 100..=30_000;
/// The wait for a validator that sets none.
pub const DEFAULT_VALIDATOR_TIMEOUT_MS: u32 = 3_000;

rkyv_record! {
    /// A resource server: the audience (`identifier`) of the access tokens issued for it, the
    /// scopes it defines, and optionally its own access-token format and lifetime.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Api {
        /// The API's id (22 base64url characters).
        pub id: String,
        /// The audience URI: a token for this API carries it as `aud`; clients name it as
        /// the RFC 8707 `resource`. Fixed once created: tokens already issued carry it.
        pub identifier: String,
        /// A human-readable name.
        pub name: String,
        /// The scope values this API understands; a token for it carries no others but the
        /// OpenID Connect ones.
        pub scopes: Vec<String>,
        /// The format of its access tokens, when not the client's.
        pub access_token_format: Option<AccessTokenFormat>,
        /// The lifetime of its access tokens, when not the tenant's.
        pub access_token_ttl_secs: Option<u32>,
        /// When it was created.
        pub created_at: UnixSecs,
    }

    /// A header an identity validator sends with every call (a credential of its own, say).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ValidatorHeader {
        /// The header's name.
        pub name: String,
        /// Its value; never shown back by the admin API.
        pub value: String,
    }

    /// An external password checker for the resource owner password grant: Tessera POSTs the
    /// grant's parameters to `url` as JSON and reads the answer (`crate::grants::password`).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct IdentityValidator {
        /// The validator's id (22 base64url characters).
        pub id: String,
        /// A human-readable name.
        pub name: String,
        /// Where to POST: an absolute `http` or `https` URL.
        pub url: String,
        /// How long to wait for the answer, in milliseconds.
        pub timeout_ms: u32,
        /// Headers sent with every call.
        pub headers: Vec<ValidatorHeader>,
        /// The ids of the APIs it serves; empty: it serves every API, and requests that name
        /// none.
        pub apis: Vec<String>,
        /// When it was created: validators are asked newest first.
        pub created_at: UnixSecs,
    }
}

impl IdentityValidator {
    /// Whether a password grant for the API `api_id` (`None`: no resource named) asks this
    /// validator: one linked to no API serves every request; one linked to some serves only
    /// requests for them.
    pub fn serves(&self, api_id: Option<&str>) -> bool {
        self.apis.is_empty() || api_id.is_some_and(|id| self.apis.iter().any(|a| a == id))
    }
}

/// Checks an API identifier: an absolute URI without a fragment (RFC 8707 2), at most
/// [`MAX_URI_BYTES`], without whitespace or control characters.
pub fn is_valid_resource(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    !rest.is_empty()
        && uri.len() <= MAX_URI_BYTES
        && !uri.contains('#')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks a validator URL: `http://` or `https://` with a host, at most [`MAX_URI_BYTES`],
/// without whitespace, control characters or a fragment. Plain `http` is allowed because
/// validators often sit beside the server on a private network; the operator chooses.
pub fn is_valid_validator_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && url.len() <= MAX_URI_BYTES
        && !url.contains('#')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Headers a validator may not set: they describe the body or the connection, which the
/// server writes itself.
const RESERVED_HEADERS: [&str; 6] =
    ["content-type", "content-length", "host", "connection", "transfer-encoding", "te"];

/// Checks a validator's own headers: at most [`MAX_VALIDATOR_HEADERS`], names of RFC 9110
/// token characters and not reserved, values of visible ASCII and spaces, each at most
/// [`MAX_URI_BYTES`].
pub fn validate_headers(headers: &[ValidatorHeader]) -> Result<(), String> {
    if headers.len() > MAX_VALIDATOR_HEADERS {
        return Err(format!("at most {MAX_VALIDATOR_HEADERS} headers"));
    }
    for h in headers {
        let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
        if h.name.is_empty() || h.name.len() > MAX_NAME_BYTES || !h.name.bytes().all(token) {
            return Err(format!("header name {:?} is not a valid header name", h.name));
        }
        if RESERVED_HEADERS.contains(&h.name.to_ascii_lowercase().as_str()) {
            return Err(format!("header {} is set by the server", h.name));
        }
        if h.value.len() > MAX_URI_BYTES || !h.value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return Err(format!("the value of header {} must be visible ASCII", h.name));
        }
    }
    Ok(())
}

/// Checks a name: 1 to [`MAX_NAME_BYTES`] bytes without control characters.
pub fn is_valid_display_name(name: &str) -> bool {
    !name.trim().is_empty() && name.len() <= MAX_NAME_BYTES && !name.chars().any(char::is_control)
}

/// Checks one API: its identifier, name, scopes and lifetime.
pub fn validate_api(api: &Api) -> Result<(), String> {
    if !super::is_valid_id(&api.id) {
        return Err(format!("API id {:?} is not a valid id", api.id));
    }
    if !is_valid_resource(&api.identifier) {
        return Err("identifier must be an absolute URI without a fragment".into());
    }
    if !is_valid_display_name(&api.name) {
        return Err(format!("name must be 1 to {MAX_NAME_BYTES} bytes without control characters"));
    }
    if api.scopes.len() > MAX_API_SCOPES {
        return Err(format!("at most {MAX_API_SCOPES} scopes"));
    }
    for scope in &api.scopes {
        if crate::scope::parse(scope).map(|v| v.len()) != Ok(1) {
            return Err(format!("scope {scope:?} is not one scope value"));
        }
    }
    if api.access_token_ttl_secs.is_some_and(|t| t == 0 || t > super::MAX_TTL_SECS) {
        return Err(format!("access_token_ttl_secs must be between 1 and {}", super::MAX_TTL_SECS));
    }
    Ok(())
}

/// Checks one identity validator: its name, URL, timeout and headers.
pub fn validate_validator(v: &IdentityValidator) -> Result<(), String> {
    if !super::is_valid_id(&v.id) {
        return Err(format!("validator id {:?} is not a valid id", v.id));
    }
    if !is_valid_display_name(&v.name) {
        return Err(format!("name must be 1 to {MAX_NAME_BYTES} bytes without control characters"));
    }
    if !is_valid_validator_url(&v.url) {
        return Err("url must be an absolute http or https URL without a fragment".into());
    }
    if !VALIDATOR_TIMEOUT_MS.contains(&v.timeout_ms) {
        return Err(format!(
            "timeout_ms must be between {} and {}",
            VALIDATOR_TIMEOUT_MS.start(),
            VALIDATOR_TIMEOUT_MS.end()
        ));
    }
    validate_headers(&v.headers)
}

/// Checks a tenant's APIs and validators together: each one, their bounds, unique API ids
/// and identifiers, unique validator ids.
pub fn validate_resources(apis: &[Api], validators: &[IdentityValidator]) -> Result<(), String> {
    if apis.len() > MAX_APIS_PER_TENANT {
        return Err(format!("at most {MAX_APIS_PER_TENANT} APIs"));
    }
    if validators.len() > MAX_VALIDATORS_PER_TENANT {
        return Err(format!("at most {MAX_VALIDATORS_PER_TENANT} identity validators"));
    }
    for (i, api) in apis.iter().enumerate() {
        validate_api(api)?;
        if apis[..i].iter().any(|a| a.id == api.id || a.identifier == api.identifier) {
            return Err(format!("API {} is defined twice", api.identifier));
        }
    }
    for (i, v) in validators.iter().enumerate() {
        validate_validator(v)?;
        if validators[..i].iter().any(|o| o.id == v.id) {
            return Err(format!("identity validator {} is defined twice", v.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_absolute_uris_without_fragments() {
        for ok in ["https://api.example.com", "https://api.example.com/v1?x=1", "urn:example:orders"] {
            assert!(is_valid_resource(ok), "{ok}");
        }
        for bad in
            ["", "api", "/relative", "https://a#frag", "https://a b", "1http://a", "https:", "\u{7f}:x"]
        {
            assert!(!is_valid_resource(bad), "{bad:?}");
        }
        assert!(!is_valid_resource(&format!("https://{}", "a".repeat(MAX_URI_BYTES))));
    }

    #[test]
    fn validator_urls_are_http_with_a_host() {
        for ok in ["http://127.0.0.1:8080/check", "https://ldap-bridge.internal/v1/verify"] {
            assert!(is_valid_validator_url(ok), "{ok}");
        }
        for bad in ["ftp://a", "http://", "https:///x", "http://a b", "http://a/#x", "file:///etc/passwd"] {
            assert!(!is_valid_validator_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn headers_are_tokens_and_never_the_servers_own() {
        let h = |name: &str, value: &str| ValidatorHeader { name: name.into(), value: value.into() };
        assert!(validate_headers(&[h("Authorization", "Bearer abc"), h("X-Api-Key", "k")]).is_ok());
        assert!(validate_headers(&[h("Content-Type", "text/plain")]).is_err());
        assert!(validate_headers(&[h("Host", "evil")]).is_err());
        assert!(validate_headers(&[h("Bad Name", "v")]).is_err());
        assert!(validate_headers(&[h("X", "line\r\nInjected: yes")]).is_err());
        assert!(validate_headers(&vec![h("X", "v"); MAX_VALIDATOR_HEADERS + 1]).is_err());
    }

    #[test]
    fn unlinked_validators_serve_every_request_and_linked_ones_only_theirs() {
        let mut v = IdentityValidator {
            id: "v".into(),
            name: "n".into(),
            url: "http://127.0.0.1/".into(),
            timeout_ms: 1000,
            headers: vec![],
            apis: vec![],
            created_at: 0,
        };
        assert!(v.serves(None) && v.serves(Some("a")));
        v.apis = vec!["a".into()];
        assert!(v.serves(Some("a")));
        assert!(!v.serves(Some("b")) && !v.serves(None));
    }
}
