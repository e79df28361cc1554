//! Tessera as a relying party of a tenant's external OpenID providers: the protocol's part,
//! without I/O. Reading an upstream's discovery document ([`read_discovery`], OpenID Connect
//! Discovery 3 and 4.3), the authentication request sent to it ([`authorization_url`], Core
//! 3.1.2.1, with PKCE), the checks of its ID token's claims once its signature verified
//! ([`check_id_token`], Core 3.1.3.7), and the upstream claims mapped onto a local user
//! ([`apply_claims`]). Fetching, verifying signatures and keeping the pending sign-in are the
//! server's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::authorize::percent_encode;
use crate::model::{Idp, IdpEndpoints, MAX_CLAIM_BYTES, UnixSecs, User, is_valid_email};

/// How far clocks may disagree when `exp` and `iat` are read.
pub const CLOCK_SKEW_SECS: i64 = 120;
/// Oldest `iat` accepted: the ID token was issued for this very sign-in.
pub const MAX_ID_TOKEN_AGE_SECS: i64 = 600;
/// Longest upstream `sub` kept (Core 2: at most 255 ASCII characters).
pub const MAX_SUBJECT_BYTES: usize = 255;

/// The ID token signing algorithms accepted from an upstream: the asymmetric ones. `none` and
/// the HMAC family are refused (an HMAC ID token is keyed with the client secret, which a
/// misconfiguration could expose; every provider offers RS256).
pub const ID_TOKEN_ALGS: [&str; 9] =
    ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

fn string_member<'a>(doc: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    doc.get(name).and_then(Value::as_str).ok_or_else(|| format!("the discovery document has no {name}"))
}

fn strings<'a>(doc: &'a Map<String, Value>, name: &str) -> Option<Vec<&'a str>> {
    doc.get(name).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect())
}

/// The endpoints of a discovery document fetched from `{issuer}/.well-known/openid-configuration`:
/// its `issuer` must be exactly the one asked about (Discovery 4.3: otherwise another party
/// could name itself), it must offer the code flow, and an ID token algorithm accepted here.
pub fn read_discovery(doc: &[u8], issuer: &str, now: UnixSecs) -> Result<IdpEndpoints, String> {
    let doc: Map<String, Value> =
        serde_json::from_slice(doc).map_err(|_| "the discovery document is not a JSON object".to_owned())?;
    let said = string_member(&doc, "issuer")?;
    if said != issuer {
        return Err(format!("the discovery document names the issuer {said:?}, not {issuer:?}"));
    }
    let offers_code = strings(&doc, "response_types_supported").is_some_and(|types| types.contains(&"code"));
    if !offers_code {
        return Err("the provider does not offer the code flow (response_types_supported)".into());
    }
    let algs: Vec<String> = strings(&doc, "id_token_signing_alg_values_supported")
        .unwrap_or_default()
        .into_iter()
        .filter(|a| ID_TOKEN_ALGS.contains(a))
        .map(str::to_owned)
        .collect();
    if algs.is_empty() {
        return Err(format!(
            "the provider signs ID tokens with none of {} (id_token_signing_alg_values_supported)",
            ID_TOKEN_ALGS.join(", ")
        ));
    }
    // Discovery 3: absent means client_secret_basic.
    let methods = strings(&doc, "token_endpoint_auth_methods_supported").unwrap_or_default();
    let basic = methods.is_empty() || methods.contains(&"client_secret_basic");
    let post = methods.contains(&"client_secret_post");
    if !basic && !post {
        return Err("the provider takes neither client_secret_basic nor client_secret_post".into());
    }
    let endpoints = IdpEndpoints {
        authorization_endpoint: string_member(&doc, "authorization_endpoint")?.to_owned(),
        token_endpoint: string_member(&doc, "token_endpoint")?.to_owned(),
        jwks_uri: string_member(&doc, "jwks_uri")?.to_owned(),
        userinfo_endpoint: doc.get("userinfo_endpoint").and_then(Value::as_str).map(str::to_owned),
        id_token_algs: algs,
        secret_in_body: !basic,
        discovered_at: now,
    };
    crate::model::validate_endpoints(&endpoints)?;
    Ok(endpoints)
}

