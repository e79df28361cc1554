//! tessera-storage: the fjall backend of [`tessera_core::store::Store`].
//!
//! [`FjallStore`] keeps every record kind in its own fjall keyspace, encoded with rkyv behind a
//! format-version byte (`codec`), under keys laid out per tenant (`keys`). Durable writes go
//! through one writer thread that group-commits them: one fjall batch and one fsync per round,
//! however many writes are waiting (`writer`); once a round is durable, and before its writes
//! are acknowledged, the listeners of the change feed hear what it changed (`feed`). Tenants
//! and clients are cached with moka (`cache`); each live JWT revocation is a 16-byte
//! fingerprint in memory, confirmed on disk when it matches (`deny`).
//! Expired tokens, revocations, codes, sessions and refresh tokens and families are removed a
//! bounded batch at a time by a background sweeper (`sweeper`). Decisions that must be atomic
//! with their write (a username claim, a code take, a refresh-token rotation, a federated
//! link's creation) run in the writer thread: it reads the records, and for codes and refresh
//! tokens the rule in `tessera_core::rules` decides, then the writer applies its writes.
//!
//! Architecture invariants: only the writer thread mutates the database; reads never wait for
//! it; a write's `Commit` resolves only after an fsync that covers it, and after a failed fsync
//! the store refuses every write (it is *poisoned*) rather than acknowledge data it may lose.

// `unsafe_code`, `clippy::unwrap_used` and `missing_docs` come from the workspace lints; tests may
// unwrap, since a panic is how a test fails.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod api_keys;
mod backfill;
mod cache;
mod codec;
mod deny;
#[doc(hidden)]
pub mod encoding;
mod federation;
mod feed;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod keys;
mod lockouts;
mod options;
mod reads;
mod refold;
mod roles;
mod state;
mod stats;
mod store;
mod sweeper;
mod writer;

pub use options::{Clock, EVENT_DURABLE_WITHIN, StoreOptions};
pub use stats::{BucketsSnapshot, COMMIT_MICROS_BOUNDS, GROUP_SIZE_BOUNDS};
pub use store::{CacheReading, CommitReading, FjallStore};
