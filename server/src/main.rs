//! `tessera`: the binary. Parses the command line, opens the store and the signer, starts the
//! tenant actors and the HTTP server, and stops cleanly on SIGINT or SIGTERM.

mod actors;
mod admin;
mod app;
mod bootstrap;
mod config;
mod endpoints;
mod http;
mod keyring;
mod router;
mod util;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tessera_core::signer::Signer;
use tessera_core::store::Store;
use tessera_signer::{Pkcs11Config, Pkcs11Pin, Pkcs11Signer, SoftwareSigner};
use tessera_storage::{FjallStore, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::config::{Cli, Command, Config};

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
    let store = Arc::new(FjallStore::open(&config.data_dir.join("store"), StoreOptions::default())?);
    let signer: Arc<dyn Signer> = match &config.pkcs11 {
        None => Arc::new(SoftwareSigner::new()),
        Some(p) => Arc::new(Pkcs11Signer::new(Pkcs11Config::new(
            &p.module,
            &p.token_label,
            Pkcs11Pin::new(p.pin.clone()),
        ))?),
    };
    let admin_key_digest = bootstrap::admin_key(&config.data_dir, config.admin_key.as_deref())?;
    let dyn_store: Arc<dyn Store> = store.clone();
    let shards = actors::Shards::start(threads, dyn_store.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let app = Arc::new(App::new(dyn_store, signer, shards, public_url, admin_key_digest));
        bootstrap::tenants(&app, &config.data_dir).await?;
        tokio::spawn(prune_keys(app.clone()));
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
        });
        println!("listening on http://{addr}");
        http::serve(listener, app, stop_rx).await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    // Let in-flight connections finish their responses, then flush the store.
    runtime.shutdown_timeout(Duration::from_secs(5));
    store.close()?;
    Ok(())
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