/// What one sign-in at the upstream is bound to: checked again when the browser comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The `state` sent (and expected back).
    pub state: &'a str,
    /// The `nonce` sent (and expected in the ID token).
    pub nonce: &'a str,
    /// The PKCE `code_challenge` (S256) of the verifier kept.
    pub code_challenge: &'a str,
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The URL the browser is sent to: the upstream's authorization endpoint with a code-flow
/// request (Core 3.1.2.1) for `redirect_uri`, bound to `binding`, passing on a `login_hint`.
pub fn authorization_url(
    idp: &Idp,
    redirect_uri: &str,
    binding: &Binding<'_>,
    login_hint: Option<&str>,
) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", idp.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", idp.scope.as_str()),
        ("state", binding.state),
        ("nonce", binding.nonce),
        ("code_challenge", binding.code_challenge),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend(login_hint.map(|hint| ("login_hint", hint)));
    let query = form_encode(&pairs);
    let endpoint = &idp.endpoints.authorization_endpoint;
    let joint = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{joint}{query}")
}

/// `application/x-www-form-urlencoded` of `pairs` (every byte but the unreserved ones
/// percent-encoded, which every form decoder reads).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encoded: Vec<String> =
        pairs.iter().map(|(n, v)| format!("{}={}", percent_encode(n), percent_encode(v))).collect();
    encoded.join("&")
}

/// Why an upstream ID token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// A required claim is missing or has the wrong type.
    #[error("the ID token has no valid {0}")]
    Missing(&'static str),
    /// `iss` is not the provider's.
    #[error("the ID token's iss is not the provider's issuer")]
    Issuer,
    /// The tenant's client id is not in `aud`, or `azp` names another party.
    #[error("the ID token is not for this client (aud, azp)")]
    Audience,
    /// `exp` has passed.
    #[error("the ID token has expired")]
    Expired,
    /// `iat` is in the future or too old.
    #[error("the ID token's iat is not within the accepted window")]
    IssuedAt,
    /// `nonce` is not the one sent.
    #[error("the ID token's nonce is not this sign-in's")]
    Nonce,
    /// `at_hash` does not match the access token.
    #[error("the ID token's at_hash does not match the access token")]
    AtHash,
    /// The UserInfo response names another subject than the ID token (Core 5.3.2).
    #[error("the userinfo response is about another subject")]
    UserinfoSubject,
}

/// What a verified ID token says about the upstream account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// The upstream `sub`.
    pub sub: String,
    /// The ID token's claims, for the claim mapping.
    pub claims: Map<String, Value>,
}

impl Upstream {
    /// Adds the claims of the provider's UserInfo response (Core 5.3.2: its `sub` must be the
    /// ID token's, or none of it is used). A claim the ID token carries keeps its value.
    pub fn merge_userinfo(&mut self, userinfo: Map<String, Value>) -> Result<(), IdTokenError> {
        if userinfo.get("sub").and_then(Value::as_str) != Some(self.sub.as_str()) {
            return Err(IdTokenError::UserinfoSubject);
        }
        for (name, value) in userinfo {
            self.claims.entry(name).or_insert(value);
        }
        Ok(())
    }

    /// The upstream's e-mail address when it says the address is verified.
    pub fn verified_email(&self, idp: &Idp) -> Option<&str> {
        let mappings = idp.mappings();
        let claim = |local: &str| {
            mappings.iter().find(|(_, l)| *l == local).and_then(|(upstream, _)| self.claims.get(*upstream))
        };
        let verified = claim("email_verified").and_then(Value::as_bool) == Some(true);
        claim("email").and_then(Value::as_str).filter(|e| verified && is_valid_email(e))
    }
}

/// The left half of the hash of `access_token` for `alg`, base64url (Core 3.2.2.9; EdDSA with
/// Ed25519 hashes with SHA-512).
fn at_hash(alg: &str, access_token: &str) -> Option<String> {
    let bytes = access_token.as_bytes();
    let full: Vec<u8> = match alg {
        "RS256" | "PS256" | "ES256" => Sha256::digest(bytes).to_vec(),
        "RS384" | "PS384" | "ES384" => Sha384::digest(bytes).to_vec(),
        "RS512" | "PS512" | "EdDSA" => Sha512::digest(bytes).to_vec(),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(&full[..full.len() / 2]))
}

