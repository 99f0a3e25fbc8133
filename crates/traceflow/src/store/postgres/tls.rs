//! TLS for PostgreSQL connections: a rustls client configuration for each
//! way of checking the server's certificate, and one-line words for what
//! went wrong in a handshake.
//!
//! Every configuration is built with ring as its crypto provider, passed
//! explicitly: the process-wide default provider is never consulted or
//! installed, so nothing else in the process can change how (or whether)
//! these connections are checked.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// How much of the server's certificate a connection checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Nothing: the connection is encrypted, but the server is not
    /// authenticated (`sslmode=prefer`, `allow`, and `require` without a
    /// root certificate). The handshake's signatures are still verified.
    Nothing,
    /// The chain up to a trusted root, not the host name (`verify-ca`).
    Chain,
    /// The chain and the host name or IP address (`verify-full`).
    ChainAndName,
}

/// The crypto provider every configuration here uses.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that checks `check` against `roots` (which
/// `Check::Chain` and `Check::ChainAndName` need). `sni` says whether to
/// send the host name in the handshake (`sslsni`).
pub(crate) fn client_config(
    check: Check,
    roots: Option<Arc<RootCertStore>>,
    sni: bool,
) -> Result<ClientConfig, String> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (check, roots) {
        (Check::Nothing, _) => Arc::new(PartialCheck {
            roots: None,
            algorithms,
        }),
        (Check::Chain, Some(roots)) => Arc::new(PartialCheck {
            roots: Some(roots),
            algorithms,
        }),
        (Check::ChainAndName, Some(roots)) => {
            WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| format!("cannot set up TLS: {e}"))?
        }
        (_, None) => return Err("a certificate check needs root certificates".to_owned()),
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.enable_sni = sni;
    Ok(config)
}

/// Reads the CA certificates of a PEM file (one or more `CERTIFICATE`
/// sections; other sections, such as keys, are skipped).
pub(crate) fn roots_from_file(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {shown}: {}", pem_cause(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read {shown}: {}", pem_cause(&e)))?;
    if certs.is_empty() {
        return Err(format!("{shown} holds no PEM certificate"));
    }
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{shown} holds no usable CA certificate"));
    }
    Ok(store)
}

/// The operating system's trusted roots (`sslrootcert=system`), as
/// rustls-native-certs finds them (it honours `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`).
pub(crate) fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = match found.errors.first() {
            Some(e) => format!(" ({e})"),
            None => String::new(),
        };
        return Err(format!(
            "sslrootcert=system: no usable root certificate found on this system{why}"
        ));
    }
    Ok(store)
}

fn pem_cause(err: &pem::Error) -> String {
    match err {
        pem::Error::Io(e) if e.kind() == io::ErrorKind::NotFound => "no such file".to_owned(),
        pem::Error::Io(e) => e.to_string(),
        other => format!("not a PEM file ({other})"),
    }
}

/// The rustls error inside a connection error's causes, if there is one.
pub(crate) fn rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = e
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// What a handshake's rustls error means, in one line: `host` is the name
/// the certificate was checked against, `roots` says which roots it was
/// checked against.
pub(crate) fn describe_tls_error(err: &rustls::Error, host: &str, roots: &str) -> String {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                format!("the server's certificate is not signed by a trusted CA ({roots})")
            }
            CertificateError::NotValidForName => {
                format!("the server's certificate is not valid for the name {host}")
            }
            CertificateError::NotValidForNameContext { presented, .. } => {
                let names = if presented.is_empty() {
                    "no names".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|name| plain_name(name))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "the server's certificate is not valid for the name {host} (it names {names})"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet".to_owned()
            }
            CertificateError::Revoked => "the server's certificate is revoked".to_owned(),
            other => format!("the server's certificate was refused: {other}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the TLS handshake ({alert:?})")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// A name as rustls presents it (`DnsName("db.example")`,
/// `IpAddress(127.0.0.1)`), without the wrapping.
fn plain_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

/// The checks short of `verify-full`. Without roots (`require`, `prefer`,
/// `allow`): encryption without authentication, any certificate accepted.
/// With roots (`verify-ca`): the certificate must chain to one of them and
/// be valid now, but the names it holds are not compared with the host's.
/// Either way the handshake's signatures are checked (the server holds its
/// key), so a broken handshake is not mistaken for a working one.
struct PartialCheck {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for PartialCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartialCheck")
            .field("roots", &self.roots.as_ref().map(|r| r.len()))
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for PartialCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_check_builds_a_configuration() {
        let roots = Arc::new(RootCertStore::empty());
        assert!(client_config(Check::Nothing, None, true).is_ok());
        assert!(client_config(Check::Chain, Some(Arc::clone(&roots)), true).is_ok());
        // An empty store cannot verify anything; webpki's builder says so.
        assert!(client_config(Check::ChainAndName, Some(roots), true).is_err());
        assert!(client_config(Check::Chain, None, true).is_err());
    }

    #[test]
    fn a_missing_or_empty_root_file_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("root.crt");
        let err = roots_from_file(&missing).unwrap_err();
        assert!(err.ends_with("no such file"), "{err}");

        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = roots_from_file(&empty).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn certificate_errors_say_what_failed() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(
            describe_tls_error(&unknown, "db.example", "sslrootcert /tmp/ca.crt"),
            "the server's certificate is not signed by a trusted CA (sslrootcert /tmp/ca.crt)"
        );
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("db.example").unwrap(),
            presented: vec![
                "DnsName(\"localhost\")".to_owned(),
                "IpAddress(127.0.0.1)".to_owned(),
                "other".to_owned(),
            ],
        });
        assert_eq!(
            describe_tls_error(&name, "db.example", "x"),
            "the server's certificate is not valid for the name db.example \
             (it names localhost, 127.0.0.1, other)"
        );
    }

    #[test]
    fn the_rustls_error_is_found_inside_an_io_error() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::Expired);
        let io = io::Error::new(io::ErrorKind::InvalidData, inner);
        let found = rustls_error(&io).unwrap();
        assert!(matches!(
            found,
            rustls::Error::InvalidCertificate(CertificateError::Expired)
        ));
    }
}
