//! The wasmtime embedding: one engine, the component compiled once (and cached on
//! disk), a pre-linked instance, and a fresh sandboxed store for every request.
//!
//! Every call into the component runs on a blocking thread with its own store, so a
//! trap, a timeout or a memory blow-up fails that request alone.

mod guest;
mod limits;
mod review;
mod sandbox;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use callscope_api_types as api;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

pub use limits::RuntimeLimits;
pub use review::{CallBounds, ExportFormat, ExportRow, MeasurementLevel, QueueCandidate, RankedCall};

pub use guest::{ACCEPTED_INTERFACES, accepted_minor, exported_version};
use guest::{GuestCalls, GuestPre, Outcome};
use sandbox::SandboxState;

/// The interface version in `wit/`, the newest this host serves. It also serves
/// components of the previous minor version; see [`ACCEPTED_INTERFACES`].
pub const INTERFACE_VERSION: &str = "0.2.0";

/// Failure of a call into the component.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// The component rejected the input; the message is the component's own.
    #[error("{0}")]
    Rejected(RejectedInput),
    #[error("the component ran past its deadline of {deadline_ms} ms and was stopped")]
    Timeout { deadline_ms: u64 },
    #[error("the component exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit { limit_bytes: usize },
    /// A trap inside the component: a bug in it, not a problem with the input.
    #[error("the component failed: {0}")]
    Trap(String),
    #[error("could not load the component from {path}: {reason}")]
    Load { path: PathBuf, reason: String },
}

/// An input the component rejected, by kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectedInput {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("unknown payload format; formats tried: {}", .0.join(", "))]
    UnknownFormat(Vec<String>),
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("invalid audio: {0}")]
    InvalidAudio(String),
    #[error("unsupported audio: {0}")]
    UnsupportedAudio(String),
    #[error("recording too large: {0}")]
    RecordingTooLarge(String),
    #[error("analysis failed: {0}")]
    Analysis(String),
    /// A role map or annotation schema from configuration is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("invalid annotation: {0}")]
    InvalidAnnotation(String),
}

/// Wire encoding of an OTLP/HTTP request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpEncoding {
    Json,
    Protobuf,
}

/// One span of an OTLP export, as the component split it out.
#[derive(Debug, Clone)]
pub struct OtlpSpan {
    /// `conversation.id`, or `trace:<trace id>` when no span of the trace in the
    /// request names the conversation.
    pub conversation_id: String,
    pub trace_id: String,
    pub span_id: String,
    /// Canonical JSON of the span with its resource and scope attributes folded in.
    pub span_json: String,
}

/// File formats of exported waveform peaks, as the audiowaveform tool defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeaksFileFormat {
    /// Binary `.dat`, version 2.
    Dat,
    Json,
}

/// A stream event the component validated.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    pub id: String,
    pub call_id: String,
    pub event_type: String,
    pub json: String,
}

/// A loaded component, ready to serve requests from many threads.
pub struct ComponentRuntime {
    engine: Engine,
    pre: GuestPre,
    limits: RuntimeLimits,
    sha256: String,
    /// The version of the `callscope:plugin` interfaces the component exports.
    interface_version: String,
    ticker_stop: Arc<AtomicBool>,
    peak_memory_bytes: Arc<AtomicUsize>,
}

impl std::fmt::Debug for ComponentRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentRuntime").field("sha256", &self.sha256).finish_non_exhaustive()
    }
}

impl ComponentRuntime {
    /// Loads the component at `wasm_path`, compiling it or reusing a compiled copy from
    /// `cache_dir` made by an engine with the same compatibility hash.
    pub fn load(wasm_path: &Path, cache_dir: &Path, limits: RuntimeLimits) -> Result<Self, ComponentError> {
        let bytes = std::fs::read(wasm_path)
            .map_err(|e| ComponentError::Load { path: wasm_path.to_owned(), reason: format!("reading failed: {e}") })?;
        Self::from_bytes(&bytes, wasm_path, cache_dir, limits)
    }

