//! The live event stream benchmark. It times native utterance events from NATS
//! JetStream through the component into SQLite, and the same events stored without
//! NATS and without the component. It also measures the latency from publishing an
//! event to the first SSE notice that covers it.
//!
//! Everything here runs on a current-thread tokio runtime inside a thread pinned to
//! one CPU with `sched_setaffinity`. Threads started from it (tokio's blocking pool,
//! which runs the component and SQLite) inherit the pin, so the host side uses one
//! core. The NATS server is another process and may use the other cores.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use async_nats::jetstream;
use callscope_host::demo_auth::DemoSessions;
use callscope_host::live::nats::NatsConfig;
use callscope_host::live::store::AcceptedEvent;
use callscope_host::routes::backoffice::{SiteDirs, site};
use callscope_host::storage::Storage;
use callscope_host::{AppState, ComponentRuntime};

/// Events per transaction on the paths without NATS, the consumer's default batch.
pub const BATCH_EVENTS: usize = callscope_host::live::nats::DEFAULT_BATCH_SIZE;

/// How often the sustained run checks how many events are stored.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Maximum wait for the consumer to store every event before the run is given up.
const CONSUME_TIMEOUT: Duration = Duration::from_secs(600);

/// Maximum wait, after the last publish, for notices covering the last events.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(5);

/// Maximum wait for the NATS connection before the NATS parts are reported as not measured.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Format name the component gives native event streams, part of a call's vendor key.
const NATIVE_FORMAT: &str = "callscope-ndjson";

/// Sizes and rates of the stream benchmark.
pub struct StreamOptions {
    /// A `nats://127.0.0.1:PORT` URL.
    pub nats_url: String,
    /// Events in the sustained runs.
    pub events: usize,
    /// Calls the sustained events are spread over, interleaved.
    pub calls: usize,
    /// Events per second published in the latency run.
    pub latency_rate: usize,
    /// Length of the latency run.
    pub latency_duration: Duration,
    /// Calls the latency events are spread over.
    pub latency_calls: usize,
    /// Runs of each sustained path. The fastest run counts.
    pub runs: usize,
}

pub struct StreamReport {
    pub options: StreamOptions,
    /// Mean size of one sustained event in bytes.
    pub mean_event_bytes: usize,
    /// CPU the benchmark thread was pinned to, or `None` when pinning failed.
    pub pinned_cpu: Option<usize>,
    /// The real consumer, or why it was not measured.
    pub consumer: Result<ConsumerRun, String>,
    /// `live::store_batch` (component and SQLite) called directly.
    pub store_batch: Duration,
    /// Process CPU time of the fastest `store_batch` run.
    pub store_batch_cpu: Duration,
    /// `Storage::insert_events` with events split on the host, no component.
    pub direct_insert: Duration,
    /// Process CPU time of the fastest direct-insert run.
    pub direct_insert_cpu: Duration,
    pub latency: Result<LatencyRun, String>,
}

pub struct ConsumerRun {
    /// Time to publish the events before the consumer started (not part of the rate).
    pub publish: Duration,
    /// From starting the consumer to the last event stored.
    pub consume: Duration,
    /// Process CPU time over `consume`.
    pub cpu: Duration,
    /// Memory from the start of the first run to the end of the last.
    pub memory: MemoryUse,
}

impl ConsumerRun {
    /// Keeps the faster run's timing and the memory of both runs in order.
    fn followed_by(self, later: ConsumerRun) -> ConsumerRun {
        let memory = MemoryUse {
            rss_start_kib: self.memory.rss_start_kib,
            rss_end_kib: later.memory.rss_end_kib,
            rss_max_kib: self.memory.rss_max_kib.max(later.memory.rss_max_kib),
            hwm_end_kib: later.memory.hwm_end_kib,
        };
        let fastest = if later.consume < self.consume { later } else { self };
        ConsumerRun { memory, ..fastest }
    }
}

/// Resident memory of the benchmark process in KiB, from /proc/self/status.
pub struct MemoryUse {
    pub rss_start_kib: u64,
    pub rss_end_kib: u64,
    /// Largest `VmRSS` seen at the count polls during the run.
    pub rss_max_kib: u64,
    /// `VmHWM` at the end: the high-water mark of the whole process so far.
    pub hwm_end_kib: u64,
}

