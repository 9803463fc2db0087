//! Hostile components: each attack fails its own request with a clear error, within
//! its limit, while the host keeps serving other requests. The attacks come from the
//! broken test guest's command modes and from components written here as WAT text.

use std::path::Path;
use std::time::{Duration, Instant};

use callscope_api_types as api;
use callscope_host::RuntimeLimits;
use callscope_host::ComponentRuntime;
use callscope_host::components::checks;
use callscope_host::inspect::{ImportAllowlist, inspect_file};
use callscope_host::runtime::ComponentError;
use callscope_tests::{CSRF_HEADER, ServerOptions, TestServer, broken_component_wasm, component_wasm, import_form, load_runtime, workspace_root};

const MEMORY_LIMIT: usize = 64 << 20;
const DEADLINE: Duration = Duration::from_millis(1000);

fn hostile_limits() -> RuntimeLimits {
    RuntimeLimits { deadline: DEADLINE, memory_bytes: MEMORY_LIMIT, ..RuntimeLimits::default() }
}

/// Returns the process's peak resident memory in bytes (`VmHWM` of /proc/self/status).
fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("VmHWM in /proc/self/status");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmHWM value in kB");
    kib * 1024
}

#[test]
fn deep_recursion_overflows_guest_stack() {
    let runtime = load_runtime(&broken_component_wasm(), hostile_limits());

    let started = Instant::now();
    let error = runtime.normalize(b"recurse").expect_err("unbounded recursion must be stopped");
    let elapsed = started.elapsed();

    let ComponentError::Trap(message) = &error else { panic!("expected a trap, got {error:?}") };
    assert!(message.contains("call stack exhausted"), "the error names the stack overflow: {message}");
    assert!(elapsed < DEADLINE, "the stack limit stops it before the deadline: {elapsed:?}");
    assert_eq!(runtime.normalize(b"fine").expect("the next request succeeds").format, "broken");
}

#[test]
fn panic_fails_with_component_error() {
    let runtime = load_runtime(&broken_component_wasm(), hostile_limits());

    let error = runtime.normalize(b"panic").expect_err("a panic must fail the request");

    let ComponentError::Trap(message) = &error else { panic!("expected a trap, got {error:?}") };
    assert!(message.contains("unreachable"), "a Rust panic aborts through `unreachable`: {message}");
    assert!(error.to_string().starts_with("the component failed"), "{error}");
    assert_eq!(runtime.normalize(b"fine").expect("the next request succeeds").format, "broken");
}

#[test]
fn huge_output_stops_at_memory_limit() {
    let runtime = load_runtime(&broken_component_wasm(), hostile_limits());
    let peak_before = peak_resident_bytes();

    let error = runtime.normalize(b"huge-output").expect_err("a 4 GiB result must be stopped");

    assert!(
        matches!(error, ComponentError::MemoryLimit { limit_bytes } if limit_bytes == MEMORY_LIMIT),
        "expected the memory limit, got {error:?}"
    );
    let growth = peak_resident_bytes().saturating_sub(peak_before);
    assert!(growth < 1 << 30, "the host's peak memory grew by {growth} bytes");
    assert_eq!(runtime.normalize(b"fine").expect("the next request succeeds").format, "broken");
}

#[test]
fn aliased_output_stops_at_copy_limit() {
    // 1024 strings naming one 16 MiB buffer fit in 64 MiB of guest memory, but copying
    // each into the host would take 16 GiB.
    let runtime = load_runtime(&broken_component_wasm(), hostile_limits());
    let peak_before = peak_resident_bytes();

    let error = runtime.normalize(b"alias-output").expect_err("a 16 GiB copy must be refused");

    let ComponentError::Trap(message) = &error else { panic!("expected a trap, got {error:?}") };
    assert!(message.contains("too much data is being copied"), "the error names the copy limit: {message}");
    let growth = peak_resident_bytes().saturating_sub(peak_before);
    assert!(growth < 1 << 30, "the host's peak memory grew by {growth} bytes");
    assert_eq!(runtime.normalize(b"fine").expect("the next request succeeds").format, "broken");
}

/// A component importing an interface no host provides.
const UNKNOWN_IMPORT_WAT: &str = r#"
(component
  (import "evil:net/exfiltrate" (instance
    (export "send" (func (param "data" string)))
  ))
)
"#;

fn write_wat(dir: &Path, name: &str, wat: &str) -> std::path::PathBuf {
    let bytes = wat::parse_str(wat).expect("the WAT text is a valid component");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writing the component");
    path
}

#[test]
fn unknown_import_rejected_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_wat(dir.path(), "unknown-import.wasm", UNKNOWN_IMPORT_WAT);

    let error = ComponentRuntime::load(&wasm, &dir.path().join("cache"), hostile_limits())
        .expect_err("a component importing an interface the host does not provide must not load");

    let message = error.to_string();
    assert!(matches!(error, ComponentError::Load { .. }), "{error:?}");
    assert!(message.contains("evil:net/exfiltrate"), "the error names the import: {message}");
}