    /// Loads a component from its bytes; `origin` names it in errors and logs.
    pub fn from_bytes(bytes: &[u8], origin: &Path, cache_dir: &Path, limits: RuntimeLimits) -> Result<Self, ComponentError> {
        Compiled::new(bytes, origin, cache_dir, limits)?.link()
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn version(&self) -> api::ComponentVersion {
        api::ComponentVersion { interface_version: self.interface_version.clone(), sha256: self.sha256.clone() }
    }

    /// The version of the `callscope:plugin` interfaces the component exports, such
    /// as `0.2.0`.
    pub fn interface_version(&self) -> &str {
        &self.interface_version
    }

    pub fn limits(&self) -> &RuntimeLimits {
        &self.limits
    }

    /// Returns the largest linear memory any instance of this runtime has grown to, in
    /// bytes: the guest's memory high-water mark across requests.
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes.load(Ordering::Relaxed)
    }

    /// Runs `work` on a blocking thread, where calls into the component belong: each
    /// runs the guest to completion on the calling thread.
    pub async fn run_blocking<T: Send + 'static>(
        self: Arc<Self>,
        work: impl FnOnce(&ComponentRuntime) -> Result<T, ComponentError> + Send + 'static,
    ) -> Result<T, ComponentError> {
        tokio::task::spawn_blocking(move || work(&self))
            .await
            .map_err(|e| ComponentError::Trap(format!("the component task ended abnormally: {e}")))?
    }

    /// Creates a fresh store and instance for one request.
    fn instantiate(&self) -> Result<(Store<SandboxState>, Box<dyn GuestCalls>), ComponentError> {
        let mut store = Store::new(&self.engine, SandboxState::new(&self.limits, self.peak_memory_bytes.clone()));
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(self.limits.deadline_ticks());
        let guest = self.pre.instantiate(&mut store).map_err(|e| self.classify(&store, e))?;
        Ok((store, guest))
    }

    /// Runs one call in a fresh instance and sorts its failure.
    fn call<T>(
        &self,
        work: impl FnOnce(&dyn GuestCalls, &mut Store<SandboxState>) -> Outcome<T>,
    ) -> Result<T, ComponentError> {
        let (mut store, guest) = self.instantiate()?;
        let outcome = work(&*guest, &mut store);
        self.settle(&store, outcome)
    }

    /// Sorts a call's outcome into its value or the kind of failure.
    fn settle<T>(&self, store: &Store<SandboxState>, outcome: Outcome<T>) -> Result<T, ComponentError> {
        outcome.map_err(|e| self.classify(store, e))?.map_err(ComponentError::Rejected)
    }

    /// Turns a wasmtime error into the kind of failure it is.
    fn classify(&self, store: &Store<SandboxState>, error: wasmtime::Error) -> ComponentError {
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>()
            && *trap == wasmtime::Trap::Interrupt
        {
            return ComponentError::Timeout { deadline_ms: self.limits.deadline_ms() };
        }
        if store.data().memory_limit_hit() {
            return ComponentError::MemoryLimit { limit_bytes: self.limits.memory_bytes };
        }
        ComponentError::Trap(format!("{error:#}"))
    }

    /// Parses a vendor payload into a normalised call.
    pub fn normalize(&self, payload: &[u8]) -> Result<api::NormalizedCall, ComponentError> {
        self.call(|guest, store| guest.normalize(store, payload))
    }

    /// Splits an OTLP trace export into spans keyed by conversation.
    pub fn split_otlp(&self, body: &[u8], encoding: OtlpEncoding) -> Result<Vec<OtlpSpan>, ComponentError> {
        self.call(|guest, store| guest.split_otlp(store, body, encoding))
    }

    /// Normalises every stored span of one conversation into a call.
    pub fn normalize_spans(&self, spans: &[String]) -> Result<api::NormalizedCall, ComponentError> {
        self.call(|guest, store| guest.normalize_spans(store, spans))
    }

    /// Validates a batch of native stream events, each on its own.
    pub fn parse_events(&self, events: &[Vec<u8>]) -> Result<Vec<Result<ParsedEvent, String>>, ComponentError> {
        self.call(|guest, store| guest.parse_events(store, events))
    }

    /// Encodes one peaks level in the audiowaveform `.dat` version 2 or JSON format,
    /// with 8- or 16-bit values.
    pub fn encode_peaks(
        &self,
        level: &api::PeaksLevel,
        sample_rate: u32,
        format: PeaksFileFormat,
        bits: u8,
    ) -> Result<Vec<u8>, ComponentError> {
        self.call(|guest, store| guest.encode_peaks(store, level, sample_rate, format, bits))
    }

    /// Returns the component's description of its build: `None` for an interface 0.1
    /// component, which has no `about` interface.
    pub fn describe(&self) -> Result<Option<api::ComponentInfo>, ComponentError> {
        self.call(|guest, store| guest.describe(store))
    }

    /// Decodes a recording read from `source` in chunks of `chunk_bytes`, writing the
    /// playback transcode (if the component returns one) to `playback`.
    pub fn decode_recording(
        &self,
        source: &mut dyn std::io::Read,
        playback: &mut dyn std::io::Write,
    ) -> Result<(api::AudioSummary, u64), ComponentError> {
        let (mut store, guest) = self.instantiate()?;
        let handle = guest.recording_new(&mut store).map_err(|e| self.classify(&store, e))?;

        let mut buffer = vec![0u8; self.limits.audio_chunk_bytes];
        let mut playback_bytes = 0u64;
        loop {
            let read = source
                .read(&mut buffer)
                .map_err(|e| ComponentError::Trap(format!("reading the uploaded recording failed: {e}")))?;
            if read == 0 {
                break;
            }

            // Each chunk gets a fresh deadline: the limit bounds one call, so an
            // hour-long file is not cut off by the sum of its chunks.
            store.set_epoch_deadline(self.limits.deadline_ticks());
            let outcome = guest.recording_push(&mut store, handle, &buffer[..read]);
            let pcm = self.settle(&store, outcome)?;
            if !pcm.is_empty() {
                playback
                    .write_all(&pcm)
                    .map_err(|e| ComponentError::Trap(format!("writing the playback file failed: {e}")))?;
                playback_bytes += pcm.len() as u64;
            }
        }

        store.set_epoch_deadline(self.limits.deadline_ticks());
        let outcome = guest.recording_finish(&mut store, handle);
        let summary = self.settle(&store, outcome)?;
        handle.resource_drop(&mut store).map_err(|e| self.classify(&store, e))?;
        Ok((summary, playback_bytes))
    }

    /// Builds the waveform peaks of raw interleaved 16-bit little-endian PCM read from
    /// `source`, with none of the other measurements of [`Self::decode_recording`].
    /// Chunks of at most `audio_chunk_bytes` go straight from the reader's buffer into
    /// the component, so a `Cursor` over bytes in memory is not copied on the host.
    pub fn pcm16_peaks(
        &self,
        source: &mut dyn std::io::BufRead,
        channels: u16,
        sample_rate: u32,
    ) -> Result<Vec<api::PeaksLevel>, ComponentError> {
        let (mut store, guest) = self.instantiate()?;
        let handle = guest.peaks_new(&mut store, channels, sample_rate).map_err(|e| self.classify(&store, e))?;

        loop {
            let buffered = source
                .fill_buf()
                .map_err(|e| ComponentError::Trap(format!("reading the PCM16 samples failed: {e}")))?;
            if buffered.is_empty() {
                break;
            }
            let chunk = &buffered[..buffered.len().min(self.limits.audio_chunk_bytes)];

            // A fresh deadline per chunk, as in `decode_recording`.
            store.set_epoch_deadline(self.limits.deadline_ticks());
            let outcome = guest.peaks_push(&mut store, handle, chunk);
            self.settle(&store, outcome)?;
            let consumed = chunk.len();
            source.consume(consumed);
        }

        store.set_epoch_deadline(self.limits.deadline_ticks());
        let outcome = guest.peaks_finish(&mut store, handle);
        let levels = self.settle(&store, outcome)?;
        handle.resource_drop(&mut store).map_err(|e| self.classify(&store, e))?;
        Ok(levels)
    }

    /// Derives turns, latencies, pauses and overlaps.
    pub fn analyze(
        &self,
        utterances: &[api::Utterance],
        activity: &[api::ChannelActivity],
        layout: api::ChannelLayout,
        settings: &api::AnalysisSettings,
    ) -> Result<api::CallAnalysis, ComponentError> {
        self.call(|guest, store| guest.analyze(store, utterances, activity, layout, settings))
    }

    /// Lists the component's imports as `name` strings, for the allowlist check.
    pub fn imports(&self) -> Vec<String> {
        let component = self.pre.instance_pre().component();
        component.component_type().imports(&self.engine).map(|(name, _)| name.to_owned()).collect()
    }

    /// Lists the component's exports as `name` strings.
    pub fn exports(&self) -> Vec<String> {
        let component = self.pre.instance_pre().component();
        component.component_type().exports(&self.engine).map(|(name, _)| name.to_owned()).collect()
    }
}

