//! Unit tests of the relying-party protocol: discovery documents, the authentication request,
//! ID token claims (each refusal of Core 3.1.3.7) and the claim mapping.

use serde_json::json;

use super::*;
use crate::model::{ClaimMapping, IdpEndpoints};

const ISS: &str = "https://up.example/t/up";
const NOW: UnixSecs = 1_800_000_000;

fn idp() -> Idp {
    Idp {
        id: "aaaaaaaaaaaaaaaaaaaaaa".into(),
        label: "Upstream".into(),
        issuer: ISS.into(),
        client_id: "down".into(),
        sealed_secret: vec![1; 40],
        scope: "openid email profile".into(),
        claim_mappings: vec![ClaimMapping { upstream: "mail".into(), local: "email".into() }],
        link_by_email: true,
        jit_provisioning: true,
        domains: vec![],
        endpoints: IdpEndpoints {
            authorization_endpoint: format!("{ISS}/authorize"),
            token_endpoint: format!("{ISS}/token"),
            jwks_uri: format!("{ISS}/jwks"),
            userinfo_endpoint: None,
            id_token_algs: vec!["RS256".into()],
            secret_in_body: false,
            discovered_at: NOW,
        },
        created_at: NOW,
    }
}

fn discovery(extra: serde_json::Value) -> Vec<u8> {
    let mut doc = json!({
        "issuer": ISS,
        "authorization_endpoint": format!("{ISS}/authorize"),
        "token_endpoint": format!("{ISS}/token"),
        "jwks_uri": format!("{ISS}/jwks"),
        "response_types_supported": ["code", "id_token"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "ES384"],
    });
    if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            doc.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&doc).expect("json")
}

#[test]
fn a_discovery_document_gives_the_endpoints_and_the_accepted_algorithms() {
    let e = read_discovery(&discovery(json!({})), ISS, NOW).expect("endpoints");
    assert_eq!(e.token_endpoint, format!("{ISS}/token"));
    assert_eq!(e.id_token_algs, vec!["RS256".to_owned(), "ES384".to_owned()], "HS256 dropped");
    assert!(!e.secret_in_body, "basic by default");
    let post = read_discovery(
        &discovery(json!({"token_endpoint_auth_methods_supported": ["client_secret_post"]})),
        ISS,
        NOW,
    )
    .expect("post only");
    assert!(post.secret_in_body);
}

#[test]
fn a_discovery_document_is_refused_for_each_fault() {
    let cases = [
        (discovery(json!({"issuer": "https://evil.example"})), "names the issuer"),
        (discovery(json!({"response_types_supported": ["id_token"]})), "code flow"),
        (discovery(json!({"id_token_signing_alg_values_supported": ["HS256", "none"]})), "signs ID tokens"),
        (discovery(json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]})), "neither"),
        (discovery(json!({"jwks_uri": "/jwks"})), "jwks_uri"),
        (discovery(json!({"token_endpoint": 7})), "token_endpoint"),
        (b"[]".to_vec(), "JSON object"),
    ];
    for (doc, why) in cases {
        let err = read_discovery(&doc, ISS, NOW).expect_err(why);
        assert!(err.contains(why), "{err} should say {why}");
    }
}