pub struct LatencyRun {
    pub published: usize,
    /// Publish-to-notice latency of each event covered by a notice, sorted.
    pub latencies: Vec<Duration>,
    /// Events no notice covered within [`NOTICE_TIMEOUT`] after the last publish.
    pub uncovered: usize,
    pub notices: usize,
    /// From the first publish to the last acknowledgement.
    pub publishing: Duration,
}

impl LatencyRun {
    /// Returns the nearest-rank percentile `quantile` (0..=1) of the latencies.
    pub fn percentile(&self, quantile: f64) -> Option<Duration> {
        let count = self.latencies.len();
        if count == 0 {
            return None;
        }
        let rank = ((quantile * count as f64).ceil() as usize).clamp(1, count);
        Some(self.latencies[rank - 1])
    }
}

/// Runs the stream benchmark in its own thread pinned to one CPU.
pub fn measure(options: StreamOptions, runtime: Arc<ComponentRuntime>) -> Result<StreamReport> {
    let thread = std::thread::Builder::new()
        .name("stream-bench".into())
        .spawn(move || -> Result<StreamReport> {
            let pinned_cpu = pin_to_current_cpu();
            let tokio_runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building the tokio runtime failed")?;
            tokio_runtime.block_on(measure_pinned(options, runtime, pinned_cpu))
        })
        .context("starting the stream benchmark thread failed")?;
    thread.join().map_err(|_| anyhow::anyhow!("the stream benchmark thread panicked"))?
}

async fn measure_pinned(options: StreamOptions, runtime: Arc<ComponentRuntime>, pinned_cpu: Option<usize>) -> Result<StreamReport> {
    let run_id = format!("{}{}", std::process::id(), unix_millis());
    let events = sustained_events(&run_id, options.calls, options.events);
    let mean_event_bytes = events.iter().map(|(_, payload)| payload.len()).sum::<usize>() / events.len().max(1);

    let mut consumer: Result<ConsumerRun, String> = Err("no run was made".to_string());
    for run in 0..options.runs {
        match consume_from_nats(&options.nats_url, runtime.clone(), &format!("{run_id}r{run}"), &events).await {
            Ok(timing) => {
                eprintln!("stream: consumer stored {} events in {:?} ({:?} CPU)", events.len(), timing.consume, timing.cpu);
                consumer = Ok(match consumer {
                    Ok(earlier) => earlier.followed_by(timing),
                    Err(_) => timing,
                });
            }
            Err(error) => {
                eprintln!("stream: the NATS consumer was not measured: {error:#}");
                consumer = Err(format!("{error:#}"));
                break;
            }
        }
    }

    let mut store_batch = (Duration::MAX, Duration::ZERO);
    let mut direct_insert = (Duration::MAX, Duration::ZERO);
    for _ in 0..options.runs {
        let (elapsed, cpu) = time_store_batch(runtime.clone(), &events).await?;
        eprintln!("stream: store_batch stored {} events in {elapsed:?} ({cpu:?} CPU)", events.len());
        store_batch = store_batch.min((elapsed, cpu));

        let (elapsed, cpu) = time_direct_insert(runtime.clone(), &events).await?;
        eprintln!("stream: direct insert stored {} events in {elapsed:?} ({cpu:?} CPU)", events.len());
        direct_insert = direct_insert.min((elapsed, cpu));
    }
    let (store_batch, store_batch_cpu) = store_batch;
    let (direct_insert, direct_insert_cpu) = direct_insert;

    let latency = match measure_latency(&options, runtime, &run_id).await {
        Ok(run) => Ok(run),
        Err(error) => {
            eprintln!("stream: latency was not measured: {error:#}");
            Err(format!("{error:#}"))
        }
    };
    Ok(StreamReport {
        options,
        mean_event_bytes,
        pinned_cpu,
        consumer,
        store_batch,
        store_batch_cpu,
        direct_insert,
        direct_insert_cpu,
        latency,
    })
}

/// Returns `count` utterance events spread round-robin over `calls` calls, as
/// `(call number, payload)`.
fn sustained_events(run_id: &str, calls: usize, count: usize) -> Vec<(usize, Vec<u8>)> {
    (0..count)
        .map(|number| {
            let call = number % calls;
            (call, utterance_event(run_id, call, number / calls))
        })
        .collect()
}

