//! Request parsing and token building in `tessera-core`: the CPU the token endpoint spends
//! around the signature. Run: `cargo bench -p tessera-benches --bench protocol`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_core::client_auth;
use tessera_core::form::Form;
use tessera_core::grants::client_credentials;
use tessera_core::jwt::{self, ACCESS_TOKEN_TYP};
use tessera_core::model::{AccessTokenFormat, Client, GrantType, SigningAlg, TokenEndpointAuthMethod};
use tessera_core::secret;
use tessera_core::token;

const BODY: &[u8] = b"grant_type=client_credentials&scope=api%3Aread";
const BASIC: &[u8] = b"Basic Y2xpZW50LTE6czNjcjN0LXZhbHVlLXRoYXQtaXMtNDMtY2hhcmFjdGVycy1sb25nLXh4eA==";

fn client() -> Client {
    Client {
        tenant: "default".into(),
        client_id: "client-1".into(),
        client_name: "bench".into(),
        secret_digest: Some(secret::digest("s3cr3t-value-that-is-43-characters-long-xxx")),
        grant_types: vec![GrantType::ClientCredentials],
        redirect_uris: vec![],
        response_types: vec![],
        scope: vec!["api:read".into(), "api:write".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        access_token_format: AccessTokenFormat::Jwt,
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
    let client = client();
    let mut g = c.benchmark_group("protocol");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));

    g.bench_function("parse_token_request", |b| {
        b.iter(|| {
            let form = Form::parse(black_box(BODY)).expect("form");
            let presented = client_auth::extract(Some(black_box(BASIC)), &form).expect("auth");
            black_box(presented.client_id().len());
            black_box(token::parse(&form).expect("request").grant_type())
        })
    });

    g.bench_function("authenticate_client", |b| {
        let form = Form::parse(BODY).expect("form");
        b.iter(|| {
            let presented = client_auth::extract(Some(BASIC), &form).expect("auth");
            client_auth::authenticate(&presented, Some(black_box(&client))).expect("ok")
        })
    });

    g.bench_function("build_access_token_signing_input", |b| {
        b.iter(|| {
            let req = client_credentials::Request { scope: Some("api:read") };
            let plan = client_credentials::plan(req, &client, secret::encode_id(&[7; 16])).expect("valid");
            let claims = plan.access_token_claims(
                "http://127.0.0.1:8080/t/default",
                &client.client_id,
                1_800_000_000,
                3600,
            );
            black_box(jwt::signing_input(
                SigningAlg::ES256,
                ACCESS_TOKEN_TYP,
                "kid-0123456789abcdefgh",
                &claims,
            ))
        })
    });

    g.bench_function("assemble_jws", |b| {
        let sig = [0x5a; 96];
        b.iter(|| {
            black_box(jwt::assemble(String::from(black_box("eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0")), &sig))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