/// Checks the claims of an ID token whose signature (with `alg`) verified with a key of
/// `idp`, received for the sign-in bound to `nonce`, with `access_token` from the same answer
/// (Core 3.1.3.7: iss, aud, azp, exp, iat, nonce; at_hash when present).
pub fn check_id_token(
    claims: Map<String, Value>,
    idp: &Idp,
    alg: &str,
    nonce: &str,
    access_token: Option<&str>,
    now: UnixSecs,
) -> Result<Upstream, IdTokenError> {
    let text =
        |name: &'static str| claims.get(name).and_then(Value::as_str).ok_or(IdTokenError::Missing(name));
    let int =
        |name: &'static str| claims.get(name).and_then(Value::as_i64).ok_or(IdTokenError::Missing(name));
    if text("iss")? != idp.issuer {
        return Err(IdTokenError::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => return Err(IdTokenError::Missing("aud")),
    };
    if !audiences.contains(&idp.client_id.as_str()) {
        return Err(IdTokenError::Audience);
    }
    match claims.get("azp") {
        Some(Value::String(azp)) if *azp != idp.client_id => return Err(IdTokenError::Audience),
        None if audiences.len() > 1 => return Err(IdTokenError::Audience),
        Some(v) if !v.is_string() => return Err(IdTokenError::Missing("azp")),
        _ => {}
    }
    if int("exp")? <= now - CLOCK_SKEW_SECS {
        return Err(IdTokenError::Expired);
    }
    let iat = int("iat")?;
    if iat > now + CLOCK_SKEW_SECS || iat < now - MAX_ID_TOKEN_AGE_SECS - CLOCK_SKEW_SECS {
        return Err(IdTokenError::IssuedAt);
    }
    let said = text("nonce").map_err(|_| IdTokenError::Nonce)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(said.as_bytes(), nonce.as_bytes())) {
        return Err(IdTokenError::Nonce);
    }
    if let (Some(hash), Some(token)) = (claims.get("at_hash"), access_token) {
        let expected = at_hash(alg, token);
        if hash.as_str().is_none() || hash.as_str().map(str::to_owned) != expected {
            return Err(IdTokenError::AtHash);
        }
    }
    let sub = text("sub")?;
    if sub.is_empty() || sub.len() > MAX_SUBJECT_BYTES || sub.chars().any(char::is_control) {
        return Err(IdTokenError::Missing("sub"));
    }
    let sub = sub.to_owned();
    Ok(Upstream { sub, claims })
}

/// Copies the upstream's claims onto `user` through the provider's mappings: strings into the
/// string claims, booleans into the `_verified` ones. A value of the wrong type, or one the
/// local user could not keep (too long, control characters, an e-mail of the wrong shape), is
/// skipped: one odd claim upstream must not block the sign-in.
pub fn apply_claims(user: &mut User, idp: &Idp, upstream: &Upstream) {
    for (from, to) in idp.mappings() {
        let Some(value) = upstream.claims.get(from) else { continue };
        if let Some(flag) = value.as_bool() {
            match to {
                "email_verified" => user.email_verified = flag,
                "phone_number_verified" => user.phone_number_verified = flag,
                _ => {}
            }
            continue;
        }
        let Some(text) = value.as_str() else { continue };
        if text.is_empty() || text.len() > MAX_CLAIM_BYTES || text.chars().any(char::is_control) {
            continue;
        }
        let slot = match to {
            "email" if is_valid_email(text) => &mut user.email,
            "email" => continue,
            "name" => &mut user.name,
            "given_name" => &mut user.given_name,
            "family_name" => &mut user.family_name,
            "middle_name" => &mut user.middle_name,
            "nickname" => &mut user.nickname,
            "preferred_username" => &mut user.preferred_username,
            "profile" => &mut user.profile,
            "picture" => &mut user.picture,
            "website" => &mut user.website,
            "gender" => &mut user.gender,
            "birthdate" => &mut user.birthdate,
            "zoneinfo" => &mut user.zoneinfo,
            "locale" => &mut user.locale,
            "phone_number" => &mut user.phone_number,
            _ => continue,
        };
        *slot = Some(text.to_owned());
    }
}

#[cfg(test)]
mod tests;
