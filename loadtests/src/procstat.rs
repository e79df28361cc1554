//! CPU time and resident memory of a process, from Linux's `/proc`, for the `#` detail lines.
//! Everything here is best effort: on another OS, or for a process that is gone, it is `None`.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` times: USER_HZ, 100 on every Linux ABI in use.
const USER_HZ: u64 = 100;

/// CPU time (user + system) of `pid`, or of this process when `None`.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    parse_stat_cpu(&std::fs::read_to_string(path).ok()?)
}

/// utime + stime from the text of `/proc/PID/stat`.
pub fn parse_stat_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    parse_status_kib(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?, "VmRSS")
}

/// A `Key:   123 kB` field of `/proc/PID/status`.
pub fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_status() {
        let stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 5000 0 0 0 250 50 0 0 20 0 11 0";
        assert_eq!(parse_stat_cpu(stat), Some(Duration::from_secs(3)));
        let status = "Name:\tnode\nVmHWM:\t  200000 kB\nVmRSS:\t  172032 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(172_032));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(200_000));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }
}