#[test]
fn ungranted_wasi_import_rejected_at_install() {
    // The broken guest's probe links wasi:sockets, which the host could link but the
    // allowlist leaves out.
    let dir = tempfile::tempdir().unwrap();
    let wasm = broken_component_wasm();
    let bytes = std::fs::read(&wasm).unwrap();

    let Err(refusal) = checks::check(&bytes, None, &[], &wasm, &dir.path().join("cache"), hostile_limits()) else {
        panic!("a component importing wasi:sockets must not be installed");
    };

    assert_eq!(refusal.check, "imports", "{refusal}");
    assert!(refusal.message.contains("wasi:sockets/tcp@0.2.6"), "the refusal names the import: {refusal}");
}

#[test]
fn inspect_marks_ungranted_imports() {
    let report = inspect_file(&broken_component_wasm(), &Default::default()).expect("inspecting the broken guest");

    let disallowed = report.disallowed_imports();
    assert!(disallowed.contains(&"wasi:sockets/tcp@0.2.6"), "{disallowed:?}");
    assert!(disallowed.iter().all(|name| name.starts_with("wasi:sockets/")), "only sockets are outside: {disallowed:?}");
    assert_eq!(report.interface_versions, vec![callscope_host::runtime::INTERFACE_VERSION.to_owned()]);
}

#[test]
fn inspect_reports_real_component() {
    let wasm = component_wasm();
    let report = inspect_file(&wasm, &Default::default()).expect("inspecting the component");

    let allowlist = ImportAllowlist::builtin();
    let mut imports: Vec<&str> = report.imports.iter().map(|i| i.name.as_str()).collect();
    imports.sort();
    let listed: Vec<&str> = allowlist.names().collect();
    assert_eq!(imports, listed, "inspect lists exactly the allow-listed imports");
    assert!(report.disallowed_imports().is_empty());

    let expected_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&wasm).unwrap()))
    };
    assert_eq!(report.sha256, expected_sha);
    assert_eq!(report.interface_versions, vec!["0.2.0".to_owned()]);
    let ingest = report.exports.iter().find(|e| e.name == "callscope:plugin/ingest@0.2.0").expect("the ingest export");
    assert_eq!(ingest.kind, "instance");
    assert!(ingest.functions.iter().any(|f| f == "normalize"), "{:?}", ingest.functions);
    assert_eq!(report.limits.memory_bytes, 256 << 20);
    assert_eq!(report.limits.deadline_ms, 10_000);
    assert_eq!(report.limits.max_result_bytes, 128 << 20, "wasmtime's default hostcall fuel");
    assert!(report.limits.recording_hosts.is_empty());
}

#[test]
fn allowlist_file_parses_to_wasi_names() {
    let from_file = ImportAllowlist::parse(&std::fs::read_to_string(workspace_root().join("wit/allowed-imports.txt")).unwrap());
    assert_eq!(from_file, ImportAllowlist::builtin(), "the compiled-in list is the checked-in file");
    assert!(from_file.names().all(|name| name.starts_with("wasi:")));
    assert!(!from_file.contains("wasi:sockets/tcp@0.2.6"));
}

/// Every hostile mode at once over HTTP, with well-behaved imports in between: each
/// attack gets its own error status and kind, and every other import succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attacks_fail_alone_under_load() {
    let options =
        ServerOptions { component: broken_component_wasm(), runtime_limits: hostile_limits(), ..ServerOptions::default() };
    let server = TestServer::start(options).await;
    let admin = server.client_for("admin").await;
    let url = server.url("/callscope/api/calls");

    let send = |payload: &'static str| {
        let (admin, url) = (admin.clone(), url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = admin
                .post(&url)
                .header(CSRF_HEADER.0, CSRF_HEADER.1)
                .multipart(import_form(payload.as_bytes().to_vec(), None, payload))
                .send()
                .await
                .expect("the server answers");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("a JSON body");
            (payload, status, body, started.elapsed())
        })
    };

    // (command, status, error kind, words the message must contain)
    let attacks = [
        ("loop", 504, "component-timeout", "deadline of 1000 ms"),
        ("grow", 507, "component-memory-limit", "memory limit of 67108864 bytes"),
        ("huge-output", 507, "component-memory-limit", "memory limit of 67108864 bytes"),
        ("recurse", 500, "component-failed", "call stack exhausted"),
        ("panic", 500, "component-failed", "unreachable"),
        ("alias-output", 500, "component-failed", "too much data is being copied"),
    ];
    let mut hostile = Vec::new();
    let mut fine = Vec::new();
    for (command, ..) in &attacks {
        hostile.push(send(command));
        for _ in 0..3 {
            fine.push(send("fine"));
        }
    }

    for task in hostile {
        let (command, status, body, elapsed) = task.await.unwrap();
        let (_, expected_status, kind, words) = attacks.iter().find(|a| a.0 == command).unwrap();
        assert_eq!(status, *expected_status, "{command}: {body}");
        assert_eq!(body["error"], *kind, "{command}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{command}: message {message:?} lacks {words:?}");
        assert!(elapsed < Duration::from_secs(20), "{command} took {elapsed:?}");
    }
    for task in fine {
        let (_, status, body, _) = task.await.unwrap();
        assert_eq!(status, 201, "a well-behaved import beside the attacks: {body}");
        let summary: api::CallSummary = serde_json::from_value(body).unwrap();
        assert_eq!(summary.format, "broken");
    }
    assert_eq!(server.state.storage.count_calls().await.unwrap(), 18, "every well-behaved import was stored");
}
