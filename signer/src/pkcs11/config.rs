//! How the PKCS#11 signer reaches its token: the module, the token label, the user PIN and the
//! size of the session pool. The PIN is wrapped so that no `Debug` output (a logged config, a
//! panic message) can show it.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use cryptoki::types::AuthPin;

/// Requests that may wait for a session before new ones are refused, unless configured.
pub const DEFAULT_MAX_QUEUED_JOBS: usize = 4096;

/// The user PIN of the token. Its `Debug` shows nothing and it is zeroised when dropped.
pub struct Pkcs11Pin(pub(super) AuthPin);

impl Pkcs11Pin {
    /// Wraps a PIN (the server reads it from `TESSERA_PKCS11_PIN`).
    pub fn new(pin: impl Into<String>) -> Self {
        Self(AuthPin::from(pin.into()))
    }
}

impl fmt::Debug for Pkcs11Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs11Pin(<redacted>)")
    }
}

/// How to reach the token.
#[derive(Debug)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library) to load.
    pub module_path: PathBuf,
    /// The label of the token to use; the first slot holding a token so labelled is used.
    pub token_label: String,
    /// The user PIN.
    pub pin: Pkcs11Pin,
    /// Sessions (and threads) in the pool; `None` means one per CPU.
    pub sessions: Option<NonZeroUsize>,
    /// Requests allowed to wait for a free session; beyond it `sign` fails at once rather than
    /// letting latency grow without bound.
    pub max_queued_jobs: usize,
}

impl Pkcs11Config {
    /// A configuration with one session per CPU and [`DEFAULT_MAX_QUEUED_JOBS`].
    pub fn new(module_path: impl Into<PathBuf>, token_label: impl Into<String>, pin: Pkcs11Pin) -> Self {
        Self {
            module_path: module_path.into(),
            token_label: token_label.into(),
            pin,
            sessions: None,
            max_queued_jobs: DEFAULT_MAX_QUEUED_JOBS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_debug_is_redacted() {
        let config = Pkcs11Config::new("/x.so", "t", Pkcs11Pin::new("1234-secret"));
        assert!(!format!("{config:?}").contains("1234-secret"));
    }
}
