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

/// Longest wait for an operator's cut-off second: the next one, or two with a clock that
/// ticked between readings. A cut-off further ahead was set with a clock ahead of this one, and
/// waiting for it is not the request's to do.
pub const MAX_CUT_OFF_WAIT_SECS: UnixSecs = 2;

/// Waits until Unix second `at` has begun, if it is at most [`MAX_CUT_OFF_WAIT_SECS`] ahead;
/// `false`, without waiting, when it is further ahead.
pub async fn wait_for_second(at: UnixSecs) -> bool {
    if at - now() > MAX_CUT_OFF_WAIT_SECS {
        return false;
    }
    tokio::time::sleep(until_second(at)).await;
    true
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_second_is_zero_for_a_second_begun() {
        assert_eq!(until_second(0), Duration::ZERO, "long past");
        assert_eq!(until_second(-5), Duration::ZERO, "before the epoch");
        // Two seconds ahead, so a tick of the clock between the two readings cannot matter.
        let soon = until_second(now() + 2);
        assert!(soon > Duration::ZERO && soon <= Duration::from_secs(2), "{soon:?}");
    }

    // Paused tokio time: what was waited is measured exactly, whatever the machine's speed.
    #[tokio::test(start_paused = true)]
    async fn a_cut_off_second_is_waited_for_only_when_near() {
        let started = tokio::time::Instant::now();
        assert!(wait_for_second(0).await, "long past: nothing to wait for");
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(!wait_for_second(now() + 3600).await, "an hour ahead: not waited for");
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(wait_for_second(now() + MAX_CUT_OFF_WAIT_SECS).await);
        let waited = started.elapsed();
        assert!(waited > Duration::ZERO && waited <= Duration::from_secs(2), "{waited:?}");
    }
}
