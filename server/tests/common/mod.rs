//! The integration-test harness: starts the real `tessera` binary on 127.0.0.1 with a temporary
//! data dir (software keys or a SoftHSM2 token), and talks HTTP to it through one small helper
//! per area, so the server can be reshaped without rewriting the tests.
//!
//! - [`TestServer`]: start (with [`Options`]: admin key from the environment or generated,
//!   `--public-url`, extra flags and environment), `kill9`, `terminate` (SIGTERM), `restart` on
//!   the same data dir and port, `start_failure` / `restart_failure` for starts that must fail,
//!   liveness checks (`assert_alive`: still running, never panicked).
//! - Admin helpers (`create_tenant`, `create_client`, `put_settings`, `rotate_keys`, ...).
//! - Protocol helpers (`token_basic`, `token_post`, `introspect`, `revoke`, `jwks`,
//!   `discovery`), each returning a [`Reply`]: status, headers and the body as JSON.
//! - [`verify_jwt`]: checks an access token with the independent `jsonwebtoken` crate.
//! - [`both_backends!`]: one async test body, run once with software keys and once with SoftHSM2.
//! - Odds and ends: raw requests (`send`), HTTP/2 (`h2_get`), [`join_all`] for concurrent
//!   requests, [`assert_no_private_material`].

#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a server may take to print `listening on`.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one HTTP exchange may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often `restart` tries to bind the old port again (it may briefly still be held).
const RESTART_ATTEMPTS: u32 = 40;
const RESTART_BACKOFF: Duration = Duration::from_millis(250);

/// SoftHSM2 token label and user PIN for the servers' tokens.
const HSM_LABEL: &str = "tessera-it";
const HSM_PIN: &str = "4321";

/// Where a server keeps its signing keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Software keys in the store.
    Software,
    /// A SoftHSM2 token, through `--signer pkcs11`.
    SoftHsm,
}

impl Backend {
    /// The `backend` value the key listing shows for this backend.
    pub fn listing_name(self) -> &'static str {
        match self {
            Self::Software => "software",
            Self::SoftHsm => "pkcs11",
        }
    }
}

/// Whether a SoftHSM2 test should be skipped: never when SoftHSM2 is installed; when it is
/// missing, only with `TESSERA_SKIP_PKCS11=1` (otherwise the test fails saying why).
pub fn skip_softhsm(test: &str) -> bool {
    use tessera_signer::softhsm;
    if softhsm::module_path().is_some() && softhsm::util_available() {
        return false;
    }
    if std::env::var("TESSERA_SKIP_PKCS11").as_deref() == Ok("1") {
        eprintln!("SKIPPED {test}: SoftHSM2 is not installed and TESSERA_SKIP_PKCS11=1");
        return true;
    }
    panic!(
        "{test} needs SoftHSM2 (softhsm2-util and libsofthsm2.so): install the `softhsm2` package \
         (apt-get install softhsm2), or set TESSERA_SKIP_PKCS11=1 to skip the PKCS#11 tests"
    );
}

