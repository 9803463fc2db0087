//! Limits on what one request may make the component do.

use std::time::Duration;

/// Per-request limits of the sandbox. Each field states its unit and why it has its
/// default.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Linear memory one instance may grow to, in bytes. 256 MiB fits the peaks and
    /// speech segments of a multi-hour stereo call with room to spare, while a few
    /// concurrent requests still fit in a small server's memory.
    pub memory_bytes: usize,
    /// Wall-clock time one call into the component may run. 10 s is far above what a
    /// 64 KiB audio chunk or a 16 MiB payload needs, and short enough that a runaway
    /// component frees its thread quickly.
    pub deadline: Duration,
    /// Granularity of the deadline: the engine's epoch advances this often.
    pub epoch_tick: Duration,
    /// Instances that may exist at once; more concurrent requests fail with a clear
    /// error rather than queueing without bound. 32 covers a backoffice's traffic.
    pub max_concurrent_instances: u32,
    /// Guest stack, in bytes; deep recursion traps here instead of overflowing the host.
    pub wasm_stack_bytes: usize,
    /// Bytes of a recording passed per `push` call. 64 KiB keeps each copy into guest
    /// memory small.
    pub audio_chunk_bytes: usize,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            deadline: Duration::from_secs(10),
            epoch_tick: Duration::from_millis(10),
            max_concurrent_instances: 32,
            wasm_stack_bytes: 1 << 20,
            audio_chunk_bytes: 64 << 10,
        }
    }
}

impl RuntimeLimits {
    /// Returns the deadline in epoch ticks, at least one.
    pub fn deadline_ticks(&self) -> u64 {
        let ticks = self.deadline.as_millis() / self.epoch_tick.as_millis().max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }

    pub fn deadline_ms(&self) -> u64 {
        u64::try_from(self.deadline.as_millis()).unwrap_or(u64::MAX)
    }
}
