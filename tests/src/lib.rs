//! Shared helpers for the cross-crate tests: locating the built component and widget,
//! starting the example server on a loopback port, and signing in as a demo user.
//!
//! The wasm artifacts come from `cargo xtask test`, which builds them and passes
//! their paths in environment variables.

pub mod browser;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use callscope_host::demo_auth::DemoSessions;
use callscope_host::routes::backoffice::{SiteDirs, site};
use callscope_host::storage::Storage;
use callscope_host::webhook_auth::IngestSecrets;
use callscope_host::{AppState, ComponentRuntime, HttpLimits, RuntimeLimits};

/// Returns the path in environment variable `name`, or panics naming the command that
/// sets it.
pub fn artifact(name: &str) -> PathBuf {
    let path = std::env::var_os(name).map(PathBuf::from).unwrap_or_else(|| {
        panic!("{name} is not set; run the tests with `cargo xtask test`, which builds the wasm parts and sets it")
    });
    assert!(path.exists(), "{name} points to {}, which does not exist; rerun `cargo xtask test`", path.display());
    path
}

pub fn component_wasm() -> PathBuf {
    artifact("CALLSCOPE_COMPONENT_WASM")
}

pub fn broken_component_wasm() -> PathBuf {
    artifact("CALLSCOPE_BROKEN_COMPONENT_WASM")
}

/// The broken test component built without its socket probe: its imports are all
/// allowed, so it reaches the self-test and fails there.
pub fn quiet_broken_component_wasm() -> PathBuf {
    artifact("CALLSCOPE_QUIET_BROKEN_COMPONENT_WASM")
}

/// Returns the path of the same component source built against the frozen interface
/// 0.1.0 (`wit-previous/0.1.0/`), like a component released before interface 0.2.
pub fn previous_interface_component_wasm() -> PathBuf {
    artifact("CALLSCOPE_COMPONENT_0_1_WASM")
}

/// The component with a custom section appended: the same code under another sha256,
/// as a rebuild of the same source with a new version stamp would be.
pub fn restamped_component(stamp: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(component_wasm()).expect("reading the component");
    let name = b"callscope-build";
    let mut payload = vec![u8::try_from(name.len()).expect("a short name")];
    payload.extend_from_slice(name);
    payload.extend_from_slice(stamp.as_bytes());
    // Custom section id 0, then the payload size as LEB128, one byte below 128.
    bytes.push(0);
    bytes.push(u8::try_from(payload.len()).ok().filter(|size| *size < 128).expect("a short stamp"));
    bytes.extend_from_slice(&payload);
    bytes
}

pub fn widget_dir() -> PathBuf {
    artifact("CALLSCOPE_WIDGET_DIR")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_owned()
}

pub fn fixture(relative: &str) -> PathBuf {
    workspace_root().join("fixtures").join(relative)
}

/// Compiled components shared by all tests, so each test binary compiles once.
fn compile_cache() -> PathBuf {
    workspace_root().join("target/callscope-test-cache")
}

/// Loads a component with the given limits.
pub fn load_runtime(wasm: &Path, limits: RuntimeLimits) -> ComponentRuntime {
    ComponentRuntime::load(wasm, &compile_cache(), limits).expect("loading the component")
}

/// Options for [`TestServer::start`].
pub struct ServerOptions {
    pub component: PathBuf,
    pub runtime_limits: RuntimeLimits,
    pub http_limits: HttpLimits,
    pub load_samples: bool,
    pub ingest: IngestSecrets,
    /// Consume live events from NATS with this configuration.
    pub nats: Option<callscope_host::live::nats::NatsConfig>,
    /// Authenticate with this instead of the demo login (proxy headers, JWT).
    pub authenticator: Option<Arc<dyn callscope_host::auth::Authenticator>>,
    pub review: callscope_host::app::ReviewSettings,
    /// Keys that must sign installed components.
    pub component_keys: Vec<callscope_host::components::SigningKey>,
}

