//! TLS to the database, with libpq's names and meanings: `sslmode` (`disable`, `allow`,
//! `prefer`, `require`, `verify-ca`, `verify-full`; `prefer` when absent, as libpq) and
//! `sslrootcert` (a PEM file of the certificates to trust) in the URL's query. tokio-postgres
//! knows only `disable`, `prefer` and `require` and no `sslrootcert`, so [`settings`] takes
//! those parameters out of the URL, hands tokio-postgres the mode it knows, and builds the
//! rustls configuration (aws-lc-rs, as every TLS client of the server) that carries the rest:
//!
//! - `verify-full`: the chain must lead to a trusted root and the certificate must name the
//!   host. Trusted roots are `sslrootcert`'s, else the system's.
//! - `verify-ca`: the chain must lead to a trusted root; the name is not checked.
//! - `require`, `prefer`, `allow`: encrypted, and, as libpq, not verified unless `sslrootcert`
//!   is given (then as `verify-ca`). `prefer` and `allow` fall back to plain text when the
//!   server offers no TLS.
//! - `disable`: plain text.
//!
//! Client certificates (`sslcert`, `sslkey`) are refused with a message rather than ignored.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::PgError;

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// Not at all (libpq's `require` without a root file): encryption against eavesdropping only.
    Nothing,
    /// The chain, not the name.
    Chain,
    /// The chain and the name.
    ChainAndName,
}

/// What connecting needs: the URL without the parameters taken out, the mode for
/// tokio-postgres, and the TLS connector.
pub(crate) struct Settings {
    /// The URL as tokio-postgres reads it.
    pub(crate) url: String,
    /// The mode tokio-postgres applies (whether to ask for TLS, and whether plain text will do).
    pub(crate) mode: SslMode,
    /// The connector every connection uses.
    pub(crate) connector: MakeRustlsConnect,
}

/// Reads the TLS parameters of `url` (see the module doc).
pub(crate) fn settings(url: &str) -> Result<Settings, PgError> {
    let (url, params) = take_params(url, &["sslmode", "sslrootcert", "sslcert", "sslkey"]);
    let find = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if find("sslcert").is_some() || find("sslkey").is_some() {
        return Err(setup("client certificates (sslcert, sslkey) are not supported yet"));
    }
    let root_file = find("sslrootcert");
    let (mode, check) = match find("sslmode").unwrap_or("prefer") {
        "disable" => (SslMode::Disable, Check::Nothing),
        "allow" | "prefer" => {
            (SslMode::Prefer, if root_file.is_some() { Check::Chain } else { Check::Nothing })
        }
        "require" => (SslMode::Require, if root_file.is_some() { Check::Chain } else { Check::Nothing }),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::ChainAndName),
        other => {
            return Err(setup(&format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )));
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&format!("TLS versions: {e}")))?;
    let chain = match check {
        Check::Nothing => None,
        Check::Chain | Check::ChainAndName => {
            let roots = Arc::new(roots(root_file)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| setup(&format!("TLS verifier: {e}")))?;
            Some(webpki)
        }
    };
    let config = match (check, chain) {
        (Check::ChainAndName, Some(webpki)) => builder.with_webpki_verifier(webpki).with_no_client_auth(),
        (_, chain) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient {
                chain,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(Settings { url, mode, connector: MakeRustlsConnect::new(config) })
}

fn setup(detail: &str) -> PgError {
    PgError::Setup(format!("database TLS: {detail}"))
}

/// The roots to trust: the PEM file `sslrootcert`, else the system's.
fn roots(file: Option<&str>) -> Result<RootCertStore, PgError> {
    let mut store = RootCertStore::empty();
    match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| setup(&format!("sslrootcert {path}: {e}")))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| setup(&format!("sslrootcert {path}: {e}")))?;
            if certs.is_empty() {
                return Err(setup(&format!("sslrootcert {path} holds no certificate")));
            }
            for cert in certs {
                store.add(cert).map_err(|e| setup(&format!("sslrootcert {path}: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // One unusable system certificate does not make the others unusable.
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(setup("no system root certificates found; give sslrootcert"));
            }
        }
    }
    Ok(store)
}

/// `url` without the query parameters `names`, and those parameters (percent-decoded). Only
/// the URL form has them here; libpq's key=value form passes through as it is.
fn take_params(url: &str, names: &[&str]) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?').filter(|_| url.contains("://")) else {
        return (url.to_owned(), Vec::new());
    };
    let (mut kept, mut taken) = (Vec::new(), Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if names.contains(&name) {
            taken.push((name.to_owned(), percent_decode(value)));
        } else {
            kept.push(pair);
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    (url, taken)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The certificate checks short of `verify-full`: with `chain`, the chain as `verify-full`
/// checks it, a name mismatch forgiven (libpq's `verify-ca`); without, any certificate
/// (libpq's `require`). Either way the handshake's signatures are checked, so the connection
/// is encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_leave_the_url_and_the_rest_stay() {
        let (url, taken) = take_params(
            "postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
            &["sslmode", "sslrootcert"],
        );
        assert_eq!(url, "postgres://u@h/db?application_name=x");
        assert_eq!(
            taken,
            vec![("sslmode".into(), "verify-full".into()), ("sslrootcert".into(), "/etc/ca.pem".into())]
        );
        assert_eq!(take_params("postgres://u@h/db?sslmode=disable", &["sslmode"]).0, "postgres://u@h/db");
        assert_eq!(take_params("host=h sslmode=require", &["sslmode"]).0, "host=h sslmode=require");
    }

    #[test]
    fn libpq_modes_map_to_what_tokio_postgres_knows() {
        let mode = |url: &str| settings(url).map(|s| s.mode);
        assert_eq!(mode("postgres://h/db").ok(), Some(SslMode::Prefer), "libpq's default");
        assert_eq!(mode("postgres://h/db?sslmode=disable").ok(), Some(SslMode::Disable));
        assert_eq!(mode("postgres://h/db?sslmode=require").ok(), Some(SslMode::Require));
        assert!(mode("postgres://h/db?sslmode=sometimes").is_err());
        assert!(mode("postgres://h/db?sslmode=require&sslcert=/c.pem").is_err(), "never silently ignored");
        assert!(mode("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem").is_err());
    }
}
