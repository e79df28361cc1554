//! A real headless browser for the end-user flows: Debian's `chromium` driven through its
//! `chromedriver` with fantoccini.
//!
//! - [`Browser::start`]: one `chromedriver` on a free port of 127.0.0.1 (its own process group,
//!   killed with everything it started when the `Browser` drops) and one WebDriver session of
//!   headless Chromium with a fresh profile. The browser reaches only loopback addresses: every
//!   other destination goes to a proxy on 127.0.0.1 that refuses it ([`Browser::blocked`] lists
//!   what was refused), names other than loopback ones do not resolve, and background
//!   networking is off.
//! - [`Browser::wait_for`], [`Browser::wait_for_url`], [`Browser::text`]: polling waits (20 s at
//!   most), so no test depends on how fast the machine is.
//! - [`Callback`]: a relying party's redirect URI on 127.0.0.1 that records each request and
//!   answers with a small page, so the browser ends the flow on a real page.
//!
//! Needs `chromium` and `chromedriver` (packages `chromium` and `chromium-driver`, which
//! `scripts/test.sh` installs when they are missing).

#![allow(dead_code)]

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use openidconnect::url;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any wait of a browser test lasts: far above what a loaded machine needs, so a
/// test fails only when the awaited thing never happens.
pub const WAIT: Duration = Duration::from_secs(20);
/// How often waits poll.
const POLL: Duration = Duration::from_millis(100);
/// How many ports `chromedriver` is tried on before giving up.
const DRIVER_ATTEMPTS: u32 = 5;

