//! Renders BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use callscope_api_types::{MeasureSource, OverlapKind};
use callscope_component::audio::stages::StageTimes;

use crate::accuracy::{self, Accuracy};
use crate::call::HourCall;
use crate::stream::StreamReport;
use crate::{CallTiming, PeaksTiming};

/// Targets the benchmarks are held to.
const COMPONENT_TARGET: Duration = Duration::from_secs(1);
const RATIO_TARGET: f64 = 1.5;
const PEAKS_RATIO_TARGET: f64 = 3.0;
const MEMORY_TARGET_BYTES: usize = 64 << 20;
/// Minimum events per second through the component from JetStream into SQLite.
const STREAM_RATE_TARGET: f64 = 50_000.0;
/// Maximum ratio of the no-component insert rate to the JetStream consumer rate.
const STREAM_RATIO_TARGET: f64 = 2.0;

/// Heading of the live event stream section, which `--only stream` replaces in place.
const STREAM_HEADING: &str = "## Live event stream";

/// Longest silence inside one OSR sentence (the comma pause is 610 ms).
const SENTENCE_JOIN_MS: i64 = 700;

pub struct Report<'a> {
    pub call: &'a HourCall,
    pub native: &'a CallTiming,
    /// Native decoding of the same call with each stage timed.
    pub stages: &'a StageTimes,
    pub component: &'a CallTiming,
    /// The component built without SIMD, for comparison.
    pub plain: Option<&'a CallTiming>,
    pub same_result: bool,
    pub peaks: &'a PeaksTiming,
    pub accuracy: &'a [(String, Accuracy)],
    /// The rendered live event stream section, from its heading on.
    pub stream_section: &'a str,
    pub runs: usize,
    pub root: &'a Path,
}

/// Scores the detector on the dev00 RTTM turns and the OSR sentences.
pub fn measure_accuracy(root: &Path) -> Result<Vec<(String, Accuracy)>> {
    let read = |path: &str| std::fs::read(root.join("fixtures").join(path)).with_context(|| format!("reading {path} failed"));

    let rttm = String::from_utf8(read("ground-truth/pyannote__tests__debug.development.rttm")?)?;
    let uem = String::from_utf8(read("ground-truth/pyannote__tests__debug.development.uem")?)?;
    let (from_ms, to_ms) = accuracy::uem_region(&uem, "dev00").context("the UEM file has no dev00 row")?;
    let detected = accuracy::detect(&read("audio/pyannote__tests__dev00.wav")?).map_err(anyhow::Error::msg)?;
    let dev00 = accuracy::score(&accuracy::rttm_turns(&rttm, "dev00"), &detected, from_ms, to_ms);

    let osr_wav = read("audio/joinly__OSR_us_000_0034_8k.wav")?;
    let sentences = accuracy::energy_sentences(&osr_wav, -45.0, SENTENCE_JOIN_MS).map_err(anyhow::Error::msg)?;
    let detected = accuracy::detect(&osr_wav).map_err(anyhow::Error::msg)?;
    let osr = accuracy::score(&sentences, &detected, 0, 35_000);

    Ok(vec![
        ("pyannote dev00 (RTTM turns of both speakers, UEM 0–30 s)".to_string(), dev00),
        ("OSR reading (10 sentences, 8 kHz)".to_string(), osr),
    ])
}

