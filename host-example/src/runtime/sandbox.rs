//! The state each sandboxed store carries: a WASI context that grants nothing, and a
//! memory limiter that remembers when it said no.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::RuntimeLimits;

pub struct SandboxState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limits: MemoryLimiter,
}

impl SandboxState {
    /// Builds a WASI context with no preopened directories, no network, no
    /// environment variables, no arguments and stdio connected to nothing. The
    /// standard library still links clocks and random, which reveal nothing stored.
    ///
    /// `peak_memory_bytes` is raised to the largest linear memory size this store
    /// grants.
    pub fn new(limits: &RuntimeLimits, peak_memory_bytes: Arc<AtomicUsize>) -> Self {
        let wasi = WasiCtxBuilder::new().allow_ip_name_lookup(false).allow_tcp(false).allow_udp(false).build();
        let limiter = MemoryLimiter { max_bytes: limits.memory_bytes, denied: false, peak_bytes: peak_memory_bytes };
        Self { wasi, table: ResourceTable::new(), limits: limiter }
    }

    pub fn memory_limit_hit(&self) -> bool {
        self.limits.denied
    }
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps linear memory and table growth for one store.
pub struct MemoryLimiter {
    max_bytes: usize,
    denied: bool,
    /// Largest memory size granted, shared with the runtime across stores.
    peak_bytes: Arc<AtomicUsize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.denied = true;
            return Ok(false);
        }
        self.peak_bytes.fetch_max(desired, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // 100,000 table entries is far more than a Rust guest's function table needs.
        Ok(desired <= 100_000)
    }
}
