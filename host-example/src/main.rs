//! The example backoffice server: the callscope component, an embedded SQLite
//! database and a stand-in backoffice with three demo users.
//!
//! `callscope-host [serve] OPTIONS` runs the server; `callscope-host inspect FILE`
//! reports what a component imports and exports without starting anything.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use callscope_host::auth::{Access, Authenticator};
use callscope_host::jwt_auth::JwtAuth;
use callscope_host::proxy_auth::TrustedProxy;
use callscope_host::demo_auth::DemoSessions;
use callscope_host::routes::backoffice::{CookiePolicy, SiteDirs, site_with_cookies};
use callscope_host::storage::Storage;
use callscope_host::live::nats::NatsConfig;
use callscope_host::webhook_auth::IngestSecrets;
use callscope_host::components::{ComponentSlot, SigningKey};
use callscope_host::{AppState, RuntimeLimits};
use callscope_host::inspect::HostLimits;
use callscope_host::recording_fetch::{RecordingFetchConfig, RecordingFetcher, RecordingHost};
use axum::serve::ListenerExt;
use clap::{Parser, Subcommand};

/// The example backoffice with the callscope Calls tab. Without a subcommand it
/// serves, as `serve` does.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the example backoffice (the default).
    Serve(Args),
    /// Print a component's imports (marking any outside wit/allowed-imports.txt), its
    /// exports, interface version, sha256 and the limits this host applies, without
    /// starting a server. Exits with status 2 when an import is not allowed.
    Inspect(InspectArgs),
    /// Install a component into the server running with this data folder: the server
    /// checks it (signature, imports, interface version, self-test) and makes it active,
    /// or refuses it with the reason, which this command prints.
    Install(InstallArgs),
}

#[derive(Debug, clap::Args)]
struct InstallArgs {
    /// The component file to install.
    component: PathBuf,
    /// The running server's data folder.
    #[arg(long, env = "CALLSCOPE_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Ed25519 signature of the file (64 raw bytes); needed when the server has
    /// --component-key set. Default: `<component>.sig` when it exists.
    #[arg(long)]
    signature: Option<PathBuf>,
    /// Seconds to wait for the server's outcome.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// The component file to inspect.
    component: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// A recording host the server would be started with, to show in the limits;
    /// repeat for several.
    #[arg(long = "recording-host")]
    recording_hosts: Vec<RecordingHost>,
}

/// Options of the server.
#[derive(Debug, clap::Args)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CALLSCOPE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder for the SQLite database, recordings and the compiled-component cache.
    #[arg(long, env = "CALLSCOPE_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// The callscope component (a wasm32-wasip2 component file).
    #[arg(long, env = "CALLSCOPE_COMPONENT", required = true)]
    component: Option<PathBuf>,
    /// Folder with the built widget (`callscope_widget.js` and its wasm file).
    #[arg(long, env = "CALLSCOPE_WIDGET_DIR", required = true)]
    widget_dir: Option<PathBuf>,
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
    /// PEM certificate chain (leaf first); with --tls-key the server speaks HTTPS and
    /// session cookies get `Secure`.
    #[arg(long, env = "CALLSCOPE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "CALLSCOPE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Host (name or IP address, optionally :PORT) that recording URLs in vendor
    /// payloads may be fetched from; repeat for several. Default: none, so recordings
    /// are never fetched.
    #[arg(long = "recording-host")]
    recording_hosts: Vec<RecordingHost>,
    /// Time one recording fetch may take, in seconds.
    #[arg(long, default_value_t = 60)]
    recording_fetch_timeout_secs: u64,
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
    #[arg(long, default_value_t = callscope_host::live::nats::DEFAULT_BATCH_SIZE)]
    nats_batch_size: usize,
    /// Unacknowledged events the server may deliver at once; twice the batch size
    /// lets the next batch arrive while one is stored.
    #[arg(long, default_value_t = callscope_host::live::nats::DEFAULT_MAX_IN_FLIGHT)]
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

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Inspect(args)) => inspect(&args),
        Some(Command::Install(args)) => install(&args),
        Some(Command::Serve(args)) => serve_blocking(args),
        None => serve_blocking(cli.serve),
    }
}

