//! Recording URLs from vendor payloads: fetched only from allow-listed hosts, within a
//! size and a time limit, never through a redirect to another origin, and only when no
//! recording was uploaded. Every server here listens on 127.0.0.1.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use callscope_api_types as api;
use callscope_host::demo_auth::DemoSessions;
use callscope_host::recording_fetch::{FetchError, RecordingFetchConfig, RecordingFetcher, RecordingHost};
use callscope_host::routes::backoffice::{SiteDirs, site};
use callscope_host::storage::Storage;
use callscope_host::webhook_auth::IngestSecrets;
use callscope_host::{AppState, RuntimeLimits};
use callscope_tests::{CSRF_HEADER, TEST_VAPI_SECRET, component_wasm, fixture, import_form, load_runtime, workspace_root};

/// Returns the WAV every recording server serves: 11 s of 16 kHz mono speech.
fn fixture_wav() -> Vec<u8> {
    std::fs::read(fixture("audio/whisper.cpp__jfk.wav")).expect("reading the fixture WAV")
}

/// Body size the fetch tests allow; the `big` routes send twice this.
const TEST_LIMIT: u64 = 1 << 20;

#[derive(Clone)]
struct Served {
    hits: Arc<AtomicUsize>,
    wav: Arc<Vec<u8>>,
    /// Where `/elsewhere` redirects to.
    elsewhere: Option<SocketAddr>,
}

