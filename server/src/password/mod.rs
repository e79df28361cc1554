//! User passwords. `argon2id.rs` is the hashing (OWASP's parameters, the PHC string stored); `gate.rs` is [`PasswordWork`], the one way the rest of the server hashes or
//! verifies, which bounds how much of that heavy work runs and waits at once, on the threads of
//! `workers.rs`. The admin API
//! hashes through it (`admin/users.rs`) and the login form verifies through it
//! (`web/login.rs`); neither imports the other.

mod argon2id;
mod gate;
mod guard;
pub mod limits;
mod lockouts;
mod slowdown;
mod workers;

pub use argon2id::DUMMY_HASH;
pub use gate::{GateLimits, PasswordError, PasswordWork};
pub use guard::{PasswordGuard, Permit};
pub use limits::{Limited, Refused};
