//! Benchmarks of the callscope component: writes BENCHMARKS.md.
//!
//! Runs, in one process on one machine:
//!
//! 1. a one-hour two-channel 8 kHz mu-law call, assembled here from the fixture call
//!    `fixtures/calls/assembled-mulaw` repeated end to end, decoded and analysed
//!    inside the component (wasmtime) and by the same library compiled natively;
//! 2. the peaks pyramid alone over one hour of 16 kHz PCM16, against a plain read of
//!    the same bytes;
//! 3. the guest's linear-memory high-water mark over the one-hour call;
//! 4. the speech detector's accuracy on labelled speech (see [`accuracy`]);
//! 5. the live event stream from NATS JetStream into SQLite (see [`stream`]);
//! 6. the component's cold start with and without the compiled-artifact cache (see
//!    [`cold_start`]).
//!
//! Usage: `callscope-bench --wasm PATH [--wasm-plain PATH] [--out PATH] [--runs N]
//! [--nats-url URL] [--only audio|stream|cold-start]`. `--wasm` is the component as built by
//! default (with `+simd128`), `--wasm-plain` the same built without SIMD for comparison.
//! With `--only stream` only the live event stream is measured, and its section replaces
//! the one in the existing output file. With `--only audio` everything but the stream is
//! measured, and the existing stream section is kept. With `--only cold-start` only the
//! cold start is measured and merged into the existing file.

mod accuracy;
mod call;
mod cold_start;
mod report;
mod stream;

use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use callscope_api_types::{AnalysisSettings, AudioSummary, CallAnalysis, ChannelLayout, Utterance};
use callscope_component::audio::stages::StageTimes;
use callscope_component::audio::{Pcm16Peaks, Recording};
use callscope_host::{ComponentRuntime, RuntimeLimits};

/// Bytes per `push` call, the host's default chunk size.
const CHUNK_BYTES: usize = 64 << 10;

/// Length of the synthetic recordings.
const HOUR_MS: i64 = 3_600_000;

const LAYOUT: ChannelLayout = ChannelLayout::Separate { user_channel: 0, bot_channel: 1 };

/// Events in the sustained stream runs, spread over [`STREAM_CALLS`] calls.
const STREAM_EVENTS: usize = 200_000;
const STREAM_CALLS: usize = 50;

/// Rate, length and call count of the stream latency run.
const LATENCY_RATE: usize = 1_000;
const LATENCY_DURATION: Duration = Duration::from_secs(10);
const LATENCY_CALLS: usize = 10;

/// NATS server used when neither `--nats-url` nor `CALLSCOPE_BENCH_NATS_URL` is given.
const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

struct Options {
    wasm: PathBuf,
    wasm_plain: Option<PathBuf>,
    out: PathBuf,
    runs: usize,
    nats_url: String,
    sections: Sections,
}

/// The parts of BENCHMARKS.md that a run measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sections {
    All,
    /// Everything but the live event stream, whose existing section is kept.
    Audio,
    /// The live event stream alone, merged into the existing file.
    Stream,
    /// The cold start alone, merged into the existing file.
    ColdStart,
}

