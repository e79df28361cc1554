//! What a client can make the server hold, played as an attacker would: one address holding
//! more stalled connections than the server has file descriptors, silent connections, idle
//! keep-alives and bodies that never finish. Each is closed within its timeout, and the server
//! keeps answering everyone else meanwhile.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{Backend, Options, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout, timeout_at};

/// Opens a connection to `server` from the loopback address `from`.
async fn connect_from(from: Ipv4Addr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
    socket.connect(server).await
}

/// A whole `GET /healthz` on a connection of its own from 127.0.0.1; its status line.
async fn health_from_elsewhere(server: SocketAddr) -> String {
    let mut conn = connect_from(Ipv4Addr::LOCALHOST, server).await.expect("connect from 127.0.0.1");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.expect("send");
    let mut reply = Vec::new();
    timeout(Duration::from_secs(10), conn.read_to_end(&mut reply))
        .await
        .expect("an answer within 10 s")
        .expect("read the answer");
    String::from_utf8_lossy(&reply).lines().next().unwrap_or_default().to_owned()
}

/// Reads until the server closes `conn` (or resets it), before `deadline`; what it sent.
async fn closed_by_server(conn: &mut TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match timeout_at(deadline, conn.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn soft_limit_of(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read the server's limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("an open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields[3].parse().expect("a number")
}

fn hard_limit_of(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read the server's limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("an open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields[4].parse().expect("a number")
}

/// The scenario, with the hard limit at 1024 too so that raising the soft limit cannot
/// save the server: only the caps can. 1,100 connections from 127.0.0.2, most of them sending
/// an unfinished request head and the rest nothing at all; meanwhile 127.0.0.1 is answered, and
/// every stalled connection is closed by the server within 45 s.
#[tokio::test]
async fn one_address_with_more_stalled_connections_than_descriptors_starves_no_one() {
    let mut raised = Options::new(Backend::Software);
    raised.open_files = Some((1024, None));
    let server = TestServer::start_with(raised).await;
    let pid = server.pid().expect("running");
    assert_eq!(soft_limit_of(pid), hard_limit_of(pid), "the soft limit is raised to the hard one at start");
    drop(server);

    // This test holds 1,100 connections itself.
    rlimit::increase_nofile_limit(4096).expect("raise this test's open-file limit");
    let mut options = Options::new(Backend::Software);
    options.open_files = Some((1024, Some(1024)));
    let server = TestServer::start_with(options).await;
    let addr = server.addr;
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let started = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..1_100 {
        let mut conn = connect_from(attacker, addr).await.expect("the kernel accepts the connection");
        if i % 10 != 0 {
            // Refused connections may already be closed: a failed write is fine.
            let _ = conn.write_all(b"POST /t/default/token HTTP/1.1\r\nHost: t\r\nContent-Ty").await;
        }
        stalled.push(conn);
        if i % 250 == 0 {
            assert_eq!(health_from_elsewhere(addr).await, "HTTP/1.1 200 OK", "while connection {i} is held");
        }
    }
    for round in 0..5 {
        assert_eq!(health_from_elsewhere(addr).await, "HTTP/1.1 200 OK", "with all held, round {round}");
    }
    let deadline = started + Duration::from_secs(45);
    let (mut refused, mut timed_out) = (0, 0);
    for (i, conn) in stalled.iter_mut().enumerate() {
        let sent = closed_by_server(conn, deadline)
            .await
            .unwrap_or_else(|| panic!("stalled connection {i} still open after 45 s"));
        if sent.starts_with(b"HTTP/1.1 429") {
            refused += 1;
        } else {
            timed_out += 1;
        }
    }
    assert!(refused > 0, "connections over the per-address cap are refused at once");
    assert!(timed_out >= 500, "the admitted ones are closed by the timeouts: {timed_out}");
    assert_eq!(health_from_elsewhere(addr).await, "HTTP/1.1 200 OK", "and the server still answers");
    server.assert_alive();
}

/// The timeouts one by one, set short: an idle keep-alive connection, a connection that never
/// sends a byte, and a body that never finishes.
#[tokio::test]
async fn idle_silent_and_slow_connections_are_closed_at_their_timeouts() {
    let mut options = Options::new(Backend::Software);
    options.extra_args =
        ["--header-read-timeout-secs", "1", "--idle-timeout-secs", "2", "--body-read-timeout-secs", "1"]
            .map(str::to_owned)
            .to_vec();
    let server = TestServer::start_with(options).await;
    let addr = server.addr;

    // Keep-alive: a whole request is answered, then the connection waits for the next one for
    // the header read timeout at most.
    let mut keep_alive = connect_from(Ipv4Addr::LOCALHOST, addr).await.expect("connect");
    keep_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await.expect("send");
    let mut silent = connect_from(Ipv4Addr::LOCALHOST, addr).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(10);
    let answered = closed_by_server(&mut keep_alive, deadline).await.expect("closed once idle");
    assert!(answered.starts_with(b"HTTP/1.1 200 OK"), "{}", String::from_utf8_lossy(&answered));
    let nothing = closed_by_server(&mut silent, deadline).await.expect("a silent connection is closed");
    assert!(nothing.is_empty());

    // A body announced and never finished: the request is answered with an error, not held.
    let mut slow = connect_from(Ipv4Addr::LOCALHOST, addr).await.expect("connect");
    slow.write_all(
        b"POST /t/default/token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
Content-Length: 100\r\n\r\ngrant_type",
    )
    .await
    .expect("send");
    let answer =
        closed_by_server(&mut slow, Instant::now() + Duration::from_secs(10)).await.expect("answered");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_request") && answer.contains("did not arrive"), "{answer}");
    server.assert_alive();
}
