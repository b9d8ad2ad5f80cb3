//! HTTPS probes: rustls (ring provider) over the probe's non-blocking
//! socket, driven by readiness, with the plain [`HttpExchange`] inside.
//!
//! The `ClientConfig` is built once per health check ([`client_config`]) and
//! shared by every probe of every backend of that check, so session
//! resumption tickets are reused across probes. Verification policy
//! (spec/config.md §5 `insecure`): `insecure: true` (the default, backends are
//! addressed by IP) accepts any certificate chain but still checks the
//! handshake signatures, so the peer must hold the key of the certificate it
//! sent; `insecure: false` verifies the chain against the system CA bundle
//! (`/etc/ssl/certs/ca-certificates.crt`) and the name against `params.host`
//! (or the backend IP when no host is given).
//!
//! Codes: connect as for tcp (L4*); any TLS failure L6RSP; a timeout while
//! the handshake is unfinished L6TOUT; after it, HTTP codes (L7*).

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::http::{HttpExchange, HttpRequestSpec, Verdict};
use super::pem;
use super::socket::io_error_text;
use crate::health::types::Code;

/// Where `insecure: false` finds trusted roots.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why a TLS client configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSetupError {
    ReadRoots { path: PathBuf, error: String },
    BadRoots { path: PathBuf, error: String },
    NoRoots { path: PathBuf },
    Rustls(String),
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::ReadRoots { path, error } => {
                write!(f, "read CA bundle {}: {error}", path.display())
            }
            TlsSetupError::BadRoots { path, error } => {
                write!(f, "CA bundle {}: {error}", path.display())
            }
            TlsSetupError::NoRoots { path } => {
                write!(f, "CA bundle {}: no usable certificate", path.display())
            }
            TlsSetupError::Rustls(e) => write!(f, "tls setup: {e}"),
        }
    }
}

/// An https target: the HTTP request plus what TLS needs.
#[derive(Debug, Clone)]
pub struct HttpsSpec {
    pub http: Arc<HttpRequestSpec>,
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
}

/// Client config for one health check; `insecure: false` trusts the system bundle.
pub fn client_config(insecure: bool) -> Result<Arc<ClientConfig>, TlsSetupError> {
    client_config_with_roots(insecure, Path::new(SYSTEM_CA_BUNDLE))
}

/// As [`client_config`] with an explicit CA bundle (used when `!insecure`).
pub fn client_config_with_roots(
    insecure: bool,
    ca_bundle: &Path,
) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { algorithms }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(load_roots(ca_bundle)?)
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// Trusted roots from a PEM bundle; certificates rustls rejects are skipped
/// (bundles carry the odd legacy root), but at least one must load.
pub fn load_roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let text = std::fs::read_to_string(path).map_err(|e| TlsSetupError::ReadRoots {
        path: path.to_owned(),
        error: io_error_text(&e),
    })?;
    let ders = pem::decode_blocks(&text, "CERTIFICATE").map_err(|e| TlsSetupError::BadRoots {
        path: path.to_owned(),
        error: e.to_string(),
    })?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) =
        roots.add_parsable_certificates(ders.into_iter().map(CertificateDer::from));
    if added == 0 {
        return Err(TlsSetupError::NoRoots {
            path: path.to_owned(),
        });
    }
    Ok(roots)
}

/// SNI / verification name: the configured host (port stripped) if it is a
/// DNS name or an IP literal, else the backend IP (which sends no SNI).
pub fn server_name(host: Option<&str>, backend: IpAddr) -> ServerName<'static> {
    let parsed = host.and_then(|h| {
        let bare = h
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .or_else(|| match h.rsplit_once(':') {
                Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => {
                    Some(name)
                }
                _ => None,
            })
            .unwrap_or(h);
        ServerName::try_from(bare.to_owned()).ok()
    });
    parsed.unwrap_or_else(|| ServerName::IpAddress(backend.into()))
}

/// Accepts any certificate, but not a forged handshake: signatures are still
/// verified with the provider's algorithms against the presented key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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

/// A TLS session carrying one HTTP exchange.
#[derive(Debug)]
pub(crate) struct TlsExchange {
    conn: ClientConnection,
    http: HttpExchange,
}

impl TlsExchange {
    /// Prepares the ClientHello and queues the request (rustls holds it back
    /// until the handshake is done), so the first flush sends everything
    /// that can be sent.
    pub(crate) fn new(spec: &HttpsSpec, addr: SocketAddr) -> Result<Self, String> {
        let mut conn = ClientConnection::new(spec.config.clone(), spec.server_name.clone())
            .map_err(|e| format!("tls: {e}"))?;
        let mut http = HttpExchange::new(spec.http.clone(), addr);
        let request = http.unsent().to_vec();
        io::Write::write_all(&mut conn.writer(), &request).map_err(|e| format!("tls: {e}"))?;
        http.mark_sent(request.len());
        Ok(TlsExchange { conn, http })
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Everything the socket allows after a readiness event.
    pub(crate) fn drive(
        &mut self,
        stream: &mut TcpStream,
        event: &mio::event::Event,
    ) -> Option<Verdict> {
        if let Some(verdict) = self.flush(stream) {
            return Some(verdict);
        }
        if !(event.is_readable() || event.is_read_closed()) {
            return None;
        }
        loop {
            let eof = match self.conn.read_tls(stream) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(self.failure(format!("recv: {}", io_error_text(&e)))),
            };
            if let Err(e) = self.conn.process_new_packets() {
                // Tell the peer why (best effort), then report.
                let _ = self.conn.write_tls(stream);
                return Some((Code::L6Rsp, format!("tls: {e}")));
            }
            if let Some(verdict) = self.read_plaintext() {
                return Some(verdict);
            }
            if let Some(verdict) = self.flush(stream) {
                return Some(verdict);
            }
            if eof {
                return Some(if self.conn.is_handshaking() {
                    (
                        Code::L6Rsp,
                        "connection closed during TLS handshake".to_owned(),
                    )
                } else {
                    self.http.on_eof()
                });
            }
        }
    }

    fn read_plaintext(&mut self) -> Option<Verdict> {
        if self.conn.is_handshaking() {
            return None;
        }
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.conn.reader().read(&mut buf) {
                // close_notify, or EOF without it (common, treated alike).
                Ok(0) => return Some(self.http.on_eof()),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Some(self.http.on_eof())
                }
                Ok(n) => {
                    if let Some(verdict) = self.http.on_data(buf.get(..n).unwrap_or_default()) {
                        return Some(verdict);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) => return Some((Code::L6Rsp, format!("tls: {e}"))),
            }
        }
    }

    fn flush(&mut self, stream: &mut TcpStream) -> Option<Verdict> {
        while self.conn.wants_write() {
            match self.conn.write_tls(stream) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(self.failure(format!("send: {}", io_error_text(&e)))),
            }
        }
        None
    }

    /// A socket error: a TLS failure while handshaking, an HTTP one after.
    fn failure(&self, detail: String) -> Verdict {
        if self.conn.is_handshaking() {
            (Code::L6Rsp, detail)
        } else {
            (Code::L7Rsp, detail)
        }
    }
}