/// A local server standing in for a vendor's recording storage.
struct RecordingServer {
    address: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingServer {
    async fn start(elsewhere: Option<SocketAddr>) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let served = Served { hits: hits.clone(), wav: Arc::new(fixture_wav()), elsewhere };
        let app = Router::new()
            .route("/call.wav", get(wav))
            .route("/moved", get(|| async { Redirect::temporary("/call.wav") }))
            .route("/elsewhere", get(elsewhere_redirect))
            .route("/big", get(|| async { vec![0u8; 2 * TEST_LIMIT as usize] }))
            .route("/big-stream", get(big_stream))
            .route("/slow", get(slow))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
            .layer(axum::middleware::from_fn_with_state(served.clone(), count_hit))
            .with_state(served);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, hits, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn host(&self) -> RecordingHost {
        self.address.to_string().parse().unwrap()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn count_hit(State(served): State<Served>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    served.hits.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

async fn wav(State(served): State<Served>) -> Response {
    ([(header::CONTENT_TYPE, "audio/wav")], served.wav.as_ref().clone()).into_response()
}

async fn elsewhere_redirect(State(served): State<Served>) -> Response {
    let target = served.elsewhere.expect("this server was started with a redirect target");
    Redirect::temporary(&format!("http://{target}/call.wav")).into_response()
}

/// Sends 2 MiB in 64 KiB chunks, without a Content-Length.
async fn big_stream() -> Response {
    let chunks = futures::stream::iter((0..32).map(|_| Ok::<_, std::io::Error>(vec![0u8; 64 << 10])));
    Body::from_stream(chunks).into_response()
}

/// Sends a byte every 300 ms for 30 s.
async fn slow() -> Response {
    let chunks = futures::stream::unfold(0u32, |sent| async move {
        if sent == 100 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        Some((Ok::<_, std::io::Error>(vec![0u8]), sent + 1))
    });
    Body::from_stream(chunks).into_response()
}

fn fetcher_for(hosts: Vec<RecordingHost>) -> RecordingFetcher {
    let config =
        RecordingFetchConfig { allowed_hosts: hosts, max_bytes: TEST_LIMIT, timeout: Duration::from_secs(1), ..Default::default() };
    RecordingFetcher::new(config).unwrap()
}

#[tokio::test]
async fn allowed_host_fetched_to_file() {
    let storage = RecordingServer::start(None).await;
    let fetcher = fetcher_for(vec![storage.host()]);
    let dir = tempfile::tempdir().unwrap();
    let destination = dir.path().join("recording.wav");

    let bytes = fetcher.fetch(&storage.url("/call.wav"), &destination).await.expect("fetching from an allowed host");

    assert_eq!(bytes, fixture_wav().len() as u64);
    assert_eq!(std::fs::read(&destination).unwrap(), fixture_wav());
}

#[tokio::test]
async fn same_origin_redirect_followed() {
    let storage = RecordingServer::start(None).await;
    let fetcher = fetcher_for(vec![storage.host()]);
    let dir = tempfile::tempdir().unwrap();

    let bytes = fetcher.fetch(&storage.url("/moved"), &dir.path().join("r.wav")).await.expect("following /moved");

    assert_eq!(bytes, fixture_wav().len() as u64);
    assert_eq!(storage.hits(), 2, "the redirect and the file");
}

#[tokio::test]
async fn redirect_to_other_port_refused() {
    let other = RecordingServer::start(None).await;
    let storage = RecordingServer::start(Some(other.address)).await;
    // Both are allowed, and still the redirect from one to the other is refused.
    let fetcher = fetcher_for(vec![storage.host(), other.host()]);
    let dir = tempfile::tempdir().unwrap();
    let destination = dir.path().join("r.wav");

    let error = fetcher.fetch(&storage.url("/elsewhere"), &destination).await.expect_err("a cross-origin redirect");

    let FetchError::RedirectRejected { target, .. } = &error else { panic!("expected a refused redirect, got {error:?}") };
    assert_eq!(target, &other.url("/call.wav"));
    assert!(error.to_string().contains("same origin only"), "{error}");
    assert_eq!(other.hits(), 0, "the redirect target was never contacted");
    assert!(!destination.exists(), "nothing is left behind");
}

#[tokio::test]
async fn oversized_body_refused() {
    let storage = RecordingServer::start(None).await;
    let fetcher = fetcher_for(vec![storage.host()]);
    let dir = tempfile::tempdir().unwrap();

    for path in ["/big", "/big-stream"] {
        let destination = dir.path().join("r.wav");
        let error = fetcher.fetch(&storage.url(path), &destination).await.expect_err("a body over the limit");
        assert!(matches!(error, FetchError::TooLarge { limit: TEST_LIMIT, .. }), "{path}: {error:?}");
        assert!(error.to_string().contains("1048576 bytes"), "{path}: {error}");
        assert!(!destination.exists(), "{path}: the partial file is removed");
    }
}

#[tokio::test]
async fn slow_body_times_out() {
    let storage = RecordingServer::start(None).await;
    let fetcher = fetcher_for(vec![storage.host()]);
    let dir = tempfile::tempdir().unwrap();

    let started = Instant::now();
    let error = fetcher.fetch(&storage.url("/slow"), &dir.path().join("r.wav")).await.expect_err("a stalled body");
    let elapsed = started.elapsed();

    assert!(matches!(error, FetchError::TimedOut { timeout_ms: 1000, .. }), "{error:?}");
    assert!(elapsed < Duration::from_secs(3), "stopped at the 1 s limit, took {elapsed:?}");
}

#[tokio::test]
async fn host_not_on_list_not_contacted() {
    let allowed = RecordingServer::start(None).await;
    let other = RecordingServer::start(None).await;
    let fetcher = fetcher_for(vec![allowed.host()]);
    let dir = tempfile::tempdir().unwrap();

    let error = fetcher.fetch(&other.url("/call.wav"), &dir.path().join("r.wav")).await.expect_err("a host not on the list");

    assert!(matches!(error, FetchError::HostNotAllowed { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("--recording-host {}", other.address)), "{error}");
    assert_eq!(other.hits(), 0);
}

#[tokio::test]
async fn fetching_off_by_default() {
    let storage = RecordingServer::start(None).await;
    let fetcher = RecordingFetcher::new(RecordingFetchConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let outcome = fetcher.fetch_first(&[storage.url("/call.wav")], &dir.path().join("r.wav")).await;

    assert!(!fetcher.is_enabled());
    assert_eq!(outcome.fetched_bytes, None);
    assert!(outcome.findings.is_empty(), "fetching off is not a problem of the call");
    assert_eq!(storage.hits(), 0);
}

#[test]
fn plain_http_only_from_loopback() {
    // check_url contacts nothing; these names are only compared.
    let hosts = vec!["recordings.example.com".parse().unwrap(), "localhost:9000".parse().unwrap()];
    let fetcher = fetcher_for(hosts);

    let error = fetcher.check_url("http://recordings.example.com/call.wav").expect_err("plain HTTP to a remote host");
    assert!(matches!(error, FetchError::SchemeNotAllowed { .. }), "{error:?}");
    assert!(fetcher.check_url("https://recordings.example.com/call.wav").is_ok());
    assert!(fetcher.check_url("https://RECORDINGS.example.com:443/call.wav").is_ok(), "case and default port");
    assert!(fetcher.check_url("https://recordings.example.com:8443/call.wav").is_err(), "another port");
    assert!(fetcher.check_url("http://localhost:9000/call.wav").is_ok());
    assert!(fetcher.check_url("ftp://recordings.example.com/call.wav").is_err());
    assert!(matches!(fetcher.check_url("not a url"), Err(FetchError::InvalidUrl { .. })));
}

#[test]
fn query_kept_out_of_errors() {
    let fetcher = fetcher_for(vec!["recordings.example.com".parse().unwrap()]);
    let error = fetcher.check_url("http://recordings.example.com/call.wav?signature=secret").unwrap_err();
    assert!(!error.to_string().contains("secret"), "a signed URL's query is a credential: {error}");

    let error = fetcher.check_url("https://recordings.example.com:99999/call.wav?signature=secret").unwrap_err();
    assert!(matches!(error, FetchError::InvalidUrl { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret"), "an invalid URL's query is left out too: {error}");
}

#[tokio::test]
async fn query_kept_out_of_connection_errors() {
    // Nothing listens on 127.0.0.1:1, so the request fails while connecting.
    let fetcher = fetcher_for(vec!["127.0.0.1:1".parse().unwrap()]);
    let dir = tempfile::tempdir().unwrap();

    let error = fetcher.fetch("http://127.0.0.1:1/call.wav?signature=secret", &dir.path().join("r.wav")).await.unwrap_err();

    assert!(matches!(error, FetchError::Http { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret"), "reqwest's error names the URL; its query must not show: {error}");
}

#[test]
fn recording_host_parsed() {
    let host: RecordingHost = "Recordings.Example.com:8443".parse().unwrap();
    assert_eq!(host.host, "recordings.example.com");
    assert_eq!(host.port, Some(8443));
    assert_eq!(host.to_string(), "recordings.example.com:8443");

    let default_port: RecordingHost = "recordings.example.com".parse().unwrap();
    assert_eq!(default_port.port, None);

    for invalid in ["", "https://recordings.example.com", "recordings.example.com/path", "user@recordings.example.com"] {
        let error = invalid.parse::<RecordingHost>().expect_err(invalid);
        assert!(error.contains("invalid recording host"), "{invalid}: {error}");
    }
}

/// The example site with recordings fetched from `hosts`.
struct FetchingServer {
    address: SocketAddr,
    state: AppState,
    _data_dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FetchingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FetchingServer {
    async fn start(hosts: Vec<RecordingHost>) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let runtime = load_runtime(&component_wasm(), RuntimeLimits::default());
        let storage = Storage::open(data_dir.path()).unwrap();
        let sessions = Arc::new(DemoSessions::demo());
        let mut state = AppState::new(Arc::new(runtime), storage, data_dir.path().to_owned(), sessions.clone()).unwrap();
        state.ingest = IngestSecrets { vapi_secret: Some(TEST_VAPI_SECRET.into()), ..Default::default() };
        state.recording_fetcher = Some(Arc::new(fetcher_for(hosts)));

        let dirs = SiteDirs { assets: workspace_root().join("host-example/assets"), widget: PathBuf::new() };
        let app = site(state.clone(), sessions, dirs);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Self { address, state, _data_dir: data_dir, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn admin(&self) -> reqwest::Client {
        let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = client.post(self.url("/login")).form(&[("username", "admin"), ("password", "admin")]).send().await.unwrap();
        assert_eq!(login.status(), 303);
        client
    }

    async fn import(&self, client: &reqwest::Client, payload: Vec<u8>, recording: Option<Vec<u8>>) -> api::CallDetail {
        let response = client
            .post(self.url("/callscope/api/calls"))
            .header(CSRF_HEADER.0, CSRF_HEADER.1)
            .multipart(import_form(payload, recording, "fetched"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 201, "{body}");
        let summary: api::CallSummary = serde_json::from_str(&body).unwrap();
        client.get(self.url(&format!("/callscope/api/calls/{}", summary.id))).send().await.unwrap().json().await.unwrap()
    }
}

/// Returns the complete Vapi report with its recording URLs replaced and a call id of its own.
fn vapi_report(call_id: &str, stereo_url: &str, mono_url: Option<&str>) -> Vec<u8> {
    let text = std::fs::read_to_string(fixture("payloads/vapi__end-of-call-report.complete.json")).unwrap();
    let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let message = &mut report["message"];
    message["call"]["id"] = serde_json::json!(call_id);
    let mut recording = serde_json::json!({ "stereoUrl": stereo_url });
    if let Some(mono_url) = mono_url {
        recording["mono"] = serde_json::json!({ "combinedUrl": mono_url });
    }
    message["artifact"]["recording"] = recording;
    serde_json::to_vec(&report).unwrap()
}

fn finding_codes(call: &api::CallDetail) -> Vec<&str> {
    call.call.findings.iter().map(|f| f.code.as_str()).filter(|code| code.starts_with("recording-url") || code.starts_with("recording-fetch")).collect()
}

#[tokio::test]
async fn import_fetches_allowed_recording() {
    let storage = RecordingServer::start(None).await;
    let server = FetchingServer::start(vec![storage.host()]).await;
    let admin = server.admin().await;

    let call = server.import(&admin, vapi_report("fetch-1", &storage.url("/call.wav"), None), None).await;

    assert!(call.summary.has_recording, "the recording was fetched and decoded");
    let recording = call.recording.as_ref().expect("recording facts");
    assert_eq!(recording.format.sample_rate, 16_000);
    assert_eq!(recording.format.channels, 1);
    assert!(finding_codes(&call).is_empty(), "{:?}", call.call.findings);
    assert_eq!(storage.hits(), 1);
}

#[tokio::test]
async fn import_records_why_not_fetched() {
    let allowed = RecordingServer::start(None).await;
    let other = RecordingServer::start(None).await;
    let server = FetchingServer::start(vec![allowed.host()]).await;
    let admin = server.admin().await;

    let payload = vapi_report("fetch-2", &other.url("/call.wav"), Some(&allowed.url("/missing")));
    let call = server.import(&admin, payload, None).await;

    assert!(!call.summary.has_recording);
    assert_eq!(finding_codes(&call), vec!["recording-url-not-allowed", "recording-fetch-failed"]);
    let messages: Vec<&str> = call.call.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("not on the allowlist")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("HTTP 404")), "{messages:?}");
    assert_eq!(other.hits(), 0, "the host not on the list was never contacted");
}

#[tokio::test]
async fn import_without_hosts_says_why() {
    let storage = RecordingServer::start(None).await;
    let server = FetchingServer::start(Vec::new()).await;
    let admin = server.admin().await;

    let call = server.import(&admin, vapi_report("fetch-off", &storage.url("/call.wav"), None), None).await;

    assert!(!call.summary.has_recording);
    assert_eq!(finding_codes(&call), vec!["recording-url-not-allowed"]);
    let message = &call.call.findings.iter().find(|f| f.code == "recording-url-not-allowed").unwrap().message;
    assert!(message.contains(&format!("--recording-host {}", storage.address)), "{message}");
    assert_eq!(storage.hits(), 0, "nothing is fetched with no host allowed");
}

#[tokio::test]
async fn recording_url_shown_without_query() {
    let storage = RecordingServer::start(None).await;
    let server = FetchingServer::start(Vec::new()).await;
    let admin = server.admin().await;

    let signed = format!("{}?signature=secret", storage.url("/call.wav"));
    let call = server.import(&admin, vapi_report("signed-url", &signed, None), None).await;

    assert_eq!(call.call.recording_urls, vec![storage.url("/call.wav")]);
    let findings: Vec<&str> = call.call.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(findings.iter().all(|message| !message.contains("secret")), "{findings:?}");
}

#[tokio::test]
async fn uploaded_recording_wins_over_url() {
    let storage = RecordingServer::start(None).await;
    let server = FetchingServer::start(vec![storage.host()]).await;
    let admin = server.admin().await;

    let call = server.import(&admin, vapi_report("fetch-3", &storage.url("/call.wav"), None), Some(fixture_wav())).await;

    assert!(call.summary.has_recording);
    assert_eq!(storage.hits(), 0, "with an upload no URL is fetched");
}

#[tokio::test]
async fn webhook_fetches_allowed_recording() {
    let storage = RecordingServer::start(None).await;
    let server = FetchingServer::start(vec![storage.host()]).await;
    let webhook = reqwest::Client::new();

    let response = webhook
        .post(server.url("/callscope/ingest/webhooks/vapi"))
        .header("x-vapi-secret", TEST_VAPI_SECRET)
        .header("content-type", "application/json")
        .body(vapi_report("fetch-4", &storage.url("/call.wav"), None))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let accepted: serde_json::Value = serde_json::from_str(&body).unwrap();

    let stored = server.state.storage.get_call(accepted["call_id"].as_str().unwrap().to_owned()).await.unwrap().unwrap();
    assert!(stored.summary.has_recording, "the webhook's call got its recording");
    let playback = server.state.data_dir.join(&stored.recording.unwrap().playback_path);
    assert!(playback.exists(), "{} exists", playback.display());
    assert_eq!(storage.hits(), 1);
}
