//! Cold start of the host's component runtime: loading the component with an empty
//! compiled-artifact cache (compile with Cranelift, write the cache file) against
//! loading it again from that cache, and the first request after each.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use callscope_host::{ComponentRuntime, RuntimeLimits};

/// The fastest of the runs, per step.
pub struct ColdStart {
    pub compile: Duration,
    pub from_cache: Duration,
    /// The first request (a fresh instance normalising a Vapi report) after a load.
    pub first_request: Duration,
    pub cache_file_bytes: u64,
    pub component_bytes: u64,
}

/// Loads `wasm` `runs` times into an empty cache folder and `runs` times from the
/// filled one.
pub fn measure(wasm: &Path, payload: &[u8], runs: usize) -> Result<ColdStart> {
    let component_bytes = std::fs::metadata(wasm).with_context(|| format!("reading {}", wasm.display()))?.len();
    let mut compile = Duration::MAX;
    let mut from_cache = Duration::MAX;
    let mut first_request = Duration::MAX;
    let mut cache_file_bytes = 0;

    for run in 0..runs.max(1) {
        let cache = std::env::temp_dir().join(format!("callscope-bench-cold-start-{}-{run}", std::process::id()));
        // A folder left by an interrupted run would turn the compile into a cache hit.
        let _ = std::fs::remove_dir_all(&cache);

        let started = Instant::now();
        let runtime = ComponentRuntime::load(wasm, &cache, RuntimeLimits::default()).context("compiling the component")?;
        compile = compile.min(started.elapsed());
        drop(runtime);
        cache_file_bytes = cache_size(&cache)?;

        let started = Instant::now();
        let runtime = ComponentRuntime::load(wasm, &cache, RuntimeLimits::default()).context("loading from the cache")?;
        from_cache = from_cache.min(started.elapsed());

        let started = Instant::now();
        runtime.normalize(payload).context("the first request failed")?;
        first_request = first_request.min(started.elapsed());

        drop(runtime);
        std::fs::remove_dir_all(&cache).with_context(|| format!("removing {}", cache.display()))?;
    }
    Ok(ColdStart { compile, from_cache, first_request, cache_file_bytes, component_bytes })
}

fn cache_size(folder: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(folder).with_context(|| format!("listing {}", folder.display()))? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

/// Renders the `## Component cold start` section of BENCHMARKS.md.
pub fn render(cold: &ColdStart, runs: usize) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = String::new();
    out.push_str(HEADING);
    out.push_str("\n\n");
    out.push_str(&format!(
        "`ComponentRuntime::load` of the default component ({:.1} MB), fastest of {runs} runs: once with an empty \
         compiled-artifact folder (Cranelift compiles the component and the host writes the artifact, {:.1} MB, keyed by \
         the component's sha256 and the engine's compatibility hash), then again from that folder, as a restart does. \
         The first request is a fresh instance normalising the Vapi end-of-call report.\n\n",
        cold.component_bytes as f64 / 1e6,
        cold.cache_file_bytes as f64 / 1e6,
    ));
    out.push_str("| step | ms |\n|---|---|\n");
    out.push_str(&format!("| load, compiling (no cache) | {:.1} |\n", ms(cold.compile)));
    out.push_str(&format!("| load from the cache | {:.1} |\n", ms(cold.from_cache)));
    out.push_str(&format!("| first request after loading | {:.2} |\n", ms(cold.first_request)));
    out.push_str(&format!(
        "\n- the cache makes a restart's load **{:.0}x** faster\n",
        cold.compile.as_secs_f64() / cold.from_cache.as_secs_f64().max(f64::MIN_POSITIVE)
    ));
    out.push_str(
        "- Cranelift compiles functions in parallel on every core, so the compile time depends on the other work on \
         the machine; ",
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    out.push_str(&format!("load average at the end of this section: {}\n", load.join(" ")));
    out
}

pub const HEADING: &str = "## Component cold start";
