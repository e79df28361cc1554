//! `tessera-load`: closed-loop HTTP/1.1 load on an OAuth 2.0 / OpenID Connect server found by
//! discovery, with HdrHistogram percentiles.
//!
//! This file is the command line: it checks the arguments (loopback only, bounded runs), builds
//! the tokio runtime, and for each scenario runs the preflight and then one measured run per
//! concurrency. Results go to stdout, one line each (`scenario rps p50_ms p99_ms non2xx`);
//! everything else goes to stderr on lines starting with `#`.
//!
//! Exit status: 0 when every scenario ran with a clean preflight, 3 when a preflight found a
//! problem or a scenario could not run, 2 on a usage or fatal error.

mod browser;
mod client;
mod code_flow;
mod discovery;
mod error;
mod procstat;
mod report;
mod request;
mod runner;
mod scenario;
mod target;
mod token_shape;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::code_flow::FlowSettings;
use crate::error::{Context, Error, Result};
use crate::report::Summary;
use crate::request::Credentials;
use crate::runner::{RunConfig, RunStats};
use crate::scenario::{Load, Scenario, Settings};
use crate::target::LoopbackUrl;

/// Most connections one run may open.
const MAX_CONCURRENCY: usize = 20_000;
/// Longest measured window, s.
const MAX_DURATION_SECS: u64 = 3_600;
/// Longest warmup, s.
const MAX_WARMUP_SECS: u64 = 600;
/// Longest per-request timeout, s.
const MAX_TIMEOUT_SECS: u64 = 120;
/// Most tokio worker threads.
const MAX_THREADS: usize = 512;

/// Closed-loop load on a loopback OAuth 2.0 / OpenID Connect server.
///
/// Prints one line per scenario and concurrency on stdout: `scenario rps p50_ms p99_ms non2xx`
/// (rps = 2xx responses per second; non2xx = non-2xx responses + transport errors). Details go
/// to stderr as lines starting with '#'.
#[derive(Debug, Parser)]
#[command(name = "tessera-load", version)]
struct Args {
    /// Issuer / base URL; must be http:// on a loopback address,
    /// e.g. http://127.0.0.1:8080/t/default
    base_url: String,

    /// Client for every scenario (client_secret_basic)
    #[arg(long, env = "LOAD_CLIENT_ID")]
    client_id: Option<String>,
    /// Its secret
    #[arg(long, env = "LOAD_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Client for cc_opaque and introspect (default: --client-id)
    #[arg(long, env = "LOAD_OPAQUE_CLIENT_ID")]
    opaque_client_id: Option<String>,
    /// Its secret
    #[arg(long, env = "LOAD_OPAQUE_CLIENT_SECRET", hide_env_values = true)]
    opaque_client_secret: Option<String>,

    /// Relying party of code_flow and refresh (client_secret_basic; default: --client-id)
    #[arg(long, env = "LOAD_FLOW_CLIENT_ID")]
    flow_client_id: Option<String>,
    /// Its secret
    #[arg(long, env = "LOAD_FLOW_CLIENT_SECRET", hide_env_values = true)]
    flow_client_secret: Option<String>,
    /// End user who logs in (once, in setup) for code_flow and refresh
    #[arg(long, env = "LOAD_USER")]
    user: Option<String>,
    /// Their password
    #[arg(long, env = "LOAD_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Redirect URI registered for the flow client (never contacted)
    #[arg(long, default_value = "http://127.0.0.1:9/cb")]
    redirect_uri: String,
    /// `scope` of the authorization requests of code_flow and refresh
    #[arg(long, default_value = "openid profile offline_access")]
    flow_scope: String,

    /// `resource` sent by cc_jwt (default: none)
    #[arg(long)]
    jwt_resource: Option<String>,
    /// `resource` sent by cc_opaque and for introspect's token (default: none)
    #[arg(long)]
    opaque_resource: Option<String>,
    /// `scope` sent with client_credentials; empty string = no scope parameter
    #[arg(long, default_value = "api:read")]
    scope: String,

