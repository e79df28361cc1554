//! Turning a run into output: the stdout line `scenario rps p50_ms p99_ms non2xx`, an optional
//! JSON line, and the `#` detail line for stderr.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Context, Result};
use crate::runner::RunStats;

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `{scenario}_c{concurrency}`.
    pub scenario: String,
    /// Connections.
    pub concurrency: usize,
    /// 2xx responses per second of the measured window.
    pub rps: f64,
    /// Median latency of all responses, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Slowest response, ms.
    pub max_ms: f64,
    /// Non-2xx responses plus transport errors.
    pub non2xx: u64,
    /// 2xx responses.
    pub ok: u64,
    /// Non-2xx responses.
    pub non2xx_status: u64,
    /// Transport errors.
    pub errors: u64,
    /// Responses per status code.
    pub status: BTreeMap<u16, u64>,
    /// Length of the measured window, s.
    pub elapsed_s: f64,
    /// Mean body size, bytes.
    pub bytes_per_response: u64,
    /// Connections reopened after the server closed them.
    pub reconnects: u64,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Summary {
    /// Summarises `stats` of `scenario` at `concurrency`.
    pub fn new(scenario: &str, concurrency: usize, stats: &RunStats) -> Self {
        let t = &stats.tally;
        let secs = stats.elapsed.as_secs_f64();
        let responses = t.ok + t.non2xx_status;
        let q = |q: f64| {
            if t.hist.is_empty() { 0.0 } else { ms(t.hist.value_at_quantile(q)) }
        };
        Self {
            scenario: format!("{scenario}_c{concurrency}"),
            concurrency,
            rps: if secs > 0.0 { t.ok as f64 / secs } else { 0.0 },
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: if t.hist.is_empty() { 0.0 } else { ms(t.hist.max()) },
            non2xx: t.non2xx_status + t.errors,
            ok: t.ok,
            non2xx_status: t.non2xx_status,
            errors: t.errors,
            status: t.by_status.clone(),
            elapsed_s: secs,
            bytes_per_response: t.bytes.checked_div(responses).unwrap_or(0),
            reconnects: t.reconnects,
        }
    }

    /// `cc_jwt_c32 29811 1.02 2.31 0`: rps rounded down, latencies in ms to 2 decimals.
    pub fn line(&self) -> String {
        format!(
            "{} {} {:.2} {:.2} {}",
            self.scenario,
            self.rps.floor() as u64,
            self.p50_ms,
            self.p99_ms,
            self.non2xx
        )
    }

    /// The whole summary as one JSON line.
    pub fn json(&self) -> Result<String> {
        serde_json::to_string(self).context(|| "serialising the summary".to_owned())
    }

    /// The `#` line for stderr: everything the stdout line leaves out.
    pub fn details(&self) -> String {
        let mut s = format!(
            "# {}: ok={} non2xx_status={} errors={} p90={:.2}ms p99.9={:.2}ms max={:.2}ms \
             elapsed={:.2}s bytes/resp={} reconnects={} status={{",
            self.scenario,
            self.ok,
            self.non2xx_status,
            self.errors,
            self.p90_ms,
            self.p999_ms,
            self.max_ms,
            self.elapsed_s,
            self.bytes_per_response,
            self.reconnects,
        );
        let codes: Vec<String> = self.status.iter().map(|(c, n)| format!("{c}:{n}")).collect();
        s.push_str(&codes.join(","));
        s.push('}');
        s
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;

    use super::*;
    use crate::runner::Tally;

    fn summary(rps: f64, p50: f64, p99: f64, non2xx: u64) -> Summary {
        Summary {
            scenario: "cc_jwt_c32".to_owned(),
            concurrency: 32,
            rps,
            p50_ms: p50,
            p90_ms: 0.0,
            p99_ms: p99,
            p999_ms: 0.0,
            max_ms: 0.0,
            non2xx,
            ok: 0,
            non2xx_status: 0,
            errors: 0,
            status: BTreeMap::new(),
            elapsed_s: 0.0,
            bytes_per_response: 0,
            reconnects: 0,
        }
    }

    #[test]
    fn line_format_is_exact() {
        assert_eq!(summary(29811.97, 1.0199, 2.306, 0).line(), "cc_jwt_c32 29811 1.02 2.31 0");
        assert_eq!(summary(0.0, 0.0, 0.0, 7).line(), "cc_jwt_c32 0 0.00 0.00 7");
        assert_eq!(summary(5794.0, 4.5, 14.1, 0).line(), "cc_jwt_c32 5794 4.50 14.10 0");
    }

    #[test]
    fn summary_from_stats() {
        let mut tally = Tally::new().expect("histogram");
        for ms in 1..=100u64 {
            tally.response(StatusCode::OK, 10, Duration::from_millis(ms));
        }
        tally.response(StatusCode::BAD_REQUEST, 10, Duration::from_millis(1));
        tally.error("connection reset");
        let stats = RunStats { tally, elapsed: Duration::from_secs(2), budget_spent: false };
        let s = Summary::new("introspect", 128, &stats);
        assert_eq!(s.scenario, "introspect_c128");
        assert_eq!(s.rps, 50.0);
        assert_eq!(s.non2xx, 2);
        assert_eq!(s.bytes_per_response, 10);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{}", s.p50_ms);
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{}", s.p99_ms);
        assert_eq!(s.line(), format!("introspect_c128 50 {:.2} {:.2} 2", s.p50_ms, s.p99_ms));
        assert!(s.details().starts_with("# introspect_c128: ok=100 non2xx_status=1 errors=1"));
        assert!(s.details().ends_with("status={200:100,400:1}"));
        let json: serde_json::Value =
            serde_json::from_str(&s.json().expect("serialisable")).expect("valid JSON");
        assert_eq!(json["non2xx"], 2);
    }

    #[test]
    fn empty_run_reports_zeroes() {
        let stats = RunStats {
            tally: Tally::new().expect("histogram"),
            elapsed: Duration::ZERO,
            budget_spent: false,
        };
        assert_eq!(Summary::new("jwks", 1, &stats).line(), "jwks_c1 0 0.00 0.00 0");
    }
}