pub fn render(report: &Report<'_>) -> Result<String> {
    let mut out = String::new();
    let seconds = |duration: Duration| duration.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };

    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Written by `callscope-bench` (`benches/`); rerun it to refresh this page. Times are the fastest of {} runs.\n",
        report.runs
    )?;
    writeln!(out, "## Machine\n")?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| CPU | {} |", cpu_model())?;
    writeln!(out, "| cores available | {} |", std::thread::available_parallelism().map_or(0, usize::from))?;
    writeln!(out, "| L3 cache (lscpu) | {} |", l3_cache())?;
    writeln!(out, "| rustc | {} |", command_output("rustc", &["--version"]))?;
    writeln!(out, "| wasmtime | {} |", locked_version(report.root, "wasmtime"))?;
    writeln!(out, "| earshot | {} |", locked_version(report.root, "earshot"))?;
    writeln!(out, "| load average at the end | {} |\n", load_average())?;
    writeln!(
        out,
        "The guest runs on the calling thread, so every component figure is one core. The \
         machine is shared; rerun on an idle one before comparing small differences.\n"
    )?;

    let call = report.call;
    writeln!(out, "## One-hour call, full analysis\n")?;
    writeln!(
        out,
        "{} copies of `fixtures/calls/assembled-mulaw` end to end: {:.1} min of two-channel 8 kHz \
         mu-law ({:.1} MB), {} utterances. \"Decode\" is the `recording` resource fed in 64 KiB \
         chunks (WAV parsing, G.711 decoding, per-channel speech detection, levels, peaks and \
         the PCM16 playback transcode); \"analyse\" is `analysis.analyze` on its activity.\n",
        call.copies,
        call.duration_ms as f64 / 60_000.0,
        call.wav.len() as f64 / 1e6,
        call.utterances.len()
    )?;
    writeln!(out, "| build | decode s | analyse s | total s |\n|---|---|---|---|")?;
    let mut row = |name: &str, timing: &CallTiming| {
        writeln!(
            out,
            "| {name} | {:.3} | {:.3} | {:.3} |",
            seconds(timing.decode),
            seconds(timing.analyze),
            seconds(timing.total)
        )
    };
    row("native (release)", report.native)?;
    row("component (wasmtime, release wasm with `+simd128`, the default build)", report.component)?;
    if let Some(plain) = report.plain {
        row("component built without SIMD (`-simd128`)", plain)?;
    }
    let ratio = seconds(report.component.total) / seconds(report.native.total);
    writeln!(out)?;
    writeln!(
        out,
        "- component / native: **{ratio:.2}** (target under {RATIO_TARGET}: {})",
        verdict(ratio < RATIO_TARGET)
    )?;
    writeln!(
        out,
        "- component total: **{:.3} s** (target under {} s: {})",
        seconds(report.component.total),
        seconds(COMPONENT_TARGET),
        verdict(report.component.total < COMPONENT_TARGET)
    )?;
    if let Some(plain) = report.plain {
        writeln!(
            out,
            "- `+simd128` / no SIMD: {:.2}. `.cargo/config.toml` sets `-C target-feature=+simd128` \
             for wasm32-wasip2, so `cargo xtask build`, `test` and `bench` all use the SIMD \
             component. With the flag LLVM auto-vectorises loops across the whole component, and \
             the hand-written wasm SIMD code (`core::arch::wasm32`; other targets run portable \
             code with the same arithmetic) is compiled in. It pays for, above all, \
             earshot, whose FFT runs its first seven stages on four-lane columns \
             (one butterfly per instruction, no scalar stages) and its last two after a 4×4 \
             transpose, whose mel bands are summed from transposed blocks of four bins, whose \
             convolutions keep one vector per four channels and whose recurrent layers use \
             `i32x4.dot_i16x8_s` and blend their state eight values at a time; the resampler's \
             filter (eight outputs of both kernels per call); the 16-bit conversion of detector \
             frames; and the peaks' minimum and maximum. Every earshot score stays bit-identical \
             to upstream's in both builds.",
            seconds(report.component.total) / seconds(plain.total)
        )?;
    }
    writeln!(
        out,
        "- component and native results identical: {}",
        if report.same_result { "yes" } else { "**no**" }
    )?;
    let (_, analysis) = &report.native.result;
    let barge_ins = analysis
        .overlaps
        .iter()
        .filter(|overlap| overlap.source == MeasureSource::Audio && overlap.kind == OverlapKind::BargeIn)
        .count();
    writeln!(
        out,
        "- audio barge-ins found: {barge_ins} (the fixture has {} per copy, {} expected)\n",
        call.overlaps_per_copy,
        call.overlaps_per_copy * call.copies
    )?;
    render_stages(&mut out, report.stages, report.native.decode, report.component.decode)?;

    writeln!(out, "## Guest memory\n")?;
    let peak = report.component.peak_memory_bytes.unwrap_or(0);
    writeln!(
        out,
        "Largest linear memory of any instance during the one-hour runs (decode and analyse \
         each run in a fresh instance): **{:.1} MiB** (target under {} MiB: {}).\n",
        peak as f64 / f64::from(1 << 20),
        MEMORY_TARGET_BYTES >> 20,
        verdict(peak < MEMORY_TARGET_BYTES)
    )?;

    let peaks = report.peaks;
    writeln!(out, "## Peaks alone, one hour of 16 kHz PCM16\n")?;
    writeln!(
        out,
        "{:.1} MB of mono PCM16, each pass the fastest of {} runs. \"Cold\" passes run after a read of \
         {} MiB of other memory, which evicts the bytes from every cache level, as for audio that was just \
         uploaded or read from disk; \"warm\" passes run back to back, so part of the bytes may still be in \
         the last-level cache from the pass before. The plain read sums the bytes as 64-bit words.\n",
        peaks.bytes as f64 / 1e6,
        report.runs,
        crate::EVICT_BYTES >> 20
    )?;
    let gigabytes_per_second = |duration: Duration| peaks.bytes as f64 / seconds(duration) / 1e9;
    writeln!(out, "| pass | cold s | cold GB/s | warm s | warm GB/s |\n|---|---|---|---|---|")?;
    let passes = [
        ("plain read".to_string(), peaks.cold.memory_read, peaks.warm.memory_read),
        (format!("`Pcm16Peaks`, native, in {} KiB chunks", crate::CHUNK_BYTES >> 10), peaks.cold.native, peaks.warm.native),
        (
            format!("`pcm16-peaks` resource in the component, in {} KiB chunks", crate::CHUNK_BYTES >> 10),
            peaks.cold.component,
            peaks.warm.component,
        ),
    ];
    for (name, cold, warm) in passes {
        writeln!(
            out,
            "| {name} | {:.4} | {:.2} | {:.4} | {:.2} |",
            seconds(cold),
            gigabytes_per_second(cold),
            seconds(warm),
            gigabytes_per_second(warm)
        )?;
    }
    writeln!(out)?;
    let ratio = |passes: &crate::PeaksPasses| seconds(passes.component) / seconds(passes.memory_read);
    writeln!(
        out,
        "- component peaks / plain read, cold: **{:.1}** (target within {PEAKS_RATIO_TARGET}x: {})",
        ratio(&peaks.cold),
        verdict(ratio(&peaks.cold) <= PEAKS_RATIO_TARGET)
    )?;
    writeln!(out, "- component peaks / plain read, warm: {:.1}", ratio(&peaks.warm))?;
    writeln!(
        out,
        "- native peaks / plain read: {:.1} cold, {:.1} warm",
        seconds(peaks.cold.native) / seconds(peaks.cold.memory_read),
        seconds(peaks.warm.native) / seconds(peaks.warm.memory_read)
    )?;
    let milliseconds = |duration: Duration| duration.as_secs_f64() * 1e3;
    writeln!(
        out,
        "- where the cold component pass spends its time beyond the plain read, roughly: {:.1} ms in the native \
         peaks work (native pass less the plain read), {:.1} ms at the component boundary (component pass \
         less the native pass: wasmtime copies each {} KiB chunk into the guest's memory, the guest allocates \
         and frees its buffer, and each call enters and leaves the instance)",
        milliseconds(peaks.cold.native.saturating_sub(peaks.cold.memory_read)),
        milliseconds(peaks.cold.component.saturating_sub(peaks.cold.native)),
        crate::CHUNK_BYTES >> 10
    )?;
    writeln!(
        out,
        "- component and native peaks identical: {}\n",
        if peaks.same_result { "yes" } else { "**no**" }
    )?;

    writeln!(out, "## Speech detection accuracy\n")?;
    writeln!(
        out,
        "10 ms frames; a frame is speech when its centre lies in a segment. The boundary error is \
         the median distance from each reference start or end to the nearest detected start or \
         end. The OSR reference is the clean reading's 10 ms frames above -45 dBFS joined across \
         gaps under {SENTENCE_JOIN_MS} ms, which gives its ten sentences; the dev00 reference is \
         hand-labelled turns, which include pauses inside a turn.\n"
    )?;
    writeln!(
        out,
        "| recording | precision | recall | median boundary error ms | reference segments | detected segments |\n|---|---|---|---|---|---|"
    )?;
    for (name, measured) in report.accuracy {
        writeln!(
            out,
            "| {name} | {:.3} | {:.3} | {} | {} | {} |",
            measured.precision,
            measured.recall,
            measured.median_boundary_error_ms,
            measured.reference_segments,
            measured.detected_segments
        )?;
    }
    writeln!(
        out,
        "\n`cargo test -p callscope-component --test analysis_vad_accuracy` holds these above floors.\n"
    )?;
    out.push_str(report.stream_section);
    Ok(out)
}

