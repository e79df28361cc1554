//! One argon2id password verification with OWASP's parameters (m = 19456 KiB, t = 2, p = 1),
//! the ones `server/src/admin/users.rs` hashes with: this cost bounds password logins per core.
//! Run: `cargo bench -p tessera-benches --bench password`.

use std::hint::black_box;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP parameters are valid");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(&[7; 16]).expect("16-byte salt");
    let phc = argon2.hash_password(b"correct horse battery staple", &salt).expect("hash").to_string();
    let hash = PasswordHash::new(&phc).expect("PHC string");

    let mut g = c.benchmark_group("password");
    g.sample_size(20).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    g.bench_function("argon2id_verify", |b| {
        b.iter(|| {
            Argon2::default().verify_password(black_box(b"correct horse battery staple"), &hash).is_ok()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
