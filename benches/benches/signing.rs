//! Signing throughput, per algorithm: software keys (aws-lc-rs, inline), SoftHSM2 through
//! `Pkcs11Signer` (one request in flight, and 64 in flight to keep every session busy), and raw
//! single-session `C_Sign` for ES256/ES384 to show what the signer actor adds.
//! Run: `cargo bench -p tessera-benches --bench signing`.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, so when it is installed the bench makes a
//! token in a temporary directory and re-runs itself with that variable set (the parent only
//! waits). Without SoftHSM2 the PKCS#11 part is skipped with a message.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::Signer;
use tessera_signer::cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use tessera_signer::cryptoki::mechanism::Mechanism;
use tessera_signer::cryptoki::object::{Attribute, ObjectClass};
use tessera_signer::cryptoki::session::UserType;
use tessera_signer::cryptoki::types::AuthPin;
use tessera_signer::{Pkcs11Config, Pkcs11Pin, Pkcs11Signer, SoftwareSigner, softhsm};

/// A JWT-sized signing input (header and claims of a typical access token).
const INPUT: &[u8] = b"eyJhbGciOiJFUzM4NCIsInR5cCI6ImF0K2p3dCIsImtpZCI6IkFBQUFBQUFBQUFBQUFBQUFBQUFBQUEifQ.\
eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tL3QvYWNtZSIsInN1YiI6ImNsaWVudC0xIiwiYXVkIjoiaHR0cHM6Ly9hcGku\
ZXhhbXBsZS5jb20iLCJjbGllbnRfaWQiOiJjbGllbnQtMSIsInNjb3BlIjoiYXBpOnJlYWQiLCJpYXQiOjE3MDAwMDAwMDAsImV4\
cCI6MTcwMDAwMzYwMCwianRpIjoiMDEyMzQ1Njc4OWFiY2RlZiJ9";
const LABEL: &str = "tessera-bench";
const PIN: &str = "1234";
/// Set in the re-run child to the module path.
const CHILD_ENV: &str = "TESSERA_BENCH_SOFTHSM_MODULE";
const IN_FLIGHT: usize = 64;

fn main() -> ExitCode {
    let pkcs11_module = std::env::var(CHILD_ENV).ok();
    if pkcs11_module.is_none() && softhsm::util_available() && softhsm::module_path().is_some() {
        return rerun_with_token();
    }
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    software(&mut c);
    match pkcs11_module {
        Some(module) => pkcs11(&mut c, &module),
        None => println!("SKIPPED the SoftHSM2 benchmarks: softhsm2-util or libsofthsm2.so not found"),
    }
    c.final_summary();
    ExitCode::SUCCESS
}

fn rerun_with_token() -> ExitCode {
    let dir = tempfile::tempdir().unwrap();
    let token = softhsm::init_token(dir.path(), LABEL, PIN).unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env(softhsm::CONF_ENV, &token.conf_path)
        .env(CHILD_ENV, &token.module_path)
        .status()
        .unwrap();
    if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Polls a future that must already be complete (software signing never waits).
fn ready<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("software signing returned a pending future"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

fn software(c: &mut Criterion) {
    let signer = SoftwareSigner::new();
    let mut g = c.benchmark_group("sign/software");
    g.throughput(Throughput::Elements(1));
    for alg in SigningAlg::ALL {
        let record = runtime().block_on(signer.generate("bench", alg, 0)).unwrap();
        g.bench_function(alg.as_str(), |b| {
            b.iter(|| ready(signer.sign("bench", &record.kid, black_box(INPUT))).unwrap())
        });
    }
    g.finish();
}

fn pkcs11(c: &mut Criterion, module: &str) {
    let signer = Arc::new(Pkcs11Signer::new(Pkcs11Config::new(module, LABEL, Pkcs11Pin::new(PIN))).unwrap());
    let rt = runtime();
    let records: Vec<KeyRecord> = SigningAlg::ALL
        .into_iter()
        .filter(|alg| {
            let ok = signer.supports(*alg);
            if !ok {
                println!("SKIPPED {alg:?} on SoftHSM2: the token does not support it");
            }
            ok
        })
        .map(|alg| rt.block_on(signer.generate("bench", alg, 0)).unwrap())
        .collect();
    println!("Pkcs11Signer with {} sessions", signer.sessions());

    let mut g = c.benchmark_group("sign/softhsm-1-in-flight");
    g.sample_size(10).sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(1));
    for record in &records {
        g.bench_function(record.alg.as_str(), |b| {
            b.iter(|| rt.block_on(signer.sign("bench", &record.kid, black_box(INPUT))).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group(format!("sign/softhsm-{IN_FLIGHT}-in-flight"));
    g.sample_size(10).sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(IN_FLIGHT as u64));
    for record in &records {
        g.bench_function(record.alg.as_str(), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    // Every request is queued at once; awaiting them in order still lets all
                    // sessions work in parallel.
                    let pending: Vec<_> =
                        (0..IN_FLIGHT).map(|_| signer.sign("bench", &record.kid, INPUT)).collect();
                    rt.block_on(async {
                        for p in pending {
                            p.await.unwrap();
                        }
                    });
                }
                start.elapsed()
            })
        });
    }
    g.finish();

    // Raw C_Sign on one session, after the signer is gone (and the library finalised), so that
    // this is a plain cryptoki client.
    drop(signer);
    let pkcs11 = Pkcs11::new(module).unwrap();
    pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).unwrap();
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label().trim_end() == LABEL)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    session.login(UserType::User, Some(&AuthPin::from(PIN))).unwrap();
    let mut g = c.benchmark_group("sign/softhsm-raw-C_Sign");
    g.sample_size(10).sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(1));
    for record in records.iter().filter(|r| matches!(r.alg, SigningAlg::ES256 | SigningAlg::ES384)) {
        let KeyMaterial::Pkcs11 { id } = &record.material else { unreachable!() };
        let key = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id.clone())])
            .unwrap()[0];
        // The digest's value does not matter to the cost; its length does.
        let digest = vec![0x5a; if record.alg == SigningAlg::ES256 { 32 } else { 48 }];
        g.bench_function(record.alg.as_str(), |b| {
            b.iter(|| session.sign(&Mechanism::Ecdsa, key, black_box(&digest)).unwrap())
        });
    }
    g.finish();
    drop(session);
    let _ = pkcs11.finalize();
}
