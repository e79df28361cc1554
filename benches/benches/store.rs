//! The fjall store: durable writes per second with group commit at several concurrencies, and
//! the hot reads (opaque token, deny-list miss, cached client). After each write group it prints
//! how many fsyncs the writes shared. Run: `cargo bench -p tessera-benches --bench store`.
#![allow(clippy::unwrap_used)] // a panic is how a bench reports a broken store

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::future::Future;
use std::task::{Context, Poll, Waker};
use tessera_core::model::{
    AccessTokenFormat, Client, GrantType, OpaqueToken, SigningAlg, TokenEndpointAuthMethod,
};

use tessera_core::store::{ClientStore, Read, RevocationStore, TokenStore};
use tessera_storage::{FjallStore, StoreOptions};

const TENANT: &str = "bench";

fn token(n: u64) -> OpaqueToken {
    OpaqueToken {
        tenant: TENANT.into(),
        client_id: "client-1".into(),
        sub: "client-1".into(),
        scope: "api:read api:write".into(),
        jti: format!("jti-{n}"),
        iat: 1_700_000_000,
        exp: 4_000_000_000,
        roles: Vec::new(),
        permissions: Vec::new(),
        aud: None,
        extra_info: None,
        validator: None,
        audience: Vec::new(),
        act: None,
        dat: None,
        cls: Vec::new(),
        uip: None,
    }
}

fn digest(n: u64) -> [u8; 32] {
    let mut d = [0x5a; 32];
    d[..8].copy_from_slice(&n.to_be_bytes());
    d
}

fn client() -> Client {
    Client {
        tenant: TENANT.into(),
        client_id: "client-1".into(),
        client_name: "bench".into(),
        secret_digest: Some([1; 32]),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        response_types: vec![],
        scope: vec!["api:read".into(), "api:write".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        access_token_format: AccessTokenFormat::Opaque,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: false,
        created_at: 0,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FjallStore::open(dir.path(), StoreOptions::default()).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let next = Arc::new(AtomicU64::new(0));

    let mut g = c.benchmark_group("store_durable_put_opaque_token");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6)).sample_size(20);
    for concurrency in [1_u64, 16, 128] {
        g.throughput(Throughput::Elements(concurrency));
        let (fsyncs0, writes0) = (store.persist_count(), store.committed_write_count());
        g.bench_function(BenchmarkId::new("concurrency", concurrency), |b| {
            // One iteration: `concurrency` tasks each submit one write and await its commit.
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let tasks: Vec<_> = (0..concurrency)
                            .map(|_| {
                                let (store, next) = (Arc::clone(&store), Arc::clone(&next));
                                tokio::spawn(async move {
                                    let n = next.fetch_add(1, Ordering::Relaxed);
                                    store.put_opaque_token(&digest(n), &token(n)).await.unwrap();
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap();
                        }
                    }
                    start.elapsed()
                })
            });
        });
        let fsyncs = store.persist_count() - fsyncs0;
        let writes = store.committed_write_count() - writes0;
        eprintln!(
            "concurrency {concurrency}: {writes} durable writes, {fsyncs} fsyncs, {:.3} fsyncs/write",
            fsyncs as f64 / writes.max(1) as f64
        );
    }
    g.finish();

    let mut g = c.benchmark_group("store_read");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    rt.block_on(store.put_client(&client())).unwrap();
    let present = digest(next.load(Ordering::Relaxed) / 2);
    g.bench_function("opaque_token", |b| {
        b.iter(|| answered(store.opaque_token(TENANT, black_box(&present))).unwrap())
    });
    g.bench_function("is_revoked_miss", |b| {
        b.iter(|| answered(store.jwt_status(TENANT, black_box("jti-not-revoked"))))
    });
    g.bench_function("client_cached", |b| {
        b.iter(|| answered(store.client(TENANT, black_box("client-1"))).unwrap())
    });
    g.finish();
    store.close().unwrap();
}

/// The answer of a read the embedded store has already answered, polled once as a server task
/// would: what a read costs, without an executor's overhead in the figure.
fn answered<T>(read: Read<T>) -> T {
    let mut read = std::pin::pin!(read);
    match read.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => answer.expect("the read succeeds"),
        Poll::Pending => panic!("the embedded store answers reads at once"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