/// Credentials the test server accepts on its ingest endpoints.
pub const TEST_RETELL_KEY: &str = "test-retell-key";
pub const TEST_VAPI_SECRET: &str = "test-vapi-secret";
pub const TEST_OTLP_TOKEN: &str = "test-otlp-token";

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            component: component_wasm(),
            runtime_limits: RuntimeLimits::default(),
            http_limits: HttpLimits::default(),
            load_samples: false,
            ingest: IngestSecrets {
                retell_api_key: Some(TEST_RETELL_KEY.into()),
                vapi_secret: Some(TEST_VAPI_SECRET.into()),
                otlp_token: Some(TEST_OTLP_TOKEN.into()),
            },
            nats: None,
            authenticator: None,
            review: Default::default(),
            component_keys: Vec::new(),
        }
    }
}

/// The example server on a free loopback port, with its own data directory.
pub struct TestServer {
    pub address: SocketAddr,
    pub state: AppState,
    pub data_dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start(options: ServerOptions) -> Self {
        let data_dir = tempfile::tempdir().expect("creating a temporary data dir");
        let runtime = load_runtime(&options.component, options.runtime_limits);
        let storage = Storage::open(data_dir.path()).expect("opening storage");
        let sessions = Arc::new(DemoSessions::demo());
        let authenticator: Arc<dyn callscope_host::auth::Authenticator> = match options.authenticator {
            Some(authenticator) => authenticator,
            None => sessions.clone(),
        };
        let mut state = AppState::new(Arc::new(runtime), storage, data_dir.path().to_owned(), authenticator)
            .expect("the example role map and schema are valid");
        state.limits = options.http_limits;
        state.ingest = options.ingest;
        state.review = options.review;
        if !options.component_keys.is_empty() {
            let slot = callscope_host::components::ComponentSlot::with_runtime(
                state.runtime(),
                data_dir.path().join("compiled"),
                options.component_keys,
            );
            state.components = Arc::new(slot);
        }
        if options.load_samples {
            callscope_host::demo_calls::load(&state, &fixture("calls")).await.expect("loading sample calls");
        }

        tokio::spawn(callscope_host::live::run_updater(state.clone()));
        tokio::spawn(callscope_host::components::reanalysis::run(state.clone()));
        if let Some(config) = options.nats {
            let consumer_state = state.clone();
            tokio::spawn(async move {
                if let Err(error) = callscope_host::live::nats::run(consumer_state, config).await {
                    eprintln!("test NATS consumer stopped: {error:#}");
                }
            });
        }

        let dirs = SiteDirs { assets: workspace_root().join("host-example/assets"), widget: widget_dir_or_empty() };
        let app = site(state.clone(), sessions, dirs);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding a loopback port");
        let address = listener.local_addr().expect("reading the bound address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serving");
        });
        Self { address, state, data_dir, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Returns an HTTP client signed in as demo user `user`.
    pub async fn client_for(&self, user: &str) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("building an HTTP client");
        let response = client
            .post(self.url("/login"))
            .form(&[("username", user), ("password", user)])
            .send()
            .await
            .expect("posting the login form");
        assert_eq!(response.status(), 303, "login as {user} should redirect");
        assert_eq!(response.headers()["location"], "/", "login as {user} should succeed");
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The widget folder when the widget was built; API tests do not need it.
fn widget_dir_or_empty() -> PathBuf {
    std::env::var_os("CALLSCOPE_WIDGET_DIR").map(PathBuf::from).unwrap_or_default()
}

/// Builds the multipart form of an import request.
pub fn import_form(payload: Vec<u8>, recording: Option<Vec<u8>>, title: &str) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("title", title.to_owned())
        .part("payload", reqwest::multipart::Part::bytes(payload).file_name("report.json"));
    if let Some(bytes) = recording {
        form = form.part("recording", reqwest::multipart::Part::bytes(bytes).file_name("recording.wav"));
    }
    form
}

/// Header that marks a request as sent by the widget, not a cross-site form.
pub const CSRF_HEADER: (&str, &str) = ("x-callscope-request", "1");