/// Builds utterance `index` of call `call` as a native `utterance` event, two seconds each.
fn utterance_event(run_id: &str, call: usize, index: usize) -> Vec<u8> {
    let speaker = if index % 2 == 0 { "user" } else { "bot" };
    let start_ms = index as i64 * 2_000;
    serde_json::json!({
        "v": 1,
        "id": format!("{}-e{index}", stream_call_id(run_id, call)),
        "call_id": stream_call_id(run_id, call),
        "type": "utterance",
        "speaker": speaker,
        "text": format!("utterance {index} of the benchmark call, about as long as a short sentence"),
        "start_ms": start_ms,
        "end_ms": start_ms + 1_800,
    })
    .to_string()
    .into_bytes()
}

fn stream_call_id(run_id: &str, call: usize) -> String {
    format!("bench-{run_id}-call-{call}")
}

/// A JetStream stream, subject and durable consumer used by one run only.
struct StreamNames {
    stream: String,
    subject_prefix: String,
}

impl StreamNames {
    fn new(run_id: &str, purpose: &str) -> Self {
        Self {
            stream: format!("CALLSCOPE_BENCH_{purpose}_{run_id}").to_uppercase(),
            subject_prefix: format!("callscope.bench.{purpose}.{run_id}"),
        }
    }

    fn config(&self, url: &str) -> NatsConfig {
        NatsConfig {
            stream: self.stream.clone(),
            subject: format!("{}.>", self.subject_prefix),
            consumer: format!("{}-consumer", self.stream.to_lowercase()),
            ..NatsConfig::new(url)
        }
    }

    fn subject(&self, call: usize) -> String {
        format!("{}.call-{call}", self.subject_prefix)
    }

    /// Creates the stream the consumer will open, so events can be published first.
    async fn create(&self, context: &jetstream::Context) -> Result<()> {
        context
            .create_stream(jetstream::stream::Config {
                name: self.stream.clone(),
                subjects: vec![format!("{}.>", self.subject_prefix)],
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating JetStream stream {} failed", self.stream))?;
        Ok(())
    }

    /// Deletes the stream and with it the consumer and every published event.
    async fn delete(&self, context: &jetstream::Context) {
        if let Err(error) = context.delete_stream(&self.stream).await {
            eprintln!("stream: deleting JetStream stream {} failed: {error}; delete it by hand", self.stream);
        }
    }
}

async fn connect(url: &str) -> Result<async_nats::Client> {
    tokio::time::timeout(CONNECT_TIMEOUT, async_nats::connect(url))
        .await
        .with_context(|| format!("connecting to NATS at {url} timed out after {CONNECT_TIMEOUT:?}"))?
        .with_context(|| format!("connecting to NATS at {url} failed; start nats-server with -js on that port or pass --nats-url"))
}

/// Publishes all events, then times the real consumer until SQLite contains them all.
async fn consume_from_nats(
    url: &str,
    runtime: Arc<ComponentRuntime>,
    run_id: &str,
    events: &[(usize, Vec<u8>)],
) -> Result<ConsumerRun> {
    let client = connect(url).await?;
    let context = jetstream::new(client);
    let names = StreamNames::new(run_id, "throughput");
    names.create(&context).await?;
    let result = publish_and_consume(&context, &names, url, runtime, events).await;
    names.delete(&context).await;
    result
}

async fn publish_and_consume(
    context: &jetstream::Context,
    names: &StreamNames,
    url: &str,
    runtime: Arc<ComponentRuntime>,
    events: &[(usize, Vec<u8>)],
) -> Result<ConsumerRun> {
    let started = Instant::now();
    for chunk in events.chunks(1_000) {
        let mut acks = Vec::with_capacity(chunk.len());
        for (call, payload) in chunk {
            let ack = context.publish(names.subject(*call), payload.clone().into()).await.context("publishing an event failed")?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.context("JetStream did not acknowledge a published event")?;
        }
    }
    let publish = started.elapsed();
    eprintln!("stream: published {} events in {publish:?}", events.len());

    let (state, _sessions, data_dir) = new_state(runtime)?;
    let expected = events.len() as u64;
    let progress = ProgressReader::open(data_dir.path())?;
    let rss_start_kib = memory_kib("VmRSS");
    let mut rss_max_kib = rss_start_kib;

    let started = Instant::now();
    let cpu_start = process_cpu();
    let consumer = tokio::spawn(callscope_host::live::nats::run(state.clone(), names.config(url)));
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        let stored = progress.last_sequence()?;
        rss_max_kib = rss_max_kib.max(memory_kib("VmRSS"));
        if stored >= expected {
            break;
        }
        if consumer.is_finished() {
            let outcome = consumer.await.context("the consumer task failed")?;
            bail!("the consumer stopped after storing {stored} of {expected} events: {outcome:?}");
        }
        if started.elapsed() > CONSUME_TIMEOUT {
            consumer.abort();
            bail!("the consumer stored only {stored} of {expected} events in {CONSUME_TIMEOUT:?}");
        }
    }
    let consume = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_start);
    consumer.abort();
    check_stored(&state, events.len()).await?;