/// A compiled component whose imports and exports can be checked before it is linked
/// into a runtime that serves requests.
pub struct Compiled {
    engine: Engine,
    component: Component,
    limits: RuntimeLimits,
    sha256: String,
    origin: PathBuf,
}

impl Compiled {
    /// Compiles `bytes`, or loads a compiled copy from `cache_dir`.
    pub fn new(bytes: &[u8], origin: &Path, cache_dir: &Path, limits: RuntimeLimits) -> Result<Self, ComponentError> {
        let load_error = |reason: String| ComponentError::Load { path: origin.to_owned(), reason };
        let sha256 = hex::encode(Sha256::digest(bytes));
        let engine = Engine::new(&engine_config(&limits)).map_err(|e| load_error(format!("{e:#}")))?;
        let component = compile_cached(&engine, bytes, &sha256, cache_dir).map_err(|e| load_error(format!("{e:#}")))?;
        Ok(Self { engine, component, limits, sha256, origin: origin.to_owned() })
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Names of the component's imports, such as `wasi:io/streams@0.2.6`.
    pub fn imports(&self) -> Vec<String> {
        self.component.component_type().imports(&self.engine).map(|(name, _)| name.to_owned()).collect()
    }

    /// Names of the component's exports, such as `callscope:plugin/ingest@0.2.0`.
    pub fn exports(&self) -> Vec<String> {
        self.component.component_type().exports(&self.engine).map(|(name, _)| name.to_owned()).collect()
    }

    /// Links the component against WASI (granting nothing) and the bindings of the
    /// interface version it exports, and starts its deadline clock.
    pub fn link(self) -> Result<ComponentRuntime, ComponentError> {
        let Self { engine, component, limits, sha256, origin } = self;
        let load_error = |reason: String| ComponentError::Load { path: origin.clone(), reason };

        // Imports first: an import the host does not provide is the more telling reason.
        let mut linker = Linker::<SandboxState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| load_error(format!("{e:#}")))?;
        reject_blocking_waits(&mut linker).map_err(|e| load_error(format!("{e:#}")))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| load_error(format!("it imports what this host does not provide: {e:#}")))?;

