//! tessera-storage-postgres: the PostgreSQL backend of [`tessera_core::store::Store`], for
//! several stateless nodes sharing one database.
//!
//! [`PgStore`] keeps each record kind in a table of its own (`migrations/`), the record as the
//! bytes the fjall backend writes (`tessera_storage::encoding`) and real columns only for what
//! SQL looks up, indexes, orders or decides on. Every decision that must be made once is made
//! in the database, in one short transaction (`records`, `users`, `grants`): create-if-absent
//! by primary key, name uniqueness by a primary key over folded names, code takes and refresh
//! rotations under row locks applying `tessera_core::rules`, key rotation's compare-and-set
//! under the tenant's row lock. Changes reach this handle's listeners after COMMIT and before
//! the write resolves, and other nodes' through a changes table and LISTEN/NOTIFY (`feed`).
//! Expired rows leave in bounded batches (`expiry`). The schema is migrated at open under an
//! advisory lock (`schema`).
//!
//! Architecture invariants: no decision of the contract is made from a read outside the
//! transaction that writes its outcome; no listener hears a change before its COMMIT; nothing
//! but `schema` issues DDL.

// `unsafe_code`, `clippy::unwrap_used` and `missing_docs` come from the workspace lints.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod assertions;
mod batch;
mod cache;
mod db;
mod error;
mod events;
mod exclusive;
mod expiry;
mod federation;
mod feed;
mod grants;
mod lockouts;
mod records;
mod schema;
mod sql;
mod store;
mod tls;
mod users;

pub use db::PgOptions;
pub use error::PgError;
pub use store::PgStore;
pub use tessera_storage::Clock;
