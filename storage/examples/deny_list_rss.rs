//! Measures what the deny list of revoked JWTs costs in memory: writes N live revocations to a
//! store, then, in a fresh process, opens it (which loads the deny list) and prints the resident
//! set. Run by `scripts/deny-list-rss.sh`, which compares against an empty store.
//!
//! ```text
//! cargo run --release -p tessera-storage --example deny_list_rss -- write DIR 1000000
//! cargo run --release -p tessera-storage --example deny_list_rss -- open DIR
//! ```

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_core::model::Revocation;
use tessera_core::store::{JwtStatus, RevocationStore};
use tessera_storage::{FjallStore, StoreOptions};

/// Revocations in flight at once while writing: enough to fill group commits.
const IN_FLIGHT: usize = 4_096;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["write", dir, n] => write(Path::new(dir), n.parse()?),
        ["open", dir] => open(Path::new(dir)),
        _ => Err("usage: deny_list_rss write DIR N | open DIR".into()),
    }
}

fn options() -> StoreOptions {
    // A small block cache, so the resident set after opening is the deny list's, not the
    // blocks the load happened to read.
    StoreOptions { block_cache_bytes: 4 * 1024 * 1024, sweep_interval: None, ..StoreOptions::default() }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// A jti shaped like the server's: 22 characters of base64url.
fn jti(i: u64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B;
    (0..22)
        .map(|n| {
            if n == 11 {
                x ^= i.rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            }
            let c = ALPHABET[usize::try_from(x & 63).unwrap_or(0)];
            x = x.rotate_right(6);
            char::from(c)
        })
        .collect()
}

fn write(dir: &Path, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let store = FjallStore::open(dir, options())?;
    let exp = now() + 24 * 3600;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let mut next = 0;
        while next < n {
            let upto = (next + IN_FLIGHT as u64).min(n);
            let commits: Vec<_> = (next..upto)
                .map(|i| store.put_revocation(&Revocation { tenant: "acme".into(), jti: jti(i), exp }))
                .collect();
            for commit in commits {
                commit.await?;
            }
            next = upto;
        }
        Ok::<_, tessera_core::store::StoreError>(())
    })?;
    println!("wrote {n} revocations; deny list holds {}", store.revocation_count());
    Ok(())
}

fn open(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let store = FjallStore::open(dir, options())?;
    // Touch the list as introspection would, so a lazily built structure is counted too.
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let revoked = runtime.block_on(store.jwt_status("acme", &jti(0)))?;
    let unknown = runtime.block_on(store.jwt_status("acme", "never-issued"))?;
    if store.revocation_count() > 0 && (revoked != JwtStatus::Revoked || unknown != JwtStatus::NotRevoked) {
        return Err("the deny list answers wrongly".into());
    }
    // Let fjall's background threads settle before reading the resident set.
    std::thread::sleep(Duration::from_millis(500));
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field =
        |name: &str| status.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_owned());
    println!(
        "revocations {} VmRSS {} VmHWM {}",
        store.revocation_count(),
        field("VmRSS:").unwrap_or_default(),
        field("VmHWM:").unwrap_or_default()
    );
    Ok(())
}
