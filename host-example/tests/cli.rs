//! The example binary's command line: `inspect` on good, hostile and invalid files,
//! and the start-up checks of `serve` that run before anything is bound.
//!
//! Needs the components built by `cargo xtask test`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn artifact(name: &str) -> PathBuf {
    let path = std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{name} is not set; run the tests with `cargo xtask test`"));
    assert!(path.exists(), "{} does not exist; rerun `cargo xtask test`", path.display());
    path
}

fn host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callscope-host"))
        .args(args)
        .env_remove("CALLSCOPE_COMPONENT")
        .env_remove("CALLSCOPE_WIDGET_DIR")
        .env_remove("CALLSCOPE_LISTEN")
        // As a user runs it: without the backtraces the test command turns on.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("running callscope-host")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn allowlist() -> Vec<String> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/allowed-imports.txt");
    let text = std::fs::read_to_string(file).expect("reading wit/allowed-imports.txt");
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

#[test]
fn inspect_prints_imports_exports_and_limits() {
    let component = artifact("CALLSCOPE_COMPONENT_WASM");
    let output = host(&["inspect", component.to_str().unwrap()]);
    let stdout = text(&output.stdout);

    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    for import in allowlist() {
        assert!(stdout.contains(&format!("  {import}\n")), "lists {import}:\n{stdout}");
    }
    assert!(!stdout.contains("NOT ALLOWED"), "{stdout}");
    assert!(stdout.contains("interface   callscope:plugin@0.2.0 (this host: 0.2.0, accepts 0.2.x and 0.1.x)"), "{stdout}");
    assert!(stdout.contains("callscope:plugin/ingest@0.2.0 (instance)"), "{stdout}");
    assert!(stdout.contains("callscope:plugin/about@0.2.0 (instance)\n      describe\n"), "{stdout}");
    assert!(stdout.contains("guest memory per instance    268435456 bytes (256 MiB)"), "{stdout}");
    assert!(stdout.contains("deadline per call            10000 ms"), "{stdout}");
    assert!(stdout.contains("recording fetch hosts        none (never fetched)"), "{stdout}");
}

#[test]
fn inspect_json_matches_allowlist() {
    let component = artifact("CALLSCOPE_COMPONENT_WASM");
    let output = host(&["inspect", "--json", "--recording-host", "recordings.example.com", component.to_str().unwrap()]);
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("inspect --json prints JSON");

    let mut imports: Vec<String> =
        report["imports"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect();
    imports.sort();
    let mut expected = allowlist();
    expected.sort();
    assert_eq!(imports, expected);
    assert!(report["imports"].as_array().unwrap().iter().all(|i| i["allowed"] == true));
    assert_eq!(report["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(report["interface_versions"], serde_json::json!(["0.2.0"]));
    assert_eq!(report["host_accepts"], serde_json::json!(["0.2.x", "0.1.x"]));
    assert_eq!(report["limits"]["max_payload_bytes"], 16 << 20);
    assert_eq!(report["limits"]["recording_hosts"], serde_json::json!(["recordings.example.com"]));
}

#[test]
fn inspect_marks_disallowed_import_and_fails() {
    let broken = artifact("CALLSCOPE_BROKEN_COMPONENT_WASM");
    let output = host(&["inspect", broken.to_str().unwrap()]);
    let stdout = text(&output.stdout);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", text(&output.stderr));
    assert!(stdout.contains("  wasi:sockets/tcp@0.2.6   NOT ALLOWED\n"), "{stdout}");
    assert!(text(&output.stderr).contains("the server refuses to load it"), "{}", text(&output.stderr));
}

#[test]
fn inspect_rejects_non_component() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.wasm");
    std::fs::write(&file, "not wasm").unwrap();

    let output = host(&["inspect", file.to_str().unwrap()]);

    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("is not a WebAssembly component"), "{stderr}");
    assert!(stderr.contains("notes.wasm"), "{stderr}");
    assert!(stderr.contains("magic bytes"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line, no parser dump: {stderr}");
}

#[test]
fn inspect_missing_file_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nope.wasm");

    let output = host(&["inspect", file.to_str().unwrap()]);

    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("nope.wasm"), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
}

#[test]
fn serve_refuses_plain_http_beyond_loopback() {
    // The check runs before the component is loaded or any socket is bound.
    for subcommand in [&[][..], &["serve"][..]] {
        let mut args = subcommand.to_vec();
        args.extend(["--listen", "0.0.0.0:0", "--component", "unused.wasm", "--widget-dir", "unused"]);
        let output = host(&args);

        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(stderr.contains("refusing to serve plain HTTP on 0.0.0.0:0"), "{args:?}: {stderr}");
        assert!(stderr.contains("unencrypted"), "{stderr}");
    }
}

#[test]
fn serve_needs_both_tls_files() {
    let output = host(&["--component", "c.wasm", "--widget-dir", "w", "--tls-cert", "cert.pem"]);

    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("--tls-key"), "{}", text(&output.stderr));
}

#[test]
fn serve_needs_component() {
    let output = host(&["--widget-dir", "w"]);

    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("--component"), "{}", text(&output.stderr));
}
