//! Renders BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use callscope_api_types::{MeasureSource, OverlapKind};

use crate::accuracy::{self, Accuracy};
use crate::call::HourCall;
use crate::{CallTiming, PeaksTiming};

/// Targets the benchmarks are held to.
const COMPONENT_TARGET: Duration = Duration::from_secs(1);
const RATIO_TARGET: f64 = 1.5;
const PEAKS_RATIO_TARGET: f64 = 3.0;
const MEMORY_TARGET_BYTES: usize = 64 << 20;

/// Longest silence inside one OSR sentence (the comma pause is 610 ms).
const SENTENCE_JOIN_MS: i64 = 700;

pub struct Report<'a> {
    pub call: &'a HourCall,
    pub native: &'a CallTiming,
    pub component: &'a CallTiming,
    pub simd: Option<&'a CallTiming>,
    pub same_result: bool,
    pub peaks: &'a PeaksTiming,
    pub accuracy: &'a [(String, Accuracy)],
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
    row("component (wasmtime, release wasm)", report.component)?;
    if let Some(simd) = report.simd {
        row("component built with `+simd128`", simd)?;
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
    if let Some(simd) = report.simd {
        writeln!(
            out,
            "- `+simd128` / plain wasm: {:.2}. The flag (`RUSTFLAGS=\"-C target-feature=+simd128\"` \
             on the wasm build) lets LLVM auto-vectorise the whole component, earshot included; \
             callscope has no hand-written SIMD, and the default component build does not set it.",
            seconds(simd.total) / seconds(report.component.total)
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
    let gigabytes_per_second = |duration: Duration| peaks.bytes as f64 / seconds(duration) / 1e9;
    writeln!(out, "| pass over {:.1} MB | s | GB/s |\n|---|---|---|", peaks.bytes as f64 / 1e6)?;
    writeln!(
        out,
        "| plain read (sum of 64-bit words; the buffer may sit partly in the L3 cache) | {:.3} | {:.2} |",
        seconds(peaks.memory_read),
        gigabytes_per_second(peaks.memory_read)
    )?;
    writeln!(
        out,
        "| `PeaksBuilder`, native | {:.3} | {:.2} |\n",
        seconds(peaks.peaks),
        gigabytes_per_second(peaks.peaks)
    )?;
    writeln!(
        out,
        "- native peaks / plain read: {:.1}",
        seconds(peaks.peaks) / seconds(peaks.memory_read)
    )?;
    writeln!(
        out,
        "- in the component: not measured. The component exports no peaks-only entry point \
         (the `recording` resource always runs speech detection too), so the {PEAKS_RATIO_TARGET}x \
         target cannot be checked yet.\n"
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
        "\n`cargo test -p callscope-component --test analysis_vad_accuracy` holds these above floors."
    )?;
    Ok(out)
}

fn cpu_model() -> String {
    let lscpu = command_output("lscpu", &[]);
    lscpu
        .lines()
        .find_map(|line| line.strip_prefix("Model name:").map(|model| model.trim().to_string()))
        .unwrap_or_else(|| "unknown (lscpu gave no model name)".to_string())
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