    let memory = MemoryUse { rss_start_kib, rss_end_kib: memory_kib("VmRSS"), rss_max_kib, hwm_end_kib: memory_kib("VmHWM") };
    Ok(ConsumerRun { publish, consume, cpu, memory })
}

/// A read-only connection of its own to the benchmark's database, so that following
/// the consumer's progress neither waits for nor locks the host's connection.
struct ProgressReader {
    connection: rusqlite::Connection,
}

impl ProgressReader {
    fn open(data_dir: &std::path::Path) -> Result<Self> {
        let path = data_dir.join("callscope.sqlite3");
        let connection = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {} read-only failed", path.display()))?;
        Ok(Self { connection })
    }

    /// Returns the highest stream event sequence committed so far. Events are only
    /// added and the sequence is SQLite's rowid, so it equals the number stored,
    /// and reading it costs one index lookup where `COUNT(*)` would scan the table.
    fn last_sequence(&self) -> Result<u64> {
        let last: Option<i64> = self
            .connection
            .query_row("SELECT MAX(seq) FROM stream_events", [], |row| row.get(0))
            .context("reading the last stored event failed")?;
        Ok(last.unwrap_or(0) as u64)
    }
}

/// Times `live::store_batch` over the events in consumer-sized batches; returns the
/// elapsed and the process CPU time.
async fn time_store_batch(runtime: Arc<ComponentRuntime>, events: &[(usize, Vec<u8>)]) -> Result<(Duration, Duration)> {
    let (state, _sessions, _data_dir) = new_state(runtime)?;

    let started = Instant::now();
    let cpu_start = process_cpu();
    for (number, chunk) in events.chunks(BATCH_EVENTS).enumerate() {
        let batch = chunk.iter().map(|(call, payload)| (format!("bench batch {number} call {call}"), payload.clone())).collect();
        let outcome = callscope_host::live::store_batch(&state, batch).await.context("store_batch failed")?;
        if outcome.rejected > 0 {
            bail!("the component rejected {} benchmark events in batch {number}", outcome.rejected);
        }
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_start);

    check_stored(&state, events.len()).await?;
    Ok((elapsed, cpu))
}

/// The fields a host needs to store an event, read without validating anything else.
#[derive(serde::Deserialize)]
struct EventKeys<'a> {
    id: &'a str,
    call_id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
}

/// Times the no-component baseline: the host reads each event's id, call id and type
/// with serde_json and stores the payload as it came, through the same
/// `Storage::insert_events` and schema as the live path.
async fn time_direct_insert(runtime: Arc<ComponentRuntime>, events: &[(usize, Vec<u8>)]) -> Result<(Duration, Duration)> {
    let (state, _sessions, _data_dir) = new_state(runtime)?;
    let received_at = "2026-01-01T00:00:00Z".to_string();

    let started = Instant::now();
    let cpu_start = process_cpu();
    for chunk in events.chunks(BATCH_EVENTS) {
        let mut accepted = Vec::with_capacity(chunk.len());
        for (_, payload) in chunk {
            let keys: EventKeys<'_> = serde_json::from_slice(payload).context("a benchmark event is not JSON")?;
            accepted.push(AcceptedEvent {
                event_id: keys.id.to_owned(),
                call_id: keys.call_id.to_owned(),
                event_type: keys.event_type.to_owned(),
                json: String::from_utf8(payload.clone()).context("a benchmark event is not UTF-8")?,
            });
        }
        state.storage.insert_events(accepted, Vec::new(), received_at.clone()).await.context("insert_events failed")?;
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_start);

    check_stored(&state, events.len()).await?;
    Ok((elapsed, cpu))
}

