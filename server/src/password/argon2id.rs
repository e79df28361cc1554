//! argon2id at OWASP's parameters (19 MiB, t=2, p=1): the PHC string that is stored, its
//! verification, and the length rule. Hashing and verifying are CPU- and memory-heavy by design,
//! so only the gate (`gate.rs`) calls them, on a blocking thread and within its bound; the rest
//! of the server sees the constants.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted, in characters (OWASP ASVS 2.1.1).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in characters: long enough for any passphrase, short enough that
/// hashing it costs nothing extra.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// OWASP's argon2id recommendation: 19 MiB of memory, two passes, one lane.
const ARGON2_M_KIB: u32 = 19_456;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

/// An argon2id hash, with the parameters above, of a password nobody knows. The login form
/// verifies an unknown username against it, so a login for a name that does not exist costs
/// as much time as one for a name that does.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS1kdW1teS1zYWx0$nNqR0gtjEmwXV7rHbPRqH9yPoC2zE5hObyrNrEdcQpk";

fn argon2id() -> Result<Argon2<'static>, String> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).map_err(|e| e.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with argon2id and the OWASP parameters into a PHC string. CPU- and
/// memory-heavy by design: only the gate calls it, off the async workers.
pub(super) fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, String> {
    let salt = SaltString::encode_b64(salt).map_err(|e| e.to_string())?;
    argon2id()?.hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `phc`, with the parameters the hash names (so
/// hashes made with older parameters still verify). A malformed hash matches nothing. As heavy
/// as hashing: only the gate calls it, off the async workers.
pub(super) fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash_password("correct horse battery", &[7; 16]).expect("hashes");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse battery!", &phc));
        assert!(!verify_password("", &phc));
        assert!(!verify_password("correct horse battery", "not a hash"));
        // A fresh salt, a different hash.
        assert_ne!(hash_password("correct horse battery", &[8; 16]).expect("hashes"), phc);
    }

    #[test]
    fn dummy_hash_is_a_real_argon2id_hash_that_matches_nothing_typed() {
        let hash = argon2::password_hash::PasswordHash::new(DUMMY_HASH).expect("PHC string");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        // The same cost as a real user's hash, or the time would tell the names apart.
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password("password", DUMMY_HASH));
        assert!(!verify_password("", DUMMY_HASH));
    }
}
