//! Runs a wasm32-wasip2 test binary in wasmtime, so that tests cover the wasm SIMD code
//! of the component's dependencies (earshot's above all), which native tests never
//! compile. Cargo calls it as the target's runner:
//!
//! ```text
//! cargo build --release -p callscope-bench --example wasi_test_runner
//! CARGO_TARGET_WASM32_WASIP2_RUNNER=$CARGO_TARGET_DIR/release/examples/wasi_test_runner \
//!     cargo test --release -p callscope-earshot --target wasm32-wasip2
//! ```
//!
//! The test gets its arguments, the terminal's standard streams and read-only access to
//! the workspace at its own path, where the tests find their fixtures.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

struct TestState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for TestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(binary) = args.first() else {
        bail!("usage: wasi_test_runner TEST.wasm [ARGS...]; cargo passes these as the wasm32-wasip2 runner");
    };

    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config)?;
    let component =
        Component::from_file(&engine, binary).map_err(|error| anyhow::anyhow!("loading {binary} failed: {error:#}"))?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;

    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize()?;
    let guest_path = workspace.to_str().context("the workspace path is not UTF-8")?;
    let wasi = WasiCtxBuilder::new()
        .inherit_stdio()
        .args(&args)
        .preopened_dir(&workspace, guest_path, FsPerms::ReadOnly)?
        .build();
    let mut store = Store::new(&engine, TestState { wasi, table: ResourceTable::new() });
    let command = Command::instantiate(&mut store, &component, &linker)?;
    let passed = command.wasi_cli_run().call_run(&mut store)?.is_ok();
    std::process::exit(if passed { 0 } else { 1 });
}