fn main() -> Result<()> {
    let options = parse_options()?;
    let root = workspace_root();

    if options.sections == Sections::ColdStart {
        let existing = std::fs::read_to_string(&options.out).unwrap_or_default();
        let markdown = merge_cold_start(&existing, &options, &root)?;
        std::fs::write(&options.out, markdown).with_context(|| format!("writing {} failed", options.out.display()))?;
        eprintln!("wrote the cold start section into {}", options.out.display());
        return Ok(());
    }

    if options.sections == Sections::Stream {
        let stream = measure_stream(&options)?;
        let existing = std::fs::read_to_string(&options.out).unwrap_or_default();
        let markdown = report::merge_section(&existing, &report::render_stream(&stream)?);
        std::fs::write(&options.out, markdown).with_context(|| format!("writing {} failed", options.out.display()))?;
        eprintln!("wrote the live event stream section into {}", options.out.display());
        return Ok(());
    }

    let call = call::assemble_hour(&root.join("fixtures/calls/assembled-mulaw"), HOUR_MS)?;
    eprintln!("assembled {:.1} min call, {} utterances", call.duration_ms as f64 / 60_000.0, call.utterances.len());

    let native = time_native(&call, options.runs)?;
    eprintln!("native: {:?}", native.total);
    let stages = time_stages(&call, options.runs)?;
    eprintln!("native stages: {stages:?}");
    let component = time_component(&options.wasm, &call, options.runs)?;
    eprintln!("component: {:?}", component.total);
    let plain = match &options.wasm_plain {
        Some(path) => {
            let timing = time_component(path, &call, options.runs)?;
            eprintln!("component without SIMD: {:?}", timing.total);
            Some(timing)
        }
        None => None,
    };
    let same_result = component.result == native.result;

    let peaks = time_peaks(&root, &options.wasm, options.runs)?;
    eprintln!("peaks, cold caches: read {:?}, native {:?}, component {:?}", peaks.cold.memory_read, peaks.cold.native, peaks.cold.component);
    let accuracy = report::measure_accuracy(&root)?;
    let stream_section = match options.sections {
        Sections::Audio => {
            let existing = std::fs::read_to_string(&options.out).unwrap_or_default();
            report::stream_section(&existing).map(str::to_owned).unwrap_or_default()
        }
        _ => report::render_stream(&measure_stream(&options)?)?,
    };

    let markdown = report::render(&report::Report {
        call: &call,
        native: &native,
        stages: &stages,
        component: &component,
        plain: plain.as_ref(),
        same_result,
        peaks: &peaks,
        accuracy: &accuracy,
        stream_section: &stream_section,
        runs: options.runs,
        root: &root,
    })?;
    let markdown = merge_cold_start(&markdown, &options, &root)?;
    std::fs::write(&options.out, markdown).with_context(|| format!("writing {} failed", options.out.display()))?;
    eprintln!("wrote {}", options.out.display());
    Ok(())
}

/// Measures the cold start and puts its section into `markdown`.
fn merge_cold_start(markdown: &str, options: &Options, root: &Path) -> Result<String> {
    let payload = std::fs::read(root.join("fixtures/payloads/vapi__end-of-call-report.complete.json"))?;
    let cold = cold_start::measure(&options.wasm, &payload, options.runs)?;
    eprintln!("cold start: compile {:?}, from the cache {:?}", cold.compile, cold.from_cache);
    Ok(report::merge_named_section(markdown, cold_start::HEADING, &cold_start::render(&cold, options.runs)))
}

/// Timing and result of the one-hour call on one side.
pub struct CallTiming {
    pub decode: Duration,
    pub analyze: Duration,
    pub total: Duration,
    pub result: (AudioSummary, CallAnalysis),
    /// Guest linear memory high-water mark; `None` natively.
    pub peak_memory_bytes: Option<usize>,
}

fn time_native(call: &call::HourCall, runs: usize) -> Result<CallTiming> {
    let mut best: Option<CallTiming> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let mut recording = Recording::new();
        for chunk in call.wav.chunks(CHUNK_BYTES) {
            black_box(recording.push(chunk).context("native decoding failed")?);
        }
        let summary = recording.finish().context("native decoding failed")?;
        let decode = started.elapsed();

        let analysis = analyze_native(&call.utterances, &summary)?;
        let total = started.elapsed();
        keep_fastest(&mut best, CallTiming { decode, analyze: total - decode, total, result: (summary, analysis), peak_memory_bytes: None });
    }
    best.context("no runs")
}

/// Times each decoding stage of the one-hour call natively; returns the run with the
/// shortest total.
fn time_stages(call: &call::HourCall, runs: usize) -> Result<StageTimes> {
    let mut best: Option<StageTimes> = None;
    for _ in 0..runs {
        let mut recording = Recording::new();
        recording.measure_stages();
        for chunk in call.wav.chunks(CHUNK_BYTES) {
            black_box(recording.push(chunk).context("native decoding failed")?);
        }
        black_box(recording.finish().context("native decoding failed")?);
        let times = recording.stage_times().context("the recording measured no stages")?;
        let total = |times: &StageTimes| times.decode + times.measured();
        if best.as_ref().is_none_or(|best| total(&times) < total(best)) {
            best = Some(times);
        }
    }
    best.context("no runs")
}

fn analyze_native(utterances: &[Utterance], summary: &AudioSummary) -> Result<CallAnalysis> {
    callscope_component::analysis::analyze(utterances, &summary.activity, LAYOUT, &AnalysisSettings::default())
        .context("native analysis failed")
}

