//! `tessera`: the binary. Parses the command line, opens the store and the signer, starts the
//! tenant actors and the HTTP server, subscribes the caches to the store's change feed, and
//! stops cleanly on SIGINT or SIGTERM.

mod actors;
mod admin;
mod api_keys;
mod app;
mod audit;
mod bootstrap;
mod config;
mod direct_authz;
mod end_users;
mod endpoints;
mod entitlements;
mod federation;
mod feed;
mod grants;
mod http;
mod identity;
mod issue;
mod keyring;
mod last_uses;
mod metrics;
mod password;
mod policy;
mod resolved;
mod router;
mod sealing;
mod store_choice;
mod token_limits;
mod tokens;
mod util;
mod web;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tessera_core::signer::Signer;
use tessera_signer::{Pkcs11Config, Pkcs11Pin, Pkcs11Signer, SoftwareSigner};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::config::{Cli, Command, Config};
use crate::http::conn::{self, ConnSettings};

/// How often a node of a shared store reads the other nodes' sign-in lockouts.
const LOCKOUT_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// How often retired keys whose tokens have all expired are pruned.
const KEY_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,fjall=warn,lsm_tree=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Cli { command: Command::Serve(args) } = Cli::parse();
    let config = match Config::resolve(args, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("tessera: {err}");
            return ExitCode::from(2);
        }
    };
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tessera: {err}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&config.data_dir)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if config.store.is_shared() {
        // Keys generated here would be this node's alone: the nodes must answer as one.
        if config.admin_key.is_none() {
            return Err(
                "a store that several nodes share needs TESSERA_ADMIN_KEY, the same on every node".into()
            );
        }
        if config.key_encryption.is_none() {
            return Err("a store that several nodes share needs the key-encryption key, the same on every node \
                 (TESSERA_KEY_ENCRYPTION_KEY or --key-encryption-key-file; `openssl rand -hex 32` makes one): \
                 it seals the software signing keys in the database and signs the login pages' forms"
                .into());
        }
    }
    if let Some(kek) = &config.key_encryption {
        // The same id on every node given the same key: how an operator compares them.
        tracing::info!(kek_id = %kek.id(), "key-encryption key given");
    }
    let opened = store_choice::OpenStore::open(&config.store, &config.data_dir)?;
    let signer: Arc<dyn Signer> = match &config.pkcs11 {
        None => Arc::new(SoftwareSigner::with_kek(config.key_encryption.clone())),
        Some(p) => Arc::new(Pkcs11Signer::new(Pkcs11Config::new(
            &p.module,
            &p.token_label,
            Pkcs11Pin::new(p.pin.clone()),
        ))?),
    };
    let admin_key_digest = bootstrap::admin_key(&config.data_dir, config.admin_key.as_deref())?;
    // Every node of a shared store signs its pages alike (a form served by one node is posted
    // to another); a lone node keeps its own key in its data dir.
    let page_key = match (&config.key_encryption, config.store.is_shared()) {
        (Some(kek), true) => web::PageKey::new(&kek.page_key()),
        _ => web::PageKey::new(&bootstrap::page_key(&config.data_dir)?),
    };
    let dyn_store = opened.store.clone();
    let shards = actors::Shards::start(threads, Arc::new(dyn_store.clone()), actors::DEFAULT_HOT_TOKENS)?;
    let arbiters = shards.arbiters().to_vec();
    // Bound here, before any runtime: every arbiter accepts from its own clone of the socket.
    let listener = std::net::TcpListener::bind(config.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    // Bound before any runtime too, so a taken metrics address fails the start.
    let metrics_listener = match config.metrics_listen {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            Some(listener)
        }
        None => None,
    };
    let connections = connections(config.connections);
    let mut app =
        App::new(dyn_store, signer, shards, public_url, admin_key_digest, page_key, config.policy.clone())?;
    app.body_read_timeout = config.connections.body_read_timeout;
    app.metrics_on_main = metrics_listener.is_none();
    app.connection_gate = Some(connections.gate.clone());
    app.fjall = opened.fjall.clone();
    let app = Arc::new(app);
    // Before anything fills the caches: what changes from here on is heard.
    let follower = feed::follow(&app);
    // The main thread's own small runtime: start-up, signals and housekeeping. Requests are
    // served on the arbiters.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        bootstrap::tenants(&app, &config.data_dir).await?;
        // Before the first request: a lockout stored before a restart refuses from the start.
        let restored = app.password_guard.restore().await?;
        if restored > 0 {
            tracing::info!(lockouts = restored, "sign-in lockouts restored");
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(arbiters.len().max(1));
        for arbiter in &arbiters {
            let listener = listener.try_clone()?;
            let (app, stop_rx, done_tx) = (app.clone(), stop_rx.clone(), done_tx.clone());
            let connections = connections.clone();
            let spawned = arbiter.spawn(async move {
                // HTTP runs on the arbiters, beside the tenant shards (the thread-per-core
                // shape): a message to a shard on this thread needs no thread switch.
                match TcpListener::from_std(listener) {
                    Ok(listener) => http::serve(listener, app, connections, stop_rx).await,
                    Err(err) => tracing::error!(%err, "cannot listen on this arbiter"),
                }
                let _ = done_tx.send(()).await;
            });
            if !spawned {
                return Err("an actor thread stopped before serving".into());
            }
        }
        drop(done_tx);
        if let Some(listener) = metrics_listener {
            let listener = TcpListener::from_std(listener)?;
            println!("metrics on http://{}/metrics", listener.local_addr()?);
            tokio::spawn(metrics::listener::serve(listener, app.clone(), stop_rx.clone()));
        }
        tokio::spawn(prune_keys(app.clone()));
        if config.store.is_shared() {
            tokio::spawn(follow_lockouts(app.clone()));
        }
        let interval = Duration::from_secs(u64::from(config.policy.api_key_last_use_interval_secs));
        tokio::spawn(api_keys::record_last_uses(app.clone(), interval));
        tokio::spawn(follower.run(app.clone()));
        println!("listening on http://{addr}");
        tokio::select! {
            _ = wait_for_signal() => tracing::info!("shutting down"),
            _ = done_rx.recv() => tracing::error!("a server loop ended unexpectedly; shutting down"),
        }
        let _ = stop_tx.send(true);
        // Each loop returns once its open connections have finished (bounded in `serve`).
        while done_rx.recv().await.is_some() {}
        // What was used since the last flush, written before the store closes.
        api_keys::flush_last_uses(&app).await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    drop(runtime);
    // Every reference the server held is gone with its threads; the store closes last.
    drop(app);
    opened.close()?;
    Ok(())
}

