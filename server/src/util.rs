//! Time and randomness for the server, in one place so handlers take them as values; and the
//! client address a limit counts.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_core::model::UnixSecs;

/// Now, in Unix seconds.
pub fn now() -> UnixSecs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How long until Unix second `at` begins (zero if it has): what an operator's cut-off waits
/// for before answering (a user's enable, a revoke-all).
pub fn until_second(at: UnixSecs) -> Duration {
    let at = Duration::from_secs(u64::try_from(at).unwrap_or(0));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    at.saturating_sub(now)
}

/// Fresh random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// The address a limit counts (login attempts, open connections): IPv6 hosts are given whole
/// /64 prefixes, so one host could otherwise rotate through 2^64 addresses; IPv4-mapped
/// addresses count as IPv4.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}