    /// Connection counts to measure, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "32,128")]
    concurrency: Vec<usize>,
    /// Seconds of each measured run
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Seconds of unrecorded load before each measured run (0 = none)
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// End each measured run after this many requests (the duration still bounds it)
    #[arg(long)]
    requests: Option<u64>,
    /// Scenarios to run, comma-separated: cc_jwt, cc_opaque, introspect, discovery, jwks,
    /// code_flow, refresh
    #[arg(long, value_delimiter = ',', default_value = "cc_jwt,cc_opaque,introspect,discovery,jwks")]
    scenarios: Vec<Scenario>,
    /// Tokio worker threads (default: available parallelism, which respects taskset)
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds to wait for a connect or a whole response before counting an error
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Server process whose CPU use and RSS go into the '#' lines
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print a JSON object per run on stdout instead of the text line
    #[arg(long)]
    json: bool,
    /// Loopback addresses (ip:port, comma-separated) the connections go to round-robin instead
    /// of the URL's: several nodes of one server behind one public URL
    #[arg(long, value_delimiter = ',')]
    spread_to: Vec<std::net::SocketAddr>,
}

fn credentials(id: Option<String>, secret: Option<String>, flag: &str) -> Result<Option<Credentials>> {
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(Some(Credentials { id, secret })),
        (None, None) => Ok(None),
        _ => Err(Error::msg(format!("--{flag}-id and --{flag}-secret go together"))),
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(what: &str, v: T, lo: T, hi: T) -> Result<T> {
    if v < lo || v > hi {
        return Err(Error::msg(format!("{what} must be between {lo} and {hi}, not {v}")));
    }
    Ok(v)
}

/// Checked arguments.
struct Job {
    base_url: String,
    settings: Settings,
    scenarios: Vec<Scenario>,
    concurrency: Vec<usize>,
    run: RunConfig,
    threads: usize,
    server_pid: Option<u32>,
    json: bool,
}

impl Job {
    fn from_args(a: Args) -> Result<Self> {
        let base_url = a.base_url.trim_end_matches('/').to_owned();
        LoopbackUrl::parse(&base_url)?;
        if a.concurrency.is_empty() || a.scenarios.is_empty() {
            return Err(Error::msg("--concurrency and --scenarios may not be empty"));
        }
        for &c in &a.concurrency {
            in_range("--concurrency", c, 1, MAX_CONCURRENCY)?;
        }
        let threads = match a.threads {
            Some(n) => in_range("--threads", n, 1, MAX_THREADS)?,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        let timeout = Duration::from_secs(in_range("--timeout", a.timeout, 1, MAX_TIMEOUT_SECS)?);
        if let Some(n) = a.requests {
            in_range("--requests", n, 1, u64::MAX)?;
        }
        let client = credentials(a.client_id, a.client_secret, "client")?;
        let flow_client =
            credentials(a.flow_client_id, a.flow_client_secret, "flow-client")?.or_else(|| client.clone());
        let flow = match (flow_client, a.user, a.password) {
            (Some(client), Some(user), Some(password)) => {
                if a.flow_scope.trim().is_empty() || a.redirect_uri.is_empty() {
                    return Err(Error::msg("--flow-scope and --redirect-uri may not be empty"));
                }
                Some(FlowSettings {
                    client,
                    user,
                    password,
                    redirect_uri: a.redirect_uri,
                    scope: a.flow_scope,
                })
            }
            (_, None, None) => None,
            (_, Some(_), None) | (_, None, Some(_)) => {
                return Err(Error::msg("--user and --password go together"));
            }
            (None, Some(_), Some(_)) => None,
        };
        Ok(Self {
            base_url,
            settings: Settings {
                client,
                opaque_client: credentials(a.opaque_client_id, a.opaque_client_secret, "opaque-client")?,
                scope: Some(a.scope).filter(|s| !s.is_empty()),
                jwt_resource: a.jwt_resource.filter(|s| !s.is_empty()),
                opaque_resource: a.opaque_resource.filter(|s| !s.is_empty()),
                timeout,
                flow,
            },
            scenarios: a.scenarios,
            concurrency: a.concurrency,
            run: RunConfig {
                concurrency: 0,
                warmup: Duration::from_secs(in_range("--warmup", a.warmup, 0, MAX_WARMUP_SECS)?),
                duration: Duration::from_secs(in_range("--duration", a.duration, 1, MAX_DURATION_SECS)?),
                requests: a.requests,
                timeout,
                spread: spread(a.spread_to)?,
            },
            threads,
            server_pid: a.server_pid,
            json: a.json,
        })
    }
}

/// The `--spread-to` addresses, each on loopback.
fn spread(addrs: Vec<std::net::SocketAddr>) -> Result<std::sync::Arc<[std::net::SocketAddr]>> {
    if let Some(away) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(Error::msg(format!(
            "refusing --spread-to {away}: not a loopback address; this tool sends load to the local machine only"
        )));
    }
    Ok(addrs.into())
}

fn percent(cpu: Option<Duration>, wall: Duration) -> String {
    match cpu {
        Some(c) if !wall.is_zero() => {
            format!("{:.0}%", c.as_secs_f64() / wall.as_secs_f64() * 100.0)
        }
        _ => "?".to_owned(),
    }
}

fn cpu_delta(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    Some(after?.saturating_sub(before?))
}

/// Runs every scenario; returns whether all preflights were clean.
async fn execute(job: &Job) -> Result<bool> {
    let ep = discovery::discover(&job.base_url, job.settings.timeout).await?;
    eprintln!(
        "# discovery={} issuer={} token={} introspection={} jwks={}",
        ep.discovery.url,
        ep.issuer.as_deref().unwrap_or("-"),
        ep.token.url,
        ep.introspection.as_ref().map_or("none".to_owned(), |u| u.url.to_string()),
        ep.jwks.as_ref().map_or("none".to_owned(), |u| u.url.to_string()),
    );
    eprintln!(
        "# loadgen tessera-load threads={} duration={}s warmup={}s requests={} concurrency={:?} \
         timeout={}s pid={}",
        job.threads,
        job.run.duration.as_secs(),
        job.run.warmup.as_secs(),
        job.run.requests.map_or("-".to_owned(), |n| n.to_string()),
        job.concurrency,
        job.run.timeout.as_secs(),
        std::process::id(),
    );
    let mut clean = true;
    for &scenario in &job.scenarios {
        let prepared = match scenario::prepare(scenario, &ep, &job.settings).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("# SKIP {scenario}: {e}");
                clean = false;
                continue;
            }
        };
        clean &= prepared.preflight_ok;
        for &concurrency in &job.concurrency {
            let cfg = RunConfig { concurrency, ..job.run.clone() };
            // Per-user setup (refresh chains) happens before the clocks start.
            let refresh_users = match &prepared.load {
                Load::Refresh(ctx) => {
                    let t0 = Instant::now();
                    let users = code_flow::refresh_users(ctx, concurrency, job.settings.timeout).await?;
                    eprintln!(
                        "# setup {scenario}_c{concurrency}: {} refresh chains in {:.1?}",
                        users.len(),
                        t0.elapsed()
                    );
                    Some(users)
                }
                _ => None,
            };
            let wall0 = Instant::now();
            let (me0, server0) =
                (procstat::cpu_time(None), job.server_pid.and_then(|p| procstat::cpu_time(Some(p))));
            let stats: RunStats = match (&prepared.load, refresh_users) {
                (Load::Repeat(template), _) => runner::run(template, &cfg).await?,
                (Load::CodeFlow(ctx), _) => {
                    runner::run_users(code_flow::code_flow_users(ctx, concurrency)?, &cfg).await?
                }
                (Load::Refresh(_), Some(users)) => runner::run_users(users, &cfg).await?,
                (Load::Refresh(_), None) => return Err(Error::msg("refresh users were not set up")),
            };
            let wall = wall0.elapsed();
            let (me1, server1) =
                (procstat::cpu_time(None), job.server_pid.and_then(|p| procstat::cpu_time(Some(p))));
            let summary = Summary::new(scenario.name(), concurrency, &stats);
            if job.json {
                println!("{}", summary.json()?);
            } else {
                println!("{}", summary.line());
            }
            let mut details =
                format!("{} loadgen_cpu={}", summary.details(), percent(cpu_delta(me0, me1), wall));
            if let Some(pid) = job.server_pid {
                details.push_str(&format!(
                    " server_cpu={} server_rss={}",
                    percent(cpu_delta(server0, server1), wall),
                    procstat::rss_kib(pid).map_or("?".to_owned(), |k| format!("{}MiB", k / 1024))
                ));
            }
            if let Load::Refresh(ctx) = &prepared.load {
                let replaced = ctx.chains_replaced.swap(0, std::sync::atomic::Ordering::Relaxed);
                details.push_str(&format!(" chains_replaced={replaced}"));
            }
            if let Some(e) = &stats.tally.last_error {
                details.push_str(&format!(" last_error={e:?}"));
            }
            eprintln!("{details}");
            if job.run.requests.is_some() && !stats.budget_spent {
                eprintln!("# WARNING {}: the duration ran out before --requests were sent", summary.scenario);
            }
        }
    }
    Ok(clean)
}

