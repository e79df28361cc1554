//! A stand-in identity validator: an HTTP server on 127.0.0.1 that records every call (its
//! headers and JSON body) and answers as the test last told it to.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the validator answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 200 with this JSON body.
    Accept(Value),
    /// This status (401, 403, 500, ...) with an empty body.
    Status(u16),
    /// Never answers (until the connection is dropped).
    Hang,
    /// A 302 to this location.
    Redirect(String),
}

/// One call the validator received.
#[derive(Clone, Debug)]
pub struct Call {
    /// The headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The body, as JSON.
    pub body: Value,
}

/// A running stand-in validator.
pub struct MockValidator {
    /// `http://127.0.0.1:{port}/check`.
    pub url: String,
    behaviour: Arc<Mutex<Behaviour>>,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
}

impl MockValidator {
    /// Starts one answering `behaviour`.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener =
            tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind the validator");
        let addr = listener.local_addr().expect("validator address");
        let behaviour = Arc::new(Mutex::new(behaviour));
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let (b, c) = (behaviour.clone(), calls.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (b, c) = (b.clone(), c.clone());
                tokio::spawn(async move {
                    while let Some(call) = read_request(&mut stream).await {
                        c.lock().unwrap().push(call);
                        let now = b.lock().unwrap().clone();
                        let reply = match now {
                            Behaviour::Accept(body) => {
                                let body = body.to_string();
                                format!(
                                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                                    body.len()
                                )
                            }
                            Behaviour::Status(status) => {
                                format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n")
                            }
                            Behaviour::Redirect(to) => {
                                format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
                            }
                            Behaviour::Hang => {
                                tokio::time::sleep(Duration::from_secs(600)).await;
                                return;
                            }
                        };
                        if stream.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { url: format!("http://{addr}/check"), behaviour, calls, task }
    }

    /// Changes how it answers from now on.
    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    /// The calls received so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// How many calls it received.
    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl Drop for MockValidator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and a `Content-Length` body) from a kept-alive connection.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Call> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 65536 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: BTreeMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
    Some(Call { headers, body })
}
