//! Configuration: command-line flags and `TESSERA_*` environment variables (API.md), over an
//! optional TOML file (`--config`), over defaults. Secrets (the PKCS#11 PIN, the admin key,
//! the key-encryption key) come only from the environment or a file, never from a flag: a
//! command line is visible to every user of the machine (`ps`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use tessera_signer::Kek;

use crate::http::conn::ConnSettings;
use crate::policy::{MAX_CONCURRENT_PASSWORD_CHECKS, MAX_LOGIN_LOCKOUT_SECS, Policy};
use crate::store_choice::StoreChoice;

/// The `tessera` command line.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about = "A multi-tenant OAuth 2.0 / OpenID Connect server")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server.
    Serve(ServeArgs),
}

/// Which signer holds the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignerKind {
    /// Software keys (aws-lc-rs), private keys in the data dir's store.
    Software,
    /// A PKCS#11 token (an HSM; SoftHSM2 in tests).
    Pkcs11,
}

/// `tessera serve` flags. Each also reads its environment variable.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// A TOML file with any of: data_dir, store, listen, public_url, signer, pkcs11_module,
    /// pkcs11_token_label, session_ttl_secs, refresh_reuse_grace_secs,
    /// login_attempts_per_user_per_minute, login_attempts_per_ip_per_minute, login_lockout_secs,
    /// max_concurrent_password_checks, password_check_max_wait_ms, max_connections,
    /// max_connections_per_address, header_read_timeout_secs, idle_timeout_secs,
    /// body_read_timeout_secs, metrics_listen, validator_circuit_failures,
    /// validator_circuit_open_secs, idp_discovery_refresh_secs, key_encryption_key_file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the node's own files live (the embedded store, the generated admin and page keys).
    #[arg(long, env = "TESSERA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The store: `fjall` (embedded, in the data dir; the default) or a
    /// `postgres://user:password@host:port/database` URL that several nodes share.
    #[arg(long, env = "TESSERA_STORE")]
    pub store: Option<String>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "TESSERA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The URL clients reach the server at; issuers are `{public_url}/t/{tenant}`.
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Which signer holds the keys.
    #[arg(long, env = "TESSERA_SIGNER", value_enum)]
    pub signer: Option<SignerKind>,
    /// Path of the PKCS#11 module.
    #[arg(long, env = "TESSERA_PKCS11_MODULE")]
    pub pkcs11_module: Option<PathBuf>,
    /// Label of the PKCS#11 token to use.
    #[arg(long, env = "TESSERA_PKCS11_TOKEN_LABEL")]
    pub pkcs11_token_label: Option<String>,
    /// Lifetime of an end-user's SSO session, in seconds (default 36000).
    #[arg(long, env = "TESSERA_SESSION_TTL_SECS")]
    pub session_ttl_secs: Option<u32>,
    /// How long a rotated refresh token may still be retried before its reuse revokes the
    /// family, in seconds (default 0: none).
    #[arg(long, env = "TESSERA_REFRESH_REUSE_GRACE_SECS")]
    pub refresh_reuse_grace_secs: Option<u32>,
    /// Password attempts allowed per username from one client address (an IPv6 /64) per
    /// minute (default 10); attempts at one username from all addresses together are slowed,
    /// never refused, beyond three times as many.
    #[arg(long, env = "TESSERA_LOGIN_ATTEMPTS_PER_USER_PER_MINUTE")]
    pub login_attempts_per_user_per_minute: Option<u32>,
    /// Password attempts allowed per client IP address (an IPv6 /64) per minute, whatever the
    /// usernames (default 60).
    #[arg(long, env = "TESSERA_LOGIN_ATTEMPTS_PER_IP_PER_MINUTE")]
    pub login_attempts_per_ip_per_minute: Option<u32>,
    /// Seconds a lockout kept across a restart lasts once a sign-in limit refuses, 1 to 3600
    /// (default 60: a limit's window, after which its allowance has refilled anyway).
    #[arg(long, env = "TESSERA_LOGIN_LOCKOUT_SECS")]
    pub login_lockout_secs: Option<u32>,
    /// Password verifications and hashes (argon2id, 19 MiB each) running at once, at most, 1 to
    /// 1024 (default: the number of CPUs available).
    #[arg(long, env = "TESSERA_MAX_CONCURRENT_PASSWORD_CHECKS")]
    pub max_concurrent_password_checks: Option<usize>,
    /// Milliseconds a password check may wait for a free slot before it is answered 503 with
    /// Retry-After; 0: never wait (default 2000).
    #[arg(long, env = "TESSERA_PASSWORD_CHECK_MAX_WAIT_MS")]
    pub password_check_max_wait_ms: Option<u32>,
    /// Seconds between the writes of API keys' last use, 1 to 3600 (default 60): a key's last
    /// use is noted in memory at each use and written at most once per interval.
    #[arg(long, env = "TESSERA_API_KEY_LAST_USE_INTERVAL_SECS")]
    pub api_key_last_use_interval_secs: Option<u32>,
    /// Failures in a row after which an identity validator's circuit opens and it is skipped,
    /// 1 to 1000 (default 5).
    #[arg(long, env = "TESSERA_VALIDATOR_CIRCUIT_FAILURES")]
    pub validator_circuit_failures: Option<u32>,
    /// Seconds an open circuit stays open before one call tries the validator again, 1 to
    /// 3600 (default 30).
    #[arg(long, env = "TESSERA_VALIDATOR_CIRCUIT_OPEN_SECS")]
    pub validator_circuit_open_secs: Option<u32>,
    /// Seconds after which a sign-in at an external identity provider first reads the
    /// provider's discovery document again, 0 (every sign-in) to 2592000 (default 86400).
    #[arg(long, env = "TESSERA_IDP_DISCOVERY_REFRESH_SECS")]
    pub idp_discovery_refresh_secs: Option<u32>,
    /// Open connections at most (default: the file-descriptor limit, raised to its hard limit
    /// at start, less 128).
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Open connections from one source address (an IPv6 /64) at most (default 512).
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// Seconds a connection with no request in flight may take to begin one: an unfinished
    /// request head, a silent or an idle connection is closed after it (default 10).
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a request in flight may go without a byte read or written (default 30).
    #[arg(long, env = "TESSERA_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Seconds a request body may take to arrive (default 10).
    #[arg(long, env = "TESSERA_BODY_READ_TIMEOUT_SECS")]
    pub body_read_timeout_secs: Option<u64>,
    /// Serve `GET /metrics` on this address only, not on --listen (default: none, /metrics on
    /// --listen); port 0 picks a free one.
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A file holding the key-encryption key that seals software signing keys in the store:
    /// 32 bytes as 64 hex digits or as base64/base64url (whitespace around it ignored). Or give
    /// the key itself in TESSERA_KEY_ENCRYPTION_KEY; not both.
    #[arg(long, env = "TESSERA_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    store: Option<String>,
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    signer: Option<SignerKind>,
    pkcs11_module: Option<PathBuf>,
    pkcs11_token_label: Option<String>,
    session_ttl_secs: Option<u32>,
    refresh_reuse_grace_secs: Option<u32>,
    login_attempts_per_user_per_minute: Option<u32>,
    login_attempts_per_ip_per_minute: Option<u32>,
    login_lockout_secs: Option<u32>,
    max_concurrent_password_checks: Option<usize>,
    password_check_max_wait_ms: Option<u32>,
    api_key_last_use_interval_secs: Option<u32>,
    validator_circuit_failures: Option<u32>,
    validator_circuit_open_secs: Option<u32>,
    idp_discovery_refresh_secs: Option<u32>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    body_read_timeout_secs: Option<u64>,
    metrics_listen: Option<SocketAddr>,
    key_encryption_key_file: Option<PathBuf>,
}

