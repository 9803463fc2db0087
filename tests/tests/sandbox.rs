//! The sandbox: what the component may import, and that a faulty component fails one
//! request while the host keeps serving.

use std::time::{Duration, Instant};

use callscope_host::RuntimeLimits;
use callscope_host::runtime::ComponentError;
use callscope_tests::{broken_component_wasm, component_wasm, load_runtime, quiet_broken_component_wasm, workspace_root};

fn allowlist() -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join("wit/allowed-imports.txt")).expect("reading the allowlist");
    let mut names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[test]
fn component_imports_match_allowlist() {
    let runtime = load_runtime(&component_wasm(), RuntimeLimits::default());
    let mut imports = runtime.imports();
    imports.sort();
    assert_eq!(
        imports,
        allowlist(),
        "the component's imports changed; review the new capability and update wit/allowed-imports.txt"
    );
}

#[test]
fn component_imports_no_network_or_filesystem_writes() {
    let runtime = load_runtime(&component_wasm(), RuntimeLimits::default());
    for import in runtime.imports() {
        assert!(!import.starts_with("wasi:sockets"), "component imports {import}");
        assert!(!import.starts_with("wasi:http"), "component imports {import}");
    }
}

fn short_limits() -> RuntimeLimits {
    RuntimeLimits { deadline: Duration::from_millis(500), memory_bytes: 64 << 20, ..RuntimeLimits::default() }
}

#[test]
fn trap_fails_only_its_request() {
    let runtime = load_runtime(&broken_component_wasm(), short_limits());

    let error = runtime.normalize(b"trap").expect_err("a panicking component must fail the request");
    assert!(matches!(error, ComponentError::Trap(_)), "expected a trap, got {error:?}");

    let call = runtime.normalize(b"fine").expect("the next request succeeds");
    assert_eq!(call.format, "broken");
}

#[test]
fn endless_loop_stops_at_deadline() {
    let runtime = load_runtime(&broken_component_wasm(), short_limits());

    let started = Instant::now();
    let error = runtime.normalize(b"loop").expect_err("an endless loop must be stopped");
    let elapsed = started.elapsed();
    assert!(matches!(error, ComponentError::Timeout { deadline_ms: 500 }), "expected a timeout, got {error:?}");
    assert!(elapsed < Duration::from_secs(5), "stopping took {elapsed:?}");

    let call = runtime.normalize(b"fine").expect("the next request succeeds");
    assert_eq!(call.format, "broken");
}

#[test]
fn sleep_refused_at_once() {
    let runtime = load_runtime(&quiet_broken_component_wasm(), short_limits());

    let started = Instant::now();
    let error = runtime.normalize(b"sleep").expect_err("a wait must be refused");
    let elapsed = started.elapsed();
    assert!(error.to_string().contains("tried to wait"), "the error names the wait: {error}");
    assert!(elapsed < Duration::from_secs(5), "refusing took {elapsed:?}");

    let call = runtime.normalize(b"fine").expect("the next request succeeds");
    assert_eq!(call.format, "broken");
}

#[test]
fn memory_bomb_stops_at_memory_limit() {
    let runtime = load_runtime(&broken_component_wasm(), short_limits());

    let error = runtime.normalize(b"grow").expect_err("unbounded allocation must be stopped");
    assert!(
        matches!(error, ComponentError::MemoryLimit { limit_bytes } if limit_bytes == 64 << 20),
        "expected the memory limit, got {error:?}"
    );

    let call = runtime.normalize(b"fine").expect("the next request succeeds");
    assert_eq!(call.format, "broken");
}

/// Returns the value of `key` in the broken component's `key=value;...` probe report.
fn probe_value<'a>(report: &'a str, key: &str) -> &'a str {
    report
        .split(';')
        .find_map(|pair| pair.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
        .unwrap_or_else(|| panic!("probe report {report:?} has no {key}"))
}

#[test]
fn sandbox_grants_no_environment_files_or_network() {
    let runtime = load_runtime(&broken_component_wasm(), short_limits());
    let call = runtime.normalize(b"probe").expect("the probe runs");
    let report = call.vendor_call_id.expect("the probe reports what it reached");

    assert_eq!(probe_value(&report, "env"), "0", "no environment variables: {report}");
    assert_eq!(probe_value(&report, "args"), "0", "no arguments: {report}");
    assert_eq!(probe_value(&report, "root"), "denied", "no directory listing: {report}");
    assert_eq!(probe_value(&report, "passwd"), "denied", "no host files: {report}");
    assert_eq!(probe_value(&report, "tcp"), "denied", "no network: {report}");
}
