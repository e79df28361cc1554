//! Which store a node runs on (`--store`): the embedded fjall store in its data dir (the
//! default), or a PostgreSQL database that several nodes share. Owns how the choice is read
//! from its URL, how it is shown without its password, and how the store is opened and closed.
//!
//! The PostgreSQL store runs on a small runtime of its own ([`DB_THREADS`] threads): its
//! connections, its change-feed follower and its expiry sweeps are driven there, so they keep
//! running while the request threads are busy, and outlive them at shutdown, when what was
//! written last is still committed before the store closes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::store::Store;
use tessera_storage::{FjallStore, StoreOptions};
use tessera_storage_postgres::{PgOptions, PgStore};

/// Threads of the PostgreSQL store's runtime: enough to drive the pool's connections while one
/// thread runs a sweep or the follower; queries themselves wait on the database, not on CPU.
const DB_THREADS: usize = 2;

/// How long closing waits for the PostgreSQL runtime's tasks after the store has closed.
const DB_SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Where the records live.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// The embedded store, in `{data_dir}/store`.
    Fjall,
    /// A PostgreSQL database, by its URL (`postgres://user:password@host:port/database`, with
    /// libpq's options as query parameters).
    Postgres(String),
}

impl StoreChoice {
    /// Reads `--store`: `fjall`, or a `postgres://` or `postgresql://` URL.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value == "fjall" {
            return Ok(Self::Fjall);
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Self::Postgres(value.to_owned()));
        }
        Err(format!("--store must be `fjall` or a postgres:// URL, not {}", redact(value)))
    }

    /// Whether several nodes may share this store.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

impl std::fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fjall => f.write_str("Fjall"),
            Self::Postgres(url) => write!(f, "Postgres({})", redact(url)),
        }
    }
}

/// `url` with any password replaced by `***`: in the userinfo (`user:secret@`) and in a
/// `password=` query parameter. What a log or an error message may show.
pub fn redact(url: &str) -> String {
    let mut shown = url.to_owned();
    if let Some(scheme_end) = shown.find("://") {
        let rest = scheme_end + 3;
        let authority_end = shown[rest..].find(['/', '?']).map_or(shown.len(), |i| rest + i);
        if let Some(at) = shown[rest..authority_end].rfind('@').map(|i| rest + i)
            && let Some(colon) = shown[rest..at].find(':').map(|i| rest + i)
        {
            shown.replace_range(colon + 1..at, "***");
        }
    }
    if let Some(query) = shown.find('?') {
        let (head, params) = shown.split_at(query + 1);
        let params: Vec<String> = params
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => p.to_owned(),
            })
            .collect();
        shown = format!("{head}{}", params.join("&"));
    }
    shown
}

/// Why the store did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The embedded store failed to open.
    #[error("cannot open the store in {dir}: {err}")]
    Fjall {
        /// Its directory.
        dir: String,
        /// Why.
        err: tessera_core::store::StoreError,
    },
    /// The database could not be reached, or its schema brought up to date.
    #[error("cannot open the PostgreSQL store {url}: {err}")]
    Postgres {
        /// Its URL, without the password.
        url: String,
        /// Why.
        err: String,
    },
}

/// An open store, whichever it is.
pub struct OpenStore {
    /// The store, as every part of the server uses it.
    pub store: Arc<dyn Store>,
    /// The embedded store, for what only it reports (its caches and commit metrics).
    pub fjall: Option<Arc<FjallStore>>,
    postgres: Option<(Arc<PgStore>, tokio::runtime::Runtime)>,
}

impl OpenStore {
    /// Opens the store `choice` names; the embedded one in `{data_dir}/store`.
    pub fn open(choice: &StoreChoice, data_dir: &Path) -> Result<Self, OpenError> {
        match choice {
            StoreChoice::Fjall => {
                let dir = data_dir.join("store");
                let store = FjallStore::open(&dir, StoreOptions::default())
                    .map_err(|err| OpenError::Fjall { dir: dir.display().to_string(), err })?;
                let store = Arc::new(store);
                Ok(Self { store: store.clone(), fjall: Some(store), postgres: None })
            }
            StoreChoice::Postgres(url) => {
                let failed = |err: String| OpenError::Postgres { url: redact(url), err };
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(DB_THREADS)
                    .thread_name("tessera-db")
                    .enable_all()
                    .build()
                    .map_err(|e| failed(format!("starting its runtime: {e}")))?;
                let store = runtime
                    .block_on(PgStore::open(url, PgOptions::default()))
                    .map_err(|e| failed(e.to_string()))?;
                let store = Arc::new(store);
                Ok(Self { store: store.clone(), fjall: None, postgres: Some((store, runtime)) })
            }
        }
    }

    /// Closes the store once every write submitted has resolved.
    pub fn close(self) -> Result<(), tessera_core::store::StoreError> {
        if let Some(fjall) = &self.fjall {
            fjall.close()?;
        }
        if let Some((store, runtime)) = self.postgres {
            let closed = runtime.block_on(store.close());
            drop(store);
            runtime.shutdown_timeout(DB_SHUTDOWN_WAIT);
            closed?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_is_fjall_or_a_postgres_url() {
        assert_eq!(StoreChoice::parse("fjall"), Ok(StoreChoice::Fjall));
        let url = "postgres://t:pw@127.0.0.1:5432/tessera";
        assert_eq!(StoreChoice::parse(url), Ok(StoreChoice::Postgres(url.into())));
        assert!(StoreChoice::parse("postgresql://h/db").is_ok_and(|c| c.is_shared()));
        let refused = StoreChoice::parse("mysql://u:hunter2@h/db").expect_err("not a store URL");
        assert!(refused.contains("postgres://") && !refused.contains("hunter2"), "{refused}");
        assert!(StoreChoice::parse("").is_err());
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(redact("postgres://u:hunter2@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://h/db?user=u&password=hunter2&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        // An `@` in the password itself (valid once percent-decoded, seen raw here).
        assert!(!redact("postgres://u:a@b@h/db").contains("a@b"));
        let shown = format!("{:?}", StoreChoice::Postgres("postgres://u:hunter2@h/db".into()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