/// The PKCS#11 settings.
#[derive(Debug)]
pub struct Pkcs11Settings {
    /// Module path.
    pub module: PathBuf,
    /// Token label.
    pub token_label: String,
    /// User PIN (from `TESSERA_PKCS11_PIN`).
    pub pin: String,
}

/// The resolved configuration.
#[derive(Debug)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// The store.
    pub store: StoreChoice,
    /// Listen address.
    pub listen: SocketAddr,
    /// Public URL, when set; otherwise `http://{bound address}`.
    pub public_url: Option<String>,
    /// PKCS#11 settings when the signer is `pkcs11`.
    pub pkcs11: Option<Pkcs11Settings>,
    /// The admin key from `TESSERA_ADMIN_KEY`, if set.
    pub admin_key: Option<String>,
    /// Sessions, refresh reuse and login rate limits.
    pub policy: Policy,
    /// Connection caps and timeouts.
    pub connections: ConnSettings,
    /// Where `/metrics` is served instead of the main address, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The key-encryption key software signing keys are sealed under, from
    /// `TESSERA_KEY_ENCRYPTION_KEY` or `--key-encryption-key-file`, if given.
    pub key_encryption: Option<Kek>,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read {path}: {err}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        err: std::io::Error,
    },
    /// The config file is not valid.
    #[error("invalid config file {path}: {err}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error.
        err: String,
    },
    /// A setting is missing or wrong.
    #[error("{0}")]
    Invalid(String),
}

