//! argon2id at OWASP's parameters (19 MiB, t=2, p=1): the PHC string that is stored and its
//! verification. What a new password must be (length, the common-password list) is the
//! tenant's policy, `tessera_core::password_policy`, checked before anything is hashed. Hashing and verifying are CPU- and memory-heavy by design,
//! so only the gate (`gate.rs`) calls them, on its own threads and within its bound; the rest of
//! the server sees the constants.
//!
//! Both compute in a [`Memory`] the caller keeps, rather than in 19 MiB allocated and freed per
//! call: freed blocks that size are kept by the allocator per thread (glibc stops returning them
//! to the system after the first), so how much memory password work holds would depend on the
//! allocator's history. With one reused [`Memory`] per thread it is one block per thread.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// OWASP's argon2id recommendation: 19 MiB of memory, two passes, one lane.
const ARGON2_M_KIB: u32 = 19_456;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;

/// An argon2id hash, with the parameters above, of a password nobody knows. The login form
/// verifies an unknown username against it, so a login for a name that does not exist costs
/// as much time as one for a name that does.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS1kdW1teS1zYWx0$nNqR0gtjEmwXV7rHbPRqH9yPoC2zE5hObyrNrEdcQpk";

/// The working memory of argon2 for one thread: allocated at the parameters above when first
/// used, then reused by every hash and verification. (Its blocks are a one-way function of the
/// last password, like the hash itself, and are overwritten by the next use: argon2's first pass
/// writes every block before reading it.)
#[derive(Debug, Default)]
pub struct Memory {
    blocks: Vec<Block>,
}

/// Blocks of 1 KiB at the parameters above.
const STANDARD_BLOCKS: usize = ARGON2_M_KIB as usize;

impl Memory {
    /// Runs argon2 with `memory` blocks of room: these, or, for a hash that needs more (older,
    /// larger parameters), a one-off allocation that is freed at once.
    fn hash_into(&mut self, argon: &Argon2<'_>, password: &str, salt: &[u8], out: &mut [u8]) -> bool {
        let needed = argon.params().block_count();
        if needed > STANDARD_BLOCKS {
            let mut larger = vec![Block::new(); needed];
            return argon.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut larger).is_ok();
        }
        if self.blocks.len() < STANDARD_BLOCKS {
            self.blocks = vec![Block::new(); STANDARD_BLOCKS];
        }
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut self.blocks[..needed])
            .is_ok()
    }
}

/// Hashes a password with argon2id and the OWASP parameters into a PHC string, in `memory`.
pub(super) fn hash_password(password: &str, salt: &[u8; 16], memory: &mut Memory) -> Result<String, String> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !memory.hash_into(&argon, password, salt, &mut out) {
        return Err("argon2id refused its inputs".into());
    }
    let salt = SaltString::encode_b64(salt).map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, with the algorithm and parameters the hash
/// names (so hashes made with older parameters still verify), computed in `memory`. A malformed
/// hash matches nothing.
pub(super) fn verify_password(password: &str, phc: &str, memory: &mut Memory) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(hash.algorithm),
        hash.version.map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    if !memory.hash_into(&Argon2::new(algorithm, version, params), password, salt, out) {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let mut m = Memory::default();
        let phc = hash_password("correct horse battery", &[7; 16], &mut m).expect("hashes");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc, &mut m));
        assert!(!verify_password("correct horse battery!", &phc, &mut m));
        assert!(!verify_password("", &phc, &mut m));
        assert!(!verify_password("correct horse battery", "not a hash", &mut m));
        // A fresh salt, a different hash.
        assert_ne!(hash_password("correct horse battery", &[8; 16], &mut m).expect("hashes"), phc);
    }

    #[test]
    fn the_same_as_the_argon2_crate_computes_in_its_own_memory() {
        let mut m = Memory::default();
        let ours = hash_password("correct horse battery", &[7; 16], &mut m).expect("hashes");
        let salt = SaltString::encode_b64(&[7; 16]).expect("salt");
        let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).expect("params");
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery", &salt)
            .expect("hashes")
            .to_string();
        assert_eq!(ours, theirs);
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        // The memory, reused after other passwords and hashes, still gives the same answers.
        assert!(!verify_password("other", &ours, &mut m));
        assert!(verify_password("correct horse battery", &ours, &mut m));
    }

    #[test]
    fn hashes_with_other_algorithms_and_parameters_still_verify() {
        let mut m = Memory::default();
        let salt = SaltString::encode_b64(&[9; 16]).expect("salt");
        // Smaller and larger memory than ours (the larger in a one-off allocation), fewer
        // passes, two lanes, argon2i and argon2d, and a longer output.
        for (algorithm, m_kib, t, p, out) in [
            (Algorithm::Argon2id, 8_192, 1, 1, 32),
            (Algorithm::Argon2id, 24_576, 2, 2, 32),
            (Algorithm::Argon2i, 4_096, 3, 1, 32),
            (Algorithm::Argon2d, 4_096, 1, 1, 64),
        ] {
            let params = Params::new(m_kib, t, p, Some(out)).expect("params");
            let phc = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"old password", &salt)
                .expect("hashes")
                .to_string();
            assert!(verify_password("old password", &phc, &mut m), "{phc}");
            assert!(!verify_password("old password!", &phc, &mut m), "{phc}");
        }
        assert_eq!(m.blocks.len(), STANDARD_BLOCKS, "the kept memory stays at the standard size");
    }

    #[test]
    fn dummy_hash_is_a_real_argon2id_hash_that_matches_nothing_typed() {
        let mut m = Memory::default();
        let hash = argon2::password_hash::PasswordHash::new(DUMMY_HASH).expect("PHC string");
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        // The same cost as a real user's hash, or the time would tell the names apart.
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!verify_password("password", DUMMY_HASH, &mut m));
        assert!(!verify_password("", DUMMY_HASH, &mut m));
    }
}
