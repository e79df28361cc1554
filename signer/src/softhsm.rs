//! SoftHSM2 set-up for development, tests and benchmarks: a token in a directory of its own,
//! made with `softhsm2-util` exactly as `scripts/softhsm-token.sh` does. Production uses a real
//! HSM and never calls this.
//!
//! SoftHSM2 reads its configuration file from `SOFTHSM2_CONF` once, when the library is
//! initialised, so the process that signs must be *started* with that variable set; see
//! `testing::run_with_softhsm` for how the tests arrange it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming SoftHSM2's configuration file.
pub const CONF_ENV: &str = "SOFTHSM2_CONF";

/// Where distributions install the SoftHSM2 PKCS#11 module.
pub const MODULE_CANDIDATES: [&str; 4] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 module on this machine, if it is installed.
pub fn module_path() -> Option<PathBuf> {
    MODULE_CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Whether `softhsm2-util` can be run.
pub fn util_available() -> bool {
    Command::new("softhsm2-util").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// A token made by [`init_token`].
#[derive(Clone, Debug)]
pub struct Token {
    /// The configuration file to export as `SOFTHSM2_CONF`.
    pub conf_path: PathBuf,
    /// The PKCS#11 module to load.
    pub module_path: PathBuf,
    /// The token label.
    pub label: String,
}

/// Writes `dir/softhsm2.conf` (tokens under `dir/tokens`, file object store, errors-only log)
/// and initialises a token `label` with user PIN `pin` in the first free slot.
pub fn init_token(dir: &Path, label: &str, pin: &str) -> Result<Token, String> {
    let module_path = module_path()
        .ok_or_else(|| format!("SoftHSM2 is not installed: no module at any of {MODULE_CANDIDATES:?}"))?;
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| format!("cannot create {}: {e}", tokens.display()))?;
    let conf_path = dir.join("softhsm2.conf");
    let conf = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    std::fs::write(&conf_path, conf).map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
    // The SO PIN is never used after initialisation: a throwaway derived from the user PIN.
    let so_pin = format!("so-{pin}");
    let out = Command::new("softhsm2-util")
        .env(CONF_ENV, &conf_path)
        .args(["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", &so_pin])
        .output()
        .map_err(|e| format!("cannot run softhsm2-util (is the softhsm2 package installed?): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "softhsm2-util --init-token failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(Token { conf_path, module_path, label: label.to_owned() })
}
