//! The callscope component library: everything that parses untrusted bytes or derives
//! facts about a call. It builds natively for tests and benchmarks, and to
//! `wasm32-wasip2` as the sandboxed component the host runs.

pub mod analysis;
pub mod annotation;
pub mod audio;
pub mod ingest;
pub mod policy;
pub mod redaction;

#[cfg(target_arch = "wasm32")]
mod bindings;