#[test]
fn the_authentication_request_carries_the_binding_and_the_hint() {
    let binding = Binding { state: "st", nonce: "n/1", code_challenge: &s256("verifier") };
    let url = authorization_url(&idp(), "https://down.example/cb?x=1", &binding, Some("a@b.example"));
    assert!(url.starts_with(&format!("{ISS}/authorize?response_type=code&client_id=down&")), "{url}");
    for part in [
        "redirect_uri=https%3A%2F%2Fdown.example%2Fcb%3Fx%3D1",
        "scope=openid%20email%20profile",
        "state=st",
        "nonce=n%2F1",
        "code_challenge_method=S256",
        "login_hint=a%40b.example",
    ] {
        assert!(url.contains(part), "{url} lacks {part}");
    }
    // RFC 7636 appendix B.
    assert_eq!(
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

fn claims(extra: serde_json::Value) -> Map<String, Value> {
    let mut c = json!({"iss": ISS, "aud": "down", "sub": "u-1", "exp": NOW + 300, "iat": NOW, "nonce": "n"});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            if v.is_null() {
                c.remove(k);
            } else {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    c.as_object().cloned().unwrap_or_default()
}

fn check(extra: serde_json::Value, access_token: Option<&str>) -> Result<Upstream, IdTokenError> {
    check_id_token(claims(extra), &idp(), "RS256", "n", access_token, NOW)
}

#[test]
fn a_valid_id_token_names_its_subject() {
    assert_eq!(check(json!({}), None).expect("valid").sub, "u-1");
    let ok = check(json!({"aud": ["down", "other"], "azp": "down"}), None);
    assert!(ok.is_ok(), "several audiences with azp");
    // Core 3.2.2.9's example access token and at_hash.
    let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    assert!(check(json!({"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}), Some(token)).is_ok());
}

#[test]
fn each_fault_of_an_id_token_is_refused() {
    let cases = [
        (json!({"iss": "https://other.example"}), IdTokenError::Issuer),
        (json!({"aud": "someone-else"}), IdTokenError::Audience),
        (json!({"aud": ["down", "other"]}), IdTokenError::Audience),
        (json!({"azp": "other"}), IdTokenError::Audience),
        (json!({"exp": NOW - CLOCK_SKEW_SECS}), IdTokenError::Expired),
        (json!({"iat": NOW + CLOCK_SKEW_SECS + 1}), IdTokenError::IssuedAt),
        (json!({"iat": NOW - 3600}), IdTokenError::IssuedAt),
        (json!({"nonce": "other"}), IdTokenError::Nonce),
        (json!({"nonce": null}), IdTokenError::Nonce),
        (json!({"sub": null}), IdTokenError::Missing("sub")),
        (json!({"sub": ""}), IdTokenError::Missing("sub")),
        (json!({"exp": "soon"}), IdTokenError::Missing("exp")),
        (json!({"aud": 5}), IdTokenError::Missing("aud")),
    ];
    for (extra, want) in cases {
        assert_eq!(check(extra.clone(), None).map(|u| u.sub), Err(want), "{extra}");
    }
    assert_eq!(check(json!({"at_hash": "wrong"}), Some("token")).map(|u| u.sub), Err(IdTokenError::AtHash));
}

#[test]
fn userinfo_adds_claims_only_for_the_same_subject() {
    let mut upstream = check(json!({ "name": "From the ID token" }), None).expect("valid");
    let other = json!({ "sub": "u-2", "email": "x@y.example" }).as_object().cloned().unwrap_or_default();
    assert_eq!(upstream.merge_userinfo(other), Err(IdTokenError::UserinfoSubject));
    assert!(!upstream.claims.contains_key("email"), "nothing of another subject");
    let same = json!({ "sub": "u-1", "email": "a@b.example", "name": "From userinfo" });
    upstream.merge_userinfo(same.as_object().cloned().unwrap_or_default()).expect("merged");
    assert_eq!(upstream.claims["email"], "a@b.example");
    assert_eq!(upstream.claims["name"], "From the ID token", "the signed value stays");
}

#[test]
fn claims_are_mapped_and_odd_values_skipped() {
    let upstream = Upstream {
        sub: "u-1".into(),
        claims: claims(json!({
            "mail": "ann@up.example",
            "email": "ignored@up.example",
            "email_verified": true,
            "name": "Ann",
            "locale": 7,
            "nickname": "bad\u{7}value",
        })),
    };
    let mut user = User::new("t", "aaaaaaaaaaaaaaaaaaaaaa", "ann", "$x", NOW);
    apply_claims(&mut user, &idp(), &upstream);
    assert_eq!(user.email.as_deref(), Some("ann@up.example"), "the operator's mapping wins");
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Ann"));
    assert_eq!((user.locale, user.nickname), (None, None));
    assert_eq!(upstream.verified_email(&idp()), Some("ann@up.example"));
    let unverified = Upstream { sub: "u".into(), claims: claims(json!({"mail": "a@b.example"})) };
    assert_eq!(unverified.verified_email(&idp()), None);
}