fn time_component(wasm: &Path, call: &call::HourCall, runs: usize) -> Result<CallTiming> {
    let cache = std::env::temp_dir().join("callscope-bench-cache");
    let limits = RuntimeLimits { audio_chunk_bytes: CHUNK_BYTES, ..RuntimeLimits::default() };
    let runtime = ComponentRuntime::load(wasm, &cache, limits).with_context(|| format!("loading {} failed", wasm.display()))?;

    let mut best: Option<CallTiming> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let (summary, _) = runtime
            .decode_recording(&mut Cursor::new(&call.wav), &mut std::io::sink())
            .context("decoding in the component failed")?;
        let decode = started.elapsed();

        let analysis = runtime
            .analyze(&call.utterances, &summary.activity, LAYOUT, &AnalysisSettings::default())
            .context("analysis in the component failed")?;
        let total = started.elapsed();
        let peak = Some(runtime.peak_memory_bytes());
        keep_fastest(&mut best, CallTiming { decode, analyze: total - decode, total, result: (summary, analysis), peak_memory_bytes: peak });
    }
    best.context("no runs")
}

fn measure_stream(options: &Options) -> Result<stream::StreamReport> {
    let cache = std::env::temp_dir().join("callscope-bench-cache");
    let runtime = ComponentRuntime::load(&options.wasm, &cache, RuntimeLimits::default())
        .with_context(|| format!("loading {} failed", options.wasm.display()))?;
    let stream_options = stream::StreamOptions {
        nats_url: options.nats_url.clone(),
        events: STREAM_EVENTS,
        calls: STREAM_CALLS,
        latency_rate: LATENCY_RATE,
        latency_duration: LATENCY_DURATION,
        latency_calls: LATENCY_CALLS,
        runs: options.runs,
    };
    stream::measure(stream_options, Arc::new(runtime))
}

fn keep_fastest(best: &mut Option<CallTiming>, timing: CallTiming) {
    if best.as_ref().is_none_or(|best| timing.total < best.total) {
        *best = Some(timing);
    }
}

/// Bytes read between the passes of the cold peaks runs, to evict the PCM16 buffer
/// from every cache level. It is several times the L3 cache of the machines the
/// benchmark has run on; BENCHMARKS.md lists lscpu's figure for the last one.
const EVICT_BYTES: usize = 1 << 30;

/// Peaks over one hour of 16 kHz PCM16 against a plain read of the same bytes, each
/// pass run straight after the previous one (`warm`) and after evicting the bytes from
/// the caches (`cold`).
pub struct PeaksTiming {
    pub bytes: usize,
    pub warm: PeaksPasses,
    pub cold: PeaksPasses,
    pub same_result: bool,
}

/// The fastest time of each pass over the PCM16 bytes.
#[derive(Clone, Copy)]
pub struct PeaksPasses {
    /// A sum of the bytes as 64-bit words.
    pub memory_read: Duration,
    /// `Pcm16Peaks` fed the bytes in [`CHUNK_BYTES`] chunks, natively.
    pub native: Duration,
    /// The component's `pcm16-peaks` resource fed the same chunks by the host.
    pub component: Duration,
}

impl PeaksPasses {
    const NONE: Self = Self { memory_read: Duration::MAX, native: Duration::MAX, component: Duration::MAX };
}