async fn check_stored(state: &AppState, expected: usize) -> Result<()> {
    let stored = state.storage.count_events(None).await.context("counting stored events failed")?;
    if stored != expected as u64 {
        bail!("{stored} events stored, {expected} expected");
    }
    Ok(())
}

/// Publishes at a steady rate into a served host and records, for every event, the
/// time from its publish to the first SSE notice whose utterance count covers it.
async fn measure_latency(options: &StreamOptions, runtime: Arc<ComponentRuntime>, run_id: &str) -> Result<LatencyRun> {
    let client = connect(&options.nats_url).await?;
    let context = jetstream::new(client);
    let names = StreamNames::new(run_id, "latency");
    names.create(&context).await?;
    let result = publish_and_watch(options, &context, &names, runtime, run_id).await;
    names.delete(&context).await;
    result
}

async fn publish_and_watch(
    options: &StreamOptions,
    context: &jetstream::Context,
    names: &StreamNames,
    runtime: Arc<ComponentRuntime>,
    run_id: &str,
) -> Result<LatencyRun> {
    let (state, sessions, _data_dir) = new_state(runtime)?;
    let updater = tokio::spawn(callscope_host::live::run_updater(state.clone()));
    let consumer = tokio::spawn(callscope_host::live::nats::run(state.clone(), names.config(&options.nats_url)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding a loopback port failed")?;
    let address = listener.local_addr().context("reading the bound address failed")?;
    let dirs = SiteDirs { assets: crate::workspace_root().join("host-example/assets"), widget: std::path::PathBuf::new() };
    let app = site(state.clone(), sessions, dirs);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let result = publish_and_read_notices(options, context, names, &state, &format!("http://{address}"), run_id).await;
    for task in [updater.abort_handle(), consumer.abort_handle(), server.abort_handle()] {
        task.abort();
    }
    result
}

/// A notice as the SSE endpoint sends it, with the time it was read.
struct ReceivedNotice {
    at: Instant,
    call_id: String,
    utterance_count: usize,
}

async fn publish_and_read_notices(
    options: &StreamOptions,
    context: &jetstream::Context,
    names: &StreamNames,
    state: &AppState,
    base_url: &str,
    run_id: &str,
) -> Result<LatencyRun> {
    let (notices_tx, mut notices_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(read_sse(open_sse(base_url).await?, notices_tx));

    // One tick every 10 ms; the tick's events go round-robin over the calls.
    let tick = Duration::from_millis(10);
    let per_tick = (options.latency_rate / 100).max(1);
    let ticks = (options.latency_duration.as_millis() / tick.as_millis()) as usize;
    let mut published_at: Vec<Vec<Instant>> = vec![Vec::new(); options.latency_calls];
    let mut interval = tokio::time::interval(tick);
    let mut number = 0usize;
    let first_publish = Instant::now();
    for _ in 0..ticks {
        interval.tick().await;
        let mut acks = Vec::with_capacity(per_tick);
        for _ in 0..per_tick {
            let call = number % options.latency_calls;
            let payload = utterance_event(run_id, call, published_at[call].len());
            published_at[call].push(Instant::now());
            acks.push(context.publish(names.subject(call), payload.into()).await.context("publishing an event failed")?);
            number += 1;
        }
        for ack in acks {
            ack.await.context("JetStream did not acknowledge a published event")?;
        }
    }
    let last_publish = Instant::now();
    let publishing = last_publish - first_publish;
    eprintln!("stream: published {number} events at {} events/s", options.latency_rate);

    // Each notice names callscope's id of the call; the vendor key maps it back.
    let mut call_of: HashMap<String, usize> = HashMap::new();
    let mut covered = vec![0usize; options.latency_calls];
    let mut latencies = Vec::with_capacity(number);
    let mut notices = 0;
    while covered.iter().sum::<usize>() < number {
        let left = NOTICE_TIMEOUT.saturating_sub(last_publish.elapsed());
        let Ok(Some(notice)) = tokio::time::timeout(left, notices_rx.recv()).await else {
            break;
        };
        notices += 1;
        if !call_of.contains_key(&notice.call_id) {
            for call in 0..options.latency_calls {
                let key = format!("{NATIVE_FORMAT}:{}", stream_call_id(run_id, call));
                if let Some(id) = state.storage.id_for_vendor_key(key).await.context("looking up a call failed")? {
                    call_of.insert(id, call);
                }
            }
        }
        let Some(&call) = call_of.get(&notice.call_id) else {
            bail!("a notice names call {}, which is none of the benchmark's calls", notice.call_id);
        };
        let times = &published_at[call];
        let count = notice.utterance_count.min(times.len());
        for published in &times[covered[call].min(count)..count] {
            latencies.push(notice.at.saturating_duration_since(*published));
        }
        covered[call] = covered[call].max(count);
    }
    reader.abort();

    latencies.sort_unstable();
    Ok(LatencyRun { published: number, uncovered: number - covered.iter().sum::<usize>(), latencies, notices, publishing })
}

/// Signs in as the demo viewer and opens the live-notice SSE endpoint.
async fn open_sse(base_url: &str) -> Result<reqwest::Response> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the HTTP client failed")?;
    let login = client
        .post(format!("{base_url}/login"))
        .form(&[("username", "viewer"), ("password", "viewer")])
        .send()
        .await
        .context("signing in as the demo viewer failed")?;
    if login.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("signing in as the demo viewer returned {}, expected 303", login.status());
    }
    let response = client
        .get(format!("{base_url}/callscope/api/live"))
        .send()
        .await
        .context("opening /callscope/api/live failed")?;
    if !response.status().is_success() {
        bail!("/callscope/api/live returned {}", response.status());
    }
    Ok(response)
}

/// Forwards each `data:` line of the SSE stream as a notice, stamped when read.
async fn read_sse(mut response: reqwest::Response, notices: tokio::sync::mpsc::UnboundedSender<ReceivedNotice>) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Notice {
        call_id: String,
        utterance_count: usize,
    }

    let mut pending = Vec::new();
    while let Some(chunk) = response.chunk().await.context("reading the SSE stream failed")? {
        let at = Instant::now();
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Some(data) = line.strip_prefix(b"data:") else {
                continue;
            };
            let notice: Notice = serde_json::from_slice(data.trim_ascii()).context("an SSE notice is not the expected JSON")?;
            let _ = notices.send(ReceivedNotice { at, call_id: notice.call_id, utterance_count: notice.utterance_count });
        }
    }
    Ok(())
}

