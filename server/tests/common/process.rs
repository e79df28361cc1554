//! Server process control: starting the real `tessera` binary on 127.0.0.1 with a temporary
//! data dir (software keys or a SoftHSM2 token), killing it (`kill9`, SIGTERM), restarting it on
//! the same data dir and port, starts that must fail, and liveness checks. [`both_backends!`]
//! runs one test body with each signing backend.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tempfile::TempDir;

use super::values::random_string;

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
    /// Start under these open-file limits (soft, and hard when given), as `ulimit` sets them.
    pub open_files: Option<(u64, Option<u64>)>,
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
            open_files: None,
        }
    }

    /// Defaults for `backend`, with the per-address sign-in limit raised to 1000 a minute: for
    /// tests whose many logins all come from 127.0.0.1.
    pub fn many_logins(backend: Backend) -> Self {
        let mut options = Self::new(backend);
        options.extra_args = vec!["--login-attempts-per-ip-per-minute".into(), "1000".into()];
        options
    }
}

/// The SoftHSM2 token of a server.
#[derive(Debug)]
struct Hsm {
    conf_path: PathBuf,
    module_path: PathBuf,
}

/// The `tessera` binary to start: cargo's, unless `TESSERA_TEST_BINARY` names another. Cargo's
/// path (`target/debug/tessera`) is shared by every checkout built into the same target dir, so
/// where several worktrees share one, a build elsewhere can replace it while tests run; the
/// variable lets a run pin its own copy.
fn server_binary() -> PathBuf {
    std::env::var_os("TESSERA_TEST_BINARY")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tessera")), PathBuf::from)
}

/// One running (or killed) `tessera serve`, with its temporary directory.
pub struct TestServer {
    options: Options,
    pub(super) dir: TempDir,
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
    /// The line the server printed about a generated admin key, if it printed one.
    pub admin_key_line: Option<String>,
    /// Lines the server printed on stdout in its latest run.
    pub stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    pub(super) http: reqwest::Client,
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
                    // Never printed: the server names the file it saved the key to.
                    server.admin_key_line = admin_key_line;
                    server.admin_key = std::fs::read_to_string(server.data_dir().join("admin-key"))
                        .unwrap_or_default()
                        .trim()
                        .to_owned();
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
            admin_key_line: None,
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
        let mut cmd = match self.options.open_files {
            None => Command::new(server_binary()),
            Some((soft, hard)) => {
                // The shell lowers its limits and becomes the server (`exec`), which inherits them.
                // Soft first: a hard limit below the soft one is refused.
                let hard = hard.map(|h| format!("ulimit -Hn {h} && ")).unwrap_or_default();
                let mut shell = Command::new("sh");
                shell.arg("-c").arg(format!("ulimit -Sn {soft} && {hard}exec \"$0\" \"$@\""));
                shell.arg(server_binary());
                shell
            }
        };
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

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
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
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A path inside the test's temporary directory, for tests that need extra files.
pub fn path_in(server: &TestServer, name: &str) -> PathBuf {
    server.dir.path().join(name)
}

/// The HTTP client of a server run: redirects off (every step of a flow is checked), no proxy.
fn new_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}
