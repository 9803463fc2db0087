//! The example backoffice server: the callscope component, an embedded SQLite
//! database and a stand-in backoffice with three demo users.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use callscope_host::auth::RoleMap;
use callscope_host::demo_auth::DemoSessions;
use callscope_host::routes::backoffice::{SiteDirs, site};
use callscope_host::storage::Storage;
use callscope_host::live::nats::NatsConfig;
use callscope_host::webhook_auth::IngestSecrets;
use callscope_host::{AppState, ComponentRuntime, HttpLimits, RuntimeLimits};
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
    let runtime = ComponentRuntime::load(&args.component, &args.data_dir.join("compiled"), RuntimeLimits::default())?;
    let storage = Storage::open(&args.data_dir).context("opening the SQLite database")?;
    let sessions = Arc::new(DemoSessions::demo());
    let state = AppState {
        runtime: Arc::new(runtime),
        storage,
        data_dir: args.data_dir.clone(),
        limits: HttpLimits::default(),
        settings: Default::default(),
        authenticator: sessions.clone(),
        role_map: Arc::new(RoleMap::demo()),
        ingest: IngestSecrets {
            retell_api_key: args.retell_api_key.clone(),
            vapi_secret: args.vapi_secret.clone(),
            otlp_token: args.otlp_token.clone(),
        },
        live: callscope_host::live::new_hub(),
    };

    if let Some(samples) = &args.load_samples {
        let imported = callscope_host::demo_calls::load(&state, samples).await?;
        tracing::info!(imported, folder = %samples.display(), "sample calls checked");
    }

    tokio::spawn(callscope_host::live::run_updater(state.clone()));
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
    println!("sign in as one of (password = user name):");
    for user in sessions.users() {
        println!("  {:<10} roles: {}", user.name, user.roles.join(", "));
    }
    println!("press Ctrl-C to stop");
    println!();

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}