/// The Chromium binary: `TESSERA_CHROMIUM`, or Debian's `/usr/bin/chromium`.
fn chromium_binary() -> String {
    std::env::var("TESSERA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// The chromedriver binary: `TESSERA_CHROMEDRIVER`, or `chromedriver` on the `PATH`.
fn chromedriver_binary() -> String {
    std::env::var("TESSERA_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned())
}

/// A free port of 127.0.0.1 (bound, then released for the caller to bind).
fn free_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port of 127.0.0.1");
    listener.local_addr().expect("local address").port()
}

/// A running `chromedriver` and the headless Chromium session it drives.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    dir: TempDir,
    blocked: Arc<Mutex<Vec<String>>>,
    guard: tokio::task::JoinHandle<()>,
}

impl Browser {
    /// Starts `chromedriver` and opens a session of headless Chromium; panics, with the driver's
    /// log, when either fails.
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("tessera-browser-").tempdir().expect("temporary directory");
        let profile = dir.path().join("profile");
        std::fs::create_dir_all(&profile).expect("profile dir");
        let (guard_addr, blocked, guard) = refusing_proxy().await;

        let mut last = String::new();
        for _ in 0..DRIVER_ATTEMPTS {
            let port = free_port();
            let log = dir.path().join(format!("chromedriver-{port}.log"));
            let mut driver = spawn_driver(port, &log);
            match wait_for_driver(port, &mut driver).await {
                Ok(()) => {
                    let client = match ClientBuilder::new(HttpConnector::new())
                        .capabilities(capabilities(&profile, guard_addr))
                        .connect(&format!("http://127.0.0.1:{port}"))
                        .await
                    {
                        Ok(client) => client,
                        Err(e) => {
                            kill_group(&mut driver);
                            panic!(
                                "no WebDriver session from chromedriver: {e}\nits log:\n{}",
                                read_log(&log)
                            )
                        }
                    };
                    return Self { client, driver, dir, blocked, guard };
                }
                Err(why) => {
                    kill_group(&mut driver);
                    last = format!("{why}\nits log:\n{}", read_log(&log));
                }
            }
        }
        guard.abort();
        panic!(
            "chromedriver did not start in {DRIVER_ATTEMPTS} attempts (is the `chromium-driver` package \
             installed? scripts/test.sh installs it); last attempt: {last}"
        )
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// The current URL.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// Waits (at most [`WAIT`]) for an element matching the CSS `selector`.
    pub async fn wait_for(&self, selector: &str) -> Element {
        match self.client.wait().at_most(WAIT).every(POLL).for_element(Locator::Css(selector)).await {
            Ok(element) => element,
            Err(e) => panic!(
                "no element `{selector}` within {WAIT:?} ({e}); at {}; page:\n{}",
                self.url_text().await,
                self.source().await
            ),
        }
    }

    /// Whether an element matching `selector` is on the page now.
    pub async fn has(&self, selector: &str) -> bool {
        self.client.find(Locator::Css(selector)).await.is_ok()
    }

    /// Waits (at most [`WAIT`]) until the current URL satisfies `done`; returns it.
    pub async fn wait_for_url(&self, what: &str, done: impl Fn(&url::Url) -> bool) -> url::Url {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(url) = self.client.current_url().await
                && done(&url)
            {
                return url;
            }
            if Instant::now() > deadline {
                panic!(
                    "the browser did not reach {what} within {WAIT:?}; it is at {}; page:\n{}",
                    self.url_text().await,
                    self.source().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the first element matching `selector` (waiting for it).
    pub async fn text(&self, selector: &str) -> String {
        self.wait_for(selector).await.text().await.unwrap_or_else(|e| panic!("text of `{selector}`: {e}"))
    }

    /// Marks the current document, so [`wait_for_new_page`](Self::wait_for_new_page) can tell
    /// when the browser has left it (after a form is submitted, say).
    pub async fn mark_page(&self) {
        self.client
            .execute("window.__tesseraOld = true; return null;", Vec::new())
            .await
            .expect("mark the page");
    }

    /// Waits (at most [`WAIT`]) until the document marked by [`mark_page`](Self::mark_page) is
    /// gone and a new one has finished loading.
    pub async fn wait_for_new_page(&self, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let script = "return window.__tesseraOld === undefined && document.readyState === 'complete';";
            if let Ok(Value::Bool(true)) = self.client.execute(script, Vec::new()).await {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "no new page after {what} within {WAIT:?}; at {}; page:\n{}",
                    self.url_text().await,
                    self.source().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The `id` of the element that has the keyboard focus (empty if it has none).
    pub async fn focused_id(&self) -> String {
        let element = self.client.active_element().await.expect("the focused element");
        element.attr("id").await.expect("id attribute").unwrap_or_default()
    }

    /// Types `text` into whatever has the keyboard focus, as a keyboard would (special keys as
    /// [`fantoccini::key::Key`] characters, e.g. `Key::Tab.into()`).
    pub async fn type_keys(&self, text: &str) {
        let element = self.client.active_element().await.expect("the focused element");
        element.send_keys(text).await.unwrap_or_else(|e| panic!("type into the focused element: {e}"));
    }

    /// The `value` property of the element matching `selector` (waiting for it).
    pub async fn value(&self, selector: &str) -> String {
        let element = self.wait_for(selector).await;
        element
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("value of `{selector}`: {e}"))
            .unwrap_or_default()
    }

    /// The page source, for failure messages.
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_else(|e| format!("(no page source: {e})"))
    }

    async fn url_text(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(unknown URL: {e})"),
        }
    }

    /// Requests for destinations other than loopback that the browser attempted and the guard
    /// refused (`CONNECT host:port` or an absolute URL).
    pub fn blocked(&self) -> Vec<String> {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The temporary directory (profile, driver logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Ends the session (Chromium quits), then the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills the driver's process group.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.guard.abort();
        kill_group(&mut self.driver);
    }
}

/// Starts `chromedriver` on `port` of 127.0.0.1, in a process group of its own so that the
/// browser it starts can be killed with it, logging to `log`.
fn spawn_driver(port: u16, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("chromedriver log file");
    let err = out.try_clone().expect("chromedriver log file");
    Command::new(chromedriver_binary())
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .arg("--allowed-origins=http://127.0.0.1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` ({e}): install the `chromium` and `chromium-driver` packages \
                 (scripts/test.sh does when they are missing)",
                chromedriver_binary()
            )
        })
}

/// Waits until the driver on `port` answers `/status` with `ready: true`.
async fn wait_for_driver(port: u16, driver: &mut Child) -> Result<(), String> {
    let http =
        reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().expect("HTTP client");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = driver.try_wait().map_err(|e| format!("poll chromedriver: {e}"))? {
            return Err(format!("chromedriver exited with {status} on port {port}"));
        }
        if let Ok(resp) = http.get(format!("http://127.0.0.1:{port}/status")).send().await
            && let Ok(body) = resp.json::<Value>().await
            && body["value"]["ready"].as_bool() == Some(true)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("chromedriver on port {port} not ready within {WAIT:?}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Kills a process group led by `child` (SIGKILL) and reaps the leader.
fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{}", child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// The session's capabilities: headless Chromium with a fresh profile, all traffic except to
/// loopback sent to the refusing proxy at `guard`, no name resolution but of loopback names, and
/// no background networking.
fn capabilities(profile: &Path, guard: SocketAddr) -> fantoccini::wd::Capabilities {
    let args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        // Loopback never goes through a proxy (Chromium's implicit bypass rules); everything
        // else goes to the guard, which refuses it.
        format!("--proxy-server=http://{guard}"),
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-domain-reliability".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-default-apps".to_owned(),
        "--disable-extensions".to_owned(),
        "--disable-client-side-phishing-detection".to_owned(),
        "--disable-breakpad".to_owned(),
        "--disable-crash-reporter".to_owned(),
        "--metrics-recording-only".to_owned(),
        "--no-pings".to_owned(),
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp".to_owned(),
        "--window-size=1024,768".to_owned(),
    ];
    let caps = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": { "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
        "goog:chromeOptions": {
            "binary": chromium_binary(),
            "args": args,
        },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The network guard: an HTTP proxy on 127.0.0.1 that records and refuses every request.
async fn refusing_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let listener =
        tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind the guard proxy");
    let addr = listener.local_addr().expect("guard address");
    let blocked: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = blocked.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                if let Some(head) = read_head(&mut stream).await {
                    let line = head.lines().next().unwrap_or_default().to_owned();
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, blocked, task)
}

/// Reads an HTTP request head (up to 64 KiB) from `stream`.
async fn read_head(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// A relying party's redirect URI, `http://127.0.0.1:{port}/cb`: records the request target of
/// every request to `/cb` and answers with a page whose `#callback` element says so.
pub struct Callback {
    /// `http://127.0.0.1:{port}/cb`.
    pub url: String,
    hits: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Callback {
    /// Starts listening on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the callback listener");
        let addr = listener.local_addr().expect("callback address");
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut stream).await else { return };
                    let target =
                        head.lines().next().unwrap_or_default().split(' ').nth(1).unwrap_or_default();
                    let (status, body) = if target == "/cb" || target.starts_with("/cb?") {
                        seen.lock().unwrap_or_else(|e| e.into_inner()).push(target.to_owned());
                        (
                            "200 OK",
                            "<!doctype html><title>callback</title><p id=\"callback\">callback received</p>",
                        )
                    } else {
                        ("404 Not Found", "")
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { url: format!("http://{addr}/cb"), hits, task }
    }

    /// The request targets received so far (`/cb?...`), oldest first.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (at most [`WAIT`]) for the `n`-th request (1-based) and returns its query
    /// parameters.
    pub async fn wait_for_hit(&self, n: usize) -> Vec<(String, String)> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(target) = self.hits().get(n - 1) {
                let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
                return url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            }
            if Instant::now() > deadline {
                panic!("the redirect URI {} got no request number {n} within {WAIT:?}", self.url);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A query parameter of `pairs`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