/// Renders the time of each decoding stage, measured natively.
fn render_stages(out: &mut String, stages: &StageTimes, native_decode: Duration, component_decode: Duration) -> Result<()> {
    let total = stages.decode + stages.measured();
    writeln!(
        out,
        "### Where the decode time goes\n\n\
         The native library decoding the same call with a clock around each stage (`Recording::measure_stages`, \
         fastest of the runs); its total is {:.3} s against {:.3} s for the untimed native decode. The component \
         cannot be timed inside (it has no clock import); its decode takes {:.2} times the native one, so the \
         shares are an estimate for it.\n",
        total.as_secs_f64(),
        native_decode.as_secs_f64(),
        component_decode.as_secs_f64() / native_decode.as_secs_f64()
    )?;
    writeln!(out, "| stage | s | share |\n|---|---|---|")?;
    let rows = [
        ("decode: WAV parsing and G.711 to samples, in blocks", stages.decode),
        ("resample: each channel from 8 to 16 kHz", stages.resample),
        ("speech detection: earshot, energy edges, segments", stages.speech),
        ("levels and peaks", stages.levels_and_peaks),
        ("PCM16 playback transcode", stages.transcode),
    ];
    for (name, duration) in rows {
        writeln!(
            out,
            "| {name} | {:.3} | {:.0}% |",
            duration.as_secs_f64(),
            100.0 * duration.as_secs_f64() / total.as_secs_f64()
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// Renders the live event stream section, from its heading to a final newline.
pub fn render_stream(report: &StreamReport) -> Result<String> {
    let mut out = String::new();
    let options = &report.options;
    let rate = |duration: Duration| options.events as f64 / duration.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };

    writeln!(out, "{STREAM_HEADING}\n")?;
    writeln!(
        out,
        "{} native `utterance` events ({} bytes each on average) of {} calls, interleaved. Each path \
         stores them into a fresh SQLite database in WAL mode. {} The NATS server ({}) is a \
         separate process and can use the other cores. async-nats {}, rusqlite {}; load average \
         at the end of this section {}.\n",
        options.events,
        report.mean_event_bytes,
        options.calls,
        match report.pinned_cpu {
            Some(cpu) => format!(
                "The host side runs on a current-thread tokio runtime in a thread pinned to CPU {cpu}; \
                 the blocking threads that run the component and SQLite inherit the pin, so it uses one core."
            ),
            None => "Pinning to one CPU failed, so the blocking threads may use several cores.".to_string(),
        },
        options.nats_url,
        locked_version(&crate::workspace_root(), "async-nats"),
        locked_version(&crate::workspace_root(), "rusqlite"),
        load_average()
    )?;

    writeln!(
        out,
        "Each path runs {} time{}, each time into a new database (and a new JetStream stream), and the fastest run counts.\n",
        options.runs,
        if options.runs == 1 { "" } else { "s" }
    )?;
    writeln!(out, "| path | s | events/s | CPU s |\n|---|---|---|---|")?;
    match &report.consumer {
        Ok(run) => writeln!(
            out,
            "| JetStream → `live::nats::run` (component, SQLite), events published beforehand | {:.3} | {:.0} | {:.3} |",
            run.consume.as_secs_f64(),
            rate(run.consume),
            run.cpu.as_secs_f64()
        )?,
        Err(_) => writeln!(out, "| JetStream → `live::nats::run` | not measured | | |")?,
    }
    writeln!(
        out,
        "| `live::store_batch` called directly (component, SQLite), {} events a batch | {:.3} | {:.0} | {:.3} |",
        crate::stream::BATCH_EVENTS,
        report.store_batch.as_secs_f64(),
        rate(report.store_batch),
        report.store_batch_cpu.as_secs_f64()
    )?;
    writeln!(
        out,
        "| no-component baseline: id, call id and type read with serde_json on the host, `Storage::insert_events` | {:.3} | {:.0} | {:.3} |\n",
        report.direct_insert.as_secs_f64(),
        rate(report.direct_insert),
        report.direct_insert_cpu.as_secs_f64()
    )?;
    writeln!(
        out,
        "CPU s is the benchmark process's user and system time over the same run (`getrusage`). On a shared \
         machine it is steadier than the elapsed time, which also counts the time the pinned core ran other \
         processes; the targets are on elapsed time.\n"
    )?;

    match &report.consumer {
        Ok(run) => {
            let consumer_rate = rate(run.consume);
            let ratio = run.consume.as_secs_f64() / report.direct_insert.as_secs_f64();
            writeln!(
                out,
                "- through the component from JetStream: **{consumer_rate:.0} events/s** (target at least {STREAM_RATE_TARGET:.0}: {})",
                verdict(consumer_rate >= STREAM_RATE_TARGET)
            )?;
            writeln!(
                out,
                "- JetStream consumer time / no-component baseline time: **{ratio:.2}** (target at most {STREAM_RATIO_TARGET}: {}); \
                 in CPU time {:.2}",
                verdict(ratio <= STREAM_RATIO_TARGET),
                run.cpu.as_secs_f64() / report.direct_insert_cpu.as_secs_f64()
            )?;
            writeln!(
                out,
                "- publishing the events to JetStream beforehand took {:.3} s ({:.0} events/s, publish acknowledgements awaited 1000 at a time)",
                run.publish.as_secs_f64(),
                rate(run.publish)
            )?;
            writeln!(
                out,
                "- JetStream consumer time - `store_batch` time: {:.3} s, {:.1} µs an event. The consumer does what \
                 `store_batch` does plus one fetch request a batch and one acknowledgement message an event, all on \
                 the same core.",
                run.consume.as_secs_f64() - report.store_batch.as_secs_f64(),
                (run.consume.as_secs_f64() - report.store_batch.as_secs_f64()) * 1e6 / options.events as f64
            )?;
            let memory = &run.memory;
            let mib = |kib: u64| kib as f64 / 1024.0;
            writeln!(
                out,
                "- process memory over the {} consumer runs ({} events consumed in all): VmRSS {:.1} MiB at the start of \
                 the first, {:.1} MiB at most at the {} ms polls, {:.1} MiB at the end of the last; VmHWM of the whole process at the end {:.1} MiB, which includes the sections measured before this one in the same process. The consumer fetches at most one batch \
                 ahead of the one it stores, and at most {} events are delivered and unacknowledged at once.",
                options.runs,
                options.runs * options.events,
                mib(memory.rss_start_kib),
                mib(memory.rss_max_kib),
                crate::stream::POLL_INTERVAL.as_millis(),
                mib(memory.rss_end_kib),
                mib(memory.hwm_end_kib),
                callscope_host::live::nats::DEFAULT_MAX_IN_FLIGHT
            )?;
        }
        Err(reason) => writeln!(out, "- JetStream consumer: not measured, because {reason}")?,
    }
    writeln!(
        out,
        "- `store_batch` / no-component baseline: {:.2}. The difference is the component's validation in wasmtime \
         (`parse_events`, one call a batch) plus building the batch. Utterance events without word timings, like \
         these, are validated without building a JSON tree; other event types take the slower full path.",
        report.store_batch.as_secs_f64() / report.direct_insert.as_secs_f64()
    )?;
    writeln!(
        out,
        "- the live updater (`live::run_updater`) was not running during these three paths, so they measure ingest alone.\n"
    )?;

    writeln!(out, "### Latency from publish to the SSE notice\n")?;
    match &report.latency {
        Ok(run) => {
            let millis = |quantile: f64| run.percentile(quantile).map_or("none".to_string(), |d| format!("{}", d.as_millis()));
            writeln!(
                out,
                "{} events published at {} events/s ({:.0} events/s achieved) for {} s over {} calls into a served host (consumer, updater and \
                 router on the pinned runtime), read from `GET /callscope/api/live` signed in as the demo viewer. \
                 An event's latency runs from just before its publish to the first notice whose `utterance_count` \
                 covers it.\n",
                run.published,
                options.latency_rate,
                run.published as f64 / run.publishing.as_secs_f64(),
                options.latency_duration.as_secs(),
                options.latency_calls
            )?;
            writeln!(out, "| p50 ms | p99 ms | max ms | events covered | notices |\n|---|---|---|---|---|")?;
            writeln!(
                out,
                "| **{}** | **{}** | {} | {} of {} | {} |\n",
                millis(0.5),
                millis(0.99),
                millis(1.0),
                run.latencies.len(),
                run.published,
                run.notices
            )?;
            if run.uncovered > 0 {
                writeln!(
                    out,
                    "- **{}** events were covered by no notice within 5 s of the last publish.",
                    run.uncovered
                )?;
            }
            writeln!(
                out,
                "- The updater coalesces by design: after the first event that marks a call it pauses, then \
                 rebuilds every marked call from all its stored events (normalise and analyse in the component, \
                 store) and sends one notice each. The pause is as long as the previous round of rebuilds took, \
                 within {} and {} ms (`MIN_UPDATE_PAUSE`, `MAX_UPDATE_PAUSE`). An event therefore waits for the \
                 pause plus the rebuilds ahead of it, and both grow with the calls' length.\n",
                callscope_host::live::MIN_UPDATE_PAUSE.as_millis(),
                callscope_host::live::MAX_UPDATE_PAUSE.as_millis()
            )?;
        }
        Err(reason) => writeln!(out, "Not measured, because {reason}\n")?,
    }
    Ok(out)
}

/// Returns the live event stream section of `existing`, from its heading to the next
/// section or the end.
pub fn stream_section(existing: &str) -> Option<&str> {
    let start = existing.find(&format!("{STREAM_HEADING}\n"))?;
    let after = start + STREAM_HEADING.len();
    let end = existing[after..].find("\n## ").map_or(existing.len(), |at| after + at + 1);
    Some(&existing[start..end])
}

/// Replaces the live event stream section of `existing` with `section`, keeping every
/// other section. Appends it when `existing` has none.
pub fn merge_section(existing: &str, section: &str) -> String {
    merge_named_section(existing, STREAM_HEADING, section)
}

/// Replaces the section under `heading` (a `## ` line) of `existing` with `section`,
/// keeping every other section. Appends it when `existing` has none.
pub fn merge_named_section(existing: &str, heading: &str, section: &str) -> String {
    let Some(start) = existing.find(&format!("{heading}\n")) else {
        let mut merged = existing.trim_end().to_string();
        if !merged.is_empty() {
            merged.push_str("\n\n");
        }
        merged.push_str(section);
        return merged;
    };
    let after = start + heading.len();
    let end = existing[after..].find("\n## ").map_or(existing.len(), |at| after + at + 1);
    format!("{}{section}{}", &existing[..start], existing[end..].trim_start_matches('\n').to_string().as_str())
}

fn cpu_model() -> String {
    let lscpu = command_output("lscpu", &[]);
    lscpu
        .lines()
        .find_map(|line| line.strip_prefix("Model name:").map(|model| model.trim().to_string()))
        .unwrap_or_else(|| "unknown (lscpu gave no model name)".to_string())
}

fn l3_cache() -> String {
    let lscpu = command_output("lscpu", &[]);
    lscpu
        .lines()
        .find_map(|line| line.strip_prefix("L3 cache:").map(|size| size.trim().to_string()))
        .unwrap_or_else(|| "unknown (lscpu gave no L3 cache size)".to_string())
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|| format!("unknown ({program} did not run)"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Returns the version of `package` in the workspace's Cargo.lock.
fn locked_version(root: &Path, package: &str) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let marker = format!("name = \"{package}\"\nversion = \"");
    lock.find(&marker)
        .and_then(|at| lock[at + marker.len()..].split('"').next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::{merge_section, stream_section};

    const SECTION: &str = "## Live event stream\n\nnew numbers\n";

    #[test]
    fn merge_replaces_stream_section_in_middle() {
        let existing = "# Benchmarks\n\n## Live event stream\n\nold numbers\n\n### Latency\n\nold\n\n## Later\n\nkept\n";
        let merged = merge_section(existing, SECTION);
        assert_eq!(merged, "# Benchmarks\n\n## Live event stream\n\nnew numbers\n## Later\n\nkept\n");
    }

    #[test]
    fn merge_replaces_stream_section_at_end() {
        let merged = merge_section("# Benchmarks\n\n## Live event stream\n\nold\n", SECTION);
        assert_eq!(merged, "# Benchmarks\n\n## Live event stream\n\nnew numbers\n");
    }

    #[test]
    fn merge_appends_missing_section() {
        let merged = merge_section("# Benchmarks\n\n## Other\n\nkept\n", SECTION);
        assert_eq!(merged, "# Benchmarks\n\n## Other\n\nkept\n\n## Live event stream\n\nnew numbers\n");
    }

    #[test]
    fn merge_into_empty_file() {
        assert_eq!(merge_section("", SECTION), SECTION);
    }

    #[test]
    fn stream_section_ends_at_next_section() {
        let existing = "# Benchmarks\n\n## Live event stream\n\nold\n\n### Latency\n\nold\n\n## Later\n\nkept\n";
        assert_eq!(stream_section(existing), Some("## Live event stream\n\nold\n\n### Latency\n\nold\n\n"));
    }

    #[test]
    fn stream_section_missing() {
        assert_eq!(stream_section("# Benchmarks\n\n## Other\n"), None);
    }
}
