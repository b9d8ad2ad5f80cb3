//! HTTPS probes against a rustls server in a test thread, with the fixture
//! CA and leaf certificate in tests/fixtures/probe/ (leaf: DNS probe.test,
//! IPs 127.77.0.1–5).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::tests::http_params;
use super::testutil::*;
use super::*;
use crate::config::model::HttpParams;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/probe");

fn server_config() -> Arc<ServerConfig> {
    let read = |f: &str, label: &str| {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{f}")).unwrap();
        pem::decode_blocks(&text, label).unwrap()
    };
    let certs = read("server.pem", "CERTIFICATE")
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let key = read("server.key", "PRIVATE KEY").remove(0);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
        .unwrap();
    Arc::new(config)
}

/// A TLS server answering one request with `response`.
fn https_once(
    ip: &str,
    response: &'static [u8],
) -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
    let config = server_config();
    serve_once(ip, move |stream: TcpStream, _| {
        let conn = ServerConnection::new(config).unwrap();
        let mut tls = StreamOwned::new(conn, stream);
        let request = read_request(&mut tls);
        let _ = tls.write_all(response);
        let _ = tls.flush();
        request
    })
}

fn https_target(
    addr: SocketAddr,
    params: HttpParams,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> ProbeTarget {
    let mut check = HealthCheck {
        check_type: CheckType::Https,
        port: Some(addr.port()),
        interval: Duration::from_secs(2),
        fast_interval: Duration::from_secs(2),
        down_interval: Duration::from_secs(2),
        timeout: Duration::from_millis(1500),
        rise: 2,
        fall: 3,
        probe_ipv4_src: None,
        probe_ipv6_src: None,
        http: Some(params),
    };
    let prepared = match tls {
        Some(tls) => PreparedCheck::with_tls(&check, tls).unwrap(),
        None => {
            check.http.as_mut().unwrap().insecure = true;
            PreparedCheck::new(&check).unwrap()
        }
    };
    prepared.target(addr.ip()).unwrap()
}

fn verifying_config() -> Arc<rustls::ClientConfig> {
    tls::client_config_with_roots(false, &Path::new(FIXTURES).join("ca.pem")).unwrap()
}

#[test]
fn insecure_https_200_is_l7ok() {
    let (addr, rx) = https_once(
        "127.77.0.1",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    let r = run_probe(
        &https_target(addr, http_params(), None),
        &SocketFactory::current(),
    );
    assert_eq!((r.code, r.detail.as_str()), (Code::L7Ok, "status 200"));
    assert!(rx.recv().unwrap().starts_with("GET /healthz HTTP/1.1\r\n"));
}

#[test]
fn verified_https_by_ip_and_by_name() {
    let mut params = http_params();
    params.response_contains = Some("fine".into());
    let (addr, _rx) = https_once(
        "127.77.0.2",
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine",
    );
    let r = run_probe(
        &https_target(addr, params.clone(), Some(verifying_config())),
        &SocketFactory::current(),
    );
    assert_eq!(
        (r.code, r.detail.as_str()),
        (Code::L7Ok, "status 200"),
        "IP SAN"
    );

    params.host = Some("probe.test".into());
    let (addr, rx) = https_once(
        "127.77.0.3",
        b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
    );
    let r = run_probe(
        &https_target(addr, params, Some(verifying_config())),
        &SocketFactory::current(),
    );
    assert_eq!(
        (r.code, r.detail.as_str()),
        (Code::L7Sts, "status 503"),
        "DNS SAN"
    );
    assert!(rx.recv().unwrap().contains("\r\nHost: probe.test\r\n"));
}

#[test]
fn verified_https_with_wrong_name_is_l6rsp() {
    let mut params = http_params();
    params.host = Some("other.test".into());
    let (addr, _rx) = https_once("127.77.0.4", b"HTTP/1.1 200 OK\r\n\r\n");
    let r = run_probe(
        &https_target(addr, params, Some(verifying_config())),
        &SocketFactory::current(),
    );
    assert_eq!(r.code, Code::L6Rsp, "{r:?}");
    assert!(r.detail.contains("certificate"), "{r:?}");
    // The system bundle does not know the fixture CA either.
    if Path::new(tls::SYSTEM_CA_BUNDLE).exists() {
        let (addr, _rx) = https_once("127.77.0.5", b"HTTP/1.1 200 OK\r\n\r\n");
        let system = tls::client_config(false).unwrap();
        let r = run_probe(
            &https_target(addr, http_params(), Some(system)),
            &SocketFactory::current(),
        );
        assert_eq!(r.code, Code::L6Rsp, "{r:?}");
    }
}

#[test]
fn https_to_a_plain_http_server_is_l6rsp() {
    let (addr, _rx) = serve_once("127.77.1.1", |mut s: TcpStream, _| {
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let r = run_probe(
        &https_target(addr, http_params(), None),
        &SocketFactory::current(),
    );
    assert_eq!(r.code, Code::L6Rsp, "{r:?}");
}

#[test]
fn silent_tls_server_is_l6tout() {
    let (addr, _rx) = serve_once("127.77.1.2", |_s: TcpStream, _| {
        std::thread::sleep(Duration::from_millis(800));
    });
    let mut t = https_target(addr, http_params(), None);
    t.timeout = Duration::from_millis(300);
    let r = run_probe(&t, &SocketFactory::current());
    assert_eq!(
        (r.code, r.detail.as_str()),
        (Code::L6Tout, "TLS handshake timeout")
    );
}

#[test]
fn server_name_rules() {
    let ip = "127.0.0.1".parse().unwrap();
    let cases = [
        (None, "127.0.0.1"),
        (Some("www.example.com"), "www.example.com"),
        (Some("www.example.com:8443"), "www.example.com"),
        (Some("192.0.2.7"), "192.0.2.7"),
        (Some("[2001:db8::1]:443"), "2001:db8::1"),
        (Some("bad name!"), "127.0.0.1"),
    ];
    for (host, want) in cases {
        let want = rustls::pki_types::ServerName::try_from(want).unwrap();
        assert_eq!(tls::server_name(host, ip), want, "{host:?}");
    }
}
