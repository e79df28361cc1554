//! Partners' keys: a trusted issuer's for the JWT bearer grant (an inline JWK Set as stored,
//! or one fetched from the issuer's `jwks_uri`), and an external identity provider's for its
//! ID tokens (`crate::federation`), fetched (on the identity validators' HTTP client, with a timeout and a
//! size limit) and cached per issuer. A cached set is used for [`FRESH_FOR`]; an assertion
//! whose `kid` the cached set lacks fetches again (the partner rotated its keys), but at most
//! once per [`REFETCH_AFTER`] per issuer, so assertions with made-up `kid`s cannot make the
//! server hammer a partner. A set that cannot be fetched leaves the cached one in use. The
//! cache holds at most [`MAX_CACHED`] sets (a tenant has at most 32 issuers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Map, Value};
use tessera_core::model::TrustedIssuer;

use super::Validators;

/// How long a fetched set is used before it is fetched again.
pub const FRESH_FOR: Duration = Duration::from_secs(300);
/// The shortest time between two fetches of one issuer's set.
pub const REFETCH_AFTER: Duration = Duration::from_secs(5);
/// How long a fetch may take, whole.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWK Set read.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most issuers' sets cached at once.
pub const MAX_CACHED: usize = 4096;

/// One issuer's keys: the JWKs of its set, as JSON objects.
pub type Keys = Arc<Vec<Map<String, Value>>>;

struct Cached {
    uri: String,
    keys: Option<Keys>,
    fetched_at: Option<Instant>,
    tried_at: Instant,
}

/// The cache of fetched sets, by trusted issuer id.
#[derive(Default)]
pub struct IssuerKeys {
    cached: Mutex<std::collections::HashMap<String, Cached>>,
}

/// Why an issuer's keys are not at hand.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The set could not be fetched, and none was cached.
    #[error("the issuer's keys could not be fetched: {0}")]
    Unreachable(String),
    /// The set (inline or fetched) is not a JWK Set.
    #[error("the issuer's keys are not a JWK Set")]
    Malformed,
}

/// The keys of a JWK Set's JSON text: each member of `keys` that is an object.
pub fn parse_set(text: &[u8]) -> Result<Vec<Map<String, Value>>, KeysError> {
    let value: Value = serde_json::from_slice(text).map_err(|_| KeysError::Malformed)?;
    let keys = value.get("keys").and_then(Value::as_array).ok_or(KeysError::Malformed)?;
    Ok(keys.iter().filter_map(|k| k.as_object().cloned()).collect())
}

/// Whether `keys` has one with this `kid` (any key when the assertion names none).
pub fn has_kid(keys: &[Map<String, Value>], kid: Option<&str>) -> bool {
    kid.is_none_or(|kid| keys.iter().any(|k| k.get("kid").and_then(Value::as_str) == Some(kid)))
}

impl IssuerKeys {
    /// The keys of `issuer` for an assertion naming `kid`: its inline set, or its fetched set,
    /// fetched when none is cached, when the cached one is older than [`FRESH_FOR`], or when
    /// it lacks `kid` (each at most once per [`REFETCH_AFTER`]).
    pub async fn keys(
        &self,
        http: &Validators,
        issuer: &TrustedIssuer,
        kid: Option<&str>,
    ) -> Result<Keys, KeysError> {
        if let Some(inline) = &issuer.jwks {
            return parse_set(inline.as_bytes()).map(Arc::new);
        }
        let Some(uri) = issuer.jwks_uri.as_deref() else { return Err(KeysError::Malformed) };
        self.fetched(http, &issuer.id, uri, kid).await
    }

