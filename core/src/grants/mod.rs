//! Grant handlers, one module per grant: each validates a typed request against the client and
//! says what to issue.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