fn real_main(args: Args) -> Result<ExitCode> {
    let job = Job::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(job.threads)
        .enable_all()
        .build()
        .context(|| "starting the tokio runtime".to_owned())?;
    let clean = runtime.block_on(execute(&job))?;
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

fn main() -> ExitCode {
    match real_main(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tessera-load: error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(args: &[&str]) -> Result<Job> {
        let mut argv = vec!["tessera-load"];
        argv.extend_from_slice(args);
        Job::from_args(Args::try_parse_from(argv).map_err(|e| Error::msg(e.to_string()))?)
    }

    #[test]
    fn load_spreads_to_loopback_nodes_only() {
        let j = job(&["http://127.0.0.1:3100", "--spread-to", "127.0.0.1:3101,127.0.0.2:3102"])
            .expect("loopback");
        assert_eq!(j.run.spread.len(), 2);
        assert!(job(&["http://127.0.0.1:3100"]).expect("no spread").run.spread.is_empty());
        assert!(job(&["http://127.0.0.1:3100", "--spread-to", "10.0.0.1:80"]).is_err());
    }

    #[test]
    fn defaults() {
        let j = job(&["http://127.0.0.1:3100/"]).expect("valid");
        assert_eq!(j.base_url, "http://127.0.0.1:3100");
        assert_eq!(j.concurrency, [32, 128]);
        assert_eq!(j.scenarios, Scenario::ALL[..5]);
        assert!(j.settings.flow.is_none());
        assert_eq!(j.settings.scope.as_deref(), Some("api:read"));
        assert_eq!(j.run.duration, Duration::from_secs(20));
        assert_eq!(j.run.warmup, Duration::from_secs(3));
        assert!(j.settings.client.is_none() && j.settings.jwt_resource.is_none());
    }

    #[test]
    fn parses_lists_and_empty_scope() {
        let j = job(&[
            "http://localhost:8080/t/default",
            "--concurrency",
            "1,64",
            "--scenarios",
            "jwks,cc_opaque",
            "--scope",
            "",
            "--client-id",
            "c",
            "--client-secret",
            "s",
        ])
        .expect("valid");
        assert_eq!(j.concurrency, [1, 64]);
        assert_eq!(j.scenarios, [Scenario::Jwks, Scenario::CcOpaque]);
        assert_eq!(j.settings.scope, None);
        assert_eq!(j.settings.client.map(|c| c.id).as_deref(), Some("c"));
    }

    #[test]
    fn flow_settings_default_to_the_client() {
        let j = job(&[
            "http://127.0.0.1:8080/t/default",
            "--scenarios",
            "code_flow,refresh",
            "--client-id",
            "c",
            "--client-secret",
            "s",
            "--user",
            "alice",
            "--password",
            "pw",
        ])
        .expect("valid");
        assert_eq!(j.scenarios, [Scenario::CodeFlow, Scenario::Refresh]);
        let flow = j.settings.flow.expect("flow settings");
        assert_eq!((flow.client.id.as_str(), flow.user.as_str()), ("c", "alice"));
        assert_eq!(flow.redirect_uri, "http://127.0.0.1:9/cb");
        assert_eq!(flow.scope, "openid profile offline_access");

        let j = job(&[
            "http://127.0.0.1:3100",
            "--flow-client-id",
            "rp",
            "--flow-client-secret",
            "rps",
            "--user",
            "u",
            "--password",
            "p",
            "--redirect-uri",
            "http://127.0.0.1:9999/cb",
        ])
        .expect("valid");
        assert!(j.settings.client.is_none());
        let flow = j.settings.flow.expect("flow settings");
        assert_eq!((flow.client.id.as_str(), flow.redirect_uri.as_str()), ("rp", "http://127.0.0.1:9999/cb"));
    }

    #[test]
    fn refuses_bad_arguments() {
        for bad in [
            &["http://203.0.113.9:80"][..],
            &["http://127.0.0.1", "--concurrency", "0"],
            &["http://127.0.0.1", "--duration", "0"],
            &["http://127.0.0.1", "--duration", "100000"],
            &["http://127.0.0.1", "--scenarios", "cc_bogus"],
            &["http://127.0.0.1", "--client-id", "only-id"],
            &["http://127.0.0.1", "--threads", "0"],
            &["http://127.0.0.1", "--requests", "0"],
            &["http://127.0.0.1", "--user", "alice"],
            &["http://127.0.0.1", "--client-id", "c", "--client-secret", "s", "--password", "pw"],
            &["http://127.0.0.1", "--flow-client-id", "c"],
            &[
                "http://127.0.0.1",
                "--client-id",
                "c",
                "--client-secret",
                "s",
                "--user",
                "u",
                "--password",
                "p",
                "--flow-scope",
                "",
            ],
        ] {
            assert!(job(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
