//! The PKCS#11 module, initialised once per process, and the way into its token: the slot found
//! by label and logged-in R/W sessions.
//!
//! The library is initialised with `CKF_OS_LOCKING_OK`: without it, sessions used from several
//! threads at once fail. One initialised library is shared by every signer of a process, since
//! `C_Initialize` is per process and a second one fails.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use parking_lot::Mutex;
use tessera_core::signer::SignError;

/// Maps a cryptoki error to `SignError::Backend`, naming the call. cryptoki errors never
/// contain the PIN.
pub(super) fn ck(call: &'static str) -> impl Fn(CkError) -> SignError {
    move |e| SignError::Backend(format!("{call}: {e}"))
}

/// An initialised PKCS#11 library. `C_Initialize` and `C_Finalize` are per process, so every
/// signer using the same module shares one, and the last to go finalises it (which lets a
/// signer be dropped and made again, as after a restart).
pub(super) struct Library {
    pub(super) pkcs11: Pkcs11,
    pub(super) path: PathBuf,
    /// False when someone else in the process had initialised it: then it is theirs to finalise.
    owned: bool,
}

/// Libraries by module path. An entry whose `Weak` is dead is being finalised by its `Drop`,
/// which removes it when done; `open` waits for that rather than initialising concurrently.
static LIBRARIES: Mutex<Vec<(PathBuf, Weak<Library>)>> = Mutex::new(Vec::new());

impl Library {
    pub(super) fn open(path: &Path) -> Result<Arc<Self>, SignError> {
        loop {
            let mut libraries = LIBRARIES.lock();
            match libraries.iter().find(|(p, _)| p == path) {
                Some((_, weak)) => match weak.upgrade() {
                    Some(library) => return Ok(library),
                    None => {
                        drop(libraries);
                        std::thread::yield_now();
                    }
                },
                None => {
                    let pkcs11 = Pkcs11::new(path)
                        .map_err(|e| SignError::Backend(format!("cannot load {}: {e}", path.display())))?;
                    let owned = match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
                    {
                        Ok(()) => true,
                        Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
                        Err(e) => return Err(ck("C_Initialize")(e)),
                    };
                    let library = Arc::new(Library { pkcs11, path: path.to_owned(), owned });
                    libraries.push((path.to_owned(), Arc::downgrade(&library)));
                    return Ok(library);
                }
            }
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        let mut libraries = LIBRARIES.lock();
        if self.owned {
            // Nothing to do about a failing C_Finalize at shutdown.
            let _ = self.pkcs11.clone().finalize();
        }
        libraries.retain(|(p, weak)| !(p == &self.path && weak.strong_count() == 0));
    }
}

/// The first slot whose token is labelled `label`.
pub(super) fn find_slot(pkcs11: &Pkcs11, label: &str) -> Result<Slot, SignError> {
    let mut seen = Vec::new();
    for slot in pkcs11.get_slots_with_initialized_token().map_err(ck("C_GetSlotList"))? {
        let info = pkcs11.get_token_info(slot).map_err(ck("C_GetTokenInfo"))?;
        // Labels are blank-padded to 32 bytes on the wire.
        let found = info.label().trim_end();
        if found == label {
            return Ok(slot);
        }
        seen.push(found.to_owned());
    }
    Err(SignError::Backend(format!("no initialised token labelled {label:?} (found {seen:?})")))
}

/// Opens an R/W session on `slot` and logs the user in.
pub(super) fn open_session(pkcs11: &Pkcs11, slot: Slot, pin: &AuthPin) -> Result<Session, SignError> {
    let session = pkcs11.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
    match session.login(UserType::User, Some(pin)) {
        // Login state belongs to the application, not the session: every session after the
        // first is already logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(ck("C_Login")(e)),
    }
}

/// Errors after which a session is useless and must be reopened.
pub(super) fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent,
            _
        )
    )
}