/// Prints the report of `inspect`; exits with status 2 when an import is not allowed.
fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let limits = HostLimits {
        recording_fetch: RecordingFetchConfig { allowed_hosts: args.recording_hosts.clone(), ..Default::default() },
        ..Default::default()
    };
    let report = callscope_host::inspect::inspect_file(&args.component, &limits)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let mut text = String::new();
        callscope_host::inspect::write_text(&report, &mut text)?;
        print!("{text}");
    }
    if !report.disallowed_imports().is_empty() {
        eprintln!(
            "callscope-host: {} imports {} outside wit/allowed-imports.txt; the server refuses to load it",
            args.component.display(),
            report.disallowed_imports().join(", ")
        );
        std::process::exit(2);
    }
    Ok(())
}

/// Hands a component to the running server and prints what it decided; exits with
/// status 3 when the server refused it.
fn install(args: &InstallArgs) -> anyhow::Result<()> {
    use callscope_host::components::incoming::{Outcome, submit};

    let default_signature = callscope_host::components::signature_path(&args.component);
    let signature = args.signature.clone().or_else(|| default_signature.exists().then_some(default_signature));
    let outcome = submit(&args.data_dir, &args.component, signature.as_deref(), std::time::Duration::from_secs(args.timeout))?;
    match outcome {
        Outcome::Installed { component } => {
            println!("installed and active: {} (interface {})", component.sha256, component.interface_version);
            Ok(())
        }
        Outcome::Refused { check, message } => {
            eprintln!("callscope-host: refused by the {check} check: {message}");
            std::process::exit(3);
        }
        Outcome::Failed { message } => bail!("the install failed: {message}"),
    }
}

fn serve_blocking(args: Args) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    // `required = true` makes clap reject a missing value unless a subcommand is given.
    let (Some(component), Some(widget_dir)) = (args.component.clone(), args.widget_dir.clone()) else {
        bail!("serving needs --component FILE and --widget-dir DIR");
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(callscope_host::tls::server_config(cert, key)?),
        _ => None,
    };
    callscope_host::tls::check_listen_address(args.listen, tls.is_some(), args.insecure_http)?;

    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating data dir {}", args.data_dir.display()))?;
    let keys = args
        .component_keys
        .iter()
        .map(|text| SigningKey::parse(text).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Opening the slot checks the component, its imports against the allowlist included.
    let slot = ComponentSlot::open(&args.data_dir, &component, RuntimeLimits::default(), keys)
        .with_context(|| format!("installing the component {}", component.display()))?;
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
    if !args.recording_hosts.is_empty() {
        let config = RecordingFetchConfig {
            allowed_hosts: args.recording_hosts.clone(),
            max_bytes: state.limits.max_recording_bytes,
            timeout: std::time::Duration::from_secs(args.recording_fetch_timeout_secs),
            ..Default::default()
        };
        state.recording_fetcher = Some(Arc::new(RecordingFetcher::new(config)?));
        tracing::info!(hosts = ?args.recording_hosts.iter().map(ToString::to_string).collect::<Vec<_>>(), "recordings are fetched from these hosts");
    }
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
    tokio::spawn(callscope_host::components::incoming::watch(state.clone(), args.data_dir.clone()));
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

    let cookies = CookiePolicy { secure: tls.is_some() };
    let app = site_with_cookies(state, sessions.clone(), SiteDirs { assets: args.assets_dir.clone(), widget: widget_dir }, cookies)
        // `HttpError` logs each failed request once with its kind and message; the trace
        // layer's own line for a 5xx status only repeats it.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        );
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };

    println!();
    println!("callscope demo running at {scheme}://{address}/");
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
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    match tls {
        Some(config) => {
            // `tap_io` gives the listener the `SocketAddr` connect info of a plain one.
            let listener = callscope_host::tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            axum::serve(listener, service).with_graceful_shutdown(shutdown).await?;
        }
        None => axum::serve(listener, service).with_graceful_shutdown(shutdown).await?,
    }
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
