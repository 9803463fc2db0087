//! Redaction of the real 120 s sales call (`fixtures/calls/sales-call/report.json`).
//! Its transcript names a customer ("Dimitri") but contains no phone number, e-mail
//! address, card number or national identifier; its only numbers are a price ("29
//! bucks a month") and a product ("Office 365"). Redaction must change nothing.

use std::path::PathBuf;

use callscope_component::ingest::normalize;
use callscope_component::redaction::{redact_json, redact_texts, redact_utterances};
use serde_json::Value;

fn report() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/calls/sales-call/report.json");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

#[test]
fn utterances_are_unchanged() {
    let utterances = normalize(report().as_bytes())
        .expect("the report normalises")
        .utterances;
    assert_eq!(utterances.len(), 35);

    let redacted = redact_utterances(utterances.clone());

    for (before, (after, marks)) in utterances.iter().zip(&redacted) {
        assert_eq!(after, before, "utterance {}", before.index);
        assert!(marks.is_empty(), "utterance {}: {marks:?}", before.index);
    }
}

#[test]
fn numbers_in_transcript_survive() {
    let utterances = normalize(report().as_bytes())
        .expect("the report normalises")
        .utterances;
    let texts: Vec<String> = utterances
        .iter()
        .map(|utterance| utterance.text.clone())
        .collect();

    let redacted = redact_texts(&texts);

    assert_eq!(
        redacted[21].text,
        "So if you want to run on that looks like their plans are as low as 29 bucks a month."
    );
    assert_eq!(
        redacted[25].text,
        "And then we have our Office 365 suite for you too for users, one share of company scale."
    );
}

#[test]
fn raw_payload_is_unchanged() {
    let original: Value = serde_json::from_str(&report()).expect("the report parses");

    let redacted = redact_json(&report()).expect("the report redacts");

    let redacted: Value = serde_json::from_str(&redacted).expect("redacted JSON parses");
    assert_eq!(redacted, original);
}
