//! First start and every start: the admin key, the pages' CSRF key, the `default` tenant on an empty data dir, and
//! loading every tenant's keys into the signer before the first request.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::model::{Tenant, TenantSettings};
use tessera_core::secret;
use tessera_core::store::StoreError;

use crate::app::App;
use crate::http::respond::ApiError;
use crate::util::{now, random};

/// Marks a data dir whose first start completed, so a deleted `default` tenant stays deleted.
const INITIALIZED_MARKER: &str = "initialized";
const ADMIN_KEY_FILE: &str = "admin-key";
const PAGE_KEY_FILE: &str = "page-key";

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// File system trouble in the data dir.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        err: std::io::Error,
    },
    /// Tenants or keys could not be set up.
    #[error("{0}")]
    Setup(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BootstrapError {
    let what = what.into();
    move |err| BootstrapError::Io { what, err }
}

/// The digest of the admin key: `TESSERA_ADMIN_KEY` when set; else the key saved in the data
/// dir; else a new random key, saved with mode 0600, whose path (never the key) is printed.
pub fn admin_key(data_dir: &Path, from_env: Option<&str>) -> Result<[u8; 32], BootstrapError> {
    if let Some(key) = from_env {
        return usable_key(key.trim(), "TESSERA_ADMIN_KEY");
    }
    let path = data_dir.join(ADMIN_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(key) => return usable_key(key.trim(), &path.display().to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io(format!("reading {}", path.display()))(err)),
    }
    let key = secret::encode_secret(&random().map_err(|e| BootstrapError::Setup(e.to_string()))?);
    write_secret_file(data_dir, ADMIN_KEY_FILE, &key)?;
    // The key itself never reaches a log or a terminal: an operator reads the file.
    println!("admin key generated and saved to {} (mode 0600)", path.display());
    Ok(secret::digest(&key))
}

/// Writes a new secret file `name` in the data dir with mode 0600: whole to a temporary file,
/// synced, then renamed into place and the directory synced, so a crash leaves either no file
/// (a new secret next start) or a complete one, never an empty or partial one.
fn write_secret_file(data_dir: &Path, name: &str, contents: &str) -> Result<(), BootstrapError> {
    let path = data_dir.join(name);
    let tmp = data_dir.join(format!("{name}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(format!("creating {}", tmp.display())))?
    };
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(format!("writing {name}")))?;
    std::fs::rename(&tmp, &path).map_err(io(format!("renaming to {}", path.display())))?;
    std::fs::File::open(data_dir).and_then(|d| d.sync_all()).map_err(io("syncing the data dir"))
}

/// The server's key for the pages' CSRF tokens (`web::csrf`): 32 random bytes kept in
/// `{data_dir}/page-key` (base64url, mode 0600), made on the first start. It only ever
/// authenticates tokens this server hands out, so losing it costs nothing but the forms open
/// at that moment; it is never printed.
pub fn page_key(data_dir: &Path) -> Result<[u8; 32], BootstrapError> {
    let path = data_dir.join(PAGE_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            return decode_key(text.trim()).ok_or_else(|| {
                BootstrapError::Setup(format!(
                    "{} is not a page key (43 base64url characters); delete it to have a new one made",
                    path.display()
                ))
            });
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io(format!("reading {}", path.display()))(err)),
    }
    let key: [u8; 32] = random().map_err(|e| BootstrapError::Setup(e.to_string()))?;
    write_secret_file(data_dir, PAGE_KEY_FILE, &secret::encode_secret(&key))?;
    Ok(key)
}

/// 32 bytes from their 43 base64url characters.
fn decode_key(text: &str) -> Option<[u8; 32]> {
    URL_SAFE_NO_PAD.decode(text).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
}

/// Fewest characters of an admin key: a generated key has 43 (256 bits in base64url), and a
/// key typed by an operator must not be guessable.
pub const MIN_ADMIN_KEY_CHARS: usize = 32;

/// Refuses an admin key shorter than [`MIN_ADMIN_KEY_CHARS`] (an empty one would let anyone
/// in), or one no `Authorization` header could carry (anything but visible ASCII).
fn usable_key(key: &str, source: &str) -> Result<[u8; 32], BootstrapError> {
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BootstrapError::Setup(format!(
            "the admin key from {source} must be visible ASCII characters only (no spaces), \
             since it travels in an Authorization header"
        )));
    }
    let chars = key.len();
    if chars < MIN_ADMIN_KEY_CHARS {
        return Err(BootstrapError::Setup(format!(
            "the admin key from {source} has {chars} characters; it needs at least {MIN_ADMIN_KEY_CHARS} \
             (for example 32 random bytes in base64url)"
        )));
    }
    Ok(secret::digest(key))
}

/// An error as the operator starting the server reads it: with the detail of an internal
/// failure, which the admin API keeps to its log.
fn operator_detail(e: ApiError) -> String {
    match e {
        ApiError::Internal(detail) => detail,
        other => other.to_string(),
    }
}

/// Creates `default` on the first start of an empty store, then loads every tenant's keys. A
/// node joining a shared store that already has tenants creates nothing: an operator may have
/// deleted `default` there on purpose.
pub async fn tenants(app: &App, data_dir: &Path) -> Result<(), BootstrapError> {
    let setup = |e: ApiError| BootstrapError::Setup(operator_detail(e));
    let marker = data_dir.join(INITIALIZED_MARKER);
    if !marker.exists() {
        if app.store.tenants().await.map_err(|e| BootstrapError::Setup(e.to_string()))?.is_empty() {
            let tenant = Tenant::new("default".into(), "Default".into(), TenantSettings::default(), now());
            match app.store.create_tenant(&tenant).await {
                // Another node sharing the store created it first: theirs stands.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(BootstrapError::Setup(e.to_string())),
            }
            app.keys
                .current_or_create(&tenant.id, tenant.settings.access_token_alg, now())
                .await
                .map_err(setup)?;
        }
        std::fs::write(&marker, b"").map_err(io("writing the initialized marker"))?;
    }
    for tenant in app.store.tenants().await.map_err(|e| BootstrapError::Setup(e.to_string()))? {
        // A key this node cannot open (sealed under a key-encryption key it was not given)
        // stops the start here, rather than at the tenant's first token.
        app.keys.load(&tenant.id).await.map_err(|e| {
            BootstrapError::Setup(format!(
                "cannot load the signing keys of tenant {}: {}",
                tenant.id,
                operator_detail(e)
            ))
        })?;
    }
    Ok(())
}