/// Runs one `async fn name(backend: Backend)` as two tests, `name::software` and
/// `name::softhsm` (a module per flow, since `macro_rules!` cannot build the names
/// `name_software` / `name_softhsm` without an extra crate). Attributes such as
/// `#[ignore = "..."]` apply to both.
#[allow(unused_macros)]
macro_rules! both_backends {
    ($(#[$meta:meta])* $name:ident) => {
        mod $name {
            $(#[$meta])*
            #[tokio::test]
            async fn software() {
                super::$name($crate::common::Backend::Software).await;
            }

            $(#[$meta])*
            #[tokio::test]
            async fn softhsm() {
                if $crate::common::skip_softhsm(concat!(module_path!(), "::softhsm")) {
                    return;
                }
                super::$name($crate::common::Backend::SoftHsm).await;
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both_backends;

/// How the admin key is provided.
#[derive(Clone, Debug)]
pub enum AdminKey {
    /// `TESSERA_ADMIN_KEY` set to a fresh random value.
    Env,
    /// Not set: the server generates one, prints it once and saves it in the data dir.
    Generated,
}

/// Options of a server start.
#[derive(Clone, Debug)]
pub struct Options {
    /// Signing backend.
    pub backend: Backend,
    /// How the admin key is provided.
    pub admin_key: AdminKey,
    /// `--public-url`, when set.
    pub public_url: Option<String>,
    /// More command-line arguments, after the harness's own.
    pub extra_args: Vec<String>,
    /// More environment variables, set after (so over) the harness's own.
    pub env: Vec<(String, String)>,
    /// Another data directory than the server's own `data/` (shared, or not a directory).
    pub data_dir: Option<PathBuf>,
    /// With SoftHSM2: another `--pkcs11-token-label` than the token's own.
    pub pkcs11_label: Option<String>,
    /// With SoftHSM2: another `--pkcs11-module` than SoftHSM2's.
    pub pkcs11_module: Option<PathBuf>,
    /// Where to listen instead of a free port of 127.0.0.1.
    pub listen: Option<SocketAddr>,
}

impl Options {
    /// Defaults for `backend`: admin key from the environment, public URL from the port.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            admin_key: AdminKey::Env,
            public_url: None,
            extra_args: Vec::new(),
            env: Vec::new(),
            data_dir: None,
            pkcs11_label: None,
            pkcs11_module: None,
            listen: None,
        }
    }
}

/// The SoftHSM2 token of a server.
#[derive(Debug)]
struct Hsm {
    conf_path: PathBuf,
    module_path: PathBuf,
}

/// One running (or killed) `tessera serve`, with its temporary directory.
pub struct TestServer {
    options: Options,
    dir: TempDir,
    hsm: Option<Hsm>,
    child: Mutex<Option<Child>>,
    /// The address it listens on (kept across restarts).
    pub addr: SocketAddr,
    /// `http://ADDR`, where requests go.
    pub base: String,
    /// The public URL: `--public-url`, or `http://ADDR`.
    pub public_url: String,
    /// The admin API key.
    pub admin_key: String,
    /// Lines the server printed on stdout in its latest run.
    pub stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    http: reqwest::Client,
}

/// An HTTP answer: status, headers, raw body and (when it parses) the body as JSON.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON, `Null` if it is not JSON.
    pub json: Value,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` member of a JSON error body.
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16, what: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{what}: unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an RFC 6749 error answer: status, `error` code, a string `error_description`,
    /// JSON content type and `Cache-Control: no-store`. A 401 must carry a `Basic` challenge.
    #[track_caller]
    pub fn expect_oauth_error(&self, status: u16, code: &str, what: &str) {
        self.expect_status(status, what);
        assert_eq!(self.error(), Some(code), "{what}: error code; body: {}", self.text);
        assert!(
            self.json.get("error_description").is_none_or(Value::is_string),
            "{what}: error_description must be a string; body: {}",
            self.text
        );
        assert!(
            self.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "{what}: content type {:?}",
            self.header("content-type")
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{what}: Cache-Control");
        if status == 401 {
            let challenge = self.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.to_ascii_lowercase().starts_with("basic"),
                "{what}: 401 must carry WWW-Authenticate: Basic, got {challenge:?}"
            );
        }
    }

    /// Asserts an admin API error: status and a JSON body with `error`.
    #[track_caller]
    pub fn expect_api_error(&self, status: u16, code: Option<&str>, what: &str) {
        self.expect_status(status, what);
        assert!(self.error().is_some(), "{what}: JSON error body expected; body: {}", self.text);
        if let Some(code) = code {
            assert_eq!(self.error(), Some(code), "{what}: error code; body: {}", self.text);
        }
    }
}

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A fresh random string (base64url of 24 random bytes), for admin keys and names.
pub fn random_string() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A form body from pairs.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&")
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 2.3.1).
pub fn basic_auth(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret))))
}

fn read_lines(stream: impl Read, sink: Arc<Mutex<String>>, mut on_line: impl FnMut(&str)) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                on_line(line.trim_end());
                sink.lock().unwrap().push_str(&line);
            }
        }
    }
}

/// A start that failed: the exit status and what the server wrote to stderr.
#[derive(Debug)]
pub struct Failure {
    /// The exit status, if the process exited.
    pub status: Option<std::process::ExitStatus>,
    /// Its stderr.
    pub stderr: String,
}

/// What a start attempt ended with.
enum Started {
    Ready { child: Child, addr: SocketAddr, admin_key_line: Option<String> },
    Failed { stderr: String, status: Option<std::process::ExitStatus> },
}

impl TestServer {
    /// Starts a server with `backend` keys, the admin key from the environment, on a free port.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(Options::new(backend)).await
    }

    /// Starts a server with `options` on a free port.
    pub async fn start_with(options: Options) -> Self {
        match Self::try_start(options).await {
            Ok(server) => server,
            Err(Failure { status, stderr }) => {
                panic!("tessera did not start (exit status {status:?}); its stderr:\n{stderr}")
            }
        }
    }

    /// Starts a server with `options`, or says how it failed. With a generated admin key, the
    /// key is the one printed, or else the one in `{data-dir}/admin-key`.
    pub async fn try_start(options: Options) -> Result<Self, Failure> {
        let mut server = Self::prepare(options);
        match server.spawn(server.addr).await {
            Started::Ready { child, addr, admin_key_line } => {
                server.adopt(child, addr);
                if let AdminKey::Generated = server.options.admin_key {
                    server.admin_key = match admin_key_line {
                        Some(line) => line.rsplit(": ").next().unwrap_or_default().trim().to_owned(),
                        None => std::fs::read_to_string(server.data_dir().join("admin-key"))
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                }
                Ok(server)
            }
            Started::Failed { stderr, status } => Err(Failure { status, stderr }),
        }
    }

    /// Starts a server with `options` that must fail to start: asserts that it exits with a
    /// failure status, without a panic, and returns its stderr.
    pub async fn start_failure(options: Options) -> Failure {
        let server = Self::prepare(options);
        server.expect_failure().await
    }

    /// Restarts a killed server with changed options (see [`options_mut`](Self::options_mut))
    /// where the start must fail, as [`start_failure`](Self::start_failure).
    pub async fn restart_failure(&mut self) -> Failure {
        self.kill9();
        self.expect_failure().await
    }

    /// The options for the next restart.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    async fn expect_failure(&self) -> Failure {
        match self.spawn(self.addr).await {
            Started::Ready { mut child, addr, .. } => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tessera started on {addr} though it should have refused to; stderr:\n{}",
                    self.stderr()
                )
            }
            Started::Failed { stderr, status } => {
                let failed = status.is_some_and(|s| !s.success() && s.code().is_some());
                assert!(failed, "tessera must exit with a failure code, got {status:?}; stderr:\n{stderr}");
                assert!(
                    !stderr.contains("panicked"),
                    "tessera panicked instead of failing cleanly:\n{stderr}"
                );
                Failure { status, stderr }
            }
        }
    }

    /// The server's files, before it runs: the temporary dir, the data dir and the SoftHSM2
    /// token.
    fn prepare(options: Options) -> Self {
        let dir = tempfile::Builder::new().prefix("tessera-it-").tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        let hsm = match options.backend {
            Backend::Software => None,
            Backend::SoftHsm => {
                let hsm_dir = dir.path().join("hsm");
                std::fs::create_dir_all(&hsm_dir).expect("hsm dir");
                let token = tessera_signer::softhsm::init_token(&hsm_dir, HSM_LABEL, HSM_PIN)
                    .unwrap_or_else(|e| panic!("SoftHSM2 token set-up failed: {e}"));
                Some(Hsm { conf_path: token.conf_path, module_path: token.module_path })
            }
        };
        let admin_key = match options.admin_key {
            AdminKey::Env => random_string(),
            AdminKey::Generated => String::new(),
        };
        let listen = options.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        Self {
            options,
            dir,
            hsm,
            child: Mutex::new(None),
            addr: listen,
            base: String::new(),
            public_url: String::new(),
            admin_key,
            stdout: Arc::default(),
            stderr: Arc::default(),
            http: new_http_client(),
        }
    }

    fn adopt(&mut self, child: Child, addr: SocketAddr) {
        *self.child.lock().unwrap() = Some(child);
        self.addr = addr;
        self.base = format!("http://{addr}");
        self.public_url = self.options.public_url.clone().unwrap_or_else(|| self.base.clone());
        self.public_url = self.public_url.trim_end_matches('/').to_owned();
        // Pooled connections to a killed server are dead: start afresh.
        self.http = new_http_client();
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.options.data_dir.clone().unwrap_or_else(|| self.dir.path().join("data"))
    }

    /// Spawns `tessera serve` on `listen` and waits for its `listening on` line.
    async fn spawn(&self, listen: SocketAddr) -> Started {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        // Nothing from the caller's environment may change how the server starts.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TESSERA_") || name == "SOFTHSM2_CONF" {
                cmd.env_remove(name);
            }
        }
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--listen")
            .arg(listen.to_string())
            .env("TESSERA_LOG", "info,fjall=warn,lsm_tree=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = &self.options.public_url {
            cmd.arg("--public-url").arg(url);
        }
        if let AdminKey::Env = self.options.admin_key {
            cmd.env("TESSERA_ADMIN_KEY", &self.admin_key);
        }
        cmd.args(&self.options.extra_args);
        if let (Backend::SoftHsm, Some(hsm)) = (self.options.backend, &self.hsm) {
            cmd.arg("--signer")
                .arg("pkcs11")
                .arg("--pkcs11-module")
                .arg(self.options.pkcs11_module.as_ref().unwrap_or(&hsm.module_path))
                .arg("--pkcs11-token-label")
                .arg(self.options.pkcs11_label.as_deref().unwrap_or(HSM_LABEL))
                .env("TESSERA_PKCS11_PIN", HSM_PIN)
                .env("SOFTHSM2_CONF", &hsm.conf_path);
        }
        for (name, value) in &self.options.env {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().expect("spawn the tessera binary");
        self.stdout.lock().unwrap().clear();
        self.stderr.lock().unwrap().clear();

        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<(SocketAddr, Option<String>)>();
        let out = child.stdout.take().expect("piped stdout");
        let sink = self.stdout.clone();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            let mut admin_key_line = None;
            read_lines(out, sink, |line| {
                if line.starts_with("admin key") {
                    admin_key_line = Some(line.to_owned());
                }
                if let Some(addr) = line.strip_prefix("listening on http://")
                    && let (Ok(addr), Some(tx)) = (addr.trim().parse::<SocketAddr>(), ready_tx.take())
                {
                    let _ = tx.send((addr, admin_key_line.take()));
                }
            });
        });
        let err = child.stderr.take().expect("piped stderr");
        let sink = self.stderr.clone();
        let stderr_thread = std::thread::spawn(move || read_lines(err, sink, |_| {}));

        match tokio::time::timeout(START_TIMEOUT, ready_rx).await {
            Ok(Ok((addr, admin_key_line))) => Started::Ready { child, addr, admin_key_line },
            outcome => {
                if outcome.is_err() {
                    let _ = child.kill();
                }
                let status = child.wait().ok();
                // The child is gone, so its stderr reaches end of file and the reader ends.
                let _ = stderr_thread.join();
                let mut stderr = self.stderr.lock().unwrap().clone();
                if outcome.is_err() {
                    stderr.push_str(&format!("\n(no `listening on` line within {START_TIMEOUT:?})"));
                }
                Started::Failed { stderr, status }
            }
        }
    }

    /// Kills the server with SIGKILL (no shutdown, no flush) and waits for it to die.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    /// Sends SIGTERM (through `kill -TERM <pid>`) and waits, at most 20 s, for the server to
    /// exit; returns its exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.lock().unwrap().take().expect("the server runs");
        let status =
            Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("poll the server") {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not exit within 20 s of SIGTERM; stderr:\n{}", self.stderr());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the server again on the same data dir, port, admin key and token (killing it first
    /// if it still runs). The issuer stays the same because the port does.
    pub async fn restart(&mut self) {
        self.kill9();
        let mut last = String::new();
        for _ in 0..RESTART_ATTEMPTS {
            match self.spawn(self.addr).await {
                Started::Ready { child, addr, .. } => {
                    assert_eq!(addr, self.addr, "restart listens on the old address");
                    self.adopt(child, addr);
                    return;
                }
                Started::Failed { stderr, .. } if stderr.contains("in use") => {
                    last = stderr;
                    tokio::time::sleep(RESTART_BACKOFF).await;
                }
                Started::Failed { stderr, status } => {
                    panic!("tessera did not restart (exit status {status:?}); its stderr:\n{stderr}")
                }
            }
        }
        panic!("tessera could not bind {} again; last stderr:\n{last}", self.addr);
    }

    /// What the server wrote to stderr in its latest run.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Asserts that the server still runs and never logged a panic.
    #[track_caller]
    pub fn assert_alive(&self) {
        let status = {
            let mut child = self.child.lock().unwrap();
            child.as_mut().expect("the server was killed").try_wait().expect("poll the server process")
        };
        let stderr = self.stderr.lock().unwrap().clone();
        assert!(status.is_none(), "the server exited ({status:?}); its stderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "the server panicked; its stderr:\n{stderr}");
    }

    /// The issuer of a tenant: `{public_url}/t/{tenant}`.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.public_url)
    }

    // ----- raw HTTP -----

    /// Sends any request to `path` (relative to the server) and collects the answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("body of {path} failed: {e}"));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }

    /// The HTTP client, for requests the helpers do not cover.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// A `GET` over HTTP/2 with prior knowledge (h2c), which the server also speaks on its
    /// port; unlike HTTP/1, HTTP/2 keeps whitespace at the ends of header values as sent.
    /// Returns the status and the body.
    pub async fn h2_get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
        use http_body_util::{BodyExt, Empty};
        use hyper_util::rt::{TokioExecutor, TokioIo};
        let stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .expect("HTTP/2 handshake");
        tokio::spawn(conn);
        let mut req = http::Request::get(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Empty::<bytes::Bytes>::new()).expect("request");
        let resp = send.send_request(req).await.expect("HTTP/2 request");
        let status = resp.status();
        let body = resp.into_body().collect().await.expect("HTTP/2 body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// A `GET`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    /// A form `POST` to a protocol endpoint of a tenant, with an optional `Authorization` value.
    pub async fn post_form(&self, tenant: &str, endpoint: &str, auth: Option<&str>, body: &str) -> Reply {
        let mut headers = vec![(CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded")];
        if let Some(auth) = auth {
            headers.push((AUTHORIZATION.as_str(), auth));
        }
        self.send(Method::POST, &format!("/t/{tenant}/{endpoint}"), &headers, Some(body.as_bytes().to_vec()))
            .await
    }

    // ----- admin API -----

    /// An admin request with the admin key and, when given, a JSON body.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {}", self.admin_key);
        let mut headers = vec![(AUTHORIZATION.as_str(), auth.as_str())];
        if body.is_some() {
            headers.push((CONTENT_TYPE.as_str(), "application/json"));
        }
        let body = body.map(|b| serde_json::to_vec(&b).expect("JSON body"));
        self.send(method, &format!("/api/v1{path}"), &headers, body).await
    }

    /// `POST /api/v1/tenants` with `id` and `settings` (omitted when `Null`); asserts 201.
    pub async fn create_tenant(&self, id: &str, settings: Value) -> Value {
        let mut body = json!({ "id": id });
        if !settings.is_null() {
            body["settings"] = settings;
        }
        let reply = self.admin(Method::POST, "/tenants", Some(body)).await;
        reply.expect_status(201, &format!("create tenant {id}"));
        reply.json
    }

    /// `POST /api/v1/tenants/{t}/clients`; asserts 201 and returns the id and (for a
    /// confidential client) the secret.
    pub async fn create_client(&self, tenant: &str, body: Value) -> (String, String) {
        let reply = self.admin(Method::POST, &format!("/tenants/{tenant}/clients"), Some(body)).await;
        reply.expect_status(201, "create client");
        let id = reply.json["client_id"].as_str().expect("client_id").to_owned();
        let secret = reply.json["client_secret"].as_str().unwrap_or_default().to_owned();
        (id, secret)
    }

    /// A confidential `client_credentials` client (`client_secret_basic`) with `scope`.
    pub async fn cc_client(&self, tenant: &str, scope: &str) -> (String, String) {
        self.create_client(tenant, json!({ "grant_types": ["client_credentials"], "scope": scope })).await
    }

    /// Like [`cc_client`](Self::cc_client) but issuing opaque access tokens.
    pub async fn opaque_client(&self, tenant: &str, scope: &str) -> (String, String) {
        self.create_client(
            tenant,
            json!({ "grant_types": ["client_credentials"], "scope": scope, "access_token_format": "opaque" }),
        )
        .await
    }

    /// `PUT /api/v1/tenants/{t}/settings`; asserts 200 and returns the stored settings.
    pub async fn put_settings(&self, tenant: &str, settings: Value) -> Value {
        let reply = self.admin(Method::PUT, &format!("/tenants/{tenant}/settings"), Some(settings)).await;
        reply.expect_status(200, "put settings");
        reply.json
    }

    /// `GET /api/v1/tenants/{t}/settings`; asserts 200.
    pub async fn get_settings(&self, tenant: &str) -> Value {
        let reply = self.admin(Method::GET, &format!("/tenants/{tenant}/settings"), None).await;
        reply.expect_status(200, "get settings");
        reply.json
    }

    /// `POST /api/v1/tenants/{t}/keys/rotate`; asserts 200.
    pub async fn rotate_keys(&self, tenant: &str) -> Value {
        let reply = self.admin(Method::POST, &format!("/tenants/{tenant}/keys/rotate"), None).await;
        reply.expect_status(200, "rotate keys");
        reply.json
    }

    /// `GET /api/v1/tenants/{t}/keys`; asserts 200 and returns the `keys` array.
    pub async fn list_keys(&self, tenant: &str) -> Vec<Value> {
        let reply = self.admin(Method::GET, &format!("/tenants/{tenant}/keys"), None).await;
        reply.expect_status(200, "list keys");
        reply.json["keys"].as_array().expect("keys array").clone()
    }

    /// `GET /api/v1/tenants`; asserts 200.
    pub async fn list_tenants(&self) -> Value {
        let reply = self.admin(Method::GET, "/tenants", None).await;
        reply.expect_status(200, "list tenants");
        reply.json
    }

    /// `GET /api/v1/tenants/{t}/clients`; asserts 200.
    pub async fn list_clients(&self, tenant: &str) -> Value {
        let reply = self.admin(Method::GET, &format!("/tenants/{tenant}/clients"), None).await;
        reply.expect_status(200, "list clients");
        reply.json
    }

    // ----- protocol endpoints -----

    /// `POST /t/{t}/token` with `client_secret_basic`.
    pub async fn token_basic(&self, tenant: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> Reply {
        self.post_form(tenant, "token", Some(&basic_auth(id, secret)), &form_body(form)).await
    }

    /// `POST /t/{t}/token` with `client_secret_post`.
    pub async fn token_post(&self, tenant: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> Reply {
        let mut pairs = form.to_vec();
        pairs.push(("client_id", id));
        pairs.push(("client_secret", secret));
        self.post_form(tenant, "token", None, &form_body(&pairs)).await
    }

    /// A client credentials token for a `client_secret_basic` client; asserts 200.
    pub async fn cc_token(&self, tenant: &str, id: &str, secret: &str) -> String {
        let reply = self.token_basic(tenant, id, secret, &[("grant_type", "client_credentials")]).await;
        reply.expect_status(200, "client credentials token");
        reply.json["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /t/{t}/introspect` with `client_secret_basic`.
    pub async fn introspect(&self, tenant: &str, id: &str, secret: &str, token: &str) -> Reply {
        self.post_form(tenant, "introspect", Some(&basic_auth(id, secret)), &form_body(&[("token", token)]))
            .await
    }

    /// The `active` member of an introspection; asserts 200.
    pub async fn is_active(&self, tenant: &str, id: &str, secret: &str, token: &str) -> bool {
        let reply = self.introspect(tenant, id, secret, token).await;
        reply.expect_status(200, "introspection");
        reply.json["active"].as_bool().expect("active is a boolean")
    }

    /// `POST /t/{t}/revoke` with `client_secret_basic`.
    pub async fn revoke(&self, tenant: &str, id: &str, secret: &str, token: &str) -> Reply {
        self.post_form(tenant, "revoke", Some(&basic_auth(id, secret)), &form_body(&[("token", token)])).await
    }

    /// `GET /t/{t}/jwks`.
    pub async fn jwks(&self, tenant: &str) -> Reply {
        self.get(&format!("/t/{tenant}/jwks")).await
    }

    /// The `kid`s of a tenant's JWKS; asserts 200.
    pub async fn jwks_kids(&self, tenant: &str) -> Vec<String> {
        let reply = self.jwks(tenant).await;
        reply.expect_status(200, "jwks");
        kids(&reply.json)
    }

    /// `GET /t/{t}/.well-known/openid-configuration`.
    pub async fn discovery(&self, tenant: &str) -> Reply {
        self.get(&format!("/t/{tenant}/.well-known/openid-configuration")).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn new_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The `kid`s of a JWK Set.
pub fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("JWKS has keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("every JWK has a kid").to_owned())
        .collect()
}

/// The decoded JOSE header of a compact JWS (unverified).
pub fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().expect("header part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url header")).expect("JSON header")
}

/// The decoded claims of a compact JWS (unverified).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims")
}

/// Verifies an access token with the independent `jsonwebtoken` crate against the served JWKS:
/// the key named by the header's `kid`, algorithm `expected_alg`, `iss` and `aud` equal to
/// `issuer`, the claims `exp`, `iat`, `iss`, `sub` and `aud` present, and header `typ` `at+jwt`
/// (RFC 9068 2.1). Returns the claims.
#[track_caller]
pub fn verify_jwt(token: &str, jwks: &Value, expected_alg: &str, issuer: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JOSE header decodes");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "header typ");
    let alg: Algorithm = expected_alg.parse().expect("known algorithm name");
    assert_eq!(header.alg, alg, "header alg");
    let kid = header.kid.expect("header has a kid");
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("JWKS parses as a JWK Set");
    let jwk = set.find(&kid).unwrap_or_else(|| panic!("kid {kid} is not in the JWKS {jwks}"));
    let key = DecodingKey::from_jwk(jwk).expect("decoding key from the served JWK");
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("jsonwebtoken rejects the token: {e}"))
        .claims
}

/// Every object key anywhere inside `value`, for checks such as "no private key material".
pub fn all_keys(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    stack.push(v);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// Asserts that no JWK member or field that carries private key material appears in `value`.
#[track_caller]
pub fn assert_no_private_material(value: &Value, what: &str) {
    const PRIVATE: [&str; 10] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "pkcs8", "private_key"];
    for key in all_keys(value) {
        assert!(
            !PRIVATE.contains(&key.as_str()) && !key.to_ascii_lowercase().contains("private"),
            "{what} contains private key material `{key}`: {value}"
        );
    }
}

/// A path inside the test's temporary directory, for tests that need extra files.
pub fn path_in(server: &TestServer, name: &str) -> PathBuf {
    server.dir.path().join(name)
}

/// Runs futures concurrently on the current task and returns their outputs in order (a small
/// `join_all`, so the tests need no futures crate).
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

// ----- end-user pages -----

/// The value of the hidden input `name` in an HTML page, with the entities a template escapes
/// decoded.
#[track_caller]
pub fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start =
        html.find(&marker).unwrap_or_else(|| panic!("no field {name} in page:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end]
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A fresh PKCE verifier and its S256 challenge (RFC 7636 4.1-4.2).
pub fn pkce_pair() -> (String, String) {
    use sha2::Digest;
    let verifier = format!("{}{}", random_string(), random_string());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The value of cookie `name` set (non-empty) by a `Set-Cookie` header of `reply`.
pub fn set_cookie_value(reply: &Reply, name: &str) -> Option<String> {
    reply.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let pair = c.split(';').next().unwrap_or_default();
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name && !v.is_empty()).then(|| v.to_owned())
    })
}

/// Asserts an HTML page of the end-user side with `status`: the headers every page carries
/// (no caching, no framing, no referrer, a strict CSP), an HTML body, and no `Location`.
#[track_caller]
pub fn expect_page(reply: &Reply, status: u16, what: &str) {
    reply.expect_status(status, what);
    assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"), "{what}: a page");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{what}");
    let csp = reply.header("content-security-policy").expect("CSP");
    for part in ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"] {
        assert!(csp.contains(part), "{what}: CSP {csp} lacks {part}");
    }
    assert!(reply.text.contains("<html"), "{what}: an HTML body: {}", reply.text);
    assert!(reply.header("location").is_none(), "{what}: a page never redirects");
}

/// Whether `reply` is the login page.
pub fn is_login_page(reply: &Reply) -> bool {
    reply.status.as_u16() == 200 && reply.text.contains("id=\"password\"")
}

/// Whether `reply` is the consent page.
pub fn is_consent_page(reply: &Reply) -> bool {
    reply.status.as_u16() == 200 && reply.text.contains("id=\"allow\"")
}

/// The parameters of a code request for `client_id` to `redirect_uri` (scope `openid
/// profile`, state `st-1`); an entry of `extra` replaces the default of the same name (a
/// repeat would be refused), the others are added.
pub fn code_request<'p>(
    client_id: &'p str,
    redirect_uri: &'p str,
    extra: &[(&'p str, &'p str)],
) -> Vec<(&'p str, &'p str)> {
    let mut p = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", "openid profile"),
        ("state", "st-1"),
    ];
    for &(name, value) in extra {
        match p.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => p.push((name, value)),
        }
    }
    p
}