fn time_peaks(root: &Path, wasm: &Path, runs: usize) -> Result<PeaksTiming> {
    let pcm = call::hour_of_pcm16(&root.join("fixtures/audio/joinly__OSR_us_000_0034_8k.wav"), HOUR_MS)?;
    let cache = std::env::temp_dir().join("callscope-bench-cache");
    let limits = RuntimeLimits { audio_chunk_bytes: CHUNK_BYTES, ..RuntimeLimits::default() };
    let runtime = ComponentRuntime::load(wasm, &cache, limits).with_context(|| format!("loading {} failed", wasm.display()))?;
    // Written, so that every page is backed by its own memory rather than the shared
    // zero page.
    let evict = vec![1u64; EVICT_BYTES / 8];

    let mut warm = PeaksPasses::NONE;
    let mut cold = PeaksPasses::NONE;
    let mut results = None;
    for _ in 0..runs {
        for (passes, evicting) in [(&mut warm, false), (&mut cold, true)] {
            let before_pass = || {
                if evicting {
                    black_box(evict.iter().fold(0u64, |sum, &word| sum.wrapping_add(word)));
                }
            };

            before_pass();
            let started = Instant::now();
            black_box(sum_words(&pcm));
            passes.memory_read = passes.memory_read.min(started.elapsed());

            before_pass();
            let started = Instant::now();
            let mut peaks = Pcm16Peaks::new(1, 16_000);
            for chunk in pcm.chunks(CHUNK_BYTES) {
                peaks.push(chunk).context("native peaks failed")?;
            }
            let native_levels = black_box(peaks.finish().context("native peaks failed")?);
            passes.native = passes.native.min(started.elapsed());

            before_pass();
            let started = Instant::now();
            let component_levels =
                runtime.pcm16_peaks(&mut Cursor::new(&pcm), 1, 16_000).context("peaks in the component failed")?;
            passes.component = passes.component.min(started.elapsed());
            results = Some((native_levels, component_levels));
        }
    }
    let same_result = results.is_some_and(|(native, component)| native == component);
    Ok(PeaksTiming { bytes: pcm.len(), warm, cold, same_result })
}

/// Returns the wrapping sum of the bytes as little-endian 64-bit words: the plain
/// memory read that the peaks passes are compared with.
fn sum_words(bytes: &[u8]) -> u64 {
    let mut sum = 0u64;
    for word in bytes.chunks_exact(8) {
        sum = sum.wrapping_add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    sum
}

fn parse_options() -> Result<Options> {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let mut options = Options {
        wasm: target.join("wasm32-wasip2/release/callscope_component.wasm"),
        wasm_plain: None,
        out: root.join("BENCHMARKS.md"),
        runs: 3,
        nats_url: std::env::var("CALLSCOPE_BENCH_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_string()),
        sections: Sections::All,
    };

    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--wasm" => options.wasm = PathBuf::from(value()?),
            "--wasm-plain" => options.wasm_plain = Some(PathBuf::from(value()?)),
            "--out" => options.out = PathBuf::from(value()?),
            "--runs" => {
                let text = value()?;
                options.runs = text.parse().with_context(|| format!("--runs {text} is not a whole number"))?;
            }
            "--nats-url" => options.nats_url = value()?,
            "--only" => {
                options.sections = match value()?.as_str() {
                    "audio" => Sections::Audio,
                    "stream" => Sections::Stream,
                    "cold-start" => Sections::ColdStart,
                    other => bail!("--only {other}: expected `audio`, `stream` or `cold-start`"),
                };
            }
            other => bail!(
                "unknown argument {other}; usage: callscope-bench [--wasm PATH] [--wasm-plain PATH] [--out PATH] [--runs N] \
                 [--nats-url nats://127.0.0.1:PORT] [--only audio|stream|cold-start]"
            ),
        }
    }
    if options.runs == 0 {
        bail!("--runs 0: at least one run is needed");
    }
    check_loopback_nats_url(&options.nats_url)?;
    Ok(options)
}

/// Accepts only `nats://127.0.0.1:PORT`: the benchmark creates and deletes streams,
/// so it must never reach a server on another host.
fn check_loopback_nats_url(url: &str) -> Result<()> {
    let port = url.strip_prefix("nats://127.0.0.1:").and_then(|port| port.parse::<u16>().ok());
    if port.is_none() {
        bail!("--nats-url {url} is not nats://127.0.0.1:PORT; the benchmark only talks to a NATS server on this machine");
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[cfg(test)]
mod tests {
    use super::check_loopback_nats_url;

    #[test]
    fn nats_url_on_loopback_accepted() {
        assert!(check_loopback_nats_url("nats://127.0.0.1:4222").is_ok());
    }

    #[test]
    fn nats_url_on_other_host_rejected() {
        assert!(check_loopback_nats_url("nats://192.0.2.1:4222").is_err());
    }

    #[test]
    fn nats_url_with_host_suffix_rejected() {
        assert!(check_loopback_nats_url("nats://127.0.0.1:4222.example.com").is_err());
    }

    #[test]
    fn nats_url_without_port_rejected() {
        assert!(check_loopback_nats_url("nats://127.0.0.1").is_err());
    }
}
