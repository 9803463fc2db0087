//! Transport: HTTPS with a certificate from PEM files, session cookie attributes over
//! HTTPS and plain loopback HTTP, and the refusal of plain HTTP beyond loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::serve::ListenerExt;
use callscope_host::demo_auth::DemoSessions;
use callscope_host::routes::backoffice::{CookiePolicy, SiteDirs, site_with_cookies};
use callscope_host::storage::Storage;
use callscope_host::tls::{TlsError, TlsListener, check_listen_address, server_config};
use callscope_host::{AppState, RuntimeLimits};
use callscope_tests::{ServerOptions, TestServer, broken_component_wasm, load_runtime, workspace_root};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
struct TestCertificate {
    dir: tempfile::TempDir,
    pem: String,
}

impl TestCertificate {
    fn generate() -> Self {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let certified = rcgen::generate_simple_self_signed(names).expect("generating a self-signed certificate");
        let dir = tempfile::tempdir().unwrap();
        let pem = certified.cert.pem();
        std::fs::write(dir.path().join("cert.pem"), &pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
        Self { dir, pem }
    }

    fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }
}

/// The example site over HTTPS on a loopback port, with `Secure` session cookies.
struct TlsServer {
    address: SocketAddr,
    _data_dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_tls_server(certificate: &TestCertificate) -> TlsServer {
    let config = server_config(&certificate.cert_path(), &certificate.key_path()).expect("loading the PEM files");

    // The broken guest grants everything to `admin`, which is all the cookie tests need.
    let data_dir = tempfile::tempdir().unwrap();
    let runtime = load_runtime(&broken_component_wasm(), RuntimeLimits::default());
    let storage = Storage::open(data_dir.path()).unwrap();
    let sessions = Arc::new(DemoSessions::demo());
    let state = AppState::new(Arc::new(runtime), storage, data_dir.path().to_owned(), sessions.clone()).unwrap();
    let dirs = SiteDirs { assets: workspace_root().join("host-example/assets"), widget: PathBuf::new() };
    let app = site_with_cookies(state, sessions, dirs, CookiePolicy { secure: true });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let listener = TlsListener::new(listener, config).unwrap().tap_io(|_| {});
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    TlsServer { address, _data_dir: data_dir, task }
}

fn https_client(certificate: &TestCertificate) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(certificate.pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .https_only(true)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookie(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"].to_str().unwrap().to_owned()
}

fn attributes(cookie: &str) -> Vec<String> {
    cookie.split(';').skip(1).map(|a| a.trim().to_owned()).collect()
}

#[tokio::test]
async fn https_login_sets_secure_cookie() {
    let certificate = TestCertificate::generate();
    let server = start_tls_server(&certificate).await;
    let client = https_client(&certificate);
    let base = format!("https://127.0.0.1:{}", server.address.port());

    let login = client
        .post(format!("{base}/login"))
        .form(&[("username", "admin"), ("password", "admin")])
        .send()
        .await
        .expect("an HTTPS request to the TLS listener");
    assert_eq!(login.status(), 303);
    let cookie = set_cookie(&login);
    let attributes = attributes(&cookie);
    assert!(attributes.contains(&"Secure".to_owned()), "{cookie}");
    assert!(attributes.contains(&"HttpOnly".to_owned()), "{cookie}");
    assert!(attributes.contains(&"SameSite=Strict".to_owned()), "{cookie}");

    let me = client.get(format!("{base}/callscope/api/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the session works over HTTPS");
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["user"], "admin");

    let logout = client.post(format!("{base}/logout")).send().await.unwrap();
    let cleared = set_cookie(&logout);
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("Secure"), "{cleared}");
}

#[tokio::test]
async fn https_refuses_untrusted_client_and_plain_http() {
    let certificate = TestCertificate::generate();
    let server = start_tls_server(&certificate).await;

    let untrusting = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false).build().unwrap();
    let error = untrusting
        .get(format!("https://127.0.0.1:{}/login", server.address.port()))
        .send()
        .await
        .expect_err("a client that does not trust the certificate fails the handshake");
    assert!(error.is_connect(), "{error:?}");

    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{}/login", server.address.port())).send().await;
    assert!(plain.is_err(), "plain HTTP to the TLS port gets no HTTP answer: {plain:?}");

    // The listener keeps serving after both failed handshakes.
    let trusted = https_client(&certificate);
    let page = trusted.get(format!("https://127.0.0.1:{}/login", server.address.port())).send().await.unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn loopback_http_cookie_omits_secure() {
    let options = ServerOptions { component: broken_component_wasm(), ..ServerOptions::default() };
    let server = TestServer::start(options).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let login = client.post(server.url("/login")).form(&[("username", "admin"), ("password", "admin")]).send().await.unwrap();

    let cookie = set_cookie(&login);
    let attributes = attributes(&cookie);
    assert!(!attributes.contains(&"Secure".to_owned()), "browsers drop Secure cookies over plain HTTP: {cookie}");
    assert!(attributes.contains(&"HttpOnly".to_owned()), "{cookie}");
    assert!(attributes.contains(&"SameSite=Strict".to_owned()), "{cookie}");
}

#[test]
fn plain_http_refused_beyond_loopback() {
    // Addresses are only checked here, never bound or contacted.
    let everywhere: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    let documentation_address: SocketAddr = "192.0.2.10:8443".parse().unwrap();
    let any_v6: SocketAddr = "[::]:8080".parse().unwrap();

    for address in [everywhere, documentation_address, any_v6] {
        let error = check_listen_address(address, false, false).expect_err("plain HTTP beyond loopback is refused");
        let message = error.to_string();
        assert!(message.contains(&address.to_string()), "names the address: {message}");
        assert!(message.contains("unencrypted"), "says why: {message}");
        assert!(message.contains("--tls-cert"), "says what to do: {message}");
        assert!(message.contains("--insecure-http"), "says what to do: {message}");
    }
}

#[test]
fn plain_http_allowed_on_loopback_or_when_told() {
    let loopback_v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let loopback_v6: SocketAddr = "[::1]:8080".parse().unwrap();
    let everywhere: SocketAddr = "0.0.0.0:8080".parse().unwrap();

    assert!(check_listen_address(loopback_v4, false, false).is_ok());
    assert!(check_listen_address(loopback_v6, false, false).is_ok());
    assert!(check_listen_address(everywhere, true, false).is_ok(), "TLS may listen anywhere");
    assert!(check_listen_address(everywhere, false, true).is_ok(), "--insecure-http overrides");
}

#[test]
fn missing_or_empty_pem_files_named() {
    let certificate = TestCertificate::generate();
    let missing = certificate.dir.path().join("absent.pem");

    let error = server_config(&missing, &certificate.key_path()).expect_err("a missing certificate file");
    assert!(matches!(error, TlsError::Certificate { ref path, .. } if path == &missing), "{error:?}");

    let empty = certificate.dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let error = server_config(&empty, &certificate.key_path()).expect_err("a file with no certificate");
    assert!(error.to_string().contains("no CERTIFICATE block"), "{error}");

    let error = server_config(&certificate.cert_path(), &certificate.cert_path()).expect_err("a certificate as key");
    assert!(matches!(error, TlsError::PrivateKey { .. }), "{error:?}");
}

#[test]
fn mismatched_key_rejected() {
    let certificate = TestCertificate::generate();
    let other = TestCertificate::generate();

    let error = server_config(&certificate.cert_path(), &other.key_path()).expect_err("a key of another certificate");
    assert!(matches!(error, TlsError::Config(_)), "{error:?}");
}
