//! Transport security of the example server: a TLS listener built on rustls (with the
//! `ring` crypto provider) from PEM files, and the rule that plain HTTP is served on a
//! loopback address only unless the operator says otherwise.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Time a client has to finish the TLS handshake. 10 s is far above a handshake over
/// a slow link and keeps a client that never finishes from holding a task for long.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them. Beyond this, accepting
/// pauses, so a burst of clients cannot queue without bound.
const ACCEPT_QUEUE: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading the TLS certificate {path} failed: {reason}; pass a PEM file with the certificate chain, leaf first")]
    Certificate { path: PathBuf, reason: String },
    #[error("reading the TLS private key {path} failed: {reason}; pass a PEM file with a PKCS#8, PKCS#1 or SEC1 private key")]
    PrivateKey { path: PathBuf, reason: String },
    #[error("the TLS certificate and key do not form a usable server configuration: {0}")]
    Config(String),
}

/// Builds a rustls server configuration from a PEM certificate chain and a PEM private
/// key, offering TLS 1.3 and 1.2 with rustls's safe defaults and HTTP/1.1 by ALPN.
pub fn server_config(certificate: &Path, private_key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| TlsError::Certificate { path: certificate.to_owned(), reason: e.to_string() })?;
    if chain.is_empty() {
        return Err(TlsError::Certificate { path: certificate.to_owned(), reason: "it contains no CERTIFICATE block".into() });
    }
    let key = PrivateKeyDer::from_pem_file(private_key)
        .map_err(|e| TlsError::PrivateKey { path: private_key.to_owned(), reason: e.to_string() })?;

    // NOTE: rustls 0.23.48 deprecates its ring provider because ring has no
    // post-quantum key exchange. ring is kept because the alternative, aws-lc-rs,
    // needs a C toolchain to build; TLS 1.3 with X25519 stays the default here.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener that hands `axum::serve` connections after their TLS handshake.
///
/// Handshakes run in tasks of their own, each bounded by [`HANDSHAKE_TIMEOUT`], so a
/// client that stalls mid-handshake does not delay other clients.
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting TCP connections on `listener` and handshaking them.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (sender, ready) = mpsc::channel(ACCEPT_QUEUE);
        tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), sender));
        Ok(Self { local_addr, ready })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Running out of file descriptors is the usual cause; wait for some to close.
                tracing::warn!(%error, "accepting a TCP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = ready.clone().reserve_owned().await else {
            return; // The server stopped.
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    permit.send((tls, peer));
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended, which happens only when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Plain HTTP on an address other than loopback, without `--insecure-http`.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to serve plain HTTP on {address}: it is not a loopback address, so session cookies and call data \
     (transcripts, recordings, personal data) would cross the network unencrypted and readable by anyone on the \
     path; pass --tls-cert and --tls-key to serve HTTPS, listen on 127.0.0.1, or pass --insecure-http when a \
     TLS-terminating proxy on the same host forwards to this address"
)]
pub struct PlainHttpRejected {
    pub address: SocketAddr,
}

/// Checks the listening address against the transport: TLS is fine anywhere, plain
/// HTTP only on loopback unless `insecure_http` is set.
pub fn check_listen_address(address: SocketAddr, tls: bool, insecure_http: bool) -> Result<(), PlainHttpRejected> {
    if tls || insecure_http || address.ip().is_loopback() {
        return Ok(());
    }
    Err(PlainHttpRejected { address })
}
