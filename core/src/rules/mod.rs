//! The decision rules of the store: what a code take, a refresh-token use, a family's first
//! token, a family revocation and a key rotation decide, as pure functions.
//!
//! Each rule takes the state a backend read (the stored records, `now`, the grace period) and
//! returns a decision that names the outcome and lists the writes the backend must apply. The
//! backend's part is mechanical: read the records, call the rule, apply its writes in the same
//! atomic step as the read (the fjall writer thread's round today, a database transaction
//! tomorrow), and answer the outcome once the writes are durable. No backend copies a rule, so
//! two backends cannot disagree on whether a token was reused.
//!
//! One file per record family: [`code`] (single use, replays), [`refresh`] (rotation, grace,
//! reuse, tombstones), [`keys`] (the current signing key, conditional rotation). Sessions have
//! no rule of their own: the store only puts, reads (an expired one reads as absent) and
//! deletes them.

pub mod code;
pub mod keys;
pub mod refresh;