/// Builds host state the way the example server does, on a fresh temporary database.
fn new_state(runtime: Arc<ComponentRuntime>) -> Result<(AppState, Arc<DemoSessions>, tempfile::TempDir)> {
    let data_dir = tempfile::tempdir().context("creating a temporary data dir failed")?;
    let storage = Storage::open(data_dir.path()).context("opening storage failed")?;
    let sessions = Arc::new(DemoSessions::demo());
    let state = AppState::new(runtime, storage, data_dir.path().to_owned(), sessions.clone())
        .context("the component refused the example role map or schema")?;
    Ok((state, sessions, data_dir))
}

/// Pins the calling thread to the CPU it runs on; returns that CPU, or `None` when
/// the kernel refused.
fn pin_to_current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments; cpu_set_t is plain data, zeroed by
    // CPU_ZERO and set by CPU_SET within its size, and sched_setaffinity reads it.
    unsafe {
        let cpu = usize::try_from(libc::sched_getcpu()).ok()?;
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        (libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0).then_some(cpu)
    }
}

/// Returns the user and system CPU time of the whole process so far, or zero when
/// `getrusage` fails.
fn process_cpu() -> Duration {
    // SAFETY: rusage is plain data that getrusage fills in, and all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a pointer to a live rusage is getrusage's contract.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |value: libc::timeval| Duration::new(value.tv_sec as u64, value.tv_usec as u32 * 1_000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Returns a `/proc/self/status` memory field in KiB, or 0 when it cannot be read.
fn memory_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or(0)
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis())
}