/// The environment variable holding the key-encryption key itself.
const KEK_ENV: &str = "TESSERA_KEY_ENCRYPTION_KEY";

/// The key-encryption key from the environment or from its file, at most one of them. Errors
/// name where the key came from and what is wrong with it, never the key.
fn key_encryption(
    file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Kek>, ConfigError> {
    let invalid = |source: &str, err: tessera_signer::KekError| {
        ConfigError::Invalid(format!("the key-encryption key in {source} is unusable: {err}"))
    };
    match (env(KEK_ENV), file) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
            "the key-encryption key is given twice: set {KEK_ENV} or --key-encryption-key-file \
             (TESSERA_KEY_ENCRYPTION_KEY_FILE), not both"
        ))),
        (Some(text), None) => Kek::parse(&text).map(Some).map_err(|e| invalid(KEK_ENV, e)),
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|err| ConfigError::Read { path: path.into(), err })?;
            Kek::parse(&text).map(Some).map_err(|e| invalid(&path.display().to_string(), e))
        }
        (None, None) => Ok(None),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read { path: path.into(), err })?;
    toml::from_str(&text).map_err(|err| ConfigError::Parse { path: path.into(), err: err.to_string() })
}

impl Config {
    /// Resolves flags and environment over the file over defaults. `env` reads an environment
    /// variable (a parameter so tests need not touch the process environment).
    pub fn resolve(args: ServeArgs, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let signer = args.signer.or(file.signer).unwrap_or(SignerKind::Software);
        let pkcs11 = match signer {
            SignerKind::Software => None,
            SignerKind::Pkcs11 => Some(Pkcs11Settings {
                module: args
                    .pkcs11_module
                    .or(file.pkcs11_module)
                    .ok_or_else(|| ConfigError::Invalid("--signer pkcs11 needs --pkcs11-module".into()))?,
                token_label: args.pkcs11_token_label.or(file.pkcs11_token_label).ok_or_else(|| {
                    ConfigError::Invalid("--signer pkcs11 needs --pkcs11-token-label".into())
                })?,
                pin: env("TESSERA_PKCS11_PIN")
                    .ok_or_else(|| ConfigError::Invalid("--signer pkcs11 needs TESSERA_PKCS11_PIN".into()))?,
            }),
        };
        let public_url = args.public_url.or(file.public_url);
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "public URL {url} must start with http:// or https://"
            )));
        }
        let defaults = Policy::default();
        let policy = Policy {
            session_ttl_secs: args
                .session_ttl_secs
                .or(file.session_ttl_secs)
                .unwrap_or(defaults.session_ttl_secs),
            refresh_reuse_grace_secs: args
                .refresh_reuse_grace_secs
                .or(file.refresh_reuse_grace_secs)
                .unwrap_or(defaults.refresh_reuse_grace_secs),
            login_attempts_per_user_per_minute: args
                .login_attempts_per_user_per_minute
                .or(file.login_attempts_per_user_per_minute)
                .unwrap_or(defaults.login_attempts_per_user_per_minute),
            login_attempts_per_ip_per_minute: args
                .login_attempts_per_ip_per_minute
                .or(file.login_attempts_per_ip_per_minute)
                .unwrap_or(defaults.login_attempts_per_ip_per_minute),
            login_lockout_secs: args
                .login_lockout_secs
                .or(file.login_lockout_secs)
                .unwrap_or(defaults.login_lockout_secs),
            max_concurrent_password_checks: args
                .max_concurrent_password_checks
                .or(file.max_concurrent_password_checks)
                .unwrap_or(defaults.max_concurrent_password_checks),
            password_check_max_wait_ms: args
                .password_check_max_wait_ms
                .or(file.password_check_max_wait_ms)
                .unwrap_or(defaults.password_check_max_wait_ms),
            api_key_last_use_interval_secs: args
                .api_key_last_use_interval_secs
                .or(file.api_key_last_use_interval_secs)
                .unwrap_or(defaults.api_key_last_use_interval_secs),
            validator_circuit_failures: args
                .validator_circuit_failures
                .or(file.validator_circuit_failures)
                .unwrap_or(defaults.validator_circuit_failures),
            validator_circuit_open_secs: args
                .validator_circuit_open_secs
                .or(file.validator_circuit_open_secs)
                .unwrap_or(defaults.validator_circuit_open_secs),
            idp_discovery_refresh_secs: args
                .idp_discovery_refresh_secs
                .or(file.idp_discovery_refresh_secs)
                .unwrap_or(defaults.idp_discovery_refresh_secs),
        };
        if policy.idp_discovery_refresh_secs > 30 * 86_400 {
            return Err(ConfigError::Invalid("--idp-discovery-refresh-secs must be 0 to 2592000".into()));
        }
        if !(1..=1000).contains(&policy.validator_circuit_failures) {
            return Err(ConfigError::Invalid("--validator-circuit-failures must be 1 to 1000".into()));
        }
        if !(1..=3600).contains(&policy.validator_circuit_open_secs) {
            return Err(ConfigError::Invalid("--validator-circuit-open-secs must be 1 to 3600".into()));
        }
        if !(1..=3600).contains(&policy.api_key_last_use_interval_secs) {
            return Err(ConfigError::Invalid("--api-key-last-use-interval-secs must be 1 to 3600".into()));
        }
        // A zero would make every session expire at once or refuse every login: a mistake,
        // not a policy.
        if policy.session_ttl_secs == 0 {
            return Err(ConfigError::Invalid("--session-ttl-secs must be at least 1".into()));
        }
        if policy.login_attempts_per_user_per_minute == 0 || policy.login_attempts_per_ip_per_minute == 0 {
            return Err(ConfigError::Invalid("login attempt limits must be at least 1 per minute".into()));
        }
        if !(1..=MAX_LOGIN_LOCKOUT_SECS).contains(&policy.login_lockout_secs) {
            return Err(ConfigError::Invalid(format!(
                "--login-lockout-secs must be 1 to {MAX_LOGIN_LOCKOUT_SECS}"
            )));
        }
        if !(1..=MAX_CONCURRENT_PASSWORD_CHECKS).contains(&policy.max_concurrent_password_checks) {
            return Err(ConfigError::Invalid(format!(
                "--max-concurrent-password-checks must be 1 to {MAX_CONCURRENT_PASSWORD_CHECKS}"
            )));
        }
        let conn_defaults = ConnSettings::default();
        let secs = |flag: Option<u64>, file: Option<u64>, default: Duration, name: &str| match flag
            .or(file)
            .map(Duration::from_secs)
            .unwrap_or(default)
        {
            d if d.is_zero() => Err(ConfigError::Invalid(format!("--{name} must be at least 1"))),
            d => Ok(d),
        };
        let connections = ConnSettings {
            max_connections: args.max_connections.or(file.max_connections),
            max_connections_per_address: args
                .max_connections_per_address
                .or(file.max_connections_per_address)
                .unwrap_or(conn_defaults.max_connections_per_address),
            header_read_timeout: secs(
                args.header_read_timeout_secs,
                file.header_read_timeout_secs,
                conn_defaults.header_read_timeout,
                "header-read-timeout-secs",
            )?,
            idle_timeout: secs(
                args.idle_timeout_secs,
                file.idle_timeout_secs,
                conn_defaults.idle_timeout,
                "idle-timeout-secs",
            )?,
            body_read_timeout: secs(
                args.body_read_timeout_secs,
                file.body_read_timeout_secs,
                conn_defaults.body_read_timeout,
                "body-read-timeout-secs",
            )?,
        };
        if connections.max_connections == Some(0) || connections.max_connections_per_address == 0 {
            return Err(ConfigError::Invalid("connection limits must be at least 1".into()));
        }
        let store = match args.store.or(file.store) {
            None => StoreChoice::Fjall,
            Some(value) => StoreChoice::parse(&value).map_err(ConfigError::Invalid)?,
        };
        let key_encryption_key_file = args.key_encryption_key_file.or(file.key_encryption_key_file);
        let key_encryption = key_encryption(key_encryption_key_file.as_deref(), &env)?;
        Ok(Self {
            store,
            policy,
            connections,
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            data_dir: args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./tessera-data")),
            listen: args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            pkcs11,
            admin_key: env("TESSERA_ADMIN_KEY").filter(|k| !k.is_empty()),
            key_encryption,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(ServeArgs::default(), no_env).expect("config");
        assert_eq!(c.data_dir, PathBuf::from("./tessera-data"));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.pkcs11.is_none());
        assert!(c.admin_key.is_none());
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.policy.session_ttl_secs, 36_000);
        assert_eq!(c.policy.refresh_reuse_grace_secs, 0);
        assert!(c.policy.max_concurrent_password_checks >= 1);
        assert_eq!(c.policy.password_check_max_wait_ms, 2_000);
    }

    #[test]
    fn policy_from_file_and_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "session_ttl_secs = 60\nlogin_attempts_per_ip_per_minute = 5\n")
            .expect("write");
        let args = ServeArgs {
            config: Some(path),
            login_attempts_per_ip_per_minute: Some(7),
            refresh_reuse_grace_secs: Some(10),
            ..Default::default()
        };
        let c = Config::resolve(args, no_env).expect("config");
        assert_eq!(c.policy.session_ttl_secs, 60);
        assert_eq!(c.policy.login_attempts_per_ip_per_minute, 7);
        assert_eq!(c.policy.refresh_reuse_grace_secs, 10);
        assert_eq!(c.policy.login_attempts_per_user_per_minute, 10);
        let args = ServeArgs { login_attempts_per_user_per_minute: Some(0), ..Default::default() };
        assert!(Config::resolve(args, no_env).is_err());
    }

    #[test]
    fn password_work_bounds_from_file_and_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "max_concurrent_password_checks = 3\npassword_check_max_wait_ms = 500\n")
            .expect("write");
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        let c = Config::resolve(args, no_env).expect("config");
        assert_eq!((c.policy.max_concurrent_password_checks, c.policy.password_check_max_wait_ms), (3, 500));
        // A zero wait is a policy (never queue); zero checks at once would refuse every login.
        let args =
            ServeArgs { config: Some(path), password_check_max_wait_ms: Some(0), ..Default::default() };
        assert_eq!(Config::resolve(args, no_env).expect("config").policy.password_check_max_wait_ms, 0);
        for refused in [0, MAX_CONCURRENT_PASSWORD_CHECKS + 1] {
            let args = ServeArgs { max_concurrent_password_checks: Some(refused), ..Default::default() };
            assert!(Config::resolve(args, no_env).is_err(), "{refused}");
        }
    }

    #[test]
    fn file_under_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/var/x\"\n").expect("write");
        let args = ServeArgs { config: Some(path), data_dir: Some("/flag".into()), ..Default::default() };
        let c = Config::resolve(args, no_env).expect("config");
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn pkcs11_needs_module_label_and_pin() {
        let args = ServeArgs { signer: Some(SignerKind::Pkcs11), ..Default::default() };
        assert!(Config::resolve(args, no_env).is_err());
        let args = ServeArgs {
            signer: Some(SignerKind::Pkcs11),
            pkcs11_module: Some("/m.so".into()),
            pkcs11_token_label: Some("t".into()),
            ..Default::default()
        };
        let env = |k: &str| (k == "TESSERA_PKCS11_PIN").then(|| "1234".to_owned());
        let c = Config::resolve(args, env).expect("config");
        assert_eq!(c.pkcs11.map(|p| p.pin), Some("1234".into()));
    }

    #[test]
    fn metrics_listen_from_file_and_flag() {
        assert_eq!(Config::resolve(ServeArgs::default(), no_env).expect("config").metrics_listen, None);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "metrics_listen = \"127.0.0.1:9100\"\n").expect("write");
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        let c = Config::resolve(args, no_env).expect("config");
        assert_eq!(c.metrics_listen.map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9100"));
        let flag = "127.0.0.1:9200".parse().ok();
        let args = ServeArgs { config: Some(path), metrics_listen: flag, ..Default::default() };
        assert_eq!(Config::resolve(args, no_env).expect("config").metrics_listen, flag);
    }

    const KEK_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const KEK_BASE64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn kek_env(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |k: &str| (k == "TESSERA_KEY_ENCRYPTION_KEY").then(|| value.to_owned())
    }

    fn kek_id(args: ServeArgs, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        Config::resolve(args, env).expect("config").key_encryption.map(|k| k.id())
    }

    #[test]
    fn the_key_encryption_key_comes_from_the_environment_or_a_file() {
        assert_eq!(kek_id(ServeArgs::default(), no_env), None);
        let id = kek_id(ServeArgs::default(), kek_env(KEK_HEX)).expect("a KEK");
        assert_eq!(kek_id(ServeArgs::default(), kek_env(KEK_BASE64)).as_ref(), Some(&id));

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kek");
        std::fs::write(&path, format!("{KEK_HEX}\n")).expect("write");
        let args = ServeArgs { key_encryption_key_file: Some(path.clone()), ..Default::default() };
        assert_eq!(kek_id(args, no_env).as_ref(), Some(&id));
        // Or the file named in the config file.
        let toml = dir.path().join("t.toml");
        std::fs::write(&toml, format!("key_encryption_key_file = {:?}\n", path.display().to_string()))
            .expect("write");
        let args = ServeArgs { config: Some(toml), ..Default::default() };
        assert_eq!(kek_id(args, no_env).as_ref(), Some(&id));
    }

    #[test]
    fn a_key_encryption_key_given_twice_or_malformed_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kek");
        std::fs::write(&path, KEK_HEX).expect("write");
        let args = ServeArgs { key_encryption_key_file: Some(path.clone()), ..Default::default() };
        let err = Config::resolve(args, kek_env(KEK_HEX)).expect_err("given twice");
        assert!(err.to_string().contains("not both"), "{err}");

        // 31 bytes: one short.
        const SHORT: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
        std::fs::write(&path, format!("{SHORT}\n")).expect("write");
        let from_file = || ServeArgs { key_encryption_key_file: Some(path.clone()), ..Default::default() };
        type Env = Box<dyn Fn(&str) -> Option<String>>;
        let cases: [(ServeArgs, Env); 4] = [
            (from_file(), Box::new(no_env)),
            (ServeArgs::default(), Box::new(kek_env(SHORT))),
            (ServeArgs::default(), Box::new(kek_env(&KEK_HEX[..63]))),
            (ServeArgs::default(), Box::new(kek_env(""))),
        ];
        for (args, env) in cases {
            let err = Config::resolve(args, env).expect_err("malformed");
            let shown = err.to_string();
            assert!(matches!(err, ConfigError::Invalid(_)), "{shown}");
            assert!(shown.contains("key-encryption key") && !shown.contains(&SHORT[..16]), "{shown}");
            assert!(!shown.contains(&KEK_HEX[..16]), "{shown}");
        }

        let args =
            ServeArgs { key_encryption_key_file: Some(dir.path().join("absent")), ..Default::default() };
        assert!(matches!(Config::resolve(args, no_env), Err(ConfigError::Read { .. })));
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "listn = \"x\"\n").expect("write");
        let args = ServeArgs { config: Some(path), ..Default::default() };
        assert!(matches!(Config::resolve(args, no_env), Err(ConfigError::Parse { .. })));
    }
}
