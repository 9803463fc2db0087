//! Shared helpers of the ingest tests: fixture paths and golden files.

#![allow(dead_code)]

use std::path::PathBuf;

use callscope_api_types::{MetricValue, NormalizedCall, TurnMetrics};

/// Path of a file under `fixtures/payloads`.
pub fn payload_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/payloads")
        .join(name)
}

pub fn read_payload(name: &str) -> Vec<u8> {
    let path = payload_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Compares `call` with the golden file `fixtures/payloads/golden/<name>.json`.
///
/// Run with `CALLSCOPE_UPDATE_GOLDEN=1` to rewrite the file after a deliberate
/// change, then review the diff.
pub fn assert_golden(name: &str, call: &NormalizedCall) {
    let path = payload_path(&format!("golden/{name}.json"));
    let actual = serde_json::to_string_pretty(call).expect("a call serialises") + "\n";
    if std::env::var_os("CALLSCOPE_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("golden folder")).expect("create golden folder");
        std::fs::write(&path, &actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "read {}: {error}; run with CALLSCOPE_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .find(|(_, (expected, actual))| expected != actual)
            .map(|(line, (expected, actual))| {
                format!("line {}:\n  expected {expected}\n  actual   {actual}", line + 1)
            })
            .unwrap_or_else(|| "the files differ in length".to_string());
        panic!(
            "normalised call differs from {}; {first_difference}\n(rerun with \
             CALLSCOPE_UPDATE_GOLDEN=1 if the change is intended)",
            path.display()
        );
    }
}

/// Returns the value named `name` of turn `turn_number`.
pub fn value<'a>(call: &'a NormalizedCall, turn_number: u32, name: &str) -> &'a MetricValue {
    turn(call, turn_number)
        .values
        .iter()
        .find(|value| value.name == name)
        .unwrap_or_else(|| panic!("turn {turn_number} has no value {name}"))
}

pub fn turn(call: &NormalizedCall, turn_number: u32) -> &TurnMetrics {
    call.turn_metrics
        .iter()
        .find(|turn| turn.turn_number == turn_number)
        .unwrap_or_else(|| panic!("no turn {turn_number}"))
}

pub fn percentiles<'a>(
    call: &'a NormalizedCall,
    name: &str,
) -> &'a callscope_api_types::LatencyPercentiles {
    call.latency_percentiles
        .iter()
        .find(|percentiles| percentiles.name == name)
        .unwrap_or_else(|| panic!("no percentiles for {name}"))
}

pub fn codes(call: &NormalizedCall) -> Vec<&str> {
    call.findings.iter().map(|finding| finding.code.as_str()).collect()
}
