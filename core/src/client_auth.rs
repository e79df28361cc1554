//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 2.3):
//! `client_secret_basic` (HTTP Basic over the form-urlencoded id and secret, 2.3.1),
//! `client_secret_post`, and `none` for public clients. A client uses exactly one method, the
//! one it registered.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{OAuthError, Reason};
use crate::form::{Form, decode};
use crate::model::{Client, TokenEndpointAuthMethod};
use crate::secret;

/// Credentials as presented, before the client is looked up.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    /// `Authorization: Basic`.
    Basic {
        /// The decoded client id.
        client_id: String,
        /// The decoded secret.
        secret: String,
    },
    /// `client_id` and `client_secret` in the body.
    Post {
        /// The client id.
        client_id: &'a str,
        /// The secret.
        secret: &'a str,
    },
    /// Only `client_id` in the body: a public client.
    None {
        /// The client id.
        client_id: &'a str,
    },
}

impl Presented<'_> {
    /// The client id the credentials name.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. } => client_id,
            Self::Post { client_id, .. } | Self::None { client_id } => client_id,
        }
    }

    fn method(&self) -> TokenEndpointAuthMethod {
        match self {
            Self::Basic { .. } => TokenEndpointAuthMethod::ClientSecretBasic,
            Self::Post { .. } => TokenEndpointAuthMethod::ClientSecretPost,
            Self::None { .. } => TokenEndpointAuthMethod::None,
        }
    }
}

/// Reads the credentials from the `Authorization` header value (if any) and the form.
pub fn extract<'a>(authorization: Option<&[u8]>, form: &'a Form<'_>) -> Result<Presented<'a>, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    if let Some(header) = authorization {
        let (client_id, secret) = parse_basic(header)?;
        if body_secret.is_some() {
            return Err(OAuthError::new(
                Reason::MultipleClientAuthMethods,
                "client authenticated with more than one method",
            ));
        }
        if body_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::new(
                Reason::MultipleClientAuthMethods,
                "client_id in the body differs from the Authorization header",
            ));
        }
        return Ok(Presented::Basic { client_id, secret });
    }
    match (body_id, body_secret) {
        (Some(client_id), Some(secret)) => Ok(Presented::Post { client_id, secret }),
        (Some(client_id), None) => Ok(Presented::None { client_id }),
        (None, _) => Err(OAuthError::new(Reason::ClientAuthMissing, "client authentication is required")),
    }
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn parse_basic(header: &[u8]) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::new(Reason::MalformedBasicAuth, "malformed Basic credentials");
    let header = std::str::from_utf8(header).map_err(|_| bad())?;
    let (scheme, rest) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::new(
            Reason::MalformedBasicAuth,
            "only the Basic authentication scheme is accepted here",
        ));
    }
    let raw = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let colon = raw.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let id = decode(&raw[..colon]).map_err(|_| bad())?;
    let secret = decode(&raw[colon + 1..]).map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id.into_owned(), secret.into_owned()))
}

/// Checks presented credentials against the registered client (`None` when the id is unknown).
pub fn authenticate(presented: &Presented<'_>, client: Option<&Client>) -> Result<(), OAuthError> {
    let Some(client) = client else {
        return Err(OAuthError::new(Reason::UnknownClient, "client authentication failed"));
    };
    if presented.method() != client.token_endpoint_auth_method {
        return Err(OAuthError::new(
            Reason::ClientAuthMethodNotAllowed,
            "client authentication failed: the client is registered for another method",
        ));
    }
    let secret = match presented {
        Presented::Basic { secret, .. } => secret.as_str(),
        Presented::Post { secret, .. } => secret,
        Presented::None { .. } => return Ok(()),
    };
    match &client.secret_digest {
        Some(stored) if secret::matches(secret, stored) => Ok(()),
        _ => Err(OAuthError::new(Reason::WrongClientSecret, "client authentication failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample_client;

    fn client(method: TokenEndpointAuthMethod, secret: &str) -> Client {
        Client {
            client_id: "c 1".into(),
            secret_digest: Some(secret::digest(secret)),
            token_endpoint_auth_method: method,
            ..sample_client()
        }
    }

    fn basic(id: &str, secret: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
        let form = Form::parse(b"").expect("form");
        let p = extract(Some(&basic("c+1", "s%3Ae%25t")), &form).expect("basic");
        assert_eq!(p, Presented::Basic { client_id: "c 1".into(), secret: "s:e%t".into() });
        assert!(authenticate(&p, Some(&client(TokenEndpointAuthMethod::ClientSecretBasic, "s:e%t"))).is_ok());
    }

    #[test]
    fn wrong_secret_unknown_client_and_wrong_method_fail_as_invalid_client() {
        let form = Form::parse(b"").expect("form");
        let p = extract(Some(&basic("c+1", "nope")), &form).expect("basic");
        let c = client(TokenEndpointAuthMethod::ClientSecretBasic, "secret");
        assert_eq!(authenticate(&p, Some(&c)).expect_err("wrong").reason, Reason::WrongClientSecret);
        assert_eq!(authenticate(&p, None).expect_err("unknown").reason, Reason::UnknownClient);
        let post_client = client(TokenEndpointAuthMethod::ClientSecretPost, "nope");
        let err = authenticate(&p, Some(&post_client)).expect_err("method");
        assert!(err.is_client_auth_failure());
    }

    #[test]
    fn post_and_none() {
        let form = Form::parse(b"client_id=c+1&client_secret=secret").expect("form");
        let p = extract(None, &form).expect("post");
        assert!(authenticate(&p, Some(&client(TokenEndpointAuthMethod::ClientSecretPost, "secret"))).is_ok());
        let form = Form::parse(b"client_id=c+1").expect("form");
        let p = extract(None, &form).expect("none");
        assert_eq!(p, Presented::None { client_id: "c 1" });
        // A confidential client may not drop its secret.
        let c = client(TokenEndpointAuthMethod::ClientSecretPost, "secret");
        assert!(authenticate(&p, Some(&c)).expect_err("none").is_client_auth_failure());
    }

    #[test]
    fn malformed_or_doubled_credentials() {
        let empty = Form::parse(b"").expect("form");
        for h in ["Basic !!!", "Bearer abc", "Basic", &format!("Basic {}", STANDARD.encode("nocolon"))] {
            let err = extract(Some(h.as_bytes()), &empty).expect_err(h);
            assert_eq!(err.reason, Reason::MalformedBasicAuth, "{h}");
        }
        let both = Form::parse(b"client_secret=x").expect("form");
        let err = extract(Some(&basic("a", "b")), &both).expect_err("both");
        assert_eq!(err.reason, Reason::MultipleClientAuthMethods);
        assert_eq!(extract(None, &empty).expect_err("none").reason, Reason::ClientAuthMissing);
    }
}
