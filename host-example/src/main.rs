//! The example backoffice server: the callscope component, an embedded SQLite
//! database and a stand-in backoffice with three demo users.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use callscope_host::auth::{Access, Authenticator};
use callscope_host::jwt_auth::JwtAuth;
use callscope_host::proxy_auth::TrustedProxy;
use callscope_host::demo_auth::DemoSessions;
use callscope_host::routes::backoffice::{SiteDirs, site};
use callscope_host::storage::Storage;
use callscope_host::live::nats::NatsConfig;
use callscope_host::webhook_auth::IngestSecrets;
use callscope_host::components::{ComponentSlot, SigningKey};
use callscope_host::{AppState, RuntimeLimits};
use clap::Parser;

/// Serve the example backoffice with the callscope Calls tab.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CALLSCOPE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder for the SQLite database, recordings and the compiled-component cache.
    #[arg(long, env = "CALLSCOPE_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The callscope component (a wasm32-wasip2 component file).
    #[arg(long, env = "CALLSCOPE_COMPONENT")]
    component: PathBuf,
    /// Folder with the built widget (`callscope_widget.js` and its wasm file).
    #[arg(long, env = "CALLSCOPE_WIDGET_DIR")]
    widget_dir: PathBuf,
    /// Folder with the backoffice's own pages.
    #[arg(long, env = "CALLSCOPE_ASSETS_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))]
    assets_dir: PathBuf,
    /// Folder of sample calls (one sub-folder with a `call.json` each) imported at start
    /// unless already stored.
    #[arg(long)]
    load_samples: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback. Without TLS, session
    /// cookies and production call data cross the network readable by anyone on it.
    #[arg(long)]
    insecure_http: bool,
    /// Retell API key; enables the Retell webhook, whose signatures it checks.
    #[arg(long, env = "CALLSCOPE_RETELL_API_KEY", hide_env_values = true)]
    retell_api_key: Option<String>,
    /// Vapi server URL secret; enables the Vapi webhook, which must send it in X-Vapi-Secret.
    #[arg(long, env = "CALLSCOPE_VAPI_SECRET", hide_env_values = true)]
    vapi_secret: Option<String>,
    /// Bearer token for OTLP/HTTP trace exports; enables `/callscope/ingest/v1/traces`.
    #[arg(long, env = "CALLSCOPE_OTLP_TOKEN", hide_env_values = true)]
    otlp_token: Option<String>,
    /// NATS server to consume live call events from, for example nats://127.0.0.1:4222.
    #[arg(long, env = "CALLSCOPE_NATS_URL")]
    nats_url: Option<String>,
    /// Subject the JetStream consumer reads (the stream captures it).
    #[arg(long, default_value = "callscope.events.>")]
    nats_subject: String,
    /// JetStream stream name, created when missing.
    #[arg(long, default_value = "CALLSCOPE_EVENTS")]
    nats_stream: String,
    /// Durable consumer name; restarts resume where the last run stopped.
    #[arg(long, default_value = "callscope-host")]
    nats_consumer: String,
    /// Events stored per transaction.
    #[arg(long, default_value_t = 500)]
    nats_batch_size: usize,
    /// Unacknowledged events the server may deliver at once.
    #[arg(long, default_value_t = 1000)]
    nats_max_in_flight: i64,
    /// Demo: publish this recorded event stream (NDJSON) to NATS after start-up, so a
    /// call arrives live. Needs --nats-url.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Replay speed: 1 is real time, 4 plays a minute of call in 15 s.
    #[arg(long, default_value_t = 1.0)]
    replay_speed: f64,
    /// How requests are authenticated: `demo` (the example's own login page), `proxy`
    /// (user and roles in headers set by a trusted reverse proxy) or `jwt` (a bearer
    /// token signed by the backoffice).
    #[arg(long, value_enum, default_value_t = AuthMode::Demo)]
    auth: AuthMode,
    /// With --auth proxy: address of a reverse proxy whose headers are believed; repeat
    /// for several. Headers from any other address are ignored.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// With --auth proxy: header with the user name.
    #[arg(long, default_value = "x-forwarded-user")]
    proxy_user_header: String,
    /// With --auth proxy: header with comma-separated role names.
    #[arg(long, default_value = "x-forwarded-roles")]
    proxy_roles_header: String,
    /// With --auth jwt: PEM public key (Ed25519, P-256 or RSA) the tokens are signed with.
    #[arg(long)]
    jwt_public_key: Option<PathBuf>,
    /// With --auth jwt: required `iss` claim.
    #[arg(long)]
    jwt_issuer: Option<String>,
    /// With --auth jwt: required `aud` claim.
    #[arg(long)]
    jwt_audience: Option<String>,
    /// With --auth jwt: claim listing the role names.
    #[arg(long, default_value = "roles")]
    jwt_roles_claim: String,
    /// Role map: JSON object from backoffice role name to callscope permission names.
    /// Default: the example's roles (host-example/config/roles.json).
    #[arg(long, env = "CALLSCOPE_ROLE_MAP")]
    role_map: Option<PathBuf>,
    /// Annotation schema (JSON). Default: host-example/config/schema.json.
    #[arg(long, env = "CALLSCOPE_SCHEMA")]
    schema: Option<PathBuf>,
    /// Public key allowed to sign components, as NAME=HEX (32-byte Ed25519 key in hex);
    /// repeat for several. With any key configured, every component needs a signature:
    /// `<file>.sig` next to the `--component` file, or the `signature` upload field.
    #[arg(long = "component-key")]
    component_keys: Vec<String>,
    /// Share of calls without flags put in the review queue, in thousandths.
    #[arg(long, default_value_t = 100)]
    review_sample_per_mille: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AuthMode {
    Demo,
    Proxy,
    Jwt,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .init();
    let args = Args::parse();

    if !args.listen.ip().is_loopback() && !args.insecure_http {
        bail!(
            "refusing to serve plain HTTP on {}: it is not a loopback address, so sessions and call data would \
             cross the network unencrypted; listen on 127.0.0.1, or pass --insecure-http behind a TLS-terminating proxy",
            args.listen
        );
    }

    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating data dir {}", args.data_dir.display()))?;
    let keys = args
        .component_keys
        .iter()
        .map(|text| SigningKey::parse(text).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let slot = ComponentSlot::open(&args.data_dir, &args.component, RuntimeLimits::default(), keys)
        .with_context(|| format!("installing the component {}", args.component.display()))?;
    let runtime = slot.active();
    let storage = Storage::open(&args.data_dir).context("opening the SQLite database")?;
    let sessions = Arc::new(DemoSessions::demo());
    let authenticator = authenticator(&args, &sessions)?;
    let mut state = AppState::new(runtime.clone(), storage, args.data_dir.clone(), authenticator)?;
    state.components = Arc::new(slot);
    if let Some(path) = &args.role_map {
        let json = std::fs::read_to_string(path).with_context(|| format!("reading the role map {}", path.display()))?;
        state.access = Arc::new(Access::from_json(&runtime, &json).with_context(|| format!("in {}", path.display()))?);
    }
    if let Some(path) = &args.schema {
        let json = std::fs::read_to_string(path).with_context(|| format!("reading the annotation schema {}", path.display()))?;
        state.schema = Arc::new(runtime.parse_schema(&json).with_context(|| format!("in {}", path.display()))?);
    }
    state.review.sample_per_mille = args.review_sample_per_mille;
    state.ingest = IngestSecrets {
        retell_api_key: args.retell_api_key.clone(),
        vapi_secret: args.vapi_secret.clone(),
        otlp_token: args.otlp_token.clone(),
    };

    if let Some(samples) = &args.load_samples {
        let imported = callscope_host::demo_calls::load(&state, samples).await?;
        tracing::info!(imported, folder = %samples.display(), "sample calls checked");
    }

    tokio::spawn(callscope_host::live::run_updater(state.clone()));
    tokio::spawn(callscope_host::components::reanalysis::run(state.clone()));
    let pending = state.storage.stream_call_ids().await?;
    state.live.mark_calls(pending);
    if let Some(url) = &args.nats_url {
        let mut config = NatsConfig::new(url.clone());
        config.subject = args.nats_subject.clone();
        config.stream = args.nats_stream.clone();
        config.consumer = args.nats_consumer.clone();
        config.batch_size = args.nats_batch_size;
        config.max_in_flight = args.nats_max_in_flight;
        let consumer_state = state.clone();
        tokio::spawn(async move {
            if let Err(error) = callscope_host::live::nats::run(consumer_state, config).await {
                tracing::error!(error = format!("{error:#}"), "NATS consumer stopped");
            }
        });
    }

    if let Some(file) = args.replay.clone() {
        let Some(url) = args.nats_url.clone() else {
            bail!("--replay publishes to NATS; pass --nats-url too, for example --nats-url nats://127.0.0.1:4222");
        };
        let prefix = args.nats_subject.trim_end_matches(".>").to_owned();
        let stream = args.nats_stream.clone();
        let suffix = format!("-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let speed = args.replay_speed;
        tokio::spawn(async move {
            // Give the browser a moment to open before the call starts.
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            if let Err(error) = callscope_host::live::replay::replay(&url, &stream, &prefix, &file, speed, &suffix).await {
                tracing::error!(error = format!("{error:#}"), "replaying the event stream failed");
            }
        });
    }

    let app = site(state, sessions.clone(), SiteDirs { assets: args.assets_dir, widget: args.widget_dir })
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;

    println!();
    println!("callscope demo running at http://{address}/");
    match args.auth {
        AuthMode::Demo => {
            println!("sign in as one of (password = user name):");
            for user in sessions.users() {
                println!("  {:<10} roles: {}", user.name, user.roles.join(", "));
            }
        }
        AuthMode::Proxy => println!("users come from the {} header of {:?}", args.proxy_user_header, args.trusted_proxies),
        AuthMode::Jwt => println!("users come from bearer tokens signed with {:?}", args.jwt_public_key),
    }
    println!("press Ctrl-C to stop");
    println!();

    // The peer address lets the proxy authenticator tell its proxies from other clients.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}


/// Builds the authenticator `--auth` chose, refusing a configuration that would let
/// nobody in or anybody in.
fn authenticator(args: &Args, sessions: &Arc<DemoSessions>) -> anyhow::Result<Arc<dyn Authenticator>> {
    Ok(match args.auth {
        AuthMode::Demo => sessions.clone(),
        AuthMode::Proxy => {
            if args.trusted_proxies.is_empty() {
                bail!("--auth proxy needs at least one --trusted-proxy ADDRESS: the proxy whose user headers are believed");
            }
            let mut proxy = TrustedProxy::new(args.trusted_proxies.clone());
            proxy.user_header = args.proxy_user_header.to_ascii_lowercase();
            proxy.roles_header = args.proxy_roles_header.to_ascii_lowercase();
            Arc::new(proxy)
        }
        AuthMode::Jwt => {
            let Some(key) = &args.jwt_public_key else {
                bail!("--auth jwt needs --jwt-public-key PATH: the PEM public key the backoffice signs tokens with");
            };
            Arc::new(JwtAuth::from_pem_file(key, args.jwt_issuer.as_deref(), args.jwt_audience.as_deref(), &args.jwt_roles_claim)?)
        }
    })
}
