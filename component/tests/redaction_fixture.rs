//! Redaction of `fixtures/review/pii-transcript.json`, a Vapi-shaped report whose
//! utterances hold every kind of personal data, written and spoken, beside ordinary
//! numbers. The expected result was written by hand in
//! `pii-transcript.expected.json`: each utterance's redacted text, the byte offsets of
//! its markers, and its redacted word texts.

use std::path::PathBuf;

use callscope_api_types::{NormalizedCall, RedactionMark};
use callscope_component::ingest::normalize;
use callscope_component::redaction::{redact_json, redact_texts, redact_utterances};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    utterances: Vec<ExpectedUtterance>,
    personal_data: Vec<String>,
    kept: Vec<String>,
}

#[derive(Deserialize)]
struct ExpectedUtterance {
    index: u32,
    text: String,
    marks: Vec<RedactionMark>,
    words: Vec<String>,
}

fn review_fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/review")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn call() -> NormalizedCall {
    normalize(review_fixture("pii-transcript.json").as_bytes()).expect("the fixture normalises")
}

fn expected() -> Expected {
    serde_json::from_str(&review_fixture("pii-transcript.expected.json"))
        .expect("expected file parses")
}

#[test]
fn fixture_normalises_with_words() {
    let call = call();

    assert!(call.findings.is_empty(), "{:#?}", call.findings);
    assert_eq!(call.utterances.len(), expected().utterances.len());
    assert_eq!(
        call.utterances[4].text,
        "It's four one five, five five five, zero one nine nine."
    );
    assert_eq!(call.utterances[4].words.len(), 11);
}

#[test]
fn utterance_texts_match_expected() {
    let redacted = redact_utterances(call().utterances);

    for (expected, (utterance, _)) in expected().utterances.iter().zip(&redacted) {
        assert_eq!(utterance.index, expected.index);
        assert_eq!(
            utterance.text, expected.text,
            "utterance {}",
            expected.index
        );
    }
}

#[test]
fn utterance_marks_match_expected() {
    let redacted = redact_utterances(call().utterances);

    for (expected, (utterance, marks)) in expected().utterances.iter().zip(&redacted) {
        assert_eq!(marks, &expected.marks, "utterance {}", expected.index);
        for mark in marks {
            let covered = &utterance.text[mark.start as usize..mark.end as usize];
            assert_eq!(covered, mark.kind.marker(), "utterance {}", expected.index);
        }
    }
}

#[test]
fn utterance_words_match_expected() {
    let redacted = redact_utterances(call().utterances);

    for (expected, (utterance, _)) in expected().utterances.iter().zip(&redacted) {
        let words: Vec<&str> = utterance
            .words
            .iter()
            .map(|word| word.text.as_str())
            .collect();
        assert_eq!(words, expected.words, "utterance {}", expected.index);
    }
}

#[test]
fn word_times_are_kept() {
    let original = call().utterances;
    let redacted = redact_utterances(original.clone());

    for (before, (after, _)) in original.iter().zip(&redacted) {
        let before_times: Vec<(i64, i64)> = before
            .words
            .iter()
            .map(|word| (word.start_ms, word.end_ms))
            .collect();
        let after_times: Vec<(i64, i64)> = after
            .words
            .iter()
            .map(|word| (word.start_ms, word.end_ms))
            .collect();
        assert_eq!(before_times, after_times, "utterance {}", before.index);
    }
}

#[test]
fn every_kind_is_found() {
    let redacted = redact_utterances(call().utterances);
    let marks: Vec<RedactionMark> = redacted
        .iter()
        .flat_map(|(_, marks)| marks.iter().copied())
        .collect();

    // Counted from the fixture: phones in utterances 4, 16 (two) and 17 (two); e-mail
    // addresses in 6 and 7; cards in 9 and 10; national identifiers in 13, 14 and 15.
    let count = |marker: &str| {
        marks
            .iter()
            .filter(|mark| mark.kind.marker() == marker)
            .count()
    };
    assert_eq!(count("[phone]"), 5);
    assert_eq!(count("[email]"), 2);
    assert_eq!(count("[payment-card]"), 2);
    assert_eq!(count("[national-id]"), 3);
}

#[test]
fn raw_payload_keeps_no_personal_data() {
    let redacted =
        redact_json(&review_fixture("pii-transcript.json")).expect("the fixture redacts");

    for secret in expected().personal_data {
        assert!(!redacted.contains(&secret), "{secret:?} survived redaction");
    }
}

#[test]
fn raw_payload_keeps_ordinary_numbers() {
    let redacted =
        redact_json(&review_fixture("pii-transcript.json")).expect("the fixture redacts");

    for kept in expected().kept {
        assert!(redacted.contains(&kept), "{kept:?} was removed");
    }
}

#[test]
fn vendor_summary_is_redacted() {
    let summary = "Jane Doe (jane.doe@example.com, 415-555-0199) was charged twice; card \
                   4111 1111 1111 1111 refunded 29 dollars on 2024-05-14.";

    let redacted = redact_texts(&[summary.to_string()]).remove(0);

    assert_eq!(
        redacted.text,
        "Jane Doe ([email], [phone]) was charged twice; card [payment-card] refunded 29 dollars on 2024-05-14."
    );
}
