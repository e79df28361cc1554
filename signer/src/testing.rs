//! Test support (feature `testing`): SoftHSM2 tokens in temporary directories, and a way to run
//! a test in a process whose environment points SoftHSM2 at such a token. The server's
//! integration tests use it too.
//!
//! Why tests re-run themselves: SoftHSM2 reads `SOFTHSM2_CONF` once, in `C_Initialize`, from
//! the process environment. A test cannot set it for itself (`std::env::set_var` is `unsafe`
//! in edition 2024, and the workspace denies `unsafe`; it would also race with other test
//! threads), and the test command should not have to export anything. So
//! [`run_with_softhsm`] creates a token, starts the current test binary again with
//! `--exact <this test>` and `SOFTHSM2_CONF` set, and fails unless that child ran exactly this
//! test and passed. Each test gets its own token, under `cargo test` and `cargo nextest` alike.
//!
//! When SoftHSM2 is missing the tests fail with a message saying how to install it, unless
//! `TESSERA_SKIP_PKCS11=1`, in which case they print why they skipped and pass.

use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

use crate::pkcs11::{Pkcs11Config, Pkcs11Pin};
use crate::softhsm;

/// Set to `1` to skip (rather than fail) PKCS#11 tests on a machine without SoftHSM2.
pub const SKIP_ENV: &str = "TESSERA_SKIP_PKCS11";

/// Set in the child process to the name of the test it runs.
const CHILD_ENV: &str = "TESSERA_SOFTHSM_TEST";
const MODULE_ENV: &str = "TESSERA_SOFTHSM_MODULE";
const LABEL_ENV: &str = "TESSERA_SOFTHSM_LABEL";
const PIN_ENV: &str = "TESSERA_SOFTHSM_PIN";

/// A SoftHSM2 token in a temporary directory, deleted when this is dropped.
#[derive(Debug)]
pub struct SoftHsmToken {
    /// The directory holding the configuration and the token files.
    pub dir: TempDir,
    /// The configuration file, for `SOFTHSM2_CONF`.
    pub conf_path: PathBuf,
    /// The SoftHSM2 PKCS#11 module.
    pub module_path: PathBuf,
    /// The token label.
    pub label: String,
    /// The user PIN.
    pub pin: String,
}

/// Creates a token labelled `label` with user PIN `pin` in a fresh temporary directory.
pub fn softhsm_token(label: &str, pin: &str) -> Result<SoftHsmToken, String> {
    let dir = tempfile::Builder::new()
        .prefix("tessera-softhsm-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let token = softhsm::init_token(dir.path(), label, pin)?;
    Ok(SoftHsmToken {
        dir,
        conf_path: token.conf_path,
        module_path: token.module_path,
        label: label.to_owned(),
        pin: pin.to_owned(),
    })
}

/// What a test body run by [`run_with_softhsm`] gets: a token this process can use.
#[derive(Clone, Debug)]
pub struct SoftHsmEnv {
    /// The SoftHSM2 PKCS#11 module.
    pub module_path: PathBuf,
    /// The token label.
    pub label: String,
    /// The user PIN.
    pub pin: String,
}

impl SoftHsmEnv {
    /// A signer configuration for this token with `sessions` sessions.
    pub fn config(&self, sessions: usize) -> Pkcs11Config {
        let mut config = Pkcs11Config::new(&self.module_path, &self.label, Pkcs11Pin::new(self.pin.clone()));
        config.sessions = std::num::NonZeroUsize::new(sessions);
        config
    }
}

/// The libtest name of a test function: `module_path!()` without the crate, then the function.
pub fn test_path(module_path: &str, function: &str) -> String {
    match module_path.split_once("::") {
        Some((_, rest)) => format!("{rest}::{function}"),
        None => function.to_owned(),
    }
}

/// Runs `body` in a process started with `SOFTHSM2_CONF` pointing at a fresh token (see the
/// module doc). `test_name` must be the full libtest name of the calling test; the
/// [`softhsm_test!`](crate::softhsm_test) macro fills it in.
///
/// # Panics
/// When the body panics in the child, when the child did not run exactly this one test, or
/// when SoftHSM2 is missing and `TESSERA_SKIP_PKCS11=1` is not set.
pub fn run_with_softhsm(test_name: &str, body: impl FnOnce(&SoftHsmEnv)) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(test_name) {
        let var =
            |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set by the parent test"));
        let env =
            SoftHsmEnv { module_path: var(MODULE_ENV).into(), label: var(LABEL_ENV), pin: var(PIN_ENV) };
        body(&env);
        return;
    }
    if !softhsm::util_available() || softhsm::module_path().is_none() {
        if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
            eprintln!("SKIPPED {test_name}: SoftHSM2 is not installed and {SKIP_ENV}=1");
            return;
        }
        panic!(
            "{test_name} needs SoftHSM2 (softhsm2-util and libsofthsm2.so): install the `softhsm2` \
             package (apt-get install softhsm2), or set {SKIP_ENV}=1 to skip the PKCS#11 tests"
        );
    }
    let token = softhsm_token("tessera-test", "1234").unwrap_or_else(|e| panic!("{test_name}: {e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let out = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(softhsm::CONF_ENV, &token.conf_path)
        .env(CHILD_ENV, test_name)
        .env(MODULE_ENV, &token.module_path)
        .env(LABEL_ENV, &token.label)
        .env(PIN_ENV, &token.pin)
        .output()
        .unwrap_or_else(|e| panic!("cannot re-run the test binary for {test_name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown always, so the child's own output (skips, timings) is visible with --nocapture.
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(out.status.success(), "{test_name} failed in its SoftHSM2 child process ({})", out.status);
    assert!(
        stdout.contains("1 passed"),
        "the child process did not run {test_name}: is the name the full libtest path?"
    );
}

/// Declares a `#[test]` whose body runs with a SoftHSM2 token (see [`run_with_softhsm`]):
///
/// ```ignore
/// tessera_signer::softhsm_test!(fn signs(env) {
///     let signer = Pkcs11Signer::new(env.config(2)).unwrap();
/// });
/// ```
#[macro_export]
macro_rules! softhsm_test {
    ($(#[$meta:meta])* fn $name:ident($env:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::testing::run_with_softhsm(
                &$crate::testing::test_path(module_path!(), stringify!($name)),
                |$env: &$crate::testing::SoftHsmEnv| $body,
            );
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_paths_drop_the_crate_name() {
        assert_eq!(test_path("pkcs11", "signs"), "signs");
        assert_eq!(test_path("pkcs11::keys", "signs"), "keys::signs");
    }
}
