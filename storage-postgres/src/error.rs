//! The backend's own errors ([`PgError`]) and their mapping to the store contract's
//! [`StoreError`]: what the database refused for a uniqueness rule is a conflict, a lost or
//! unreachable database is `Unreachable` (503 and retry, not a server error), any other
//! database error is I/O, a pool that is shut is a closed store.

use deadpool_postgres::PoolError;
use tessera_core::store::StoreError;
use tokio_postgres::error::SqlState;

/// Why a PostgreSQL operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// No connection could be had from the pool.
    #[error("connection pool: {0}")]
    Pool(#[from] PoolError),
    /// The database answered with an error, or the connection broke.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The store refused the operation (a conflict, a corrupt record): already the contract's
    /// answer.
    #[error(transparent)]
    Refused(#[from] StoreError),
    /// The store could not be set up (a bad URL, a failed migration).
    #[error("{0}")]
    Setup(String),
}

impl From<PgError> for StoreError {
    fn from(err: PgError) -> Self {
        match err {
            PgError::Refused(err) => err,
            PgError::Pool(PoolError::Closed) => StoreError::Closed,
            PgError::Pool(PoolError::Timeout(_)) => {
                StoreError::Busy("no database connection free in time".to_owned())
            }
            PgError::Pool(PoolError::Backend(err)) | PgError::Db(err) => from_db(&err),
            PgError::Pool(other) => StoreError::Io(format!("connection pool: {other}")),
            PgError::Setup(detail) => StoreError::Io(detail),
        }
    }
}

/// A database error as the contract names it. A unique-index violation is the database
/// deciding a uniqueness rule (two writers raced for one name or id): a conflict, nothing
/// written. A serialization failure or deadlock aborted the transaction, so nothing was
/// written either; the caller may retry, as after any conflict.
fn from_db(err: &tokio_postgres::Error) -> StoreError {
    if is_unreachable(err) {
        return StoreError::Unreachable(format!("database: {err}"));
    }
    match err.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => {
            StoreError::Conflict(format!("taken: {}", err.as_db_error().map_or("", |e| e.message())))
        }
        Some(code)
            if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            StoreError::Conflict(format!("concurrent write: {err}"))
        }
        _ => StoreError::Io(format!("database: {err}")),
    }
}

/// Whether `err` says the database is out of reach rather than that it refused the statement:
/// a connection that broke or could not be made (no SQLSTATE), or the server saying so itself
/// (class 08, connection exception; 57P01–57P03, shutting down, crashed, starting up). A write
/// failing so is not acknowledged; if the connection broke after its COMMIT was sent, the
/// commit may still have happened, which the answer (503, retry) leaves open, as a lost
/// response would.
fn is_unreachable(err: &tokio_postgres::Error) -> bool {
    match err.code() {
        None => err.is_closed() || err.as_db_error().is_none(),
        Some(code) => {
            code.code().starts_with("08")
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
        }
    }
}

/// The answer for a decision the database refused: a conflict.
pub(crate) fn conflict(why: impl Into<String>) -> PgError {
    PgError::Refused(StoreError::Conflict(why.into()))
}

/// A record that could not be stored because its ids cannot be keyed (refused before any I/O).
pub(crate) fn invalid(what: &str) -> StoreError {
    StoreError::Corrupt {
        key: format!("{what}:?"),
        detail: format!("refusing to write: {what} has an invalid id"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_passes_through_and_a_shut_pool_is_closed() {
        let conflict: StoreError = conflict("taken").into();
        assert_eq!(conflict, StoreError::Conflict("taken".into()));
        assert_eq!(StoreError::from(PgError::Pool(PoolError::Closed)), StoreError::Closed);
        assert!(matches!(StoreError::from(PgError::Setup("x".into())), StoreError::Io(_)));
    }
}
