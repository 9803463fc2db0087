//! Bad input for every format: each is rejected with an error that names the
//! problem, so the host responds with a 4xx and stores nothing.

mod ingest_support;

use callscope_component::ingest::limits::MAX_JSON_DEPTH;
use callscope_component::ingest::{IngestError, OtlpEncoding, detect_format, format_names, normalize, split_otlp};
use ingest_support::read_payload;

const JSON_FIXTURES: &[&str] = &[
    "vapi__end-of-call-report.complete.json",
    "retell__call_analyzed.webhook.json",
    "pipecat__conversation.otlp.json",
    "livekit__session-report.json",
];

#[test]
fn truncated_fixtures_are_invalid_json() {
    for name in JSON_FIXTURES {
        let mut payload = read_payload(name);
        payload.truncate(payload.len() / 2);
        let error = normalize(&payload).unwrap_err();
        assert!(matches!(error, IngestError::InvalidJson(_)), "{name}: {error:?}");
    }
}

#[test]
fn truncated_ndjson_line_names_line() {
    let mut payload = read_payload("callscope-native__support-call.ndjson");
    payload.truncate(payload.len() - 20);
    let IngestError::InvalidJson(message) = normalize(&payload).unwrap_err() else {
        panic!("expected InvalidJson");
    };
    assert!(message.contains("NDJSON line 15"), "{message}");
}

#[test]
fn hundred_megabytes_is_too_large() {
    let payload = vec![b' '; 100 * 1024 * 1024];
    let error = normalize(&payload).unwrap_err();
    assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
}

#[test]
fn hundred_megabytes_otlp_json_is_too_large() {
    let payload = vec![b' '; 100 * 1024 * 1024];
    let error = split_otlp(&payload, OtlpEncoding::Json).unwrap_err();
    assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
}

#[test]
fn deep_nesting_is_too_large() {
    let depth = MAX_JSON_DEPTH + 1;
    let payload = format!("{{\"job_id\":\"x\",\"chat_history\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let error = normalize(payload.as_bytes()).unwrap_err();
    assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
}

#[test]
fn deep_ndjson_line_is_too_large() {
    let first = r#"{"v":1,"id":"a","call_id":"c","type":"call_started"}"#;
    let deep = format!("{}{}", "[".repeat(MAX_JSON_DEPTH + 1), "]".repeat(MAX_JSON_DEPTH + 1));
    let payload = format!("{first}\n{deep}\n");
    let error = normalize(payload.as_bytes()).unwrap_err();
    assert!(matches!(error, IngestError::TooLarge(_)), "{error:?}");
}

#[test]
fn non_utf8_is_invalid_json() {
    let mut payload = read_payload("retell__call_analyzed.webhook.json");
    payload[40] = 0xFF;
    let IngestError::InvalidJson(message) = normalize(&payload).unwrap_err() else {
        panic!("expected InvalidJson");
    };
    assert!(message.contains("not UTF-8"), "{message}");
}

#[test]
fn non_utf8_ndjson_is_invalid_json() {
    let mut payload = read_payload("callscope-native__support-call.ndjson");
    payload[300] = 0xFE;
    let error = normalize(&payload).unwrap_err();
    assert!(matches!(error, IngestError::InvalidJson(_)), "{error:?}");
}

#[test]
fn unknown_json_lists_every_format() {
    let error = detect_format(b"{\"hello\": \"world\"}").unwrap_err();
    assert_eq!(error, IngestError::UnknownFormat(format_names()));
    assert_eq!(format_names().len(), 5);
}

#[test]
fn unknown_format_message_names_formats() {
    let message = detect_format(b"[1, 2, 3]").unwrap_err().to_string();
    assert!(message.contains("retell-call"), "{message}");
    assert!(message.contains("callscope-ndjson"), "{message}");
}

#[test]
fn ndjson_of_two_calls_is_invalid() {
    let payload = concat!(
        r#"{"v":1,"id":"a","call_id":"one","type":"call_started"}"#,
        "\n",
        r#"{"v":1,"id":"b","call_id":"two","type":"call_ended","end_ms":1000}"#,
        "\n"
    );
    let error = normalize(payload.as_bytes()).unwrap_err();
    assert!(matches!(error, IngestError::InvalidPayload(_)), "{error:?}");
}

#[test]
fn ndjson_of_other_version_is_invalid() {
    let payload = concat!(
        r#"{"v":1,"id":"a","call_id":"one","type":"call_started"}"#,
        "\n",
        r#"{"v":2,"id":"b","call_id":"one","type":"call_ended","end_ms":1000}"#,
        "\n"
    );
    let error = normalize(payload.as_bytes()).unwrap_err();
    assert!(matches!(error, IngestError::InvalidPayload(_)), "{error:?}");
}

#[test]
fn retell_transcript_not_array_is_invalid() {
    let payload = br#"{"event":"call_ended","call":{"call_id":"c","call_status":"ended","transcript_object":"oops"}}"#;
    let error = normalize(payload).unwrap_err();
    assert!(matches!(error, IngestError::InvalidPayload(_)), "{error:?}");
}

#[test]
fn livekit_items_not_array_is_invalid() {
    let payload = br#"{"job_id":"j","chat_history":{"items":{}}}"#;
    let error = normalize(payload).unwrap_err();
    assert!(matches!(error, IngestError::InvalidPayload(_)), "{error:?}");
}

