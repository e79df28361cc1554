//! Time and randomness for the server, in one place so handlers take them as values.

use std::time::{SystemTime, UNIX_EPOCH};

use tessera_core::model::UnixSecs;

/// Now, in Unix seconds.
pub fn now() -> UnixSecs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Fresh random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}