        let exports: Vec<String> =
            component.component_type().exports(&engine).map(|(name, _)| name.to_owned()).collect();
        let interface_version = exported_version(&exports).map_err(load_error)?;
        let pre = GuestPre::new(instance_pre, &interface_version).map_err(load_error)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        start_epoch_ticker(engine.clone(), limits.epoch_tick, ticker_stop.clone());

        tracing::info!(component_sha = %sha256, interface_version, origin = %origin.display(), "component loaded");
        let peak_memory_bytes = Arc::new(AtomicUsize::new(0));
        Ok(ComponentRuntime { engine, pre, limits, sha256, interface_version, ticker_stop, peak_memory_bytes })
    }
}

impl Drop for ComponentRuntime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Replaces WASI's blocking waits (`poll` and `pollable.block`, which a sleep uses)
/// with a trap. The host runs them outside the guest, where the epoch deadline does not
/// reach, so a component that waited would hold its thread and its instance slot for
/// as long as it asked. callscope's component makes no such call, so the whole test
/// suite passes with the traps in place.
fn reject_blocking_waits(linker: &mut Linker<SandboxState>) -> anyhow::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;

    const REFUSED: &str = "the component tried to wait (wasi:io/poll); waiting is not allowed in the sandbox, since the deadline cannot stop it";
    linker.allow_shadowing(true);
    let mut poll = linker.instance("wasi:io/poll@0.2.12")?;
    poll.func_wrap("poll", |_, (_pollables,): (Vec<Resource<DynPollable>>,)| -> wasmtime::Result<(Vec<u32>,)> {
        Err(wasmtime::Error::msg(REFUSED))
    })?;
    poll.func_wrap("[method]pollable.block", |_, (_pollable,): (Resource<DynPollable>,)| -> wasmtime::Result<()> {
        Err(wasmtime::Error::msg(REFUSED))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Bytes of each pooled linear memory kept resident between instances.
const KEEP_RESIDENT_BYTES: usize = 8 << 20;

fn engine_config(limits: &RuntimeLimits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(limits.wasm_stack_bytes);

    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_concurrent_instances);
    pool.total_core_instances(limits.max_concurrent_instances * 4);
    pool.total_memories(limits.max_concurrent_instances * 2);
    pool.total_tables(limits.max_concurrent_instances * 4);
    pool.total_stacks(limits.max_concurrent_instances);
    pool.max_memory_size(limits.memory_bytes);
    // A slot's first 8 MiB are zeroed with memset when an instance ends, not returned
    // to the kernel, so the next request on that slot takes no page faults there. A
    // peaks pass over an hour of audio spent a tenth of its time in page faults before.
    // Worst case: 8 MiB stays resident for each of the pool's memories.
    pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Compiles `bytes`, or loads the compiled artifact from an earlier run. The cache key
/// covers the component's sha256 and the engine's compatibility hash, so a different
/// wasmtime version or configuration never loads a stale artifact.
fn compile_cached(engine: &Engine, bytes: &[u8], sha256: &str, cache_dir: &Path) -> anyhow::Result<Component> {
    use std::hash::{Hash, Hasher};

    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let cached = cache_dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()));

    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of an engine with the
        // same compatibility hash, into the host's own data directory.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => {
                tracing::info!(cache = %cached.display(), "compiled component loaded from cache");
                return Ok(component);
            }
            Err(e) => tracing::warn!(cache = %cached.display(), error = %e, "cached component unusable, recompiling"),
        }
    }

    let started = std::time::Instant::now();
    let component = Component::new(engine, bytes)?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "component compiled");

    std::fs::create_dir_all(cache_dir)?;
    // A name of its own per writer, so two processes compiling at once never mix bytes.
    let temporary = cached.with_extension(format!("{}.tmp", uuid::Uuid::new_v4()));
    std::fs::write(&temporary, component.serialize()?)?;
    std::fs::rename(&temporary, &cached)?;
    Ok(component)
}

fn start_epoch_ticker(engine: Engine, tick: Duration, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("callscope-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch ticker thread failed");
}