    /// The set at `uri`, cached under `id` (a trusted issuer's id, or an identity provider's
    /// `idp:{tenant}:{id}`), for a token naming `kid`: fetched when none is cached, when the
    /// cached one is older than [`FRESH_FOR`], or when it lacks `kid` (each at most once per
    /// [`REFETCH_AFTER`]).
    pub async fn fetched(
        &self,
        http: &Validators,
        id: &str,
        uri: &str,
        kid: Option<&str>,
    ) -> Result<Keys, KeysError> {
        let now = Instant::now();
        let cached = self.fresh_or_claim(id, uri, kid, now);
        let stale = match cached {
            Lookup::Use(keys) => return Ok(keys),
            Lookup::Fetch(stale) => stale,
        };
        let fetched = http.get(uri, MAX_JWKS_BYTES, FETCH_TIMEOUT).await.map_err(KeysError::Unreachable);
        let keys = match fetched.and_then(|body| parse_set(&body)) {
            Ok(keys) => Arc::new(keys),
            Err(err) => {
                tracing::warn!(issuer = %id, error = %err, "JWKS not fetched");
                return stale.ok_or(err);
            }
        };
        let mut cached = self.cached.lock();
        if let Some(entry) = cached.get_mut(id) {
            entry.keys = Some(keys.clone());
            entry.fetched_at = Some(Instant::now());
        }
        Ok(keys)
    }

    /// The cached keys when they serve, or a claim to fetch (recording the attempt) with
    /// whatever is cached to fall back on.
    fn fresh_or_claim(&self, id: &str, uri: &str, kid: Option<&str>, now: Instant) -> Lookup {
        let mut cached = self.cached.lock();
        if cached.len() >= MAX_CACHED && !cached.contains_key(id) {
            // Bounded: dropping every set costs one fetch per issuer, nothing else.
            cached.clear();
        }
        let entry = cached.entry(id.to_owned()).or_insert_with(|| Cached {
            uri: uri.to_owned(),
            keys: None,
            fetched_at: None,
            tried_at: now.checked_sub(REFETCH_AFTER * 2).unwrap_or(now),
        });
        if entry.uri != uri {
            // The operator changed the issuer's jwks_uri: the old set is not its keys.
            *entry = Cached { uri: uri.to_owned(), keys: None, fetched_at: None, tried_at: entry.tried_at };
        }
        let may_fetch =
            now.saturating_duration_since(entry.tried_at) >= REFETCH_AFTER || entry.keys.is_none();
        if let Some(keys) = &entry.keys {
            let fresh = entry.fetched_at.is_some_and(|at| now.saturating_duration_since(at) < FRESH_FOR);
            if (fresh && has_kid(keys, kid)) || !may_fetch {
                return Lookup::Use(keys.clone());
            }
        }
        entry.tried_at = now;
        Lookup::Fetch(entry.keys.clone())
    }

    /// Forgets an issuer's set (it was changed or deleted).
    pub fn forget(&self, id: &str) {
        self.cached.lock().remove(id);
    }
}

enum Lookup {
    Use(Keys),
    Fetch(Option<Keys>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_parse_and_kids_are_found() {
        let keys = parse_set(br#"{"keys":[{"kid":"a","kty":"EC"},7]}"#).expect("set");
        assert_eq!(keys.len(), 1);
        assert!(has_kid(&keys, Some("a")) && has_kid(&keys, None) && !has_kid(&keys, Some("b")));
        assert!(parse_set(b"[]").is_err() && parse_set(b"nope").is_err());
    }

    #[test]
    fn an_unknown_kid_fetches_again_but_not_more_than_once_per_window() {
        let cache = IssuerKeys::default();
        let now = Instant::now();
        assert!(matches!(cache.fresh_or_claim("i", "u", Some("a"), now), Lookup::Fetch(None)));
        let keys: Keys = Arc::new(parse_set(br#"{"keys":[{"kid":"a"}]}"#).expect("set"));
        if let Some(e) = cache.cached.lock().get_mut("i") {
            e.keys = Some(keys);
            e.fetched_at = Some(now);
        }
        assert!(matches!(cache.fresh_or_claim("i", "u", Some("a"), now), Lookup::Use(_)));
        let later = now + REFETCH_AFTER;
        assert!(matches!(cache.fresh_or_claim("i", "u", Some("b"), later), Lookup::Fetch(Some(_))));
        assert!(
            matches!(cache.fresh_or_claim("i", "u", Some("b"), later), Lookup::Use(_)),
            "a second unknown kid within the window uses what is cached"
        );
        assert!(
            matches!(cache.fresh_or_claim("i", "other", Some("a"), later), Lookup::Fetch(None)),
            "a new uri"
        );
    }
}