/// The connection gate every accept loop shares. The soft limit on open files is raised to the
/// hard one first, so the default cap is as high as the process may go.
fn connections(settings: ConnSettings) -> http::Connections {
    let descriptors = match conn::raise_descriptor_limit() {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(%err, "cannot read or raise the open-file limit; assuming 1024");
            1024
        }
    };
    let max = settings.max_connections.unwrap_or_else(|| conn::default_max_connections(descriptors));
    tracing::info!(
        open_files = descriptors,
        max_connections = max,
        per_address = settings.max_connections_per_address,
        "connection limits"
    );
    http::Connections { gate: conn::Gate::new(max, settings.max_connections_per_address), settings }
}

/// Reads the store's live sign-in lockouts again every [`LOCKOUT_SYNC_INTERVAL`], so a lockout
/// another node started refuses here too. (The attempts that lead to one are counted per node.)
async fn follow_lockouts(app: Arc<App>) {
    let mut tick = tokio::time::interval(LOCKOUT_SYNC_INTERVAL);
    loop {
        tick.tick().await;
        if let Err(err) = app.password_guard.restore().await {
            tracing::debug!(%err, "sign-in lockouts not read this time");
        }
    }
}

async fn prune_keys(app: Arc<App>) {
    let mut tick = tokio::time::interval(KEY_PRUNE_INTERVAL);
    loop {
        tick.tick().await;
        match app.keys.prune(util::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "expired signing keys removed"),
            Err(err) => tracing::warn!(%err, "key prune failed"),
        }
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
