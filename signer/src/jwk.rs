//! Public key <-> JWK (RFC 7517/7518, RFC 8037 for Ed25519). A key record stores its public
//! half as JWK JSON; loading a record decodes it again and checks that it matches the private
//! key, so a record whose JWK was swapped or corrupted is refused instead of published.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::jwk::Jwk;
use tessera_core::model::SigningAlg;

use crate::public_key::PublicKey;

/// The JWK of `key` with its `kid`, its algorithm and `use: sig`.
pub fn to_jwk(key: &PublicKey, kid: &str) -> Jwk {
    let b64 = |bytes: &[u8]| Some(URL_SAFE_NO_PAD.encode(bytes));
    let mut jwk = Jwk {
        kty: String::new(),
        kid: kid.to_owned(),
        use_: "sig".to_owned(),
        alg: key.alg().as_str().to_owned(),
        crv: None,
        x: None,
        y: None,
        n: None,
        e: None,
    };
    match key {
        PublicKey::P256(point) | PublicKey::P384(point) => {
            // Both constructors checked `04 || x || y`, so the halves are the coordinates.
            let coords = &point[1..];
            let (x, y) = coords.split_at(coords.len() / 2);
            jwk.kty = "EC".into();
            jwk.crv = Some(if matches!(key, PublicKey::P256(_)) { "P-256" } else { "P-384" }.into());
            jwk.x = b64(x);
            jwk.y = b64(y);
        }
        PublicKey::Rsa { n, e } => {
            jwk.kty = "RSA".into();
            jwk.n = b64(n);
            jwk.e = b64(e);
        }
        PublicKey::Ed25519(x) => {
            jwk.kty = "OKP".into();
            jwk.crv = Some("Ed25519".into());
            jwk.x = b64(x);
        }
    }
    jwk
}

/// [`to_jwk`] as the JSON text stored in `KeyRecord::public_jwk`.
pub fn to_jwk_json(key: &PublicKey, kid: &str) -> String {
    // A Jwk is strings and options of strings: serialising it cannot fail, but an error is
    // still not worth a panic, so fall back to an empty object that no verifier accepts.
    serde_json::to_string(&to_jwk(key, kid)).unwrap_or_else(|_| "{}".to_owned())
}

/// Decodes a JWK into the public key it describes, checking that `kty`, `crv` and `alg` agree.
pub fn from_jwk(jwk: &Jwk) -> Result<PublicKey, String> {
    let alg = SigningAlg::parse(&jwk.alg).ok_or_else(|| format!("unsupported alg {:?}", jwk.alg))?;
    let field = |name: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
        let v = v.as_deref().ok_or_else(|| format!("JWK without {name}"))?;
        URL_SAFE_NO_PAD.decode(v).map_err(|e| format!("JWK {name} is not base64url: {e}"))
    };
    let crv = jwk.crv.as_deref();
    let key = match (jwk.kty.as_str(), alg, crv) {
        ("EC", SigningAlg::ES256, Some("P-256")) | ("EC", SigningAlg::ES384, Some("P-384")) => {
            let (x, y) = (field("x", &jwk.x)?, field("y", &jwk.y)?);
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if x.len() != y.len() {
                return Err("JWK x and y differ in length".into());
            }
            PublicKey::ec(alg, &point)?
        }
        ("RSA", SigningAlg::RS256, None) => PublicKey::rsa(&field("n", &jwk.n)?, &field("e", &jwk.e)?)?,
        ("OKP", SigningAlg::EdDSA, Some("Ed25519")) => PublicKey::ed25519(&field("x", &jwk.x)?)?,
        (kty, alg, crv) => {
            return Err(format!("JWK kty {kty:?} with crv {crv:?} cannot sign {}", alg.as_str()));
        }
    };
    Ok(key)
}

/// [`from_jwk`] from JSON text; also checks the `kid`.
pub fn from_jwk_json(json: &str, kid: &str) -> Result<PublicKey, String> {
    let jwk: Jwk = serde_json::from_str(json).map_err(|e| format!("public_jwk is not a JWK: {e}"))?;
    if jwk.kid != kid {
        return Err(format!("public_jwk has kid {:?}, record has {kid:?}", jwk.kid));
    }
    from_jwk(&jwk)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn p384() -> PublicKey {
        let mut point = vec![0x04];
        point.extend((0..96).map(|i| i as u8));
        PublicKey::ec(SigningAlg::ES384, &point).unwrap()
    }

    #[test]
    fn ec_jwk_splits_the_point_into_48_byte_coordinates() {
        let jwk = to_jwk(&p384(), "k1");
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_deref()), ("EC", Some("P-384")));
        assert_eq!((jwk.alg.as_str(), jwk.use_.as_str(), jwk.kid.as_str()), ("ES384", "sig", "k1"));
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk.x.as_ref().unwrap()).unwrap(), (0..48).collect::<Vec<u8>>());
        assert_eq!(URL_SAFE_NO_PAD.decode(jwk.y.as_ref().unwrap()).unwrap(), (48..96).collect::<Vec<u8>>());
        assert_eq!((jwk.n, jwk.e), (None, None));
    }

    #[test]
    fn every_kind_round_trips_through_json() {
        let mut n = vec![0xc5; 256];
        n[255] = 1;
        let keys = [p384(), PublicKey::rsa(&n, &[1, 0, 1]).unwrap(), PublicKey::ed25519(&[7; 32]).unwrap()];
        for key in keys {
            let json = to_jwk_json(&key, "kid-1");
            assert_eq!(from_jwk_json(&json, "kid-1").unwrap(), key, "{json}");
            assert!(from_jwk_json(&json, "other").is_err());
        }
    }

    #[test]
    fn mismatched_kty_and_alg_are_refused() {
        let mut jwk = to_jwk(&p384(), "k");
        jwk.alg = "ES256".into();
        assert!(from_jwk(&jwk).is_err());
        jwk.alg = "RS256".into();
        assert!(from_jwk(&jwk).is_err());
        let mut jwk = to_jwk(&p384(), "k");
        jwk.y = Some("AAAA".into());
        assert!(from_jwk(&jwk).is_err());
    }

    #[test]
    fn okp_jwk_has_crv_and_x_only() {
        let json = to_jwk_json(&PublicKey::ed25519(&[0; 32]).unwrap(), "k");
        assert_eq!(
            json,
            r#"{"kty":"OKP","kid":"k","use":"sig","alg":"EdDSA","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#
        );
    }
}
